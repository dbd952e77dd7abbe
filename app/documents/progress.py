"""How long-running extraction talks to its caller: progress reports and a cancel check.

Both are plain callables so any thread model fits: the UI passes a function that posts a signal and
`threading.Event.is_set`; tests pass lists and lambdas. Progress comes per page (PDF), per block of
paragraphs (DOCX) or per mebibyte read, so a caller should not do slow work in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from app.documents.errors import ExtractionCancelled

Stage = Literal["reading", "extracting"]
Unit = Literal["bytes", "pages", "paragraphs", "chars"]


@dataclass(frozen=True, slots=True)
class ExtractionProgress:
    stage: Stage  # reading the bytes, then extracting the text
    done: int
    total: int
    unit: Unit

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[ExtractionProgress], None]
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class Reporter:
    """Bundles the caller's two callables; both optional."""

    progress: ProgressCallback | None = None
    cancel: CancelCheck | None = None

    def report(self, stage: Stage, done: int, total: int, unit: Unit) -> None:
        if self.progress is not None:
            self.progress(ExtractionProgress(stage, done, total, unit))

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel():
            raise ExtractionCancelled()
