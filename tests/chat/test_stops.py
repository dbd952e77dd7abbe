"""Stop strings: however the answer's text is split into pieces, what is shown is the text up to the first
stop string, and no more is held back than could still become one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.chat.stops import StopWatch


def run(pieces: list[str], stops: list[str]) -> tuple[str, bool]:
    watch = StopWatch(stops)
    shown = "".join(watch.feed(piece) for piece in pieces)
    if not watch.hit:
        shown += watch.flush()
    return shown, watch.hit


def expected(text: str, stops: list[str]) -> tuple[str, bool]:
    """Read one character at a time: the answer ends where a stop string is first complete."""
    for end in range(len(text) + 1):
        done = [stop for stop in stops if text[:end].endswith(stop)]
        if done:
            return text[:end - max(len(stop) for stop in done)], True  # the longest: it began first
    return text, False


@given(st.lists(st.text("abc", max_size=6), max_size=8), st.lists(st.text("abc", min_size=1, max_size=3),
                                                                   min_size=1, max_size=4))
def test_any_split_gives_the_text_up_to_the_first_stop(pieces: list[str], stops: list[str]) -> None:
    assert run(pieces, stops) == expected("".join(pieces), stops)


def test_only_a_possible_beginning_is_held_back() -> None:
    watch = StopWatch(["</answer>"])
    assert watch.feed("The end </ans") == "The end "
    assert watch.feed("wer> after") == "" and watch.hit and watch.text == "The end "
    plain = StopWatch(["STOP"])
    assert plain.feed("no stop here S") == "no stop here " and plain.feed("o") == "So"
