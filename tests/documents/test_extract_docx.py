"""DOCX extraction on real files written by python-docx: order, structure, Unicode, damaged files."""

from __future__ import annotations

import pytest

from app.documents import DocumentError, extract
from tests.fixtures.documents import Bullet, Heading, Para, Table, write_corrupt_docx, write_docx, write_zip


def test_paragraphs_headings_lists_and_tables_in_document_order(tmp_path):
    path = write_docx(tmp_path / "minutes.docx", [
        Heading("Quarterly review", 1),
        Para("Revenue grew in every region."),
        Heading("Actions", 2),
        Bullet("Hire two engineers"),
        Bullet("Ship the planner"),
        Table((("Region", "Growth"), ("North", "12%"), ("South", "9%"))),
        Para("Next meeting in May."),
    ])

    document = extract(path)

    assert document.kind == "docx"
    assert document.type_label == "Word document"
    assert not document.paged
    assert document.page_count is None
    assert document.text.split("\n") == [
        "# Quarterly review",
        "Revenue grew in every region.",
        "## Actions",
        "- Hire two engineers",
        "- Ship the planner",
        "Region | Growth",
        "North | 12%",
        "South | 9%",
        "Next meeting in May.",
    ]


def test_unicode_text(tmp_path):
    text = "Grüße aus Köln — 東京で会いましょう, Ελληνικά, emoji 🙂."
    path = write_docx(tmp_path / "u.docx", [Para(text)])
    assert extract(path).text == text


def test_empty_paragraphs_collapse_to_one_blank_line(tmp_path):
    path = write_docx(tmp_path / "gaps.docx", [Para("One."), Para(""), Para(""), Para(""), Para("Two.")])
    assert extract(path).text == "One.\n\nTwo."


def test_progress_reports_paragraphs(tmp_path):
    path = write_docx(tmp_path / "long.docx", [Para(f"Paragraph {n}.") for n in range(250)])
    reports = []
    document = extract(path, progress=reports.append)
    extracting = [r for r in reports if r.stage == "extracting"]
    assert extracting[-1].done == extracting[-1].total >= 250
    assert [r.done for r in extracting] == sorted(r.done for r in extracting)
    assert len(extracting) >= 3  # a report every 200 paragraphs, and the last
    assert document.text.split("\n")[-1] == "Paragraph 249."


@pytest.mark.parametrize("how", ["truncated", "bad_xml", "no_document"])
def test_damaged_docx_is_corrupt(tmp_path, how):
    path = write_corrupt_docx(tmp_path / f"{how}.docx", how)
    with pytest.raises(DocumentError) as caught:
        extract(path)
    assert caught.value.kind == "corrupt"
    assert "Word" in caught.value.message


def test_docx_only_with_a_text_body_counts_as_empty(tmp_path):
    path = write_docx(tmp_path / "blank.docx", [Para(""), Para("   ")])
    with pytest.raises(DocumentError) as caught:
        extract(path)
    assert caught.value.kind == "empty"


def test_docx_named_zip_is_still_a_docx(tmp_path):
    source = write_docx(tmp_path / "a.docx", [Para("Content decides.")])
    renamed = tmp_path / "a.zip"
    renamed.write_bytes(source.read_bytes())
    document = extract(renamed)
    assert document.kind == "docx"
    assert document.text == "Content decides."


@pytest.mark.parametrize(
    ("members", "name", "says"),
    [
        ({"xl/workbook.xml": b"<x/>", "[Content_Types].xml": b"<x/>"}, "book.xlsx", "Excel"),
        ({"ppt/presentation.xml": b"<x/>", "[Content_Types].xml": b"<x/>"}, "deck.pptx", "PowerPoint"),
        ({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}, "a.odt",
         "OpenDocument"),
        ({"readme.txt": b"hello"}, "bundle.zip", "ZIP"),
    ],
)
def test_other_zip_based_formats_are_unsupported_with_what_to_do(tmp_path, members, name, says):
    path = write_zip(tmp_path / name, members)
    with pytest.raises(DocumentError) as caught:
        extract(path)
    assert caught.value.kind == "unsupported"
    assert says in caught.value.message
