"""Offline by default: nothing at start-up touches the network; only downloads and searches the user starts.

The app's real entry points run as subprocesses under the network guard (fixtures/network_guard.py),
which logs and refuses any socket use outside loopback, the app's own child processes included. HF_ENDPOINT
is unset here, so anything that tried to reach the Hub would aim at huggingface.co and be caught.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from app.models import DownloadRequest, DownloadState, Library, load_catalog
from app.paths import app_paths
from app.settings import load_settings
from fixtures.hub_server import HubServer
from fixtures.network_guard import guard_in_process, guarded_environment, network_attempts
from tests.models.conftest import FILES_120B, REPO_120B

REPO_ROOT = Path(__file__).resolve().parents[2]

STARTUP_SNIPPET = """
from app.models import DownloadManager, HubAccess, Library, TokenStore, load_catalog
from app.paths import app_paths
from app.settings import load_settings
paths = app_paths()
settings = load_settings(paths.settings_file)
catalog = load_catalog()
library = Library(app_paths(settings.models_dir).models).list()
downloads = [d.progress() for d in DownloadManager(paths.models, HubAccess(tokens=TokenStore())).downloads()]
policy = HubAccess().policy()
print(len(catalog.entries), len(library), [(p.state.value, p.bytes_done) for p in downloads], policy.endpoint)
"""


def run_guarded(args: list[str], log: Path) -> subprocess.CompletedProcess[str]:
    env = guarded_environment(log)
    env.pop("HF_ENDPOINT", None)
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_start_up_entry_points_make_no_network_request(published: HubServer, make_manager,
                                                       tmp_path: Path) -> None:
    # Something to list at start-up: one installed model and one download interrupted half-way.
    manager = make_manager()
    installed = manager.start(DownloadRequest.from_catalog(load_catalog().get("gpt-oss-20b")))
    assert installed.wait(30).state == DownloadState.DONE
    hold = published.hold_after(REPO_120B, FILES_120B[0], 50_000)
    interrupted = manager.start(DownloadRequest.from_catalog(load_catalog().get("gpt-oss-120b")))
    assert hold.reached.wait(10)
    manager.shutdown()
    hold.release()
    assert interrupted.wait(10).state == DownloadState.PAUSED
    deadline = time.monotonic() + 10
    while not published.file_gets(FILES_120B[0]) and time.monotonic() < deadline:
        time.sleep(0.02)  # the held request is recorded when the server finishes it
    requests_before = len(published.requests)
    log = tmp_path / "network.log"

    runs = {
        "settings, catalog, library, downloads": run_guarded(["-c", STARTUP_SNIPPET], log),
        "ossian doctor": run_guarded(["-m", "app", "doctor"], log),
        "ossian models list --json": run_guarded(["-m", "app", "models", "list", "--json"], log),
    }

    for name, done in runs.items():
        assert done.returncode == 0, f"{name}: {done.stderr}"
    assert network_attempts(log) == []
    assert len(published.requests) == requests_before
    listed = json.loads(runs["ossian models list --json"].stdout)
    assert [m["catalog_id"] for m in listed["installed"]] == ["gpt-oss-20b"]
    assert [(d["id"], d["state"]) for d in listed["unfinished_downloads"]] == [("gpt-oss-120b", "paused")]
    assert "https://huggingface.co" in runs["settings, catalog, library, downloads"].stdout


def test_the_guard_fails_on_a_connection_outside_loopback_and_allows_loopback(tmp_path: Path) -> None:
    log = tmp_path / "network.log"
    with socket.create_server(("127.0.0.1", 0)) as local:
        port = local.getsockname()[1]
        code = (
            "import socket\n"
            f"socket.create_connection(('127.0.0.1', {port}), timeout=5).close()\n"
            "for target in (('192.0.2.1', 9), ('huggingface.co', 443)):\n"
            "    try:\n"
            "        socket.create_connection(target, timeout=1)\n"
            "    except OSError as error:\n"
            "        print('refused', error)\n"
            "raw = socket.socket()\n"
            "try:\n"
            "    raw.connect(('192.0.2.7', 443))\n"
            "except OSError as error:\n"
            "    print('refused', error)\n")
        done = run_guarded(["-c", code], log)

    assert done.returncode == 0, done.stderr
    attempts = [(attempt["event"], attempt["target"]) for attempt in network_attempts(log)]
    assert attempts == [("socket.getaddrinfo", "192.0.2.1"), ("socket.getaddrinfo", "huggingface.co"),
                        ("socket.connect", "192.0.2.7:443")]
    assert done.stdout.count("blocked by the test guard") == 3


def test_the_guard_catches_a_hub_request_the_user_did_not_point_at_a_local_server(tmp_path: Path) -> None:
    # A search the user starts is allowed to use the network; with no HF_ENDPOINT it aims at huggingface.co,
    # which is exactly what the start-up test would catch if any start-up path did it.
    log = tmp_path / "network.log"
    done = run_guarded(["-m", "app", "models", "search", "gpt-oss"], log)
    assert done.returncode == 1 and "Could not reach https://huggingface.co" in done.stderr
    assert any(attempt["target"] == "huggingface.co" for attempt in network_attempts(log))


def test_in_process_listing_uses_no_network(published: HubServer, tmp_path: Path,
                                            monkeypatch) -> None:
    monkeypatch.delenv("HF_ENDPOINT")
    log = tmp_path / "network.log"
    with guard_in_process(log):
        load_settings(app_paths().settings_file)
        load_catalog()
        Library(app_paths().models).list()
        try:
            socket.create_connection(("192.0.2.1", 9), timeout=1)
        except OSError:
            pass
    assert [a["target"] for a in network_attempts(log)] == ["192.0.2.1"]
    assert os.environ.get("HF_ENDPOINT") is None
