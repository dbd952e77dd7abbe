"""The whole window as a user drives it: load, send, stream, stop, regenerate, edit, continue, tools,
the sidebar and a reopened conversation. The scripted engine replays Harmony through the real parser,
chat loop, store and widgets; the last test runs the real llama.cpp worker on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from app.chat.session import SessionOptions
from app.chat.turn import TurnOptions
from app.engine.client import WorkerEngine
from app.engine.interface import SamplingSettings
from app.engine.testing import harmony_reply, text_reply
from app.models import HubUnreachable, import_model
from app.ui.main_window import MainWindow
from app.ui.messages.reasoning import ReasoningPane
from app.ui.theme import ThemeWatcher
from tests.chat.conftest import ANALYSIS_THEN_FINAL
from tests.ui.conftest import WAIT_MS

ANSWER = "## Result\n\n- one\n- two\n\n```python\nprint(2 + 2)\n```\n\n| a | b |\n| --- | --- |\n| 1 | 2 |"


def send(qtbot, window: MainWindow, text: str) -> None:
    """Type and press Enter; returns once the turn has started (the send may wait for the meter)."""
    turns = len(window.chat_view.turns())
    window.composer.set_text(text)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.chat_view.turns()) > turns, timeout=WAIT_MS)


def wait_idle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.controller.busy
                    and window.chat_view.turns()[-1].assistant.status() is not None, timeout=WAIT_MS)


def test_without_a_model_the_composer_says_why_and_keeps_the_draft(qtbot, make_window) -> None:
    window = make_window(load=False)
    assert not window.composer.send_button.isEnabled()
    assert "Load a model" in window.composer.reason.text()
    window.composer.set_text("a draft")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    assert window.composer.text() == "a draft" and window.chat_view.turns() == []


def test_loading_shows_the_plan_and_enables_the_composer(qtbot, make_window) -> None:
    window = make_window()
    assert window.model_bar.state == "loaded"
    assert "context" in window.model_bar.status.text()
    assert window.composer.send_button.isEnabled() is False  # nothing typed yet
    window.composer.set_text("hi")
    assert window.composer.send_button.isEnabled()
    assert "token context" in window.status_model.text()


def test_an_answer_streams_into_its_widgets_and_the_sidebar_learns_the_title(qtbot, make_window,
                                                                                 engine) -> None:
    window = make_window()
    engine.queue(harmony_reply([("analysis", "Think about lists."), ("final", ANSWER)]))
    send(qtbot, window, "Show me a list and a table")
    wait_idle(qtbot, window)
    turn = window.chat_view.turns()[-1]
    assistant = turn.assistant
    panes = [item for item in assistant.items() if isinstance(item, ReasoningPane)]
    assert len(panes) == 1 and "Think about lists." in panes[0].text()
    assert assistant.answer_text().startswith("## Result") and assistant.status() == "complete"
    assert window.composer.text() == ""
    rows = window.sidebar.model.rows()
    assert [row.title for row in rows] == ["Show me a list and a table"]
    assert "tokens/s" in window.status_speed.text() and "context" in window.status_context.text()


def test_stop_keeps_the_partial_answer_and_continue_finishes_it(qtbot, make_window, engine) -> None:
    window = make_window()
    engine.tokens_per_second = 200
    engine.queue(harmony_reply([("final", "word " * 400)]))
    send(qtbot, window, "long please")
    assistant = window.chat_view.turns()[-1].assistant
    qtbot.waitUntil(lambda: len(assistant.answer_text()) > 20, timeout=WAIT_MS)
    assert window.composer.send_button.property("mode") == "stop"
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    wait_idle(qtbot, window)
    assert assistant.status() == "interrupted"
    partial = assistant.answer_text()
    assert 0 < len(partial) < len("word " * 400)
    assert not assistant.continue_button.isHidden()

    engine.tokens_per_second = None
    engine.queue(text_reply(" and the end."))  # a continuation is more of the same message: no header
    assistant.continue_button.click()
    wait_idle(qtbot, window)
    stored = [m for m in window.workspace.store.list_messages(window.controller.conversation_id)
              if m.role == "assistant"]
    assert len(stored) == 1 and stored[0].content.startswith(partial.strip()[:20])
    assert stored[0].content.endswith("and the end.") and stored[0].status == "complete"


def test_regenerate_replaces_the_answer_and_edit_replaces_the_question(qtbot, make_window, engine) -> None:
    window = make_window()
    engine.queue(harmony_reply([("final", "first answer")]))
    send(qtbot, window, "question one")
    wait_idle(qtbot, window)
    engine.queue(harmony_reply([("final", "second answer")]))
    window.chat_view.turns()[-1].assistant.regenerate_button.click()
    wait_idle(qtbot, window)
    assert window.chat_view.turns()[-1].assistant.answer_text() == "second answer"

    window.chat_view.turns()[-1].user.editRequested.emit()
    assert window.composer.text() == "question one"
    engine.queue(harmony_reply([("final", "answer to the edit")]))
    window.composer.set_text("question one, edited")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    turns = window.chat_view.turns()
    assert len(turns) == 1 and turns[0].user.text() == "question one, edited"
    assert turns[0].assistant.answer_text() == "answer to the edit"
    stored = window.workspace.store.list_messages(window.controller.conversation_id)
    assert [(m.role, m.content) for m in stored] == [("user", "question one, edited"),
                                                     ("assistant", "answer to the edit")]


def test_the_python_switch_gives_the_model_its_tool_and_the_card_asks_first(qtbot, make_window,
                                                                             engine) -> None:
    window = make_window()
    window.model_bar.python_action.trigger()  # before the chat exists: applied when it is created
    engine.queue(harmony_reply([("analysis", "compute"), ("analysis to=python", "print(6 * 7)")]))
    engine.queue(harmony_reply([("final", "It is 42.")]))
    send(qtbot, window, "what is six times seven?")
    assistant = window.chat_view.turns()[-1].assistant
    qtbot.waitUntil(lambda: any(c.state() == "waiting_approval" for c in assistant.tool_cards()),
                    timeout=WAIT_MS)
    system_prompt = "".join(getattr(s, "text", "") for s in engine.requests[0].segments)
    assert "## python" in system_prompt
    assert window.controller.busy and not window.controller.collector.is_deferring(), \
        "while a card waits for the user, garbage is collected as usual"
    card = assistant.tool_cards()[0]
    card.approveRequested.emit(card.call_id)
    qtbot.waitUntil(lambda: card.state() != "waiting_approval", timeout=WAIT_MS)
    wait_idle(qtbot, window)
    assert card.state() == "done" and "42" in card.result()
    assert assistant.answer_text() == "It is 42."


def test_a_reopened_conversation_looks_as_it_did(qtbot, make_window, engine) -> None:
    window = make_window()
    engine.queue(harmony_reply([("analysis", "Reason."), ("final", "Stored answer.")]))
    send(qtbot, window, "remember this")
    wait_idle(qtbot, window)
    conversation = window.controller.conversation_id
    window.new_chat()
    assert window.chat_view.turns() == []
    window.sidebar.list.setCurrentIndex(window.sidebar.model.index(0))
    qtbot.waitUntil(lambda: window.controller.conversation_id == conversation, timeout=WAIT_MS)
    assistant = window.chat_view.turns()[0].assistant
    assert assistant.answer_text() == "Stored answer." and assistant.status() == "complete"
    pane = next(item for item in assistant.items() if isinstance(item, ReasoningPane))
    assert not pane.is_streaming() and "Reason." in pane.text()


def test_search_filters_the_sidebar_by_message_text(qtbot, make_window, engine) -> None:
    window = make_window()
    for question, answer in (("about zebras", "Stripes."), ("about llamas", "Wool.")):
        window.new_chat()
        engine.queue(harmony_reply([("final", answer)]))
        send(qtbot, window, question)
        wait_idle(qtbot, window)
    assert len(window.sidebar.model.rows()) == 2
    with qtbot.waitSignal(window.sidebar.searchChanged, timeout=WAIT_MS):
        window.sidebar.search.setText("wool")
    assert [row.title for row in window.sidebar.model.rows()] == ["about llamas"]


def test_a_real_end_to_end_turn_on_the_tiny_model(qtbot, tiny_model_path) -> None:
    from app.chat.workspace import Workspace

    workspace = Workspace(engine_factory=WorkerEngine)
    model = import_model(tiny_model_path, workspace.library)
    window = MainWindow(workspace, ThemeWatcher("light"))
    qtbot.addWidget(window)
    window.show()
    try:
        window.load_model(str(model.path))
        qtbot.waitUntil(lambda: window.model_bar.state == "loaded", timeout=120_000)
        # Random weights only write Harmony when a grammar makes them.
        grammar = SessionOptions(turn=TurnOptions(grammar=ANALYSIS_THEN_FINAL,
                                                  sampling=SamplingSettings(seed=3, max_tokens=200)))
        window.controller.session_options = grammar
        send(qtbot, window, "hello from the window")
        wait_idle(qtbot, window)
        assistant = window.chat_view.turns()[-1].assistant
        assert assistant.status() == "complete"
        assert 3 <= len(assistant.answer_text()) <= 20
        assert any(isinstance(item, ReasoningPane) for item in assistant.items())
    finally:
        window.close()


def test_the_sidebar_exports_whole_answers_only_or_json_where_the_user_picks(qtbot, make_window, engine,
                                                                           monkeypatch, tmp_path) -> None:
    window = make_window()
    engine.queue(harmony_reply([("analysis", "Secret musing."), ("final", "The visible answer.")]))
    send(qtbot, window, "Explain")
    wait_idle(qtbot, window)
    conversation = window.controller.conversation_id
    chosen: list[Path] = []

    def save_as(_parent, _caption, suggested, _filter):
        chosen.append(tmp_path / Path(suggested).name.replace(" ", "_"))
        return str(chosen[-1]), _filter

    monkeypatch.setattr("app.ui.main_window.QFileDialog.getSaveFileName", save_as)
    menu = window.sidebar.conversation_menu(conversation, "Explain")
    labels = {action.text(): action for action in menu.actions() if action.text()}
    assert list(labels) == ["Rename…", "Export as Markdown…", "Export as Markdown, answers only…",
                            "Export as JSON…", "Delete"]

    labels["Export as Markdown…"].trigger()
    whole = chosen[-1].read_text(encoding="utf-8")
    assert chosen[-1].suffix == ".md" and "Secret musing." in whole and "The visible answer." in whole
    labels["Export as Markdown, answers only…"].trigger()
    answers = chosen[-1].read_text(encoding="utf-8")
    assert "Secret musing." not in answers and "The visible answer." in answers
    labels["Export as JSON…"].trigger()
    assert chosen[-1].suffix == ".json"
    assert json.loads(chosen[-1].read_text(encoding="utf-8"))["format"] == "ossian-conversation"
    assert "Exported to" in window.banner.text()


def test_a_finished_download_loads_itself_when_no_model_is_loaded(qtbot, make_window) -> None:
    """One click from download to chat: the window loads what the welcome page downloaded, and says so."""
    window = make_window(load=False)
    [model] = window.workspace.library.list()
    window.welcome.downloadFinished.emit(model)
    assert "loading it now" in window.banner.text()
    qtbot.waitUntil(lambda: window.model_bar.state == "loaded", timeout=WAIT_MS)
    window.welcome.downloadFinished.emit(model)  # a second one while a model is loaded: only told
    assert "Load it from the model list" in window.banner.text()
    assert window.model_bar.state == "loaded"


def test_an_error_of_any_room_is_shown_as_its_sentence(qtbot, make_window) -> None:
    """The window catches `OssianError` once: a chat refusal and a failed load both read as they were
    written (issue 15, item 5)."""
    window = make_window()
    send(qtbot, window, "question one")
    wait_idle(qtbot, window)
    with qtbot.waitSignal(window.controller.notice, timeout=WAIT_MS) as notice:
        window.controller.continue_answer()  # NothingToDo: the answer was not interrupted
    assert notice.args == ["error", "There is no interrupted answer to continue."]

    window._load_failed(HubUnreachable("huggingface.co could not be reached. Check the connection."))
    assert window.model_bar.state == "failed"
    assert window.model_bar.status.text() == "huggingface.co could not be reached. Check the connection."
