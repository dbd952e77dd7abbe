"""The offline half of bench/gpu_check.py: a bundle to build llama-cpp-python's CUDA module without a network.

    python3 bench/gpu_check.py --prepare DIR [--sdist llama_cpp_python-0.3.36.tar.gz]   # connected machine
    python3 bench/gpu_check.py --offline DIR                                          # the GPU machine

`--prepare` writes DIR (at most 64 MiB, or it fails):

- `llama_cpp_python-<version>-trimmed.tar.gz`: the pinned llama-cpp-python sdist without what a build never
  reads (llama.cpp's models, docs, media, tests, benches, examples, tools other than mtmd, the web UI, the
  Python conversion scripts, backends other than CPU and CUDA, .git);
- `wheels/`: what `pip wheel --no-index` needs to build it (the sdist's build requirements:
  scikit-build-core and its dependencies, for Python 3.11 to 3.13; cmake and ninja for Linux x86-64, in
  case the machine's are missing or too old) and what the check itself imports, for a bare Python
  (gguf and its dependencies, psutil, platformdirs, llama-cpp-python's runtime dependencies; for the
  Python versions named with `--runtime-python`, this one's by default);
- `gpu-check-bundle.json` (what it is, the CMAKE_ARGS, every file's size and SHA-256) and `SHA256SUMS`.

`--offline DIR` (on the GPU machine) checks every file against the manifest, builds the wheel with
`pip wheel --no-index --find-links DIR/wheels` and installs it (with the runtime wheels this Python lacks)
into a folder of its own, which gpu_check.py puts first on PYTHONPATH for itself and its children.

The build's CMAKE_ARGS are installers/llama-build.json's CPU module configuration of Linux (backends as
modules, every x86-64 CPU variant) with its `cuda` entry (GGML_CUDA on), without Vulkan (the GPU machine
need not have the Vulkan SDK) and without the mtmd library (the app never loads it); CUDA architectures
are the card's own (`nvidia-smi`'s compute capability), which takes a fraction of the time of the five
the release builds.

Standard library only: it runs before anything else is known to be importable.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_CONFIG = REPO_ROOT / "installers" / "llama-build.json"
BUNDLE_LIMIT = 64 * 2**20
MANIFEST = "gpu-check-bundle.json"
SUMS = "SHA256SUMS"
WHEELS = "wheels"
FORMAT = 1
PLATFORM_KEY = "linux-x86_64"  # the GPU machines this bundle is for
BUILD_PYTHONS = ("3.11", "3.12", "3.13")  # pure-Python build requirements: every version the app supports
WHEEL_PLATFORMS = ("manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_28_x86_64", "linux_x86_64")
# The check imports these (the app's planner and engine, the shape twins, llama_cpp itself): on a bare
# Python they come from the bundle.
RUNTIME_REQUIREMENTS = ("gguf>=0.17,<1", "psutil>=5.9,<8", "platformdirs>=4.2,<5", "numpy>=1.20",
                        "typing-extensions>=4.5.0", "diskcache>=5.6.1", "jinja2>=2.11.3")
RUNTIME_MODULES = {"gguf": "gguf>=0.17,<1", "psutil": "psutil>=5.9,<8",
                   "platformdirs": "platformdirs>=4.2,<5", "numpy": "numpy>=1.20",
                   "typing_extensions": "typing-extensions>=4.5.0",
                   "diskcache": "diskcache>=5.6.1", "jinja2": "jinja2>=2.11.3", "yaml": "pyyaml",
                   "tqdm": "tqdm", "requests": "requests"}
TOOL_REQUIREMENTS = ("cmake>=3.21", "ninja")

# What the trimmed sdist leaves out. Paths are relative to the sdist's top folder.
KEEP_TOP = {"CMakeLists.txt", "pyproject.toml", "PKG-INFO", "README.md", "LICENSE.md", "llama_cpp", "vendor"}
DROP_ANYWHERE = {".git", ".github", ".devops", ".gemini", ".pi", "__pycache__"}
LLAMA = "vendor/llama.cpp"
DROP_LLAMA_DIRS = {"models", "docs", "media", "benches", "tests", "examples", "pocs", "gguf-py", "conversion",
                   "scripts", "requirements", "app", "ci", "skills", "grammars", "licenses"}
KEEP_TOOLS = {"mtmd"}
# ggml backends nobody builds here (ggml only enters a backend's folder when it is switched on)
DROP_BACKENDS = {"ggml-sycl", "ggml-opencl", "ggml-hexagon", "ggml-metal", "ggml-webgpu", "ggml-openvino",
                 "ggml-cann", "ggml-et", "ggml-virtgpu", "ggml-zdnn", "ggml-zendnn", "ggml-musa", "ggml-hip",
                 "ggml-vulkan"}
DATA_SUFFIXES = (".gguf", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".mp3", ".wav", ".mp4", ".pdf", ".ipynb")
EXTRA_CMAKE_ARGS = ("-DLLAVA_BUILD=OFF",)  # llama-cpp-python's mtmd library: never loaded by the app


def say(text: str) -> None:
    print(f"[gpu-check] {text}", flush=True)


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


# ---- what the build needs ----

def trim_reason(relative: str) -> str | None:
    """Why a file of the sdist (path below its top folder) is left out of the bundle; None: kept."""
    parts = PurePosixPath(relative).parts
    if not parts:
        return None
    if DROP_ANYWHERE & set(parts):
        return "version control and CI files"
    if parts[0] not in KEEP_TOP:
        return "llama-cpp-python's docs, tests and examples"
    if parts[-1].lower().endswith(DATA_SUFFIXES):
        return "models, images and other data"
    if relative.startswith(LLAMA + "/"):
        rest = parts[2:]
        if len(rest) == 1 and rest[0].endswith(".py"):
            return "llama.cpp's Python conversion scripts"
        if len(rest) > 1 and rest[0] in DROP_LLAMA_DIRS:
            return f"llama.cpp's {rest[0]}/"
        if len(rest) > 1 and rest[0] == "tools" and rest[1] not in KEEP_TOOLS:
            return "llama.cpp's tools (only mtmd is part of llama-cpp-python's build)"
        if len(rest) > 2 and rest[:2] == ("ggml", "src") and rest[2] in DROP_BACKENDS:
            return "ggml backends other than CPU and CUDA"
    return None


def combined_cmake_args(config: dict, cuda_arch: str | None = None, key: str = PLATFORM_KEY) -> list[str]:
    """CMAKE_ARGS of the check's build: the platform's CPU module configuration with the `cuda` entry of
    llama-build.json (so one build carries the CPU variants and the CUDA module), without Vulkan and the
    cuda entry's GGML_CPU=OFF; `cuda_arch` replaces CMAKE_CUDA_ARCHITECTURES (e.g. "90-real")."""
    args: list[str] = []
    for arg in [*config["platforms"][key]["cmake_args"], *config["cuda"]["cmake_args"], *EXTRA_CMAKE_ARGS]:
        name = arg.split("=", 1)[0]
        if name in ("-DGGML_VULKAN", "-DGGML_CPU"):
            continue
        if name == "-DCMAKE_CUDA_ARCHITECTURES" and cuda_arch:
            arg = f"{name}={cuda_arch}"
        args = [a for a in args if a.split("=", 1)[0] != name] + [arg]
    return args


def cuda_arch_of(compute_cap: str) -> str | None:
    """nvidia-smi's compute capability ("8.9", "9.0") as a CMake architecture ("89-real")."""
    match = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", compute_cap)
    return f"{match[1]}{match[2]}-real" if match else None


def llama_requirement() -> str:
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for requirement in data["project"]["dependencies"]:
        if re.match(r"llama-cpp-python\s*==", requirement):
            return requirement.replace(" ", "")
    raise SystemExit("pyproject.toml does not pin llama-cpp-python with ==")


# ---- --prepare ----

@dataclass(frozen=True)
class Trimmed:
    path: Path
    kept_files: int
    kept_bytes: int
    dropped_bytes: int
    dropped: dict[str, int]  # reason -> bytes
    build_requires: tuple[str, ...]


def trim_sdist(sdist: Path, out_dir: Path) -> Trimmed:
    """Write the trimmed sdist (same top folder, gzip) into out_dir."""
    dropped: dict[str, int] = {}
    kept_files = kept_bytes = 0
    build_requires: tuple[str, ...] = ()
    with tarfile.open(sdist) as source:
        members = source.getmembers()
        top = members[0].name.split("/", 1)[0]
        target = out_dir / f"{top}-trimmed.tar.gz"
        with tarfile.open(target, "w:gz", compresslevel=9) as sink:
            for member in sorted(members, key=lambda m: m.name):
                relative = member.name.split("/", 1)[1] if "/" in member.name else ""
                reason = trim_reason(relative)
                if reason is not None:
                    dropped[reason] = dropped.get(reason, 0) + member.size
                    continue
                if member.isfile():
                    data = source.extractfile(member)
                    assert data is not None
                    content = data.read()
                    if relative == "pyproject.toml":
                        build_requires = tuple(tomllib.loads(content.decode())["build-system"]["requires"])
                    sink.addfile(member, io.BytesIO(content))
                    kept_files += 1
                    kept_bytes += member.size
                elif member.isdir() or member.issym():
                    sink.addfile(member)
    if not build_requires:
        raise SystemExit(f"{sdist.name} has no pyproject.toml with build-system requirements")
    return Trimmed(target, kept_files, kept_bytes, sum(dropped.values()), dropped, build_requires)


def pip_download(requirements: list[str], dest: Path, pythons: tuple[str, ...]) -> None:
    """Wheels for these requirements (and their dependencies), for each Python version, into dest."""
    for version in pythons:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(dest), "--only-binary",
                   ":all:", "--python-version", version, "--implementation", "cp"]
        for tag in WHEEL_PLATFORMS:
            command += ["--platform", tag]
        subprocess.run([*command, *requirements], check=True)


def get_sdist(requirement: str, explicit: Path | None, work: Path) -> Path:
    if explicit is not None:
        return explicit
    say(f"downloading the {requirement} sdist")
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
                    "--dest", str(work), requirement], check=True)
    found = sorted(work.glob("llama_cpp_python-*.tar.gz"))
    if not found:
        raise SystemExit("pip download left no llama-cpp-python sdist")
    return found[0]


def prepare(out: Path, sdist: Path | None = None, runtime_pythons: tuple[str, ...] = (),
            tools: bool = True, runtime: bool = True) -> int:
    """Write the bundle into `out` (emptied first). Returns 0, or 1 when it is over the limit."""
    started = time.perf_counter()
    requirement = llama_requirement()
    version = requirement.split("==", 1)[1]
    config = json.loads(BUILD_CONFIG.read_text(encoding="utf-8"))
    if out.exists():
        shutil.rmtree(out)
    (out / WHEELS).mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="gpu-check-sdist-") as work:
        source = get_sdist(requirement, sdist, Path(work))
        if f"-{version}." not in source.name:
            raise SystemExit(f"{source.name} is not llama-cpp-python {version}, which pyproject.toml pins")
        say(f"trimming {source.name} ({mib(source.stat().st_size)})")
        trimmed = trim_sdist(source, out)
    groups: dict[str, list[str]] = {}

    def download(group: str, requirements: list[str], pythons: tuple[str, ...]) -> None:
        before = set((out / WHEELS).iterdir())
        say(f"pip download ({group}): {' '.join(requirements)} for Python {', '.join(pythons)}")
        pip_download(requirements, out / WHEELS, pythons)
        groups[group] = sorted(p.name for p in set((out / WHEELS).iterdir()) - before)

    download("build", list(trimmed.build_requires), BUILD_PYTHONS)
    if tools:
        download("tools", list(TOOL_REQUIREMENTS), BUILD_PYTHONS[:1])
    if runtime:
        pythons = runtime_pythons or (f"{sys.version_info[0]}.{sys.version_info[1]}",)
        download("runtime", list(RUNTIME_REQUIREMENTS), pythons)
    files = [trimmed.path, *sorted((out / WHEELS).iterdir())]
    group_of = {name: group for group, names in groups.items() for name in names}
    entries = [{"name": str(path.relative_to(out)), "size": path.stat().st_size, "sha256": sha256_file(path),
                "group": group_of.get(path.name, "source")} for path in files]
    manifest = {
        "format": FORMAT,
        "what": "llama-cpp-python sources and wheels to build its CUDA module offline for bench/gpu_check.py",
        "llama_cpp_python": version,
        "platform": PLATFORM_KEY,
        "source": {"name": trimmed.path.name, "kept_files": trimmed.kept_files,
                   "kept_bytes": trimmed.kept_bytes, "dropped_bytes": trimmed.dropped_bytes,
                   "dropped": trimmed.dropped},
        "build_requires": list(trimmed.build_requires),
        "cmake_args": combined_cmake_args(config),
        "prepared": {"python": platform.python_version(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
        "files": entries,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (out / SUMS).write_text("".join(f"{e['sha256']}  {e['name']}\n" for e in entries), encoding="utf-8")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    say(f"source: {trimmed.path.name}, {mib(trimmed.path.stat().st_size)} ({trimmed.kept_files:,} files, "
        f"{mib(trimmed.kept_bytes)} unpacked; {mib(trimmed.dropped_bytes)} left out)")
    for reason, size in sorted(trimmed.dropped.items(), key=lambda item: -item[1]):
        say(f"  left out {mib(size):>10}: {reason}")
    for group, names in groups.items():
        size = sum(e["size"] for e in entries if e["group"] == group)
        say(f"wheels ({group}): {len(names)}, {mib(size)}: {', '.join(names)}")
    say(f"bundle {out}: {mib(total)} in all (limit {mib(BUNDLE_LIMIT)}), made in "
        f"{time.perf_counter() - started:.0f} s")
    if total > BUNDLE_LIMIT:
        say(f"FAILED: the bundle is {mib(total - BUNDLE_LIMIT)} over the limit; leave out the runtime wheels "
            "(--no-runtime) or cmake and ninja (--no-tools)")
        return 1
    return 0


# ---- --offline: verify, build, install ----

def verify_bundle(bundle: Path) -> dict:
    """The manifest, after every file listed in it was found with its size and SHA-256."""
    try:
        manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{bundle} is not a gpu-check bundle ({exc}); make one with --prepare") from None
    if manifest.get("format") != FORMAT:
        raise SystemExit(f"{bundle / MANIFEST}: format {manifest.get('format')}, this script reads {FORMAT}")
    bad = []
    for entry in manifest["files"]:
        path = bundle / entry["name"]
        if not path.is_file() or path.stat().st_size != entry["size"] or sha256_file(path) != entry["sha256"]:
            bad.append(entry["name"])
    if bad:
        raise SystemExit(f"the bundle in {bundle} is damaged or incomplete: {', '.join(bad)}")
    return manifest


@dataclass(frozen=True)
class Toolkit:
    nvcc: Path
    home: Path


def find_cuda_toolkit(environ: dict[str, str] | None = None) -> Toolkit | None:
    """nvcc and the toolkit folder: CUDA_HOME / CUDA_PATH, else nvcc on PATH (a wrapper script that execs
    the real one is followed), else /usr/local/cuda."""
    environ = dict(os.environ) if environ is None else environ
    candidates = [Path(environ[name]) for name in ("CUDA_HOME", "CUDA_PATH") if environ.get(name)]
    on_path = shutil.which("nvcc", path=environ.get("PATH"))
    if on_path:
        real = Path(on_path).resolve()
        try:
            text = real.read_bytes()[:4096]
        except OSError:
            text = b""
        if text.startswith(b"#!"):
            match = re.search(rb"exec\s+(\S+/nvcc)\b", text)
            if match:
                real = Path(match[1].decode()).resolve()
        candidates.append(real.parent.parent)
    candidates.append(Path("/usr/local/cuda"))
    for home in candidates:
        nvcc = home / "bin" / "nvcc"
        if nvcc.is_file():
            return Toolkit(nvcc, home.resolve())
    return None


def toolkit_libraries(toolkit: Toolkit) -> list[Path]:
    return [p for p in (toolkit.home / "lib64", toolkit.home / "targets" / "x86_64-linux" / "lib",
                        toolkit.home / "lib") if p.is_dir()]


def toolkit_problem(toolkit: Toolkit) -> str | None:
    """What ggml-cuda needs from the toolkit and this one lacks (cuBLAS is a separate package)."""
    folders = toolkit_libraries(toolkit)
    for library in ("cudart", "cublas", "cublasLt"):
        if not any(any(f.glob(f"lib{library}.so*")) for f in folders):
            return (f"the CUDA toolkit in {toolkit.home} has no lib{library}.so (looked in "
                    f"{', '.join(map(str, folders)) or 'no library folder'}); ggml-cuda links it: install "
                    "the toolkit's cuBLAS development package")
    return None


def nvidia_gpu_present() -> str | None:
    """The driver's view of the GPUs ("NVIDIA H100 80GB HBM3, 9.0"), or None without driver or GPU."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "(nvidia-smi not found)" if Path("/proc/driver/nvidia/version").exists() else None
    done = subprocess.run([smi, "--query-gpu=name,compute_cap", "--format=csv,noheader"], capture_output=True,
                          text=True, timeout=60)
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return "; ".join(lines) if done.returncode == 0 and lines else None


def build_stamp(manifest: dict, cmake_args: list[str]) -> str:
    return hashlib.sha256(json.dumps([manifest["files"], cmake_args]).encode()).hexdigest()


def missing_runtime_modules() -> list[str]:
    import importlib.util

    return [requirement for module, requirement in RUNTIME_MODULES.items()
            if importlib.util.find_spec(module) is None]


def build_offline(bundle: Path, folder: Path, cuda_arch: str | None, jobs: int,
                  toolkit: Toolkit | None) -> Path:
    """Build llama-cpp-python from the bundle and install it into folder/site; returns that folder.
    A folder that already holds this build (same files, same CMAKE_ARGS) is used as it is."""
    manifest = verify_bundle(bundle)
    config = json.loads(BUILD_CONFIG.read_text(encoding="utf-8"))
    cmake_args = combined_cmake_args(config, cuda_arch)
    site, wheel_dir, log_path = folder / "site", folder / "wheel", folder / "build.log"
    stamp = site / ".gpu-check-build"
    wanted = build_stamp(manifest, cmake_args)
    if stamp.exists() and stamp.read_text() == wanted:
        say(f"using the build in {site} (made earlier from the same bundle and CMAKE_ARGS)")
        return site
    if site.exists():
        shutil.rmtree(site)
    shutil.rmtree(wheel_dir, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CMAKE_ARGS=" ".join(cmake_args), CMAKE_BUILD_PARALLEL_LEVEL=str(jobs))
    if toolkit is not None:
        env.update(CUDACXX=str(toolkit.nvcc), CUDAToolkit_ROOT=str(toolkit.home))
        env["PATH"] = f"{toolkit.nvcc.parent}{os.pathsep}{env.get('PATH', '')}"
    source = bundle / manifest["source"]["name"]
    wheels = bundle / WHEELS
    say(f"building llama-cpp-python {manifest['llama_cpp_python']} offline with {jobs} jobs, "
        f"CMAKE_ARGS={env['CMAKE_ARGS']!r} (log: {log_path})")
    started = time.perf_counter()
    command = [sys.executable, "-m", "pip", "wheel", "--no-index", "--find-links", str(wheels), "--no-deps",
               "--no-cache-dir", "--verbose", "-w", str(wheel_dir), str(source)]
    with log_path.open("w", encoding="utf-8") as log:
        done = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        raise SystemExit("the offline build failed:\n  " + "\n  ".join(tail))
    built = sorted(wheel_dir.glob("llama_cpp_python-*.whl"))
    say(f"built {built[0].name} in {time.perf_counter() - started:.0f} s")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--target",
                    str(site), str(built[0])], check=True)
    missing = missing_runtime_modules()
    if missing:
        say(f"installing what this Python lacks from the bundle: {', '.join(missing)}")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
                        str(wheels), "--target", str(site), *missing], check=True)
    stamp.write_text(wanted)
    return site


def main(argv: list[str]) -> int:
    """`--prepare DIR` as a script of its own (gpu_check.py --prepare calls `prepare` the same way)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sdist", type=Path)
    parser.add_argument("--runtime-python", action="append", default=[])
    parser.add_argument("--no-tools", action="store_true")
    parser.add_argument("--no-runtime", action="store_true")
    args = parser.parse_args(argv)
    return prepare(args.out, args.sdist, tuple(args.runtime_python), tools=not args.no_tools,
                   runtime=not args.no_runtime)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
