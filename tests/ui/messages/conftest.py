"""A render context per test, on the real QApplication."""

from __future__ import annotations

import pytest

from app.ui.messages.context import RenderContext
from app.ui.theme import LIGHT, Theme


@pytest.fixture
def theme() -> Theme:
    return Theme(palette=LIGHT, font_px=14, font_family="DejaVu Sans", mono_family="DejaVu Sans Mono")


@pytest.fixture
def context(qapp, theme) -> RenderContext:
    return RenderContext.create(theme, frame_interval_ms=16)


def settle(context: RenderContext) -> None:
    """Render every pending frame and finish every highlight now."""
    context.frames.flush_now()
    context.highlights.run_all()
