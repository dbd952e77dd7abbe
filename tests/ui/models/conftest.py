"""The model screens on real parts: a Workspace in the private OSSIAN_HOME, the local fake Hub serving the
catalog's repositories (holding the tiny generated gpt-oss GGUF), real huggingface_hub, real files.

The machine is described, not detected (`Workspace(read_machine=...)`), so the advice a test checks does
not depend on the computer running it. No test here touches the real keyring or the real Hub.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import keyring
import keyring.backends.fail
import pytest

from app.chat.workspace import Workspace
from app.models import DownloadProgress, DownloadState
from app.planner import Machine, describe_machine
from app.ui.theme import Theme, theme_for
from fixtures.hub_server import HubServer
from tests.models.conftest import GOOD_TOKEN, OTHER_TOKEN, publish_catalog_models

GIB = 2**30
RTX_4090 = describe_machine(gpu_total=24 * GIB, gpu_free=int(23.5 * GIB), ram=64 * GIB,
                            gpu_name="NVIDIA GeForce RTX 4090")
LAPTOP_16GB = describe_machine(ram=16 * GIB)
H100 = describe_machine(gpu_total=80 * GIB, ram=128 * GIB, gpu_name="NVIDIA H100")
WAIT_MS = 20_000


def snapshot(state: DownloadState, **fields) -> DownloadProgress:
    """A progress snapshot of the gpt-oss-20b download, as the manager would send one."""
    values = dict(id="gpt-oss-20b", name="gpt-oss-20b", state=state, bytes_done=0, bytes_total=0, speed=0.0,
                  eta_seconds=None, file_index=0, file_count=0, file_name=None, checked_bytes=0,
                  check_total=0, message="", sequence=1)
    values.update(fields)
    return DownloadProgress(**values)


@pytest.fixture(autouse=True)
def private_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """keyring's "no backend" for every test, and no Hub settings leaking in from the environment."""
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    with HubServer(valid_tokens=[GOOD_TOKEN, OTHER_TOKEN]) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        yield server


@pytest.fixture
def published(hub: HubServer) -> HubServer:
    return publish_catalog_models(hub)


@pytest.fixture
def make_workspace() -> Iterator[Callable[..., Workspace]]:
    made: list[Workspace] = []

    def make(machine: Machine = RTX_4090) -> Workspace:
        workspace = Workspace(read_machine=lambda: machine)
        # Every block is reported (the app reports every 0.25 s): a download held mid-file by the fake
        # Hub then shows the bytes that arrived before the hold, and retries do not wait.
        workspace.downloads.progress_interval = 0.0
        workspace.downloads.retry_wait = 0.01
        made.append(workspace)
        return workspace

    yield make
    for workspace in made:
        workspace.close()


@pytest.fixture
def workspace(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace()


@pytest.fixture
def theme(qapp) -> Theme:
    return theme_for("light")
