"""The Harmony format gpt-oss speaks: render conversations to prompt segments, parse token streams.

Standard library only; nothing else in the app is imported from here. The public surface is this
module's `__all__` (pinned by tests/harmony/test_public_api.py); the submodules each own one job:
`messages` (the data), `render` and `typescript` (prompt text), `builtin_tools`, `header`, `parser` and
`text_parser` (model output), `tool_calls` and `display` (what the chat does with parsed messages),
`json_shape` (openai-harmony's JSON), `segments` (what the engine receives).
"""

from app.harmony.builtin_tools import (
    BROWSER_DESCRIPTION,
    BUILTIN_NAMESPACES,
    PYTHON_DESCRIPTION,
    PYTHON_STATELESS_DESCRIPTION,
    browser_namespace,
    python_namespace,
)
from app.harmony.display import DisplayKind, TurnAnswer, display_kind, turn_answer
from app.harmony.errors import HarmonyError, HarmonyFormatError, HarmonyParseError
from app.harmony.header import Header
from app.harmony.json_shape import (
    RenderCase,
    message_from_json,
    message_to_json,
    messages_from_json,
    messages_to_json,
    render_case_from_json,
)
from app.harmony.messages import (
    ANALYSIS,
    ASSISTANT,
    CHANNELS,
    COMMENTARY,
    DEVELOPER,
    FINAL,
    ROLES,
    SYSTEM,
    TOOL,
    USER,
    ChannelConfig,
    DeveloperContent,
    Message,
    ReasoningEffort,
    SystemContent,
    ToolDescription,
    ToolNamespace,
    function_tools,
)
from app.harmony.parser import (
    MESSAGE_END_TOKENS,
    REQUIRED_SPECIALS,
    HarmonyParser,
    MessageEnded,
    MessageStarted,
    ParseEvent,
    StreamParser,
    TextDelta,
)
from app.harmony.render import (
    drop_earlier_analysis,
    render_conversation,
    render_conversation_for_training,
    render_message,
)
from app.harmony.segments import (
    SPECIAL_TOKENS,
    STOP_TOKENS,
    Segment,
    Special,
    Text,
    segments_to_text,
)
from app.harmony.text_parser import TextStreamParser, parse_text, split_specials
from app.harmony.tool_calls import (
    ToolArguments,
    is_tool_call,
    normalize_recipient,
    parse_tool_arguments,
    python_code_from_arguments,
    tool_call_target,
)
from app.harmony.typescript import json_schema_to_typescript, tools_section

__all__ = [
    "ANALYSIS",
    "ASSISTANT",
    "BROWSER_DESCRIPTION",
    "BUILTIN_NAMESPACES",
    "CHANNELS",
    "COMMENTARY",
    "DEVELOPER",
    "FINAL",
    "MESSAGE_END_TOKENS",
    "PYTHON_DESCRIPTION",
    "PYTHON_STATELESS_DESCRIPTION",
    "REQUIRED_SPECIALS",
    "ROLES",
    "SPECIAL_TOKENS",
    "STOP_TOKENS",
    "SYSTEM",
    "TOOL",
    "USER",
    "ChannelConfig",
    "DeveloperContent",
    "DisplayKind",
    "HarmonyError",
    "HarmonyFormatError",
    "HarmonyParseError",
    "HarmonyParser",
    "Header",
    "Message",
    "MessageEnded",
    "MessageStarted",
    "ParseEvent",
    "ReasoningEffort",
    "RenderCase",
    "Segment",
    "Special",
    "StreamParser",
    "SystemContent",
    "Text",
    "TextDelta",
    "TextStreamParser",
    "ToolArguments",
    "ToolDescription",
    "ToolNamespace",
    "TurnAnswer",
    "browser_namespace",
    "display_kind",
    "drop_earlier_analysis",
    "function_tools",
    "is_tool_call",
    "json_schema_to_typescript",
    "message_from_json",
    "message_to_json",
    "messages_from_json",
    "messages_to_json",
    "normalize_recipient",
    "parse_text",
    "parse_tool_arguments",
    "python_code_from_arguments",
    "python_namespace",
    "render_case_from_json",
    "render_conversation",
    "render_conversation_for_training",
    "render_message",
    "segments_to_text",
    "split_specials",
    "tool_call_target",
    "tools_section",
    "turn_answer",
]
