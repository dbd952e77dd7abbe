"""Test-wide set-up: a private OSSIAN_HOME per test and Qt on the offscreen platform.

No test may touch the real user folders or need a display.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def ossian_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets an empty app home; nothing leaks into ~/.local or between tests."""
    home = tmp_path_factory.mktemp("ossian-home")
    monkeypatch.setenv("OSSIAN_HOME", str(home))
    monkeypatch.delenv("OSSIAN_MODELS_DIR", raising=False)
    return home
