"""`POST /v1/chat/completions`: OpenAI's Chat Completions, to and from a Harmony completion.

Reading: system and developer messages become the developer message's instructions (as gpt-oss's own
servers do), user messages user ones; an assistant message becomes its reasoning (`reasoning_content` or
`reasoning`, kept only within the turn still in progress, as Harmony drops earlier chain of thought), its
tool calls (commentary, `to=functions.NAME`, JSON) and its text (final; a preamble when it came with
calls); a tool message becomes the result of the call its `tool_call_id` names.

Writing: `final` text is `content`, `analysis` text is `reasoning_content` and, mirrored for clients that
read the other name, `reasoning`; a commentary preamble is content too; a call is a `tool_calls` entry.
Streamed, each parse event becomes one chunk as it arrives (`data: {...}`), then a chunk with the
`finish_reason`, the usage chunk when `stream_options.include_usage` asks for it, and `data: [DONE]`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app import harmony
from app.api import reading
from app.api.errors import bad_request
from app.chat.completion import CompletionRequest, CompletionResult, Usage, prompt_settings, tool_call_out

# A completion cut short by a client that went away never reaches it; "stop" keeps the field valid.
_FINISH = {"stop": "stop", "tool_calls": "tool_calls", "length": "length", "cancelled": "stop",
           "error": "stop"}


@dataclass(frozen=True)
class ChatCall:
    """A Chat Completions request, read."""

    completion: CompletionRequest
    stream: bool
    include_usage: bool
    tools: reading.Tools


def read_request(body: Mapping[str, Any]) -> ChatCall:
    messages_json = reading.require_list(body.get("messages"), "messages")
    if not messages_json:
        raise bad_request("`messages` must hold at least one message.", "messages")
    tools = reading.tools_of(body.get("tools"), body.get("tool_choice"), nested=True)
    reading.refuse_response_format(body.get("response_format"), "response_format")
    instructions: list[str] = []
    messages: list[harmony.Message] = []
    call_names: dict[str, str] = {}
    for index, raw in enumerate(messages_json):
        where = f"messages[{index}]"
        message = reading.require_object(raw, where)
        role = message.get("role")
        if role in ("system", "developer"):
            instructions.append(reading.text_of(message.get("content"), f"{where}.content"))
        elif role == "user":
            messages.append(harmony.Message(harmony.USER, reading.text_of(message.get("content"),
                                                                          f"{where}.content")))
        elif role == "assistant":
            messages += _assistant_messages(message, where, tools, call_names)
        elif role == "tool":
            call_id = message.get("tool_call_id")
            name = call_names.get(call_id) if isinstance(call_id, str) else None
            name = name or message.get("name")
            if not isinstance(name, str) or not name:
                raise bad_request(f"`{where}.tool_call_id` names no tool call of an earlier assistant "
                                  "message.", f"{where}.tool_call_id")
            output = reading.text_of(message.get("content"), f"{where}.content")
            messages.append(reading.tool_result_message(name, output, tools))
        else:
            raise bad_request(f"`{where}.role` must be system, developer, user, assistant or tool, not "
                              f"{role!r}.", f"{where}.role")
    stream = bool(body.get("stream"))
    options = body.get("stream_options")
    include_usage = stream and isinstance(options, Mapping) and bool(options.get("include_usage"))
    settings = prompt_settings(reading.effort_of(body),
                               instructions="\n\n".join(t for t in instructions if t) or None,
                               functions=tools.functions)
    sampling = reading.sampling_of(body, ("max_completion_tokens", "max_tokens"))
    completion = CompletionRequest(tuple(messages), settings, sampling, reading.grammar_of(body),
                                   stop=reading.stop_of(body))
    return ChatCall(reading.with_tool_choice(completion, tools), stream, include_usage, tools)


def _assistant_messages(message: Mapping[str, Any], where: str, tools: reading.Tools,
                        call_names: dict[str, str]) -> list[harmony.Message]:
    out: list[harmony.Message] = []
    reasoning = message.get("reasoning_content", message.get("reasoning"))
    if isinstance(reasoning, str) and reasoning:
        out.append(harmony.Message(harmony.ASSISTANT, reasoning, channel=harmony.ANALYSIS))
    calls = message.get("tool_calls") or []
    text = reading.text_of(message.get("content"), f"{where}.content")
    if text:
        # Text that came with calls was said before them: gpt-oss's preamble, on commentary.
        channel = harmony.COMMENTARY if calls else harmony.FINAL
        out.append(harmony.Message(harmony.ASSISTANT, text, channel=channel))
    for number, raw in enumerate(reading.require_list(calls, f"{where}.tool_calls")):
        call_where = f"{where}.tool_calls[{number}]"
        call = reading.require_object(raw, call_where)
        function = reading.require_object(call.get("function"), f"{call_where}.function")
        name, arguments = function.get("name"), function.get("arguments", "")
        if not isinstance(name, str) or not name or not isinstance(arguments, str):
            raise bad_request(f"`{call_where}.function` needs a name and its arguments as a string.",
                              f"{call_where}.function")
        if isinstance(call.get("id"), str):
            call_names[call["id"]] = name
        out.append(reading.tool_call_message(name, arguments, tools))
    return out


def new_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


def usage_json(usage: Usage) -> dict[str, Any]:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens}}


def response_json(result: CompletionResult, model: str, completion_id: str | None = None) -> dict[str, Any]:
    """The whole reply of a request that did not stream."""
    calls = [{"id": new_call_id(), "type": "function",
              "function": {"name": call.name, "arguments": call.arguments}} for call in result.tool_calls]
    text = result.answer or result.preamble
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None,
                               "refusal": None}
    if result.reasoning:
        message["reasoning_content"] = message["reasoning"] = result.reasoning
    if calls:
        message["tool_calls"] = calls
    return {"id": completion_id or new_id(), "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": None,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": _FINISH[result.finish_reason]}],
            "usage": usage_json(result.usage)}


class ChatStream:
    """Turns parse events into `chat.completion.chunk` SSE lines, one chunk per event that says something."""

    def __init__(self, model: str, include_usage: bool, function_names: frozenset[str] = frozenset()) -> None:
        self._id = new_id()
        self._created = int(time.time())
        self._model = model
        self._include_usage = include_usage
        self._function_names = function_names
        self._kinds: dict[int, harmony.DisplayKind] = {}
        self._calls: dict[int, int] = {}  # parse index -> tool_calls index
        self._started = False

    def on_event(self, event: harmony.ParseEvent, cut_off: bool = False) -> list[str]:
        if isinstance(event, harmony.MessageStarted):
            message = harmony.Message(event.role if event.role in harmony.ROLES else harmony.ASSISTANT,
                                      channel=event.channel, recipient=event.recipient)
            kind = self._kinds[event.index] = harmony.display_kind(message)
            if kind != harmony.DisplayKind.TOOL_CALL:
                return self._opening()
            number = self._calls[event.index] = len(self._calls)
            name = tool_call_out(message, self._function_names).name
            return [*self._opening(), self._chunk({"tool_calls": [
                {"index": number, "id": new_call_id(), "type": "function",
                 "function": {"name": name, "arguments": ""}}]})]
        if isinstance(event, harmony.TextDelta) and event.text:
            kind = self._kinds.get(event.index)
            if kind == harmony.DisplayKind.THINKING:
                delta: dict[str, Any] = {"reasoning_content": event.text, "reasoning": event.text}
            elif kind == harmony.DisplayKind.TOOL_CALL:
                delta = {"tool_calls": [{"index": self._calls[event.index],
                                         "function": {"arguments": event.text}}]}
            elif kind in (harmony.DisplayKind.ANSWER, harmony.DisplayKind.PREAMBLE):
                delta = {"content": event.text}
            else:
                return []
            return [*self._opening(), self._chunk(delta)]
        return []

    def end(self, result: CompletionResult) -> list[str]:
        if result.error is not None:
            error = {"error": {"message": result.error.message, "type": "server_error", "param": None,
                               "code": f"engine_{result.error.kind}"}}
            return [*self._opening(), _data(error), "data: [DONE]\n\n"]
        lines = [*self._opening(), self._chunk({}, _FINISH[result.finish_reason])]
        if self._include_usage:
            lines.append(_data({"id": self._id, "object": "chat.completion.chunk", "created": self._created,
                                "model": self._model, "system_fingerprint": None, "choices": [],
                                "usage": usage_json(result.usage)}))
        lines.append("data: [DONE]\n\n")
        return lines

    def _opening(self) -> list[str]:
        if self._started:
            return []
        self._started = True
        return [self._chunk({"role": "assistant", "content": "", "refusal": None})]

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> str:
        chunk: dict[str, Any] = {
            "id": self._id, "object": "chat.completion.chunk", "created": self._created, "model": self._model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}
        if self._include_usage:
            chunk["usage"] = None
        return _data(chunk)


def _data(value: Any) -> str:
    return "data: " + json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n\n"
