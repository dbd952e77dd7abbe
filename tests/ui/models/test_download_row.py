"""The download row as a widget on its own: slots in, signals out."""

from __future__ import annotations

from app.models import DownloadState
from app.ui.models import DownloadRow
from app.ui.models.presenting import RowInfo
from tests.ui.models.conftest import snapshot

INFO = RowInfo(key="gpt-oss-20b", name="gpt-oss-20b", detail="11.3 GiB · MXFP4 · ggml-org",
               size=12_109_566_624, description="OpenAI's smaller model.", fit_level="too_big",
               fit_reason="It does not fit.")


def make_row(qtbot, theme, variant: str = "compact") -> DownloadRow:
    row = DownloadRow(INFO, theme, variant)  # type: ignore[arg-type]
    qtbot.addWidget(row)
    row.show()
    return row


def test_an_older_snapshot_does_not_replace_a_newer_one(qtbot, theme) -> None:
    row = make_row(qtbot, theme)
    row.set_progress(snapshot(DownloadState.PAUSED, bytes_done=50, bytes_total=100, sequence=7))
    row.set_progress(snapshot(DownloadState.DOWNLOADING, bytes_done=40, bytes_total=100, sequence=6))
    assert row.view.phase == "paused" and row.progress_bar.value() == 500


def test_buttons_emit_the_rows_key(qtbot, theme) -> None:
    row = make_row(qtbot, theme)
    with qtbot.waitSignal(row.downloadRequested) as started:
        row.primary_button.click()
    assert started.args == ["gpt-oss-20b"]
    row.set_progress(snapshot(DownloadState.DOWNLOADING, bytes_done=1, bytes_total=2, sequence=1))
    with qtbot.waitSignal(row.pauseRequested) as paused:
        row.pause_button.click()
    with qtbot.waitSignal(row.cancelRequested) as cancelled:
        row.cancel_button.click()
    assert paused.args == cancelled.args == ["gpt-oss-20b"]
    row.set_progress(snapshot(DownloadState.FAILED, message="Broken.", sequence=2))
    with qtbot.waitSignal(row.resumeRequested) as retried:
        row.primary_button.click()
    assert retried.args == ["gpt-oss-20b"] and row.action_button("retry") is row.primary_button


def test_compact_and_hero_rows_word_the_same_state_for_their_place(qtbot, theme) -> None:
    compact, hero = make_row(qtbot, theme), make_row(qtbot, theme, "hero")
    assert compact.primary_button.text() == "Download" and not compact.status.isVisible()
    assert compact.fit_badge.text() == "Too big" and "It does not fit." in compact.toolTip()
    assert hero.primary_button.text() == "Download · 11.3 GiB"
    assert hero.reason.text() == "It does not fit." and hero.description.text() == "OpenAI's smaller model."
    assert hero.primary_button.objectName() == "primaryButton" and compact.primary_button.objectName() == ""


def test_blocked_disables_download_and_a_refusal_shows_until_the_next_change(qtbot, theme) -> None:
    row = make_row(qtbot, theme, "hero")
    row.set_blocked("Downloads are off. Turn it on in Settings.")
    assert not row.primary_button.isEnabled()
    assert row.primary_button.toolTip() == "Downloads are off. Turn it on in Settings."
    assert row.status.text() == "Downloads are off. Turn it on in Settings."
    row.set_blocked("")
    assert row.primary_button.isEnabled() and not row.status.isVisible()
    row.set_error("Another Ossian process runs this download.")
    assert row.status.text() == "Another Ossian process runs this download."
    assert row.status.property("tone") == "danger"
    row.set_progress(snapshot(DownloadState.QUEUED, message="Starting.", sequence=3))
    assert row.status.text() == "Starting."
