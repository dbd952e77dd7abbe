"""`Workspace`: the app's running state, shared by the window and the commands.

It opens the settings, the conversation store and the model library, owns the one engine, and knows
how to turn "load this file" into a plan for this machine and a load that steps down the planner's
fallback ladder when memory runs out. Its methods block; the window calls them off the UI thread.
Nothing here reaches the network: downloads and Hub searches live in `app.models`, started only by the
user.

MCP servers: the workspace owns the one `McpHub` (made on first use, closed with the workspace, which
ends every stdio server's process), asks the settings' "Never use the network" on every server start,
gives it to each conversation's tool session, and starts the servers a conversation uses when its tool
session is made, so their tools are usually listed before the first turn needs them.

Documents in search mode: the workspace keeps each open conversation's `DocumentIndex` (one SQLite file
per conversation, `chat.attachments.index_path`), gives it to the conversation's tool session with the
browser tool enabled, and deletes it with the conversation.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from app.chat import attachments as chat_attachments
from app.chat.context_meter import RaiseOffer, offer_from_option
from app.chat.conversation_settings import ConversationSettings
from app.chat.events import ChatListener
from app.chat.servers import ServerEntry, ServerList, require_allowed
from app.chat.session import ChatSession, SessionOptions
from app.documents import DocumentIndex, ExtractedDocument
from app.engine.interface import Engine, LoadPlan, ModelInfo
from app.gguf import GgufProfile, ModelFileError, read_profile
from app.harmony import ReasoningEffort
from app.models import DownloadManager, FoundModel, HubAccess, Library, scan_found
from app.paths import AppPaths, app_paths
from app.planner import (
    Attempt,
    LadderResult,
    LoadFailed,
    Machine,
    Plan,
    PlanRequest,
    RememberedPlans,
    context_option,
    detect_machine,
    load_with_fallback,
    make_plan,
)
from app.secrets import SecretStore
from app.settings import Settings, load_settings, save_settings
from app.store import Attachment, Conversation, Store, open_store
from app.text_safety import shown_name
from app.tools import ToolSession
from app.tools.mcp import McpHub

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class LoadedModel:
    """A model in the engine, with the plan that put it there and the sentence that explains it."""

    path: Path
    name: str
    info: ModelInfo
    plan: Plan | None  # None: the model runs on a server (`server` says which), not planned here
    explanation: str
    attempts: tuple[Attempt, ...] = ()
    server: ServerEntry | None = None

    @property
    def n_ctx(self) -> int:
        return self.info.n_ctx


def default_engine() -> Engine:
    from app.engine.client import WorkerEngine

    return WorkerEngine()


class Workspace:
    """Settings, store, library, engine. One per app window (or command)."""

    def __init__(self, paths: AppPaths | None = None, *,
                 engine_factory: Callable[[], Engine] = default_engine,
                 read_machine: Callable[[], Machine] = detect_machine,
                 find_models: Callable[[], list[FoundModel]] = scan_found) -> None:
        base = paths or app_paths()
        self.settings: Settings = load_settings(base.settings_file)
        self.paths = (paths or app_paths(self.settings.models_dir)).ensure()
        self.store: Store = open_store(self.paths.database_file)
        self.library = Library(self.paths.models)
        self._engine_factory = engine_factory
        self._read_machine = read_machine
        self._find_models = find_models
        self._engine: Engine | None = None
        self._downloads: DownloadManager | None = None
        self._mcp: McpHub | None = None
        self._machine: Machine | None = None
        self._loaded: LoadedModel | None = None
        self._indexes: dict[int, DocumentIndex] = {}  # open search indexes by conversation id
        self._profiles: dict[Path, GgufProfile] = {}  # the loaded model's profile, for context offers
        self._lock = threading.Lock()
        self._secrets = SecretStore()

    # ----------------------------------------------------------------------------------- settings

    def save_settings(self) -> None:
        save_settings(self.settings, self.paths.settings_file)

    @property
    def notices(self) -> tuple[str, ...]:
        """What opening the store had to say (a damaged database set aside, interrupted answers)."""
        return tuple(self.store.report.notices)

    # ----------------------------------------------------------------------------------- downloads

    @property
    def downloads(self) -> DownloadManager:
        """The one download manager of the models folder (made on first use: nothing runs before)."""
        with self._lock:
            if self._downloads is None:
                # The policy is read from these settings on every request, so "never use the network"
                # takes effect at once.
                access = HubAccess(settings=lambda: self.settings)
                self._downloads = DownloadManager(self.paths.models, access, library=self.library)
            return self._downloads

    @property
    def mcp(self) -> McpHub:
        """The app's MCP servers (made on first use; nothing starts before a conversation uses one)."""
        with self._lock:
            if self._mcp is None:
                # Read on every start, so "Never use the network" stops URL servers at once.
                self._mcp = McpHub(self.paths.config, offline=lambda: self.settings.offline_only)
            return self._mcp

    def found_models(self) -> list[FoundModel]:
        """gpt-oss other apps downloaded (the Hugging Face cache, LM Studio, Ollama), usable or not. Reads
        headers: call it off the UI thread."""
        return self._find_models()

    # -------------------------------------------------------------------------------------- engine

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = self._engine_factory()
            return self._engine

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def machine(self, refresh: bool = False) -> Machine:
        """This machine's devices and memory (read once, then kept unless `refresh`)."""
        if refresh or self._machine is None:
            self._machine = self._read_machine()
        pinned = self.settings.gpu_device or ""
        # the pin is the user's, applied to whatever was read
        if self._machine is not None and self._machine.pinned_gpu != pinned:
            self._machine = replace(self._machine, pinned_gpu=pinned)
        return self._machine

    def install_backend_pack(self, name: str,
                             progress: Callable[[int, int | None], None] | None = None) -> Path:
        """Download this release's backend pack `name` (cuda12), check it, install it. A new engine process
        loads it (the app's next start). Raises ModelsError (download, network off) or PackError."""
        from app.engine.backend_packs import install_pack, packs_root, platform_key
        from app.models.pack_download import download_pack, pack_url

        archive = download_pack(pack_url(name, platform_key()), packs_root() / ".downloads", self.settings,
                                progress)
        try:
            folder = install_pack(archive)
        finally:
            archive.unlink(missing_ok=True)
        self._machine = None  # the next plan reads the machine again, with the new backend
        return folder

    def machine_if_read(self) -> Machine | None:
        """The machine as last read, without reading it (which runs a probe): None before the first read."""
        return None if self._machine is None else self.machine()

    def preview_plan(self, path: Path, n_ctx: int | None = None) -> Plan:
        """What loading `path` would do on this machine, without loading it."""
        return make_plan(read_profile(path), self.machine(), PlanRequest(n_ctx=n_ctx))

    def load_model(self, path: Path, *, n_ctx: int | None = None,
                   on_attempt: Callable[[Attempt], None] | None = None) -> LoadedModel:
        """Plan and load; on memory failures step down the ladder. Raises ModelFileError or LoadFailed."""
        profile = read_profile(path)
        self._leave_server()
        request = PlanRequest(n_ctx=n_ctx or self.settings.context_tokens)
        result: LadderResult = load_with_fallback(
            self.engine, profile, lambda: self.machine(refresh=True), request,
            RememberedPlans.in_folder(self.paths.data), on_attempt)
        loaded = LoadedModel(Path(profile.path), model_name(Path(profile.path), self.library),
                             result.info, result.plan, result.explanation, result.attempts)
        self._loaded = loaded
        self.settings.last_model = str(profile.path)
        self._save_settings_quietly()
        log.info("loaded %s: %s", loaded.path, loaded.explanation)
        return loaded

    # ------------------------------------------------------------------------------------ servers

    @property
    def servers(self) -> ServerList:
        """The servers in the settings, their keys in the keyring."""
        return ServerList(self.settings, self._secrets)

    def use_server(self, entry: ServerEntry) -> LoadedModel:
        """Run the model on `entry`'s server from now on: probe it, pick its model, say where it runs.

        Raises ServerRefused (offline mode, a bad address) or EngineFailure (unreachable, a wrong key, no
        such model); the engine in use before is kept then. Call it off the UI thread."""
        from app.engine.interface import EngineFailure
        from app.engine.remote import TIER_NOTES, ServerAddress, ServerFailure, connect

        url = require_allowed(self.settings, entry.url)
        address = ServerAddress(url, api_key=self.servers.api_key(entry), model=entry.model or None)
        try:
            remote = connect(address)
        except ServerFailure as exc:
            raise EngineFailure(exc.error) from exc
        try:
            info = remote.load(LoadPlan(entry.model)).result(timeout=120)
        except BaseException:
            remote.close()
            raise
        with self._lock:
            previous, self._engine = self._engine, remote
        if previous is not None:
            previous.close()  # the local worker's memory is free while the server runs the model
        tier = TIER_NOTES[remote.info.tier]
        context = (f"with the server's context of {info.n_ctx:,} tokens" if remote.context_reported else
                   f"with a context the server does not report (taken as {info.n_ctx:,} tokens; the server "
                   "may cut a longer conversation)")
        tier_name = "Raw Harmony tier" if remote.info.tier == "harmony" else "Chat tier"
        explanation = f"{info.model_path} {remote.where}, {context}. {tier_name}: {tier}"
        loaded = LoadedModel(Path(info.model_path), info.model_path, info, None, explanation,
                             server=ServerEntry(url, entry.model, remote.info.kind))
        self.servers.save(loaded.server)  # type: ignore[arg-type]  (remember what it was found to be)
        self._loaded = loaded
        self._save_settings_quietly()
        log.info("using the server %s (%s, %s tier) for %s", remote.client.address.shown,
                 remote.info.kind, remote.info.tier, info.model_path)
        return loaded

    def _leave_server(self) -> None:
        """Back to this computer: the server's engine is closed, the next use starts the local worker."""
        with self._lock:
            engine = self._engine
            if self._loaded is None or self._loaded.server is None:
                return
            self._engine, self._loaded = None, None
        if engine is not None:
            engine.close()

    def unload_model(self) -> None:
        if self._loaded is not None and self._loaded.server is not None:
            self._leave_server()
            return
        if self._engine is not None and self._loaded is not None:
            self._engine.unload().result(timeout=60)
        self._loaded = None

    def reload_with_context(self, n_ctx: int, *,
                            on_attempt: Callable[[Attempt], None] | None = None) -> LoadedModel:
        """Load the loaded model again with a context of `n_ctx` tokens (re-planned, through the ladder).

        If that fails, the model is loaded again as it was, so the user is not left without one, and
        LoadFailed says what happened. Raises ValueError when no model is loaded.
        """
        previous = self._loaded
        if previous is None:
            raise ValueError("No model is loaded: load one first, then raise its context.")
        try:
            return self.load_model(previous.path, n_ctx=n_ctx, on_attempt=on_attempt)
        except LoadFailed as exc:
            log.warning("reload with n_ctx %d failed (%s); loading the previous context again", n_ctx, exc)
            try:
                self.load_model(previous.path, n_ctx=previous.n_ctx)
            except (LoadFailed, ModelFileError) as again:
                self._loaded = None  # the engine holds nothing now: say so rather than pretend
                raise LoadFailed(f"{exc.message} Loading it again with its previous {previous.n_ctx:,}-token "
                                 f"context failed too: {again}", exc.attempts) from exc
            raise LoadFailed(f"{exc.message} The model is loaded again with its previous "
                             f"{previous.n_ctx:,}-token context.", exc.attempts) from exc

    def context_offer(self, n_ctx: int) -> RaiseOffer | None:
        """What loading the current model with `n_ctx` would take on this machine (None: no model).

        Planned against the machine as read before the current load: the reload frees the current
        model's memory first, so memory it holds now counts as available.
        """
        loaded = self._loaded
        if loaded is None or loaded.plan is None:  # a server's context is set on the server
            return None
        with self._lock:
            profile = self._profiles.get(loaded.path)
        if profile is None:  # the header holds the whole vocabulary: read it once per loaded model
            profile = read_profile(loaded.path)
            with self._lock:
                self._profiles = {loaded.path: profile}
        option = context_option(profile, self.machine(), n_ctx, current=loaded.plan)
        return offer_from_option(option, loaded.plan.gpu.total, loaded.plan.host.total)

    # ------------------------------------------------------------------------------- conversations

    def new_conversation(self) -> Conversation:
        model = self._loaded.name if self._loaded else None
        return self.store.create_conversation(model=model, reasoning_effort=self.settings.reasoning_effort)

    def tool_session(self, conversation: Conversation) -> ToolSession:
        """The conversation's tools; with documents in search mode, the browser over their index."""
        settings = ConversationSettings.of(conversation)
        selection = settings.tools
        index = self._search_index(conversation.id, self.store.list_attachments(conversation.id))
        if index is not None:
            # Derived from the attachments, not stored: the browser is on exactly while there is
            # something to browse.
            selection = replace(selection, browser=True)
        hub = self.mcp
        if selection.mcp:
            hub.start(sorted(selection.mcp))  # in the background: the first turn waits only for what is left
        return ToolSession(selection, documents=index, python_approval=self.settings.python_tool_approval,
                           always_allowed=list(settings.always_allowed), mcp=hub)

    def conversation_settings(self, conversation_id: int) -> ConversationSettings:
        return ConversationSettings.of(self.store.get_conversation(conversation_id))

    def change_settings(self, conversation_id: int, settings: ConversationSettings) -> Conversation:
        """Store a conversation's settings; returns the conversation as stored (for a new tool session)."""
        return self.store.update_conversation(conversation_id, settings=settings.stored())

    def set_effort(self, conversation_id: int | None, effort: str) -> ReasoningEffort:
        """The reasoning effort of a conversation, or for new ones (None) the default in the settings."""
        chosen = ReasoningEffort(effort)
        if conversation_id is None:
            self.settings.reasoning_effort = chosen
        else:
            self.store.update_conversation(conversation_id, reasoning_effort=chosen)
        return chosen

    def effort(self, conversation_id: int | None) -> ReasoningEffort:
        if conversation_id is None:
            return self.settings.reasoning_effort
        return self.store.get_conversation(conversation_id).reasoning_effort

    def open_session(self, conversation_id: int, listener: ChatListener,
                     options: SessionOptions | None = None) -> ChatSession:
        conversation = self.store.get_conversation(conversation_id)
        return ChatSession(store=self.store, engine=self.engine, conversation_id=conversation_id,
                           listener=listener, tools=self.tool_session(conversation), options=options)

    def delete_conversation(self, conversation_id: int) -> None:
        """Delete the conversation from the store and its search index from the disk."""
        self.store.delete_conversation(conversation_id)
        with self._lock:
            index = self._indexes.pop(conversation_id, None)
        if index is not None:
            index.close()
        try:
            chat_attachments.delete_index_files(self.document_index_path(conversation_id))
        except OSError as exc:  # derived data: a leftover file is rebuilt or ignored, never read as truth
            log.warning("search index of conversation %s not deleted: %s", conversation_id, exc)

    # ------------------------------------------------------------------------------ documents

    def document_index_path(self, conversation_id: int) -> Path:
        return chat_attachments.index_path(self.paths.data, conversation_id)

    def document_index(self, conversation_id: int) -> DocumentIndex:
        """The conversation's search index, opened once and kept while the workspace lives."""
        with self._lock:
            index = self._indexes.get(conversation_id)
            if index is None:
                index = DocumentIndex(self.document_index_path(conversation_id))
                self._indexes[conversation_id] = index
            return index

    def add_search_documents(self, session: ChatSession, documents: Sequence[ExtractedDocument]) -> None:
        """Index documents about to be sent in search mode, and turn the session's browser on for them.

        Blocking (chunking and indexing take about 0.4 s per 5 MB of text): call it off the UI thread,
        before `session.send`, so the turn's prompt already declares the browser.
        """
        index = self.document_index(session.conversation_id)
        for document in documents:
            index.add(document)
        tools = session.tools
        if tools.browser is None or tools.browser.index is not index:
            tools.set_documents(index)
        tools.selection = replace(tools.selection, browser=True)

    def _search_index(self, conversation_id: int, attachments: Sequence[Attachment]) -> DocumentIndex | None:
        """The index holding the conversation's search-mode documents, or None when it has none."""
        if not chat_attachments.search_attachments(attachments):
            return None
        index = self.document_index(conversation_id)
        chat_attachments.sync_index(index, attachments)
        return index

    # ------------------------------------------------------------------------------------ shutdown

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
            downloads, self._downloads = self._downloads, None
            mcp, self._mcp = self._mcp, None
        if mcp is not None:
            mcp.close()  # every stdio server's process ends here
        with self._lock:
            indexes, self._indexes = list(self._indexes.values()), {}
        for index in indexes:
            index.close()
        if downloads is not None:
            downloads.shutdown()  # running downloads pause and resume at the next start
        if engine is not None:
            engine.close()
        self.store.close()

    def _save_settings_quietly(self) -> None:
        try:
            self.save_settings()
        except (OSError, ValueError) as exc:  # a read-only config folder must not fail a load
            log.warning("settings not saved: %s", exc)


def model_name(path: Path, library: Library) -> str:
    """The library's name for the file, or its file name (shown: its bidirectional controls visible)."""
    for model in library.list():
        if model.path == path:
            return model.name
    return shown_name(path.name)
