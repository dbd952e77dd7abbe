"""Engines that run on another machine's server: llama-server, vLLM, Ollama, LM Studio, or any
OpenAI-compatible one. The window, the turn loop and `ossian chat` use them through the same `Engine`
contract as the local worker; `connect()` probes the server and returns the engine for its tier.

`wire` speaks HTTP (httpx) and turns failures into errors a person can act on; `probe` finds out what the
server is; `harmony_tier` drives servers that take and return token ids (Ossian renders and parses,
exactly as locally); `chat_tier` and `chat_messages` drive chat-completions servers and turn their replies
back into Harmony.
"""

from __future__ import annotations

from dataclasses import replace

import httpx

from app.engine.remote.base import RemoteEngine
from app.engine.remote.chat_tier import ChatServerEngine
from app.engine.remote.harmony_tier import HarmonyServerEngine
from app.engine.remote.probe import KIND_NAMES, TIER_NOTES, ServerInfo, ServerModel, probe
from app.engine.remote.wire import ServerAddress, ServerClient, ServerFailure

__all__ = [
    "KIND_NAMES", "TIER_NOTES", "ChatServerEngine", "HarmonyServerEngine", "RemoteEngine", "ServerAddress",
    "ServerFailure", "ServerInfo", "ServerModel", "connect",
]


def connect(address: ServerAddress, *, tier: str | None = None,
            transport: httpx.BaseTransport | None = None) -> RemoteEngine:
    """Probe the server at `address` and return its engine (no model chosen yet: `load` picks it).

    `tier` forces "chat" on a server that could do "harmony" (for comparing the two). Raises
    `ServerFailure` when the server cannot be reached or does not say what it is."""
    client = ServerClient(address, transport=transport)
    try:
        info = probe(client)
    except BaseException:
        client.close()
        raise
    if info.tier == "harmony" and tier != "chat":
        return HarmonyServerEngine(client, info)
    return ChatServerEngine(client, replace(info, tier="chat"))
