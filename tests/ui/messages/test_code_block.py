"""CodeBlockWidget: code shows at once, colours follow from the pump, Copy reports the exact code."""

from __future__ import annotations

from app.ui.messages import code_block
from app.ui.messages.code_block import CodeBlockWidget
from tests.ui.messages.conftest import settle


def test_open_code_shows_at_once_and_colours_follow(qtbot, context) -> None:
    block = CodeBlockWidget(context)
    qtbot.addWidget(block)
    block.set_code("def f():\n    return 1\n", "python", closed=False)
    text = block.code_text_widget()
    assert text.toPlainText() == "def f():\n    return 1"
    assert "#008000" not in text.toHtml()
    block.set_code("def f():\n    return 1\n", "python", closed=True)
    qtbot.waitUntil(block.is_highlighted, timeout=10_000)
    assert "#008000" in text.toHtml()
    assert text.toPlainText() == "def f():\n    return 1"


def test_growing_code_keeps_every_character(qtbot, context) -> None:
    block = CodeBlockWidget(context)
    qtbot.addWidget(block)
    code = "".join(f"value_{i} = {i} * 2  # line {i}\n" for i in range(40))
    for end in range(0, len(code), 7):
        block.set_code(code[:end], "python", closed=False)
        assert block.code_text_widget().toPlainText() == code[:end].rstrip("\n")
    block.set_code(code, "python", closed=True)
    settle(context)
    assert block.is_highlighted()
    assert block.code_text_widget().toPlainText() == code.rstrip("\n")


def test_copy_emits_the_code_and_says_so(qtbot, context, monkeypatch) -> None:
    monkeypatch.setattr(code_block, "COPIED_FEEDBACK_MS", 50)
    block = CodeBlockWidget(context)
    qtbot.addWidget(block)
    block.set_code("  indented <b>&</b>\n", "", closed=True)
    with qtbot.waitSignal(block.copyRequested) as copied:
        block._copy_button.click()
    assert copied.args == ["  indented <b>&</b>\n"]
    assert block._copy_button.text() == "Copied"
    qtbot.waitUntil(lambda: block._copy_button.text() == "Copy", timeout=5_000)


def test_language_label_and_height_fit_the_code(qtbot, context) -> None:
    block = CodeBlockWidget(context)
    qtbot.addWidget(block)
    block.set_code("a\n", "", closed=True)
    short = block.code_text_widget().height()
    block.set_code("a\n" * 30, "", closed=True)
    assert block._language_label.text() == "text"
    assert block.code_text_widget().height() > short * 5
