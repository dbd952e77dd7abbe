"""How the parent starts an engine child process: the same executable, with a worker flag.

From a checkout or a pip install that is `python -m app --worker`; in a frozen (PyInstaller) build
`sys.executable` is the app itself, so the flag goes straight to it. Nothing here imports llama_cpp.
"""

from __future__ import annotations

import os
import sys

WORKER_FLAG = "--worker"
PROBE_FLAG = "--worker-probe"


def child_command(flag: str, *args: str) -> list[str]:
    """The argv that starts this app as a child serving `flag`."""
    if getattr(sys, "frozen", False):
        return [sys.executable, flag, *args]
    return [sys.executable, "-m", "app", flag, *args]


def child_environment() -> dict[str, str]:
    """The child's environment: ours, with output unbuffered so events are never held back."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env
