"""The models room's errors: each one says what went wrong and what the user can do about it.

Everything the room raises for a reason outside our code (the network, the Hub, the disk, a file the
user picked) is a `ModelsError`; its text is written for the user and shown as it is by the CLI and
the UI. Errors of the libraries below (huggingface_hub, OSError, the GGUF reader) are mapped into the
most specific class here at the room's boundary, so callers never need to know those libraries.
"""

from __future__ import annotations

from pathlib import Path

from app.errors import OssianError


class ModelsError(OssianError):
    """A failure the user can act on; `str(error)` is the whole message."""


class NetworkDisabled(ModelsError):
    """The user (or the environment) switched the network off; nothing was sent."""


class HubUnreachable(ModelsError):
    """The Hub (or the mirror in use) could not be reached, or the connection broke too often."""


class HubAccessDenied(ModelsError):
    """The Hub refused: a gated or private repository without a (valid) token."""

    def __init__(self, message: str, repo: str, gated: bool) -> None:
        super().__init__(message)
        self.repo = repo
        self.gated = gated


class HubNotFound(ModelsError):
    """The repository, revision or file does not exist on the Hub."""


class FileSelectionError(ModelsError):
    """A file pattern matched no model, or more than one, in a repository."""


class NotEnoughDisk(ModelsError):
    """The models folder has too little free space for what is left to download."""

    def __init__(self, message: str, needed: int, free: int, folder: Path) -> None:
        super().__init__(message)
        self.needed = needed
        self.free = free
        self.folder = folder


class IntegrityError(ModelsError):
    """A downloaded file did not match the Hub's hash; the file has been deleted."""

    def __init__(self, message: str, file: str, expected: str, actual: str) -> None:
        super().__init__(message)
        self.file = file
        self.expected = expected
        self.actual = actual


class NotUsable(ModelsError):
    """A GGUF file that Ossian cannot run: broken, incomplete, or not a gpt-oss model.

    When the header check refused the file, `problem` is the planner's kind of problem ("damaged",
    "wrong_architecture", ...) and `reason` says what is wrong without the advice that ends the message
    (a downloaded file that matched the Hub's hash must not be told to "download it again").
    """

    def __init__(self, message: str, reason: str | None = None, problem: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message
        self.problem = problem


class CatalogError(ModelsError):
    """The bundled model catalog is missing or damaged."""


class UnknownModel(ModelsError):
    """A name that is neither in the catalog, nor installed, nor a Hub repository id."""


class TokenError(ModelsError):
    """A Hub token that cannot be used (empty, with spaces, ...)."""
