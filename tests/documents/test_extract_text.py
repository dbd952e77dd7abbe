"""Extraction of text-like files: kinds by name and content, encodings, line ends, HTML and JSON."""

from __future__ import annotations

import codecs

import pytest

from app.documents import extract
from fixtures.documents import prose_lines, write_text


@pytest.mark.parametrize(
    ("name", "kind", "language", "label"),
    [
        ("notes.txt", "text", None, "text"),
        ("README.md", "markdown", None, "Markdown"),
        ("data.csv", "csv", None, "CSV"),
        ("main.py", "code", "Python", "Python source"),
        ("lib.rs", "code", "Rust", "Rust source"),
        ("Makefile", "code", "Makefile", "Makefile source"),
        ("server.log", "text", None, "text"),
        ("settings.conf", "text", None, "text"),  # unknown extension, text inside: plain text
        ("LICENSE", "text", None, "text"),
    ],
)
def test_kind_from_the_name_when_the_content_is_text(tmp_path, name, kind, language, label):
    document = extract(write_text(tmp_path / name, "a = 1\nb = 2\n"))
    assert (document.kind, document.language, document.type_label) == (kind, language, label)
    assert not document.paged
    assert document.page_count is None


def test_code_keeps_every_character_and_its_lines(tmp_path):
    source = "\n\ndef f(x):\n\treturn x  # tab-indented\n\n\nprint(f(2))\n"
    document = extract(write_text(tmp_path / "m.py", source))
    assert document.text == source  # leading blank lines kept: line numbers must match the editor's


def test_crlf_cr_and_form_feeds_become_newlines(tmp_path):
    document = extract(write_text(tmp_path / "w.txt", "one\r\ntwo\rthree\fpage two\n"))
    assert document.text == "one\ntwo\nthree\npage two\n"


def test_legacy_text_loses_its_control_bytes_too(tmp_path):
    path = write_text(tmp_path / "old.txt", "caf\xe9\x07 ok\r\n", encoding="latin-1")
    assert extract(path).text == "café ok\n"


def test_control_characters_are_dropped_but_tabs_kept(tmp_path):
    document = extract(write_text(tmp_path / "c.txt", "a\tb\x1b[31mred\x1b[0m\x07 end\u200b\n"))
    assert document.text == "a\tb[31mred[0m end\n"


def test_utf8_with_bom(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(codecs.BOM_UTF8 + "Zürich".encode())
    assert extract(path).text == "Zürich"


def test_utf16_with_bom(tmp_path):
    path = tmp_path / "wide.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "Grüße, 東京".encode("utf-16-le"))
    document = extract(path)
    assert document.text == "Grüße, 東京"
    assert document.warnings == ()


def test_legacy_windows_text_is_read_with_a_warning(tmp_path):
    path = write_text(tmp_path / "old.txt", "Prix: 10 € — café", encoding="cp1252")
    document = extract(path)
    assert document.text == "Prix: 10 € — café"
    assert any("Windows-1252" in warning for warning in document.warnings)


def test_large_text_reports_reading_progress(tmp_path):
    lines = prose_lines(40_000, seed=5)
    path = write_text(tmp_path / "big.txt", "\n".join(lines))
    reports = []
    document = extract(path, progress=reports.append)
    reading = [r for r in reports if r.stage == "reading"]
    assert len(reading) >= 2
    assert reading[-1].done == path.stat().st_size
    assert document.text.split("\n") == lines


def test_html_becomes_its_visible_text(tmp_path):
    html = """<!doctype html><html><head><title>Ignored title</title><style>p{color:red}</style>
    <script>var hidden = "not for the model";</script></head>
    <body><h1>Release notes</h1><p>Fixed the <b>planner</b> &amp; the meter.</p>
    <ul><li>One</li><li>Two</li></ul></body></html>"""
    document = extract(write_text(tmp_path / "notes.html", html))
    assert document.kind == "html"
    assert document.text == "# Release notes\n\nFixed the planner & the meter.\n\n- One\n- Two"


def test_json_is_kept_verbatim_and_invalid_json_warns(tmp_path):
    valid = extract(write_text(tmp_path / "a.json", '{"b": [1, 2], "a": null}\n'))
    assert valid.kind == "json"
    assert valid.text == '{"b": [1, 2], "a": null}\n'
    assert valid.warnings == ()
    invalid = extract(write_text(tmp_path / "b.json", '{"b": [1, 2,\n'))
    assert invalid.text == '{"b": [1, 2,\n'
    assert any("Not valid JSON" in warning for warning in invalid.warnings)


def test_text_under_a_pdf_name_is_read_as_text_and_says_so(tmp_path):
    document = extract(write_text(tmp_path / "paper.pdf", "This was saved as text.\n"))
    assert document.kind == "text"
    assert document.text == "This was saved as text.\n"
    assert any("Not a real PDF" in warning for warning in document.warnings)


def test_the_same_file_always_gives_the_same_document(tmp_path):
    path = write_text(tmp_path / "a.md", "# Title\n\nBody text.\n")
    first, second = extract(path), extract(path)
    assert first == second
    assert first.sha256 == second.sha256


def test_cancel_stops_a_read_between_blocks(tmp_path):
    from app.documents import ExtractionCancelled
    from app.documents.reading import BLOCK_BYTES

    path = write_text(tmp_path / "big.txt", "\n".join(prose_lines(60_000, seed=6)))
    assert path.stat().st_size > 3 * BLOCK_BYTES
    reports = []
    with pytest.raises(ExtractionCancelled):
        extract(path, progress=reports.append, cancel=lambda: len(reports) >= 2)
    assert [r.done for r in reports] == [BLOCK_BYTES, 2 * BLOCK_BYTES]
    assert all(r.stage == "reading" for r in reports)
