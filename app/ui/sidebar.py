"""The conversation sidebar: new chat, search, the list of conversations, rename/delete/export.

A dumb widget: it shows the rows it is given and says what the user asked for through signals; the
window does the store queries. The list is a model/view pair, so 10,000 conversations cost one model
reset, not 10,000 widgets.

Signals:
    conversationSelected(int): a conversation was clicked (or chosen with the keyboard).
    newRequested(): the "New chat" button.
    searchChanged(str): the search text changed (debounced); empty means "show all".
    renameRequested(int, str): rename to the given title.
    deleteRequested(int), exportRequested(int, str): the export kind, one of EXPORT_CHOICES.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QInputDialog,
    QLineEdit,
    QListView,
    QMenu,
    QMessageBox,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.theme import Theme

SEARCH_DEBOUNCE_MS = 180
ID_ROLE = Qt.ItemDataRole.UserRole + 1
SUBTITLE_ROLE = Qt.ItemDataRole.UserRole + 2


# What a conversation can be exported as: kind (for exportRequested), then the menu's words.
EXPORT_CHOICES: tuple[tuple[str, str], ...] = (
    ("markdown", "Export as Markdown…"),
    ("markdown-answers", "Export as Markdown, answers only…"),
    ("json", "Export as JSON…"),
)


@dataclass(frozen=True)
class SidebarRow:
    conversation_id: int
    title: str
    subtitle: str  # "2 h ago", or a search snippet


class ConversationListModel(QAbstractListModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[SidebarRow] = []

    def set_rows(self, rows: list[SidebarRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[SidebarRow]:
        return list(self._rows)

    def row_of(self, conversation_id: int) -> int:
        for number, row in enumerate(self._rows):
            if row.conversation_id == conversation_id:
                return number
        return -1

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return row.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.title}\n{row.subtitle}" if row.subtitle else row.title
        if role == ID_ROLE:
            return row.conversation_id
        if role == SUBTITLE_ROLE:
            return row.subtitle
        return None


class ConversationDelegate(QStyledItemDelegate):
    """Two lines per row: the title, and a muted subtitle (time or search snippet)."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        line = QFontMetrics(option.font).height()
        return QSize(option.rect.width(), line * 2 + self.theme.px(0.9))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        palette = self.theme.palette
        painter.save()
        rect = option.rect.adjusted(self.theme.px(0.3), 1, -self.theme.px(0.3), -1)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected or hovered:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_colour(palette.selection if selected else palette.hover))
            radius = self.theme.px(0.5)
            painter.drawRoundedRect(rect, radius, radius)
        pad = self.theme.px(0.7)
        metrics = QFontMetrics(option.font)
        text_rect = rect.adjusted(pad, self.theme.px(0.35), -pad, 0)
        title = metrics.elidedText(str(index.data(Qt.ItemDataRole.DisplayRole) or ""),
                                   Qt.TextElideMode.ElideRight, text_rect.width())
        painter.setPen(_colour(palette.text))
        painter.drawText(QRect(text_rect.left(), text_rect.top(), text_rect.width(), metrics.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)
        subtitle_font = option.font
        subtitle_font.setPointSizeF(max(6.0, option.font.pointSizeF() * 0.88))
        painter.setFont(subtitle_font)
        small = QFontMetrics(subtitle_font)
        subtitle = small.elidedText(str(index.data(SUBTITLE_ROLE) or ""), Qt.TextElideMode.ElideRight,
                                    text_rect.width())
        painter.setPen(_colour(palette.text_muted))
        painter.drawText(QRect(text_rect.left(), text_rect.top() + metrics.height() + 2, text_rect.width(),
                               small.height()), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         subtitle)
        painter.restore()


def _colour(hex_colour: str):
    from PySide6.QtGui import QColor

    return QColor(hex_colour)


class ConversationSidebar(QWidget):
    conversationSelected = Signal(int)
    newRequested = Signal()
    searchChanged = Signal(str)
    renameRequested = Signal(int, str)
    deleteRequested = Signal(int)
    exportRequested = Signal(int, str)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.new_button = QPushButton("New chat", self)
        self.new_button.setObjectName("newChatButton")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.clicked.connect(self.newRequested)
        self.search = QLineEdit(self)
        self.search.setObjectName("sidebarSearch")
        self.search.setPlaceholderText("Search conversations")
        self.search.setClearButtonEnabled(True)
        self._debounce = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(lambda: self.searchChanged.emit(self.search.text().strip()))
        self.search.textChanged.connect(lambda _: self._debounce.start())
        self.model = ConversationListModel(self)
        self.list = QListView(self)
        self.list.setObjectName("conversationList")
        self.list.setModel(self.model)
        self.list.setMouseTracking(True)
        self.list.setUniformItemSizes(True)
        self.delegate = ConversationDelegate(theme, self.list)
        self.list.setItemDelegate(self.delegate)
        self.list.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.selectionModel().currentChanged.connect(self._current_changed)
        # A click on the row that is already current changes nothing above, yet the user chose it.
        self.list.clicked.connect(lambda index: self.conversationSelected.emit(int(index.data(ID_ROLE))))
        layout = QVBoxLayout(self)
        pad = theme.px(0.7)
        layout.setContentsMargins(pad, pad, pad, pad)
        layout.setSpacing(theme.px(0.5))
        layout.addWidget(self.new_button)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        self._selecting = False

    # -------------------------------------------------------------------------------------- slots

    def set_theme(self, theme: Theme) -> None:
        self.delegate.theme = theme
        self.list.viewport().update()

    def set_rows(self, rows: list[SidebarRow], selected: int | None = None) -> None:
        self._selecting = True
        try:
            self.model.set_rows(rows)
            if selected is not None:
                self.select(selected)
        finally:
            self._selecting = False

    def select(self, conversation_id: int) -> None:
        row = self.model.row_of(conversation_id)
        if row < 0:
            # No current row either: otherwise clicking the conversation that was open would not count.
            previous, self._selecting = self._selecting, True
            try:
                self.list.setCurrentIndex(QModelIndex())
            finally:
                self._selecting = previous
            return
        previous, self._selecting = self._selecting, True
        try:
            self.list.setCurrentIndex(self.model.index(row))
        finally:
            self._selecting = previous

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # ---------------------------------------------------------------------------------- internals

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and not self._selecting:
            self.conversationSelected.emit(int(current.data(ID_ROLE)))

    def _context_menu(self, position) -> None:
        index = self.list.indexAt(position)
        if not index.isValid():
            return
        conversation_id = int(index.data(ID_ROLE))
        title = str(index.data(Qt.ItemDataRole.DisplayRole))
        self.conversation_menu(conversation_id, title).popup(self.list.viewport().mapToGlobal(position))

    def conversation_menu(self, conversation_id: int, title: str) -> QMenu:
        """Rename, the exports and delete, for one conversation."""
        menu = QMenu(self)
        rename = QAction("Rename…", menu)
        rename.triggered.connect(lambda: self._ask_rename(conversation_id, title))
        menu.addAction(rename)
        for kind, label in EXPORT_CHOICES:
            export = QAction(label, menu)
            export.triggered.connect(
                lambda _checked=False, kind=kind: self.exportRequested.emit(conversation_id, kind))
            menu.addAction(export)
        delete = QAction("Delete", menu)
        delete.triggered.connect(lambda: self._ask_delete(conversation_id, title))
        menu.addSeparator()
        menu.addAction(delete)
        return menu

    def _ask_rename(self, conversation_id: int, title: str) -> None:
        new_title, ok = QInputDialog.getText(self, "Rename conversation", "Title:", text=title)
        if ok and new_title.strip():
            self.renameRequested.emit(conversation_id, new_title.strip())

    def _ask_delete(self, conversation_id: int, title: str) -> None:
        answer = QMessageBox.question(self, "Delete conversation",
                                      f"Delete “{title}”? This cannot be undone.")
        if answer == QMessageBox.StandardButton.Yes:
            self.deleteRequested.emit(conversation_id)
