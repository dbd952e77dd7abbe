"""Names with bidirectional controls (issue "Hostile input", item 10): a right-to-left override in a
document's file name, a model's name or a conversation's title is shown as a visible tag everywhere in
the window and in exports, never obeyed ("invoice\\u202efdp.exe" must not read as "invoiceexe.pdf")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QLabel,
    QWidget,
)

from app.chat.workspace import Workspace
from app.engine.testing import harmony_reply
from app.models import import_model
from app.text_safety import BIDI_CONTROLS
from app.ui.main_window import MainWindow
from app.ui.models.library_dialog import ModelLibraryDialog
from app.ui.theme import ThemeWatcher
from fixtures.documents import write_text
from fixtures.tiny_models import tiny_gpt_oss_model
from tests.ui.conftest import LAPTOP, WAIT_MS
from tests.ui.test_main_window import send, wait_idle

OVERRIDE = "\u202e"
DOCUMENT = f"invoice{OVERRIDE}fdp.exe.txt"
TITLE = f"Re: invoice{OVERRIDE}fdp.exe and \u2067isolated\u2069 \u200fmarks\u200e"


def shown_texts(root: QWidget) -> list[str]:
    """Every text a person can see or hover in `root`: titles, labels, buttons, tooltips, list items."""
    texts: list[str] = []
    for widget in [root, *root.findChildren(QWidget)]:
        texts += [widget.windowTitle(), widget.toolTip()]
        if isinstance(widget, QLabel | QAbstractButton):
            texts.append(widget.text())
        if isinstance(widget, QComboBox):
            texts += [widget.itemText(i) for i in range(widget.count())]
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            for row in range(model.rowCount()):
                index = model.index(row, 0)
                texts += [str(model.data(index, role) or "") for role in
                          (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)]
    return texts


def with_controls(texts: list[str]) -> list[str]:
    return [text for text in texts if any(c in BIDI_CONTROLS for c in text)]


def test_bidi_controls_never_reach_a_label_a_window_title_or_an_export(qtbot, engine, tmp_path,
                                                                        monkeypatch) -> None:
    workspace = Workspace(engine_factory=lambda: engine, read_machine=lambda: LAPTOP)
    model_file = tmp_path / f"gpt-oss-{OVERRIDE}b02-mxfp4.gguf"
    shutil.copy(tiny_gpt_oss_model(), model_file)
    model = import_model(model_file, workspace.library)
    window = MainWindow(workspace, ThemeWatcher("light"))
    qtbot.addWidget(window)
    window.resize(1100, 800)
    window.show()
    window.load_model(str(model.path))
    qtbot.waitUntil(lambda: window.model_bar.state == "loaded", timeout=WAIT_MS)

    document = write_text(tmp_path / DOCUMENT, "Pay 100 to the account below.\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(document)], ""))
    window.composer.attach_button.click()
    qtbot.waitUntil(lambda: window.attachments.idle, timeout=WAIT_MS)
    pending_chip = with_controls(shown_texts(window))  # the composer's chip, before sending
    engine.queue(harmony_reply([("final", "Noted.")]))
    send(qtbot, window, "Is this invoice real?")
    wait_idle(qtbot, window)
    conversation = window.controller.conversation_id
    window.workspace.store.rename_conversation(conversation, TITLE)
    window.refresh_sidebar()
    window.composer.attach_button.click()  # a second chip in the composer, while the first is sent
    qtbot.waitUntil(lambda: window.attachments.idle, timeout=WAIT_MS)

    texts = shown_texts(window)
    assert pending_chip == [] and with_controls(texts) == []
    assert any("invoice[U+202E]fdp.exe.txt" in text for text in texts)  # shown, as a visible tag
    assert any("[U+2067]isolated[U+2069]" in text for text in texts)  # the title in the sidebar
    assert any("gpt-oss-[U+202E]b02" in text for text in texts)  # the model picker and status line

    dialog = ModelLibraryDialog(window.workspace, window.theme, window)
    qtbot.addWidget(dialog)
    assert with_controls(shown_texts(dialog)) == []

    chosen: list[tuple[str, Path]] = []

    def save_as(_parent, caption, suggested, _filter):
        chosen.append((caption + suggested, tmp_path / f"export-{len(chosen)}{Path(suggested).suffix}"))
        return str(chosen[-1][1]), _filter

    monkeypatch.setattr("app.ui.main_window.QFileDialog.getSaveFileName", save_as)
    for kind in ("markdown", "markdown-answers", "json"):
        window.sidebar.exportRequested.emit(conversation, kind)
    assert len(chosen) == 3
    for suggested, written in chosen:
        text = written.read_text(encoding="utf-8")
        assert with_controls([suggested, text]) == [], (suggested, text)
    markdown = chosen[0][1].read_text(encoding="utf-8")
    assert f"# {TITLE}".translate({ord(c): f"[U+{ord(c):04X}]" for c in BIDI_CONTROLS}) in markdown
    assert "Attached: invoice[U+202E]fdp.exe.txt" in markdown
    exported = json.loads(chosen[2][1].read_text(encoding="utf-8"))  # the data itself is kept exactly
    assert exported["title"] == TITLE if "title" in exported else TITLE in json.dumps(exported,
                                                                                      ensure_ascii=False)
    window.close()
