"""Reading the parts of a ZIP-based file (DOCX) without trusting the archive: a ZIP bomb is refused.

A ZIP's sizes are claims. Three checks, cheapest first, so a hostile file costs little time and memory:

1. The end-of-central-directory record, before `zipfile` parses anything: how many members there are and
   how large their directory is. `zipfile` builds an object per member up front, so a directory of
   millions of empty entries would cost gigabytes by itself.
2. The declared sizes of the parts that will be read: their total uncompressed size and how far each one
   is compressed. A bomb is refused here without inflating a byte.
3. While inflating, in chunks: the bytes that really come out are counted and reading stops at the
   bound, so a header that lies about a size cannot get past; the caller's cancel is checked per chunk.

Every refusal is a `too_large` DocumentError that says what is wrong and what to do, never "damaged".
"""

from __future__ import annotations

import copy
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from app.documents.errors import DocumentError
from app.documents.progress import Reporter
from app.units import format_bytes

# Office files hold tens to a few thousand parts (each picture, chart, header is one).
MAX_MEMBERS = 10_000
# A directory entry is 46 bytes plus its name and extra fields; 10,000 of them fit in far less.
MAX_DIRECTORY_BYTES = 4 << 20
# Word's own XML packs about 5 to 20 to 1, but a generated one can pack far better: python-docx writes
# a 3,000-row table of zeros that packs 178 to 1. Bombs pack up to deflate's limit, near 1,030 to 1.
# This only refuses early what the real count below would stop anyway, so it is set well clear of
# real files. Only parts that expand past RATIO_FLOOR_BYTES are judged.
MAX_RATIO = 500
RATIO_FLOOR_BYTES = 1 << 20
_NO_DECLARED_END = 1 << 62
CHUNK_BYTES = 64 << 10  # inflated per step: the cancel check runs at least this often
_PROGRESS_EVERY_BYTES = 256 << 10  # a progress report per this much XML inflated

_EOCD = b"PK\x05\x06"
_EOCD_BYTES = 22
_MAX_COMMENT = 1 << 16  # where zipfile looks for the record: the last 64 KB and the record itself
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_LOCATOR_BYTES = 20
_ZIP64_EOCD = b"PK\x06\x06"
_ZIP64_EOCD_BYTES = 56

# Failures of a damaged archive (as opposed to a hostile one), as zipfile and zlib raise them.
ZIP_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError,
)

ADVICE = "Save it as PDF or plain text, or split it."


def open_zip(data: bytes, name: str, what: str) -> zipfile.ZipFile:
    """A ZipFile over `data`, once its directory is known to be of a sane size.

    `what` names the format in messages ("Word files"). Raises DocumentError(too_large) for a directory
    too large, and the ZIP_ERRORS of a damaged archive.
    """
    members, directory_bytes = directory_size(data)
    if members > MAX_MEMBERS or directory_bytes > MAX_DIRECTORY_BYTES:
        raise DocumentError(
            "too_large",
            f"{name} holds {members:,} parts ({format_bytes(directory_bytes)} of ZIP directory); Ossian "
            f"reads {what} of up to {MAX_MEMBERS:,} parts, because ZIP bombs hide in huge directories. "
            f"{ADVICE}",
        )
    archive = zipfile.ZipFile(io.BytesIO(data))
    if len(archive.infolist()) > MAX_MEMBERS:  # the record above was wrong: do not go on trusting it
        archive.close()
        raise DocumentError("too_large", f"{name} holds more than {MAX_MEMBERS:,} parts; Ossian reads "
                            f"{what} of up to {MAX_MEMBERS:,} parts. {ADVICE}")
    return archive


def directory_size(data: bytes) -> tuple[int, int]:
    """(members, bytes) the central directory declares, found the way zipfile finds it; (0, 0) if none.

    With no end record zipfile itself refuses the data, cheaply, so there is nothing to bound.
    """
    if len(data) >= _EOCD_BYTES and data[-_EOCD_BYTES:-_EOCD_BYTES + 4] == _EOCD and data[-2:] == b"\0\0":
        end = len(data) - _EOCD_BYTES
    else:
        end = data.rfind(_EOCD, max(0, len(data) - _EOCD_BYTES - _MAX_COMMENT))
    if end < 0 or len(data) - end < _EOCD_BYTES:
        return 0, 0
    members = int.from_bytes(data[end + 10:end + 12], "little")
    directory_bytes = int.from_bytes(data[end + 12:end + 16], "little")
    locator = end - _ZIP64_LOCATOR_BYTES
    record = locator - _ZIP64_EOCD_BYTES
    if record >= 0 and data[locator:locator + 4] == _ZIP64_LOCATOR and data[record:record + 4] == _ZIP64_EOCD:
        # ZIP64: zipfile takes the counts from this record instead (8-byte fields, no 65,535 ceiling).
        members = max(members, int.from_bytes(data[record + 32:record + 40], "little"))
        directory_bytes = max(directory_bytes, int.from_bytes(data[record + 40:record + 48], "little"))
    return members, directory_bytes


@dataclass
class PartReader:
    """Inflates chosen parts of one archive under one budget of real bytes, for one file's extraction.

    `check(parts)` judges the declared sizes before anything is inflated; `chunks(part)` then yields
    the part's bytes, counting them against `max_bytes` whatever the header said.
    """

    archive: zipfile.ZipFile
    name: str
    what: str  # "Word files"
    max_bytes: int
    reporter: Reporter
    declared_total: int = 0
    done: int = 0
    _reported: int = field(default=0, repr=False)

    def check(self, parts: list[zipfile.ZipInfo]) -> None:
        """Refuse, before inflating, parts that declare more than the budget or pack like a bomb."""
        self.declared_total = sum(info.file_size for info in parts)
        if self.declared_total > self.max_bytes:
            raise self.too_large(f"expands to {format_bytes(self.declared_total)}")
        for info in parts:
            if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                ratio = info.file_size // max(info.compress_size, 1)
                raise DocumentError(
                    "too_large",
                    f"{self.name} is packed like a ZIP bomb: {info.filename} expands {ratio:,} times, to "
                    f"{format_bytes(info.file_size)}; Ossian reads {self.what} whose parts expand up to "
                    f"{MAX_RATIO} times (Word's own expand about 10 times). {ADVICE}",
                )

    def chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """The part's inflated bytes in chunks of at most CHUNK_BYTES; cancel and progress per chunk."""
        # zipfile stops at the declared size, so an understated one would end in a CRC error, "damaged".
        # Let it inflate to where the data really ends (it still checks the CRC there): the bytes that
        # come out are what is counted, and refused past the budget.
        unbounded = copy.copy(info)
        unbounded.file_size = _NO_DECLARED_END
        with self.archive.open(unbounded) as stream:
            while True:
                self.reporter.check_cancel()
                # One byte over the budget is enough to know the budget is broken.
                chunk = stream.read(min(CHUNK_BYTES, self.max_bytes - self.done + 1))
                if not chunk:
                    return
                self.done += len(chunk)
                if self.done > self.max_bytes:
                    raise self.too_large("expands to more than " + format_bytes(self.max_bytes))
                self._report()
                yield chunk

    def finish(self) -> None:
        self.reporter.report("extracting", self.done, max(self.done, self.declared_total), "bytes")

    def too_large(self, expands: str) -> DocumentError:
        return DocumentError(
            "too_large",
            f"{self.name} {expands} of text and XML when unpacked; Ossian reads {self.what} that unpack "
            f"to at most {format_bytes(self.max_bytes)}, because ZIP bombs hide gigabytes in small files. "
            f"{ADVICE}",
        )

    def _report(self) -> None:
        if self.done - self._reported >= _PROGRESS_EVERY_BYTES:
            self._reported = self.done
            self.reporter.report("extracting", self.done, max(self.done, self.declared_total), "bytes")
