#!/usr/bin/env python3
"""Set up a development environment for Ossian, then start the app or run the test suite.

This is what the README's two commands call:

    python3 installers/bootstrap.py run     # set up, then start the app
    python3 installers/bootstrap.py test    # set up, then lint and run every test

It owns the virtual environment (`.venv` in the checkout) and the cache of the llama-cpp-python wheel.
PyPI has only llama-cpp-python's source, and compiling llama.cpp takes minutes, so the wheel is built
once into a wheelhouse outside the work tree, keyed by Python version, machine and `CMAKE_ARGS` (a CUDA
build and a CPU build never mix), and every later set-up installs it from there. A stamp of everything
that shapes the environment (pyproject.toml, this script, CMAKE_ARGS, Python) is kept in the venv: when
nothing changed, set-up is a file read and the command starts at once.

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP_REVISION = "3"  # bump to force every checkout to reinstall after a change here
MIN_PYTHON = (3, 11)


def say(text: str) -> None:
    print(f"[bootstrap] {text}", file=sys.stderr, flush=True)


def venv_dir() -> Path:
    return Path(os.environ.get("OSSIAN_VENV", ROOT / ".venv"))


def venv_python(env_dir: Path) -> Path:
    if os.name == "nt":
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


def venv_script(env_dir: Path, name: str) -> Path:
    if os.name == "nt":
        return env_dir / "Scripts" / f"{name}.exe"
    return env_dir / "bin" / name


def cache_home() -> Path:
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "ossian-dev"


def llama_requirement() -> str:
    """The exact llama-cpp-python requirement from pyproject.toml (one source of truth)."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for req in data["project"]["dependencies"]:
        if re.match(r"llama-cpp-python\s*==", req):
            return req.replace(" ", "")
    raise SystemExit("pyproject.toml must pin llama-cpp-python with '=='")


def wheelhouse() -> Path:
    override = os.environ.get("OSSIAN_WHEELHOUSE")
    if override:
        return Path(override)
    cmake_args = os.environ.get("CMAKE_ARGS", "").strip()
    flavour = hashlib.sha256(cmake_args.encode()).hexdigest()[:10] if cmake_args else "default"
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}-{sys.platform}-{platform.machine()}-{flavour}"
    return cache_home() / "wheelhouse" / tag


def stamp_text() -> str:
    parts = [
        SETUP_REVISION,
        sys.version,
        os.environ.get("CMAKE_ARGS", ""),
        (ROOT / "pyproject.toml").read_text(encoding="utf-8"),
        Path(__file__).read_text(encoding="utf-8"),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def run(cmd: list[str | Path], **kwargs) -> None:
    printable = " ".join(str(c) for c in cmd)
    say(f"$ {printable}")
    result = subprocess.run([str(c) for c in cmd], **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"[bootstrap] failed ({result.returncode}): {printable}")


def ensure_venv(env_dir: Path) -> Path:
    python = venv_python(env_dir)
    if python.exists():
        probe = subprocess.run([str(python), "-c", "import sys; print(sys.version)"],
                               capture_output=True, text=True)
        if probe.returncode == 0:
            return python
        say(f"the virtual environment in {env_dir} is broken; making a new one")
        shutil.rmtree(env_dir)
    say(f"creating a virtual environment in {env_dir}")
    try:
        venv.EnvBuilder(with_pip=True, upgrade_deps=False).create(env_dir)
    except Exception as exc:  # ensurepip missing is the usual cause on Debian/Ubuntu
        raise SystemExit(
            f"[bootstrap] could not create a virtual environment ({exc}).\n"
            "On Debian or Ubuntu install the venv module first: sudo apt install python3-venv"
        ) from exc
    return python


def ensure_llama_wheel(python: Path) -> Path:
    house = wheelhouse()
    requirement = llama_requirement()
    version = requirement.split("==", 1)[1]
    pattern = f"llama_cpp_python-{version}-*.whl"
    if any(house.glob(pattern)):
        say(f"using the cached llama-cpp-python build in {house}")
        return house
    cmake_args = os.environ.get("CMAKE_ARGS", "")
    say(f"building {requirement} from source (a few minutes, once; CMAKE_ARGS={cmake_args!r})")
    house.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=house.parent) as tmp:
        run([python, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", requirement, "-w", tmp])
        for built in Path(tmp).glob(pattern):
            # rename is atomic: a half-written wheel never looks cached
            built.replace(house / built.name)
    if not any(house.glob(pattern)):
        raise SystemExit(f"[bootstrap] the llama-cpp-python build left no wheel in {house}")
    return house


def ensure_installed() -> Path:
    if sys.version_info < MIN_PYTHON:
        raise SystemExit(
            f"[bootstrap] Ossian needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer; "
            f"this is {platform.python_version()}."
        )
    env_dir = venv_dir()
    python = ensure_venv(env_dir)
    stamp_file = env_dir / "ossian-setup.stamp"
    wanted = stamp_text()
    if stamp_file.exists() and stamp_file.read_text() == wanted:
        return env_dir
    house = ensure_llama_wheel(python)
    run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([python, "-m", "pip", "install", "--quiet",
         "--find-links", house, "--only-binary", "llama-cpp-python",
         "--editable", f"{ROOT}[dev]"])
    stamp_file.write_text(wanted)
    say("environment ready")
    return env_dir


def command_run(env_dir: Path, args: list[str]) -> int:
    return subprocess.call([str(venv_script(env_dir, "ossian")), *args])


def command_test(env_dir: Path, args: list[str]) -> int:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    say("lint: ruff check")
    lint = subprocess.call([str(venv_script(env_dir, "ruff")), "check", "."], cwd=ROOT, env=env)
    if lint != 0:
        say("lint failed")
        return lint
    say("tests: pytest")
    status = subprocess.call([str(venv_python(env_dir)), "-m", "pytest", *args], cwd=ROOT, env=env)
    return exit_status("pytest", status)


def exit_status(name: str, status: int) -> int:
    """Turn a child's status into ours, saying so when a signal killed it.

    A negative status would otherwise reach the shell as 256 + status (245 for SIGSEGV), which
    reads like a test failure even when every test passed and the crash came at interpreter exit.
    """
    if status >= 0:
        return status
    try:
        name_of_signal = signal.Signals(-status).name
    except ValueError:
        name_of_signal = f"signal {-status}"
    say(f"{name} was killed by {name_of_signal}; see the end of its output above")
    return 128 - status


def main(argv: list[str]) -> int:
    commands = {"run": command_run, "test": command_test, "setup": None}
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        print("usage: bootstrap.py run|test|setup [ARGS...]", file=sys.stderr)
        return 2
    env_dir = ensure_installed()
    action = commands[argv[0]]
    return 0 if action is None else action(env_dir, argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
