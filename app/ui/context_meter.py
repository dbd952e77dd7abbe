"""The context meter above the composer: a thin bar, one line of numbers, and the ways out of an overflow.

The bar shows what the next turn needs against the conversation's n_ctx, left to right: system and
instructions, the conversation (and the draft), the documents waiting to be sent, and the room kept for
reasoning and the answer. The line says the same in numbers ("system 1.2K · history 3.4K · documents
96K · reserve 4K of 32K"). When it does not fit, the reason is shown with up to two buttons: a larger
context (when the planner says this machine has the memory) and search mode for the documents.

The wording is made here from a `MeterReading` by `meter_view` (no Qt), the widget only draws a
`MeterView`; the verdicts (does it fit, is sending blocked, what to offer) come from `chat.context_meter`.

Signals of `ContextMeter`:
    raiseRequested(int): load the model again with this context.
    searchRequested(): put the documents the reading names in search mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.chat.context_meter import MeterReading
from app.ui.theme import Theme
from app.units import context_label, format_bytes, format_context, format_tokens

MeterState = Literal["ok", "near", "over"]
SegmentRole = Literal["system", "history", "documents", "reserve"]
NEAR_FRACTION = 0.85  # from here the bar turns to the warning colour


@dataclass(frozen=True)
class MeterView:
    """What the meter draws."""

    segments: tuple[tuple[SegmentRole, int], ...]
    n_ctx: int
    line: str
    state: MeterState
    reason: str = ""
    raise_text: str = ""  # empty: no raise button
    raise_n_ctx: int = 0
    raise_tooltip: str = ""
    search_text: str = ""  # empty: no search button
    search_tooltip: str = ""


def meter_view(reading: MeterReading) -> MeterView:
    history = reading.history_tokens + reading.draft_tokens
    segments: tuple[tuple[SegmentRole, int], ...] = (
        ("system", reading.system_tokens), ("history", history),
        ("documents", reading.document_tokens), ("reserve", reading.reserve_tokens))
    parts = [f"system {format_tokens(reading.system_tokens)}", f"history {format_tokens(history)}"]
    if reading.document_tokens:
        parts.append(f"documents {format_tokens(reading.document_tokens)}")
    parts.append(f"reserve {format_tokens(reading.reserve_tokens)}")
    line = " · ".join(parts) + f" of {format_context(reading.n_ctx)}"
    if reading.estimated:
        line = f"≈ {line} (estimated)"  # no model loaded, or its tokenizer did not answer
    if not reading.fits:
        line += f", {format_tokens(reading.budget.overflow)} over"
        state: MeterState = "over"
    else:
        state = "near" if reading.used_fraction >= NEAR_FRACTION else "ok"
    reason = reading.reason
    raise_text = raise_tooltip = ""
    raise_n_ctx = 0
    offer = reading.raise_offer
    if offer is not None and offer.fits:
        raise_text = f"Use {context_label(offer.n_ctx)}"
        needs = [f"{format_bytes(size)} more {where}" for size, where in
                 ((offer.extra_host_bytes, "RAM"), (offer.extra_gpu_bytes, "VRAM")) if size > 0]
        if needs:
            raise_text += f" (needs {' and '.join(needs)})"
        raise_n_ctx, raise_tooltip = offer.n_ctx, f"{offer.summary} The model is loaded again."
    elif offer is not None and reason:
        reason = f"{reason} {offer.summary}"
    search_text = search_tooltip = ""
    if reading.search_keys:
        search_text = "Search the documents instead"
        search_tooltip = ("Attach in search mode: " + ", ".join(reading.search_names) + ". The model reads "
                          "them with its document tool and cites file and page, instead of getting their "
                          "whole text.")
    return MeterView(segments, reading.n_ctx, line, state, reason, raise_text, raise_n_ctx, raise_tooltip,
                     search_text, search_tooltip)


class MeterBar(QWidget):
    """The thin bar: one coloured segment per part, over a track that stands for n_ctx."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._segments: tuple[tuple[SegmentRole, int], ...] = ()
        self._n_ctx = 1
        self._state: MeterState = "ok"
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(self._theme.px(20), max(4, self._theme.px(0.35)))

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.updateGeometry()
        self.update()

    def set_parts(self, segments: tuple[tuple[SegmentRole, int], ...], n_ctx: int, state: MeterState) -> None:
        self._segments, self._n_ctx, self._state = segments, max(1, n_ctx), state
        self.update()

    def colour(self, role: SegmentRole) -> QColor:
        p = self._theme.palette
        if role == "documents":
            return QColor(p.danger if self._state == "over" else p.accent)
        if role == "reserve":
            return QColor(p.warning if self._state != "ok" else p.text_faint)
        return QColor(p.text_muted if role == "system" else p.info)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        rect = QRectF(self.rect())
        radius = rect.height() / 2
        painter.setBrush(QColor(self._theme.palette.neutral_background))
        painter.drawRoundedRect(rect, radius, radius)
        # Over the limit the bar stands for what is needed, so the overflow shows as what sticks out.
        scale = max(self._n_ctx, sum(tokens for _, tokens in self._segments))
        x = rect.left()
        for role, tokens in self._segments:
            width = rect.width() * tokens / scale
            if width <= 0:
                continue
            painter.setBrush(self.colour(role))
            painter.drawRect(QRectF(x, rect.top(), width, rect.height()))
            x += width
        if scale > self._n_ctx:  # mark where n_ctx ends
            limit = rect.left() + rect.width() * self._n_ctx / scale
            painter.setBrush(QColor(self._theme.palette.text))
            painter.drawRect(QRectF(limit - 1, rect.top() - 1, 2, rect.height() + 2))
        painter.end()


class ContextMeter(QFrame):
    raiseRequested = Signal(int)
    searchRequested = Signal()

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("contextMeter")
        self._theme = theme
        self._view: MeterView | None = None
        self.bar = MeterBar(theme, self)
        self.line = QLabel(self)
        self.line.setObjectName("meterLine")
        self.line.setTextFormat(Qt.TextFormat.PlainText)
        self.reason = QLabel(self)
        self.reason.setObjectName("meterReason")
        self.reason.setTextFormat(Qt.TextFormat.PlainText)
        self.reason.setWordWrap(True)
        self.raise_button = QPushButton(self)
        self.raise_button.setObjectName("meterRaise")
        self.raise_button.clicked.connect(self._raise_clicked)
        self.search_button = QPushButton(self)
        self.search_button.setObjectName("meterSearch")
        self.search_button.clicked.connect(self.searchRequested)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.raise_button)
        buttons.addWidget(self.search_button)
        buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(theme.px(0.4), 0, theme.px(0.4), theme.px(0.3))
        column.setSpacing(theme.px(0.25))
        column.addWidget(self.bar)
        column.addWidget(self.line)
        column.addWidget(self.reason)
        column.addLayout(buttons)
        self.set_theme(theme)
        self.set_view(None)

    @property
    def view(self) -> MeterView | None:
        return self._view

    def set_view(self, view: MeterView | None) -> None:
        """Draw a reading (None: nothing to show yet)."""
        self._view = view
        if view is None:
            self.bar.set_parts((), 1, "ok")
            self.line.clear()
            for widget in (self.reason, self.raise_button, self.search_button):
                widget.hide()
            return
        self.bar.set_parts(view.segments, view.n_ctx, view.state)
        self.line.setText(view.line)
        self.line.setProperty("state", view.state)
        self.reason.setText(view.reason)
        self.reason.setProperty("state", view.state)
        self.reason.setVisible(bool(view.reason))
        self.raise_button.setText(view.raise_text)
        self.raise_button.setToolTip(view.raise_tooltip)
        self.raise_button.setVisible(bool(view.raise_text))
        self.search_button.setText(view.search_text)
        self.search_button.setToolTip(view.search_tooltip)
        self.search_button.setVisible(bool(view.search_text))
        for label in (self.line, self.reason):
            label.style().unpolish(label)
            label.style().polish(label)

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.bar.set_theme(theme)
        p, r = theme.palette, theme.px
        # Local to the meter: the window's stylesheet styles the frame around it.
        self.setStyleSheet(f"""
QLabel#meterLine {{ color: {p.text_muted}; font-size: {r(0.82)}px; }}
QLabel#meterLine[state="over"] {{ color: {p.danger}; }}
QLabel#meterLine[state="near"] {{ color: {p.warning}; }}
QLabel#meterReason {{ color: {p.text}; font-size: {r(0.86)}px; }}
QLabel#meterReason[state="over"] {{ color: {p.danger}; }}
QPushButton#meterRaise, QPushButton#meterSearch {{ background: {p.surface_raised}; color: {p.text};
    border: 1px solid {p.border}; border-radius: {r(0.5)}px; padding: {r(0.3)}px {r(0.8)}px; }}
QPushButton#meterRaise {{ background: {p.accent}; color: {p.accent_text}; border-color: {p.accent};
    font-weight: 600; }}
QPushButton#meterRaise:hover {{ background: {p.link}; }}
QPushButton#meterSearch:hover {{ background: {p.hover}; }}
""")

    def _raise_clicked(self) -> None:
        if self._view is not None and self._view.raise_n_ctx:
            self.raiseRequested.emit(self._view.raise_n_ctx)
