"""'Already on this computer': the gpt-oss other apps downloaded, each with one action or the reason why not.

The scan (the Hugging Face cache, LM Studio, Ollama; headers only) and every verdict belong to
`app.models`, reached through `Workspace.found_models`; the words to `presenting.found_view`. This panel
runs the scan off the UI thread when it is first shown and when asked again, and shows one row per
model: "Use it" records the file where it is (`import_found`, in the background), "Load" for one already
in the library, "Download the GGUF" for an original checkpoint or Ollama's own conversion (the page
starts the catalog's download), or only the reason. Nothing found: the panel stays hidden.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout, QWidget

from app.models import FoundModel, InstalledModel, ModelsError, import_found
from app.ui.bridge import run_in_background
from app.ui.models.installed_card import ElidedLabel
from app.ui.models.parts import Badge, ListCard, button, repolish, set_property, text_label
from app.ui.models.presenting import FoundView, found_view
from app.ui.theme import Theme

if TYPE_CHECKING:  # the workspace brings the store and the engine client; only its type is needed
    from app.chat.workspace import Workspace

log = logging.getLogger(__name__)

TITLE = "Already on this computer"
HINT = ("gpt-oss that other apps downloaded: the Hugging Face cache, LM Studio, Ollama. Ossian uses the "
        "files where they are.")


class FoundRow(QFrame):
    """One found model.

    Signals:
        actionRequested(str): the row's action ("use", "load" or "download") was clicked.
    """

    actionRequested = Signal(str)

    def __init__(self, found: FoundModel, view: FoundView, theme: Theme,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("foundRow")
        self.found = found
        self.view = view
        px = theme.px
        self.title = text_label(view.title, "rowTitle", self, wrap=False)
        self.badge = Badge(self)
        self.badge.set_badge(view.badge, "neutral", f"Kept by {view.badge}, in {found.store_root}")
        self.detail = text_label(view.detail, "rowDetail", self)
        self.path = ElidedLabel(view.path, "rowPath", self)
        self.status = text_label("", "rowStatus", self, selectable=True)
        self.action_button = button("", "", self)
        self.action_button.clicked.connect(lambda: self.actionRequested.emit(self.view.action or ""))

        title_row = QHBoxLayout()
        title_row.setSpacing(px(0.5))
        title_row.addWidget(self.title)
        title_row.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignVCenter)
        title_row.addStretch(1)
        text = QVBoxLayout()
        text.setSpacing(px(0.15))
        text.addLayout(title_row)
        text.addWidget(self.detail)
        text.addWidget(self.path)
        text.addWidget(self.status)
        top = QHBoxLayout()
        top.setSpacing(px(0.4))
        top.addLayout(text, 1)
        top.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignTop)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(top)
        self.set_view(view)

    def set_view(self, view: FoundView) -> None:
        self.view = view
        self.say(view.status, view.tone)
        self.action_button.setText(view.action_text)
        name = "primaryButton" if view.action == "use" else ""
        if self.action_button.objectName() != name:
            self.action_button.setObjectName(name)
            repolish(self.action_button)
        self.action_button.setVisible(view.action is not None)
        self.action_button.setEnabled(True)

    def set_busy(self, text: str) -> None:
        self.action_button.setEnabled(False)
        self.say(text, "muted")

    def say(self, text: str, tone: str) -> None:
        self.status.setText(text)
        set_property(self.status, "tone", tone)
        self.status.setVisible(bool(text))


class FoundPanel(QWidget):
    """The found models as a titled list card; hidden while there are none.

    Signals:
        imported(object): an `InstalledModel` now in the library (a found file, used where it is).
        loadRequested(str): load the model file at this path.
        downloadRequested(str): start the catalog download with this id, in place of an unusable file.
    """

    imported = Signal(object)
    loadRequested = Signal(str)
    downloadRequested = Signal(str)

    def __init__(self, workspace: Workspace, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("foundPanel")
        self._workspace = workspace
        self._theme = theme
        self._found: list[FoundModel] = []
        self._scanning = False
        self._scanned = False
        self.rows: list[FoundRow] = []
        self.title = text_label(TITLE, "sectionTitle", self)
        self.hint = text_label(HINT, "sectionHint", self)
        self.card = ListCard(theme.px(1.0), self)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(theme.px(0.25))
        column.addWidget(self.title)
        column.addWidget(self.hint)
        column.addSpacing(theme.px(0.45))
        column.addWidget(self.card)
        self.hide()

    @property
    def scanning(self) -> bool:
        return self._scanning

    @property
    def scanned(self) -> bool:
        """True once a scan has finished (found something or not)."""
        return self._scanned

    def found(self) -> list[FoundModel]:
        return list(self._found)

    def scan(self) -> None:
        """Look again (in the background); a scan already running is not doubled."""
        if self._scanning:
            return
        self._scanning = True
        run_in_background(self._workspace.found_models, self._done, self._failed, name="ossian-found")

    def scan_once(self) -> None:
        """Scan unless a scan has run: the page shows what it found until asked to look again."""
        if not self._scanned:
            self.scan()

    def refresh(self) -> None:
        """Show each row's state against the library now (an import, a removal, a file gone)."""
        models = self._workspace.library.list()
        for row in self.rows:
            row.set_view(found_view(row.found, _installed(row.found, models)))

    # ------------------------------------------------------------------------------------- internals

    def _done(self, found: list[FoundModel]) -> None:
        if not shiboken6.isValid(self):
            return
        self._scanning = False
        self._scanned = True
        self._found = list(found)
        self.card.clear()
        self.rows = []
        models = self._workspace.library.list()
        for model in self._found:
            row = FoundRow(model, found_view(model, _installed(model, models)), self._theme, self.card)
            row.actionRequested.connect(lambda action, row=row: self._act(row, action))
            self.card.add_row(row)
            self.rows.append(row)
        self.setVisible(bool(self._found))

    def _failed(self, exc: BaseException) -> None:
        # The scan maps what it meets into verdicts; only a bug gets here. The page works without it.
        if not shiboken6.isValid(self):
            return
        self._scanning = False
        self._scanned = True
        log.error("looking for models of other apps failed", exc_info=exc)

    def _act(self, row: FoundRow, action: str) -> None:
        found = row.found
        if action == "download" and row.view.download_id:
            self.downloadRequested.emit(row.view.download_id)
        elif action == "load":
            self.loadRequested.emit(str(found.path))
        elif action == "use":
            row.set_busy(f"Checking {found.name} and adding it to the library…")
            library = self._workspace.library
            run_in_background(lambda: import_found(found, library), lambda model: self._used(row, model),
                              lambda exc: self._use_failed(row, exc), name="ossian-use-found")

    def _used(self, row: FoundRow, model: InstalledModel) -> None:
        if not shiboken6.isValid(self) or not shiboken6.isValid(row):
            return
        self.refresh()
        self.imported.emit(model)

    def _use_failed(self, row: FoundRow, exc: BaseException) -> None:
        if not shiboken6.isValid(row):
            return
        if not isinstance(exc, ModelsError):
            log.error("using %s failed", row.found.path, exc_info=exc)
        row.set_view(row.view)
        row.say(str(exc) if isinstance(exc, ModelsError) else
                f"Could not use {row.found.name} ({exc}). Nothing was added; try again.", "danger")


def _installed(found: FoundModel, models: list[InstalledModel]) -> InstalledModel | None:
    wanted = found.path.resolve()
    return next((m for m in models if m.source != "folder" and m.path.resolve() == wanted), None)
