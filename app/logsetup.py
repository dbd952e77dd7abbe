"""Logging: a rotating file in the logs folder, mirrored to stderr with `--verbose`.

Anything that looks like a Hugging Face token is masked before it reaches a handler, so a token
passed around in an error message or a URL can never end up in a log file.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 4
_TOKEN_RE = re.compile(r"\bhf_[A-Za-z0-9]{8,}")
_BEARER_RE = re.compile(r"(?i)(authorization:\s*bearer\s+)\S+")


def redact(text: str) -> str:
    text = _TOKEN_RE.sub("hf_***", text)
    return _BEARER_RE.sub(r"\1***", text)


class RedactingFilter(logging.Filter):
    """Masks secrets in the formatted message (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(log_file: Path | None, verbose: bool = False) -> None:
    """Route the `app` loggers to the rotating file (when given) and, if verbose, to stderr."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_ossian", False):
            root.removeHandler(handler)
            handler.close()
    formatter = logging.Formatter(LOG_FORMAT)
    handlers: list[logging.Handler] = []
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.handlers.RotatingFileHandler(
                log_file, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"))
        except OSError as exc:  # a read-only or full disk must not stop the app from starting
            print(f"ossian: cannot write the log file {log_file}: {exc}", file=sys.stderr)
    if verbose:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler._ossian = True  # type: ignore[attr-defined]
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
