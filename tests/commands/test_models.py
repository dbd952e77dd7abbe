"""`ossian models ...` as a user runs it: real subprocesses, a real models folder, the local Hub."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.models import DownloadManager, DownloadProgress, InstalledModel, Library
from app.paths import app_paths
from fixtures.hub_server import HubServer
from fixtures.tiny_models import tiny_gpt_oss_model, tiny_llama_model
from tests.models.conftest import FILE_20B, GOOD_TOKEN, REPO_20B, publish_catalog_models
from tests.models.keyring_backend import ENV as KEYRING_FILE_ENV

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_real_keyring_or_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    with HubServer(valid_tokens=[GOOD_TOKEN]) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        yield server


@pytest.fixture
def published(hub: HubServer) -> HubServer:
    return publish_catalog_models(hub)


def ossian(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO_ROOT, input=stdin,
                          capture_output=True, text=True, timeout=120, env=env)


def models_json() -> dict:
    done = ossian("models", "list", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def installed() -> list[InstalledModel]:
    """What the library holds now, read in this process (quicker than another `models list`)."""
    return Library(app_paths().models).list()


def unfinished() -> list[DownloadProgress]:
    return [d.progress() for d in DownloadManager(app_paths().models).downloads()]


def test_list_on_a_fresh_install_suggests_a_model() -> None:
    done = ossian("models", "list")
    assert done.returncode == 0, done.stderr
    assert "none yet" in done.stdout and "suggested for this machine" in done.stdout
    listed = models_json()
    assert listed["installed"] == [] and listed["unfinished_downloads"] == []
    assert {e["id"] for e in listed["catalog"]} >= {"gpt-oss-20b", "gpt-oss-120b"}
    assert all(e["fit"]["level"] in ("recommended", "fits", "slow", "too_big") for e in listed["catalog"])


def test_download_shows_progress_then_list_and_remove(published: HubServer, ossian_home: Path) -> None:
    done = ossian("models", "download", "gpt-oss-20b")

    assert done.returncode == 0, done.stderr
    assert "installed and verified" in done.stdout
    assert "Downloading gpt-oss-20b-mxfp4.gguf" in done.stderr and "(100%)" in done.stderr
    [model] = models_json()["installed"]
    assert model["verified"] and model["catalog_id"] == "gpt-oss-20b" and model["quantization"] == "MXFP4"
    assert Path(model["path"]).read_bytes() == tiny_gpt_oss_model().read_bytes()

    removed = ossian("models", "remove", "gpt-oss-20b")
    assert removed.returncode == 0 and "deleted" in removed.stdout
    assert installed() == [] and not Path(model["path"]).exists()


def test_a_download_killed_half_way_resumes_with_the_same_command(published: HubServer,
                                                                   ossian_home: Path) -> None:
    hold = published.hold_after(REPO_20B, FILE_20B, 110_000)
    partial = ossian_home / "models" / "ggml-org--gpt-oss-20b-GGUF" / f"{FILE_20B}.partial"
    child = subprocess.Popen([sys.executable, "-m", "app", "models", "download", "gpt-oss-20b"],
                             cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert hold.reached.wait(60)
        deadline = time.monotonic() + 30
        while not (partial.is_file() and partial.stat().st_size == 110_000) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        child.kill()
        child.wait(10)
    hold.release()

    [interrupted] = models_json()["unfinished_downloads"]
    assert (interrupted["id"], interrupted["state"], interrupted["bytes_done"]) == ("gpt-oss-20b", "paused",
                                                                                 110_000)
    assert "Interrupted at 107 KiB" in interrupted["message"]

    resumed = ossian("models", "download", "gpt-oss-20b")

    assert resumed.returncode == 0, resumed.stderr
    assert "downloaded before" in resumed.stderr  # the bytes on disk were hashed again, not fetched
    assert published.file_gets(FILE_20B)[-1].range == "bytes=110000-"
    assert unfinished() == [] and [m.catalog_id for m in installed()] == ["gpt-oss-20b"]


def test_ctrl_c_pauses_and_says_how_to_resume(published: HubServer, ossian_home: Path) -> None:
    hold = published.hold_after(REPO_20B, FILE_20B, 70_000)
    # SIGINT as a terminal delivers it: a test run started in the background (`cmd &` in a script) has
    # it ignored, and a child would inherit that and never see Ctrl+C
    child = subprocess.Popen([sys.executable, "-m", "app", "models", "download", "gpt-oss-20b"],
                             cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert hold.reached.wait(60)
        child.send_signal(signal.SIGINT)
        time.sleep(0.2)  # let the command ask for the pause before the next bytes arrive
        hold.release()
        _out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 130
    assert "paused" in err and "Run the same command again to resume" in err
    [paused] = unfinished()
    partial = ossian_home / "models" / "ggml-org--gpt-oss-20b-GGUF" / f"{FILE_20B}.partial"
    assert paused.state == "paused" and 0 < paused.bytes_done == partial.stat().st_size < paused.bytes_total


def test_remove_cancels_an_unfinished_download(published: HubServer, ossian_home: Path) -> None:
    published.corrupt(REPO_20B, FILE_20B)
    failed = ossian("models", "download", "gpt-oss-20b")
    assert failed.returncode == 1 and "did not match the Hub's SHA-256" in failed.stderr
    assert [p.state for p in unfinished()] == ["failed"]

    cancelled = ossian("models", "remove", "gpt-oss-20b")

    assert cancelled.returncode == 0 and "Cancelled" in cancelled.stdout
    assert unfinished() == []


def test_never_use_the_network_makes_download_and_search_refuse(published: HubServer,
                                                                ossian_home: Path) -> None:
    (ossian_home / "config").mkdir()
    (ossian_home / "config" / "settings.json").write_text(json.dumps({"offline_only": True}))

    for args in (("models", "download", "gpt-oss-20b"), ("models", "search", "gpt-oss")):
        done = ossian(*args)
        assert done.returncode == 1
        assert "never use the network" in done.stderr and "Settings" in done.stderr
    assert published.requests == []


def test_search_lists_gguf_repositories(published: HubServer) -> None:
    done = ossian("models", "search", "gpt-oss")
    assert done.returncode == 0, done.stderr
    assert done.stdout.index(REPO_20B) < done.stdout.index("ggml-org/gpt-oss-120b-GGUF")
    results = json.loads(ossian("models", "search", "gpt-oss", "--json").stdout)
    assert [r["repo"] for r in results] == [REPO_20B, "ggml-org/gpt-oss-120b-GGUF"]


def test_download_from_any_repository_with_a_file_pattern(hub: HubServer) -> None:
    hub.add_repo("acme/gpt-oss-20b-GGUF", {"gpt-oss-20b-Q4_K_M.gguf": tiny_gpt_oss_model(),
                                           "gpt-oss-20b-Q8_0.gguf": tiny_gpt_oss_model()})
    ambiguous = ossian("models", "download", "acme/gpt-oss-20b-GGUF")
    assert ambiguous.returncode == 1 and "choose one" in ambiguous.stderr and "Q8_0" in ambiguous.stderr

    done = ossian("models", "download", "acme/gpt-oss-20b-GGUF", "--file", "*Q8_0*")
    assert done.returncode == 0, done.stderr
    assert [m.quantization for m in installed()] == ["Q8_0"]


def test_import_checks_the_file_and_keeps_it_where_it_is(tmp_path: Path) -> None:
    model = Path(shutil.copy(tiny_gpt_oss_model(), tmp_path / "gpt-oss-20b-mxfp4.gguf"))
    done = ossian("models", "import", str(model))
    assert done.returncode == 0, done.stderr
    assert "Imported gpt-oss-20b-mxfp4" in done.stdout and "Not verified" in done.stdout
    [listed] = installed()
    assert listed.path == model and listed.source == "import" and not listed.verified

    llama = Path(shutil.copy(tiny_llama_model(), tmp_path / "llama.gguf"))
    refused = ossian("models", "import", str(llama))
    assert refused.returncode == 1 and "is a llama model" in refused.stderr

    assert ossian("models", "remove", listed.id).returncode == 0
    assert model.is_file()  # a file outside the models folder is never deleted


def test_a_gated_download_gives_the_token_hint_and_works_after_login(hub: HubServer, ossian_home: Path,
                                                                     tmp_path: Path) -> None:
    hub.add_repo("acme/gated-gpt-oss", {"gpt-oss-20b-mxfp4.gguf": tiny_gpt_oss_model()}, gated=True,
                 allowed_tokens=[GOOD_TOKEN])
    keyring_env = {**os.environ, "PYTHON_KEYRING_BACKEND": "tests.models.keyring_backend.FileKeyring",
                   KEYRING_FILE_ENV: str(tmp_path / "keyring.json")}

    refused = ossian("models", "download", "acme/gated-gpt-oss", env=keyring_env)
    assert refused.returncode == 1
    assert "gated repository" in refused.stderr and "ossian models login" in refused.stderr

    login = ossian("models", "login", stdin=GOOD_TOKEN + "\n", env=keyring_env)
    assert login.returncode == 0 and "saved in the system keyring" in login.stdout
    done = ossian("models", "download", "acme/gated-gpt-oss", env=keyring_env)
    assert done.returncode == 0, done.stderr

    stored_anywhere_in_the_app_home = [p for p in ossian_home.rglob("*") if p.is_file()
                                       and GOOD_TOKEN.encode() in p.read_bytes()]
    assert stored_anywhere_in_the_app_home == []
    assert GOOD_TOKEN in (tmp_path / "keyring.json").read_text()
    assert ossian("models", "logout", env=keyring_env).returncode == 0
    assert GOOD_TOKEN not in (tmp_path / "keyring.json").read_text()


def test_login_without_a_keyring_says_the_token_was_not_saved() -> None:
    done = ossian("models", "login", stdin="hf_sometoken12345\n")
    assert done.returncode == 0
    assert "not saved" in done.stdout and "HF_TOKEN" in done.stdout


@pytest.mark.parametrize("args", [("models",), ("models", "download")])
def test_missing_arguments_are_usage_errors(args: tuple[str, ...]) -> None:
    done = ossian(*args)
    assert done.returncode == 2 and "usage:" in done.stderr


def test_an_unknown_model_name_lists_the_catalog() -> None:
    done = ossian("models", "download", "gpt-oss-7b")
    assert done.returncode == 1 and "gpt-oss-120b" in done.stderr and "owner/name" in done.stderr
