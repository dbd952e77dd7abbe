"""Harmony-shaped data: messages, system and developer content, tool descriptions.

These are the values the renderer turns into a prompt and the parser builds from model output. Field
names and defaults follow openai-harmony's `chat.rs`, so its JSON message shape maps onto them one to one
(see `json_shape`). All are frozen: change one with `dataclasses.replace`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from enum import StrEnum
from typing import Any

from app.harmony.errors import HarmonyFormatError

SYSTEM = "system"
DEVELOPER = "developer"
USER = "user"
ASSISTANT = "assistant"
TOOL = "tool"
ROLES: tuple[str, ...] = (SYSTEM, DEVELOPER, USER, ASSISTANT, TOOL)

ANALYSIS = "analysis"
COMMENTARY = "commentary"
FINAL = "final"
CHANNELS: tuple[str, ...] = (ANALYSIS, COMMENTARY, FINAL)

# Recipients that address the conversation rather than a tool (`all` is never rendered).
CONVERSATION_RECIPIENTS = frozenset({ASSISTANT, "all"})

DEFAULT_MODEL_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
DEFAULT_KNOWLEDGE_CUTOFF = "2024-06"
FUNCTIONS_NAMESPACE = "functions"


class ReasoningEffort(StrEnum):
    """How long gpt-oss thinks; rendered in the system message as `Reasoning: low|medium|high`."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class ToolDescription:
    """One callable tool: its name, a description for the model and a JSON schema of its arguments.

    `parameters` is None for a tool that takes no arguments (`type get_location = () => any;`).
    """

    name: str
    description: str = ""
    parameters: Any = None

    def __post_init__(self) -> None:
        _require_text("tool name", self.name)
        if not isinstance(self.description, str):
            raise HarmonyFormatError(f"tool {self.name!r}: description must be text")


@dataclass(frozen=True, slots=True)
class ToolNamespace:
    """A namespace of tools (`functions`, `browser`, `python`), rendered as one `## name` block.

    A namespace without tools renders its description as raw paragraphs (this is how python renders).
    """

    name: str
    description: str | None = None
    tools: tuple[ToolDescription, ...] = ()

    def __post_init__(self) -> None:
        _require_text("tool namespace name", self.name)
        if self.description is not None and not isinstance(self.description, str):
            raise HarmonyFormatError(f"tool namespace {self.name!r}: description must be text or None")
        object.__setattr__(self, "tools", tuple(self.tools))
        for tool in self.tools:
            if not isinstance(tool, ToolDescription):
                raise HarmonyFormatError(
                    f"tool namespace {self.name!r}: tools must be ToolDescription values")


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """Which channels the system message tells the model about, and whether every message needs one."""

    valid_channels: tuple[str, ...] = CHANNELS
    channel_required: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "valid_channels", tuple(self.valid_channels))


@dataclass(frozen=True, slots=True)
class SystemContent:
    """The system message: identity, dates, reasoning effort, channels and the builtin tool namespaces.

    Defaults are openai-harmony's `SystemContent::new()`. `tools` holds builtin namespaces (browser,
    python); function tools belong in `DeveloperContent`.
    """

    model_identity: str | None = DEFAULT_MODEL_IDENTITY
    reasoning_effort: ReasoningEffort | None = ReasoningEffort.MEDIUM
    conversation_start_date: str | None = None
    knowledge_cutoff: str | None = DEFAULT_KNOWLEDGE_CUTOFF
    channel_config: ChannelConfig | None = field(default_factory=ChannelConfig)
    tools: tuple[ToolNamespace, ...] = ()

    def __post_init__(self) -> None:
        if self.reasoning_effort is not None:
            object.__setattr__(self, "reasoning_effort", reasoning_effort(self.reasoning_effort))
        object.__setattr__(self, "tools", _namespaces(self.tools, "system"))


@dataclass(frozen=True, slots=True)
class DeveloperContent:
    """The developer message: instructions and function tools (`# Instructions`, `# Tools`)."""

    instructions: str | None = None
    tools: tuple[ToolNamespace, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tools", _namespaces(self.tools, "developer"))

    @property
    def has_function_tools(self) -> bool:
        return any(ns.name == FUNCTIONS_NAMESPACE and ns.tools for ns in self.tools)


Content = str | SystemContent | DeveloperContent


@dataclass(frozen=True, slots=True)
class Message:
    """One Harmony message. Tool messages carry the tool's name (`functions.get_weather`) in `name`.

    `recipient` is set on tool calls (`functions.get_weather`, `python`) and on tool results
    (`assistant`); `content_type` is e.g. `json`, `code` or `<|constrain|>json`.
    """

    role: str
    content: Content = ""
    _: KW_ONLY
    name: str | None = None
    channel: str | None = None
    recipient: str | None = None
    content_type: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise HarmonyFormatError(f"unknown role {self.role!r}: use one of {', '.join(ROLES)}")
        if self.role == TOOL and not self.name:
            raise HarmonyFormatError(
                "a tool message needs the tool's name as its author name, e.g. 'functions.get_weather'")
        for label in ("name", "channel", "recipient", "content_type"):
            value = getattr(self, label)
            if value is not None and not isinstance(value, str):
                raise HarmonyFormatError(f"message {label} must be text or None, not {type(value).__name__}")
        if isinstance(self.content, SystemContent) and self.role != SYSTEM:
            raise HarmonyFormatError(f"system content may only appear in a system message, not {self.role}")
        if isinstance(self.content, DeveloperContent) and self.role != DEVELOPER:
            raise HarmonyFormatError(
                f"developer content may only appear in a developer message, not {self.role}")
        if not isinstance(self.content, str | SystemContent | DeveloperContent):
            raise HarmonyFormatError(
                f"message content must be text, SystemContent or DeveloperContent, "
                f"not {type(self.content).__name__}")

    @property
    def text(self) -> str:
        """The content as text (empty for system and developer content objects)."""
        return self.content if isinstance(self.content, str) else ""


def reasoning_effort(value: str | ReasoningEffort) -> ReasoningEffort:
    """`low`, `medium` or `high` in any letter case (openai-harmony's serde writes `Low`)."""
    if isinstance(value, ReasoningEffort):
        return value
    if isinstance(value, str):
        try:
            return ReasoningEffort(value.lower())
        except ValueError:
            pass
    raise HarmonyFormatError(f"unknown reasoning effort {value!r}: use low, medium or high")


def function_tools(tools: list[ToolDescription] | tuple[ToolDescription, ...]) -> ToolNamespace:
    """The `functions` namespace for a developer message (openai-harmony's `with_function_tools`)."""
    return ToolNamespace(FUNCTIONS_NAMESPACE, None, tuple(tools))


def _namespaces(value: Any, where: str) -> tuple[ToolNamespace, ...]:
    if isinstance(value, Mapping):
        value = tuple(value.values())
    namespaces = tuple(value)
    seen: set[str] = set()
    for namespace in namespaces:
        if not isinstance(namespace, ToolNamespace):
            raise HarmonyFormatError(f"{where} tools must be ToolNamespace values")
        if namespace.name in seen:
            raise HarmonyFormatError(f"{where} tools name the namespace {namespace.name!r} twice")
        seen.add(namespace.name)
    return namespaces


def _require_text(label: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise HarmonyFormatError(f"{label} must be non-empty text, not {value!r}")
