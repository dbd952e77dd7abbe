"""Where Ossian keeps its files: config, data, cache, models and logs.

The platform conventions come from platformdirs (XDG on Linux, ~/Library on macOS, AppData on
Windows). `OSSIAN_HOME` relocates everything under one folder, which is how tests, benchmarks and
portable installs get a private, disposable home; `OSSIAN_MODELS_DIR` moves only the (large) models.
Bundled read-only data (the model catalog, icons, themes) is found through `resources_dir()`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_DIR_NAME = "Ossian"


@dataclass(frozen=True)
class AppPaths:
    """The folders in use. Call `ensure()` before writing into them."""

    config: Path
    data: Path
    cache: Path
    models: Path
    logs: Path

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    @property
    def database_file(self) -> Path:
        return self.data / "conversations.sqlite3"

    @property
    def log_file(self) -> Path:
        return self.logs / "ossian.log"

    def ensure(self) -> AppPaths:
        for folder in (self.config, self.data, self.cache, self.models, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def as_dict(self) -> dict[str, str]:
        return {
            "config": str(self.config),
            "data": str(self.data),
            "cache": str(self.cache),
            "models": str(self.models),
            "logs": str(self.logs),
            "settings_file": str(self.settings_file),
            "database_file": str(self.database_file),
        }


def app_paths(models_override: str | os.PathLike[str] | None = None) -> AppPaths:
    """The folders for this user; `models_override` is the settings' choice of models folder."""
    home = os.environ.get("OSSIAN_HOME")
    if home:
        root = Path(home).expanduser()
        paths = AppPaths(
            config=root / "config",
            data=root / "data",
            cache=root / "cache",
            models=root / "models",
            logs=root / "logs",
        )
    else:
        dirs = platformdirs.PlatformDirs(APP_DIR_NAME, appauthor=False)
        data = Path(dirs.user_data_dir)
        paths = AppPaths(
            config=Path(dirs.user_config_dir),
            data=data,
            cache=Path(dirs.user_cache_dir),
            models=data / "models",
            logs=Path(dirs.user_log_dir),
        )
    models_env = os.environ.get("OSSIAN_MODELS_DIR")
    chosen = models_env or models_override
    if chosen:
        paths = AppPaths(paths.config, paths.data, paths.cache, Path(chosen).expanduser(), paths.logs)
    return paths


def resources_dir() -> Path:
    """Bundled read-only data: `resources/` in a checkout, `app/resources` in a wheel or frozen app."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "resources", package_dir.parent / "resources"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"Ossian's resources folder is missing (looked next to {package_dir})")
