"""The front door stays light: `ossian` (the real entry point, in a process of its own) paints its first
window without importing the libraries that were made to wait for their first use. Nothing is timed
here (bench/startup.py measures; docs/performance.md, Start-up); this keeps a later import at the top of
a module from quietly bringing one back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.chat.workspace import Workspace
from app.models import import_model

# Each was on the way to the first frame before (app.cli building every subcommand's parser, then
# app.gguf.header, app.documents.extract, app.models.tokens, the planner, the download records, the tools,
# app.ui.render.markdown) and is now imported where it is used.
DEFERRED = ("numpy", "gguf", "pypdf", "keyring", "psutil", "markdown_it", "huggingface_hub", "starlette",
            "uvicorn", "app.api", "app.commands.doctor", "app.commands.chat",
            "mcp", "app.commands.mcp")  # the MCP SDK loads with the first server started

FIRST_PAINT = """
import json, os, sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and obj.isWidgetType() and obj.window().isVisible():
            loaded = sorted(name for name in sys.argv[1:] if name in sys.modules)
            print("PAINTED " + json.dumps({"window": type(obj.window()).__name__, "loaded": loaded}),
                  flush=True)
            os._exit(0)
        return False

qt_app = QApplication(sys.argv[:1])
watcher = FirstPaint()
qt_app.installEventFilter(watcher)
from app.cli import main
main([])
"""


@pytest.mark.parametrize("home", ["fresh", "with a model"])
def test_the_first_frame_needs_none_of_the_deferred_libraries(home: str, ossian_home: Path,
                                                              tiny_model_path: Path) -> None:
    if home == "with a model":  # the library lists it and the settings name it: nothing reads it yet
        workspace = Workspace()
        model = import_model(tiny_model_path, workspace.library)
        workspace.settings.last_model = str(model.path)
        workspace.save_settings()
        workspace.store.close()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(ossian_home / "user-home"))
    done = subprocess.run([sys.executable, "-c", FIRST_PAINT, *DEFERRED], env=env, capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    line = next((line for line in done.stdout.splitlines() if line.startswith("PAINTED ")), None)
    assert line is not None, f"no window was painted (status {done.returncode}):\n{done.stderr[-2000:]}"
    painted = json.loads(line.removeprefix("PAINTED "))
    assert painted["window"] == "MainWindow"
    assert painted["loaded"] == []
