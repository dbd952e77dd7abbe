#!/usr/bin/env python3
"""Lay out the frozen app (dist/Ossian) as an AppImage AppDir: runnable as is, one step from an AppImage.

    python3 installers/build.py                    # first: dist/Ossian
    python3 installers/linux/build_appdir.py       # then: build/Ossian.AppDir
    build/Ossian.AppDir/AppRun --version           # runs in place

The missing step, which needs appimagetool (downloaded from GitHub, with the AppImage runtime it
embeds: not possible on an offline machine, done in CI):

    ARCH=x86_64 appimagetool build/Ossian.AppDir dist/Ossian-<version>-x86_64.AppImage

Layout: the onedir build in usr/lib/ossian/, `AppRun` a relative symlink to its executable (the
PyInstaller bootloader resolves /proc/self/exe, so it finds _internal/ next to the real file; no
shell wrapper needed), the launcher and icon at the top (appimagetool's rule) and under usr/share,
`.DirIcon` for file managers. llama.cpp's backend modules come along in
usr/lib/ossian/_internal/ggml-backends/ (every CPU variant, Vulkan); the Vulkan module uses the host's
Vulkan loader (libvulkan.so.1), which the AppImage does not carry: without one, it runs on the CPU.
Standard library only.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def build(app: Path, icons: Path, appdir: Path) -> None:
    if appdir.exists():
        shutil.rmtree(appdir)
    lib = appdir / "usr" / "lib" / "ossian"
    shutil.copytree(app, lib, symlinks=True)
    (appdir / "AppRun").symlink_to("usr/lib/ossian/ossian")
    applications = appdir / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    shutil.copyfile(HERE / "ossian.desktop", applications / "ossian.desktop")
    shutil.copytree(icons / "hicolor", appdir / "usr" / "share" / "icons" / "hicolor")
    (appdir / "ossian.desktop").symlink_to("usr/share/applications/ossian.desktop")
    (appdir / "ossian.png").symlink_to("usr/share/icons/hicolor/256x256/apps/ossian.png")
    (appdir / ".DirIcon").symlink_to("ossian.png")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Make build/Ossian.AppDir from dist/Ossian.")
    parser.add_argument("--app", type=Path, default=ROOT / "dist" / "Ossian", help="the onedir build")
    parser.add_argument("--icons", type=Path, default=ROOT / "build" / "icons",
                        help="installers/make_icons.py's output (made if missing)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "Ossian.AppDir")
    args = parser.parse_args(argv)
    if not (args.app / "ossian").is_file():
        raise SystemExit(f"[appdir] no build at {args.app}: run python3 installers/build.py first")
    if not (args.icons / "hicolor").is_dir():
        sys.path.insert(0, str(ROOT / "installers"))
        from bootstrap import venv_dir, venv_python

        subprocess.run([str(venv_python(venv_dir())), str(ROOT / "installers" / "make_icons.py"),
                        str(args.icons)], check=True)
    build(args.app, args.icons, args.out)
    print(f"[appdir] built {args.out}; make the AppImage with appimagetool (see this script's docstring)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
