"""The context meter's arithmetic: breakdown, overflow, and the ways out when it does not fit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.documents import AttachmentCost, RaiseContext, UseSearchMode, plan_context
from app.documents.budget import CONTEXT_STEP


def test_a_prompt_that_fits():
    budget = plan_context(n_ctx=8192, system_tokens=500, history_tokens=1200,
                          attachments=[AttachmentCost("a.pdf", 3000)], reserve_tokens=2048)
    assert budget.needed == 500 + 1200 + 3000 + 2048
    assert budget.fits
    assert budget.overflow == 0
    assert budget.free == 8192 - 6748
    assert budget.choices == ()
    assert budget.segments() == [
        ("System and instructions", 500),
        ("Conversation", 1200),
        ("a.pdf", 3000),
        ("Reserved for reasoning and answer", 2048),
    ]


def test_exactly_full_fits():
    budget = plan_context(n_ctx=4096, system_tokens=96, history_tokens=0,
                          attachments=[AttachmentCost("a", 2000)], reserve_tokens=2000)
    assert budget.fits and budget.free == 0 and budget.overflow == 0


def test_overflow_offers_a_larger_context_and_search_mode():
    budget = plan_context(
        n_ctx=16_384, system_tokens=400, history_tokens=600,
        attachments=[AttachmentCost("small.txt", 1000), AttachmentCost("book.pdf", 90_000)],
        reserve_tokens=4096, max_n_ctx=131_072,
    )
    assert not budget.fits
    assert budget.overflow == 400 + 600 + 1000 + 90_000 + 4096 - 16_384
    assert budget.free == 0
    raise_choice, search_choice = budget.choices
    assert raise_choice == RaiseContext(96_256)  # 96,096 rounded up to a whole 1,024
    assert isinstance(search_choice, UseSearchMode)
    assert search_choice.indices == (1,)
    assert search_choice.names == ("book.pdf",)
    assert search_choice.needed_after == 400 + 600 + 1000 + 4096 + 4096  # plus the tool's own cost


def test_no_raise_beyond_the_trained_context():
    budget = plan_context(n_ctx=131_072, system_tokens=500, history_tokens=0,
                          attachments=[AttachmentCost("huge.txt", 200_000)], reserve_tokens=4096,
                          max_n_ctx=131_072)
    assert [type(c) for c in budget.choices] == [UseSearchMode]


def test_raise_is_capped_at_the_trained_context_when_rounding_would_pass_it():
    budget = plan_context(n_ctx=8192, system_tokens=100, history_tokens=0,
                          attachments=[AttachmentCost("a", 130_500)], reserve_tokens=0, max_n_ctx=130_600)
    assert budget.choices[0] == RaiseContext(130_600)


def test_no_raise_offered_without_knowing_the_model_limit():
    budget = plan_context(n_ctx=1024, system_tokens=100, history_tokens=0,
                          attachments=[AttachmentCost("a", 5000)], reserve_tokens=100)
    assert all(not isinstance(c, RaiseContext) for c in budget.choices)


def test_search_mode_moves_the_fewest_documents_largest_first():
    attachments = [AttachmentCost(name, tokens) for name, tokens in
                   [("a", 3000), ("b", 9000), ("c", 5000), ("d", 9000)]]
    budget = plan_context(n_ctx=16_384, system_tokens=0, history_tokens=0, attachments=attachments,
                          reserve_tokens=1000, search_mode_tokens=1000)
    (choice,) = budget.choices
    assert choice.indices == (1, 3)  # the two largest; equal sizes keep their order
    assert choice.names == ("b", "d")
    assert choice.needed_after == 3000 + 5000 + 1000 + 1000


def test_search_mode_already_active_costs_nothing_more():
    common = dict(n_ctx=10_000, system_tokens=1000, history_tokens=0,
                  attachments=[AttachmentCost("a", 9000)], reserve_tokens=1000, search_mode_tokens=4000)
    assert plan_context(**common, search_mode_active=True).choices == (UseSearchMode((0,), ("a",), 2000),)
    assert plan_context(**common).choices == (UseSearchMode((0,), ("a",), 6000),)


def test_search_mode_is_not_offered_when_it_would_not_be_enough():
    budget = plan_context(n_ctx=4096, system_tokens=1000, history_tokens=3000,
                          attachments=[AttachmentCost("a", 500)], reserve_tokens=1000, max_n_ctx=131_072)
    assert budget.choices == (RaiseContext(6144),)  # 5,500 rounded up


def test_history_alone_over_everything_leaves_no_choice():
    budget = plan_context(n_ctx=8192, system_tokens=0, history_tokens=200_000, reserve_tokens=0,
                          max_n_ctx=131_072)
    assert not budget.fits
    assert budget.choices == ()


def test_estimates_mark_the_whole_budget():
    exact = plan_context(n_ctx=8192, system_tokens=1, history_tokens=1, reserve_tokens=1,
                         attachments=[AttachmentCost("a", 10)])
    guessed = plan_context(n_ctx=8192, system_tokens=1, history_tokens=1, reserve_tokens=1,
                           attachments=[AttachmentCost("a", 10), AttachmentCost("b", 10, estimated=True)])
    assert not exact.estimated
    assert guessed.estimated


@pytest.mark.parametrize(
    "bad",
    [dict(n_ctx=0), dict(n_ctx=-5), dict(system_tokens=-1), dict(reserve_tokens=-1),
     dict(attachments=[AttachmentCost("a", -3)])],
)
def test_nonsense_inputs_are_refused(bad):
    arguments = dict(n_ctx=8192, system_tokens=0, history_tokens=0, reserve_tokens=0) | bad
    with pytest.raises(ValueError):
        plan_context(**arguments)


counts = st.integers(min_value=0, max_value=200_000)


@given(
    n_ctx=st.integers(min_value=1, max_value=131_072),
    system=counts, history=counts, reserve=counts,
    attachment_tokens=st.lists(counts, max_size=6),
    max_n_ctx=st.one_of(st.none(), st.integers(min_value=1, max_value=262_144)),
    search_cost=st.integers(min_value=0, max_value=8192),
)
def test_arithmetic_invariants(n_ctx, system, history, reserve, attachment_tokens, max_n_ctx, search_cost):
    attachments = [AttachmentCost(f"doc{i}", t) for i, t in enumerate(attachment_tokens)]
    budget = plan_context(n_ctx=n_ctx, system_tokens=system, history_tokens=history, attachments=attachments,
                          reserve_tokens=reserve, max_n_ctx=max_n_ctx, search_mode_tokens=search_cost)
    assert budget.needed == system + history + sum(attachment_tokens) + reserve
    assert sum(tokens for _, tokens in budget.segments()) == budget.needed
    assert budget.fits == (budget.overflow == 0)
    assert budget.needed - budget.overflow + budget.free == n_ctx
    if budget.fits:
        assert budget.choices == ()
    for choice in budget.choices:
        if isinstance(choice, RaiseContext):
            assert max_n_ctx is not None
            assert budget.needed <= choice.n_ctx <= max_n_ctx
            assert choice.n_ctx % CONTEXT_STEP == 0 or choice.n_ctx == max_n_ctx
        else:
            moved = sum(attachment_tokens[i] for i in choice.indices)
            assert choice.needed_after == budget.needed - moved + search_cost <= n_ctx
            # Fewest documents: the k largest minus one could not have made room.
            largest = sorted(attachment_tokens, reverse=True)[: len(choice.indices) - 1]
            assert budget.needed - sum(largest) + search_cost > n_ctx
