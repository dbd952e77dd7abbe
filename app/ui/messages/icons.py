"""Line icons drawn with QPainter in the theme's colours: no image files, crisp at any scale.

Shapes are paths on a 24-unit grid (the convention of common line-icon sets), stroked round.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap


def _polyline(*points: tuple[float, float]) -> QPainterPath:
    path = QPainterPath(QPointF(*points[0]))
    for point in points[1:]:
        path.lineTo(QPointF(*point))
    return path


def _joined(*paths: QPainterPath) -> QPainterPath:
    joined = QPainterPath()
    for path in paths:
        joined.addPath(path)
    return joined


def _copy() -> QPainterPath:
    path = QPainterPath()
    path.addRoundedRect(QRectF(9, 9, 12, 12), 2, 2)
    path.addPath(_polyline((5, 15), (4, 15), (3, 14), (3, 4), (4, 3), (14, 3), (15, 4), (15, 5)))
    return path


def _refresh() -> QPainterPath:
    # A clockwise circle from three o'clock, open at the top right, ending in an arrowhead there.
    path = QPainterPath()
    rect = QRectF(3, 3, 18, 18)
    path.arcMoveTo(rect, 0)
    path.arcTo(rect, 0, -315)
    path.lineTo(21, 8)
    path.addPath(_polyline((21, 3), (21, 8), (16, 8)))
    return path


def _edit() -> QPainterPath:
    path = _polyline((4, 20), (4, 16), (15.5, 4.5), (19.5, 8.5), (8, 20), (4, 20))
    path.addPath(_polyline((13, 7), (17, 11)))
    return path


def _file() -> QPainterPath:
    path = _polyline((14, 3), (6, 3), (5, 4), (5, 20), (6, 21), (18, 21), (19, 20), (19, 8), (14, 3))
    path.addPath(_polyline((14, 3), (14, 8), (19, 8)))
    return path


def _terminal() -> QPainterPath:
    path = QPainterPath()
    path.addRoundedRect(QRectF(3, 4.5, 18, 15), 2.5, 2.5)
    path.addPath(_polyline((7, 9.5), (10, 12), (7, 14.5)))
    path.addPath(_polyline((12.5, 14.5), (17, 14.5)))
    return path


def _continue() -> QPainterPath:
    # A play triangle with a bar after it: "go on from here".
    return _joined(_polyline((6, 5), (16, 12), (6, 19), (6, 5)), _polyline((19, 5), (19, 19)))


def _paperclip() -> QPainterPath:
    path = QPainterPath(QPointF(16.5, 7))
    path.lineTo(8.5, 15)
    path.arcTo(QRectF(6.5, 13, 4, 4), 135, 180)
    path.lineTo(18.5, 9)
    path.arcTo(QRectF(14.5, 3, 8, 8), -45, 180)
    path.lineTo(6.5, 15.5)
    path.arcTo(QRectF(2.5, 13.5, 8, 8), 135, 180)
    path.lineTo(18, 12)
    return path


_SHAPES: dict[str, Callable[[], QPainterPath]] = {
    "copy": _copy,
    "check": lambda: _polyline((5, 12.5), (10, 17.5), (19, 7)),
    "chevron-right": lambda: _polyline((9, 6), (15, 12), (9, 18)),
    "chevron-down": lambda: _polyline((6, 9), (12, 15), (18, 9)),
    "arrow-down": lambda: _joined(_polyline((12, 5), (12, 19)), _polyline((6, 13), (12, 19), (18, 13))),
    "refresh": _refresh,
    "edit": _edit,
    "file": _file,
    "terminal": _terminal,
    "continue": _continue,
    "paperclip": _paperclip,
    "arrow-up": lambda: _joined(_polyline((12, 19), (12, 5)), _polyline((6, 11), (12, 5), (18, 11))),
    "stop": lambda: _polyline((7, 7), (17, 7), (17, 17), (7, 17), (7, 7)),
}
NAMES = tuple(_SHAPES)


def icon(name: str, colour: str, size: int = 16, scale: float = 2.0) -> QIcon:
    """A line icon of `size` logical pixels, rendered at `scale` so it stays sharp on HiDPI screens."""
    pixels = round(size * scale)
    pixmap = QPixmap(pixels, pixels)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(pixels / 24, pixels / 24)
    pen = QPen(QColor(colour), 1.9)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(_SHAPES[name]())
    painter.end()
    pixmap.setDevicePixelRatio(scale)
    return QIcon(pixmap)
