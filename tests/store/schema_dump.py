"""The schema of a database file as a script: what tests/store/schema_history/ freezes per version.

The script recreates a file at that version (objects in creation order, the migration history and the
user_version), so migration tests start from what an older Ossian really left on disk. FTS5's shadow
tables are left out: CREATE VIRTUAL TABLE makes them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

HISTORY = Path(__file__).parent / "schema_history"


def schema_script(conn: sqlite3.Connection) -> str:
    objects = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "ORDER BY rowid").fetchall()
    virtual = [name for name, sql in objects if sql.upper().startswith("CREATE VIRTUAL TABLE")]
    lines = [f"{sql.strip()};" for name, sql in objects
             if not any(name.startswith(f"{table}_") for table in virtual)]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version:
        names = [row[0] for row in conn.execute("SELECT name FROM schema_migrations ORDER BY rowid")]
        lines += [f"INSERT INTO schema_migrations (name, applied_at) VALUES ('{name}', 0);" for name in names]
    lines.append(f"PRAGMA user_version = {version};")
    return "\n".join(lines) + "\n"


def history_file(version: int) -> Path:
    return HISTORY / f"v{version}.sql"


def data_file(version: int) -> Path:
    return HISTORY / f"v{version}_data.sql"


def create_at_version(path: Path, version: int, with_data: bool = True) -> None:
    """A database file as Ossian's schema `version` left it, with that version's sample data."""
    script = history_file(version).read_text(encoding="utf-8")
    if with_data and data_file(version).exists():
        script += data_file(version).read_text(encoding="utf-8")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # One transaction without fsyncs: a test fixture, not data anyone could lose.
        conn.executescript(f"PRAGMA synchronous = OFF; BEGIN; {script} COMMIT;")
    finally:
        conn.close()
