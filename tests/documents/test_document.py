"""The ExtractedDocument: page access, labels, and the record the store keeps."""

from __future__ import annotations

import json

import pytest

from app.documents import ExtractedDocument, extract
from fixtures.documents import Para, prose_lines, write_docx, write_pdf, write_text


def test_record_round_trip_through_json_gives_an_equal_document(tmp_path):
    documents = [
        extract(write_pdf(tmp_path / "a.pdf", [prose_lines(4, seed=1), [], prose_lines(3, seed=2)])),
        extract(write_docx(tmp_path / "b.docx", [Para("Hello.")])),
        extract(write_text(tmp_path / "c.py", "print('hi')\n")),
    ]
    for document in documents:
        stored = json.loads(json.dumps(document.to_record()))
        assert ExtractedDocument.from_record(stored) == document


def test_page_text_and_iteration_agree(tmp_path):
    pages = [prose_lines(3, seed=n) for n in range(4)]
    document = extract(write_pdf(tmp_path / "a.pdf", pages))
    assert dict(document.iter_pages()) == {n: "\n".join(lines) for n, lines in enumerate(pages, start=1)}
    with pytest.raises(KeyError):
        document.page_text(5)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"version": 99}, "version"),
        ({"kind": "spreadsheet"}, "kind"),
        ({"pages": [[1, 0, 10_000]]}, "span"),
        ({"pages": []}, "no pages"),
        ({"text": None, "pages": "nonsense"}, "malformed"),
    ],
)
def test_bad_records_are_refused_with_the_reason(tmp_path, change, says):
    record = extract(write_text(tmp_path / "a.txt", "short text\n")).to_record()
    record.update(change)
    with pytest.raises(ValueError, match=says):
        ExtractedDocument.from_record(record)


def test_missing_field_is_refused(tmp_path):
    record = extract(write_text(tmp_path / "a.txt", "short text\n")).to_record()
    del record["sha256"]
    with pytest.raises(ValueError, match="incomplete"):
        ExtractedDocument.from_record(record)
