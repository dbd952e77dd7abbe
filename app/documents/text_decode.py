"""Bytes to text: pick the encoding, refuse binary data, normalise line ends and control characters.

UTF-8 (with or without BOM) and BOM-marked UTF-16/32 are decoded as such. Anything else that is not
valid UTF-8 but looks like text is read as Windows-1252 (what most legacy Western files are), with a
warning, rather than refused. Binary data (NUL bytes, or many control characters) is refused: feeding
it to the model wastes the context and helps nobody.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from app.documents.errors import DocumentError

# Control characters other than tab, newline and carriage return: they mean nothing to the model and
# some (e.g. ESC) break terminals and loggers. Form feed separates pages in some text dumps: keep it as
# a newline instead.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\u200b\ufeff\ufffe]")
_DELETED_BYTES = bytes([*range(0, 9), 0x0B, *range(0x0E, 0x20), 0x7F])
_INVISIBLE = ("\u200b", "\ufeff", "\ufffe")  # zero-width space, stray byte-order marks
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Share of control bytes above which data counts as binary; a handful (a stray BEL) never does.
_BINARY_CONTROL_SHARE = 0.01
_BINARY_CONTROL_MIN = 4
# ESC is left out: coloured logs are full of it and are still text.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))
_SAMPLE_BYTES = 65536


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


def decode_text(data: bytes, name: str) -> DecodedText:
    """Decode a text file's bytes, or raise DocumentError('binary')."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return DecodedText(normalize_text(data[len(bom):].decode(encoding)), encoding)
            except UnicodeDecodeError as exc:
                raise _binary(name, f"invalid {encoding} after its byte-order mark") from exc
    if b"\x00" in data[:_SAMPLE_BYTES]:
        raise _binary(name, "NUL bytes")
    if _mostly_controls(data[:_SAMPLE_BYTES]):
        raise _binary(name, "control characters")
    # In UTF-8 and the Windows code pages a control character is always one byte of its own, so they
    # can go before decoding, at bytes.translate speed (a regex over the text is ten times slower).
    cleaned = data.translate(None, _DELETED_BYTES)
    try:
        return DecodedText(_finish_lines(cleaned.decode("utf-8")), "utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise _binary(name, "not valid UTF-8 and holds NUL bytes")
    # Windows-1252 leaves five bytes undefined; latin-1 maps every byte, so nothing is lost.
    try:
        text, encoding = cleaned.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, encoding = cleaned.decode("latin-1"), "latin-1"
    warning = f"Not UTF-8: read as {'Windows-1252' if encoding == 'cp1252' else 'Latin-1'}."
    return DecodedText(_finish_lines(text), encoding, (warning,))


def normalize_text(text: str) -> str:
    """'\\n' line ends, no control characters but tab; content otherwise untouched."""
    return _finish_lines(_CONTROL_RE.sub("", text.replace("\r\n", "\n")))


def _finish_lines(text: str) -> str:
    """Line ends to '\\n', form feeds to newlines, invisible marks out (control bytes already gone)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\f" in text:
        text = text.replace("\f", "\n")
    for mark in _INVISIBLE:
        if mark in text:
            text = text.replace(mark, "")
    return text


def _mostly_controls(sample: bytes) -> bool:
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls >= _BINARY_CONTROL_MIN and controls > _BINARY_CONTROL_SHARE * len(sample)


def _binary(name: str, why: str) -> DocumentError:
    return DocumentError(
        "binary", "Not text: the file holds binary data. Attach a text, PDF or Word file instead.",
        detail=f"{name}: {why}",
    )
