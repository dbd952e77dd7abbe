"""Citations in answers, `【cursor†L{a}-L{b}】`, named by the file and page they point at, for display.

gpt-oss cites what its browser showed by page cursor and line numbers, which mean nothing to a reader.
The pages are the browser tool's outputs, kept in the conversation as tool messages, so the citations
are resolved from that text alone: the same after a restart as while the answer streams, with nothing
stored besides the conversation. Only what the view shows changes: the model's own text stays as it
was written, because the next prompt must repeat it byte for byte.

In the view a resolved citation becomes `【†report.pdf, p. 3】`, which the Markdown renderer draws as a
small tag (see app/ui/render/markdown.py): the dagger marks it as a citation, so 【】 used as ordinary
brackets, as in Chinese text, stay text. An export writes `[report.pdf, p. 3]`. One that cannot be
resolved (a page from another session, lines the page did not show) is left as the model wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.store import MessageRecord
from app.text_safety import shown_name
from app.tools.document_browser import CITATION_RE

BROWSER_PREFIX = "browser."
_HEADER = re.compile(r"\[(?P<cursor>\d+)\] (?P<title>.*)")
_DOCUMENT_TITLE = re.compile(r"(?P<ref>.+) \(\d+ lines(?:, \d+ pages)?\)")
_NUMBERED = re.compile(r"L(?P<number>\d+): ?(?P<text>.*)")
_PAGE_BREAK = re.compile(r"--- page (?P<page>\d+) ---")
# Result headers on search and find pages: `【0†report.pdf, page 3】`, `# 【0†match at L12†main.py】`.
_SEARCH_HIT = re.compile(r"【\d+†(?P<title>[^】]+)】")
_FIND_HIT = re.compile(r"# 【\d+†match at L\d+†(?P<ref>[^】]+)】")
# How far a marker may run before it is no marker: held back while streaming no longer than this.
MAX_MARKER_CHARS = 48
VIEW_MARKER = "【†{label}】"  # drawn as a tag by the Markdown renderer
EXPORT_MARKER = "[{label}]"  # plain text, for Markdown read elsewhere


@dataclass(frozen=True)
class ShownPage:
    """One browser page as the model saw it: what each numbered line belongs to."""

    document: str | None  # the file, for a window of a document; None for a page of results
    pages: dict[int, int | None] = field(default_factory=dict)  # line number -> the file's page
    sources: dict[int, str] = field(default_factory=dict)  # results page: line number -> its result


def parse_page(text: str) -> tuple[int, ShownPage] | None:
    """A browser tool output as (cursor, page); None for anything else (an error, an empty result)."""
    lines = text.split("\n")
    header = _HEADER.fullmatch(lines[0]) if lines else None
    if header is None:
        return None
    document = _DOCUMENT_TITLE.fullmatch(header["title"])
    page = ShownPage(document["ref"] if document else None)
    current_page: int | None = None
    current_source: str | None = None
    for line in lines[1:]:
        if (numbered := _NUMBERED.fullmatch(line)) is None:
            if (page_break := _PAGE_BREAK.fullmatch(line)) is not None:
                current_page = int(page_break["page"])
            continue
        number, body = int(numbered["number"]), numbered["text"]
        if page.document is not None:
            page.pages[number] = current_page
            continue
        if (hit := _FIND_HIT.fullmatch(body)) is not None:
            current_source = hit["ref"]
        elif (hit := _SEARCH_HIT.fullmatch(body)) is not None:
            current_source = hit["title"]
        if current_source is not None and body.strip():  # blank lines part results; they cite nothing
            page.sources[number] = current_source
    return int(header["cursor"]), page


class CitationResolver:
    """The browser pages of one conversation, fed in order; the latest page wins for a cursor."""

    def __init__(self) -> None:
        self._pages: dict[int, ShownPage] = {}

    def add_tool_output(self, tool_name: str, text: str) -> None:
        if tool_name.startswith(BROWSER_PREFIX) and (parsed := parse_page(text)) is not None:
            cursor, page = parsed
            self._pages[cursor] = page

    def label(self, cursor: int, line_start: int, line_end: int | None = None) -> str | None:
        """What a citation points at, short ("report.pdf, p. 3", "main.py, L4-9"); None if unknown."""
        page = self._pages.get(cursor)
        if page is None:
            return None
        end = line_start if line_end is None else max(line_start, line_end)
        if page.document is None:
            sources = [page.sources[n] for n in range(line_start, end + 1) if n in page.sources]
            return sources[0] if sources else None
        shown = [n for n in range(line_start, end + 1) if n in page.pages]
        if not shown:
            return None
        first, last = page.pages[shown[0]], page.pages[shown[-1]]
        if first is None:
            lines = f"L{line_start}" if end == line_start else f"L{line_start}-{end}"
            return f"{page.document}, {lines}"
        if last is not None and last != first:
            return f"{page.document}, pp. {first}-{last}"
        return f"{page.document}, p. {first}"

    def display(self, text: str, marker: str = VIEW_MARKER) -> str:
        """The text with each resolvable citation replaced by `marker` around its label."""
        def replace(match: re.Match[str]) -> str:
            end = match["end"]
            label = self.label(int(match["cursor"]), int(match["start"]), int(end) if end else None)
            if label is None:
                return match[0]
            # A file name is outside text: its bidirectional controls are shown, never obeyed.
            return marker.format(label=shown_name(label).replace("】", "]"))

        return CITATION_RE.sub(replace, text) if "【" in text else text


@dataclass
class CitationStream:
    """`CitationResolver.display` over a streamed answer: a marker split across deltas is held back
    until it closes (or grows too long to be one), so the view never shows half a citation."""

    resolver: CitationResolver
    _held: str = ""

    def feed(self, delta: str) -> str:
        text = self._held + delta
        start = text.rfind("【")
        if start != -1 and "】" not in text[start:] and len(text) - start < MAX_MARKER_CHARS:
            self._held = text[start:]
            text = text[:start]
        else:
            self._held = ""
        return self.resolver.display(text)

    def finish(self) -> str:
        """Whatever is still held, at the end of the answer."""
        text, self._held = self._held, ""
        return self.resolver.display(text)


def named_answer_texts(messages: Sequence[MessageRecord]) -> dict[int, str]:
    """Stored answers whose citations can be named, as message id -> text to show (exports use it)."""
    resolver = CitationResolver()
    shown: dict[int, str] = {}
    for message in messages:
        if message.role == "tool" and message.name:
            resolver.add_tool_output(message.name, message.content)
        elif message.role == "assistant" and message.recipient is None and "【" in message.content:
            text = resolver.display(message.content, EXPORT_MARKER)
            if text != message.content:
                shown[message.id] = text
    return shown
