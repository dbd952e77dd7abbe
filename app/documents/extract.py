"""`extract(path)`: any supported file to an ExtractedDocument, or a DocumentError saying why not.

The order of checks is chosen so the cheap refusals come first: the path (gone, a folder), then the
first bytes (what it is, so which size limit applies), then the size, and only then the whole read and
the parse. Safe to call from any thread: no shared state, and progress and cancel are the caller's
callables.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from app.documents.detect import HEAD_BYTES, SUPPORTED_TYPES, TEXT_EXTENSIONS, Detected, detect, sniff
from app.documents.document import ExtractedDocument, PageSpan, spans_for_pages
from app.documents.docx_text import extract_docx_text
from app.documents.errors import DocumentError
from app.documents.html_text import html_to_text
from app.documents.progress import CancelCheck, ProgressCallback, Reporter
from app.documents.reading import (
    DOCUMENT_LIMIT_REASON,
    TEXT_LIMIT_REASON,
    SizeLimits,
    read_all,
    read_head,
    stat_file,
    too_large_error,
)
from app.documents.text_decode import decode_text

log = logging.getLogger(__name__)

DEFAULT_LIMITS = SizeLimits()


def extract(
    path: str | os.PathLike[str],
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    limits: SizeLimits = DEFAULT_LIMITS,
) -> ExtractedDocument:
    """Read and extract one file. Raises DocumentError (bad input) or ExtractionCancelled.

    `progress` is called with an ExtractionProgress per mebibyte read and per page (PDF) or mebibyte
    of XML (DOCX) extracted; `cancel` is polled as often (DOCX: every 64 KB of XML) and stops the work
    when it returns True. `limits` caps the file size (by kind), what a DOCX unpacks to and the
    extracted text.
    """
    path = Path(path)
    reporter = Reporter(progress, cancel)
    info = stat_file(path)
    if info.st_size == 0:
        raise DocumentError("empty", "The file is empty.")
    container = sniff(read_head(path, HEAD_BYTES))
    if container.family in {"pdf", "zip", "ole"}:
        if info.st_size > limits.max_document_bytes:
            raise too_large_error(info.st_size, limits.max_document_bytes, "PDF and Word files",
                                  DOCUMENT_LIMIT_REASON)
    elif info.st_size > limits.max_text_bytes:
        raise too_large_error(info.st_size, limits.max_text_bytes, "Text files", TEXT_LIMIT_REASON)
    content = read_all(path, info, reporter)
    detected = detect(path.name, content.data)
    text, pages, paged, warnings = _extract_text(path.name, detected, content.data, reporter, limits)
    if not text.strip():
        raise DocumentError("empty", "The file holds only white space: there is no text to attach.")
    if len(text) > limits.max_text_chars:
        raise too_large_error(len(text), limits.max_text_chars, "Extracted texts", TEXT_LIMIT_REASON)
    document = ExtractedDocument(
        name=path.name,
        kind=detected.kind,
        sha256=content.sha256,
        size_bytes=len(content.data),
        text=text,
        pages=pages,
        paged=paged,
        language=detected.language,
        warnings=tuple(warnings),
    )
    log.info("extracted %s: %s, %d chars, %d pages", path.name, document.type_label, len(text), len(pages))
    return document


def _extract_text(
    name: str, detected: Detected, data: bytes, reporter: Reporter, limits: SizeLimits
) -> tuple[str, tuple[PageSpan, ...], bool, list[str]]:
    """(text, page spans, paged, warnings) for a detected kind."""
    if detected.kind == "pdf":
        # pypdf (with PIL and fontTools, 0.25 s) is imported with the first PDF, not with this module: the
        # window imports this room on its way to the first frame.
        from app.documents.pdf_text import extract_pdf_pages

        page_texts, warnings = extract_pdf_pages(data, name, reporter)
        text, spans = spans_for_pages(page_texts)
        return text, spans, True, warnings
    if detected.kind == "docx":
        text = extract_docx_text(data, name, reporter, limits)
        return text, (PageSpan(1, 0, len(text)),), False, []
    warnings: list[str] = []
    extension = Path(name).suffix.lower()
    try:
        decoded = decode_text(data, name)
    except DocumentError as exc:
        if extension in {".pdf", ".docx"}:
            raise DocumentError("corrupt", f"Damaged file: it is not a valid {extension[1:].upper()}.",
                                detail=exc.detail) from exc
        if extension and extension not in TEXT_EXTENSIONS:
            # Binary under a name that promised nothing: an unknown type, not a broken text file.
            raise DocumentError("unsupported", f"Unsupported file type ({extension}). "
                                f"Supported: {SUPPORTED_TYPES}.", detail=exc.detail) from exc
        raise
    warnings.extend(decoded.warnings)
    if extension in {".pdf", ".docx"}:
        warnings.append(f"Not a real {extension[1:].upper()}: the file holds plain text, attached as text.")
    text = decoded.text
    if detected.kind == "html":
        text = html_to_text(text)
    elif detected.kind == "json" and extension == ".json":
        try:
            json.loads(text)
        except ValueError:
            warnings.append("Not valid JSON: attached as plain text.")
    reporter.report("extracting", len(text), len(text), "chars")
    return text, (PageSpan(1, 0, len(text)),), False, warnings
