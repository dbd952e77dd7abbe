"""What extraction produces: an `ExtractedDocument`, and its record for persistence.

A document is its text once, plus page spans (character offsets into that text) so citations can say
"page N" without keeping the text twice. Unpaged kinds (text, code, DOCX: Word stores no page layout)
have a single span and `paged=False`. The record (`to_record`/`from_record`) is plain JSON-safe data:
the store keeps it with the conversation, and a stored document is re-used without extracting again
(the SHA-256 of the original bytes says whether a dropped file is the same one).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

DocumentKind = Literal["pdf", "docx", "text", "markdown", "code", "csv", "json", "html"]

RECORD_VERSION = 1

_KIND_LABELS: dict[str, str] = {
    "pdf": "PDF",
    "docx": "Word document",
    "text": "text",
    "markdown": "Markdown",
    "csv": "CSV",
    "json": "JSON",
    "html": "HTML (as text)",
}


@dataclass(frozen=True, slots=True)
class PageSpan:
    """Page `number` (1-based, as a PDF viewer counts) is `text[start:end]` of its document."""

    number: int
    start: int
    end: int


@dataclass(frozen=True)
class ExtractedDocument:
    name: str  # the file name only: it goes into prompts, so never a full path
    kind: DocumentKind
    sha256: str  # of the original bytes, hex
    size_bytes: int  # of the original file
    text: str  # normalised: "\n" line ends, no control characters except tab
    pages: tuple[PageSpan, ...]  # in order, covering the text; one span when unpaged
    paged: bool  # page numbers mean something (PDF); False for text, code, DOCX
    language: str | None = None  # for kind "code": e.g. "Python"
    warnings: tuple[str, ...] = field(default=())  # one line each, e.g. "pages 3, 7 have no text"

    @property
    def page_count(self) -> int | None:
        """Pages for paged documents (what the chip shows), None otherwise (the chip shows the size)."""
        return len(self.pages) if self.paged else None

    @property
    def type_label(self) -> str:
        """What a person calls this kind of file: 'PDF', 'Python source', 'Markdown'."""
        if self.kind == "code":
            return f"{self.language} source" if self.language else "source code"
        return _KIND_LABELS[self.kind]

    def page_text(self, number: int) -> str:
        for span in self.pages:
            if span.number == number:
                return self.text[span.start:span.end]
        raise KeyError(f"{self.name} has no page {number}")

    def iter_pages(self) -> Iterator[tuple[int, str]]:
        """(page number, page text) in order."""
        for span in self.pages:
            yield span.number, self.text[span.start:span.end]

    def to_record(self) -> dict[str, Any]:
        """JSON-safe data for the store; `from_record` gives back an equal document."""
        return {
            "version": RECORD_VERSION,
            "name": self.name,
            "kind": self.kind,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "text": self.text,
            "pages": [[p.number, p.start, p.end] for p in self.pages],
            "paged": self.paged,
            "language": self.language,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ExtractedDocument:
        """Rebuild a stored document; a record that is not one raises ValueError saying what is wrong."""
        version = record.get("version")
        if version != RECORD_VERSION:
            raise ValueError(f"document record version {version!r} is not {RECORD_VERSION}; extract again")
        try:
            kind = record["kind"]
            if kind not in get_args(DocumentKind):
                raise ValueError(f"unknown document kind {kind!r}")
            text = str(record["text"])
            pages = tuple(PageSpan(int(n), int(s), int(e)) for n, s, e in record["pages"])
            document = cls(
                name=str(record["name"]),
                kind=kind,
                sha256=str(record["sha256"]),
                size_bytes=int(record["size_bytes"]),
                text=text,
                pages=pages,
                paged=bool(record["paged"]),
                language=record.get("language"),
                warnings=tuple(str(w) for w in record.get("warnings", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"document record is incomplete or malformed: {exc!r}") from exc
        _check_spans(document)
        return document


def _check_spans(document: ExtractedDocument) -> None:
    previous_end = 0
    if not document.pages:
        raise ValueError(f"document record of {document.name} has no pages")
    for span in document.pages:
        if not (previous_end <= span.start <= span.end <= len(document.text)):
            raise ValueError(f"document record of {document.name} has a page span out of order: {span}")
        previous_end = span.end


def spans_for_pages(page_texts: list[str], first_number: int = 1) -> tuple[str, tuple[PageSpan, ...]]:
    """Join page texts with one newline between pages; return the text and each page's span."""
    spans: list[PageSpan] = []
    offset = 0
    for index, page in enumerate(page_texts):
        spans.append(PageSpan(first_number + index, offset, offset + len(page)))
        offset += len(page) + 1
    return "\n".join(page_texts), tuple(spans)
