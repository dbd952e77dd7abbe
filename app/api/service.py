"""The window's API switch: Ossian's API over whichever engine the window uses, on loopback, started and
stopped from Settings.

The key is made once and kept in the OS keyring (`api/key`), so clients set up with it keep working after
a restart; the port is the one the settings name, or a free one chosen at the first start and then kept.
Requests always reach the window's engine of the moment: a model loaded later, or a server picked later,
is what the next request gets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.api.security import LOOPBACK_NAMES, new_api_key
from app.api.server import ApiServer, ApiSettings, ServerError, create_app
from app.engine.interface import Engine
from app.secrets import SecretStore

log = logging.getLogger(__name__)

KEY_NAME = "api/key"
DEFAULT_PORT = 8765  # Ollama is at 11434, LM Studio 1234, llama-server 8080, vLLM 8000


@dataclass(frozen=True)
class Serving:
    """Where the API is: what a client is told."""

    base_url: str
    api_key: str
    port: int


class ApiService:
    def __init__(self, engine: Callable[[], Engine], secrets: SecretStore | None = None) -> None:
        self._engine = engine
        self._secrets = secrets or SecretStore()
        self._server: ApiServer | None = None
        self._serving: Serving | None = None

    @property
    def serving(self) -> Serving | None:
        return self._serving

    def start(self, port: int | None = None) -> Serving:
        """Serve on loopback at `port` (None: DEFAULT_PORT, or any free port when that one is taken).
        Raises ServerError when the port is taken by another program."""
        if self._serving is not None:
            return self._serving
        key = self._secrets.get(KEY_NAME)
        if not key:
            key = new_api_key()
            self._secrets.put(KEY_NAME, key)
        app = create_app(self._engine, ApiSettings(api_key=key, allowed_hosts=LOOPBACK_NAMES))
        try:
            server = ApiServer(app, "127.0.0.1", port if port is not None else DEFAULT_PORT)
        except ServerError:
            if port is not None:
                raise
            server = ApiServer(app, "127.0.0.1", 0)
        server.start()
        self._server = server
        self._serving = Serving(server.base_url, key, server.port)
        log.info("api: serving the window's model at %s", server.base_url)
        return self._serving

    def stop(self) -> None:
        server, self._server, self._serving = self._server, None, None
        if server is not None:
            server.stop()
            log.info("api: stopped")

    def new_key(self) -> str:
        """Replace the key (clients must be told the new one); takes effect at the next start."""
        key = new_api_key()
        self._secrets.put(KEY_NAME, key)
        return key
