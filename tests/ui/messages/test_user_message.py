"""UserMessageWidget and AttachmentChip: the user's text exactly as typed, chips, Copy and Edit."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui.messages.attachment_chip import AttachmentChip, AttachmentChipData
from app.ui.messages.user_message import UserMessageWidget


def test_text_is_shown_as_typed_not_as_markup(qtbot, context) -> None:
    widget = UserMessageWidget(context, "Is <b>this</b> **bold**?\nSecond line")
    qtbot.addWidget(widget)
    assert widget._label.textFormat() == Qt.TextFormat.PlainText
    assert widget.text() == "Is <b>this</b> **bold**?\nSecond line"


def test_copy_and_edit(qtbot, context) -> None:
    widget = UserMessageWidget(context, "hello")
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.copyRequested) as copied:
        qtbot.mouseClick(widget.copy_button, Qt.MouseButton.LeftButton)
    assert copied.args == ["hello"]
    with qtbot.waitSignal(widget.editRequested):
        qtbot.mouseClick(widget.edit_button, Qt.MouseButton.LeftButton)


def test_short_messages_get_a_small_bubble(qtbot, context) -> None:
    widget = UserMessageWidget(context, "hi")
    qtbot.addWidget(widget)
    widget.resize(700, 200)
    widget.show()
    qtbot.waitExposed(widget)
    short = widget.bubble().width()
    widget.set_text("a much longer message " * 20)
    assert short < 100
    assert widget.bubble().width() == int(700 * 0.8)


def test_chips_show_name_pages_or_size_and_tokens(qtbot, context) -> None:
    attachments = [AttachmentChipData("report.pdf", pages=12, tokens=3_400),
                   AttachmentChipData("a-very-long-file-name-that-goes-on-and-on.txt", size_bytes=2_048)]
    widget = UserMessageWidget(context, "see attached", attachments)
    qtbot.addWidget(widget)
    chips = widget.findChildren(AttachmentChip)
    assert [chip.detail_label.text() for chip in chips] == ["12 pages · 3.4K tokens", "2 KiB"]
    assert chips[0].name_label.text() == "report.pdf"
    assert chips[1].name_label.text().endswith("…") and chips[1].toolTip() == attachments[1].name
    assert widget.attachments() == attachments
    assert AttachmentChipData("one.pdf", pages=1).detail() == "1 page"
