"""Screenshots of documents in the chat, for docs/screenshots/.

    xvfb-run -a .venv/bin/python bench/screenshots_documents.py [--out docs/screenshots]

The real window, workspace, store, planner (on a described 32 GB laptop), extraction and search index;
real files written by the test fixtures; a real (tiny, generated) GGUF in the library. The replies and
token counts come from the scripted engine (the real weights cannot be downloaded here). States:

- `documents-chips-{light,dark}.png`: a PDF, a Word file and a scanned PDF whose chip says why it
  cannot be attached; the meter shows what they take of the context.
- `documents-overflow-{light,dark}.png`: a long manual on top: the meter overflows, sending is blocked,
  and the two ways out are offered (a larger context the planner says fits, or search mode).
- `documents-search-light.png`: after choosing search mode and sending: the chips on the message, the
  model's search of the manual on its tool card, and the answer's citations named by file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GIB = 2**30


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--font", default="", help="UI font (default: the system's)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="ossian-shots-"))
    os.environ["OSSIAN_HOME"] = str(home)

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    if args.font:
        app.setFont(QFont(args.font))

    from app.chat.workspace import Workspace
    from app.engine.testing import ScriptedEngine, harmony_reply
    from app.models import import_model
    from app.planner import describe_machine
    from app.ui.main_window import MainWindow
    from app.ui.theme import DARK, LIGHT, ThemeWatcher
    from fixtures.documents import (
        Heading,
        Para,
        PdfPage,
        prose_lines,
        write_docx,
        write_pdf,
        write_text,
    )
    from fixtures.tiny_models import tiny_gpt_oss_model

    files = home / "files"
    files.mkdir()
    report = write_pdf(files / "quarterly-report.pdf", [prose_lines(40, seed=page) for page in range(12)])
    notes = write_docx(files / "meeting-notes.docx", [Heading("Planning meeting"),
                                                     *(Para(line) for line in prose_lines(30, seed=3))])
    scan = write_pdf(files / "signed-contract-scan.pdf", [PdfPage(picture=True), PdfPage(picture=True)])
    manual = write_text(files / "operations-manual.txt", "\n".join(prose_lines(3000, seed=11)))

    engine = ScriptedEngine(tokens_per_second=4000)
    workspace = Workspace(engine_factory=lambda: engine, read_machine=lambda: describe_machine(ram=32 * GIB))
    workspace.settings.context_tokens = 32768
    model = import_model(tiny_gpt_oss_model(), workspace.library)

    def settle(ms: int = 400) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait_until(condition, timeout_ms: int = 30000) -> None:
        waited = 0
        while not condition() and waited < timeout_ms:
            settle(50)
            waited += 50
        if not condition():
            raise SystemExit("timed out waiting for the window")

    watcher = ThemeWatcher("light")
    window = MainWindow(workspace, watcher)
    window.resize(1280, 860)
    window.show()
    window.load_model(str(model.path))
    wait_until(lambda: workspace.loaded is not None)
    settle()

    def shoot(name: str, dark_too: bool = True) -> None:
        settle(600)
        window.grab().save(str(args.out / f"{name}-light.png"))
        if dark_too:
            window._apply_theme(watcher.theme.with_scheme(DARK.scheme))
            settle(600)
            window.grab().save(str(args.out / f"{name}-dark.png"))
            window._apply_theme(watcher.theme.with_scheme(LIGHT.scheme))
            settle(300)

    window.composer.set_text("Summarise the report and list the decisions from the meeting.")
    window.attachments.add_files([report, notes, scan])
    wait_until(lambda: window.attachments.idle)
    shoot("documents-chips")

    # The composer's chip row does not wrap yet: three chips keep the shot readable.
    window.attachments.remove(next(p.key for p in window.attachments.pending() if p.name == notes.name))
    window.attachments.add_files([manual])
    wait_until(lambda: window.attachments.idle)
    shoot("documents-overflow")

    window.meter.search_button.click()
    wait_until(lambda: window.attachments.idle and window.attachments.reading.fits)
    engine.queue(harmony_reply([
        ("analysis", "The manual is in search mode: search it for the granite meadow procedure."),
        ("analysis to=browser.search", '{"query": "granite meadow"}'),
    ]))
    engine.queue(harmony_reply([
        ("analysis", "The first result is the procedure."),
        ("final", "The report shows revenue up in every quarter; the meeting decided to move the launch "
                  "to spring. The manual's granite meadow procedure is the first match 【0†L1】, and a "
                  "second passage repeats it 【0†L5】."),
    ]))
    window.composer.sendRequested.emit(window.composer.text())
    wait_until(lambda: not window.controller.busy and not window.composer.chip_keys())
    shoot("documents-search", dark_too=False)
    window.close()
    print(f"screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
