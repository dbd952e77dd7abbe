"""One exchange of a conversation: the user's message and the assistant's reply below it."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QWidget

from app.ui.messages.assistant_turn import AssistantTurnWidget
from app.ui.messages.attachment_chip import AttachmentChipData
from app.ui.messages.context import RenderContext
from app.ui.messages.layouts import FlowWidget, column_layout
from app.ui.messages.user_message import UserMessageWidget


class TurnWidget(FlowWidget):
    """A user message and its reply; `user` and `assistant` are the widgets to drive."""

    def __init__(
        self,
        context: RenderContext,
        turn_id: str,
        text: str,
        attachments: Sequence[AttachmentChipData] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.turn_id = turn_id
        self.user = UserMessageWidget(context, text, attachments, self)
        self.assistant = AssistantTurnWidget(context, self)
        layout = column_layout(self, context.theme.px(1))
        layout.addWidget(self.user)
        layout.addWidget(self.assistant)

    def set_context(self, context: RenderContext) -> None:
        self.layout().setSpacing(context.theme.px(1))
        self.user.set_context(context)
        self.assistant.set_context(context)
