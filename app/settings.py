"""The user's settings: a typed, documented schema and its JSON file in the config folder.

Each option is a dataclass field with a default and a one-line description (config as data, the way
qutebrowser declares its options). The file is read leniently: a value of the wrong type falls back to
its default with a warning in the log, unknown keys written by a newer Ossian are kept on save. Writes
are atomic (temporary file + rename), so a crash never leaves half a settings file.

Secrets never live here: a Hub token goes to the OS keyring (app/models). `save_settings` refuses any
key that looks like a secret, so a later change cannot slip one in by accident.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import tempfile
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from app.harmony.messages import ReasoningEffort

log = logging.getLogger(__name__)

Theme = Literal["system", "light", "dark"]
ToolApproval = Literal["ask", "always"]

SECRET_WORDS = frozenset({"token", "password", "passwd", "secret", "apikey", "credential", "credentials"})


def _option(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass
class Settings:
    """Every option the user can set. Field metadata 'doc' is shown in the settings dialog."""

    models_dir: str | None = _option(None, "Folder for models (default: 'models' in the data folder).")
    offline_only: bool = _option(False, "Never use the network, not even for downloads or Hub searches.")
    hf_endpoint: str | None = _option(None, "Hugging Face Hub address (a mirror); HF_ENDPOINT overrides it.")
    reasoning_effort: ReasoningEffort = _option(ReasoningEffort.MEDIUM,
                                                "Reasoning effort for new conversations.")
    context_tokens: int | None = _option(None, "Context window in tokens (default: the planner's choice).")
    theme: Theme = _option("system", "Colour theme; 'system' follows the operating system.")
    python_tool_approval: ToolApproval = _option("ask", "Ask before each python tool call runs.")
    show_reasoning: bool = _option(True, "Show the model's reasoning panes (collapsed after each answer).")
    last_model: str | None = _option(None, "The model file loaded last; offered again at start-up.")
    gpu_device: str | None = _option(None, "The GPU to run on, as llama.cpp names it (e.g. 'Vulkan1', "
                                           "'CUDA0'); default: the planner's choice.")
    api_enabled: bool = _option(False, "Serve the loaded model to other apps through an OpenAI-compatible "
                                       "API on this computer (loopback only, with a key).")
    api_port: int | None = _option(None, "The API's port (default: 8765, or a free one).")
    # Each: {"url", "model", "kind"} (app.chat.servers.ServerEntry); the API key is in the OS keyring.
    servers: list[Any] = field(default_factory=list, metadata={
        "doc": "Servers that can run the model instead of this computer (llama-server, vLLM, Ollama, "
               "LM Studio)."})
    extra: dict[str, Any] = field(default_factory=dict, metadata={"doc": "keys from a newer version, kept"})


def option_docs() -> dict[str, str]:
    return {f.name: f.metadata.get("doc", "") for f in fields(Settings) if f.name != "extra"}


def _matches(value: Any, annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return value in {member.value for member in annotation}
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return value in typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if origin is dict or annotation is dict:
        return isinstance(value, dict)
    if origin is list or annotation is list:
        return isinstance(value, list)
    return False


def looks_secret(key: str) -> bool:
    """True for keys like hf_token, api_key, password (whole words, so context_tokens is fine)."""
    words = re.split(r"[^a-z0-9]+", key.lower())
    joined = {a + b for a, b in itertools.pairwise(words)}
    return bool(SECRET_WORDS & (set(words) | joined))


def _check_no_secrets(keys: typing.Iterable[str]) -> None:
    for key in keys:
        if looks_secret(key):
            raise ValueError(f"settings must not hold secrets ({key!r}); store it in the OS keyring instead")


def load_settings(path: Path) -> Settings:
    """Read the settings file; a missing or unreadable file gives the defaults (and says so in the log)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("settings file %s could not be read (%s); using defaults", path, exc)
        return Settings()
    if not isinstance(raw, dict):
        log.warning("settings file %s does not hold an object; using defaults", path)
        return Settings()
    hints = typing.get_type_hints(Settings)
    known = {f.name for f in fields(Settings)} - {"extra"}
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            if not looks_secret(key):
                extra[key] = value
            continue
        if _matches(value, hints[key]):
            hint = hints[key]
            values[key] = hint(value) if isinstance(hint, type) and issubclass(hint, Enum) else value
        else:
            log.warning("setting %s=%r is not valid; using the default", key, value)
    return Settings(**values, extra=extra)


def save_settings(settings: Settings, path: Path) -> None:
    """Write atomically. Refuses keys that look like secrets."""
    data = asdict(settings)
    extra = data.pop("extra")
    hints = typing.get_type_hints(Settings)
    for key, value in data.items():
        if not _matches(value, hints[key]):
            raise ValueError(f"setting {key}={value!r} does not have the type {hints[key]}")
    merged = {**extra, **data}
    _check_no_secrets(merged)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(merged, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
