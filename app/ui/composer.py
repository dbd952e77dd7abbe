"""The composer: where the user writes, attaches documents, sends and stops.

Enter sends, Shift+Enter starts a new line; pasting works as in any text field; files dropped on it
(or picked with the attach button) are announced, and the window turns them into attachment chips shown
above the text. When no model is loaded the composer stays editable (a draft is never lost) but sending
is disabled and a line says why.

Signals:
    sendRequested(str): the text to send (the window clears the composer once it is accepted).
    stopRequested(): the stop button, while the model is answering.
    attachRequested(): the attach button.
    filesDropped(list): local file paths dropped on the composer (or pasted into its text field).
    chipRemoved(str): the user removed a pending attachment (by its key).
    chipModeRequested(str, str): the user chose how a ready attachment goes in: key, "inline" or "search".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QDragEnterEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.store import AttachmentMode
from app.ui.flow_layout import FlowLayout
from app.ui.theme import Theme

ChipState = Literal["working", "ready", "error"]
# The chip's menu: how a ready document goes in, in words a user picks from.
MODE_CHOICES: tuple[tuple[AttachmentMode, str], ...] = (
    ("inline", "Read it whole (its text goes in the prompt)"),
    ("search", "Search it (the model looks passages up as it needs them)"),
)
MAX_LINES = 10


@dataclass(frozen=True)
class ChipView:
    """What a pending attachment chip shows."""

    key: str
    name: str
    detail: str = ""  # "12 pages · 8,431 tokens", "~8,400 tokens (estimate)"
    state: ChipState = "working"
    progress: float | None = None  # 0..1 while extracting a big file
    error: str = ""  # the reason, when state is "error"
    tooltip: str = ""  # more than fits on the chip (extraction warnings); default: the error or the name
    mode: AttachmentMode | None = None  # how a ready document goes in; None while it cannot be chosen


def local_files(mime: QMimeData) -> list[str]:
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []


class ComposerEdit(QPlainTextEdit):
    """The text field: Enter submits, Shift+Enter (or Ctrl+Enter) inserts a newline.

    Files dropped on it or pasted into it are announced (`filesInserted`) instead of being typed in as
    their `file://` addresses, which is what a plain text field does with them.
    """

    submitted = Signal()
    filesInserted = Signal(list)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return bool(local_files(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        files = local_files(source)
        if files:
            self.filesInserted.emit(files)
            return
        super().insertFromMimeData(source)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            modifiers = event.modifiers()
            if not modifiers & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier):
                self.submitted.emit()
                return
            self.insertPlainText("\n")
            return
        super().keyPressEvent(event)

    def sizeHint(self) -> QSize:
        return self._height_for_lines()

    def minimumSizeHint(self) -> QSize:
        return self._height_for_lines(1)

    def _height_for_lines(self, lines: int | None = None) -> QSize:
        document_lines = max(1, int(self.document().size().height())) if lines is None else lines
        shown = min(MAX_LINES, document_lines)
        line = self.fontMetrics().lineSpacing()
        margins = self.contentsMargins().top() + self.contentsMargins().bottom()
        frame = 2 * self.frameWidth() + int(self.document().documentMargin() * 2)
        return QSize(super().sizeHint().width(), shown * line + margins + frame)


class AttachmentChipWidget(QFrame):
    """A pending attachment: name, detail or error, progress while extracting, a menu to choose how a
    ready document goes in (whole, or searched), and a remove button."""

    removeRequested = Signal(str)
    modeRequested = Signal(str, str)

    def __init__(self, view: ChipView, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pendingChip")
        self.key = view.key
        self.name = QLabel(self)
        self.name.setObjectName("chipName")
        self.name.setTextFormat(Qt.TextFormat.PlainText)
        self.detail = QLabel(self)
        self.detail.setObjectName("chipDetail")
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("chipProgress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(theme.px(0.3))
        self.remove = QToolButton(self)
        self.remove.setObjectName("chipRemove")
        self.remove.setText("✕")
        self.remove.setToolTip("Remove this attachment")
        self.remove.clicked.connect(lambda: self.removeRequested.emit(self.key))
        self.mode_button = QToolButton(self)
        self.mode_button.setObjectName("chipMode")
        self.mode_button.setText("⋯")
        self.mode_button.setToolTip("Read the whole document, or let the model search it")
        self.mode_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.mode_button)
        choices = QActionGroup(menu)
        self.mode_actions: dict[AttachmentMode, QAction] = {}
        for mode, label in MODE_CHOICES:
            action = menu.addAction(label)
            action.setCheckable(True)
            choices.addAction(action)
            action.triggered.connect(
                lambda _checked=False, chosen=mode: self.modeRequested.emit(self.key, chosen))
            self.mode_actions[mode] = action
        self.mode_button.setMenu(menu)
        texts = QVBoxLayout()
        texts.setSpacing(0)
        texts.addWidget(self.name)
        texts.addWidget(self.detail)
        texts.addWidget(self.progress)
        texts.addStretch(1)  # in a row of taller chips (an error that wraps) the text stays at the top
        row = QHBoxLayout(self)
        row.setContentsMargins(theme.px(0.6), theme.px(0.35), theme.px(0.3), theme.px(0.35))
        row.addLayout(texts, 1)
        buttons = QVBoxLayout()
        buttons.setSpacing(0)
        buttons.addWidget(self.remove)
        buttons.addWidget(self.mode_button)
        buttons.addStretch(1)
        row.addLayout(buttons)
        self.setMaximumWidth(theme.px(18))
        self.update_view(view)

    def update_view(self, view: ChipView) -> None:
        self.name.setText(view.name)
        self.setToolTip(view.tooltip or view.error or view.name)
        self.setProperty("state", view.state)
        self.detail.setText(view.error if view.state == "error" else view.detail)
        self.progress.setVisible(view.state == "working")
        self.mode_button.setVisible(view.mode is not None)
        if view.mode is not None:
            self.mode_actions[view.mode].setChecked(True)
        if view.progress is None:
            self.progress.setRange(0, 0)  # busy indicator
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(view.progress * 1000))
        self.style().unpolish(self)
        self.style().polish(self)


class Composer(QFrame):
    sendRequested = Signal(str)
    stopRequested = Signal()
    attachRequested = Signal()
    filesDropped = Signal(list)
    chipRemoved = Signal(str)
    chipModeRequested = Signal(str, str)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setAcceptDrops(True)
        self._theme = theme
        self._busy = False
        self._can_send = True
        self._chips: dict[str, AttachmentChipWidget] = {}

        self.chip_row = QWidget(self)
        self.chip_row.setObjectName("chipRow")
        # Chips wrap onto more rows rather than squeezing (and clipping their error text).
        self._chip_layout = FlowLayout(self.chip_row, spacing=theme.px(0.5))
        self.chip_row.hide()

        self.edit = ComposerEdit(self)
        self.edit.setObjectName("composerEdit")
        self.edit.setPlaceholderText("Message gpt-oss   (Enter to send, Shift+Enter for a new line)")
        self.edit.setTabChangesFocus(True)
        self.edit.submitted.connect(self._submit)
        self.edit.filesInserted.connect(self.filesDropped)
        self.edit.textChanged.connect(self._text_changed)

        self.attach_button = QToolButton(self)
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setText("+")
        self.attach_button.setToolTip("Attach documents (or drop files here)")
        self.attach_button.clicked.connect(self.attachRequested)
        self.send_button = QToolButton(self)
        self.send_button.setObjectName("sendButton")
        self.send_button.clicked.connect(self._send_or_stop)

        self.reason = QLabel(self)
        self.reason.setObjectName("composerReason")
        self.reason.setWordWrap(True)
        self.reason.hide()

        inner = QHBoxLayout()
        inner.setSpacing(theme.px(0.5))
        inner.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignBottom)
        inner.addWidget(self.edit, 1)
        inner.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        column = QVBoxLayout(self)
        pad = theme.px(0.6)
        column.setContentsMargins(pad, pad, pad, pad)
        column.setSpacing(theme.px(0.4))
        column.addWidget(self.chip_row)
        column.addLayout(inner)
        column.addWidget(self.reason)
        self._refresh_button()

    # -------------------------------------------------------------------------------------- slots

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)
        cursor = self.edit.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.edit.setTextCursor(cursor)

    def clear(self) -> None:
        self.edit.clear()

    def focus(self) -> None:
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def set_can_send(self, can_send: bool, reason: str = "") -> None:
        """Whether sending is possible now; `reason` says why not (e.g. no model loaded)."""
        self._can_send = can_send
        self.reason.setText(reason)
        self.reason.setVisible(bool(reason) and not can_send)
        self._refresh_button()

    def set_busy(self, busy: bool) -> None:
        """While the model answers the send button becomes a stop button."""
        self._busy = busy
        self._refresh_button()

    def set_chip(self, view: ChipView) -> None:
        chip = self._chips.get(view.key)
        if chip is None:
            chip = AttachmentChipWidget(view, self._theme, self.chip_row)
            chip.removeRequested.connect(self._remove_chip)
            chip.modeRequested.connect(self.chipModeRequested)
            self._chips[view.key] = chip
            self._chip_layout.insert_widget(self._chip_layout.count(), chip)
        else:
            chip.update_view(view)
        self.chip_row.show()
        self._refresh_button()

    def remove_chip(self, key: str) -> None:
        chip = self._chips.pop(key, None)
        if chip is not None:
            chip.deleteLater()
        self.chip_row.setVisible(bool(self._chips))
        self._refresh_button()

    def clear_chips(self) -> None:
        for key in list(self._chips):
            self.remove_chip(key)

    def chip_keys(self) -> list[str]:
        return list(self._chips)

    # ---------------------------------------------------------------------------------- internals

    def _submit(self) -> None:
        if self._busy or not self._can_send or self._extracting():
            return
        text = self.text().strip()
        if not text and not self._chips:
            return
        self.sendRequested.emit(text)

    def _send_or_stop(self) -> None:
        if self._busy:
            self.stopRequested.emit()
        else:
            self._submit()

    def _remove_chip(self, key: str) -> None:
        self.remove_chip(key)
        self.chipRemoved.emit(key)

    def _extracting(self) -> bool:
        return any(chip.property("state") == "working" for chip in self._chips.values())

    def _text_changed(self) -> None:
        self.edit.updateGeometry()
        self._refresh_button()

    def _refresh_button(self) -> None:
        if self._busy:
            self.send_button.setText("■")
            self.send_button.setToolTip("Stop (Esc)")
            self.send_button.setProperty("mode", "stop")
            self.send_button.setEnabled(True)
        else:
            self.send_button.setText("↑")
            self.send_button.setToolTip("Send (Enter)")
            self.send_button.setProperty("mode", "send")
            has_content = bool(self.text().strip()) or bool(self._chips)
            self.send_button.setEnabled(self._can_send and has_content and not self._extracting())
        self.send_button.style().unpolish(self.send_button)
        self.send_button.style().polish(self.send_button)

    # ------------------------------------------------------------------------------ drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_files(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.filesDropped.emit(paths)
        else:
            super().dropEvent(event)
