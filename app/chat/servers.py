"""The servers a user added to run the model instead of this computer: the list in the settings, each
server's API key in the OS keyring, and the rule for when one may be used.

Using a server is an explicit choice, and it sends the conversation (messages, attached documents' text,
tool results) to that server: `PRIVACY_NOTE` says so where the choice is made. "Never use the network"
refuses every server not on this computer; a server on this computer (loopback: `localhost`, 127.x,
`::1`) is allowed, since nothing leaves the machine.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from app.errors import OssianError
from app.secrets import SecretStore
from app.settings import Settings

PRIVACY_NOTE = ("A server runs the model on another computer: while it is in use, your messages, the text of "
                "attached documents and tool results are sent to it. Nothing is sent before you choose Use.")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class ServerRefused(OssianError):
    """A server that may not be used (offline mode, a malformed address)."""


@dataclass(frozen=True)
class ServerEntry:
    """One server as the settings keep it: its address, the model to use there, what it was found to be."""

    url: str
    model: str = ""  # "" : the one it has loaded, or its first
    kind: str = ""  # as the probe named it (llama-server, vllm, ollama, lm-studio, ...), for display

    @property
    def key_name(self) -> str:
        return f"server/{normalized_url(self.url)}/api-key"


def normalized_url(url: str) -> str:
    """The address as compared and stored: scheme added when missing, no trailing slash or `/v1`."""
    url = url.strip()
    if url and "://" not in url:
        url = "http://" + url
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def check_url(url: str) -> str:
    """The normalized address, or `ServerRefused` saying what is wrong with it."""
    url = normalized_url(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerRefused(f"'{url}' is not a server address. Write it like http://gpu-box:8080 or "
                            "https://llm.example.org.")
    return url


def is_loopback(url: str) -> bool:
    host = (urlsplit(normalized_url(url)).hostname or "").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_allowed(settings: Settings, url: str) -> str:
    """The checked address; `ServerRefused` when the settings forbid reaching it."""
    url = check_url(url)
    if settings.offline_only and not is_loopback(url):
        raise ServerRefused(f"Ossian is set to never use the network, so {urlsplit(url).netloc} was not "
                            "contacted. Turn off 'Never use the network' in Settings to use a server on "
                            "another computer (servers on this computer still work).")
    return url


class ServerList:
    """The settings' `servers`, as entries; keys go to `secrets`, never to the settings file."""

    def __init__(self, settings: Settings, secrets: SecretStore | None = None) -> None:
        self._settings = settings
        self._secrets = secrets or SecretStore()

    def entries(self) -> list[ServerEntry]:
        return [entry for entry in (_entry(raw) for raw in self._settings.servers) if entry is not None]

    def find(self, url: str) -> ServerEntry | None:
        wanted = normalized_url(url)
        return next((e for e in self.entries() if normalized_url(e.url) == wanted), None)

    def save(self, entry: ServerEntry, api_key: str | None = None) -> bool:
        """Add or replace `entry` (by address). Returns False when a key given could only be kept for this
        session (no keyring); True otherwise."""
        entry = ServerEntry(check_url(entry.url), entry.model.strip(), entry.kind)
        kept = [asdict(e) for e in self.entries() if normalized_url(e.url) != entry.url]
        self._settings.servers = [*kept, asdict(entry)]
        if api_key:
            return self._secrets.put(entry.key_name, api_key.strip())
        return True

    def remove(self, url: str) -> None:
        entry = self.find(url)
        if entry is None:
            return
        self._settings.servers = [asdict(e) for e in self.entries() if e.url != entry.url]
        self._secrets.delete([entry.key_name])

    def api_key(self, entry: ServerEntry) -> str | None:
        return self._secrets.get(entry.key_name)


def _entry(raw: Any) -> ServerEntry | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        return None
    return ServerEntry(raw["url"], str(raw.get("model") or ""), str(raw.get("kind") or ""))


def check_server(settings: Settings, entry: ServerEntry, api_key: str | None) -> str:
    """Ask the server what it is and say it in a sentence: kind, tier and what that costs, its models and
    their context. Raises ServerRefused or EngineFailure (unreachable, a wrong key). Blocks: call it off the
    UI thread."""
    from app.engine.interface import EngineFailure
    from app.engine.remote import KIND_NAMES, TIER_NOTES, ServerAddress, ServerFailure, connect

    url = require_allowed(settings, entry.url)
    try:
        engine = connect(ServerAddress(url, api_key=api_key, model=entry.model or None))
    except ServerFailure as exc:
        raise EngineFailure(exc.error) from exc
    try:
        info = engine.info
        models = ", ".join(
            f"{m.name} ({m.n_ctx:,}-token context)" if m.n_ctx else m.name for m in info.models[:6]) or "none"
        tier = "raw Harmony" if info.tier == "harmony" else "chat"
        return (f"{KIND_NAMES[info.kind]}{f' {info.version}' if info.version else ''}, {tier} tier: "
                f"{TIER_NOTES[info.tier]} Models: {models}.")
    finally:
        engine.close()

