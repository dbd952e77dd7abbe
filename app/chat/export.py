"""Exporting a conversation to a file: which text each export kind writes, the file name to suggest, and
writing it. The window only asks where (a file dialog) and shows the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.chat.citations import named_answer_texts
from app.store import Store

ExportKind = Literal["markdown", "markdown-answers", "json"]
EXPORT_KINDS: tuple[ExportKind, ...] = ("markdown", "markdown-answers", "json")


@dataclass(frozen=True)
class ExportFormat:
    """What a save dialog needs for one kind: the file suffix and its filter label."""

    suffix: str
    label: str


def export_format(kind: ExportKind) -> ExportFormat:
    if kind == "json":
        return ExportFormat(".json", "JSON (*.json)")
    return ExportFormat(".md", "Markdown (*.md)")


def suggested_file_name(title: str, kind: ExportKind) -> str:
    """A file name from the title: letters, digits, spaces, '-' and '_' only. Path separators and
    bidirectional controls (an override would make "invoice\\u202efdp" look like another name) become '_'."""
    safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in title).strip() or "conversation"
    return safe + export_format(kind).suffix


def export_text(store: Store, conversation_id: int, kind: ExportKind) -> str:
    """The conversation as `kind` writes it (answers with citations name the cited files)."""
    if kind == "json":
        return store.export_json(conversation_id)
    whole = kind == "markdown"  # "markdown-answers" leaves reasoning and tool calls out
    return store.export_markdown(conversation_id, include_reasoning=whole, include_tool_calls=whole,
                                 shown_texts=named_answer_texts)


def export_to_path(store: Store, conversation_id: int, kind: ExportKind, path: Path) -> None:
    """Write the export to `path`. Raises OSError (disk, permissions) or the store's errors."""
    path.write_text(export_text(store, conversation_id, kind), encoding="utf-8")
