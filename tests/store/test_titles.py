import pytest

from app.store import InvalidInput
from app.store.titles import AUTO_TITLE_CHARS, MAX_TITLE_CHARS, auto_title, checked_title


@pytest.mark.parametrize(("text", "title"), [
    ("What is the capital of France?", "What is the capital of France?"),
    ("\n\n  ## Plan a **three-day** trip\nto Lisbon", "Plan a three-day trip"),
    ("> quoted *emphasis* and `code`", "quoted emphasis and code"),
    ("- [the docs](https://example.org) say so", "the docs say so"),
    ("1. compute 2**10 for snake_case_name", "compute 2**10 for snake_case_name"),
    ("tabs\tand   many    spaces", "tabs and many spaces"),
    ("", None),
    ("  \n \n", None),
])
def test_auto_title(text: str, title: str | None) -> None:
    assert auto_title(text) == title


def test_long_first_lines_are_cut_at_a_word() -> None:
    title = auto_title("Please explain in detail how the mixture of experts layers in gpt-oss route tokens")
    assert title == "Please explain in detail how the mixture of experts layers…"
    assert len(title) <= AUTO_TITLE_CHARS
    one_word = auto_title("x" * 500)
    assert one_word == "x" * (AUTO_TITLE_CHARS - 1) + "…"


def test_checked_title_tidies_and_refuses() -> None:
    assert checked_title("  My\n\tchat  ") == "My chat"
    with pytest.raises(InvalidInput, match="at most 200 characters; this one has 201"):
        checked_title("y" * (MAX_TITLE_CHARS + 1))
    with pytest.raises(InvalidInput, match="must be text"):
        checked_title(None)  # type: ignore[arg-type]
