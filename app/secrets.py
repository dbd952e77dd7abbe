"""Secrets by name in the OS keyring (macOS Keychain, Windows Credential Locker, the Secret Service on
Linux): a remote server's API key, an MCP server's token. Where no keyring backend exists (a bare Linux
box, a container) a secret is kept in this process only, and `put` says so, so the user can be told.

Never in the settings file, a log line or an error message: keyring failures are logged by type only.
`keyring` is imported on first use: finding its backends costs 0.1 s the window's first frame does not need.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

log = logging.getLogger(__name__)

KEYRING_SERVICE = "Ossian"


class SecretStore:
    """Secrets by key: the keyring, else this session's memory. Thread-safe."""

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self._service = service
        self._session: dict[str, str] = {}
        self._lock = threading.Lock()

    def put(self, key: str, value: str) -> bool:
        """Keep `value`; True when the OS keyring holds it, False when only this session does."""
        with self._lock:
            self._session[key] = value
        import keyring

        try:
            keyring.set_password(self._service, key, value)
        except Exception as exc:  # no backend, a locked keychain, D-Bus errors
            log.warning("a secret could not be saved in the OS keyring (%s); kept for this session",
                        type(exc).__name__)
            return False
        return True

    def get(self, key: str) -> str | None:
        with self._lock:
            if key in self._session:
                return self._session[key]
        import keyring

        try:
            return keyring.get_password(self._service, key)
        except Exception as exc:
            log.info("no secret from the OS keyring (%s)", type(exc).__name__)
            return None

    def delete(self, keys: Iterable[str]) -> None:
        import keyring

        for key in keys:
            with self._lock:
                self._session.pop(key, None)
            try:
                keyring.delete_password(self._service, key)
            except Exception as exc:  # nothing stored, or no keyring: either way nothing is left
                log.info("no keyring entry removed (%s)", type(exc).__name__)
