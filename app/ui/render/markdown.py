"""markdown-it set up for chat answers, writing the HTML subset that Qt's rich text lays out.

CommonMark with GFM tables and strikethrough. Raw HTML in model output is shown as text (never
interpreted), images become links (the view never fetches anything), and markdown-it's link check
already refuses `javascript:`, `vbscript:`, `file:` and `data:` targets. Code fenced inside other blocks
(a list item) is highlighted here; top-level code blocks become their own widgets (see `stream`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

from app.ui.render.highlight import CodeHighlighter, language_name

# Set in the env while the open tail is rendered: nested code is then escaped, not lexed, because the
# tail is rendered again on every frame and pygments is slow (see highlight.py).
STREAMING_KEY = "ossian_streaming"

# markdown-it ends block tags with "\n"; Qt's rich text turns that whitespace into stray trailing
# spaces. Only tags are matched: any "<" in text or code is escaped by then.
_BLOCK_NEWLINE = re.compile(
    r"(</?(?:p|li|ul|ol|h[1-6]|blockquote|table|thead|tbody|tr|th|td|pre|hr)\b[^>]*>)\n"
)


RenderRule = Callable[[Sequence[Token], int, OptionsDict, Any], str]


def _rule(method: RenderRule) -> Callable[..., str]:
    # markdown-it binds a rule to its own renderer object; this keeps ours bound to MarkdownRenderer.
    def rule(renderer: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any) -> str:
        return method(tokens, idx, options, env)

    return rule


class MarkdownRenderer:
    """Parses Markdown to tokens and renders tokens to HTML, with code highlighted in one style."""

    def __init__(self, highlighter: CodeHighlighter) -> None:
        self.highlighter = highlighter
        md = MarkdownIt("commonmark", {"html": False, "xhtmlOut": False, "breaks": False, "linkify": False})
        md.enable(["table", "strikethrough"])
        md.add_render_rule("fence", _rule(self._render_code))
        md.add_render_rule("code_block", _rule(self._render_code))
        md.add_render_rule("image", _rule(self._render_image))
        md.add_render_rule("table_open", _rule(self._render_table_open))
        md.add_render_rule("th_open", _rule(self._render_cell_open))
        md.add_render_rule("td_open", _rule(self._render_cell_open))
        # Qt draws no left border on a block; a one-cell table with a left border gives the bar.
        md.add_render_rule("blockquote_open", _rule(lambda *_: '<table class="quote" cellspacing="0" '
                                                    'cellpadding="0" border="0"><tr><td class="quote">'))
        md.add_render_rule("blockquote_close", _rule(lambda *_: "</td></tr></table>"))
        self._md = md

    def parse(self, text: str, env: MutableMapping[str, Any]) -> list[Token]:
        return self._md.parse(text, env)

    def render_tokens(self, tokens: Sequence[Token], env: MutableMapping[str, Any]) -> str:
        return _BLOCK_NEWLINE.sub(r"\1", self._md.renderer.render(tokens, self._md.options, env))

    def render(self, text: str) -> str:
        """A whole document at once (history, tests); streaming goes through `stream.StreamingMarkdown`."""
        env: dict[str, Any] = {}
        return self.render_tokens(self.parse(text, env), env)

    def _render_code(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
    ) -> str:
        token = tokens[idx]
        code = token.content.rstrip("\n")
        if env.get(STREAMING_KEY):
            body = html.escape(code, quote=False)
        else:
            # Never waits for a lexer: finished prose renders once, on the GUI thread.
            body = self.highlighter.highlight_if_loaded(code, language_name(token.info))
        # Code inside a list item has no scroll bar of its own: the theme's CSS wraps it (pre-wrap).
        return f'<pre class="code">{body}</pre>'

    def _render_image(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
    ) -> str:
        token = tokens[idx]
        src = html.escape(str(token.attrGet("src") or ""))
        label = html.escape(token.content or "image")
        return f'<a href="{src}">[{label}]</a>'

    def _render_cell_open(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
    ) -> str:
        # Qt drops the stylesheet's cell borders on a cell with a style attribute, which markdown-it
        # uses for column alignment; the old align attribute aligns without that.
        token = tokens[idx]
        style = str(token.attrGet("style") or "")
        align = style.removeprefix("text-align:") if style.startswith("text-align:") else ""
        return f'<{token.tag} align="{align}">' if align else f"<{token.tag}>"

    def _render_table_open(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
    ) -> str:
        # Qt draws cell borders from these attributes; CSS alone does not collapse them.
        return '<table class="md" cellspacing="0" cellpadding="0" border="1">'
