"""Settings → Servers and the API switch, on real widgets: a server added, tested and used (llama-server's
shape over the tiny model in a real worker), and the window's model served to the `openai` SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from app.engine.remote import RemoteEngine
from app.engine.testing import harmony_reply
from app.harmony import ASSISTANT
from app.ui.settings_dialog import SettingsDialog
from fixtures.remote_servers import Knobs, LlamaServerShape, llama_server_on
from tests.ui.conftest import WAIT_MS


@pytest.fixture(scope="module")
def server(tiny_model_path: Path) -> Iterator[LlamaServerShape]:
    with llama_server_on(tiny_model_path, Knobs(api_key="sk-panel")) as shape:
        yield shape


def dialog_of(qtbot, window) -> SettingsDialog:
    window.open_settings()
    dialogs = [d for d in window.findChildren(SettingsDialog) if d.isVisible()]
    assert dialogs
    return dialogs[-1]


def test_a_server_is_added_tested_and_used(qtbot, make_window, server: LlamaServerShape) -> None:
    window = make_window()
    dialog = dialog_of(qtbot, window)
    panel = dialog.servers
    assert "sent to it" in panel.findChild(type(panel.status), "serversPrivacy").text()
    panel.url.setText(server.base_url + "/v1")
    panel.key.setText("sk-panel")
    panel.add_button.click()
    assert panel.list.count() == 1 and "not tested yet" in panel.list.item(0).text()
    saved = json.loads(window.workspace.paths.settings_file.read_text())
    assert saved["servers"] == [{"url": server.base_url, "model": "", "kind": ""}]
    assert "sk-panel" not in window.workspace.paths.settings_file.read_text()

    panel.list.setCurrentRow(0)
    panel.test_button.click()
    qtbot.waitUntil(lambda: "tier" in panel.status.text(), timeout=WAIT_MS)
    assert "llama-server" in panel.status.text() and "raw Harmony tier" in panel.status.text()
    assert "gpt-oss-tiny.gguf (4,096-token context)" in panel.status.text()

    panel.use_button.click()
    qtbot.waitUntil(lambda: isinstance(window.workspace.engine, RemoteEngine), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.model_bar.state == "loaded", timeout=WAIT_MS)
    assert "runs on 127.0.0.1" in panel.status.text()
    assert "in use" in panel.list.item(0).text() and "llama-server" in panel.list.item(0).text()
    assert "on 127.0.0.1" in window.status_model.text()
    dialog.close()


def test_a_server_that_is_not_there_leaves_the_model_bar_saying_so(qtbot, make_window) -> None:
    window = make_window(load=False)
    dialog = dialog_of(qtbot, window)
    panel = dialog.servers
    panel.url.setText("http://127.0.0.1:9")
    panel.add_button.click()
    panel.list.setCurrentRow(0)
    panel.use_button.click()
    qtbot.waitUntil(lambda: window.model_bar.state == "failed", timeout=WAIT_MS)
    assert "Could not connect to 127.0.0.1:9" in panel.status.text()
    dialog.close()


def test_the_api_switch_serves_the_windows_model(qtbot, make_window, engine) -> None:
    window = make_window()
    window.workspace.settings.api_port = 0  # any free port: a test must not take 8765 from a real server
    dialog = dialog_of(qtbot, window)
    assert "Off" in dialog.api.where.text()
    dialog.api.check.setChecked(True)
    dialog._save()
    assert window.api is not None and window.api.serving is not None
    serving = window.api.serving
    assert serving.base_url.startswith("http://127.0.0.1:") and serving.api_key in window.banner.text()
    engine.queue(harmony_reply([("final", "Served from the window.")]))
    client = openai.OpenAI(base_url=serving.base_url, api_key=serving.api_key, max_retries=0)
    reply = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "Served from the window."
    assert reply.choices[0].message.role == ASSISTANT
    again = dialog_of(qtbot, window)
    assert serving.base_url in again.api.where.text()
    again.api.check.setChecked(False)
    again._save()
    assert window.api.serving is None
    with pytest.raises(openai.APIConnectionError):
        client.models.list()


def test_never_use_the_network_lets_go_of_a_server_on_another_computer(
        qtbot, make_window, server: LlamaServerShape, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.ui.main_window as main_window_module
    from app.chat.servers import ServerEntry

    window = make_window(load=False)
    window.workspace.servers.save(ServerEntry(server.base_url), api_key="sk-panel")
    window.use_server(window.workspace.servers.entries()[0])
    qtbot.waitUntil(lambda: window.model_bar.state == "loaded", timeout=WAIT_MS)
    assert isinstance(window.workspace.engine, RemoteEngine)
    # The test server listens on loopback; the window is told it is on another computer.
    monkeypatch.setattr(main_window_module, "is_loopback", lambda url: False)
    dialog = dialog_of(qtbot, window)
    dialog.offline.setChecked(True)
    dialog._save()
    qtbot.waitUntil(lambda: window.workspace.loaded is None, timeout=WAIT_MS)
    assert "Stopped using" in window.banner.text() and "never use the network" in window.banner.text()


def test_a_first_run_with_only_a_server_chats_there(qtbot, engine, server: LlamaServerShape) -> None:
    """No model of its own: the welcome page offers downloads until a server runs the model; then the
    composer is there."""
    from app.chat.servers import ServerEntry
    from app.chat.workspace import Workspace
    from app.ui.main_window import MainWindow
    from app.ui.theme import ThemeWatcher
    from tests.ui.conftest import LAPTOP

    workspace = Workspace(engine_factory=lambda: engine, read_machine=lambda: LAPTOP)
    window = MainWindow(workspace, ThemeWatcher("light"))
    qtbot.addWidget(window)
    window.show()
    try:
        assert window.pages.currentWidget() is window.welcome and not window.composer_area.isVisible()
        workspace.servers.save(ServerEntry(server.base_url), api_key="sk-panel")
        window.use_server(workspace.servers.entries()[0])
        qtbot.waitUntil(lambda: window.model_bar.state == "loaded", timeout=WAIT_MS)
        assert window.pages.currentWidget() is not window.welcome and window.composer_area.isVisible()
    finally:
        window.close()
