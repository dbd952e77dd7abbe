"""Documents in the window, end to end: the real main window, workspace, store, planner (on a described
machine), extraction and search index, with the scripted engine standing in for llama.cpp (its toy
tokenizer gives exact counts the way the worker would). Files are real, written by the fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from app.chat.workspace import Workspace
from app.documents import format_for_prompt
from app.engine.testing import harmony_reply, split_text
from app.harmony import Text
from app.models import import_model
from app.planner import describe_machine
from app.ui.main_window import MainWindow
from app.ui.theme import ThemeWatcher
from fixtures.documents import (
    PdfPage,
    prose_lines,
    write_corrupt_docx,
    write_pdf,
    write_png,
    write_random_bytes,
    write_sparse_file,
    write_text,
)
from fixtures.tiny_models import tiny_gpt_oss_model

WAIT_MS = 20_000
GIB = 2**30
DRAFT = "what do these say?"
LAPTOP = describe_machine(ram=16 * GIB)


def settled(qtbot, window: MainWindow) -> None:
    """Every chip read and the meter measured for what is on screen now."""
    qtbot.waitUntil(lambda: window.attachments.idle, timeout=WAIT_MS)


def chip(window: MainWindow, name: str):
    return next(c for c in window.composer._chips.values() if c.name.text() == name)


def small_pdf(tmp_path: Path, name: str = "report.pdf") -> Path:
    return write_pdf(tmp_path / name, [prose_lines(12, seed=n) for n in range(2)])


def big_text(tmp_path: Path, name: str = "manual.txt") -> Path:
    """About 27,000 toy tokens: more than a 16K context holds."""
    return write_text(tmp_path / name, "\n".join(prose_lines(1500, seed=5)))


def drop(widget, paths: list[Path]) -> None:
    """Drag files over `widget` and drop them, as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPoint(20, 20).toPointF(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


# ------------------------------------------------------------------------------------- adding files


def test_the_attach_button_adds_chips_with_pages_and_token_counts(qtbot, make_window, tmp_path,
                                                                  monkeypatch) -> None:
    window = make_window()
    pdf, notes = small_pdf(tmp_path), write_text(tmp_path / "notes.md", "# Notes\n\nShort ones.\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(pdf), str(notes)], ""))
    window.composer.attach_button.click()
    settled(qtbot, window)
    ready = {p.name: p for p in window.attachments.pending()}
    assert set(ready) == {"report.pdf", "notes.md"} and all(p.state == "ready" for p in ready.values())
    tokens = len(split_text(format_for_prompt(ready["report.pdf"].prepared.document)))
    assert chip(window, "report.pdf").detail.text() == f"2 pages · {tokens:,} tokens"
    notes_tokens = len(split_text(format_for_prompt(ready["notes.md"].prepared.document)))
    assert chip(window, "notes.md").detail.text() == f"21 B · {notes_tokens} tokens"
    assert not window.meter.isHidden() and "documents" in window.meter.line.text()
    assert window.composer.send_button.isEnabled()  # documents alone may be sent


def test_without_a_model_counts_are_estimates_until_one_is_loaded(qtbot, make_window, tmp_path) -> None:
    window = make_window(load=False)
    window.attachments.add_files([small_pdf(tmp_path)])
    settled(qtbot, window)
    assert "(estimate)" in chip(window, "report.pdf").detail.text()
    assert window.meter.line.text().startswith("≈") and "(estimated)" in window.meter.line.text()

    model = window.workspace.library.list()[0]
    window.load_model(str(model.path))
    qtbot.waitUntil(lambda: "estimate" not in chip(window, "report.pdf").detail.text(), timeout=WAIT_MS)
    settled(qtbot, window)
    assert not window.meter.line.text().startswith("≈")


def test_files_dropped_on_the_composer_or_the_chat_are_attached_and_models_imported(qtbot, make_window,
                                                                                    tmp_path) -> None:
    window = make_window()
    gguf = Path(shutil.copy(tiny_gpt_oss_model(), tmp_path / "gpt-oss-other.gguf"))
    models_before = len(window.workspace.library.list())
    window.composer.set_text(DRAFT)
    drop(window.composer, [small_pdf(tmp_path), gguf])
    drop(window, [write_text(tmp_path / "table.csv", "a,b\n1,2\n")])  # the chat area: the window takes it
    drop(window.composer.edit.viewport(), [write_text(tmp_path / "notes.txt", "hello\n")])  # the text field
    settled(qtbot, window)
    assert sorted(p.name for p in window.attachments.pending()) == ["notes.txt", "report.pdf", "table.csv"]
    assert window.composer.text() == DRAFT, "a file dropped on the text field is attached, not typed in"
    qtbot.waitUntil(lambda: len(window.workspace.library.list()) == models_before + 1, timeout=WAIT_MS)


def test_a_file_pasted_into_the_composer_is_attached(qtbot, make_window, tmp_path) -> None:
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(small_pdf(tmp_path)))])
    QApplication.clipboard().setMimeData(mime)
    window.composer.edit.setFocus()
    try:
        window.composer.edit.paste()
        settled(qtbot, window)
        assert [p.name for p in window.attachments.pending()] == ["report.pdf"]
        assert window.composer.text() == ""
    finally:
        # Qt owns the mime data once it is on the clipboard; left there, it is freed after Python's
        # wrapper at interpreter exit and the process dies with SIGSEGV after every test passed.
        QApplication.clipboard().clear()


@pytest.mark.parametrize(("name", "make_file", "message"), [
    ("locked.pdf", lambda p: write_pdf(p, [["secret"]], user_password="pw"), "password"),
    ("scan.pdf", lambda p: write_pdf(p, [PdfPage(picture=True)]), "OCR is not supported"),
    ("data.txt", lambda p: write_random_bytes(p), "binary"),
    ("broken.docx", lambda p: write_corrupt_docx(p, "bad_xml"), "amaged"),
    ("huge.log", lambda p: write_sparse_file(p, 2 * 1024 * 2**20), "Too large: 2 GiB"),
    ("photo.png", lambda p: write_png(p), "A PNG image cannot be attached"),
    ("gone.pdf", lambda p: p, "The file is gone"),  # dropped, then deleted before it was read
])
def test_bad_input_ends_on_its_chip_and_nothing_else_is_lost(qtbot, make_window, tmp_path, name, make_file,
                                                             message) -> None:
    window = make_window()
    window.composer.set_text(DRAFT)
    window.attachments.add_files([small_pdf(tmp_path), make_file(tmp_path / name)])
    settled(qtbot, window)
    bad = chip(window, name)
    assert bad.property("state") == "error"
    assert message in bad.detail.text() and message in bad.toolTip()
    assert chip(window, "report.pdf").property("state") == "ready"
    assert window.composer.text() == DRAFT
    assert window.composer.send_button.isEnabled(), "an error chip does not block the others"


def test_a_second_copy_of_the_same_file_is_refused_on_its_chip(qtbot, make_window, tmp_path) -> None:
    window = make_window()
    pdf = small_pdf(tmp_path)
    copy = Path(shutil.copy(pdf, tmp_path / "copy.pdf"))
    window.attachments.add_files([pdf])
    settled(qtbot, window)
    window.attachments.add_files([copy])
    settled(qtbot, window)
    assert chip(window, "copy.pdf").property("state") == "error"
    assert "Already attached as report.pdf" in chip(window, "copy.pdf").detail.text()


def test_removing_a_chip_forgets_it_and_the_meter_follows(qtbot, make_window, tmp_path) -> None:
    window = make_window()
    keys = window.attachments.add_files([small_pdf(tmp_path), big_text(tmp_path)])
    settled(qtbot, window)
    assert window.attachments.reading.blocked
    window.composer._chips[keys[1]].remove.click()
    settled(qtbot, window)
    assert [p.name for p in window.attachments.pending()] == ["report.pdf"]
    assert window.attachments.reading.fits and not window.attachments.reading.blocked


# ---------------------------------------------------------------------------------- overflow


def test_a_draft_too_long_for_the_context_is_not_sent_on_a_stale_reading(qtbot, make_window) -> None:
    window = make_window()
    settled(qtbot, window)
    assert window.attachments.reading.fits
    huge = "\n".join(prose_lines(1500, seed=8))  # about 27,000 tokens: more than the 16K context
    window.composer.set_text(huge)
    with qtbot.waitSignal(window.attachments.notice, timeout=WAIT_MS) as notice:
        window.composer.sendRequested.emit(huge)  # at once: the meter has not measured it yet
    assert "more than this 16,384-token context holds" in notice.args[1]
    assert window.controller.conversation_id is None and window.composer.text() == huge


def test_an_overflow_blocks_sending_and_offers_a_larger_context_and_search_mode(qtbot, make_window,
                                                                                tmp_path) -> None:
    window = make_window()
    window.composer.set_text(DRAFT)
    window.attachments.add_files([small_pdf(tmp_path), big_text(tmp_path)])
    settled(qtbot, window)
    meter = window.meter
    assert not meter.isHidden() and "over" in meter.line.text()
    assert "Nothing is cut" in meter.reason.text()
    assert meter.raise_button.isVisible() and meter.raise_button.text().startswith("Use 32K context (needs ")
    assert "more RAM" in meter.raise_button.text()
    assert meter.search_button.isVisible() and meter.search_button.text() == "Search the documents instead"
    assert "manual.txt" in meter.search_button.toolTip()
    assert not window.composer.send_button.isEnabled()
    with qtbot.assertNotEmitted(window.attachments.sent):
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    assert window.composer.text() == DRAFT and len(window.attachments.pending()) == 2


def test_search_mode_sends_and_the_document_is_stored_and_searchable(qtbot, make_window, engine,
                                                                     tmp_path) -> None:
    window = make_window()
    window.composer.set_text(DRAFT)
    window.attachments.add_files([small_pdf(tmp_path), big_text(tmp_path)])
    settled(qtbot, window)
    window.meter.search_button.click()
    settled(qtbot, window)
    assert window.attachments.reading.fits and window.composer.send_button.isEnabled()
    assert "search mode" in chip(window, "manual.txt").detail.text()

    engine.queue(harmony_reply([("analysis", "Look it up."), ("final", "Here.")]))
    with qtbot.waitSignal(window.attachments.sent, timeout=WAIT_MS):
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=WAIT_MS)
    assert window.composer.chip_keys() == [] and window.attachments.pending() == []
    assert window.composer.text() == ""
    stored = window.workspace.store.list_attachments(window.controller.conversation_id)
    assert [(a.file_name, a.mode) for a in stored] == [("report.pdf", "inline"), ("manual.txt", "search")]
    session = window.controller.session
    assert [ns.name for ns in session.tools.system_tools()] == ["browser"]
    assert session.tools.browser.index.search("lantern")
    prompt = "".join(s.text for s in engine.requests[-1].segments if isinstance(s, Text))
    assert 'name="manual.txt"' in prompt and 'mode="search"' in prompt
    assert prose_lines(1500, seed=5)[700] not in prompt  # the text itself stays out
    assert window.workspace.document_index_path(window.controller.conversation_id).exists()


def test_a_chip_menu_switches_a_document_between_whole_and_searched(qtbot, make_window, engine,
                                                                    tmp_path) -> None:
    window = make_window()
    window.composer.set_text(DRAFT)
    window.attachments.add_files([small_pdf(tmp_path)])
    settled(qtbot, window)
    report = chip(window, "report.pdf")
    assert report.mode_button.isVisible() and report.mode_actions["inline"].isChecked()
    whole = window.attachments.reading.document_tokens

    report.mode_actions["search"].trigger()
    settled(qtbot, window)
    assert [p.mode for p in window.attachments.pending()] == ["search"]
    assert "search mode" in report.detail.text() and report.mode_actions["search"].isChecked()
    searched = window.attachments.reading
    assert searched.document_tokens < whole, "only a short note about the document goes in"

    report.mode_actions["inline"].trigger()
    settled(qtbot, window)
    assert window.attachments.reading.document_tokens == whole and "search mode" not in report.detail.text()

    report.mode_actions["search"].trigger()
    settled(qtbot, window)
    engine.queue(harmony_reply([("final", "Ok.")]))
    with qtbot.waitSignal(window.attachments.sent, timeout=WAIT_MS):
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=WAIT_MS)
    stored = window.workspace.store.list_attachments(window.controller.conversation_id)
    assert [(a.file_name, a.mode) for a in stored] == [("report.pdf", "search")]


def test_a_chip_still_reading_or_failed_offers_no_mode(qtbot, make_window, tmp_path) -> None:
    window = make_window()
    window.attachments.add_files([write_png(tmp_path / "photo.png")])
    settled(qtbot, window)
    assert not chip(window, "photo.png").mode_button.isVisibleTo(window)


def test_a_citation_in_the_answer_shows_the_file_live_and_after_reopening(qtbot, make_window, engine,
                                                                         tmp_path) -> None:
    window = make_window()
    window.composer.set_text("Where is the lantern?")
    window.attachments.add_files([big_text(tmp_path)])
    settled(qtbot, window)
    window.meter.search_button.click()
    settled(qtbot, window)
    engine.queue(harmony_reply([("analysis", "Search."),
                                ("analysis to=browser.search", '{"query": "lantern"}')]))
    engine.queue(harmony_reply([("final", "It is in the manual 【0†L1】, not in 【5†L2】.")]))
    with qtbot.waitSignal(window.attachments.sent, timeout=WAIT_MS):
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=WAIT_MS)

    def answer_html() -> str:
        view = window.chat_view.turns()[-1].assistant.answer_view()
        view.flush()
        return "".join(w.html for w in view.piece_widgets())

    live = answer_html()
    assert '<span class="cite">\u2009manual.txt\u2009</span>' in live
    assert "0†L1" not in live  # resolved from the browser page the tool showed
    assert '<span class="cite">\u2009source\u2009</span>' in live  # cursor 5 was never shown
    conversation = window.controller.conversation_id
    window.new_chat()
    window.open_conversation(conversation)
    assert answer_html() == live


def test_a_larger_context_reloads_the_model_and_then_it_fits(qtbot, make_window, engine, tmp_path) -> None:
    window = make_window()
    window.composer.set_text(DRAFT)
    window.attachments.add_files([big_text(tmp_path)])
    settled(qtbot, window)
    offered = window.meter.view.raise_n_ctx
    assert offered == 32768
    window.meter.raise_button.click()
    qtbot.waitUntil(lambda: window.workspace.loaded.n_ctx == offered and window.model_bar.state == "loaded",
                    timeout=WAIT_MS)
    settled(qtbot, window)
    assert window.attachments.reading.fits and window.composer.send_button.isEnabled()
    engine.queue(harmony_reply([("final", "Read it.")]))
    with qtbot.waitSignal(window.attachments.sent, timeout=WAIT_MS):
        window.composer.send_button.click()
    stored = window.workspace.store.list_attachments(window.controller.conversation_id)
    assert [(a.file_name, a.mode) for a in stored] == [("manual.txt", "inline")]


def test_a_failed_send_keeps_the_chips_and_the_draft(qtbot, make_window, tmp_path) -> None:
    window = make_window()
    window.composer.set_text(DRAFT)
    window.attachments.add_files([small_pdf(tmp_path), big_text(tmp_path)])
    settled(qtbot, window)
    window.meter.search_button.click()
    settled(qtbot, window)
    # The disk refuses the search index (a file where its folder should be): indexing fails.
    (window.workspace.paths.data / "documents").write_text("in the way")
    with qtbot.waitSignal(window.attachments.notice, timeout=WAIT_MS) as notice:
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    assert notice.args[0] == "error" and "still here" in notice.args[1]
    assert window.composer.text() == DRAFT
    assert sorted(p.name for p in window.attachments.pending()) == ["manual.txt", "report.pdf"]
    assert len(window.composer.chip_keys()) == 2
    assert window.workspace.store.list_messages(window.controller.conversation_id) == []


def test_deleting_a_conversation_deletes_its_search_index(qtbot, make_window, engine, tmp_path) -> None:
    window = make_window()
    window.composer.set_text(DRAFT)
    window.attachments.add_files([big_text(tmp_path)])
    settled(qtbot, window)
    window.meter.search_button.click()
    settled(qtbot, window)
    engine.queue(harmony_reply([("final", "Ok.")]))
    with qtbot.waitSignal(window.attachments.sent, timeout=WAIT_MS):
        window.composer.send_button.click()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=WAIT_MS)
    conversation_id = window.controller.conversation_id
    path = window.workspace.document_index_path(conversation_id)
    assert path.exists()
    window._delete(conversation_id)
    assert not path.exists()


def test_only_failed_documents_and_no_text_send_nothing(qtbot, make_window, tmp_path) -> None:
    window = make_window()
    window.attachments.add_files([write_png(tmp_path / "photo.png")])
    settled(qtbot, window)
    with qtbot.waitSignal(window.attachments.notice, timeout=WAIT_MS) as notice:
        window.composer.send_button.click()
    assert "Nothing to send" in notice.args[1]
    assert window.controller.conversation_id is None and len(window.composer.chip_keys()) == 1


def test_a_file_the_chat_already_has_is_reused_and_said_so(qtbot, make_window, engine, tmp_path) -> None:
    window = make_window()
    pdf = small_pdf(tmp_path)
    window.composer.set_text(DRAFT)
    window.attachments.add_files([pdf])
    settled(qtbot, window)
    engine.queue(harmony_reply([("final", "Read.")]))
    with qtbot.waitSignal(window.attachments.sent, timeout=WAIT_MS):
        window.composer.send_button.click()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=WAIT_MS)
    window.attachments.add_files([shutil.copy(pdf, tmp_path / "again.pdf")])
    settled(qtbot, window)
    [again] = window.attachments.pending()
    assert again.prepared.reused and "also earlier in this chat" in chip(window, "again.pdf").detail.text()
    # The meter counts the conversation (the first copy included) and the second copy on top.
    reading = window.attachments.reading
    assert reading.history_tokens > again.prepared.tokens.tokens
    assert reading.document_tokens == again.prepared.tokens.tokens


@pytest.mark.parametrize(("n_ctx", "fails_above", "banner"), [
    (16384, 16384, "Memory allowed a 16,384-token context, not the 32,768"),  # the ladder steps back down
    (4096, 8192, "loaded again with its previous 4,096-token context"),  # no rung fits: the old load returns
])
def test_a_larger_context_memory_refuses_keeps_the_model_the_draft_and_the_chips(qtbot, tmp_path, n_ctx,
                                                                                 fails_above, banner) -> None:
    from tests.planner.test_ladder import OUT_OF_MEMORY, CommandedEngine

    # The planner says 32K fits, but this machine fails every load above `fails_above` (an injected
    # failure behind the real Engine interface, as the ladder's own tests do).
    engine = CommandedEngine(lambda plan: OUT_OF_MEMORY if plan.n_ctx > fails_above else None)
    workspace = Workspace(engine_factory=lambda: engine, read_machine=lambda: LAPTOP)
    workspace.settings.context_tokens = n_ctx
    model = import_model(tiny_gpt_oss_model(), workspace.library)
    window = MainWindow(workspace, ThemeWatcher("light"))
    qtbot.addWidget(window)
    window.show()
    window.load_model(str(model.path))
    qtbot.waitUntil(lambda: workspace.loaded is not None, timeout=WAIT_MS)
    window.composer.set_text(DRAFT)
    window.attachments.add_files([big_text(tmp_path)])
    settled(qtbot, window)
    assert window.meter.view.raise_n_ctx == 32768
    window.meter.raise_button.click()
    qtbot.waitUntil(lambda: banner in window.banner.text(), timeout=WAIT_MS)
    assert [plan.n_ctx for plan in engine.loaded][1] == 32768
    assert window.model_bar.state == "loaded" and workspace.loaded.n_ctx == min(n_ctx, fails_above)
    settled(qtbot, window)
    assert window.composer.text() == DRAFT
    assert [p.name for p in window.attachments.pending()] == ["manual.txt"]
    assert window.attachments.reading.blocked and window.composer.send_button.isEnabled() is False
    window.close()


def test_a_short_message_is_sent_at_once_without_waiting_for_the_meter(qtbot, make_window, engine) -> None:
    window = make_window()
    settled(qtbot, window)
    engine.queue(harmony_reply([("final", "Hi.")]))
    window.composer.set_text("hello there")  # the meter has not counted this draft yet
    with qtbot.waitSignal(window.attachments.sent, timeout=100):  # sent synchronously, no reading awaited
        window.composer.sendRequested.emit("hello there")
    assert window.controller.conversation_id is not None
