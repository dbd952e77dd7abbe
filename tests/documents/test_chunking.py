"""Numbered lines and chunks: line numbers match the file, chunks partition lines within pages."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.documents import ExtractedDocument, chunk_document, document_lines, extract
from app.documents.chunking import MAX_CHARS, MAX_LINE_CHARS, wrap_line
from app.documents.document import spans_for_pages
from fixtures.documents import prose_lines, write_pdf, write_text


def _text_document(text: str, name: str = "t.txt") -> ExtractedDocument:
    from app.documents.document import PageSpan

    return ExtractedDocument(name, "text", "0" * 64, len(text), text, (PageSpan(1, 0, len(text)),), False)


def _paged_document(pages: list[str]) -> ExtractedDocument:
    text, spans = spans_for_pages(pages)
    return ExtractedDocument("p.pdf", "pdf", "0" * 64, len(text), text, spans, True)


def test_lines_are_the_files_lines_numbered_from_one(tmp_path):
    source = "first\n\nthird\n"
    lines = list(document_lines(extract(write_text(tmp_path / "a.py", source))))
    assert [(line.number, line.text, line.page) for line in lines] == [(1, "first", None), (2, "", None),
                                                                       (3, "third", None)]


def test_pdf_lines_know_their_page(tmp_path):
    pages = [prose_lines(3, seed=1), prose_lines(2, seed=2)]
    lines = list(document_lines(extract(write_pdf(tmp_path / "a.pdf", pages))))
    assert [(line.number, line.page) for line in lines] == [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2)]
    assert [line.text for line in lines] == pages[0] + pages[1]


def test_over_long_lines_are_wrapped_at_spaces_without_losing_a_character():
    line = " ".join(["word"] * 200)  # 999 characters
    pieces = wrap_line(line)
    assert "".join(pieces) == line
    assert all(len(piece) <= MAX_LINE_CHARS for piece in pieces)
    assert all(piece.endswith(" ") for piece in pieces[:-1])
    no_spaces = "x" * 1000
    assert "".join(wrap_line(no_spaces)) == no_spaces


def test_chunks_never_span_pages_and_cite_their_page():
    document = _paged_document(["\n".join(prose_lines(80, seed=n)) for n in range(3)])
    chunks = list(chunk_document(document))
    lines = list(document_lines(document))
    for chunk in chunks:
        pages = {line.page for line in lines[chunk.line_start - 1:chunk.line_end]}
        assert pages == {chunk.page}
    assert {chunk.page for chunk in chunks} == {1, 2, 3}


def test_chunks_close_at_paragraph_breaks_once_big_enough():
    paragraphs = ["\n".join(prose_lines(18, seed=n)) for n in range(6)]  # 900-1,900 chars each
    document = _text_document("\n\n".join(paragraphs))
    chunks = list(chunk_document(document))
    assert len(chunks) == 6
    for chunk, paragraph in zip(chunks, paragraphs, strict=True):
        assert chunk.text.strip("\n") == paragraph


def check_partition(document: ExtractedDocument) -> None:
    lines = list(document_lines(document))
    chunks = list(chunk_document(document))
    rebuilt = [text for chunk in chunks for text in chunk.text.split("\n")]
    assert rebuilt == [line.text for line in lines]
    expected_start = 1
    for chunk in chunks:
        assert chunk.line_start == expected_start
        assert chunk.line_end - chunk.line_start + 1 == len(chunk.text.split("\n"))
        assert len(chunk.text) <= MAX_CHARS + MAX_LINE_CHARS
        expected_start = chunk.line_end + 1
    assert expected_start == len(lines) + 1


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab \n"), max_size=6000))
def test_chunks_partition_the_lines_of_any_text(text):
    check_partition(_text_document(text))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ab \n"), max_size=3000), min_size=1, max_size=5))
def test_chunks_partition_the_lines_of_any_paged_text(pages):
    check_partition(_paged_document(pages))
