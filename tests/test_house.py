"""The house plan holds: every import in `app/` points down the rooms table of docs/architecture.md.

The table is the data: its rows, top to bottom, are the order the arrows point (a room imports only rooms
in its own row or below), and a room's "may import" column names every room it imports, unless it says
"every row below". The leaves in the last row may be imported by anyone. A new module needs no change
here, only a row (or a place in a row) in the table. Lazy imports (inside functions, under
TYPE_CHECKING) count: they are arrows too.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
PACKAGE = "__init__"  # `from app import __version__`: the package's own module, a leaf
EVERY_ROW_BELOW = "every row below"


@dataclass(frozen=True)
class Row:
    rank: int  # 0 for the top row
    rooms: tuple[str, ...]
    may_import: str


@dataclass(frozen=True)
class Arrow:
    source: str  # the importing room
    target: str  # the imported room
    where: str  # file:line of the import

    def __str__(self) -> str:
        return f"{self.where}: {self.source} -> {self.target}"


def table_rows() -> list[Row]:
    """The rooms table: each row's rooms (`chat/` -> chat, `cli.py` -> cli, `__init__.py` -> __init__)."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## Rooms", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([^`]+)`", cells[0])
        rooms = tuple(name.removesuffix("/").removesuffix(".py") for name in names)
        rows.append(Row(len(rows), rooms, cells[2]))
    return rows


def room_of_file(path: Path) -> str:
    parts = path.relative_to(APP).parts
    return parts[0] if len(parts) > 1 else Path(parts[0]).stem


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imported_modules(path: Path) -> Iterator[tuple[str, int]]:
    """Every module an `app` file imports, absolute, with the line; `from app import x` as `app.x`."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    yield from imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> Iterator[tuple[str, int]]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: from the file's package, one level up per extra dot
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                yield f"{module}.{alias.name}", node.lineno


def app_files() -> list[Path]:
    return sorted(APP.rglob("*.py"))


def room_of_module(module: str) -> str | None:
    """The room an imported `app...` name belongs to; None outside the app."""
    parts = module.split(".")
    if parts[0] != "app":
        return None
    if len(parts) == 1:
        return PACKAGE
    first = parts[1]
    if (APP / first).is_dir() or (APP / f"{first}.py").is_file():
        return first
    return PACKAGE  # an attribute of the package itself (__version__, APP_NAME)


@functools.cache
def arrows() -> tuple[Arrow, ...]:
    found = []
    for path in app_files():
        source = room_of_file(path)
        for module, line in imported_modules(path):
            target = room_of_module(module)
            if target is not None and target != source:
                found.append(Arrow(source, target, f"{path.relative_to(ROOT)}:{line}"))
    return tuple(found)


def rank_of() -> dict[str, int]:
    return {room: row.rank for row in table_rows() for room in row.rooms}


def test_every_room_has_a_row() -> None:
    ranks = rank_of()
    rooms = {room_of_file(path) for path in app_files()}
    missing = sorted(rooms - ranks.keys())
    assert not missing, f"rooms missing from the table in {ARCHITECTURE.name}: {missing}"
    for row in table_rows():
        assert row.may_import, f"the row of {row.rooms} says nothing of what it may import"


def test_arrows_point_down_the_table() -> None:
    ranks = rank_of()
    upward = [str(arrow) for arrow in arrows() if ranks[arrow.target] < ranks[arrow.source]]
    assert not upward, "imports that point up the rooms table:\n" + "\n".join(upward)


def test_each_row_names_the_rooms_it_imports() -> None:
    rows = table_rows()
    row_of = {room: row for row in rows for room in row.rooms}
    leaves = set(rows[-1].rooms)
    unnamed = []
    for arrow in arrows():
        row = row_of[arrow.source]
        if arrow.target in leaves or arrow.target in row.rooms or EVERY_ROW_BELOW in row.may_import:
            continue
        if arrow.target not in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", row.may_import):
            unnamed.append(str(arrow))
    assert not unnamed, "imports the table's \"may import\" column does not name:\n" + "\n".join(unnamed)


def test_no_two_rooms_import_each_other() -> None:
    graph: dict[str, set[str]] = {}
    for arrow in arrows():
        graph.setdefault(arrow.source, set()).add(arrow.target)
    # Depth-first search for a cycle; any cycle, not only pairs, would make some arrow point back up.
    state: dict[str, str] = {}
    trail: list[str] = []

    def visit(room: str) -> list[str] | None:
        state[room] = "open"
        trail.append(room)
        for target in sorted(graph.get(room, ())):
            if state.get(target) == "open":
                return [*trail[trail.index(target):], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        trail.pop()
        state[room] = "done"
        return None

    for room in sorted(graph):
        if room not in state:
            cycle = visit(room)
            assert cycle is None, "rooms that import each other: " + " -> ".join(cycle)


@pytest.mark.parametrize(("library", "allowed", "where"), [
    ("llama_cpp", lambda path: path.parent == APP / "engine" and path.name.startswith("worker"),
     "app/engine/worker*"),
    ("PySide6", lambda path: path.is_relative_to(APP / "ui"), "app/ui/"),
    # the tests' oracle for Harmony and the real vocabulary (issue 18): the app renders, parses and
    # tokenizes on its own, so neither may become a runtime dependency
    ("openai_harmony", lambda path: False, "the tests (nowhere in app/)"),
    ("bpe_openai", lambda path: False, "the tests (nowhere in app/)"),
])
def test_only_one_place_imports_each_native_library(library: str, allowed, where: str) -> None:
    outside = [f"{path.relative_to(ROOT)}:{line}" for path in app_files() if not allowed(path)
               for module, line in imported_modules(path) if module.split(".")[0] == library]
    assert not outside, f"{library} is imported outside {where}:\n" + "\n".join(outside)


@pytest.mark.parametrize(("folder", "forbidden"), [
    ("app", ("tests", "bench", "fixtures")),  # the app ships alone: its test double is app.engine.testing
    ("bench", ("tests",)),  # benchmarks share generators with the tests through fixtures/, not tests/
    ("fixtures", ("tests", "bench")),
])
def test_what_ships_and_what_measures_never_import_the_tests(folder: str, forbidden: tuple[str, ...]) -> None:
    found = [f"{path.relative_to(ROOT)}:{line}: {module}"
             for path in sorted((ROOT / folder).rglob("*.py"))
             for module, line in imports_in(path.read_text(encoding="utf-8"), folder)
             if module.split(".")[0] in forbidden]
    assert not found, f"{folder}/ imports what it must not:\n" + "\n".join(found)


def test_the_reader_sees_every_kind_of_import() -> None:
    """Lazy, relative, TYPE_CHECKING and `from app import room` imports are all arrows."""
    source = ("from typing import TYPE_CHECKING\nfrom app import planner, __version__\n"
              "if TYPE_CHECKING:\n    from ..chat import session\n"
              "def f():\n    import app.ui.theme\n    from . import client\n")
    rooms = {room_of_module(module) for module, _ in imports_in(source, "app.engine")}
    assert rooms == {None, "planner", PACKAGE, "chat", "ui", "engine"}
