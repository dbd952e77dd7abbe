"""Settings > Tools: the MCP servers the model may use, added as a command or a URL, or pasted as the
`mcpServers` JSON other apps keep; each one tested on the spot. Which conversation uses which server is
chosen in the conversation's Tools menu (the model bar), not here.

The list is the workspace's `McpHub` (app.tools.mcp); this panel holds no rule of its own. Adding,
removing and importing are file and keyring writes (quick, on the UI thread); a test starts the server,
so it runs on a thread of its own and reports back through a signal, and the window never waits for a
server.

Signals:
    serversChanged(): a server was added, replaced or removed.
"""

from __future__ import annotations

import shlex
import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import OssianError
from app.tools.mcp import McpHub, McpServerConfig
from app.tools.mcp.connection import McpCancelled


class ServerTest(QObject):
    """Starts one server and lists its tools on a thread of its own."""

    finished = Signal(str, str)  # the server's name, the outcome in words

    def start(self, hub: McpHub, name: str) -> None:
        def work() -> None:
            try:
                tools = hub.tools(name)
            except (OssianError, McpCancelled) as exc:
                self.finished.emit(name, str(exc))
                return
            listed = ", ".join(t.function_name for t in tools[:8]) + (" …" if len(tools) > 8 else "")
            seconds = hub.started_seconds(name)
            self.finished.emit(name, f"'{name}' works: {len(tools)} tool(s) in {seconds:.1f} s ({listed}).")

        threading.Thread(target=work, name=f"mcp-test-{name}", daemon=True).start()


class ServerForm(QDialog):
    """Add a server: a command (program, arguments, environment, folder) or a URL (and a bearer token)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add an MCP server")
        self.setObjectName("mcpServerForm")
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("files")
        self.as_command = QRadioButton("A program on this computer", self)
        self.as_url = QRadioButton("A URL (streamable HTTP)", self)
        self.as_command.setChecked(True)
        kinds = QButtonGroup(self)
        kinds.addButton(self.as_command)
        kinds.addButton(self.as_url)
        self.command = QLineEdit(self)
        self.command.setPlaceholderText("npx -y @modelcontextprotocol/server-filesystem /home/me/Documents")
        self.env = QPlainTextEdit(self)
        self.env.setPlaceholderText("KEY=value, one a line (values of names like API_KEY go to the keyring)")
        self.env.setFixedHeight(self.fontMetrics().lineSpacing() * 4)
        self.cwd = QLineEdit(self)
        self.cwd.setPlaceholderText("(optional) the folder it starts in")
        self.url = QLineEdit(self)
        self.url.setPlaceholderText("https://example.com/mcp")
        self.token = QLineEdit(self)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("(optional) bearer token, kept in the keyring")
        self.error = QLabel(self)
        self.error.setObjectName("settingsError")
        self.error.setWordWrap(True)
        self.error.hide()
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("", self.as_command)
        form.addRow("Command", self.command)
        form.addRow("Environment", self.env)
        form.addRow("Working folder", self.cwd)
        form.addRow("", self.as_url)
        form.addRow("URL", self.url)
        form.addRow("Bearer token", self.token)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(self.error)
        column.addWidget(buttons)
        self.as_command.toggled.connect(self._show_kind)
        self._show_kind()

    def _show_kind(self) -> None:
        command = self.as_command.isChecked()
        for widget in (self.command, self.env, self.cwd):
            widget.setEnabled(command)
        for widget in (self.url, self.token):
            widget.setEnabled(not command)

    def server(self) -> tuple[McpServerConfig, dict[str, str], str | None]:
        """The server the form describes, its environment and token; `OssianError`/ValueError when wrong."""
        name = self.name.text().strip()
        if self.as_url.isChecked():
            token = self.token.text().strip() or None
            return McpServerConfig(name, url=self.url.text().strip()), {}, token
        try:
            words = shlex.split(self.command.text())
        except ValueError as exc:
            raise ValueError(f"The command line cannot be read ({exc}); check its quotes.") from exc
        if not words:
            raise ValueError("Give the command that starts the server, e.g. npx -y "
                             "@modelcontextprotocol/server-filesystem FOLDER.")
        env: dict[str, str] = {}
        for line in self.env.toPlainText().splitlines():
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"Environment lines are KEY=value; this one is not: {line.strip()!r}")
            env[key.strip()] = value
        config = McpServerConfig(name, command=words[0], args=tuple(words[1:]),
                                 cwd=self.cwd.text().strip() or None)
        return config, env, None

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


class ImportForm(QDialog):
    """Paste the `mcpServers` JSON of Claude Desktop, LM Studio or Cursor."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import MCP servers")
        self.setObjectName("mcpImportForm")
        hint = QLabel("Paste the configuration other apps keep (claude_desktop_config.json, LM Studio's "
                      "mcp.json, Cursor's mcp.json): {\"mcpServers\": {...}}. Keys and tokens in it go to "
                      "the system keyring.", self)
        hint.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("mcpImportText")
        self.error = QLabel(self)
        self.error.setObjectName("settingsError")
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.addWidget(hint)
        column.addWidget(self.text, 1)
        column.addWidget(self.error)
        column.addWidget(buttons)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


class McpToolsPanel(QGroupBox):
    """The list of MCP servers with Add, Import, Remove and Test."""

    serversChanged = Signal()

    def __init__(self, hub: McpHub, parent: QWidget | None = None) -> None:
        super().__init__("Tools: MCP servers", parent)
        self.setObjectName("mcpToolsPanel")
        self.hub = hub
        intro = QLabel("Programs and services that give the model tools (files, notes, search…). Switch one "
                       "on in a conversation's Tools menu; every call asks you first.", self)
        intro.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setObjectName("mcpServerList")
        self.add_button = QPushButton("Add…", self)
        self.import_button = QPushButton("Import JSON…", self)
        self.remove_button = QPushButton("Remove", self)
        self.test_button = QPushButton("Test", self)
        self.add_button.clicked.connect(self.add_server)
        self.import_button.clicked.connect(self.import_servers)
        self.remove_button.clicked.connect(self.remove_selected)
        self.test_button.clicked.connect(self.test_selected)
        self.status = QLabel(self)
        self.status.setObjectName("mcpStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._test = ServerTest(self)
        self._test.finished.connect(self._tested)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.import_button, self.remove_button, self.test_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.addWidget(intro)
        column.addWidget(self.list)
        column.addLayout(buttons)
        column.addWidget(self.status)
        self.list.currentItemChanged.connect(lambda *_: self._enable())
        self.refresh()

    # ------------------------------------------------------------------------------------ actions

    def refresh(self) -> None:
        self.list.clear()
        try:
            servers = self.hub.servers()
        except OssianError as exc:  # a damaged list: said, never overwritten
            self.status.setText(str(exc))
            servers = []
        for server in servers:
            item = QListWidgetItem(f"{server.name}  —  {server.transport}: {server.summary()}")
            item.setData(Qt.ItemDataRole.UserRole, server.name)
            item.setToolTip(server.summary())
            self.list.addItem(item)
        self._enable()

    def selected(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def add_server(self, form: ServerForm | None = None) -> bool:
        """Show the form until it describes a server that can be added (or is cancelled)."""
        form = form or ServerForm(self)
        while form.exec() == QDialog.DialogCode.Accepted:
            if self.add_from(form):
                return True
        return False

    def add_from(self, form: ServerForm) -> bool:
        try:
            config, env, token = form.server()
            saved = self.hub.add(config, env=env, token=token)
        except (OssianError, ValueError) as exc:
            form.show_error(str(exc))
            return False
        note = "" if saved.in_keyring or not saved.count else \
            " There is no usable keyring, so its secrets are kept only until Ossian closes."
        self.status.setText(f"Added '{config.name}'.{note}")
        self.refresh()
        self.serversChanged.emit()
        return True

    def import_servers(self, form: ImportForm | None = None) -> bool:
        form = form or ImportForm(self)
        while form.exec() == QDialog.DialogCode.Accepted:
            if self.import_from(form):
                return True
        return False

    def import_from(self, form: ImportForm) -> bool:
        try:
            result = self.hub.import_json(form.text.toPlainText())
        except OssianError as exc:
            form.show_error(str(exc))
            return False
        names = ", ".join(s.config.name for s in result.servers)
        self.status.setText(" ".join([f"Imported {names}.", *result.notes]))
        self.refresh()
        self.serversChanged.emit()
        return True

    def remove_selected(self) -> None:
        name = self.selected()
        if name is None:
            return
        try:
            self.hub.remove(name)
        except OssianError as exc:
            self.status.setText(str(exc))
            return
        self.status.setText(f"Removed '{name}'.")
        self.refresh()
        self.serversChanged.emit()

    def test_selected(self) -> None:
        name = self.selected()
        if name is None:
            return
        self.test_button.setEnabled(False)
        self.status.setText(f"Starting '{name}' and listing its tools…")
        self._test.start(self.hub, name)

    def _tested(self, name: str, outcome: str) -> None:
        self.status.setText(outcome)
        self._enable()

    def _enable(self) -> None:
        chosen = self.selected() is not None
        self.remove_button.setEnabled(chosen)
        self.test_button.setEnabled(chosen)
