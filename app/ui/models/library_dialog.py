"""The model library: what is installed, what to download, and the Hugging Face token. Opened by "Models…".

Three tabs. Installed: every model in the library (name, quantization, size, verified or not, path,
and for a file another app keeps, that the app may delete it) with Load, Show in folder, and Remove
(asked inside the card; files in the models folder are deleted, a model imported in place is only
forgotten), Import, and the gpt-oss other apps already downloaded ("Already on this computer": use one
where it is, or read why not). Download: the catalog with each model's fit
on this machine, as the same download rows as the welcome page, and any other unfinished downloads.
Hugging Face: the token for gated repositories.

Loading a model closes the dialog: the user picked what to chat with. Downloads do not depend on the
dialog: close it and they go on; open it again and their rows show where they are.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import QDialog, QHBoxLayout, QTabWidget, QVBoxLayout, QWidget

from app.models import Catalog, DownloadRequest, InstalledModel, ModelsError, load_catalog
from app.text_safety import shown_name
from app.ui.bridge import run_in_background
from app.ui.models.advice import Advice, gather_advice
from app.ui.models.download_row import DownloadRow
from app.ui.models.feed import DEFAULT_INTERVAL_MS
from app.ui.models.found_panel import FoundPanel
from app.ui.models.import_panel import ImportPanel
from app.ui.models.installed_card import InstalledModelCard
from app.ui.models.other_downloads import OtherDownloads
from app.ui.models.parts import Banner, CentredColumn, ListCard, button, text_label
from app.ui.models.presenting import catalog_row, download_block, machine_summary
from app.ui.models.style import models_stylesheet
from app.ui.models.switchboard import DownloadSwitchboard
from app.ui.models.token_panel import HubTokenPanel
from app.ui.theme import Theme

if TYPE_CHECKING:  # the workspace brings the store and the engine client; only its type is needed
    from app.chat.workspace import Workspace

log = logging.getLogger(__name__)

INSTALLED_TAB, DOWNLOAD_TAB, HUB_TAB = 0, 1, 2
FULL_WIDTH = 16_777_215  # QWIDGETSIZE_MAX: the tabs' columns fill the dialog


class ModelLibraryDialog(QDialog):
    """Installed models, downloads, import, the Hub token.

    Signals:
        loadRequested(str): load the model file at this path (the dialog closes).
        modelsChanged(): the library changed (import, finished download, removal).
    """

    loadRequested = Signal(str)
    modelsChanged = Signal()

    def __init__(self, workspace: Workspace, theme: Theme, parent: QWidget | None = None, *,
                 interval_ms: int = DEFAULT_INTERVAL_MS) -> None:
        super().__init__(parent)
        self.setObjectName("modelLibrary")
        self.setWindowTitle("Models")
        self._workspace = workspace
        self._theme = theme
        self._catalog: Catalog | None = None
        self._catalog_error = ""
        try:
            self._catalog = load_catalog()
        except ModelsError as exc:
            self._catalog_error = str(exc)
        self.advice: Advice | None = None
        self.cards: dict[str, InstalledModelCard] = {}
        self.catalog_rows: dict[str, DownloadRow] = {}
        px = theme.px
        self.resize(px(60), px(46))

        self.switchboard = DownloadSwitchboard(workspace.downloads, self, interval_ms)
        self.switchboard.loadRequested.connect(self._load)
        self.switchboard.modelsChanged.connect(self._library_changed)

        self.title = text_label("Models", "dialogTitle", self)
        self.subtitle = text_label("The models on this computer, and more to download.", "subtitle", self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("libraryTabs")
        self.tabs.setDocumentMode(True)

        # -- Installed
        installed = CentredColumn(FULL_WIDTH, self.tabs)
        column = installed.layout_
        column.setContentsMargins(0, px(1.0), px(0.4), px(1.0))
        column.setSpacing(px(0.9))
        self.import_panel = ImportPanel(workspace.library, theme, installed,
                                        hint="A GGUF file you already have stays where it is.")
        self.import_panel.imported.connect(self._imported)
        self.import_panel.loadRequested.connect(self._load)
        self.installed_notice = Banner(installed)
        self.installed_card = ListCard(px(1.0), installed)
        self.empty_label = text_label("No models yet. Download one from the Download tab, or import a GGUF "
                                      "file you already have.", "sectionHint", installed)
        self.found_panel = FoundPanel(workspace, theme, installed)
        self.found_panel.imported.connect(self._imported)
        self.found_panel.loadRequested.connect(self._load)
        self.found_panel.downloadRequested.connect(self._download_instead)
        column.addWidget(self.import_panel)
        column.addWidget(self.installed_notice)
        column.addWidget(self.installed_card)
        column.addWidget(self.empty_label)
        column.addSpacing(px(0.6))
        column.addWidget(self.found_panel)
        column.addStretch(1)
        self.tabs.addTab(installed, "Installed")

        # -- Download
        downloads = CentredColumn(FULL_WIDTH, self.tabs)
        column = downloads.layout_
        column.setContentsMargins(0, px(1.0), px(0.4), px(1.0))
        column.setSpacing(px(0.9))
        self.machine_label = text_label("This computer: checking what it can run…", "machineLine",
                                        downloads, wrap=False, selectable=True)
        self.download_notice = Banner(downloads)
        self.advice_note = Banner(downloads)
        self.catalog_card = ListCard(px(1.0), downloads)
        self.other_downloads = OtherDownloads(self.switchboard, self._catalog, theme, downloads)
        column.addWidget(self.machine_label, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.download_notice)
        column.addWidget(self.advice_note)
        column.addWidget(self.catalog_card)
        column.addWidget(self.other_downloads)
        column.addStretch(1)
        self.tabs.addTab(downloads, "Download")

        # -- Hugging Face
        hub = CentredColumn(FULL_WIDTH, self.tabs)
        column = hub.layout_
        column.setContentsMargins(0, px(1.0), px(0.4), px(1.0))
        self.token_panel = HubTokenPanel(workspace.downloads.access.tokens, theme, hub)
        column.addWidget(self.token_panel)
        column.addStretch(1)
        self.tabs.addTab(hub, "Hugging Face")

        self.folder_label = text_label(f"Models are kept in {workspace.paths.models}", "faint", self,
                                       selectable=True)
        self.close_button = button("Close", "", self)
        self.close_button.clicked.connect(self.reject)
        footer = QHBoxLayout()
        footer.addWidget(self.folder_label, 1)
        footer.addWidget(self.close_button)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(px(1.6), px(1.3), px(1.6), px(1.1))
        outer.setSpacing(px(0.3))
        outer.addWidget(self.title)
        outer.addWidget(self.subtitle)
        outer.addSpacing(px(0.7))
        outer.addWidget(self.tabs, 1)
        outer.addSpacing(px(0.4))
        outer.addLayout(footer)

        self.set_theme(theme)
        self._build_catalog_rows()
        self.refresh()
        self._start_advice()

    # ----------------------------------------------------------------------------------------- slots

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.setStyleSheet(models_stylesheet(theme))

    def refresh(self) -> None:
        """Read the library, the network policy and the downloads anew."""
        blocked = download_block(self._workspace.settings)
        self.switchboard.set_blocked(blocked)
        self.download_notice.set_message(self._catalog_error or blocked,
                                         "danger" if self._catalog_error else "warning")
        models = self._workspace.library.list()
        self._show_installed(models)
        self.switchboard.set_installed(models)
        self.switchboard.sync()
        self.other_downloads.refresh()
        self.found_panel.refresh()

    def show_tab(self, index: int) -> None:
        """INSTALLED_TAB, DOWNLOAD_TAB or HUB_TAB."""
        self.tabs.setCurrentIndex(index)

    # ------------------------------------------------------------------------------------- installed

    def _show_installed(self, models: list[InstalledModel]) -> None:
        self.installed_card.clear()
        self.cards.clear()
        loaded = self._workspace.loaded
        for model in sorted(models, key=lambda m: m.name.lower()):
            card = InstalledModelCard(
                model, self._theme, parent=self.installed_card,
                deletes_files=any(self._workspace.library.owns(part) for part in model.parts),
                loaded=loaded is not None and Path(loaded.path) == model.path)
            card.loadRequested.connect(self._load)
            card.showFolderRequested.connect(self._show_folder)
            card.removeRequested.connect(self._remove)
            self.installed_card.add_row(card)
            self.cards[model.id] = card
        self.installed_card.setVisible(bool(models))
        self.empty_label.setVisible(not models)
        self.tabs.setTabText(INSTALLED_TAB, f"Installed ({len(models)})" if models else "Installed")

    def _remove(self, model_id: str) -> None:
        card = self.cards.get(model_id)
        if card is None:
            return
        model = card.model
        card.set_busy(f"Removing {model.name}…")
        library = self._workspace.library
        run_in_background(lambda: library.remove(model_id), lambda removed: self._removed(removed, card),
                          lambda exc: self._remove_failed(exc, card), name="ossian-remove")

    def _removed(self, model: InstalledModel, card: InstalledModelCard) -> None:
        if not shiboken6.isValid(self):
            return
        if card.deletes_files:
            text = f"Removed {model.name} and deleted its files."
        else:
            text = f"Removed {model.name} from the library. Its file stays at {shown_name(str(model.path))}."
        self.installed_notice.set_message(text, "success")
        self.refresh()
        self.modelsChanged.emit()

    def _remove_failed(self, exc: BaseException, card: InstalledModelCard) -> None:
        if not shiboken6.isValid(self) or not shiboken6.isValid(card):
            return
        if not isinstance(exc, ModelsError):
            log.error("removing a model failed", exc_info=exc)
        card.set_error(str(exc) if isinstance(exc, ModelsError) else
                       f"Could not remove the model ({exc}). Try again, or delete the file yourself.")

    def _show_folder(self, path: str) -> None:
        folder = Path(path).parent
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.installed_notice.set_message(f"Could not open a file manager. The model is in {folder}.",
                                              "warning")

    # -------------------------------------------------------------------------------------- download

    def _build_catalog_rows(self) -> None:
        if self._catalog is None:
            self.catalog_card.hide()
            self.machine_label.hide()
            return
        for entry in self._catalog.entries:
            row = DownloadRow(catalog_row(entry), self._theme, "compact", self.catalog_card)
            self.catalog_card.add_row(row)
            self.catalog_rows[entry.id] = row
            self.switchboard.add_row(row, DownloadRequest.from_catalog(entry))

    def _start_advice(self) -> None:
        if self._catalog is None:
            return
        catalog = self._catalog
        read_machine = self._workspace.machine
        run_in_background(lambda: gather_advice(read_machine, catalog), self._advice_ready,
                          self._advice_failed, name="ossian-advice")

    def _advice_ready(self, advice: Advice) -> None:
        if not shiboken6.isValid(self) or self._catalog is None:
            return
        self.advice = advice
        self.machine_label.setText(f"This computer: {machine_summary(advice.machine)}")
        self.advice_note.set_message(advice.note, "info")
        recommended = advice.recommended.id if advice.recommended else None
        for entry in self._catalog.entries:
            row = self.catalog_rows[entry.id]
            tag = "Recommended" if entry.id == recommended else ""
            row.set_info(catalog_row(entry, advice.fit(entry.id), tag))

    def _advice_failed(self, exc: BaseException) -> None:
        if shiboken6.isValid(self):
            log.error("model advice failed", exc_info=exc)
            self.machine_label.setText(f"This computer: could not be read ({exc}).")

    # ----------------------------------------------------------------------------------------- shared

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
        self.found_panel.scan_once()

    def _load(self, path: str) -> None:
        self.loadRequested.emit(path)
        self.accept()

    def _library_changed(self) -> None:
        self.refresh()
        self.modelsChanged.emit()

    def _download_instead(self, entry_id: str) -> None:
        """A found file Ossian cannot run: its catalog GGUF downloads, on the Download tab."""
        self.show_tab(DOWNLOAD_TAB)
        self.switchboard.start(entry_id)

    def _imported(self, _model: object) -> None:
        self.refresh()
        self.modelsChanged.emit()
