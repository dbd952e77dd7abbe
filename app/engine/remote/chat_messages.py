"""A Harmony conversation told as OpenAI chat messages, for a server that renders the prompt itself.

The system message becomes the request's reasoning effort (the server writes its own system message);
the developer message's instructions a `system` chat message (gpt-oss templates turn that into the
developer message's instructions) and its function tools the request's `tools`; user text stays user
text; a tool call becomes an assistant message with `tool_calls` (ids made up in order, `call_1`, …) and
carries the reasoning that led to it (as `reasoning_content` for vLLM and LM Studio and `reasoning` for
Ollama: each reads one), its result a `tool` message answering that id. Reasoning that ended in a final
answer is dropped, as gpt-oss's own rendering drops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.harmony.messages import (
    ANALYSIS,
    ASSISTANT,
    COMMENTARY,
    DEVELOPER,
    FUNCTIONS_NAMESPACE,
    SYSTEM,
    TOOL,
    USER,
    DeveloperContent,
    Message,
    ReasoningEffort,
    SystemContent,
)
from app.harmony.tool_calls import is_tool_call

_FUNCTIONS = FUNCTIONS_NAMESPACE + "."


@dataclass
class ChatRequest:
    """The parts of a chat-completions body that come from the conversation."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    effort: ReasoningEffort | None = None


def chat_request(conversation: Sequence[Message]) -> ChatRequest:
    out = ChatRequest()
    reasoning: list[str] = []  # analysis since the last tool call or answer
    preamble: list[str] = []  # commentary to the user before a tool call
    unanswered: list[tuple[str, str]] = []  # (call id, tool name) in order
    calls = 0
    for message in conversation:
        if message.role == SYSTEM and isinstance(message.content, SystemContent):
            out.effort = message.content.reasoning_effort
        elif message.role == DEVELOPER and isinstance(message.content, DeveloperContent):
            if message.content.instructions:
                out.messages.append({"role": "system", "content": message.content.instructions})
            out.tools += [_tool(t.name, t.description, t.parameters) for namespace in message.content.tools
                          if namespace.name == FUNCTIONS_NAMESPACE for t in namespace.tools]
        elif message.role == USER:
            reasoning, preamble = [], []
            out.messages.append({"role": "user", "content": message.text})
        elif message.role == ASSISTANT and is_tool_call(message):
            calls += 1
            call_id = f"call_{calls}"
            name = (message.recipient or "").removeprefix(_FUNCTIONS)
            unanswered.append((call_id, name))
            said: dict[str, Any] = {
                "role": "assistant", "content": "\n\n".join(preamble) or None,
                "tool_calls": [{"id": call_id, "type": "function",
                                "function": {"name": name, "arguments": message.text or "{}"}}]}
            if reasoning:
                said["reasoning_content"] = said["reasoning"] = "\n\n".join(reasoning)
            out.messages.append(said)
            reasoning, preamble = [], []
        elif message.role == ASSISTANT and message.channel == ANALYSIS:
            reasoning.append(message.text)
        elif message.role == ASSISTANT and message.channel == COMMENTARY:
            preamble.append(message.text)
        elif message.role == ASSISTANT:
            text = "\n\n".join([*preamble, message.text])
            out.messages.append({"role": "assistant", "content": text})
            reasoning, preamble = [], []
        elif message.role == TOOL:
            name = (message.name or "").removeprefix(_FUNCTIONS)
            match = next((i for i, (_, called) in enumerate(unanswered) if called == name), None)
            call_id = unanswered.pop(match)[0] if match is not None else f"call_{calls}"
            out.messages.append({"role": "tool", "tool_call_id": call_id, "content": message.text})
    return out


def _tool(name: str, description: str, parameters: Any) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name, "description": description or ""}
    empty = {"type": "object", "properties": {}}
    function["parameters"] = parameters if isinstance(parameters, dict) else empty
    return {"type": "function", "function": function}
