"""The chat room's errors: one base, `ChatError`, for an action the open conversation cannot take now.

Errors of the rooms below (the store, the engine, the tools) reach the caller as they are: each already
says what went wrong. So the window catches `app.errors.OssianError` once, for any of them.
"""

from __future__ import annotations

from app.errors import OssianError


class ChatError(OssianError):
    """A session action refused; the message says why and what to do instead."""


class ChatBusy(ChatError):
    """An action that makes the model write came while a turn is still running."""


class NothingToDo(ChatError):
    """The action does not apply (nothing to regenerate, no interrupted answer to continue)."""
