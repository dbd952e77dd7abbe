"""Small building blocks of the model screens: styled labels, badges, banners, buttons, a centred column.

Each piece only sets an object name (and a dynamic property) that `style.models_stylesheet` styles,
so the screens stay consistent and a theme change is one `setStyleSheet`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)


def repolish(widget: QWidget) -> None:
    """Re-apply the stylesheet after a dynamic property changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def text_label(text: str, name: str, parent: QWidget | None = None, *, wrap: bool = True,
               selectable: bool = False) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def set_property(widget: QWidget, name: str, value: str) -> None:
    if widget.property(name) != value:
        widget.setProperty(name, value)
        repolish(widget)


class Badge(QLabel):
    """A small rounded label: 'Fits', 'Verified', 'Too big'; `tone` picks its colours."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("badge")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.hide()

    def set_badge(self, text: str, tone: str = "neutral", tooltip: str = "") -> None:
        self.setText(text)
        self.setToolTip(tooltip)
        set_property(self, "tone", tone)
        self.setVisible(bool(text))


class Banner(QLabel):
    """A one-paragraph notice across the page: offline, an error, a success; hidden when empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def set_message(self, text: str, kind: str = "info") -> None:
        self.setText(text)
        set_property(self, "kind", kind)
        self.setVisible(bool(text))


def button(text: str, name: str = "", parent: QWidget | None = None, *, large: bool = False) -> QPushButton:
    """A push button: `primaryButton` (accent), `quietButton` (flat), `dangerButton`, or '' (outlined)."""
    made = QPushButton(text, parent)
    if name:
        made.setObjectName(name)
    if large:
        made.setProperty("variant", "large")
    made.setCursor(Qt.CursorShape.PointingHandCursor)
    made.setAutoDefault(False)
    return made


def divider(parent: QWidget | None = None) -> QFrame:
    line = QFrame(parent)
    line.setObjectName("rowDivider")
    line.setFrameShape(QFrame.Shape.NoFrame)
    return line


class ListCard(QFrame):
    """A rounded card holding rows separated by thin lines."""

    def __init__(self, margin: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("listCard")
        self._margin = margin
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._rows: list[QWidget] = []

    def add_row(self, row: QWidget) -> None:
        if self._rows:
            line = divider(self)
            holder = QWidget(self)
            holder_layout = QHBoxLayout(holder)
            holder_layout.setContentsMargins(self._margin, 0, self._margin, 0)
            holder_layout.addWidget(line)
            self._layout.addWidget(holder)
        row.setContentsMargins(self._margin, self._margin, self._margin, self._margin)
        self._layout.addWidget(row)
        self._rows.append(row)

    def clear(self) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self._rows.clear()

    def rows(self) -> list[QWidget]:
        return list(self._rows)


class CentredColumn(QScrollArea):
    """A scrolling page whose content is a column of at most `max_width` pixels, centred.

    The side margins are set on resize (rather than stretches beside the column, which would also take
    a share of the width when the column is allowed to fill it).
    """

    def __init__(self, max_width: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsScroll")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._max_width = max_width
        self.column = QWidget(self)
        self.column.setObjectName("modelsColumn")
        self.layout_ = QVBoxLayout(self.column)
        self.setWidget(self.column)
        self.viewport().setObjectName("modelsColumn")

    def set_max_width(self, width: int) -> None:
        self._max_width = width
        self._centre()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._centre()

    def _centre(self) -> None:
        # The widget's own margins, outside the layout's (which the page uses for its padding).
        side = max(0, (self.viewport().width() - self._max_width) // 2)
        if self.column.contentsMargins().left() != side:
            self.column.setContentsMargins(side, 0, side, 0)
