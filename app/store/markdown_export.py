"""A conversation as a Markdown document, for reading and sharing outside Ossian.

Answers and user text are written as they are (they are Markdown already). Reasoning and tool calls
are either collapsible `<details>` sections (GitHub, most Markdown viewers and Ossian itself fold them)
or left out, as the user chooses. Code blocks get a fence longer than any backtick run inside them, so
no content can end its block early.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from app.store.records import Attachment, MessageRecord, Transcript
from app.text_safety import shown_name

ROLE_HEADINGS = {"user": "User", "assistant": "Assistant", "tool": "Assistant", "system": "System",
                 "developer": "Developer"}
_BACKTICKS = re.compile(r"`+")
_CLOSING_DETAILS = re.compile(r"</details\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class MarkdownOptions:
    include_reasoning: bool = True  # as collapsible sections; False leaves reasoning out
    include_tool_calls: bool = True  # calls with their results, collapsible; False leaves them out
    # message id -> the text to write instead of its content (answers with citations named by file)
    shown_texts: Mapping[int, str] = field(default_factory=dict)


def transcript_to_markdown(transcript: Transcript, options: MarkdownOptions | None = None) -> str:
    options = options or MarkdownOptions()
    conversation = transcript.conversation
    # Names came from outside (a typed or generated title, a GGUF's model name, a document's file name):
    # bidirectional controls in them are written visibly, so the export reads as the names hold.
    lines = [f"# {shown_name(conversation.title)}", ""]
    if conversation.model:
        lines.append(f"- Model: {shown_name(conversation.model)}")
    lines += [
        f"- Reasoning effort: {conversation.reasoning_effort}",
        f"- Started: {conversation.created_at:%Y-%m-%d %H:%M} UTC",
        "- Exported from Ossian",
        "",
    ]
    attachments: dict[int, list[Attachment]] = {}
    for attachment in transcript.attachments:
        attachments.setdefault(attachment.message_id, []).append(attachment)
    for heading, blocks in _sections(transcript.messages, attachments, options):
        lines += [f"## {heading}", ""]
        for block in blocks:
            lines += [block, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _sections(messages: tuple[MessageRecord, ...], attachments: dict[int, list[Attachment]],
              options: MarkdownOptions) -> Iterator[tuple[str, list[str]]]:
    """(heading, blocks) per speaker: one "Assistant" section holds a whole run of replies and tools."""
    by_id = {m.id: m for m in messages}
    shown_results = _result_links(messages)
    heading: str | None = None
    blocks: list[str] = []
    for message in messages:
        role_heading = ROLE_HEADINGS[message.role]
        if role_heading != heading or message.role == "user":
            if heading is not None and blocks:
                yield heading, blocks
            heading, blocks = role_heading, []
        blocks += _blocks(message, by_id, shown_results, attachments.get(message.id, []), options)
    if heading is not None and blocks:
        yield heading, blocks


def _result_links(messages: tuple[MessageRecord, ...]) -> dict[int, int]:
    """Tool call message id -> its result message id, from the recorded state or else by adjacency."""
    links: dict[int, int] = {}
    for index, message in enumerate(messages):
        if message.role != "assistant" or message.recipient is None:
            continue
        if message.tool_call is not None and message.tool_call.result_message_id is not None:
            links[message.id] = message.tool_call.result_message_id
        elif index + 1 < len(messages) and messages[index + 1].role == "tool":
            links[message.id] = messages[index + 1].id
    return links


def _blocks(message: MessageRecord, by_id: dict[int, MessageRecord], results: dict[int, int],
            attachments: list[Attachment], options: MarkdownOptions) -> list[str]:
    if message.role == "assistant" and message.recipient is not None:
        if not options.include_tool_calls:
            return []
        result = by_id.get(results.get(message.id, -1))
        return [_tool_call_block(message, result)]
    if message.role == "tool":
        if message.id in results.values() or not options.include_tool_calls:
            return []  # shown inside its call's section, or left out with the calls
        return [_details(f"Tool result: {message.name or 'tool'}", _fenced(message.content, ""))]
    if message.role == "assistant" and message.channel == "analysis":
        if not options.include_reasoning:
            return []
        return [_details("Reasoning", message.content.strip() + _status_note(message))]
    content = options.shown_texts.get(message.id, message.content)
    blocks = [content.strip() + _status_note(message)] if content.strip() else []
    if not blocks and message.status != "complete":
        blocks = [_status_note(message).strip()]
    if attachments:
        blocks.append("\n".join(f"- Attached: {_attachment_line(a)}" for a in attachments))
    return blocks


def _tool_call_block(call: MessageRecord, result: MessageRecord | None) -> str:
    facts: list[str] = []
    if call.tool_call is not None:
        facts.append(call.tool_call.state.replace("_", " "))
        if call.tool_call.duration_s is not None:
            facts.append(f"{call.tool_call.duration_s:.1f} s")
    summary = f"Tool call: {call.recipient}" + (f" ({', '.join(facts)})" if facts else "")
    language = "json" if call.content_type and "json" in call.content_type else ""
    body = ["**Arguments**", "", _fenced(call.content, language)]
    if result is not None:
        body += ["", "**Result**", "", _fenced(result.content, "")]
    if call.tool_call and call.tool_call.error:
        body += ["", f"Error: {call.tool_call.error}"]
    return _details(summary, "\n".join(body))


def _details(summary: str, body: str) -> str:
    # A blank line after <summary> lets Markdown inside the section render; a literal </details> in the
    # body would close the section early, so it is written as text.
    body = _CLOSING_DETAILS.sub("&lt;/details&gt;", body)
    return f"<details>\n<summary>{_escape_html(summary)}</summary>\n\n{body}\n\n</details>"


def _fenced(text: str, language: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip(chr(10))}\n{fence}"


def _status_note(message: MessageRecord) -> str:
    if message.status == "interrupted":
        return "\n\n*(Interrupted: this reply was cut off.)*"
    if message.status == "error":
        return f"\n\n*(Error: {message.error or 'the reply failed'})*"
    if message.status == "streaming":
        return "\n\n*(Still being written when exported.)*"
    return ""


def _attachment_line(attachment: Attachment) -> str:
    facts = []
    if attachment.page_count is not None:
        facts.append(f"{attachment.page_count:,} page" + ("s" if attachment.page_count != 1 else ""))
    facts.append(f"{attachment.token_count:,} tokens")
    return f"{shown_name(attachment.file_name)} ({', '.join(facts)})"


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
