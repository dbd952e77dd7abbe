"""Streaming Markdown: a growing text becomes pieces; finished blocks are rendered once and kept.

A top-level block is finished when the block after it has started on a complete line: CommonMark
parses line by line and never reopens a closed block, so nothing that arrives later can change it.
(A half-received line is never trusted: "```" might still become "```x`", which is not a fence.)
Only the text from the first unfinished block on is parsed again on each render, so the cost of an
update depends on the size of the open block, not on the length of the message.

Output is a list of pieces: consecutive finished prose blocks grouped into one `ProsePiece` of HTML (up
to about `group_chars`, so a long answer needs few widgets and adding a block to a group stays cheap),
the open blocks in a piece of their own after them, and each top-level code block a `CodePiece` (the
view gives it its own widget: copy button, horizontal scroll). Each render returns only the pieces
that may have changed (`RenderUpdate.start` onwards).

Known limit: a link reference definition (`[x]: url`) that arrives after a finished block using it does
not reach that block. Models hardly ever write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.ui.render.highlight import language_name
from app.ui.render.markdown import STREAMING_KEY, MarkdownRenderer

if TYPE_CHECKING:  # markdown-it is imported with the first parse (see app.ui.render.markdown)
    from markdown_it.token import Token

CODE_TAG = "code"  # the tag a CodePiece counts as for spacing


@dataclass(frozen=True, slots=True)
class ProsePiece:
    """Rendered HTML of one or more consecutive blocks; the tags say which blocks start and end it."""

    html: str
    first_tag: str
    last_tag: str


@dataclass(frozen=True, slots=True)
class CodePiece:
    """A top-level code block; `closed` once no more text can arrive in it."""

    code: str
    language: str
    closed: bool

    first_tag = CODE_TAG
    last_tag = CODE_TAG


Piece = ProsePiece | CodePiece


@dataclass(frozen=True, slots=True)
class RenderUpdate:
    """Pieces from `start` on; pieces before `start` are unchanged and the list now ends after these."""

    start: int
    pieces: tuple[Piece, ...]


@dataclass(slots=True)
class _Block:
    tokens: list[Token]
    first_line: int


class StreamingMarkdown:
    """Accumulates text deltas; `render()` turns what arrived since the last call into a RenderUpdate."""

    def __init__(self, renderer: MarkdownRenderer, group_chars: int = 1500) -> None:
        self._renderer = renderer
        self._group_chars = group_chars
        self._env: dict[str, Any] = {}  # link reference definitions, kept across renders
        self._finished_text: list[str] = []
        self._open = ""  # text from the first unfinished block on
        self._pending: list[str] = []  # deltas not rendered yet: appending is O(1) on the token path
        self._pieces: list[Piece] = []  # finished pieces (the last prose one may still take more blocks)
        self._stable = 0  # pieces before this index can never change again
        self._closed = False
        self._dirty = False

    @property
    def text(self) -> str:
        return "".join(self._finished_text) + self._open + "".join(self._pending)

    @property
    def closed(self) -> bool:
        return self._closed

    def feed(self, text: str) -> None:
        if self._closed:
            raise ValueError("text fed after close()")
        if text:
            self._pending.append(text)
            self._dirty = True

    def close(self) -> None:
        """No more text: the next render finishes every block, the last one too."""
        if not self._closed:
            self._closed = True
            self._dirty = True

    def render(self) -> RenderUpdate | None:
        """What changed since the last render, or None if nothing arrived."""
        if not self._dirty:
            return None
        self._dirty = False
        if self._pending:
            self._open += "".join(self._pending)
            self._pending.clear()
        start = self._stable
        blocks = self._blocks(self._renderer.parse(self._open, self._env))
        n_finished = len(blocks) if self._closed else self._count_finished(blocks)
        for block in blocks[:n_finished]:
            self._add_finished(block)
        if self._closed:
            self._finished_text.append(self._open)
            self._open = ""
        elif n_finished:
            cut = _line_offset(self._open, blocks[n_finished].first_line)
            self._finished_text.append(self._open[:cut])
            self._open = self._open[cut:]
        shown = self._pieces[start:]
        self._append_open(shown, blocks[n_finished:])
        last = self._pieces[-1] if self._pieces else None
        self._stable = len(self._pieces) - (1 if self._joinable(last) else 0)
        return RenderUpdate(start, tuple(shown))

    def _count_finished(self, blocks: list[_Block]) -> int:
        complete_lines = self._open.count("\n")
        finished = 0
        while finished + 1 < len(blocks) and blocks[finished + 1].first_line < complete_lines:
            finished += 1
        return finished

    def _joinable(self, piece: Piece | None) -> bool:
        return isinstance(piece, ProsePiece) and len(piece.html) < self._group_chars

    def _add_finished(self, block: _Block) -> None:
        piece = self._piece(block, streaming=False)
        if isinstance(piece, ProsePiece) and self._pieces and self._joinable(self._pieces[-1]):
            self._pieces[-1] = _join(self._pieces[-1], piece)  # type: ignore[arg-type]
        else:
            self._pieces.append(piece)

    def _append_open(self, shown: list[Piece], blocks: list[_Block]) -> None:
        """Open blocks are shown after the finished pieces, in pieces of their own: re-rendering them
        on every frame then costs the open blocks' size, never a finished group's."""
        n_finished_shown = len(shown)
        for block in blocks:
            piece = self._piece(block, streaming=True)
            last = shown[-1] if len(shown) > n_finished_shown else None
            if isinstance(piece, ProsePiece) and isinstance(last, ProsePiece):
                shown[-1] = _join(last, piece)
            else:
                shown.append(piece)

    def _piece(self, block: _Block, streaming: bool) -> Piece:
        first = block.tokens[0]
        if first.type in ("fence", "code_block") and len(block.tokens) == 1:
            return CodePiece(first.content, language_name(first.info), closed=not streaming)
        if streaming:
            self._env[STREAMING_KEY] = True
        try:
            html = self._renderer.render_tokens(block.tokens, self._env)
        finally:
            self._env.pop(STREAMING_KEY, None)
        return ProsePiece(html, first.tag, first.tag)

    @staticmethod
    def _blocks(tokens: list[Token]) -> list[_Block]:
        blocks: list[_Block] = []
        for token in tokens:
            if token.level == 0 and token.nesting >= 0:
                assert token.map is not None, token
                blocks.append(_Block([token], token.map[0]))
            else:
                blocks[-1].tokens.append(token)
        return blocks


def _join(left: ProsePiece, right: ProsePiece) -> ProsePiece:
    return ProsePiece(left.html + right.html, left.first_tag, right.last_tag)


def _line_offset(text: str, line: int) -> int:
    """Index of the first character of `line` (0-based) in text."""
    offset = 0
    for _ in range(line):
        offset = text.index("\n", offset) + 1
    return offset
