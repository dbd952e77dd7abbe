"""PDF extraction on real PDFs written by fpdf2: text per page, page numbers, progress, bad PDFs."""

from __future__ import annotations

import hashlib
import io
import time

import pytest
from fpdf.enums import EncryptionMethod

from app.documents import DocumentError, ExtractionCancelled, extract
from app.documents.pdf_text import MAX_PDF_PAGES
from app.documents.reading import MIB, SizeLimits
from fixtures.documents import PdfPage, prose_lines, write_pdf, write_sparse_file


def test_text_and_page_numbers(tmp_path):
    pages = [prose_lines(6, seed=n) for n in range(3)]
    path = write_pdf(tmp_path / "report.pdf", pages)

    document = extract(path)

    assert document.kind == "pdf"
    assert document.name == "report.pdf"
    assert document.paged
    assert document.page_count == 3
    assert [number for number, _ in document.iter_pages()] == [1, 2, 3]
    for number, lines in enumerate(pages, start=1):
        assert document.page_text(number).split("\n") == lines
    assert document.warnings == ()


def test_hash_and_size_are_of_the_original_bytes(tmp_path):
    path = write_pdf(tmp_path / "a.pdf", [["One line."]])
    document = extract(path)
    data = path.read_bytes()
    assert document.sha256 == hashlib.sha256(data).hexdigest()
    assert document.size_bytes == len(data)


def test_latin1_text_survives(tmp_path):
    path = write_pdf(tmp_path / "a.pdf", [["Café crème, naïve façade, 10 £ à Zürich."]])
    assert extract(path).text == "Café crème, naïve façade, 10 £ à Zürich."


def test_extraction_is_deterministic(tmp_path):
    path = write_pdf(tmp_path / "a.pdf", [prose_lines(20, seed=1), prose_lines(20, seed=2)])
    assert extract(path) == extract(path)


def test_progress_counts_every_page(tmp_path):
    path = write_pdf(tmp_path / "a.pdf", [prose_lines(3, seed=n) for n in range(5)])
    reports = []
    extract(path, progress=reports.append)
    pages = [(r.done, r.total) for r in reports if r.stage == "extracting"]
    assert pages == [(n, 5) for n in range(1, 6)]
    reading = [r for r in reports if r.stage == "reading"]
    assert reading and reading[-1].done == reading[-1].total == path.stat().st_size
    assert reports[-1].fraction == 1.0


def test_cancel_stops_between_pages(tmp_path):
    path = write_pdf(tmp_path / "a.pdf", [prose_lines(3, seed=n) for n in range(6)])
    seen = []

    def progress(report):
        seen.append(report)

    def cancel():
        return any(r.stage == "extracting" and r.done >= 2 for r in seen)

    with pytest.raises(ExtractionCancelled):
        extract(path, progress=progress, cancel=cancel)
    assert max(r.done for r in seen if r.stage == "extracting") == 2


def test_password_protected_pdf_is_refused_with_a_clear_message(tmp_path):
    path = write_pdf(tmp_path / "secret.pdf", [["Top secret."]], user_password="hunter2")
    with pytest.raises(DocumentError) as caught:
        extract(path)
    assert caught.value.kind == "encrypted"
    assert "password" in caught.value.message.lower()


def test_aes_password_protected_pdf_is_refused(tmp_path):
    pytest.importorskip("cryptography")
    path = write_pdf(tmp_path / "secret.pdf", [["Top secret."]], user_password="hunter2",
                     encryption=EncryptionMethod.AES_256)
    with pytest.raises(DocumentError) as caught:
        extract(path)
    assert caught.value.kind == "encrypted"


def test_pdf_with_only_an_owner_password_opens_like_in_any_viewer(tmp_path):
    path = write_pdf(tmp_path / "locked.pdf", [["Printing is restricted, reading is not."]],
                     owner_password="owner-only")
    assert extract(path).text == "Printing is restricted, reading is not."


def test_scanned_pdf_has_no_text(tmp_path):
    path = write_pdf(tmp_path / "scan.pdf", [PdfPage(picture=True), PdfPage(picture=True)])
    with pytest.raises(DocumentError) as caught:
        extract(path)
    assert caught.value.kind == "no_text"
    assert "no text found; ocr is not supported" in caught.value.message.lower()


def test_partly_scanned_pdf_warns_which_pages_have_no_text(tmp_path):
    path = write_pdf(tmp_path / "mixed.pdf", [
        ["Typed page."], PdfPage(picture=True), PdfPage(picture=True), ["Typed again."],
        PdfPage(picture=True),
    ])
    document = extract(path)
    assert document.page_count == 5
    assert document.page_text(2) == ""
    assert document.page_text(4) == "Typed again."
    assert any("pages 2-3, 5" in warning and "OCR" in warning for warning in document.warnings)


def test_corrupt_pdf(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n" + b"\x00\xff garbage that is no PDF structure \x01" * 50)
    with pytest.raises(DocumentError) as caught:
        extract(path)
    assert caught.value.kind == "corrupt"
    assert "PDF" in caught.value.message


@pytest.mark.parametrize("kept", [0.3, 0.9])
def test_truncated_pdf_is_corrupt(tmp_path, kept):
    good = write_pdf(tmp_path / "good.pdf", [prose_lines(5, seed=n) for n in range(4)])
    data = good.read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: int(len(data) * kept)])
    with pytest.raises(DocumentError) as caught:
        extract(cut)
    assert caught.value.kind == "corrupt"


def test_pdf_content_named_txt_is_read_as_pdf(tmp_path):
    pdf = write_pdf(tmp_path / "x.pdf", [["Really a PDF."]])
    disguised = tmp_path / "notes.txt"
    disguised.write_bytes(pdf.read_bytes())
    document = extract(disguised)
    assert document.kind == "pdf"
    assert document.text == "Really a PDF."


def test_huge_pdf_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.pdf"
    write_sparse_file(path, 2 * 1024 * MIB)
    with path.open("r+b") as handle:
        handle.write(b"%PDF-1.7\n")
    reports = []
    with pytest.raises(DocumentError) as caught:
        extract(path, progress=reports.append)
    assert caught.value.kind == "too_large"
    assert "2 GiB" in caught.value.message
    assert "256 MiB" in caught.value.message  # the limit
    assert "because" in caught.value.message  # and the reason
    assert reports == []  # refused from its size alone: nothing was read


def test_limits_can_be_tightened(tmp_path):
    path = write_pdf(tmp_path / "a.pdf", [prose_lines(30, seed=1)])
    with pytest.raises(DocumentError) as caught:
        extract(path, limits=SizeLimits(max_document_bytes=100))
    assert caught.value.kind == "too_large"
    with pytest.raises(DocumentError) as caught:
        extract(path, limits=SizeLimits(max_text_chars=50))
    assert caught.value.kind == "too_large"


def page_tree_pdf(pages: int, count: int | None = None, fanout: int = 100) -> bytes:
    """A valid PDF of `pages` blank pages in a two-level page tree, as long books are built; `count` is
    what the root says (a lie, when given). Written by hand: about 100 bytes a page, 0.3 s for 100,000."""
    out = io.BytesIO(b"%PDF-1.4\n")
    out.seek(0, io.SEEK_END)
    offsets: dict[int, int] = {}

    def write(number: int, body: bytes) -> None:
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    next_number = 3  # 1: the catalog, 2: the root of the page tree
    middles = []
    for first in range(0, pages, fanout):
        middle, kids = next_number, range(next_number + 1, next_number + 1 + min(fanout, pages - first))
        next_number = kids.stop
        for kid in kids:
            write(kid, b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] >>" % middle)
        write(middle, b"<< /Type /Pages /Parent 2 0 R /Count %d /Kids [%s] >>"
              % (len(kids), b" ".join(b"%d 0 R" % kid for kid in kids)))
        middles.append(middle)
    write(2, b"<< /Type /Pages /Count %d /Kids [%s] >>"
          % (pages if count is None else count, b" ".join(b"%d 0 R" % m for m in middles)))
    write(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % next_number)
    out.write(b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, next_number)))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (next_number, xref))
    return out.getvalue()


@pytest.mark.parametrize(("pages", "count", "fanout", "said"), [
    (100_000, None, 100, "has 100,000 pages"),  # pypdf itself stops at 100,000 page-tree entries
    (1, 100_000, 100, "has 100,000 pages"),  # what the page tree says is enough to refuse
    # a page tree that understates its size, in one flat list (walking a deep one costs 20 s)
    (100_001, 7, 100_001, "has more than 100,000 pages"),
])
def test_a_pdf_with_too_many_pages_says_so_instead_of_damaged(tmp_path, pages, count, fanout, said):
    path = tmp_path / "archive.pdf"
    path.write_bytes(page_tree_pdf(pages, count, fanout))
    started = time.perf_counter()
    with pytest.raises(DocumentError) as caught:
        extract(path)
    error = caught.value
    assert error.kind == "too_large", error
    assert f"This PDF {said}; Ossian reads PDFs of up to {MAX_PDF_PAGES:,} pages" in error.message
    assert "Split it" in error.message and "Damaged" not in error.message
    if count is not None and count > MAX_PDF_PAGES:
        assert time.perf_counter() - started < 2  # refused before walking the page tree


def test_a_long_pdf_within_the_bound_is_read(tmp_path):
    path = tmp_path / "blank.pdf"
    path.write_bytes(page_tree_pdf(250))
    with pytest.raises(DocumentError) as caught:  # blank pages: it opens, and has no text
        extract(path)
    assert caught.value.kind == "no_text"
