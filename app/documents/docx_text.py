"""Text out of Word (.docx) files: paragraphs and tables in document order, read as a stream.

Structure that helps the model is kept in a light Markdown form: headings become `#` lines, list
paragraphs `- ` items, table rows `a | b | c`. Word files store no page layout (pages are decided when
Word renders), so a DOCX is unpaged: citations use lines.

A DOCX is a ZIP of XML parts, and a hostile one unpacks to gigabytes or millions of empty paragraphs
(issue 14). So no part is ever inflated whole or built into a tree: `zip_parts` inflates
`word/document.xml` in chunks under a byte budget, `xml_stream` parses each chunk as it comes, and this
module keeps only the text. Memory follows the text kept, and the paragraph, text and size limits are
checked as the parse goes, with a cancel check every 64 KB of XML.

The text is what python-docx gives for the same file, by the same rules (`Paragraph.text`: the runs
and hyperlinks directly in a paragraph; body-level paragraphs and tables only; a table row's cells with
a merged cell once), without building its objects: a test holds the two side by side. Malformed XML and
broken ZIP data are `corrupt`; a file past a bound is `too_large`, never "damaged".
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from xml.parsers import expat

from app.documents.errors import DocumentError
from app.documents.progress import Reporter
from app.documents.reading import TEXT_LIMIT_REASON, SizeLimits
from app.documents.text_decode import normalize_text
from app.documents.xml_stream import ROOT, XmlLimitError, grammar, parse
from app.documents.zip_parts import ADVICE, ZIP_ERRORS, PartReader, open_zip
from app.units import format_bytes

log = logging.getLogger(__name__)

WHAT = "Word files"
DOCUMENT_PART = "word/document.xml"
STYLES_PART = "word/styles.xml"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main "  # expat's "uri local" names
_VAL = _W + "val"
_TYPE = _W + "type"
_BLANK_RUN_RE = re.compile(r"\n{3,}")
_HEADING_RE = re.compile(r"^Heading (\d)$")
# python-docx shows these built-in names capitalised (its BabelFish); styles.xml has them in lower case.
_UI_NAMES = {f"heading {n}": f"Heading {n}" for n in range(1, 10)}
_MAX_MARKED_STYLES = 10_000  # a real styles.xml has a few dozen heading and list styles
_PIECES_PER_JOIN = 4096  # text pieces kept before joining, so a run of a million tabs costs no list

# ---------------------------------------------------------------------------------------------------
# roles of the elements read (xml_stream): what an element is follows from its parent's role and its name

(_DOCUMENT, _BODY, _PARAGRAPH, _PARAGRAPH_PROPS, _PARAGRAPH_STYLE, _TABLE, _ROW, _ROW_PROPS, _GRID_BEFORE,
 _CELL, _CELL_PROPS, _GRID_SPAN, _V_MERGE, _CELL_PARAGRAPH, _HYPERLINK, _RUN, _TEXT, _TAB, _BREAK,
 _CARRIAGE_RETURN, _HYPHEN) = range(ROOT + 1, ROOT + 22)

# python-docx's `Run.text` reads these children of a run; `Paragraph.text` the runs directly in the
# paragraph or in its hyperlinks (so not those in w:ins, w:smartTag, w:sdt, w:fldSimple...).
_RUN_CONTENT = {_W + "t": _TEXT, _W + "tab": _TAB, _W + "ptab": _TAB, _W + "br": _BREAK,
                _W + "cr": _CARRIAGE_RETURN, _W + "noBreakHyphen": _HYPHEN}
_PARAGRAPH_CONTENT = {_W + "r": _RUN, _W + "hyperlink": _HYPERLINK}
_BODY_GRAMMAR = grammar({
    ROOT: {_W + "document": _DOCUMENT},
    _DOCUMENT: {_W + "body": _BODY},
    _BODY: {_W + "p": _PARAGRAPH, _W + "tbl": _TABLE},  # body-level only, as python-docx iterates
    _PARAGRAPH: {_W + "pPr": _PARAGRAPH_PROPS, **_PARAGRAPH_CONTENT},
    _PARAGRAPH_PROPS: {_W + "pStyle": _PARAGRAPH_STYLE},
    _TABLE: {_W + "tr": _ROW},
    _ROW: {_W + "trPr": _ROW_PROPS, _W + "tc": _CELL},
    _ROW_PROPS: {_W + "gridBefore": _GRID_BEFORE},
    _CELL: {_W + "tcPr": _CELL_PROPS, _W + "p": _CELL_PARAGRAPH},  # a nested table is not cell text
    _CELL_PROPS: {_W + "gridSpan": _GRID_SPAN, _W + "vMerge": _V_MERGE},
    _CELL_PARAGRAPH: _PARAGRAPH_CONTENT,
    _HYPERLINK: {_W + "r": _RUN},
    _RUN: _RUN_CONTENT,
})

_STYLES, _STYLE, _STYLE_NAME = range(ROOT + 1, ROOT + 4)
_STYLES_GRAMMAR = grammar({
    ROOT: {_W + "styles": _STYLES},
    _STYLES: {_W + "style": _STYLE},
    _STYLE: {_W + "name": _STYLE_NAME},
})


def extract_docx_text(data: bytes, name: str, reporter: Reporter, limits: SizeLimits) -> str:
    """The text of a .docx's bytes. Raises DocumentError (corrupt, too_large...) or ExtractionCancelled."""
    try:
        archive = open_zip(data, name, WHAT)
    except ZIP_ERRORS as exc:
        raise _damaged(name, "it cannot be opened as a .docx", exc) from exc
    with archive:
        document = _part(archive, DOCUMENT_PART)
        if document is None:
            raise DocumentError("corrupt", "Damaged Word file: its main document part is missing.")
        styles = _part(archive, STYLES_PART)
        reader = PartReader(archive, name, WHAT, limits.max_unpacked_bytes, reporter)
        reader.check([document] if styles is None else [styles, document])
        body = _Body(name, limits)
        try:
            if styles is not None:
                body.prefixes = _read_styles(reader.chunks(styles))
            body.parse(reader.chunks(document))
        except XmlLimitError as exc:
            raise DocumentError("too_large", f"{name} {exc.problem}; Ossian reads {WHAT} up to that, "
                                f"because {exc.why}. {ADVICE}") from exc
        except expat.ExpatError as exc:
            raise _damaged(name, "its text is not well-formed XML", exc) from exc
        except ZIP_ERRORS as exc:
            raise _damaged(name, "part of its content cannot be unpacked", exc) from exc
        reader.finish()
    # Empty paragraphs are Word's spacing: keep at most one blank line of it.
    return _BLANK_RUN_RE.sub("\n\n", normalize_text("\n".join(body.lines))).strip("\n")


def _part(archive: zipfile.ZipFile, part: str) -> zipfile.ZipInfo | None:
    try:
        return archive.getinfo(part)
    except KeyError:
        return None


def _damaged(name: str, why: str, exc: BaseException) -> DocumentError:
    log.warning("%s: not a readable .docx: %r", name, exc)
    return DocumentError("corrupt", f"Damaged Word file: {why}.", detail=repr(exc))


# ---------------------------------------------------------------------------------------------------
# styles.xml: which style ids mark headings and list items


def _read_styles(chunks: Iterable[bytes]) -> dict[str, str]:
    """{style id: the Markdown prefix its paragraphs get}, for heading, title and list styles only."""
    prefixes: dict[str, str] = {}
    style: dict[str, str | None] = {}

    def start_style(attrs: dict[str, str]) -> None:
        style.clear()
        style["id"] = attrs.get(_W + "styleId")

    def start_name(attrs: dict[str, str]) -> None:
        style.setdefault("name", attrs.get(_VAL))  # python-docx reads a style's first w:name

    def end_style() -> None:
        style_id = style.get("id")
        if style_id is None:
            return
        prefix = _prefix_for(style.get("name"))
        if prefix is None:
            prefixes.pop(style_id, None)  # a later style of the same id wins, as in python-docx
        elif len(prefixes) < _MAX_MARKED_STYLES or style_id in prefixes:
            prefixes[style_id] = prefix

    parse(chunks, _STYLES_GRAMMAR, {_STYLE: start_style, _STYLE_NAME: start_name}, {_STYLE: end_style})
    return prefixes


def _prefix_for(style_name: str | None) -> str | None:
    if style_name is None:
        return None
    ui_name = _UI_NAMES.get(style_name, style_name)
    heading = _HEADING_RE.match(ui_name)
    if heading:
        return "#" * int(heading.group(1)) + " "
    if ui_name == "Title":
        return "# "
    if ui_name.startswith("List"):
        return "- "
    return None


# ---------------------------------------------------------------------------------------------------
# document.xml: the body's paragraphs and tables, as lines


@dataclass
class _Cell:
    """A table cell as its row shows it: vertically merged cells show the cell they continue."""

    key: int  # the same for a cell and the cells that continue it downwards
    text: str
    span: int  # grid columns; python-docx lists a cell once per column, so a span under 1 hides it


class _Table:
    """The body-level table being read: its current row and cell, and the row above for merged cells."""

    def __init__(self) -> None:
        self.above: dict[int, _Cell] = {}  # the previous row's cells by the grid column they start in
        self.row: dict[int, _Cell] = {}
        self.cells: list[_Cell] = []  # this row's, in order
        self.column = 0  # grid column where the next cell starts
        self.span = 1  # of the cell being read
        self.merge: str | None = None  # its w:vMerge value
        self.paragraphs: list[str] = []  # its paragraphs' text
        self._keys = 0

    def start(self, _attrs: dict[str, str]) -> None:
        self.above = {}

    def start_row(self) -> None:
        self.row, self.cells, self.column = {}, [], 0

    def end_row(self) -> str:
        """'a | b | c': a cell spanning several grid columns, or continuing the one above, shown once."""
        self.above = self.row
        shown: list[str] = []
        previous: int | None = None
        for cell in self.cells:
            if cell.span < 1 or cell.key == previous:
                continue
            previous = cell.key
            shown.append(cell.text)
        return " | ".join(shown)

    def grid_before(self, attrs: dict[str, str]) -> None:
        self.column += _number(attrs.get(_VAL), 0)  # grid columns the row leaves empty

    def start_cell(self) -> None:
        self.span, self.merge, self.paragraphs = 1, None, []

    def grid_span(self, attrs: dict[str, str]) -> None:
        self.span = _number(attrs.get(_VAL), 1)

    def v_merge(self, attrs: dict[str, str]) -> None:
        self.merge = attrs.get(_VAL, "continue")  # an empty <w:vMerge/> continues the cell above

    def end_cell(self) -> None:
        cell = self.above.get(self.column) if self.merge == "continue" else None
        if cell is None:  # its own content (also a "continue" with nothing above: python-docx gave up)
            self._keys += 1
            text = " ".join(word for paragraph in self.paragraphs for word in paragraph.split())
            cell = _Cell(self._keys, text, self.span)
        self.row.setdefault(self.column, cell)  # python-docx finds the first cell starting there
        self.cells.append(cell)
        self.column += self.span


class _Body:
    """Turns document.xml's elements into lines, counting paragraphs and characters against limits."""

    def __init__(self, name: str, limits: SizeLimits) -> None:
        self.lines: list[str] = []
        self.prefixes: dict[str, str] = {}  # by style id, from styles.xml
        self._name = name
        self._limits = limits
        self._blocks = 0
        self._kept = 0  # characters in `lines`, newlines included
        self._pending = 0  # in text read since the last line: the paragraph's, or the row's cells'
        self._pieces: list[str] = []  # of the paragraph being read
        self._joined: list[str] = []  # earlier pieces of it, joined _PIECES_PER_JOIN at a time
        self._style: str | None = None
        self._table = _Table()

    def parse(self, chunks: Iterable[bytes]) -> None:
        table = self._table
        starts = {
            _PARAGRAPH: self._start_paragraph, _CELL_PARAGRAPH: self._start_paragraph,
            _PARAGRAPH_STYLE: self._start_style,
            _TAB: lambda _attrs: self._text("\t"),
            _BREAK: self._start_break,
            _CARRIAGE_RETURN: lambda _attrs: self._text("\n"),
            _HYPHEN: lambda _attrs: self._text("-"),
            _TABLE: table.start, _ROW: self._start_row, _GRID_BEFORE: table.grid_before,
            _CELL: self._start_cell, _GRID_SPAN: table.grid_span, _V_MERGE: table.v_merge,
        }
        ends = {
            _PARAGRAPH: lambda: self._add_line(self._paragraph_line(self._take_text())),
            _CELL_PARAGRAPH: lambda: table.paragraphs.append(self._take_text()),
            _CELL: table.end_cell,
            _ROW: lambda: self._add_line(table.end_row()),
        }
        parse(chunks, _BODY_GRAMMAR, starts, ends, _TEXT, self._text)

    def _start_paragraph(self, _attrs: dict[str, str]) -> None:
        self._count_block()
        self._style = None

    def _start_style(self, attrs: dict[str, str]) -> None:
        if self._style is None:  # python-docx reads the first w:pStyle
            self._style = attrs.get(_VAL)

    def _start_break(self, attrs: dict[str, str]) -> None:
        # A page or column break is not a line break (python-docx reads it as nothing).
        if attrs.get(_TYPE, "textWrapping") == "textWrapping":
            self._text("\n")

    def _start_row(self, _attrs: dict[str, str]) -> None:
        self._count_block()
        self._table.start_row()

    def _start_cell(self, _attrs: dict[str, str]) -> None:
        self._count_block()
        self._table.start_cell()

    def _text(self, piece: str) -> None:
        self._pending += len(piece)
        if self._kept + self._pending > self._limits.max_text_chars:
            raise self._too_much_text()
        self._pieces.append(piece)
        if len(self._pieces) >= _PIECES_PER_JOIN:
            self._joined.append("".join(self._pieces))
            self._pieces.clear()

    def _take_text(self) -> str:
        if self._joined:
            self._pieces[:0] = self._joined
            self._joined.clear()
        text = "".join(self._pieces)
        self._pieces.clear()
        return text

    def _paragraph_line(self, text: str) -> str:
        if not text.strip():
            return ""
        prefix = self.prefixes.get(self._style) if self._style else None
        return prefix + text if prefix else text

    def _add_line(self, line: str) -> None:
        # Counted whole: a row repeats the text of cells merged into it from above, which came once.
        self._kept += len(line) + 1
        self._pending = 0
        if self._kept > self._limits.max_text_chars:
            raise self._too_much_text()
        self.lines.append(line)

    def _count_block(self) -> None:
        self._blocks += 1
        if self._blocks > self._limits.max_paragraphs:
            limit = self._limits.max_paragraphs
            raise DocumentError(
                "too_large",
                f"{self._name} has more than {limit:,} paragraphs and table cells; Ossian reads {WHAT} "
                f"with up to {limit:,}, because ZIP bombs pack millions of empty paragraphs into small "
                f"files. {ADVICE}",
            )

    def _too_much_text(self) -> DocumentError:
        limit = self._limits.max_text_chars
        return DocumentError(
            "too_large",
            f"{self._name} holds more than {format_bytes(limit)} of text; extracted texts up to "
            f"{format_bytes(limit)} can be attached, because {TEXT_LIMIT_REASON}. {ADVICE}",
        )


def _number(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
