"""Running completions for the server: one at a time on the engine, each on its own thread.

The engine writes one reply at a time. Requests of API clients wait their turn in a short queue
(`EngineGate`): at most `max_waiting` of them, each at most `wait_s`; past either limit the answer is a
429 with `Retry-After`. The window's own turn is not in this queue: while it runs, the engine refuses
with "busy" and the client gets the same 429 at once, so a chat in the window never waits on an agent.

A `Job` runs one completion on a thread of its own (the engine's iteration blocks) and hands the server's
event loop the parse events, then the finished result, or an `ApiError` when the request failed before
anything was written (so the client still gets a proper HTTP status). The loop takes whatever has piled
up as one batch (see `Job`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from app import harmony
from app.api.errors import ApiError, busy, from_engine
from app.chat.completion import Completion, CompletionRequest, CompletionResult, complete
from app.engine.interface import Engine

log = logging.getLogger(__name__)


class Translator(Protocol):
    """Parse events to the text a streaming endpoint sends."""

    def on_event(self, event: harmony.ParseEvent, cut_off: bool = False) -> list[str]: ...

    def end(self, result: CompletionResult) -> list[str]: ...


class EngineGate:
    """API requests take turns on the engine; the window's own turn makes the engine answer "busy"."""

    def __init__(self, engine: Engine | Callable[[], Engine], *, max_waiting: int = 8,
                 wait_s: float = 600.0) -> None:
        # A callable: the engine in use now (the window's changes when the user picks a server).
        self._engine = engine
        self._lock = threading.Lock()
        self._count = threading.Lock()
        self._waiting = 0
        self._max_waiting = max_waiting
        self._wait_s = wait_s

    @property
    def engine(self) -> Engine:
        return self._engine if isinstance(self._engine, Engine) else self._engine()

    def acquire(self, cancelled: threading.Event) -> None:
        """Wait for the engine; raises ApiError(429) when the queue is full or the wait too long."""
        with self._count:
            if self._waiting >= self._max_waiting:
                raise busy(f"{self._waiting} requests are already waiting for the model.")
            self._waiting += 1
        try:
            waited = 0.0
            while not self._lock.acquire(timeout=0.25):
                waited += 0.25
                if cancelled.is_set():
                    raise _Abandoned
                if waited >= self._wait_s:
                    raise busy("The model has been busy with other requests for too long.")
        finally:
            with self._count:
                self._waiting -= 1

    def release(self) -> None:
        self._lock.release()


class _Abandoned(Exception):
    """The client went away while its request waited."""


@dataclass(frozen=True)
class Finished:
    result: CompletionResult


@dataclass(frozen=True)
class Parsed:
    """A parse event; `cut_off` when it closes a message that a limit, a stop or an error cut short."""

    event: harmony.ParseEvent
    cut_off: bool = False


_END = object()


class Job:
    """One request's completion on its own thread; the event loop reads it batch by batch.

    The thread only hands over parse events; the loop translates them when it gets to them, a whole
    batch at a time, adjacent text of one message merged into one delta. So a client that reads slower
    than the model writes (the `openai` SDK parses every chunk) gets fewer, larger chunks instead of
    falling further behind, and a fast one still gets every token as it comes.
    """

    def __init__(self, gate: EngineGate, request: CompletionRequest, streams: bool, prompt_param: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._gate = gate
        self._request = request
        self._streams = streams
        self._prompt_param = prompt_param
        self._loop = loop
        self._pending: list[object] = []
        self._pending_lock = threading.Lock()
        self._woken = False
        self._wake = asyncio.Event()
        self._cancelled = threading.Event()
        self._completion: Completion | None = None
        self._lock = threading.Lock()
        self._ended = False

    def start(self) -> None:
        threading.Thread(target=self._run, name="ossian-api-completion", daemon=True).start()

    def cancel(self) -> None:
        """The client went away: stop generating (or waiting), free the engine."""
        with self._lock:
            self._cancelled.set()
            completion = self._completion
        if completion is not None:
            completion.cancel()

    async def next_batch(self) -> list[object] | None:
        """Everything that came since the last call (`Parsed`, then a `Finished` or an `ApiError` at the
        end), waiting for at least one item; None once the end was handed over."""
        if self._ended:
            return None
        await self._wake.wait()
        with self._pending_lock:
            batch, self._pending = self._pending, []
            self._woken = False
            self._wake.clear()
        if batch and batch[-1] is _END:
            self._ended = True
            batch.pop()
        return merge_deltas(batch) if batch else (None if self._ended else [])

    # ----------------------------------------------------------------------------- on the thread

    def _put(self, item: object) -> None:
        with self._pending_lock:
            self._pending.append(item)
            wake = not self._woken
            self._woken = True
        if wake:  # one wake-up per batch, not per token
            self._loop.call_soon_threadsafe(self._wake.set)

    def _run(self) -> None:
        try:
            self._gate.acquire(self._cancelled)
        except ApiError as exc:
            self._put(exc)
            self._put(_END)
            return
        except _Abandoned:
            self._put(_END)
            return
        try:
            self._generate()
        except Exception as exc:  # a bug must not leave the client hanging or the engine locked
            log.exception("api: completion failed")
            self._put(ApiError(500, f"Ossian failed while answering: {exc}", type="server_error"))
        finally:
            self._gate.release()
            self._put(_END)

    def _generate(self) -> None:
        with self._lock:
            if self._cancelled.is_set():
                return
            completion = self._completion = complete(self._gate.engine, self._request)
        streamed = False
        put: Callable[[object], None] = self._put
        for event in completion:
            if not self._streams:
                continue
            streamed = True
            cut_off = completion.finished and isinstance(event, harmony.MessageEnded) \
                and event.terminator is None and not completion.ended_cleanly
            put(Parsed(event, cut_off))
        result = completion.result()
        if result.error is not None and not streamed:
            # Nothing sent yet: the client gets the error as an HTTP status (429 for "busy", 400 for a
            # prompt too long, ...), which every OpenAI client knows how to read.
            put(from_engine(result.error, self._prompt_param))
        else:
            put(Finished(result))


def merge_deltas(batch: list[object]) -> list[object]:
    """Adjacent text deltas of one message as one."""
    merged: list[object] = []
    for item in batch:
        if isinstance(item, Parsed) and isinstance(item.event, harmony.TextDelta) and merged:
            last = merged[-1]
            if isinstance(last, Parsed) and isinstance(last.event, harmony.TextDelta) \
                    and last.event.index == item.event.index:
                merged[-1] = Parsed(harmony.TextDelta(item.event.index, last.event.text + item.event.text))
                continue
        merged.append(item)
    return merged
