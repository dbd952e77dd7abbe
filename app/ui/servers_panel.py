"""Settings → Servers: the servers that can run the model instead of this computer, and the switch that
serves the window's model to other apps.

Adding, testing and removing a server apply at once (the list is saved with the settings, the key goes to
the keyring); using one is asked of the window (`useRequested`), which connects off the UI thread and
shows where the model now runs. The privacy note says what leaves the computer before anything does.

Signals:
    useRequested(ServerEntry): the user chose to run the model on this server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.chat.servers import PRIVACY_NOTE, ServerEntry, check_server, is_loopback
from app.chat.workspace import Workspace
from app.errors import OssianError
from app.text_safety import shown_name
from app.ui.bridge import run_in_background

KIND_LABELS = {"llama-server": "llama-server", "vllm": "vLLM", "ollama": "Ollama", "lm-studio": "LM Studio",
               "llama-cpp-python": "llama-cpp-python", "openai": "OpenAI-compatible"}

if TYPE_CHECKING:
    from app.api.service import Serving  # starlette and uvicorn load only when the API starts


class ServersPanel(QGroupBox):
    useRequested = Signal(object)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__("Servers: run the model on another computer", parent)
        self.setObjectName("serversPanel")
        self.workspace = workspace
        privacy = QLabel(PRIVACY_NOTE, self)
        privacy.setWordWrap(True)
        privacy.setObjectName("serversPrivacy")

        self.list = QListWidget(self)
        self.list.setObjectName("serversList")
        self.list.setMaximumHeight(96)
        self.list.currentItemChanged.connect(lambda *_: self._selection_changed())

        self.url = QLineEdit(self)
        self.url.setPlaceholderText("Address, e.g. http://gpu-box:8080")
        self.key = QLineEdit(self)
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("API key, if it needs one")
        self.model = QLineEdit(self)
        self.model.setPlaceholderText("Model (default: the one it serves)")
        entry_row = QHBoxLayout()
        for widget, stretch in ((self.url, 3), (self.key, 2), (self.model, 2)):
            entry_row.addWidget(widget, stretch)

        self.add_button = QPushButton("Add", self)
        self.test_button = QPushButton("Test", self)
        self.use_button = QPushButton("Use", self)
        self.remove_button = QPushButton("Remove", self)
        self.add_button.clicked.connect(self._add)
        self.test_button.clicked.connect(self._test)
        self.use_button.clicked.connect(self._use)
        self.remove_button.clicked.connect(self._remove)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.test_button, self.use_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.status = QLabel(self)
        self.status.setObjectName("serversStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        column = QVBoxLayout(self)
        column.addWidget(privacy)
        column.addWidget(self.list)
        column.addLayout(entry_row)
        column.addLayout(buttons)
        column.addWidget(self.status)
        self.refresh()

    # ------------------------------------------------------------------------------------- list

    def refresh(self) -> None:
        loaded = self.workspace.loaded
        in_use = loaded.server.url if loaded is not None and loaded.server is not None else None
        self.list.clear()
        for entry in self.workspace.servers.entries():
            kind = KIND_LABELS.get(entry.kind, "not tested yet")
            model = shown_name(entry.model) if entry.model else "its model"
            marker = " — in use" if entry.url == in_use else ""
            item = QListWidgetItem(f"{entry.url} · {kind} · {model}{marker}", self.list)
            item.setData(Qt.ItemDataRole.UserRole, entry)
        self._selection_changed()

    def selected(self) -> ServerEntry | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _selection_changed(self) -> None:
        chosen = self.selected()
        self.use_button.setEnabled(chosen is not None)
        self.remove_button.setEnabled(chosen is not None)

    # ---------------------------------------------------------------------------------- actions

    def _typed(self) -> ServerEntry | None:
        url = self.url.text().strip()
        return ServerEntry(url, self.model.text().strip()) if url else None

    def _add(self) -> None:
        entry = self._typed()
        if entry is None:
            self._say("Write the server's address first, e.g. http://gpu-box:8080.")
            return
        try:
            kept = self.workspace.servers.save(entry, self.key.text() or None)
            self.workspace.save_settings()
        except (OssianError, OSError, ValueError) as exc:
            self._say(str(exc))
            return
        self.url.clear()
        self.key.clear()
        self.model.clear()
        self.refresh()
        where = "on this computer" if is_loopback(entry.url) else "on another computer"
        note = "" if kept else " There is no keyring here, so the key is kept until Ossian closes."
        self._say(f"Added a server {where}. Test it, or Use it to run the model there.{note}")

    def _test(self) -> None:
        typed = self._typed()
        entry = typed or self.selected()
        if entry is None:
            self._say("Choose a server in the list, or write an address, to test it.")
            return
        key = (self.key.text() or None) if typed is not None else self.workspace.servers.api_key(entry)
        settings = self.workspace.settings
        self.test_button.setEnabled(False)
        self._say(f"Asking {entry.url} what it is…")

        def done(text: str) -> None:
            self.test_button.setEnabled(True)
            self._say(text)

        def failed(error: BaseException) -> None:
            self.test_button.setEnabled(True)
            self._say(str(error))

        run_in_background(lambda: check_server(settings, entry, key), done, failed, self, name="test-server")

    def _use(self) -> None:
        entry = self.selected()
        if entry is not None:
            self._say(f"Connecting to {entry.url}…")
            self.useRequested.emit(entry)

    def _remove(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        self.workspace.servers.remove(entry.url)
        try:
            self.workspace.save_settings()
        except (OSError, ValueError) as exc:
            self._say(f"The list could not be saved: {exc}")
        self.refresh()
        self._say(f"Removed {entry.url} and its key.")

    def _say(self, text: str) -> None:
        self.status.setText(text)


class ApiSwitch(QWidget):
    """The switch that serves the window's model to other apps, and where it is served when it is."""

    def __init__(self, enabled: bool, serving: Serving | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = QCheckBox("Serve the loaded model to other apps (OpenAI-compatible API, this computer "
                               "only)", self)
        self.check.setChecked(enabled)
        self.check.setToolTip("Codex CLI, Continue, Open WebUI or the openai SDK can use the model loaded "
                              "here. Only programs on this computer that have the key can reach it.")
        self.where = QLabel(self)
        self.where.setObjectName("apiServing")
        self.where.setWordWrap(True)
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if serving is not None:
            self.where.setText(f"Serving at {serving.base_url} · key {serving.api_key}")
        else:
            self.where.setText("Off. When on, the address and key are shown here.")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.check)
        column.addWidget(self.where)
