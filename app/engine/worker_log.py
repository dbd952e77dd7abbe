"""The worker's hold on llama.cpp's log: captured line by line, kept for reports, warnings passed on.

llama.cpp logs through one process-wide callback. The worker installs its own (replacing the one
llama-cpp-python installs on import) so that nothing lands on stdout, warnings and errors go to stderr
(the app writes the worker's stderr into its log file), and recent lines are kept: a load's lines give
its buffer sizes, and the error lines before a failure give the message a person reads.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections import deque
from collections.abc import Iterator
from typing import TextIO

from llama_cpp import llama_cpp as llama_c

# ggml_log_level: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5 (continues the previous line)
DEBUG, INFO, WARN, ERROR, CONT = 1, 2, 3, 4, 5
_KEPT_LINES = 400


class LlamaLog:
    """Collects llama.cpp's log lines (INFO and up); at most one capture runs at a time."""

    def __init__(self, forward: TextIO | None = sys.stderr) -> None:
        self._forward = forward
        self._lock = threading.Lock()
        self._recent: deque[tuple[int, str]] = deque(maxlen=_KEPT_LINES)
        self._partial: tuple[int, str] | None = None
        self._captures: list[list[tuple[int, str]]] = []
        # ctypes must keep the callback object alive as long as llama.cpp may call it
        self._callback = llama_c.llama_log_callback(self._on_log)

    def install(self) -> None:
        llama_c.llama_log_set(self._callback, None)

    @contextlib.contextmanager
    def capture(self) -> Iterator[list[tuple[int, str]]]:
        """Collect the (level, line) pairs logged inside the block, DEBUG included, into the yielded list."""
        lines: list[tuple[int, str]] = []
        with self._lock:
            self._captures.append(lines)
        try:
            yield lines
        finally:
            with self._lock:
                self._flush_partial()
                self._captures.remove(lines)

    def recent_errors(self, limit: int = 20) -> list[str]:
        with self._lock:
            self._flush_partial()
            return [line for level, line in self._recent if level >= WARN][-limit:]

    def _on_log(self, level: int, text: bytes | None, _user_data: object) -> None:
        # DEBUG lines only matter inside a capture (a load says there where each tensor went)
        if not text or (level == DEBUG and not self._captures):
            return
        chunk = text.decode("utf-8", errors="replace")
        with self._lock:
            if level == CONT:
                if self._partial is None:
                    return  # a progress dot after a line we dropped
                level, chunk = self._partial[0], self._partial[1] + chunk
            elif self._partial is not None:
                self._flush_partial()
            *complete, rest = chunk.split("\n")
            for line in complete:
                self._keep(level, line)
            self._partial = (level, rest) if rest else None

    def _flush_partial(self) -> None:
        if self._partial is not None:
            self._keep(*self._partial)
            self._partial = None

    def _keep(self, level: int, line: str) -> None:
        line = line.rstrip()
        if not line.strip(". "):
            return  # progress dots
        for capture in self._captures:
            capture.append((level, line))
        if level == DEBUG:
            return
        self._recent.append((level, line))
        if level >= WARN and self._forward is not None:
            try:
                print(f"llama.cpp: {line}", file=self._forward, flush=True)
            except (OSError, ValueError):
                pass
