"""PyInstaller hook for llama-cpp-python: its shared libraries and llama.cpp's backend modules, all loaded
through ctypes or dlopen, so the import graph shows none of them.

Libraries. llama_cpp opens `llama_cpp/lib/libllama.*` (and ggml's libraries next to it) by path at import
time: without this hook the frozen app fails with "Shared library with base name 'llama' not found".
`collect_dynamic_libs` keeps the `llama_cpp/lib` destination, which is where
`llama_cpp._ctypes_extensions` looks relative to its own `__file__`. On Linux and macOS the wheel ships
`libllama.so -> libllama.so.0 -> libllama.so.0.5.0`. llama_cpp opens the first name, and libllama's own
dependencies name ggml by its soname (`libggml.so.0`). Collecting only the unversioned names makes
PyInstaller copy the sonames in as separate files, so ggml would be loaded twice (two inodes, two device
registries). Collecting every versioned file too lets PyInstaller keep the links as links: one copy of
each library, loaded once, as in the wheel.

Backend modules. A release build (`GGML_BACKEND_DL`, installers/llama-build.json) has one module per
backend and CPU variant, which the wheel puts in site-packages' top-level `bin/` (the Vulkan one also in
`llama_cpp/lib`). They all go to `ggml-backends/` in the bundle, where the app looks first when frozen
(`app.engine.worker_backends.module_folders`), and nowhere else: no module in `llama_cpp/lib` twice.
A build without modules (the development CPU build, macOS with Metal) collects none. See
`installers/pyinstaller/ggml_modules.py`.
"""

import sys
from importlib import metadata
from pathlib import Path

from PyInstaller.utils.hooks import collect_dynamic_libs, get_package_paths, logger

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # installers/pyinstaller
import ggml_modules

DEST = "llama_cpp/lib"

binaries = [entry for entry in collect_dynamic_libs("llama_cpp")
            if not ggml_modules.is_module_file(Path(entry[0]))]
_site_packages, _package_dir = (Path(p) for p in get_package_paths("llama_cpp"))
_lib_dir = _package_dir / "lib"
if _lib_dir.is_dir():
    _have = {Path(src).name for src, _ in binaries}
    binaries += [
        (str(path), DEST)
        for path in sorted(_lib_dir.iterdir())
        if path.name not in _have and not ggml_modules.is_module_file(path)
        and (".so." in path.name or path.suffix in {".so", ".dylib", ".dll"})
    ]

try:
    _distribution = metadata.distribution(ggml_modules.DISTRIBUTION)
except metadata.PackageNotFoundError:
    _distribution = None
_modules = ggml_modules.collect(_site_packages, _distribution)
binaries += _modules
logger.info("llama.cpp backend modules for %s/: %s", ggml_modules.DEST,
            ", ".join(Path(src).name for src, _ in _modules) or "none (backends built into llama.cpp)")
