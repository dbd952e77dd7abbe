"""One MCP server, connected through the official SDK on the servers' own event loop.

`McpLoop` is one asyncio loop in a daemon thread for every server of the app, so no server can block the
window or the chat: callers on other threads submit work and wait on a future, checking their cancel
event. `ServerConnection` is one server's life on that loop: its transport (a child process over stdio,
or streamable HTTP), the SDK's `ClientSession`, the `initialize` handshake and `tools/list` (every
page, again whenever the server sends `notifications/tools/list_changed`), and each `tools/call`.

A stdio server is started in its own process group by the SDK and ended with the connection (stdin
closed, then terminated, then killed, and reaped), also when it is closed while it starts: the stop goes
through an anyio cancel scope that the SDK's shutdown is shielded from (`_Stopper`), and `close()` waits
for that shutdown to finish. Its stderr goes to Ossian's log line by line, and the last lines are kept
to say why a server that exited did so. What goes wrong becomes an `McpError` whose text the model and
the card read: a server that does not start or answer within its time, one that exits (mid call too: the
next call starts it again), one that writes something other than JSON-RPC on stdout (counted, logged,
and named when it then fails to answer), an HTTP server that refuses or cannot be reached.
The SDK's own exceptions never leave this module.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from app.tools.mcp.config import McpServerConfig
from app.tools.mcp.declare import ListedTool
from app.tools.mcp.errors import McpError
from app.tools.mcp.results import McpAnswer, answer_text

log = logging.getLogger(__name__)

T = TypeVar("T")
START_TIMEOUT_S = 30.0  # a first `npx -y` start downloads the server; a turn waits this long at most
# (Stop ends the wait), and a server that ran out of it is tried again at the next turn
CLOSE_TIMEOUT_S = 5.0
POLL_S = 0.05
STDERR_TAIL_LINES = 8
MAX_LIST_PAGES = 50


class McpCancelled(Exception):  # a stop, not an error: outside OssianError on purpose
    """The caller's cancel event was set while it waited for the server."""


class McpLoop:
    """The event loop every MCP connection runs on, in a daemon thread of its own."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="mcp-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def wait(self, future: concurrent.futures.Future[T], timeout: float | None = None,
             cancel: threading.Event | None = None) -> T:
        """The future's result; `McpCancelled` when `cancel` is set first (the work is cancelled too),
        TimeoutError after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return future.result(POLL_S)
            except concurrent.futures.TimeoutError:
                if cancel is not None and cancel.is_set():
                    future.cancel()
                    raise McpCancelled() from None
                if deadline is not None and time.monotonic() > deadline:
                    future.cancel()
                    raise TimeoutError() from None

    def call_soon(self, callback: Callable[[], object]) -> None:
        self._loop.call_soon_threadsafe(callback)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        # What still runs (a server starting, one whose close timed out) is cancelled and waited for, so
        # that its exit handlers close its process's pipes: a loop stopped under live tasks leaks them
        # ("unclosed transport" when they are collected, "Task was destroyed but it is pending").
        try:
            asyncio.run_coroutine_threadsafe(_cancel_the_rest(), self._loop).result(CLOSE_TIMEOUT_S + 1)
        except (concurrent.futures.TimeoutError, RuntimeError) as exc:
            log.warning("mcp: tasks still running at close (%s)", type(exc).__name__)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CLOSE_TIMEOUT_S)
        if not self._thread.is_alive():
            self._loop.close()


async def _cancel_the_rest() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT_S)
    await asyncio.get_running_loop().shutdown_asyncgens()


class _Stopper:
    """How one start of a server is stopped, on the loop. A running server's stop event ends its wait and
    the connection closes as after any other end. A starting server's cancel scope is cancelled, but never
    before its transport is entered: a stop landing in the spawn makes asyncio kill the process without
    waiting for it ("subprocess ... is still running" when it is collected), while once entered the SDK
    ends the process in a shielded shutdown (stdin closed, SIGTERM, SIGKILL, reaped). Entering is a fork
    and exec, or for HTTP no I/O at all, so a stop waits a few milliseconds at most."""

    def __init__(self) -> None:
        self._requested = False
        self._connected = False
        self._scope: Any = None
        self._event: asyncio.Event | None = None

    def enter(self, scope: Any, event: asyncio.Event) -> None:
        self._scope, self._event = scope, event

    def connected(self) -> None:
        self._connected = True
        if self._requested:
            self._scope.cancel()

    def stop(self, running: bool) -> None:
        self._requested = True
        if running and self._event is not None:
            self._event.set()
        elif self._connected and self._scope is not None:
            self._scope.cancel()


class ServerConnection:
    """One server: started with `start()`, its tools from `tools()`, calls with `call()`, ended with
    `close()`. Thread-safe; blocking methods take the caller's cancel event."""

    def __init__(self, config: McpServerConfig, loop: McpLoop, *,
                 env_secrets: Mapping[str, str] | None = None,
                 token: str | None = None, start_timeout_s: float = START_TIMEOUT_S,
                 on_tools_changed: Callable[[str], None] | None = None) -> None:
        self.config = config
        self._loop = loop
        self._env_secrets = dict(env_secrets or {})
        self._token = token
        self._start_timeout_s = start_timeout_s
        self._on_tools_changed = on_tools_changed
        self._lock = threading.Lock()
        self._run: concurrent.futures.Future[None] | None = None
        self._stopper = _Stopper()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._session: Any = None
        self._tools: tuple[ListedTool, ...] = ()
        self._failure: McpError | None = None
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._garbage_lines = 0
        self._relist: asyncio.Task[None] | None = None
        self._lost = False  # the server went away; the connection is winding down
        self.started_s = 0.0  # how long the last start took (handshake and tools/list)

    @property
    def name(self) -> str:
        return self.config.name

    # ----------------------------------------------------------------------------- from any thread

    def start(self) -> None:
        """Begin connecting (no wait). A running or starting connection is left as it is; one that lost
        its server is let finish its shutdown first."""
        with self._lock:
            run, lost = self._run, self._lost
        if run is not None and not run.done() and lost:
            with contextlib.suppress(Exception):
                run.result(CLOSE_TIMEOUT_S + 3)
        with self._lock:
            if self._run is not None and not self._run.done():
                return
            self._lost = False
            self._ready.clear()
            self._failure = None
            self._session = None
            self._stopper = _Stopper()
            self._run = self._loop.submit(self._main(self._stopper))

    def wait_ready(self, cancel: threading.Event | None = None) -> tuple[ListedTool, ...]:
        """The server's tools once it is up; `McpError` saying why when it is not."""
        self.start()
        while not self._ready.wait(POLL_S):
            if cancel is not None and cancel.is_set():
                raise McpCancelled()
        with self._lock:
            if self._session is None:
                raise self._failure or McpError(f"The MCP server '{self.name}' is not running.")
            return self._tools

    def tools(self) -> tuple[ListedTool, ...]:
        with self._lock:
            return self._tools

    @property
    def running(self) -> bool:
        with self._lock:
            return self._session is not None

    def call(self, tool: str, arguments: Mapping[str, Any], cancel: threading.Event | None = None,
             timeout_s: float | None = None) -> McpAnswer:
        """Run one tool; starts the server first when it is not running (it exited since). `McpError`
        for every way the call can fail; `McpCancelled` when `cancel` is set first."""
        timeout = timeout_s if timeout_s is not None else self.config.call_timeout_s
        with self._lock:
            needs_start = self._session is None
        if needs_start:
            self.wait_ready(cancel)
        with self._lock:
            session, garbage_before = self._session, self._garbage_lines
        if session is None:
            raise self._failure or McpError(f"The MCP server '{self.name}' is not running.")
        future = self._loop.submit(self._call(session, tool, dict(arguments)))
        try:
            result = self._loop.wait(future, timeout, cancel)
        except TimeoutError:
            garbage = self._garbage_lines - garbage_before
            extra = (f" While waiting it wrote {garbage} line(s) on stdout that are not MCP messages (see "
                     "the log)." if garbage else "")
            raise McpError(f"The MCP server '{self.name}' did not answer the call to '{tool}' within "
                           f"{timeout:g} s, so it was abandoned.{extra} The server may be busy or stuck; "
                           "try again later or with a smaller request.") from None
        return result

    def close(self) -> None:
        """End the connection (a stdio server's process with it). Blocks up to a few seconds."""
        with self._lock:
            run, stopper, running = self._run, self._stopper, self._session is not None
        if run is None or run.done():
            return
        # Stopped through anyio's cancel scope, never the task's own cancel(): the SDK shields the end of
        # a stdio server (stdin closed, SIGTERM, SIGKILL, reaped) from anyio cancellation only, so a native
        # cancel during a start could leave the process running, its transport unclosed.
        self._loop.call_soon(lambda: stopper.stop(running))
        try:
            run.result(CLOSE_TIMEOUT_S + 3)
        except concurrent.futures.TimeoutError:
            log.warning("MCP server %s did not stop within %g s; abandoning it", self.name,
                        CLOSE_TIMEOUT_S + 3)
            run.cancel()
        except Exception:  # _main has said what went wrong
            pass

    # ---------------------------------------------------------------------------- on the loop

    async def _main(self, stopper: _Stopper) -> None:
        import anyio

        self._stop = asyncio.Event()
        try:
            with anyio.CancelScope() as scope:
                stopper.enter(scope, self._stop)
                await self._serve(stopper)
            if scope.cancelled_caught:
                self._fail(McpError(f"The MCP server '{self.name}' was stopped."))
        except McpError as exc:
            self._fail(exc)
        except asyncio.CancelledError:
            self._fail(McpError(f"The MCP server '{self.name}' was stopped."))
        except BaseException as exc:  # the SDK's, anyio's, httpx's, OSError: said for the reader
            inner = _innermost(exc)
            self._fail(inner if isinstance(inner, McpError) else self._start_error(exc))
        finally:
            with self._lock:
                self._session = None
            self._ready.set()

    async def _serve(self, stopper: _Stopper) -> None:
        """Connect, hand-shake, list the tools, then serve calls until stopped."""
        import anyio
        from mcp import ClientSession

        started = time.monotonic()
        async with contextlib.AsyncExitStack() as stack:
            errlog: Any = None
            if self.config.transport == "stdio":
                transport, errlog = self._stdio_transport()
            else:
                transport = await self._http_transport(stack)
            try:
                read, write = await stack.enter_async_context(transport)
            finally:
                if errlog is not None:
                    errlog.close()  # the child has its copy; ours would keep the pipe open
            stopper.connected()
            session = await stack.enter_async_context(ClientSession(
                read, write, message_handler=self._on_message, logging_callback=self._on_log))
            try:
                with anyio.fail_after(self._start_timeout_s):
                    await session.initialize()
                    tools = await self._list_tools(session)
            except TimeoutError:
                raise McpError(self._start_timeout_text()) from None
            with self._lock:
                self._session, self._tools = session, tools
            self.started_s = time.monotonic() - started
            log.info("MCP server %s ready in %.2f s with %d tools", self.name, self.started_s, len(tools))
            self._ready.set()
            await self._stop.wait()

    def _fail(self, error: McpError) -> None:
        log.warning("MCP server %s: %s", self.name, error)
        with self._lock:
            self._failure = error

    def _stdio_transport(self) -> tuple[Any, Any]:
        from mcp import StdioServerParameters, stdio_client

        reader, writer = os.pipe()
        threading.Thread(target=self._read_stderr, args=(reader,), name=f"mcp-{self.name}-stderr",
                         daemon=True).start()
        env = {**self.config.env, **self._env_secrets}
        params = StdioServerParameters(command=self.config.command or "", args=list(self.config.args),
                                       env=env or None,
                                       cwd=os.path.expanduser(self.config.cwd) if self.config.cwd else None)
        errlog = os.fdopen(writer, "w")  # the child's stderr; the reader thread logs what comes out
        return stdio_client(params, errlog=errlog), errlog

    async def _http_transport(self, stack: contextlib.AsyncExitStack) -> Any:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        client = await stack.enter_async_context(httpx2.AsyncClient(
            headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)))
        assert self.config.url is not None
        return streamable_http_client(self.config.url, http_client=client)

    def _read_stderr(self, fd: int) -> None:
        with open(fd, "rb", buffering=0) as stream:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    self._stderr_tail.append(line[:300])
                    log.info("[mcp %s] %s", self.name, line[:2000])

    async def _list_tools(self, session: Any) -> tuple[ListedTool, ...]:
        from mcp.types import PaginatedRequestParams

        listed: list[ListedTool] = []
        cursor = None
        for _ in range(MAX_LIST_PAGES):
            params = PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            for tool in page.tools:
                listed.append(ListedTool(tool.name, tool.description or "", dict(tool.input_schema or {}),
                                         tool.title))
            cursor = page.next_cursor
            if not cursor:
                break
        return tuple(listed)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            # A line on stdout that is not JSON-RPC: the SDK skips it; count it to name it in an error.
            self._garbage_lines += 1
            log.warning("MCP server %s wrote something that is not an MCP message on stdout: %s", self.name,
                        str(message)[:300])
            return
        method = getattr(getattr(message, "root", message), "method", None)
        if method == "notifications/tools/list_changed":
            self._relist = asyncio.get_running_loop().create_task(self._refresh_tools())

    async def _on_log(self, params: Any) -> None:
        level, data = getattr(params, "level", "log"), str(getattr(params, "data", ""))
        log.info("[mcp %s] %s: %s", self.name, level, data[:2000])

    async def _refresh_tools(self) -> None:
        import anyio

        with self._lock:
            session = self._session
        if session is None:
            return
        try:
            with anyio.fail_after(self._start_timeout_s):
                tools = await self._list_tools(session)
        except BaseException as exc:
            log.warning("MCP server %s: listing its changed tools failed (%s)", self.name, type(exc).__name__)
            return
        with self._lock:
            changed, self._tools = tools != self._tools, tools
        if changed:
            log.info("MCP server %s: its tools changed (%d now)", self.name, len(tools))
            if self._on_tools_changed is not None:
                self._on_tools_changed(self.name)

    async def _call(self, session: Any, tool: str, arguments: dict[str, Any]) -> McpAnswer:
        try:
            result = await session.call_tool(tool, arguments)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            raise self._call_error(tool, exc) from None
        return answer_text(result.content, result.structured_content, result.is_error)

    # ---------------------------------------------------------------------------- the words

    def _call_error(self, tool: str, exc: BaseException) -> McpError:
        text = _exception_text(exc)
        if "connection closed" in text.lower() or isinstance(exc, (EOFError, BrokenPipeError)):
            with self._lock:
                self._session = None  # the next call starts the server again
                self._lost = True
            if self._stop is not None:
                self._stop.set()
            return McpError(f"The MCP server '{self.name}' closed the connection during the call to '{tool}' "
                            f"(it exited or crashed){self._last_words()}. It will be started again for the "
                            "next call.")
        code = getattr(getattr(exc, "error", None), "code", None)
        if code is not None:
            return McpError(f"The MCP server '{self.name}' refused the call to '{tool}': {text} "
                            f"(error {code}). Check the arguments against the tool's description.")
        return McpError(f"The call to '{tool}' on the MCP server '{self.name}' failed: {text}.")

    def _start_error(self, exc: BaseException) -> McpError:
        text = _exception_text(exc)
        if isinstance(exc, FileNotFoundError):
            return McpError(f"The MCP server '{self.name}' could not be started: the program "
                            f"'{self.config.command}' was not found. Install it, or give its full path in "
                            "Settings > Tools.")
        if isinstance(exc, PermissionError):
            return McpError(f"The MCP server '{self.name}' could not be started: '{self.config.command}' "
                            "may not be run (permission denied).")
        if self.config.transport == "http":
            return McpError(f"The MCP server '{self.name}' at {self.config.url} could not be reached or "
                            f"refused the connection: {text}. Check the address and the token.")
        return McpError(f"The MCP server '{self.name}' stopped before it was ready: {text}"
                        f"{self._last_words()}. Try the command in a terminal to see what it needs.")

    def _start_timeout_text(self) -> str:
        garbage = (f" It wrote {self._garbage_lines} line(s) on stdout that are not MCP messages, so it may "
                   "not be an MCP server, or it prints to stdout what belongs on stderr."
                   if self._garbage_lines else "")
        return (f"The MCP server '{self.name}' did not finish starting within {self._start_timeout_s:g} s."
                f"{garbage}{self._last_words()}")

    def _last_words(self) -> str:
        lines = list(self._stderr_tail)
        if not lines:
            return ""
        return "; its last words on stderr: " + " / ".join(lines[-3:])


def _innermost(exc: BaseException) -> BaseException:
    """The exception inside the groups anyio's task groups wrap failures in."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _exception_text(exc: BaseException) -> str:
    """The innermost meaningful message of an exception."""
    exc = _innermost(exc)
    message = getattr(getattr(exc, "error", None), "message", None) or str(exc) or type(exc).__name__
    return message.strip()
