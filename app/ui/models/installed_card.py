"""One installed model as a card row: name, verified or not, quantization, size, path; Load, Show in
folder, Remove.

Remove asks inside the card (no modal box): "Delete gpt-oss-20b from disk? This frees 12.1 GB." for a
model in the models folder, "Forget …? The file stays at …" for one imported in place, as the library
will do. A model another app keeps (the Hugging Face cache, LM Studio, Ollama) says under its path that
the app may delete the file, and that Ossian then shows it as missing. The card decides nothing; it says
what the user confirmed through its signals.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.models import InstalledModel
from app.text_safety import shown_name
from app.ui.models.parts import Badge, button, set_property, text_label
from app.ui.models.presenting import installed_detail, kept_by_note
from app.ui.theme import Theme
from app.units import format_bytes


class ElidedLabel(QLabel):
    """A one-line label that shortens its text in the middle to fit (paths), the whole text as tooltip."""

    def __init__(self, text: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._full = ""
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width(), 10)
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, width))


class InstalledModelCard(QFrame):
    """An installed model.

    Signals:
        loadRequested(str): the model's path.
        showFolderRequested(str): the model's path (its folder is to be shown).
        removeRequested(str): the model's id, after the user confirmed in the card.
    """

    loadRequested = Signal(str)
    showFolderRequested = Signal(str)
    removeRequested = Signal(str)

    def __init__(self, model: InstalledModel, theme: Theme, *, deletes_files: bool, loaded: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("installedCard")
        self.model = model
        self.deletes_files = deletes_files
        px = theme.px

        self.title = text_label(model.name, "rowTitle", self, wrap=False)
        self.verified_badge = Badge(self)
        if model.verified:
            self.verified_badge.set_badge("Verified", "success",
                                          "Every file matched the Hub's SHA-256 when it arrived.")
        else:
            self.verified_badge.set_badge("Not verified", "neutral",
                                          "No published hash to check it against (imported or found in the "
                                          "models folder).")
        self.loaded_badge = Badge(self)
        if loaded:
            self.loaded_badge.set_badge("Loaded", "accent", "This model is loaded in the chat now.")
        self.detail = text_label(installed_detail(model), "rowDetail", self)
        # A file name's bidirectional controls are shown as tags, not obeyed.
        self.path = ElidedLabel(shown_name(str(model.path)), "rowPath", self)
        self.kept_by = text_label(kept_by_note(model), "rowPath", self)
        self.kept_by.setVisible(bool(model.kept_by))
        self.status = text_label("", "rowStatus", self, selectable=True)
        self.status.hide()
        if not model.available:
            missing = ", ".join(str(p) for p in model.missing)
            self._say(f"Missing from disk: {missing}. Remove the model, or put the file back.", "danger")

        self.folder_button = button("Show in folder", "quietButton", self)
        self.folder_button.clicked.connect(lambda: self.showFolderRequested.emit(str(self.model.path)))
        self.remove_button = button("Remove", "quietButton", self)
        self.remove_button.clicked.connect(self.ask_remove)
        if loaded:
            self.remove_button.setEnabled(False)
            self.remove_button.setToolTip("Unload it first: the chat is using it.")
        self.load_button = button("Load", "", self)
        self.load_button.setEnabled(model.available and not loaded)
        self.load_button.setToolTip("Loaded now" if loaded else "")
        self.load_button.clicked.connect(lambda: self.loadRequested.emit(str(self.model.path)))

        self.confirm = QFrame(self)
        self.confirm.setObjectName("confirmStrip")
        if deletes_files:
            question = f"Delete {model.name} from disk? This frees {format_bytes(model.size)}."
            action = "Delete"
        else:
            where = shown_name(str(model.path))
            question = f"Remove {model.name} from the library? The file stays at {where}."
            action = "Remove"
        self.confirm_text = text_label(question, "rowStatus", self.confirm)
        set_property(self.confirm_text, "tone", "danger")
        self.keep_button = button("Keep", "", self.confirm)
        self.keep_button.clicked.connect(self.cancel_remove)
        self.confirm_button = button(action, "dangerButton", self.confirm)
        self.confirm_button.clicked.connect(self._confirmed)
        strip = QHBoxLayout(self.confirm)
        strip.setContentsMargins(0, px(0.2), 0, 0)
        strip.setSpacing(px(0.5))
        strip.addWidget(self.confirm_text, 1)
        strip.addWidget(self.keep_button)
        strip.addWidget(self.confirm_button)
        self.confirm.hide()

        title_row = QHBoxLayout()
        title_row.setSpacing(px(0.5))
        title_row.addWidget(self.title)
        title_row.addWidget(self.verified_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        title_row.addWidget(self.loaded_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        title_row.addStretch(1)
        text = QVBoxLayout()
        text.setSpacing(px(0.15))
        text.addLayout(title_row)
        text.addWidget(self.detail)
        text.addWidget(self.path)
        text.addWidget(self.kept_by)
        top = QHBoxLayout()
        top.setSpacing(px(0.4))
        top.addLayout(text, 1)
        top.addWidget(self.folder_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.load_button, 0, Qt.AlignmentFlag.AlignTop)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(px(0.3))
        column.addLayout(top)
        column.addWidget(self.status)
        column.addWidget(self.confirm)

    # ----------------------------------------------------------------------------------------- slots

    def ask_remove(self) -> None:
        self.confirm.show()
        self.remove_button.setEnabled(False)

    def cancel_remove(self) -> None:
        self.confirm.hide()
        self.remove_button.setEnabled(True)

    def set_busy(self, text: str) -> None:
        """While the removal runs: buttons off, what is happening."""
        self.confirm.hide()
        for widget in (self.load_button, self.remove_button, self.folder_button):
            widget.setEnabled(False)
        self._say(text, "muted")

    def set_error(self, text: str) -> None:
        self.remove_button.setEnabled(True)
        self.folder_button.setEnabled(True)
        self.load_button.setEnabled(self.model.available)
        self._say(text, "danger")

    def _confirmed(self) -> None:
        self.removeRequested.emit(self.model.id)

    def _say(self, text: str, tone: str) -> None:
        self.status.setText(text)
        set_property(self.status, "tone", tone)
        self.status.setVisible(bool(text))
