"""Full garbage collections wait while an answer streams, and run once when it ends.

CPython's full (generation 2) collection walks every tracked object; with a long conversation on
screen that took 37.6 ms on the development machine, measured with `gc.callbacks` during
bench/ui_stream.py, and landing on a busy frame it made the longest stall of the stream (76.7 ms).
While a turn runs, full collections are deferred (the young generations still collect, 1-3 ms each);
when it ends, one full collection runs right after the last frame, while the user reads. A tool call
waiting for the user's approval counts as an end (the wait can be long); the turn's next tool state
defers them again.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

# Generation-1 collections before a full one is considered: never, in practice, during one turn.
DEFERRED_FULL_THRESHOLD = 1_000_000_000


class StreamingCollector(QObject):
    """Defers the collector's full passes between `stream_started` and `stream_finished`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._saved: tuple[int, int, int] | None = None

    def is_deferring(self) -> bool:
        return self._saved is not None

    def stream_started(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            gc.set_threshold(self._saved[0], self._saved[1], DEFERRED_FULL_THRESHOLD)

    def stream_finished(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
            QTimer.singleShot(0, self, gc.collect)  # after the last frame is painted

    def set_streaming(self, streaming: bool) -> None:
        """Slot for a busy signal."""
        if streaming:
            self.stream_started()
        else:
            self.stream_finished()
