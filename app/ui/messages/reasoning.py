"""The model's reasoning (the analysis channel): open while it streams, then one line to expand."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtWidgets import QFrame, QToolButton, QWidget

from app.ui.messages.context import RenderContext
from app.ui.messages.icons import icon
from app.ui.messages.layouts import FlowWidget, column_layout
from app.ui.messages.markdown_view import MarkdownView
from app.ui.render.formatting import thought_for

THINKING = "Thinking…"


class ReasoningPane(FlowWidget):
    """Reasoning text in a collapsible pane: "Thinking…" while it streams, "Thought for 12 s" after.

    Signals:
        linkClicked(QUrl): a link in the reasoning was clicked.
        copyRequested(str): Copy on a code block inside the reasoning.
    """

    linkClicked = Signal(QUrl)
    copyRequested = Signal(str)

    def __init__(self, context: RenderContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._streaming = True
        self._header = QToolButton(self)
        self._header.setObjectName("reasoningHeader")
        self._header.setText(THINKING)
        self._header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        # Right to left puts the chevron after the words, where chat apps put it.
        self._header.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
        self._header.setCursor(Qt.CursorShape.PointingHandCursor)
        self._header.clicked.connect(self.toggle)
        self._body = QFrame(self)
        self._body.setObjectName("reasoningBody")
        body_layout = column_layout(self._body)
        self._view = MarkdownView(context, muted=True, parent=self._body)
        self._view.linkClicked.connect(self.linkClicked)
        self._view.copyRequested.connect(self.copyRequested)
        body_layout.addWidget(self._view)
        layout = column_layout(self)
        layout.add_widget(self._header, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self._body)
        self._apply_theme()

    # -- slots -------------------------------------------------------------------------------------

    def append_text(self, text: str) -> None:
        self._view.append_text(text)

    def set_text(self, text: str) -> None:
        self._view.set_text(text, finished=not self._streaming)

    def finish(self, seconds: float | None = None) -> None:
        """Reasoning is over: collapse to "Thought for …" (the user can open it again)."""
        self._streaming = False
        self._header.setText(thought_for(seconds))
        self.set_expanded(False)
        self._view.finish()  # after collapsing: the rest renders when the pane is opened

    def set_expanded(self, expanded: bool) -> None:
        self._body.setVisible(expanded)
        self._update_chevron()

    def toggle(self) -> None:
        self.set_expanded(not self.is_expanded())

    def set_context(self, context: RenderContext) -> None:
        self._context = context
        self._view.set_context(context)
        self._apply_theme()

    # -- queries -----------------------------------------------------------------------------------

    def is_expanded(self) -> bool:
        return not self._body.isHidden()

    def is_streaming(self) -> bool:
        return self._streaming

    def header_text(self) -> str:
        return self._header.text()

    def text(self) -> str:
        return self._view.text()

    def view(self) -> MarkdownView:
        return self._view

    # -- internals ---------------------------------------------------------------------------------

    def _apply_theme(self) -> None:
        theme = self._context.theme
        self._body.layout().setContentsMargins(theme.px(0.9), theme.px(0.2), 0, theme.px(0.2))
        self._header.setIconSize(QSize(theme.px(1), theme.px(1)))
        self._update_chevron()

    def _update_chevron(self) -> None:
        name = "chevron-down" if self.is_expanded() else "chevron-right"
        self._header.setIcon(icon(name, self._context.theme.palette.text_muted, self._context.theme.px(1)))
