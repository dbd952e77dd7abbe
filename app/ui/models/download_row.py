"""One downloadable model as a row: what it is, whether it fits, and its download (progress, buttons).

Shared by the welcome page (the recommended model as a large "hero" row, the others compact) and the
library dialog (compact rows). A dumb widget: `set_info` says what the model is, `set_progress` gives
the newest snapshot of its download, `set_installed` the library's entry, `set_blocked` why the
network may not be used; `presenting.row_view` decides what that means on screen. Clicks go out as
signals carrying the row's key (the download id); the switchboard does the work.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QProgressBar, QSizePolicy, QVBoxLayout, QWidget

from app.models import DownloadProgress, InstalledModel
from app.ui.models.parts import Badge, button, set_property, text_label
from app.ui.models.presenting import (
    BUSY,
    FIT_BADGES,
    PROGRESS_SCALE,
    Action,
    RowInfo,
    RowView,
    row_view,
)
from app.ui.theme import Theme

Variant = Literal["compact", "hero"]
SECONDARY_TEXT: dict[str, str] = {"pause": "Pause", "cancel": "Cancel"}


class DownloadRow(QFrame):
    """A catalog model (or a Hub repository) and its download.

    Signals:
        downloadRequested(str): key; start the download.
        pauseRequested(str), resumeRequested(str), cancelRequested(str): key. Retry is a resume.
        loadRequested(str): the path of the installed model to load.
    """

    downloadRequested = Signal(str)
    pauseRequested = Signal(str)
    resumeRequested = Signal(str)
    cancelRequested = Signal(str)
    loadRequested = Signal(str)

    def __init__(self, info: RowInfo, theme: Theme, variant: Variant = "compact",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("downloadRow")
        self.variant = variant
        self._info = info
        self._progress: DownloadProgress | None = None
        self._installed: InstalledModel | None = None
        self._blocked = ""
        self._error = ""
        self._view: RowView = row_view(None)
        hero = variant == "hero"

        self.title = text_label(info.name, "heroTitle" if hero else "rowTitle", self, wrap=False)
        self.fit_badge = Badge(self)
        self.tag_badge = Badge(self)
        self.detail = text_label("", "rowDetail", self)
        self.description = text_label("", "rowDescription", self)
        self.reason = text_label("", "rowReason", self, selectable=True)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setObjectName("downloadProgress")
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setRange(0, PROGRESS_SCALE)
        self.progress_bar.hide()
        self.status = text_label("", "rowStatus", self, selectable=True)
        self.status.setProperty("variant", "large" if hero else "")
        self.status.hide()

        # One accent button per screen: the hero's. Compact rows in a list use outlined buttons.
        self.primary_button = button("Download", "primaryButton" if hero else "", self, large=hero)
        self.primary_button.clicked.connect(self._primary_clicked)
        self.pause_button = button("Pause", "", self)
        self.pause_button.clicked.connect(lambda: self.pauseRequested.emit(self.key))
        self.cancel_button = button("Cancel", "quietButton", self)
        self.cancel_button.clicked.connect(lambda: self.cancelRequested.emit(self.key))
        self._secondary = {"pause": self.pause_button, "cancel": self.cancel_button}

        title_row = QHBoxLayout()
        title_row.setSpacing(theme.px(0.5))
        title_row.addWidget(self.title)
        title_row.addWidget(self.fit_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        title_row.addWidget(self.tag_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        title_row.addStretch(1)
        buttons = QHBoxLayout()
        buttons.setSpacing(theme.px(0.4))
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        if hero:
            column.setSpacing(theme.px(0.45))
            column.addLayout(title_row)
            column.addWidget(self.detail)
            column.addSpacing(theme.px(0.2))
            column.addWidget(self.description)
            column.addWidget(self.reason)
            column.addSpacing(theme.px(0.5))
            column.addWidget(self.progress_bar)
            column.addWidget(self.status)
            column.addSpacing(theme.px(0.2))
            buttons.addWidget(self.primary_button)
            buttons.addWidget(self.pause_button)
            buttons.addWidget(self.cancel_button)
            buttons.addStretch(1)
            column.addLayout(buttons)
        else:
            self.description.hide()
            self.reason.hide()
            column.setSpacing(theme.px(0.3))
            top = QHBoxLayout()
            top.setSpacing(theme.px(0.8))
            text = QVBoxLayout()
            text.setSpacing(theme.px(0.15))
            text.addLayout(title_row)
            text.addWidget(self.detail)
            top.addLayout(text, 1)
            buttons.addWidget(self.pause_button)
            buttons.addWidget(self.cancel_button)
            buttons.addWidget(self.primary_button)
            top.addLayout(buttons)
            column.addLayout(top)
            column.addWidget(self.progress_bar)
            column.addWidget(self.status)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.set_info(info)

    # ----------------------------------------------------------------------------------------- slots

    @property
    def key(self) -> str:
        return self._info.key

    @property
    def info(self) -> RowInfo:
        return self._info

    @property
    def view(self) -> RowView:
        return self._view

    @property
    def progress(self) -> DownloadProgress | None:
        return self._progress

    def set_info(self, info: RowInfo) -> None:
        self._info = info
        self.title.setText(info.name)
        self.detail.setText(info.detail)
        self.detail.setVisible(bool(info.detail))
        if info.fit_level in FIT_BADGES:
            text, tone = FIT_BADGES[info.fit_level]
            self.fit_badge.set_badge(text, tone, info.fit_reason)
        else:
            self.fit_badge.set_badge("")
        self.tag_badge.set_badge(info.tag, "accent")
        if self.variant == "hero":
            self.description.setText(info.description)
            self.description.setVisible(bool(info.description))
            self.reason.setText(info.fit_reason)
            self.reason.setVisible(bool(info.fit_reason))
        else:
            self.setToolTip(f"{info.description}\n\n{info.fit_reason}".strip())
        self._render()

    def set_progress(self, progress: DownloadProgress | None) -> None:
        """The newest snapshot of this row's download (None: no download)."""
        if (progress is not None and self._progress is not None and progress.id == self._progress.id
                and progress.sequence < self._progress.sequence):
            return  # an older snapshot than the one shown
        self._progress = progress
        self._error = ""
        self._render()

    def set_installed(self, model: InstalledModel | None) -> None:
        self._installed = model
        self._render()

    def set_blocked(self, reason: str) -> None:
        """Why downloads may not start now ('' when they may): the network buttons are disabled."""
        self._blocked = reason
        self._render()

    def set_error(self, message: str) -> None:
        """A refusal from the last click (e.g. the network was switched off), until the next change."""
        self._error = message
        self._render()

    # ------------------------------------------------------------------------------------- internals

    def _primary_clicked(self) -> None:
        action = self._view.primary
        if action == "download":
            self.downloadRequested.emit(self.key)
        elif action in ("resume", "retry"):
            self.resumeRequested.emit(self.key)
        elif action == "load":
            path = self._load_path()
            if path:
                self.loadRequested.emit(path)

    def _load_path(self) -> str | None:
        if self._progress is not None and self._progress.model is not None:
            return str(self._progress.model.path)
        if self._installed is not None:
            return str(self._installed.path)
        return None

    def _render(self) -> None:
        view = row_view(self._progress, self._installed, self._blocked, self._info.size)
        self._view = view
        hero = self.variant == "hero"
        self.primary_button.setVisible(view.primary is not None)
        if view.primary is not None:
            text = view.primary_text
            if not hero and view.phase == "idle":
                text = "Download"  # compact rows show the size in their detail line
            self.primary_button.setText(text)
            self.primary_button.setEnabled(view.enabled(view.primary))
            self.primary_button.setToolTip(view.blocked if not view.enabled(view.primary) else "")
        for action, widget in self._secondary.items():
            widget.setVisible(action in view.secondary)
        self._render_progress(view)
        status, tone = (self._error, "danger") if self._error else (view.status, view.tone)
        if view.phase == "idle" and not self._error and not hero:
            status = ""  # a compact idle row says nothing; the page shows the offline notice once
        if view.phase == "installed" and not hero and view.tone != "danger":
            status = ""
        self.status.setText(status)
        set_property(self.status, "tone", tone)
        self.status.setVisible(bool(status))
        set_property(self, "phase", view.phase)

    def _render_progress(self, view: RowView) -> None:
        bar = self.progress_bar
        if view.progress is None:
            bar.hide()
            return
        if view.progress == BUSY:
            bar.setRange(0, 0)
        else:
            bar.setRange(0, PROGRESS_SCALE)
            bar.setValue(view.progress)
        set_property(bar, "phase", view.phase)
        bar.show()

    def action_button(self, action: Action) -> QWidget | None:
        """The button that performs `action` now, if it is shown (for the switchboard and tests)."""
        if self._view.primary == action:
            return self.primary_button
        if action in self._view.secondary:
            return self._secondary[action]
        return None

