"""A small MCP server, written with the same SDK, that fails in the ways real servers do.

Run as a stdio server: `python failing_server.py [--on-start crash|hang|garbage]`. Its tools: `echo`,
`slow` (sleeps), `crash` (the process exits mid-call), `garbage` (prints non-protocol text on stdout,
then answers), `silent_garbage` (prints garbage and never answers), `huge` (a long result), `fail`
(an error result), `picture` (an image and a resource link), `add_tool` (adds a tool and tells the
client its list changed). With `--http PORT` it serves streamable HTTP instead, and with `--token T`
it demands the bearer token T.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ImageContent, ResourceLink, TextContent

server = MCPServer("failing")
# The SDK's stdio server moves fd 1 to stderr so a stray print cannot break the protocol; a copy taken
# first still writes on the real wire, as a server whose own libraries print to stdout would.
WIRE = os.dup(1)


@server.tool(description="Say the text back.")
def echo(text: str) -> str:
    return f"echo: {text}"


@server.tool(description="Sleep for the given seconds, then answer.")
def slow(seconds: float) -> str:
    time.sleep(seconds)
    return f"slept {seconds}"


@server.tool(description="Exit the server process in the middle of the call.")
def crash() -> str:
    sys.stderr.write("failing server: crashing on purpose\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool(description="Write a line that is not JSON-RPC to stdout, then answer.")
def garbage() -> str:
    os.write(WIRE, b"this is not json-rpc\n")
    return "answered after the garbage"


@server.tool(description="Write lines that are not JSON-RPC to stdout and never answer.")
def silent_garbage() -> str:
    os.write(WIRE, b"<html>oops</html>\n")
    time.sleep(3600)
    return "never"


@server.tool(description="Return a long text.")
def huge(chars: int) -> str:
    return "".join(chr(ord("a") + i % 26) for i in range(chars))


@server.tool(description="Report an error.")
def fail() -> str:
    raise ToolError("the disk is full")


@server.tool(description="Return an image and a link.")
def picture() -> list[TextContent | ImageContent | ResourceLink]:
    return [TextContent(type="text", text="here it is"),
            ImageContent(type="image", data="iVBORw0KGgo=", mime_type="image/png"),
            ResourceLink(type="resource_link", name="report", uri="file:///tmp/report.pdf",
                         mime_type="application/pdf")]


@server.tool(description="Add a tool named `added`, then tell the client the tool list changed.")
async def add_tool(ctx: Context) -> str:
    server.add_tool(lambda: "the added tool answers", name="added", description="A tool added later.")
    await ctx.session.send_tool_list_changed()
    return "added"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--on-start", choices=["crash", "hang", "garbage"])
    parser.add_argument("--http", type=int)
    parser.add_argument("--tag", help="ignored: lets a test find its own server among the processes")
    args = parser.parse_args()
    sys.stderr.write("failing server: started\n")
    sys.stderr.flush()
    if args.on_start == "crash":
        sys.stderr.write("failing server: cannot start, exiting\n")
        sys.exit(2)
    if args.on_start == "hang":
        time.sleep(3600)
    if args.on_start == "garbage":
        sys.stdout.write("Welcome! This program is not an MCP server.\n")
        sys.stdout.flush()
        time.sleep(3600)
    if args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run()


if __name__ == "__main__":
    main()
