"""Render a conversation into prompt segments exactly as openai-harmony renders it.

Each message is `<|start|>{head}[ to={recipient}][<|channel|>{channel}][ {content type}]<|message|>
{content}{end}`; the system and developer messages are built from their content objects; a completion
prompt ends in `<|start|>assistant`. Specials come out as `Special` markers and everything else as
`Text`, so the engine inserts the specials by id and no text can turn into a special token.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app.harmony.errors import HarmonyFormatError
from app.harmony.messages import (
    ANALYSIS,
    ASSISTANT,
    FINAL,
    ROLES,
    TOOL,
    USER,
    DeveloperContent,
    Message,
    SystemContent,
)
from app.harmony.segments import CALL, CHANNEL, CONSTRAIN, END, MESSAGE, RETURN, START, Segment, Special, Text
from app.harmony.typescript import tools_section

FUNCTIONS_CHANNEL_LINE = "Calls to these tools must go to the commentary channel: 'functions'."


def render_conversation(
    messages: Sequence[Message],
    next_turn_role: str | None = ASSISTANT,
    auto_drop_analysis: bool = True,
) -> list[Segment]:
    """The prompt for `messages`, ending in `<|start|>{next_turn_role}` unless that is None.

    With `auto_drop_analysis`, earlier turns' chain of thought is left out (see `drop_earlier_analysis`).
    """
    if next_turn_role is not None and next_turn_role not in ROLES:
        raise HarmonyFormatError(f"unknown next turn role {next_turn_role!r}: use one of {', '.join(ROLES)}")
    has_function_tools = conversation_has_function_tools(messages)
    kept = drop_earlier_analysis(messages) if auto_drop_analysis else list(messages)
    segments: list[Segment] = []
    for message in kept:
        segments.extend(render_message(message, has_function_tools=has_function_tools))
    if next_turn_role is not None:
        segments += [Special(START), Text(next_turn_role)]
    return merge_text(segments)


def render_conversation_for_training(
    messages: Sequence[Message], *, auto_drop_analysis: bool = True
) -> list[Segment]:
    """The conversation as a training target: a last assistant `final` message ends in `<|return|>`."""
    segments = render_conversation(messages, None, auto_drop_analysis=auto_drop_analysis)
    if messages and messages[-1].role == ASSISTANT and messages[-1].channel == FINAL:
        segments[-1] = Special(RETURN)
    return segments


def render_message(message: Message, *, has_function_tools: bool = False) -> list[Segment]:
    """One message; `has_function_tools` adds the functions line to a system message's channel list."""
    head = message.name if message.role == TOOL else message.role
    if message.role != TOOL and message.name:
        head = f"{message.role}:{message.name}"
    segments: list[Segment] = [Special(START), Text(head)]
    if message.recipient is not None and message.recipient != "all":
        segments.append(Text(f" to={message.recipient}"))
    if message.channel is not None:
        segments += [Special(CHANNEL), Text(message.channel)]
    if message.content_type is not None:
        if message.content_type.startswith(CONSTRAIN):
            # `<|constrain|>` inside a content type is the special token, not text.
            segments += [Text(" "), Special(CONSTRAIN), Text(message.content_type[len(CONSTRAIN):])]
        else:
            segments.append(Text(f" {message.content_type}"))
    segments += [Special(MESSAGE), Text(content_text(message, has_function_tools=has_function_tools))]
    # The library ends every assistant message that has a recipient (even "all") with <|call|>.
    segments.append(Special(CALL if message.role == ASSISTANT and message.recipient is not None else END))
    return merge_text(segments)


def content_text(message: Message, *, has_function_tools: bool = False) -> str:
    """The text between `<|message|>` and the end token."""
    if isinstance(message.content, SystemContent):
        return system_text(message.content, has_function_tools=has_function_tools)
    if isinstance(message.content, DeveloperContent):
        return developer_text(message.content)
    return message.content


def system_text(system: SystemContent, *, has_function_tools: bool = False) -> str:
    sections = []
    top = [line for line in (
        system.model_identity,
        None if system.knowledge_cutoff is None else f"Knowledge cutoff: {system.knowledge_cutoff}",
        None if system.conversation_start_date is None else f"Current date: {system.conversation_start_date}",
    ) if line is not None]
    if top:
        sections.append("\n".join(top))
    if system.reasoning_effort is not None:
        sections.append(f"Reasoning: {system.reasoning_effort.value}")
    if system.tools:
        sections.append(tools_section(system.tools))
    config = system.channel_config
    if config is not None and config.valid_channels:
        header = f"# Valid channels: {', '.join(config.valid_channels)}."
        if config.channel_required:
            header += " Channel must be included for every message."
        if has_function_tools:
            header += "\n" + FUNCTIONS_CHANNEL_LINE
        sections.append(header)
    return "\n\n".join(sections)


def developer_text(developer: DeveloperContent) -> str:
    sections = []
    if developer.instructions is not None:
        sections += ["# Instructions", developer.instructions]
    if developer.tools:
        sections.append(tools_section(developer.tools))
    return "\n\n".join(sections)


def conversation_has_function_tools(messages: Iterable[Message]) -> bool:
    """Whether some developer message declares function tools (the system message then says so)."""
    return any(isinstance(m.content, DeveloperContent) and m.content.has_function_tools for m in messages)


def drop_earlier_analysis(messages: Sequence[Message]) -> list[Message]:
    """Leave out the `analysis` messages of every turn before the last user message.

    The docs' rule: earlier chain of thought is dropped once its turn is over, but a turn still in
    progress (tool calls and results after the last user message) keeps its reasoning. `final` messages
    and commentary calls and results always stay. This reproduces all of openai-harmony's CoT golden files.
    """
    last_user = max((i for i, m in enumerate(messages) if m.role == USER), default=-1)
    return [m for i, m in enumerate(messages) if not (i < last_user and m.channel == ANALYSIS)]


def merge_text(segments: Iterable[Segment]) -> list[Segment]:
    """Adjacent text pieces joined and empty ones dropped: the engine tokenizes each run between specials
    once, which is also how the golden files are tokenized (`encode(text, allowed_special="all")`)."""
    merged: list[Segment] = []
    for segment in segments:
        if isinstance(segment, Text):
            if not segment.text:
                continue
            if merged and isinstance(merged[-1], Text):
                merged[-1] = Text(merged[-1].text + segment.text)
                continue
        merged.append(segment)
    return merged
