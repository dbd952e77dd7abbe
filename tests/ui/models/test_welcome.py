"""The welcome page on a real workspace: advice for a described machine, downloads from the local fake
Hub through real huggingface_hub, import of generated GGUF files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.models import DownloadManager, DownloadRequest, DownloadState, HubAccess, load_catalog
from app.planner import describe_machine
from app.settings import Settings
from app.ui.models import ModelLibraryDialog, WelcomePage
from app.ui.models.presenting import PROGRESS_SCALE
from app.ui.theme import theme_for
from fixtures.hub_server import HubServer
from fixtures.tiny_models import tiny_gpt_oss_model, tiny_llama_model
from tests.models.conftest import FILE_20B, REPO_20B, publish_catalog_models
from tests.ui.models.conftest import GIB, H100, LAPTOP_16GB, WAIT_MS

TINY_SIZE = "402 KiB"


def open_page(qtbot, workspace, theme) -> WelcomePage:
    page = WelcomePage(workspace, theme)
    qtbot.addWidget(page)
    page.resize(900, 1000)
    page.show()
    qtbot.waitUntil(lambda: page.hero_row is not None, timeout=WAIT_MS)
    return page


def test_it_recommends_the_20b_for_a_24_gb_card_and_says_why(qtbot, workspace, theme) -> None:
    page = open_page(qtbot, workspace, theme)

    assert page.machine_label.text() == ("This computer: NVIDIA GeForce RTX 4090 · 23.5 of 24 GiB free · "
                                         "64 GiB RAM")
    hero = page.hero_row
    assert hero.key == "gpt-oss-20b" and hero.title.text() == "gpt-oss-20b"
    assert hero.detail.text() == "11.3 GiB · MXFP4 · ggml-org (official build)"
    assert page.eyebrow.text() == "RECOMMENDED FOR THIS COMPUTER"
    assert hero.reason.text().startswith("All of gpt-oss-20b runs on the NVIDIA GeForce RTX 4090")
    assert hero.fit_badge.text() == "Fits" and hero.fit_badge.property("tone") == "success"
    assert hero.primary_button.text() == "Download · 11.3 GiB" and hero.primary_button.isEnabled()
    others = page.other_rows
    assert set(others) == {e.id for e in load_catalog().entries} - {"gpt-oss-20b"}
    assert others["gpt-oss-120b"].fit_badge.text() == "Tight"
    assert others["gpt-oss-120b"].fit_badge.property("tone") == "warning"
    assert "kept in RAM" in others["gpt-oss-120b"].fit_badge.toolTip()
    assert all(row.primary_button.text() == "Download" for row in others.values())


@pytest.mark.parametrize(("machine", "expected", "badge"), [
    (LAPTOP_16GB, "gpt-oss-20b", "CPU only"),
    (H100, "gpt-oss-120b", "Fits"),
])
def test_the_recommendation_follows_the_machine(qtbot, make_workspace, theme, machine, expected,
                                                badge) -> None:
    page = open_page(qtbot, make_workspace(machine), theme)
    assert page.hero_row.key == expected and page.hero_row.fit_badge.text() == badge
    if machine is LAPTOP_16GB:
        assert page.machine_label.text() == "This computer: CPU only · 16 GiB RAM"
        assert page.other_rows["gpt-oss-120b"].fit_badge.text() == "Too big"
        assert page.other_rows["gpt-oss-120b"].fit_badge.property("tone") == "danger"


def test_a_machine_too_small_for_every_model_is_told_so(qtbot, make_workspace, theme) -> None:
    page = open_page(qtbot, make_workspace(describe_machine(ram=8 * GIB)), theme)
    assert page.advice.recommended is None
    assert page.eyebrow.text().startswith("NOTHING IN THE CATALOG FITS THIS COMPUTER")
    hero = page.hero_row
    assert hero.key == "gpt-oss-20b-unsloth-q4_k_m" and hero.fit_badge.text() == "Too big"
    assert "does not fit this machine" in hero.reason.text()


def test_a_machine_that_cannot_be_read_still_gets_advice_and_is_told(qtbot, workspace, theme,
                                                                     monkeypatch) -> None:
    def broken() -> None:
        raise RuntimeError("the probe crashed")

    monkeypatch.setattr(workspace, "_read_machine", broken)
    page = open_page(qtbot, workspace, theme)
    assert "could not read this computer's graphics memory (the probe crashed)" in page.advice_note.text()
    assert page.advice_note.isVisible() and page.machine_label.text().startswith("This computer: CPU only")


def test_a_download_from_the_page_shows_progress_and_ends_ready_to_load(qtbot, published: HubServer,
                                                                          workspace, theme) -> None:
    hold = published.hold_after(REPO_20B, FILE_20B, 200_000)
    page = open_page(qtbot, workspace, theme)
    hero = page.hero_row

    hero.primary_button.click()
    assert hold.reached.wait(10)
    qtbot.waitUntil(lambda: 0 < hero.progress_bar.value() < PROGRESS_SCALE, timeout=WAIT_MS)
    assert hero.progress_bar.isVisible() and not hero.primary_button.isVisible()
    assert f"of {TINY_SIZE}" in hero.status.text()
    assert hero.pause_button.isVisible() and hero.cancel_button.isVisible()
    halfway = hero.progress_bar.value()

    finished: list = []
    page.downloadFinished.connect(finished.append)
    with qtbot.waitSignal(page.modelsChanged, timeout=WAIT_MS):
        hold.release()
    qtbot.waitUntil(lambda: hero.view.phase == "done" and bool(finished), timeout=WAIT_MS)
    assert [model.catalog_id for model in finished] == ["gpt-oss-20b"]  # for the window to load
    assert hero.primary_button.text() == "Ready — Load it" and hero.primary_button.isVisible()
    assert not hero.progress_bar.isVisible() and not hero.pause_button.isVisible()
    assert "installed and verified" in hero.status.text()
    assert halfway > 0
    [model] = workspace.library.list()
    assert model.catalog_id == "gpt-oss-20b" and model.verified
    with qtbot.waitSignal(page.loadRequested) as loaded:
        hero.primary_button.click()
    assert loaded.args == [str(model.path)]
    assert model.path.read_bytes() == tiny_gpt_oss_model().read_bytes()


def test_pause_keeps_the_bytes_and_resume_finishes(qtbot, published: HubServer, workspace, theme) -> None:
    hold = published.hold_after(REPO_20B, FILE_20B, 150_000)
    page = open_page(qtbot, workspace, theme)
    hero = page.hero_row
    hero.primary_button.click()
    assert hold.reached.wait(10)
    qtbot.waitUntil(lambda: hero.progress_bar.value() > 0, timeout=WAIT_MS)

    hero.pause_button.click()
    hold.release()
    qtbot.waitUntil(lambda: hero.view.phase == "paused", timeout=WAIT_MS)
    assert hero.primary_button.text() == "Resume" and hero.primary_button.isVisible()
    assert not hero.pause_button.isVisible() and hero.cancel_button.isVisible()
    assert hero.status.text().startswith("Paused at") and f"of {TINY_SIZE}" in hero.status.text()
    kept = hero.progress_bar.value()
    assert 0 < kept < PROGRESS_SCALE and hero.progress_bar.property("phase") == "paused"
    assert list(workspace.paths.models.rglob("*.partial"))

    with qtbot.waitSignal(page.modelsChanged, timeout=WAIT_MS):
        hero.primary_button.click()
    qtbot.waitUntil(lambda: hero.view.phase == "done", timeout=WAIT_MS)
    assert published.file_gets(FILE_20B)[-1].range.startswith("bytes=")  # it continued, not restarted


def test_cancel_returns_the_row_to_download_and_leaves_nothing(qtbot, published: HubServer, workspace,
                                                              theme) -> None:
    hold = published.hold_after(REPO_20B, FILE_20B, 100_000)
    page = open_page(qtbot, workspace, theme)
    hero = page.hero_row
    hero.primary_button.click()
    assert hold.reached.wait(10)
    hero.cancel_button.click()
    hold.release()
    qtbot.waitUntil(lambda: hero.view.phase == "idle", timeout=WAIT_MS)
    assert hero.primary_button.text() == "Download · 11.3 GiB"
    assert not list(workspace.paths.models.rglob("*.partial")) and workspace.library.list() == []


def test_a_failing_download_shows_its_message_and_retry_fetches_it_again(qtbot, published: HubServer,
                                                                           workspace, theme) -> None:
    published.corrupt(REPO_20B, FILE_20B)
    page = open_page(qtbot, workspace, theme)
    hero = page.hero_row

    hero.primary_button.click()
    qtbot.waitUntil(lambda: hero.view.phase == "failed", timeout=WAIT_MS)
    assert "did not match the Hub's SHA-256" in hero.status.text() and "resume" in hero.status.text()
    assert hero.status.property("tone") == "danger" and hero.status.isVisible()
    assert hero.primary_button.text() == "Retry"

    publish_catalog_models(published)  # the Hub serves the right bytes again
    with qtbot.waitSignal(page.modelsChanged, timeout=WAIT_MS):
        hero.primary_button.click()
    qtbot.waitUntil(lambda: hero.view.phase == "done", timeout=WAIT_MS)


def test_never_use_the_network_disables_download_and_says_where_to_change_it(qtbot, published: HubServer,
                                                                              workspace, theme) -> None:
    workspace.settings.offline_only = True
    page = open_page(qtbot, workspace, theme)
    hero = page.hero_row

    assert not hero.primary_button.isEnabled()
    assert page.notice.isVisible() and page.notice.text().startswith("Downloads are off.")
    assert "Turn off 'Never use the network' in Settings" in page.notice.text()
    assert "Never use the network" in hero.primary_button.toolTip()
    assert not any(row.primary_button.isEnabled() for row in page.other_rows.values())
    hero.primary_button.click()
    assert published.requests == []  # nothing was sent

    workspace.settings.offline_only = False
    page.refresh()
    assert hero.primary_button.isEnabled() and not page.notice.isVisible()


def test_the_network_switched_off_after_the_page_opened_refuses_the_click_on_the_row(
        qtbot, published: HubServer, workspace, theme) -> None:
    page = open_page(qtbot, workspace, theme)
    hero = page.hero_row
    workspace.settings.offline_only = True  # changed in Settings; the page was not refreshed yet
    hero.primary_button.click()
    assert "never use the network" in hero.status.text() and hero.status.property("tone") == "danger"
    assert published.requests == []


def test_importing_a_model_of_another_family_is_refused_in_the_page(qtbot, workspace, theme,
                                                                    tmp_path: Path) -> None:
    page = open_page(qtbot, workspace, theme)
    panel = page.import_panel
    with qtbot.assertNotEmitted(page.modelsChanged, wait=100):
        panel.import_file(tiny_llama_model())
        qtbot.waitUntil(lambda: not panel.busy, timeout=WAIT_MS)
    assert "is a llama model" in panel.status.text() and "choose a gpt-oss GGUF" in panel.status.text()
    assert panel.status.property("tone") == "danger" and not panel.load_button.isVisible()
    assert workspace.library.list() == []


def test_importing_a_gpt_oss_model_adds_it_and_offers_to_load_it(qtbot, workspace, theme,
                                                                 tmp_path: Path) -> None:
    source = Path(shutil.copy(tiny_gpt_oss_model(), tmp_path / "gpt-oss-20b-mxfp4.gguf"))
    page = open_page(qtbot, workspace, theme)
    panel = page.import_panel
    with qtbot.waitSignal(page.modelsChanged, timeout=WAIT_MS):
        panel.import_file(source)
    assert panel.status.text().startswith("Imported gpt-oss-20b-mxfp4 (MXFP4, 402 KiB)")
    assert panel.load_button.isVisible()
    [model] = workspace.library.list()
    assert model.path == source and model.source == "import"
    with qtbot.waitSignal(page.loadRequested) as loaded:
        panel.load_button.click()
    assert loaded.args == [str(source)]


def test_the_page_keeps_showing_a_download_while_hidden_and_after(qtbot, published: HubServer, workspace,
                                                                  theme) -> None:
    hold = published.hold_after(REPO_20B, FILE_20B, 100_000)
    page = open_page(qtbot, workspace, theme)
    hero = page.hero_row
    hero.primary_button.click()
    assert hold.reached.wait(10)
    page.hide()
    hold.release()
    qtbot.waitUntil(lambda: hero.view.phase == "done", timeout=WAIT_MS)  # updated while hidden
    page.show()
    assert hero.view.phase == "done" and hero.primary_button.text() == "Ready — Load it"


def test_a_download_interrupted_in_an_earlier_run_shows_as_resumable(qtbot, published: HubServer,
                                                                     make_workspace, theme) -> None:
    hold = published.hold_after(REPO_20B, FILE_20B, 150_000)
    earlier = make_workspace()
    first_run = DownloadManager(earlier.paths.models, HubAccess(settings=lambda: Settings()))
    download = first_run.start(DownloadRequest.from_catalog(load_catalog().get("gpt-oss-20b")))
    assert hold.reached.wait(10)
    first_run.shutdown()  # what closing the app does
    hold.release()
    assert download.wait(10).state == DownloadState.PAUSED

    page = open_page(qtbot, make_workspace(), theme)  # the next start
    hero = page.hero_row
    assert hero.view.phase == "paused" and hero.primary_button.text() == "Resume"
    assert hero.status.text().startswith("Paused at") and 0 < hero.progress_bar.value() < PROGRESS_SCALE
    with qtbot.waitSignal(page.modelsChanged, timeout=WAIT_MS):
        hero.primary_button.click()
    qtbot.waitUntil(lambda: hero.view.phase == "done", timeout=WAIT_MS)


def test_an_installed_model_is_offered_for_loading(qtbot, published: HubServer, workspace, theme) -> None:
    done = workspace.downloads.start(DownloadRequest.from_catalog(load_catalog().get("gpt-oss-20b"))).wait(30)
    assert done.state == DownloadState.DONE
    page = open_page(qtbot, workspace, theme)
    assert page.hero_row.view.phase in ("installed", "done")
    button = page.hero_row.primary_button
    # The row settles after the page's first layout pass; what matters is that Load is offered.
    qtbot.waitUntil(lambda: button.isVisible() and "Load" in button.text(), timeout=WAIT_MS)


def test_the_theme_can_change(qtbot, workspace, theme) -> None:
    page = open_page(qtbot, workspace, theme)
    dark = theme_for("dark")
    page.set_theme(dark)
    assert dark.palette.window in page.styleSheet() and theme.palette.window not in page.styleSheet()


def test_a_gguf_dropped_on_the_page_is_imported(qtbot, workspace, theme, tmp_path: Path) -> None:
    source = Path(shutil.copy(tiny_gpt_oss_model(), tmp_path / "gpt-oss-20b-mxfp4.gguf"))
    page = open_page(qtbot, workspace, theme)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(source))])
    position = QPointF(page.width() / 2, page.height() / 2)
    enter = QDragEnterEvent(position.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page, enter)
    assert enter.isAccepted()
    drop = QDropEvent(position, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(page.modelsChanged, timeout=WAIT_MS):
        QApplication.sendEvent(page, drop)
    assert [m.path for m in workspace.library.list()] == [source]

    text = QMimeData()
    text.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    refused = QDragEnterEvent(position.toPoint(), Qt.DropAction.CopyAction, text, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier)
    refused.ignore()
    QApplication.sendEvent(page, refused)
    assert not refused.isAccepted()


def test_the_welcome_page_and_the_library_show_the_same_download(qtbot, published: HubServer, workspace,
                                                                 theme) -> None:
    hold = published.hold_after(REPO_20B, FILE_20B, 100_000)
    page = open_page(qtbot, workspace, theme)
    dialog = ModelLibraryDialog(workspace, theme)
    qtbot.addWidget(dialog)
    dialog.show()
    page.hero_row.primary_button.click()
    assert hold.reached.wait(10)
    twin = dialog.catalog_rows["gpt-oss-20b"]
    qtbot.waitUntil(lambda: twin.view.phase == "downloading" and twin.progress_bar.value() > 0,
                    timeout=WAIT_MS)
    twin.pause_button.click()  # pausing in the dialog pauses the page's download: it is one download
    hold.release()
    qtbot.waitUntil(lambda: page.hero_row.view.phase == "paused", timeout=WAIT_MS)
    assert twin.view.phase == "paused"
