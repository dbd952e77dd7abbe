"""The switchboard of download rows: clicks become download-manager calls, progress reaches the rows.

Each view (welcome page, library dialog) owns one, with its own `DownloadFeed` on the workspace's one
`DownloadManager`, so either view can be closed without the other noticing, and a download keeps
running (and reporting) while the user looks elsewhere. Refusals of a click (the network switched
off, another process running the same download) are shown on the row that was clicked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.models import (
    DownloadManager,
    DownloadProgress,
    DownloadRequest,
    DownloadState,
    InstalledModel,
    ModelsError,
)
from app.ui.models.download_row import DownloadRow
from app.ui.models.feed import DEFAULT_INTERVAL_MS, DownloadFeed

log = logging.getLogger(__name__)


class DownloadSwitchboard(QObject):
    """Wires `DownloadRow`s to a `DownloadManager`.

    Signals:
        modelsChanged(): a download finished while this switchboard watched (a new model is installed).
        downloadFinished(object): that download's InstalledModel (so the window can load it).
        loadRequested(str): a row's Load button: the path of the model file.
        untrackedProgress(object): a `DownloadProgress` of a download that has no row here (one
            started elsewhere, e.g. from a Hub search in the library dialog).
    """

    modelsChanged = Signal()
    downloadFinished = Signal(object)
    loadRequested = Signal(str)
    untrackedProgress = Signal(object)

    def __init__(self, manager: DownloadManager, parent: QObject | None = None,
                 interval_ms: int = DEFAULT_INTERVAL_MS) -> None:
        super().__init__(parent)
        self.manager = manager
        self.feed = DownloadFeed(manager, interval_ms, self)
        self.feed.progressed.connect(self._show)
        self._rows: dict[str, DownloadRow] = {}
        self._requests: dict[str, DownloadRequest] = {}
        self._latest: dict[str, DownloadProgress] = {}
        self._blocked = ""

    # ----------------------------------------------------------------------------------------- rows

    def add_row(self, row: DownloadRow, request: DownloadRequest) -> None:
        key = row.key
        self._rows[key] = row
        self._requests[key] = request
        row.downloadRequested.connect(self._start)
        row.resumeRequested.connect(self._resume)
        row.pauseRequested.connect(self._pause)
        row.cancelRequested.connect(self._cancel)
        row.loadRequested.connect(self.loadRequested)
        row.set_blocked(self._blocked)
        download = self.manager.find(request)
        if download is not None:
            self._remember(download.progress())
        row.set_progress(self._latest.get(key))

    def remove_rows(self) -> None:
        """Forget every row (their owner is about to delete them)."""
        for row in self._rows.values():
            for signal in (row.downloadRequested, row.resumeRequested, row.pauseRequested,
                           row.cancelRequested, row.loadRequested):
                signal.disconnect()
        self._rows.clear()
        self._requests.clear()

    def row(self, key: str) -> DownloadRow | None:
        return self._rows.get(key)

    def rows(self) -> list[DownloadRow]:
        return list(self._rows.values())

    # ---------------------------------------------------------------------------------------- state

    def set_blocked(self, reason: str) -> None:
        """Why downloads may not start now ('' when they may)."""
        self._blocked = reason
        for row in self._rows.values():
            row.set_blocked(reason)

    def set_installed(self, models: list[InstalledModel]) -> None:
        """Show which rows' models are on disk already (by catalog id, else by Hub repository)."""
        for key, row in self._rows.items():
            request = self._requests[key]
            row.set_installed(_installed_for(request, models))

    def sync(self) -> None:
        """Read every download's state anew (after being hidden, or at start: earlier runs' downloads)."""
        for download in self.manager.downloads():
            # A download that finished before this switchboard knew it is old news, not a change.
            self._show(download.progress(), announce_unknown=False, untracked=False)

    def unfinished(self) -> list[DownloadProgress]:
        """Downloads without a row here that are running, paused or failed (e.g. from a Hub search)."""
        settled = (DownloadState.DONE, DownloadState.CANCELLED)
        return [d.progress() for d in self.manager.downloads()
                if d.id not in self._rows and d.progress().state not in settled]

    def request_of(self, download_id: str) -> DownloadRequest | None:
        try:
            return self.manager.get(download_id).request
        except ModelsError:
            return None

    # -------------------------------------------------------------------------------------- actions

    def start(self, key: str) -> None:
        """Start (or resume) the download of the row `key`, as its Download button would."""
        self._start(key)

    def _start(self, key: str) -> None:
        row, request = self._rows.get(key), self._requests.get(key)
        if row is None or request is None:
            return
        try:
            download = self.manager.start(request)
        except ModelsError as exc:
            row.set_error(str(exc))
            return
        self._show(download.progress())

    def _resume(self, key: str) -> None:
        self._call(key, self.manager.resume)

    def _pause(self, key: str) -> None:
        self._call(key, self.manager.pause)

    def _cancel(self, key: str) -> None:
        self._call(key, self.manager.cancel)

    def _call(self, key: str, action: Callable[[str], object]) -> None:
        row = self._rows.get(key)
        try:
            action(key)
        except ModelsError as exc:
            if row is not None:
                row.set_error(str(exc))
            return
        try:
            self._show(self.manager.get(key).progress())
        except ModelsError:
            pass

    # ------------------------------------------------------------------------------------- progress

    def _remember(self, progress: DownloadProgress) -> bool:
        """Keep `progress` if it is newer than the one known; False when it is not."""
        previous = self._latest.get(progress.id)
        if previous is not None and previous.sequence >= progress.sequence:
            return False
        self._latest[progress.id] = progress
        return True

    def _show(self, progress: DownloadProgress, *, announce_unknown: bool = True,
              untracked: bool = True) -> None:
        """A newer snapshot (from the feed, or read after a click) to its row; announce a finished model."""
        previous = self._latest.get(progress.id)
        if not self._remember(progress):
            return
        row = self._rows.get(progress.id)
        if row is not None:
            row.set_progress(progress)
        elif untracked:
            self.untrackedProgress.emit(progress)
        if progress.state != DownloadState.DONE:
            return
        if (previous is None and announce_unknown) or (previous is not None
                                                       and previous.state != DownloadState.DONE):
            log.info("download %s finished: %s", progress.id, progress.message)
            self.modelsChanged.emit()
            if progress.model is not None and previous is not None:  # watched to the end, not old news
                self.downloadFinished.emit(progress.model)


def _installed_for(request: DownloadRequest, models: list[InstalledModel]) -> InstalledModel | None:
    if request.catalog_id:
        return next((m for m in models if m.catalog_id == request.catalog_id), None)
    return next((m for m in models if m.source == "hub" and m.catalog_id is None and m.repo == request.repo),
                None)
