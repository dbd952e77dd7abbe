"""PyInstaller hook for llama-cpp-python: its shared libraries, which it loads through ctypes.

llama_cpp opens `llama_cpp/lib/libllama.*` (and ggml's libraries next to it) by path at import time, so
nothing in the import graph points at them: without this hook the frozen app fails with "Shared library
with base name 'llama' not found". `collect_dynamic_libs` keeps the `llama_cpp/lib` destination, which
is where `llama_cpp._ctypes_extensions` looks relative to its own `__file__`.

On Linux and macOS the wheel ships `libllama.so -> libllama.so.0 -> libllama.so.0.5.0`. llama_cpp opens
the first name, and libllama's own dependencies name ggml by its soname (`libggml.so.0`). Collecting
only the unversioned names makes PyInstaller copy the sonames in as separate files, so ggml would be
loaded twice (two inodes, two device registries). Collecting every versioned file too lets PyInstaller
keep the links as links: one copy of each library, loaded once, as in the wheel.
"""

from pathlib import Path

from PyInstaller.utils.hooks import collect_dynamic_libs, get_package_paths

DEST = "llama_cpp/lib"

binaries = collect_dynamic_libs("llama_cpp")
_lib_dir = Path(get_package_paths("llama_cpp")[1]) / "lib"
if _lib_dir.is_dir():
    _have = {Path(src).name for src, _ in binaries}
    binaries += [
        (str(path), DEST)
        for path in sorted(_lib_dir.iterdir())
        if path.name not in _have and (".so." in path.name or path.suffix in {".so", ".dylib", ".dll"})
    ]
