"""The context meter's inputs and verdicts: real token counts from the tiny model in the worker, real
rendered prompts, the real planner (on a described machine) for offers of a larger context."""

from __future__ import annotations

from datetime import date

import pytest

from app.chat.attachments import SegmentCounter, prepare_document
from app.chat.context_meter import (
    SEARCH_RESULTS_ROOM,
    PendingCost,
    PromptTokens,
    RaiseOffer,
    measure_context,
    prompt_tokens,
    raise_offer,
    search_mode_cost,
)
from app.chat.prompt import PromptSettings, conversation_messages, render_for_generation
from app.chat.workspace import Workspace
from app.documents import DEFAULT_RESERVE_TOKENS, TokenCount
from app.planner import LoadFailed, describe_machine
from fixtures.documents import prose_lines, write_text

GIB = 2**30
SETTINGS = PromptSettings(reasoning_effort="low", start_date=date(2025, 8, 5), instructions="Be brief.")
NO_DRAFT = TokenCount(0, estimated=False)


def pending(key: str, tokens: int, mode: str = "inline") -> PendingCost:
    return PendingCost(key, f"{key}.pdf", tokens, estimated=False, mode=mode)  # type: ignore[arg-type]


def test_segments_are_counted_exactly_by_the_engine(store, chat_engine) -> None:
    conversation = store.create_conversation()
    store.add_user_turn(conversation.id, "How long is the river?")
    messages = conversation_messages(store.list_messages(conversation.id), [], SETTINGS)
    segments = render_for_generation(messages)
    counted = SegmentCounter(chat_engine).segments(segments)
    assert not counted.estimated
    assert counted.tokens == len(chat_engine.tokenize(segments).result(timeout=60))

    guessed = SegmentCounter(None).segments(segments)
    assert guessed.estimated and guessed.tokens > 0


def test_prompt_tokens_split_system_from_history(store, chat_engine) -> None:
    conversation = store.create_conversation()
    store.add_user_turn(conversation.id, " ".join(prose_lines(5, seed=1)))
    messages = conversation_messages(store.list_messages(conversation.id), [], SETTINGS)
    counter = SegmentCounter(chat_engine)
    measured = prompt_tokens(messages, counter)
    whole = len(chat_engine.tokenize(render_for_generation(messages)).result(timeout=60))
    assert measured.system > 0 and measured.history > 0
    assert measured.system + measured.history == whole
    # After a turn the engine said how much it held: that stands for the whole prompt.
    after_turn = prompt_tokens(messages, counter, context_used=whole + 500)
    assert (after_turn.system, after_turn.history) == (measured.system, measured.history + 500)


def test_search_mode_costs_the_browser_declaration_and_room_for_results(chat_engine) -> None:
    cost = search_mode_cost(SETTINGS, SegmentCounter(chat_engine))
    assert cost > SEARCH_RESULTS_ROOM + 100  # the declaration is hundreds of tokens


def test_a_fitting_reading_does_not_block() -> None:
    reading = measure_context(n_ctx=32768, prompt=PromptTokens(1200, 3400, False),
                              draft_tokens=TokenCount(20, False), pending=[pending("a", 9000)],
                              effort="medium", search_active=False, search_cost=5000)
    assert reading.fits and not reading.blocked and reading.reason == ""
    assert (reading.system_tokens, reading.history_tokens, reading.draft_tokens) == (1200, 3400, 20)
    assert reading.document_tokens == 9000 and reading.reserve_tokens == DEFAULT_RESERVE_TOKENS["medium"]
    assert not reading.estimated


def test_documents_that_do_not_fit_block_sending_and_offer_both_ways_out() -> None:
    asked: list[int] = []

    def planner(n_ctx: int) -> RaiseOffer:
        asked.append(n_ctx)
        return RaiseOffer(n_ctx, True, 0, 3 * GIB, "fits")

    reading = measure_context(n_ctx=32768, prompt=PromptTokens(1200, 3400, False), draft_tokens=NO_DRAFT,
                              pending=[pending("small", 2000), pending("big", 90_000)], effort="medium",
                              search_active=False, search_cost=5000, max_n_ctx=131072, ask_planner=planner)
    assert not reading.fits and reading.blocked
    assert "Nothing is cut" in reading.reason and "92,000" in reading.reason
    assert reading.raise_offer is not None and reading.raise_offer.n_ctx == 128 * 1024 == asked[0]
    assert reading.search_keys == ("big",) and reading.search_names == ("big.pdf",)

    moved = measure_context(n_ctx=32768, prompt=PromptTokens(1200, 3400, False), draft_tokens=NO_DRAFT,
                            pending=[pending("small", 2000), pending("big", 120, mode="search")],
                            effort="medium", search_active=False, search_cost=5000)
    assert moved.fits and not moved.blocked
    assert moved.system_tokens == 1200 + 5000  # search mode turns on: its declaration and room join


def test_a_long_history_alone_warns_but_a_prompt_over_the_limit_blocks() -> None:
    near = measure_context(n_ctx=8192, prompt=PromptTokens(1000, 6000, False), draft_tokens=NO_DRAFT,
                           pending=[], effort="medium", search_active=False, search_cost=5000)
    assert not near.fits and not near.blocked and "may stop" in near.reason
    over = measure_context(n_ctx=8192, prompt=PromptTokens(1000, 7500, False), draft_tokens=NO_DRAFT,
                           pending=[], effort="medium", search_active=False, search_cost=5000)
    assert over.blocked and "more than this 8,192-token context" in over.reason


def test_the_offer_is_the_next_nice_size_or_the_exact_one_that_fits() -> None:
    def fits_up_to(limit: int):
        return lambda n: RaiseOffer(n, n <= limit, 0, n, f"{n} asked")

    assert raise_offer(40_000, 131072, fits_up_to(131072)).n_ctx == 48 * 1024
    assert raise_offer(40_000, 131072, fits_up_to(45_000)).n_ctx == 40_000
    refused = raise_offer(40_000, 131072, fits_up_to(10_000))
    assert refused is not None and not refused.fits and refused.n_ctx == 48 * 1024
    assert raise_offer(40_000, 131072, lambda n: None) is None


@pytest.fixture
def workspace():
    workspace = Workspace(read_machine=lambda: describe_machine(ram=16 * GIB))
    yield workspace
    workspace.close()


def test_the_planner_prices_a_larger_context_and_the_reload_applies_it(tmp_path, workspace,
                                                                        tiny_model_path) -> None:
    assert workspace.context_offer(8192) is None  # no model loaded: nothing to price
    workspace.load_model(tiny_model_path, n_ctx=4096)
    offer = workspace.context_offer(65536)
    assert offer is not None and offer.fits and offer.n_ctx == 65536
    assert offer.extra_gpu_bytes == 0 and offer.extra_host_bytes > 0  # CPU only: all of it is RAM
    assert "64K" in offer.summary

    document = prepare_document(write_text(tmp_path / "long.txt", "\n".join(prose_lines(300, seed=4))),
                                count_tokens=None)
    reading = measure_context(n_ctx=workspace.loaded.n_ctx, prompt=PromptTokens(300, 0, False),
                              draft_tokens=NO_DRAFT, pending=[pending("long", document.tokens.tokens)],
                              effort="low", search_active=False, search_cost=4500, max_n_ctx=131072,
                              ask_planner=workspace.context_offer)
    assert reading.blocked and reading.raise_offer is not None and reading.raise_offer.fits

    loaded = workspace.reload_with_context(reading.raise_offer.n_ctx)
    assert loaded.n_ctx == reading.raise_offer.n_ctx == workspace.engine.model.n_ctx
    assert loaded.path == tiny_model_path


def test_reloading_without_a_model_says_what_to_do(workspace) -> None:
    with pytest.raises(ValueError, match="No model is loaded"):
        workspace.reload_with_context(65536)


def test_a_larger_context_that_fails_to_load_brings_the_previous_one_back(tiny_model_path) -> None:
    from tests.planner.test_ladder import OUT_OF_MEMORY, CommandedEngine

    # Memory runs out above 8K whatever the plan says (an injected failure behind the real Engine
    # interface, as the ladder's own tests do): every rung of the ladder fails at the larger context.
    engine = CommandedEngine(lambda plan: OUT_OF_MEMORY if plan.n_ctx > 8192 else None)
    workspace = Workspace(engine_factory=lambda: engine, read_machine=lambda: describe_machine(ram=16 * GIB))
    try:
        workspace.load_model(tiny_model_path, n_ctx=4096)
        with pytest.raises(LoadFailed, match="loaded again with its previous 4,096-token context"):
            workspace.reload_with_context(131072)
        assert workspace.loaded is not None and workspace.loaded.n_ctx == 4096
        assert engine.model is not None and engine.model.n_ctx == 4096
        assert engine.loaded[1].n_ctx == 131072 and engine.loaded[-1].n_ctx == 4096
    finally:
        workspace.close()
