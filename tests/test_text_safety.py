"""Bidirectional controls in names: shown as visible tags, and kept as data in JSON."""

from __future__ import annotations

import json

import pytest

from app.text_safety import BIDI_CONTROLS, has_bidi_controls, json_text_without_bidi, shown_name


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS))
def test_every_control_becomes_a_visible_tag(control: str) -> None:
    shown = shown_name(f"invoice{control}fdp.exe")
    assert shown == f"invoice[U+{ord(control):04X}]fdp.exe"
    assert not has_bidi_controls(shown)


def test_the_listed_controls_are_all_there() -> None:
    expected = {*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)),
                "\u200e", "\u200f", "\u061c"}
    assert expected == BIDI_CONTROLS


def test_ordinary_names_are_untouched() -> None:
    for name in ("report.pdf", "gpt-oss-20b-mxfp4", "تقرير.pdf", "דו״ח.txt", "日本語 メモ.md"):
        assert shown_name(name) == name and not has_bidi_controls(name)


def test_json_keeps_the_data_and_loses_the_reordering() -> None:
    data = {"title": "Re: invoice\u202efdp.exe", "names": ["\u2067x\u2069", "plain"]}
    text = json_text_without_bidi(json.dumps(data, ensure_ascii=False))
    assert not has_bidi_controls(text) and "\\u202e" in text
    assert json.loads(text) == data
