from __future__ import annotations

import threading
import time

import pytest

from app.tools.approval import ApprovalGate, Decision


def decide_later(gate: ApprovalGate, call_id: str, decision: str, delay: float = 0.1) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), gate.decide(call_id, decision)))
    thread.start()
    return thread


@pytest.mark.parametrize("decision", [Decision.RUN, Decision.DENY, Decision.ALWAYS])
def test_a_waiting_call_gets_the_users_decision(decision: Decision) -> None:
    gate = ApprovalGate()
    gate.begin("c1", "python")
    assert gate.waiting_calls() == ("c1",)
    thread = decide_later(gate, "c1", decision.value)
    assert gate.wait("c1") is decision
    thread.join()
    assert gate.waiting_calls() == ()
    assert gate.is_always_allowed("python") is (decision is Decision.ALWAYS)


def test_a_decision_made_before_the_wait_starts_is_not_lost() -> None:
    gate = ApprovalGate()
    gate.begin("c1", "python")
    assert gate.decide("c1", "run")
    assert gate.wait("c1") is Decision.RUN


def test_cancel_ends_the_wait_and_a_late_click_does_nothing() -> None:
    gate = ApprovalGate()
    gate.begin("c1", "python")
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    started = time.monotonic()
    assert gate.wait("c1", cancel) is None
    assert time.monotonic() - started < 2
    assert gate.decide("c1", "always") is False
    assert not gate.is_always_allowed("python")


def test_only_the_first_decision_counts() -> None:
    gate = ApprovalGate()
    gate.begin("c1", "python")
    assert gate.decide("c1", "deny")
    assert gate.decide("c1", "run") is False
    assert gate.wait("c1") is Decision.DENY


def test_unknown_calls_and_decisions_are_refused_clearly() -> None:
    gate = ApprovalGate()
    assert gate.decide("nobody", "run") is False
    gate.begin("c1", "python")
    with pytest.raises(ValueError, match="'run', 'deny' or 'always'"):
        gate.decide("c1", "yes please")
    with pytest.raises(ValueError, match="already waiting"):
        gate.begin("c1", "python")
    with pytest.raises(ValueError, match="begin"):
        gate.wait("c2")


def test_always_is_per_tool_remembered_and_revocable() -> None:
    gate = ApprovalGate(always_allowed=["functions.send_mail"])
    assert gate.is_always_allowed("functions.send_mail")
    assert not gate.is_always_allowed("python")
    gate.begin("c1", "python")
    gate.decide("c1", Decision.ALWAYS)
    gate.wait("c1")
    assert gate.always_allowed == frozenset({"python", "functions.send_mail"})
    gate.revoke("python")
    assert gate.always_allowed == frozenset({"functions.send_mail"})
