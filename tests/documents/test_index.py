"""Search mode on real extracted documents: BM25 search with citations, open, find, persistence."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.documents import DocumentIndex, SearchError, document_lines, extract
from app.documents.index import MAX_WINDOW_CHARS
from fixtures.documents import prose_lines, write_pdf, write_text

NEEDLE = "Obsidian reserves were measured at the northern zeppelin ridge."


@pytest.fixture
def report(tmp_path):
    """A 5-page PDF; page 3, line 7 of the page holds the needle."""
    pages = [prose_lines(40, seed=n) for n in range(5)]
    pages[2][6] = NEEDLE
    return extract(write_pdf(tmp_path / "report.pdf", pages))


@pytest.fixture
def notes(tmp_path):
    lines = prose_lines(120, seed=50)
    lines[30] = "We were running the zeppelin engines at the café near the harbour."
    lines[90] = "Zeppelin flights resumed after the inspection."
    return extract(write_text(tmp_path / "notes.md", "\n".join(lines) + "\n"))


@pytest.fixture
def index(report, notes):
    with DocumentIndex() as index:
        index.add(report)
        index.add(notes)
        yield index


def line_of(document, number):
    return next(line for line in document_lines(document) if line.number == number)


def test_search_finds_the_passage_and_cites_file_page_and_lines(index, report):
    hits = index.search("obsidian reserves", top_n=5)
    best = hits[0]
    expected_line = 40 * 2 + 7  # 40 lines on each of pages 1-2, then line 7 of page 3
    assert line_of(report, expected_line).text == NEEDLE
    assert best.document.name == "report.pdf"
    assert best.title == "report.pdf, page 3"
    assert best.citation.document == "report.pdf"
    assert best.citation.page == 3
    assert best.citation.line_start <= expected_line <= best.citation.line_end
    assert best.match_line == expected_line
    assert NEEDLE in best.snippet
    start, end = best.citation.line_start, best.citation.line_end
    assert str(best.citation) == f"report.pdf, page 3, lines {start}-{end}"


def test_more_query_terms_matched_ranks_higher(index):
    hits = index.search("zeppelin engines harbour")
    assert hits[0].document.name == "notes.md"
    assert "running the zeppelin engines" in hits[0].snippet
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert {hit.document.name for hit in hits} == {"notes.md", "report.pdf"}  # the needle has "zeppelin"


def test_stemming_case_and_accents_are_forgiven(index):
    assert "running the zeppelin" in index.search("RUNS Zeppelin")[0].snippet
    assert "café" in index.search("cafe")[0].snippet


def test_no_match_is_an_empty_list(index):
    assert index.search("xylophone") == []


def test_top_n_and_document_filter(index):
    assert len(index.search("the", top_n=3)) == 3
    only_notes = index.search("zeppelin", documents=["notes.md"])
    assert only_notes and {hit.document.name for hit in only_notes} == {"notes.md"}


@pytest.mark.parametrize(
    "query", ['NEAR("zeppelin" b', "text:zeppelin *", "zeppelin AND OR NOT", '"zeppelin', "-zeppelin ^y"]
)
def test_query_syntax_never_reaches_fts5(index, query):
    # Each would be an FTS5 syntax error or a different query if passed through; quoted, it is words.
    hits = index.search(query)
    assert "zeppelin" in hits[0].snippet.lower()


def test_empty_query_is_a_search_error(index):
    with pytest.raises(SearchError, match="no words"):
        index.search(" ?! ")


def test_open_a_result_shows_numbered_lines_from_its_start(index, report):
    hit = index.search("obsidian")[0]
    window = index.open(hit.result_id, num_lines=10)
    assert window.lines[0].number == hit.citation.line_start
    assert [line.number for line in window.lines] == list(range(hit.citation.line_start,
                                                                hit.citation.line_start + 10))
    for line in window.lines:
        assert line.text == line_of(report, line.number).text
        assert line.page == 3
    assert (window.citation.line_start, window.citation.line_end) == (window.lines[0].number,
                                                                       window.lines[-1].number)


def test_open_a_document_at_a_line(index, report):
    window = index.open("report.pdf", line=38, num_lines=5)
    assert [(line.number, line.page) for line in window.lines] == [
        (38, 1), (39, 1), (40, 1), (41, 2), (42, 2),
    ]
    assert str(window.citation) == "report.pdf, pages 1-2, lines 38-42"
    assert str(index.open("report.pdf", line=41, num_lines=2).citation) == "report.pdf, page 2, lines 41-42"
    assert window.has_more


def test_open_the_end_of_a_document(index, notes):
    window = index.open("notes.md", line=118, num_lines=10)
    assert [line.number for line in window.lines] == [118, 119, 120]
    assert not window.has_more


def test_open_errors_say_what_is_valid(index):
    with pytest.raises(SearchError, match="lines 1-200"):
        index.open("report.pdf", line=201)
    with pytest.raises(SearchError, match="No search result"):
        index.open(987_654)
    with pytest.raises(SearchError, match=r"`report\.pdf`, `notes\.md`"):
        index.open("missing.pdf")


def test_open_never_returns_more_than_the_character_budget(tmp_path):
    wide = extract(write_text(tmp_path / "wide.txt", "\n".join("x" * 200 for _ in range(300))))
    with DocumentIndex() as index:
        index.add(wide)
        window = index.open("wide.txt", num_lines=200)
    assert sum(len(line.text) + 1 for line in window.lines) <= MAX_WINDOW_CHARS
    assert len(window.lines) == MAX_WINDOW_CHARS // 201


def test_find_lists_matching_lines_with_the_lines_after(index, notes):
    result = index.find("ZEPPELIN", document="notes.md")
    assert [match.line for match in result.matches] == [31, 91]
    first = result.matches[0]
    assert first.lines[0].text == line_of(notes, 31).text
    assert [line.number for line in first.lines] == [31, 32, 33, 34]
    assert str(first.citation) == "notes.md, lines 31-34"
    assert not result.truncated


def test_find_in_all_documents_and_truncation(index):
    everywhere = index.find("zeppelin")
    assert [(m.document.name, m.line) for m in everywhere.matches] == [
        ("report.pdf", 87), ("notes.md", 31), ("notes.md", 91),
    ]
    assert everywhere.matches[0].citation.page == 3
    limited = index.find("zeppelin", max_results=2)
    assert len(limited.matches) == 2 and limited.truncated


def test_find_with_an_empty_pattern_is_an_error(index):
    with pytest.raises(SearchError, match="empty"):
        index.find("  ")


def test_adding_the_same_document_twice_is_a_lookup(index, report):
    before = index.documents()
    again = index.add(report)
    assert index.documents() == before
    assert again == before[0]


def test_same_name_different_content_gets_its_own_ref(tmp_path):
    (tmp_path / "x").mkdir()
    first = extract(write_text(tmp_path / "a.txt", "alpha content\n"))
    second = extract(write_text(tmp_path / "x" / "a.txt", "beta content\n"))
    with DocumentIndex() as index:
        index.add(first)
        index.add(second)
        assert [d.ref for d in index.documents()] == ["a.txt", "a.txt (2)"]
        assert index.find("beta", document="a.txt (2)").matches
        assert not index.find("beta", document="a.txt").matches
        assert index.resolve("A.TXT (2)").name == "a.txt"


def test_remove_forgets_the_document_entirely(index, report):
    assert index.remove(report.sha256)
    assert [d.name for d in index.documents()] == ["notes.md"]
    assert index.search("obsidian") == []
    assert not index.remove(report.sha256)
    index.add(report)  # and it can come back
    assert index.search("obsidian")[0].document.name == "report.pdf"


def test_index_on_disk_survives_a_reopen(tmp_path, report, notes):
    path = tmp_path / "conversation-1.sqlite3"
    with DocumentIndex(path) as index:
        index.add(report)
        index.add(notes)
        hits = index.search("zeppelin")
    with DocumentIndex(path) as reopened:
        assert [d.name for d in reopened.documents()] == ["report.pdf", "notes.md"]
        assert reopened.search("zeppelin") == hits
        assert reopened.add(report).ref == "report.pdf"  # already there: no second copy
        assert len(reopened.documents()) == 2


def test_a_damaged_index_file_is_rebuilt_empty(tmp_path, report):
    path = tmp_path / "index.sqlite3"
    path.write_bytes(b"this is not an SQLite database" * 100)
    with DocumentIndex(path) as index:
        assert index.documents() == []
        index.add(report)
        assert index.search("obsidian")


def test_an_index_of_another_schema_version_is_rebuilt(tmp_path, report):
    path = tmp_path / "index.sqlite3"
    with DocumentIndex(path) as index:
        index.add(report)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version = 99")
    connection.commit()
    connection.close()
    with DocumentIndex(path) as index:
        assert index.documents() == []


def test_threads_can_share_an_index(index, tmp_path):
    errors: list[BaseException] = []
    extra = extract(write_text(tmp_path / "extra.txt", "\n".join(prose_lines(400, seed=77))))

    def searcher():
        try:
            for _ in range(30):
                assert index.search("obsidian")[0].citation.page == 3
                index.find("zeppelin", document="notes.md")
        except BaseException as exc:  # collected and re-raised on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(4)]
    threads.append(threading.Thread(target=index.add, args=(extra,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [d.name for d in index.documents()] == ["report.pdf", "notes.md", "extra.txt"]


def test_the_snippet_centres_on_the_rare_words_not_the_common_ones(index, report):
    best = index.search("the and of obsidian to in")[0]
    assert best.match_line == 87
    assert NEEDLE in best.snippet


def reference_find(document, needle, show=4):
    """The browser tool's find, written plainly over the document's lines."""
    lines = list(document_lines(document))
    found, index = [], 0
    while index < len(lines):
        if needle.casefold() in lines[index].text.casefold():
            found.append((lines[index].number, [line.text for line in lines[index:index + show]]))
            index += show
        else:
            index += 1
    return found


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), needle=st.sampled_from(["Zeppelin", "the r", "ember.", "q"]))
def test_find_agrees_with_a_plain_scan_across_chunk_boundaries(tmp_path, seed, needle):
    lines = prose_lines(400, seed=seed)
    for number in range(0, 400, 7):
        lines[number] += " zeppelin"
    path = tmp_path / f"doc-{seed}.txt"
    document = extract(write_text(path, "\n".join(lines)))
    with DocumentIndex() as index:
        index.add(document)
        result = index.find(needle, max_results=10_000)
    found = [(match.line, [line.text for line in match.lines]) for match in result.matches]
    assert found == reference_find(document, needle)


def test_tool_arguments_as_the_model_sends_them(index):
    assert len(index.search("zeppelin", top_n="2")) == 2  # type: ignore[arg-type]
    assert index.open("notes.md", line=3.0, num_lines="2").citation.line_start == 3  # type: ignore[arg-type]
    for bad in ("many", 2.5, float("inf"), None):
        with pytest.raises(SearchError, match="whole number"):
            index.search("zeppelin", top_n=bad)  # type: ignore[arg-type]
    assert index.search("zeppelin", documents=[]) == []
