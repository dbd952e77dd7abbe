"""Benchmark of the conversation store: the sidebar with 10,000 conversations and a 5,000-message chat.

Each store call is timed beside a bare `SELECT` of the same rows on a plain sqlite3 connection to the
same file, so the ratio shows what the store adds (row conversion, dataclasses, the tool-call join).
Also timed: opening the store (health check included), a search, and one streaming flush.

    flock /tmp/ossian-heavy.lock .venv/bin/python bench/store.py [--conversations N] [--messages N]

The database is built through the store's own API in a temporary folder, so it has the real indexes,
triggers and full-text index. Target: under 100 ms for the sidebar and for the long conversation.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.store import NewMessage, Store, open_store

TARGET_MS = 100.0
COMMON = [
    "the", "model", "and", "to", "of", "a", "in", "is", "it", "that", "for", "with", "this", "on",
    "you", "can", "as", "be", "are", "not", "or", "from", "what", "if", "at", "your", "how", "token",
    "context", "window", "memory", "layer", "expert", "cache", "prompt", "answer", "reasoning",
    "python", "search", "document", "page", "table", "result", "error", "sample", "weight", "matrix",
    "vector", "GPU", "CPU", "thread", "batch", "latency", "file", "folder", "question",
]


def vocabulary(rng: random.Random, size: int = 6_000) -> tuple[list[str], list[float]]:
    """Words with Zipf-like frequencies (weight 1/rank), as in real text: a few very common, most rare."""
    syllables = ["ka", "lo", "mi", "ten", "ra", "sol", "ve", "dor", "pi", "an", "tis", "el", "mon", "zar"]
    words = list(COMMON)
    while len(words) < size:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in words:
            words.append(word)
    cumulative, total = [], 0.0
    for rank in range(1, size + 1):
        total += 1.0 / rank
        cumulative.append(total)
    return words, cumulative


class Text:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words, self.cumulative = vocabulary(self.rng)

    def __call__(self, low: int, high: int) -> str:
        count = self.rng.randint(low, high)
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=count))


def build(path: Path, conversations: int, long_messages: int) -> tuple[Store, int, Text]:
    """Sidebar-sized history (a question and an answer each) plus one long conversation."""
    text = Text(seed=8)
    clock = iter(range(1_700_000_000, 1_800_000_000)).__next__
    store = open_store(path, clock=lambda: float(clock()))
    for _ in range(conversations):
        conversation = store.create_conversation(model="gpt-oss-20b")
        turn = store.add_user_turn(conversation.id, text(5, 40))
        store.append_message(conversation.id, NewMessage("assistant", text(40, 300), channel="final"),
                             turn_id=turn.turn.id)
    long = store.create_conversation(title="A very long conversation", model="gpt-oss-120b")
    turn = None
    for index in range(long_messages):
        if index % 4 == 0:
            turn = store.add_user_turn(long.id, text(5, 40))
            continue
        channel = ("analysis", "commentary", "final")[index % 4 - 1]
        store.append_message(long.id, NewMessage("assistant", text(20, 200), channel=channel),
                             turn_id=turn.turn.id)
    return store, long.id, text


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm the page cache and the statement cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="ossian-bench-store-") as folder:
        path = Path(folder) / "conversations.sqlite3"
        started = time.perf_counter()
        store, long_id, text = build(path, args.conversations, args.messages)
        build_s = time.perf_counter() - started
        store.close()
        size_mb = path.stat().st_size / 1e6

        store = open_store(path)
        bare = sqlite3.connect(path)
        total_messages = bare.execute("SELECT count(*) FROM messages").fetchone()[0]
        sidebar_sql = ("SELECT id, title, updated_at, pinned, archived FROM conversations WHERE archived = 0 "
                       "ORDER BY pinned DESC, updated_at DESC, id DESC")
        messages_sql = ("SELECT id, conversation_id, position, role, content, created_at, status, name, "
                        "channel, recipient, content_type, turn_id, error FROM messages "
                        "WHERE conversation_id = ? ORDER BY position")

        def reopen() -> None:
            open_store(path).close()

        open_ms = median_ms(reopen, max(3, args.runs // 3))
        long_text = "x" * 20_000
        flush_target = store.append_message(long_id, NewMessage("assistant", "", status="streaming")).id
        common_word, mid_words = text.words[1], f"{text.words[300]} {text.words[900]}"
        first_page = f"{sidebar_sql} LIMIT 100"
        rows: list[tuple[str, str, float, float | None]] = [
            ("sidebar: list_conversations()", f"{args.conversations:,} rows",
             median_ms(store.list_conversations, args.runs),
             median_ms(lambda: bare.execute(sidebar_sql).fetchall(), args.runs)),
            ("conversation: list_messages()", f"{args.messages + 1:,} rows",
             median_ms(lambda: store.list_messages(long_id), args.runs),
             median_ms(lambda: bare.execute(messages_sql, (long_id,)).fetchall(), args.runs)),
            ("sidebar first screen (limit=100)", "100 rows",
             median_ms(lambda: store.list_conversations(limit=100), args.runs),
             median_ms(lambda: bare.execute(first_page).fetchall(), args.runs)),
            (f"search({mid_words!r})", f"{len(store.search(mid_words))} hits",
             median_ms(lambda: store.search(mid_words), args.runs), None),
            (f"search({common_word!r}), in most messages", f"{len(store.search(common_word))} hits",
             median_ms(lambda: store.search(common_word), args.runs), None),
            ("flush 20,000 characters", "1 UPDATE",
             median_ms(lambda: store.update_message_content(flush_target, long_text), args.runs),
             median_ms(lambda: bare.execute("UPDATE messages SET content = ? WHERE id = ?",
                                            (long_text, flush_target)) and bare.commit(), args.runs)),
            ("open_store()", f"{size_mb:.0f} MB file", open_ms, None),
        ]
        store.update_message_content(flush_target, long_text, "complete")
        store.close()
        bare.close()

    print(f"store bench: {args.conversations:,} conversations, {total_messages:,} messages, {size_mb:.0f} MB "
          f"(built in {build_s:.1f} s); median of {args.runs} runs; Python {sys.version.split()[0]}, "
          f"SQLite {sqlite3.sqlite_version}")
    print(f"{'case':42} {'rows':>14} {'store':>10} {'bare SQL':>10} {'ratio':>7}")
    failed = False
    for name, size, store_ms, bare_ms in rows:
        bare_text = f"{bare_ms:8.2f} ms" if bare_ms is not None else f"{'-':>11}"
        ratio = f"{store_ms / bare_ms:6.1f}x" if bare_ms else f"{'-':>7}"
        print(f"{name:42} {size:>14} {store_ms:7.2f} ms {bare_text} {ratio}")
    for name, _, store_ms, _ in rows[:2]:
        verdict = "ok" if store_ms < TARGET_MS else "OVER TARGET"
        failed |= store_ms >= TARGET_MS
        print(f"target < {TARGET_MS:.0f} ms, {name}: {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
