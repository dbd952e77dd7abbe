"""Settings > Tools (the MCP servers), the conversation's Tools menu, and an MCP tool's card: real widgets,
a real hub on a temporary config folder, the failing SDK server where a server must start. The card of
an MCP call is in tests/ui/messages/test_mcp_tool_card.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.tools.mcp import McpHub
from app.ui.mcp_panel import ImportForm, McpToolsPanel, ServerForm
from app.ui.model_bar import ModelBar
from app.ui.theme import theme_for
from tests.tools.mcp.servers import failing_config

WAIT_MS = 30_000


@pytest.fixture
def panel(qtbot, tmp_path: Path):
    hub = McpHub(tmp_path, start_timeout_s=30)
    widget = McpToolsPanel(hub)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    hub.close()


def rows(panel: McpToolsPanel) -> list[str]:
    return [panel.list.item(i).text() for i in range(panel.list.count())]


def test_a_command_server_is_added_with_its_keys_in_the_keyring_not_the_file(qtbot, panel) -> None:
    form = ServerForm(panel)
    form.name.setText("files")
    form.command.setText('npx -y @modelcontextprotocol/server-filesystem "/home/me/My Documents"')
    form.env.setPlainText("API_KEY=sk-123\nLOG_LEVEL=debug\n")
    with qtbot.waitSignal(panel.serversChanged):
        assert panel.add_from(form)
    assert rows(panel) == [
        "files  —  stdio: npx -y @modelcontextprotocol/server-filesystem /home/me/My Documents"]
    [server] = panel.hub.servers()
    assert server.args[-1] == "/home/me/My Documents" and server.env == {"LOG_LEVEL": "debug"}
    assert server.secret_env == ("API_KEY",) and "sk-123" not in panel.hub.path.read_text(encoding="utf-8")


def test_a_wrong_form_says_what_is_wrong_and_adds_nothing(qtbot, panel) -> None:
    form = ServerForm(panel)
    form.name.setText("my files")
    form.command.setText("node server.js")
    assert not panel.add_from(form)
    assert "cannot name an MCP server" in form.error.text() and not form.error.isHidden()
    form.name.setText("files")
    form.env.setPlainText("NOT A PAIR")
    assert not panel.add_from(form)
    assert "Environment lines are KEY=value" in form.error.text()
    form.as_url.setChecked(True)
    form.url.setText("not-a-url")
    assert not panel.add_from(form)
    assert "is not an http:// or https:// address" in form.error.text()
    assert rows(panel) == []


def test_pasted_mcp_servers_json_is_imported(qtbot, panel) -> None:
    form = ImportForm(panel)
    form.text.setPlainText(json.dumps({"mcpServers": {
        "memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]},
        "web search": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer t0k"}}}}))
    assert panel.import_from(form)
    assert [row.split("  —  ")[0] for row in rows(panel)] == ["memory", "web-search"]
    assert "Imported memory, web-search." in panel.status.text() and "'web search' was added as" in \
        panel.status.text()
    assert "t0k" not in panel.hub.path.read_text(encoding="utf-8")
    bad = ImportForm(panel)
    bad.text.setPlainText('{"servers": {}}')
    assert not panel.import_from(bad)
    assert "rename it to 'mcpServers'" in bad.error.text()


def test_test_starts_the_server_off_the_ui_thread_and_remove_forgets_it(qtbot, panel) -> None:
    panel.hub.add(failing_config("flaky"))
    panel.hub.add(failing_config("broken", "--on-start", "crash"))
    panel.refresh()
    panel.list.setCurrentRow(0)
    panel.test_selected()
    assert panel.status.text() == "Starting 'flaky' and listing its tools…"  # the window goes on meanwhile
    qtbot.waitUntil(lambda: "works" in panel.status.text(), timeout=WAIT_MS)
    assert "'flaky' works: 9 tool(s)" in panel.status.text() and "flaky__echo" in panel.status.text()
    panel.list.setCurrentRow(1)
    panel.test_selected()
    qtbot.waitUntil(lambda: "stopped before it was ready" in panel.status.text(), timeout=WAIT_MS)
    panel.remove_selected()
    assert [s.name for s in panel.hub.servers()] == ["flaky"] and panel.status.text() == "Removed 'broken'."


def test_the_tools_menu_offers_each_server_for_this_conversation(qtbot) -> None:
    bar = ModelBar(theme_for("light"))
    qtbot.addWidget(bar)
    bar.set_mcp_servers(["files", "notes"], {"notes"})
    assert list(bar.mcp_actions) == ["files", "notes"]
    assert not bar.mcp_actions["files"].isChecked() and bar.mcp_actions["notes"].isChecked()
    assert bar.tools_button.text() == "Tools: notes"
    with qtbot.waitSignal(bar.mcpServerChanged) as switched:
        bar.mcp_actions["files"].setChecked(True)
    assert switched.args == ["files", True] and bar.tools_button.text() == "Tools: files, notes"
    bar.set_mcp_servers([], set())  # the server list changed in Settings
    assert bar.mcp_actions == {} and bar.tools_button.text() == "Tools"


def test_the_switch_is_stored_with_the_conversation_it_was_made_for(make_window) -> None:
    window = make_window()
    controller = window.controller
    window.workspace.mcp.add(failing_config("flaky"))
    window.new_chat()
    assert list(window.model_bar.mcp_actions) == ["flaky"]  # offered in the Tools menu
    window.model_bar.mcp_actions["flaky"].setChecked(True)  # before the chat exists: kept for it
    assert controller.mcp_servers_enabled() == {"flaky"}
    assert controller.ensure_session() is not None
    assert window.workspace.conversation_settings(controller.conversation_id).tools.mcp == {"flaky"}
    assert controller.session.tools.selection.mcp == {"flaky"}
    controller.set_mcp_server("flaky", False)
    assert controller.mcp_servers_enabled() == frozenset()


def test_settings_shows_the_tools_panel_on_the_workspace_hub(qtbot, make_window) -> None:
    from app.ui.settings_dialog import SettingsDialog

    window = make_window(load=False)
    window.workspace.mcp.add(failing_config("flaky"))
    dialog = SettingsDialog(window.workspace, window)
    qtbot.addWidget(dialog)
    assert dialog.tools.hub is window.workspace.mcp
    assert rows(dialog.tools)[0].startswith("flaky  —  stdio: ")
