"""The user's message: attachment chips over a right-aligned bubble of plain text, Copy and Edit below."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.ui.messages.actions import ActionButton
from app.ui.messages.attachment_chip import AttachmentChip, AttachmentChipData
from app.ui.messages.context import RenderContext
from app.ui.messages.layouts import FlowWidget, column_layout

BUBBLE_SHARE = 0.8  # of the column's width at most


class UserMessageWidget(FlowWidget):
    """What the user sent, shown as they typed it (no Markdown: people do not write for a renderer).

    Signals:
        copyRequested(str): copy the message text.
        editRequested(): the user wants to edit and resend this message.
    """

    copyRequested = Signal(str)
    editRequested = Signal()

    def __init__(
        self,
        context: RenderContext,
        text: str = "",
        attachments: Sequence[AttachmentChipData] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._chips: list[AttachmentChip] = []
        self._chip_row = QHBoxLayout()
        self._chip_row.addStretch(1)

        self._bubble = QFrame(self)
        self._bubble.setObjectName("userBubble")
        self._bubble.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        self._label = QLabel(self._bubble)
        self._label.setObjectName("userText")
        self._label.setTextFormat(Qt.TextFormat.PlainText)
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        QVBoxLayout(self._bubble).addWidget(self._label)
        bubble_row = QHBoxLayout()
        bubble_row.addStretch(1)
        bubble_row.addWidget(self._bubble)

        self.copy_button = ActionButton("copy", "Copy", context, self)
        self.edit_button = ActionButton("edit", "Edit", context, self)
        self.copy_button.clicked.connect(lambda: self.copyRequested.emit(self.text()))
        self.edit_button.clicked.connect(self.editRequested)
        action_row = QHBoxLayout()
        action_row.addStretch(1)
        action_row.addWidget(self.copy_button)
        action_row.addWidget(self.edit_button)

        column = column_layout(self)
        column.add_layout(self._chip_row)
        column.add_layout(bubble_row)
        column.add_layout(action_row)
        self._apply_theme()
        self.set_text(text)
        self.set_attachments(attachments)

    # -- slots -------------------------------------------------------------------------------------

    def set_text(self, text: str) -> None:
        self._label.setText(text)
        self._fit_bubble()

    def set_attachments(self, attachments: Sequence[AttachmentChipData]) -> None:
        for chip in self._chips:
            self._chip_row.removeWidget(chip)
            chip.deleteLater()
        self._chips = [AttachmentChip(self._context, data, self) for data in attachments]
        for chip in self._chips:
            self._chip_row.addWidget(chip)

    def set_context(self, context: RenderContext) -> None:
        self._context = context
        self._apply_theme()
        self.copy_button.set_context(context)
        self.edit_button.set_context(context)
        self.set_attachments([chip.data for chip in self._chips])

    # -- queries -----------------------------------------------------------------------------------

    def text(self) -> str:
        return self._label.text()

    def attachments(self) -> list[AttachmentChipData]:
        return [chip.data for chip in self._chips]

    def bubble(self) -> QFrame:
        return self._bubble

    # -- internals ---------------------------------------------------------------------------------

    def _apply_theme(self) -> None:
        theme = self._context.theme
        self._bubble.layout().setContentsMargins(theme.px(1.1), theme.px(0.7), theme.px(1.1), theme.px(0.7))
        self._chip_row.setSpacing(theme.px(0.5))
        self.layout().setSpacing(theme.px(0.35))
        self._fit_bubble()

    def _fit_bubble(self) -> None:
        """As wide as the longest line, at most BUBBLE_SHARE of the column: short messages stay small."""
        if self.width() <= 0:
            return
        margins = self._bubble.layout().contentsMargins()
        padding = margins.left() + margins.right()
        metrics = self._label.fontMetrics()
        longest = max((metrics.horizontalAdvance(line) for line in self.text().split("\n")), default=0)
        width = min(longest + padding + 2, int(self.width() * BUBBLE_SHARE))
        self._bubble.setFixedWidth(max(width, padding + metrics.averageCharWidth() * 2))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_bubble()
