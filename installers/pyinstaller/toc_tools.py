"""Small passes over PyInstaller's file lists (TOCs), used by ossian.spec after the analysis.

A TOC entry is `(dest_name, src_name, typecode)`; for a 'SYMLINK' entry `src_name` is the link's
relative target. Kept out of the spec so the spec reads as configuration.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from pathlib import PurePosixPath

# GPU API loaders that belong to the system, not the bundle: the Vulkan loader must be the one that knows
# the installed drivers (libvulkan1 on Debian/Ubuntu, vulkan-1.dll from the GPU driver on Windows).
# PyInstaller excludes libcuda and the GL stack itself, but not these: the Vulkan module links
# libvulkan.so.1, and the build machine's copy (or the Vulkan SDK's, on LD_LIBRARY_PATH) would be bundled.
SYSTEM_GPU_LOADERS = re.compile(r"^(?:libvulkan\.so(?:\.\d+)*|vulkan-1\.dll|libvulkan(?:\.\d+)*\.dylib)$",
                                re.IGNORECASE)


def drop_qt_translations(entries: list[tuple]) -> list[tuple]:
    """Qt's own translations (about 25 MB): the app installs no QTranslator, so none would be read.

    They sit in PySide6/Qt/translations (Linux, macOS) or PySide6/translations (Windows).
    """
    def is_translation(dest: str) -> bool:
        parts = PurePosixPath(dest.replace("\\", "/")).parts
        return parts[:1] == ("PySide6",) and "translations" in parts[1:-1]

    return [entry for entry in entries if not is_translation(entry[0])]


def drop_system_gpu_loaders(binaries: list[tuple]) -> list[tuple]:
    """Leave the Vulkan loader to the system: a module that links it and finds none reports why
    (app.engine.worker_backends.explain_load_error), and the .deb recommends libvulkan1."""
    return [entry for entry in binaries
            if not SYSTEM_GPU_LOADERS.match(PurePosixPath(entry[0].replace("\\", "/")).name)]


def link_identical_llama_libs(binaries: list[tuple]) -> list[tuple]:
    """Turn byte-identical copies in llama_cpp/lib into symlinks to the longest (versioned) name.

    A wheel cannot hold symlinks, so llama-cpp-python's ships `libllama.so`, `libllama.so.0` and
    `libllama.so.0.5.0` as three copies. Links cut the folder to a third (23 MB to 8 MB on Linux) and
    make every name one inode, so the dynamic loader maps each library once however it is asked for
    (ctypes opens the plain name, libllama's dependencies ask for the soname). No-op on Windows,
    where the DLLs have one name each.
    """
    if os.name == "nt":
        return binaries
    groups: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for entry in binaries:
        dest, src, typecode = entry
        if typecode == "BINARY" and PurePosixPath(dest).parent.as_posix() == "llama_cpp/lib":
            groups[(PurePosixPath(dest).parent.as_posix(), _digest(src))].append(entry)
    replaced: dict[str, tuple] = {}
    for entries in groups.values():
        if len(entries) < 2:
            continue
        keeper = max(entries, key=lambda e: len(PurePosixPath(e[0]).name))
        for dest, _src, _typecode in entries:
            if dest != keeper[0]:
                replaced[dest] = (dest, PurePosixPath(keeper[0]).name, "SYMLINK")
    return [replaced.get(entry[0], entry) for entry in binaries]


def _digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
