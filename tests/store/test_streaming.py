"""The answer being generated: paced writes, and what a SIGKILL in the middle of one leaves behind."""

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.store import DatabaseBusy, MessageStream, NewMessage, Store, open_store
from tests.store import streaming_writer
from tests.store.conftest import Clock, integrity

REPOSITORY = Path(__file__).parents[2]


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def streaming_reply(store: Store) -> int:
    conversation = store.create_conversation()
    turn = store.add_user_turn(conversation.id, "Tell me a story")
    return store.append_message(conversation.id, NewMessage("assistant", channel="final", status="streaming"),
                                turn_id=turn.turn.id).id


def test_writes_at_most_once_a_second_and_at_the_end(store: Store) -> None:
    reply_id = streaming_reply(store)
    monotonic = Monotonic()
    stream = MessageStream(store, reply_id, monotonic=monotonic)
    for delta in ("Once", " upon", " a"):
        monotonic.now += 0.25  # binary fractions: exact sums
        assert stream.append(delta) is False
    assert store.get_message(reply_id).content == ""  # 0.75 s: nothing written yet
    monotonic.now += 0.25
    assert stream.append(" time") is True
    assert store.get_message(reply_id).content == "Once upon a time"
    assert store.get_message(reply_id).status == "streaming"
    monotonic.now += 0.5
    stream.append(",")
    stream.flush()  # a timer may write early, e.g. while no token comes
    assert store.get_message(reply_id).content == "Once upon a time,"
    stream.finish()
    stored = store.get_message(reply_id)
    assert (stored.content, stored.status, stream.writes) == ("Once upon a time,", "complete", 3)


def test_an_engine_crash_ends_the_answer_as_interrupted(store: Store) -> None:
    reply_id = streaming_reply(store)
    stream = MessageStream(store, reply_id, initial="Half an ans")
    stream.finish("interrupted")
    assert (store.get_message(reply_id).content, store.get_message(reply_id).status) == (
        "Half an ans", "interrupted")


def test_a_failed_write_keeps_the_text_and_retries_a_second_later(db_path: Path, clock: Clock) -> None:
    with open_store(db_path, clock=clock, busy_timeout_s=0.05) as store:
        reply_id = streaming_reply(store)
        monotonic = Monotonic()
        stream = MessageStream(store, reply_id, monotonic=monotonic)
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        monotonic.now += 1.0
        with pytest.raises(DatabaseBusy, match=r"busy.*Try again"):
            stream.append("Every word ")
        assert stream.content == "Every word " and stream.unwritten
        monotonic.now += 0.5
        assert stream.append("is kept") is False  # not retried on every token
        blocker.execute("ROLLBACK")
        blocker.close()
        monotonic.now += 0.5
        assert stream.append(".") is True
        assert store.get_message(reply_id).content == "Every word is kept."
        assert not stream.unwritten


@pytest.mark.parametrize("delay_s", [0.0, 0.05, 0.3])
def test_sigkill_while_flushing_loses_nothing_earlier(db_path: Path, clock: Clock, delay_s: float) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with subprocess.Popen([sys.executable, "-m", "tests.store.streaming_writer", str(db_path)],
                          stdout=subprocess.PIPE, text=True, cwd=REPOSITORY) as writer:
        try:
            assert writer.stdout is not None
            ids = json.loads(writer.stdout.readline())
            assert writer.stdout.readline() == "streaming\n"
            time.sleep(delay_s)
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert integrity(db_path) == ("ok", "fts ok")  # the file as the killed process left it

    with open_store(db_path, clock=clock) as store:
        assert store.report.damaged is None
        assert store.report.interrupted_message_ids == (ids["reply"],)
        messages = store.list_messages(ids["conversation"])
        expected = []
        for index in range(streaming_writer.EARLIER_TURNS):
            expected += [streaming_writer.question(index), f"Reasoning {index}",
                         streaming_writer.answer(index)]
        expected.append("Now tell me the longest story you know.")
        assert [m.content for m in messages[:-1]] == expected
        assert {m.status for m in messages[:-1]} == {"complete"}
        partial = messages[-1]
        assert partial.id == ids["reply"] and partial.status == "interrupted"
        written = partial.content.count("<")
        assert written >= 20  # every write the writer reported before the kill is there
        assert partial.content == "".join(streaming_writer.chunk(index) for index in range(written))

        # "Continue": the chat loop resumes the same message and completes it.
        continued = MessageStream(store, partial.id, partial.content)
        continued.append("The end.")
        continued.finish()
        assert store.get_message(partial.id).content.endswith("and the story goes on, The end.")
        # "Regenerate": everything after the question goes, a new answer takes its place.
        assert store.delete_messages_after(ids["question"]) == 1
        store.append_message(ids["conversation"], NewMessage("assistant", "A short story.", channel="final"),
                             turn_id=messages[-2].turn_id)
        assert [m.content for m in store.list_messages(ids["conversation"])][-2:] == [
            "Now tell me the longest story you know.", "A short story."]
    assert integrity(db_path) == ("ok", "fts ok")
