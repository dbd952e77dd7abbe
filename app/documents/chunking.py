"""A document as numbered lines, and those lines cut into chunks for the search index.

Lines are what citations and the document tool count: numbered from 1 across the whole document,
each knowing its page. A line is the file's own line, so "main.py, line 120" means what an editor
shows, except that a line longer than `MAX_LINE_CHARS` (minified JSON, a PDF paragraph without breaks)
is wrapped at a space, so that opening "10 lines" never returns a megabyte.

Chunks partition the lines (no overlap, no gaps): each is a run of lines within one page, closed at a
paragraph break once it has `TARGET_CHARS`, or at `MAX_CHARS` wherever it is. One page per chunk keeps
every search hit citable as (file, page, lines); passages of a few hundred words are what BM25 ranks well.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from app.documents.document import ExtractedDocument

MAX_LINE_CHARS = 240
TARGET_CHARS = 800
MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # 1-based across the document
    page: int | None  # None for unpaged documents
    text: str


@dataclass(frozen=True, slots=True)
class Chunk:
    page: int | None
    line_start: int  # first line, inclusive
    line_end: int  # last line, inclusive
    text: str  # its lines joined with "\n"


def wrap_line(line: str, width: int = MAX_LINE_CHARS) -> list[str]:
    """Split an over-long line at spaces (hard-cut words longer than `width`); no character is lost."""
    if len(line) <= width:
        return [line]
    pieces: list[str] = []
    rest = line
    while len(rest) > width:
        cut = rest.rfind(" ", width // 2, width)
        cut = width if cut < 0 else cut + 1  # keep the space at the end of the piece
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


def document_lines(document: ExtractedDocument) -> Iterator[Line]:
    number = 1
    for page, text in document.iter_pages():
        raw_lines = text.split("\n")
        # A final newline ends the last line; it does not start another (editors count the same way).
        if len(raw_lines) > 1 and raw_lines[-1] == "":
            raw_lines.pop()
        for raw in raw_lines:
            for piece in wrap_line(raw):
                yield Line(number, page if document.paged else None, piece)
                number += 1


def chunk_lines(lines: Iterable[Line]) -> Iterator[Chunk]:
    current: list[Line] = []
    chars = 0

    def close() -> Chunk:
        return Chunk(current[0].page, current[0].number, current[-1].number,
                     "\n".join(line.text for line in current))

    for line in lines:
        if current and line.page != current[0].page:
            yield close()
            current, chars = [], 0
        current.append(line)
        chars += len(line.text) + 1
        if chars >= MAX_CHARS or (chars >= TARGET_CHARS and not line.text.strip()):
            yield close()
            current, chars = [], 0
    if current:
        yield close()


def chunk_document(document: ExtractedDocument) -> Iterator[Chunk]:
    return chunk_lines(document_lines(document))
