"""The Qt adapter of download progress: snapshots from the download thread reach the main thread,
newest first-class, coalesced while bytes flow, state changes at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.models import DownloadProgress, DownloadRequest, DownloadState, load_catalog
from app.ui.models.feed import DownloadFeed
from fixtures.hub_server import HubServer
from tests.models.conftest import Recorder
from tests.ui.models.conftest import WAIT_MS

REQUEST_20B = DownloadRequest.from_catalog(load_catalog().get("gpt-oss-20b"))


class Emitter:
    """Anything with `add_listener`, the one method the feed uses: here a thread that reports fast."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[DownloadProgress], None]] = []

    def add_listener(self, listener: Callable[[DownloadProgress], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def report(self, progress: DownloadProgress) -> None:
        for listener in list(self.listeners):
            listener(progress)


def progress(sequence: int, state: DownloadState = DownloadState.DOWNLOADING, done: int = 0,
             download_id: str = "a") -> DownloadProgress:
    return DownloadProgress(id=download_id, name=download_id, state=state, bytes_done=done,
                            bytes_total=10_000, speed=1.0, eta_seconds=1.0, file_index=1, file_count=1,
                            file_name="x.gguf", checked_bytes=0, check_total=0, message="", sequence=sequence)


def test_a_fast_download_is_coalesced_and_the_last_state_arrives(qtbot, published: HubServer,
                                                                 workspace) -> None:
    manager = workspace.downloads
    raw = Recorder()
    manager.add_listener(raw)
    feed = DownloadFeed(manager, interval_ms=150)
    received: list[DownloadProgress] = []
    feed.progressed.connect(received.append)

    manager.start(REQUEST_20B)
    qtbot.waitUntil(lambda: bool(received) and received[-1].state == DownloadState.DONE, timeout=WAIT_MS)

    assert received[-1].sequence == raw.events[-1].sequence  # the newest snapshot is the one shown
    assert [p.sequence for p in received] == sorted({p.sequence for p in received})
    downloading_raw = [e for e in raw.events if e.state == DownloadState.DOWNLOADING]
    downloading_shown = [p for p in received if p.state == DownloadState.DOWNLOADING]
    assert len(downloading_raw) > 10  # every block is reported by the manager here
    assert len(downloading_shown) < len(downloading_raw) / 2
    feed.close()


def test_a_flood_from_another_thread_is_paced_and_state_changes_are_not_held_back(qtbot) -> None:
    source = Emitter()
    feed = DownloadFeed(source, interval_ms=100)  # type: ignore[arg-type]
    received: list[tuple[float, DownloadProgress]] = []
    feed.progressed.connect(lambda p: received.append((time.monotonic(), p)))
    count = 3000

    def flood() -> None:
        for sequence in range(1, count + 1):
            source.report(progress(sequence, done=sequence))
            time.sleep(0.0002)
        source.report(progress(count + 1, DownloadState.PAUSED, done=count))

    started = time.monotonic()
    worker = threading.Thread(target=flood)
    worker.start()
    qtbot.waitUntil(lambda: bool(received) and received[-1][1].state == DownloadState.PAUSED, timeout=WAIT_MS)
    worker.join()
    elapsed = time.monotonic() - started

    moving = [p for _, p in received if p.state == DownloadState.DOWNLOADING]
    assert len(moving) <= elapsed / 0.1 + 3, f"{len(moving)} updates in {elapsed:.2f} s"
    assert len(moving) >= 2  # but it does move while the flood lasts
    assert [p.sequence for _, p in received] == sorted(p.sequence for _, p in received)
    assert received[-1][1].bytes_done == count
    feed.close()


def test_a_state_change_skips_the_wait(qtbot) -> None:
    source = Emitter()
    feed = DownloadFeed(source, interval_ms=5000)  # type: ignore[arg-type]
    received: list[DownloadProgress] = []
    feed.progressed.connect(received.append)

    source.report(progress(1))
    qtbot.waitUntil(lambda: len(received) == 1)
    source.report(progress(2, done=5))  # inside the 5 s pause: held back
    source.report(progress(3, DownloadState.PAUSED, done=6))  # a new state: delivered now
    qtbot.waitUntil(lambda: len(received) == 2, timeout=2000)
    assert received[-1].state == DownloadState.PAUSED and received[-1].sequence == 3


def test_older_snapshots_never_replace_newer_ones(qtbot) -> None:
    source = Emitter()
    feed = DownloadFeed(source, interval_ms=10)  # type: ignore[arg-type]
    received: list[DownloadProgress] = []
    feed.progressed.connect(received.append)
    source.report(progress(5, done=5))
    source.report(progress(4, done=4))
    source.report(progress(1, download_id="b"))
    qtbot.waitUntil(lambda: {p.id for p in received} == {"a", "b"})
    qtbot.wait(50)
    assert [p.sequence for p in received if p.id == "a"] == [5]


def test_a_destroyed_feed_stops_listening(qtbot) -> None:
    source = Emitter()
    feed = DownloadFeed(source)  # type: ignore[arg-type]
    assert len(source.listeners) == 1
    feed.deleteLater()
    qtbot.waitUntil(lambda: not source.listeners)
    source.report(progress(1))  # must not reach a deleted object
