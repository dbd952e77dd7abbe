"""The Hugging Face token: set or clear it, see where it is kept; the token itself is never shown back.

Needed only for gated or private repositories. `TokenStore` keeps it in the OS keyring, or, where no
keyring exists, for this session only; the panel says which, so nobody is surprised to be asked again
after a restart. The field is a password field and is emptied the moment Set is pressed; keyring
calls (which may wait on a desktop service or an unlock prompt) run in the background.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from app.models import ModelsError, TokenSaveResult, TokenStore
from app.ui.bridge import run_in_background
from app.ui.models.parts import button, set_property, text_label
from app.ui.theme import Theme

TOKEN_PAGE = "https://huggingface.co/settings/tokens"
SOURCE_TEXT: dict[str | None, tuple[str, str]] = {
    None: ("No token is set. Ossian needs one only for gated or private repositories.", "muted"),
    "keyring": ("A token is saved in the system keyring.", "success"),
    "session": ("A token is set for this session only: there is no keyring on this system to save it in, "
                "so enter it again after restarting Ossian.", "warning"),
    "environment": ("The token comes from the HF_TOKEN environment variable.", "muted"),
}


class HubTokenPanel(QFrame):
    """A card with the token's status, a password field, Set and Clear.

    Signals:
        tokenChanged(): a token was set or cleared.
    """

    tokenChanged = Signal()

    def __init__(self, tokens: TokenStore, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self._tokens = tokens
        self._source: str | None = None
        px = theme.px
        self.title = text_label("Hugging Face token", "sectionTitle", self)
        self.hint = text_label("For gated or private repositories. Create a read token at "
                               f"{TOKEN_PAGE}. Ossian sends it to the Hub only, never to the download "
                               "servers, and never writes it to its settings or logs.", "sectionHint", self,
                               selectable=True)
        self.status = text_label("Checking for a token…", "rowStatus", self)
        self.field = QLineEdit(self)
        self.field.setObjectName("tokenField")
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setPlaceholderText("hf_…")
        self.field.setClearButtonEnabled(True)
        self.field.returnPressed.connect(self.submit)
        self.set_button = button("Set token", "primaryButton", self)
        self.set_button.clicked.connect(self.submit)
        self.clear_button = button("Clear", "quietButton", self)
        self.clear_button.setEnabled(False)
        self.clear_button.clicked.connect(self.clear)

        entry = QHBoxLayout()
        entry.setSpacing(px(0.5))
        entry.addWidget(self.field, 1)
        entry.addWidget(self.set_button)
        entry.addWidget(self.clear_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(px(1.1), px(1.0), px(1.1), px(1.1))
        column.setSpacing(px(0.5))
        column.addWidget(self.title)
        column.addWidget(self.hint)
        column.addSpacing(px(0.2))
        column.addLayout(entry)
        column.addWidget(self.status)
        self.refresh()

    # ----------------------------------------------------------------------------------------- slots

    def refresh(self) -> None:
        """Ask where the token comes from now (in the background: the keyring may be slow)."""
        tokens = self._tokens
        # Only the source crosses back to the UI thread, never the token.
        run_in_background(lambda: tokens.lookup()[1], self._show_source, self._lookup_failed,
                          name="ossian-token")

    def submit(self) -> None:
        token = self.field.text()
        self.field.clear()  # the token leaves the widget at once
        if not token.strip():
            self._say("Paste a token into the field first, then press Set token.", "danger")
            return
        self._busy(True)
        self._say("Saving the token…", "muted")
        tokens = self._tokens
        run_in_background(lambda: tokens.set(token), self._saved, self._failed, name="ossian-token")

    def clear(self) -> None:
        self._busy(True)
        tokens = self._tokens
        run_in_background(tokens.clear, self._cleared, self._failed, name="ossian-token")

    @property
    def source(self) -> str | None:
        """Where the token comes from: 'keyring', 'session', 'environment', or None."""
        return self._source

    # ------------------------------------------------------------------------------------- internals

    def _show_source(self, source: str | None) -> None:
        if not shiboken6.isValid(self):
            return
        self._source = source
        self.clear_button.setEnabled(source in ("keyring", "session"))
        text, tone = SOURCE_TEXT.get(source, SOURCE_TEXT[None])
        self._say(text, tone)

    def _lookup_failed(self, exc: BaseException) -> None:
        if shiboken6.isValid(self):
            self._say(f"Could not read the system keyring ({type(exc).__name__}).", "warning")

    def _saved(self, result: TokenSaveResult) -> None:
        if not shiboken6.isValid(self):
            return
        self._busy(False)
        self._source = "keyring" if result.saved else "session"
        self.clear_button.setEnabled(True)
        self._say(result.message, "success" if result.saved else "warning")
        self.tokenChanged.emit()

    def _cleared(self, _: object) -> None:
        if not shiboken6.isValid(self):
            return
        self._busy(False)
        self.tokenChanged.emit()
        self.refresh()  # HF_TOKEN may still provide one

    def _failed(self, exc: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        self._busy(False)
        self.clear_button.setEnabled(self._source in ("keyring", "session"))
        # TokenError texts never hold the token; anything else is named by type only, for the same reason.
        self._say(str(exc) if isinstance(exc, ModelsError) else
                  f"The token could not be stored ({type(exc).__name__}). Try again.", "danger")

    def _busy(self, busy: bool) -> None:
        self.set_button.setEnabled(not busy)
        self.field.setEnabled(not busy)
        if busy:
            self.clear_button.setEnabled(False)

    def _say(self, text: str, tone: str) -> None:
        self.status.setText(text)
        set_property(self.status, "tone", tone)
