"""A conversation's own settings as a type: which tools it may use and which the user allowed for good.

The store keeps a conversation's settings as a JSON object; this module is the one place that reads and
writes the keys the chat owns in it (`tools`, `always_allowed`), so no caller edits the object by hand.
Reading never fails: a malformed value (written by hand, or by an import before imports were checked)
grants nothing and is logged, and keys this type does not own are kept as they were.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from app.store import Conversation
from app.store.records import ALWAYS_ALLOWED_KEY, TOOLS_KEY
from app.tools import ToolSelection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConversationSettings:
    tools: ToolSelection = field(default_factory=ToolSelection)
    always_allowed: tuple[str, ...] = ()
    other: Mapping[str, Any] = field(default_factory=dict)  # keys the chat does not own, kept as stored

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationSettings:
        stored = conversation.settings if isinstance(conversation.settings, dict) else {}
        try:
            tools = ToolSelection.from_record(stored.get(TOOLS_KEY) or {})
        except (ValueError, AttributeError, TypeError) as exc:
            log.warning("conversation %s: unreadable tool selection (%s); tools off", conversation.id, exc)
            tools = ToolSelection()
        allowed = stored.get(ALWAYS_ALLOWED_KEY, [])
        if not isinstance(allowed, list) or not all(isinstance(tool, str) for tool in allowed):
            log.warning("conversation %s: unreadable always_allowed (%s, not a list of tool names); every "
                        "tool call asks", conversation.id, type(allowed).__name__)
            allowed = []
        other = {key: value for key, value in stored.items() if key not in (TOOLS_KEY, ALWAYS_ALLOWED_KEY)}
        return cls(tools, tuple(sorted(set(allowed))), other)

    def with_python(self, enabled: bool) -> ConversationSettings:
        return replace(self, tools=replace(self.tools, python=enabled))

    def with_mcp_server(self, server: str, enabled: bool) -> ConversationSettings:
        """This conversation uses the MCP server `server` (its tools declared, each call approved) or not."""
        servers = self.tools.mcp | {server} if enabled else self.tools.mcp - {server}
        return replace(self, tools=replace(self.tools, mcp=frozenset(servers)))

    def with_always_allowed(self, tools: frozenset[str] | set[str]) -> ConversationSettings:
        return replace(self, always_allowed=tuple(sorted(tools)))

    def stored(self) -> dict[str, Any]:
        """The JSON object the store keeps."""
        record = {**self.other, TOOLS_KEY: self.tools.to_record()}
        if self.always_allowed:
            record[ALWAYS_ALLOWED_KEY] = list(self.always_allowed)
        return record
