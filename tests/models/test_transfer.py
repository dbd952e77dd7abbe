"""The running hash: the Hub's SHA-256 for LFS files, git's blob id for the rest, rebuilt from disk."""

import hashlib
import threading
from pathlib import Path

from app.models.hub import RemoteFile
from app.models.transfer import RunningDigest
from fixtures.hub_server import git_blob_id

DATA = bytes(range(256)) * 4000


def test_chunk_by_chunk_equals_the_hash_of_the_whole() -> None:
    digest = RunningDigest(RemoteFile("m.gguf", len(DATA), hashlib.sha256(DATA).hexdigest(), None))
    for start in range(0, len(DATA), 65_536):
        digest.update(DATA[start:start + 65_536])
    assert digest.algorithm == "SHA-256" and digest.matches() and digest.position == len(DATA)
    digest.update(b"!")
    assert not digest.matches()


def test_files_kept_in_git_are_checked_with_the_blob_id() -> None:
    digest = RunningDigest(RemoteFile("README.md", len(DATA), None, git_blob_id(DATA)))
    digest.update(DATA)
    assert digest.algorithm == "git SHA-1" and digest.matches()


def test_catch_up_rebuilds_the_hash_from_the_bytes_on_disk(tmp_path: Path) -> None:
    partial = tmp_path / "m.gguf.partial"
    partial.write_bytes(DATA[:700_000])
    digest = RunningDigest(RemoteFile("m.gguf", len(DATA), hashlib.sha256(DATA).hexdigest(), None))
    seen: list[int] = []

    assert digest.catch_up(partial, seen.append, threading.Event())
    digest.update(DATA[700_000:])

    assert seen[-1] == 700_000 and digest.matches()


def test_catch_up_stops_when_asked(tmp_path: Path) -> None:
    partial = tmp_path / "m.gguf.partial"
    partial.write_bytes(DATA)
    stop = threading.Event()
    stop.set()
    digest = RunningDigest(RemoteFile("m.gguf", len(DATA), hashlib.sha256(DATA).hexdigest(), None))
    assert not digest.catch_up(partial, lambda _: None, stop)
