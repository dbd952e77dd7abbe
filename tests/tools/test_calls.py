from __future__ import annotations

import time

import pytest

from app.tools.calls import OUTPUT_NOTIFY_SECONDS, CallTracker, ToolCall, ToolCallState


def new_call(call_id: str = "c1", state: ToolCallState = ToolCallState.RUNNING) -> ToolCall:
    return ToolCall(call_id, "python", "python", "print(1)", "print(1)", False, state, time.time(),
                    started_at=time.time())


def test_every_change_reaches_listeners_in_order() -> None:
    tracker = CallTracker()
    seen: list[tuple[ToolCallState, int]] = []
    tracker.add_listener(lambda call: seen.append((call.state, call.version)))
    tracker.create(new_call(state=ToolCallState.WAITING_APPROVAL))
    tracker.update("c1", state=ToolCallState.RUNNING)
    tracker.update("c1", state=ToolCallState.DONE, finished_at=time.time())
    assert seen == [(ToolCallState.WAITING_APPROVAL, 0), (ToolCallState.RUNNING, 1), (ToolCallState.DONE, 2)]
    assert tracker.get("c1").state.finished


def test_duplicate_ids_are_refused() -> None:
    tracker = CallTracker()
    tracker.create(new_call())
    with pytest.raises(ValueError, match="already exists"):
        tracker.create(new_call())


def test_live_output_is_throttled_but_the_last_piece_still_arrives() -> None:
    tracker = CallTracker()
    outputs: list[str] = []
    tracker.add_listener(lambda call: outputs.append(call.output))
    tracker.create(new_call())
    pieces = [f"{i}," for i in range(200)]
    for piece in pieces:
        tracker.append_output("c1", piece)
    assert outputs[:2] == ["", "0,"]  # the first piece at once
    assert len(outputs) < 20  # the rest mostly held back (a busy machine may let a few through)
    time.sleep(OUTPUT_NOTIFY_SECONDS * 5)
    assert outputs[-1] == "".join(pieces)  # flushed without any further output
    assert tracker.get("c1").output == "".join(pieces)


def test_output_after_the_call_finished_is_ignored() -> None:
    tracker = CallTracker()
    tracker.create(new_call())
    tracker.update("c1", state=ToolCallState.DONE, output="final")
    tracker.append_output("c1", "late")
    assert tracker.get("c1").output == "final"


def test_a_failing_listener_does_not_stop_the_others() -> None:
    tracker = CallTracker()
    seen: list[str] = []

    def broken(call: ToolCall) -> None:
        raise RuntimeError("listener bug")

    tracker.add_listener(broken)
    unsubscribe = tracker.add_listener(lambda call: seen.append(call.call_id))
    tracker.create(new_call("c1"))
    unsubscribe()
    tracker.create(new_call("c2"))
    assert seen == ["c1"]


def test_duration_counts_from_the_start() -> None:
    call = new_call()
    waiting = ToolCall("w", "python", "python", "", "", True, ToolCallState.WAITING_APPROVAL, time.time())
    assert waiting.duration_s is None
    assert call.duration_s is not None and call.duration_s >= 0
