"""Qt widget tests: the offscreen platform (set in tests/conftest.py), real widgets, one QApplication.

`make_window` builds the real main window on a real workspace (store, planner on a described 16 GB
laptop, library with the tiny gpt-oss GGUF) with the scripted engine standing in for llama.cpp.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.chat.workspace import Workspace
from app.engine.testing import ScriptedEngine
from app.models import import_model
from app.planner import describe_machine
from app.ui.main_window import MainWindow
from app.ui.theme import ThemeWatcher
from fixtures.tiny_models import tiny_gpt_oss_model

WAIT_MS = 20_000
GIB = 2**30
LAPTOP = describe_machine(ram=16 * GIB)


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine()


@pytest.fixture
def make_window(qtbot, engine) -> Iterator:
    windows: list[MainWindow] = []

    def make(load: bool = True, n_ctx: int = 16384) -> MainWindow:
        workspace = Workspace(engine_factory=lambda: engine, read_machine=lambda: LAPTOP)
        workspace.settings.context_tokens = n_ctx
        model = import_model(tiny_gpt_oss_model(), workspace.library)
        window = MainWindow(workspace, ThemeWatcher("light"))
        qtbot.addWidget(window)
        window.resize(1100, 800)
        window.show()
        windows.append(window)
        if load:
            window.load_model(str(model.path))
            qtbot.waitUntil(lambda: window.model_bar.state == "loaded",
                            timeout=WAIT_MS)
        return window

    yield make
    for window in windows:
        window.close()


