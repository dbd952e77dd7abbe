"""The composer: Enter sends, Shift+Enter breaks the line, send/stop, chips, a reason when it can't send."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.ui.composer import ChipView, Composer
from app.ui.theme import theme_for


def make(qtbot) -> Composer:
    composer = Composer(theme_for("light"))
    qtbot.addWidget(composer)
    composer.show()
    return composer


def test_enter_sends_and_shift_enter_adds_a_line(qtbot) -> None:
    composer = make(qtbot)
    qtbot.keyClicks(composer.edit, "first line")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.edit, "second")
    with qtbot.waitSignal(composer.sendRequested) as sent:
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent.args == ["first line\nsecond"]


def test_nothing_is_sent_when_empty_or_when_sending_is_not_possible(qtbot) -> None:
    composer = make(qtbot)
    with qtbot.assertNotEmitted(composer.sendRequested):
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    composer.set_can_send(False, "Load a model first.")
    qtbot.keyClicks(composer.edit, "hello")
    with qtbot.assertNotEmitted(composer.sendRequested):
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert composer.text() == "hello", "the draft is kept"
    assert not composer.reason.isHidden() and composer.reason.text() == "Load a model first."
    assert not composer.send_button.isEnabled()


def test_while_busy_the_button_stops(qtbot) -> None:
    composer = make(qtbot)
    composer.set_busy(True)
    assert composer.send_button.isEnabled() and composer.send_button.property("mode") == "stop"
    with qtbot.waitSignal(composer.stopRequested):
        composer.send_button.click()
    qtbot.keyClicks(composer.edit, "next")
    with qtbot.assertNotEmitted(composer.sendRequested):
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return)


def test_chips_block_sending_while_extracting_and_can_be_removed(qtbot) -> None:
    composer = make(qtbot)
    composer.set_chip(ChipView("a", "report.pdf", state="working", progress=0.4))
    qtbot.keyClicks(composer.edit, "summarise")
    assert not composer.send_button.isEnabled()
    composer.set_chip(ChipView("a", "report.pdf", "12 pages · 8,431 tokens", state="ready"))
    assert composer.send_button.isEnabled()
    composer.set_chip(ChipView("b", "scan.pdf", state="error", error="No text found; OCR is not supported."))
    with qtbot.waitSignal(composer.chipRemoved) as removed:
        composer._chips["b"].remove.click()
    assert removed.args == ["b"] and composer.chip_keys() == ["a"]


def test_dropped_files_are_announced(qtbot, tmp_path) -> None:
    composer = make(qtbot)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(composer, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPoint(5, 5).toPointF(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(composer.filesDropped) as dropped:
        QApplication.sendEvent(composer, drop)
    assert dropped.args == [[str(tmp_path / "notes.txt")]]


def test_many_chips_wrap_onto_rows_instead_of_squeezing(qtbot) -> None:
    composer = make(qtbot)
    composer.resize(520, 300)
    for index in range(6):
        composer.set_chip(ChipView(str(index), f"document-{index}.pdf", "12 pages · 8,431 tokens", "ready"))
    composer.remove_chip("5")
    qtbot.waitUntil(lambda: len({chip.y() for chip in composer._chips.values()}) > 1)
    widths = {chip.width() for chip in composer._chips.values()}
    assert min(widths) >= min(chip.sizeHint().width() for chip in composer._chips.values())
    assert composer.chip_keys() == ["0", "1", "2", "3", "4"]
