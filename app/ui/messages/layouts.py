"""How the message widgets stack their parts: a column layout that never squeezes, and cheap size hints.

Three Qt behaviours cost a streaming answer most of its frame time before this module (measured with a
native profiler and paint counters on the 20,000-token benchmark):

- Each text change made Qt's layouts ask for heights at widths nobody shows: a layout's default size
  constraint sets its widget's minimum size from the height at the minimum width, and a container's
  size hint is its height at its size-hint width. For wrapping text each is one more full layout of
  the changed label (4 of every 5 text layouts, at 0, 260 and 302 pixels). `ColumnLayout` sets no
  minimum size and `FlowWidget` answers its size hint at its own width.
- Qt lays a grown message out from the inside first, inside its old, shorter rectangle (showing a new
  child even does so synchronously), and a QVBoxLayout short of room shrinks its biggest items below
  their minimum. The parent then makes room and everything is restored: every label below the new
  text moved twice a frame, each move a repaint of all that is visible. `ColumnLayout` stacks items
  at their height for the width and never squeezes: until the parent makes room, the newest text
  overflows for an instant (clipped) and nothing else moves.
- Growing containers are marked static, so Qt repaints only their new area.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget

DEFAULT_WIDTH = 480  # before the first layout, with no parent to ask


class ColumnLayout(QLayout):
    """Items top to bottom, each at its height for the column's width (or its size hint)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 0) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._heights: dict[int, int] = {}  # width -> height of the whole column
        self.setContentsMargins(0, 0, 0, 0)
        self.setSpacing(spacing)
        self.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)

    # -- building ----------------------------------------------------------------------------------

    def add_widget(self, widget: QWidget, alignment: Qt.AlignmentFlag | None = None) -> None:
        self.insert_widget(len(self._items), widget, alignment)

    def insert_widget(self, index: int, widget: QWidget, alignment: Qt.AlignmentFlag | None = None) -> None:
        self.addWidget(widget)  # Qt's own item for a widget, which caches the widget's size answers
        self._items.insert(index, self._items.pop())
        if alignment is not None:
            self.setAlignment(widget, alignment)
        self.invalidate()

    def add_layout(self, layout: QLayout) -> None:
        self.addChildLayout(layout)
        self._items.append(layout)
        self.invalidate()

    # -- QLayout -----------------------------------------------------------------------------------

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        if not 0 <= index < len(self._items):
            return None
        item = self._items.pop(index)
        self.invalidate()
        return item

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation.Horizontal

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        height = self._heights.get(width)
        if height is None:
            margins = self.contentsMargins()
            inner = width - margins.left() - margins.right()
            heights = [self._item_height(item, inner) for item in self._items if not item.isEmpty()]
            height = sum(heights) + self.spacing() * max(0, len(heights) - 1)
            height = self._heights[width] = height + margins.top() + margins.bottom()
        return height

    def sizeHint(self) -> QSize:
        width = self.geometry().width() or current_width(self.parentWidget())
        return QSize(width, self.heightForWidth(width))

    def minimumSize(self) -> QSize:
        return QSize(0, 0)

    def invalidate(self) -> None:
        self._heights.clear()
        super().invalidate()

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        margins = self.contentsMargins()
        inner = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        y = inner.top()
        for item in self._items:
            if item.isEmpty():
                continue
            height = self._item_height(item, inner.width())
            item.setGeometry(self._placed(item, inner, y, height))
            y += height + self.spacing()

    # -- internals ---------------------------------------------------------------------------------

    @staticmethod
    def _item_height(item: QLayoutItem, width: int) -> int:
        if item.hasHeightForWidth():
            return item.heightForWidth(width)
        return item.sizeHint().height()

    @staticmethod
    def _placed(item: QLayoutItem, inner: QRect, y: int, height: int) -> QRect:
        alignment = item.alignment()
        if not alignment & (Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignRight
                            | Qt.AlignmentFlag.AlignHCenter):
            return QRect(inner.left(), y, inner.width(), height)
        width = min(item.sizeHint().width(), inner.width())
        if alignment & Qt.AlignmentFlag.AlignRight:
            left = inner.right() - width + 1
        elif alignment & Qt.AlignmentFlag.AlignHCenter:
            left = inner.left() + (inner.width() - width) // 2
        else:
            left = inner.left()
        return QRect(left, y, width, height)


def column_layout(widget: QWidget, spacing: int = 0) -> ColumnLayout:
    """A ColumnLayout on widget, no margins."""
    return ColumnLayout(widget, spacing)


def current_width(widget: QWidget | None) -> int:
    """The width the widget has, or before its first layout the width it will most likely get: that of
    the nearest ancestor laid out already (a new label's new page is not, and a default 100 pixels
    would lay a whole group of paragraphs out at a word a line, measured 30 ms, only to throw it away).
    """
    while widget is not None:
        if widget.testAttribute(Qt.WidgetAttribute.WA_Resized):
            return widget.width()
        widget = widget.parentWidget()
    return DEFAULT_WIDTH


class FlowWidget(QWidget):
    """A container of text whose height follows its width; size hints at its current width only.

    Static contents: when a message grows, Qt repaints only the new area of each container, not all
    of it (with the chat view scrolling between frames, this lets Qt scroll by moving pixels).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)

    def sizeHint(self) -> QSize:
        width = current_width(self)
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        return QSize(0, 0)
