"""The main window: the switchboard that lays out the parts and wires their signals.

Left, the conversation sidebar; right, the model bar (picker, load/unload, the plan's sentence, the
reasoning effort), the conversation (or the welcome page when no model is on disk yet), the context
meter, the composer (with its attachment chips) and a status line (time to first token, tokens per
second, context used of n_ctx). Documents dropped on the window or the composer, or picked with the
attach button, go to the `AttachmentController`; `.gguf` files dropped anywhere are model imports.
Widgets stay dumb; the `Workspace` (settings, store, library, engine), the `ChatController` and the
`AttachmentController` do the work; anything slow runs off the UI thread, so the window never waits on
the engine or the disk.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME
from app.chat import events as ev
from app.chat.export import ExportKind, export_format, export_to_path, suggested_file_name
from app.chat.servers import ServerEntry, is_loopback
from app.chat.workspace import LoadedModel, Workspace
from app.errors import OssianError
from app.models import InstalledModel
from app.store import StoreError
from app.text_safety import shown_name
from app.ui.attachments import AttachmentController
from app.ui.bridge import EventBridge, run_in_background
from app.ui.chat_controller import ChatController
from app.ui.composer import Composer
from app.ui.context_meter import ContextMeter
from app.ui.first_frame import after_first_paint
from app.ui.messages.chat_view import ChatView
from app.ui.model_bar import ModelBar, ModelChoice
from app.ui.models import ModelLibraryDialog, WelcomePage
from app.ui.settings_dialog import SettingsDialog
from app.ui.shell_style import shell_stylesheet
from app.ui.sidebar import ConversationSidebar, SidebarRow
from app.ui.theme import Theme, ThemeWatcher, apply_palette
from app.units import context_label, format_bytes

if TYPE_CHECKING:
    from app.api.service import ApiService  # starlette and uvicorn load only when the API starts

log = logging.getLogger(__name__)

NO_MODEL_REASON = "Load a model to start chatting: pick one above, or open Models to download one."
MODEL_EXTENSIONS = (".gguf",)


def relative_time(when: datetime, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    if seconds < 7 * 86400:
        days = seconds // 86400
        return "yesterday" if days == 1 else f"{days} days ago"
    return when.astimezone().strftime("%d %b %Y")


class MainWindow(QMainWindow):
    def __init__(self, workspace: Workspace, watcher: ThemeWatcher | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.watcher = watcher or ThemeWatcher(workspace.settings.theme, self)
        self.theme: Theme = self.watcher.theme
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self._editing_turn: str | None = None
        self._search = ""
        self._attempts = EventBridge(self)
        self._attempts.received.connect(self._on_attempt)
        self.api: ApiService | None = None  # the API switch's server (made when first switched on)

        self.sidebar = ConversationSidebar(self.theme, self)
        self.model_bar = ModelBar(self.theme, self)
        self.banner = QLabel(self)
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                            | Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.banner.linkActivated.connect(self._open_banner_folder)
        self.banner.hide()
        self._banner_timer = QTimer(self, singleShot=True)
        self._banner_timer.timeout.connect(self.banner.hide)
        self.chat_view = ChatView(self.theme, self)
        self.composer = Composer(self.theme, self)
        self.meter = ContextMeter(self.theme, self)
        self.controller = ChatController(workspace, self.chat_view, self)
        self.attachments = AttachmentController(workspace, self.controller, self.composer, self.meter, self)
        self.empty_state = self._make_empty_state()
        self.welcome = WelcomePage(workspace, self.theme, self)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.empty_state)
        self.pages.addWidget(self.chat_view)
        self.pages.addWidget(self.welcome)
        self._build_layout()
        self._build_status_bar()
        self._build_actions()
        self._wire()
        self._apply_theme(self.theme)
        self.chat_view.set_reasoning_visible(workspace.settings.show_reasoning)
        self.resize(1180, 800)

        self.refresh_models()
        self.refresh_sidebar()
        self.controller.new_conversation()
        self._show_conversation_page()
        self._update_composer()
        kept = workspace.store.report.kept_file  # a damaged database kept aside: its folder one click away
        for text in workspace.notices:
            self.show_banner("warning", text, timeout_ms=0, folder=kept.parent if kept else None)
        if workspace.settings.api_enabled:  # the API switch left on: serve again, after the first frame
            after_first_paint(self, self.apply_api_switch)

    # ------------------------------------------------------------------------------------- layout

    def _make_empty_state(self) -> QWidget:
        page = QWidget(self)
        title = QLabel("What would you like to talk about?", page)
        title.setObjectName("emptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text = QLabel(page)
        self.empty_text.setObjectName("emptyText")
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text.setWordWrap(True)
        column = QVBoxLayout(page)
        column.addStretch(2)
        column.addWidget(title)
        column.addWidget(self.empty_text)
        column.addStretch(3)
        return page

    def _build_layout(self) -> None:
        right = QWidget(self)
        right.setObjectName("centralShell")
        composer_row = QHBoxLayout()
        composer_row.addStretch(1)
        composer_row.addWidget(self.composer, 100)
        composer_row.addStretch(1)
        self.composer.setMaximumWidth(self.theme.column_width() + self.theme.px(4))
        meter_row = QHBoxLayout()
        meter_row.addStretch(1)
        meter_row.addWidget(self.meter, 100)
        meter_row.addStretch(1)
        self.meter.setMaximumWidth(self.theme.column_width() + self.theme.px(4))
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.model_bar)
        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(self.theme.px(1), self.theme.px(0.5), self.theme.px(1), 0)
        banner_row.addWidget(self.banner)
        column.addLayout(banner_row)
        column.addWidget(self.pages, 1)
        self.composer_area = QWidget(right)
        composer_box = QVBoxLayout(self.composer_area)
        pad = self.theme.px(1)
        composer_box.setContentsMargins(pad, self.theme.px(0.4), pad, pad)
        composer_box.setSpacing(self.theme.px(0.3))
        composer_box.addLayout(meter_row)
        composer_box.addLayout(composer_row)
        column.addWidget(self.composer_area)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.sidebar)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([self.theme.px(17), 900])
        splitter.setHandleWidth(1)
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)

    def _build_status_bar(self) -> None:
        status = QStatusBar(self)
        self.status_model = QLabel("No model loaded", status)
        self.status_speed = QLabel(status)
        self.status_context = QLabel(status)
        status.addWidget(self.status_model, 1)
        status.addPermanentWidget(self.status_speed)
        status.addPermanentWidget(self.status_context)
        status.setSizeGripEnabled(False)
        self.setStatusBar(status)

    def _build_actions(self) -> None:
        def action(text: str, shortcut: QKeySequence | str, slot) -> QAction:
            item = QAction(text, self)
            item.setShortcut(QKeySequence(shortcut))
            item.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            item.triggered.connect(slot)
            self.addAction(item)
            return item

        self.new_action = action("New chat", QKeySequence.StandardKey.New, self.new_chat)
        self.focus_action = action("Focus the composer", "Ctrl+L", self.composer.focus)
        self.stop_action = action("Stop", "Esc", self._escape)
        self.search_action = action("Search conversations", QKeySequence.StandardKey.Find,
                                    self.sidebar.focus_search)
        self.search_k_action = action("Search conversations", "Ctrl+K", self.sidebar.focus_search)

    def _wire(self) -> None:
        self.watcher.themeChanged.connect(self._apply_theme)
        self.sidebar.newRequested.connect(self.new_chat)
        self.sidebar.conversationSelected.connect(self.open_conversation)
        self.sidebar.searchChanged.connect(self._search_changed)
        self.sidebar.renameRequested.connect(self._rename)
        self.sidebar.deleteRequested.connect(self._delete)
        self.sidebar.exportRequested.connect(self._export)
        self.model_bar.loadRequested.connect(self.load_model)
        self.model_bar.unloadRequested.connect(self.unload_model)
        self.model_bar.effortChanged.connect(self.controller.set_effort)
        self.model_bar.effortChanged.connect(lambda _: self.attachments.schedule_measure())
        self.model_bar.manageRequested.connect(self.open_model_library)
        self.model_bar.settingsRequested.connect(self.open_settings)
        self.model_bar.pythonToolChanged.connect(self.controller.set_python_tool)
        self.model_bar.mcpServerChanged.connect(self.controller.set_mcp_server)
        self.welcome.loadRequested.connect(self.load_model)
        self.welcome.modelsChanged.connect(self._models_changed)
        self.welcome.downloadFinished.connect(self._download_finished)
        self.composer.sendRequested.connect(self._send)
        self.composer.stopRequested.connect(self.controller.stop)
        self.composer.filesDropped.connect(self.drop_files)
        self.attachments.changed.connect(self._update_composer)
        self.attachments.sent.connect(self._sent)
        self.attachments.raiseRequested.connect(self.reload_with_context)
        self.attachments.notice.connect(lambda level, text: self.show_banner(level, text))
        self.controller.busyChanged.connect(self._busy_changed)
        self.controller.turnFinished.connect(self._turn_finished)
        self.controller.conversationChanged.connect(self._conversation_created)
        self.controller.titlesChanged.connect(self.refresh_sidebar)
        self.controller.notice.connect(lambda level, text: self.show_banner(level, text))
        self.chat_view.editRequested.connect(self._start_edit)

    # ------------------------------------------------------------------------------------- theme

    def _apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        instance = QApplication.instance()
        if isinstance(instance, QApplication):
            apply_palette(instance, theme)
        self.setStyleSheet(shell_stylesheet(theme))
        self.sidebar.set_theme(theme)
        self.chat_view.set_theme(theme)
        self.meter.set_theme(theme)
        self.welcome.set_theme(theme)

    # ------------------------------------------------------------------------------------ models

    def refresh_models(self) -> None:
        choices = [ModelChoice(str(m.path), m.name, " · ".join(
            part for part in (m.quantization, format_bytes(m.size), "verified" if m.verified else "")
            if part)) for m in self.workspace.library.list() if m.available]
        loaded = self.workspace.loaded
        last = str(loaded.path) if loaded else self.workspace.settings.last_model
        self.model_bar.set_models(choices, last)
        if not choices:
            self.model_bar.set_state("none", "No model on this computer yet: open Models to download "
                                             "gpt-oss or import a .gguf file.")
        elif loaded is None and self.model_bar.state in ("none", "unloaded"):
            self.model_bar.set_state("unloaded", "No model loaded. Press Load: Ossian plans how to fit it "
                                                 "on this machine and tells you what it chose.")

    def open_model_library(self) -> None:
        dialog = ModelLibraryDialog(self.workspace, self.theme, self)
        dialog.loadRequested.connect(self.load_model)
        dialog.modelsChanged.connect(self._models_changed)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.workspace, self, serving=self.api.serving if self.api else None)
        dialog.settingsChanged.connect(self._settings_changed)
        dialog.useServerRequested.connect(lambda entry: self.use_server(entry, dialog))
        dialog.tools.serversChanged.connect(self.show_mcp_servers)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_mcp_servers(self) -> None:
        """The Tools menu offers every MCP server of Settings > Tools, checked where this chat uses it."""
        try:
            names = [server.name for server in self.workspace.mcp.servers()]
        except OssianError as exc:  # a damaged server list: said, and no server offered
            self.show_banner("error", str(exc))
            names = []
        self.model_bar.set_mcp_servers(names, self.controller.mcp_servers_enabled())

    def _settings_changed(self) -> None:
        settings = self.workspace.settings
        self.watcher.set_preference(settings.theme)
        self.chat_view.set_reasoning_visible(settings.show_reasoning)
        if settings.offline_only:
            for download in self.workspace.downloads.downloads():
                download.pause()  # "never use the network" stops what is running now, not at the next file
        self.welcome.refresh()
        self.show_banner("info", "Settings saved.", timeout_ms=3000)
        loaded = self.workspace.loaded
        if settings.offline_only and loaded is not None and loaded.server is not None \
                and not is_loopback(loaded.server.url):
            self.unload_model()  # a server on another computer is let go at once
            self.show_banner("info", f"Stopped using {loaded.server.url}: Ossian is set to never use the "
                                     "network.", timeout_ms=0)
        self.apply_api_switch()

    # ------------------------------------------------------------------------------- the API switch

    def apply_api_switch(self) -> None:
        """Serve the window's model to other apps, or stop, as the settings say."""
        settings = self.workspace.settings
        if not settings.api_enabled:
            if self.api is not None and self.api.serving is not None:
                self.api.stop()
                self.show_banner("info", "Other apps can no longer use the model here.", timeout_ms=4000)
            return
        from app.api.service import ApiService  # starlette and uvicorn: only when the API is wanted

        if self.api is None:
            self.api = ApiService(lambda: self.workspace.engine)
        if self.api.serving is not None:
            return
        try:
            serving = self.api.start(settings.api_port)
        except OssianError as exc:
            self.show_banner("error", f"The API could not start: {exc}", timeout_ms=0)
            return
        self.show_banner("info", f"Other apps on this computer can use the model at {serving.base_url} with "
                                 f"the key {serving.api_key} (also shown in Settings).", timeout_ms=0)

    # ------------------------------------------------------------------------------------- servers

    def use_server(self, entry: ServerEntry, dialog: SettingsDialog | None = None) -> None:
        """Run the model on `entry`'s server: connect off the UI thread, then show where it runs."""
        if self.controller.busy:
            self.show_banner("warning", "Stop the current answer before switching to a server.")
            return
        self.model_bar.set_state("loading", f"Connecting to {entry.url}…")
        self._update_composer()

        def done(loaded: LoadedModel) -> None:
            self._loaded(loaded)
            self._show_conversation_page()  # a first run with no model of its own chats on the server
            if dialog is not None and shiboken6.isValid(dialog):
                dialog.servers.refresh()
                dialog.servers.status.setText(loaded.explanation)

        def failed(error: BaseException) -> None:
            self._load_failed(error)
            if dialog is not None and shiboken6.isValid(dialog):
                dialog.servers.status.setText(str(error))

        run_in_background(lambda: self.workspace.use_server(entry), done, failed, self, name="use-server")

    def _models_changed(self) -> None:
        self.refresh_models()
        self._show_conversation_page()

    def _download_finished(self, model: InstalledModel) -> None:
        """One click from download to chat: with no model loaded (or loading), load the new one at once."""
        name = shown_name(model.name)
        if self.workspace.loaded is None and self.model_bar.state in ("none", "unloaded", "failed"):
            self.show_banner("info", f"{name} is downloaded and verified; loading it now.")
            self.load_model(str(model.path))
        else:
            self.show_banner("info", f"{name} is downloaded and verified. Load it from the model list when "
                                     "you want to switch.")

    def load_model(self, path: str) -> None:
        if self.controller.busy:
            self.show_banner("warning", "Stop the current answer before loading another model.")
            return
        self.model_bar.set_state("loading", f"Planning and loading {Path(path).name}…")
        self._update_composer()
        run_in_background(lambda: self.workspace.load_model(Path(path), on_attempt=self._attempts.post),
                          self._loaded, self._load_failed, self, name="load-model")

    def unload_model(self) -> None:
        self.controller.stop()
        run_in_background(self.workspace.unload_model, lambda _: self._unloaded(), self._load_failed, self,
                          name="unload-model")

    def reload_with_context(self, n_ctx: int) -> None:
        """Load the loaded model again with a larger context (the meter's offer), re-planned."""
        loaded = self.workspace.loaded
        if loaded is None:
            return
        if self.controller.busy:
            self.show_banner("warning", "Stop the current answer before changing the context.")
            return
        self.model_bar.set_state("loading", f"Loading {loaded.name} again with a {context_label(n_ctx)}…")
        self._update_composer()
        run_in_background(lambda: self.workspace.reload_with_context(n_ctx, on_attempt=self._attempts.post),
                          lambda loaded: self._reloaded(loaded, n_ctx), self._reload_failed, self,
                          name="reload-model")

    def _reloaded(self, loaded: LoadedModel, asked: int) -> None:
        self._loaded(loaded)
        if loaded.n_ctx < asked:  # the ladder had to step the context down to fit
            self.show_banner("warning", f"Memory allowed a {loaded.n_ctx:,}-token context, not the "
                                        f"{asked:,} asked for: {loaded.explanation}", timeout_ms=0)

    def _reload_failed(self, error: BaseException) -> None:
        loaded = self.workspace.loaded
        if loaded is None:  # not even the previous context came back
            self._load_failed(error)
            return
        self._loaded(loaded)  # the previous context is loaded again; say why the larger one is not
        self.show_banner("error", str(error), timeout_ms=0)

    def _on_attempt(self, attempt: object) -> None:
        step = getattr(attempt, "step", "")
        error = getattr(attempt, "error", None)
        if error is not None:
            self.model_bar.set_state("loading", f"{error.message} Trying again with {step}…")

    def _loaded(self, loaded: LoadedModel) -> None:
        self.model_bar.set_state("loaded", loaded.explanation, str(loaded.path))
        if loaded.plan is not None:
            gpu, host = loaded.plan.gpu.total, loaded.plan.host.total
            memory = " · ".join(f"{format_bytes(size)} {where}"
                                for size, where in ((gpu, "VRAM"), (host, "RAM")) if size)
            memory = f" · {memory}" if memory else ""
        else:  # on a server: nothing of this computer's memory
            memory = f" · on {loaded.info.description.removeprefix('runs on ')}"
        self.status_model.setText(f"{loaded.name} · {loaded.n_ctx:,} token context{memory}")
        self._update_composer()
        self.attachments.model_changed()
        self.composer.focus()

    def _unloaded(self) -> None:
        self.refresh_models()
        self.model_bar.set_state("unloaded", "Model unloaded; its memory is free again.")
        self.status_model.setText("No model loaded")
        self._update_composer()
        self.attachments.model_changed()

    def _load_failed(self, error: BaseException) -> None:
        if isinstance(error, OssianError):  # the file, the ladder, the engine, the library: said as it is
            text = str(error)
        else:
            log.error("load failed", exc_info=error)
            text = f"The model could not be loaded: {error}"
        self.model_bar.set_state("failed", text)
        self._update_composer()

    # ----------------------------------------------------------------------------- conversations

    def refresh_sidebar(self) -> None:
        try:
            if self._search:
                hits = self.workspace.store.search(self._search, limit=200)
                rows = [SidebarRow(h.conversation_id, shown_name(h.title.text),
                                   h.snippet.text if h.snippet else relative_time(h.updated_at))
                        for h in hits]
            else:
                # A title is outside text (the first message, a rename, an import): its bidirectional
                # controls are shown as tags, never obeyed.
                rows = [SidebarRow(c.id, shown_name(c.title), relative_time(c.updated_at))
                        for c in self.workspace.store.list_conversations()]
        except StoreError as exc:
            self.show_banner("error", str(exc))
            return
        self.sidebar.set_rows(rows, self.controller.conversation_id)

    def new_chat(self) -> None:
        self._cancel_edit()
        self.controller.new_conversation()
        self.attachments.conversation_changed()
        self.sidebar.select(-1)
        self.model_bar.set_effort(self.workspace.settings.reasoning_effort)
        self.model_bar.set_python_tool(False)
        self.show_mcp_servers()
        self._show_conversation_page()
        self.composer.focus()

    def open_conversation(self, conversation_id: int) -> None:
        if conversation_id == self.controller.conversation_id:
            return
        self._cancel_edit()
        try:
            self.controller.open_conversation(conversation_id)
        except StoreError as exc:
            self.show_banner("error", str(exc))
            return
        self.attachments.conversation_changed()
        self.model_bar.set_effort(self.controller.effort())
        self.model_bar.set_python_tool(self.controller.python_tool_enabled())
        self.show_mcp_servers()
        self._show_conversation_page()

    def _conversation_created(self, conversation_id: int) -> None:
        self.refresh_sidebar()
        self.sidebar.select(conversation_id)

    def _search_changed(self, text: str) -> None:
        self._search = text
        self.refresh_sidebar()

    def _rename(self, conversation_id: int, title: str) -> None:
        try:
            self.workspace.store.rename_conversation(conversation_id, title)
        except StoreError as exc:
            self.show_banner("error", str(exc))
        self.refresh_sidebar()

    def _delete(self, conversation_id: int) -> None:
        if conversation_id == self.controller.conversation_id:
            self.new_chat()
        try:
            self.workspace.delete_conversation(conversation_id)
        except StoreError as exc:
            self.show_banner("error", str(exc))
        self.refresh_sidebar()

    def _export(self, conversation_id: int, kind: ExportKind) -> None:
        title = self.workspace.store.get_conversation(conversation_id).title
        suggested = str(Path.home() / suggested_file_name(title, kind))
        path, _ = QFileDialog.getSaveFileName(self, "Export conversation", suggested,
                                              export_format(kind).label)
        if not path:
            return
        try:
            export_to_path(self.workspace.store, conversation_id, kind, Path(path))
        except (OSError, StoreError) as exc:
            self.show_banner("error", f"Could not export to {path}: {exc}")
            return
        self.show_banner("info", f"Exported to {path}.")

    # -------------------------------------------------------------------------------------- chat

    def _send(self, text: str) -> None:
        if self._editing_turn is not None:
            turn, self._editing_turn = self._editing_turn, None
            if self.controller.edit(turn, text):
                self.composer.clear()
                self.banner.hide()
            return
        self.attachments.send(text)  # with the pending documents; `sent` follows when it is accepted

    def _sent(self, text: str) -> None:
        if self.composer.text().strip() == text:  # typing that came after the send stays
            self.composer.clear()
        self._show_conversation_page()

    def _start_edit(self, turn_id: str) -> None:
        if self.controller.busy:
            self.show_banner("warning", "Stop the current answer before editing a message.")
            return
        self._editing_turn = turn_id
        self.composer.set_text(self.controller.user_text(turn_id))
        self.composer.focus()
        self.show_banner("info", "Editing your message: sending replaces it and the answers after it. "
                                 "Esc cancels.", timeout_ms=0)

    def _cancel_edit(self) -> None:
        if self._editing_turn is not None:
            self._editing_turn = None
            self.composer.clear()
            self.banner.hide()

    def _escape(self) -> None:
        if self.controller.busy:
            self.controller.stop()
        else:
            self._cancel_edit()

    def _busy_changed(self, busy: bool) -> None:
        self.composer.set_busy(busy)
        self.model_bar.setEnabled(not busy)
        self._update_composer()

    def _turn_finished(self, event: ev.TurnFinished) -> None:
        stats = event.stats
        if stats.generated_tokens:
            self.status_speed.setText(f"first token {stats.time_to_first_token_s:.2f} s · "
                                      f"{stats.tokens_per_second:.1f} tokens/s")
        if stats.n_ctx:
            self.status_context.setText(f"context {stats.context_used:,} / {stats.n_ctx:,}")

    def _update_composer(self) -> None:
        loaded = self.workspace.loaded is not None
        loading = self.model_bar.state == "loading"
        reason = "" if loaded else ("The model is loading…" if loading else NO_MODEL_REASON)
        blocked = self.attachments.blocked_reason() if loaded and not loading else ""
        self.composer.set_can_send(loaded and not loading and not blocked, reason or blocked)
        self.empty_text.setText("Ask anything. Enter sends, Shift+Enter adds a line." if loaded else reason)

    def _show_conversation_page(self) -> None:
        has_turns = bool(self.chat_view.turns())
        if has_turns or self.controller.busy:
            self.pages.setCurrentWidget(self.chat_view)
        elif self.workspace.loaded is None and not any(m.available for m in self.workspace.library.list()):
            self.pages.setCurrentWidget(self.welcome)  # first run: get a model first (or use a server)
        else:
            self.pages.setCurrentWidget(self.empty_state)
        self.composer_area.setVisible(self.pages.currentWidget() is not self.welcome)

    # ---------------------------------------------------------------------------------- feedback

    def show_banner(self, level: str, text: str, timeout_ms: int = 8000, folder: Path | None = None) -> None:
        """`text` as plain text; with `folder`, followed by a link that opens that folder."""
        if folder is None:
            self.banner.setTextFormat(Qt.TextFormat.PlainText)
            self.banner.setText(text)
        else:
            self.banner.setTextFormat(Qt.TextFormat.RichText)
            link = html.escape(QUrl.fromLocalFile(str(folder)).toString(), quote=True)
            self.banner.setText(f'{html.escape(text)} <a href="{link}">Open the folder</a>')
        self.banner.setProperty("kind", level)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)
        self.banner.show()
        if timeout_ms:
            self._banner_timer.start(timeout_ms)
        else:
            self._banner_timer.stop()

    def _open_banner_folder(self, link: str) -> None:
        url = QUrl(link)
        if not QDesktopServices.openUrl(url):
            self.show_banner("warning", f"Could not open a file manager. The folder is {url.toLocalFile()}.",
                             timeout_ms=0)

    # ----------------------------------------------------------------------------- drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.drop_files(paths)

    def drop_files(self, paths: list[str]) -> None:
        """Files dropped on the window or the composer: models are imported, anything else attached."""
        models = [p for p in paths if p.lower().endswith(MODEL_EXTENSIONS)]
        documents = [p for p in paths if not p.lower().endswith(MODEL_EXTENSIONS)]
        if models:
            self.import_models(models)
        if documents and self.pages.currentWidget() is self.welcome:
            self.show_banner("info", "Get a model first: documents are attached to a chat with a model.")
        elif documents:
            self.attachments.add_files(documents)

    def import_models(self, paths: list[str]) -> None:
        from app.models import import_model

        def work() -> list[str]:
            return [str(import_model(Path(p), self.workspace.library).path) for p in paths]

        def done(imported: list[str]) -> None:
            self.refresh_models()
            self.show_banner("info", f"Imported {len(imported)} model(s). Press Load to use it.")

        def failed(error: BaseException) -> None:
            self.show_banner("error", str(error), timeout_ms=0)

        run_in_background(work, done, failed, self, name="import-model")

    # --------------------------------------------------------------------------------- shutdown

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.api is not None:
            self.api.stop()
        self.attachments.close()
        self.controller.close()
        try:
            self.workspace.save_settings()
        except (OSError, ValueError) as exc:
            log.warning("settings not saved: %s", exc)
        self.workspace.close()
        super().closeEvent(event)

    def confirm(self, title: str, text: str) -> bool:
        return QMessageBox.question(self, title, text) == QMessageBox.StandardButton.Yes
