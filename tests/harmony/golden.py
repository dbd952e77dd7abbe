"""The Harmony test vectors (tests/harmony/vectors): golden files and the inputs behind them.

Golden files are compared the way the library's tests read them: UTF-8, CRLF to LF, trailing whitespace
stripped. Token-id files come with their decoded text, and the real o200k_harmony special ids from
inline.json, so the token-level parser can be fed the very ids of the golden files.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).parent / "vectors"


def golden_text(name: str) -> str:
    return (VECTORS / name).read_bytes().decode("utf-8").replace("\r\n", "\n").rstrip()


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def cases() -> dict[str, Any]:
    return _load("cases.json")


def inline() -> dict[str, Any]:
    return _load("inline.json")


def render_cases() -> list[dict[str, Any]]:
    """Every render case: the shared cases.json and Ossian's extra_cases.json."""
    return cases()["render_cases"] + _load("extra_cases.json")["render_cases"]


def text_parse_cases() -> list[dict[str, Any]]:
    """Parse cases whose golden file is Harmony text."""
    return [case for case in cases()["parse_cases"] + _load("extra_cases.json")["parse_cases"]
            if not is_token_file(case)]


def token_parse_cases() -> list[dict[str, Any]]:
    """Parse cases whose golden file is whitespace-separated token ids of the real vocabulary."""
    return [case for case in cases()["parse_cases"] if is_token_file(case)]


def is_token_file(case: dict[str, Any]) -> bool:
    return "token ids" in case.get("input", "")


def decoded_text(case: dict[str, Any]) -> str:
    """The decoded text of a token-id file, as cases.json's note gives it ("decodes to: TEXT   (...)")."""
    note = case["note"]
    assert note.startswith("decodes to: ") and "   (" in note, note
    return note[len("decodes to: "):].split("   (", 1)[0]


def token_ids(name: str) -> list[int]:
    return [int(word) for word in (VECTORS / name).read_text().split()]


def o200k_special_ids() -> dict[str, int]:
    """The special-token ids of the real gpt-oss vocabulary (inline.json), for the golden token files."""
    return {name: token_id for name, token_id in inline()["special_tokens_o200k_harmony"].items()
            if isinstance(token_id, int)}


def golden_files() -> list[str]:
    return sorted(path.name for path in VECTORS.glob("*.txt"))
