"""The Hugging Face token (for gated or private repositories): kept in the OS keyring, nowhere else.

A token is saved with `keyring` (macOS Keychain, Windows Credential Locker, the Secret Service on
Linux). Where no keyring backend exists (a bare Linux box, a container), the token is kept in this
process only, for the session, and `set()` says so in its result so the user can be told it was not
saved. It never goes to the settings file, and never into a log or an error message: keyring failures
are logged by type only. `HF_TOKEN` in the environment is honoured last, for command-line use.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from app.models.errors import TokenError

# `keyring` is imported where the token is read, saved or removed, not with this module: it finds its
# backends through the installed packages' entry points (0.1 s), and the window imports this module on its
# way to the first frame, where no token is needed.

log = logging.getLogger(__name__)

KEYRING_SERVICE = "Ossian"
KEYRING_USER = "huggingface-hub-token"
TokenSource = Literal["session", "keyring", "environment"]


@dataclass(frozen=True)
class TokenSaveResult:
    """Where a token went: `saved` is True only when the OS keyring holds it now."""

    saved: bool
    message: str


def check_token(token: str) -> str:
    """The token without surrounding spaces; a `TokenError` for what cannot be a token."""
    cleaned = token.strip()
    if not cleaned:
        raise TokenError("The token is empty. Copy it from https://huggingface.co/settings/tokens.")
    if any(ch.isspace() for ch in cleaned) or not cleaned.isascii() or not cleaned.isprintable():
        raise TokenError("That is not a Hugging Face token: tokens are one word of letters and digits "
                         "(they start with 'hf_'). Copy it again from https://huggingface.co/settings/tokens.")
    return cleaned


class TokenStore:
    """The token for Hub requests: session value, else the keyring, else `HF_TOKEN`. Thread-safe."""

    def __init__(self, service: str = KEYRING_SERVICE, environ: Mapping[str, str] | None = None) -> None:
        self._service = service
        self._environ = environ
        self._session_token: str | None = None
        self._lock = threading.Lock()

    def set(self, token: str) -> TokenSaveResult:
        token = check_token(token)
        with self._lock:
            self._session_token = token
        import keyring  # on first use (see the imports above)

        try:
            keyring.set_password(self._service, KEYRING_USER, token)
        except Exception as exc:  # any backend failure: NoKeyringError, D-Bus errors, a locked keychain
            log.warning("the token could not be saved in the OS keyring (%s); keeping it for this session",
                        type(exc).__name__)
            return TokenSaveResult(False, "There is no usable keyring on this system, so the token was not "
                                          "saved: it is used until Ossian closes and must be entered again "
                                          "next time.")
        return TokenSaveResult(True, "The token was saved in the system keyring.")

    def get(self) -> str | None:
        token, _source = self.lookup()
        return token

    def lookup(self) -> tuple[str | None, TokenSource | None]:
        with self._lock:
            if self._session_token:
                return self._session_token, "session"
        import keyring  # on first use (see the imports above)

        try:
            stored = keyring.get_password(self._service, KEYRING_USER)
        except Exception as exc:
            log.info("no token from the OS keyring (%s)", type(exc).__name__)
            stored = None
        if stored:
            return stored, "keyring"
        env = os.environ if self._environ is None else self._environ
        from_env = (env.get("HF_TOKEN") or "").strip()
        if from_env:
            return from_env, "environment"
        return None, None

    def clear(self) -> None:
        """Forget the session token and delete the keyring entry (if any)."""
        with self._lock:
            self._session_token = None
        import keyring  # on first use (see the imports above)

        try:
            keyring.delete_password(self._service, KEYRING_USER)
        except Exception as exc:  # nothing stored, or no keyring: either way nothing is left
            log.info("no keyring entry removed (%s)", type(exc).__name__)
