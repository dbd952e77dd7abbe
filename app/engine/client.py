"""The app's side of the local engine: `WorkerEngine`, the `Engine` that runs llama.cpp in a child.

Nothing here blocks its caller. `load`, `unload`, `count_tokens` and `tokenize` return futures;
`generate` returns a `Generation` at once, whose events the consumer iterates in its own thread while
`cancel()` may come from any thread. One background thread starts the worker when needed and sends
requests in the order they were made; a reader thread per worker turns replies into future results and
generation events.

Failure is an event, never a crash of the app: if the worker dies (llama.cpp aborted, out of memory, a
kill), whatever was waiting on it gets an `EngineError` of kind "crashed", and the next request starts a
new worker and loads the same model again before going on.

Cancel asks the worker to stop; it aborts even a long prompt evaluation between two graph nodes, which
takes milliseconds (one node of a long-context batch can take tens). If it has not answered within
`cancel_deadline_s`, the generation ends as cancelled for its consumer anyway, and the worker gets
`kill_deadline_s` more to answer before it is killed (losing the loaded model, which the next request
loads again); requests made meanwhile wait for that outcome instead of queueing behind a stuck worker.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from app.engine.interface import (
    Done,
    Engine,
    EngineCapabilities,
    EngineError,
    EngineFailure,
    GenerateRequest,
    Generation,
    GenerationEvent,
    LoadPlan,
    ModelInfo,
    TokenEvent,
)
from app.engine.protocol import (
    PROTOCOL_VERSION,
    Cancel,
    Event,
    Failed,
    Finished,
    Generate,
    Load,
    Loaded,
    MessageWriter,
    ProtocolError,
    Ready,
    Request,
    Shutdown,
    Tokenize,
    Tokenized,
    Tokens,
    Unload,
    Unloaded,
    read_message,
)
from app.engine.spawn import WORKER_FLAG, child_command, child_environment
from app.harmony.segments import Segment

log = logging.getLogger(__name__)

CANCEL_DEADLINE_S = 0.08  # a cancel ends the generation within 100 ms, whatever the worker does
KILL_DEADLINE_S = 3.0  # a worker that still has not stopped after this is killed
START_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 3.0
_STDERR_LINES_KEPT = 60
# llama.cpp in the worker does all of it: exact prompt tokens, GBNF grammars, vocabulary ids, every
# placement field of a LoadPlan.
CAPABILITIES = EngineCapabilities(tokenize=True, grammar=True, stream="token_ids", load_plans=True)
NOT_LOADED = EngineError("not_loaded", "No model is loaded. Load a model first.")
CLOSED = EngineError("crashed", "The engine was closed.")


class WorkerEngine(Engine):
    """llama.cpp in a child process (`ossian --worker`), one model and one generation at a time."""

    def __init__(self, *, cancel_deadline_s: float = CANCEL_DEADLINE_S,
                 kill_deadline_s: float = KILL_DEADLINE_S, start_timeout_s: float = START_TIMEOUT_S,
                 command: Sequence[str] | None = None) -> None:
        self._cancel_deadline_s = cancel_deadline_s
        self._kill_deadline_s = kill_deadline_s
        self._start_timeout_s = start_timeout_s
        self._command = list(command) if command else child_command(WORKER_FLAG)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._sender = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                             thread_name_prefix="ossian-engine")
        self._process: _WorkerProcess | None = None
        self._pending: dict[int, _Pending] = {}
        self._plan: LoadPlan | None = None  # what the app wants loaded; reloaded after a crash
        self._model: ModelInfo | None = None
        self._reload_needed = False
        self._generation: WorkerGeneration | None = None
        self._closed = False

    # The Engine interface

    def load(self, plan: LoadPlan) -> concurrent.futures.Future[ModelInfo]:
        future: concurrent.futures.Future[ModelInfo] = concurrent.futures.Future()

        def send() -> None:
            process = self._ensure_worker(reload=False)
            with self._lock:
                self._plan, self._reload_needed = plan, False
            self._send(process, Load(self._new_id(), plan), _Pending(future=future, plan=plan))

        self._schedule(send, future)
        return future

    def unload(self) -> concurrent.futures.Future[None]:
        future: concurrent.futures.Future[None] = concurrent.futures.Future()

        def send() -> None:
            with self._lock:
                self._plan, self._model, self._reload_needed = None, None, False
                process = self._process
            if process is None or not process.alive:
                future.set_result(None)
                return
            self._send(process, Unload(self._new_id()), _Pending(future=future))

        self._schedule(send, future)
        return future

    def count_tokens(self, texts: Sequence[str]) -> concurrent.futures.Future[list[int]]:
        return self._tokenize_request(texts=tuple(texts))

    def tokenize(self, segments: Sequence[Segment]) -> concurrent.futures.Future[list[int]]:
        """The prompt's token ids exactly as a generation would evaluate them (specials by id)."""
        return self._tokenize_request(segments=tuple(segments))

    def generate(self, request: GenerateRequest) -> WorkerGeneration:
        generation = WorkerGeneration(self, self._new_id())
        with self._lock:
            busy = self._generation is not None and not self._generation.finished
            if not busy:
                self._generation = generation
        if busy:
            generation._finish(EngineError("busy", "A reply is still being written. Stop it or wait for "
                                                   "it to finish before sending another message."))
            return generation

        def send() -> None:
            if generation.finished:  # cancelled before its turn came
                return
            process = self._ensure_worker(reload=True)
            # The worker reads the rendered segments; the messages they came from stay here (the pipe
            # accepts only the protocol's own types).
            sent = replace(request, conversation=None)
            self._send(process, Generate(generation.request_id, sent), _Pending(generation=generation))

        failed: concurrent.futures.Future[None] = concurrent.futures.Future()
        failed.add_done_callback(lambda f: f.exception() and generation._finish(_error_of(f.exception())))
        self._schedule(send, failed)
        return generation

    @property
    def model(self) -> ModelInfo | None:
        return self._model

    @property
    def capabilities(self) -> EngineCapabilities:
        return CAPABILITIES

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            process, self._process = self._process, None
        self._sender.shutdown(wait=False, cancel_futures=True)
        if process is not None:
            process.shutdown(SHUTDOWN_TIMEOUT_S)
        self._fail_pending(None, CLOSED)

    # Extras beyond the interface

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id while one runs (for diagnostics and tests)."""
        process = self._process
        return process.pid if process is not None and process.alive else None

    # Sending

    def _schedule(self, send: Callable[[], None], future: concurrent.futures.Future) -> None:
        def run() -> None:
            try:
                send()
            except EngineFailure as exc:
                if not future.done():
                    future.set_exception(exc)
            except Exception as exc:  # a bug here must still answer the caller
                log.exception("engine request failed")
                if not future.done():
                    future.set_exception(EngineFailure(EngineError("internal", f"The engine failed: {exc}")))

        def dropped(task: concurrent.futures.Future) -> None:  # close() cancelled it before it ran
            if task.cancelled() and not future.done():
                future.set_exception(EngineFailure(CLOSED))

        try:
            if self._closed:
                raise RuntimeError("closed")
            self._sender.submit(run).add_done_callback(dropped)
        except RuntimeError:
            future.set_exception(EngineFailure(CLOSED))

    def _tokenize_request(self, **fields: object) -> concurrent.futures.Future[list[int]]:
        future: concurrent.futures.Future[list[int]] = concurrent.futures.Future()

        def send() -> None:
            process = self._ensure_worker(reload=True)
            self._send(process, Tokenize(self._new_id(), **fields), _Pending(future=future))

        self._schedule(send, future)
        return future

    def _send(self, process: _WorkerProcess, request: Request, pending: _Pending) -> None:
        request_id = request.request_id
        pending.process = process
        with self._lock:
            self._pending[request_id] = pending
        generation = pending.generation
        if generation is None:
            sent = process.send(request)
        else:
            # a cancel must see either "not sent" (and end it here) or the worker that runs it
            with generation._send_lock:
                if generation.finished:
                    with self._lock:
                        self._pending.pop(request_id, None)
                    return
                sent = process.send(request)
                if sent:
                    generation._process = process
        if not sent:
            self._on_exit(process)  # the worker died before the request went out

    def _new_id(self) -> int:
        return next(self._ids)

    def _ensure_worker(self, reload: bool) -> _WorkerProcess:
        """The running worker; starts one if needed and, after a crash, loads the model again. A request
        that needs a model (`reload`) fails at once when none is wanted: no process starts for that."""
        with self._lock:
            process = self._process
            if self._closed:
                raise EngineFailure(CLOSED)
            if reload and self._plan is None and (process is None or not process.alive):
                raise EngineFailure(NOT_LOADED)
        if process is not None and process.alive:
            # a worker that is late to stop a cancelled generation: wait until it does or is killed
            process.wait_unstuck(self._kill_deadline_s + SHUTDOWN_TIMEOUT_S)
            if process.alive:
                return process
        process = _WorkerProcess(self._command, self._on_event, self._on_exit)
        error = process.wait_ready(self._start_timeout_s)
        if error is not None:
            process.kill()
            raise EngineFailure(error)
        with self._lock:
            closed = self._closed
            if not closed:
                self._process = process
            plan = self._plan if (reload and self._reload_needed) else None
        if closed:  # close() came while this worker was starting: it must not outlive the engine
            process.shutdown(SHUTDOWN_TIMEOUT_S)
            raise EngineFailure(CLOSED)
        if plan is not None:
            future: concurrent.futures.Future[ModelInfo] = concurrent.futures.Future()
            self._send(process, Load(self._new_id(), plan), _Pending(future=future, plan=plan))
            try:
                future.result()
            except EngineFailure as exc:
                raise EngineFailure(EngineError(exc.error.kind, "The engine restarted but could not load "
                                                                f"the model again: {exc.error.message}",
                                                exc.error.detail)) from None
            with self._lock:
                self._reload_needed = False
        return process

    # Replies (the worker's reader thread)

    def _on_event(self, process: _WorkerProcess, event: Event) -> None:
        if isinstance(event, Tokens):
            pending = self._pending.get(event.request_id)
            if pending is not None and pending.generation is not None:
                pending.generation._tokens(event)
            return
        request_id = getattr(event, "request_id", -1)
        with self._lock:
            pending = self._pending.pop(request_id, None)
        process.answered(request_id)
        if pending is None:
            return
        if isinstance(event, Loaded):
            with self._lock:
                self._model = event.info
            pending.resolve(event.info)
        elif isinstance(event, Failed):
            if pending.plan is not None:  # a failed load leaves no model loaded
                with self._lock:
                    self._model, self._plan = None, None
            pending.fail(event.error)
        elif isinstance(event, Finished):
            pending.finish(event.done)
        elif isinstance(event, Tokenized):
            pending.resolve(list(event.result))
        elif isinstance(event, Unloaded):
            pending.resolve(None)

    def _on_exit(self, process: _WorkerProcess) -> None:
        with self._lock:
            if self._process is process:
                self._process = None
            if self._plan is not None:
                self._reload_needed = True
        self._fail_pending(process, process.death_error())

    def _fail_pending(self, process: _WorkerProcess | None, error: EngineError) -> None:
        with self._lock:
            lost = {rid: p for rid, p in self._pending.items() if process is None or p.process is process}
            for rid in lost:
                del self._pending[rid]
        for pending in lost.values():
            if pending.plan is not None:
                with self._lock:  # a plan whose load kills the worker is not loaded again by itself
                    if self._plan == pending.plan:
                        self._plan, self._model, self._reload_needed = None, None, False
                name = os.path.basename(pending.plan.model_path)
                if process is None:  # closed, not dead
                    pending.fail(EngineError(error.kind, f"{error.message} {name} was not loaded.",
                                             error.detail))
                else:
                    pending.fail(EngineError(error.kind, "The engine process stopped unexpectedly while "
                                                         f"loading {name} ({process.death_cause()}), so no "
                                                         "model is loaded.", error.detail))
            else:
                pending.fail(error)

    def _cancel(self, generation: WorkerGeneration) -> None:
        with generation._send_lock:
            if generation.finished:
                return
            generation.cancel_requested = True
            process = generation._process
            if process is None:  # not sent yet: nothing runs, so it is over now
                generation._finish(Done("cancelled"))
                return
        # from a thread of its own: a big request still being written to a stuck worker holds the pipe,
        # and cancel() must return at once whatever the worker does
        threading.Thread(target=process.send, args=(Cancel(generation.request_id),), daemon=True,
                         name="ossian-engine-cancel").start()
        timer = threading.Timer(self._cancel_deadline_s, self._cancel_overdue, args=(generation, process))
        timer.daemon = True
        timer.start()

    def _cancel_overdue(self, generation: WorkerGeneration, process: _WorkerProcess) -> None:
        if generation.finished:
            return
        generation._finish(Done("cancelled"))  # the consumer goes on; the worker's late answer is dropped
        process.stuck_on(generation.request_id)
        timer = threading.Timer(self._kill_deadline_s, self._kill_if_stuck, args=(generation, process))
        timer.daemon = True
        timer.start()

    def _kill_if_stuck(self, generation: WorkerGeneration, process: _WorkerProcess) -> None:
        with self._lock:
            pending = self._pending.get(generation.request_id)
            stuck = pending is not None and pending.process is process
        if stuck:
            log.warning("the engine did not stop within %.1f s of a cancel; restarting it",
                        self._cancel_deadline_s + self._kill_deadline_s)
            process.kill()


class WorkerGeneration(Generation):
    """Events of one generation. Iterate in one thread; `cancel()` from any."""

    def __init__(self, engine: WorkerEngine, request_id: int) -> None:
        self._engine = engine
        self.request_id = request_id
        self._queue: queue.SimpleQueue[Tokens | Done | EngineError] = queue.SimpleQueue()
        self._process: _WorkerProcess | None = None
        self._send_lock = threading.Lock()
        self.cancel_requested = False
        self.finished = False
        self._drained = False
        self.result: Done | EngineError | None = None

    def __iter__(self) -> Iterator[GenerationEvent]:
        if self._drained:  # iterated to the end before: the end is all that is left
            assert self.result is not None
            yield self.result
            return
        while True:
            item = self._queue.get()
            if isinstance(item, Tokens):
                for token, piece in zip(item.ids, item.pieces, strict=True):
                    yield TokenEvent(token, piece)
                continue
            self._drained = True
            yield item
            return

    def cancel(self) -> None:
        self._engine._cancel(self)

    def _tokens(self, tokens: Tokens) -> None:
        if not self.finished:
            self._queue.put(tokens)

    def _finish(self, outcome: Done | EngineError) -> None:
        if self.finished:
            return
        if isinstance(outcome, EngineError) and self.cancel_requested:
            outcome = Done("cancelled")  # killed because it did not stop in time: that is what was asked
        self.finished = True
        self.result = outcome
        self._queue.put(outcome)


@dataclass
class _Pending:
    """A request sent to a worker and waiting for its reply."""

    future: concurrent.futures.Future | None = None
    generation: WorkerGeneration | None = None
    plan: LoadPlan | None = None
    process: _WorkerProcess | None = None

    def resolve(self, value: object) -> None:
        if self.future is not None and not self.future.done():
            self.future.set_result(value)

    def fail(self, error: EngineError) -> None:
        if self.generation is not None:
            self.generation._finish(error)
        elif self.future is not None and not self.future.done():
            self.future.set_exception(EngineFailure(error))

    def finish(self, done: Done) -> None:
        if self.generation is not None:
            self.generation._finish(done)
        else:
            self.resolve(done)


class _WorkerProcess:
    """One running `ossian --worker` with its pipes and the threads that read them."""

    def __init__(self, command: list[str], on_event: Callable[[_WorkerProcess, Event], None],
                 on_exit: Callable[[_WorkerProcess], None]) -> None:
        self._on_event = on_event
        self._on_exit = on_exit
        self._ready = threading.Event()
        self._ready_message: Ready | None = None
        self._protocol_problem: str | None = None
        self.stderr_tail: deque[str] = deque(maxlen=_STDERR_LINES_KEPT)
        self.alive = True
        self._stuck_request: int | None = None
        self._unstuck = threading.Event()
        self._unstuck.set()
        flags = subprocess.CREATE_NO_WINDOW if sys.platform == "win32" else 0
        try:
            self._popen = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, env=child_environment(),
                                           creationflags=flags)
        except OSError as exc:
            self.alive = False
            self._protocol_problem = f"the engine process could not be started: {exc}"
            self._ready.set()
            return
        self.pid = self._popen.pid
        self._writer = MessageWriter(self._popen.stdin)
        for target, role in ((self._read_events, "reader"), (self._read_stderr, "stderr")):
            threading.Thread(target=target, name=f"ossian-engine-{role}-{self.pid}", daemon=True).start()

    def wait_ready(self, timeout: float) -> EngineError | None:
        """None once the worker said hello in our protocol version; otherwise what went wrong."""
        if not self._ready.wait(timeout):
            return EngineError("crashed", f"The engine process did not start within {timeout:.0f} s.")
        ready = self._ready_message
        if ready is None:
            return self.death_error() if self._protocol_problem is None else EngineError(
                "crashed", f"The engine process could not start: {self._protocol_problem}.")
        if ready.error:
            return EngineError("internal", f"llama.cpp could not be loaded: {ready.error}. Reinstall Ossian.")
        if ready.protocol_version != PROTOCOL_VERSION:
            return EngineError("protocol", f"The engine speaks protocol {ready.protocol_version}, the app "
                                           f"{PROTOCOL_VERSION}: the installation is mixed. Reinstall "
                                           "Ossian.")
        return None

    def stuck_on(self, request_id: int) -> None:
        """The worker has not answered the cancel of `request_id` in time."""
        self._stuck_request = request_id
        self._unstuck.clear()

    def answered(self, request_id: int) -> None:
        if request_id == self._stuck_request:
            self._stuck_request = None
            self._unstuck.set()

    def wait_unstuck(self, timeout: float) -> None:
        self._unstuck.wait(timeout)

    def send(self, request: Request) -> bool:
        if not self.alive:
            return False
        try:
            self._writer.write(request)
            return True
        except (OSError, ValueError):
            return False

    def kill(self) -> None:
        if getattr(self, "_popen", None) is not None and self._popen.poll() is None:
            try:
                self._popen.kill()
            except OSError:
                pass

    def shutdown(self, timeout: float) -> None:
        if not self.alive:
            return
        self.send(Shutdown())
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self._popen.wait(timeout)

    def death_error(self) -> EngineError:
        # Nothing here about the user's conversation: the engine knows none (the chat room says what
        # of it was saved; a command line question has none).
        return EngineError("crashed", f"The engine process stopped unexpectedly ({self.death_cause()}). "
                                      "The next request starts it again.",
                           detail="\n".join(self._stderr_lines()[-20:]))

    def death_cause(self) -> str:
        """How the process ended, and what llama.cpp said last: 'it was stopped by signal SIGKILL'."""
        code = self._popen.poll() if getattr(self, "_popen", None) is not None else None
        if code is not None and code < 0:
            try:
                how = f"it was stopped by signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"it was stopped by signal {-code}"
        elif code is not None:
            how = f"it exited with status {code}"
        else:
            how = "it stopped answering"
        said = next((line for line in reversed(self._stderr_lines())
                     if any(word in line.lower() for word in ("error", "assert", "abort", "fatal"))), "")
        return f"{how}; llama.cpp said: {said}" if said else how

    def _stderr_lines(self) -> list[str]:
        return [line for line in self.stderr_tail if line.strip()]

    def _read_events(self) -> None:
        stream = self._popen.stdout
        try:
            while True:
                event = read_message(stream)
                if event is None:
                    break
                if isinstance(event, Ready):
                    self._ready_message = event
                    self._ready.set()
                    continue
                self._on_event(self, event)
        except ProtocolError as exc:
            self._protocol_problem = str(exc)
            log.error("engine protocol error: %s", exc)
            self.kill()
        except Exception:
            log.exception("engine reader failed")
            self.kill()
        self.alive = False
        try:
            self._popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        self._writer.close()
        stream.close()
        self._ready.set()
        self._unstuck.set()
        self._on_exit(self)

    def _read_stderr(self) -> None:
        with self._popen.stderr:
            for raw in self._popen.stderr:
                line = raw.decode("utf-8", errors="replace").rstrip()
                self.stderr_tail.append(line)
                log.info("worker %s: %s", self.pid, line)


def _error_of(exc: BaseException | None) -> EngineError:
    if isinstance(exc, EngineFailure):
        return exc.error
    return EngineError("internal", f"The engine failed: {exc}")
