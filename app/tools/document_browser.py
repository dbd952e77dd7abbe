"""The `browser` builtin over the conversation's attached documents, in the shape gpt-oss was trained on.

gpt-oss knows a browser with `search`, `open` and `find`: each answer is a page shown as
`[{cursor}] {title}`, a `**viewing lines [a - b] of n**` bar and numbered `L{n}:` lines; links read
`【{id}†{title}】` and are opened with `open {"id": n}`; the model cites `【{cursor}†L{a}-L{b}】`. This module
keeps that contract and swaps the web for `app.documents.DocumentIndex`: search ranks passages of the
attached files, a link opens a file at a passage, `open {"id": "report.pdf"}` opens a file by name, and
`find` looks for exact text in the open file (or in every file when the page is a list of results).

On a document page the line numbers are the document's own (1-based, as the index counts them), so a
citation names file, page and lines; `resolve_citation` turns one back into a `Citation` for the UI.
Pages live as long as this object (one per conversation) and are numbered by cursor, as in gpt-oss.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.documents import Citation, DocumentIndex, IndexedDocument, SearchError, Window
from app.errors import OssianError
from app.harmony import ToolNamespace, browser_namespace, parse_tool_arguments
from app.tools.registry import BROWSER
from app.tools.results import ToolResult, error_result
from app.tools.schema_check import check_arguments

DEFAULT_VIEW_CHARS = 6000  # about 1,500 tokens a page, like gpt-oss's 1,024-token view
MAX_PAGES = 200  # older cursors are forgotten; a turn rarely needs more than a dozen
DOCUMENT_SOURCE = "sources=documents (default: documents)"
DOCUMENTS_NOTE = ("The documents are the files the user attached to this conversation. There is no web "
                  "access: `id` strings are file names, not URLs.")
CITATION_RE = re.compile(r"【(?P<cursor>\d+)†L(?P<start>\d+)(?:-L(?P<end>\d+))?】")


def document_browser_namespace() -> ToolNamespace:
    """gpt-oss's browser declaration, its source line naming the attached documents instead of the web."""
    web = browser_namespace()
    assert web.description is not None
    description = web.description.replace("sources=web (default: web)", DOCUMENT_SOURCE)
    return dataclasses.replace(web, description=f"{description}\n{DOCUMENTS_NOTE}")


@dataclass(frozen=True)
class PageLine:
    number: int | None  # shown as `L{number}:`; None for a page-break marker line
    text: str
    citation: Citation | None  # what this line cites (its document passage)


@dataclass(frozen=True)
class Link:
    target: int | str  # a search result id, or a document ref
    line: int | None = None  # where to open a document ref


@dataclass(frozen=True)
class BrowserPage:
    cursor: int
    title: str
    lines: tuple[PageLine, ...]
    links: Mapping[int, Link]
    document: IndexedDocument | None = None  # set for a window of a document


class BrowserUsageError(OssianError):
    """A call that cannot be answered; the message tells the model what to do instead."""


class DocumentBrowser:
    """The browser of one conversation. Thread-safe enough for one tool thread (calls come one at a time)."""

    def __init__(self, index: DocumentIndex, view_chars: int = DEFAULT_VIEW_CHARS) -> None:
        self.index = index
        self.view_chars = view_chars
        self._pages: dict[int, BrowserPage] = {}
        self._next_cursor = 0
        self._schemas = {tool.name: tool.parameters for tool in browser_namespace().tools}
        self._functions: dict[str, Callable[[dict[str, Any]], str]] = {
            "search": self._search, "open": self._open, "find": self._find}

    # -- dispatch ---------------------------------------------------------------------------------

    def call(self, function: str, arguments_text: str) -> ToolResult:
        """Run `browser.<function>` with the call's raw argument text."""
        author = f"{BROWSER}.{function}"
        handler = self._functions.get(function)
        if handler is None:
            return error_result(author, f"the browser has no function `{function}`; use browser.search, "
                                        "browser.open or browser.find.")
        parsed = parse_tool_arguments(arguments_text)
        if parsed.value is None:
            return error_result(author, parsed.error or "the arguments could not be read")
        problems = check_arguments(parsed.value, self._schemas.get(function))
        if problems:
            return error_result(author, f"{'; '.join(problems)}. Call {author} again with corrected "
                                        "arguments.")
        started = time.monotonic()
        try:
            text = handler(parsed.value)
        except (BrowserUsageError, SearchError) as exc:
            return error_result(author, str(exc), time.monotonic() - started)
        return ToolResult(author, text, "ok", time.monotonic() - started)

    # -- the three functions ----------------------------------------------------------------------

    def _search(self, args: dict[str, Any]) -> str:
        query = str(args["query"])
        top_n = _whole(args.get("topn", args.get("top_n", 10)), "topn")
        hits = self.index.search(query, max(1, top_n))
        if not hits:  # an answer, not a failure: gpt-oss shows an empty result the same way
            return (f"No results for `{query}` in the attached documents. Try other words, or browser.find "
                    "an exact phrase.")
        lines: list[PageLine] = []
        links: dict[int, Link] = {}
        for link_id, hit in enumerate(hits):
            links[link_id] = Link(hit.result_id)
            lines.append(PageLine(None, f"【{link_id}†{hit.title}】", hit.citation))
            lines.extend(PageLine(None, text, hit.citation) for text in hit.snippet.split("\n"))
            lines.append(PageLine(None, "", None))
        return self._show(self._push(f"Search results for `{query}`", _numbered(lines[:-1]), links))

    def _open(self, args: dict[str, Any]) -> str:
        target, cursor = args.get("id", -1), _whole(args.get("cursor", -1), "cursor")
        loc, num_lines = _whole(args.get("loc", -1), "loc"), _whole(args.get("num_lines", -1), "num_lines")
        if isinstance(target, str) and target not in ("", "-1"):
            return self._open_window(self.index.resolve(target).ref, loc if loc >= 1 else None, num_lines)
        link_id = _whole(target, "id")
        page = self._page(cursor)
        if link_id >= 0:
            link = page.links.get(link_id)
            if link is None:
                valid = ", ".join(str(i) for i in page.links) or "none on that page"
                raise BrowserUsageError(f"Invalid link id `{link_id}` on page [{page.cursor}]; "
                                        f"valid ids: {valid}.")
            return self._open_window(link.target, loc if loc >= 1 else link.line, num_lines)
        if page.document is not None:  # scroll the open document
            first = next((line.number for line in page.lines if line.number is not None), 1)
            return self._open_window(page.document.ref, loc if loc >= 1 else first, num_lines)
        return self._show(self._push(page.title, page.lines, page.links), start=max(loc, 0))

    def _find(self, args: dict[str, Any]) -> str:
        pattern, cursor = str(args["pattern"]), _whole(args.get("cursor", -1), "cursor")
        page = self._page(cursor) if self._pages or cursor >= 0 else None
        document = page.document.ref if page is not None and page.document is not None else None
        result = self.index.find(pattern, document)
        where = f"`{document}`" if document else "the attached documents"
        if not result.matches:
            return f"No `find` results for `{pattern}` in {where}."
        lines: list[PageLine] = []
        links: dict[int, Link] = {}
        for link_id, match in enumerate(result.matches):
            links[link_id] = Link(match.document.ref, match.line)
            lines.append(PageLine(None, f"# 【{link_id}†match at L{match.line}†{match.document.ref}】",
                                  match.citation))
            lines.extend(PageLine(None, line.text, match.citation) for line in match.lines)
            lines.append(PageLine(None, "", None))
        title = f"Find results for text: `{pattern}` in {where}"
        if result.truncated:
            title += f" (first {len(result.matches)} matches)"
        return self._show(self._push(title, _numbered(lines[:-1]), links))

    # -- pages ------------------------------------------------------------------------------------

    def _open_window(self, target: int | str, line: int | None, num_lines: int) -> str:
        """A window of a document (target: a search result id or a document ref) as a new page."""
        # num_lines <= 0 means "as much as fits": the index's own default window.
        window: Window = (self.index.open(target, line, num_lines) if num_lines > 0
                          else self.index.open(target, line))
        document = window.document
        lines: list[PageLine] = []
        page_number = None
        for line in window.lines:
            if document.paged and line.page is not None and line.page != page_number:
                page_number = line.page
                lines.append(PageLine(None, f"--- page {page_number} ---", None))
            citation = Citation(document.name, line.page, line.number, line.number)
            lines.append(PageLine(line.number, line.text, citation))
        pages = f", {document.page_count} pages" if document.paged and document.page_count else ""
        title = f"{document.ref} ({document.line_count} lines{pages})"
        return self._show(self._push(title, tuple(lines), {}, document), total=document.line_count)

    def _push(self, title: str, lines: tuple[PageLine, ...], links: Mapping[int, Link],
              document: IndexedDocument | None = None) -> BrowserPage:
        page = BrowserPage(self._next_cursor, title, lines, dict(links), document)
        self._pages[page.cursor] = page
        self._next_cursor += 1
        for old in [c for c in self._pages if c <= page.cursor - MAX_PAGES]:
            del self._pages[old]
        return page

    def _page(self, cursor: int) -> BrowserPage:
        if not self._pages:
            raise BrowserUsageError("No page is open yet; use browser.search first, or browser.open with a "
                                    "file name as `id`.")
        if cursor < 0:
            return self._pages[self._next_cursor - 1]
        page = self._pages.get(cursor)
        if page is None:
            raise BrowserUsageError(f"Cursor `{cursor}` is out of range; open pages are "
                                    f"[{min(self._pages)} - {max(self._pages)}].")
        return page

    def _show(self, page: BrowserPage, start: int | None = None, total: int | None = None) -> str:
        """The page as the model sees it, from line number `start` on, within the character budget."""
        numbered = [line for line in page.lines if line.number is not None]
        if not numbered:
            return f"[{page.cursor}] {page.title}\n(empty)"
        shown: list[str] = []
        chars = 0
        first = last = None
        for line in page.lines:
            if start is not None and line.number is not None and line.number < start:
                continue
            text = line.text if line.number is None else f"L{line.number}: {line.text}"
            chars += len(text) + 1
            if shown and chars > self.view_chars:
                break
            shown.append(text)
            if line.number is not None:
                first = line.number if first is None else first
                last = line.number
        end = total if total is not None else numbered[-1].number
        bar = f"**viewing lines [{first} - {last}] of {end}**"
        return f"[{page.cursor}] {page.title}\n{bar}\n\n" + "\n".join(shown)

    # -- citations, for the UI --------------------------------------------------------------------

    def resolve_citation(self, cursor: int, line_start: int, line_end: int | None = None) -> Citation | None:
        """What `【cursor†L{start}-L{end}】` points at in the files (None for an unknown page or lines)."""
        page = self._pages.get(cursor)
        if page is None:
            return None
        end = line_start if line_end is None else line_end
        cited = [line for line in page.lines if line.number is not None and line_start <= line.number <= end]
        citations = [line.citation for line in cited if line.citation is not None]
        if not citations:
            return None
        if page.document is None:
            return citations[0]  # a results page cites the passage its line belongs to
        first, last = citations[0], citations[-1]
        page_end = last.page if last.page != first.page else None  # lines across a page break
        return Citation(first.document, first.page, first.line_start, last.line_end, page_end)

    def citations_in(self, text: str) -> list[tuple[tuple[int, int], Citation]]:
        """Every resolvable `【cursor†L..】` in `text`, as ((start, end) offsets in text, citation)."""
        found: list[tuple[tuple[int, int], Citation]] = []
        for match in CITATION_RE.finditer(text):
            end = match.group("end")
            citation = self.resolve_citation(int(match.group("cursor")), int(match.group("start")),
                                             int(end) if end else None)
            if citation is not None:
                found.append((match.span(), citation))
        return found


def _numbered(lines: list[PageLine]) -> tuple[PageLine, ...]:
    """Results pages number their lines from 0, as the browser tool does."""
    return tuple(PageLine(i, line.text, line.citation) for i, line in enumerate(lines))


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BrowserUsageError(f"`{name}` must be a whole number, not {value!r}.")
    try:
        return int(float(value))
    except ValueError:
        raise BrowserUsageError(f"`{name}` must be a whole number, not {value!r}.") from None
