"""Shared set-up for the models room: a local Hub serving generated gpt-oss GGUFs, and a private keyring.

No test here touches the real keyring (keyring's "no backend" is installed for every test, and
subprocesses get it through PYTHON_KEYRING_BACKEND) or the real Hub (HF_ENDPOINT points at the local
server; the offline tests prove nothing else is reached).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from app.models import DownloadManager, DownloadProgress, DownloadState, HubAccess, TokenStore
from app.paths import app_paths
from app.settings import Settings
from fixtures.hub_server import HubServer
from fixtures.tiny_models import tiny_gpt_oss_model
from tests.models.tiny_split import tiny_gpt_oss_split

GOOD_TOKEN = "hf_goodtokenforgatedrepo123"
OTHER_TOKEN = "hf_validbutnotgrantedaccess9"
REPO_20B = "ggml-org/gpt-oss-20b-GGUF"
FILE_20B = "gpt-oss-20b-mxfp4.gguf"
REPO_120B = "ggml-org/gpt-oss-120b-GGUF"
FILES_120B = [f"gpt-oss-120b-mxfp4-{i:05d}-of-00003.gguf" for i in (1, 2, 3)]


@pytest.fixture(autouse=True)
def private_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    with HubServer(valid_tokens=[GOOD_TOKEN, OTHER_TOKEN]) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        yield server


def publish_catalog_models(hub: HubServer) -> HubServer:
    """The catalog's two ggml-org repositories, holding the tiny model (the 120b one split in three)."""
    hub.add_repo(REPO_20B, {FILE_20B: tiny_gpt_oss_model()}, git_files={"README.md": b"# gpt-oss-20b\n"},
                 downloads=500)
    parts = tiny_gpt_oss_split()
    hub.add_repo(REPO_120B, dict(zip(FILES_120B, parts, strict=True)), downloads=300)
    return hub


@pytest.fixture
def published(hub: HubServer) -> HubServer:
    return publish_catalog_models(hub)


@pytest.fixture
def models_dir(ossian_home: Path) -> Path:
    return app_paths().models


@pytest.fixture
def make_manager(models_dir: Path) -> Iterator[Callable[..., DownloadManager]]:
    made: list[DownloadManager] = []

    def make(settings: Settings | None = None, tokens: TokenStore | None = None, **options: object
             ) -> DownloadManager:
        chosen = settings or Settings()
        options = {"retry_wait": 0.01, "progress_interval": 0.0, **options}
        access = HubAccess(settings=lambda: chosen, tokens=tokens or TokenStore())
        manager = DownloadManager(models_dir, access, **options)  # type: ignore[arg-type]
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.shutdown(timeout=5)


class Recorder:
    """Collects download events (from the download thread) for assertions."""

    def __init__(self) -> None:
        self.events: list[DownloadProgress] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def __call__(self, progress: DownloadProgress) -> None:
        with self._changed:
            self.events.append(progress)
            self._changed.notify_all()

    def states(self) -> list[DownloadState]:
        with self._lock:
            states = [e.state for e in self.events]
        return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]

    def wait_for(self, predicate: Callable[[DownloadProgress], bool],
                 timeout: float = 10.0) -> DownloadProgress:
        def first_match() -> DownloadProgress | None:
            return next((e for e in self.events if predicate(e)), None)

        with self._changed:
            found = self._changed.wait_for(first_match, timeout)
        if found is None:
            raise AssertionError(f"no event matched within {timeout} s; got {self.events[-3:]}")
        return found


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
