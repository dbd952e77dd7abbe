"""Servers that fail the way real ones do: each ends as a tool error the model reads (and the card shows),
and the app goes on. The failing server is written with the same SDK (failing_server.py)."""

from __future__ import annotations

import gc
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from app.tools.mcp import McpError, McpHub, McpServerConfig, McpTool
from tests.tools.mcp.servers import FAILING_SERVER, failing_config


@pytest.fixture(scope="module")
def flaky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpHub]:
    hub = McpHub(tmp_path_factory.mktemp("config"), start_timeout_s=30)
    hub.add(failing_config("flaky", timeout_s=2))
    yield hub
    hub.close()


def tool(hub: McpHub, name: str, server: str = "flaky") -> McpTool:
    return next(t for t in hub.tools(server) if t.tool == name)


def server_processes(tag: str) -> list[psutil.Process]:
    """This test's failing servers still running (started with `--tag tag`)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            command = child.cmdline()
            if any(str(FAILING_SERVER) in part for part in command) and tag in command:
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_a_call_that_takes_too_long_is_abandoned_and_the_server_goes_on(flaky: McpHub) -> None:
    slow = tool(flaky, "slow")
    started = time.monotonic()
    result = flaky.call(slow, '{"seconds": 30}', 8000)
    assert result.status == "error" and time.monotonic() - started < 5
    assert "did not answer the call to 'slow' within 2 s" in result.content
    assert flaky.call(tool(flaky, "echo"), '{"text": "after"}', 8000).content == "echo: after"


def test_a_server_that_crashes_mid_call_is_said_and_started_again(flaky: McpHub) -> None:
    result = flaky.call(tool(flaky, "crash"), "{}", 8000)
    assert result.status == "error"
    assert "closed the connection during the call to 'crash'" in result.content
    assert "crashing on purpose" in result.content  # its last words on stderr
    assert "started again" in result.content
    again = flaky.call(tool(flaky, "echo"), '{"text": "back"}', 8000)
    assert again.ok and again.content == "echo: back"


def test_garbage_on_stdout_is_skipped_when_the_answer_follows(flaky: McpHub) -> None:
    result = flaky.call(tool(flaky, "garbage"), "{}", 8000)
    assert result.ok and result.content == "answered after the garbage"


def test_garbage_instead_of_an_answer_is_named_when_the_call_times_out(flaky: McpHub) -> None:
    result = flaky.call(tool(flaky, "silent_garbage"), "{}", 8000)
    assert result.status == "error"
    assert "wrote 1 line(s) on stdout that are not MCP messages" in result.content


def test_a_huge_result_is_cut_and_the_cut_is_said(flaky: McpHub) -> None:
    result = flaky.call(tool(flaky, "huge"), '{"chars": 200000}', 1000)
    assert result.ok and result.truncated
    assert "characters omitted" in result.content and "The result was 200,000 characters" in result.content
    assert len(result.content) < 1400 and result.detail == "returned 200,000 characters, cut to 1,000"


def test_an_error_result_is_an_error_for_the_model(flaky: McpHub) -> None:
    result = flaky.call(tool(flaky, "fail"), "{}", 8000)
    assert result.status == "error" and "the disk is full" in result.content


def test_images_and_links_in_one_result(flaky: McpHub) -> None:
    result = flaky.call(tool(flaky, "picture"), "{}", 8000)
    assert result.content.splitlines() == [
        "here it is",
        "[image: image/png, 8 B; not shown to the model, which reads text only]",
        "[resource link: report <file:///tmp/report.pdf> (application/pdf)]"]


def test_a_changed_tool_list_is_followed(flaky: McpHub) -> None:
    changed = threading.Event()
    flaky.add_listener(lambda name: changed.set())
    before = flaky.tools("flaky")
    assert flaky.call(tool(flaky, "add_tool"), "{}", 8000).content == "added"
    assert changed.wait(10), "no notifications/tools/list_changed was followed"
    after = flaky.declared("flaky")
    assert [t.function_name for t in after] == [*(t.function_name for t in before), "flaky__added"]
    assert after[:len(before)] == before  # the tools that did not change are declared as they were
    assert flaky.call(after[-1], "{}", 8000).content == "the added tool answers"


def test_unreadable_arguments_never_reach_the_server(flaky: McpHub) -> None:
    result = flaky.call(tool(flaky, "echo"), '{"text": ', 8000)
    assert result.status == "error" and "not valid JSON" in result.content


@pytest.mark.parametrize(("args", "says", "wait_s"), [
    (("--on-start", "crash"), "stopped before it was ready", 30),
    (("--on-start", "hang"), "did not finish starting within 1.5 s", 1.5),
    # the garbage comes after the SDK's import (a second or more on a loaded machine): wait for it
    (("--on-start", "garbage"), "may not be an MCP server", 4),
])
def test_a_server_that_does_not_start_says_why(tmp_path: Path, args: tuple[str, ...], says: str,
                                               wait_s: float) -> None:
    hub = McpHub(tmp_path, start_timeout_s=wait_s)
    hub.add(failing_config("broken", *args, "--tag", "broken"))
    try:
        with pytest.raises(McpError) as caught:
            hub.tools("broken")
        assert says in str(caught.value)
        if args[1] == "crash":
            assert "cannot start, exiting" in str(caught.value)
        assert hub.declared("broken") == ()
    finally:
        hub.close()
    assert not server_processes("broken")


def test_a_missing_program_is_named(tmp_path: Path) -> None:
    hub = McpHub(tmp_path)
    hub.add(McpServerConfig("ghost", command="ossian-no-such-program", args=("x",)))
    try:
        with pytest.raises(McpError, match="'ossian-no-such-program' was not found"):
            hub.tools("ghost")
    finally:
        hub.close()


def test_waiting_for_a_slow_start_never_blocks_the_caller_that_only_asks(tmp_path: Path) -> None:
    hub = McpHub(tmp_path, start_timeout_s=3)
    hub.add(failing_config("sleepy", "--on-start", "hang"))
    try:
        hub.start(["sleepy"])
        started = time.monotonic()
        assert hub.declared("sleepy") == ()  # what the window asks: answered at once
        assert time.monotonic() - started < 0.1
        cancel = threading.Event()
        threading.Timer(0.3, cancel.set).start()
        from app.tools.mcp.connection import McpCancelled

        with pytest.raises(McpCancelled):
            hub.tools("sleepy", cancel)  # a stopped turn stops waiting
        assert time.monotonic() - started < 2
    finally:
        hub.close()


def test_stdio_servers_end_with_the_hub(tmp_path: Path) -> None:
    hub = McpHub(tmp_path)
    hub.add(failing_config("one", "--tag", "one"))
    hub.tools("one")
    assert len(server_processes("one")) == 1
    hub.close()
    deadline = time.monotonic() + 10
    while server_processes("one") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not server_processes("one")


def test_a_server_closed_while_it_starts_has_ended_when_close_returns() -> None:
    """The connection's own close waits for the SDK's shutdown (stdin closed, SIGTERM after 2 s, reaped).
    It used to cancel its task and return at once, leaving the end of the process to the loop's close,
    whose second cancel could cut that shutdown short: the process ran on and its transport was never
    closed (asyncio's warnings when they were collected failed a CI run, in a later test)."""
    from app.tools.mcp.connection import McpLoop, ServerConnection

    loop = McpLoop()
    connection = ServerConnection(failing_config("stuck", "--on-start", "hang", "--tag", "stuck"), loop)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            connection.start()
            deadline = time.monotonic() + 30
            while not server_processes("stuck") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server_processes("stuck"), "the server did not start"
            connection.close()
            assert not server_processes("stuck") and not connection.running
            gc.collect()
        assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    finally:
        loop.close()


def test_a_server_closed_as_soon_as_it_is_started_leaves_nothing_behind(tmp_path: Path) -> None:
    """A stop that comes before the process is spawned waits for the spawn (a few milliseconds), then
    ends the process as any other: none is left, nothing is collected unclosed."""
    hub = McpHub(tmp_path)
    hub.add(failing_config("brief", "--tag", "brief"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(2):
            hub.start(["brief"])
            hub.close()
            assert not server_processes("brief")
            gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(FAILING_SERVER), "--http", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    process.terminate()
    process.wait(10)


def test_a_url_server_over_streamable_http_and_offline_mode(tmp_path: Path, http_server: str) -> None:
    offline = threading.Event()
    hub = McpHub(tmp_path, offline=offline.is_set)
    hub.add(McpServerConfig("remote", url=http_server))
    try:
        echo = next(t for t in hub.tools("remote") if t.tool == "echo")
        assert hub.call(echo, '{"text": "over http"}', 8000).content == "echo: over http"
        offline.set()  # "Never use the network": a URL server is a network destination
        refused = hub.call(echo, '{"text": "x"}', 8000)
        assert refused.status == "error" and "never use the network" in refused.content
    finally:
        hub.close()


def test_an_unreachable_url_says_so(tmp_path: Path) -> None:
    hub = McpHub(tmp_path, start_timeout_s=10)
    hub.add(McpServerConfig("nowhere", url=f"http://127.0.0.1:{free_port()}/mcp"))
    try:
        with pytest.raises(McpError, match="could not be reached or refused the connection"):
            hub.tools("nowhere")
    finally:
        hub.close()
