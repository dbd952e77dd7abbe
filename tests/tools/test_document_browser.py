"""The browser over attached documents, on a real FTS5 index from the documents room."""

from __future__ import annotations

import hashlib
import re

import pytest

from app.documents import Citation, DocumentIndex, ExtractedDocument, PageSpan
from app.tools.document_browser import CITATION_RE, DocumentBrowser, document_browser_namespace

REPORT_PAGES = [
    "Annual report\nThe quarterly revenue grew by 12 percent.\nCosts stayed flat.",
    "Risks\nThe warehouse in Oslo flooded in March.\nInsurance covered most of the damage.",
    "Outlook\nWe expect revenue to grow again next year.",
]


def spans_for_pages(pages: list[str]) -> tuple[str, tuple[PageSpan, ...]]:
    """Pages joined by one newline, each with its span (as a PDF extraction lays them out)."""
    spans, offset = [], 0
    for number, page in enumerate(pages, start=1):
        spans.append(PageSpan(number, offset, offset + len(page)))
        offset += len(page) + 1
    return "\n".join(pages), tuple(spans)


def paged(name: str, pages: list[str]) -> ExtractedDocument:
    text, spans = spans_for_pages(pages)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return ExtractedDocument(name, "pdf", digest, len(text), text, spans, True)


def unpaged(name: str, text: str) -> ExtractedDocument:
    _, spans = spans_for_pages([text])
    return ExtractedDocument(name, "text", hashlib.sha256(text.encode()).hexdigest(), len(text), text, spans,
                             False)


def sample_browser() -> DocumentBrowser:
    """A browser over a three-page report.pdf and an unpaged notes.md of 102 lines."""
    index = DocumentIndex()
    index.add(paged("report.pdf", REPORT_PAGES))
    index.add(unpaged("notes.md", "Meeting notes\nRevenue target: 15 percent.\n" + "\n".join(
        f"filler line {i}" for i in range(100))))
    return DocumentBrowser(index)


@pytest.fixture
def browser() -> DocumentBrowser:
    return sample_browser()


def test_search_shows_a_results_page_with_links(browser: DocumentBrowser) -> None:
    result = browser.call("search", '{"query": "warehouse flooded"}')
    assert result.ok and result.author == "browser.search"
    lines = result.content.split("\n")
    assert lines[0] == "[0] Search results for `warehouse flooded`"
    assert lines[1].startswith("**viewing lines [0 - ")
    assert "L0: 【0†report.pdf, page 2】" in result.content
    assert "The warehouse in Oslo flooded in March." in result.content


def test_open_a_link_shows_numbered_document_lines_with_page_marks(browser: DocumentBrowser) -> None:
    browser.call("search", '{"query": "warehouse"}')
    opened = browser.call("open", '{"id": 0}')
    assert opened.ok
    assert opened.content.startswith("[1] report.pdf (")
    assert "--- page 2 ---" in opened.content
    assert "L5: The warehouse in Oslo flooded in March." in opened.content


def test_a_citation_to_a_document_page_resolves_to_file_page_and_lines(browser: DocumentBrowser) -> None:
    browser.call("search", '{"query": "warehouse"}')
    browser.call("open", '{"id": 0}')
    assert browser.resolve_citation(1, 5, 6) == Citation("report.pdf", 2, 5, 6)
    assert browser.resolve_citation(1, 5) == Citation("report.pdf", 2, 5, 5)
    assert browser.resolve_citation(9, 1) is None
    answer = "It flooded 【1†L5-L6】, see also 【7†L1】."
    found = browser.citations_in(answer)
    assert [(answer[s:e], c) for (s, e), c in found] == [("【1†L5-L6】", Citation("report.pdf", 2, 5, 6))]


def test_a_citation_across_a_page_break_names_both_pages(browser: DocumentBrowser) -> None:
    browser.call("open", '{"id": "report.pdf", "loc": 1}')
    citation = browser.resolve_citation(0, 3, 5)
    assert citation == Citation("report.pdf", 1, 3, 5, page_end=2)
    assert str(citation) == "report.pdf, pages 1-2, lines 3-5"


def test_a_citation_to_a_results_line_resolves_to_its_passage(browser: DocumentBrowser) -> None:
    browser.call("search", '{"query": "warehouse"}')
    citation = browser.resolve_citation(0, 1)
    assert citation is not None and citation.document == "report.pdf" and citation.page == 2


def test_open_by_file_name_with_location_and_length(browser: DocumentBrowser) -> None:
    result = browser.call("open", '{"id": "notes.md", "loc": 10, "num_lines": 3}')
    assert result.ok
    assert "**viewing lines [10 - 12] of 102**" in result.content
    assert "L10: filler line 7" in result.content and "L13" not in result.content


def test_open_without_id_scrolls_the_open_document(browser: DocumentBrowser) -> None:
    browser.call("open", '{"id": "notes.md", "num_lines": 5}')
    scrolled = browser.call("open", '{"loc": 50, "num_lines": 2}')
    assert scrolled.content.startswith("[1] notes.md")
    assert "L50: filler line 47\nL51: filler line 48" in scrolled.content


def test_find_in_the_open_document_and_across_all(browser: DocumentBrowser) -> None:
    browser.call("open", '{"id": "report.pdf"}')
    inside = browser.call("find", '{"pattern": "REVENUE"}')
    assert "in `report.pdf`" in inside.content
    assert "【0†match at L2†report.pdf】" in inside.content
    assert "notes.md" not in inside.content
    browser.call("search", '{"query": "revenue"}')
    everywhere = browser.call("find", '{"pattern": "revenue"}')
    assert "in the attached documents" in everywhere.content and "notes.md" in everywhere.content
    # A find result's link opens the document at the match.
    opened = browser.call("open", '{"id": 0}')
    assert "L2: The quarterly revenue grew by 12 percent." in opened.content


def test_nothing_found_is_an_answer_not_a_failure(browser: DocumentBrowser) -> None:
    assert browser.call("search", '{"query": "zebra"}').content.startswith("No results for `zebra`")
    result = browser.call("find", '{"pattern": "zebra"}')
    assert result.ok and "No `find` results" in result.content


@pytest.mark.parametrize(("function", "arguments", "words"), [
    ("open", '{"id": 3}', "No page is open yet"),
    ("search", "{}", "argument `query` is required"),
    ("search", '{"query": 5}', "argument `query` must be string"),
    ("search", '{"query": "revenue"', "not valid JSON"),
    ("open", '{"id": "missing.pdf"}', "No document `missing.pdf`"),
    ("open", '{"id": "notes.md", "loc": 999}', "outside `notes.md`"),
    ("open", '{"cursor": "last"}', "argument `cursor` must be number"),
    ("click", "{}", "no function `click`"),
])
def test_bad_calls_get_errors_that_say_what_to_do(browser: DocumentBrowser, function: str, arguments: str,
                                                  words: str) -> None:
    result = browser.call(function, arguments)
    assert result.status == "error"
    assert result.content.startswith("Error")
    assert words in result.content, result.content


def test_bad_link_ids_and_cursors(browser: DocumentBrowser) -> None:
    browser.call("search", '{"query": "revenue"}')
    bad_link = browser.call("open", '{"id": 40}')
    assert "Invalid link id `40`" in bad_link.content and "valid ids: 0" in bad_link.content
    bad_cursor = browser.call("open", '{"cursor": 12, "id": 0}')
    assert "Cursor `12` is out of range" in bad_cursor.content


def test_pages_are_cut_to_the_view_budget() -> None:
    index = DocumentIndex()
    index.add(unpaged("long.txt", "\n".join(f"line number {i} " + "word " * 30 for i in range(150))))
    browser = DocumentBrowser(index, view_chars=2000)
    result = browser.call("open", '{"id": "long.txt", "num_lines": 150}')
    assert len(result.content) < 2300
    shown = [int(m) for m in re.findall(r"^L(\d+):", result.content, flags=re.MULTILINE)]
    assert shown[0] == 1 and shown == list(range(1, shown[-1] + 1))
    assert f"**viewing lines [1 - {shown[-1]}] of 150**" in result.content


def test_the_declaration_keeps_gpt_oss_shape_and_names_the_documents() -> None:
    namespace = document_browser_namespace()
    assert namespace.name == "browser"
    assert [tool.name for tool in namespace.tools] == ["search", "open", "find"]
    assert "sources=documents (default: documents)" in namespace.description
    assert "sources=web" not in namespace.description
    assert "【{cursor}†L{line_start}(-L{line_end})?】" in namespace.description


def test_citation_pattern_matches_the_declared_format() -> None:
    assert CITATION_RE.fullmatch("【6†L9-L11】") and CITATION_RE.fullmatch("【8†L3】")
    assert not CITATION_RE.fullmatch("【0†report.pdf, page 2】")
