"""Downloads from the Hub: a queue, states, progress events, pause, resume, cancel, and checked results.

The UI (or the CLI) keeps one `DownloadManager` per models folder and a `Download` per model. Work
runs on one background thread, one download at a time, in the order asked. A download moves through

    queued -> downloading <-> verifying -> done
          \\-> paused (resume -> queued)   \\-> failed (resume -> queued)   \\-> cancelled

and every change, plus progress at most every `progress_interval` seconds, is delivered to the
listeners as a `DownloadProgress` snapshot (bytes, speed, time left, which part, what is happening).
Listeners are called on the download thread (or on the thread that paused or cancelled), one event at
a time and never an older snapshot after a newer one (an overtaken one is skipped: the latest is the
truth). They must return quickly and must not wait for other threads; Qt code re-emits them as
queued signals.

What a download guarantees:
- the Hub's file list decides the files, sizes and hashes; all parts of a split model are one download;
- the free disk space is checked before the first byte;
- bytes land in `<name>.gguf.partial` files and every file is checked against the Hub's SHA-256 (hashed
  while it arrives); a mismatch deletes that file and says so; only when every part passed and the
  planner's header check (run on the files in a hidden `.ossian-checking` folder, where no listing sees
  them) agrees it is a gpt-oss model are the files renamed to `.gguf` and added to the library, so
  nothing incomplete or refused ever looks installed;
- files that match their hash but whose header is refused are deleted, and the refusal is remembered
  with the download: retrying asks the Hub again and refuses those same bytes without fetching them
  (a fixed upload, with other hashes, is downloaded);
- pause, a broken connection, or closing the app keep what arrived; resuming continues from the first
  missing byte (a record in `.downloads/` makes an interrupted download show as resumable next start);
- cancel deletes the partial files and the record.
"""

from __future__ import annotations

import errno
import itertools
import logging
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from app.models.access import HubAccess
from app.models.download_plan import DownloadPlan, DownloadRequest, PlannedFile, plan_download
from app.models.errors import IntegrityError, ModelsError, NotEnoughDisk, NotUsable, UnknownModel
from app.models.gguf_check import inspect_model
from app.models.library import InstalledModel, Library, hub_model_id
from app.models.rate import RateMeter
from app.models.records import DownloadRecord, RecordState, RecordStore, rejection_key
from app.models.transfer import RunningDigest, fetch_file
from app.units import format_bytes

if TYPE_CHECKING:  # the client comes from HubAccess; importing it here would load huggingface_hub
    from app.models.hub import HubClient

log = logging.getLogger(__name__)

DISK_MARGIN = 128 * 1024 * 1024  # room left over for the filesystem and the app's own small files
# Where finished files wait while their header is read: a dot-folder, which the library never lists.
CHECK_DIR = ".ossian-checking"
# The header check's problems that belong to the bytes themselves (a newer Ossian reads an "unsupported"
# file, so that one is not remembered).
HEADER_PROBLEMS = frozenset({"damaged", "truncated", "not_gguf", "missing_parts"})
REMEMBERED_PROBLEMS = HEADER_PROBLEMS | {"wrong_architecture"}


class DownloadState(StrEnum):
    QUEUED = "queued"
    DOWNLOADING = "downloading"
    PAUSED = "paused"
    VERIFYING = "verifying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATES = frozenset({DownloadState.QUEUED, DownloadState.DOWNLOADING, DownloadState.VERIFYING})
SETTLED_STATES = frozenset({DownloadState.PAUSED, DownloadState.DONE, DownloadState.FAILED,
                            DownloadState.CANCELLED})


@dataclass(frozen=True)
class DownloadProgress:
    """A snapshot of one download, as listeners receive it."""

    id: str
    name: str
    state: DownloadState
    bytes_done: int
    bytes_total: int  # 0 until the Hub's file list is known
    speed: float  # bytes per second over the last seconds; 0 when nothing moves
    eta_seconds: float | None
    file_index: int  # 1-based: the part being worked on (0 before the first)
    file_count: int
    file_name: str | None
    checked_bytes: int  # while re-reading bytes already on disk (state verifying)
    check_total: int
    message: str  # what is happening, or what went wrong and what to do
    error: ModelsError | None = None
    model: InstalledModel | None = None  # the installed model, once done
    sequence: int = 0  # grows with every snapshot: a higher one is newer

    @property
    def fraction(self) -> float:
        return self.bytes_done / self.bytes_total if self.bytes_total else 0.0

    @property
    def resumable(self) -> bool:
        return self.state in (DownloadState.PAUSED, DownloadState.FAILED)


Listener = Callable[[DownloadProgress], None]


class _Stopped(Exception):
    """The worker noticed a pause or cancel request."""


class Download:
    """One model's download. Keep it to read progress and to pause, resume or cancel. Thread-safe."""

    def __init__(self, manager: DownloadManager, record: DownloadRecord, state: DownloadState) -> None:
        self._manager = manager
        self._record = record
        self.request = record.request
        self.id = record.request.id
        self._state = state
        self._message = ""
        self._error: ModelsError | None = None
        self._model: InstalledModel | None = None
        self._bytes_done = 0
        self._file_index = 0
        self._file_name: str | None = None
        self._checked = (0, 0)
        self._stop = threading.Event()
        self._stop_reason: str | None = None  # "pause", "cancel" or None
        self._rate = RateMeter()
        self._last_emit = 0.0
        self._deferred_tick: threading.Timer | None = None  # a held-back progress report, due soon
        self._digests: dict[Path, RunningDigest] = {}  # partial path -> digest, kept across pauses

    @property
    def state(self) -> DownloadState:
        return self.progress().state

    def progress(self) -> DownloadProgress:
        with self._manager._lock:
            return self._snapshot()

    def pause(self) -> None:
        self._manager.pause(self.id)

    def resume(self) -> None:
        self._manager.resume(self.id)

    def cancel(self) -> None:
        self._manager.cancel(self.id)

    def wait(self, timeout: float | None = None) -> DownloadProgress:
        """Block until the download is paused, done, failed or cancelled (or the timeout passes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._manager._changed:
            while self._state not in SETTLED_STATES:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._manager._changed.wait(left)
            return self._snapshot()

    def _snapshot(self) -> DownloadProgress:
        plan = self._record.plan
        total = plan.total_bytes if plan else 0
        moving = self._state in (DownloadState.DOWNLOADING,)
        return DownloadProgress(
            id=self.id, name=plan.name if plan else self.request.display_name, state=self._state,
            bytes_done=self._bytes_done, bytes_total=total,
            speed=self._rate.speed() if moving else 0.0,
            eta_seconds=self._rate.eta(total - self._bytes_done) if moving and total else None,
            file_index=self._file_index, file_count=len(plan.files) if plan else 0,
            file_name=self._file_name, checked_bytes=self._checked[0], check_total=self._checked[1],
            message=self._message, error=self._error, model=self._model,
            sequence=next(self._manager._sequence),
        )


class DownloadManager:
    """The downloads of one models folder; unfinished ones from earlier runs are loaded as resumable.

    Keep one per models folder in a process (the app holds one; each CLI run makes its own). Another
    process working on the same download is detected through its lock file and refused.
    """

    def __init__(self, models_dir: Path, access: HubAccess | None = None, *, library: Library | None = None,
                 retry_wait: float = 1.0, max_attempts: int = 6, progress_interval: float = 0.25,
                 disk_margin: int = DISK_MARGIN) -> None:
        self.models_dir = Path(models_dir)
        self.access = access or HubAccess()
        self.library = library or Library(self.models_dir)
        self.retry_wait = retry_wait
        self.max_attempts = max_attempts
        self.progress_interval = progress_interval
        self.disk_margin = disk_margin
        self._records = RecordStore(self.models_dir)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[str, Download] = {}
        self._queue: deque[str] = deque()
        self._worker: threading.Thread | None = None
        self._listeners: list[Listener] = []
        self._sequence = itertools.count(1)
        # Events are delivered outside the state lock (listeners may call back in), one at a time, and
        # never older after newer: the delivery lock is only ever taken before the state lock.
        self._delivery = threading.RLock()
        self._delivered: dict[str, int] = {}
        for record in self._records.load_all():
            self._jobs[record.request.id] = self._interrupted(record)

    # -- public API -----------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with every change; returns a function that removes it again."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def downloads(self) -> list[Download]:
        with self._lock:
            return list(self._jobs.values())

    def get(self, download_id: str) -> Download:
        with self._lock:
            job = self._jobs.get(download_id)
        if job is None:
            raise UnknownModel(f"There is no download '{download_id}'.")
        return job

    def find(self, request: DownloadRequest) -> Download | None:
        with self._lock:
            return self._jobs.get(request.id)

    def start(self, request: DownloadRequest) -> Download:
        """Queue a download (or resume the unfinished one of the same model). Refuses at once when offline."""
        self.access.policy().require("download models")
        with self._lock:
            job = self._jobs.get(request.id)
            if job is not None and job._state in ACTIVE_STATES:
                return job
            if job is None or job._state in (DownloadState.DONE, DownloadState.CANCELLED):
                record = DownloadRecord(request)
                self._records.save(record)
                job = Download(self, record, DownloadState.QUEUED)
                self._jobs[request.id] = job
        self._enqueue(job)
        return job

    def resume(self, download_id: str) -> Download:
        self.access.policy().require("download models")
        job = self.get(download_id)
        with self._lock:
            working = job._state in (DownloadState.DOWNLOADING, DownloadState.VERIFYING)
            if working and job._stop_reason == "pause":
                job._stop_reason = None  # the worker has not stopped yet: it will carry on
                job._stop.clear()
                return job
            if job._state not in (DownloadState.PAUSED, DownloadState.FAILED):
                return job
        self._enqueue(job)
        return job

    def pause(self, download_id: str) -> None:
        job = self.get(download_id)
        with self._lock:
            if job._state in (DownloadState.DOWNLOADING, DownloadState.VERIFYING):
                job._stop_reason = "pause"
                job._stop.set()
                return
            if job._state != DownloadState.QUEUED:
                return
            self._drop_from_queue(job)
        self._settle(job, DownloadState.PAUSED, self._paused_message(job), "paused")

    def cancel(self, download_id: str) -> None:
        job = self.get(download_id)
        with self._lock:
            if job._state in (DownloadState.DOWNLOADING, DownloadState.VERIFYING):
                job._stop_reason = "cancel"
                job._stop.set()
                return
            if job._state in (DownloadState.DONE, DownloadState.CANCELLED):
                return
            self._drop_from_queue(job)
        self._discard(job)
        with self._lock:
            job._state, job._message, job._error = DownloadState.CANCELLED, "Cancelled.", None
            job._bytes_done = 0
            snapshot = job._snapshot()
            self._changed.notify_all()
        self._notify(snapshot)

    def shutdown(self, timeout: float | None = 10.0) -> None:
        """Pause everything (keeping what arrived) and wait for the download thread to stop."""
        for job in self.downloads():
            if job._state in ACTIVE_STATES:
                self.pause(job.id)
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    # -- the queue ----------------------------------------------------------------------------------

    def _enqueue(self, job: Download) -> None:
        with self._lock:
            job._stop.clear()
            job._stop_reason = None
            job._error = None
            job._state = DownloadState.QUEUED
            waiting = bool(self._queue) or self._busy()
            job._message = "Waiting for the downloads before it." if waiting else "Starting."
            if job.id not in self._queue:
                self._queue.append(job.id)
            if job._record.state != "active":
                job._record.state, job._record.error = "active", None
                self._records.save(job._record)
            snapshot = job._snapshot()
            self._changed.notify_all()
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="ossian-downloads", daemon=True)
                self._worker.start()
        self._notify(snapshot)

    def _busy(self) -> bool:
        working = (DownloadState.DOWNLOADING, DownloadState.VERIFYING)
        return any(job._state in working for job in self._jobs.values())

    def _drop_from_queue(self, job: Download) -> None:
        if job.id in self._queue:
            self._queue.remove(job.id)

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._worker = None
                    return
                job = self._jobs[self._queue.popleft()]
                if job._state != DownloadState.QUEUED:
                    continue
            self._run(job)

    def _run(self, job: Download) -> None:
        try:
            self._records.claim(job.id)
        except ModelsError as exc:
            self._fail(job, exc, persist=False)
            return
        try:
            self._execute(job)
        except _Stopped:
            self._stopped(job)
        except ModelsError as exc:
            self._fail(job, exc)
        except OSError as exc:
            self._fail(job, self._disk_error(exc))
        except Exception as exc:  # our bug: say so, keep the partial files, keep the thread alive
            log.exception("download %s failed unexpectedly", job.id)
            self._fail(job, ModelsError(f"The download stopped because of an error in Ossian ({exc!r}). "
                                        "What arrived is kept; try resuming, and report the problem if it "
                                        "repeats."))
        finally:
            self._records.release(job.id)

    # -- one download ---------------------------------------------------------------------------------

    def _execute(self, job: Download) -> None:
        record = job._record
        self._set(job, DownloadState.DOWNLOADING, "Connecting to the Hub.")
        client = self.access.connect("download models")
        if record.plan is None:
            self._set(job, DownloadState.DOWNLOADING, "Asking the Hub for the file list.")
            listing = client.list_repo(record.request.repo, record.request.revision)
            plan = plan_download(listing, record.request, self.models_dir)
            self._refuse_if_rejected(record, plan)
            with self._lock:
                record.plan = plan
                self._records.save(record)
            if self._already_installed(job, plan):
                return
        plan = record.plan
        _unstage(plan)
        self._check_stop(job)
        self._check_disk(plan, record)
        for index, planned in enumerate(plan.files, start=1):
            if self._is_verified(record, planned):
                continue
            # "Never use the network" switched on meanwhile stops the download before the next file.
            self.access.policy().require("download models")
            digest = job._digests.get(planned.partial)
            if digest is None or digest.position != _size(planned.partial):
                digest = RunningDigest(planned)
                job._digests[planned.partial] = digest
                self._rebuild_digest(job, index, planned, digest)
            self._fetch(job, client, plan, index, planned, digest)
            self._verify(job, index, planned, digest)
        self._finish(job, plan)

    def _already_installed(self, job: Download, plan: DownloadPlan) -> bool:
        model_id = hub_model_id(plan.repo, plan.files[0].path)
        for model in self.library.list():
            if (model.id == model_id and model.available and model.verified
                    and model.sha256 == tuple(f.sha256 or f.blob_id for f in plan.files)):
                self._records.delete(job.id)
                with self._lock:
                    job._model = model
                    job._bytes_done = plan.total_bytes
                self._settle(job, DownloadState.DONE, "Already installed and verified.", None)
                return True
        return False

    def _check_disk(self, plan: DownloadPlan, record: DownloadRecord) -> None:
        needed = sum(f.size - min(_size(f.partial), f.size) for f in plan.files
                     if not self._is_verified(record, f))
        folder = plan.files[0].destination.parent
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        free = shutil.disk_usage(existing).free
        if needed and free < needed + self.disk_margin:
            short = needed + self.disk_margin - free
            raise NotEnoughDisk(
                f"Not enough free disk space for {plan.name}: {format_bytes(needed)} still to download, but "
                f"only {format_bytes(free)} free in {existing}. Free up {format_bytes(short)} or choose "
                "another models folder in Settings, then resume.", needed, free, existing)

    def _rebuild_digest(self, job: Download, index: int, planned: PlannedFile, digest: RunningDigest) -> None:
        """After a restart, hash the bytes already on disk once (hashlib cannot save its state)."""
        on_disk = _size(planned.partial)
        if on_disk == 0:
            return
        if on_disk > planned.size:
            planned.partial.unlink()
            return
        self._set(job, DownloadState.VERIFYING, f"Checking the {format_bytes(on_disk)} of {planned.path} "
                                                "downloaded before.", index=index, file_name=planned.path)

        def progress(position: int) -> None:
            with self._lock:
                job._checked = (position, on_disk)
            self._tick(job)

        if not digest.catch_up(planned.partial, progress, job._stop):
            raise _Stopped
        with self._lock:
            job._checked = (0, 0)

    def _fetch(self, job: Download, client: HubClient, plan: DownloadPlan, index: int, planned: PlannedFile,
               digest: RunningDigest) -> None:
        planned.partial.parent.mkdir(parents=True, exist_ok=True)
        base = sum(f.size for f in plan.files if f is not planned and self._is_verified(job._record, f))
        job._rate.reset()
        parts = f" (part {index} of {len(plan.files)})" if len(plan.files) > 1 else ""
        self._set(job, DownloadState.DOWNLOADING, f"Downloading {planned.path}{parts}.", index=index,
                  file_name=planned.path)

        def on_bytes(offset: int) -> None:
            with self._lock:
                job._bytes_done = base + offset
                job._rate.add(job._bytes_done)
            self._tick(job)

        def on_retry(message: str) -> None:
            with self._lock:
                job._message = message
            self._tick(job, force=True)

        on_bytes(digest.position)
        complete = fetch_file(client, plan.repo, plan.commit, planned, planned.partial, digest,
                              on_bytes=on_bytes, on_retry=on_retry, stop=job._stop,
                              max_attempts=self.max_attempts, retry_wait=self.retry_wait)
        if not complete:
            raise _Stopped

    def _verify(self, job: Download, index: int, planned: PlannedFile, digest: RunningDigest) -> None:
        self._set(job, DownloadState.VERIFYING, f"Checking {planned.path} against the Hub's hash.",
                  index=index, file_name=planned.path)
        size = _size(planned.partial)
        if size != planned.size or not digest.matches():
            actual = digest.hexdigest() if size == planned.size else f"{size:,} bytes"
            expected = digest.expected if size == planned.size else f"{planned.size:,} bytes"
            planned.partial.unlink(missing_ok=True)
            job._digests.pop(planned.partial, None)
            algorithm = digest.algorithm or "size"
            raise IntegrityError(
                f"{planned.path} did not match the Hub's {algorithm} (expected {expected}, got {actual}): "
                "it was damaged on the way. The damaged file was deleted; resume the download to fetch it "
                "again.",
                planned.path, str(expected), str(actual))
        stat = planned.partial.stat()
        with self._lock:
            job._record.verified[planned.path] = (stat.st_size, stat.st_mtime_ns)
            self._records.save(job._record)

    def _finish(self, job: Download, plan: DownloadPlan) -> None:
        self._check_stop(job)
        # The header is read before the files get their names in the library's folder: renamed first,
        # a file the check refuses would be listed as an installed model until it was deleted (and for
        # good if the app stopped in between).
        staged = [_staged(planned) for planned in plan.files]
        for planned, path in zip(plan.files, staged, strict=True):
            path.parent.mkdir(exist_ok=True)
            planned.partial.replace(path)
        try:
            header = inspect_model(staged[0])
        except NotUsable as exc:
            for path in staged:
                path.unlink(missing_ok=True)
            _remove_check_folders(plan)
            raise self._rejected(job, plan, exc) from None
        for planned, path in zip(plan.files, staged, strict=True):
            path.replace(planned.destination)
        _remove_check_folders(plan)
        model = self.library.add(InstalledModel(
            id=hub_model_id(plan.repo, plan.files[0].path), name=plan.name,
            quantization=plan.quantization or header.quantization, size=plan.total_bytes,
            parts=tuple(f.destination for f in plan.files),
            verified=all(f.sha256 or f.blob_id for f in plan.files), source="hub", repo=plan.repo,
            commit=plan.commit, catalog_id=job.request.catalog_id,
            sha256=tuple(f.sha256 or f.blob_id for f in plan.files),
        ))
        self._records.delete(job.id)
        job._digests.clear()
        with self._lock:
            job._model = model
            job._bytes_done = plan.total_bytes
        self._settle(job, DownloadState.DONE, f"{plan.name} is installed and verified.", None)

    def _rejected(self, job: Download, plan: DownloadPlan, exc: NotUsable) -> NotUsable:
        """The error for files that matched their hash and were refused; the download forgets its plan
        (a retry asks the Hub again) and remembers the refusal of these bytes."""
        with self._lock:
            if exc.problem in REMEMBERED_PROBLEMS:
                job._record.rejected[rejection_key(plan)] = (exc.problem or "", exc.reason)
            job._record.plan = None
            job._record.verified.clear()
            job._digests.clear()
            job._bytes_done = 0
        return NotUsable(_rejection_message(plan, exc.problem, exc.reason, fetched=True), exc.reason,
                         exc.problem)

    def _refuse_if_rejected(self, record: DownloadRecord, plan: DownloadPlan) -> None:
        """The Hub still lists the very files refused before: say so without fetching them again."""
        refused = record.rejected.get(rejection_key(plan))
        if refused is not None:
            problem, reason = refused
            raise NotUsable(_rejection_message(plan, problem, reason, fetched=False), reason, problem)

    # -- stopping and failing -------------------------------------------------------------------------

    def _check_stop(self, job: Download) -> None:
        if job._stop.is_set():
            raise _Stopped

    def _stopped(self, job: Download) -> None:
        with self._lock:
            reason = job._stop_reason
            if reason is None:  # resumed before the worker noticed the pause: go on
                self._queue.appendleft(job.id)
                job._state = DownloadState.QUEUED
                return
        if reason == "cancel":
            self._discard(job)
            with self._lock:
                job._bytes_done = 0
            self._settle(job, DownloadState.CANCELLED, "Cancelled; the partial files were deleted.", None)
        else:
            self._settle(job, DownloadState.PAUSED, self._paused_message(job), "paused")

    def _fail(self, job: Download, error: ModelsError, persist: bool = True) -> None:
        log.warning("download %s failed: %s", job.id, error)
        with self._lock:
            job._error = error
            job._record.error = str(error)
        self._settle(job, DownloadState.FAILED, str(error), "failed" if persist else None)

    def _discard(self, job: Download) -> None:
        plan = job._record.plan
        for planned in plan.files if plan else ():
            planned.partial.unlink(missing_ok=True)
            _staged(planned).unlink(missing_ok=True)
        if plan is not None:
            _remove_check_folders(plan)
        job._digests.clear()
        self._records.delete(job.id)

    def _disk_error(self, exc: OSError) -> ModelsError:
        if exc.errno == errno.ENOSPC:
            return ModelsError(f"The disk holding {self.models_dir} is full. Free up space, then resume: the "
                               "download continues where it stopped.")
        where = exc.filename or self.models_dir
        return ModelsError(f"Could not write {where}: {exc.strerror or exc}. Check that the models folder is "
                           "writable, or choose another one in Settings, then resume.")

    def _paused_message(self, job: Download) -> str:
        plan = job._record.plan
        if plan is None:
            return "Paused before it started. Resume to continue."
        return (f"Paused at {format_bytes(job._bytes_done)} of {format_bytes(plan.total_bytes)}. "
                "Resume to continue where it stopped.")

    def _interrupted(self, record: DownloadRecord) -> Download:
        failed = record.state == "failed"
        job = Download(self, record, DownloadState.FAILED if failed else DownloadState.PAUSED)
        plan = record.plan
        if plan is not None:
            job._bytes_done = sum(f.size if self._is_verified(record, f) else min(_size(f.partial), f.size)
                                  for f in plan.files)
        if failed:
            job._error = ModelsError(record.error or "The download failed.")
            job._message = record.error or "The download failed. Resume to try again."
        elif record.state == "active":
            done = f" at {format_bytes(job._bytes_done)} of {format_bytes(plan.total_bytes)}" if plan else ""
            job._message = f"Interrupted{done} when Ossian closed. Resume to continue where it stopped."
        else:
            job._message = self._paused_message(job)
        return job

    # -- state changes and events ------------------------------------------------------------------------

    def _is_verified(self, record: DownloadRecord, planned: PlannedFile) -> bool:
        stamp = record.verified.get(planned.path)
        if stamp is None:
            return False
        try:
            stat = planned.partial.stat()
        except FileNotFoundError:
            return False
        return (stat.st_size, stat.st_mtime_ns) == stamp

    def _set(self, job: Download, state: DownloadState, message: str, *, index: int | None = None,
             file_name: str | None = None) -> None:
        self._check_stop(job)
        with self._lock:
            job._state, job._message = state, message
            if index is not None:
                job._file_index, job._file_name = index, file_name
            snapshot = job._snapshot()
            job._last_emit = time.monotonic()
            self._changed.notify_all()
        self._notify(snapshot)

    def _settle(self, job: Download, state: DownloadState, message: str, persist: RecordState | None) -> None:
        self._records.release(job.id)  # before anyone hears the news: the files are free from now on
        with self._lock:
            job._state, job._message = state, message
            job._stop.clear()
            job._stop_reason = None
            if persist is not None:
                job._record.state = persist
                self._records.save(job._record)
            snapshot = job._snapshot()
            self._changed.notify_all()
        self._notify(snapshot)

    def _tick(self, job: Download, force: bool = False) -> None:
        """Progress within a state: delivered at most every `progress_interval` seconds, and never held
        back for good: bytes that arrive just before the connection stalls are reported a moment later
        by a deferred tick, not only when data moves again."""
        with self._lock:
            now = time.monotonic()
            wait = self.progress_interval - (now - job._last_emit)
            if not force and wait > 0:
                if job._deferred_tick is None:
                    timer = threading.Timer(wait, self._deferred, args=(job,))
                    timer.daemon = True
                    job._deferred_tick = timer
                    timer.start()
                return
            job._last_emit = now
            snapshot = job._snapshot()
        self._notify(snapshot)

    def _deferred(self, job: Download) -> None:
        with self._lock:
            job._deferred_tick = None
        self._tick(job, force=True)

    def _notify(self, snapshot: DownloadProgress) -> None:
        with self._delivery:
            if snapshot.sequence <= self._delivered.get(snapshot.id, 0):
                return  # a newer snapshot of this download was delivered already
            self._delivered[snapshot.id] = snapshot.sequence
            with self._lock:
                listeners = list(self._listeners)
            for listener in listeners:
                try:
                    listener(snapshot)
                except Exception:  # a broken listener must not stop the download
                    log.exception("a download listener failed")


def _staged(planned: PlannedFile) -> Path:
    """Where a finished file waits, under its final name (a split set finds its parts by name), while
    its header is read."""
    return planned.destination.parent / CHECK_DIR / planned.destination.name


def _unstage(plan: DownloadPlan) -> None:
    """Files whose header check the app did not live to finish become partial files again; a rename
    keeps their size and time, so their hash check still counts."""
    for planned in plan.files:
        staged = _staged(planned)
        if staged.is_file() and not planned.partial.exists():
            staged.replace(planned.partial)
    _remove_check_folders(plan)


def _remove_check_folders(plan: DownloadPlan) -> None:
    for folder in {_staged(planned).parent for planned in plan.files}:
        try:
            folder.rmdir()
        except OSError:  # absent, or still holding another download's files
            pass


def _rejection_message(plan: DownloadPlan, problem: str | None, reason: str, *, fetched: bool) -> str:
    """What to tell about files that matched the Hub's hash but that Ossian refuses to use."""
    several = len(plan.files) > 1
    files = "files" if several else "file"
    matched = ("downloaded completely and match the Hub's checksums" if several
               else "downloaded completely and matches the Hub's checksum")
    if problem in HEADER_PROBLEMS:
        refusal = (f"but {'a' if several else 'its'} header is invalid: {reason.rstrip('.')}; this "
                   f"repository's {files} cannot be used.")
    else:
        refusal = f"but Ossian cannot use {'them' if several else 'it'}: {reason}"
    advice = "Choose another repository or quantization, or ask the publisher to fix the upload."
    if fetched:
        deleted = "They were deleted." if several else "It was deleted."
        return f"{plan.name}: the {files} {matched}, {refusal} {deleted} {advice}"
    return (f"{plan.name}: the Hub still lists the {files} refused before, which {matched}, {refusal} "
            f"Nothing was downloaded again. {advice}")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
