"""The default text of the document tool's answers: numbered lines and citations the model can use."""

from __future__ import annotations

import pytest

from app.documents import DocumentIndex, extract, render_find, render_search, render_window
from fixtures.documents import prose_lines, write_pdf


@pytest.fixture
def index(tmp_path):
    pages = [prose_lines(30, seed=n) for n in range(3)]
    pages[1][4] = "The lantern budget was approved in March."
    with DocumentIndex() as index:
        index.add(extract(write_pdf(tmp_path / "plan.pdf", pages)))
        yield index


def test_search_text_lists_result_ids_citations_and_snippets(index):
    hits = index.search("lantern approved")
    text = render_search("lantern approved", hits)
    assert text.startswith(f"Search results for `lantern approved` ({len(hits)}):")
    assert f"[result {hits[0].result_id}] plan.pdf, page 2, lines " in text
    assert "The lantern budget was approved in March." in text


def test_search_text_without_results_says_what_to_try(index):
    assert "Try other words" in render_search("xylophone", index.search("xylophone"))


def test_window_text_numbers_lines_and_marks_page_changes(index):
    text = render_window(index.open("plan.pdf", line=29, num_lines=4))
    lines = text.split("\n")
    assert lines[0] == "plan.pdf: lines 29-32 of 90 (3 pages)"
    assert lines[1] == "--- page 1 ---"
    assert lines[2].startswith("L29: ")
    assert lines[4] == "--- page 2 ---"
    assert lines[5].startswith("L31: ")
    assert lines[-1] == "(more: open `plan.pdf` at line 33)"


def test_find_text_shows_each_match_with_its_citation(index):
    text = render_find(index.find("lantern budget"))
    assert "# match in plan.pdf, page 2, lines 35-38" in text
    assert "L35: The lantern budget was approved in March." in text
    assert render_find(index.find("xylophone")) == "No `find` results for `xylophone`."
