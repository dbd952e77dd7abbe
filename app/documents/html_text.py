"""HTML to readable text with the standard library's parser: no scripts, no styles, blocks on lines.

The aim is what a person sees, not the markup: block elements start new lines, headings become `#`
lines, list items `- `, table cells are joined with ` | `, `<pre>` keeps its spacing, everything else
has its whitespace collapsed. Entities are decoded by the parser.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe", "object"})
_BLOCK = frozenset({
    "p", "div", "section", "article", "header", "footer", "main", "nav", "aside", "blockquote",
    "ul", "ol", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "form", "fieldset",
    "figure", "figcaption", "hr", "address", "details", "summary", "caption",
})
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed",
                   "param", "source", "track", "wbr"})
_SPACE_RE = re.compile(r"[ \t\n\r\f\v]+")
_BLANK_RUN_RE = re.compile(r"\n{3,}")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.title: list[str] = []
        self.in_title = False

    def break_line(self, blank: bool = False) -> None:
        line = "".join(self.current).strip() if not self.pre_depth else "".join(self.current)
        if line:
            self.lines.append(line)
        if blank and self.lines and self.lines[-1] != "":
            self.lines.append("")
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
            return
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip_depth += 1
            return
        if self.skip_depth:
            return
        if tag == "br":
            self.break_line()
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.break_line(blank=True)
            self.current.append("#" * int(tag[1]) + " ")
        elif tag == "li":
            self.break_line()
            self.current.append("- ")
        elif tag in {"td", "th"}:
            if self.current and "".join(self.current).strip():
                self.current.append(" | ")
        elif tag == "pre":
            self.break_line(blank=True)
            self.pre_depth += 1
        elif tag in _BLOCK or tag == "p":
            self.break_line(blank=tag == "p")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
            return
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if self.skip_depth:
            return
        if tag == "pre":
            self.break_line(blank=True)  # while still inside: its last line keeps its indentation
            self.pre_depth = max(0, self.pre_depth - 1)
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6", "p"}:
            self.break_line(blank=True)
        elif tag in _BLOCK or tag == "li":
            self.break_line()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
            return
        if self.skip_depth:
            return
        if self.pre_depth:
            for index, part in enumerate(data.split("\n")):
                if index:
                    self.lines.append("".join(self.current))
                    self.current = []
                self.current.append(part)
            return
        collapsed = _SPACE_RE.sub(" ", data)
        if not self.current or "".join(self.current).endswith((" ", "- ", "# ")):
            collapsed = collapsed.lstrip()
        self.current.append(collapsed)


def html_to_text(html: str) -> str:
    """The visible text of an HTML page; the <title> first as a heading when the body has none."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    collector.break_line()
    lines = [line.rstrip() for line in collector.lines]
    text = _BLANK_RUN_RE.sub("\n\n", "\n".join(lines)).strip("\n")
    title = " ".join("".join(collector.title).split())
    if title and not text.startswith("#"):
        text = f"# {title}\n\n{text}" if text else f"# {title}"
    return text
