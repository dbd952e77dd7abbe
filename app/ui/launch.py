"""Start the desktop app: one instance per user, the theme, the workspace and the main window."""

from __future__ import annotations

import gc
import logging
import sys

from PySide6.QtCore import QLockFile
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from app import APP_NAME, __version__
from app.chat.workspace import Workspace
from app.paths import app_paths, resources_dir
from app.ui.main_window import MainWindow
from app.ui.theme import ThemeWatcher, apply_palette

log = logging.getLogger(__name__)

# The GUI thread takes the GIL for each Python call Qt makes during a frame (size hints, paint and
# event overrides, slots: dozens), and while the chat thread parses a burst of tokens it waits up to the
# interpreter's switch interval for each (5 ms by default). At 1 ms the stalls that were mostly such
# waiting went (bench/ui_stream.py; figures in docs/performance.md, Streaming UI).
GUI_SWITCH_INTERVAL_S = 0.001


def run_gui(argv: list[str] | None = None) -> int:
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("ossian")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "ossian.svg")))
    paths = app_paths().ensure()
    # One window per user: two would each mark the other's streaming answer as interrupted.
    lock = QLockFile(str(paths.data / "ossian.lock"))
    lock.setStaleLockTime(0)
    if not lock.tryLock(100):
        QMessageBox.information(None, APP_NAME, f"{APP_NAME} is already running.")
        return 0
    try:
        workspace = Workspace()
    except Exception as exc:  # the store or settings could not open: say so instead of a traceback
        log.exception("start-up failed")
        QMessageBox.critical(None, APP_NAME, f"{APP_NAME} could not start: {exc}")
        return 1
    watcher = ThemeWatcher(workspace.settings.theme)
    apply_palette(app, watcher.theme)
    window = MainWindow(workspace, watcher)
    window.show()
    # Everything built at start-up lives as long as the window: keep it out of the collector's full
    # passes, which otherwise pause a streaming answer for ~20 ms (bench/ui_stream.py --no-gc-freeze).
    gc.freeze()
    try:
        return app.exec()
    finally:
        lock.unlock()
