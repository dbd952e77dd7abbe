"""What every message widget renders with: the theme, the Markdown renderer, the frame clock, the pump.

One `RenderContext` per ChatView, passed down explicitly to the widgets it creates. A theme change
makes a new context (new colours, new code style) that shares the clock and the pump.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from PySide6.QtCore import QObject

from app.ui.messages.frames import FrameClock
from app.ui.messages.highlighting import HighlightPump
from app.ui.render.highlight import CodeHighlighter
from app.ui.render.markdown import MarkdownRenderer
from app.ui.theme import Theme


@dataclass(frozen=True)
class RenderContext:
    theme: Theme
    markdown: MarkdownRenderer
    frames: FrameClock
    highlights: HighlightPump
    prose_css: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prose_css", self.theme.prose_css())

    @property
    def highlighter(self) -> CodeHighlighter:
        return self.markdown.highlighter

    @classmethod
    def create(cls, theme: Theme, parent: QObject | None = None, frame_interval_ms: int | None = None
               ) -> RenderContext:
        return cls(
            theme=theme,
            markdown=MarkdownRenderer(CodeHighlighter(theme.palette.pygments_style)),
            frames=FrameClock(frame_interval_ms, parent),
            highlights=HighlightPump(parent=parent),
        )

    def with_theme(self, theme: Theme) -> RenderContext:
        markdown = self.markdown
        if theme.palette.pygments_style != self.highlighter.style_name:
            markdown = MarkdownRenderer(CodeHighlighter(theme.palette.pygments_style))
        return dataclasses.replace(self, theme=theme, markdown=markdown)
