"""What a salvage of a damaged database recovered and lost, per kind of row, and the sentence saying so.

The figures come from `salvage`; the wording is here so that the opening notice and the tests share it.
"""

from __future__ import annotations

from dataclasses import dataclass

# What the user calls each table's rows, singular and plural (the sentence leaves out unknown tables).
_KINDS: dict[str, tuple[str, str]] = {
    "conversations": ("conversation", "conversations"),
    "messages": ("message", "messages"),
    "attachments": ("attached document", "attached documents"),
    "tool_calls": ("tool call result", "tool call results"),
    "turns": ("turn's statistics", "turns' statistics"),
}


@dataclass(frozen=True)
class TableSalvage:
    """One table's outcome. Every row the damaged file was known to hold is recovered, rebuilt or lost."""

    table: str
    recovered: int  # rows read from the damaged file and kept as they were
    rebuilt: int = 0  # rows whose own record was unreadable, remade from the rows that refer to them
    lost: int = 0  # rows known to have existed (from the table's indexes) that the new database lacks
    unknown_loss: bool = False  # part of the table was unreadable and no index told what it held

    @property
    def kept(self) -> int:
        return self.recovered + self.rebuilt

    @property
    def complete(self) -> bool:
        return self.lost == 0 and not self.unknown_loss and self.rebuilt == 0

    @property
    def missing(self) -> int:
        """What the user lost: a rebuilt turn is only an id again, as its statistics were all it held."""
        return self.lost + (self.rebuilt if self.table == "turns" else 0)


@dataclass(frozen=True)
class SalvageReport:
    """The outcome of one salvage; `unreadable` is set (and `tables` empty) when nothing could be read."""

    tables: tuple[TableSalvage, ...] = ()
    seconds: float = 0.0
    unreadable: str | None = None

    def table(self, name: str) -> TableSalvage:
        for table in self.tables:
            if table.table == name:
                return table
        return TableSalvage(name, 0)

    @property
    def complete(self) -> bool:
        return self.unreadable is None and all(table.complete for table in self.tables)

    def summary(self, damage: str = "") -> str:
        """Plain sentences for the user, after one saying the file was damaged (`damage`: how, which is
        then not repeated); the caller adds where the damaged file is kept."""
        if self.unreadable is not None:
            why = "" if self.unreadable == damage else f" ({self.unreadable})"
            return f"Nothing in it could be read{why}, so a new, empty database was started."
        conversations, messages = self.table("conversations"), self.table("messages")
        if self.complete:
            return ("Everything in it was recovered into a new database: "
                    f"{_count(conversations.kept, 'conversations')} and {_count(messages.kept, 'messages')}.")
        text = f"Ossian recovered {_of(conversations)} and {_of(messages)} into a new database."
        if conversations.rebuilt:
            text += (f" {_count(conversations.rebuilt, 'conversations')} lost "
                     f"{'its' if conversations.rebuilt == 1 else 'their'} title and settings and "
                     f"{'was' if conversations.rebuilt == 1 else 'were'} rebuilt from "
                     f"{'its' if conversations.rebuilt == 1 else 'their'} messages.")
        losses = [_loss(table) for table in self.tables if table.table in _KINDS
                  and (table.missing or table.unknown_loss)]
        if losses:
            text += f" Could not be read: {_join(losses)}."
        return text


def _count(number: int, table: str) -> str:
    singular, plural = _KINDS[table]
    return f"{number:,} {singular if number == 1 else plural}"


def _of(table: TableSalvage) -> str:
    """"298 of 300 conversations", or "298 conversations" when the total is not known."""
    if table.unknown_loss:
        return _count(table.kept, table.table)
    return f"{table.kept:,} of {_count(table.kept + table.lost, table.table)}"


def _loss(table: TableSalvage) -> str:
    if not table.missing:
        return f"an unknown number of {_KINDS[table.table][1]}"
    return ("at least " if table.unknown_loss else "") + _count(table.missing, table.table)


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
