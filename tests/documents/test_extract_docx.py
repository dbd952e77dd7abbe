"""DOCX extraction on real files written by python-docx: order, structure, Unicode, damaged files.

The extractor reads the XML as a stream (issue 14: ZIP bombs); python-docx, which the app used before,
is kept here as the reference: for files it reads, the text must come out the same.
"""

from __future__ import annotations

import re
from pathlib import Path

import docx
import pytest
from docx.enum.text import WD_BREAK
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docx.text.paragraph import Paragraph

from app.documents import DocumentError, extract
from app.documents.text_decode import normalize_text
from fixtures.documents import (
    Bullet,
    Heading,
    Para,
    Table,
    bench_docx,
    write_corrupt_docx,
    write_docx,
    write_zip,
)


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


def test_progress_reports_the_xml_as_it_is_read(tmp_path):
    path = write_docx(tmp_path / "long.docx", [Para(f"Paragraph {n}.") for n in range(5000)])
    reports = []
    document = extract(path, progress=reports.append)
    extracting = [r for r in reports if r.stage == "extracting"]
    assert {r.unit for r in extracting} == {"bytes"}
    assert extracting[-1].done == extracting[-1].total > 256 * 1024
    assert [r.done for r in extracting] == sorted(r.done for r in extracting)
    assert len(extracting) >= 3  # a report every 256 KB of XML, and the last
    assert document.text.split("\n")[-1] == "Paragraph 4999."


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


# ---------------------------------------------------------------------------------------------------
# the same text as python-docx gives


def python_docx_text(path: Path) -> str:
    """The app's extractor before issue 14, on python-docx: the reference for the streaming one."""
    document = docx.Document(str(path))
    style_names = {style.style_id: style.name for style in document.styles}
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(_reference_paragraph(block, style_names))
            continue
        for row in block.rows:
            cells: list[str] = []
            previous = None
            for cell in row.cells:
                if previous is not None and cell._tc is previous:
                    continue
                previous = cell._tc
                cells.append(" ".join(cell.text.split()))
            lines.append(" | ".join(cells))
    return re.sub(r"\n{3,}", "\n\n", normalize_text("\n".join(lines))).strip("\n")


def _reference_paragraph(paragraph: Paragraph, style_names: dict) -> str:
    text = paragraph.text
    if not text.strip():
        return ""
    style_id = paragraph._p.style
    style = style_names.get(style_id, "") if style_id else ""
    heading = re.match(r"^Heading (\d)$", style)
    if heading:
        return f"{'#' * int(heading.group(1))} {text}"
    if style == "Title":
        return f"# {text}"
    if style and style.startswith("List"):
        return f"- {text}"
    return text


_W = nsdecls("w")


def write_rich_docx(path: Path) -> Path:
    """Everything python-docx's text rules cover: styles, run content, hyperlinks, what is skipped
    (tracked insertions, deleted text, content controls, nested tables), and merged table cells."""
    document = docx.Document()
    document.add_heading("Annual report", 0)
    document.add_heading("Deep heading", 9)
    paragraph = document.add_paragraph("Tab")
    paragraph.add_run().add_tab()
    paragraph.add_run("after tab")
    paragraph.add_run().add_break()
    paragraph.add_run("after break")
    paragraph.add_run().add_break(WD_BREAK.PAGE)
    paragraph.add_run("after page break")
    document.add_paragraph("Numbered", style="List Number")
    document.add_paragraph("Quote", style="Intense Quote")
    document.add_paragraph("   ")
    paragraph = document.add_paragraph("See ")
    for xml in (
        f'<w:hyperlink {nsdecls("w", "r")} r:id="rId99"><w:r><w:t>the site</w:t></w:r></w:hyperlink>',
        f'<w:r {_W}><w:t xml:space="preserve"> and </w:t><w:noBreakHyphen/><w:cr/>'
        '<w:ptab w:relativeTo="margin" w:alignment="right" w:leader="none"/><w:t>x</w:t></w:r>',
        f'<w:ins {_W} w:id="1" w:author="a" w:date="2024-01-01T00:00:00Z">'
        "<w:r><w:t>inserted</w:t></w:r></w:ins>",
        f'<w:r {_W}><w:delText>deleted</w:delText><w:t> </w:t><w:t>end &amp; &lt;more&gt;</w:t></w:r>',
    ):
        paragraph._p.append(parse_xml(xml))
    table = document.add_table(rows=3, cols=3)
    for r in range(3):
        for c in range(3):
            table.cell(r, c).text = f"r{r}c{c}"
    table.cell(0, 0).merge(table.cell(0, 1))
    table.cell(1, 0).merge(table.cell(2, 0))
    table.cell(1, 2).add_paragraph("second   paragraph")
    table.cell(2, 2).add_table(rows=1, cols=1).cell(0, 0).text = "nested"
    body = document.element.body
    before_section = len(body) - 1
    body.insert(before_section, parse_xml(
        f"<w:sdt {_W}><w:sdtContent><w:p><w:r><w:t>in a content control</w:t></w:r></w:p>"
        "</w:sdtContent></w:sdt>"
    ))
    body.insert(before_section + 1, parse_xml(
        f"<w:tbl {_W}><w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/></w:tblGrid>"
        "<w:tr><w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p></w:tc>"
        '<w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr><w:p><w:r><w:t>tall</w:t></w:r></w:p></w:tc>'
        "<w:tc><w:p/></w:tc></w:tr>"
        '<w:tr><w:trPr><w:gridBefore w:val="1"/></w:trPr>'
        "<w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p><w:r><w:t>hidden under the merge</w:t></w:r></w:p></w:tc>"
        "<w:tc><w:p><w:r><w:t>z</w:t></w:r></w:p></w:tc></w:tr>"
        '<w:tr><w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr><w:p><w:r><w:t>wide</w:t></w:r></w:p></w:tc>'
        "<w:tc><w:p><w:r><w:t>last</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
    ))
    document.add_paragraph("The end.")
    document.save(str(path))
    return path


def test_rich_document_reads_as_python_docx_reads_it(tmp_path):
    path = write_rich_docx(tmp_path / "rich.docx")

    text = extract(path).text

    assert text == python_docx_text(path)
    assert text.split("\n") == [
        "# Annual report",
        "######### Deep heading",
        "Tab\tafter tab",
        "after breakafter page break",
        "- Numbered",
        "Quote",
        "",
        "See the site and -",
        "\tx end & <more>",
        "r0c0 r0c1 | r0c2",
        "r1c0 r2c0 | r1c1 | r1c2 second paragraph",
        "r1c0 r2c0 | r2c1 | r2c2",
        "a | tall | ",
        "tall | z",
        "wide | last",
        "The end.",
    ]


def test_long_document_reads_as_python_docx_reads_it():
    path = bench_docx()  # 3,000 paragraphs, headings and tables
    assert extract(path).text == python_docx_text(path)
