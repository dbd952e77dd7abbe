"""A tool call as a card: tool name, state, arguments in full, approval buttons, result, duration.

A call to an MCP server's tool (`functions.<server>__<tool>`, app.tools.mcp) is titled by its tool and
its server, so the user approves knowing what runs where.

The arguments are shown whole (no eliding) before anything runs, so the user approves what they read.
The approval buttons exist only in the waiting state; the card itself decides nothing, it reports the
click with the call id.
"""

from __future__ import annotations

import math
from typing import Literal

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.store import ToolCallState
from app.ui.messages.code_block import CodeBlockWidget
from app.ui.messages.context import RenderContext
from app.ui.messages.icons import icon
from app.ui.render.formatting import format_arguments, format_result
from app.units import format_duration

# The card's words: the tool-call states every room shares, plus the card's own "pending" (the model is
# still writing the call, so it has no state yet).
PENDING = "pending"
CardState = ToolCallState | Literal["pending"]
STATE_LABELS: dict[str, str] = {
    PENDING: "Preparing",
    ToolCallState.WAITING_APPROVAL: "Needs approval",
    ToolCallState.RUNNING: "Running…",
    ToolCallState.DONE: "Done",
    ToolCallState.FAILED: "Failed",
    ToolCallState.DENIED: "Denied",
    ToolCallState.CANCELLED: "Cancelled",
    ToolCallState.INTERRUPTED: "Interrupted",
}
CARD_STATES: tuple[str, ...] = tuple(STATE_LABELS)
# States whose result is shown as an error (expanded, labelled "Error").
ERROR_STATES = (ToolCallState.FAILED, ToolCallState.CANCELLED, ToolCallState.INTERRUPTED)
RESULT_MAX_LINES = 16
MCP_SEPARATOR = "__"  # app.tools.mcp.declare names a server's tool `<server>__<tool>`


def card_title(tool_name: str) -> str:
    """What the card calls the tool: `read_file on the MCP server files` for an MCP tool, else its name."""
    name = tool_name.removeprefix("functions.")
    server, separator, tool = name.partition(MCP_SEPARATOR)
    if tool_name.startswith("functions.") and separator and server and tool:
        return f"{tool} on the MCP server {server}"
    return tool_name


class ResultView(QPlainTextEdit):
    """A tool's output, monospaced and read-only; as tall as its text up to RESULT_MAX_LINES lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolResult")
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_result(self, text: str, font: QFont) -> None:
        self.setFont(font)
        self.setPlainText(text)
        lines = min(RESULT_MAX_LINES, max(1, text.count("\n") + 1))
        margins = self.contentsMargins()
        height = self.fontMetrics().lineSpacing() * lines + 2 * self.document().documentMargin()
        self.setFixedHeight(math.ceil(height) + margins.top() + margins.bottom() + 2)


class ToolCallCard(QFrame):
    """One tool call.

    Signals:
        approveRequested(str): call id; the user allows this call once.
        denyRequested(str): call id; the user refuses this call.
        alwaysAllowRequested(str): call id; allow it and stop asking for this tool.
        copyRequested(str): Copy on the arguments.
    """

    approveRequested = Signal(str)
    denyRequested = Signal(str)
    alwaysAllowRequested = Signal(str)
    copyRequested = Signal(str)

    def __init__(
        self,
        context: RenderContext,
        call_id: str,
        tool_name: str,
        arguments: str = "",
        state: CardState = "pending",
        language: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("toolCard")
        self.call_id = call_id
        self.tool_name = tool_name
        self._context = context
        self._arguments = arguments
        self._language = language
        self._state: CardState = state
        self._result = ""

        self._icon = QLabel(self)
        self._icon.setObjectName("toolIcon")
        self._name = QLabel(card_title(tool_name), self)
        self._name.setToolTip(tool_name)
        self._name.setObjectName("toolName")
        self._name.setTextFormat(Qt.TextFormat.PlainText)
        self._state_label = QLabel(self)
        self._state_label.setObjectName("toolState")
        self._duration = QLabel(self)
        self._duration.setObjectName("toolDuration")
        header = QHBoxLayout()
        header.addWidget(self._icon)
        header.addWidget(self._name)
        header.addWidget(self._state_label)
        header.addStretch(1)
        header.addWidget(self._duration)

        self._arguments_view = CodeBlockWidget(context, self)
        self._arguments_view.copyRequested.connect(self.copyRequested)

        self._approval = QWidget(self)
        approval_row = QHBoxLayout(self._approval)
        approval_row.setContentsMargins(0, 0, 0, 0)
        hint = QLabel("Runs on this computer only after you allow it.", self._approval)
        hint.setObjectName("toolHint")
        hint.setWordWrap(True)
        self.deny_button = QPushButton("Deny", self._approval)
        self.deny_button.setObjectName("denyButton")
        self.always_button = QPushButton(f"Always allow {card_title(tool_name)}", self._approval)
        self.always_button.setObjectName("alwaysAllowButton")
        self.approve_button = QPushButton("Run", self._approval)
        self.approve_button.setObjectName("approveButton")
        self.approve_button.setDefault(True)
        for button in (self.deny_button, self.always_button, self.approve_button):
            button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.approve_button.clicked.connect(lambda: self.approveRequested.emit(self.call_id))
        self.deny_button.clicked.connect(lambda: self.denyRequested.emit(self.call_id))
        self.always_button.clicked.connect(lambda: self.alwaysAllowRequested.emit(self.call_id))
        approval_row.addWidget(hint, 1)
        approval_row.addWidget(self.deny_button)
        approval_row.addWidget(self.always_button)
        approval_row.addWidget(self.approve_button)

        self._result_toggle = QToolButton(self)
        self._result_toggle.setObjectName("toolResultToggle")
        self._result_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._result_toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self._result_toggle.clicked.connect(lambda: self.set_result_expanded(not self.is_result_expanded()))
        self._result_view = ResultView(self)

        column = QVBoxLayout(self)
        column.addLayout(header)
        column.addWidget(self._arguments_view)
        column.addWidget(self._approval)
        column.addWidget(self._result_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self._result_view)
        self._result_toggle.hide()
        self._result_view.hide()
        self._apply_theme()
        self._show_arguments()
        self.set_state(state)

    # -- slots -------------------------------------------------------------------------------------

    def set_state(self, state: CardState) -> None:
        if state not in CARD_STATES:
            raise ValueError(f"unknown tool call state {state!r}")
        was_pending = self._state == "pending"
        self._state = state
        self._state_label.setText(STATE_LABELS[state])
        self._state_label.setProperty("state", state)
        # A dynamic property only restyles after a re-polish.
        self._state_label.style().unpolish(self._state_label)
        self._state_label.style().polish(self._state_label)
        self._approval.setVisible(state == "waiting_approval")
        if was_pending != (state == "pending"):
            self._show_arguments()
        if state in ERROR_STATES and self._result:
            self.set_result_expanded(True)

    def append_arguments(self, text: str) -> None:
        """Arguments as the model writes them (shown raw until the call is complete)."""
        self._arguments += text
        self._show_arguments()

    def set_arguments(self, arguments: str) -> None:
        self._arguments = arguments
        self._show_arguments()

    def set_result(self, result: str) -> None:
        self._result = result
        formatted = format_result(result)
        self._result_view.set_result(formatted.text, self._mono_font())
        lines = formatted.text.strip("\n").count("\n") + 1
        label = "Error" if self._state in ERROR_STATES else "Result"
        self._result_toggle.setText(f"{label} · {lines} lines" if lines > 1 else label)
        self._result_toggle.show()
        self.set_result_expanded(self._state in ERROR_STATES)

    def set_duration(self, seconds: float | None) -> None:
        self._duration.setText("" if seconds is None else format_duration(seconds))

    def set_result_expanded(self, expanded: bool) -> None:
        self._result_view.setVisible(expanded and bool(self._result))
        name = "chevron-down" if expanded else "chevron-right"
        theme = self._context.theme
        self._result_toggle.setIcon(icon(name, theme.palette.text_muted, theme.px(1)))

    def set_context(self, context: RenderContext) -> None:
        self._context = context
        self._arguments_view.set_context(context)
        self._apply_theme()
        if self._result:
            self._result_view.set_result(format_result(self._result).text, self._mono_font())

    # -- queries -----------------------------------------------------------------------------------

    def state(self) -> CardState:
        return self._state

    def arguments(self) -> str:
        return self._arguments

    def shown_arguments(self) -> str:
        return self._arguments_view.code()

    def result(self) -> str:
        return self._result

    def is_result_expanded(self) -> bool:
        return not self._result_view.isHidden()

    def is_approval_visible(self) -> bool:
        return not self._approval.isHidden()

    def state_text(self) -> str:
        return self._state_label.text()

    def duration_text(self) -> str:
        return self._duration.text()

    # -- internals ---------------------------------------------------------------------------------

    def _show_arguments(self) -> None:
        if self._state == "pending":
            self._arguments_view.set_code(self._arguments, self._language or "", closed=False)
            language = self._language or ""
        else:
            shown = format_arguments(self._arguments, self.tool_name, self._language)
            self._arguments_view.set_code(shown.text, shown.language, closed=True)
            language = shown.language
        # The header names what the block is; the tool's name is in the card's own header already.
        self._arguments_view.set_title("code" if language == "python" else
                                       "arguments · json" if language == "json" else "arguments")

    def _mono_font(self) -> QFont:
        font = QFont(self._context.theme.mono_family)
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPixelSize(self._context.theme.px(0.86))
        return font

    def _apply_theme(self) -> None:
        theme = self._context.theme
        size = theme.px(1.15)
        self._icon.setPixmap(icon("terminal", theme.palette.text_muted, size).pixmap(QSize(size, size)))
        self.layout().setContentsMargins(theme.px(0.9), theme.px(0.7), theme.px(0.9), theme.px(0.8))
        self.layout().setSpacing(theme.px(0.6))
        self.set_result_expanded(self.is_result_expanded())
