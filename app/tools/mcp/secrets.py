"""An MCP server's secrets (a bearer token, environment variables that look like keys) in the OS keyring.

The same rule as the Hub token (app/models/tokens.py): `keyring` holds them (Keychain, Credential
Locker, the Secret Service); where no keyring exists they are kept for this process only and `put`
says so. Never in the server list, a log line or an error message: keyring failures are logged by
type only. One keyring entry per secret, named `mcp/<server>/token` or `mcp/<server>/env/<NAME>`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

log = logging.getLogger(__name__)

KEYRING_SERVICE = "Ossian"


def token_key(server: str) -> str:
    return f"mcp/{server}/token"


def env_key(server: str, variable: str) -> str:
    return f"mcp/{server}/env/{variable}"


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
        import keyring  # on first use: finding its backends costs 0.1 s the window does not need

        try:
            keyring.set_password(self._service, key, value)
        except Exception as exc:  # no backend, a locked keychain, D-Bus errors
            log.warning("an MCP secret could not be saved in the OS keyring (%s); kept for this session",
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
            log.info("no MCP secret from the OS keyring (%s)", type(exc).__name__)
            return None

    def delete(self, keys: Iterable[str]) -> None:
        import keyring

        for key in keys:
            with self._lock:
                self._session.pop(key, None)
            try:
                keyring.delete_password(self._service, key)
            except Exception as exc:  # nothing stored, or no keyring: either way nothing is left
                log.info("no MCP keyring entry removed (%s)", type(exc).__name__)
