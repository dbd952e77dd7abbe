"""What the model screens say, as plain data: machine summary, fit badges, the state of a download row.

No Qt here, so every sentence and every "which buttons now" decision is tested without widgets; the
widgets only render a `RowView`. Decisions about models (does it fit, which one to suggest, may the
network be used) stay in `app.models` and `app.planner`; this module only words their answers.

Sizes and memory are worded by `app.units` in one convention (binary, GiB), so a model's size reads
against the memory beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.models import (
    STORE_NAMES,
    CatalogEntry,
    DownloadProgress,
    DownloadState,
    Fit,
    FoundModel,
    InstalledModel,
    network_policy,
    removal_warning,
)
from app.planner import Machine
from app.settings import Settings
from app.text_safety import shown_name
from app.units import format_bytes, format_duration, format_speed

PROGRESS_SCALE = 1000  # the progress bar's range: tenths of a percent
BUSY = -1  # a progress value meaning "working, amount unknown"

Phase = Literal["idle", "installed", "queued", "downloading", "verifying", "paused", "failed", "done"]
Action = Literal["download", "pause", "resume", "retry", "cancel", "load"]
Tone = Literal["muted", "danger", "success", "warning"]
NETWORK_ACTIONS: frozenset[str] = frozenset({"download", "resume", "retry"})

# The planner's fit levels as a badge: (text, tone). "fits" means the GPU holds only part of the model.
FIT_BADGES: dict[str, tuple[str, str]] = {
    "recommended": ("Fits", "success"),
    "fits": ("Tight", "warning"),
    "slow": ("CPU only", "warning"),
    "too_big": ("Too big", "danger"),
}


def machine_summary(machine: Machine) -> str:
    """'NVIDIA GeForce RTX 4090 · 23.5 of 24 GiB free · 64 GiB RAM', or 'CPU only · 16 GiB RAM'."""
    ram = f"{format_bytes(machine.ram_total)} RAM"
    gpus = machine.usable_gpus
    if not gpus:
        return f"CPU only · {ram}"
    free = sum(gpu.memory_free for gpu in gpus)
    total = sum(gpu.memory_total for gpu in gpus)
    free_text, total_text = format_bytes(free), format_bytes(total)
    if machine.unified_memory:
        return f"{machine.gpu_label} · unified memory, {free_text} of {total_text} usable by the GPU · {ram}"
    if free_text.split()[-1] == total_text.split()[-1]:  # '23.5 of 24 GiB free'
        free_text = free_text.split()[0]
    return f"{machine.gpu_label} · {free_text} of {total_text} free · {ram}"


def download_block(settings: Settings) -> str:
    """Why downloads may not start now, with how to change it; '' when they may (the models room decides)."""
    policy = network_policy(settings)
    return "" if policy.allowed else f"Downloads are off. {policy.refusal}"


@dataclass(frozen=True)
class RowInfo:
    """What a download row says about its model (not about the download)."""

    key: str  # the download id: a catalog entry's id, or a Hub request's id
    name: str
    detail: str  # "12.1 GB · MXFP4 · ggml-org"
    description: str = ""
    fit_level: str | None = None  # a `FitLevel`, None when not assessed
    fit_reason: str = ""  # the planner's sentence
    size: int = 0  # approximate download size, 0 when unknown
    tag: str = ""  # a highlight badge, e.g. "Recommended"


def catalog_row(entry: CatalogEntry, fit: Fit | None = None, tag: str = "") -> RowInfo:
    publisher = f"{entry.publisher} (official build)" if entry.official else entry.publisher
    return RowInfo(
        key=entry.id, name=entry.name,
        detail=f"{format_bytes(entry.approx_bytes)} · {entry.quantization} · {publisher}",
        description=entry.description, fit_level=fit.level if fit else None,
        fit_reason=fit.reason if fit else "", size=entry.approx_bytes, tag=tag)


def installed_detail(model: InstalledModel) -> str:
    """'MXFP4 · 11.3 GiB · from ggml-org/gpt-oss-20b-GGUF' (or imported, or found in the models folder, or
    used in place from another app's store)."""
    origin = {"hub": f"from {model.repo}" if model.repo else "downloaded",
              "import": "imported", "folder": "found in the models folder"}[model.source]
    if model.kept_by:
        origin = f"used in place ({STORE_NAMES[model.kept_by]})"
    parts = f" · {len(model.parts)} files" if len(model.parts) > 1 else ""
    return " · ".join(p for p in (model.quantization or "", format_bytes(model.size) + parts, origin) if p)


def kept_by_note(model: InstalledModel) -> str:
    """What the app that keeps the model's files may do to them ('' for Ossian's own files)."""
    return removal_warning(model.kept_by, (model.name,)) if model.kept_by else ""


FoundAction = Literal["use", "load", "download"]


@dataclass(frozen=True)
class FoundView:
    """What a row of "Already on this computer" shows for one model another app downloaded."""

    title: str
    badge: str  # the app that keeps it: "Hugging Face cache", "LM Studio", "Ollama"
    detail: str  # "MXFP4 · 11.3 GiB · ggml-org/gpt-oss-20b-GGUF"
    path: str
    status: str
    tone: Tone
    action: FoundAction | None
    action_text: str = ""
    download_id: str | None = None  # the catalog entry the "download" action starts


def found_view(found: FoundModel, installed: InstalledModel | None = None) -> FoundView:
    """The row for a found model: use it, load it (already in the library), or why not and what instead."""
    title = shown_name(", ".join(found.tags) if found.tags else found.name)
    where = found.repo if found.repo and found.repo != found.name else ""
    parts = f" in {len(found.parts)} files" if len(found.parts) > 1 else ""
    detail = " · ".join(p for p in (found.quantization or "", format_bytes(found.size) + parts, where) if p)
    common = {"title": title, "badge": STORE_NAMES[found.source], "detail": shown_name(detail),
              "path": shown_name(str(found.path))}
    if not found.usable:
        if found.download_instead:
            return FoundView(**common, status=found.reason, tone="warning", action="download",
                             action_text="Download the GGUF", download_id=found.download_instead)
        return FoundView(**common, status=found.reason, tone="warning", action=None)
    if installed is not None and installed.available:
        return FoundView(**common, status="In the library. Ossian uses the file where it is.", tone="success",
                         action="load", action_text="Load")
    return FoundView(**common, status="Ossian can use this file where it is: nothing is copied or "
                     "downloaded.", tone="muted", action="use", action_text="Use it")


@dataclass(frozen=True)
class RowView:
    """Everything a download row shows for one state."""

    phase: Phase
    primary: Action | None
    primary_text: str
    secondary: tuple[Action, ...]
    progress: int | None  # None: no bar; BUSY; else 0..PROGRESS_SCALE
    status: str
    tone: Tone = "muted"
    blocked: str = ""  # why the network actions are disabled ("" when they are not)

    def enabled(self, action: Action) -> bool:
        return not (self.blocked and action in NETWORK_ACTIONS)


def row_view(progress: DownloadProgress | None, installed: InstalledModel | None = None,
             blocked: str = "", size: int = 0) -> RowView:
    """The row for the latest snapshot of its download, the installed model, and the network policy."""
    state = progress.state if progress is not None else None
    # A finished download whose model has left the library since (removed) is history, as is a cancel.
    history = state == DownloadState.CANCELLED or (state == DownloadState.DONE and installed is None)
    if progress is None or history:
        if installed is not None:
            return _installed(installed, blocked)
        text = f"Download · {format_bytes(size)}" if size else "Download"
        return RowView("idle", "download", text, (), None, blocked, "warning" if blocked else "muted",
                       blocked)
    if state == DownloadState.DONE:
        return RowView("done", "load", "Ready — Load it", (), None, progress.message or "Installed.",
                       "success", blocked)
    if state == DownloadState.QUEUED:
        return RowView("queued", None, "", ("pause", "cancel"), BUSY, progress.message or "Starting.",
                       blocked=blocked)
    if state == DownloadState.DOWNLOADING:
        if not progress.bytes_total:
            return RowView("downloading", None, "", ("pause", "cancel"), BUSY,
                           progress.message or "Connecting to the Hub.", blocked=blocked)
        return RowView("downloading", None, "", ("pause", "cancel"), _scaled(progress.fraction),
                       transfer_line(progress), blocked=blocked)
    if state == DownloadState.VERIFYING:
        if progress.check_total:
            share = progress.checked_bytes / progress.check_total
            status = (f"Checking the {format_bytes(progress.check_total)} downloaded before · "
                      f"{share:.0%}")
            return RowView("verifying", None, "", ("pause", "cancel"), _scaled(share), status,
                           blocked=blocked)
        return RowView("verifying", None, "", ("pause", "cancel"), BUSY,
                       progress.message or "Checking the file against the Hub's hash.", blocked=blocked)
    if state == DownloadState.PAUSED:
        bar = _scaled(progress.fraction) if progress.bytes_total else None
        return RowView("paused", "resume", "Resume", ("cancel",), bar, progress.message or "Paused.",
                       "warning" if blocked else "muted", blocked)
    # failed
    return RowView("failed", "retry", "Retry", ("cancel",), None,
                   progress.message or "The download failed.", "danger", blocked)


def transfer_line(progress: DownloadProgress) -> str:
    """'10% · 1.2 GB of 12.1 GB · 45.3 MB/s · 4 min 2 s left', with the part when there are several."""
    pieces = [f"{int(progress.fraction * 100)}%"]
    if progress.file_count > 1 and progress.file_index:
        pieces.append(f"part {progress.file_index} of {progress.file_count}")
    pieces.append(f"{format_bytes(progress.bytes_done)} of {format_bytes(progress.bytes_total)}")
    if progress.speed > 0:
        pieces.append(format_speed(progress.speed))
    if progress.eta_seconds is not None:
        pieces.append(f"{format_duration(progress.eta_seconds)} left")
    return " · ".join(pieces)


def _installed(model: InstalledModel, blocked: str) -> RowView:
    if not model.available:
        missing = ", ".join(p.name for p in model.missing)
        return RowView("installed", "download", "Download again", (), None,
                       f"{missing} is missing from disk. Download it again, or remove the model in Models…",
                       "danger", blocked)
    return RowView("installed", "load", "Load", (), None, "Installed. Load it to start chatting.", "success",
                   blocked)


def _scaled(fraction: float) -> int:
    return max(0, min(PROGRESS_SCALE, round(fraction * PROGRESS_SCALE)))
