"""The HTTP server: Starlette routes behind the `Guard`, served by uvicorn on a socket bound here.

`create_app` builds the ASGI app for an engine (the worker `ossian serve` loads, or the window's); the
`ApiServer` binds the socket first (so the port is known, and a port in use is an error a person can act
on before anything starts) and runs uvicorn on it: `run()` in the calling thread (`ossian serve`), or
`start()`/`stop()` on a thread of its own (the window's switch). uvicorn is pinned to asyncio and h11,
with no websockets and no lifespan, its parts imported here by name, so a frozen build finds them
without uvicorn's import-by-string.

Routes: `GET /v1/models`, `GET /v1/models/{id}`, `POST /v1/chat/completions`, `POST /v1/responses`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
import uvicorn.lifespan.off  # uvicorn imports it by name (`lifespan="off"`): named here for a frozen build
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.api import chat_completions, responses
from app.api.errors import ApiError
from app.api.runner import EngineGate, Finished, Job, Parsed, Translator
from app.api.security import LOOPBACK_NAMES, Guard, is_loopback
from app.chat.completion import CompletionRequest, CompletionResult
from app.engine.interface import Engine
from app.errors import OssianError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 * 2**20  # a long conversation with tool outputs fits many times over
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass(frozen=True)
class ApiSettings:
    api_key: str
    # The `Host` names answered (DNS rebinding); None answers any: a server the user opened to the network.
    allowed_hosts: frozenset[str] | None = LOOPBACK_NAMES
    max_waiting: int = 8  # API requests queued for the engine beyond the one it runs
    wait_s: float = 600.0  # how long one may wait in that queue


class ServerError(OssianError):
    """The server could not start (the port is taken, the address is not this machine's)."""


def model_id(engine: Engine) -> str | None:
    """The name clients know the model by: its file's name without `.gguf` (None: nothing loaded)."""
    model = engine.model
    return Path(model.model_path).stem if model is not None else None


def create_app(engine: Engine | Callable[[], Engine], settings: ApiSettings) -> Guard:
    """The API over `engine`, or over whichever engine `engine()` returns at each request (the window's)."""
    gate = EngineGate(engine, max_waiting=settings.max_waiting, wait_s=settings.wait_s)
    api = _Api(gate)
    app = Starlette(routes=[
        Route("/v1/models", api.models, methods=["GET"]),
        Route("/v1/models/{model:path}", api.model, methods=["GET"]),
        Route("/v1/chat/completions", api.chat_completions, methods=["POST"]),
        Route("/v1/responses", api.responses, methods=["POST"]),
    ], exception_handlers={ApiError: _api_error, 404: _not_found, 405: _not_allowed})
    return Guard(app, settings.api_key, settings.allowed_hosts)


class _Api:
    def __init__(self, gate: EngineGate) -> None:
        self._gate = gate

    @property
    def _model(self) -> str:
        name = model_id(self._gate.engine)
        if name is None:
            raise ApiError(503, "No model is loaded in Ossian. Load one in the window, then try again.",
                           type="server_error", code="model_not_loaded")
        return name

    async def models(self, request: Request) -> Response:
        name = model_id(self._gate.engine)
        data = [_model_json(name)] if name is not None else []
        return JSONResponse({"object": "list", "data": data})

    async def model(self, request: Request) -> Response:
        name = model_id(self._gate.engine)
        if name is None or request.path_params["model"] != name:
            raise ApiError(404, f"The model {request.path_params['model']!r} does not exist here; "
                                f"GET /v1/models lists the one this server has.", code="model_not_found",
                           param="model")
        return JSONResponse(_model_json(name))

    async def chat_completions(self, request: Request) -> Response:
        call = chat_completions.read_request(await _json_body(request))
        model = self._model
        translator = chat_completions.ChatStream(model, call.include_usage, call.tools.names) \
            if call.stream else None
        return await self._serve(request, call.completion, translator, "messages",
                                 lambda result: chat_completions.response_json(result, model))

    async def responses(self, request: Request) -> Response:
        call = responses.read_request(await _json_body(request))
        model = self._model
        translator = responses.ResponsesStream(model, call) if call.stream else None
        return await self._serve(request, call.completion, translator, "input",
                                 lambda result: responses.response_json(result, model, call))

    async def _serve(self, request: Request, completion: CompletionRequest, translator: Translator | None,
                     prompt_param: str, whole: Callable[[CompletionResult], dict[str, Any]]) -> Response:
        job = Job(self._gate, completion, translator is not None, prompt_param, asyncio.get_running_loop())
        job.start()
        try:
            batch = await _until_disconnected(request, job.next_batch())
        except BaseException:
            job.cancel()
            raise
        if not batch:
            raise ApiError(500, "Ossian ended the request without an answer.", type="server_error")
        if isinstance(batch[0], ApiError):
            raise batch[0]
        if translator is None:
            assert isinstance(batch[0], Finished)
            return JSONResponse(whole(batch[0].result))
        return StreamingResponse(_stream(job, translator, batch), media_type="text/event-stream",
                                 headers=_SSE_HEADERS)


async def _until_disconnected(request: Request, waiting: Any) -> Any:
    """Wait for `waiting`; a client that hangs up meanwhile cancels it (a long non-streamed reply)."""
    task = asyncio.ensure_future(waiting)
    while True:
        done, _ = await asyncio.wait({task}, timeout=1.0)
        if done:
            return task.result()
        if await request.is_disconnected():
            task.cancel()
            raise asyncio.CancelledError


async def _stream(job: Job, translator: Translator, batch: list[object] | None) -> AsyncIterator[str]:
    try:
        while batch is not None:
            lines: list[str] = []
            for item in batch:
                if isinstance(item, Parsed):
                    lines += translator.on_event(item.event, item.cut_off)
                elif isinstance(item, Finished):
                    lines += translator.end(item.result)
                elif isinstance(item, ApiError):  # a bug after the stream began: end it, the log says why
                    log.warning("api: stream ended early: %s", item.message)
            if lines:
                yield "".join(lines)
            batch = await job.next_batch()
    finally:
        job.cancel()  # after the end this does nothing; before it, the client went away


def _model_json(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": int(time.time()), "owned_by": "ossian"}


async def _json_body(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"The request is larger than {MAX_BODY_BYTES // 2**20} MiB.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, f"The request is larger than {MAX_BODY_BYTES // 2**20} MiB.")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"The request body is not valid JSON ({exc}).") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if exc.status >= 500:
        log.warning("api: %s %s: %s", request.method, request.url.path, exc.message)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse(ApiError(404, f"There is no {request.url.path} here; this server answers /v1/models, "
                                      "/v1/chat/completions and /v1/responses.", code="not_found").body(),
                        status_code=404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse(ApiError(405, f"{request.method} is not allowed on {request.url.path}.",
                                 code="method_not_allowed").body(), status_code=405)


class ApiServer:
    """uvicorn on a socket bound at construction: `base_url` is known before it serves."""

    def __init__(self, app: Guard, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = _bind(host, port)
        bound_port = self._socket.getsockname()[1]
        self.host = host
        self.port = bound_port
        config = uvicorn.Config(app, loop="none", http=H11Protocol, ws="none", lifespan="off",
                                interface="asgi3", log_config=None, access_log=False, server_header=False,
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def run(self) -> None:
        """Serve until interrupted (Ctrl-C), in the calling thread."""
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def start(self) -> None:
        """Serve on a thread of its own; returns once the server answers."""
        self._thread = threading.Thread(target=self.run, name="ossian-api-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._server.started:
            raise ServerError(f"The API server did not start on {self.base_url}; see the log for why.")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop answering (streams still running are cut) and wait for the thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout)
        self._socket.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise ServerError(f"Port {port} on {host} is in use by another program; choose another with "
                              "--port, or 0 for any free port.") from None
        raise ServerError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}. Use an address of this "
                          f"computer{' (loopback: 127.0.0.1)' if not is_loopback(host) else ''}.") from None
    sock.setblocking(False)
    return sock
