"""Where other apps keep the models they downloaded: the Hugging Face cache, LM Studio, Ollama.

One job: which folders to look in, per source, and what each app may later do to a file it keeps. The
layouts inside those folders are `app.models.found`'s business; whether a file is usable is
`app.models.found_verdict`'s.

- The Hub cache (`huggingface-cli download`, `hf download`, Transformers): `HF_HUB_CACHE` (or the older
  `HUGGINGFACE_HUB_CACHE`), else `HF_HOME/hub`, else `XDG_CACHE_HOME/huggingface/hub`, else
  `~/.cache/huggingface/hub` on every platform (huggingface_hub uses `~/.cache` on Windows and macOS too).
- LM Studio: the `downloadsFolder` its settings name (`<LM Studio home>/settings.json`, or the app-data
  `settings.json` of older versions), then `<home>/models` for the home `~/.lmstudio-home-pointer` names,
  the current default home `~/.lmstudio` and the older `~/.cache/lm-studio`.
- Ollama: `OLLAMA_MODELS`, the per-user `~/.ollama/models`, and on Linux the service's store (the
  install script runs Ollama as the `ollama` user with its home in `/usr/share/ollama`; some
  distributions use `/var/lib/ollama`).

Everything is computed from an `Environment` (home folder, environment variables, platform, file-system
root), so the tests build each store's real layout in a temporary home and never see the user's own.
Only folders that exist are returned, each once (by its real path): a settings file naming the default
folder does not make it scanned twice.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

StoreSource = Literal["hub-cache", "lm-studio", "ollama"]
SOURCES: tuple[StoreSource, ...] = ("hub-cache", "lm-studio", "ollama")
# A settings or pointer file larger than this is not LM Studio's: it is not read.
MAX_SETTINGS_BYTES = 1 << 20

STORE_LABELS: dict[StoreSource, str] = {
    "hub-cache": "the Hugging Face cache",
    "lm-studio": "LM Studio's models folder",
    "ollama": "Ollama's model store",
}
# Short names for a badge or a list line: "kept by LM Studio", "(Hugging Face cache)".
STORE_NAMES: dict[StoreSource, str] = {
    "hub-cache": "Hugging Face cache", "lm-studio": "LM Studio", "ollama": "Ollama",
}
# The app that writes (and deletes) the files, for "let LM Studio finish the download".
APP_NAMES: dict[StoreSource, str] = {
    "hub-cache": "Hugging Face", "lm-studio": "LM Studio", "ollama": "Ollama",
}


@dataclass(frozen=True)
class Environment:
    """What the store locations depend on. `Environment.current()` is this process's."""

    home: Path
    env: Mapping[str, str] = field(default_factory=dict)
    platform: str = "linux"  # sys.platform's values: "linux", "darwin", "win32"
    system_root: Path = Path("/")  # where the Linux service stores are looked for (tests move it)

    @classmethod
    def current(cls) -> Environment:
        return cls(home=Path.home(), env=dict(os.environ), platform=sys.platform)


@dataclass(frozen=True)
class Store:
    """One folder another app keeps models in."""

    source: StoreSource
    root: Path
    origin: str  # why this folder: "HF_HUB_CACHE", "the default location", "LM Studio's settings", ...

    @property
    def label(self) -> str:
        return STORE_LABELS[self.source]


def store_locations(environment: Environment | None = None) -> list[Store]:
    """Every existing store folder, Hub cache first, then LM Studio, then Ollama; each folder once."""
    environment = environment or Environment.current()
    candidates = [Store("hub-cache", root, origin) for root, origin in hub_cache_roots(environment)]
    candidates += [Store("lm-studio", root, origin) for root, origin in lm_studio_roots(environment)]
    candidates += [Store("ollama", root, origin) for root, origin in ollama_roots(environment)]
    stores: list[Store] = []
    seen: set[str] = set()
    for store in candidates:
        try:
            if not store.root.is_dir():
                continue
            real = os.path.realpath(store.root)
        except OSError:
            continue
        if real not in seen:
            seen.add(real)
            stores.append(store)
    return stores


def hub_cache_roots(environment: Environment) -> list[tuple[Path, str]]:
    """The Hub cache huggingface_hub would use now, then the default one (a variable set later leaves the
    models fetched before it in the default place)."""
    env, home = environment.env, environment.home
    roots: list[tuple[Path, str]] = []
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(name):
            roots.append((_expand(env[name], home), name))
    if env.get("HF_HOME"):
        roots.append((_expand(env["HF_HOME"], home) / "hub", "HF_HOME"))
    if env.get("XDG_CACHE_HOME"):
        roots.append((_expand(env["XDG_CACHE_HOME"], home) / "huggingface" / "hub", "XDG_CACHE_HOME"))
    roots.append((home / ".cache" / "huggingface" / "hub", "the default location"))
    return roots


def lm_studio_homes(environment: Environment) -> list[Path]:
    """LM Studio's home folders: the one its pointer file names, the current default, the older one."""
    home = environment.home
    homes: list[Path] = []
    pointer = _read_small(home / ".lmstudio-home-pointer")
    if pointer:
        first_line = pointer.strip().splitlines()[0].strip() if pointer.strip() else ""
        if first_line:
            homes.append(_expand(first_line, home))
    homes += [home / ".lmstudio", home / ".cache" / "lm-studio"]
    return homes


def lm_studio_roots(environment: Environment) -> list[tuple[Path, str]]:
    """The folder LM Studio's settings name first (that is where it downloads now), then each home's
    `models` folder."""
    homes = lm_studio_homes(environment)
    settings_files = [home / "settings.json" for home in homes] + _lm_studio_app_settings(environment)
    roots: list[tuple[Path, str]] = []
    for settings in settings_files:
        folder = _downloads_folder(settings)
        if folder is not None:
            roots.append((_expand(folder, environment.home), f"LM Studio's settings ({settings})"))
    roots += [(home / "models", "the default location") for home in homes]
    return roots


def ollama_roots(environment: Environment) -> list[tuple[Path, str]]:
    env, home = environment.env, environment.home
    roots: list[tuple[Path, str]] = []
    if env.get("OLLAMA_MODELS"):
        roots.append((_expand(env["OLLAMA_MODELS"], home), "OLLAMA_MODELS"))
    roots.append((home / ".ollama" / "models", "the default location"))
    if environment.platform.startswith("linux"):
        system = environment.system_root
        roots += [
            (system / "usr" / "share" / "ollama" / ".ollama" / "models", "the Linux service's store"),
            (system / "var" / "lib" / "ollama" / ".ollama" / "models", "the Linux service's store"),
            (system / "var" / "lib" / "ollama", "the Linux service's store"),
        ]
    return roots


def store_of(path: Path, stores: list[Store]) -> Store | None:
    """The store whose folder holds `path` (as named, or once links are resolved), if any."""
    named = os.path.abspath(path)
    try:
        real = os.path.realpath(path)
    except OSError:
        real = named
    for store in stores:
        root_named = os.path.abspath(store.root)
        root_real = os.path.realpath(store.root)
        if any(_within(candidate, root) for candidate in (named, real) for root in (root_named, root_real)):
            return store
    return None


def removal_warning(source: StoreSource, names: tuple[str, ...] = ()) -> str:
    """What the other app may do to a file Ossian uses in place, and what Ossian then does."""
    then = "Ossian then shows the model as missing; nothing else breaks."
    if source == "hub-cache":
        return ("The Hugging Face cache keeps this file: `hf cache delete` (or `huggingface-cli "
                f"delete-cache`) or clearing the cache deletes it. {then}")
    if source == "lm-studio":
        return f"LM Studio keeps this file: deleting the model in LM Studio's My Models deletes it. {then}"
    tag = names[0] if names else "the model"
    return (f"Ollama keeps this file: `ollama rm {tag}` deletes it, and so does pulling a newer version of "
            f"the tag (Ollama prunes files no tag uses when it starts). {then}")


# -- helpers -------------------------------------------------------------------------------------------


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _expand(text: str, home: Path) -> Path:
    """A path from a variable or a settings file: '~' is the environment's home, not this process's."""
    if text == "~" or text.startswith(("~/", "~\\")):
        return home / text[2:]
    return Path(text)


def _lm_studio_app_settings(environment: Environment) -> list[Path]:
    """The settings file of LM Studio versions that kept it with the app's data."""
    home, env = environment.home, environment.env
    if environment.platform == "win32":
        appdata = Path(env["APPDATA"]) if env.get("APPDATA") else home / "AppData" / "Roaming"
        return [appdata / "LM Studio" / "settings.json"]
    if environment.platform == "darwin":
        return [home / "Library" / "Application Support" / "LM Studio" / "settings.json"]
    config = _expand(env["XDG_CONFIG_HOME"], home) if env.get("XDG_CONFIG_HOME") else home / ".config"
    return [config / "LM Studio" / "settings.json"]


def _downloads_folder(settings: Path) -> str | None:
    text = _read_small(settings)
    if not text:
        return None
    try:
        data: Any = json.loads(text)
    except ValueError:
        log.debug("LM Studio settings %s are not JSON; ignored", settings)
        return None
    folder = data.get("downloadsFolder") if isinstance(data, dict) else None
    return folder if isinstance(folder, str) and folder.strip() else None


def _read_small(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_SETTINGS_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
