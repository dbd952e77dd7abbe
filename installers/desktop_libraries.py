"""The system libraries Qt's Linux platform plugins open, and the line that installs what is missing.

PySide6's wheels carry Qt but not what Qt's xcb (X11) platform plugin loads from the system; on a fresh
Debian 12 the window then fails with Qt's "Could not load the Qt platform plugin xcb ... xcb-cursor0 or
libxcb-cursor0 is needed", after every Python package installed fine. `bootstrap.py run` asks this module
first and prints the exact `apt`/`dnf`/`pacman`/`zypper` line instead. The .deb declares the same
libraries (installers/linux/build_deb.py's DEPENDS), so only a development checkout needs this.

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Library:
    """One shared library by its soname, and the package that has it on each family of distributions."""

    soname: str
    apt: str
    dnf: str
    pacman: str
    zypper: str


# What the xcb plugin and Qt's GUI module open (Qt 6.5+ needs xcb-cursor; Wayland sessions fall back to
# xcb when the wayland plugin fails, so this list matters there too).
QT_LIBRARIES = (
    Library("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor", "libxcb-cursor0"),
    Library("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11",
            "libxkbcommon-x11-0"),
    Library("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm", "xcb-util-wm", "libxcb-icccm4"),
    Library("libxcb-image.so.0", "libxcb-image0", "xcb-util-image", "xcb-util-image", "libxcb-image0"),
    Library("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms",
            "libxcb-keysyms1"),
    Library("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil", "xcb-util-renderutil",
            "libxcb-render-util0"),
    Library("libxcb-util.so.1", "libxcb-util1", "xcb-util", "xcb-util", "libxcb-util1"),
    Library("libxcb-shape.so.0", "libxcb-shape0", "libxcb", "libxcb", "libxcb-shape0"),
    Library("libxcb-randr.so.0", "libxcb-randr0", "libxcb", "libxcb", "libxcb-randr0"),
    Library("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb", "libxcb", "libxcb-xkb1"),
    Library("libEGL.so.1", "libegl1", "libglvnd-egl", "libglvnd", "libEGL1"),
    Library("libGL.so.1", "libgl1", "libglvnd-glx", "libglvnd", "libGL1"),
    Library("libfontconfig.so.1", "libfontconfig1", "fontconfig", "fontconfig", "libfontconfig1"),
    Library("libdbus-1.so.3", "libdbus-1-3", "dbus-libs", "dbus", "libdbus-1-3"),
)
INSTALLERS = (("apt", "sudo apt install"), ("dnf", "sudo dnf install"), ("pacman", "sudo pacman -S"),
              ("zypper", "sudo zypper install"))
# Platforms that draw without a display server: nothing from the system is needed.
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb")


def loadable(soname: str) -> bool:
    """Whether the dynamic loader finds `soname` (the same search Qt's plugin will do)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_libraries(can_load: Callable[[str], bool] = loadable) -> list[Library]:
    return [library for library in QT_LIBRARIES if not can_load(library.soname)]


def package_manager(which: Callable[[str], str | None] = shutil.which,
                    os_release: Path = Path("/etc/os-release")) -> str:
    """apt, dnf, pacman or zypper: the family of this distribution (apt when nothing says otherwise)."""
    try:
        text = os_release.read_text(encoding="utf-8", errors="replace").lower()
    except OSError:
        text = ""
    words = {"debian": "apt", "ubuntu": "apt", "fedora": "dnf", "rhel": "dnf", "centos": "dnf",
             "arch": "pacman", "suse": "zypper"}
    for line in text.splitlines():
        if line.startswith(("id=", "id_like=")):
            for word in line.split("=", 1)[1].strip('"').split():
                if word in words:
                    return words[word]
    for manager, _command in INSTALLERS:
        if which("apt-get" if manager == "apt" else manager):
            return manager
    return "apt"


def install_line(missing: list[Library], manager: str) -> str:
    command = dict(INSTALLERS)[manager]
    packages = sorted({getattr(library, manager) for library in missing})
    return f"{command} {' '.join(packages)}"


def desktop_problem(environ: dict[str, str] | None = None, platform: str = sys.platform,
                    can_load: Callable[[str], bool] = loadable,
                    manager: Callable[[], str] = package_manager) -> str | None:
    """What to tell a person before starting the window on this machine, or None when nothing is missing."""
    environ = dict(os.environ) if environ is None else environ
    if not platform.startswith("linux"):
        return None
    chosen = environ.get("QT_QPA_PLATFORM", "").split(":", 1)[0].strip().lower()
    if chosen in HEADLESS_PLATFORMS:
        return None
    missing = missing_libraries(can_load)
    if not missing:
        return None
    names = ", ".join(library.soname for library in missing)
    return (f"The window needs system libraries this machine lacks: {names}.\n"
            f"Install them with:\n\n    {install_line(missing, manager())}\n\n"
            "then run this command again. (The command line works without them: "
            "`python3 installers/bootstrap.py run doctor`.)")
