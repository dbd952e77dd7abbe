#!/usr/bin/env python3
"""Build Ossian's frozen app with PyInstaller: the onedir folder every installer is made from.

    python3 installers/build.py            # set up .venv if needed, then build dist/Ossian/
    python3 installers/build.py --clean    # throw away PyInstaller's cache first
    python3 installers/build.py --smoke    # then run installers/smoke_test.py on the result
    python3 installers/build.py --release  # llama.cpp as releases ship it (installers/llama-build.json)

Output: `dist/Ossian/` (Linux, Windows) or `dist/Ossian.app` (macOS), from
`installers/pyinstaller/ossian.spec`; PyInstaller's work files go to `build/pyinstaller/`.

Steps: `installers/bootstrap.py setup` (the project venv with llama-cpp-python compiled once; skip with
--no-setup), PyInstaller into that venv if it is missing or not the pinned version, the icons
(`installers/make_icons.py`), then PyInstaller. llama.cpp is compiled by bootstrap with whatever
`CMAKE_ARGS` says. `--release` sets it from installers/llama-build.json for this platform (every backend a
module, every x86-64 CPU variant, Vulkan; Metal built in on macOS), unless CMAKE_ARGS is already set,
and sets OSSIAN_EXPECT_MODULES so that the spec stops if a module is missing; it builds in its own
venv, `build/venv-release` (OSSIAN_VENV wins), so the developer's `.venv` keeps its llama.cpp. Without
it a developer's build is whatever CMAKE_ARGS says; leaving out `-DGGML_NATIVE=OFF` makes binaries that
use every instruction of the build machine's CPU and crash with "illegal instruction" on older ones
(see docs/packaging.md).

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import llama_config  # noqa: E402
from bootstrap import venv_dir, venv_python  # noqa: E402  (one answer to "where is the venv")

SPEC = HERE / "pyinstaller" / "ossian.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
ICONS = ROOT / "build" / "icons"
# The version these files were verified with; pyproject.toml's `package` extra wins when it exists.
DEFAULT_PYINSTALLER = "pyinstaller==6.22.3"


def say(text: str) -> None:
    print(f"[build] {text}", file=sys.stderr, flush=True)


def run(cmd: list[str | Path], **kwargs) -> None:
    printable = " ".join(str(c) for c in cmd)
    say(f"$ {printable}")
    result = subprocess.run([str(c) for c in cmd], **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"[build] failed ({result.returncode}): {printable}")


def pyinstaller_requirement() -> str:
    """`pyinstaller==X` from pyproject's `package` extra if it lists one, else the tested default."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extra = data["project"].get("optional-dependencies", {}).get("package", [])
    for requirement in extra:
        if requirement.replace(" ", "").lower().startswith("pyinstaller=="):
            return requirement.replace(" ", "")
    return DEFAULT_PYINSTALLER


def ensure_pyinstaller(python: Path) -> None:
    wanted = pyinstaller_requirement()
    probe = subprocess.run([str(python), "-m", "PyInstaller", "--version"], capture_output=True, text=True)
    have = probe.stdout.strip() if probe.returncode == 0 else None
    if have == wanted.split("==", 1)[1]:
        say(f"PyInstaller {have}")
        return
    say(f"installing {wanted} into the venv (found: {have or 'none'})")
    run([python, "-m", "pip", "install", "--quiet", wanted])


def built_app() -> Path:
    return DIST / "Ossian.app" if sys.platform == "darwin" else DIST / "Ossian"


def folder_size(path: Path) -> tuple[int, int]:
    """Bytes and file count, links not followed (the bundle's symlinks point inside it)."""
    total = files = 0
    for dirpath, _dirs, names in os.walk(path):
        for name in names:
            file = Path(dirpath, name)
            if not file.is_symlink():
                total += file.stat().st_size
                files += 1
    return total, files


def release_environment(environ: dict[str, str]) -> dict[str, str]:
    """The variables `--release` adds: llama-build.json's for this platform; a CMAKE_ARGS already set wins.
    On Linux, Vulkan headers newer than the system's where bootstrap knows how to get them."""
    config = llama_config.load()
    key = llama_config.platform_key()
    wanted = llama_config.release_environment(config, key)
    if environ.get("CMAKE_ARGS", "").strip():
        say(f"--release: keeping CMAKE_ARGS={environ['CMAKE_ARGS']!r} "
            f"(llama-build.json says {wanted['CMAKE_ARGS']!r})")
        wanted["CMAKE_ARGS"] = environ["CMAKE_ARGS"]
    elif sys.platform.startswith("linux") and "-DGGML_VULKAN=ON" in wanted["CMAKE_ARGS"]:
        try:  # Debian 12's Vulkan headers lack vk::LayerSettingEXT; bootstrap fetches newer ones
            from bootstrap import vulkan_include_dir
        except ImportError:
            vulkan_include_dir = None
        include = vulkan_include_dir() if vulkan_include_dir else None
        if include is not None:
            wanted["CMAKE_ARGS"] += f" -DVulkan_INCLUDE_DIR={include}"
    return wanted


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Build dist/Ossian with PyInstaller.")
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache and dist/ first")
    parser.add_argument("--no-setup", action="store_true",
                        help="use the venv as it is (skip installers/bootstrap.py setup)")
    parser.add_argument("--smoke", action="store_true", help="run installers/smoke_test.py afterwards")
    parser.add_argument("--release", action="store_true",
                        help="build llama.cpp as releases do (installers/llama-build.json), "
                             "and check the modules")
    args = parser.parse_args(argv)

    if args.release:
        release = release_environment(dict(os.environ))
        # its own venv (ignored, under build/), so a developer's .venv keeps its llama.cpp
        release["OSSIAN_VENV"] = os.environ.get("OSSIAN_VENV") or str(ROOT / "build" / "venv-release")
        for name, value in release.items():
            say(f"--release: {name}={value}")
            os.environ[name] = value

    if not args.no_setup:
        run([sys.executable, HERE / "bootstrap.py", "setup"])
    python = venv_python(venv_dir())
    if not python.exists():
        raise SystemExit(f"[build] no venv at {venv_dir()}: run python3 installers/bootstrap.py setup")
    ensure_pyinstaller(python)
    run([python, HERE / "make_icons.py", ICONS])

    if args.clean:
        for stale in (WORK, DIST / "Ossian", DIST / "Ossian.app"):
            shutil.rmtree(stale, ignore_errors=True)
    started = time.monotonic()
    env = dict(os.environ, OSSIAN_ICON_DIR=str(ICONS))
    command = [python, "-m", "PyInstaller", SPEC, "--noconfirm", "--distpath", DIST, "--workpath", WORK]
    if args.clean:
        command.append("--clean")
    run(command, cwd=ROOT, env=env)
    app = built_app()
    size, files = folder_size(app)
    say(f"built {app} in {time.monotonic() - started:.0f} s: {size / 1e6:.0f} MB in {files} files")

    if args.smoke:
        run([sys.executable, HERE / "smoke_test.py", "--app", app, "--tiny-model"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
