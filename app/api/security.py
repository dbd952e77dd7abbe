"""Who may talk to the API: the key, the `Host` header, and the check in front of every request.

The server is off unless asked for, and listens on loopback unless the user says otherwise. Every request
carries the key (`Authorization: Bearer KEY`, as the `openai` SDK sends it), compared in constant time.
A web page the user visits can make the browser send requests to 127.0.0.1 under a name the page's owner
controls (DNS rebinding), so a `Host` that is not one of the allowed names (loopback ones by default) is
refused before anything else. No CORS headers are ever sent, so browsers keep pages from reading answers.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

LOOPBACK_NAMES: frozenset[str] = frozenset({"localhost", "127.0.0.1", "::1"})
KEY_PREFIX = "ossian-"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


def new_api_key() -> str:
    """A random key, 192 bits: what `ossian serve` and the window use unless the user chose one."""
    return KEY_PREFIX + secrets.token_urlsafe(24)


def key_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so the time an answer takes says nothing about the key."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine only."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a `Host` header without its port: `[::1]:8080` -> `::1`, `LocalHost.:80` -> `localhost`."""
    value = header.strip().lower()
    if value.startswith("["):
        name = value[1:value.find("]")] if "]" in value else value[1:]
    else:
        name = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    return name.rstrip(".")


def allowed_hosts_for(bind_host: str, extra: Iterable[str] = ()) -> frozenset[str] | None:
    """The `Host` names a server bound to `bind_host` answers: loopback names, and the bound name itself when
    the user chose one; None (no check) for a wildcard bind, where the machine's every name is fair."""
    name = bind_host.strip("[]").lower()
    if name in ("0.0.0.0", "::", ""):
        return None
    return LOOPBACK_NAMES | {name} | {host_name(e) for e in extra}


class Guard:
    """ASGI middleware: refuses a foreign `Host` (403) and a missing or wrong key (401) in OpenAI's shape."""

    def __init__(self, app: Asgi, api_key: str,
                 allowed_hosts: frozenset[str] | None = LOOPBACK_NAMES) -> None:
        if not api_key:
            raise ValueError("the API needs a key")
        self._app = app
        self._key = api_key
        self._hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        if self._hosts is not None and host_name(headers.get("host", "")) not in self._hosts:
            await _refuse(send, 403, "This server only answers requests addressed to this computer "
                                     "(Host: localhost or 127.0.0.1).",
                          "invalid_request_error", "host_not_allowed")
            return
        if not key_matches(_bearer(headers.get("authorization")), self._key):
            await _refuse(send, 401, "Incorrect API key provided. Use the key `ossian serve` printed, or the "
                                     "one shown in Ossian's settings, as the bearer token.",
                          "invalid_request_error", "invalid_api_key")
            return
        await self._app(scope, receive, send)


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _refuse(send: Send, status: int, message: str, kind: str, code: str) -> None:
    body = json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
