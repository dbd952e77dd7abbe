"""When a message with documents may be sent: the context meter's bookkeeping and the send decision.

The window measures the context in the background whenever the draft, the documents, the model or the
conversation change, and a send must not go out on a stale reading. This module owns that state machine
without Qt: which reading is current (a serial per measurement, a *basis* bumped by every change but the
draft's), whether another measurement is due, a send parked until the reading catches up, and the
decision for a press of Send. The window's `AttachmentController` runs the timers and background calls
and does what the gate says.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.chat.attachments import SegmentCounter
from app.chat.context_meter import MeterReading, new_message_tokens


class SendAction(StrEnum):
    BUSY = "busy"                          # search documents are being indexed for the last press
    WAIT_FOR_DOCUMENTS = "wait_for_documents"
    MEASURE_FIRST = "measure_first"        # parked: the gate sends it once the reading is current
    BLOCKED = "blocked"                    # does not fit; the reading says why
    NOTHING_TO_SEND = "nothing_to_send"
    SEND = "send"
    INDEX_THEN_SEND = "index_then_send"    # search-mode documents go into the index first


@dataclass(frozen=True)
class SendDecision:
    action: SendAction
    message: str = ""  # for the banner, where the action needs one


@dataclass(frozen=True)
class Measurement:
    """A measurement handed out: its serial and the basis it measures."""

    serial: int
    basis: int


class SendGate:
    """The meter's and the send's state for one composer (used from the UI thread only)."""

    def __init__(self) -> None:
        self.reading: MeterReading | None = None
        self.sending = False    # indexing search documents for a send
        self.measuring = False  # a measurement runs in the background
        self.dirty = True       # something changed since the last measurement started
        self._basis = 0
        self._reading_basis = -1
        self._serial = 0
        self._parked: str | None = None

    # -- changes -------------------------------------------------------------------------------

    def changed(self) -> None:
        """Something besides the draft changed (documents, model, conversation, modes)."""
        self._basis += 1
        self.dirty = True

    def draft_changed(self) -> None:
        self.dirty = True

    def forget_reading(self) -> None:
        self.reading = None
        self.changed()

    # -- measuring -----------------------------------------------------------------------------

    def begin_measure(self) -> Measurement | None:
        """A measurement to start now, or None while one runs (it is followed by another if dirty)."""
        if self.measuring:
            return None
        self.measuring, self.dirty = True, False
        self._serial += 1
        return Measurement(self._serial, self._basis)

    def measured(self, measurement: Measurement, reading: MeterReading) -> bool:
        """Take a finished reading; True when it is the current one (to show)."""
        self.measuring = False
        if measurement.serial != self._serial:
            return False
        self.reading, self._reading_basis = reading, measurement.basis
        return True

    def measure_failed(self) -> bool:
        """A measurement failed; True when a parked send was dropped (the user must be told)."""
        self.measuring = False
        if self._parked is None:
            return False
        self._parked, self.dirty = None, True
        return True

    def take_parked(self) -> str | None:
        """The text of a send that waited for this reading, once nothing is left to measure."""
        if self.dirty or self.measuring:
            return None
        text, self._parked = self._parked, None
        return text

    # -- sending -------------------------------------------------------------------------------

    def decide(self, text: str, *, preparing: bool, ready: int, search: int) -> SendDecision:
        """What a press of Send does with `text` and the documents: `preparing` (any still being read),
        `ready` (attached and read), `search` (of those, in search mode)."""
        if self.sending:
            return SendDecision(SendAction.BUSY)
        if preparing:
            return SendDecision(SendAction.WAIT_FOR_DOCUMENTS, "Wait until the documents are read, or remove "
                                                               "them.")
        if (self.dirty or self.measuring) and not self.draft_surely_fits(text):
            self._parked = text
            return SendDecision(SendAction.MEASURE_FIRST)
        if self.reading is not None and self.reading.blocked:
            return SendDecision(SendAction.BLOCKED, self.reading.reason)
        if not text.strip() and not ready:
            return SendDecision(SendAction.NOTHING_TO_SEND, "Nothing to send: none of the documents could be "
                                "attached. Remove them, attach others, or type a message.")
        return SendDecision(SendAction.INDEX_THEN_SEND if search else SendAction.SEND)

    def draft_surely_fits(self, text: str) -> bool:
        """Only the draft changed since a reading that fit, and it still fits with the draft estimated
        (the estimate errs high), so sending need not wait for the meter."""
        reading = self.reading
        if reading is None or self._reading_basis != self._basis or not reading.fits:
            return False
        # draft_tokens holds the new message's header and end too: estimate the message the same way
        draft = new_message_tokens(SegmentCounter(None), text).tokens
        needed = reading.budget.needed - reading.draft_tokens + draft
        return needed <= reading.n_ctx

    def blocked_reason(self) -> str:
        """Why sending must wait (empty when it may go ahead)."""
        if self.sending:
            return "Indexing the documents for search…"
        if self.reading is not None and self.reading.blocked:
            return "The message does not fit the context: choose a way out above, or remove a document."
        return ""

    def settled(self) -> bool:
        """Nothing is being measured or indexed, and no change waits for a measurement."""
        return not (self.sending or self.measuring or self.dirty)
