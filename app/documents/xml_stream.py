"""Parsing one XML part of an Office file as a stream, with expat, safely: no tree, no DTD, bounded work.

The parser is fed the part's bytes as they are inflated and calls back per element, so memory holds only
what the caller keeps. What it refuses, and why:

- a DTD: Word never writes one (OOXML forbids them), and a DTD is how entity bombs ("billion laughs")
  and external entities (reading local files, XXE) get in;
- nesting deeper than MAX_DEPTH: lxml, and so python-docx, stopped there too, and expat keeps every open
  element;
- a single tag, comment or name longer than MAX_TOKEN_BYTES: expat holds a token whole, and a start
  tag of millions of attributes would become one Python dict of millions of entries;
- more than MAX_TAGS tags: every element costs a Python call (about a microsecond; expat has no filter),
  so a bomb of millions of tiny elements within the byte budget would still cost a minute. The tags are
  counted in C, per chunk, before expat sees it.

Callers give each element a *role* from its parent's role and its name (a `Grammar`), and hook the
roles they care about; the common case, an element inside a subtree the caller ignores, is kept to one
failed dict look-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from xml.parsers import expat

from app.documents.errors import DocumentError
from app.units import format_bytes

MAX_DEPTH = 256  # libxml2's limit without XML_PARSE_HUGE, the one python-docx lived under
MAX_TOKEN_BYTES = 4 << 20
# Word writes 20 to 40 bytes of XML per tag, so this is about what the 64 MB a DOCX may unpack to
# (SizeLimits) holds: several thousand pages, and two to five seconds of parsing.
MAX_TAGS = 2_000_000

IGNORED = 0  # the role of an element whose subtree does not matter
ROOT = 1  # the role above the root element

# By role, the roles its children get by name ("namespace-uri local-name"); IGNORED when not named.
Grammar = Sequence[Mapping[str, int]]
StartHook = Callable[[dict[str, str]], None]
EndHook = Callable[[], None]
TextHook = Callable[[str], None]


def grammar(rules: Mapping[int, Mapping[str, int]]) -> Grammar:
    """A Grammar from {parent role: {child name: child role}}; roles not listed have no named children."""
    size = max([ROOT, *rules, *(role for children in rules.values() for role in children.values())]) + 1
    return tuple(dict(rules.get(role, {})) for role in range(size))


class XmlLimitError(Exception):
    """The part breaks one of this module's bounds: `problem` says how and `why` why there is a bound,
    both for the caller's message ("report.docx {problem}; ... because {why}")."""

    def __init__(self, problem: str, why: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.why = why


def parse(
    chunks: Iterable[bytes],
    grammar: Grammar,
    on_start: Mapping[int, StartHook],
    on_end: Mapping[int, EndHook],
    text_role: int = IGNORED,
    on_text: TextHook | None = None,
) -> None:
    """Feed `chunks` through expat: `on_start[role](attrs)` and `on_end[role]()` per hooked element, and
    `on_text(data)` for the character data directly inside `text_role` elements.

    Raises expat.ExpatError for malformed XML, DocumentError for a DTD, XmlLimitError past a bound, and
    whatever the hooks raise.
    """
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse_dtd
    _set_handlers(parser, grammar, on_start, on_end, text_role, on_text)
    parser.buffer_text = True  # text in pieces of at most 8 KB, not one callback per line
    fed = tags = 0
    for chunk in chunks:
        tags += chunk.count(b"<")  # start, end and empty tags, comments: an upper bound on the callbacks
        if tags > MAX_TAGS:
            raise XmlLimitError(f"holds more than {MAX_TAGS:,} XML tags",
                                "each takes time to read and XML bombs hold millions")
        parser.Parse(chunk, False)
        fed += len(chunk)
        # Expat has consumed the input up to the token it is still collecting.
        if fed - parser.CurrentByteIndex > MAX_TOKEN_BYTES:
            raise XmlLimitError(f"holds an XML tag or comment longer than {format_bytes(MAX_TOKEN_BYTES)}",
                                "a tag is read whole into memory")
    parser.Parse(b"", True)


def _set_handlers(
    parser: expat.XMLParserType,
    grammar: Grammar,
    on_start: Mapping[int, StartHook],
    on_end: Mapping[int, EndHook],
    text_role: int,
    on_text: TextHook | None,
) -> None:
    # Closures over locals, lists indexed by role: these run once per element, millions of times.
    starts: list[StartHook | None] = [on_start.get(role) for role in range(len(grammar))]
    ends: list[EndHook | None] = [on_end.get(role) for role in range(len(grammar))]
    stack = [ROOT]
    push = stack.append
    pop = stack.pop

    def start(name: str, attrs: dict[str, str]) -> None:
        role = grammar[stack[-1]].get(name, IGNORED)
        push(role)
        if len(stack) > MAX_DEPTH:
            raise XmlLimitError(f"nests its XML more than {MAX_DEPTH} levels deep",
                                "every open level is kept in memory")
        if role:
            hook = starts[role]
            if hook is not None:
                hook(attrs)

    def end(_name: str) -> None:
        role = pop()
        if role:
            hook = ends[role]
            if hook is not None:
                hook()

    def text(data: str) -> None:
        if stack[-1] == text_role:
            on_text(data)  # type: ignore[misc]  # set whenever text_role is

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    if on_text is not None:
        parser.CharacterDataHandler = text


def _refuse_dtd(*_args: object) -> None:
    raise DocumentError(
        "unsupported",
        "This file's XML declares a DTD, which Office files never contain and XML bombs use; it is refused "
        "for safety. Open it in Word, save it again, and attach the new copy.",
    )
