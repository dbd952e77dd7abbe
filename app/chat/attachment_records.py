"""How a document rides in a stored attachment, and what each one puts into the prompt.

`Attachment.text` holds the document's record (`ExtractedDocument.to_record()`) as canonical JSON:
sorted keys, no extra spaces, text kept as UTF-8. Storing the record rather than a ready-made prompt
block keeps the page spans, so both things a conversation needs are rebuilt exactly from the store and
nothing is extracted twice: the inline prompt block (`format_for_prompt`, deterministic, so the prompt
prefix is byte-identical every turn and the engine reuses its cache) and the search index (`DocumentIndex`
chunks the same document). Rows written before records existed (plain text, or a ready-made block) are
still read: they simply have no pages.

A search-mode attachment does not put its text in the prompt. It adds a short note in its user message
naming the document and telling the model to read it with the browser tool, whose index holds it.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from html import escape

from app.documents import ExtractedDocument, TokenCount, format_for_prompt
from app.store import Attachment, AttachmentMode, NewAttachment

RECORD_PREFIX = '{"'  # canonical JSON of an object with string keys always starts like this
DOCUMENT_BLOCK_START = "<document "
_BLOCK_CACHE_SIZE = 32

# MIME types by document kind (the store's `kind` column); code has no registered type of its own.
MIME_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text": "text/plain",
    "markdown": "text/markdown",
    "code": "text/x-source",
    "csv": "text/csv",
    "json": "application/json",
    "html": "text/html",
}

SEARCH_NOTE = ("Attached in search mode: its text is not in this message. Read it with the browser tool "
               "(browser.search, then browser.open or browser.find) and cite the pages you use.")


def encode_document(document: ExtractedDocument) -> str:
    """The record as canonical JSON: the same document always gives the same string."""
    return json.dumps(document.to_record(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def decode_document(text: str) -> ExtractedDocument:
    """A stored record back to its document; ValueError (saying what is wrong) for anything else."""
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the stored document is not a readable record: {exc}") from exc
    if not isinstance(record, dict):
        raise ValueError("the stored document is not a record object")
    return ExtractedDocument.from_record(record)


def is_record(text: str) -> bool:
    return text.startswith(RECORD_PREFIX)


def stored_document(attachment: Attachment) -> ExtractedDocument | None:
    """The attachment's document, or None for a row that holds plain text (older rows, imports)."""
    if not is_record(attachment.text):
        return None
    return decode_document(attachment.text)


def new_attachment(document: ExtractedDocument, tokens: TokenCount,
                   mode: AttachmentMode = "inline") -> NewAttachment:
    """The store's row for a prepared document. `token_count` is what its prompt block costs inline,
    whatever the mode: it is the document's size in tokens, and what switching it to inline would need."""
    return NewAttachment(
        file_name=document.name,
        kind=MIME_TYPES.get(document.kind, "text/plain"),
        sha256=document.sha256,
        text=encode_document(document),
        token_count=tokens.tokens,
        mode=mode,
        page_count=document.page_count,
    )


def search_note(name: str, type_label: str | None, pages: int | None) -> str:
    """The few lines a search-mode document puts into its user message (deterministic, like a block)."""
    attributes = [f'name="{_attribute(name)}"']
    if type_label:
        attributes.append(f'type="{_attribute(type_label)}"')
    if pages is not None:
        attributes.append(f'pages="{pages}"')
    attributes.append('mode="search"')
    return f"<document {' '.join(attributes)}>\n{SEARCH_NOTE}\n</document>"


def document_search_note(document: ExtractedDocument) -> str:
    return search_note(document.name, document.type_label, document.page_count)


def prompt_block(attachment: Attachment) -> str:
    """What one stored attachment puts into its user message: the whole document (inline) or the note."""
    return _cached_block(attachment.id, attachment.sha256, attachment.file_name, attachment.mode,
                         len(attachment.text), attachment.text)


def attachment_size(attachment: Attachment) -> int:
    """The original file's size in bytes (for the chip), from the record when there is one."""
    if is_record(attachment.text):
        try:
            return decode_document(attachment.text).size_bytes
        except ValueError:
            pass
    return len(attachment.text.encode())


def _attribute(value: str) -> str:
    # Names come from the user's disk: one line, unambiguous quoting (as the documents room's header).
    return escape(" ".join(value.split()), quote=True)


# A turn renders the conversation once per generation step, and the meter renders it too: decoding a
# long record each time is what this saves. The key leaves the text out (hashing megabytes per render
# is the cost being avoided): a row's id, hash, name, mode and length pin its text down.
_BlockKey = tuple[int, str, str, str, int]
_blocks: OrderedDict[_BlockKey, str] = OrderedDict()
_blocks_lock = threading.Lock()


def _cached_block(attachment_id: int, sha256: str, name: str, mode: str, length: int, text: str) -> str:
    key = (attachment_id, sha256, name, mode, length)
    with _blocks_lock:
        if key in _blocks:
            _blocks.move_to_end(key)
            return _blocks[key]
    block = _block(name, mode, text)
    with _blocks_lock:
        _blocks[key] = block
        while len(_blocks) > _BLOCK_CACHE_SIZE:
            _blocks.popitem(last=False)
    return block


def _block(name: str, mode: str, text: str) -> str:
    if is_record(text):
        try:
            document = decode_document(text)
        except ValueError:
            document = None
        if document is not None:
            if mode == "search":
                return document_search_note(document)
            return format_for_prompt(document)
    if mode == "search":
        return search_note(name, None, None)
    if text.startswith(DOCUMENT_BLOCK_START):
        return text
    return f'<document name="{_attribute(name)}">\n{text}\n</document>'
