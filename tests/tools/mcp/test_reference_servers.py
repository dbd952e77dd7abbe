"""The official MCP reference servers from npm, started with the machine's Node.js, through the hub.

`server-filesystem` on a temporary folder (what a user adds first), `server-everything` for the
protocol's corners: a list_changed notification right after start, images, resource links, structured
content, errors, a slow call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.tools.mcp import McpHub, McpTool
from tests.tools.mcp.servers import everything_config, filesystem_config


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[McpHub, Path]]:
    folder = tmp_path_factory.mktemp("shared-folder")
    (folder / "notes.txt").write_text("first line\nsecond line\n", encoding="utf-8")
    hub = McpHub(tmp_path_factory.mktemp("config"))
    hub.add(everything_config())
    hub.add(filesystem_config(folder))
    yield hub, folder
    hub.close()


def tool(hub: McpHub, server: str, name: str) -> McpTool:
    return next(t for t in hub.tools(server) if t.tool == name)


def test_the_filesystem_server_reads_and_writes_inside_its_folder_only(hub) -> None:
    hub, folder = hub
    names = {t.function_name for t in hub.tools("files")}
    assert {"files__read_text_file", "files__write_file", "files__list_directory"} <= names
    read = hub.call(tool(hub, "files", "read_text_file"), f'{{"path": "{folder / "notes.txt"}"}}', 8000)
    assert read.ok and read.content == "first line\nsecond line\n"
    assert read.author == "functions.files__read_text_file"
    wrote = hub.call(tool(hub, "files", "write_file"),
                     f'{{"path": "{folder / "new.txt"}", "content": "from the model"}}', 8000)
    assert wrote.ok, wrote.content
    assert (folder / "new.txt").read_text(encoding="utf-8") == "from the model"
    outside = hub.call(tool(hub, "files", "read_text_file"), '{"path": "/etc/hostname"}', 8000)
    assert outside.status == "error" and "outside allowed directories" in outside.content.lower()


def test_the_everything_server_is_declared_and_answers(hub) -> None:
    hub, _ = hub
    tools = hub.tools("everything")
    echo = next(t for t in tools if t.tool == "echo")
    assert echo.function_name == "everything__echo" and echo.parameters is not None
    assert echo.parameters["required"] == ["message"]
    assert next(t for t in tools if t.tool == "get-sum").function_name == "everything__get_sum"
    result = hub.call(echo, '{"message": "hello"}', 8000)
    assert result.ok and result.content == "Echo: hello"
    summed = hub.call(tool(hub, "everything", "get-sum"), '{"a": 2, "b": 40}', 8000)
    assert "42" in summed.content


def test_an_image_is_a_note_and_resource_links_are_named(hub) -> None:
    hub, _ = hub
    image = hub.call(tool(hub, "everything", "get-tiny-image"), "{}", 8000)
    assert image.ok and "[image: image/png" in image.content and "not shown to the model" in image.content
    assert "base64" not in image.content and len(image.content) < 500
    links = hub.call(tool(hub, "everything", "get-resource-links"), '{"count": 2}', 8000)
    assert links.content.count("[resource link:") == 2 and "demo://" in links.content


def test_structured_content_and_bad_arguments(hub) -> None:
    hub, _ = hub
    weather = hub.call(tool(hub, "everything", "get-structured-content"), '{"location": "Chicago"}', 8000)
    assert weather.ok and "temperature" in weather.content.lower()
    # checked here first against the server's own schema, so the model hears exactly what is wrong
    wrong = hub.call(tool(hub, "everything", "get-sum"), '{"a": "two"}', 8000)
    assert wrong.status == "error" and "argument `b` is required" in wrong.content
    # what only the server knows to refuse comes back as its error
    refused = hub.call(tool(hub, "everything", "get-structured-content"), '{"location": "Paris"}', 8000)
    assert refused.status == "error"


def test_a_declaration_survives_list_changed_unchanged(hub) -> None:
    hub, _ = hub
    first = hub.tools("everything")
    time.sleep(0.3)  # the server sends notifications/tools/list_changed at start; the hub lists again
    assert hub.declared("everything") == first
    assert hub.declared("everything") is hub.declared("everything")  # made once per listing


def test_a_stopped_turn_cancels_a_running_call(hub) -> None:
    hub, _ = hub
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    result = hub.call(tool(hub, "everything", "trigger-long-running-operation"),
                      '{"duration": 30, "steps": 3}', 8000, cancel)
    assert result.status == "cancelled" and time.monotonic() - started < 5
    again = hub.call(tool(hub, "everything", "echo"), '{"message": "still here"}', 8000)
    assert again.ok
