"""Transfer speed and time left, smoothed over the last few seconds so the numbers do not jump about."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateMeter:
    """Feed it the running byte count; it answers bytes per second over a sliding window."""

    def __init__(self, window_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window_seconds
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()

    def reset(self) -> None:
        self._samples.clear()

    def add(self, total_bytes: int) -> None:
        now = self._clock()
        self._samples.append((now, total_bytes))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.popleft()

    def speed(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        if t1 - t0 <= 0:
            return 0.0
        # A stalled transfer has no recent samples after the last one: count the silence since then.
        elapsed = max(t1, self._clock()) - t0
        return max(0.0, (b1 - b0) / elapsed)

    def eta(self, remaining_bytes: int) -> float | None:
        speed = self.speed()
        if remaining_bytes <= 0:
            return 0.0
        return remaining_bytes / speed if speed > 0 else None
