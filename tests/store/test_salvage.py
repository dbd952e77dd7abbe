"""Salvaging a damaged database: real files written by the store, one 4 KB page overwritten with
garbage the way a failing disk does it, then opened as the next start of the app opens it.

The pages are picked with SQLite's dbstat table (which b-tree a page belongs to and how many rows it
holds), so every figure the tests expect comes from the file itself.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.store import DatabaseCorrupt, NewAttachment, NewMessage, open_store
from app.store.damaged_reading import TableReader, open_read_only
from app.store.migrations import LATEST_VERSION, migrate
from app.store.opening import CHECK_MARKER_SUFFIX
from app.store.salvage import SALVAGED_TABLES, salvage
from tests.store.conftest import Clock, fill_turn, integrity
from tests.store.schema_dump import create_at_version

PAGE = 4096
CONVERSATIONS = 300


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pages(path: Path, name: str, pagetype: str = "leaf") -> list[tuple[int, int]]:
    """(page number, rows on it) of one b-tree's pages of that type, in file order."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT pageno, ncell FROM dbstat WHERE name = ? AND pagetype = ? "
                            "ORDER BY pageno", (name, pagetype)).fetchall()
    finally:
        conn.close()


def middle_page(path: Path, name: str, pagetype: str = "leaf") -> tuple[int, int]:
    found = pages(path, name, pagetype)
    assert found, f"no {pagetype} page of {name}"
    return found[len(found) // 2]


def overwrite_page(path: Path, page: int, seed: int = 14) -> None:
    """4 KB of garbage over one page, as a disk that wrote the wrong sector would leave it."""
    assert page > 1
    with path.open("r+b") as handle:
        handle.seek((page - 1) * PAGE)
        handle.write(random.Random(seed).randbytes(PAGE))


def kept_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".damaged-" in p.name and p.suffix == ".sqlite3")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 conversations written through the store as the app writes them: a question, the reasoning
    and an answer each; every 25th also has a tool call and an attached document."""
    path = tmp_path_factory.mktemp("history") / "conversations.sqlite3"
    clock = Clock()
    with open_store(path, clock=clock) as store:
        for index in range(CONVERSATIONS):
            conversation = store.create_conversation()
            fill_turn(store, conversation.id, f"Question number {index} about the garden",
                      f"Answer {index}: " + "plant the beans after the last frost " * 36)
            if index % 25 == 0:
                turn = store.add_user_turn(conversation.id, f"Read this, {index}", [NewAttachment(
                    file_name=f"notes-{index}.txt", kind="text", sha256="a" * 64, text="beans " * 50,
                    token_count=50, mode="inline")])
                call = store.append_message(conversation.id, NewMessage(
                    "assistant", "print(2 + 2)", recipient="python"), turn_id=turn.turn.id)
                result = store.append_message(conversation.id, NewMessage("tool", "4", name="python"),
                                              turn_id=turn.turn.id)
                store.set_tool_call(call.id, "done", result_message_id=result.id, duration_s=0.1)
            clock.advance()
    return path


@pytest.fixture
def damaged_copy(history: Path, db_path: Path) -> Path:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(history, db_path)
    return db_path


def counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in SALVAGED_TABLES}
    finally:
        conn.close()


def test_one_damaged_page_loses_only_its_rows_and_the_rest_is_salvaged(
        damaged_copy: Path, clock: Clock) -> None:
    """Issue 14, item 8: one bad page in the middle of 300 conversations; the app keeps running, writes
    one more conversation, and the next start salvages everything else into a new database."""
    before = counts(damaged_copy)
    page, rows_on_page = middle_page(damaged_copy, "messages")
    overwrite_page(damaged_copy, page)
    clock.advance(3600)  # an hour after the history was written

    with open_store(damaged_copy, clock=clock) as store:  # the running app
        readable = 0
        for summary in store.list_conversations():
            try:
                store.list_messages(summary.id)
                readable += 1
            except DatabaseCorrupt:
                pass
        print(f"\nthe running app read {readable} of {CONVERSATIONS} conversations")
        assert 0 < CONVERSATIONS - readable <= rows_on_page  # the conversations with rows on that page
        after_damage = store.create_conversation(title="Written after the damage")
        fill_turn(store, after_damage.id, "Is this one kept?", "It is.")
    assert Path(f"{damaged_copy}{CHECK_MARKER_SUFFIX}").exists()
    damaged_bytes = sha256(damaged_copy)

    started = time.monotonic()
    with open_store(damaged_copy, clock=clock) as store:  # the next start
        opened_s = time.monotonic() - started
        damaged = store.report.damaged
        assert damaged is not None and damaged.salvage is not None
        report = damaged.salvage
        # Everything but the rows of that one page, and the conversation written after the damage.
        assert report.table("conversations").recovered == CONVERSATIONS + 1
        messages = report.table("messages")
        assert (messages.recovered, messages.lost, messages.unknown_loss) == (
            before["messages"] + 3 - rows_on_page, rows_on_page, False)
        # Every row the file held is accounted for: recovered, rebuilt or counted as lost.
        written_after = {"conversations": 1, "turns": 1, "messages": 3}
        for table in SALVAGED_TABLES:
            outcome = report.table(table)
            assert outcome.recovered + outcome.rebuilt + outcome.lost == before[table] + written_after.get(
                table, 0), table
        summaries = store.list_conversations()
        assert len(summaries) == CONVERSATIONS + 1
        assert summaries[0].title == "Written after the damage"
        assert [m.content for m in store.list_messages(after_damage.id)][-1] == "It is."
        assert sum(len(store.list_messages(s.id)) for s in summaries) == messages.recovered
        assert store.search("frost")  # the search index was rebuilt from the recovered rows
        # The damaged file is kept, byte for byte, next to the database, and the notice says where.
        assert damaged.moved_to.parent == damaged_copy.parent
        assert damaged.moved_to.name == "conversations.damaged-20250805T142000Z.sqlite3"
        assert store.report.kept_file == damaged.moved_to
        assert sha256(damaged.moved_to) == damaged_bytes
        notice = store.report.notices[0]
        assert f"{CONVERSATIONS + 1} of {CONVERSATIONS + 1} conversations" in notice
        assert f"{messages.recovered:,} of {messages.recovered + rows_on_page:,} messages" in notice
        assert f"Could not be read: {rows_on_page} messages." in notice
        assert f"The damaged file is kept as {damaged.moved_to}." in notice
    print(f"\nsalvage of {before['messages'] + 3:,} messages: {report.seconds:.2f} s "
          f"(whole open {opened_s:.2f} s); lost {rows_on_page} on page {page}")
    assert report.seconds < 30
    assert integrity(damaged_copy) == ("ok", "fts ok")
    assert not Path(f"{damaged_copy}{CHECK_MARKER_SUFFIX}").exists()
    assert not Path(f"{damaged_copy}.salvaging").exists()
    with open_store(damaged_copy, clock=clock) as store:  # and the start after that is a normal one
        assert store.report.damaged is None and len(store.list_conversations()) == CONVERSATIONS + 1


def test_a_lost_conversation_row_is_rebuilt_from_its_messages(damaged_copy: Path, clock: Clock) -> None:
    page, rows_on_page = middle_page(damaged_copy, "conversations")
    conn = sqlite3.connect(damaged_copy)
    titles = dict(conn.execute("SELECT id, title FROM conversations"))
    conn.close()
    overwrite_page(damaged_copy, page)
    Path(f"{damaged_copy}{CHECK_MARKER_SUFFIX}").write_text("a read met damage\n")
    with open_store(damaged_copy, clock=clock) as store:
        report = store.report.damaged.salvage
        conversations = report.table("conversations")
        assert (conversations.recovered, conversations.rebuilt, conversations.lost) == (
            CONVERSATIONS - rows_on_page, rows_on_page, 0)
        assert report.table("messages").complete
        summaries = store.list_conversations()
        assert len(summaries) == CONVERSATIONS
        # A rebuilt conversation takes its title from its first question, as it did when it was new.
        assert sorted(s.title for s in summaries) == sorted(titles.values())
        assert f"{rows_on_page} conversations lost their title and settings" in store.report.notices[0]


def test_damage_confined_to_an_index_loses_nothing(damaged_copy: Path, clock: Clock) -> None:
    before = counts(damaged_copy)
    page, _ = middle_page(damaged_copy, "messages_by_turn")
    overwrite_page(damaged_copy, page)
    Path(f"{damaged_copy}{CHECK_MARKER_SUFFIX}").write_text("a read met damage\n")
    with open_store(damaged_copy, clock=clock) as store:
        report = store.report.damaged.salvage
        assert report.complete
        assert "Everything in it was recovered into a new database: 300 conversations and" in (
            store.report.notices[0])
    assert counts(damaged_copy) == before
    assert integrity(damaged_copy) == ("ok", "fts ok")


def test_a_damaged_table_root_loses_that_table_only(damaged_copy: Path, clock: Clock) -> None:
    """A root page holds the way to every row of its table: without SQLite's page-level recovery, those
    rows are out of reach (the kept file still has them for a tool that reads pages). The counts come
    from the table's indexes, so the notice still says how many."""
    before = counts(damaged_copy)
    page, _ = middle_page(damaged_copy, "messages", "internal")
    overwrite_page(damaged_copy, page)
    Path(f"{damaged_copy}{CHECK_MARKER_SUFFIX}").write_text("a read met damage\n")
    with open_store(damaged_copy, clock=clock) as store:
        report = store.report.damaged.salvage
        assert report.table("conversations").complete and report.table("turns").complete
        assert (report.table("messages").recovered, report.table("messages").lost) == (0, before["messages"])
        # Tool calls and documents belong to messages: without them they go, and are counted.
        assert report.table("attachments").lost == before["attachments"]
        assert report.table("tool_calls").lost == before["tool_calls"]
        assert f"Could not be read: {before['messages']:,} messages" in store.report.notices[0]
        assert len(store.list_conversations()) == CONVERSATIONS


def test_damage_met_by_the_start_up_reads_is_salvaged_at_once(damaged_copy: Path, clock: Clock) -> None:
    """The quick check passes, but looking for unfinished answers reads a damaged index: this start
    salvages (no error, no second start needed)."""
    page, _ = pages(damaged_copy, "messages_streaming")[0]
    overwrite_page(damaged_copy, page)
    with open_store(damaged_copy, clock=clock) as store:
        assert store.report.damaged is not None and store.report.damaged.salvage.complete
        assert len(store.list_conversations()) == CONVERSATIONS
    assert len(kept_files(damaged_copy.parent)) == 1


def test_the_last_rows_written_only_to_the_wal_are_salvaged_too(damaged_copy: Path, clock: Clock) -> None:
    page, rows_on_page = middle_page(damaged_copy, "messages")
    overwrite_page(damaged_copy, page)
    writer = """
import sys
from app.store import open_store
store = open_store(sys.argv[1])
store.create_conversation(title="only in the WAL")
print("written", flush=True)
sys.stdin.readline()  # killed while waiting here: the WAL stays behind
"""
    with subprocess.Popen([sys.executable, "-c", writer, str(damaged_copy)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == "written\n"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
    wal = Path(f"{damaged_copy}-wal")
    kept_bytes = (sha256(damaged_copy), sha256(wal))
    Path(f"{damaged_copy}{CHECK_MARKER_SUFFIX}").write_text("a read met damage\n")
    with open_store(damaged_copy, clock=clock) as store:
        damaged = store.report.damaged
        assert damaged is not None
        assert damaged.salvage.table("messages").lost == rows_on_page
        assert store.list_conversations()[0].title == "only in the WAL"
        # Checked and read without a checkpoint: the file and its -wal are kept exactly as they were.
        assert (sha256(damaged.moved_to), sha256(Path(f"{damaged.moved_to}-wal"))) == kept_bytes


def test_nothing_readable_starts_empty_and_keeps_the_file(db_path: Path, clock: Clock) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db_path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 64)  # a header, then garbage
    original = sha256(db_path)
    with open_store(db_path, clock=clock) as store:
        damaged = store.report.damaged
        assert damaged is not None and damaged.salvage is not None
        assert damaged.salvage.unreadable is not None and damaged.salvage.tables == ()
        assert "Nothing in it could be read" in damaged.message and "a new, empty database" in damaged.message
        assert sha256(damaged.moved_to) == original
        assert store.list_conversations() == []
    assert kept_files(db_path.parent) == [damaged.moved_to.name]


def test_an_older_schema_is_salvaged_then_migrated(db_path: Path, clock: Clock) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    create_at_version(db_path, 2)
    page, _ = pages(db_path, "sqlite_autoindex_messages_1")[0]
    overwrite_page(db_path, page)
    Path(f"{db_path}{CHECK_MARKER_SUFFIX}").write_text("a read met damage\n")
    with open_store(db_path, clock=clock) as store:
        assert store.report.damaged is not None and store.report.damaged.salvage.complete
        assert store.report.migrated_from == 2 and store.report.schema_version == LATEST_VERSION
        assert store.report.interrupted_message_ids == (5,)  # crash recovery runs on the salvaged rows
        assert store.get_conversation(1).title == "Weather in Tokyo"
        assert store.list_messages(1)[5].tool_call is not None
        assert store.search("Tokyo")
    assert integrity(db_path) == ("ok", "fts ok")


def test_a_newer_ossians_damaged_file_is_kept_and_not_salvaged(db_path: Path, tmp_path: Path) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    create_at_version(db_path, LATEST_VERSION)
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    report = salvage(db_path, tmp_path / "new.sqlite3", 1.0, 0)
    assert report.unreadable is not None and "newer version of Ossian" in report.unreadable
    assert not (tmp_path / "new.sqlite3").exists()


def test_references_to_lost_rows_are_repaired(db_path: Path, tmp_path: Path) -> None:
    """The rules of salvage.py on rows removed outright (as if their pages were gone): a message without
    its conversation or turn gets them back; a tool call or document without its message goes."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    create_at_version(db_path, LATEST_VERSION)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    first_question = conn.execute("SELECT content FROM messages WHERE conversation_id = 1 AND role = 'user' "
                                  "ORDER BY position LIMIT 1").fetchone()[0]
    tool_calls = conn.execute("SELECT count(*) FROM tool_calls").fetchone()[0]
    assert tool_calls >= 1
    call_message = conn.execute("SELECT message_id FROM tool_calls LIMIT 1").fetchone()[0]
    conn.execute("DELETE FROM conversations WHERE id = 1")
    conn.execute("DELETE FROM turns WHERE conversation_id = 1")
    conn.execute("DELETE FROM messages WHERE id = ?", (call_message,))
    conn.close()
    target = tmp_path / "new.sqlite3"
    report = salvage(db_path, target, 1.0, 0)
    assert report.table("conversations").rebuilt == 1
    assert report.table("turns").rebuilt >= 1
    assert report.table("tool_calls").lost == 1
    new = sqlite3.connect(target)
    assert new.execute("SELECT title, title_source FROM conversations WHERE id = 1").fetchone() == (
        first_question, "auto")
    assert new.execute("PRAGMA foreign_key_check").fetchall() == []
    assert new.execute("SELECT count(*) FROM tool_calls").fetchone()[0] == tool_calls - 1
    new.close()


def test_every_table_with_user_data_is_salvaged() -> None:
    """A migration that adds a table must add it to SALVAGED_TABLES (or be a search table, rebuilt)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn, now_ms=0)
    virtual = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
              if row[0] not in virtual and row[0] != "schema_migrations"
              and not any(row[0].startswith(f"{name}_") for name in virtual)}
    assert tables == set(SALVAGED_TABLES)


def page_holding(path: Path, marker: bytes) -> int:
    offset = path.read_bytes().find(marker)
    assert offset > 0, marker
    return offset // PAGE + 1


def test_the_reader_finds_readable_rows_between_two_damaged_pages(tmp_path: Path) -> None:
    """A long damaged leaf, then a few big rows on a good one, then another damaged leaf: the search for
    the end of the damage jumps over the good leaf, and the index brings its rows back."""
    path = tmp_path / "rows.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, body TEXT NOT NULL)")
    conn.execute("CREATE INDEX t_n ON t (n)")
    big = range(1001, 1031)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO t (id, n, body) VALUES (?, ?, ?)", [
        (i, i % 7, f"row-{i:05d}-" + ("x" * 1000 if i in big else "")) for i in range(1, 2001)])
    conn.execute("COMMIT")
    conn.close()
    first, good, second = (page_holding(path, f"row-{i:05d}-".encode()) for i in (1000, 1001, 1010))
    assert len({first, good, second}) == 3
    on_page = dict(pages(path, "t"))
    overwrite_page(path, first, seed=1)
    overwrite_page(path, second, seed=2)
    reader = TableReader(open_read_only(path, 1.0), "t", ["id", "n", "body"])
    scanned = [row[0] for row in reader.rows()]
    assert 1001 not in scanned  # jumped over by the search for the end of the damage...
    rechecked = [row[0] for row in reader.recheck_skipped()]
    assert 1001 in rechecked  # ...and found again through the index
    read = scanned + rechecked
    assert len(read) == len(set(read))
    assert len(reader.lost_rowids) == on_page[first] + on_page[second] and not reader.unknown_loss
    assert set(read) | set(reader.lost_rowids) == set(range(1, 2001))
