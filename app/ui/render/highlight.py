"""Code highlighting with pygments, as inline-styled HTML spans, lexed in resumable slices.

Pygments lexes about 7 µs per character of Python on the development machine, so a 40-line block costs
~10 ms: too slow to redo on every frame of a stream, or in one go for a long block. A `HighlightJob`
wraps the lexer's generator, so the caller can advance it a few milliseconds at a time between frames
(see `app.ui.messages.highlighting`), and nothing ever re-lexes on the token path.

Creating a lexer the first time imports its module and compiles its rules: 160 ms for Python, 220 ms
for CSS, measured. `load_lexer` does that on a background thread; until it is done the code shows plain.
"""

from __future__ import annotations

import concurrent.futures
import functools
import html
import sys
import time
from collections.abc import Iterator

from pygments.lexer import Lexer
from pygments.lexers import get_all_lexers, get_lexer_by_name
from pygments.style import StyleMeta
from pygments.styles import get_style_by_name
from pygments.token import _TokenType
from pygments.util import ClassNotFound

# Names models write after ``` that pygments does not know under that name.
_LANGUAGE_ALIASES = {"shell": "bash", "sh": "bash", "zsh": "bash", "console": "console", "ps": "powershell",
                     "js": "javascript", "ts": "typescript", "py": "python", "py3": "python", "c++": "cpp",
                     "objective-c": "objc", "jsonc": "json", "vue": "html", "plaintext": "text"}
LOADING_SWITCH_INTERVAL_S = 0.0005
_lexers: dict[str, Lexer | None] = {}  # written by the loader thread, read anywhere (a dict is atomic)
_loading: dict[str, concurrent.futures.Future[Lexer | None]] = {}
_loader = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lexer-loader")


def language_name(info: str) -> str:
    """The language of a fence info string ("python title=x" -> "python"), lower case; "" if none."""
    return info.strip().split(maxsplit=1)[0].lower() if info.strip() else ""


def _key(language: str) -> str:
    return _LANGUAGE_ALIASES.get(language, language)


@functools.cache
def _known_aliases() -> frozenset[str]:
    # From pygments' name table: no lexer module is imported to answer.
    lexers = get_all_lexers(plugins=False)
    return frozenset(alias for _name, aliases, _files, _mimes in lexers for alias in aliases)


def has_lexer(language: str) -> bool:
    """Whether the language will get colours (answered without loading the lexer)."""
    key = _key(language)
    return key not in ("", "text") and key in _known_aliases()


def _create_lexer(key: str) -> Lexer | None:
    if key in ("", "text"):
        return None
    # Compiling a lexer is pure Python and holds the GIL; the GUI thread, which makes dozens of Python
    # calls a frame, would wait up to a whole switch interval (5 ms) for each (measured: a 61 ms stall
    # while the Python lexer loaded mid-stream, 32 ms at worst with lexers loaded beforehand).
    previous = sys.getswitchinterval()
    sys.setswitchinterval(LOADING_SWITCH_INTERVAL_S)
    try:
        return _compiled_lexer(key)
    finally:
        sys.setswitchinterval(previous)


def _compiled_lexer(key: str) -> Lexer | None:
    try:
        # stripnl/ensurenl off: the lexed text must be exactly the code, so spans line up with it.
        lexer = get_lexer_by_name(key, stripnl=False, ensurenl=False)
        # The rules compile on first use; do that here too, not on the thread that asked.
        for _ in lexer.get_tokens_unprocessed(" "):
            pass
    except ClassNotFound:
        return None
    return lexer


def loaded_lexer(language: str) -> Lexer | None:
    """The lexer if it is loaded already, else None (see load_lexer)."""
    return _lexers.get(_key(language))


def is_lexer_loaded(language: str) -> bool:
    return _key(language) in _lexers or not has_lexer(language)


def load_lexer(language: str) -> concurrent.futures.Future[Lexer | None]:
    """Load the language's lexer on the loader thread (once); the future gives it, or None."""
    key = _key(language)
    if key in _lexers:
        future: concurrent.futures.Future[Lexer | None] = concurrent.futures.Future()
        future.set_result(_lexers[key])
        return future
    if key not in _loading:
        _loading[key] = _loader.submit(lambda: _lexers.setdefault(key, _create_lexer(key)))
    return _loading[key]


def lexer_for(language: str) -> Lexer | None:
    """The lexer, loading it on this thread if need be (tests, tools; never the GUI's token path)."""
    return load_lexer(language).result()


class CodeHighlighter:
    """Pygments token colours of one style, as inline CSS that Qt's rich text understands."""

    def __init__(self, style_name: str) -> None:
        self.style_name = style_name
        self._style: StyleMeta = get_style_by_name(style_name)
        self._css: dict[_TokenType, str] = {}

    def css_for(self, token_type: _TokenType) -> str:
        css = self._css.get(token_type)
        if css is None:
            spec = self._style.style_for_token(token_type)
            parts = []
            if spec["color"]:
                parts.append(f"color:#{spec['color']}")
            if spec["bold"]:
                parts.append("font-weight:bold")
            if spec["italic"]:
                parts.append("font-style:italic")
            css = self._css[token_type] = ";".join(parts)
        return css

    def start(self, code: str, language: str) -> HighlightJob:
        """A job for code in a language whose lexer is loaded (see is_lexer_loaded); plain otherwise."""
        return HighlightJob(self, code, loaded_lexer(language))

    def highlight(self, code: str, language: str) -> str:
        """The whole block at once, loading the lexer if need be (for callers that can wait)."""
        job = HighlightJob(self, code, lexer_for(language))
        job.step(float("inf"))
        return job.html

    def highlight_if_loaded(self, code: str, language: str) -> str:
        """Colours if the lexer is loaded; otherwise plain now, and the lexer loads for next time."""
        if not is_lexer_loaded(language):
            load_lexer(language)
        job = self.start(code, language)
        job.step(float("inf"))
        return job.html


class HighlightJob:
    """Lexes one fixed snapshot of code; `step` advances it for at most a time budget."""

    def __init__(self, highlighter: CodeHighlighter, code: str, lexer: Lexer | None) -> None:
        self.code = code
        self._highlighter = highlighter
        self._tokens: Iterator[tuple[_TokenType, str]] | None = lexer.get_tokens(code) if lexer else None
        self._parts: list[str] = [] if lexer else [html.escape(code, quote=False)]
        self.done = lexer is None
        self.cpu_seconds = 0.0

    def step(self, budget_s: float) -> bool:
        """Lex for about budget_s seconds; True once the whole snapshot is highlighted."""
        if self.done:
            return True
        start = time.perf_counter()
        deadline = start + budget_s
        css_for = self._highlighter.css_for
        parts = self._parts
        assert self._tokens is not None
        for count, (token_type, value) in enumerate(self._tokens, 1):
            text = html.escape(value, quote=False)
            # Whitespace needs no colour; skipping its spans keeps the HTML (and Qt's parse) short.
            css = "" if value.isspace() else css_for(token_type)
            parts.append(f'<span style="{css}">{text}</span>' if css else text)
            # Checking the clock costs about as much as a token; every 32 tokens keeps slices tight.
            if count % 32 == 0 and time.perf_counter() > deadline:
                self.cpu_seconds += time.perf_counter() - start
                return False
        self.done = True
        self._tokens = None
        self.cpu_seconds += time.perf_counter() - start
        return True

    @property
    def html(self) -> str:
        """The highlighted snapshot (only meaningful once done)."""
        return "".join(self._parts)
