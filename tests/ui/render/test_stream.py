"""StreamingMarkdown: finished blocks are rendered once; the result equals rendering the whole text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.ui.render.highlight import CodeHighlighter
from app.ui.render.markdown import MarkdownRenderer
from app.ui.render.stream import CodePiece, Piece, ProsePiece, StreamingMarkdown

BLOCKS = [
    "# Title with *emphasis*\n",
    "A paragraph with `code`, **bold** and a [link](https://example.com).\nIt goes on a second line.\n",
    "- one\n- two\n  - nested\n- three\n",
    "1. first\n2. second\n\n   continued in the item\n",
    "```python\ndef f(x):\n    return x * 2\n```\n",
    "| a | b |\n|---|--:|\n| 1 | 2 |\n| 3 | 4 |\n",
    "> quoted *text*\n> on two lines\n",
    "Setext heading\n---\n",
    "---\n",
    "    indented code\n",
    "1. step\n\n   ```bash\n   echo hi\n   ```\n",
    "Last paragraph.\n",
]


def renderer() -> MarkdownRenderer:
    return MarkdownRenderer(CodeHighlighter("default"))


def streamed(text: str, cuts: list[int], group_chars: int = 1500) -> list[Piece]:
    """Feed text in pieces at the given cut points, applying each update the way a view does."""
    stream = StreamingMarkdown(renderer(), group_chars)
    shown: list[Piece] = []
    last = 0
    for cut in [*sorted(set(cuts)), len(text)]:
        stream.feed(text[last:cut])
        last = cut
        update = stream.render()
        if update is not None:
            shown[update.start:] = update.pieces
    stream.close()
    update = stream.render()
    assert update is not None
    shown[update.start:] = update.pieces
    return shown


def at_once(text: str, group_chars: int = 1500) -> list[Piece]:
    return streamed(text, [], group_chars)


@settings(max_examples=60, deadline=None)
@given(
    blocks=st.lists(st.sampled_from(BLOCKS), min_size=1, max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=40),
    group_chars=st.sampled_from([1, 80, 1500]),
)
def test_any_chunking_ends_like_rendering_the_whole_text(blocks, cuts, group_chars) -> None:
    text = "\n".join(blocks)
    assert streamed(text, [c for c in cuts if c < len(text)], group_chars) == at_once(text, group_chars)


def test_prose_html_is_markdown_it_output_of_the_same_blocks() -> None:
    text = "# T\n\nSome *text*.\n\n- a\n- b\n"
    pieces = at_once(text)
    html = "<h1>T</h1><p>Some <em>text</em>.</p><ul><li>a</li><li>b</li></ul>"
    assert pieces == [ProsePiece(html, "h1", "ul")]


def test_top_level_code_becomes_its_own_piece() -> None:
    pieces = at_once("Intro.\n\n```Python title=x\nprint(1)\n```\n\nOutro.\n")
    assert [type(p) for p in pieces] == [ProsePiece, CodePiece, ProsePiece]
    assert pieces[1] == CodePiece("print(1)\n", "python", closed=True)


def test_open_code_block_is_shown_as_it_grows() -> None:
    stream = StreamingMarkdown(renderer())
    stream.feed("```js\nlet a = 1;\nlet b")
    update = stream.render()
    assert update is not None
    assert update.pieces == (CodePiece("let a = 1;\nlet b", "js", closed=False),)


def test_a_half_received_line_never_finishes_the_block_before_it() -> None:
    # "```" might still become "```x`", which is not a fence but more of the paragraph.
    stream = StreamingMarkdown(renderer())
    stream.feed("para\n```")
    first = stream.render()
    stream.feed("x`\n")
    second = stream.render()
    assert first is not None and second is not None
    assert second.start == 0
    assert second.pieces == (ProsePiece("<p>para\n```x`</p>", "p", "p"),)


def test_finished_blocks_are_parsed_once() -> None:
    parsed: list[int] = []
    markdown = renderer()
    original = markdown.parse
    markdown.parse = lambda text, env: parsed.append(len(text)) or original(text, env)  # type: ignore[method-assign]
    stream = StreamingMarkdown(markdown)
    block = "A paragraph of about sixty characters, give or take a few.\n\n"
    for _ in range(300):
        for piece in (block[:20], block[20:]):
            stream.feed(piece)
            stream.render()
    total = len(block) * 300
    assert max(parsed) < 3 * len(block), "each render parses the open blocks only"
    assert sum(parsed) < 6 * total, "work is linear in the text, not quadratic"


def test_updates_start_at_the_open_end() -> None:
    stream = StreamingMarkdown(renderer(), group_chars=100)
    starts = []
    for index in range(50):
        stream.feed(f"Paragraph number {index} with a few words in it.\n\n")
        update = stream.render()
        assert update is not None
        starts.append(update.start)
    assert starts == sorted(starts)
    assert starts[-1] > 10, "finished groups are never sent again"


def test_prose_is_grouped_up_to_the_limit() -> None:
    pieces = at_once("".join(f"Paragraph {i}.\n\n" for i in range(40)), group_chars=100)
    assert len(pieces) > 3
    assert all(isinstance(p, ProsePiece) for p in pieces)
    assert all(len(p.html) < 100 + 40 for p in pieces)


def test_text_is_everything_fed() -> None:
    stream = StreamingMarkdown(renderer())
    for part in ("# Ti", "tle\n\nbody ", "text\n", "```\ncode"):
        stream.feed(part)
        stream.render()
    stream.feed(" more")
    assert stream.text == "# Title\n\nbody text\n```\ncode more"


def test_render_without_new_text_is_none_and_close_finishes_the_tail() -> None:
    stream = StreamingMarkdown(renderer())
    stream.feed("```\nopen")
    assert stream.render() is not None
    assert stream.render() is None
    stream.close()
    update = stream.render()
    assert update is not None and update.pieces == (CodePiece("open", "", closed=True),)
