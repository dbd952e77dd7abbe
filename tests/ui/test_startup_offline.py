"""The desktop app starts without touching the network: the whole start-up runs under a guard that logs
and refuses every connection or name lookup outside loopback (children such as the llama.cpp probe
included)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fixtures.network_guard import guarded_environment, network_attempts

START_AND_QUIT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
QTimer.singleShot(2500, app.quit)
from app.ui.launch import run_gui
sys.exit(run_gui())
"""


def test_gui_start_up_makes_no_network_request(tmp_path: Path, ossian_home: Path,
                                               tiny_model_path: Path) -> None:
    log = tmp_path / "network.log"
    env = guarded_environment(log)
    env["QT_QPA_PLATFORM"] = "offscreen"
    # A model on disk and one remembered, so start-up has everything it might be tempted to check online.
    (ossian_home / "config").mkdir(parents=True, exist_ok=True)
    (ossian_home / "config" / "settings.json").write_text(f'{{"last_model": "{tiny_model_path}"}}')
    done = subprocess.run([sys.executable, "-c", START_AND_QUIT], env=env, capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    assert network_attempts(log) == []
    assert (ossian_home / "data" / "conversations.sqlite3").exists(), "start-up did run (the store opened)"
