"""The state of each tool call, for the cards: waiting for approval, running, done, failed, denied, cancelled
(the states are the store's `ToolCallState`, one list for every room).

A `ToolCall` is an immutable snapshot; every change makes a new one and hands it to the listeners, in
order, so a card can simply render the latest snapshot it got. Listeners run on the thread that made the
change (the chat's tool thread, or the sandbox's output reader for live output) and must return quickly:
the UI's listener only emits a Qt signal. Live output is passed on at most every `OUTPUT_NOTIFY_SECONDS`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.store import ToolCallState
from app.tools.results import ToolResult

log = logging.getLogger(__name__)

OUTPUT_NOTIFY_SECONDS = 0.1
LIVE_OUTPUT_CHARS = 20_000  # what a card shows while the code runs (the tail)
MAX_TRACKED_CALLS = 500


@dataclass(frozen=True)
class ToolCall:
    """One call as its card shows it."""

    call_id: str
    tool: str  # what runs: "python", "browser.search", "functions.get_weather"
    recipient: str  # as the model wrote it
    arguments: str  # exactly as the model sent them, never shortened
    code: str | None  # python: the code that will run (what the user approves)
    needs_approval: bool
    state: ToolCallState
    created_at: float  # time.time()
    started_at: float | None = None
    finished_at: float | None = None
    output: str = ""  # live output while running; the result's text once finished
    result: ToolResult | None = None
    version: int = 0  # grows with every change of this call

    @property
    def duration_s(self) -> float | None:
        """Running time so far or in total; None before it started."""
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at


CallListener = Callable[[ToolCall], None]


class CallTracker:
    """The calls of one conversation, and who to tell when one changes."""

    def __init__(self) -> None:
        # One re-entrant lock for state and delivery: listeners see every call's snapshots in order.
        self._lock = threading.RLock()
        self._calls: dict[str, ToolCall] = {}
        self._listeners: list[CallListener] = []
        self._last_output_notice: dict[str, float] = {}
        self._flush_timers: dict[str, threading.Timer] = {}

    def add_listener(self, listener: CallListener) -> Callable[[], None]:
        """Subscribe; returns the function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def create(self, call: ToolCall) -> ToolCall:
        with self._lock:
            if call.call_id in self._calls:
                raise ValueError(f"a tool call with id {call.call_id!r} already exists")
            self._calls[call.call_id] = call
            while len(self._calls) > MAX_TRACKED_CALLS:
                self._calls.pop(next(iter(self._calls)))
            self._notify(call)
            return call

    def update(self, call_id: str, **changes: object) -> ToolCall:
        with self._lock:
            current = self._calls[call_id]
            call = dataclasses.replace(current, version=current.version + 1, **changes)  # type: ignore[arg-type]
            self._calls[call_id] = call
            self._notify(call)
            return call

    def append_output(self, call_id: str, text: str) -> None:
        """Live output of a running call; listeners hear of it at most every OUTPUT_NOTIFY_SECONDS."""
        with self._lock:
            current = self._calls.get(call_id)
            if current is None or current.state is not ToolCallState.RUNNING:
                return  # late output after the call finished: the result already has it
            output = (current.output + text)[-LIVE_OUTPUT_CHARS:]
            now = time.monotonic()
            if now - self._last_output_notice.get(call_id, 0.0) >= OUTPUT_NOTIFY_SECONDS:
                self._last_output_notice[call_id] = now
                self.update(call_id, output=output)
                return
            self._calls[call_id] = dataclasses.replace(current, output=output)
            if call_id not in self._flush_timers:
                # Output held back now must still reach the card if nothing follows it for a while.
                timer = threading.Timer(OUTPUT_NOTIFY_SECONDS, self._flush_output, args=(call_id,))
                timer.daemon = True
                self._flush_timers[call_id] = timer
                timer.start()

    def _flush_output(self, call_id: str) -> None:
        with self._lock:
            self._flush_timers.pop(call_id, None)
            current = self._calls.get(call_id)
            if current is not None and current.state is ToolCallState.RUNNING:
                self._last_output_notice[call_id] = time.monotonic()
                self.update(call_id, output=current.output)

    def get(self, call_id: str) -> ToolCall | None:
        with self._lock:
            return self._calls.get(call_id)

    def calls(self) -> tuple[ToolCall, ...]:
        with self._lock:
            return tuple(self._calls.values())

    def _notify(self, call: ToolCall) -> None:
        for listener in list(self._listeners):
            try:
                listener(call)
            except Exception:
                log.exception("a tool call listener failed on %s", call.call_id)
