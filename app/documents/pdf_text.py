"""Text out of PDFs with pypdf, page by page, with page numbers kept for citations.

Every pypdf failure is mapped to a DocumentError here: a file pypdf cannot open is `corrupt`, one it
cannot decrypt without a password is `encrypted`, and one whose pages hold no text (scanned images) is
`no_text`. A single unreadable or empty page is a warning, not a failure: the rest is still useful.
A PDF of more than `MAX_PDF_PAGES` pages is `too_large`, and says how many pages it has: the count its
page tree declares is read before the tree is walked (walking 100,000 pages takes pypdf many seconds,
and pypdf itself gives up at 100,000 entries, which must not read as a damaged file).
"""

from __future__ import annotations

import io
import logging
import re

import pypdf
import pypdf.errors
from pypdf import PasswordType
from pypdf.errors import DependencyError, FileNotDecryptedError

from app.documents.errors import DocumentError
from app.documents.progress import Reporter
from app.documents.text_decode import normalize_text

log = logging.getLogger(__name__)

# Every page is extracted (pypdf takes milliseconds each) and its text kept with the conversation; a
# long manual has a few thousand pages.
MAX_PDF_PAGES = 10_000
PAGE_LIMIT_REASON = "every page's text is extracted and kept with the conversation"
# pypdf's own bound on a page tree (pypdf 5 and later): reaching it means "far too many pages".
_PAGE_TREE_LIMIT: tuple[type[Exception], ...] = tuple(
    error for error in (getattr(pypdf.errors, "LimitReachedError", None),) if isinstance(error, type))

NO_TEXT_MESSAGE = "No text found; OCR is not supported. (Scanned PDF? Attach a version with a text layer.)"
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                            "\u00ad": None})
_TRAILING_SPACE_RE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_RUN_RE = re.compile(r"\n{3,}")


def extract_pdf_pages(data: bytes, name: str, reporter: Reporter) -> tuple[list[str], list[str]]:
    """(page texts in page order, warnings)."""
    reader = _open(data, name)
    declared = _declared_page_count(reader)
    if declared is not None and declared > MAX_PDF_PAGES:
        raise _too_many_pages(f"has {declared:,} pages")
    try:
        total = len(reader.pages)
    except _PAGE_TREE_LIMIT as exc:
        log.warning("%s: pypdf stopped walking its page tree: %r", name, exc)
        raise _too_many_pages("has more than 100,000 pages") from exc
    except Exception as exc:  # pypdf raises many types on a broken page tree
        raise _corrupt(name, exc) from exc
    if total > MAX_PDF_PAGES:
        raise _too_many_pages(f"has {total:,} pages")
    if total == 0:
        raise DocumentError("no_text", "The PDF has no pages.")
    texts: list[str] = []
    failed: list[int] = []
    for index in range(total):
        reporter.check_cancel()
        try:
            raw = reader.pages[index].extract_text()
        except FileNotDecryptedError as exc:
            raise _encrypted() from exc
        except Exception as exc:  # one broken content stream must not cost the other pages
            log.warning("%s: page %d could not be read: %r", name, index + 1, exc)
            raw = ""
            failed.append(index + 1)
        texts.append(clean_page_text(raw))
        reporter.report("extracting", index + 1, total, "pages")
    if len(failed) == total:
        raise DocumentError("corrupt", "Damaged PDF: none of its pages could be read.")
    if not any(text.strip() for text in texts):
        raise DocumentError("no_text", NO_TEXT_MESSAGE)
    warnings: list[str] = []
    if failed:
        warnings.append(f"Could not read {_pages_phrase(failed)}.")
    empty = [i + 1 for i, text in enumerate(texts) if not text.strip() and i + 1 not in failed]
    if empty:
        warnings.append(f"No text on {_pages_phrase(empty)} (scanned?); OCR is not supported.")
    return texts, warnings


def clean_page_text(raw: str) -> str:
    text = normalize_text(raw.translate(_LIGATURES))
    text = _TRAILING_SPACE_RE.sub("", text)
    return _BLANK_RUN_RE.sub("\n\n", text).strip("\n")


def _open(data: bytes, name: str) -> pypdf.PdfReader:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
    except Exception as exc:
        raise _corrupt(name, exc) from exc
    if reader.is_encrypted:
        # Many PDFs are encrypted only to carry "no printing" flags, with an empty user password:
        # every viewer opens those without asking, so do we.
        try:
            opened = reader.decrypt("")
        except DependencyError as exc:
            raise DocumentError(
                "encrypted", "Encrypted PDF that needs the 'cryptography' package to open.", detail=repr(exc)
            ) from exc
        except Exception as exc:
            raise _corrupt(name, exc) from exc
        if opened == PasswordType.NOT_DECRYPTED:
            raise _encrypted()
    return reader


def _declared_page_count(reader: pypdf.PdfReader) -> int | None:
    """The /Count of the root of the page tree (cheap: no page is visited); None when it is unusable."""
    try:
        count = reader.root_object["/Pages"]["/Count"]  # type: ignore[index]
    except Exception:  # a broken tree: walking it says what is wrong
        return None
    return int(count) if isinstance(count, int) and count >= 0 else None


def _too_many_pages(has: str) -> DocumentError:
    return DocumentError(
        "too_large",
        f"This PDF {has}; Ossian reads PDFs of up to {MAX_PDF_PAGES:,} pages, because {PAGE_LIMIT_REASON}. "
        "Split it into smaller PDFs (by chapter, say) and attach the parts you need.",
    )


def _encrypted() -> DocumentError:
    return DocumentError(
        "encrypted", "Password-protected PDF: save a copy without the password and attach that."
    )


def _corrupt(name: str, exc: BaseException) -> DocumentError:
    log.warning("%s: pypdf could not open it: %r", name, exc)
    return DocumentError("corrupt", "Damaged PDF: it cannot be opened.", detail=repr(exc))


def _pages_phrase(numbers: list[int]) -> str:
    """'page 4' / 'pages 2-5, 9' from sorted page numbers."""
    ranges: list[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        ranges.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    noun = "page" if len(numbers) == 1 else "pages"
    return f"{noun} {', '.join(ranges)}"
