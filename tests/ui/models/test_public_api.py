"""The model screens' public surface, pinned: the window builds on these names."""

from __future__ import annotations

import ast
from pathlib import Path

import app.ui.models as screens


def test_the_public_names_are_pinned() -> None:
    assert sorted(screens.__all__) == ["DownloadFeed", "DownloadRow", "DownloadSwitchboard",
                                       "ModelLibraryDialog", "WelcomePage", "models_stylesheet"]
    for name in screens.__all__:
        assert getattr(screens, name) is not None


def test_the_wording_and_the_advice_need_no_qt() -> None:
    for module in ("presenting.py", "advice.py"):
        tree = ast.parse((Path(screens.__file__).parent / module).read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                     for alias in node.names}
        assert not any(name and name.startswith(("PySide6", "shiboken6")) for name in imported), module
