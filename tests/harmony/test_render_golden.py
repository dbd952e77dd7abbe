"""Every render golden file of openai/harmony, reproduced from its input conversation.

Besides the text, the segments must split exactly where the golden file has special tokens, with the
same text between them: that is the token-level comparison the library makes (`encode(file, all
specials allowed) == rendered ids`), since the engine tokenizes each text run between specials whole.
"""

from __future__ import annotations

import pytest

from app.harmony import Special, render_case_from_json, render_conversation, segments_to_text, split_specials
from tests.harmony.golden import golden_files, golden_text, render_cases, text_parse_cases, token_parse_cases


def render_golden_case(case: dict) -> list:
    parsed = render_case_from_json(case)
    return render_conversation(parsed.messages, parsed.next_turn_role,
                               auto_drop_analysis=parsed.auto_drop_analysis)


@pytest.mark.parametrize("case", render_cases(), ids=lambda case: case["file"])
def test_renders_the_golden_file_text(case: dict) -> None:
    assert segments_to_text(render_golden_case(case)) == golden_text(case["file"])


@pytest.mark.parametrize("case", render_cases(), ids=lambda case: case["file"])
def test_specials_sit_where_the_golden_file_has_them(case: dict) -> None:
    segments = render_golden_case(case)
    assert segments == split_specials(golden_text(case["file"]))
    assert all(isinstance(s, Special) or "<|" not in s.text for s in segments)


def test_every_golden_file_has_a_case() -> None:
    covered = {case["file"] for case in render_cases() + text_parse_cases() + token_parse_cases()}
    assert covered == set(golden_files())
