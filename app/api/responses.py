"""`POST /v1/responses`: OpenAI's Responses API, stateless, to and from a Harmony completion.

Stateless: nothing is stored, so `previous_response_id` and item references are refused with a sentence
saying to send the whole conversation (Codex CLI does, with `store: false`). Reading `input`: a string
is one user message; `message` items by role (system and developer ones join `instructions` in the
developer message), `function_call` items become the assistant's calls, `function_call_output` items the
results of the calls their `call_id` names, and `reasoning` items (their `content`, else their summary)
the assistant's analysis, which Harmony keeps only within the turn still in progress.

Writing: each Harmony message is one output item: `analysis` a `reasoning` item (its text as
`reasoning_text` content), `final` a `message` item (`phase: final_answer`), a commentary preamble a
`message` item (`phase: commentary`), a call a `function_call` item. Streamed, the events follow the
sequence the `openai` SDK's `responses.stream()` and Codex CLI read: `response.created`,
`response.in_progress`, then per item `response.output_item.added`, `response.content_part.added`,
the deltas (`response.output_text.delta`, `response.reasoning_text.delta`,
`response.function_call_arguments.delta`), their `.done` events, `response.output_item.done`, and last
`response.completed` with the usage (`response.incomplete` when a token limit cut the reply, as OpenAI
does; `response.failed` when the engine failed).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app import harmony
from app.api import reading
from app.api.errors import bad_request
from app.chat.completion import CompletionRequest, CompletionResult, Usage, prompt_settings, tool_call_out


@dataclass(frozen=True)
class ResponsesCall:
    """A Responses request, read; `echo` holds the request fields a response object repeats."""

    completion: CompletionRequest
    stream: bool
    tools: reading.Tools
    echo: dict[str, Any] = field(default_factory=dict)


def read_request(body: Mapping[str, Any]) -> ResponsesCall:
    if body.get("previous_response_id"):
        raise bad_request("This server keeps no responses (it is stateless): send the whole conversation in "
                          "`input` instead of `previous_response_id`.", "previous_response_id")
    tools = reading.tools_of(body.get("tools"), body.get("tool_choice"), nested=False)
    text_options = body.get("text")
    if isinstance(text_options, Mapping):
        reading.refuse_response_format(text_options.get("format"), "text.format")
    instructions: list[str] = []
    top = body.get("instructions")
    if top is not None:
        if not isinstance(top, str):
            raise bad_request("`instructions` must be a string.", "instructions")
        instructions.append(top)
    messages = _input_messages(body.get("input"), tools, instructions)
    settings = prompt_settings(reading.effort_of(body),
                               instructions="\n\n".join(t for t in instructions if t) or None,
                               functions=tools.functions)
    sampling = reading.sampling_of(body, ("max_output_tokens",))
    completion = reading.with_tool_choice(
        CompletionRequest(tuple(messages), settings, sampling, reading.grammar_of(body)), tools)
    echo = {
        "instructions": top, "max_output_tokens": sampling.max_tokens, "temperature": sampling.temperature,
        "top_p": sampling.top_p, "tools": body.get("tools") or [],
        "tool_choice": body.get("tool_choice", "auto"),
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "reasoning": {"effort": settings.reasoning_effort, "summary": None},
        "metadata": body.get("metadata") or {},
    }
    return ResponsesCall(completion, bool(body.get("stream")), tools, echo)


def _input_messages(value: Any, tools: reading.Tools, instructions: list[str]) -> list[harmony.Message]:
    if isinstance(value, str):
        return [harmony.Message(harmony.USER, value)]
    items = reading.require_list(value, "input")
    messages: list[harmony.Message] = []
    call_names: dict[str, str] = {}
    for index, raw in enumerate(items):
        where = f"input[{index}]"
        item = reading.require_object(raw, where)
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            role = item.get("role")
            text = reading.text_of(item.get("content"), f"{where}.content")
            if role in ("system", "developer"):
                instructions.append(text)
            elif role == "user":
                messages.append(harmony.Message(harmony.USER, text))
            elif role == "assistant":
                channel = harmony.COMMENTARY if item.get("phase") == "commentary" else harmony.FINAL
                messages.append(harmony.Message(harmony.ASSISTANT, text, channel=channel))
            else:
                raise bad_request(f"`{where}.role` must be user, assistant, system or developer, not "
                                  f"{role!r}.", f"{where}.role")
        elif kind == "function_call":
            name, arguments, call_id = item.get("name"), item.get("arguments", ""), item.get("call_id")
            if not isinstance(name, str) or not name or not isinstance(arguments, str):
                raise bad_request(f"`{where}` needs a name and its arguments as a string.", where)
            if isinstance(call_id, str):
                call_names[call_id] = name
            messages.append(reading.tool_call_message(name, arguments, tools))
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            name = call_names.get(call_id) if isinstance(call_id, str) else None
            if name is None:
                raise bad_request(f"`{where}.call_id` names no function_call earlier in `input`; this server "
                                  "is stateless, so the call must be sent with its output.",
                                  f"{where}.call_id")
            output = reading.text_of(item.get("output"), f"{where}.output")
            messages.append(reading.tool_result_message(name, output, tools))
        elif kind == "reasoning":
            text = reading.text_of(item.get("content"), f"{where}.content") \
                or "\n\n".join(filter(None, [reading.text_of([part], f"{where}.summary")
                                             for part in item.get("summary") or []]))
            if text:
                messages.append(harmony.Message(harmony.ASSISTANT, text, channel=harmony.ANALYSIS))
        elif kind == "item_reference":
            raise bad_request("This server keeps no items (it is stateless): send the item itself, not a "
                              "reference to it.", where)
        else:
            raise bad_request(f"`{where}` is of type {kind!r}, which this server does not take (it takes "
                              "message, function_call, function_call_output and reasoning items).", where)
    return messages


def new_response_id() -> str:
    return "resp_" + secrets.token_hex(16)


def usage_json(usage: Usage) -> dict[str, Any]:
    return {"input_tokens": usage.prompt_tokens,
            "input_tokens_details": {"cached_tokens": usage.cached_tokens},
            "output_tokens": usage.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
            "total_tokens": usage.total_tokens}


def response_object(response_id: str, model: str, call: ResponsesCall, created: int,
                    status: str = "in_progress", output: list[dict[str, Any]] | None = None,
                    result: CompletionResult | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": response_id, "object": "response", "created_at": created, "status": status, "model": model,
        "output": output if output is not None else [], "error": None, "incomplete_details": None,
        "usage": None, "store": False, "text": {"format": {"type": "text"}}, "truncation": "disabled",
        **call.echo,
    }
    if result is not None:
        body["usage"] = usage_json(result.usage)
        if result.error is not None:
            body["error"] = {"code": "server_error", "message": result.error.message}
        elif result.finish_reason == "length":
            body["incomplete_details"] = {"reason": "max_output_tokens"}
    return body


def final_status(result: CompletionResult) -> str:
    if result.error is not None:
        return "failed"
    return "incomplete" if result.finish_reason in ("length", "cancelled") else "completed"


def response_json(result: CompletionResult, model: str, call: ResponsesCall) -> dict[str, Any]:
    """The whole response of a request that did not stream."""
    items = _Items(call.tools.names)
    output = [items.finished(message, complete=True) for message in result.messages]
    if result.partial is not None:
        output.append(items.finished(result.partial, complete=False))
    return response_object(new_response_id(), model, call, int(time.time()), final_status(result), output,
                           result)


class _Items:
    """Output items for Harmony messages, each with its own id."""

    def __init__(self, function_names: frozenset[str]) -> None:
        self._function_names = function_names

    def kind(self, message: harmony.Message) -> harmony.DisplayKind:
        return harmony.display_kind(message)

    def opened(self, message: harmony.Message) -> dict[str, Any]:
        """The item as `output_item.added` shows it: no text yet."""
        kind = self.kind(message)
        if kind == harmony.DisplayKind.TOOL_CALL:
            call = tool_call_out(message, self._function_names)
            return {"type": "function_call", "id": "fc_" + secrets.token_hex(12),
                    "call_id": "call_" + secrets.token_hex(12), "name": call.name, "arguments": "",
                    "status": "in_progress"}
        if kind == harmony.DisplayKind.THINKING:
            return {"type": "reasoning", "id": "rs_" + secrets.token_hex(12), "summary": [], "content": [],
                    "encrypted_content": None, "status": "in_progress"}
        phase = "commentary" if kind == harmony.DisplayKind.PREAMBLE else "final_answer"
        return {"type": "message", "id": "msg_" + secrets.token_hex(12), "role": "assistant",
                "status": "in_progress", "content": [], "phase": phase}

    def closed(self, item: dict[str, Any], text: str, complete: bool) -> dict[str, Any]:
        """The item as `output_item.done` and the response show it."""
        done = dict(item, status="completed" if complete else "incomplete")
        if item["type"] == "function_call":
            done["arguments"] = text
        elif item["type"] == "reasoning":
            done["content"] = [_reasoning_part(text)]
        else:
            done["content"] = [_text_part(text)]
        return done

    def finished(self, message: harmony.Message, complete: bool) -> dict[str, Any]:
        return self.closed(self.opened(message), message.text, complete)


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _reasoning_part(text: str) -> dict[str, Any]:
    return {"type": "reasoning_text", "text": text}


@dataclass
class _Open:
    output_index: int
    item: dict[str, Any]
    parts: list[str] = field(default_factory=list)


class ResponsesStream:
    """Turns parse events into the Responses API's SSE events (`event: TYPE` and `data: {...}`)."""

    def __init__(self, model: str, call: ResponsesCall) -> None:
        self._id = new_response_id()
        self._created = int(time.time())
        self._model = model
        self._call = call
        self._items = _Items(call.tools.names)
        self._sequence = 0
        self._started = False
        self._open: dict[int, _Open] = {}
        self._output: list[dict[str, Any]] = []

    def on_event(self, event: harmony.ParseEvent, cut_off: bool = False) -> list[str]:
        if isinstance(event, harmony.TextDelta):
            current = self._open.get(event.index)
            if current is None or not event.text:
                return []
            current.parts.append(event.text)
            return [self._delta(current, event.text)]
        if isinstance(event, harmony.MessageStarted):
            message = harmony.Message(event.role if event.role in harmony.ROLES else harmony.ASSISTANT,
                                      channel=event.channel, recipient=event.recipient)
            item = self._items.opened(message)
            current = self._open[event.index] = _Open(len(self._output), item)
            self._output.append(item)
            lines = [*self._opening(),
                     self._event("response.output_item.added", output_index=current.output_index, item=item)]
            if item["type"] != "function_call":
                part = _reasoning_part("") if item["type"] == "reasoning" else _text_part("")
                lines.append(self._event("response.content_part.added", item_id=item["id"],
                                         output_index=current.output_index, content_index=0, part=part))
            return lines
        if isinstance(event, harmony.MessageEnded):
            current = self._open.pop(event.index, None)
            return [] if current is None else self._close(current, complete=not cut_off)
        return []

    def end(self, result: CompletionResult) -> list[str]:
        lines = self._opening()
        for current in list(self._open.values()):
            lines += self._close(current, complete=False)
        self._open.clear()
        status = final_status(result)
        response = response_object(self._id, self._model, self._call, self._created, status, self._output,
                                    result)
        kind = {"completed": "response.completed", "incomplete": "response.incomplete",
                "failed": "response.failed"}[status]
        return [*lines, self._event(kind, response=response)]

    # -------------------------------------------------------------------------------------- pieces

    def _opening(self) -> list[str]:
        if self._started:
            return []
        self._started = True
        response = response_object(self._id, self._model, self._call, self._created)
        return [self._event("response.created", response=response),
                self._event("response.in_progress", response=response)]

    def _delta(self, current: _Open, text: str) -> str:
        item = current.item
        if item["type"] == "function_call":
            return self._event("response.function_call_arguments.delta", item_id=item["id"],
                               output_index=current.output_index, delta=text)
        if item["type"] == "reasoning":
            return self._event("response.reasoning_text.delta", item_id=item["id"],
                               output_index=current.output_index, content_index=0, delta=text)
        return self._event("response.output_text.delta", item_id=item["id"],
                           output_index=current.output_index, content_index=0, delta=text, logprobs=[])

    def _close(self, current: _Open, complete: bool) -> list[str]:
        text = "".join(current.parts)
        item = self._items.closed(current.item, text, complete)
        self._output[current.output_index] = item
        index, item_id = current.output_index, item["id"]
        if item["type"] == "function_call":
            lines = [self._event("response.function_call_arguments.done", item_id=item_id, output_index=index,
                                 name=item["name"], arguments=text)]
        elif item["type"] == "reasoning":
            lines = [self._event("response.reasoning_text.done", item_id=item_id, output_index=index,
                                 content_index=0, text=text),
                     self._event("response.content_part.done", item_id=item_id, output_index=index,
                                 content_index=0, part=_reasoning_part(text))]
        else:
            lines = [self._event("response.output_text.done", item_id=item_id, output_index=index,
                                 content_index=0, text=text, logprobs=[]),
                     self._event("response.content_part.done", item_id=item_id, output_index=index,
                                 content_index=0, part=_text_part(text))]
        return [*lines, self._event("response.output_item.done", output_index=index, item=item)]

    def _event(self, kind: str, **fields: Any) -> str:
        payload = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return f"event: {kind}\ndata: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n"
