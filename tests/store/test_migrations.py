"""Migrations, on real files as every earlier schema version left them (tests/store/schema_history/)."""

import hashlib
import sqlite3
import threading
from pathlib import Path

import pytest

from app.store import IncompatibleDatabase, NewMessage, migrations, open_store
from app.store.migrations import LATEST_VERSION, MIGRATIONS, Migration
from tests.store.conftest import Clock, integrity
from tests.store.schema_dump import create_at_version, data_file, history_file, schema_script

ALL_VERSIONS = range(LATEST_VERSION + 1)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_applied_migrations_are_never_edited(version: int) -> None:
    """Migrating an empty file to `version` gives exactly the schema that version shipped with."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrations.migrate(conn, now_ms=0, target=version)
    assert schema_script(conn) == history_file(version).read_text(encoding="utf-8"), (
        f"migration {version} changed after it shipped; add a new migration instead (or, for a new "
        f"version, write {history_file(version).name} with tests/store/schema_dump.py)")


def test_every_version_has_a_frozen_schema_and_sample_data() -> None:
    for version in ALL_VERSIONS:
        assert history_file(version).exists()
        if version:
            assert data_file(version).exists(), f"write {data_file(version).name} for the migration tests"


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_migration_from_every_version_keeps_the_data(version: int, db_path: Path, clock: Clock) -> None:
    create_at_version(db_path, version)
    with open_store(db_path, clock=clock) as store:
        assert store.report.migrated_from == version
        assert store.report.schema_version == LATEST_VERSION
        if version == 0:
            assert store.list_conversations(include_archived=True) == []
            return
        # The answer that was streaming when that version's app died is now interrupted.
        assert store.report.interrupted_message_ids == (5,)
        weather, lasagne = (store.get_conversation(1), store.get_conversation(2))
        assert (weather.title, weather.model, weather.reasoning_effort, weather.pinned) == (
            "Weather in Tokyo", "gpt-oss-20b", "high", True)
        assert weather.settings == {"temperature": 1.0}
        assert (lasagne.title_source, lasagne.archived) == ("auto", True)
        messages = store.list_messages(1)
        assert [m.content for m in messages[:5]] == [
            "What is the weather in Tokyo?", "Need to check the forecast.", "It is sunny in Tokyo, 24 °C.",
            "And in Reykjavík?", "It is cold and wi"]
        assert messages[4].status == "interrupted"
        assert [t.stats.tokens_per_second if t.stats else None for t in store.list_turns(1)] == [21.5, None]
        if version >= 2:
            call = messages[5].tool_call
            assert call is not None
            assert (call.state, call.result, call.duration_s) == ("done", '{"temperature": 4}', 0.25)
            assert [a.file_name for a in store.list_attachments(2)] == ["nonna.pdf"]
        # Search works on what the older version wrote (migration 003 indexes existing messages).
        assert [hit.conversation_id for hit in store.search("reykjavik")] == [1]
        assert [hit.conversation_id for hit in store.search("bechamel")] == [2]
        assert store.search("forecast") == []  # reasoning is not searchable
        # And the file keeps working for new writes.
        store.append_message(1, NewMessage("assistant", "Snow in Reykjavik", channel="final"))
        assert [hit.message_id for hit in store.search("snow")] == [store.list_messages(1)[-1].id]
    assert integrity(db_path) == ("ok", "fts ok")
    conn = sqlite3.connect(db_path)
    assert schema_script(conn) == history_file(LATEST_VERSION).read_text(encoding="utf-8")
    conn.close()


def test_a_failed_migration_leaves_the_previous_version(db_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    create_at_version(db_path, 1)
    broken = Migration("002_broken", "CREATE TABLE half_done (x INTEGER);\nSELECT * FROM no_such_table;")
    monkeypatch.setattr(migrations, "MIGRATIONS", (MIGRATIONS[0], broken))
    conn = sqlite3.connect(db_path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        migrations.migrate(conn, now_ms=0, target=2)
    assert migrations.schema_version(conn) == 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 7
    conn.close()


@pytest.mark.parametrize("tamper", [
    "PRAGMA user_version = 99",
    "UPDATE schema_migrations SET name = '002_something_else' WHERE name = '002_tool_calls_attachments'",
])
def test_a_newer_or_different_schema_is_left_untouched(db_path: Path, tamper: str) -> None:
    create_at_version(db_path, LATEST_VERSION)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute(tamper)
    conn.close()
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    with pytest.raises(IncompatibleDatabase, match=r"newer or different version of Ossian.*left untouched"):
        open_store(db_path)
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in db_path.parent.iterdir() if "corrupt" in p.name) == []


def test_another_programs_sqlite_file_is_left_untouched(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE bookmarks (url TEXT)")
    conn.commit()
    conn.close()
    before = db_path.read_bytes()
    with pytest.raises(IncompatibleDatabase, match=r"not Ossian's.*bookmarks"):
        open_store(db_path)
    assert db_path.read_bytes() == before


def test_processes_opening_a_new_file_together_migrate_it_once(db_path: Path) -> None:
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_store(db_path).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == LATEST_VERSION
    conn.close()
