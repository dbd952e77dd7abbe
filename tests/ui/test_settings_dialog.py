"""The settings dialog edits the real settings file through a real workspace."""

from __future__ import annotations

import json

import pytest

from app.chat.workspace import Workspace
from app.models import NetworkDisabled
from app.ui.settings_dialog import SettingsDialog


@pytest.fixture
def workspace():
    workspace = Workspace(read_machine=lambda: None)  # type: ignore[arg-type, return-value]
    yield workspace
    workspace.close()


def open_dialog(qtbot, workspace) -> SettingsDialog:
    dialog = SettingsDialog(workspace)
    qtbot.addWidget(dialog)
    return dialog


def test_saving_writes_the_file_and_announces_it(qtbot, workspace) -> None:
    dialog = open_dialog(qtbot, workspace)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.effort.setCurrentIndex(dialog.effort.findData("high"))
    dialog.context.setCurrentIndex(dialog.context.findData(65536))
    dialog.ask_python.setChecked(False)
    dialog.offline.setChecked(True)
    with qtbot.waitSignal(dialog.settingsChanged):
        dialog._save()
    saved = json.loads(workspace.paths.settings_file.read_text())
    assert saved["theme"] == "dark" and saved["reasoning_effort"] == "high"
    assert saved["context_tokens"] == 65536 and saved["python_tool_approval"] == "always"
    assert saved["offline_only"] is True
    assert workspace.settings.offline_only is True


def test_never_use_the_network_takes_effect_for_downloads_at_once(qtbot, workspace) -> None:
    dialog = open_dialog(qtbot, workspace)
    dialog.offline.setChecked(True)
    dialog._save()
    with pytest.raises(NetworkDisabled, match="never use the network"):
        workspace.downloads.access.connect()


def test_a_bad_hub_address_is_refused_and_nothing_is_saved(qtbot, workspace) -> None:
    dialog = open_dialog(qtbot, workspace)
    dialog.endpoint.setText("ftp://mirror.example")
    dialog._save()
    assert "https://" in dialog.error.text() and not dialog.error.isHidden()
    assert not workspace.paths.settings_file.exists()
    assert workspace.settings.hf_endpoint is None


def test_controls_start_from_the_current_settings(qtbot, workspace) -> None:
    workspace.settings.theme = "light"
    workspace.settings.context_tokens = 12000  # not one of the choices: still shown, not lost
    dialog = open_dialog(qtbot, workspace)
    assert dialog.theme.currentData() == "light"
    assert dialog.context.currentData() == 12000
    assert dialog.chosen().context_tokens == 12000
