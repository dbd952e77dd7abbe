"""A damaged database file: salvaging it into a new one that takes its place, and keeping it.

The damaged file is never overwritten and never deleted. What can still be read from it is copied into a
new database (`salvage`), written next to it as `<name>.salvaging`; only then is the damaged file
renamed, with its -wal and -shm companions, to `<stem>.damaged-<UTC time><suffix>` in the same folder
(where the sqlite3 shell or any database browser still opens it), and the new one renamed into its
place. If writing the new database fails (a full disk), the damaged file stays where it was and the
next start tries again; a `.salvaging` file left by a crash is simply made again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from app.store.errors import DatabaseUnavailable, translate
from app.store.salvage import salvage
from app.store.salvage_report import SalvageReport

log = logging.getLogger(__name__)

COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")
SALVAGE_SUFFIX = ".salvaging"


@dataclass(frozen=True)
class DamagedDatabase:
    """A database that could not be used as it was: salvaged into a new one and kept under `moved_to`."""

    moved_to: Path
    reason: str
    salvage: SalvageReport | None = None

    @property
    def message(self) -> str:
        if self.salvage is None:
            return (f"Your conversation database was damaged ({self.reason}). It was saved as "
                    f"{self.moved_to} and a new one was started.")
        return (f"Your conversation database was damaged ({self.reason}). "
                f"{self.salvage.summary(self.reason)} The damaged file is kept as {self.moved_to}.")


def replace_damaged(path: Path, problem: str, busy_timeout_s: float, now_ms: int) -> DamagedDatabase:
    """Salvage the damaged database at `path` into a new one, set the damaged file aside, and put the
    new one (if anything could be read, else nothing: an empty one is then made) in its place."""
    work = Path(f"{path}{SALVAGE_SUFFIX}")
    _remove_with_companions(work)  # left by a salvage cut short: the damaged file is still in place
    try:
        report = salvage(path, work, busy_timeout_s, now_ms)
    except sqlite3.Error as exc:  # writing the new file failed (a full disk): try again next start
        _remove_with_companions(work)
        raise translate(exc, path) from exc
    except OSError as exc:
        _remove_with_companions(work)
        raise DatabaseUnavailable(
            f"The conversation database {path} is damaged, and the new one to save what can be read into "
            f"could not be written ({exc}). Free some disk space or check the folder, then start Ossian "
            "again.", path) from exc
    except BaseException:
        _remove_with_companions(work)
        raise
    try:
        moved_to = set_aside(path, now_ms)
    except BaseException:
        _remove_with_companions(work)
        raise
    if work.exists():
        try:
            os.replace(work, path)
        except OSError as exc:
            raise DatabaseUnavailable(
                f"What could be read from the damaged conversation database is in {work}, but it could not "
                f"be moved to {path} ({exc}). Move it there yourself, then start Ossian again; the damaged "
                f"file is kept as {moved_to}.", path) from exc
    log.error("conversation database %s was damaged (%s); kept as %s; salvage: %s", path, problem,
              moved_to, report)
    return DamagedDatabase(moved_to=moved_to, reason=problem, salvage=report)


def _remove_with_companions(path: Path) -> None:
    for suffix in ("", *COMPANION_SUFFIXES):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def set_aside(path: Path, now_ms: int) -> Path:
    """Rename the database and its companion files to an unused `.damaged-<time>` name; never overwrite.

    The name keeps the file's suffix, so the file still opens as a database in other programs, and its
    -wal keeps following it: SQLite looks for `<name>-wal`.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now_ms / 1000))
    target, counter = path.with_name(f"{path.stem}.damaged-{stamp}{path.suffix}"), 1
    while any(Path(f"{target}{suffix}").exists() for suffix in ("", *COMPANION_SUFFIXES)):
        counter += 1
        target = path.with_name(f"{path.stem}.damaged-{stamp}-{counter}{path.suffix}")
    try:
        os.rename(path, target)
        for suffix in COMPANION_SUFFIXES:
            companion = Path(f"{path}{suffix}")
            if companion.exists():
                os.rename(companion, f"{target}{suffix}")
    except OSError as exc:
        raise DatabaseUnavailable(
            f"The conversation database {path} is damaged and could not be set aside ({exc}). Move it "
            "elsewhere yourself, then start Ossian again.", path) from exc
    return target
