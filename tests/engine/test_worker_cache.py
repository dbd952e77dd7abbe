"""Prefix reuse is correct: logits after reusing the cache equal a fresh evaluation of the same prompt.

"Equal" is measured against the numerical noise of llama.cpp itself: evaluating a prompt in one batch or
in two (the first part, then the rest) gives logits that differ slightly, and both are right. Reuse must
stay within that noise. Each test also shows that it can fail: the same steps with checkpoints switched
off (llama-cpp-python's own prefix reuse) land far outside it once the sliding window has moved on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.engine.interface import GenerateRequest, SamplingSettings
from app.engine.worker_log import LlamaLog
from app.engine.worker_session import Session
from app.harmony.segments import Text
from tests.engine.conftest import NO_STOPS, tiny_plan

# About 200 and 50 tokens of the tiny vocabulary (mostly one token per byte).
FIRST = "the system said hello and then the user asked about the weather in the north. " * 3
SECOND = "and what about tomorrow, then?"
# Long enough that the sliding-window cache (768 cells at n_ubatch 512) has dropped the prompt's window;
# llama.cpp prunes it lazily, so a shorter answer leaves everything in place.
LONG_ANSWER = 1000


@pytest.fixture(scope="module")
def session(tiny_model_path: Path) -> Iterator[Session]:
    session = Session(LlamaLog(forward=None))
    session.load(tiny_plan(tiny_model_path))
    yield session
    session.unload()


def tokens(session: Session, *texts: str) -> list[int]:
    return list(session.tokenize([Text(t) for t in texts]))


def generate(session: Session, prompt_texts: tuple[str, ...], count: int) -> list[int]:
    """Sample `count` tokens after the prompt (no end token allowed), as a turn of a conversation does."""
    out: list[int] = []
    request = GenerateRequest(tuple(Text(t) for t in prompt_texts),
                              SamplingSettings(seed=7, max_tokens=count, suppress_specials=NO_STOPS))
    done = session.generate(request, lambda token, piece: out.append(token))
    assert done.reason == "length" and len(out) == count
    return out


def fresh_logits(session: Session, *parts: list[int]) -> np.ndarray:
    """Logits of the concatenated parts, evaluated from an empty cache one part after the other."""
    session.cache.clear()
    prompt: list[int] = []
    for part in parts:
        prompt += part
        session.evaluate_prompt(list(prompt))
    return session.last_logits()


def noise(session: Session, first: list[int], second: list[int]) -> float:
    one_batch = fresh_logits(session, first + second)
    two_batches = fresh_logits(session, first, second)
    scale = float(np.abs(one_batch - two_batches).max())
    assert scale > 0, "batching should change the float rounding a little"
    return scale


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max())


@pytest.fixture
def checkpoints(session: Session) -> Iterator[None]:
    session.cache.use_checkpoints = True
    yield
    session.cache.use_checkpoints = True


def test_follow_up_after_a_long_answer_restores_the_checkpoint(session: Session, checkpoints: None) -> None:
    first, second = tokens(session, FIRST), tokens(session, SECOND)
    tolerance = noise(session, first, second)
    reference = fresh_logits(session, first, second)

    session.cache.clear()
    generate(session, (FIRST,), LONG_ANSWER)  # the answer pushes the window far past the prompt
    result = session.evaluate_prompt(first + second)  # the next turn drops the answer: a rewind
    assert result.reuse.restored_checkpoint == len(first) - 1
    assert result.reuse.n_past == len(first)
    assert result.evaluated_tokens == len(second)
    assert diff(session.last_logits(), reference) <= tolerance

    session.cache.use_checkpoints = False  # what llama-cpp-python does: reuse and hope
    session.cache.clear()
    generate(session, (FIRST,), LONG_ANSWER)
    naive = session.evaluate_prompt(first + second)
    assert naive.reuse.n_past >= len(first)
    assert diff(session.last_logits(), reference) > 5 * tolerance


def test_regenerating_the_same_prompt_evaluates_one_token(session: Session, checkpoints: None) -> None:
    prompt = tokens(session, FIRST)
    tolerance = noise(session, prompt[:-1], prompt[-1:])
    reference = fresh_logits(session, prompt[:-1], prompt[-1:])

    session.cache.clear()
    generate(session, (FIRST,), LONG_ANSWER)
    result = session.evaluate_prompt(prompt)
    assert result.reuse.restored_checkpoint == len(prompt) - 1  # the checkpoint reaches past the rewind
    assert result.evaluated_tokens == 1
    assert diff(session.last_logits(), reference) <= tolerance


def test_a_short_answer_needs_no_checkpoint(session: Session, checkpoints: None) -> None:
    first, second = tokens(session, FIRST), tokens(session, SECOND)
    tolerance = noise(session, first, second)
    reference = fresh_logits(session, first, second)

    session.cache.clear()
    answer = generate(session, (FIRST,), 20)
    result = session.evaluate_prompt(first + second)
    assert result.reuse.restored_checkpoint is None
    expected = len(first) + (1 if answer[0] == second[0] else 0)
    assert result.reuse.n_past == expected
    assert diff(session.last_logits(), reference) <= tolerance


def test_with_no_checkpoint_that_fits_the_prompt_is_evaluated_again(session: Session,
                                                                    checkpoints: None) -> None:
    first = tokens(session, FIRST)
    session.cache.clear()
    generate(session, (FIRST,), LONG_ANSWER)
    shorter = first[: len(first) // 2] + tokens(session, SECOND)  # diverges inside the old prompt
    result = session.evaluate_prompt(shorter)
    assert result.reuse.from_scratch and result.reuse.n_past == 0
    assert result.evaluated_tokens == len(shorter)
    assert diff(session.last_logits(), fresh_logits(session, shorter)) == 0.0


def test_a_full_size_window_cache_reuses_without_checkpoints(tiny_model_path: Path) -> None:
    session = Session(LlamaLog(forward=None))
    session.load(tiny_plan(tiny_model_path, swa_full=True))
    try:
        first, second = tokens(session, FIRST), tokens(session, SECOND)
        reference = fresh_logits(session, first, second)
        session.cache.clear()
        generate(session, (FIRST,), LONG_ANSWER)
        result = session.evaluate_prompt(first + second)
        assert not session.cache.checkpoints and result.reuse.restored_checkpoint is None
        assert result.reuse.n_past >= len(first)
        assert diff(session.last_logits(), reference) <= noise(session, first, second)
    finally:
        session.unload()
