"""Which tools exist and which one conversation has enabled.

A `FunctionTool` is a tool the app itself offers (name, description, JSON-schema parameters, a Python
callable); the model sees it in the developer message's `functions` namespace and calls it as
`functions.<name>`. The builtins, `python` and `browser` (here: a browser over the conversation's
attached documents), are the namespaces gpt-oss was trained with; they go in the system message.
`ToolRegistry` holds the app's function tools; `ToolSelection` is one conversation's choice among all
of them, stored with the conversation, and of the MCP servers it uses (`mcp`: server names; their tools
are `functions.<server>__<tool>`, see `app.tools.mcp`).

Descriptions come out as `app.harmony` dataclasses (`ToolNamespace`, `ToolDescription`), so there is one
definition of a tool declaration and the harmony renderer draws it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.harmony import ToolDescription, ToolNamespace, function_tools
from app.tools.mcp.declare import server_prefix, split_function_name

PYTHON = "python"
BROWSER = "browser"
FUNCTIONS_PREFIX = "functions."

# A function's name becomes `type {name} = ...` in the prompt and `functions.{name}` in calls.
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

FunctionHandler = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class FunctionTool:
    """A tool the app offers the model. `handler` gets the checked arguments and returns text or JSON data.

    Handlers run in the chat's tool thread and should return within seconds; one that raises gives the
    model an error result, never a crash. `requires_approval` makes each call wait for the user, as python
    calls do.
    """

    name: str
    description: str
    parameters: Mapping[str, Any] | None
    handler: FunctionHandler = field(compare=False)
    requires_approval: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise ValueError(f"function tool name {self.name!r} must be a letter or _ followed by up to 63 "
                             "letters, digits or _ (it becomes an identifier in the prompt)")
        if self.parameters is not None and (not isinstance(self.parameters, Mapping)
                                            or self.parameters.get("type", "object") != "object"):
            raise ValueError(f"function tool {self.name!r}: parameters must be a JSON schema of type "
                             "'object' (or None for a tool without arguments)")
        if not callable(self.handler):
            raise ValueError(f"function tool {self.name!r}: handler must be callable")

    @property
    def recipient(self) -> str:
        return FUNCTIONS_PREFIX + self.name

    def description_for_prompt(self) -> ToolDescription:
        parameters = dict(self.parameters) if self.parameters is not None else None
        return ToolDescription(self.name, self.description, parameters)


class ToolRegistry:
    """The function tools the app offers, by name. The builtin namespaces are not registered here."""

    def __init__(self, functions: Iterable[FunctionTool] = ()) -> None:
        self._functions: dict[str, FunctionTool] = {}
        for tool in functions:
            self.register(tool)

    def register(self, tool: FunctionTool) -> None:
        if tool.name in self._functions:
            raise ValueError(f"a function tool named {tool.name!r} is already registered")
        self._functions[tool.name] = tool

    def function(self, name: str) -> FunctionTool | None:
        return self._functions.get(name)

    @property
    def function_names(self) -> tuple[str, ...]:
        return tuple(self._functions)

    def functions(self) -> tuple[FunctionTool, ...]:
        return tuple(self._functions.values())


@dataclass(frozen=True)
class ToolSelection:
    """The tools one conversation has enabled. Stored with the conversation (`to_record`/`from_record`)."""

    python: bool = False
    browser: bool = False  # the document browser: useful once the conversation has documents in search mode
    functions: frozenset[str] = frozenset()
    mcp: frozenset[str] = frozenset()  # the MCP servers this conversation uses, by name

    def __post_init__(self) -> None:
        object.__setattr__(self, "functions", frozenset(self.functions))
        object.__setattr__(self, "mcp", frozenset(self.mcp))

    def enables(self, tool: str) -> bool:
        """Whether a normalized call target (`python`, `browser.search`, `functions.x`) is enabled."""
        if tool == PYTHON:
            return self.python
        if tool.startswith(BROWSER + "."):
            return self.browser
        if tool.startswith(FUNCTIONS_PREFIX):
            name = tool[len(FUNCTIONS_PREFIX):]
            return name in self.functions or self.uses_mcp_function(name)
        return False

    def uses_mcp_function(self, name: str) -> bool:
        """Whether `<server>__<tool>` names a tool of a server this conversation uses."""
        parts = split_function_name(name)
        return parts is not None and any(server_prefix(server) == parts[0] for server in self.mcp)

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"python": self.python, "browser": self.browser,
                                  "functions": sorted(self.functions)}
        if self.mcp:
            record["mcp"] = sorted(self.mcp)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ToolSelection:
        """The selection a record describes; ValueError saying what is wrong with a malformed one."""
        if not isinstance(record, Mapping):
            raise ValueError(f"a tool selection record must be an object, not {type(record).__name__}")
        python, browser = record.get("python", False), record.get("browser", False)
        functions = record.get("functions", [])
        if not isinstance(python, bool) or not isinstance(browser, bool):
            raise ValueError("a tool selection record needs true/false for 'python' and 'browser'")
        if not isinstance(functions, list) or not all(isinstance(name, str) for name in functions):
            raise ValueError("a tool selection record needs a list of names for 'functions'")
        servers = record.get("mcp", [])
        if not isinstance(servers, list) or not all(isinstance(name, str) for name in servers):
            raise ValueError("a tool selection record needs a list of server names for 'mcp'")
        return cls(python, browser, frozenset(functions), frozenset(servers))


def developer_namespaces(selection: ToolSelection, registry: ToolRegistry,
                         extra: Iterable[ToolDescription] = ()) -> tuple[ToolNamespace, ...]:
    """The `functions` namespace for the developer message (the app's enabled functions, then `extra`:
    the MCP servers' tools), or nothing when there is no function."""
    tools = [t.description_for_prompt() for t in registry.functions() if t.name in selection.functions]
    tools += list(extra)
    return (function_tools(tools),) if tools else ()
