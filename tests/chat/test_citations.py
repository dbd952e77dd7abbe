"""Citations shown by file and page, resolved from the browser pages kept in the conversation."""

from __future__ import annotations

import pytest

from app.chat.citations import CitationResolver, CitationStream, named_answer_texts, parse_page
from app.store import NewMessage, open_store
from app.tools.document_browser import CITATION_RE, DocumentBrowser
from tests.tools.test_document_browser import sample_browser


@pytest.fixture
def browser() -> DocumentBrowser:
    return sample_browser()


def browse(browser: DocumentBrowser, resolver: CitationResolver, function: str, arguments: str) -> str:
    result = browser.call(function, arguments)
    assert result.ok, result.content
    resolver.add_tool_output(result.author, result.content)
    return result.content


def expected_label(browser: DocumentBrowser, cursor: int, start: int, end: int) -> str:
    """The label the browser's own record of the page implies (the ground truth, kept in memory)."""
    citation = browser.resolve_citation(cursor, start, end)
    assert citation is not None
    if citation.page is None:
        return f"{citation.document}, L{start}" if start == end else f"{citation.document}, L{start}-{end}"
    if citation.page_end is not None and citation.page_end != citation.page:
        return f"{citation.document}, pp. {citation.page}-{citation.page_end}"
    return f"{citation.document}, p. {citation.page}"


def test_every_line_of_every_page_resolves_as_the_browser_itself_does(browser) -> None:
    resolver = CitationResolver()
    browse(browser, resolver, "search", '{"query": "revenue"}')  # cursor 0: results in two files
    browse(browser, resolver, "open", '{"id": "report.pdf", "loc": 1}')  # cursor 1: three pages
    browse(browser, resolver, "open", '{"id": "notes.md", "loc": 1, "num_lines": 20}')  # cursor 2
    browse(browser, resolver, "find", '{"pattern": "flooded", "cursor": 1}')  # cursor 3
    checked = 0
    for cursor in range(4):
        for start in range(0, 12):
            for end in (start, start + 1, start + 3):
                truth = browser.resolve_citation(cursor, start, end)
                label = resolver.label(cursor, start, end)
                if truth is None:
                    assert label is None, (cursor, start, end)
                    continue
                checked += 1
                if cursor in (1, 2):  # windows of a document: file, page or lines
                    assert label == expected_label(browser, cursor, start, end)
                else:  # results pages: the result the line belongs to
                    assert label is not None and label.startswith(truth.document)
                    if truth.page is not None and cursor == 0:
                        assert label == f"{truth.document}, page {truth.page}"
    assert checked > 40


def test_an_answer_shows_names_where_the_model_wrote_cursors(browser) -> None:
    resolver = CitationResolver()
    browse(browser, resolver, "search", '{"query": "warehouse flooded"}')
    opened = browse(browser, resolver, "open", '{"id": 0}')
    assert "L5: The warehouse in Oslo flooded in March." in opened
    browse(browser, resolver, "open", '{"id": "report.pdf", "loc": 1}')
    answer = "The Oslo warehouse flooded 【1†L5】; costs were flat 【2†L3-L5】. See also 【9†L1】."
    shown = resolver.display(answer)
    assert shown == ("The Oslo warehouse flooded 【†report.pdf, p. 2】; "
                     "costs were flat 【†report.pdf, pp. 1-2】. "
                     "See also 【9†L1】.")  # cursor 9 was never shown: left as written


def test_a_browser_error_or_another_tool_is_not_a_page() -> None:
    resolver = CitationResolver()
    resolver.add_tool_output("browser.open", "Cursor `4` is out of range; open pages are [0 - 1].")
    resolver.add_tool_output("python", "[0] report.pdf (3 lines)\n**viewing lines [1 - 1] of 3**\n\nL1: x")
    assert resolver.label(0, 1) is None
    assert parse_page("No results for `x` in the attached documents.") is None


def test_a_later_page_with_the_same_cursor_wins() -> None:
    # After a restart the browser numbers its pages from 0 again; the history holds both.
    resolver = CitationResolver()
    body = " (2 lines)\n**viewing lines [1 - 2] of 2**\n\nL1: a\nL2: b"
    resolver.add_tool_output("browser.open", "[0] old.txt" + body)
    resolver.add_tool_output("browser.open", "[0] new.txt" + body)
    assert resolver.label(0, 2) == "new.txt, L2"


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 7, 11])
def test_a_stream_cut_anywhere_shows_the_same_text_and_never_half_a_marker(browser, cut) -> None:
    resolver = CitationResolver()
    browse(browser, resolver, "search", '{"query": "warehouse flooded"}')
    browse(browser, resolver, "open", '{"id": 0}')
    answer = "Flooded 【1†L5】 in March【1†L5-L6】. Unknown 【7†L2】 and a lone 【 bracket at the end 【1†"
    stream = CitationStream(resolver)
    pieces = [stream.feed(answer[i:i + cut]) for i in range(0, len(answer), cut)]
    pieces.append(stream.finish())
    assert "".join(pieces) == resolver.display(answer)
    assert not any(CITATION_RE.search(p) and "【1†L5" in p for p in pieces)
    assert all(p.count("【") == p.count("】") for p in pieces[:-1] if "lone" not in p and "end" not in p)


def test_a_markdown_export_names_the_citations_the_view_names(browser, tmp_path) -> None:
    with open_store(tmp_path / "chats.db") as store:
        conversation = store.create_conversation(title="Flood")
        store.append_message(conversation.id, NewMessage("user", "Where was the flood?"))
        for function, arguments in (("search", '{"query": "warehouse flooded"}'), ("open", '{"id": 0}')):
            result = browser.call(function, arguments)
            store.append_message(conversation.id, NewMessage("assistant", arguments, channel="analysis",
                                                             recipient=f"browser.{function}"))
            store.append_message(conversation.id, NewMessage("tool", result.content, name=result.author,
                                                             channel="analysis", recipient="assistant"))
        store.append_message(conversation.id, NewMessage("assistant", "In Oslo 【1†L5】, see 【8†L1】.",
                                                         channel="final"))
        named = store.export_markdown(conversation.id, shown_texts=named_answer_texts)
        raw = store.export_markdown(conversation.id)
    assert "In Oslo [report.pdf, p. 2], see 【8†L1】." in named
    assert "In Oslo 【1†L5】, see 【8†L1】." in raw
    assert named.count("L5: The warehouse in Oslo flooded in March.") == 1  # the tool result, unchanged


def test_a_file_name_with_an_override_is_shown_with_it_visible() -> None:
    # Issue "Hostile input", item 10: "invoice\u202efdp.exe" must not read as "invoiceexe.pdf" in a tag.
    resolver = CitationResolver()
    body = " (2 lines)\n**viewing lines [1 - 2] of 2**\n\nL1: a\nL2: b"
    resolver.add_tool_output("browser.open", "[0] invoice\u202efdp.exe.txt" + body)
    assert resolver.display("Pay it 【0†L2】.") == "Pay it 【†invoice[U+202E]fdp.exe.txt, L2】."
