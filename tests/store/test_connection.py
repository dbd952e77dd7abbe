"""Threads: the UI reads on its thread while the turn loop writes on another, each with a connection."""

import threading
from pathlib import Path

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
