"""The meter's wording from real readings (`measure_context`), and the widget's buttons."""

from __future__ import annotations

from app.chat.context_meter import PendingCost, PromptTokens, RaiseOffer, measure_context
from app.documents import TokenCount
from app.ui.context_meter import ContextMeter, meter_view
from app.ui.theme import theme_for

GIB = 2**30


def reading(n_ctx: int = 32768, documents: int = 9000, estimated: bool = False,
            offer: RaiseOffer | None = None):
    return measure_context(
        n_ctx=n_ctx, prompt=PromptTokens(1200, 3400, estimated), draft_tokens=TokenCount(0, False),
        pending=[PendingCost("a", "report.pdf", documents, estimated)],
        effort="medium", search_active=False, search_cost=5000, max_n_ctx=131072,
        ask_planner=(lambda n: offer) if offer else None)


def test_a_fitting_reading_is_one_line_and_no_buttons() -> None:
    view = meter_view(reading())
    assert view.line == "system 1.2K · history 3.4K · documents 9K · reserve 4.1K of 32K"
    assert view.state == "ok" and not view.reason and not view.raise_text and not view.search_text
    assert [role for role, _ in view.segments] == ["system", "history", "documents", "reserve"]
    assert meter_view(reading(estimated=True)).line.startswith("≈ system")
    assert meter_view(reading(estimated=True)).line.endswith("(estimated)")


def test_an_overflow_names_the_reason_and_both_ways_out() -> None:
    offer = RaiseOffer(131072, True, 0, int(3.1 * GIB), "A 128K context fits as the model is placed now.")
    view = meter_view(reading(documents=96_000, offer=offer))
    assert view.state == "over" and view.line.endswith("of 32K, 72K over")
    assert "Nothing is cut" in view.reason
    assert view.raise_text == "Use 128K context (needs 3.1 GiB more RAM)" and view.raise_n_ctx == 131072
    assert view.search_text == "Search the documents instead" and "report.pdf" in view.search_tooltip

    gpu = RaiseOffer(65536, True, GIB // 2, 0, "fits")
    view = meter_view(reading(documents=40_000, offer=gpu))
    assert view.raise_text == "Use 64K context (needs 512 MiB more VRAM)"


def test_a_raise_the_planner_refuses_is_explained_not_offered() -> None:
    refused = RaiseOffer(131072, False, 0, 40 * GIB, "A 128K context does not fit: it needs 40 GiB of RAM.")
    view = meter_view(reading(documents=96_000, offer=refused))
    assert not view.raise_text and "does not fit: it needs 40 GiB" in view.reason
    assert view.search_text


def test_the_buttons_say_what_was_chosen(qtbot) -> None:
    meter = ContextMeter(theme_for("light"))
    qtbot.addWidget(meter)
    meter.show()
    offer = RaiseOffer(131072, True, 0, GIB, "fits")
    meter.set_view(meter_view(reading(documents=96_000, offer=offer)))
    assert meter.raise_button.isVisible() and meter.search_button.isVisible() and meter.reason.isVisible()
    with qtbot.waitSignal(meter.raiseRequested) as raised:
        meter.raise_button.click()
    assert raised.args == [131072]
    with qtbot.waitSignal(meter.searchRequested):
        meter.search_button.click()
    meter.set_view(meter_view(reading()))
    assert meter.raise_button.isHidden() and meter.search_button.isHidden() and meter.reason.isHidden()
    assert meter.bar.colour("documents").name() == theme_for("light").palette.accent
