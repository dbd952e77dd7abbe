"""Benchmark: the front door. Time from launch to the first painted window, against a bare Qt window.

Each run is a fresh process, timed from just before it is started until its first window gets its first
paint event (CLOCK_MONOTONIC is one clock for every process on the machine). Side by side, interleaved:

- bare: PySide6 with one QLabel in a window, the least any Qt app can do (the baseline);
- welcome: `ossian` (the real entry point, `app.cli.main`) on a fresh home: the welcome page;
- conversation: `ossian` on a home whose store holds one 200-message conversation (the sidebar lists it;
  the window opens on a new chat).

It prints the median of each with its ratio against bare (the target is at most 2x).

    .venv/bin/python bench/startup.py [--runs N] [--platform offscreen|xcb]

The child installs its paint watcher on the QApplication before the app's own code runs (the app
reuses an existing instance), so the app is measured exactly as it starts; nothing in `app/` knows.
The children write and read bytecode in a temporary folder (`PYTHONPYCACHEPREFIX`, even where the
shell sets `PYTHONDONTWRITEBYTECODE`): an installed Ossian ships its bytecode, so compiling `app/` from
source on every launch would measure the checkout, not the app. The uncounted first round fills it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WATCHER = """
import os, sys, time
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and obj.isWidgetType() and obj.window().isVisible():
            print(f"PAINTED {time.monotonic():.6f} {type(obj.window()).__name__}", flush=True)
            os._exit(0)
        return False

qt_app = QApplication(sys.argv[:1])
watcher = FirstPaint()
qt_app.installEventFilter(watcher)
"""

BARE = WATCHER + """
from PySide6.QtWidgets import QLabel
label = QLabel("Ossian")
label.resize(1200, 800)
label.show()
qt_app.exec()
"""

APP = WATCHER + """
from app.cli import main
main([])
"""


def fresh_home(base: Path, name: str) -> dict[str, str]:
    """The environment of a child whose home (and every XDG folder) is a new, empty folder in `base`."""
    home = base / name
    home.mkdir()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
    env.update({"HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
                "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"),
                "XDG_STATE_HOME": str(home / "state")})
    return env


def with_conversation(env: dict[str, str], messages: int = 200) -> None:
    """Fill the store of the home in `env` with one conversation, written by the app's own store."""
    code = f"""
from app.paths import app_paths
from app.store import NewMessage, open_store
store = open_store(app_paths().ensure().database_file)
conversation = store.create_conversation(title="A long talk")
for i in range({messages}):
    role = "user" if i % 2 == 0 else "assistant"
    store.append_message(conversation.id, NewMessage(role, f"Message {{i}}: " + "some words. " * 40))
"""
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True)


def first_paint(code: str, env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    line = next((line for line in done.stdout.splitlines() if line.startswith("PAINTED ")), None)
    if line is None:
        raise SystemExit(f"no window was painted (status {done.returncode}):\n{done.stderr[-2000:]}")
    _, painted, window = line.split()
    return float(painted) - started, window


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {"bare": [], "welcome": [], "conversation": []}
    windows: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="ossian-startup-", ignore_cleanup_errors=True) as tmp:
        base = Path(tmp)
        template = fresh_home(base, "template")
        with_conversation(template)
        for run in range(args.runs + 1):  # the first round warms the disk cache and is not counted
            for name in times:
                env = fresh_home(base, f"{name}-{run}")
                env["QT_QPA_PLATFORM"] = args.platform
                if name == "conversation":
                    subprocess.run(["cp", "-a", f"{template['HOME']}/.", env["HOME"]], check=True)
                    env.update({key: value.replace(template["HOME"], env["HOME"])
                                for key, value in template.items() if key.startswith("XDG_")})
                seconds, windows[name] = first_paint(BARE if name == "bare" else APP, env)
                if run:
                    times[name].append(seconds)
    baseline = statistics.median(times["bare"])
    print(f"first paint after launch, median of {args.runs} (QT_QPA_PLATFORM={args.platform}, "
          f"{os.cpu_count()} CPUs)")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<13} {median * 1000:7.0f} ms  x{median / baseline:4.2f}  ({windows[name]}; "
              f"min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
