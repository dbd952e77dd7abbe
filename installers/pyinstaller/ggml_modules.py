"""llama.cpp's backend modules in an installed llama-cpp-python, and where the frozen app carries them.

A release build of llama.cpp (`-DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON`, with `-DGGML_VULKAN=ON`
on Linux and Windows: installers/llama-build.json) makes every backend a loadable module:
`libggml-cpu-<variant>.so` (x64, sse42, sandybridge, haswell, skylakex, icelake, alderlake, zen4, ...)
and `libggml-vulkan.so`; on Windows `ggml-cpu-<variant>.dll` and `ggml-vulkan.dll`. llama-cpp-python's
wheel installs them with ggml's own install rule, into a top-level `bin/` folder of site-packages, not
into `llama_cpp/lib/` where libllama, libggml and libggml-base are (issue #2069 upstream). Nothing
imports them, so PyInstaller sees none of them: the llama_cpp hook collects them with `collect()`.

In the frozen app they all go to one folder, `ggml-backends/` (`_internal/ggml-backends/` in a onedir
build), the first place `app.engine.worker_backends.module_folders()` looks when `sys._MEIPASS` is set.
libllama, libggml and libggml-base stay in `llama_cpp/lib/`: the modules link libggml-base by its soname
and get the copy libllama already loaded (one ggml registry), so no run-path needs changing.

A build with the backends linked in (the development CPU build, macOS with Metal) has no modules: then
there is nothing to collect and `collect()` returns an empty list. Its `libggml-cpu.so` (Windows:
`ggml-cpu.dll`) is named like a module but is an ordinary library that libggml links, and must stay in
`llama_cpp/lib`: so a file counts as a module only if it also exports `ggml_backend_init`, the entry
point ggml's loader calls (`GGML_BACKEND_DL_IMPL`), whose name is in its symbol table (ELF `.dynstr`,
PE export names) between two NUL bytes.

Standard library only: imported by the PyInstaller hook, by ossian.spec and by the tests, which point it
at a fake site-packages tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path, PurePosixPath

DEST = "ggml-backends"  # the folder in the bundle, relative to sys._MEIPASS
DISTRIBUTION = "llama_cpp_python"
# The same pattern as app/engine/worker_backends.MODULE_NAME: `[lib]ggml-<backend>[-<variant>].(so|dll)`.
# macOS builds its modules as `.so` too (CMake MODULE libraries), so `.so` covers it.
MODULE_NAME = re.compile(r"^(?:lib)?ggml-(?P<backend>[a-z0-9]+)(?:-(?P<variant>[A-Za-z0-9_]+))?\.(?:so|dll)$")
NOT_BACKENDS = {"base"}  # libggml-base: the library every module links, not a backend
# Where wheels put the modules, relative to site-packages, in the order they are searched.
FOLDERS = ("llama_cpp/lib", "llama_cpp/bin", "bin")
# The symbol every backend module exports and no linked-in backend library has (see above).
ENTRY_POINT = b"\0ggml_backend_init\0"
_CHUNK = 1 << 20


def module_backend(name: str) -> tuple[str, str] | None:
    """(backend, variant) for a module's file name, None for anything else (libggml-base.so, llama.dll)."""
    match = MODULE_NAME.match(name)
    if not match or match["backend"] in NOT_BACKENDS:
        return None
    return match["backend"], match["variant"] or ""


def is_module(name: str) -> bool:
    """Named like a module (see is_module_file for whether it is one)."""
    return module_backend(name) is not None


def exports_entry_point(path: Path) -> bool:
    """Whether the file holds ggml's module entry point name (read in chunks: Vulkan's is ~100 MB)."""
    tail = b""
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                window = tail + chunk
                if ENTRY_POINT in window:
                    return True
                tail = window[-(len(ENTRY_POINT) - 1):]
    except OSError:
        return False
    return False


def is_module_file(path: Path) -> bool:
    """A backend module: named like one and exporting `ggml_backend_init` (not the linked-in libggml-cpu)."""
    return is_module(path.name) and path.is_file() and exports_entry_point(path)


def modules_in_folders(site_packages: Path, folders: Iterable[str] = FOLDERS) -> list[Path]:
    """Module files under `site_packages` in the folders wheels use; the first of each name wins."""
    found: dict[str, Path] = {}
    for folder in folders:
        directory = site_packages / folder
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if is_module_file(path):
                found.setdefault(path.name, path)
    return list(found.values())


def modules_of_distribution(distribution: metadata.Distribution) -> list[Path]:
    """Module files the installed wheel's RECORD lists, wherever it put them (site-packages/bin, ...).

    Only the folders in FOLDERS count: a file elsewhere (the wheel's `lib/` copies, say) is not a module
    the app would look for."""
    order = {folder: index for index, folder in enumerate(FOLDERS)}
    found: list[tuple[int, str, Path]] = []
    for entry in distribution.files or ():
        posix = PurePosixPath(str(entry).replace("\\", "/"))
        folder = posix.parent.as_posix()
        if not is_module(posix.name) or folder not in order:
            continue
        path = Path(distribution.locate_file(entry))
        if is_module_file(path):
            found.append((order[folder], posix.name, path))
    first: dict[str, Path] = {}
    for _rank, name, path in sorted(found, key=lambda item: (item[0], item[1])):
        first.setdefault(name, path)
    return list(first.values())


def find_modules(site_packages: Path | None = None,
                 distribution: metadata.Distribution | None = None) -> list[Path]:
    """The modules of this llama-cpp-python: from its RECORD when it has one, else by looking in the
    folders under `site_packages`. Each file name once."""
    if distribution is None and site_packages is None:
        try:
            distribution = metadata.distribution(DISTRIBUTION)
        except metadata.PackageNotFoundError:
            return []
    found: dict[str, Path] = {}
    if distribution is not None:
        for path in modules_of_distribution(distribution):
            found.setdefault(path.name, path)
        if site_packages is None:
            site_packages = Path(distribution.locate_file(""))
    if site_packages is not None:
        for path in modules_in_folders(site_packages):
            found.setdefault(path.name, path)
    return list(found.values())


def collect(site_packages: Path | None = None,
            distribution: metadata.Distribution | None = None) -> list[tuple[str, str]]:
    """PyInstaller `binaries` entries: every module into `ggml-backends/`. Empty for a build without."""
    return [(str(path), DEST) for path in find_modules(site_packages, distribution)]


def drop_modules_elsewhere(binaries: list[tuple]) -> list[tuple]:
    """TOC pass: a module collected anywhere but `ggml-backends/` (a wheel that also keeps one in
    `llama_cpp/lib`, which collect_dynamic_libs picks up) is a second copy; drop it. A linked-in
    libggml-cpu (no entry point) stays where it is."""
    kept = []
    for entry in binaries:
        dest = PurePosixPath(entry[0].replace("\\", "/"))
        elsewhere = dest.parent.as_posix() != DEST and len(entry) > 2 and entry[2] == "BINARY"
        if elsewhere and is_module(dest.name) and is_module_file(Path(entry[1])):
            continue
        kept.append(entry)
    return kept


# llama.cpp's own libraries, which belong in llama_cpp/lib only
LLAMA_LIBRARY = re.compile(r"^(?:lib)?(?:ggml|llama|mtmd)[\w.+-]*\.(?:dll|dylib|so(?:\.\d+)*)$",
                           re.IGNORECASE)


def drop_stray_llama_copies(binaries: list[tuple]) -> list[tuple]:
    """TOC pass: a second copy of a llama_cpp/lib library that the dependency analysis found elsewhere
    in site-packages (a wheel also installs them into a top-level `lib/`, and on Windows `bin/` next to
    the modules) and collected under that folder. The loader never looks there; drop it, and point a
    top-level link that led to it at the llama_cpp/lib copy."""
    def posix(dest: str) -> PurePosixPath:
        return PurePosixPath(dest.replace("\\", "/"))

    in_lib = {posix(e[0]).name.lower(): e[0] for e in binaries
              if e[2] == "BINARY" and posix(e[0]).parent.as_posix() == "llama_cpp/lib"}
    dropped: dict[str, str] = {}
    kept = []
    for entry in binaries:
        dest = posix(entry[0])
        folder = dest.parent.as_posix()
        if (entry[2] == "BINARY" and folder not in ("llama_cpp/lib", DEST, ".")
                and LLAMA_LIBRARY.match(dest.name) and dest.name.lower() in in_lib):
            dropped[dest.as_posix()] = in_lib[dest.name.lower()]
            continue
        kept.append(entry)
    if not dropped:
        return kept
    relinked = []
    for dest, src, typecode in kept:
        if typecode == "SYMLINK":
            target = (PurePosixPath(dest).parent / src.replace("\\", "/")).as_posix().removeprefix("./")
            if target in dropped:
                depth = len(PurePosixPath(dest).parent.parts)
                src = "/".join([".."] * depth + [dropped[target]])
        relinked.append((dest, src, typecode))
    return relinked


def bundled_backends(binaries: list[tuple]) -> dict[str, list[str]]:
    """backend -> its variants ("" for a module without) among the TOC entries in `ggml-backends/`."""
    backends: dict[str, list[str]] = {}
    for entry in binaries:
        dest = PurePosixPath(entry[0].replace("\\", "/"))
        parsed = module_backend(dest.name)
        if parsed and dest.parent.as_posix() == DEST:
            backends.setdefault(parsed[0], []).append(parsed[1])
    return backends


def missing_backends(binaries: list[tuple], expected: Iterable[str]) -> list[str]:
    """The expected backends (e.g. llama-build.json's `modules`: cpu, vulkan) with no module in the TOC."""
    have = bundled_backends(binaries)
    return [backend for backend in expected if backend and backend not in have]


def summary(binaries: list[tuple]) -> str:
    """`cpu: haswell, sse42, ...; vulkan` for the build log; "none (backends built in)" without."""
    backends = bundled_backends(binaries)
    if not backends:
        return "none (backends built into llama.cpp)"
    return "; ".join(f"{backend}: {', '.join(sorted(filter(None, variants)))}" if any(variants) else backend
                     for backend, variants in sorted(backends.items()))
