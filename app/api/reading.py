"""What both endpoints read the same way: content, tools, effort, sampling, and tool names to recipients.

Each reader checks the JSON it is given and raises `ApiError` (400, naming the parameter) for what it
cannot use, so a client learns what to change instead of getting a reply to a question it did not ask.
Only function tools reach the model: no builtin tool (python, the browser) is ever declared, and a tool of
another type in a request is left out, so nothing the API receives can make Ossian run code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app import harmony
from app.api.errors import bad_request
from app.chat.completion import CompletionRequest
from app.chat.stops import MAX_STOPS
from app.chat.tool_grammar import SUPPRESSED_ENDS, tool_call_grammar
from app.engine.interface import SamplingSettings
from app.harmony.errors import HarmonyFormatError

log = logging.getLogger(__name__)

TEXT_PARTS = frozenset({"text", "input_text", "output_text", "summary_text", "reasoning_text", "refusal"})
# OpenAI's efforts beyond gpt-oss's three, read as the nearest one gpt-oss has.
_EFFORTS = {"none": "low", "minimal": "low", "low": "low", "medium": "medium", "high": "high",
            "xhigh": "high"}
_JSON_CONTENT_TYPE = "<|constrain|>json"
# What llama-server's `ignore_eos` keeps from being sampled: every token that would end the reply.
_END_TOKENS = (*harmony.STOP_TOKENS, "<|endoftext|>")


@dataclass(frozen=True)
class Tools:
    """The function tools a request offers the model, by name."""

    functions: tuple[harmony.ToolDescription, ...] = ()
    # `tool_choice` "required" or a function by name: the reply must call one of these (by a grammar)
    forced: tuple[str, ...] = ()

    @property
    def names(self) -> frozenset[str]:
        return frozenset(tool.name for tool in self.functions)


def require_object(value: Any, param: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise bad_request(f"`{param}` must be a JSON object.", param)
    return value


def require_list(value: Any, param: str) -> list[Any]:
    if not isinstance(value, list):
        raise bad_request(f"`{param}` must be an array.", param)
    return value


def text_of(content: Any, param: str) -> str:
    """Message content as text: a string, or an array of text parts (joined). Images are refused: gpt-oss
    reads text only."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = require_list(content, param)
    texts: list[str] = []
    for index, part in enumerate(parts):
        if isinstance(part, str):
            texts.append(part)
            continue
        part = require_object(part, f"{param}[{index}]")
        kind = part.get("type")
        if kind in TEXT_PARTS:
            text = part.get("text", part.get("refusal", ""))
            if not isinstance(text, str):
                raise bad_request(f"`{param}[{index}].text` must be a string.", f"{param}[{index}].text")
            texts.append(text)
        elif kind in ("image_url", "input_image", "input_audio", "input_file", "file"):
            raise bad_request(f"`{param}[{index}]` is of type {kind}: gpt-oss reads text only.",
                              f"{param}[{index}]", "unsupported_content")
        else:
            raise bad_request(f"`{param}[{index}]` has an unknown content type {kind!r}.",
                              f"{param}[{index}]")
    return "".join(texts)


def effort_of(body: Mapping[str, Any]) -> harmony.ReasoningEffort:
    """`reasoning_effort` (Chat Completions, also sent by some clients to Responses) or `reasoning.effort`."""
    value = body.get("reasoning_effort")
    param = "reasoning_effort"
    reasoning = body.get("reasoning")
    if value is None and isinstance(reasoning, Mapping):
        value, param = reasoning.get("effort"), "reasoning.effort"
    if value is None:
        return harmony.ReasoningEffort.MEDIUM
    effort = _EFFORTS.get(str(value).lower()) if isinstance(value, str) else None
    if effort is None:
        raise bad_request(f"`{param}` must be low, medium or high, not {value!r}.", param)
    return harmony.ReasoningEffort(effort)


def sampling_of(body: Mapping[str, Any], max_token_keys: Sequence[str]) -> SamplingSettings:
    """Temperature, top_p, seed and the first of `max_token_keys` present; gpt-oss's defaults otherwise.
    llama-server's `ignore_eos` (benchmarks: a reply exactly `max_tokens` long) is read too."""
    if body.get("n") not in (None, 1):
        raise bad_request("`n` must be 1: this server writes one reply per request.", "n")
    temperature = _number(body, "temperature", 1.0, 0.0, 2.0)
    top_p = _number(body, "top_p", 1.0, 0.0, 1.0)
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise bad_request("`seed` must be an integer.", "seed")
    max_tokens = None
    for key in max_token_keys:
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise bad_request(f"`{key}` must be a whole number of at least 1.", key)
        max_tokens = value
        break
    ignore_eos = body.get("ignore_eos")
    if ignore_eos not in (None, True, False):
        raise bad_request("`ignore_eos` must be true or false.", "ignore_eos")
    if ignore_eos and max_tokens is None:
        raise bad_request("`ignore_eos` needs `max_tokens`: without an end token the reply would only stop "
                          "when the context is full.", "ignore_eos")
    return SamplingSettings(temperature=temperature, top_p=top_p, seed=seed, max_tokens=max_tokens,
                            suppress_specials=_END_TOKENS if ignore_eos else ())


def grammar_of(body: Mapping[str, Any]) -> str | None:
    """llama-server's `grammar` extension (GBNF, which may name Harmony specials), sent as `extra_body`."""
    grammar = body.get("grammar")
    if grammar is not None and (not isinstance(grammar, str) or not grammar.strip()):
        raise bad_request("`grammar` must be a GBNF grammar as text.", "grammar")
    return grammar


def refuse_response_format(value: Any, param: str) -> None:
    """Structured output is not offered yet: say so rather than answer in free text."""
    kind = value.get("type") if isinstance(value, Mapping) else value
    if kind not in (None, "text"):
        raise bad_request(f"`{param}` of type {kind!r} is not supported by this server; ask for JSON in the "
                          "instructions instead.", param, "unsupported_parameter")


def tools_of(tools: Any, tool_choice: Any, *, nested: bool) -> Tools:
    """Function tools, from Chat Completions' `{"type": "function", "function": {...}}` (`nested`) or the
    Responses API's flat `{"type": "function", "name": ...}`. Other tool types (web search, a shell of the
    client's own) are left out: the model only sees what the client will run as a function."""
    if tools is None or tool_choice == "none":
        return Tools()
    functions: list[harmony.ToolDescription] = []
    for index, tool in enumerate(require_list(tools, "tools")):
        tool = require_object(tool, f"tools[{index}]")
        if tool.get("type") != "function":
            log.info("api: tool %d of type %r left out (only function tools are offered)", index,
                     tool.get("type"))
            continue
        spec = require_object(tool.get("function"), f"tools[{index}].function") if nested else tool
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request(f"`tools[{index}]` needs a name.", f"tools[{index}].name")
        description = spec.get("description") or ""
        if not isinstance(description, str):
            raise bad_request(f"`tools[{index}].description` must be a string.",
                              f"tools[{index}].description")
        try:
            functions.append(harmony.ToolDescription(name, description, spec.get("parameters")))
        except HarmonyFormatError as exc:
            raise bad_request(f"`tools[{index}]`: {exc}", f"tools[{index}]") from None
    return Tools(tuple(functions), _forced(tool_choice, [f.name for f in functions], nested=nested))


def _forced(choice: Any, names: list[str], *, nested: bool) -> tuple[str, ...]:
    """The functions `tool_choice` makes the reply call one of: none for "auto" (or no choice)."""
    if choice in (None, "auto"):
        return ()
    if choice == "required":
        if not names:
            raise bad_request("`tool_choice` is \"required\" but `tools` declares no function.",
                              "tool_choice")
        return tuple(names)
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        # Chat Completions: {"type": "function", "function": {"name": ...}}; Responses: {"type", "name"}.
        spec = choice.get("function") if nested else choice
        name = spec.get("name") if isinstance(spec, Mapping) else None
        if name not in names:
            raise bad_request(f"`tool_choice` names the function {name!r}, which `tools` does not declare.",
                              "tool_choice")
        return (str(name),)
    raise bad_request("`tool_choice` must be \"none\", \"auto\", \"required\" or a function by name.",
                      "tool_choice")


def with_tool_choice(completion: CompletionRequest, tools: Tools) -> CompletionRequest:
    """`completion` held to a call of one of `tools.forced`: a grammar, and `<|call|>` as its only end."""
    if not tools.forced:
        return completion
    if completion.grammar is not None:
        raise bad_request("`grammar` cannot go with a `tool_choice` that forces a call (that is a grammar "
                          "too).", "tool_choice")
    sampling = replace(completion.sampling, suppress_specials=tuple(dict.fromkeys(
        (*completion.sampling.suppress_specials, *SUPPRESSED_ENDS))))
    return replace(completion, grammar=tool_call_grammar(tools.forced), sampling=sampling)


def stop_of(body: Mapping[str, Any]) -> tuple[str, ...]:
    """`stop`: a string or up to four; the answer ends before the first that appears."""
    value = body.get("stop")
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or len(stops) > MAX_STOPS or \
            not all(isinstance(stop, str) and stop for stop in stops):
        raise bad_request(f"`stop` must be a string or an array of up to {MAX_STOPS} non-empty strings.",
                          "stop")
    return tuple(stops)


def recipient_for(name: str, tools: Tools) -> str:
    """Where a call to the tool `name` was addressed: `functions.NAME`, unless it is a builtin tool the
    request does not declare (a call the model made to `python` stays `python`)."""
    if name not in tools.names and name.split(".", 1)[0] in harmony.BUILTIN_NAMESPACES:
        return name
    return f"functions.{name}"


def tool_call_message(name: str, arguments: str, tools: Tools) -> harmony.Message:
    """An earlier call of the assistant, as gpt-oss writes one: on commentary, JSON constrained."""
    return harmony.Message(harmony.ASSISTANT, arguments, channel=harmony.COMMENTARY,
                           recipient=recipient_for(name, tools), content_type=_JSON_CONTENT_TYPE)


def tool_result_message(name: str, output: str, tools: Tools) -> harmony.Message:
    """A tool's answer, from the tool to the assistant on the channel the call was made on."""
    return harmony.Message(harmony.TOOL, output, name=recipient_for(name, tools), recipient=harmony.ASSISTANT,
                           channel=harmony.COMMENTARY)


def _number(body: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise bad_request(f"`{key}` must be a number from {low:g} to {high:g}.", key)
    return float(value)
