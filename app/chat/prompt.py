"""From a stored conversation to Harmony messages: what the model sees on every step of a turn.

The system message carries the reasoning effort and the conversation's start date (not today's: a
date that changed overnight would change the prompt's first tokens and throw away the engine's whole
cached prefix); the developer message carries the instructions and function tools; attachments ride
in the user message they came with, as the documents room's deterministic blocks (a short note for
documents in search mode), so the prefix with a document is byte-identical on every turn. Messages
that failed, and empty interrupted ones, stay out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from app import harmony
from app.chat import attachment_records
from app.harmony.segments import CHANNEL, MESSAGE, START
from app.store import Attachment, MessageRecord


@dataclass(frozen=True)
class PromptSettings:
    """Everything outside the messages that shapes the prompt."""

    reasoning_effort: str = "medium"
    start_date: date | None = None
    instructions: str | None = None
    system_tools: tuple[harmony.ToolNamespace, ...] = ()  # builtin namespaces (python, browser)
    developer_tools: tuple[harmony.ToolNamespace, ...] = ()  # the functions namespace
    knowledge_cutoff: str = harmony.SystemContent().knowledge_cutoff or "2024-06"
    extra: dict[str, str] = field(default_factory=dict)


def system_message(settings: PromptSettings) -> harmony.Message:
    content = harmony.SystemContent(
        reasoning_effort=harmony.ReasoningEffort(settings.reasoning_effort),
        conversation_start_date=settings.start_date.isoformat() if settings.start_date else None,
        knowledge_cutoff=settings.knowledge_cutoff,
        tools=settings.system_tools,
    )
    return harmony.Message(harmony.SYSTEM, content)


def developer_message(settings: PromptSettings) -> harmony.Message | None:
    if settings.instructions is None and not settings.developer_tools:
        return None
    content = harmony.DeveloperContent(instructions=settings.instructions, tools=settings.developer_tools)
    return harmony.Message(harmony.DEVELOPER, content)


def attachment_block(attachment: Attachment) -> str:
    """What a stored attachment puts into its user message.

    Inline: the documents room's block, rebuilt from the stored record (`attachment_records`), the same
    bytes on every turn. Search mode: a short note naming the document and pointing to the browser tool.
    """
    return attachment_records.prompt_block(attachment)


def user_content(text: str, attachments: Sequence[Attachment]) -> str:
    """Documents first, then the question: the model reads the material before what is asked of it."""
    blocks = [attachment_block(a) for a in attachments]
    if not blocks:
        return text
    return "\n\n".join([*blocks, text]) if text else "\n\n".join(blocks)


def to_harmony(message: MessageRecord, attachments: Sequence[Attachment] = ()) -> harmony.Message:
    content = message.content
    if message.role == harmony.USER:
        content = user_content(content, attachments)
    return harmony.Message(
        message.role, content, name=message.name, channel=message.channel,
        recipient=message.recipient, content_type=message.content_type,
    )


def belongs_in_prompt(message: MessageRecord) -> bool:
    if message.status == "error":
        return False
    # An answer cut off before its first word carries nothing; a partial one is kept as said.
    return not (message.status in ("interrupted", "streaming") and not message.content)


def conversation_messages(
    stored: Iterable[MessageRecord],
    attachments: Iterable[Attachment],
    settings: PromptSettings,
) -> list[harmony.Message]:
    """The whole conversation as Harmony messages, system and developer messages first."""
    by_message: dict[int, list[Attachment]] = {}
    for attachment in attachments:
        by_message.setdefault(attachment.message_id, []).append(attachment)
    messages = [system_message(settings)]
    developer = developer_message(settings)
    if developer is not None:
        messages.append(developer)
    for message in stored:
        if belongs_in_prompt(message):
            messages.append(to_harmony(message, by_message.get(message.id, ())))
    return messages


def render_for_generation(messages: Sequence[harmony.Message]) -> list[harmony.Segment]:
    """The prompt that asks the assistant for its next message (earlier turns' reasoning dropped)."""
    return harmony.render_conversation(messages, next_turn_role=harmony.ASSISTANT, auto_drop_analysis=True)


def render_for_continuation(
    messages: Sequence[harmony.Message], partial: harmony.Message,
) -> list[harmony.Segment]:
    """The prompt that lets the model go on writing `partial` where it stopped (no terminator after it)."""
    segments = harmony.render_conversation(messages, next_turn_role=None, auto_drop_analysis=True)
    segments += continuation_header(partial)
    if partial.text:
        segments.append(harmony.Text(partial.text))
    return segments


def continuation_header(partial: harmony.Message) -> list[harmony.Segment]:
    """`<|start|>assistant<|channel|>final<|message|>`: the header of the message being continued."""
    head: list[harmony.Segment] = [harmony.Special(START), harmony.Text(partial.role)]
    if partial.channel:
        head += [harmony.Special(CHANNEL), harmony.Text(partial.channel)]
    head.append(harmony.Special(MESSAGE))
    return head
