"""markdown-it set up for chat answers, writing the HTML subset that Qt's rich text lays out.

CommonMark with GFM tables and strikethrough. Raw HTML in model output is shown as text (never
interpreted), images become links (the view never fetches anything), and markdown-it's link check
already refuses `javascript:`, `vbscript:`, `file:` and `data:` targets. Code fenced inside other blocks
(a list item) is highlighted here; top-level code blocks become their own widgets (see `stream`).
Citation markers, `【†report.pdf, p. 3】` (named by app/chat/citations.py) or a raw `【3†L10-L20】`, are
drawn as small tags, never as the bracket soup the model writes; 【】 without a dagger are brackets.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from app.ui.render.highlight import CodeHighlighter, language_name

# markdown-it is imported with the first parse, not with this module (its parser is built then too): the
# window builds a renderer before its first frame, which parses no Markdown (50 ms on the development
# machine).
if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_core import StateCore
    from markdown_it.token import Token
    from markdown_it.utils import OptionsDict

# Set in the env while the open tail is rendered: nested code is then escaped, not lexed, because the
# tail is rendered again on every frame and pygments is slow (see highlight.py).
STREAMING_KEY = "ossian_streaming"

# markdown-it ends block tags with "\n"; Qt's rich text turns that whitespace into stray trailing
# spaces. Only tags are matched: any "<" in text or code is escaped by then.
_BLOCK_NEWLINE = re.compile(
    r"(</?(?:p|li|ul|ol|h[1-6]|blockquote|table|thead|tbody|tr|th|td|pre|hr)\b[^>]*>)\n"
)


# A marker on one line with a dagger, at most this long; anything else in 【】 is left as text.
_CITATION = re.compile(r"【([^【】\n†]{0,60}†[^【】\n]{0,120})】")
_RAW_CITATION = re.compile(r"\d+†L\d+(?:-L\d+)?")


def citation_label(marker: str) -> str:
    """What a citation tag says: a named marker's label, a raw link's title, "source" for raw lines."""
    if _RAW_CITATION.fullmatch(marker):
        return "source"
    return marker.rsplit("†", 1)[-1].strip() or "source"


def _split_citations(state: StateCore) -> None:
    """Core rule: text tokens holding `【…】` become text, citation, text (code spans are not text)."""
    from markdown_it.token import Token  # imported by the parse that runs this rule (see the imports)

    for block in state.tokens:
        if block.type != "inline" or not block.children or "【" not in block.content:
            continue
        children: list[Token] = []
        for child in block.children:
            if child.type != "text" or "【" not in child.content:
                children.append(child)
                continue
            position = 0
            for match in _CITATION.finditer(child.content):
                if match.start() > position:
                    children.append(Token("text", "", 0, content=child.content[position:match.start()]))
                children.append(Token("citation", "", 0, content=match[1]))
                position = match.end()
            if position < len(child.content):
                children.append(Token("text", "", 0, content=child.content[position:]))
        block.children = children


RenderRule = Callable[[Sequence["Token"], int, "OptionsDict", Any], str]


def _rule(method: RenderRule) -> Callable[..., str]:
    # markdown-it binds a rule to its own renderer object; this keeps ours bound to MarkdownRenderer.
    def rule(renderer: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any) -> str:
        return method(tokens, idx, options, env)

    return rule


class MarkdownRenderer:
    """Parses Markdown to tokens and renders tokens to HTML, with code highlighted in one style."""

    def __init__(self, highlighter: CodeHighlighter) -> None:
        self.highlighter = highlighter

    @functools.cached_property
    def _md(self) -> MarkdownIt:
        """The parser and its render rules, built on first use (see the imports above)."""
        from markdown_it import MarkdownIt

        md = MarkdownIt("commonmark", {"html": False, "xhtmlOut": False, "breaks": False, "linkify": False})
        md.enable(["table", "strikethrough"])
        md.core.ruler.push("citations", _split_citations)
        md.add_render_rule("citation", _rule(self._render_citation))
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
        return md

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

    def _render_citation(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
    ) -> str:
        # Thin spaces pad the tag (Qt's rich text has no padding on inline elements); no-break spaces
        # keep it on one line.
        label = html.escape(citation_label(tokens[idx].content), quote=False).replace(" ", "\u00a0")
        return f'<span class="cite">\u2009{label}\u2009</span>'

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
