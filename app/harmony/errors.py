"""The errors the Harmony room raises: one base class, split by what went wrong.

`HarmonyFormatError` means the input could not be rendered or read (a bad message, case or JSON shape);
`HarmonyParseError` means strict parsing met model output that breaks the grammar. Non-strict parsing
never raises for any output.
"""

from __future__ import annotations

from app.errors import OssianError


class HarmonyError(OssianError):
    """Base class of every error raised by `app.harmony`."""


class HarmonyFormatError(HarmonyError, ValueError):
    """A message, conversation or JSON document that cannot be rendered as Harmony; says what to fix."""


class HarmonyParseError(HarmonyError):
    """Strict parsing met output that breaks the Harmony grammar (non-strict mode recovers instead)."""
