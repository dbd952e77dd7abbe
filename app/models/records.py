"""Unfinished downloads on disk, so one interrupted by closing the app shows as resumable at the next start.

Each unfinished download has `<models>/.downloads/<id>.json`: the request, the plan once the Hub
answered (commit, files, hashes, destinations), which `.partial` files were already checked against
their hash, the last state and error, and the files whose header was refused after they matched their
hash (so asking again refuses those same bytes without fetching them again). It is written at every
state change, never per chunk: the bytes themselves are their own record (the `.partial` file's
length). A finished or cancelled download deletes its record.

A `<id>.lock` file holding the process id marks a download running in some Ossian process, so a second
window or a CLI run cannot write the same files at the same time; a lock whose process is gone (the
app was killed) is stale and taken over.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.models.download_plan import DownloadPlan, DownloadRequest
from app.models.errors import ModelsError
from app.models.library import DOWNLOADS_DIR

log = logging.getLogger(__name__)

RECORD_FORMAT = 1
RecordState = Literal["active", "paused", "failed"]
# psutil (30-60 ms) is imported only to ask whether a lock's owner is alive: the window imports
# this module on its way to the first frame, where no lock is taken.


@dataclass
class DownloadRecord:
    request: DownloadRequest
    state: RecordState = "active"
    plan: DownloadPlan | None = None
    # repository path -> (size, mtime_ns) of a `.partial` file whose hash already matched
    verified: dict[str, tuple[int, int]] = field(default_factory=dict)
    error: str | None = None
    updated_at: float = 0.0
    # `rejection_key(plan)` of files whose header was refused -> (the planner's problem, what is wrong)
    rejected: dict[str, tuple[str, str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"format": RECORD_FORMAT, "request": self.request.to_json(), "state": self.state,
                "plan": self.plan.to_json() if self.plan else None,
                "verified": {path: list(stamp) for path, stamp in self.verified.items()},
                "error": self.error, "updated_at": self.updated_at,
                "rejected": {key: list(value) for key, value in self.rejected.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DownloadRecord:
        if data.get("format") != RECORD_FORMAT:
            raise ValueError(f"record format {data.get('format')!r}")
        state = data.get("state", "paused")
        return cls(
            request=DownloadRequest.from_json(data["request"]),
            state=state if state in ("active", "paused", "failed") else "paused",
            plan=DownloadPlan.from_json(data["plan"]) if data.get("plan") else None,
            verified={str(k): (int(v[0]), int(v[1])) for k, v in (data.get("verified") or {}).items()},
            error=data.get("error"),
            updated_at=float(data.get("updated_at") or 0.0),
            rejected={str(k): (str(v[0]), str(v[1])) for k, v in (data.get("rejected") or {}).items()},
        )


def rejection_key(plan: DownloadPlan) -> str:
    """The bytes a plan fetches, by the Hub's hashes: equal keys mean the very same files."""
    return "+".join(f.sha256 or f.blob_id or f"{f.path}:{f.size}" for f in plan.files)


class RecordStore:
    """The `.downloads` folder of one models folder."""

    def __init__(self, models_dir: Path) -> None:
        self.folder = Path(models_dir) / DOWNLOADS_DIR

    def path(self, download_id: str) -> Path:
        return self.folder / f"{download_id}.json"

    def load_all(self) -> list[DownloadRecord]:
        if not self.folder.is_dir():
            return []
        records = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                records.append(DownloadRecord.from_json(json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, KeyError, TypeError, ModelsError) as exc:
                log.warning("ignoring the unreadable download record %s (%s)", path, exc)
        return records

    def save(self, record: DownloadRecord) -> None:
        record.updated_at = time.time()
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".record-", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record.to_json(), handle, indent=2)
            os.replace(tmp, self.path(record.request.id))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, download_id: str) -> None:
        self.path(download_id).unlink(missing_ok=True)

    # -- the cross-process lock --------------------------------------------------------------------

    def claim(self, download_id: str) -> None:
        """Mark the download as running here; `ModelsError` when another live process runs it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = self.folder / f"{download_id}.lock"
        me = os.getpid()
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(str(me))
            return
        try:
            owner = int(lock.read_text(encoding="ascii").strip() or 0)
        except (OSError, ValueError):
            owner = 0
        if owner and owner != me and _process_exists(owner):
            raise ModelsError(f"This download is already running in another Ossian process (pid {owner}). "
                              "Let that one finish, or pause it there first.")
        fd, tmp = tempfile.mkstemp(prefix=".lock-", dir=self.folder)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(str(me))
        os.replace(tmp, lock)

    def release(self, download_id: str) -> None:
        lock = self.folder / f"{download_id}.lock"
        try:
            if int(lock.read_text(encoding="ascii").strip() or 0) == os.getpid():
                lock.unlink()
        except (OSError, ValueError):
            pass


def _process_exists(pid: int) -> bool:
    """Whether a process `pid` runs now (the owner of a lock file)."""
    import psutil  # only here (see the imports above)

    return psutil.pid_exists(pid)
