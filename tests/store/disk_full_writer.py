"""Streams an answer onto a small disk until it is full, then frees space; prints what happened as JSON.

Run as `python -m tests.store.disk_full_writer DATABASE FILLER` inside a mount namespace where the
database's folder is a small tmpfs (see test_errors.py). FILLER is a file taking space that is deleted
to "free disk space" once the store has reported the disk as full.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys

from app.store import DiskFull, MessageStream, NewMessage, open_store

CHUNK = "x" * 50_000


def main(database: str, filler: str) -> dict:
    report: dict = {}
    store = open_store(database)
    conversation = store.create_conversation(title="Before the disk filled")
    turn = store.add_user_turn(conversation.id, "Write a lot")
    reply = store.append_message(conversation.id, NewMessage("assistant", status="streaming"),
                                 turn_id=turn.turn.id)
    stream = MessageStream(store, reply.id, interval_s=0.0)
    appended = 0
    try:
        while appended < 200:
            appended += 1
            stream.append(CHUNK)
    except DiskFull as exc:
        report["error"] = str(exc)
    report["kept_in_memory"] = len(stream.content) == appended * len(CHUNK) and stream.unwritten
    report["earlier_intact"] = store.list_messages(conversation.id)[0].content == "Write a lot"
    os.remove(filler)
    stream.finish()
    store.close()
    with open_store(database) as reopened:
        report["saved_after_freeing"] = len(reopened.get_message(reply.id).content) == appended * len(CHUNK)
    conn = sqlite3.connect(database)
    report["integrity"] = conn.execute("PRAGMA integrity_check").fetchone()[0]
    conn.close()
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
