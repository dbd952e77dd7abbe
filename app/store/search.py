"""Full-text search over every conversation (SQLite FTS5), for the sidebar's search box.

What the user types is never passed to FTS5 as query syntax: each word becomes a quoted phrase, all
must match, and the last one matches as a prefix so results follow the typing. A conversation matches by
its title or by any searchable message (see migration 003: user text and visible answers). Results come
newest first, like the sidebar, each with its latest matching message and a snippet around the match
(every matching message holds all the words, so the latest is as good as any and cheaper than ranking).
FTS5 finds; `highlighting` marks the words, only for the hits returned.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from app.store.highlighting import highlight, match_pattern, snippet
from app.store.records import SearchHit
from app.store.rows import to_datetime


@dataclass(frozen=True)
class Query:
    """What the user typed, split into words; the last one is a prefix while they are still typing it."""

    words: list[str]
    last_is_prefix: bool

    @classmethod
    def parse(cls, text: str) -> Query:
        words = [word for word in text.split() if any(ch.isalnum() for ch in word)]
        return cls(words, bool(text) and not text[-1].isspace())

    def fts(self) -> str | None:
        """The FTS5 query, or None if there is no word to look for."""
        if not self.words:
            return None
        phrases = ['"' + word.replace('"', '""') + '"' for word in self.words]
        if self.last_is_prefix:
            phrases[-1] += "*"
        return " ".join(phrases)


def search(conn: sqlite3.Connection, text: str, limit: int, include_archived: bool) -> list[SearchHit]:
    query = Query.parse(text)
    fts = query.fts()
    if fts is None:
        return []
    archived = "" if include_archived else "AND c.archived = 0"
    by_message = conn.execute(
        f"""
        SELECT c.id, c.updated_at, c.title, latest.message_id FROM (
            SELECT m.conversation_id AS conversation_id, max(m.id) AS message_id
            FROM message_fts JOIN messages m ON m.id = message_fts.rowid
            WHERE message_fts MATCH ? GROUP BY m.conversation_id
        ) AS latest JOIN conversations c ON c.id = latest.conversation_id
        WHERE 1 {archived} ORDER BY c.updated_at DESC, c.id DESC LIMIT ?
        """,
        (fts, limit),
    ).fetchall()
    by_title = conn.execute(
        f"""
        SELECT c.id, c.updated_at, c.title
        FROM conversation_fts JOIN conversations c ON c.id = conversation_fts.rowid
        WHERE conversation_fts MATCH ? {archived} ORDER BY c.updated_at DESC, c.id DESC LIMIT ?
        """,
        (fts, limit),
    ).fetchall()
    # conversation id -> (updated_at, title, matching message id or None for a title-only match)
    found: dict[int, tuple[int, str, int | None]] = {
        cid: (updated, title, None) for cid, updated, title in by_title}
    found.update((cid, (updated, title, message_id)) for cid, updated, title, message_id in by_message)
    best = sorted(found.items(), key=lambda item: (item[1][0], item[0]), reverse=True)[:limit]

    pattern = match_pattern(query.words, query.last_is_prefix)
    contents = _contents(conn, [message_id for _, (_, _, message_id) in best if message_id is not None])
    return [
        SearchHit(
            conversation_id=cid,
            updated_at=to_datetime(updated),
            title=highlight(title, pattern),
            message_id=message_id,
            snippet=None if message_id is None else snippet(contents[message_id], pattern),
        )
        for cid, (updated, title, message_id) in best
    ]


def _contents(conn: sqlite3.Connection, message_ids: list[int]) -> dict[int, str]:
    if not message_ids:
        return {}
    placeholders = ", ".join("?" * len(message_ids))
    rows = conn.execute(f"SELECT id, content FROM messages WHERE id IN ({placeholders})", message_ids)
    return dict(rows.fetchall())
