"""`ossian mcp list|add|remove|test`: the MCP servers of Settings > Tools, from the terminal.

    ossian mcp add files -- npx -y @modelcontextprotocol/server-filesystem ~/Documents
    ossian mcp add search --env BRAVE_API_KEY=... -- npx -y @brave/brave-search-mcp-server
    ossian mcp add remote --url https://example.com/mcp --token-stdin
    ossian mcp test files [--json]

The same list as the window (`mcp-servers.json` in the config folder, through `app.tools.mcp.McpHub`):
environment values that look like keys and a bearer token go to the OS keyring, never the file. `test`
starts the server, lists its tools and prints them as the model will read them in the developer
message (`--json`: one object per tool, with `name` and `description`), then ends the server.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections.abc import Sequence

from app.commands import UsageError
from app.harmony import function_tools
from app.harmony.typescript import tools_section
from app.paths import app_paths
from app.settings import load_settings
from app.tools.mcp import McpHub, McpServerConfig, McpTool
from app.tools.mcp.config import DEFAULT_CALL_TIMEOUT_S


class _CommandLineParser(argparse.ArgumentParser):
    """A parser that keeps everything after the first `--` as the server's command line, untouched:
    argparse alone cannot take options (`--env`) before it and a free command line after it."""

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        args = list(sys.argv[1:] if args is None else args)
        head, tail = (args[:args.index("--")], args[args.index("--") + 1:]) if "--" in args else (args, [])
        parsed, extras = super().parse_known_args(head, namespace)
        if hasattr(parsed, "command") or self.prog.endswith(" add"):
            parsed.command = tail
        elif tail:
            extras = [*extras, "--", *tail]
        return parsed, extras


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("mcp", help="list, add, remove or test MCP servers (tools for the model)")
    actions = parser.add_subparsers(dest="action", required=True, parser_class=_CommandLineParser)
    listing = actions.add_parser("list", help="the MCP servers Ossian knows")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=run_list)

    add = actions.add_parser(
        "add", help="add a server: NAME -- COMMAND ARGS... (stdio) or NAME --url URL (streamable HTTP)",
        usage="ossian mcp add NAME [options] -- COMMAND ARGS...  |  ossian mcp add NAME --url URL",
        description="Add an MCP server. A command: `ossian mcp add NAME -- COMMAND ARGS...` (everything "
                    "after -- is the command line). A URL: `ossian mcp add NAME --url URL`.")
    add.add_argument("name", help="the server's name: letters, digits, - and _ (tools become NAME__tool)")
    add.add_argument("--url", help="the server's streamable HTTP endpoint")
    add.add_argument("--env", "-e", action="append", default=[], metavar="KEY=VALUE",
                     help="an environment variable for the server (key-like names: kept in the keyring)")
    add.add_argument("--cwd", help="the folder the server starts in")
    add.add_argument("--token-stdin", action="store_true",
                     help="read a bearer token for --url from stdin (kept in the keyring)")
    add.add_argument("--timeout", type=float, default=DEFAULT_CALL_TIMEOUT_S,
                     help=f"seconds a tool call may take (default {DEFAULT_CALL_TIMEOUT_S:g})")
    add.add_argument("--replace", action="store_true", help="replace a server of the same name")
    add.set_defaults(handler=run_add)

    remove = actions.add_parser("remove", help="remove a server (and its secrets from the keyring)")
    remove.add_argument("name")
    remove.set_defaults(handler=run_remove)

    test = actions.add_parser("test", help="start a server, list its tools as the model will see them")
    test.add_argument("name")
    test.add_argument("--json", action="store_true", help="print the tools as JSON objects")
    test.set_defaults(handler=run_test)


def hub() -> McpHub:
    paths = app_paths().ensure()
    return McpHub(paths.config, offline=lambda: load_settings(paths.settings_file).offline_only)


def run_list(args: argparse.Namespace) -> int:
    servers = hub().servers()
    if args.json:
        print(json.dumps([{"name": s.name, "transport": s.transport, **s.to_record()} for s in servers],
                         indent=2, ensure_ascii=False))
        return 0
    if not servers:
        print("No MCP servers yet. Add one: ossian mcp add NAME -- COMMAND ARGS...  or  "
              "ossian mcp add NAME --url URL")
    for server in servers:
        secrets = [*server.secret_env, *(["bearer token"] if server.has_token else [])]
        kept = f"  (secrets: {', '.join(secrets)})" if secrets else ""
        print(f"{server.name}  {server.transport}  {server.summary()}{kept}")
    return 0


def run_add(args: argparse.Namespace) -> int:
    if bool(args.command) == bool(args.url):
        raise UsageError("give either a command after -- (ossian mcp add NAME -- COMMAND ARGS...) or "
                         "--url URL")
    env = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--env takes KEY=VALUE, not {item!r}")
        env[key] = value
    if env and args.url:
        raise UsageError("--env is for command servers; a URL server takes --token-stdin")
    token = None
    if args.token_stdin:
        if not args.url:
            raise UsageError("--token-stdin is for --url servers")
        token = getpass.getpass("Bearer token: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    if args.url:
        config = McpServerConfig(args.name, url=args.url, call_timeout_s=args.timeout)
    else:
        config = McpServerConfig(args.name, command=args.command[0], args=tuple(args.command[1:]),
                                 cwd=args.cwd, call_timeout_s=args.timeout)
    saved = hub().add(config, env=env, token=token, replace_existing=args.replace)
    print(f"Added the MCP server '{config.name}' ({config.transport}: {config.summary()}).")
    if saved.count:
        where = "the system keyring" if saved.in_keyring else \
            "memory only: there is no usable keyring, so it is lost when this command ends"
        print(f"{saved.count} secret(s) kept in {where}.")
    print(f"Switch it on in a conversation's Tools menu; check it with: ossian mcp test {config.name}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    removed = hub().remove(args.name)
    print(f"Removed the MCP server '{removed.name}'.")
    return 0


def run_test(args: argparse.Namespace) -> int:
    servers = hub()
    config = servers.server(args.name)
    started = time.monotonic()
    try:
        tools = servers.tools(config.name)
        elapsed = time.monotonic() - started
    finally:
        servers.close()
    if args.json:
        print(json.dumps([{"name": t.function_name, "description": t.description, "tool": t.tool,
                           "server": t.server, "call": t.recipient, "parameters": t.parameters,
                           "notes": list(t.notes)} for t in tools], indent=2, ensure_ascii=False))
        return 0
    _print_declaration(config.name, tools, elapsed)
    return 0


def _print_declaration(name: str, tools: Sequence[McpTool], elapsed: float) -> None:
    print(f"'{name}' started and listed {len(tools)} tool(s) in {elapsed:.2f} s. The model reads them "
          "in the developer message as:\n")
    print(tools_section([function_tools([t.for_prompt() for t in tools])]) if tools else "(no tools)")
