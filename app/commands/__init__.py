"""The `ossian` subcommands, one module each; each exposes `register(subparsers)`.

Commands are thin: they parse arguments, call the rooms that do the work and print. They report
failures by raising `CommandError` (the user can act on it: exit 1) or `UsageError` (exit 2); a room's
error (any `OssianError`) that a command does not word itself reaches `app.cli` as it is, and is
printed the same way as a `CommandError`.
"""

from app.errors import OssianError


class UsageError(OssianError):
    """Wrong input on the command line: printed as `ossian: error: ...`, exit status 2."""


class CommandError(OssianError):
    """A command could not do its job for a reason the user can act on: printed, exit status 1."""
