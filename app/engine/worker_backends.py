"""llama.cpp's backends as modules: find them in the app's own folder, load the best of each, say why not.

A release build of llama.cpp (`GGML_BACKEND_DL=ON`, `GGML_CPU_ALL_VARIANTS=ON`) carries its backends as
loadable modules: one `ggml-cpu-<variant>` per x86-64 instruction set (sandybridge, haswell, skylakex,
icelake, alderlake, zen4, ...) and one per GPU API (`ggml-vulkan`, `ggml-cuda`, `ggml-metal`). Nothing is
registered until someone loads them, and llama-cpp-python never does (its issue #2069): ggml's own
`ggml_backend_load_all()` looks next to the *executable*, which for a Python host is the interpreter's
folder. So the worker and the probe call `load_backends()` first thing, before llama.cpp does anything.

It picks modules the way ggml's `ggml_backend_load_best` does (per backend, the variant whose
`ggml_backend_score()` is highest; score 0 means "this CPU cannot run it"), but one file at a time, so
that it can report every module: loaded, not chosen (and why), or failed (the dynamic loader's reason
in words a person can act on: no Vulkan loader, no NVIDIA driver, a driver too old). GPU modules of
installed backend packs (CUDA 12, a separate download: `backend_packs`) load after the app's own.

Every call goes through the libggml that libllama itself links (`llama_cpp.llama_cpp._lib` resolves
ggml's symbols through libllama's dependencies): a second copy of libggml, opened by another file name,
would hold a second registry that llama.cpp never sees. A build without modules (the development CPU
build: backends linked in) reports its built-in backends and loads nothing.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp import llama_cpp as llama_c

from app.engine.backend_packs import pack_folders

# The order ggml's loader tries backends in (ggml-backend-reg.cpp): GPUs first, the CPU last.
BACKEND_ORDER = ("blas", "zendnn", "cann", "cuda", "hip", "metal", "rpc", "sycl", "vulkan", "virtgpu",
                 "opencl", "hexagon", "musa", "openvino", "cpu")
MODULE_NAME = re.compile(r"^(?:lib)?ggml-(?P<backend>[a-z0-9]+)(?:-(?P<variant>[A-Za-z0-9_]+))?\.(?:so|dll)$")
NOT_BACKENDS = {"base"}  # libggml-base is the library every module links, not a backend
BACKEND_DIR_VARIABLE = "OSSIAN_BACKEND_DIR"  # a folder of modules to use instead of the installed ones


@dataclass(frozen=True)
class BackendModule:
    """One backend module file, and what became of it."""

    name: str  # the module's name, e.g. "ggml-cpu-haswell", "ggml-vulkan"; a built-in backend: "CPU"
    backend: str  # ggml's backend name in lower case: cpu, vulkan, cuda, metal, ...
    variant: str  # the CPU variant (haswell, skylakex, ...), "" for a module without variants
    path: str  # the file; "" for a backend linked into libggml
    loaded: bool
    score: int | None = None  # ggml_backend_score(): 0 = cannot run on this machine; None = has none
    devices: int = 0  # devices the backend registered
    error: str | None = None  # why it was not loaded (or, loaded, why it has no device)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["error"] is None:
            del data["error"]
        return data


@dataclass(frozen=True)
class BackendReport:
    modules: tuple[BackendModule, ...]
    folder: str  # where the modules were found; "" for a build with backends linked in
    built_in: bool  # True: this build has no modules (backends linked into libggml)
    error: str | None = None  # set when no backend at all is usable: llama.cpp cannot run
    notes: tuple[str, ...] = field(default=())

    @property
    def cpu_variant(self) -> str:
        """The CPU variant that won ("" on a build without variants)."""
        return next((m.variant for m in self.modules if m.backend == "cpu" and m.loaded), "")

    def as_list(self) -> list[dict[str, Any]]:
        return [module.as_dict() for module in self.modules]


_report: BackendReport | None = None


def load_backends() -> BackendReport:
    """Load this installation's backend modules once per process (later calls return the same report)."""
    global _report
    if _report is None:
        llama_c.llama_backend_init()
        _report = _load(_ggml())
    return _report


def module_folders() -> list[Path]:
    """Where modules may be, in order: an explicit override, the frozen app's own folder, llama_cpp's
    library folder, and the top-level `bin/` that a llama-cpp-python wheel built with modules installs
    them into (next to the llama_cpp package in site-packages)."""
    override = os.environ.get(BACKEND_DIR_VARIABLE)
    if override:
        return [Path(override)]
    package = Path(llama_cpp.__file__).resolve().parent
    folders = []
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        folders.append(Path(frozen_root) / "ggml-backends")
    folders += [package / "lib", package.parent / "bin"]
    return folders


def find_modules(folders: Iterable[Path]) -> tuple[Path | None, list[tuple[str, str, Path]]]:
    """(folder, [(backend, variant, path)]) for the first folder that holds a CPU module, else the first
    that holds any module. One folder only: the same module in two folders would register twice."""
    found: list[tuple[Path, list[tuple[str, str, Path]]]] = []
    for folder in folders:
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        modules = []
        for entry in entries:
            match = MODULE_NAME.match(entry.name)
            if match and match["backend"] not in NOT_BACKENDS and entry.is_file():
                modules.append((match["backend"], match["variant"] or "", entry))
        if modules:
            found.append((folder, modules))
    for folder, modules in found:
        if any(backend == "cpu" for backend, _, _ in modules):
            return folder, modules
    return (found[0] if found else (None, []))


def _load(ggml: ctypes.CDLL) -> BackendReport:
    if ggml.ggml_backend_reg_count() > 0:
        # backends linked in: nothing to load (a development build, or a static one)
        return BackendReport(modules=_registered(ggml), folder="", built_in=True)
    folders = module_folders()
    folder, found = find_modules(folders)
    if folder is None:
        where = ", ".join(str(f) for f in folders)
        return BackendReport(modules=(), folder="", built_in=False, error=(
            f"This llama.cpp build loads its backends as modules, and none was found (looked in {where}). "
            "Reinstall Ossian; from a checkout, run the set-up again."))
    if sys.platform == "win32":
        # the modules' own dependencies (ggml-base, the CUDA runtime) live there
        os.add_dll_directory(str(folder))
    modules: list[BackendModule] = []
    known = [b for b in BACKEND_ORDER if any(backend == b for backend, _, _ in found)]
    known += sorted({backend for backend, _, _ in found} - set(BACKEND_ORDER))
    for backend in known:
        files = [(variant, path) for b, variant, path in found if b == backend]
        modules += _load_backend(ggml, backend, files)
    modules += _load_packs(ggml, {m.backend for m in modules if m.loaded})
    report = BackendReport(modules=tuple(modules), folder=str(folder), built_in=False)
    if not any(m.loaded and m.backend == "cpu" for m in modules):
        reasons = "; ".join(f"{m.name}: {m.error}" for m in modules if m.backend == "cpu" and m.error)
        report = BackendReport(modules=report.modules, folder=report.folder, built_in=False, error=(
            f"No CPU backend of llama.cpp could be loaded from {folder}"
            + (f" ({reasons})" if reasons else " (there is none)")
            + ". Reinstall Ossian; from a checkout, run the set-up again."))
    return report


def _load_backend(ggml: ctypes.CDLL, backend: str, files: list[tuple[str, Path]]) -> list[BackendModule]:
    """Score every variant, load the best one; the base module (no variant) when no variant can run."""
    scored: list[tuple[str, Path, int | None, str | None]] = []
    for variant, path in files:
        score, error = _score(path)
        scored.append((variant, path, score, error))
    variants = [s for s in scored if s[0]]
    best = max((s for s in variants if (s[2] or 0) > 0), key=lambda s: s[2] or 0, default=None)
    if best is None:
        best = next((s for s in scored if not s[0] and s[3] is None), None)
    results = []
    for variant, path, score, error in scored:
        name = path.name.removeprefix("lib").rsplit(".", 1)[0]
        if error is not None:
            results.append(BackendModule(name, backend, variant, str(path), False, score, error=error))
        elif best is None or path != best[1]:
            why = ("this CPU lacks the instructions it needs" if variant and score == 0 else
                   f"{best[0] or best[1].name} scored higher" if best is not None else "not chosen")
            results.append(BackendModule(name, backend, variant, str(path), False, score,
                                         error=f"not chosen: {why}"))
        else:
            results.append(_register(ggml, name, backend, variant, path, score))
    opened = not any(r.error and not r.error.startswith("not chosen") for r in results)
    if best is None and variants and opened:
        results = [BackendModule(r.name, r.backend, r.variant, r.path, False, r.score,
                                 error="this CPU lacks the instructions every variant needs")
                   for r in results]
    return results


def _load_packs(ggml: ctypes.CDLL, loaded: set[str]) -> list[BackendModule]:
    """GPU modules from installed backend packs (app.engine.backend_packs: CUDA 12, downloaded apart),
    each in its own folder with the runtime it needs; a backend the app's own folder gave already is not
    loaded twice (two registrations would be two devices for one card)."""
    modules = []
    for folder in pack_folders():
        _, found = find_modules([folder])
        for backend, variant, path in found:
            if backend == "cpu":
                continue
            name = path.name.removeprefix("lib").rsplit(".", 1)[0]
            if backend in loaded:
                modules.append(BackendModule(name, backend, variant, str(path), False,
                                             error=f"not chosen: the {backend} backend is loaded already"))
                continue
            if sys.platform == "win32":
                os.add_dll_directory(str(folder))
            _, error = _score(path)
            if error is not None:
                modules.append(BackendModule(name, backend, variant, str(path), False, error=error))
                continue
            module = _register(ggml, name, backend, variant, path, None)
            modules.append(module)
            if module.loaded:
                loaded.add(backend)
    return modules


def _score(path: Path) -> tuple[int | None, str | None]:
    """Open the module the way ggml will and read its score; (None, reason) when it cannot be opened."""
    try:
        handle = ctypes.CDLL(str(path))
    except OSError as exc:
        return None, explain_load_error(str(exc))
    score_function = getattr(handle, "ggml_backend_score", None)
    if score_function is None:
        return None, None
    score_function.argtypes = []
    score_function.restype = ctypes.c_int
    return int(score_function()), None


def _register(ggml: ctypes.CDLL, name: str, backend: str, variant: str, path: Path,
              score: int | None) -> BackendModule:
    reg = ggml.ggml_backend_load(os.fsencode(path))
    if not reg:
        return BackendModule(name, backend, variant, str(path), False, score, error=_init_failure(backend))
    devices = int(ggml.ggml_backend_reg_dev_count(reg))
    error = None if devices or backend == "cpu" else _no_device(backend)
    return BackendModule(name, backend, variant, str(path), True, score, devices, error)


def _registered(ggml: ctypes.CDLL) -> tuple[BackendModule, ...]:
    modules = []
    for index in range(ggml.ggml_backend_reg_count()):
        reg = ggml.ggml_backend_reg_get(index)
        reg_name = (ggml.ggml_backend_reg_name(reg) or b"").decode(errors="replace")
        devices = int(ggml.ggml_backend_reg_dev_count(reg))
        modules.append(BackendModule(reg_name, reg_name.lower(), "", "", True, None, devices,
                                     None if devices or reg_name == "CPU" else _no_device(reg_name.lower())))
    return tuple(modules)


def explain_load_error(message: str) -> str:
    """The dynamic loader's complaint, with what to do about it."""
    lowered = message.lower()
    if "libvulkan" in lowered or "vulkan-1.dll" in lowered:
        return ("the Vulkan loader (libvulkan) is not installed: install your GPU driver's Vulkan support "
                f"(on Debian/Ubuntu: libvulkan1 and mesa-vulkan-drivers) [{message}]")
    if "libcuda.so" in lowered or "nvcuda.dll" in lowered:
        return f"no NVIDIA driver found (libcuda): install the NVIDIA driver to use the GPU [{message}]"
    if "cudart" in lowered or "cublas" in lowered:
        return f"the CUDA runtime libraries are missing next to the module: reinstall Ossian [{message}]"
    if "glibc" in lowered or "version `" in lowered:
        return f"built for a newer system than this one [{message}]"
    return message


def _init_failure(backend: str) -> str:
    if backend == "vulkan":
        return ("the Vulkan driver did not start: no Vulkan driver for a GPU is installed, or it is too old "
                "(llama.cpp needs Vulkan 1.2); update the GPU driver")
    if backend == "cuda":
        return "the CUDA backend did not start: the NVIDIA driver may be too old for CUDA 12; update it"
    return f"llama.cpp could not start the {backend} backend (see the log)"


def _no_device(backend: str) -> str:
    if backend == "vulkan":
        return ("loaded, but no usable Vulkan GPU: none has Vulkan 1.2, or the only one is a software "
                "renderer (llvmpipe/lavapipe), which llama.cpp skips unless GGML_VK_VISIBLE_DEVICES names it")
    return f"loaded, but the {backend} backend found no device"


def _ggml() -> ctypes.CDLL:
    """libllama's handle, with ggml's registry functions declared (they resolve through its libggml)."""
    lib = llama_c._lib
    c_size_t, c_void_p, c_char_p = ctypes.c_size_t, ctypes.c_void_p, ctypes.c_char_p
    for name, argtypes, restype in (
        ("ggml_backend_reg_count", [], c_size_t),
        ("ggml_backend_reg_get", [c_size_t], c_void_p),
        ("ggml_backend_reg_name", [c_void_p], c_char_p),
        ("ggml_backend_reg_dev_count", [c_void_p], c_size_t),
        ("ggml_backend_load", [c_char_p], c_void_p),
    ):
        function = getattr(lib, name)
        function.argtypes = argtypes
        function.restype = restype
    return lib
