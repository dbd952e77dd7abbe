"""The send gate without Qt (chat/send_gate.py): a send never goes out on a stale reading, a parked send
goes out once the reading is current, and each refusal says why."""

from __future__ import annotations

from app.chat.context_meter import MeterReading
from app.chat.send_gate import SendAction, SendGate
from app.documents import estimate_tokens
from app.documents.budget import ContextBudget


def reading(history: int, n_ctx: int = 1000, draft: int = 0, blocked: bool = False) -> MeterReading:
    budget = ContextBudget(n_ctx=n_ctx, system_tokens=50, history_tokens=history + draft, attachments=(),
                           reserve_tokens=100)
    return MeterReading(budget, 50, history, draft, 0, estimated=False, blocked=blocked,
                        reason="It does not fit." if blocked else "")


def test_a_send_on_a_stale_reading_is_parked_until_the_reading_is_current() -> None:
    gate = SendGate()
    assert gate.decide("hello", preparing=False, ready=0, search=0).action is SendAction.MEASURE_FIRST
    first = gate.begin_measure()
    assert first is not None and gate.begin_measure() is None  # one at a time
    gate.changed()  # a document arrived meanwhile: this reading is already old
    assert gate.measured(first, reading(100))
    assert gate.take_parked() is None  # another measurement is due first
    second = gate.begin_measure()
    assert second is not None
    assert gate.measured(second, reading(120))
    assert gate.take_parked() == "hello" and gate.take_parked() is None
    assert gate.settled()


def test_an_old_measurement_never_replaces_a_newer_reading() -> None:
    gate = SendGate()
    first = gate.begin_measure()
    assert first is not None
    gate.measured(first, reading(100))
    gate.changed()
    second = gate.begin_measure()
    assert second is not None
    assert not gate.measured(first, reading(999))  # a late answer to an older question
    assert gate.reading is not None and gate.reading.history_tokens == 100


def test_only_the_draft_changed_and_it_surely_fits_so_no_wait() -> None:
    gate = SendGate()
    measurement = gate.begin_measure()
    assert measurement is not None
    gate.measured(measurement, reading(100))
    gate.draft_changed()
    assert gate.decide("a short line", preparing=False, ready=0, search=0).action is SendAction.SEND
    gate.changed()  # anything else changed: the estimate is no longer enough
    assert gate.decide("a short line", preparing=False, ready=0, search=0).action is SendAction.MEASURE_FIRST


def test_the_estimate_of_a_changed_draft_counts_its_messages_header_and_end() -> None:
    """The meter's draft_tokens hold `<|start|>user<|message|>` and `<|end|>` beside the text, so the
    estimate that stands in for a changed draft must too: a draft that fits only without them waits."""
    text = "a short line"
    room = 1000 - 50 - 100  # n_ctx less the system part and the reserve
    fits_without_header = room - estimate_tokens(text) - 2  # two tokens short of the four the header takes
    gate = SendGate()
    measurement = gate.begin_measure()
    assert measurement is not None
    gate.measured(measurement, reading(fits_without_header))
    gate.draft_changed()
    assert gate.decide(text, preparing=False, ready=0, search=0).action is SendAction.MEASURE_FIRST
    gate = SendGate()
    measurement = gate.begin_measure()
    assert measurement is not None
    gate.measured(measurement, reading(fits_without_header - 2))  # now the header fits too
    gate.draft_changed()
    assert gate.decide(text, preparing=False, ready=0, search=0).action is SendAction.SEND


def test_refusals_say_why() -> None:
    gate = SendGate()
    measurement = gate.begin_measure()
    assert measurement is not None
    gate.measured(measurement, reading(100, blocked=True))
    assert gate.decide("x", preparing=True, ready=0, search=0).action is SendAction.WAIT_FOR_DOCUMENTS
    blocked = gate.decide("x", preparing=False, ready=0, search=0)
    assert (blocked.action, blocked.message) == (SendAction.BLOCKED, "It does not fit.")
    assert "does not fit" in gate.blocked_reason()
    gate = SendGate()
    measurement = gate.begin_measure()
    assert measurement is not None
    gate.measured(measurement, reading(100))
    assert gate.decide("  ", preparing=False, ready=0, search=0).action is SendAction.NOTHING_TO_SEND
    assert gate.decide("x", preparing=False, ready=2, search=1).action is SendAction.INDEX_THEN_SEND
    gate.sending = True
    assert gate.decide("x", preparing=False, ready=2, search=1).action is SendAction.BUSY


def test_a_failed_measurement_drops_a_parked_send_and_says_so() -> None:
    gate = SendGate()
    gate.decide("hello", preparing=False, ready=0, search=0)
    assert gate.begin_measure() is not None
    assert gate.measure_failed() is True
    assert gate.take_parked() is None and gate.dirty
