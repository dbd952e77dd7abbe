"""Sizes, memory, speeds, durations, token counts and context sizes: one convention, worded in one place."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import app.units
from app.units import (
    DEFAULT_CONTEXT,
    GIB,
    KIB,
    MIB,
    SHORT_CONTEXT,
    context_label,
    format_bytes,
    format_context,
    format_duration,
    format_gib,
    format_speed,
    format_tokens,
)

APP = Path(app.units.__file__).parent


@pytest.mark.parametrize(("count", "shown"), [
    (0, "0 B"),
    (812, "812 B"),
    (999, "999 B"),
    (1000, "1 KiB"),  # a unit takes over at 1,000 of the one below: never "1000 B" or "1,023 KiB"
    (3 * KIB, "3 KiB"),
    (3_400, "3.3 KiB"),
    (250_000, "244 KiB"),
    (1023 * KIB, "1 MiB"),
    (64 * MIB, "64 MiB"),
    (int(97.6 * MIB), "97.6 MiB"),
    (256 * MIB, "256 MiB"),
    (2 * GIB, "2 GiB"),
    (12_109_566_624, "11.3 GiB"),  # gpt-oss-20b's MXFP4 file: "12.1 GB" on the Hub
    (int(23.5 * GIB), "23.5 GiB"),
    (int(23.98 * GIB), "24 GiB"),
    (128 * GIB, "128 GiB"),
    (3 * 2**40, "3 TiB"),
])
def test_sizes_are_binary_and_say_so(count: int, shown: str) -> None:
    assert format_bytes(count) == shown


def test_memory_in_gib_keeps_one_decimal_for_tables_and_the_planners_sentences() -> None:
    assert format_gib(24 * GIB) == "24.0 GiB"
    assert format_gib(int(0.4 * GIB)) == "0.4 GiB"
    assert format_gib(12_109_566_624) == "11.3 GiB"  # the same figure format_bytes gives
    assert format_gib(0) == "0.0 GiB"


def test_speeds() -> None:
    assert format_speed(45_300_000) == "43.2 MiB/s"
    assert format_speed(512) == "512 B/s"


@pytest.mark.parametrize(("seconds", "shown"), [
    (None, "unknown"),
    (0, "0.0 s"),
    (0.42, "0.4 s"),
    (9.94, "9.9 s"),
    (9.96, "10 s"),
    (12.4, "12 s"),
    (59.6, "1 min"),
    (120, "2 min"),
    (125, "2 min 5 s"),
    (242, "4 min 2 s"),
    (3600, "1 h"),
    (7_500, "2 h 5 min"),
])
def test_durations(seconds: float | None, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_token_counts_are_short() -> None:
    assert [format_tokens(n) for n in (850, 1000, 1200, 4096, 96_000, 131_072, 999_600, 1_300_000)] == [
        "850", "1K", "1.2K", "4.1K", "96K", "131K", "1M", "1.3M"]


def test_context_sizes_are_named_in_k_of_1024_tokens() -> None:
    assert format_context(32768) == "32K" and format_context(131072) == "128K"
    assert format_context(12_345) == "12,345"
    assert context_label(32768) == "32K context"
    assert context_label(12_345) == "12,345-token context"


def test_the_default_contexts_are_named() -> None:
    assert DEFAULT_CONTEXT == 32768 and format_context(DEFAULT_CONTEXT) == "32K"
    assert SHORT_CONTEXT == 8192 and SHORT_CONTEXT < DEFAULT_CONTEXT


def test_units_is_a_leaf() -> None:
    tree = ast.parse(Path(app.units.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert all(n.split(".")[0] in sys.stdlib_module_names or n == "__future__" for n in names), names


def test_no_room_formats_sizes_or_memory_itself() -> None:
    """The duplicates this module replaced stay gone: no other byte, GiB or duration formatter in app/."""
    found = []
    for path in sorted(APP.rglob("*.py")):
        if path.name == "units.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.lstrip("_") in {
                    "format_bytes", "format_size", "format_speed", "format_duration", "format_tokens", "gib",
                    "short_tokens", "context_size", "memory_size"}:
                found.append(f"{path.relative_to(APP)}: {node.name}")
    assert found == []
