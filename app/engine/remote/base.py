"""What every remote engine shares: the `Engine` contract over one server, one generation at a time.

A remote engine's "load" picks a model the server serves (it loads nothing here); its futures run on one
background thread; its generation streams on the thread that iterates it and is cancelled by closing the
HTTP reply from any thread. The two tiers (`harmony_tier`, `chat_tier`) say how a request becomes a body
and how the streamed reply becomes `TokenEvent`s.
"""

from __future__ import annotations

import abc
import concurrent.futures
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import httpx

from app.engine.interface import (
    Done,
    Engine,
    EngineError,
    EngineFailure,
    GenerateRequest,
    Generation,
    GenerationEvent,
    LoadPlan,
    ModelInfo,
    TokenEvent,
)
from app.engine.remote.probe import ServerInfo, ServerModel
from app.engine.remote.wire import ServerClient, ServerFailure, transport_error
from app.harmony.segments import SPECIAL_TOKENS

log = logging.getLogger(__name__)

T = TypeVar("T")
TEXT_ID = -1  # the id of a text piece whose vocabulary id is unknown (never a special's id)
_SPECIAL_TEXT = re.compile("|".join(re.escape(token) for token in SPECIAL_TOKENS))


class StreamHandle:
    """The reply being read, so that `cancel()` from another thread can close it."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self._response: httpx.Response | None = None
        self._lock = threading.Lock()

    def attach(self, response: httpx.Response) -> None:
        with self._lock:
            self._response = response
            if self.cancelled.is_set():
                response.close()

    def cancel(self) -> None:
        self.cancelled.set()
        with self._lock:
            if self._response is not None:
                self._response.close()  # the reading thread's next read fails; it then reports "cancelled"


class RemoteGeneration(Generation):
    def __init__(self, run: Callable[[StreamHandle], Iterator[GenerationEvent]],
                 release: Callable[[], None]) -> None:
        self._run = run
        self._release = release
        self._handle = StreamHandle()

    def __iter__(self) -> Iterator[GenerationEvent]:
        try:
            for event in self._run(self._handle):
                if self._handle.cancelled.is_set():
                    break
                yield event
                if not isinstance(event, TokenEvent):
                    return
            if self._handle.cancelled.is_set():
                yield Done("cancelled")
        except ServerFailure as failure:
            yield Done("cancelled") if self._handle.cancelled.is_set() else failure.error
        finally:
            self._release()

    def cancel(self) -> None:
        self._handle.cancel()


class RemoteEngine(Engine, abc.ABC):
    """One server, one model on it. Built by `app.engine.remote.connect` after the server was probed."""

    def __init__(self, client: ServerClient, info: ServerInfo) -> None:
        self.client = client
        self.info = info
        self._model: ModelInfo | None = None
        self._served: ServerModel | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="remote-engine")
        self._busy = threading.Lock()

    # --------------------------------------------------------------------------------- contract

    @property
    def model(self) -> ModelInfo | None:
        return self._model

    @property
    def served(self) -> ServerModel | None:
        """The server's model this engine uses (its name as the server knows it)."""
        return self._served

    @property
    def context_reported(self) -> bool:
        """Whether the server said the context it serves (else `ModelInfo.n_ctx` is an assumption)."""
        return self._served is not None and self._served.n_ctx is not None

    @property
    def where(self) -> str:
        """The sentence the plan explanation ends with: which server runs the model."""
        return f"runs on {self.client.address.shown} ({self.info.kind_name})"

    def load(self, plan: LoadPlan) -> concurrent.futures.Future[ModelInfo]:
        return self._submit(lambda: self._load(plan))

    def unload(self) -> concurrent.futures.Future[None]:
        def forget() -> None:
            self._model = None
            self._served = None
        return self._submit(forget)

    def _load(self, plan: LoadPlan) -> ModelInfo:
        served = self.info.pick(plan.model_path or self.client.address.model)
        special_ids = self.special_ids(served)
        # The context the server serves; its model's own maximum is no guide (Ollama serves 4K-8K of
        # gpt-oss's 128K unless told otherwise), so an unreported one is the plan's, said as assumed.
        n_ctx = served.n_ctx or plan.n_ctx
        self._served = served
        self._model = ModelInfo(
            model_path=served.name, plan=plan, n_ctx=n_ctx, n_ctx_train=served.n_ctx_train or n_ctx,
            n_vocab=self.vocabulary_size(served, special_ids), architecture="gpt-oss",
            special_ids=special_ids, description=self.where)
        return self._model

    def vocabulary_size(self, served: ServerModel, special_ids: Mapping[str, int]) -> int:
        """The vocabulary's size where the server says; else 0 (unknown: ids are not checked against it)."""
        return served.n_vocab or 0

    @abc.abstractmethod
    def special_ids(self, served: ServerModel) -> dict[str, int]:
        """The Harmony specials' ids the stream will carry (asked of the server, or the engine's own)."""

    def generate(self, request: GenerateRequest) -> Generation:
        refusal = self.capabilities.refusal(request)
        if refusal is None and self._model is None:
            refusal = EngineError("not_loaded", "No model is chosen on the server. Load one first.")
        if refusal is None and not self._busy.acquire(blocking=False):
            refusal = EngineError("busy", "The server is still answering the previous request.")
        if refusal is not None:
            return RemoteGeneration(lambda _handle, error=refusal: iter([error]), lambda: None)
        return RemoteGeneration(lambda handle: self._timed(self.stream(request, handle)), self._busy.release)

    def _timed(self, events: Iterator[GenerationEvent]) -> Iterator[GenerationEvent]:
        """Fill in the time to the first token and the speed where the server does not report them (as
        this computer saw them: the network's delays included)."""
        started = time.monotonic()
        first: float | None = None
        last = started
        for event in events:
            if isinstance(event, TokenEvent):
                last = time.monotonic()
                if first is None:
                    first = last - started
            if isinstance(event, Done) and first is not None:
                speed = event.tokens_per_second
                streamed = last - (started + first)
                if not speed and event.generated_tokens > 1 and streamed > 0:
                    speed = (event.generated_tokens - 1) / streamed
                event = replace(event, time_to_first_token_s=event.time_to_first_token_s or first,
                                tokens_per_second=speed)
            yield event

    @abc.abstractmethod
    def stream(self, request: GenerateRequest, handle: StreamHandle) -> Iterator[GenerationEvent]:
        """The request's events: tokens, then one `Done` (or raise `ServerFailure`)."""

    def count_tokens(self, texts: Sequence[str]) -> concurrent.futures.Future[list[int]]:
        return self._submit(lambda: [self.count_text(text) for text in texts])

    @abc.abstractmethod
    def count_text(self, text: str) -> int: ...

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()

    # ---------------------------------------------------------------------------------- helpers

    def _submit(self, call: Callable[[], T]) -> concurrent.futures.Future[T]:
        def run() -> T:
            try:
                return call()
            except ServerFailure as failure:
                raise EngineFailure(failure.error) from failure
            except httpx.HTTPError as exc:
                raise EngineFailure(transport_error(self.client.address, exc)) from exc
        return self._pool.submit(run)


def text_events(text: str, special_ids: Mapping[str, int]) -> Iterator[TokenEvent]:
    """Text with Harmony specials written literally, as tokens: each special by its id, text between as
    pieces. For servers that stream specials as text (vLLM without token ids, a template that leaks)."""
    position = 0
    for match in _SPECIAL_TEXT.finditer(text):
        if match.start() > position:
            yield TokenEvent(TEXT_ID, text[position:match.start()].encode())
        special_id = special_ids.get(match.group())
        yield TokenEvent(special_id, b"") if special_id is not None else \
            TokenEvent(TEXT_ID, match.group().encode())
        position = match.end()
    if position < len(text):
        yield TokenEvent(TEXT_ID, text[position:].encode())


def number(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
