"""The small icon buttons under a message (copy, edit, regenerate)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QToolButton, QWidget

from app.ui.messages.context import RenderContext
from app.ui.messages.icons import icon


class ActionButton(QToolButton):
    """A flat icon button with a tooltip; its icon follows the theme."""

    def __init__(self, icon_name: str, tooltip: str, context: RenderContext, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setObjectName("messageAction")
        self.icon_name = icon_name
        self.setToolTip(tooltip)
        self.setAccessibleName(tooltip)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.set_context(context)

    def set_context(self, context: RenderContext) -> None:
        size = context.theme.px(1.15)
        self.setIconSize(QSize(size, size))
        self.setIcon(icon(self.icon_name, context.theme.palette.text_muted, size))
