"""Text out of Word (.docx) files with python-docx: paragraphs and tables in document order.

Structure that helps the model is kept in a light Markdown form: headings become `#` lines, list
paragraphs `- ` items, table rows `a | b | c`. Word files store no page layout (pages are decided when
Word renders), so a DOCX is unpaged: citations use lines. Any python-docx or XML failure is `corrupt`.
"""

from __future__ import annotations

import io
import logging
import re

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from app.documents.errors import DocumentError
from app.documents.progress import Reporter
from app.documents.text_decode import normalize_text

log = logging.getLogger(__name__)

_HEADING_RE = re.compile(r"^Heading (\d)$")
_PROGRESS_EVERY = 200  # blocks between progress reports
_BLANK_RUN_RE = re.compile(r"\n{3,}")


def extract_docx_text(data: bytes, name: str, reporter: Reporter) -> str:
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
        # `Paragraph.style` resolves the style by scanning every style each time (6 ms a paragraph,
        # a minute for a long report): read the paragraph's style id instead and name it from one map.
        style_names = {style.style_id: style.name for style in document.styles}
    except Exception as exc:  # python-docx and lxml raise many types on broken parts
        log.warning("%s: python-docx could not open it: %r", name, exc)
        raise DocumentError("corrupt", "Damaged Word file: it cannot be opened as a .docx.",
                            detail=repr(exc)) from exc
    lines: list[str] = []
    for index, block in enumerate(blocks):
        if index % _PROGRESS_EVERY == 0:
            reporter.check_cancel()
            reporter.report("extracting", index, len(blocks), "paragraphs")
        try:
            if isinstance(block, Paragraph):
                lines.append(_paragraph_text(block, style_names))
            elif isinstance(block, Table):
                lines.extend(_table_lines(block))
        except Exception as exc:
            raise DocumentError("corrupt", "Damaged Word file: part of its content cannot be read.",
                                detail=repr(exc)) from exc
    reporter.report("extracting", len(blocks), len(blocks), "paragraphs")
    # Empty paragraphs are Word's spacing: keep at most one blank line of it.
    return _BLANK_RUN_RE.sub("\n\n", normalize_text("\n".join(lines))).strip("\n")


def _paragraph_text(paragraph: Paragraph, style_names: dict[str, str]) -> str:
    text = paragraph.text
    if not text.strip():
        return ""
    style_id = paragraph._p.style  # the w:pStyle value, None for the default paragraph style
    style = style_names.get(style_id, "") if style_id else ""
    heading = _HEADING_RE.match(style)
    if heading:
        return f"{'#' * int(heading.group(1))} {text}"
    if style == "Title":
        return f"# {text}"
    if style and style.startswith("List"):
        return f"- {text}"
    return text


def _table_lines(table: Table) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            # A merged cell comes back once per grid column it spans; show it once.
            if previous is not None and cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        rows.append(" | ".join(cells))
    return rows
