"""Threads: the UI reads on its thread while the turn loop writes on another, each with a connection."""

import threading
from pathlib import Path

import pytest

from app.store import MessageStream, NewMessage, Store, open_store
from tests.store.conftest import Clock, integrity


def test_reads_and_streaming_writes_from_two_threads(store: Store, db_path: Path) -> None:
    conversation = store.create_conversation()
    reply = store.append_message(conversation.id, NewMessage("assistant", status="streaming"))
    errors: list[BaseException] = []
    done = threading.Event()

    def turn_loop() -> None:
        try:
            stream = MessageStream(store, reply.id, interval_s=0.0)
            for index in range(300):
                stream.append(f"{index} ")
            stream.finish()
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=turn_loop)
    writer.start()
    seen = set()
    while not done.is_set():  # the "UI thread" reads all the while
        message = store.list_messages(conversation.id)[0]
        assert message.content == "".join(f"{i} " for i in range(len(message.content.split())))
        seen.add(message.status)
    writer.join()
    assert errors == []
    final = store.get_message(reply.id)
    assert final.status == "complete" and final.content.split()[-1] == "299"
    assert integrity(db_path) == ("ok", "fts ok")


def test_each_thread_gets_its_own_connection_and_close_closes_them_all(db_path: Path, clock: Clock) -> None:
    store = open_store(db_path, clock=clock)
    main_connection = store._connections.get()
    seen = []

    def worker() -> None:
        seen.append(store._connections.get())
        store.create_conversation(title="from a worker")

    for _ in range(3):  # threads that come and go, like a pool
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert all(conn is not main_connection for conn in seen)
    assert len(store._connections._by_thread) <= 2  # the dead workers' connections were closed
    assert [c.title for c in store.list_conversations()] == ["from a worker"] * 3
    store.close()
    assert store._connections._by_thread == {}



def test_closing_waits_for_a_call_in_progress_then_refuses_new_ones(db_path: Path) -> None:
    """Closing a connection under another thread's query can crash the process (the sqlite3 module frees
    the database while that thread still uses it: seen once as a segfault when a window closed while a
    meter reading ran). Close waits for the calls in progress; calls after it get the store's error."""
    from app.store import StoreError

    inside, release, blocking = threading.Event(), threading.Event(), threading.Event()

    def clock() -> float:  # append_message asks the time inside its call: hold it there
        if blocking.is_set():
            inside.set()
            release.wait(10)
        return 1_700_000_000.0

    store = open_store(db_path, clock=clock)
    conversation = store.create_conversation()
    blocking.set()
    outcome: dict[str, object] = {}

    def write() -> None:
        try:
            outcome["message"] = store.append_message(conversation.id, NewMessage("user", "kept"))
        except BaseException as exc:
            outcome["error"] = exc

    writer = threading.Thread(target=write)
    writer.start()
    assert inside.wait(10)
    closer = threading.Thread(target=store.close)
    closer.start()
    closer.join(0.5)
    assert closer.is_alive(), "close must wait for the call in progress"
    release.set()
    writer.join(10)
    closer.join(10)
    assert not closer.is_alive() and "message" in outcome, outcome
    with pytest.raises(StoreError, match="was closed"):
        store.list_messages(conversation.id)
    reopened = open_store(db_path, clock=Clock())
    assert [m.content for m in reopened.list_messages(conversation.id)] == ["kept"]
    reopened.close()
