"""Which system libraries a frozen build links to from outside itself, and which package owns each.

Used by build_deb.py (and the AppDir script) to prove the package declares every library the bundle
leaves to the system. It runs `ldd` on each ELF file of the build with LD_LIBRARY_PATH set to the
bundle's `_internal/` (as PyInstaller's bootloader does at run time), keeps what resolves outside the
bundle or not at all, and asks `dpkg -S` for the owner. Standard library only; Linux only.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

# The dynamic loader and the vDSO are the kernel's and libc's, not dependencies to declare.
_LOADER_NAMES = ("linux-vdso", "ld-linux", "ld64.so")


def elf_files(tree: Path) -> list[Path]:
    found = []
    for dirpath, _dirs, names in os.walk(tree):
        for name in names:
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def external_libraries(app: Path) -> dict[str, str | None]:
    """soname -> owning Debian package (None when not installed here or owned by no package)."""
    app = app.resolve()
    env = dict(os.environ, LD_LIBRARY_PATH=str(app / "_internal"))
    external: dict[str, str | None] = {}
    for elf in elf_files(app):
        done = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, env=env)
        for line in done.stdout.splitlines():
            soname, arrow, rest = line.strip().partition(" => ")
            if not arrow or soname.startswith(_LOADER_NAMES):
                continue
            target = rest.split(" (", 1)[0].strip()
            if target == "not found":
                external.setdefault(soname, None)
            elif not Path(target).resolve().is_relative_to(app):
                external[soname] = external.get(soname) or owner(target)
    return external


@cache
def owner(path: str) -> str | None:
    """The package that installed `path`, trying the /lib and /usr/lib spellings of merged-/usr systems."""
    candidates = {path, str(Path(path).resolve())}
    candidates |= {c.removeprefix("/usr") for c in candidates if c.startswith("/usr/lib")}
    candidates |= {"/usr" + c for c in candidates if c.startswith("/lib")}
    for candidate in sorted(candidates):
        done = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout:
            return done.stdout.split(":", 1)[0].strip()
    return None
