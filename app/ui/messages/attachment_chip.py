"""A small chip for a document attached to a user message: name, pages or size, token count."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.text_safety import shown_name
from app.ui.messages.context import RenderContext
from app.ui.messages.icons import icon
from app.units import format_bytes, format_tokens

MAX_NAME_CHARS = 28


@dataclass(frozen=True)
class AttachmentChipData:
    """What a chip shows; pages for paged documents, otherwise the size in bytes."""

    name: str
    pages: int | None = None
    size_bytes: int | None = None
    tokens: int | None = None

    def detail(self) -> str:
        parts = []
        if self.pages is not None:
            parts.append(f"{self.pages} page" + ("" if self.pages == 1 else "s"))
        elif self.size_bytes is not None:
            parts.append(format_bytes(self.size_bytes))
        if self.tokens is not None:
            parts.append(f"{format_tokens(self.tokens)} tokens")
        return " · ".join(parts)


class AttachmentChip(QFrame):
    """One attachment: a file icon, the name (shortened, full name in the tooltip), the details."""

    def __init__(
        self, context: RenderContext, data: AttachmentChipData, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentChip")
        self.data = data
        theme = context.theme
        row = QHBoxLayout(self)
        row.setContentsMargins(theme.px(0.6), theme.px(0.4), theme.px(0.8), theme.px(0.4))
        row.setSpacing(theme.px(0.5))
        file_icon = QLabel(self)
        file_icon.setPixmap(icon("file", theme.palette.text_muted, theme.px(1.4)).pixmap(theme.px(1.4)))
        texts = QVBoxLayout()
        texts.setSpacing(0)
        shown = shown_name(data.name)  # a stored file name is outside text: its bidi controls made visible
        name = shown if len(shown) <= MAX_NAME_CHARS else shown[: MAX_NAME_CHARS - 1] + "…"
        self.name_label = QLabel(name, self)
        self.name_label.setObjectName("chipName")
        self.name_label.setTextFormat(Qt.TextFormat.PlainText)
        self.detail_label = QLabel(data.detail(), self)
        self.detail_label.setObjectName("chipDetail")
        texts.addWidget(self.name_label)
        texts.addWidget(self.detail_label)
        row.addWidget(file_icon)
        row.addLayout(texts)
        self.setToolTip(shown)
