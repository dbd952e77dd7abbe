"""Attaching documents in the window: files in, chips on the composer, the context meter, the send.

The flow, all of it off the UI thread where it can be slow:

1. Files come from the attach button (a multi-select file dialog) or are dropped on the composer or the
   chat (`.gguf` drops stay model imports; the window sorts them out). Each becomes a chip at once.
2. Each file is prepared in the background (`chat.attachments.prepare_document`, two at a time): the
   chip shows progress, then its pages or size and its token count from the loaded model's tokenizer,
   or an estimate marked as such. A file the conversation already holds is re-used, not extracted.
   Bad input ends as an error chip saying why; the draft and the other chips are untouched.
3. The meter (`chat.context_meter`) is measured again whenever the chips, the draft, the model or the
   conversation change. When it does not fit, sending is blocked and the meter offers a larger context
   (the window reloads the model) or search mode for the largest documents.
4. Send hands the ready attachments to `ChatController.send` with the text; search-mode documents are
   indexed into the conversation's search index first. On success the chips clear; on failure they
   stay, and so does the draft.

Signals:
    changed(): whether sending is possible may have changed (the window asks `blocked_reason`).
    sent(str): a message was accepted with the attachments; the text that was sent.
    raiseRequested(int): the user chose a larger context for the loaded model.
    notice(str, str): level and text for the window's banner.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from app.chat import attachments as chat_attachments
from app.chat import context_meter
from app.chat.attachments import PreparedDocument
from app.chat.context_meter import PendingDocument
from app.chat.prompt import PromptSettings
from app.chat.send_gate import Measurement, SendAction, SendGate
from app.chat.session import ChatSession
from app.chat.workspace import Workspace
from app.documents import DocumentError, ExtractionCancelled, ExtractionProgress
from app.store import AttachmentMode, NewAttachment
from app.ui.attachment_chips import Pending, chip_view
from app.ui.bridge import EventBridge, run_in_background
from app.ui.chat_controller import ChatController
from app.ui.composer import Composer
from app.ui.context_meter import ContextMeter, meter_view
from app.units import DEFAULT_CONTEXT

log = logging.getLogger(__name__)

MAX_PARALLEL = 2  # extractions at once: PDF parsing is CPU-bound, and the window needs a core too
MEASURE_DELAY_MS = 250  # typing settles before the meter counts the draft again
PROGRESS_INTERVAL_S = 0.1  # progress reports reach the chip at most this often
SHOW_FROM_FRACTION = 0.5  # without documents, the meter shows once the conversation uses this much


class AttachmentController(QObject):
    changed = Signal()
    sent = Signal(str)
    raiseRequested = Signal(int)
    notice = Signal(str, str)

    def __init__(self, workspace: Workspace, chat: ChatController, composer: Composer, meter: ContextMeter,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self._closed = False
        self.chat = chat
        self.composer = composer
        self.meter = meter
        self._pending: dict[str, Pending] = {}
        self._queue: deque[str] = deque()
        self._running = 0
        self._keys = itertools.count(1)
        self._progress = EventBridge(self)
        self._progress.received.connect(self._on_progress)
        self._context_used: dict[int, int] = {}  # conversation id -> the last turn's context_used
        self.gate = SendGate()  # which reading is current, what is due, and what a press of Send does
        self._measure_timer = QTimer(self)
        self._measure_timer.setSingleShot(True)
        self._measure_timer.setInterval(MEASURE_DELAY_MS)
        self._measure_timer.timeout.connect(self._measure)
        self._prompt_cache = context_meter.PromptCache()

        composer.attachRequested.connect(self.pick_files)
        composer.chipRemoved.connect(self.remove)
        composer.chipModeRequested.connect(lambda key, mode: self.set_mode([key], mode))
        composer.edit.textChanged.connect(self._draft_changed)
        meter.searchRequested.connect(self.use_search_mode)
        meter.raiseRequested.connect(self.raiseRequested)
        chat.turnFinished.connect(self._turn_finished)
        chat.conversationChanged.connect(lambda _: self.schedule_measure())
        meter.hide()

    # ------------------------------------------------------------------------------------ queries

    @property
    def reading(self) -> context_meter.MeterReading | None:
        """The latest meter reading (None before the first measurement)."""
        return self.gate.reading

    def pending(self) -> list[Pending]:
        return list(self._pending.values())

    @property
    def idle(self) -> bool:
        """Nothing is being read, measured or indexed: chips and meter show the state of things now."""
        return (self.gate.settled() and not self._measure_timer.isActive()
                and all(p.state in ("ready", "error") for p in self._pending.values()))

    def blocked_reason(self) -> str:
        """Why sending must wait (empty when it may go ahead)."""
        return self.gate.blocked_reason()

    # --------------------------------------------------------------------------------- adding files

    def pick_files(self) -> None:
        parent = self.parent() if isinstance(self.parent(), QWidget) else None
        paths, _ = QFileDialog.getOpenFileNames(
            parent, "Attach documents", str(Path.home()),
            "Documents (*.pdf *.docx *.txt *.md *.markdown *.csv *.tsv *.json *.html *.htm *.py *.js *.ts "
            "*.java *.c *.cpp *.h *.rs *.go *.rb *.sh *.toml *.yaml *.yml *.xml *.log);;All files (*)")
        if paths:
            self.add_files(paths)

    def add_files(self, paths: Sequence[str | Path]) -> list[str]:
        """Start preparing each file; returns the chips' keys."""
        keys = []
        for path in paths:
            pending = Pending(f"attachment-{next(self._keys)}", Path(path))
            self._pending[pending.key] = pending
            self._queue.append(pending.key)
            self._show(pending)
            keys.append(pending.key)
        self._start_next()
        self.schedule_measure()
        self.changed.emit()
        return keys

    def remove(self, key: str) -> None:
        """The user removed a chip: stop its extraction, forget it."""
        pending = self._pending.pop(key, None)
        if pending is None:
            return
        pending.cancel.set()
        self.composer.remove_chip(key)
        self.schedule_measure()
        self.changed.emit()

    def _start_next(self) -> None:
        if self._closed:
            return
        while self._running < MAX_PARALLEL and self._queue:
            pending = self._pending.get(self._queue.popleft())
            if pending is None or pending.cancel.is_set():
                continue
            self._running += 1
            pending.state = "working"
            self._show(pending)
            self._prepare(pending)

    def _prepare(self, pending: Pending) -> None:
        count = chat_attachments.engine_counter(self._engine())
        conversation_id = self.chat.conversation_id
        store = self.workspace.store
        last_report = [0.0]

        def progress(report: ExtractionProgress) -> None:  # on the extraction thread
            now = time.monotonic()
            if now - last_report[0] >= PROGRESS_INTERVAL_S or report.done >= report.total:
                last_report[0] = now
                self._progress.post((pending.key, report))

        def work() -> PreparedDocument:
            known = chat_attachments.stored_documents(store, conversation_id)
            return chat_attachments.prepare_document(pending.path, count_tokens=count, known=known,
                                                     progress=progress, cancel=pending.cancel.is_set)

        run_in_background(work, lambda result: self._prepared(pending, result),
                          lambda error: self._failed(pending, error), self, name="attach")

    def _on_progress(self, item: object) -> None:
        key, report = item  # type: ignore[misc]
        pending = self._pending.get(key)
        if pending is not None and pending.state == "working":
            pending.progress = report
            self._show(pending)

    def _prepared(self, pending: Pending, prepared: PreparedDocument) -> None:
        if self._closed:
            return
        self._finished_one()
        if self._pending.get(pending.key) is not pending:
            return  # removed meanwhile
        twin = next((p for p in self._pending.values() if p is not pending and p.prepared is not None
                     and p.prepared.document.sha256 == prepared.document.sha256), None)
        if twin is not None:
            pending.state, pending.error = "error", f"Already attached as {twin.name}."
        else:
            pending.state, pending.prepared = "ready", prepared
        self._show(pending)
        self.schedule_measure()
        self.changed.emit()

    def _failed(self, pending: Pending, error: BaseException) -> None:
        if self._closed:
            return
        self._finished_one()
        if self._pending.get(pending.key) is not pending:
            return
        if isinstance(error, ExtractionCancelled):
            self.remove(pending.key)
            return
        if isinstance(error, DocumentError):
            log.info("not attached: %s: %s (%s)", pending.name, error.message, error.detail)
            pending.error = error.message
        else:  # our bug, not the file's: say so, keep the window and everything else
            log.error("preparing %s failed", pending.name, exc_info=error)
            pending.error = f"Could not attach this file ({type(error).__name__}); details are in the log."
        pending.state = "error"
        self._show(pending)
        self.schedule_measure()
        self.changed.emit()

    def _finished_one(self) -> None:
        self._running = max(0, self._running - 1)
        self._start_next()

    # ------------------------------------------------------------------------------------- chips

    def _show(self, pending: Pending) -> None:
        self.composer.set_chip(chip_view(pending))

    def use_search_mode(self, keys: Sequence[str] | None = None) -> None:
        """Attach these pending documents (default: those the meter names) in search mode."""
        reading = self.gate.reading
        chosen = list(keys) if keys is not None else list(reading.search_keys if reading else ())
        self.set_mode(chosen, "search")

    def set_mode(self, keys: Sequence[str], mode: AttachmentMode) -> None:
        """How these ready documents go in: whole ("inline") or searched ("search"); measured again."""
        for key in keys:
            pending = self._pending.get(key)
            if pending is not None and pending.state == "ready":
                pending.mode = mode
                self._show(pending)
        self.measure_now()
        self.changed.emit()

    def model_changed(self) -> None:
        """A model was loaded or unloaded: estimates become exact counts, the meter measures again."""
        count = chat_attachments.engine_counter(self._engine())
        for pending in self._pending.values():
            prepared = pending.prepared
            if count is None or prepared is None or not prepared.tokens.estimated:
                continue

            def work(prepared: PreparedDocument = prepared) -> PreparedDocument:
                return chat_attachments.recount(prepared, count)

            run_in_background(work, lambda result, p=pending: self._recounted(p, result), None, self,
                              name="recount")
        self.schedule_measure()

    def _recounted(self, pending: Pending, prepared: PreparedDocument) -> None:
        if self._closed:
            return
        if self._pending.get(pending.key) is pending and pending.prepared is not None:
            pending.prepared = prepared
            self._show(pending)
            self.schedule_measure()

    def conversation_changed(self) -> None:
        self.gate.forget_reading()
        self._measure_timer.start()

    def _turn_finished(self, event: object) -> None:
        stats = getattr(event, "stats", None)
        conversation_id = self.chat.conversation_id
        if stats is not None and conversation_id is not None and stats.context_used:
            self._context_used[conversation_id] = stats.context_used
        self.schedule_measure()

    # ------------------------------------------------------------------------------------- meter

    def schedule_measure(self) -> None:
        """Measure again soon: something besides the draft changed."""
        self.gate.changed()
        self._measure_timer.start()

    def _draft_changed(self) -> None:
        self.gate.draft_changed()
        self._measure_timer.start()

    def measure_now(self) -> None:
        self.gate.changed()
        self._measure_timer.stop()
        self._measure()

    def _measure(self) -> None:
        if self._closed:
            return
        measurement = self.gate.begin_measure()
        if measurement is None:  # one at a time; the running one is followed by another (dirty)
            return
        read = self._meter_call()
        run_in_background(read, lambda reading: self._measured(measurement, reading), self._measure_failed,
                          self, name="context-meter")

    def _meter_call(self) -> Callable[[], context_meter.MeterReading]:
        """Everything the reading needs, gathered now on the UI thread; the call runs in the background."""
        engine = self._engine()
        model = engine.model if engine is not None else None
        loaded = self.workspace.loaded
        session = self.chat.session
        conversation_id = self.chat.conversation_id
        effort = self.chat.effort()
        context_used = self._context_used.get(conversation_id) if conversation_id is not None else None
        pending = [PendingDocument(p.key, p.prepared, p.mode) for p in self._pending.values()
                   if p.state == "ready" and p.prepared is not None]
        draft = self.composer.text()
        n_ctx = loaded.n_ctx if loaded else (self.workspace.settings.context_tokens or DEFAULT_CONTEXT)

        def read() -> context_meter.MeterReading:
            settings = (session.prompt_settings() if session is not None
                        else PromptSettings(reasoning_effort=effort, start_date=date.today()))
            return context_meter.read_meter(
                store=self.workspace.store, engine=engine, settings=settings, conversation_id=conversation_id,
                draft=draft, pending=pending, n_ctx=n_ctx, context_used=context_used,
                max_n_ctx=model.n_ctx_train if model is not None else None,
                ask_planner=self.workspace.context_offer if engine is not None else None,
                cache=self._prompt_cache)

        return read

    def _measured(self, measurement: Measurement, reading: context_meter.MeterReading) -> None:
        if self._closed:
            return
        if self.gate.measured(measurement, reading):
            self._show_reading(reading)
        if self.gate.dirty:
            self._measure()
            return
        self.changed.emit()
        parked = self.gate.take_parked()
        if parked is not None:
            self.send(parked)

    def _measure_failed(self, error: BaseException) -> None:
        if self._closed:
            return
        log.error("context meter failed", exc_info=error)
        if self.gate.measure_failed():
            # Not sent on a guess: the draft stays, and the next press measures again.
            self.notice.emit("error", "The context could not be measured, so nothing was sent; details "
                                      "are in the log. Press send to try again.")
            return
        if self.gate.dirty:
            self._measure()

    def _show_reading(self, reading: context_meter.MeterReading) -> None:
        self.meter.set_view(meter_view(reading))
        show = bool(self._pending) or not reading.fits or reading.used_fraction >= SHOW_FROM_FRACTION
        self.meter.setVisible(show)

    # -------------------------------------------------------------------------------------- send

    def send(self, text: str) -> None:
        """Send the text with the ready attachments (after indexing search-mode ones)."""
        ready = [p for p in self._pending.values() if p.state == "ready" and p.prepared is not None]
        search = [p for p in ready if p.mode == "search"]
        preparing = any(p.state in ("waiting", "working") for p in self._pending.values())
        decision = self.gate.decide(text, preparing=preparing, ready=len(ready), search=len(search))
        if decision.action is SendAction.BUSY:
            return
        if decision.action is SendAction.MEASURE_FIRST:
            if not self.gate.measuring:  # the reading is stale: measure; the gate sends it afterwards
                self.measure_now()
            return
        if decision.action in (SendAction.WAIT_FOR_DOCUMENTS, SendAction.BLOCKED, SendAction.NOTHING_TO_SEND):
            level = "info" if decision.action is SendAction.WAIT_FOR_DOCUMENTS else "warning"
            self.notice.emit(level, decision.message)
            return
        if decision.action is SendAction.SEND:
            self._deliver(text, ready)
            return
        session = self.chat.ensure_session()
        if session is None:
            return
        self.gate.sending = True
        self.changed.emit()
        documents = [p.prepared.document for p in search if p.prepared is not None]
        run_in_background(lambda: self.workspace.add_search_documents(session, documents),
                          lambda _: self._indexed(text, ready, session), self._index_failed, self,
                          name="index-documents")

    def _indexed(self, text: str, ready: list[Pending], session: ChatSession) -> None:
        if self._closed:
            return
        self.gate.sending = False
        if self.chat.session is not session:
            self.notice.emit("warning", "Another conversation was opened while the documents were indexed; "
                                        "your message and documents are still here: send again.")
            self.changed.emit()
            return
        self._deliver(text, [p for p in ready if self._pending.get(p.key) is p])

    def _index_failed(self, error: BaseException) -> None:
        if self._closed:
            return
        self.gate.sending = False
        log.error("indexing documents for search failed", exc_info=error)
        self.notice.emit("error", f"The documents could not be indexed for search: {error}. Your message and "
                                  "documents are still here.")
        self.changed.emit()

    def _deliver(self, text: str, ready: list[Pending]) -> None:
        if self._closed:
            return
        rows: list[NewAttachment] = [p.prepared.new_attachment(p.mode) for p in ready if p.prepared]
        if not self.chat.send(text, rows):
            self.changed.emit()  # refused: chips and draft stay as they are
            return
        for key in list(self._pending):
            pending = self._pending.pop(key)
            pending.cancel.set()
        self.composer.clear_chips()
        self.sent.emit(text)
        self.schedule_measure()
        self.changed.emit()

    # ----------------------------------------------------------------------------------- helpers

    def _engine(self):
        return self.workspace.engine if self.workspace.loaded is not None else None

    def close(self) -> None:
        # The window closes the workspace (and its store) next: nothing may touch them after this.
        self._closed = True
        self._measure_timer.stop()
        for pending in self._pending.values():
            pending.cancel.set()
