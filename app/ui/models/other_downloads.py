"""Downloads that are not catalog models (started from a Hub search or `ossian models download`), as rows.

They live in the download manager like any other, so an unfinished one from an earlier run, or one
running now, gets a row here and stays visible and resumable; the catalog's own rows are elsewhere.
"""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.models import Catalog, DownloadProgress, DownloadState
from app.ui.models.download_row import DownloadRow
from app.ui.models.parts import ListCard, text_label
from app.ui.models.presenting import RowInfo
from app.ui.models.switchboard import DownloadSwitchboard
from app.ui.theme import Theme


class OtherDownloads(QWidget):
    """A titled card of download rows for non-catalog downloads; hidden while there are none."""

    def __init__(self, switchboard: DownloadSwitchboard, catalog: Catalog | None, theme: Theme,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._switchboard = switchboard
        self._catalog = catalog
        self._theme = theme
        self.rows: dict[str, DownloadRow] = {}
        self.title = text_label("Other downloads", "sectionTitle", self)
        self.card = ListCard(theme.px(1.0), self)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(theme.px(0.7))
        column.addWidget(self.title)
        column.addWidget(self.card)
        self.hide()
        switchboard.untrackedProgress.connect(self.offer)

    def refresh(self) -> None:
        for progress in self._switchboard.unfinished():
            self.offer(progress)

    def offer(self, progress: DownloadProgress) -> None:
        """Give the download a row, unless it has one, is a catalog model's, or was cancelled."""
        if progress.id in self.rows or progress.state == DownloadState.CANCELLED:
            return
        if self._catalog is not None and self._catalog.find(progress.id) is not None:
            return  # catalog rows are the page's own
        request = self._switchboard.request_of(progress.id)
        if request is None:
            return
        info = RowInfo(key=progress.id, name=progress.name or request.display_name,
                       detail=f"from {request.repo}")
        row = DownloadRow(info, self._theme, "compact", self.card)
        self.rows[progress.id] = row
        self.card.add_row(row)
        self._switchboard.add_row(row, request)
        self.show()
