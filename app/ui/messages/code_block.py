"""A code block: a header with the language and a Copy button, over code that scrolls sideways.

While the block streams, the code shows at once and its colours follow: completed lines are lexed by
the highlight pump (at most every `MIN_RELEX_S`, or longer if lexing is slow), the rest is shown plain
until the next pass. A closed block is lexed once more, whole.
"""

from __future__ import annotations

import html
import math
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.messages.context import RenderContext
from app.ui.messages.icons import icon
from app.ui.render.highlight import HighlightJob, has_lexer

MIN_RELEX_S = 0.25
COPIED_FEEDBACK_MS = 1500


class CodeText(QTextEdit):
    """Read-only code, no wrapping: as tall as its text, with a horizontal scroll bar when needed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codeText")
        self.setReadOnly(True)
        self.setLineWrapMode(QTextEdit.LineWrapMode.NoWrap)
        self.setWordWrapMode(QTextOption.WrapMode.NoWrap)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                     | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self.fit_height)

    def fit_height(self, *_: object) -> None:
        document = self.document()
        height = math.ceil(document.size().height()) + 2 * self.frameWidth()
        if document.idealWidth() > self.viewport().width():
            height += self.horizontalScrollBar().sizeHint().height()
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_height()


class CodeBlockWidget(QWidget):
    """A code block with its language and a Copy button.

    Signals:
        copyRequested(str): the user clicked Copy; carries the code exactly as written.
    """

    copyRequested = Signal(str)

    def __init__(self, context: RenderContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._code = ""
        self._language = ""
        self._closed = False
        self._lexed = ""  # the prefix of the code whose colours are known
        self._lexed_html = ""
        self._lexing = False
        self._next_lex_at = 0.0
        self._title: str | None = None
        self._relex_timer = QTimer(self)
        self._relex_timer.setSingleShot(True)
        self._relex_timer.timeout.connect(self._schedule_highlight)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        frame = QFrame(self)
        frame.setObjectName("codeBlock")
        column = QVBoxLayout(frame)
        column.setContentsMargins(1, 1, 1, 1)
        column.setSpacing(0)
        header = QWidget(frame)
        header.setObjectName("codeHeader")
        header.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        header_row = QHBoxLayout(header)
        self._language_label = QLabel(header)
        self._language_label.setObjectName("codeLanguage")
        self._copy_button = QToolButton(header)
        self._copy_button.setObjectName("codeCopy")
        self._copy_button.setText("Copy")
        self._copy_button.setToolTip("Copy code")
        self._copy_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self._copy_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._copy_button.clicked.connect(self._on_copy)
        header_row.addWidget(self._language_label)
        header_row.addStretch(1)
        header_row.addWidget(self._copy_button)
        self._text = CodeText(frame)
        column.addWidget(header)
        column.addWidget(self._text)
        outer.addWidget(frame)
        self._apply_theme()

    # -- slots -------------------------------------------------------------------------------------

    def set_code(self, code: str, language: str = "", closed: bool = True) -> None:
        """Show code; `closed` is False while more of it may still arrive."""
        if code == self._code and language == self._language and closed == self._closed:
            return
        if language != self._language or not code.rstrip("\n").startswith(self._lexed):
            self._lexed, self._lexed_html = "", ""
        self._code, self._language, self._closed = code, language, closed
        self._language_label.setText(self._title or language or "text")
        self._show()
        self._schedule_highlight()

    def set_title(self, title: str | None) -> None:
        """What the header says instead of the language (None: the language)."""
        self._title = title
        self._language_label.setText(title or self._language or "text")

    def set_gap(self, pixels: int) -> None:
        """Space above the block (from the theme's block margins)."""
        self.layout().setContentsMargins(0, pixels, 0, 0)

    def set_context(self, context: RenderContext) -> None:
        self._context = context
        self._lexed, self._lexed_html = "", ""
        self._apply_theme()
        self._show()
        self._schedule_highlight()

    # -- queries -----------------------------------------------------------------------------------

    def code(self) -> str:
        return self._code

    def language(self) -> str:
        return self._language

    def is_highlighted(self) -> bool:
        """True when the colours cover the whole code."""
        return self._lexed == self._visible() or not has_lexer(self._language)

    def code_text_widget(self) -> CodeText:
        return self._text

    # -- internals ---------------------------------------------------------------------------------

    def _apply_theme(self) -> None:
        theme = self._context.theme
        font = QFont(theme.mono_family)
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPixelSize(theme.px(0.9))
        self._text.setFont(font)
        self._text.document().setDocumentMargin(theme.px(0.75))
        header_row = self._language_label.parentWidget().layout()
        header_row.setContentsMargins(theme.px(0.85), theme.px(0.25), theme.px(0.4), theme.px(0.25))
        self._copy_button.setIcon(icon("copy", theme.palette.text_muted, theme.px(1)))

    def _visible(self) -> str:
        # Without trailing newlines: Qt keeps or drops a final one depending on the markup around it,
        # and an empty last line would make the block jump while it streams.
        return self._code.rstrip("\n")

    def _show(self) -> None:
        plain = html.escape(self._visible()[len(self._lexed):], quote=False)
        self._text.document().setHtml(f"<pre>{self._lexed_html}{plain}</pre>")
        self._text.fit_height()

    def _schedule_highlight(self) -> None:
        if self._lexing or not has_lexer(self._language):
            return
        # An open block is lexed up to the line before its last; a partial line would only flicker.
        visible = self._visible()
        target = visible if self._closed else visible[: max(0, visible.rfind("\n"))]
        if not target or target == self._lexed:
            return
        wait = self._next_lex_at - time.perf_counter()
        if wait > 0 and not self._closed:
            if not self._relex_timer.isActive():
                self._relex_timer.start(math.ceil(wait * 1000))
            return
        self._lexing = True
        self._context.highlights.submit(self, self._context.highlighter, target, self._language,
                                        self._on_highlighted)

    def _on_highlighted(self, job: HighlightJob) -> None:
        self._lexing = False
        # Re-lexing a growing block costs its whole length each time: space the passes out so that
        # lexing stays a small share of the time however long the block gets.
        self._next_lex_at = time.perf_counter() + max(MIN_RELEX_S, 8 * job.cpu_seconds)
        if self._visible().startswith(job.code):
            self._lexed, self._lexed_html = job.code, job.html
            self._show()
        self._schedule_highlight()

    def _on_copy(self) -> None:
        self.copyRequested.emit(self._code)
        theme = self._context.theme
        self._copy_button.setText("Copied")
        self._copy_button.setIcon(icon("check", theme.palette.success, theme.px(1)))
        QTimer.singleShot(COPIED_FEEDBACK_MS, self, self._reset_copy_button)

    def _reset_copy_button(self) -> None:
        theme = self._context.theme
        self._copy_button.setText("Copy")
        self._copy_button.setIcon(icon("copy", theme.palette.text_muted, theme.px(1)))
