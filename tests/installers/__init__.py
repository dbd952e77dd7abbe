"""Tests of the set-up script and the packaging: scripts loaded from installers/ by path (not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def load(name: str, path: Path):
    """Import the script at `path` as module `name` (registered, so dataclasses and pickling work)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
