"""HTTP to a remote inference server: one client per server, streamed replies read line by line, and every
failure turned into an `EngineError` a person can act on.

Servers answer in two streamed shapes: Server-Sent Events (`data: {...}` lines ending in `data: [DONE]`:
llama-server, vLLM, LM Studio, Ollama's OpenAI-compatible endpoints) and newline-delimited JSON (Ollama's
own API). Both are read here with httpx's line iterator; nothing else in the app speaks HTTP to a server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from app.engine.interface import EngineError
from app.errors import OssianError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
# Between two pieces of a streamed reply. A large prompt on a busy server can take minutes before its
# first token; the read timeout is per read, so a long answer is never cut by it.
READ_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ServerAddress:
    """Where a server is and how to talk to it: `url` is its base (`http://host:8080`, `…/v1` accepted)."""

    url: str
    api_key: str | None = None
    model: str | None = None  # the model to use; None: the one the server has loaded, or its first
    verify_tls: bool = True

    @property
    def base(self) -> str:
        """The server's root: the URL without a trailing `/v1` (each endpoint names its own path)."""
        url = self.url.strip().rstrip("/")
        return url[: -len("/v1")] if url.endswith("/v1") else url

    @property
    def shown(self) -> str:
        """The server as a person names it: host and port (no scheme, no path, no key)."""
        url = httpx.URL(self.base)
        return f"{url.host}:{url.port}" if url.port else str(url.host)


class ServerFailure(OssianError):
    """A request to the server failed; `error` says how, in words a person can act on."""

    def __init__(self, error: EngineError) -> None:
        super().__init__(error.message)
        self.error = error


class ServerClient:
    """One server: JSON requests and streamed replies, with the key, timeouts and TLS checks applied."""

    def __init__(self, address: ServerAddress, *, transport: httpx.BaseTransport | None = None) -> None:
        self.address = address
        headers = {"Accept": "application/json"}
        if address.api_key:
            headers["Authorization"] = f"Bearer {address.api_key}"
        self._http = httpx.Client(
            base_url=address.base, headers=headers, verify=address.verify_tls, transport=transport,
            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            # A server on this machine or the local network: no system proxy in between (a proxy set for
            # the web would otherwise see every prompt).
            trust_env=False, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    # ---------------------------------------------------------------------------------- requests

    def get_json(self, path: str, *, quiet: bool = False, timeout: float | None = None) -> Any:
        """GET `path` and return its JSON. `quiet`: a 404 or a non-JSON answer is None, not a failure
        (probing for an endpoint the server may not have)."""
        return self._json("GET", path, None, quiet=quiet, timeout=timeout)

    def post_json(self, path: str, body: dict[str, Any], *, quiet: bool = False,
                  timeout: float | None = None) -> Any:
        return self._json("POST", path, body, quiet=quiet, timeout=timeout)

    def _json(self, method: str, path: str, body: dict[str, Any] | None, *, quiet: bool,
              timeout: float | None) -> Any:
        try:
            limit = timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT
            response = self._http.request(method, path, json=body, timeout=limit)
        except httpx.HTTPError as exc:
            raise ServerFailure(transport_error(self.address, exc)) from exc
        if quiet and response.status_code in (404, 405, 501):
            return None
        if response.status_code >= 400:
            raise ServerFailure(status_error(self.address, response.status_code, response.text))
        try:
            return response.json()
        except ValueError as exc:
            if quiet:
                return None
            raise ServerFailure(EngineError(
                "protocol", f"{self.address.shown} answered {path} with something that is not JSON.",
                response.text[:500])) from exc

    def stream(self, path: str, body: dict[str, Any],
               on_response: Callable[[httpx.Response], None] | None = None) -> Iterator[dict[str, Any]]:
        """POST `body` and yield each JSON object of the streamed reply (SSE `data:` lines or NDJSON).

        Ends at `data: [DONE]` or when the server closes the reply. A connection lost mid-reply raises a
        `ServerFailure` of kind "connection"; so does closing the reply (`on_response` is handed it, so
        that another thread can cancel)."""
        try:
            with self._http.stream("POST", path, json=body) as response:
                if on_response is not None:
                    on_response(response)
                if response.status_code >= 400:
                    response.read()
                    raise ServerFailure(status_error(self.address, response.status_code, response.text))
                for line in response.iter_lines():
                    item = parse_stream_line(line)
                    if item is DONE:
                        return
                    if item is not None:
                        yield item
        except (httpx.HTTPError, httpx.StreamError) as exc:  # StreamError: the reply was closed (a cancel)
            raise ServerFailure(transport_error(self.address, exc, mid_stream=True)) from exc


DONE: dict[str, Any] = {}  # the marker `parse_stream_line` returns for `data: [DONE]`


def parse_stream_line(line: str) -> dict[str, Any] | None:
    """One line of a streamed reply: the JSON object it carries, `DONE`, or None (blank, comment, event
    name, keep-alive). A line that is not JSON raises a `ServerFailure` of kind "protocol"."""
    line = line.strip()
    if not line or line.startswith(":"):
        return None
    if line.startswith("data:"):
        line = line[len("data:"):].strip()
        if line == "[DONE]":
            return DONE
    elif line.startswith(("event:", "id:", "retry:")):
        return None
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise ServerFailure(EngineError(
            "protocol", "The server's reply broke off into something that is not JSON; what arrived so "
                        "far is kept.", line[:500])) from exc
    if not isinstance(item, dict):
        return None
    if "error" in item and not item.get("choices"):  # an error sent inside the stream (vLLM, Ollama)
        raise ServerFailure(stream_error(item["error"]))
    return item


# ---------------------------------------------------------------------------------------- errors

def transport_error(address: ServerAddress, exc: Exception, *, mid_stream: bool = False) -> EngineError:
    where = address.shown
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
            return EngineError("connection", f"The certificate of {where} could not be verified, so nothing "
                                             "was sent. Check the address, or install the server's "
                                             "certificate authority on this computer.", text)
        return EngineError("connection", f"Could not connect to {where}: is the server running, and is "
                                         "the address right?", text)
    if isinstance(exc, httpx.TimeoutException):
        return EngineError("connection", f"{where} did not answer in time. The server may be overloaded; "
                                         "try again.", repr(exc))
    if mid_stream:
        return EngineError("connection", f"The connection to {where} broke off mid-answer. What arrived "
                                         "is kept; send again to retry.", repr(exc))
    return EngineError("connection", f"Talking to {where} failed: {exc}.", repr(exc))


def status_error(address: ServerAddress, status: int, body: str) -> EngineError:
    """An HTTP error status as a sentence; the server's own message is kept for the log and quoted."""
    message = _server_message(body)
    where = address.shown
    said = f" It said: {message}" if message else ""
    lowered = message.lower()
    if status in (401, 403):
        return EngineError("auth", f"{where} refused the API key ({status}). Check the key in Settings → "
                                   "Servers.", body[:500])
    if _context_exceeded(lowered):
        return EngineError("too_long", f"The conversation is longer than the context {where} serves. Start "
                                       f"a new chat, or load the model there with a larger context.{said}",
                           body[:500])
    if status == 404 or ("model" in lowered and ("not found" in lowered or "does not exist" in lowered)):
        return EngineError("model", f"{where} has no such model or endpoint ({status}). Pick one of the "
                                    f"models it lists.{said}", body[:500])
    if status == 429 or status == 503:
        return EngineError("busy", f"{where} is busy ({status}); try again in a moment.{said}", body[:500])
    return EngineError("internal", f"{where} answered with an error ({status}).{said}", body[:500])


def stream_error(error: Any) -> EngineError:
    message = error.get("message", "") if isinstance(error, dict) else str(error)
    if _context_exceeded(str(message).lower()):
        return EngineError("too_long", f"The conversation is longer than the server's context: {message}")
    return EngineError("internal", f"The server stopped with an error: {message}")


def _context_exceeded(lowered: str) -> bool:
    return any(words in lowered for words in (
        "context length", "context_length", "maximum context", "exceeds the available context",
        "exceed_context_size", "context size", "too many tokens", "prompt is too long", "n_ctx"))


def _server_message(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:300]
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message", "")))
        if isinstance(error, dict):
            error = error.get("message", "")
        return str(error)[:300]
    return ""
