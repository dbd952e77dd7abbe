"""Opening a database file: damaged files are salvaged and kept (never overwritten), unfinished work is
marked. tests/store/test_salvage.py covers what a salvage recovers from damage of each kind."""

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.store import DatabaseCorrupt, DatabaseUnavailable, NewMessage, open_store
from app.store.opening import CHECK_MARKER_SUFFIX, INTERRUPTED_TOOL_CALL_ERROR
from tests.store.conftest import Clock, fill_turn, integrity

PAGE = 4096


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def corrupt_table_page(path: Path, table: str) -> None:
    """Overwrite the start of a table's root page with garbage, as a failing disk might."""
    conn = sqlite3.connect(path)
    page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    conn.close()
    with path.open("r+b") as handle:
        handle.seek((page - 1) * PAGE)
        handle.write(b"\xff" * 64)


def make_history(path: Path, clock: Clock, conversations: int = 3) -> None:
    with open_store(path, clock=clock) as store:
        for index in range(conversations):
            conversation = store.create_conversation(title=f"Conversation {index}")
            fill_turn(store, conversation.id, f"question {index}", f"answer {index} " + "words " * 300)


def test_garbage_file_is_set_aside_and_a_fresh_database_started(db_path: Path, clock: Clock) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db_path.write_bytes(b"These are not the bytes of an SQLite database.\n" * 200)
    original = sha256(db_path)
    with open_store(db_path, clock=clock) as store:
        damaged = store.report.damaged
        assert damaged is not None
        assert damaged.moved_to.name == "conversations.damaged-20250805T132000Z.sqlite3"
        assert sha256(damaged.moved_to) == original  # kept byte for byte
        assert store.report.notices == (damaged.message,)
        assert store.report.kept_file == damaged.moved_to
        assert damaged.message == (
            "Your conversation database was damaged (file is not a database). Nothing in it could be read, "
            f"so a new, empty database was started. The damaged file is kept as {damaged.moved_to}.")
        conversation = store.create_conversation(title="Fresh start")
        assert [c.title for c in store.list_conversations()] == ["Fresh start"]
        assert conversation.id == 1
    assert integrity(db_path) == ("ok", "fts ok")


def test_damage_found_while_reading_is_checked_and_salvaged_on_the_next_start(
        db_path: Path, clock: Clock) -> None:
    make_history(db_path, clock)
    corrupt_table_page(db_path, "messages")
    corrupted = sha256(db_path)
    with open_store(db_path, clock=clock) as store:
        # The quick checks at start-up read only the header and the schema: the file opens.
        assert store.report.damaged is None
        assert store.list_conversations()[0].title == "Conversation 2"
        with pytest.raises(DatabaseCorrupt, match=r"is damaged.*Restart Ossian: it will save what can"):
            store.list_messages(1)
    assert Path(f"{db_path}{CHECK_MARKER_SUFFIX}").exists()
    with open_store(db_path, clock=clock) as store:
        damaged = store.report.damaged
        assert damaged is not None
        assert sha256(damaged.moved_to) == corrupted
        # The messages' only page was their table's root: they are lost, the conversations are not.
        assert [c.title for c in store.list_conversations()] == [f"Conversation {i}" for i in (2, 1, 0)]
        assert store.list_messages(1) == []
        assert "recovered 3 of 3 conversations and 0 of 9 messages" in damaged.message
    assert not Path(f"{db_path}{CHECK_MARKER_SUFFIX}").exists()


def test_a_healthy_file_passes_the_full_check_and_is_kept(db_path: Path, clock: Clock) -> None:
    make_history(db_path, clock)
    Path(f"{db_path}{CHECK_MARKER_SUFFIX}").write_text("a transient read error\n")
    with open_store(db_path, clock=clock) as store:
        assert store.report.damaged is None
        assert len(store.list_conversations()) == 3
    assert not Path(f"{db_path}{CHECK_MARKER_SUFFIX}").exists()


def test_set_aside_never_overwrites_an_earlier_one(db_path: Path, clock: Clock) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    moved = []
    for attempt in range(3):
        db_path.write_bytes(f"garbage number {attempt}\n".encode() * 300)
        with open_store(db_path, clock=clock) as store:  # the clock stands still: same second each time
            assert store.report.damaged is not None
            moved.append(store.report.damaged.moved_to)
    assert [path.name for path in moved] == [
        "conversations.damaged-20250805T132000Z.sqlite3", "conversations.damaged-20250805T132000Z-2.sqlite3",
        "conversations.damaged-20250805T132000Z-3.sqlite3"]
    assert [path.read_bytes()[:16] for path in moved] == [b"garbage number 0", b"garbage number 1",
                                                         b"garbage number 2"]


WAL_WRITER = """
import sys
from app.store import open_store
store = open_store(sys.argv[1])
conversation = store.create_conversation(title="only in the WAL")
print("written", flush=True)
sys.stdin.readline()  # killed while waiting here: the WAL stays behind
"""


def test_the_wal_goes_with_a_damaged_file(db_path: Path, clock: Clock) -> None:
    make_history(db_path, clock, conversations=1)
    with subprocess.Popen([sys.executable, "-c", WAL_WRITER, str(db_path)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]) as writer:
        try:
            assert writer.stdout is not None and writer.stdout.readline() == "written\n"
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait(timeout=30)
    wal = Path(f"{db_path}-wal")
    assert wal.stat().st_size > 0
    wal_bytes = wal.read_bytes()
    with db_path.open("r+b") as handle:  # a damaged header: the main file is unreadable
        handle.write(b"\x00" * 100)
    with open_store(db_path, clock=clock) as store:
        damaged = store.report.damaged
        assert damaged is not None
        assert Path(f"{damaged.moved_to}-wal").read_bytes() == wal_bytes


def test_unfinished_answers_and_tool_calls_become_interrupted(db_path: Path, clock: Clock) -> None:
    with open_store(db_path, clock=clock) as store:
        conversation = store.create_conversation()
        turn = store.add_user_turn(conversation.id, "Run the script")
        call = store.append_message(conversation.id, NewMessage("assistant", "print(1)", recipient="python"),
                                    turn_id=turn.turn.id)
        store.set_tool_call(call.id, "running")
        partial = store.append_message(conversation.id, NewMessage("assistant", "", channel="final",
                                                                   status="streaming"), turn_id=turn.turn.id)
        store.update_message_content(partial.id, "The script pri")
        finished = store.append_message(conversation.id, NewMessage("assistant", "done", channel="final"))
    with open_store(db_path, clock=clock) as store:
        assert store.report.interrupted_message_ids == (partial.id,)
        assert store.report.interrupted_tool_call_ids == (call.id,)
        messages = {m.id: m for m in store.list_messages(conversation.id)}
        assert (messages[partial.id].status, messages[partial.id].content) == (
            "interrupted", "The script pri")
        assert messages[finished.id].status == "complete"
        tool_call = messages[call.id].tool_call
        assert tool_call is not None
        assert (tool_call.state, tool_call.error) == ("interrupted", INTERRUPTED_TOOL_CALL_ERROR)
    with open_store(db_path, clock=clock) as store:  # nothing left to mark the second time
        assert store.report.interrupted_message_ids == ()


def test_a_folder_that_cannot_be_made_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(DatabaseUnavailable, match="cannot be created"):
        open_store(blocker / "conversations.sqlite3")
    with pytest.raises(DatabaseUnavailable, match="cannot be opened or written"):
        open_store(tmp_path)  # a folder, not a file
    assert blocker.read_text() == "a file where the data folder should be"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_a_read_only_folder_gives_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(DatabaseUnavailable):
            open_store(folder / "conversations.sqlite3")
    finally:
        folder.chmod(0o700)
