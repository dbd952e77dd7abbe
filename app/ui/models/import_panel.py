"""'Import a GGUF file…': pick a model already on disk, check it in the background, say how it went.

The check (the planner reads the GGUF header, finds the other parts of a split set) and the refusal
wording ("… is a llama model. Ossian runs OpenAI's gpt-oss models …") belong to `app.models`; this
panel runs `import_model` off the UI thread and shows its answer. The file stays where it is (the
library points at it), which is what anyone with a 60 GB file wants.
"""

from __future__ import annotations

import logging
from pathlib import Path

import shiboken6
from PySide6.QtCore import QStandardPaths, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QVBoxLayout, QWidget

from app.models import InstalledModel, Library, ModelsError, import_model
from app.ui.bridge import run_in_background
from app.ui.models.parts import button, set_property, text_label
from app.ui.theme import Theme
from app.units import format_bytes

log = logging.getLogger(__name__)

FILE_FILTER = "GGUF models (*.gguf);;All files (*)"


class ImportPanel(QWidget):
    """An import button with a hint, and the outcome of the last import.

    Signals:
        imported(object): the `InstalledModel` that is now in the library.
        loadRequested(str): "Load it" after a successful import: the model's path.
    """

    imported = Signal(object)
    loadRequested = Signal(str)

    def __init__(self, library: Library, theme: Theme, parent: QWidget | None = None, *,
                 hint: str = "Already have a gpt-oss GGUF file? Ossian uses it where it is.") -> None:
        super().__init__(parent)
        self.setObjectName("importPanel")
        self._library = library
        self._model: InstalledModel | None = None
        self._busy = False
        self.import_button = button("Import a GGUF file…", "", self)
        self.import_button.clicked.connect(self.choose_file)
        self.hint = text_label(hint, "sectionHint", self)
        self.hint.setVisible(bool(hint))
        self.status = text_label("", "rowStatus", self, selectable=True)
        self.status.hide()
        self.load_button = button("Load it", "primaryButton", self)
        self.load_button.hide()
        self.load_button.clicked.connect(self._load_clicked)

        top = QHBoxLayout()
        top.setSpacing(theme.px(0.8))
        top.addWidget(self.import_button)
        top.addWidget(self.hint, 1)
        result = QHBoxLayout()
        result.setSpacing(theme.px(0.6))
        result.addWidget(self.status, 1)
        result.addWidget(self.load_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(theme.px(0.45))
        column.addLayout(top)
        column.addLayout(result)

    @property
    def busy(self) -> bool:
        return self._busy

    def choose_file(self) -> None:
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
        path, _ = QFileDialog.getOpenFileName(self, "Import a GGUF model", folder or str(Path.home()),
                                              FILE_FILTER)
        if path:
            self.import_file(path)

    def import_file(self, path: str | Path) -> None:
        """Check and add the model at `path` (in the background); the outcome shows below the button."""
        if self._busy:
            return
        source = Path(path)
        self._busy = True
        self._model = None
        self.import_button.setEnabled(False)
        self.load_button.hide()
        self._say(f"Checking {source.name}…", "muted")
        library = self._library
        run_in_background(lambda: import_model(source, library), self._done,
                          lambda exc: self._failed(source, exc), name="ossian-import")

    # ------------------------------------------------------------------------------------- internals

    def _done(self, model: InstalledModel) -> None:
        if not shiboken6.isValid(self):
            return
        self._busy = False
        self._model = model
        self.import_button.setEnabled(True)
        quantization = f"{model.quantization}, " if model.quantization else ""
        self._say(f"Imported {model.name} ({quantization}{format_bytes(model.size)}). It stays at "
                  f"{model.path}.", "success")
        self.load_button.setVisible(model.available)
        self.imported.emit(model)

    def _failed(self, source: Path, exc: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        self._busy = False
        self.import_button.setEnabled(True)
        if isinstance(exc, ModelsError):
            message = str(exc)
        else:  # our bug, or the system's: say what happened and that nothing was changed
            log.error("importing %s failed", source, exc_info=exc)
            message = (f"Could not import {source.name} ({exc}). Nothing was added; check that the file "
                       "is readable and try again.")
        self._say(message, "danger")

    def _say(self, text: str, tone: str) -> None:
        self.status.setText(text)
        set_property(self.status, "tone", tone)
        self.status.setVisible(bool(text))

    def _load_clicked(self) -> None:
        if self._model is not None:
            self.loadRequested.emit(str(self._model.path))
