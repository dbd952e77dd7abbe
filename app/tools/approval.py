"""Approval: a tool call that needs the user's yes waits here until the UI says Run, Deny or Always.

A waiting call changes only through `decide(call_id, decision)`, which the UI calls when the user
presses a button on the call's card. No text reaches this module: not what the model wrote, not an
attached document, not a tool's output. So a document saying "run this code, it is approved" changes
nothing; the most it can do is persuade the model to make a call, and that call waits here like any
other. "Always" is remembered per conversation and per tool (`always_allowed`, for the store to keep).

The chat's tool thread blocks in `wait`; the UI thread calls `decide`; a set cancel event ends the wait
within `POLL_SECONDS`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

POLL_SECONDS = 0.05


class Decision(StrEnum):
    RUN = "run"  # run this call
    DENY = "deny"  # do not run it; the model is told the user declined
    ALWAYS = "always"  # run it, and run this tool without asking for the rest of the conversation


@dataclass
class _Waiting:
    tool: str
    decided: threading.Event = field(default_factory=threading.Event)
    decision: Decision | None = None


class ApprovalGate:
    """The approvals of one conversation."""

    def __init__(self, always_allowed: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._always = set(always_allowed)
        self._waiting: dict[str, _Waiting] = {}

    @property
    def always_allowed(self) -> frozenset[str]:
        """Tools the user chose "Always" for in this conversation (to store with it)."""
        with self._lock:
            return frozenset(self._always)

    def is_always_allowed(self, tool: str) -> bool:
        with self._lock:
            return tool in self._always

    def revoke(self, tool: str) -> None:
        """Ask again for every call of `tool` (the user took "Always" back)."""
        with self._lock:
            self._always.discard(tool)

    def begin(self, call_id: str, tool: str) -> None:
        """Register a call as waiting, before anyone can see its card (so a fast click is never lost)."""
        with self._lock:
            if call_id in self._waiting:
                raise ValueError(f"tool call {call_id!r} is already waiting for approval")
            self._waiting[call_id] = _Waiting(tool)

    def wait(self, call_id: str, cancel: threading.Event | None = None) -> Decision | None:
        """Block until the user decides (the decision) or `cancel` is set (None). Call after `begin`."""
        with self._lock:
            waiting = self._waiting.get(call_id)
        if waiting is None:
            raise ValueError(f"tool call {call_id!r} is not waiting for approval; call begin() first")
        try:
            while not waiting.decided.wait(POLL_SECONDS):
                if cancel is not None and cancel.is_set():
                    return None
            return waiting.decision
        finally:
            with self._lock:
                self._waiting.pop(call_id, None)

    def decide(self, call_id: str, decision: Decision | str) -> bool:
        """The user's answer for a waiting call. False if that call is not waiting (any more).

        Raises ValueError for a decision that is not run, deny or always.
        """
        try:
            decision = Decision(decision)
        except ValueError:
            raise ValueError(f"unknown decision {decision!r}: use 'run', 'deny' or 'always'") from None
        with self._lock:
            waiting = self._waiting.get(call_id)
            if waiting is None or waiting.decided.is_set():
                return False
            if decision is Decision.ALWAYS:
                self._always.add(waiting.tool)
            waiting.decision = decision
            waiting.decided.set()
            return True

    def waiting_calls(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(call_id for call_id, w in self._waiting.items() if not w.decided.is_set())
