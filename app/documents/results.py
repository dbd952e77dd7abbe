"""What the search index answers: documents, hits, windows of lines, find matches, citations.

Plain frozen dataclasses, so the document tool can render them however its format wants and the chat
can turn a citation into a link to the file and page. Line numbers are those of `chunking.Line`:
1-based, across the whole document.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.documents.chunking import Line


@dataclass(frozen=True, slots=True)
class Citation:
    document: str  # the file name, as attached
    page: int | None  # the first line's page; None for unpaged documents
    line_start: int
    line_end: int
    page_end: int | None = None  # the last line's page when it differs (a window across a page break)

    def __str__(self) -> str:
        lines = (f"line {self.line_start}" if self.line_start == self.line_end
                 else f"lines {self.line_start}-{self.line_end}")
        if self.page is None:
            return f"{self.document}, {lines}"
        if self.page_end is not None and self.page_end != self.page:
            return f"{self.document}, pages {self.page}-{self.page_end}, {lines}"
        return f"{self.document}, page {self.page}, {lines}"


@dataclass(frozen=True, slots=True)
class IndexedDocument:
    ref: str  # unique in its index: the name, or "name (2)" for a second file of the same name
    name: str
    sha256: str
    kind: str
    paged: bool
    page_count: int | None
    line_count: int


@dataclass(frozen=True, slots=True)
class SearchHit:
    result_id: int  # stable within the index: `open(result_id)` shows this passage
    document: IndexedDocument
    title: str  # "report.pdf, page 3" or "main.py"
    snippet: str  # the best-matching line with its neighbours, as plain text
    match_line: int  # the line with the most query terms
    citation: Citation  # the whole passage
    score: float  # BM25, higher is better; comparable only within one search


@dataclass(frozen=True, slots=True)
class Window:
    document: IndexedDocument
    lines: tuple[Line, ...]
    citation: Citation  # exactly the lines shown

    @property
    def has_more(self) -> bool:
        return bool(self.lines) and self.lines[-1].number < self.document.line_count


@dataclass(frozen=True, slots=True)
class FindMatch:
    document: IndexedDocument
    line: int  # the matching line
    lines: tuple[Line, ...]  # the match and the lines after it
    citation: Citation


@dataclass(frozen=True, slots=True)
class FindResult:
    pattern: str
    matches: tuple[FindMatch, ...]
    truncated: bool  # there were more matches than max_results
