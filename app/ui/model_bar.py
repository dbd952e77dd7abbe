"""The bar above the conversation: which model, load/unload, the plan in one sentence, reasoning effort.

The planner's explanation sits next to the picker, so the user always sees what was chosen and why
("runs on the GPU with the experts of 14 blocks in RAM, 7.1 of 8 GiB, 32K context"). The effort
buttons belong to the open conversation (low / medium / high, gpt-oss's own control).

Signals:
    loadRequested(str): load the model file at this path.
    unloadRequested().
    effortChanged(str): "low", "medium" or "high".
    pythonToolChanged(bool): the user switched gpt-oss's python tool on or off for this conversation.
    mcpServerChanged(str, bool): the user switched an MCP server (Settings > Tools) on or off for it.
    manageRequested(): open the model library (download, import, remove).
    settingsRequested(): open the settings dialog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.harmony import ReasoningEffort
from app.text_safety import shown_name
from app.ui.theme import Theme

ModelState = Literal["none", "unloaded", "loading", "loaded", "failed"]
EFFORTS = tuple(ReasoningEffort)


@dataclass(frozen=True)
class ModelChoice:
    path: str
    name: str
    detail: str  # "MXFP4 · 11.3 GiB · verified"


class ModelBar(QWidget):
    loadRequested = Signal(str)
    unloadRequested = Signal()
    effortChanged = Signal(str)
    pythonToolChanged = Signal(bool)
    mcpServerChanged = Signal(str, bool)
    manageRequested = Signal()
    settingsRequested = Signal()

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelBar")
        self._state: ModelState = "none"
        self._mcp_separator: QAction | None = None
        self._loaded_path: str | None = None

        self.picker = QComboBox(self)
        self.picker.setObjectName("modelPicker")
        self.picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.picker.setMinimumContentsLength(18)
        self.picker.setToolTip("The model to chat with")
        self.picker.currentIndexChanged.connect(lambda _: self._refresh())
        self.load_button = QPushButton("Load", self)
        self.load_button.setObjectName("loadButton")
        self.load_button.clicked.connect(self._load_or_unload)
        self.manage_button = QToolButton(self)
        self.manage_button.setObjectName("manageButton")
        self.manage_button.setText("Models")
        self.manage_button.setToolTip("Download, import or remove models")
        self.manage_button.clicked.connect(self.manageRequested)

        self.tools_button = QToolButton(self)
        self.tools_button.setObjectName("toolsButton")
        self.tools_button.setText("Tools")
        self.tools_button.setToolTip("Tools the model may use in this conversation")
        self.tools_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        tools_menu = QMenu(self.tools_button)
        self.python_action = tools_menu.addAction("Python: run code on this computer (asks first)")
        self.python_action.setCheckable(True)
        self.python_action.toggled.connect(self._python_toggled)
        self.tools_menu = tools_menu
        self.mcp_actions: dict[str, QAction] = {}  # one per configured MCP server, after the python switch
        self.tools_button.setMenu(tools_menu)
        self.settings_button = QToolButton(self)
        self.settings_button.setObjectName("manageButton")
        self.settings_button.setText("Settings")
        self.settings_button.clicked.connect(self.settingsRequested)

        self.status = QLabel(self)
        self.status.setObjectName("planLabel")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.effort_buttons: dict[str, QToolButton] = {}
        self._effort_group = QButtonGroup(self)
        self._effort_group.setExclusive(True)
        effort_box = QWidget(self)
        effort_box.setObjectName("effortBox")
        effort_row = QHBoxLayout(effort_box)
        effort_row.setContentsMargins(0, 0, 0, 0)
        effort_row.setSpacing(0)
        for effort in EFFORTS:
            button = QToolButton(effort_box)
            button.setObjectName("effortButton")
            button.setProperty("position", effort)
            button.setText(effort.capitalize())
            button.setCheckable(True)
            button.setToolTip(f"Reasoning effort: {effort} (how long gpt-oss thinks before answering)")
            button.clicked.connect(lambda _=False, e=effort: self.effortChanged.emit(e))
            self._effort_group.addButton(button)
            effort_row.addWidget(button)
            self.effort_buttons[effort] = button
        self.effort_buttons["medium"].setChecked(True)
        effort_label = QLabel("Reasoning", self)
        effort_label.setObjectName("effortLabel")

        top = QHBoxLayout()
        top.setSpacing(theme.px(0.5))
        top.addWidget(self.picker)
        top.addWidget(self.load_button)
        top.addWidget(self.manage_button)
        top.addStretch(1)
        top.addWidget(self.tools_button)
        top.addWidget(effort_label)
        top.addWidget(effort_box)
        top.addWidget(self.settings_button)
        column = QVBoxLayout(self)
        pad = theme.px(0.7)
        column.setContentsMargins(pad, theme.px(0.5), pad, theme.px(0.4))
        column.setSpacing(theme.px(0.25))
        column.addLayout(top)
        column.addWidget(self.status)
        self._refresh()

    # -------------------------------------------------------------------------------------- slots

    def set_models(self, choices: list[ModelChoice], current: str | None = None) -> None:
        keep = current or self.current_path()
        self.picker.blockSignals(True)
        self.picker.clear()
        for choice in choices:
            self.picker.addItem(choice.name, choice.path)
            # The path as shown: a file name's bidirectional controls made visible, never obeyed.
            self.picker.setItemData(self.picker.count() - 1, f"{choice.detail}\n{shown_name(choice.path)}",
                                    Qt.ItemDataRole.ToolTipRole)
        if keep is not None:
            index = self.picker.findData(keep)
            if index >= 0:
                self.picker.setCurrentIndex(index)
        self.picker.blockSignals(False)
        self._refresh()

    def current_path(self) -> str | None:
        data = self.picker.currentData()
        return str(data) if data else None

    def set_state(self, state: ModelState, text: str = "", loaded_path: str | None = None) -> None:
        """`text` is the plan's explanation (loaded), the step being tried (loading) or the error."""
        self._state = state
        self._loaded_path = loaded_path if state == "loaded" else None
        self.status.setText(text)
        self.status.setProperty("state", state)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        self._refresh()

    def set_effort(self, effort: str) -> None:
        if effort in self.effort_buttons:
            self.effort_buttons[effort].setChecked(True)

    def set_python_tool(self, enabled: bool) -> None:
        """Show the conversation's python tool switch (without announcing a change)."""
        self.python_action.blockSignals(True)
        self.python_action.setChecked(enabled)
        self.python_action.blockSignals(False)
        self._show_tools_state()

    def set_mcp_servers(self, names: list[str], enabled: set[str] | frozenset[str]) -> None:
        """Offer these MCP servers in the Tools menu, checked where this conversation uses them (without
        announcing a change)."""
        for action in self.mcp_actions.values():
            self.tools_menu.removeAction(action)
            action.deleteLater()
        self.mcp_actions = {}
        if self._mcp_separator is not None:
            self.tools_menu.removeAction(self._mcp_separator)
            self._mcp_separator = None
        if names:
            self._mcp_separator = self.tools_menu.addSection("MCP servers (each call asks first)")
        for name in names:
            action = self.tools_menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name in enabled)
            action.toggled.connect(lambda on, server=name: self._mcp_toggled(server, on))
            self.mcp_actions[name] = action
        self._show_tools_state()

    def effort(self) -> str:
        for effort, button in self.effort_buttons.items():
            if button.isChecked():
                return effort
        return "medium"

    @property
    def state(self) -> ModelState:
        return self._state

    # ---------------------------------------------------------------------------------- internals

    def _python_toggled(self, enabled: bool) -> None:
        self._show_tools_state()
        self.pythonToolChanged.emit(enabled)

    def _mcp_toggled(self, server: str, enabled: bool) -> None:
        self._show_tools_state()
        self.mcpServerChanged.emit(server, enabled)

    def _show_tools_state(self) -> None:
        names = ["python"] if self.python_action.isChecked() else []
        names += [name for name, action in self.mcp_actions.items() if action.isChecked()]
        on = bool(names)
        shown = ", ".join(names) if len(names) <= 2 else f"{names[0]} +{len(names) - 1}"
        self.tools_button.setText(f"Tools: {shown}" if on else "Tools")
        self.tools_button.setProperty("active", on)
        self.tools_button.style().unpolish(self.tools_button)
        self.tools_button.style().polish(self.tools_button)

    def _load_or_unload(self) -> None:
        path = self.current_path()
        if self._state == "loaded" and path == self._loaded_path:
            self.unloadRequested.emit()
        elif path:
            self.loadRequested.emit(path)

    def _refresh(self) -> None:
        has_models = self.picker.count() > 0
        self.picker.setVisible(has_models)
        self.load_button.setVisible(has_models)
        self.picker.setEnabled(has_models and self._state != "loading")
        if self._state == "loading":
            self.load_button.setText("Loading…")
            self.load_button.setEnabled(False)
        elif self._state == "loaded" and self.current_path() == self._loaded_path:
            self.load_button.setText("Unload")
            self.load_button.setEnabled(True)
        else:
            self.load_button.setText("Load")
            self.load_button.setEnabled(has_models)
