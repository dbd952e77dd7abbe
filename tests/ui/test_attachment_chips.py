"""What a pending attachment's chip says, from real prepared documents."""

from __future__ import annotations

from pathlib import Path

from app.chat.attachments import prepare_document
from app.documents import ExtractionProgress
from app.ui.attachment_chips import Pending, chip_view, progress_text
from fixtures.documents import PdfPage, prose_lines, write_pdf, write_text


def test_progress_while_reading_and_extracting() -> None:
    assert progress_text(None) == "Reading…"
    assert progress_text(ExtractionProgress("reading", 5, 20, "bytes")) == "Reading… 25%"
    assert progress_text(ExtractionProgress("extracting", 12, 300, "pages")) == "Extracting page 12 of 300"
    pending = Pending("k", Path("big.pdf"), state="working",
                      progress=ExtractionProgress("extracting", 150, 300, "pages"))
    view = chip_view(pending)
    assert view.state == "working" and view.progress == 0.5
    assert chip_view(Pending("w", Path("later.pdf"))).detail == "Waiting…"


def test_ready_chips_show_pages_or_size_tokens_mode_and_warnings(tmp_path) -> None:
    pdf = write_pdf(tmp_path / "mixed.pdf", [prose_lines(5, seed=1), PdfPage(picture=True)])
    prepared = prepare_document(pdf, count_tokens=lambda texts: [1234 for _ in texts])
    pending = Pending("k", pdf, state="ready", prepared=prepared)
    view = chip_view(pending)
    assert view.detail == "2 pages · 1,234 tokens · 1 warning"
    assert "page" in view.tooltip.splitlines()[1]  # the warning names the page without text
    pending.mode = "search"
    assert chip_view(pending).detail.startswith("2 pages · search mode (1,234 tokens kept out)")

    text = write_text(tmp_path / "notes.txt", "x" * 3000)
    estimated = prepare_document(text, count_tokens=None)
    assert estimated.tokens.estimated
    detail = chip_view(Pending("t", text, state="ready", prepared=estimated)).detail
    assert detail == f"2.9 KiB · {estimated.tokens.label()}"
    assert detail.startswith("2.9 KiB · ≈") and detail.endswith("(estimate)")


def test_error_chips_carry_the_reason() -> None:
    reason = "No text found; OCR is not supported."
    view = chip_view(Pending("e", Path("scan.pdf"), state="error", error=reason))
    assert view.state == "error" and view.error == reason
