"""The environment's faults (busy, full disk) and our bugs come out as the store's own errors."""

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.store import (
    DatabaseBusy,
    DiskFull,
    MessageStream,
    NewMessage,
    StoreEnvironmentError,
    StoreInternalError,
    open_store,
)
from app.store.errors import translate
from tests.store.conftest import Clock, integrity

REPOSITORY = Path(__file__).parents[2]


def test_a_write_blocked_by_another_writer_is_busy_and_reads_go_on(db_path: Path, clock: Clock) -> None:
    with open_store(db_path, clock=clock, busy_timeout_s=0.05) as store:
        conversation = store.create_conversation(title="Readable")
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(DatabaseBusy) as caught:
                store.rename_conversation(conversation.id, "Renamed")
            assert isinstance(caught.value, StoreEnvironmentError)
            assert "is busy" in str(caught.value) and "close other Ossian windows" in str(caught.value)
            assert caught.value.path == db_path
            assert store.get_conversation(conversation.id).title == "Readable"  # WAL: reads still work
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert store.rename_conversation(conversation.id, "Renamed").title == "Renamed"


def test_a_full_database_keeps_the_answer_in_memory(db_path: Path, clock: Clock) -> None:
    with open_store(db_path, clock=clock) as store:
        conversation = store.create_conversation()
        turn = store.add_user_turn(conversation.id, "Write a long answer")
        reply = store.append_message(conversation.id, NewMessage("assistant", status="streaming"),
                                     turn_id=turn.turn.id)
        # SQLite's own size limit gives the same SQLITE_FULL as a full disk, on any machine. It is set
        # on the store's connection for this thread, which only the store can reach.
        conn = store._connections.get()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        stream = MessageStream(store, reply.id, interval_s=0.0)
        with pytest.raises(DiskFull, match=r"is full, so the change was not saved\. Free some disk space"):
            stream.append("many words " * 50_000)
        assert stream.unwritten and len(stream.content) == len("many words ") * 50_000
        assert store.get_message(reply.id).content == ""
        assert store.list_messages(conversation.id)[0].content == "Write a long answer"
        conn.execute("PRAGMA max_page_count = 1073741823")
        stream.finish()
        assert store.get_message(reply.id).content == stream.content
    assert integrity(db_path) == ("ok", "fts ok")


def _can_mount_tmpfs(folder: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
         f"mount -t tmpfs -o size=64k none '{folder}'"], capture_output=True)
    return probe.returncode == 0


def test_a_really_full_disk(tmp_path: Path) -> None:
    disk = tmp_path / "small-disk"
    disk.mkdir()
    if not _can_mount_tmpfs(disk):
        pytest.skip("needs unshare and unprivileged user namespaces to mount a small tmpfs")
    script = (
        f"mount -t tmpfs -o size=1m none '{disk}' && head -c 400000 /dev/zero > '{disk}/filler' && "
        f"exec '{sys.executable}' -m tests.store.disk_full_writer '{disk}/conversations.sqlite3' "
        f"'{disk}/filler'")
    run = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                         capture_output=True, text=True, cwd=REPOSITORY, timeout=120)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert "is full, so the change was not saved" in report["error"]
    assert report == {"error": report["error"], "kept_in_memory": True, "earlier_intact": True,
                      "saved_after_freeing": True, "integrity": "ok"}


def test_errors_valid_input_cannot_cause_are_reported_as_our_bug(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "plain.sqlite3")
    conn.execute("CREATE TABLE t (x INTEGER NOT NULL)")
    with pytest.raises(sqlite3.IntegrityError) as caught:
        conn.execute("INSERT INTO t VALUES (NULL)")
    conn.close()
    error = translate(caught.value, tmp_path / "plain.sqlite3")
    assert isinstance(error, StoreInternalError)
    assert "a bug in Ossian" in str(error) and "NOT NULL" in str(error)
