"""A pending attachment in the composer, and what its chip says in each state.

`Pending` is the controller's record of one file from the moment it is dropped to the moment it is sent
or removed; `chip_view` turns it into the composer's `ChipView`: progress while reading, then pages or
size and the token count (an estimate says so), search mode when chosen, or the error that stopped it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from app.chat.attachments import PreparedDocument
from app.documents import ExtractionProgress
from app.store import AttachmentMode
from app.text_safety import shown_name
from app.ui.composer import ChipView
from app.units import format_bytes

PendingState = Literal["waiting", "working", "ready", "error"]


@dataclass
class Pending:
    """One attachment in the composer."""

    key: str
    path: Path
    state: PendingState = "waiting"
    mode: AttachmentMode = "inline"
    prepared: PreparedDocument | None = None
    error: str = ""
    progress: ExtractionProgress | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def name(self) -> str:
        """The file's name as shown: an override character in it is made visible, not obeyed."""
        return shown_name(self.path.name)



def chip_view(pending: Pending) -> ChipView:
    """What a pending attachment's chip says in each state."""
    if pending.state == "error":
        return ChipView(pending.key, pending.name, state="error", error=pending.error)
    if pending.state == "waiting":
        return ChipView(pending.key, pending.name, "Waiting…", "working", progress=None)
    if pending.state == "working" or pending.prepared is None:
        return ChipView(pending.key, pending.name, progress_text(pending.progress), "working",
                        progress=pending.progress.fraction if pending.progress else None)
    prepared = pending.prepared
    document = prepared.document
    pages = document.page_count
    size = format_bytes(document.size_bytes) if pages is None else f"{pages} page{'s' if pages != 1 else ''}"
    tokens = prepared.tokens.label()
    detail = f"{size} · {tokens}" if pending.mode == "inline" else f"{size} · search mode ({tokens} kept out)"
    notes = list(document.warnings)
    if prepared.reused:
        notes.append("The same file is already in this conversation: re-used without reading it again.")
    if document.warnings:
        detail += f" · {len(document.warnings)} warning{'s' if len(document.warnings) != 1 else ''}"
    if prepared.reused:
        detail += " · also earlier in this chat"
    tooltip = "\n".join([f"{shown_name(document.name)} ({document.type_label})", *notes])
    return ChipView(pending.key, pending.name, detail, "ready", tooltip=tooltip, mode=pending.mode)


def progress_text(report: ExtractionProgress | None) -> str:
    if report is None:
        return "Reading…"
    percent = f"{report.fraction:.0%}"
    if report.stage == "reading":
        return f"Reading… {percent}"
    if report.unit == "pages":
        return f"Extracting page {report.done:,} of {report.total:,}"
    return f"Extracting… {percent}"
