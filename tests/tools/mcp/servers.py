"""The real MCP servers the tests start: the npm reference servers and the failing Python server.

`python3 installers/bootstrap.py test` installs the reference servers (package.json and its lock, next to
this file) into the cache, outside the checkout, and names the folder in OSSIAN_MCP_TEST_SERVERS; a
manual run finds them in the same cache folder. Without `node` on the machine those tests skip, saying
so; with `node` but without the servers they fail, saying how to install them: a missing server must
not pass for a green run.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from app.tools.mcp import McpServerConfig

HERE = Path(__file__).resolve().parent
FAILING_SERVER = HERE / "failing_server.py"
ENV = "OSSIAN_MCP_TEST_SERVERS"


def _default_modules() -> Path:
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "ossian-dev" / "npm" / "node_modules"


def reference_server(package: str) -> Path:
    """The entry script of `@modelcontextprotocol/<package>`; skips without node, fails without it."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the MCP reference servers need `node` (20 or newer)")
    modules = Path(os.environ.get(ENV) or _default_modules())
    script = modules / "@modelcontextprotocol" / package / "dist" / "index.js"
    if not script.is_file():
        pytest.fail(f"the MCP reference server {package} is not installed in {modules}: run "
                    "`python3 installers/bootstrap.py test` (it installs them with npm from "
                    "tests/tools/mcp/package.json)")
    return script


def everything_config(name: str = "everything") -> McpServerConfig:
    return McpServerConfig(name, command=shutil.which("node") or "node",
                           args=(str(reference_server("server-everything")), "stdio"))


def filesystem_config(folder: Path, name: str = "files") -> McpServerConfig:
    return McpServerConfig(name, command=shutil.which("node") or "node",
                           args=(str(reference_server("server-filesystem")), str(folder)))


def failing_config(name: str = "flaky", *args: str, timeout_s: float = 60.0) -> McpServerConfig:
    return McpServerConfig(name, command=sys.executable, args=(str(FAILING_SERVER), *args),
                           call_timeout_s=timeout_s)
