"""The message view's public surface, pinned: the window imports these names and nothing deeper."""

from __future__ import annotations

import app.ui.messages as messages


def test_public_names() -> None:
    assert sorted(messages.__all__) == [
        "AssistantTurnWidget", "AttachmentChip", "AttachmentChipData", "CardState", "ChatView",
        "CodeBlockWidget", "MarkdownView", "ReasoningPane", "RenderContext", "ToolCallCard", "TurnBadge",
        "TurnWidget", "UserMessageWidget",
    ]
    assert all(hasattr(messages, name) for name in messages.__all__)
