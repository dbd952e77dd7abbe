"""An attachment as prompt text: one deterministic block per document, pages marked for citations.

Deterministic means the same document always gives the same bytes (no dates, no paths, no dict order),
so a conversation's prompt prefix stays identical from turn to turn and the engine reuses its cached
prefix: a follow-up question about a long document costs only the new tokens. The block is also what
the context meter counts, so the count on the chip is the count the model pays.

    <document name="report.pdf" type="PDF" pages="3">
    --- page 1 ---
    ...
    --- page 2 ---
    ...
    </document>
"""

from __future__ import annotations

from collections.abc import Sequence

from app.documents.document import ExtractedDocument

DOCUMENT_CLOSE = "</document>"


def _attribute(value: str) -> str:
    # Names come from the user's disk: keep the tag one line and its quoting unambiguous.
    cleaned = " ".join(value.split())
    return cleaned.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def document_header(document: ExtractedDocument) -> str:
    attributes = [f'name="{_attribute(document.name)}"', f'type="{_attribute(document.type_label)}"']
    if document.paged:
        attributes.append(f'pages="{len(document.pages)}"')
    return f"<document {' '.join(attributes)}>"


def page_marker(number: int) -> str:
    return f"--- page {number} ---"


def format_for_prompt(document: ExtractedDocument) -> str:
    """The block to put in the user message that carries the attachment."""
    parts = [document_header(document)]
    if document.paged:
        for number, text in document.iter_pages():
            parts.append(page_marker(number))
            if text:
                parts.append(text)
    else:
        parts.append(document.text.rstrip("\n"))
    parts.append(DOCUMENT_CLOSE)
    return "\n".join(parts)


def format_attachments(documents: Sequence[ExtractedDocument]) -> str:
    """Several attachments in the order given, one blank line apart."""
    return "\n\n".join(format_for_prompt(document) for document in documents)
