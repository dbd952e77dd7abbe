"""The raw Harmony tier: Ossian renders the prompt and parses the model's tokens itself; the server only
tokenizes and samples. Exactly the local worker's path, so reasoning, tool calls (builtin ones too),
grammars and the server's prompt cache work as they do on this computer.

- llama-server (tools/server/README.md): `POST /tokenize` with `parse_special: false` for text and `true`
  for each special's literal; `POST /completion` with the prompt as token ids, `cache_prompt`,
  `return_tokens` (each streamed chunk carries its token ids), a GBNF `grammar`, `logit_bias` pairs
  `[id, false]` for specials never to sample; the last chunk has `stop_type` and `timings`.
- vLLM (entrypoints/openai/serving_tokenization.py, protocol.py): `POST /tokenize` (`add_special_tokens:
  false`); `POST /v1/completions` with the prompt as token ids, `skip_special_tokens: false`,
  `return_token_ids` (each chunk's `choices[0].token_ids`; without them the specials are read from the
  text), `stop_token_ids` for `<|return|>` and `<|call|>`, usage in the last chunk.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from app.engine.interface import (
    Done,
    DoneReason,
    EngineCapabilities,
    EngineError,
    GenerateRequest,
    GenerationEvent,
    TokenEvent,
)
from app.engine.remote.base import RemoteEngine, StreamHandle, number, text_events
from app.engine.remote.probe import ServerModel
from app.engine.remote.wire import ServerFailure
from app.harmony.parser import REQUIRED_SPECIALS
from app.harmony.segments import SPECIAL_TOKENS, STOP_TOKENS, Segment, Text

_CACHE_TEXTS = 4096  # tokenized texts kept: a conversation's earlier messages are asked again every turn


class HarmonyServerEngine(RemoteEngine):
    """llama-server or vLLM, driven with token ids."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tokens: OrderedDict[str, list[int]] = OrderedDict()

    @property
    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(tokenize=True, grammar=self.info.kind == "llama-server",
                                  stream="token_ids", load_plans=False)

    # ------------------------------------------------------------------------------- vocabulary

    def special_ids(self, served: ServerModel) -> dict[str, int]:
        ids: dict[str, int] = {}
        for token in SPECIAL_TOKENS:
            found = self._tokenize_raw(token, special=True, model=served.name)
            if len(found) == 1:
                ids[token] = found[0]
        missing = [token for token in REQUIRED_SPECIALS if token not in ids]
        if missing:
            raise ServerFailure(EngineError(
                "model", f"{served.name} on {self.client.address.shown} has no {', '.join(missing)} token: "
                         "it is not a gpt-oss model (or its tokenizer is not gpt-oss's)."))
        return ids

    def tokenize(self, segments: Sequence[Segment]) -> Any:
        return self._submit(lambda: self._prompt_ids(segments))

    def count_text(self, text: str) -> int:
        return len(self._text_ids(text))

    def _prompt_ids(self, segments: Sequence[Segment]) -> list[int]:
        model = self._model
        if model is None:
            raise ServerFailure(EngineError("not_loaded", "No model is chosen on the server. "
                                                          "Load one first."))
        ids: list[int] = []
        for segment in segments:
            if isinstance(segment, Text):
                ids += self._text_ids(segment.text)
            else:
                ids.append(model.special_ids[segment.token])
        return ids

    def _text_ids(self, text: str) -> list[int]:
        if not text:
            return []
        cached = self._tokens.get(text)
        if cached is not None:
            self._tokens.move_to_end(text)
            return cached
        if self.info.kind == "llama-server":
            ids = self._tokenize_raw(text, special=False)
        else:
            # vLLM's tokenizer turns a special's literal inside text into the special: break each literal
            # at its `<|` so user text stays text (the local worker tokenizes it as text the same way).
            ids = []
            for piece in _split_literals(text):
                ids += self._tokenize_raw(piece, special=False)
        self._tokens[text] = ids
        if len(self._tokens) > _CACHE_TEXTS:
            self._tokens.popitem(last=False)
        return ids

    def _tokenize_raw(self, text: str, *, special: bool, model: str | None = None) -> list[int]:
        if self.info.kind == "llama-server":
            reply = self.client.post_json("/tokenize", {"content": text, "add_special": False,
                                                        "parse_special": special})
        else:
            name = model or (self._served.name if self._served else None)
            reply = self.client.post_json("/tokenize", {"model": name, "prompt": text,
                                                        "add_special_tokens": False})
        tokens = reply.get("tokens") if isinstance(reply, dict) else None
        if not isinstance(tokens, list):
            raise ServerFailure(EngineError("protocol", "The server's /tokenize answered without tokens."))
        # llama-server answers `{"id", "piece"}` objects when asked `with_pieces`; plain ids otherwise.
        return [t["id"] if isinstance(t, dict) else int(t) for t in tokens]

    # -------------------------------------------------------------------------------- generation

    def stream(self, request: GenerateRequest, handle: StreamHandle) -> Iterator[GenerationEvent]:
        prompt = self._prompt_ids(request.segments)
        if self._model is not None and len(prompt) >= self._model.n_ctx:
            yield EngineError("too_long", f"The prompt has {len(prompt):,} tokens; the server's context "
                                          f"holds {self._model.n_ctx:,}. Start a new chat or remove a "
                                          "document.")
            return
        if self.info.kind == "llama-server":
            yield from self._llama_server(prompt, request, handle)
        else:
            yield from self._vllm(prompt, request, handle)

    def _llama_server(self, prompt: list[int], request: GenerateRequest,
                      handle: StreamHandle) -> Iterator[GenerationEvent]:
        sampling = request.sampling
        assert self._model is not None
        body: dict[str, Any] = {
            "prompt": prompt, "stream": True, "cache_prompt": True, "return_tokens": True,
            "n_predict": sampling.max_tokens if sampling.max_tokens is not None else -1,
            "temperature": sampling.temperature, "top_p": sampling.top_p, "top_k": sampling.top_k,
            "min_p": sampling.min_p, "repeat_penalty": sampling.repeat_penalty,
            "seed": sampling.seed if sampling.seed is not None else -1,
        }
        if request.grammar is not None:
            body["grammar"] = request.grammar
        ids = self._model.special_ids
        banned = [ids[t] for t in sampling.suppress_specials if t in ids]
        if banned:
            body["logit_bias"] = [[token, False] for token in banned]
        last: dict[str, Any] = {}
        for chunk in self.client.stream("/completion", body, handle.attach):
            tokens = chunk.get("tokens") or []
            content = str(chunk.get("content") or "").encode()
            if tokens:
                # One token per chunk as a rule; several (speculative decoding) give the text to the last.
                for index, token in enumerate(tokens):
                    yield TokenEvent(int(token), content if index == len(tokens) - 1 else b"")
            elif content:
                yield from text_events(content.decode(), self._model.special_ids)
            if chunk.get("stop"):
                last = chunk
                break
        timings = last.get("timings") or {}
        stop_type = last.get("stop_type", "eos")
        reason: DoneReason = "length" if stop_type == "limit" else "eog"
        cached = int(number(timings.get("cache_n"), number(last.get("tokens_cached"))))
        evaluated = int(number(timings.get("prompt_n"), len(prompt) - cached))
        yield Done(reason, prompt_tokens=len(prompt), reused_tokens=cached, evaluated_tokens=evaluated,
                   generated_tokens=int(number(timings.get("predicted_n"))),
                   prompt_seconds=number(timings.get("prompt_ms")) / 1000,
                   tokens_per_second=number(timings.get("predicted_per_second")))

    def _vllm(self, prompt: list[int], request: GenerateRequest,
              handle: StreamHandle) -> Iterator[GenerationEvent]:
        sampling = request.sampling
        assert self._model is not None and self._served is not None
        ids = self._model.special_ids
        body: dict[str, Any] = {
            "model": self._served.name, "prompt": prompt, "stream": True,
            "stream_options": {"include_usage": True}, "skip_special_tokens": False,
            "return_token_ids": True, "stop_token_ids": [ids[t] for t in STOP_TOKENS],
            "temperature": sampling.temperature, "top_p": sampling.top_p,
            "top_k": sampling.top_k or -1, "min_p": sampling.min_p,
            "repetition_penalty": sampling.repeat_penalty,
            "max_tokens": sampling.max_tokens or max(1, self._model.n_ctx - len(prompt)),
        }
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        banned = [ids[t] for t in sampling.suppress_specials if t in ids]
        if banned:
            body["logit_bias"] = {str(token): -100 for token in banned}
        finish: str | None = None
        usage: dict[str, Any] = {}
        generated = 0
        for chunk in self.client.stream("/v1/completions", body, handle.attach):
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                text = str(choice.get("text") or "")
                token_ids = choice.get("token_ids")
                if token_ids:
                    for index, token in enumerate(token_ids):
                        generated += 1
                        yield TokenEvent(int(token), text.encode() if index == len(token_ids) - 1 else b"")
                elif text:
                    for event in text_events(text, ids):
                        generated += 1
                        yield event
                finish = choice.get("finish_reason") or finish
        details = usage.get("prompt_tokens_details") or {}
        cached = int(number(details.get("cached_tokens")))
        yield Done("length" if finish == "length" else "eog",
                   prompt_tokens=int(number(usage.get("prompt_tokens"), len(prompt))), reused_tokens=cached,
                   evaluated_tokens=int(number(usage.get("prompt_tokens"), len(prompt))) - cached,
                   generated_tokens=int(number(usage.get("completion_tokens"), generated)))


def _split_literals(text: str) -> list[str]:
    """`text` cut before each special's `<|`...`|>` so that no piece holds a whole literal."""
    pieces: list[str] = []
    start = 0
    for token in SPECIAL_TOKENS:
        if token in text:
            break
    else:
        return [text]
    index = text.find("<|")
    while index != -1:
        if any(text.startswith(token, index) for token in SPECIAL_TOKENS):
            pieces.append(text[start:index + 1])  # `...<` then `|start|>...`
            start = index + 1
        index = text.find("<|", index + 1)
    pieces.append(text[start:])
    return [p for p in pieces if p]
