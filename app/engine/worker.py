"""The engine worker process: `ossian --worker`. Owns one llama.cpp model and serves the protocol.

The app starts this as a child (see `spawn`) and talks to it over stdin/stdout with `protocol` frames.
The real stdout is taken for the protocol at once and file descriptor 1 pointed at stderr, so nothing
llama.cpp or a library prints can corrupt a frame; stderr carries llama.cpp's warnings to the app's log.

Threads: the main thread runs loads and generations one at a time, in order; a reader thread reads
requests and acts on `Cancel` and `Shutdown` at once (a running generation is aborted within a graph
node; a waiting one is answered as cancelled and skipped); a tokenizer thread answers `Tokenize` while a
generation runs; a writer thread sends events, several tokens to a frame when they come faster than the
pipe takes them. When the app goes away (stdin closes) the worker exits immediately.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING, BinaryIO

from app.engine.interface import Done, EngineError, EngineFailure
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

if TYPE_CHECKING:  # imported for real only inside serve(), where a broken llama.cpp install is reported
    from app.engine.worker_session import Session


def serve(argv: list[str]) -> int:
    requests, events = _claim_pipes()
    writer = MessageWriter(events)
    try:
        import llama_cpp

        from app.engine.worker_backends import load_backends
        from app.engine.worker_log import LlamaLog
        from app.engine.worker_session import Session

        # first thing: a build with backend modules has no backend at all until they are loaded
        backends = load_backends()
    except Exception as exc:  # a broken install: say so, the app shows it
        writer.write(Ready(PROTOCOL_VERSION, os.getpid(), error=f"{type(exc).__name__}: {exc}"))
        return 1
    if backends.error:
        writer.write(Ready(PROTOCOL_VERSION, os.getpid(), error=backends.error))
        return 1
    log = LlamaLog(forward=sys.stderr)
    sink = EventSink(writer)
    worker = Worker(Session(log), sink)
    sink.event(Ready(PROTOCOL_VERSION, os.getpid(), llama_cpp_version=llama_cpp.__version__))
    return worker.run(requests)


def _claim_pipes() -> tuple[BinaryIO, BinaryIO]:
    """Take fds 0 and 1 for the protocol; leave fd 0 empty and send fd 1 to stderr."""
    if sys.platform == "win32":
        import msvcrt

        msvcrt.setmode(0, os.O_BINARY)
        msvcrt.setmode(1, os.O_BINARY)
    requests = os.fdopen(os.dup(0), "rb")
    events = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return requests, events


class EventSink:
    """Sends events in order from a thread of its own.

    A token goes out at once when the writer is idle (so the first token is never held back); tokens
    that come while a frame was sent less than `TOKEN_FRAME_INTERVAL_S` ago wait for the interval and
    share the next frame. On a fast model that turns thousands of frames, wake-ups and thread switches a
    second (on both sides of the pipe) into a couple of hundred, which is what keeps the pipeline's cost
    within a few percent of a bare generation loop; a person never sees a 5 ms delay. Any other event
    flushes at once.
    """

    TOKEN_FRAME_INTERVAL_S = 0.005

    def __init__(self, writer: MessageWriter) -> None:
        self._writer = writer
        self._pending: list[Event | tuple[int, int, bytes]] = []
        self._wakeup = threading.Condition()
        self._idle = False  # the writer waits for work: the next token must wake it
        self._urgent = False  # a non-token event waits: send without waiting for the interval
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="ossian-worker-writer", daemon=True)
        self._thread.start()

    def token(self, request_id: int, token: int, piece: bytes) -> None:
        with self._wakeup:
            self._pending.append((request_id, token, piece))
            if self._idle:
                self._wakeup.notify()

    def event(self, event: Event) -> None:
        with self._wakeup:
            self._pending.append(event)
            self._urgent = True
            self._wakeup.notify()

    def close(self) -> None:
        with self._wakeup:
            self._closed = True
            self._wakeup.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        sent_at = 0.0
        while True:
            with self._wakeup:
                while not self._pending and not self._closed:
                    self._idle = True
                    self._wakeup.wait()
                self._idle = False
                while not (self._urgent or self._closed):
                    remaining = sent_at + self.TOKEN_FRAME_INTERVAL_S - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wakeup.wait(remaining)
                items, self._pending, self._urgent = self._pending, [], False
                closing = self._closed
            if items:
                try:
                    self._writer.write(*_frames(items))
                except (OSError, ValueError):
                    os._exit(0)  # the app closed its end: nobody is listening any more
                sent_at = time.monotonic()
            elif closing:
                return


def _frames(items: list[Event | tuple[int, int, bytes]]) -> list[Event]:
    frames: list[Event] = []
    run_id, ids, pieces = None, [], []
    for item in items:
        if isinstance(item, tuple):
            request_id, token, piece = item
            if request_id != run_id and ids:
                frames.append(Tokens(run_id, tuple(ids), tuple(pieces)))
                ids, pieces = [], []
            run_id = request_id
            ids.append(token)
            pieces.append(piece)
            continue
        if ids:
            frames.append(Tokens(run_id, tuple(ids), tuple(pieces)))
            run_id, ids, pieces = None, [], []
        frames.append(item)
    if ids:
        frames.append(Tokens(run_id, tuple(ids), tuple(pieces)))
    return frames


class Worker:
    """Dispatches requests: main-thread jobs in order, cancels and token counts right away."""

    def __init__(self, session: Session, sink: EventSink) -> None:
        self._session = session
        self._sink = sink
        self._jobs: queue.SimpleQueue[Request] = queue.SimpleQueue()
        self._tokenize_jobs: queue.SimpleQueue[Tokenize | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running: int | None = None  # the generation in progress
        self._waiting: set[int] = set()  # generations queued behind the current job
        self._cancelled: set[int] = set()  # of those, cancelled (already answered)

    def run(self, requests: BinaryIO) -> int:
        threading.Thread(target=self._read, args=(requests,), name="ossian-worker-reader",
                         daemon=True).start()
        threading.Thread(target=self._tokenize_loop, name="ossian-worker-tokenizer", daemon=True).start()
        while True:
            job = self._jobs.get()
            if isinstance(job, Shutdown):
                break
            self._handle(job)
        self._tokenize_jobs.put(None)
        self._session.unload()
        self._sink.close()
        return 0

    def _read(self, requests: BinaryIO) -> None:
        while True:
            try:
                message = read_message(requests)
            except ProtocolError as exc:
                print(f"ossian worker: {exc}; exiting", file=sys.stderr, flush=True)
                os._exit(3)
            if message is None:
                os._exit(0)  # the app is gone; a decode in progress does not matter any more
            if isinstance(message, Cancel):
                self._cancel(message.request_id)
            elif isinstance(message, Tokenize):
                self._tokenize_jobs.put(message)
            elif isinstance(message, Shutdown):
                self._session.request_abort()
                self._jobs.put(message)
            else:
                if isinstance(message, Generate):
                    with self._lock:
                        self._waiting.add(message.request_id)
                self._jobs.put(message)

    def _cancel(self, request_id: int) -> None:
        with self._lock:
            if self._running == request_id:
                self._session.request_abort()
            elif request_id in self._waiting and request_id not in self._cancelled:
                self._cancelled.add(request_id)
                self._sink.event(Finished(request_id, Done("cancelled")))

    def _handle(self, job: Request) -> None:
        request_id = getattr(job, "request_id", -1)
        try:
            if isinstance(job, Load):
                self._sink.event(Loaded(request_id, self._session.load(job.plan)))
            elif isinstance(job, Unload):
                self._session.unload()
                self._sink.event(Unloaded(request_id))
            elif isinstance(job, Generate):
                self._generate(job)
            else:
                raise EngineFailure(EngineError("protocol", f"The worker got a request it does not know: "
                                                            f"{type(job).__name__}."))
        except EngineFailure as exc:
            self._sink.event(Failed(request_id, exc.error))
        except Exception as exc:
            self._sink.event(Failed(request_id, EngineError(
                "internal", f"The engine failed unexpectedly ({type(exc).__name__}: {exc}). Try again; if it "
                            "keeps happening, the log has the details.", detail=traceback.format_exc())))

    def _generate(self, job: Generate) -> None:
        request_id = job.request_id
        with self._lock:
            self._waiting.discard(request_id)
            if request_id in self._cancelled:
                self._cancelled.discard(request_id)
                return
            self._running = request_id
            self._session.clear_abort()
        try:
            sink = self._sink

            def emit(token: int, piece: bytes) -> None:
                sink.token(request_id, token, piece)

            self._sink.event(Finished(request_id, self._session.generate(job.request, emit)))
        finally:
            with self._lock:
                self._running = None

    def _tokenize_loop(self) -> None:
        while True:
            job = self._tokenize_jobs.get()
            if job is None:
                return
            try:
                if job.segments is not None:
                    result = self._session.tokenize(job.segments)
                else:
                    result = self._session.count_tokens(job.texts)
                self._sink.event(Tokenized(job.request_id, result))
            except EngineFailure as exc:
                self._sink.event(Failed(job.request_id, exc.error))
            except Exception as exc:
                self._sink.event(Failed(job.request_id, EngineError(
                    "internal", f"Counting tokens failed ({type(exc).__name__}: {exc}).",
                    detail=traceback.format_exc())))
