#!/usr/bin/env python3
"""Set up a development environment for Ossian, then start the app or run the test suite.

This is what the README's two commands call:

    python3 installers/bootstrap.py run     # set up, then start the app
    python3 installers/bootstrap.py test    # set up, then lint and run every test

and, for the GPU path (llama.cpp's backends as loadable modules, with Vulkan, the build releases ship):

    python3 installers/bootstrap.py test --vulkan   # set up the module build, run the `vulkan` tests

It owns the virtual environments (`.venv`, and `.venv-vulkan` for the module build) and the cache of the
llama-cpp-python wheels.
PyPI has only llama-cpp-python's source, and compiling llama.cpp takes minutes, so the wheel is built
once into a wheelhouse outside the work tree, keyed by Python version, machine and `CMAKE_ARGS` (a CUDA
build and a CPU build never mix), and every later set-up installs it from there. A stamp of everything
that shapes the environment (pyproject.toml, this script, CMAKE_ARGS, Python) is kept in the venv: when
nothing changed, set-up is a file read and the command starts at once.

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import json
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
SETUP_REVISION = "4"  # bump to force every checkout to reinstall after a change here
MIN_PYTHON = (3, 11)

# The release configuration of llama.cpp per platform: every backend a loadable module, every x86-64
# CPU variant, Vulkan. `--vulkan` builds exactly what the release of this platform ships.
BUILD_CONFIG = ROOT / "installers" / "llama-build.json"
# What the Vulkan backend needs to compile, and lavapipe (Mesa's Vulkan on the CPU) for its tests
VULKAN_PACKAGES = ("libvulkan-dev", "glslc", "spirv-headers", "mesa-vulkan-drivers")
# llama.cpp's Vulkan backend needs newer Vulkan-Hpp headers than Debian 12 ships (vk::LayerSettingEXT);
# Debian 13's libvulkan-dev is header-compatible and is fetched into the cache (nothing installed)
VULKAN_HEADERS_SUITE = "trixie"
VULKAN_HEADERS_MARKER = "LayerSettingEXT"
# lavapipe in tests, as llama.cpp's own CI runs it: name the CPU-type device (skipped by default), no
# f16 or cooperative-matrix paths (llvmpipe has neither fast)
VULKAN_TEST_ENV = {
    "GGML_VK_VISIBLE_DEVICES": "0",
    "GGML_VK_DISABLE_F16": "1",
    "GGML_VK_DISABLE_COOPMAT": "1",
    "OSSIAN_ALLOW_SOFTWARE_GPU": "1",
    "OSSIAN_VULKAN_TESTS": "1",
}


def say(text: str) -> None:
    print(f"[bootstrap] {text}", file=sys.stderr, flush=True)


class Flavour:
    """Which llama.cpp build an environment carries: the default (CPU, backends linked in) or `vulkan`
    (the release configuration: backend modules, every CPU variant, Vulkan)."""

    def __init__(self, name: str = "default") -> None:
        self.name = name

    @property
    def modules(self) -> bool:
        return self.name == "vulkan"

    def cmake_args(self) -> str:
        user = os.environ.get("CMAKE_ARGS", "").strip()
        if not self.modules:
            return user
        parts = [" ".join(release_cmake_args())]
        include = vulkan_include_dir()
        if include is not None:
            parts.append(f"-DVulkan_INCLUDE_DIR={include}")
        if user:
            parts.append(user)
        return " ".join(parts)


def platform_key() -> str:
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "aarch64": "arm64"}.get(machine, machine)
    return f"{system}-{machine}"


def release_cmake_args() -> list[str]:
    """This platform's release configuration from installers/llama-build.json."""
    config = json.loads(BUILD_CONFIG.read_text(encoding="utf-8"))
    entry = config["platforms"].get(platform_key())
    if entry is None or "-DGGML_VULKAN=ON" not in entry["cmake_args"]:
        raise SystemExit(f"[bootstrap] --vulkan: the release build of {platform_key()} has no Vulkan backend "
                         f"(see {BUILD_CONFIG.name})")
    return list(entry["cmake_args"])


def venv_dir(flavour: Flavour | None = None) -> Path:
    default = ROOT / (".venv-vulkan" if flavour is not None and flavour.modules else ".venv")
    override = os.environ.get("OSSIAN_VENV")
    if override and flavour is not None and flavour.modules:
        return Path(override + "-vulkan")
    return Path(override) if override else default


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


def wheelhouse(cmake_args: str | None = None) -> Path:
    override = os.environ.get("OSSIAN_WHEELHOUSE")
    if override:
        return Path(override)
    if cmake_args is None:
        cmake_args = os.environ.get("CMAKE_ARGS", "")
    cmake_args = cmake_args.strip()
    flavour = hashlib.sha256(cmake_args.encode()).hexdigest()[:10] if cmake_args else "default"
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}-{sys.platform}-{platform.machine()}-{flavour}"
    return cache_home() / "wheelhouse" / tag


def vulkan_include_dir() -> Path | None:
    """Vulkan headers new enough for llama.cpp: the system's when they are, else Debian 13's from the
    cache (fetched on first use). None where the system's will do or none can be had (not Debian)."""
    if new_enough(Path("/usr/include")):
        return None
    cached = sorted((cache_home() / "vulkan-headers").glob("*/usr/include"))
    for include in reversed(cached):
        if new_enough(include):
            return include
    if not sys.platform.startswith("linux") or shutil.which("apt-get") is None:
        return None
    return fetch_vulkan_headers()


def new_enough(include: Path) -> bool:
    """Vulkan-Hpp in `include` declares what llama.cpp's Vulkan backend uses."""
    structs = include / "vulkan" / "vulkan_structs.hpp"
    return structs.exists() and VULKAN_HEADERS_MARKER in structs.read_text(errors="replace")


def fetch_vulkan_headers() -> Path:
    """Download Debian 13's libvulkan-dev with apt (its own lists and cache under ours: the system's
    sources and packages are untouched) and unpack its headers into the cache."""
    base = cache_home() / "vulkan-headers"
    state = base / "apt"
    for folder in (state / "lists" / "partial", state / "archives" / "partial"):
        folder.mkdir(parents=True, exist_ok=True)
    sources = state / "sources.list"
    sources.write_text(f"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
                       f"http://deb.debian.org/debian {VULKAN_HEADERS_SUITE} main\n")
    options = ["-o", f"Dir::Etc::SourceList={sources}", "-o", "Dir::Etc::SourceParts=/nonexistent",
               "-o", f"Dir::State::Lists={state / 'lists'}", "-o", f"Dir::Cache={state}",
               "-o", "APT::Sandbox::User=root", "-o", "Debug::NoLocking=1"]
    say(f"fetching Vulkan headers from Debian {VULKAN_HEADERS_SUITE} "
        "(the system's are too old for llama.cpp)")
    run(["apt-get", *options, "update", "-q"], stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        run(["apt-get", *options, "download", "-q", "libvulkan-dev"], cwd=tmp, stdout=subprocess.DEVNULL)
        deb = next(Path(tmp).glob("libvulkan-dev_*.deb"))
        version = deb.name.split("_")[1]
        target = base / version
        run(["dpkg-deb", "-x", deb, target])
    return target / "usr" / "include"


def ensure_vulkan_packages() -> None:
    """What compiling the Vulkan backend and running it on lavapipe need, from the system's packages."""
    if not sys.platform.startswith("linux") or shutil.which("dpkg-query") is None:
        say("not a Debian-like system: install the Vulkan SDK (headers, glslc, SPIRV-Headers) and a "
            "Vulkan driver yourself")
        return
    missing = [name for name in VULKAN_PACKAGES
               if subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True,
                                 text=True).stdout.strip() != "install ok installed"]
    if not missing:
        return
    prefix = [] if os.geteuid() == 0 else (["sudo"] if shutil.which("sudo") else None)
    if prefix is None:
        raise SystemExit(f"[bootstrap] the Vulkan build needs these packages: {' '.join(missing)}. "
                         f"Install them (apt install {' '.join(missing)}) and run this again.")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run([*prefix, "apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
    run([*prefix, "apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], env=env,
        stdout=subprocess.DEVNULL)


def stamp_text(cmake_args: str | None = None) -> str:
    parts = [
        SETUP_REVISION,
        sys.version,
        BUILD_CONFIG.read_text(encoding="utf-8"),
        os.environ.get("CMAKE_ARGS", "") if cmake_args is None else cmake_args,
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


def ensure_llama_wheel(python: Path, cmake_args: str | None = None) -> Path:
    cmake_args = os.environ.get("CMAKE_ARGS", "") if cmake_args is None else cmake_args
    house = wheelhouse(cmake_args)
    requirement = llama_requirement()
    version = requirement.split("==", 1)[1]
    pattern = f"llama_cpp_python-{version}-*.whl"
    if any(house.glob(pattern)):
        say(f"using the cached llama-cpp-python build in {house}")
        return house
    say(f"building {requirement} from source (a few minutes, once; CMAKE_ARGS={cmake_args!r})")
    house.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CMAKE_ARGS=cmake_args)
    with tempfile.TemporaryDirectory(dir=house.parent) as tmp:
        run([python, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", requirement, "-w", tmp], env=env)
        for built in Path(tmp).glob(pattern):
            # rename is atomic: a half-written wheel never looks cached
            built.replace(house / built.name)
    if not any(house.glob(pattern)):
        raise SystemExit(f"[bootstrap] the llama-cpp-python build left no wheel in {house}")
    return house


def ensure_installed(flavour: Flavour | None = None) -> Path:
    flavour = flavour or Flavour()
    if sys.version_info < MIN_PYTHON:
        raise SystemExit(
            f"[bootstrap] Ossian needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer; "
            f"this is {platform.python_version()}."
        )
    if flavour.modules:
        ensure_vulkan_packages()
    cmake_args = flavour.cmake_args()
    env_dir = venv_dir(flavour)
    python = ensure_venv(env_dir)
    stamp_file = env_dir / "ossian-setup.stamp"
    wanted = stamp_text(cmake_args)
    if stamp_file.exists() and stamp_file.read_text() == wanted:
        return env_dir
    house = ensure_llama_wheel(python, cmake_args)
    run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([python, "-m", "pip", "install", "--quiet",
         "--find-links", house, "--only-binary", "llama-cpp-python",
         "--editable", f"{ROOT}[dev]"])
    stamp_file.write_text(wanted)
    say("environment ready")
    return env_dir


def command_run(env_dir: Path, args: list[str], flavour: Flavour | None = None) -> int:
    if not args:  # the window, not a command-line subcommand: check what Qt will open from the system
        problem = desktop_libraries().desktop_problem()
        if problem is not None:
            say(problem)
            return 1
    return subprocess.call([str(venv_script(env_dir, "ossian")), *args])


def desktop_libraries():
    """installers/desktop_libraries.py, loaded by path (this script may itself be loaded by path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ossian_desktop_libraries",
                                                  ROOT / "installers" / "desktop_libraries.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look the module up there
    spec.loader.exec_module(module)
    return module


def command_test(env_dir: Path, args: list[str], flavour: Flavour | None = None) -> int:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    if flavour is not None and flavour.modules:
        # the GPU path on this machine's Vulkan device (lavapipe where there is no GPU): every test
        # marked `vulkan` runs, and one that cannot find the device fails instead of skipping
        env.update(VULKAN_TEST_ENV)
        say("tests: pytest -m vulkan (the module build, on the Vulkan device)")
        status = subprocess.call([str(venv_python(env_dir)), "-m", "pytest", "-m", "vulkan", *args],
                                 cwd=ROOT, env=env)
        return exit_status("pytest", status)
    say("lint: ruff check")
    lint = subprocess.call([str(venv_script(env_dir, "ruff")), "check", "."], cwd=ROOT, env=env)
    if lint != 0:
        say("lint failed")
        return lint
    servers = ensure_mcp_test_servers()
    if servers is not None:
        env["OSSIAN_MCP_TEST_SERVERS"] = str(servers)
    say("tests: pytest")
    status = subprocess.call([str(venv_python(env_dir)), "-m", "pytest", *args], cwd=ROOT, env=env)
    return exit_status("pytest", status)


def ensure_mcp_test_servers() -> Path | None:
    """The MCP reference servers the tests start (tests/tools/mcp/package.json, pinned by its lock),
    installed with npm into the cache, outside the checkout; reinstalled when the lock changes. Returns
    their node_modules folder, or None (said) where this machine has no npm: those tests then skip
    only if `node` is missing too, and fail otherwise."""
    source = ROOT / "tests" / "tools" / "mcp"
    npm = shutil.which("npm")
    if npm is None:
        say("npm not found: the MCP tests that start the reference servers need Node.js 20 or newer")
        return None
    target = cache_home() / "npm"
    lock = (source / "package-lock.json").read_bytes()
    wanted = hashlib.sha256(lock + (source / "package.json").read_bytes()).hexdigest()
    stamp = target / "ossian-npm.stamp"
    modules = target / "node_modules"
    if stamp.exists() and stamp.read_text() == wanted and modules.is_dir():
        return modules
    target.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(source / name, target / name)
    # --ignore-scripts: the servers ship built; nothing from the registry runs at install time
    run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], cwd=target)
    stamp.write_text(wanted)
    return modules


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
        print("usage: bootstrap.py run|test|setup [--vulkan] [ARGS...]", file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    flavour = Flavour("vulkan" if "--vulkan" in rest else "default")
    rest = [arg for arg in rest if arg != "--vulkan"]
    env_dir = ensure_installed(flavour)
    action = commands[command]
    return 0 if action is None else action(env_dir, rest, flavour)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
