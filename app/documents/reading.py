"""Reading a file's bytes safely: size limits first, hashing on the way, and noticing if it vanishes.

The whole file is read into memory (PDF parsing needs random access anyway, and the limits keep this
bounded), in blocks, so the caller gets progress and can cancel a slow read from a network drive. The
file is checked again after the read: if it was deleted, replaced or changed meanwhile, the bytes may
be half of one version and half of another, so the read is refused as `vanished` rather than trusted.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from app.documents.errors import DocumentError
from app.documents.progress import Reporter
from app.units import format_bytes

BLOCK_BYTES = 1 << 20
MIB = 1 << 20


@dataclass(frozen=True)
class SizeLimits:
    """The largest files read. Documents carry images and fonts, so they may be larger than text."""

    max_document_bytes: int = 256 * MIB  # PDF, DOCX
    max_text_bytes: int = 64 * MIB  # text, code, CSV, JSON, HTML
    max_text_chars: int = 64 * MIB  # extracted text, whatever the source
    # What a DOCX may unpack to (the XML parts read, as inflated) and hold: ZIP bombs pack gigabytes and
    # millions of empty paragraphs into a few hundred kilobytes. Word's XML is 10 to 20 times its text,
    # so 64 MB of it is a text of a million words or more; 200,000 paragraphs are 5,000 pages or more.
    max_unpacked_bytes: int = 64 * MIB
    max_paragraphs: int = 200_000  # paragraphs, table rows and cells together


# Why there are limits at all, for the chip: a person should see they are not arbitrary.
DOCUMENT_LIMIT_REASON = "the whole file is read into memory to extract its text"
TEXT_LIMIT_REASON = "the whole text is kept in memory and saved with the conversation"


@dataclass(frozen=True)
class FileIdentity:
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, info: os.stat_result) -> FileIdentity:
        return cls(info.st_size, info.st_mtime_ns, info.st_ino)


@dataclass(frozen=True)
class FileBytes:
    data: bytes
    sha256: str


def stat_file(path: Path) -> os.stat_result:
    """Stat a path the user dropped, mapping every failure to a DocumentError."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise vanished_error("it was moved or deleted", exc) from exc
    except PermissionError as exc:
        raise DocumentError("unreadable", "No permission to read this file.", detail=repr(exc)) from exc
    except OSError as exc:
        raise DocumentError("unreadable", f"The file cannot be read: {exc.strerror or exc}.",
                            detail=repr(exc)) from exc
    if stat.S_ISDIR(info.st_mode):
        raise DocumentError("unsupported", "This is a folder: attach the files inside it instead.")
    if not stat.S_ISREG(info.st_mode):
        raise DocumentError("unsupported", "Only regular files can be attached, not devices or pipes.")
    return info


def read_head(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except FileNotFoundError as exc:
        raise vanished_error("it was moved or deleted", exc) from exc
    except OSError as exc:
        raise _read_error(exc) from exc


def read_all(path: Path, before: os.stat_result, reporter: Reporter) -> FileBytes:
    """All the bytes and their SHA-256, or `vanished` if the file changed under us."""
    expected = FileIdentity.of(before)
    digest = hashlib.sha256()
    blocks: list[bytes] = []
    done = 0
    try:
        with path.open("rb") as handle:
            while True:
                reporter.check_cancel()
                block = handle.read(BLOCK_BYTES)
                if not block:
                    break
                blocks.append(block)
                digest.update(block)
                done += len(block)
                reporter.report("reading", done, expected.size, "bytes")
    except FileNotFoundError as exc:
        raise vanished_error("it was moved or deleted", exc) from exc
    except OSError as exc:
        # A drive unplugged or a network share gone mid-read shows up as EIO/ENXIO/ESTALE.
        if exc.errno in {errno.EIO, errno.ENXIO, errno.ENODEV, getattr(errno, "ESTALE", -1)}:
            raise vanished_error("its drive went away while it was being read", exc) from exc
        raise _read_error(exc) from exc
    try:
        after = FileIdentity.of(path.stat())
    except FileNotFoundError as exc:
        raise vanished_error("it was moved or deleted while being read", exc) from exc
    except OSError as exc:
        raise _read_error(exc) from exc
    if after != expected or done != expected.size:
        raise vanished_error("it changed while being read")
    return FileBytes(b"".join(blocks), digest.hexdigest())


def vanished_error(why: str, exc: BaseException | None = None) -> DocumentError:
    return DocumentError("vanished", f"The file is gone: {why}. Attach it again.",
                         detail=repr(exc) if exc else "")


def _read_error(exc: OSError) -> DocumentError:
    if isinstance(exc, PermissionError):
        return DocumentError("unreadable", "No permission to read this file.", detail=repr(exc))
    return DocumentError("unreadable", f"The file cannot be read: {exc.strerror or exc}.", detail=repr(exc))


def too_large_error(size: int, limit: int, what: str, reason: str) -> DocumentError:
    return DocumentError(
        "too_large",
        f"Too large: {format_bytes(size)}. {what} up to {format_bytes(limit)} can be attached, "
        f"because {reason}.",
    )
