"""The prompt block: its exact shape, page markers for citations, and byte-for-byte stability."""

from __future__ import annotations

from app.documents import ExtractedDocument, extract, format_attachments, format_for_prompt
from fixtures.documents import prose_lines, write_pdf, write_text


def test_paged_document_block_marks_every_page(tmp_path):
    document = extract(write_pdf(tmp_path / "report.pdf", [["First page."], [], ["Third page.", "More."]]))
    assert format_for_prompt(document) == (
        '<document name="report.pdf" type="PDF" pages="3">\n'
        "--- page 1 ---\n"
        "First page.\n"
        "--- page 2 ---\n"
        "--- page 3 ---\n"
        "Third page.\n"
        "More.\n"
        "</document>"
    )


def test_unpaged_document_block_has_the_text_whole(tmp_path):
    document = extract(write_text(tmp_path / "tool.py", "import os\n\nprint(os.sep)\n"))
    assert format_for_prompt(document) == (
        '<document name="tool.py" type="Python source">\nimport os\n\nprint(os.sep)\n</document>'
    )


def test_names_cannot_break_the_tag(tmp_path):
    document = extract(write_text(tmp_path / 'a "quoted" <name> & co.txt', "x\n"))
    header = format_for_prompt(document).split("\n")[0]
    assert header == '<document name="a &quot;quoted&quot; &lt;name&gt; &amp; co.txt" type="text">'


def test_block_is_identical_across_extractions_and_storage(tmp_path):
    path = write_pdf(tmp_path / "a.pdf", [prose_lines(30, seed=n) for n in range(3)])
    first = format_for_prompt(extract(path))
    again = format_for_prompt(extract(path))
    restored = format_for_prompt(ExtractedDocument.from_record(extract(path).to_record()))
    assert first == again == restored


def test_block_does_not_depend_on_where_the_file_is(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    a = extract(write_text(tmp_path / "one" / "same.txt", "same content\n"))
    b = extract(write_text(tmp_path / "two" / "same.txt", "same content\n"))
    assert format_for_prompt(a) == format_for_prompt(b)
    assert str(tmp_path) not in format_for_prompt(a)


def test_several_attachments_keep_their_order(tmp_path):
    a = extract(write_text(tmp_path / "a.txt", "alpha\n"))
    b = extract(write_text(tmp_path / "b.txt", "beta\n"))
    combined = format_attachments([a, b])
    assert combined == format_for_prompt(a) + "\n\n" + format_for_prompt(b)
    assert combined.index("alpha") < combined.index("beta")
