#!/usr/bin/env python3
"""Package the frozen app (dist/Ossian from installers/build.py) as a Debian/Ubuntu .deb.

    python3 installers/build.py                      # first: dist/Ossian
    python3 installers/linux/build_deb.py            # then: dist/ossian_<version>_<arch>.deb

Layout: the onedir build in /opt/ossian, /usr/bin/ossian a symlink to it, the launcher in
/usr/share/applications/ossian.desktop, the icon in /usr/share/icons/hicolor, the licence in
/usr/share/doc/ossian/copyright. No maintainer scripts: dpkg's triggers refresh the icon cache and the
desktop database when those folders change.

Dependencies: the bundle carries Python, Qt and most libraries, but not what PyInstaller leaves to the
system (glibc, libGL/EGL, libxcb, Wayland) nor what Qt's xcb platform plugin opens (libxcb-cursor0 and
friends, needed by Qt 6.5+). `DEPENDS` names them; before packaging, every library a bundled file
links to from outside the bundle (found with ldd, owned per `dpkg -S`) must be covered by `DEPENDS`
or `RECOMMENDS`, or the build stops and says which: a new plugin or backend cannot slip in unnoticed.
libc6's minimum is the build machine's glibc, which is why releases are built on an older base.

GPUs: one package for every machine. A release build carries llama.cpp's backends as modules in
/opt/ossian/_internal/ggml-backends/ (every x86-64 CPU variant, and Vulkan for AMD, Intel and NVIDIA
GPUs); the Vulkan module links the system's Vulkan loader, so `libvulkan1` is a Recommends, not a
Depends: without it that one module does not load, the app says why (`ossian doctor`) and runs on the
CPU. The GPU's Vulkan driver itself (Mesa's `mesa-vulkan-drivers`, NVIDIA's driver) is the user's.

Needs dpkg-deb (and ldd, dpkg for the check); standard library only. Options: --app, --out,
--maintainer (or OSSIAN_DEB_MAINTAINER), --depends (one more Depends entry), --no-check.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
from elf_deps import external_libraries  # noqa: E402

PACKAGE = "ossian"
DEFAULT_MAINTAINER = "The Ossian developers <ossian@users.noreply.github.com>"
HOMEPAGE = "https://github.com/ossian-app/ossian"
FIRST_YEAR = 2026  # of the copyright notice: the project's first commit
DESCRIPTION = """\
Run OpenAI's gpt-oss models on your own computer
 Ossian is a desktop chat app for OpenAI's open-weight gpt-oss models
 (gpt-oss-20b and gpt-oss-120b). It downloads the official GGUF weights,
 plans how to fit them on this machine's GPUs and memory, and runs them
 locally with llama.cpp. Nothing leaves the machine while chatting."""

# Debian 12 / Ubuntu 22.04 names. Newer releases renamed some for 64-bit time (libglib2.0-0t64 ...)
# and their new packages provide the old names, so one list serves both.
DEPENDS = [
    # PyInstaller leaves the GL stack and libxcb to the system: they must match its drivers and X server.
    "libgl1", "libegl1", "libxcb1", "libdrm2",
    # Qt's xcb platform plugin (X11 sessions); libxcb-cursor0 is the one often missing.
    "libx11-6", "libx11-xcb1", "libxcb-cursor0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1",
    "libxcb-randr0", "libxcb-render-util0", "libxcb-render0", "libxcb-shape0", "libxcb-shm0",
    "libxcb-sync1", "libxcb-util1", "libxcb-xfixes0", "libxcb-xkb1", "libxkbcommon0",
    "libxkbcommon-x11-0",
    # Qt's wayland platform plugin (Wayland sessions: Qt 6 picks it by default there).
    "libwayland-client0", "libwayland-cursor0", "libwayland-egl1",
    "libfontconfig1", "libfreetype6", "libdbus-1-3", "libglib2.0-0",
]
RECOMMENDS = [
    "libgtk-3-0",  # Qt's GTK platform theme (native dialogs on GNOME); Qt does without it
    "xdg-utils",   # opening links from answers in the browser
    "libvulkan1",  # the Vulkan loader, for llama.cpp's Vulkan module (GPUs); without it: CPU only
]
# Libraries the build machine may not have installed (so `dpkg -S` cannot name their package).
KNOWN_SONAMES = {
    "libgtk-3.so.0": "libgtk-3-0",
    "libgdk-3.so.0": "libgtk-3-0",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libgl1",  # libglx0 and libglvnd0 come with libgl1
    "libGLdispatch.so.0": "libgl1",
    "libvulkan.so.1": "libvulkan1",
}
IMPLIED = {"libglx0": "libgl1", "libglvnd0": "libgl1", "libc6": "libc6"}


def say(text: str) -> None:
    print(f"[deb] {text}", file=sys.stderr, flush=True)


def app_version() -> str:
    text = (ROOT / "app" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def deb_architecture() -> str:
    try:
        return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def glibc_version() -> str:
    """The build machine's glibc: the bundle's binaries may use any symbol up to it."""
    return platform.libc_ver()[1] or "2.31"


def check_dependencies(app: Path, extra: list[str]) -> None:
    """Stop if a bundled file links to a system library no declared package provides."""
    declared = {*DEPENDS, *RECOMMENDS, *extra, "libc6"}
    problems = []
    for soname, owner in sorted(external_libraries(app).items()):
        package = owner or KNOWN_SONAMES.get(soname)
        if package is None:
            problems.append(f"{soname}: no installed package owns it and KNOWN_SONAMES does not name one")
            continue
        package = IMPLIED.get(package.removesuffix("t64"), package.removesuffix("t64"))
        if package not in declared:
            problems.append(f"{soname}: from {package}, which is in neither DEPENDS nor RECOMMENDS")
    if problems:
        raise SystemExit("[deb] the bundle needs system libraries the package does not declare:\n  "
                         + "\n  ".join(problems))
    say("every system library the bundle links to is declared")


def installed_size_kib(root: Path) -> int:
    total = 0
    for dirpath, dirs, files in os.walk(root):
        for name in files + dirs:
            path = Path(dirpath, name)
            total += 1 if path.is_symlink() or path.is_dir() else (path.stat().st_size + 1023) // 1024
    return total


def control_text(version: str, arch: str, size_kib: int, maintainer: str, extra: list[str]) -> str:
    depends = ", ".join([f"libc6 (>= {glibc_version()})", *DEPENDS, *extra])
    return (f"Package: {PACKAGE}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: {maintainer}\n"
            f"Installed-Size: {size_kib}\nDepends: {depends}\nRecommends: {', '.join(RECOMMENDS)}\n"
            f"Section: utils\nPriority: optional\nHomepage: {HOMEPAGE}\nDescription: {DESCRIPTION}\n")


def build_time() -> float:
    """SOURCE_DATE_EPOCH when set (reproducible builds), else now."""
    return float(os.environ.get("SOURCE_DATE_EPOCH", time.time()))


def copyright_text() -> str:
    year = time.gmtime(build_time()).tm_year
    years = f"{FIRST_YEAR}-{year}" if year > FIRST_YEAR else str(FIRST_YEAR)
    return ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
            f"Upstream-Name: Ossian\nSource: {HOMEPAGE}\n\nFiles: *\n"
            f"Copyright: {years} The Ossian developers\n"
            "License: Apache-2.0\nComment: Bundled third-party components (Python, Qt/PySide6, llama.cpp\n"
            " and the Python packages in /opt/ossian/_internal) keep their own licences: see\n"
            " /opt/ossian/_internal/licenses/THIRD-PARTY-NOTICES.md.\n\n"
            "License: Apache-2.0\n On Debian systems the full text of the Apache License 2.0 is in\n"
            " /usr/share/common-licenses/Apache-2.0.\n")


def changelog_gz(version: str, maintainer: str) -> bytes:
    """A one-entry Debian changelog (Debian policy wants one); the date is SOURCE_DATE_EPOCH's if set."""
    # Debian's date format (RFC 5322 with a numeric zone); the C locale's day and month names.
    when = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(build_time()))
    text = (f"{PACKAGE} ({version}) stable; urgency=medium\n\n"
            f"  * Ossian {version}: see {HOMEPAGE}/releases\n\n -- {maintainer}  {when}\n")
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def normalise_modes(tree: Path, executables: set[Path]) -> None:
    """0755 folders and programs, 0644 everything else (shared libraries need no exec bit)."""
    for dirpath, dirs, files in os.walk(tree):
        for name in dirs:
            os.chmod(Path(dirpath, name), 0o755)
        for name in files:
            path = Path(dirpath, name)
            if not path.is_symlink():
                os.chmod(path, 0o755 if path in executables else 0o644)
    os.chmod(tree, 0o755)


def stage(app: Path, root: Path, icons: Path, version: str, arch: str, maintainer: str,
          extra: list[str]) -> None:
    if root.exists():
        shutil.rmtree(root)
    opt = root / "opt" / PACKAGE
    shutil.copytree(app, opt, symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    # Across top-level folders an absolute link is Debian's rule; the bootloader resolves it through
    # /proc/self/exe, so the app still finds _internal/ next to the real file.
    (root / "usr" / "bin" / PACKAGE).symlink_to(f"/opt/{PACKAGE}/{PACKAGE}")
    applications = root / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    shutil.copyfile(HERE / "ossian.desktop", applications / "ossian.desktop")
    shutil.copytree(icons / "hicolor", root / "usr" / "share" / "icons" / "hicolor")
    doc = root / "usr" / "share" / "doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(copyright_text(), encoding="utf-8")
    (doc / "changelog.gz").write_bytes(changelog_gz(version, maintainer))
    overrides = root / "usr" / "share" / "lintian" / "overrides"
    overrides.mkdir(parents=True)
    shutil.copyfile(HERE / "lintian-overrides", overrides / PACKAGE)
    normalise_modes(root, {opt / PACKAGE})
    debian = root / "DEBIAN"
    debian.mkdir(mode=0o755)
    size = installed_size_kib(root)
    (debian / "control").write_text(control_text(version, arch, size, maintainer, extra), encoding="utf-8")
    os.chmod(debian / "control", 0o644)


def ensure_icons(icons: Path) -> None:
    if (icons / "hicolor").is_dir():
        return
    sys.path.insert(0, str(ROOT / "installers"))
    from bootstrap import venv_dir, venv_python

    subprocess.run([str(venv_python(venv_dir())), str(ROOT / "installers" / "make_icons.py"), str(icons)],
                   check=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Build the Ossian .deb from dist/Ossian.")
    parser.add_argument("--app", type=Path, default=ROOT / "dist" / "Ossian", help="the onedir build")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="where the .deb goes")
    parser.add_argument("--icons", type=Path, default=ROOT / "build" / "icons",
                        help="installers/make_icons.py's output (made if missing)")
    parser.add_argument("--maintainer", default=os.environ.get("OSSIAN_DEB_MAINTAINER", DEFAULT_MAINTAINER))
    parser.add_argument("--depends", action="append", default=[], metavar="PACKAGE",
                        help="one more Depends entry; repeatable")
    parser.add_argument("--no-check", action="store_true", help="skip the system-library check")
    args = parser.parse_args(argv)

    if not (args.app / PACKAGE).is_file():
        raise SystemExit(f"[deb] no build at {args.app}: run python3 installers/build.py first")
    if shutil.which("dpkg-deb") is None:
        raise SystemExit("[deb] dpkg-deb is missing (Debian/Ubuntu: it comes with dpkg)")
    if not args.no_check:
        check_dependencies(args.app, args.depends)
    ensure_icons(args.icons)
    version, arch = app_version(), deb_architecture()
    root = ROOT / "build" / "deb" / f"{PACKAGE}_{version}_{arch}"
    stage(args.app, root, args.icons, version, arch, args.maintainer, args.depends)
    args.out.mkdir(parents=True, exist_ok=True)
    deb = args.out / f"{PACKAGE}_{version}_{arch}.deb"
    # --root-owner-group: files owned by root in the archive without needing fakeroot; xz is read by
    # every dpkg still in use (zstd only from Debian 12 / Ubuntu 21.10).
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(deb)], check=True)
    say(f"built {deb} ({deb.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
