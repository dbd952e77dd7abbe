"""The welcome page: what Ossian is, what this computer can run, and one click to a working model.

Shown at first start (no model installed) and whenever the window wants it again. From the top: a
headline, one line on Ossian, this computer ("NVIDIA GeForce RTX 4090 · 23.5 of 24 GiB free · 64 GiB
RAM"), the gpt-oss other apps already downloaded ("Already on this computer": the Hugging Face cache,
LM Studio, Ollama; each used where it is with one click, or the reason it cannot be), the catalog model
the planner suggests for it with the planner's reason and a large Download button, "Import a GGUF
file…", and the other catalog models, each with its fit and a Download button.

Reading the machine starts the llama.cpp probe (0.3-1 s), so the advice is gathered in the background
and the model rows appear when it arrives. Downloads belong to the workspace's `DownloadManager`,
not to this page: hide the page, show it again, and the rows show the live state; downloads an earlier
run left unfinished show as resumable. "Never use the network" in the settings disables every
Download button and says why and where to change it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import QFrame, QVBoxLayout, QWidget

from app.models import (
    Catalog,
    CatalogEntry,
    DownloadRequest,
    ModelsError,
    load_catalog,
)
from app.ui.bridge import run_in_background
from app.ui.first_frame import after_first_paint
from app.ui.models.advice import Advice, gather_advice
from app.ui.models.download_row import DownloadRow, Variant
from app.ui.models.feed import DEFAULT_INTERVAL_MS
from app.ui.models.found_panel import FoundPanel
from app.ui.models.import_panel import ImportPanel
from app.ui.models.other_downloads import OtherDownloads
from app.ui.models.parts import Banner, CentredColumn, ListCard, text_label
from app.ui.models.presenting import catalog_row, download_block, machine_summary
from app.ui.models.style import models_stylesheet
from app.ui.models.switchboard import DownloadSwitchboard
from app.ui.theme import Theme

if TYPE_CHECKING:  # the workspace brings the store and the engine client; only its type is needed
    from app.chat.workspace import Workspace

log = logging.getLogger(__name__)

HEADLINE = "Welcome to Ossian"
TAGLINE = ("Chat with OpenAI's gpt-oss models on your own computer. Download a model once; after that "
           "everything runs here, even with the network off.")
COLUMN_EM = 46


class WelcomePage(QWidget):
    """The first-run view: recommended model, downloads, import.

    Signals:
        loadRequested(str): load the model file at this path (a finished download or an import).
        modelsChanged(): the library changed (an import, or a download finished).
        downloadFinished(object): a download started here finished: its InstalledModel.
    """

    loadRequested = Signal(str)
    modelsChanged = Signal()
    downloadFinished = Signal(object)

    def __init__(self, workspace: Workspace, theme: Theme, parent: QWidget | None = None, *,
                 interval_ms: int = DEFAULT_INTERVAL_MS) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPage")
        self.setAcceptDrops(True)
        self._workspace = workspace
        self._theme = theme
        self._catalog: Catalog | None = None
        self._catalog_error = ""
        self.advice: Advice | None = None
        self.hero_row: DownloadRow | None = None
        self.other_rows: dict[str, DownloadRow] = {}

        self._load_catalog()
        self.switchboard = DownloadSwitchboard(workspace.downloads, self, interval_ms)
        self.switchboard.loadRequested.connect(self.loadRequested)
        self.switchboard.modelsChanged.connect(self._library_changed)
        self.switchboard.downloadFinished.connect(self.downloadFinished)

        px = theme.px
        self._page = CentredColumn(px(COLUMN_EM), self)
        column = self._page.layout_
        column.setContentsMargins(px(1.5), px(3), px(1.5), px(3))
        column.setSpacing(0)

        self.headline = text_label(HEADLINE, "headline", self)
        self.tagline = text_label(TAGLINE, "subtitle", self)
        self.machine_label = text_label("This computer: checking what it can run…", "machineLine", self,
                                        wrap=False, selectable=True)
        self.notice = Banner(self)  # offline, or a damaged catalog
        self.advice_note = Banner(self)  # the machine could not be read

        self.hero_card = QFrame(self)
        self.hero_card.setObjectName("heroCard")
        self._hero_layout = QVBoxLayout(self.hero_card)
        self._hero_layout.setContentsMargins(px(1.4), px(1.25), px(1.4), px(1.4))
        self._hero_layout.setSpacing(px(0.55))
        self.eyebrow = text_label("FINDING THE BEST MODEL FOR THIS COMPUTER…", "eyebrow", self.hero_card)
        self._hero_layout.addWidget(self.eyebrow)

        self.found_panel = FoundPanel(workspace, theme, self)
        self.found_panel.imported.connect(self._imported)
        self.found_panel.loadRequested.connect(self.loadRequested)
        self.found_panel.downloadRequested.connect(self._download_instead)

        self.import_panel = ImportPanel(workspace.library, theme, self)
        self.import_panel.imported.connect(self._imported)
        self.import_panel.loadRequested.connect(self.loadRequested)

        self.others_title = text_label("Other models", "sectionTitle", self)
        self.others_hint = text_label("Fit is judged from this computer's memory; hover over a badge for "
                                      "the details.", "sectionHint", self)
        self.others_card = ListCard(px(1.0), self)
        self.other_downloads = OtherDownloads(self.switchboard, self._catalog, theme, self)
        self.folder_label = text_label(f"Models are kept in {workspace.paths.models}", "faint", self,
                                       selectable=True)

        column.addWidget(self.headline)
        column.addSpacing(px(0.5))
        column.addWidget(self.tagline)
        column.addSpacing(px(1.1))
        column.addWidget(self.machine_label, 0, Qt.AlignmentFlag.AlignLeft)
        column.addSpacing(px(1.4))
        column.addWidget(self.notice)
        column.addWidget(self.advice_note)
        column.addSpacing(px(0.3))
        column.addWidget(self.found_panel)
        column.addSpacing(px(1.2))
        column.addWidget(self.hero_card)
        column.addSpacing(px(1.2))
        column.addWidget(self.import_panel)
        column.addSpacing(px(2.0))
        column.addWidget(self.others_title)
        column.addSpacing(px(0.25))
        column.addWidget(self.others_hint)
        column.addSpacing(px(0.7))
        column.addWidget(self.others_card)
        column.addSpacing(px(1.6))
        column.addWidget(self.other_downloads)
        column.addSpacing(px(1.6))
        column.addWidget(self.folder_label)
        column.addStretch(1)
        for widget in (self.others_title, self.others_hint, self.others_card):
            widget.hide()

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._page)
        self.set_theme(theme)
        self.refresh()
        self._start_advice()

    # ----------------------------------------------------------------------------------------- slots

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.setStyleSheet(models_stylesheet(theme))

    def refresh(self) -> None:
        """Read the network policy, the library and the downloads anew (settings or files changed)."""
        blocked = download_block(self._workspace.settings)
        self.switchboard.set_blocked(blocked)
        if self._catalog_error:
            self.notice.set_message(self._catalog_error, "danger")
        else:
            self.notice.set_message(blocked, "warning")
        self.switchboard.set_installed(self._workspace.library.list())
        self.switchboard.sync()
        self.other_downloads.refresh()
        self.found_panel.refresh()

    # ------------------------------------------------------------------------------------- internals

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
        self.found_panel.scan_once()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _gguf_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _gguf_paths(event)
        if paths:
            event.acceptProposedAction()
            self.import_panel.import_file(paths[0])

    def _load_catalog(self) -> None:
        try:
            self._catalog = load_catalog()
        except ModelsError as exc:
            self._catalog_error = str(exc)

    def _start_advice(self) -> None:
        if self._catalog is None:
            self.machine_label.hide()
            self.hero_card.hide()
            return
        catalog = self._catalog
        read_machine = self._workspace.machine
        # Reading the machine starts the llama.cpp probe: begun while the window is still being built, it
        # delays the first frame (app.ui.first_frame), so it waits for that frame.
        after_first_paint(self, lambda: run_in_background(
            lambda: gather_advice(read_machine, catalog), self._advice_ready, self._advice_failed,
            name="ossian-advice"))

    def _advice_ready(self, advice: Advice) -> None:
        if not shiboken6.isValid(self) or self._catalog is None:
            return
        self.advice = advice
        self.machine_label.setText(f"This computer: {machine_summary(advice.machine)}")
        self.advice_note.set_message(advice.note, "info")
        entries = list(self._catalog.entries)
        hero = advice.recommended or min(entries, key=lambda e: e.approx_bytes)
        self.eyebrow.setText("RECOMMENDED FOR THIS COMPUTER" if advice.recommended else
                             "NOTHING IN THE CATALOG FITS THIS COMPUTER — THE SMALLEST MODEL")
        self.hero_row = self._make_row(hero, advice, "hero")
        self._hero_layout.addWidget(self.hero_row)
        for entry in entries:
            if entry.id != hero.id:
                row = self._make_row(entry, advice, "compact")
                self.other_rows[entry.id] = row
                self.others_card.add_row(row)
        has_others = bool(self.other_rows)
        for widget in (self.others_title, self.others_hint, self.others_card):
            widget.setVisible(has_others)
        self.refresh()

    def _advice_failed(self, exc: BaseException) -> None:
        # gather_advice falls back on its own; only a bug in the planner gets here
        if not shiboken6.isValid(self):
            return
        log.error("model advice failed", exc_info=exc)
        self.machine_label.setText(f"This computer: could not be read ({exc}).")
        self.eyebrow.setText("Import a model, or choose one in Models… once the problem is fixed.")

    def _make_row(self, entry: CatalogEntry, advice: Advice, variant: Variant) -> DownloadRow:
        row = DownloadRow(catalog_row(entry, advice.fit(entry.id)), self._theme, variant, self)
        self.switchboard.add_row(row, DownloadRequest.from_catalog(entry))
        return row

    def _library_changed(self) -> None:
        self.refresh()
        self.modelsChanged.emit()

    def _imported(self, _model: object) -> None:
        self.refresh()
        self.modelsChanged.emit()

    def _download_instead(self, entry_id: str) -> None:
        """A found file Ossian cannot run: its catalog GGUF downloads (its row shows the progress)."""
        if self.switchboard.row(entry_id) is not None:
            self.switchboard.start(entry_id)
            return
        entry = self._catalog.find(entry_id) if self._catalog is not None else None
        if entry is None:
            return
        try:  # the rows come with the machine's advice; until then the download starts without one
            self._workspace.downloads.start(DownloadRequest.from_catalog(entry))
        except ModelsError as exc:
            self.notice.set_message(str(exc), "danger")
            return
        self.other_downloads.refresh()


def _gguf_paths(event: QDragEnterEvent | QDropEvent) -> list[str]:
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls()
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() == ".gguf"]
