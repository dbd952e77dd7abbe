from app.store.highlighting import fold, highlight, match_pattern, snippet


def spans_text(text: str, words: list[str], prefix: bool = False) -> list[str]:
    return [text[a:b] for a, b in highlight(text, match_pattern(words, prefix)).spans]


def test_fold_removes_case_and_diacritics() -> None:
    assert fold("Ça Ōsaka Ñandú ÆON") == "ca osaka nandu æon"


def test_whole_words_unless_the_last_is_a_prefix() -> None:
    text = "A category of cats, a cat, CAT-scan and concat."
    assert spans_text(text, ["cat"]) == ["cat", "CAT"]
    assert spans_text(text, ["cat"], prefix=True) == ["category", "cats", "cat", "CAT"]


def test_accents_match_either_way() -> None:
    text = "Le café crème, un cafe creme, CAFÉ!"
    assert spans_text(text, ["cafe"]) == ["café", "cafe", "CAFÉ"]
    assert spans_text(text, ["crème"]) == ["crème", "creme"]


def test_regex_characters_in_words_are_literal() -> None:
    assert spans_text("a+b (c) d.*e", ["a+b", "(c)", ".*"]) == ["a", "b", "c"]
    assert match_pattern(["!!", "..."], False) is None


def test_snippet_marks_words_and_cuts_at_spaces() -> None:
    text = " ".join(f"word{i}" for i in range(100)) + " target " + " ".join(f"tail{i}" for i in range(100))
    shown = snippet(text, match_pattern(["target"], False), width=60)
    assert shown.text.startswith("…word") and shown.text.endswith("…")
    assert [shown.text[a:b] for a, b in shown.spans] == ["target"]
    assert " target " in shown.text
    assert not shown.text[1:-1].startswith(" ") and "  " not in shown.text


def test_snippet_of_a_short_text_is_the_whole_text_with_spaces_tidied() -> None:
    shown = snippet("Line one\n\n  line two", match_pattern(["two"], False))
    assert (shown.text, shown.spans) == ("Line one line two", ((14, 17),))
