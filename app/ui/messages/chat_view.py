"""The conversation view: turns in a centred column that scrolls, following the bottom while it streams.

It follows new text while the scroll bar is at the bottom and stops as soon as the user scrolls up; a
round button then offers the way back down. All the actions of all the messages come out of here as
signals with the turn or call id, so the window wires one object.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QSizePolicy, QToolButton, QWidget

from app.ui.messages.attachment_chip import AttachmentChipData
from app.ui.messages.context import RenderContext
from app.ui.messages.icons import icon
from app.ui.messages.layouts import FlowWidget, column_layout
from app.ui.messages.turn import TurnWidget
from app.ui.theme import Theme, theme_for

FOLLOW_SLACK_PX = 8  # this close to the bottom still counts as "at the bottom"
FOLLOW_LATEST_MS = 50  # the latest a growing view catches up with its bottom


class ChatView(QScrollArea):
    """One conversation's messages.

    Signals:
        linkClicked(QUrl): a link in a message was clicked (open it in the system browser).
        copyRequested(str): text to put on the clipboard (a message or a code block).
        editRequested(str): turn id; the user wants to edit that turn's message.
        regenerateRequested(str): turn id; the user wants a new reply for that turn.
        continueRequested(str): turn id; the user wants that turn's interrupted reply to go on.
        approveRequested(str), denyRequested(str), alwaysAllowRequested(str): call id of a tool call.
        followingChanged(bool): whether the view keeps to the bottom as text arrives.
    """

    linkClicked = Signal(QUrl)
    copyRequested = Signal(str)
    editRequested = Signal(str)
    regenerateRequested = Signal(str)
    continueRequested = Signal(str)
    approveRequested = Signal(str)
    denyRequested = Signal(str)
    alwaysAllowRequested = Signal(str)
    followingChanged = Signal(bool)

    def __init__(self, theme: Theme | None = None, parent: QWidget | None = None,
                 frame_interval_ms: int | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.context = RenderContext.create(theme or theme_for(), self, frame_interval_ms)
        self._turns: list[TurnWidget] = []
        self._following = True
        self._reasoning_visible = True
        self._follow_timer = QTimer(self)
        self._follow_timer.setSingleShot(True)
        self._follow_timer.setInterval(FOLLOW_LATEST_MS)
        self._follow_timer.timeout.connect(self._catch_up)

        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content = QWidget()
        content.setObjectName("chatContent")
        # Opaque, so that following the bottom scrolls by moving pixels (Qt blits an opaque widget)
        # instead of painting every visible message again on every frame.
        content.setAutoFillBackground(True)
        content.setAttribute(Qt.WidgetAttribute.WA_StaticContents)
        self._column = FlowWidget(content)
        self._column.setObjectName("chatColumn")
        self._column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._turns_layout = column_layout(self._column)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self._column, 100)
        row.addStretch(1)
        self._outer = column_layout(content)
        self._outer.add_layout(row)
        self.setWidget(content)

        self._jump = QToolButton(self)
        self._jump.setObjectName("jumpToBottom")
        self._jump.setToolTip("Scroll to the latest message")
        self._jump.setCursor(Qt.CursorShape.PointingHandCursor)
        self._jump.clicked.connect(self.scroll_to_bottom)
        self._jump.hide()

        self.context.frames.frameStarting.connect(self._follow)
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_scrolled)
        self._apply_theme()

    # -- slots -------------------------------------------------------------------------------------

    def add_turn(self, turn_id: str, text: str, attachments: Sequence[AttachmentChipData] = ()) -> TurnWidget:
        """A new user message (and the empty reply under it); the view scrolls to it."""
        turn = TurnWidget(self.context, turn_id, text, attachments, self._column)
        if self._turns:
            self._turns[-1].assistant.set_continue_enabled(False)  # only the latest answer can go on
        self._connect(turn)
        turn.assistant.set_reasoning_visible(self._reasoning_visible)
        self._turns.append(turn)
        self._turns_layout.addWidget(turn)
        self.scroll_to_bottom()
        return turn

    def remove_turns_from(self, turn_id: str) -> None:
        """Remove that turn and every turn after it (before an edited message is sent again)."""
        index = next(i for i, turn in enumerate(self._turns) if turn.turn_id == turn_id)
        for turn in self._turns[index:]:
            self._turns_layout.removeWidget(turn)
            turn.hide()
            turn.deleteLater()
        del self._turns[index:]

    def clear(self) -> None:
        if self._turns:
            self.remove_turns_from(self._turns[0].turn_id)

    def set_theme(self, theme: Theme) -> None:
        self.context = self.context.with_theme(theme)
        self._apply_theme()
        for turn in self._turns:
            turn.set_context(self.context)

    def set_reasoning_visible(self, visible: bool) -> None:
        self._reasoning_visible = visible
        for turn in self._turns:
            turn.assistant.set_reasoning_visible(visible)

    def scroll_to_bottom(self) -> None:
        self._set_following(True)
        self._scroll_to_end()

    # -- queries -----------------------------------------------------------------------------------

    def turn(self, turn_id: str) -> TurnWidget | None:
        return next((turn for turn in self._turns if turn.turn_id == turn_id), None)

    def turns(self) -> list[TurnWidget]:
        return list(self._turns)

    def is_following(self) -> bool:
        return self._following

    # -- internals ---------------------------------------------------------------------------------

    def _connect(self, turn: TurnWidget) -> None:
        turn_id = turn.turn_id
        turn.user.copyRequested.connect(self.copyRequested)
        turn.user.editRequested.connect(partial(self.editRequested.emit, turn_id))
        assistant = turn.assistant
        assistant.copyRequested.connect(self.copyRequested)
        assistant.regenerateRequested.connect(partial(self.regenerateRequested.emit, turn_id))
        assistant.continueRequested.connect(partial(self.continueRequested.emit, turn_id))
        assistant.linkClicked.connect(self.linkClicked)
        assistant.approveRequested.connect(self.approveRequested)
        assistant.denyRequested.connect(self.denyRequested)
        assistant.alwaysAllowRequested.connect(self.alwaysAllowRequested)

    def _apply_theme(self) -> None:
        theme = self.context.theme
        self.setStyleSheet(theme.stylesheet())
        palette = self.widget().palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(theme.palette.window))
        self.widget().setPalette(palette)
        self._column.setMaximumWidth(theme.column_width())
        self._turns_layout.setSpacing(theme.px(2))
        self._outer.setContentsMargins(theme.px(1.5), theme.px(1.5), theme.px(1.5), theme.px(2.5))
        size = theme.px(2.4)
        self._jump.setFixedSize(size, size)
        self._jump.setIconSize(QSize(theme.px(1.2), theme.px(1.2)))
        self._jump.setIcon(icon("arrow-down", theme.palette.text, theme.px(1.2)))
        self._place_jump_button()

    def _on_range_changed(self, _minimum: int, _maximum: int) -> None:
        if self._following and not self._follow_timer.isActive():
            # Not now: Qt scrolls by moving pixels only when nothing on screen waits to be repainted,
            # and the text that just grew does (Qt 6 paints a few milliseconds later). Scrolled now,
            # every visible message would be painted again on every frame (measured: 14 times the
            # pixels). At the start of the next frame the last one has been painted; the timer
            # catches the last frame of a stream.
            self._follow_timer.start()
        self._update_jump_button()

    def _follow(self) -> None:
        """At the start of a frame: catch up with the bottom if it moved in the last one."""
        if self._follow_timer.isActive():
            self._follow_timer.stop()
            self._catch_up()

    def _catch_up(self) -> None:
        if self._following:
            self._scroll_to_end()

    def _scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _on_scrolled(self, value: int) -> None:
        self._set_following(value >= self.verticalScrollBar().maximum() - FOLLOW_SLACK_PX)

    def _set_following(self, following: bool) -> None:
        if following != self._following:
            self._following = following
            self.followingChanged.emit(following)
        self._update_jump_button()

    def _update_jump_button(self) -> None:
        self._jump.setVisible(not self._following and self.verticalScrollBar().maximum() > 0)
        if self._jump.isVisible():
            self._jump.raise_()

    def _place_jump_button(self) -> None:
        viewport = self.viewport().geometry()
        self._jump.move(viewport.center().x() - self._jump.width() // 2,
                        viewport.bottom() - self._jump.height() - self.context.theme.px(1))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_jump_button()
