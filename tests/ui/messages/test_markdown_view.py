"""MarkdownView: streamed Markdown lands in prose labels and code blocks; finished pieces stay put."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolButton

from app.ui.messages.code_block import CodeBlockWidget
from app.ui.messages.markdown_view import MarkdownView, ProseLabel
from app.ui.theme import DARK, Theme
from tests.ui.messages.conftest import settle
from tests.ui.streaming import stream_text

ANSWER = (
    "# Plan\n\nFirst *read* the [docs](https://docs.example/start).\n\n"
    "```python\nprint('hi')\n```\n\n"
    "| tool | cost |\n|---|---|\n| pen | 2 |\n\nDone.\n"
)


def test_streamed_answer_renders_into_labels_and_a_code_block(qtbot, context) -> None:
    view = MarkdownView(context)
    qtbot.addWidget(view)
    deltas = stream_text(qtbot, view.append_text, ANSWER)
    view.finish()
    settle(context)
    assert deltas > 20
    widgets = view.piece_widgets()
    assert [type(w) for w in widgets] == [ProseLabel, CodeBlockWidget, ProseLabel]
    assert "<h1>Plan</h1>" in widgets[0].html and 'href="https://docs.example/start"' in widgets[0].html
    assert widgets[1].code() == "print('hi')\n" and widgets[1].language() == "python"
    assert "<th>tool</th>" in widgets[2].html and "<p>Done.</p>" in widgets[2].html
    assert view.text() == ANSWER


def test_deltas_are_coalesced_into_one_frame(qtbot, context) -> None:
    view = MarkdownView(context)
    qtbot.addWidget(view)
    frames = []
    context.frames.frameRendered.connect(frames.append)
    for word in ("Many ", "small ", "deltas ", "arrive ", "before ", "a ", "frame."):
        view.append_text(word)
    assert view.piece_widgets() == [], "nothing renders on the token path"
    qtbot.waitUntil(lambda: len(view.piece_widgets()) == 1, timeout=2_000)
    assert len(frames) == 1
    assert "Many small deltas arrive before a frame." in view.piece_widgets()[0].html


def test_finished_pieces_are_not_rendered_again(qtbot, context) -> None:
    view = MarkdownView(context)
    qtbot.addWidget(view)
    view.append_text("A first paragraph that is long enough to fill most of a group. " * 30 + "\n\n")
    view.append_text("Next.\n\n")
    settle(context)
    first = view.piece_widgets()[0]
    html_before = first.html
    set_texts = []
    first.setText = lambda text: set_texts.append(text)  # the label's own method, watched
    for index in range(30):
        view.append_text(f"Paragraph {index} keeps streaming in. ")
        settle(context)
    assert view.piece_widgets()[0] is first
    assert first.html == html_before
    assert set_texts == []


def test_links_are_reported_on_click_not_opened(qtbot, context) -> None:
    view = MarkdownView(context)
    qtbot.addWidget(view)
    view.resize(500, 200)
    view.set_text("See [the docs](https://docs.example/x) now.")
    view.show()
    qtbot.waitExposed(view)
    label = view.piece_widgets()[0]
    assert label.openExternalLinks() is False
    document = label.findChild(QTextDocument)
    line_y = label.contentsMargins().top() + 8
    link_x = next(x for x in range(0, 400) if document.documentLayout().anchorAt(QPoint(x, 8)))
    clicked: list[QUrl] = []
    view.linkClicked.connect(clicked.append)
    QTest.mouseMove(label, QPoint(link_x + 2, line_y))
    QTest.mouseClick(label, Qt.MouseButton.LeftButton, pos=QPoint(2, line_y))
    assert clicked == [], "hovering or clicking beside the link does nothing"
    QTest.mouseClick(label, Qt.MouseButton.LeftButton, pos=QPoint(link_x + 2, line_y))
    assert clicked == [QUrl("https://docs.example/x")]


def test_code_block_copy_reaches_the_view(qtbot, context) -> None:
    view = MarkdownView(context)
    qtbot.addWidget(view)
    view.set_text("```bash\necho 'a b'\n```\n")
    block = view.piece_widgets()[0]
    assert isinstance(block, CodeBlockWidget)
    with qtbot.waitSignal(view.copyRequested) as copied:
        block._copy_button.click()
    assert copied.args == ["echo 'a b'\n"]


def test_a_new_context_renders_again_with_its_colours(qtbot, context, theme) -> None:
    view = MarkdownView(context)
    qtbot.addWidget(view)
    view.set_text("Some `code` here.")
    assert theme.palette.inline_code_background in view.piece_widgets()[0].text()
    dark = context.with_theme(Theme(DARK, theme.font_px, theme.font_family, theme.mono_family))
    view.set_context(dark)
    assert DARK.inline_code_background in view.piece_widgets()[0].text()
    assert view.text() == "Some `code` here."


def test_a_code_block_made_ahead_while_streaming_is_the_one_code_lands_in(qtbot, context) -> None:
    view = MarkdownView(context)
    qtbot.addWidget(view)
    view.show()
    view.append_text("Some prose first.\n\n")
    qtbot.waitUntil(lambda: len(view.findChildren(CodeBlockWidget)) == 1, timeout=2_000)
    ahead = view.findChildren(CodeBlockWidget)[0]
    assert ahead.isHidden() and ahead not in view.piece_widgets()
    copies = []
    view.copyRequested.connect(copies.append)
    view.append_text("```python\nprint(1)\n```\n\nAfter.\n\n")
    view.finish()
    settle(context)
    blocks = [w for w in view.piece_widgets() if isinstance(w, CodeBlockWidget)]
    assert len(blocks) == 1 and blocks[0] is ahead
    assert ahead.isVisible() and ahead.code() == "print(1)\n"
    ahead.findChild(QToolButton, "codeCopy").click()
    assert copies == ["print(1)\n"]
    # Finished: no spare is kept (it is deleted with the next event-loop pass).
    qtbot.waitUntil(lambda: view.findChildren(CodeBlockWidget) == [ahead], timeout=2_000)


def test_a_message_from_history_makes_no_code_block_ahead(qtbot, context) -> None:
    view = MarkdownView(context)
    qtbot.addWidget(view)
    view.show()
    view.set_text(ANSWER)
    settle(context)
    qtbot.wait(150)
    assert len(view.findChildren(CodeBlockWidget)) == 1 == len(
        [w for w in view.piece_widgets() if isinstance(w, CodeBlockWidget)])
