"""`Workspace`: the app's running state, shared by the window and the commands.

It opens the settings, the conversation store and the model library, owns the one engine, and knows
how to turn "load this file" into a plan for this machine and a load that steps down the planner's
fallback ladder when memory runs out. Its methods block; the window calls them off the UI thread.
Nothing here reaches the network: downloads and Hub searches live in `app.models`, started only by the
user.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.chat.events import ChatListener
from app.chat.session import ChatSession, SessionOptions
from app.engine.interface import Engine, ModelInfo
from app.models import DownloadManager, HubAccess, Library
from app.paths import AppPaths, app_paths
from app.planner import (
    Attempt,
    LadderResult,
    Machine,
    Plan,
    PlanRequest,
    RememberedPlans,
    detect_machine,
    load_with_fallback,
    make_plan,
    read_profile,
)
from app.settings import Settings, load_settings, save_settings
from app.store import Conversation, Store, open_store
from app.tools import ToolSelection, ToolSession

log = logging.getLogger(__name__)

TOOLS_KEY = "tools"  # conversation settings: the ToolSelection record
ALWAYS_ALLOWED_KEY = "always_allowed"  # conversation settings: tools the user allowed for this chat


@dataclass(frozen=True)
class LoadedModel:
    """A model in the engine, with the plan that put it there and the sentence that explains it."""

    path: Path
    name: str
    info: ModelInfo
    plan: Plan
    explanation: str
    attempts: tuple[Attempt, ...] = ()

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
                 read_machine: Callable[[], Machine] = detect_machine) -> None:
        base = paths or app_paths()
        self.settings: Settings = load_settings(base.settings_file)
        self.paths = (paths or app_paths(self.settings.models_dir)).ensure()
        self.store: Store = open_store(self.paths.database_file)
        self.library = Library(self.paths.models)
        self._engine_factory = engine_factory
        self._read_machine = read_machine
        self._engine: Engine | None = None
        self._downloads: DownloadManager | None = None
        self._machine: Machine | None = None
        self._loaded: LoadedModel | None = None
        self._lock = threading.Lock()

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
        return self._machine

    def preview_plan(self, path: Path, n_ctx: int | None = None) -> Plan:
        """What loading `path` would do on this machine, without loading it."""
        return make_plan(read_profile(path), self.machine(), PlanRequest(n_ctx=n_ctx))

    def load_model(self, path: Path, *, n_ctx: int | None = None,
                   on_attempt: Callable[[Attempt], None] | None = None) -> LoadedModel:
        """Plan and load; on memory failures step down the ladder. Raises ModelFileError or LoadFailed."""
        profile = read_profile(path)
        request = PlanRequest(n_ctx=n_ctx or self.settings.context_tokens)
        result: LadderResult = load_with_fallback(
            self.engine, profile, lambda: self.machine(refresh=True), request,
            RememberedPlans(self.paths.data / "remembered-plans.json"), on_attempt)
        loaded = LoadedModel(Path(profile.path), model_name(Path(profile.path), self.library),
                             result.info, result.plan, result.explanation, result.attempts)
        self._loaded = loaded
        self.settings.last_model = str(profile.path)
        self._save_settings_quietly()
        log.info("loaded %s: %s", loaded.path, loaded.explanation)
        return loaded

    def unload_model(self) -> None:
        if self._engine is not None and self._loaded is not None:
            self._engine.unload().result(timeout=60)
        self._loaded = None

    # ------------------------------------------------------------------------------- conversations

    def new_conversation(self) -> Conversation:
        model = self._loaded.name if self._loaded else None
        return self.store.create_conversation(model=model, reasoning_effort=self.settings.reasoning_effort)

    def tool_session(self, conversation: Conversation) -> ToolSession:
        try:
            selection = ToolSelection.from_record(conversation.settings.get(TOOLS_KEY, {}))
        except ValueError as exc:
            log.warning("conversation %s: unreadable tool selection (%s); tools off", conversation.id, exc)
            selection = ToolSelection()
        return ToolSession(selection, python_approval=self.settings.python_tool_approval,
                           always_allowed=conversation.settings.get(ALWAYS_ALLOWED_KEY, ()))

    def open_session(self, conversation_id: int, listener: ChatListener,
                     options: SessionOptions | None = None) -> ChatSession:
        conversation = self.store.get_conversation(conversation_id)
        return ChatSession(store=self.store, engine=self.engine, conversation_id=conversation_id,
                           listener=listener, tools=self.tool_session(conversation), options=options)

    # ------------------------------------------------------------------------------------ shutdown

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
            downloads, self._downloads = self._downloads, None
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
    """The library's name for the file, or its file name."""
    for model in library.list():
        if model.path == path:
            return model.name
    return path.name
