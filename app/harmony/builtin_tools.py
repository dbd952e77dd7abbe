"""The builtin tool namespaces gpt-oss was trained with: `browser` and `python`, text for text.

The browser block and the stateful (Jupyter) python text are openai-harmony's `ToolNamespaceConfig::
browser()` and `::python()`; they must match byte for byte (golden files `test_browser_tool_only.txt`,
`test_browser_and_python_tool.txt`). gpt-oss itself swaps in the stateless "docker" python description
unless its backend is a local Jupyter kernel: use that one when every python call runs in a fresh process.
"""

from __future__ import annotations

from app.harmony.messages import ToolDescription, ToolNamespace

BROWSER = "browser"
PYTHON = "python"
BUILTIN_NAMESPACES: tuple[str, ...] = (BROWSER, PYTHON)

BROWSER_DESCRIPTION = (
    "Tool for browsing.\n"
    "The `cursor` appears in brackets before each browsing display: `[{cursor}]`.\n"
    "Cite information from the tool using the following format:\n"
    "`【{cursor}†L{line_start}(-L{line_end})?】`, for example: `【6†L9-L11】` or `【8†L3】`.\n"
    "Do not quote more than 10 words directly from the tool output.\n"
    "sources=web (default: web)"
)

BROWSER_TOOLS: tuple[ToolDescription, ...] = (
    ToolDescription(
        "search",
        "Searches for information related to `query` and displays `topn` results.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "topn": {"type": "number", "default": 10},
                "source": {"type": "string"},
            },
            "required": ["query"],
        },
    ),
    ToolDescription(
        "open",
        "Opens the link `id` from the page indicated by `cursor` starting at line number `loc`, showing "
        "`num_lines` lines.\n"
        "Valid link ids are displayed with the formatting: `【{id}†.*】`.\n"
        "If `cursor` is not provided, the most recent page is implied.\n"
        "If `id` is a string, it is treated as a fully qualified URL associated with `source`.\n"
        "If `loc` is not provided, the viewport will be positioned at the beginning of the document or "
        "centered on the most relevant passage, if available.\n"
        "Use this function without `id` to scroll to a new location of an opened page.",
        {
            "type": "object",
            "properties": {
                "id": {"type": ["number", "string"], "default": -1},
                "cursor": {"type": "number", "default": -1},
                "loc": {"type": "number", "default": -1},
                "num_lines": {"type": "number", "default": -1},
                "view_source": {"type": "boolean", "default": False},
                "source": {"type": "string"},
            },
        },
    ),
    ToolDescription(
        "find",
        "Finds exact matches of `pattern` in the current page, or the page given by `cursor`.",
        {
            "type": "object",
            "properties": {
                "pattern": {"type": "string"},
                "cursor": {"type": "number", "default": -1},
            },
            "required": ["pattern"],
        },
    ),
)

# openai-harmony's python text: a stateful Jupyter kernel with a persistent /mnt/data drive.
PYTHON_DESCRIPTION = (
    "Use this tool to execute Python code in your chain of thought. The code will not be shown to the "
    "user. This tool should be used for internal reasoning, but not for code that is intended to be "
    "visible to the user (e.g. when creating plots, tables, or files).\n"
    "\n"
    "When you send a message containing Python code to python, it will be executed in a stateful Jupyter "
    "notebook environment. python will respond with the output of the execution or time out after 120.0 "
    "seconds. The drive at '/mnt/data' can be used to save and persist user files. Internet access for "
    "this session is UNKNOWN. Depends on the cluster."
)

# gpt-oss's own text for its default "docker" backend (gpt_oss/tools/python_docker/docker_tool.py):
# every call runs in a fresh process, so the model must resend all its code and print what it needs.
PYTHON_STATELESS_DESCRIPTION = (
    "Use this tool to execute STATELESS Python code in your chain of thought. The code will not be shown "
    "to the user. This tool should be used for internal reasoning, but not for code that is intended to "
    "be visible to the user (e.g. when creating plots, tables, or files).\n"
    "When you send a message containing python code to python, it will be executed in a stateless docker "
    "container, and the stdout of that process will be returned to you. You have to use print statements "
    "to access the output.\n"
    "\n"
    "IMPORTANT: Your python environment is not shared between calls. You will have to pass your entire "
    "code each time."
)


def browser_namespace() -> ToolNamespace:
    """openai-harmony's `with_browser_tool()` namespace."""
    return ToolNamespace(BROWSER, BROWSER_DESCRIPTION, BROWSER_TOOLS)


def python_namespace(*, stateless: bool = False) -> ToolNamespace:
    """The python namespace: the stateful Jupyter text, or gpt-oss's stateless docker text."""
    return ToolNamespace(PYTHON, PYTHON_STATELESS_DESCRIPTION if stateless else PYTHON_DESCRIPTION)
