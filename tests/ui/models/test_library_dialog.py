"""The model library dialog on a real workspace: installed models, removal, downloads, the Hub token."""

from __future__ import annotations

import shutil
from pathlib import Path

import keyring
import pytest
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from app.models import DownloadRequest, DownloadState, import_model, load_catalog
from app.ui.models import DownloadRow, ModelLibraryDialog
from app.ui.models.library_dialog import DOWNLOAD_TAB, HUB_TAB
from fixtures.hub_server import HubServer
from fixtures.tiny_models import tiny_gpt_oss_model
from tests.models.conftest import GOOD_TOKEN
from tests.models.keyring_backend import FileKeyring
from tests.ui.models.conftest import WAIT_MS


def open_dialog(qtbot, workspace, theme) -> ModelLibraryDialog:
    dialog = ModelLibraryDialog(workspace, theme)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.advice is not None, timeout=WAIT_MS)
    return dialog


def imported_model(workspace, tmp_path: Path):
    source = Path(shutil.copy(tiny_gpt_oss_model(), tmp_path / "gpt-oss-20b-mxfp4.gguf"))
    return import_model(source, workspace.library)


def downloaded_model(workspace):
    done = workspace.downloads.start(DownloadRequest.from_catalog(load_catalog().get("gpt-oss-20b"))).wait(30)
    assert done.state == DownloadState.DONE, done.message
    return done.model


def everything_shown(widget: QWidget) -> str:
    """All text a user could see or hover in the dialog."""
    texts = []
    for child in widget.findChildren(QWidget):
        texts.append(child.toolTip())
        if isinstance(child, QLabel):
            texts.append(child.text())
        if isinstance(child, QLineEdit):
            texts.extend((child.text(), child.displayText()))
    return "\n".join(texts)


def test_an_imported_model_is_listed_with_what_it_is(qtbot, workspace, theme, tmp_path: Path) -> None:
    model = imported_model(workspace, tmp_path)
    dialog = open_dialog(qtbot, workspace, theme)

    card = dialog.cards[model.id]
    assert card.title.text() == "gpt-oss-20b-mxfp4"
    assert card.detail.text() == "MXFP4 · 402 KiB · imported"
    assert card.verified_badge.text() == "Not verified"
    assert card.path.full_text() == str(model.path) and card.path.toolTip() == str(model.path)
    assert dialog.tabs.tabText(0) == "Installed (1)" and not dialog.empty_label.isVisible()
    assert card.load_button.isEnabled()


def test_removing_an_imported_model_asks_first_and_keeps_the_file(qtbot, workspace, theme,
                                                                  tmp_path: Path) -> None:
    model = imported_model(workspace, tmp_path)
    dialog = open_dialog(qtbot, workspace, theme)
    card = dialog.cards[model.id]

    card.remove_button.click()
    assert card.confirm.isVisible() and workspace.library.list() != []
    assert card.confirm_text.text() == (f"Remove gpt-oss-20b-mxfp4 from the library? The file stays at "
                                        f"{model.path}.")
    card.keep_button.click()
    assert not card.confirm.isVisible() and workspace.library.list() != []

    card.remove_button.click()
    with qtbot.waitSignal(dialog.modelsChanged, timeout=WAIT_MS):
        card.confirm_button.click()
    assert workspace.library.list() == [] and model.id not in dialog.cards
    assert model.path.is_file()  # imported in place: forgotten, not deleted
    assert dialog.installed_notice.text() == (f"Removed gpt-oss-20b-mxfp4 from the library. Its file stays "
                                              f"at {model.path}.")
    assert dialog.empty_label.isVisible() and dialog.tabs.tabText(0) == "Installed"


def test_removing_a_downloaded_model_deletes_its_files(qtbot, published: HubServer, workspace,
                                                       theme) -> None:
    model = downloaded_model(workspace)
    dialog = open_dialog(qtbot, workspace, theme)
    card = dialog.cards[model.id]
    assert card.verified_badge.text() == "Verified"
    assert card.detail.text() == "MXFP4 · 402 KiB · from ggml-org/gpt-oss-20b-GGUF"
    assert dialog.catalog_rows["gpt-oss-20b"].view.phase in ("installed", "done")

    card.remove_button.click()
    assert card.confirm_text.text() == "Delete gpt-oss-20b from disk? This frees 402 KiB."
    with qtbot.waitSignal(dialog.modelsChanged, timeout=WAIT_MS):
        card.confirm_button.click()
    assert not model.path.exists() and workspace.library.list() == []
    assert dialog.catalog_rows["gpt-oss-20b"].view.phase == "idle"


def test_load_from_the_library_closes_the_dialog(qtbot, workspace, theme, tmp_path: Path) -> None:
    model = imported_model(workspace, tmp_path)
    dialog = open_dialog(qtbot, workspace, theme)
    with qtbot.waitSignal(dialog.loadRequested) as loaded:
        dialog.cards[model.id].load_button.click()
    assert loaded.args == [str(model.path)] and not dialog.isVisible()


class UrlCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_show_in_folder_opens_the_models_folder(qtbot, workspace, theme, tmp_path: Path) -> None:
    model = imported_model(workspace, tmp_path)
    dialog = open_dialog(qtbot, workspace, theme)
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")  # Qt's own hook: no file manager starts
    try:
        dialog.cards[model.id].folder_button.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [url.toLocalFile() for url in catcher.urls] == [str(model.path.parent)]


def test_a_loaded_model_cannot_be_removed(qtbot, workspace, theme, tmp_path: Path) -> None:
    model = imported_model(workspace, tmp_path)
    workspace.load_model(model.path, n_ctx=512)  # the real worker, on the tiny model
    dialog = open_dialog(qtbot, workspace, theme)
    card = dialog.cards[model.id]
    assert card.loaded_badge.text() == "Loaded" and card.loaded_badge.isVisible()
    assert not card.remove_button.isEnabled() and "Unload it first" in card.remove_button.toolTip()
    assert not card.load_button.isEnabled()


def test_the_download_tab_uses_the_shared_rows_and_a_download_lands_in_installed(
        qtbot, published: HubServer, workspace, theme) -> None:
    dialog = open_dialog(qtbot, workspace, theme)
    dialog.show_tab(DOWNLOAD_TAB)
    rows = dialog.catalog_rows
    assert set(rows) == {e.id for e in load_catalog().entries}
    assert all(isinstance(row, DownloadRow) and row.variant == "compact" for row in rows.values())
    assert rows["gpt-oss-20b"].tag_badge.text() == "Recommended"
    assert rows["gpt-oss-120b"].tag_badge.text() == "" and rows["gpt-oss-120b"].fit_badge.text() == "Tight"
    assert dialog.machine_label.text().startswith("This computer: NVIDIA GeForce RTX 4090")

    with qtbot.waitSignal(dialog.modelsChanged, timeout=WAIT_MS):
        rows["gpt-oss-20b"].primary_button.click()
    qtbot.waitUntil(lambda: rows["gpt-oss-20b"].view.phase == "done", timeout=WAIT_MS)
    [model] = workspace.library.list()
    assert list(dialog.cards) == [model.id]
    with qtbot.waitSignal(dialog.loadRequested) as loaded:
        rows["gpt-oss-20b"].primary_button.click()
    assert loaded.args == [str(model.path)]


def test_a_hub_download_started_elsewhere_gets_a_row(qtbot, hub: HubServer, workspace, theme) -> None:
    hub.add_repo("acme/gpt-oss-20b-GGUF", {"gpt-oss-20b-Q8_0.gguf": tiny_gpt_oss_model()})
    hold = hub.hold_after("acme/gpt-oss-20b-GGUF", "gpt-oss-20b-Q8_0.gguf", 100_000)
    dialog = open_dialog(qtbot, workspace, theme)
    dialog.show_tab(DOWNLOAD_TAB)
    assert not dialog.other_downloads.isVisible()
    workspace.downloads.start(DownloadRequest("acme/gpt-oss-20b-GGUF"))  # e.g. `ossian models download`
    assert hold.reached.wait(10)
    qtbot.waitUntil(lambda: len(dialog.other_downloads.rows) == 1, timeout=WAIT_MS)
    [row] = dialog.other_downloads.rows.values()
    assert row.detail.text() == "from acme/gpt-oss-20b-GGUF" and dialog.other_downloads.isVisible()
    row.pause_button.click()
    hold.release()
    qtbot.waitUntil(lambda: row.view.phase == "paused", timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.modelsChanged, timeout=WAIT_MS):
        row.primary_button.click()


def test_the_token_is_never_shown_and_session_only_storage_is_reported(qtbot, workspace, theme) -> None:
    dialog = open_dialog(qtbot, workspace, theme)
    dialog.show_tab(HUB_TAB)
    panel = dialog.token_panel
    qtbot.waitUntil(lambda: panel.status.text().startswith("No token is set"), timeout=WAIT_MS)
    assert panel.field.echoMode() == QLineEdit.EchoMode.Password and not panel.clear_button.isEnabled()

    qtbot.keyClicks(panel.field, GOOD_TOKEN)
    assert GOOD_TOKEN not in panel.field.displayText()
    with qtbot.waitSignal(panel.tokenChanged, timeout=WAIT_MS):
        panel.set_button.click()
    assert panel.field.text() == ""
    assert "no usable keyring" in panel.status.text() and "until Ossian closes" in panel.status.text()
    assert panel.status.property("tone") == "warning" and panel.source == "session"
    assert GOOD_TOKEN not in everything_shown(dialog)
    assert workspace.downloads.access.tokens.get() == GOOD_TOKEN  # downloads use it from now on

    dialog.refresh()
    panel.refresh()
    qtbot.waitUntil(lambda: panel.status.text().startswith("A token is set for this session only"),
                    timeout=WAIT_MS)
    assert GOOD_TOKEN not in everything_shown(dialog)

    with qtbot.waitSignal(panel.tokenChanged, timeout=WAIT_MS):
        panel.clear_button.click()
    qtbot.waitUntil(lambda: panel.status.text().startswith("No token is set"), timeout=WAIT_MS)
    assert workspace.downloads.access.tokens.get() is None


def test_a_token_goes_to_the_keyring_where_there_is_one(qtbot, workspace, theme, tmp_path: Path) -> None:
    keyring.set_keyring(FileKeyring(tmp_path / "keyring.json"))
    dialog = open_dialog(qtbot, workspace, theme)
    panel = dialog.token_panel
    qtbot.keyClicks(panel.field, GOOD_TOKEN)
    with qtbot.waitSignal(panel.tokenChanged, timeout=WAIT_MS):
        panel.field.returnPressed.emit()
    assert panel.status.text() == "The token was saved in the system keyring."
    assert panel.source == "keyring" and GOOD_TOKEN not in everything_shown(dialog)


@pytest.mark.parametrize("bad", ["   ", "hf_has a space"])
def test_what_cannot_be_a_token_is_refused_without_echoing_it(qtbot, workspace, theme, bad: str) -> None:
    dialog = open_dialog(qtbot, workspace, theme)
    panel = dialog.token_panel
    panel.field.setText(bad)
    panel.set_button.click()
    qtbot.waitUntil(lambda: panel.status.property("tone") == "danger", timeout=WAIT_MS)
    assert panel.field.text() == "" and "has a space" not in everything_shown(dialog)
    assert workspace.downloads.access.tokens.get() is None
