from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.tools.truncation import StreamingTruncator, omission_marker, truncate_middle


def test_short_text_is_kept_whole() -> None:
    fitted = truncate_middle("hello", 10)
    assert (fitted.text, fitted.truncated, fitted.total_chars) == ("hello", False, 5)


def test_long_text_keeps_head_and_tail_with_the_count_omitted() -> None:
    text = "".join(str(i % 10) for i in range(100))
    fitted = truncate_middle(text, 20)
    assert fitted.truncated
    assert fitted.total_chars == 100
    assert fitted.text == text[:10] + omission_marker(80) + text[-10:]
    assert "80 characters omitted" in fitted.text


def test_budget_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        truncate_middle("x", 1)
    with pytest.raises(ValueError, match="at least 2"):
        StreamingTruncator(0)


@given(text=st.text(max_size=400), budget=st.integers(2, 120),
       cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_streaming_gives_what_cutting_the_whole_text_gives(text: str, budget: int, cuts: list[int]) -> None:
    data = text.encode("utf-8")
    truncator = StreamingTruncator(budget)
    previous = 0
    decoded = []
    # Arbitrary byte boundaries, including inside a multi-byte character.
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        decoded.append(truncator.feed(data[previous:cut]))
        previous = cut
    decoded.append(truncator.feed(data[previous:]))
    assert "".join(decoded) == text
    assert truncator.result() == truncate_middle(text, budget)


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    truncator = StreamingTruncator(100)
    truncator.feed(b"ok \xff\xfe done")
    assert truncator.result().text == "ok \ufffd\ufffd done"


def test_a_flood_keeps_memory_bounded() -> None:
    truncator = StreamingTruncator(100)
    line = b"x" * 1000 + b"\n"
    for _ in range(5000):
        truncator.feed(line)
    assert len(truncator._tail) <= 2 * 50 + len(line)  # never the whole 5 MB
    result = truncator.result()
    assert result.total_chars == 5000 * 1001
    assert len(result.text) < 200
