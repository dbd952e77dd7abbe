"""Moving one file's bytes from the Hub to a `.partial` file, resumable from any byte, hashed as they land.

`RunningDigest` keeps the hash of what is on disk up to date chunk by chunk, so checking a 12 GB file
against the Hub's SHA-256 costs no second read. hashlib cannot save its state, so after the app was
closed the bytes already on disk are read once to rebuild it (`catch_up`, with progress); within a
session a pause keeps the digest in memory and costs nothing.

`fetch_file` asks the Hub where the bytes are (a HEAD per attempt, so an expired CDN address is
replaced), then GETs from the first missing byte. A broken connection is retried from where it broke,
with a growing wait, as long as attempts keep bringing new bytes. The stop event (pause, cancel, app
closing) is honoured between chunks; what arrived is on disk and counted.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.models.errors import HubUnreachable, ModelsError

if TYPE_CHECKING:  # the client is passed in; importing it here would load huggingface_hub
    from app.models.hub import HubClient

log = logging.getLogger(__name__)

READ_BLOCK = 8 * 1024 * 1024
MAX_WAIT_SECONDS = 30.0


class FileFacts(Protocol):
    """What the Hub's list says about a file (a `RemoteFile`, or a `PlannedFile` from a saved plan)."""

    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def blob_id(self) -> str | None: ...


class RunningDigest:
    """The hash of a file's first `position` bytes, in the form the Hub lists for that file."""

    def __init__(self, remote: FileFacts) -> None:
        self.remote = remote
        self.position = 0
        if remote.sha256:
            self.algorithm: str | None = "SHA-256"
            self.expected: str | None = remote.sha256.lower()
        elif remote.blob_id:
            self.algorithm, self.expected = "git SHA-1", remote.blob_id.lower()
        else:
            self.algorithm = self.expected = None
        self._hash = self._new_hash()

    def _new_hash(self) -> hashlib._Hash:
        if self.algorithm == "git SHA-1":
            # Files kept in git itself are identified by git's blob id: SHA-1 over a header and the bytes.
            return hashlib.sha1(b"blob %d\0" % self.remote.size, usedforsecurity=False)
        return hashlib.sha256()

    @property
    def checkable(self) -> bool:
        return self.expected is not None

    def reset(self) -> None:
        self._hash = self._new_hash()
        self.position = 0

    def update(self, data: bytes) -> None:
        self._hash.update(data)
        self.position += len(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def matches(self) -> bool:
        return self.expected is None or self.hexdigest() == self.expected

    def catch_up(self, path: Path, on_progress: Callable[[int], None], stop: threading.Event) -> bool:
        """Hash the file's bytes from `position` to its end; False when stopped half-way."""
        with open(path, "rb") as source:
            source.seek(self.position)
            while block := source.read(READ_BLOCK):
                self.update(block)
                on_progress(self.position)
                if stop.is_set():
                    return False
        return True


def fetch_file(
    client: HubClient,
    repo: str,
    commit: str,
    remote: FileFacts,
    partial: Path,
    digest: RunningDigest,
    *,
    on_bytes: Callable[[int], None],
    on_retry: Callable[[str], None],
    stop: threading.Event,
    max_attempts: int = 6,
    retry_wait: float = 1.0,
) -> bool:
    """Bring `partial` to the file's full size; True when it has every byte, False when stopped.

    The digest must hold the hash of the partial file's bytes (the caller rebuilds it after a restart).
    Raises `HubUnreachable` once attempts stop bringing bytes, other `ModelsError`s at once.
    """
    failures = 0
    wait = retry_wait
    while True:
        offset = _align(partial, digest)
        if offset >= remote.size:
            return True
        try:
            location = client.locate(repo, remote.path, commit)
            if location.changed_from(remote):
                partial.unlink(missing_ok=True)
                digest.reset()
                raise ModelsError(f"{remote.path} changed on the Hub while it was downloading. Cancel the "
                                  "download and start it again to get the new version.")
            with client.open_range(location, offset, repo, remote.path) as stream:
                if stream.start != offset:
                    if stream.start != 0:
                        raise HubUnreachable(f"The server sent {remote.path} from byte {stream.start:,} "
                                             f"instead of {offset:,}.")
                    log.info("the server ignored the Range request for %s; starting the file again",
                             remote.path)
                    partial.unlink(missing_ok=True)
                    digest.reset()
                    offset = 0
                with open(partial, "ab", buffering=0) as out:
                    for chunk in stream.chunks:
                        _write_all(out, chunk)
                        digest.update(chunk)
                        offset += len(chunk)
                        failures, wait = 0, retry_wait  # bytes arrived: the connection is worth retrying
                        on_bytes(offset)
                        if offset > remote.size:
                            raise ModelsError(f"The server sent more of {remote.path} than the Hub lists "
                                              f"({remote.size:,} bytes). Cancel the download and start it "
                                              "again.")
                        if stop.is_set():
                            return offset >= remote.size
            if offset < remote.size:
                raise HubUnreachable(f"The connection closed after {offset:,} of {remote.size:,} bytes.")
        except HubUnreachable as exc:
            failures += 1
            if failures >= max_attempts:
                raise
            on_retry(f"Connection problem ({exc}); retrying in {wait:.0f} s")
            log.warning("download of %s interrupted (%s); retry %d in %.1f s",
                        remote.path, exc, failures, wait)
            if stop.wait(wait):
                return False
            wait = min(MAX_WAIT_SECONDS, wait * 2)


def _align(partial: Path, digest: RunningDigest) -> int:
    """Make the file on disk and the digest agree; returns where the next byte goes."""
    try:
        size = partial.stat().st_size
    except FileNotFoundError:
        size = 0
    if size != digest.position:
        # Bytes the digest has not seen (a write cut short) are dropped; a file shorter than the digest
        # means someone else touched it: start that file over rather than trust either.
        keep = digest.position if size > digest.position else 0
        if keep == 0:
            digest.reset()
        if size > 0 or keep > 0:
            with open(partial, "r+b") as handle:
                handle.truncate(keep)
    return digest.position


def _write_all(out: io.FileIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = out.write(view) or 0
        view = view[written:]
