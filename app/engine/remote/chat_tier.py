"""The chat tier: the server renders the prompt and parses the reply; Ossian turns what it streams back into
Harmony, so the window, the store and the tool loop see the same messages as from a local model.

`POST /v1/chat/completions` (streamed). Reasoning is read from both `reasoning_content` (vLLM, LM Studio,
llama-server) and `reasoning` (Ollama, newer vLLM); tool calls from `tool_calls` deltas; the effort is sent
the way each server reads it (`reasoning_effort`; LM Studio and Ollama also `reasoning: {effort}`, Ollama
`think: "low"|"medium"|"high"` too). What
comes back is written as Harmony tokens: each special by this engine's own id (`CHAT_SPECIAL_IDS`), text
as pieces, so a literal `<|end|>` in an answer stays text.

Servers that do not parse gpt-oss's output leak it into `content`, two ways: with the specials written
(`<|channel|>analysis<|message|>…`), read here as Harmony; or with them stripped (`analysis…assistantfinal…`,
the familiar failure of templates that skip special tokens), split here into reasoning and answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from app.engine.interface import (
    Done,
    DoneReason,
    EngineCapabilities,
    GenerateRequest,
    GenerationEvent,
    TokenEvent,
)
from app.engine.remote.base import TEXT_ID, RemoteEngine, StreamHandle, number, text_events
from app.engine.remote.chat_messages import chat_request
from app.engine.remote.probe import ServerModel
from app.harmony.segments import CALL, CHANNEL, CONSTRAIN, END, MESSAGE, RETURN, SPECIAL_TOKENS, START

CHAT_SPECIAL_IDS: dict[str, int] = {token: -100 - index for index, token in enumerate(SPECIAL_TOKENS)}
_STRIPPED_ANSWER = "assistantfinal"  # where a stripped leak's reasoning ends and its answer starts
_LEAK_PREFIXES = (CHANNEL, START, MESSAGE)
CHARS_PER_TOKEN = 4  # an estimate for servers that cannot count (gpt-oss's o200k: ~4 characters of English)


class ChatServerEngine(RemoteEngine):
    """Ollama, LM Studio, llama-cpp-python's server or any OpenAI-compatible chat server."""

    @property
    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(tokenize=False, grammar=False, stream="token_ids", load_plans=False,
                                  renders="server")

    def special_ids(self, served: ServerModel) -> dict[str, int]:
        return dict(CHAT_SPECIAL_IDS)

    def count_text(self, text: str) -> int:
        if not text:
            return 0
        if self.info.kind == "llama-cpp-python":
            reply = self.client.post_json("/extras/tokenize/count", {"input": text}, quiet=True)
            if isinstance(reply, dict) and isinstance(reply.get("count"), int):
                return int(reply["count"])
        return math.ceil(len(text) / CHARS_PER_TOKEN)

    def stream(self, request: GenerateRequest, handle: StreamHandle) -> Iterator[GenerationEvent]:
        assert request.conversation is not None and self._served is not None
        asked = chat_request(request.conversation)
        sampling = request.sampling
        body: dict[str, Any] = {
            "model": self._served.name, "messages": asked.messages, "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": sampling.temperature, "top_p": sampling.top_p,
        }
        if asked.tools:
            body["tools"] = asked.tools
        if sampling.max_tokens is not None:
            body["max_tokens"] = sampling.max_tokens
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if asked.effort is not None:
            body["reasoning_effort"] = asked.effort.value
            if self.info.kind in ("ollama", "lm-studio"):
                body["reasoning"] = {"effort": asked.effort.value}
            if self.info.kind == "ollama":
                body["think"] = asked.effort.value  # Ollama's own word for it (docs/api.md, gpt-oss levels)
        writer = HarmonyWriter()
        finish: str | None = None
        usage: dict[str, Any] = {}
        for chunk in self.client.stream("/v1/chat/completions", body, handle.attach):
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or choice.get("message") or {}
                yield from writer.delta(delta)
                finish = choice.get("finish_reason") or finish
        reason: DoneReason = {"length": "length", "tool_calls": "call"}.get(finish or "", "return")
        if writer.calls and reason == "return":
            reason = "call"  # some servers say "stop" after a tool call
        yield from writer.finish(reason)
        details = usage.get("prompt_tokens_details") or {}
        prompt_tokens = int(number(usage.get("prompt_tokens")))
        cached = int(number(details.get("cached_tokens")))
        yield Done(reason, prompt_tokens=prompt_tokens, reused_tokens=cached,
                   evaluated_tokens=prompt_tokens - cached,
                   generated_tokens=int(number(usage.get("completion_tokens"), writer.pieces)))


class HarmonyWriter:
    """Chat deltas in, Harmony tokens out: one message per switch between reasoning, answer and each call."""

    def __init__(self) -> None:
        self._open: str | None = None  # "reasoning", "answer", "call:<index>", "leak"
        self._started = False  # a message was written (the next one needs `<|start|>assistant`)
        self._calls: dict[int, dict[str, str]] = {}  # index -> name, arguments held until the name is known
        self._content_head = ""  # the answer's first characters, held until a leak can be told apart
        self._stripped: str | None = None  # the whole content, when it looks like a stripped leak
        self.calls = 0
        self.pieces = 0

    def delta(self, delta: dict[str, Any]) -> Iterator[TokenEvent]:
        for key in ("reasoning_content", "reasoning", "thinking"):
            text = delta.get(key)
            if isinstance(text, str) and text:
                yield from self._text("reasoning", ANALYSIS_HEADER, text)
                break
        content = delta.get("content")
        if isinstance(content, str) and content:
            yield from self._content(content)
        for call in delta.get("tool_calls") or []:
            yield from self._call(call)

    def finish(self, reason: DoneReason) -> Iterator[TokenEvent]:
        if self._stripped is not None:
            yield from self._split_stripped(self._stripped)
            self._stripped = None
        elif self._content_head:
            head, self._content_head = self._content_head, ""
            yield from self._text("answer", FINAL_HEADER, head)
        for index in sorted(self._calls):  # calls whose name never came are not calls
            self._calls.pop(index)
        if self._open is not None and self._open != "leak":
            # A cut-off reply (length) leaves its last message open, as a local model's would be.
            if reason != "length":
                yield from self._special(CALL if self._open.startswith("call:") else
                                         RETURN if self._open == "answer" else END)
            self._open = None

    # -------------------------------------------------------------------------------- pieces

    def _content(self, text: str) -> Iterator[TokenEvent]:
        if self._open == "leak":
            yield from self._leaked(text)
            return
        if self._stripped is not None:
            self._stripped += text
            return
        if self._open != "answer" and not self._started:
            # Only a reply's very first text can be a leak; hold it until it can be told apart.
            self._content_head += text
            head = self._content_head.lstrip()
            if len(head) < 12 and any(p.startswith(head) for p in (*_LEAK_PREFIXES, "analysis")):
                return
            self._content_head = ""
            if head.startswith(_LEAK_PREFIXES):
                self._open = "leak"
                yield from self._leaked(head.removeprefix(START).removeprefix("assistant"))
                return
            if head.startswith("analysis"):
                self._stripped = head
                return
            text = head
        yield from self._text("answer", FINAL_HEADER, text)

    def _leaked(self, text: str) -> Iterator[TokenEvent]:
        for event in text_events(text, CHAT_SPECIAL_IDS):
            self._started = True
            self.pieces += 1
            yield event

    def _split_stripped(self, whole: str) -> Iterator[TokenEvent]:
        body = whole[len("analysis"):]
        cut = body.find(_STRIPPED_ANSWER)
        if cut == -1:
            yield from self._text("answer", FINAL_HEADER, whole)
            return
        yield from self._text("reasoning", ANALYSIS_HEADER, body[:cut])
        yield from self._text("answer", FINAL_HEADER, body[cut + len(_STRIPPED_ANSWER):])

    def _call(self, call: dict[str, Any]) -> Iterator[TokenEvent]:
        index = int(call.get("index", len(self._calls)))
        function = call.get("function") or {}
        held = self._calls.setdefault(index, {"name": "", "arguments": ""})
        held["name"] += str(function.get("name") or "")
        held["arguments"] += str(function.get("arguments") or "")
        key = f"call:{index}"
        if not held["name"]:
            return
        if self._open != key:
            yield from self._close()
            yield from self._header(["commentary", f" to=functions.{held['name']} "], constrain=True)
            self._open = key
            self.calls += 1
        if held["arguments"]:
            yield self._piece(held["arguments"])
            held["arguments"] = ""

    def _text(self, kind: str, header: list[str], text: str) -> Iterator[TokenEvent]:
        if self._open != kind:
            yield from self._close()
            yield from self._header(header)
            self._open = kind
        if text:
            yield self._piece(text)

    def _close(self) -> Iterator[TokenEvent]:
        if self._open is None or self._open == "leak":
            if self._open == "leak":
                self._open = None
            return
        yield from self._special(CALL if self._open.startswith("call:") else END)
        self._open = None

    def _header(self, channel: list[str], *, constrain: bool = False) -> Iterator[TokenEvent]:
        if self._started:
            yield from self._special(START)
            yield self._piece("assistant")
        self._started = True
        yield from self._special(CHANNEL)
        for part in channel:
            yield self._piece(part)
        if constrain:
            yield from self._special(CONSTRAIN)
            yield self._piece("json")
        yield from self._special(MESSAGE)

    def _special(self, token: str) -> Iterator[TokenEvent]:
        yield TokenEvent(CHAT_SPECIAL_IDS[token], b"")

    def _piece(self, text: str) -> TokenEvent:
        self.pieces += 1
        return TokenEvent(TEXT_ID, text.encode())


ANALYSIS_HEADER = ["analysis"]
FINAL_HEADER = ["final"]
