"""The assistant's side of a turn: its items in the order they came, a notice if it ended badly, actions.

Items are what the chat layer reports, each appended below the last: reasoning panes, preamble text,
tool-call cards, the final answer. The widget only shows them; how a turn ended, and which text stands
in for a missing answer, is the chat layer's to say (`finish`).
"""

from __future__ import annotations

from typing import Literal, get_args

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from app.ui.messages.actions import ActionButton
from app.ui.messages.context import RenderContext
from app.ui.messages.layouts import FlowWidget, column_layout
from app.ui.messages.markdown_view import MarkdownView
from app.ui.messages.reasoning import ReasoningPane
from app.ui.messages.tool_call import CardState, ToolCallCard

# The view's words for how a turn ended (chat's TurnStatus is mapped onto these by the controller).
TurnBadge = Literal["complete", "interrupted", "failed", "no_answer"]
TURN_BADGES: tuple[str, ...] = get_args(TurnBadge)
NOTICES: dict[str, str] = {
    "interrupted": "Stopped before the answer was complete.",
    "failed": "The model failed before finishing.",
    "no_answer": "The model stopped without a final answer.",
}
# Where the last text stands relative to the notice: already streamed above it, or put below it now.
LAST_TEXT_ABOVE = "Its last text is shown above."
LAST_TEXT_BELOW = "Its last text is shown below."
TYPING_FRAMES = ("•", "• •", "• • •")


class TypingIndicator(QLabel):
    """Three dots that pulse until the first text of the reply arrives."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(TYPING_FRAMES[-1], parent)
        self.setObjectName("typingIndicator")
        self._frame = 0
        self._timer = QTimer(self)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self._step)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._timer.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._timer.stop()

    def _step(self) -> None:
        self._frame = (self._frame + 1) % len(TYPING_FRAMES)
        self.setText(TYPING_FRAMES[self._frame])


Item = ReasoningPane | MarkdownView | ToolCallCard | QLabel


class AssistantTurnWidget(FlowWidget):
    """The reply to one user message, while it streams and after.

    Signals:
        copyRequested(str): copy this text (the answer, or a code block's code).
        regenerateRequested(): the user wants another reply to the same message.
        continueRequested(): the user wants an interrupted reply to go on where it stopped.
        linkClicked(QUrl): a link in the reply was clicked.
        approveRequested(str), denyRequested(str), alwaysAllowRequested(str): a tool card's buttons,
            with the call id.
    """

    copyRequested = Signal(str)
    regenerateRequested = Signal()
    continueRequested = Signal()
    linkClicked = Signal(QUrl)
    approveRequested = Signal(str)
    denyRequested = Signal(str)
    alwaysAllowRequested = Signal(str)

    def __init__(self, context: RenderContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._items: list[Item] = []
        self._tool_cards: dict[str, ToolCallCard] = {}
        self._answer: MarkdownView | None = None
        self._status: TurnBadge | None = None
        self._reasoning_visible = True
        self._continuable = True

        self._typing = TypingIndicator(self)
        self.copy_button = ActionButton("copy", "Copy", context, self)
        self.regenerate_button = ActionButton("refresh", "Regenerate", context, self)
        self.continue_button = ActionButton("continue", "Continue writing", context, self)
        self.copy_button.clicked.connect(lambda: self.copyRequested.emit(self.answer_text()))
        self.regenerate_button.clicked.connect(self.regenerateRequested)
        self.continue_button.clicked.connect(self.continueRequested)
        self.continue_button.hide()
        self._actions = QWidget(self)
        action_row = QHBoxLayout(self._actions)
        action_row.setContentsMargins(0, 0, 0, 0)
        action_row.setSpacing(2)
        action_row.addWidget(self.copy_button)
        action_row.addWidget(self.regenerate_button)
        action_row.addWidget(self.continue_button)
        action_row.addStretch(1)
        self._actions.hide()

        # The typing dots, then the items as they come, then the actions: one column.
        self._column = column_layout(self)
        self._column.addWidget(self._typing)
        self._column.addWidget(self._actions)
        self._apply_theme()

    # -- reasoning ---------------------------------------------------------------------------------

    def add_reasoning(self) -> ReasoningPane:
        pane = ReasoningPane(self._context, self)
        pane.linkClicked.connect(self.linkClicked)
        pane.copyRequested.connect(self.copyRequested)
        pane.setVisible(self._reasoning_visible)
        self._add_item(pane)
        return pane

    def append_reasoning(self, text: str) -> None:
        """Reasoning text; starts a new pane unless the last item is reasoning still streaming."""
        last = self._items[-1] if self._items else None
        pane = last if isinstance(last, ReasoningPane) and last.is_streaming() else self.add_reasoning()
        pane.append_text(text)

    def finish_reasoning(self, seconds: float | None = None) -> None:
        """The current reasoning is over: collapse it to "Thought for {seconds}"."""
        for item in reversed(self._items):
            if isinstance(item, ReasoningPane):
                if item.is_streaming():
                    item.finish(seconds)
                return

    # -- preamble ----------------------------------------------------------------------------------

    def add_preamble(self, text: str = "") -> MarkdownView:
        """Visible commentary before a tool call ("Let me check the docs.")."""
        view = self._new_markdown_view()
        self._add_item(view)
        view.append_text(text)
        return view

    def append_preamble(self, text: str) -> None:
        last = self._items[-1] if self._items else None
        if isinstance(last, MarkdownView) and last is not self._answer and not last.is_finished():
            last.append_text(text)
        else:
            self.add_preamble(text)

    # -- tool calls --------------------------------------------------------------------------------

    def add_tool_call(
        self,
        call_id: str,
        tool_name: str,
        arguments: str = "",
        state: CardState = "pending",
        language: str | None = None,
    ) -> ToolCallCard:
        self._finish_open_text()
        card = ToolCallCard(self._context, call_id, tool_name, arguments, state, language, self)
        card.approveRequested.connect(self.approveRequested)
        card.denyRequested.connect(self.denyRequested)
        card.alwaysAllowRequested.connect(self.alwaysAllowRequested)
        card.copyRequested.connect(self.copyRequested)
        self._tool_cards[call_id] = card
        self._add_item(card)
        return card

    def append_tool_arguments(self, call_id: str, text: str) -> None:
        self._tool_cards[call_id].append_arguments(text)

    def update_tool_call(
        self,
        call_id: str,
        *,
        state: CardState | None = None,
        arguments: str | None = None,
        result: str | None = None,
        duration: float | None = None,
    ) -> None:
        """Change what is given; leave the rest as it is."""
        card = self._tool_cards[call_id]
        if arguments is not None:
            card.set_arguments(arguments)
        if state is not None:
            card.set_state(state)
        if result is not None:
            card.set_result(result)
        if duration is not None:
            card.set_duration(duration)

    def tool_call(self, call_id: str) -> ToolCallCard:
        return self._tool_cards[call_id]

    def tool_cards(self) -> list[ToolCallCard]:
        return list(self._tool_cards.values())

    # -- the answer --------------------------------------------------------------------------------

    def append_answer(self, text: str) -> None:
        self._answer_view().append_text(text)

    def set_answer(self, text: str) -> None:
        self._answer_view().set_text(text, finished=self._status is not None)

    # -- the end -----------------------------------------------------------------------------------

    def finish(self, status: TurnBadge = "complete", detail: str = "", last_text: str | None = None) -> None:
        """The turn is over. `detail` adds to the notice (an error message); for "no_answer",
        `last_text` is shown in the answer's place."""
        if status not in TURN_BADGES:
            raise ValueError(f"unknown turn status {status!r}")
        self._status = status
        self._finish_open_text()
        for item in self._items:
            if isinstance(item, ReasoningPane) and item.is_streaming():
                item.finish(None)
        if status != "complete":
            where = ""
            if status == "no_answer":
                if self._answer is not None and self.answer_text().strip():
                    where = LAST_TEXT_ABOVE
                elif last_text:
                    where = LAST_TEXT_BELOW
            notice = QLabel(" ".join(part for part in (NOTICES[status], where, detail) if part), self)
            notice.setObjectName("turnNotice")
            notice.setProperty("kind", status)
            notice.setWordWrap(True)
            notice.setTextFormat(Qt.TextFormat.PlainText)
            self._add_item(notice)
        if status == "no_answer" and last_text and self._answer is None:
            self._answer_view().set_text(last_text)
        self._typing.hide()
        self.copy_button.setEnabled(bool(self.answer_text()))
        self.continue_button.setVisible(status == "interrupted" and self._continuable)
        self._actions.show()

    def clear(self) -> None:
        """Empty the turn for a new reply (regenerate)."""
        for item in self._items:
            self._column.removeWidget(item)
            item.hide()
            item.deleteLater()
        self._items.clear()
        self._tool_cards.clear()
        self._answer = None
        self._status = None
        self._actions.hide()
        self._typing.show()

    def set_regenerate_enabled(self, enabled: bool) -> None:
        self.regenerate_button.setVisible(enabled)

    def set_continue_enabled(self, enabled: bool) -> None:
        """Whether an interrupted reply offers Continue (only the last turn can go on)."""
        self._continuable = enabled
        self.continue_button.setVisible(enabled and self._status == "interrupted")

    def set_reasoning_visible(self, visible: bool) -> None:
        self._reasoning_visible = visible
        for item in self._items:
            if isinstance(item, ReasoningPane):
                item.setVisible(visible)

    def set_context(self, context: RenderContext) -> None:
        self._context = context
        self._apply_theme()
        self.copy_button.set_context(context)
        self.regenerate_button.set_context(context)
        self.continue_button.set_context(context)
        for item in self._items:
            if isinstance(item, ReasoningPane | MarkdownView | ToolCallCard):
                item.set_context(context)

    # -- queries -----------------------------------------------------------------------------------

    def items(self) -> list[Item]:
        return list(self._items)

    def answer_view(self) -> MarkdownView | None:
        return self._answer

    def answer_text(self) -> str:
        return self._answer.text() if self._answer is not None else ""

    def status(self) -> TurnBadge | None:
        return self._status

    def notice_text(self) -> str:
        notices = [item for item in self._items
                   if isinstance(item, QLabel) and item.objectName() == "turnNotice"]
        return notices[-1].text() if notices else ""

    def is_waiting(self) -> bool:
        """True until the first item of the reply arrives."""
        return not self._typing.isHidden()

    # -- internals ---------------------------------------------------------------------------------

    def _apply_theme(self) -> None:
        theme = self._context.theme
        self._column.setSpacing(theme.px(1))

    def _add_item(self, item: Item) -> None:
        self._typing.hide()
        self._items.append(item)
        self._column.insert_widget(self._column.count() - 1, item)  # before the actions

    def _new_markdown_view(self) -> MarkdownView:
        view = MarkdownView(self._context, parent=self)
        view.linkClicked.connect(self.linkClicked)
        view.copyRequested.connect(self.copyRequested)
        return view

    def _answer_view(self) -> MarkdownView:
        if self._answer is None:
            self._finish_open_text()
            self._answer = self._new_markdown_view()
            self._add_item(self._answer)
        return self._answer

    def _finish_open_text(self) -> None:
        """Text items before a new item are complete: let their last block render as finished."""
        for item in self._items:
            if isinstance(item, MarkdownView):
                item.finish()
