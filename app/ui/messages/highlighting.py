"""The highlight pump: runs pygments jobs a few milliseconds at a time while the event loop is free.

Lexing a long code block takes tens of milliseconds, and a lexer's first use hundreds (see
app/ui/render/highlight.py). Requests wait here until their lexer is loaded (on the loader thread),
then advance in slices of `slice_ms` from a zero-delay timer, which Qt runs after pending input and
paint events, so highlighting never stalls the window; the code is shown plain until its colours are
ready.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer

from app.ui.render.highlight import CodeHighlighter, HighlightJob, is_lexer_loaded, load_lexer

DoneCallback = Callable[[HighlightJob], None]
LEXER_POLL_MS = 20


@dataclass
class _Request:
    highlighter: CodeHighlighter
    code: str
    language: str
    done: DoneCallback
    job: HighlightJob | None = None


class HighlightPump(QObject):
    """One request per owner widget; a new request from the same owner replaces its old one."""

    def __init__(self, slice_ms: float = 4.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._slice_s = slice_ms / 1000
        self._requests: dict[int, _Request] = {}
        self._watched: set[int] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)

    def submit(self, owner: QObject, highlighter: CodeHighlighter, code: str, language: str,
               done: DoneCallback) -> None:
        key = id(owner)
        if key not in self._watched:
            self._watched.add(key)
            owner.destroyed.connect(functools.partial(self._forget, key))
        self._requests[key] = _Request(highlighter, code, language, done)
        if not is_lexer_loaded(language):
            load_lexer(language)
        self._timer.start(0)

    def cancel(self, owner: QObject) -> None:
        self._requests.pop(id(owner), None)

    def is_busy(self) -> bool:
        return bool(self._requests)

    def run_all(self) -> None:
        """Finish every request now, waiting for lexers (tests, screenshots)."""
        for request in list(self._requests.values()):
            load_lexer(request.language).result()
        while self._requests:
            self._step(float("inf"))

    def _forget(self, key: int, *_: object) -> None:
        self._requests.pop(key, None)
        self._watched.discard(key)

    def _tick(self) -> None:
        worked = self._step(self._slice_s)
        if self._requests:
            self._timer.start(0 if worked else LEXER_POLL_MS)

    def _step(self, budget_s: float) -> bool:
        """Advance the first request whose lexer is ready; False if all wait for their lexers."""
        for key, request in self._requests.items():
            if request.job is None:
                if not is_lexer_loaded(request.language):
                    continue
                request.job = request.highlighter.start(request.code, request.language)
            if request.job.step(budget_s):
                # The callback may submit a follow-up request for the same owner: remove this one first.
                del self._requests[key]
                request.done(request.job)
            return True
        return False
