"""The room's public surface is pinned, and the room imports the standard library only (and its leaves)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import app.harmony
from app.harmony.segments import SPECIAL_TOKENS, STOP_TOKENS, Special, Text, segments_to_text

PINNED = [
    "ANALYSIS", "ASSISTANT", "BROWSER_DESCRIPTION", "BUILTIN_NAMESPACES", "CHANNELS", "COMMENTARY",
    "DEVELOPER", "FINAL", "MESSAGE_END_TOKENS", "PYTHON_DESCRIPTION", "PYTHON_STATELESS_DESCRIPTION",
    "REQUIRED_SPECIALS",
    "ROLES", "SPECIAL_TOKENS", "STOP_TOKENS", "SYSTEM", "TOOL", "USER", "ChannelConfig", "DeveloperContent",
    "DisplayKind", "HarmonyError", "HarmonyFormatError", "HarmonyParseError", "HarmonyParser", "Header",
    "Message", "MessageEnded", "MessageStarted", "ParseEvent", "ReasoningEffort", "RenderCase", "Segment",
    "Special", "StreamParser", "SystemContent", "Text", "TextDelta", "TextStreamParser", "ToolArguments",
    "ToolDescription", "ToolNamespace", "TurnAnswer", "browser_namespace", "display_kind",
    "drop_earlier_analysis", "function_tools", "is_tool_call", "json_schema_to_typescript",
    "message_from_json", "message_to_json", "messages_from_json", "messages_to_json", "normalize_recipient",
    "parse_text", "parse_tool_arguments", "python_code_from_arguments", "python_namespace",
    "render_case_from_json", "render_conversation", "render_conversation_for_training", "render_message",
    "segments_to_text", "split_specials", "tool_call_target", "tools_section", "turn_answer",
]


def test_public_surface_is_pinned() -> None:
    assert sorted(app.harmony.__all__) == sorted(PINNED)
    for name in PINNED:
        assert getattr(app.harmony, name) is not None


def test_the_room_imports_only_the_standard_library_and_leaves() -> None:
    for path in Path(app.harmony.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                stdlib = top in sys.stdlib_module_names or top == "__future__"
                leaf = name in ("app.errors", "app.units")  # standard-library-only leaves every room may use
                assert stdlib or leaf or name.startswith("app.harmony"), f"{path.name} imports {name}"


def test_segments_the_engine_relies_on() -> None:
    assert STOP_TOKENS == ("<|return|>", "<|call|>")
    assert len(SPECIAL_TOKENS) == 9 and "<|end|>" not in STOP_TOKENS
    segments = [Special("<|start|>"), Text("user"), Special("<|message|>"), Text("<|end|>")]
    assert segments_to_text(segments) == "<|start|>user<|message|><|end|>"
