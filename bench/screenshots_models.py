"""Screenshots of the model screens: the welcome page (light and dark, idle and mid-download) and the
model library dialog (installed models, the download list), written to docs/screenshots/.

The screens run on a real Workspace in a throw-away OSSIAN_HOME, with a described machine (a 24 GB
NVIDIA card and 64 GB of RAM) so the advice does not depend on the computer taking the pictures. The
library holds two models whose files are sparse files of the published sizes (so sizes read as they
would, and nothing big is written). Mid-download states are snapshots handed to the rows' own
`set_progress` slot, as the download feed would deliver them: the picture shows a 12 GB download
at 35%, which no test machine should fetch for a screenshot.

    xvfb-run -a .venv/bin/python bench/screenshots_models.py [--out docs/screenshots] [--font Inter]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["OSSIAN_HOME"] = tempfile.mkdtemp(prefix="ossian-screenshots-")

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QWidget

from app.chat.workspace import Workspace
from app.models import DownloadProgress, DownloadState, InstalledModel, load_catalog
from app.planner import describe_machine
from app.ui.models import ModelLibraryDialog, WelcomePage
from app.ui.models.library_dialog import DOWNLOAD_TAB, INSTALLED_TAB
from app.ui.theme import Theme, apply_palette, theme_for

REPO = Path(__file__).resolve().parent.parent
GIB = 2**30
MACHINE = describe_machine(gpu_total=24 * GIB, gpu_free=int(23.5 * GIB), ram=64 * GIB,
                           gpu_name="NVIDIA GeForce RTX 4090")
WELCOME_SIZE = (980, 900)
DIALOG_SIZE = (860, 640)


def settle(app: QApplication, until=lambda: True, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    for _ in range(20):  # layouts and style polish
        app.processEvents()
        time.sleep(0.005)


def sparse_file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def fill_library(workspace: Workspace) -> None:
    models = workspace.paths.models
    workspace.library.add(InstalledModel(
        id="ggml-org--gpt-oss-20b-gguf--gpt-oss-20b-mxfp4", name="gpt-oss-20b", quantization="MXFP4",
        size=12_109_566_624,
        parts=(sparse_file(models / "ggml-org--gpt-oss-20b-GGUF" / "gpt-oss-20b-mxfp4.gguf",
                           12_109_566_624),),
        verified=True, source="hub", repo="ggml-org/gpt-oss-20b-GGUF", commit="0" * 40,
        catalog_id="gpt-oss-20b", sha256=("0" * 64,)))
    home = Path(os.environ["OSSIAN_HOME"])
    workspace.library.add(InstalledModel(
        id="import--gpt-oss-20b-q4_k_m", name="gpt-oss-20b-Q4_K_M", quantization="Q4_K_M",
        size=11_624_000_000,
        parts=(sparse_file(home / "Downloads" / "gpt-oss-20b-Q4_K_M.gguf", 11_624_000_000),),
        verified=False, source="import"))


def snapshot(download_id: str, state: DownloadState, done: int, total: int, **fields) -> DownloadProgress:
    values = dict(speed=0.0, eta_seconds=None, file_index=1, file_count=1, file_name=None, checked_bytes=0,
                  check_total=0, message="", sequence=10**9)
    values.update(fields)
    return DownloadProgress(id=download_id, name=download_id, state=state, bytes_done=done, bytes_total=total,
                            **values)  # type: ignore[arg-type]


def downloading(download_id: str, total: int, share: float) -> DownloadProgress:
    done = int(total * share)
    return snapshot(download_id, DownloadState.DOWNLOADING, done, total, speed=48_300_000,
                    eta_seconds=(total - done) / 48_300_000)


def paused(download_id: str, total: int, share: float) -> DownloadProgress:
    done = int(total * share)
    return snapshot(download_id, DownloadState.PAUSED, done, total,
                    message=f"Paused at {done / 1e9:.1f} GB of {total / 1e9:.1f} GB. Resume to continue "
                            "where it stopped.")


def save(widget: QWidget, out: Path, name: str) -> None:
    path = out / name
    widget.grab().save(str(path))
    print(path)


def welcome_shots(app: QApplication, theme: Theme, out: Path) -> None:
    workspace = Workspace(read_machine=lambda: MACHINE)
    try:
        page = WelcomePage(workspace, theme)
        page.resize(*WELCOME_SIZE)
        page.show()
        settle(app, lambda: page.hero_row is not None)
        save(page, out, f"welcome-{theme.palette.scheme}-idle.png")
        catalog = load_catalog()
        assert page.hero_row is not None
        page.hero_row.set_progress(downloading("gpt-oss-20b", 12_109_566_624, 0.354))
        other = page.other_rows["gpt-oss-20b-unsloth-f16"]
        other.set_progress(paused(other.key, catalog.get(other.key).approx_bytes, 0.62))
        settle(app)
        save(page, out, f"welcome-{theme.palette.scheme}-downloading.png")
        page.close()
    finally:
        workspace.close()


def library_shots(app: QApplication, theme: Theme, out: Path) -> None:
    workspace = Workspace(read_machine=lambda: MACHINE)
    try:
        fill_library(workspace)
        dialog = ModelLibraryDialog(workspace, theme)
        dialog.resize(*DIALOG_SIZE)
        dialog.show_tab(INSTALLED_TAB)
        dialog.show()
        settle(app, lambda: dialog.advice is not None)
        save(dialog, out, f"library-{theme.palette.scheme}-installed.png")
        dialog.show_tab(DOWNLOAD_TAB)
        row = dialog.catalog_rows["gpt-oss-120b"]
        row.set_progress(downloading(row.key, 63_387_346_464, 0.18))
        settle(app)
        save(dialog, out, f"library-{theme.palette.scheme}-download.png")
        dialog.close()
    finally:
        workspace.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--font", default="Inter", help="UI font (the system's on a real desktop)")
    parser.add_argument("--points", type=float, default=10.0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    font = QFont(args.font)
    font.setPointSizeF(args.points)
    app.setFont(font)
    for scheme in ("light", "dark"):
        theme = theme_for(scheme)
        apply_palette(app, theme)
        welcome_shots(app, theme, args.out)
        library_shots(app, theme, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
