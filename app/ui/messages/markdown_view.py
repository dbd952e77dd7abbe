"""Markdown that streams in, shown as a column of pieces: prose labels and code blocks.

Text deltas go into a `StreamingMarkdown` (O(1) per delta); the frame clock then renders once per
frame, and only the pieces the update names are touched: finished pieces keep their widgets, and sit
in finished pages that are not laid out again. The gap above each piece comes from the theme's block
margins, so the column reads like one document.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from app.ui.messages.code_block import CodeBlockWidget
from app.ui.messages.context import RenderContext
from app.ui.messages.layouts import FlowWidget, column_layout, current_width
from app.ui.render.stream import CodePiece, Piece, ProsePiece, RenderUpdate, StreamingMarkdown


class ProseLabel(QLabel):
    """Rendered Markdown prose: wraps, selectable, links reported on click (never opened here).

    QLabel lays its whole document out again for each size question at another width, and Qt's layouts
    ask at several (the real one, and the minimum widths of the widgets around), every frame. Heights
    are remembered per width until the text, font or margins change, so a finished label is never laid
    out again, and the size hints answer at the label's own width only.
    """

    def __init__(self, muted: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("prose")
        self.setProperty("muted", muted)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setOpenExternalLinks(False)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        # Ignored width: the column decides it; a long word or URL must not widen the whole view.
        policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.linkHovered.connect(self.setToolTip)
        self.html = ""
        self._heights: dict[int, int] = {}  # width -> height, for the current text

    def set_html(self, html: str, css: str) -> None:
        if html != self.html:
            self.html = html
            self._heights.clear()
            self.setText(f"<style>{css}</style>{html}")

    def set_gap(self, pixels: int) -> None:
        if self.contentsMargins().top() != pixels:
            self._heights.clear()
            self.setContentsMargins(0, pixels, 0, 0)

    def heightForWidth(self, width: int) -> int:
        height = self._heights.get(width)
        if height is None:
            height = self._heights[width] = super().heightForWidth(width)
        return height

    def sizeHint(self) -> QSize:
        width = current_width(self)
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        return QSize(0, 0)  # QLabel's own lays the text out at its narrowest; ColumnLayout needs none

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._heights.clear()
        super().changeEvent(event)


PieceWidget = ProseLabel | CodeBlockWidget
# Pieces are kept in pages of this many: a frame lays out the open page and the list of pages, never
# every piece of a long answer (Qt caches a finished page's height like any unchanged widget's).
PAGE_PIECES = 12
# A new code block (a QTextEdit with scroll bars, a header, a button) costs ~15 ms to create and polish
# against the style sheet, in the frame where it appears, on top of that frame's layout and paint: the
# longest event-loop stalls of a stream. While text streams, one is made ahead, this long after a
# delta, in a frame of its own.
SPARE_CODE_BLOCK_DELAY_MS = 60


class MarkdownView(FlowWidget):
    """Streaming Markdown: completed blocks rendered once, the open tail re-rendered once per frame.

    Signals:
        linkClicked(QUrl): the user clicked a link; the view never opens it itself.
        copyRequested(str): the user clicked Copy on a code block; carries its code.
    """

    linkClicked = Signal(QUrl)
    copyRequested = Signal(str)

    def __init__(self, context: RenderContext, muted: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._muted = muted
        self._stream = StreamingMarkdown(context.markdown)
        self._pieces: list[Piece] = []
        self._widgets: list[PieceWidget] = []  # piece i is in page i // PAGE_PIECES
        self._pages: list[FlowWidget] = []
        self._layout = column_layout(self)
        self._waiting_to_show = False
        self._spare_code_block: CodeBlockWidget | None = None
        self._spare_timer = QTimer(self)
        self._spare_timer.setSingleShot(True)
        self._spare_timer.timeout.connect(self._prepare_spare_code_block)

    # -- slots -------------------------------------------------------------------------------------

    def append_text(self, text: str) -> None:
        """Add a delta; it shows at the next frame."""
        if text:
            self._stream.feed(text)
            self._context.frames.request(self, self.flush)
            if self._spare_code_block is None and not self._spare_timer.isActive():
                self._spare_timer.start(SPARE_CODE_BLOCK_DELAY_MS)

    def set_text(self, text: str, finished: bool = True) -> None:
        """Replace everything (a message from history, or a theme change); rendered at once."""
        self._stream = StreamingMarkdown(self._context.markdown)
        self._stream.feed(text)
        if finished:
            self._stream.close()
        self._remove_widgets_from(0)
        self.flush()

    def finish(self) -> None:
        """No more text: the last block is complete too."""
        if not self._stream.closed:
            self._stream.close()
            self.flush()
        self._drop_spare_code_block()

    def flush(self) -> None:
        """Render what arrived since the last frame (the frame clock calls this).

        Not while an ancestor is hidden (a collapsed reasoning pane, a chat view behind another page):
        a conversation opened from history would otherwise render every turn's reasoning up front.
        The text waits in the stream and renders when the view is shown.
        """
        if self._hidden_on_purpose():
            self._waiting_to_show = True
            return
        self._waiting_to_show = False
        update = self._stream.render()
        if update is not None:
            self._apply(update)

    def _hidden_on_purpose(self) -> bool:
        # Explicitly hidden, not merely not shown yet: a widget just added to a visible parent stays
        # hidden until Qt shows it a moment later, and must still render now.
        widget: QWidget | None = self
        while widget is not None and not widget.isWindow():
            if widget.isHidden() and widget.testAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide):
                return True
            widget = widget.parentWidget()
        return False

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._waiting_to_show:
            self.flush()

    def set_context(self, context: RenderContext) -> None:
        self._context = context
        self._drop_spare_code_block()  # made with the old theme
        self.set_text(self._stream.text, finished=self._stream.closed)

    # -- queries -----------------------------------------------------------------------------------

    def text(self) -> str:
        return self._stream.text

    def is_finished(self) -> bool:
        return self._stream.closed

    def piece_widgets(self) -> list[PieceWidget]:
        return list(self._widgets)

    # -- internals ---------------------------------------------------------------------------------

    def _apply(self, update: RenderUpdate) -> None:
        theme = self._context.theme
        for offset, piece in enumerate(update.pieces):
            index = update.start + offset
            widget = self._widget_for(index, piece)
            if isinstance(piece, ProsePiece):
                assert isinstance(widget, ProseLabel)
                widget.set_html(piece.html, self._context.prose_css)
            else:
                assert isinstance(widget, CodeBlockWidget)
                widget.set_code(piece.code, piece.language, piece.closed)
            gap = theme.gap_between(self._pieces[index - 1].last_tag, piece.first_tag) if index else 0
            widget.set_gap(gap)
            if index < len(self._pieces):
                self._pieces[index] = piece
            else:
                self._pieces.append(piece)
        self._remove_widgets_from(update.start + len(update.pieces))

    def _widget_for(self, index: int, piece: Piece) -> PieceWidget:
        wanted = ProseLabel if isinstance(piece, ProsePiece) else CodeBlockWidget
        if index < len(self._widgets):
            if isinstance(self._widgets[index], wanted):
                return self._widgets[index]
            self._remove_widgets_from(index)
        page = self._page(index // PAGE_PIECES)
        widget: PieceWidget
        spare = None
        if isinstance(piece, CodePiece):
            spare, self._spare_code_block = self._spare_code_block, None
            widget = spare or CodeBlockWidget(self._context, page)
            widget.copyRequested.connect(self.copyRequested)
        else:
            widget = ProseLabel(self._muted, page)
            widget.linkActivated.connect(self._on_link)
        if spare is not None:
            spare.setParent(page)
        page.layout().addWidget(widget)
        if spare is not None:
            spare.show()  # hidden on purpose while it waited, so the layout does not show it itself
        self._widgets.append(widget)
        return widget

    def _prepare_spare_code_block(self) -> None:
        if self._stream.closed or self._spare_code_block is not None:
            return
        spare = CodeBlockWidget(self._context, self)
        spare.hide()
        spare.ensurePolished()  # the widget and its children, against the view's style sheet
        self._spare_code_block = spare

    def _drop_spare_code_block(self) -> None:
        self._spare_timer.stop()
        if self._spare_code_block is not None:
            self._spare_code_block.deleteLater()
            self._spare_code_block = None

    def _page(self, number: int) -> FlowWidget:
        if number == len(self._pages):
            page = FlowWidget(self)
            column_layout(page)
            self._layout.addWidget(page)
            self._pages.append(page)
        return self._pages[number]

    def _remove_widgets_from(self, index: int) -> None:
        for widget in self._widgets[index:]:
            widget.parentWidget().layout().removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        del self._widgets[index:]
        del self._pieces[index:]
        pages_needed = -(-index // PAGE_PIECES)  # ceiling
        for page in self._pages[pages_needed:]:
            self._layout.removeWidget(page)
            page.hide()
            page.deleteLater()
        del self._pages[pages_needed:]

    def _on_link(self, link: str) -> None:
        self.linkClicked.emit(QUrl(link))
