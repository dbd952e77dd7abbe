"""Render Ossian's icon (resources/icons/ossian.svg) into what each OS's installer wants.

Run it with the project venv's Python (it uses PySide6's SVG renderer, already a dependency):

    .venv/bin/python installers/make_icons.py build/icons         # ico, icns, hicolor PNGs
    .venv/bin/python installers/make_icons.py --resource-png      # refresh resources/icons/ossian.png

Writes into the output folder: `ossian.ico` (Windows: PNG-compressed entries, 16 to 256 px),
`ossian.icns` (macOS: PNG entries, 16 to 1024 px) and `hicolor/<N>x<N>/apps/ossian.png` plus
`hicolor/scalable/apps/ossian.svg` (Linux desktops). Both container formats are written by hand: each
is a small header and a table of PNGs, and no image library is needed for that. installers/build.py
calls this before PyInstaller; nothing here is needed at run time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "ossian.svg"
RESOURCE_PNG = ROOT / "resources" / "icons" / "ossian.png"

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS entry types that hold PNG data, by pixel size (Retina "@2x" types reuse the larger pictures).
ICNS_TYPES = (
    (b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256), (b"ic09", 512),
    (b"ic10", 1024), (b"ic11", 32), (b"ic12", 64), (b"ic13", 256), (b"ic14", 512),
)
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def renderer():
    """A function size -> PNG bytes, drawing the SVG with Qt (offscreen: no display needed)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    svg = QSvgRenderer(str(SVG))
    if not svg.isValid():
        raise SystemExit(f"make_icons: Qt cannot read {SVG}")

    def png(size: int) -> bytes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        svg.render(painter)
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        buffer.close()
        return bytes(data)

    png.app = app  # keep the application alive as long as the function
    return png


def ico_bytes(pictures: dict[int, bytes]) -> bytes:
    """An .ico whose entries are PNGs (Windows Vista and later read them)."""
    header = struct.pack("<HHH", 0, 1, len(pictures))
    offset = len(header) + 16 * len(pictures)
    entries, blobs = b"", b""
    for size, data in sorted(pictures.items()):
        side = 0 if size >= 256 else size  # 0 means 256 in the directory entry
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    return header + entries + blobs


def icns_bytes(png_for_size) -> bytes:
    """An .icns of PNG entries: 'icns', total length, then (type, length, data) records."""
    body = b""
    for kind, size in ICNS_TYPES:
        data = png_for_size(size)
        body += kind + struct.pack(">I", 8 + len(data)) + data
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def write_all(out: Path) -> None:
    png = renderer()
    cache: dict[int, bytes] = {}

    def picture(size: int) -> bytes:
        if size not in cache:
            cache[size] = png(size)
        return cache[size]

    out.mkdir(parents=True, exist_ok=True)
    (out / "ossian.ico").write_bytes(ico_bytes({size: picture(size) for size in ICO_SIZES}))
    (out / "ossian.icns").write_bytes(icns_bytes(picture))
    for size in HICOLOR_SIZES:
        target = out / "hicolor" / f"{size}x{size}" / "apps" / "ossian.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(picture(size))
    scalable = out / "hicolor" / "scalable" / "apps" / "ossian.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SVG, scalable)
    print(f"make_icons: wrote ossian.ico, ossian.icns and hicolor/ into {out}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "build" / "icons",
                        help="output folder (default: build/icons)")
    parser.add_argument("--resource-png", action="store_true",
                        help="only rewrite resources/icons/ossian.png (512 px) from the SVG")
    args = parser.parse_args(argv)
    if args.resource_png:
        RESOURCE_PNG.write_bytes(renderer()(512))
        print(f"make_icons: wrote {RESOURCE_PNG}")
        return 0
    write_all(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
