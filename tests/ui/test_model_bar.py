"""The model bar: picker, load/unload by state, the plan's sentence, effort and the python switch."""

from __future__ import annotations

from app.ui.model_bar import ModelBar, ModelChoice
from app.ui.theme import theme_for

CHOICES = [ModelChoice("/m/a.gguf", "gpt-oss-20b", "MXFP4 · 12 GB"),
           ModelChoice("/m/b.gguf", "gpt-oss-120b", "")]


def make(qtbot) -> ModelBar:
    bar = ModelBar(theme_for("light"))
    qtbot.addWidget(bar)
    bar.show()
    return bar


def test_no_models_hides_the_picker_and_says_what_to_do(qtbot) -> None:
    bar = make(qtbot)
    bar.set_models([])
    bar.set_state("none", "No model on this computer yet.")
    assert bar.picker.isHidden() and bar.load_button.isHidden()
    assert bar.status.text() == "No model on this computer yet."


def test_load_then_unload_follows_the_state(qtbot) -> None:
    bar = make(qtbot)
    bar.set_models(CHOICES, "/m/b.gguf")
    assert bar.current_path() == "/m/b.gguf" and bar.load_button.text() == "Load"
    with qtbot.waitSignal(bar.loadRequested) as asked:
        bar.load_button.click()
    assert asked.args == ["/m/b.gguf"]
    bar.set_state("loading", "Planning…")
    assert not bar.load_button.isEnabled() and not bar.picker.isEnabled()
    bar.set_state("loaded", "runs on the CPU", "/m/b.gguf")
    assert bar.load_button.text() == "Unload"
    with qtbot.waitSignal(bar.unloadRequested):
        bar.load_button.click()
    bar.picker.setCurrentIndex(0)  # another model picked while one is loaded: Load it instead
    assert bar.load_button.text() == "Load"


def test_effort_and_python_switch_speak_up_only_when_the_user_changes_them(qtbot) -> None:
    bar = make(qtbot)
    with qtbot.assertNotEmitted(bar.pythonToolChanged):
        bar.set_python_tool(True)
    assert bar.tools_button.text() == "Tools: python"
    with qtbot.waitSignal(bar.pythonToolChanged) as switched:
        bar.python_action.trigger()
    assert switched.args == [False] and bar.tools_button.text() == "Tools"
    bar.set_effort("high")
    assert bar.effort() == "high"
    with qtbot.waitSignal(bar.effortChanged) as chosen:
        bar.effort_buttons["low"].click()
    assert chosen.args == ["low"] and bar.effort() == "low"
