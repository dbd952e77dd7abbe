"""The message view: one conversation's turns, rendered while they stream.

`ChatView` is the entry point: it creates `TurnWidget`s (a `UserMessageWidget` and an
`AssistantTurnWidget`) and re-emits every user action with the turn or call id. The assistant widget
shows reasoning (`ReasoningPane`), preamble and the answer (`MarkdownView`), and tool calls
(`ToolCallCard`). Widgets are dumb: slots in, signals out, no business rule.
"""

from app.ui.messages.assistant_turn import AssistantTurnWidget, TurnBadge
from app.ui.messages.attachment_chip import AttachmentChip, AttachmentChipData
from app.ui.messages.chat_view import ChatView
from app.ui.messages.code_block import CodeBlockWidget
from app.ui.messages.context import RenderContext
from app.ui.messages.markdown_view import MarkdownView
from app.ui.messages.reasoning import ReasoningPane
from app.ui.messages.tool_call import CardState, ToolCallCard
from app.ui.messages.turn import TurnWidget
from app.ui.messages.user_message import UserMessageWidget

__all__ = [
    "AssistantTurnWidget",
    "AttachmentChip",
    "AttachmentChipData",
    "CardState",
    "ChatView",
    "CodeBlockWidget",
    "MarkdownView",
    "ReasoningPane",
    "RenderContext",
    "ToolCallCard",
    "TurnBadge",
    "TurnWidget",
    "UserMessageWidget",
]
