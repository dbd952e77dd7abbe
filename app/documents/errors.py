"""The errors a document can cause, each with a short message for its chip.

`DocumentError` is the one exception extraction raises for bad input; its `kind` says what class of
problem it is (the UI picks an icon by it) and its `message` is one line a person can act on. Failures
of the libraries below (pypdf, python-docx, the file system) are mapped into it at the boundary, so
callers never see a `PdfReadError` or a `BadZipFile`. Cancelling is not an error of the document and
has its own exception, so a cancelled chip can simply disappear.
"""

from __future__ import annotations

from typing import Literal

from app.errors import OssianError

DocumentErrorKind = Literal[
    "encrypted",    # password-protected PDF or Office file
    "no_text",      # a PDF with no text layer (scanned): OCR is not supported
    "empty",        # the file has no content at all
    "binary",       # binary data in a file whose name says text
    "corrupt",      # a PDF or DOCX that its library cannot parse
    "too_large",    # over the size limit (the message gives the limit and the reason)
    "unsupported",  # a type we do not read (images, archives, old .doc, folders...)
    "vanished",     # moved, deleted or changed while being read
    "unreadable",   # exists but cannot be opened (permissions, a device)
]


class DocumentError(OssianError):
    """A file that cannot be attached; `message` goes on the chip, `detail` into the log."""

    def __init__(self, kind: DocumentErrorKind, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.kind: DocumentErrorKind = kind
        self.message = message
        self.detail = detail

    def __repr__(self) -> str:
        return f"DocumentError({self.kind!r}, {self.message!r})"


class ExtractionCancelled(Exception):
    """The caller's cancel check said stop; nothing was produced."""
