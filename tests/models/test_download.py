"""Downloads through real huggingface_hub against the local Hub, serving generated gpt-oss GGUFs."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.gguf import read_profile
from app.models import (
    DownloadRequest,
    DownloadState,
    FileSelectionError,
    HubAccessDenied,
    HubUnreachable,
    IntegrityError,
    Library,
    NetworkDisabled,
    NotEnoughDisk,
    NotUsable,
    TokenStore,
    load_catalog,
)
from app.models import download as download_module
from app.settings import Settings
from fixtures.hub_server import HubServer
from fixtures.tiny_models import tiny_gpt_oss_model, tiny_llama_model
from tests.gguf.test_hostile_headers import patched
from tests.models.conftest import (
    FILE_20B,
    FILES_120B,
    GOOD_TOKEN,
    OTHER_TOKEN,
    REPO_20B,
    REPO_120B,
    Recorder,
    publish_catalog_models,
)

CATALOG = load_catalog()
REQUEST_20B = DownloadRequest.from_catalog(CATALOG.get("gpt-oss-20b"))
REQUEST_120B = DownloadRequest.from_catalog(CATALOG.get("gpt-oss-120b"))


def wait_until(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def leftovers(models_dir: Path) -> list[str]:
    """Everything in the models folder that is not a finished model file or the library index."""
    return sorted(p.relative_to(models_dir).as_posix() for p in models_dir.rglob("*")
                  if p.is_file() and not p.name.endswith(".gguf") and p.name != "library.json")


def test_full_download_is_verified_installed_and_reported(published: HubServer, make_manager,
                                                          recorder: Recorder, models_dir: Path) -> None:
    manager = make_manager()
    manager.add_listener(recorder)
    final = manager.start(REQUEST_20B).wait(30)

    assert final.state == DownloadState.DONE, final.message
    expected = tiny_gpt_oss_model().read_bytes()
    model = final.model
    assert model is not None and model.verified and model.source == "hub"
    assert model.path == models_dir / "ggml-org--gpt-oss-20b-GGUF" / FILE_20B
    assert model.path.read_bytes() == expected
    assert model.sha256 == (hashlib.sha256(expected).hexdigest(),)
    assert model.catalog_id == "gpt-oss-20b" and model.quantization == "MXFP4"
    assert [m.id for m in manager.library.list()] == [model.id]
    assert leftovers(models_dir) == []  # no .partial, no download record, no lock
    states = recorder.states()
    assert states[-3:] == [DownloadState.DOWNLOADING, DownloadState.VERIFYING, DownloadState.DONE]
    assert states[:-3] in ([], [DownloadState.QUEUED])  # "queued" may be overtaken at once
    sequences = [e.sequence for e in recorder.events]
    assert sequences == sorted(set(sequences)), "events arrive in order, each once"
    assert all(e.bytes_total in (0, len(expected)) for e in recorder.events)
    done_bytes = [e.bytes_done for e in recorder.events]
    assert done_bytes == sorted(done_bytes) and done_bytes[-1] == len(expected)


def test_the_token_goes_to_the_hub_but_never_to_the_cdn(hub: HubServer, make_manager) -> None:
    hub.add_repo("acme/gated-gpt-oss", {"gpt-oss-20b-mxfp4.gguf": tiny_gpt_oss_model()}, gated=True,
                 allowed_tokens=[GOOD_TOKEN])
    tokens = TokenStore()
    tokens.set(GOOD_TOKEN)
    final = make_manager(tokens=tokens).start(DownloadRequest("acme/gated-gpt-oss")).wait(30)

    assert final.state == DownloadState.DONE, final.message
    hub_requests = [r for r in hub.requests if r.server == "hub"]
    cdn_requests = [r for r in hub.requests if r.server == "cdn"]
    assert hub_requests and all(r.authorization == f"Bearer {GOOD_TOKEN}" for r in hub_requests)
    assert cdn_requests and all(r.authorization is None for r in cdn_requests)


def test_a_dropped_connection_resumes_without_fetching_bytes_again(published: HubServer,
                                                                   make_manager) -> None:
    size = tiny_gpt_oss_model().stat().st_size
    published.drop_after(REPO_20B, FILE_20B, 100_000)

    final = make_manager().start(REQUEST_20B).wait(30)

    assert final.state == DownloadState.DONE, final.message
    gets = published.file_gets(FILE_20B)
    assert [g.range for g in gets] == [None, "bytes=100000-"]
    assert [g.sent for g in gets] == [100_000, size - 100_000]
    assert published.bytes_sent(FILE_20B) == size


def test_a_server_that_ignores_ranges_gets_the_file_again_from_the_start(
        make_manager, monkeypatch: pytest.MonkeyPatch) -> None:
    with HubServer(ranges=False) as proxy:
        monkeypatch.setenv("HF_ENDPOINT", proxy.endpoint)
        publish_catalog_models(proxy)
        size = tiny_gpt_oss_model().stat().st_size
        proxy.drop_after(REPO_20B, FILE_20B, 100_000)

        final = make_manager().start(REQUEST_20B).wait(30)

        assert final.state == DownloadState.DONE, final.message
        assert final.model is not None and final.model.path.read_bytes() == tiny_gpt_oss_model().read_bytes()
        gets = proxy.file_gets(FILE_20B)
        assert [g.range for g in gets] == [None, "bytes=100000-"] and [g.status for g in gets] == [200, 200]
        assert proxy.bytes_sent(FILE_20B) == 100_000 + size


def test_a_wrong_hash_deletes_the_file_and_says_so(published: HubServer, make_manager,
                                                   models_dir: Path) -> None:
    published.corrupt(REPO_20B, FILE_20B)

    final = make_manager().start(REQUEST_20B).wait(30)

    assert final.state == DownloadState.FAILED
    assert isinstance(final.error, IntegrityError)
    assert "did not match the Hub's SHA-256" in final.message and "deleted" in final.message
    assert final.error.expected == hashlib.sha256(tiny_gpt_oss_model().read_bytes()).hexdigest()
    assert not list(models_dir.rglob("*.gguf*"))  # neither a .partial nor anything looking complete
    assert final.resumable


def test_a_file_kept_in_git_is_checked_against_its_blob_id(hub: HubServer, make_manager) -> None:
    hub.add_repo("acme/small-in-git", {}, git_files={"model.gguf": tiny_gpt_oss_model().read_bytes()})
    final = make_manager().start(DownloadRequest("acme/small-in-git")).wait(30)
    assert final.state == DownloadState.DONE, final.message
    assert final.model is not None and final.model.verified

    hub.add_repo("acme/damaged-in-git", {}, git_files={"model.gguf": tiny_gpt_oss_model().read_bytes()})
    hub.corrupt("acme/damaged-in-git", "model.gguf")
    failed = make_manager().start(DownloadRequest("acme/damaged-in-git")).wait(30)
    assert isinstance(failed.error, IntegrityError) and "git SHA-1" in failed.message


def test_a_gated_repository_answers_401_and_the_message_says_how_to_get_a_token(
        hub: HubServer, make_manager) -> None:
    hub.add_repo("acme/gated-gpt-oss", {"gpt-oss-20b-mxfp4.gguf": tiny_gpt_oss_model()}, gated=True,
                 allowed_tokens=[GOOD_TOKEN])
    tokens = TokenStore()
    manager = make_manager(tokens=tokens)

    failed = manager.start(DownloadRequest("acme/gated-gpt-oss")).wait(30)

    assert failed.state == DownloadState.FAILED
    assert isinstance(failed.error, HubAccessDenied) and failed.error.gated
    assert "gated repository" in failed.message and "ossian models login" in failed.message
    assert f"{hub.endpoint}/acme/gated-gpt-oss" in failed.message
    assert [r.status for r in hub.requests if "/resolve/" in r.path] == [401]

    tokens.set(OTHER_TOKEN)  # a real token, but its owner has not been granted access
    refused = manager.resume(failed.id).wait(30)
    assert "does not give access" in refused.message and "Accept the repository's terms" in refused.message

    tokens.set(GOOD_TOKEN)
    done = manager.resume(failed.id).wait(30)
    assert done.state == DownloadState.DONE, done.message


def test_not_enough_disk_refuses_before_the_first_byte(published: HubServer, make_manager,
                                                       models_dir: Path) -> None:
    published.list_size(REPO_20B, FILE_20B, 2**60)  # the Hub's list says one exabyte

    final = make_manager().start(REQUEST_20B).wait(30)

    assert final.state == DownloadState.FAILED and isinstance(final.error, NotEnoughDisk)
    assert "Not enough free disk space" in final.message and "Settings" in final.message
    assert final.error.needed == 2**60
    assert published.file_gets(FILE_20B) == []
    assert not list(models_dir.rglob("*.gguf*"))


def test_a_split_model_is_one_download_and_loads_from_its_first_part(
        published: HubServer, make_manager, recorder: Recorder, models_dir: Path) -> None:
    manager = make_manager()
    manager.add_listener(recorder)

    final = manager.start(REQUEST_120B).wait(30)

    assert final.state == DownloadState.DONE, final.message
    model = final.model
    assert model is not None and model.verified
    folder = models_dir / "ggml-org--gpt-oss-120b-GGUF"
    assert model.parts == tuple(folder / name for name in FILES_120B)
    assert read_profile(model.path).parts == model.parts
    assert final.file_count == 3 and final.bytes_total == sum(p.stat().st_size for p in model.parts)
    working = [e for e in recorder.events if e.state == DownloadState.DOWNLOADING and e.file_name]
    assert {e.file_index for e in working} == {1, 2, 3}
    assert len(manager.library.list()) == 1


def test_parts_stay_partial_until_every_part_passed(published: HubServer, make_manager,
                                                    models_dir: Path) -> None:
    published.corrupt(REPO_120B, FILES_120B[2], offset=10)

    final = make_manager().start(REQUEST_120B).wait(30)

    assert isinstance(final.error, IntegrityError) and FILES_120B[2] in final.message
    folder = models_dir / "ggml-org--gpt-oss-120b-GGUF"
    assert sorted(p.name for p in folder.iterdir()) == [f"{name}.partial" for name in FILES_120B[:2]]


def test_pause_keeps_the_bytes_and_resume_continues_from_them(published: HubServer, make_manager,
                                                              recorder: Recorder, models_dir: Path) -> None:
    hold = published.hold_after(REPO_20B, FILE_20B, 120_000)
    manager = make_manager()
    manager.add_listener(recorder)
    download = manager.start(REQUEST_20B)
    assert hold.reached.wait(10)
    recorder.wait_for(lambda e: e.bytes_done >= 120_000)
    moving = download.progress()
    assert moving.state == DownloadState.DOWNLOADING and moving.speed > 0
    assert moving.eta_seconds is not None and moving.eta_seconds > 0 and 0 < moving.fraction < 1

    download.pause()
    hold.release()
    paused = download.wait(10)

    assert paused.state == DownloadState.PAUSED and paused.resumable
    partial = models_dir / "ggml-org--gpt-oss-20b-GGUF" / (FILE_20B + ".partial")
    kept = partial.stat().st_size
    assert 120_000 <= kept < tiny_gpt_oss_model().stat().st_size == paused.bytes_total
    assert paused.bytes_done == kept
    assert not (models_dir / "ggml-org--gpt-oss-20b-GGUF" / FILE_20B).exists()

    done = manager.resume(download.id).wait(30)

    assert done.state == DownloadState.DONE, done.message
    assert published.file_gets(FILE_20B)[-1].range == f"bytes={kept}-"
    assert done.model is not None and done.model.path.read_bytes() == tiny_gpt_oss_model().read_bytes()


def test_cancel_leaves_nothing_behind(published: HubServer, make_manager, models_dir: Path) -> None:
    hold = published.hold_after(REPO_20B, FILE_20B, 60_000)
    manager = make_manager()
    download = manager.start(REQUEST_20B)
    assert hold.reached.wait(10)

    download.cancel()
    hold.release()
    final = download.wait(10)

    assert final.state == DownloadState.CANCELLED
    assert leftovers(models_dir) == [] and not list(models_dir.rglob("*.gguf"))
    assert manager.library.list() == []


def test_cancel_of_a_paused_download_deletes_its_partial_file(published: HubServer, make_manager,
                                                              models_dir: Path) -> None:
    hold = published.hold_after(REPO_20B, FILE_20B, 60_000)
    manager = make_manager()
    download = manager.start(REQUEST_20B)
    assert hold.reached.wait(10)
    download.pause()
    hold.release()
    assert download.wait(10).state == DownloadState.PAUSED
    assert list(models_dir.rglob("*.partial"))

    download.cancel()

    assert download.progress().state == DownloadState.CANCELLED
    assert leftovers(models_dir) == []


def test_an_interrupted_download_is_resumable_at_the_next_start(published: HubServer, make_manager,
                                                                recorder: Recorder, models_dir: Path) -> None:
    hold = published.hold_after(REPO_20B, FILE_20B, 150_000)
    first_run = make_manager()
    download = first_run.start(REQUEST_20B)
    assert hold.reached.wait(10)
    first_run.shutdown()  # what closing the app does
    hold.release()
    partial = models_dir / "ggml-org--gpt-oss-20b-GGUF" / (FILE_20B + ".partial")
    assert download.wait(10).state == DownloadState.PAUSED
    kept = partial.stat().st_size

    next_run = make_manager()  # a new app start: it only reads the record, nothing goes to the Hub
    requests_before = len(published.requests)
    [interrupted] = next_run.downloads()
    progress = interrupted.progress()
    assert progress.state == DownloadState.PAUSED and progress.resumable
    assert progress.bytes_done == kept and progress.bytes_total == tiny_gpt_oss_model().stat().st_size
    assert len(published.requests) == requests_before

    next_run.add_listener(recorder)
    done = next_run.resume(interrupted.id).wait(30)

    assert done.state == DownloadState.DONE, done.message
    checks = [e for e in recorder.events if e.state == DownloadState.VERIFYING and e.check_total]
    assert checks and checks[-1].checked_bytes == kept  # the bytes on disk were hashed, not fetched again
    assert published.file_gets(FILE_20B)[-1].range == f"bytes={kept}-"


def test_a_download_that_died_with_the_app_resumes_from_a_new_process(
        published: HubServer, make_manager, models_dir: Path, tmp_path: Path) -> None:
    # The app process is killed outright (no chance to save anything) while bytes are arriving.
    hold = published.hold_after(REPO_20B, FILE_20B, 90_000)
    script = tmp_path / "start_download.py"
    script.write_text(
        "import time\n"
        "from app.models import DownloadManager, DownloadRequest, HubAccess, load_catalog\n"
        "from app.paths import app_paths\n"
        "manager = DownloadManager(app_paths().models, HubAccess())\n"
        "manager.start(DownloadRequest.from_catalog(load_catalog().get('gpt-oss-20b')))\n"
        "time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, str(script)], cwd=Path(__file__).resolve().parents[2])
    try:
        assert hold.reached.wait(30)
        partial = models_dir / "ggml-org--gpt-oss-20b-GGUF" / (FILE_20B + ".partial")
        assert wait_until(lambda: partial.is_file() and partial.stat().st_size == 90_000)
    finally:
        child.kill()
        child.wait(10)
    hold.release()

    [interrupted] = make_manager().downloads()
    assert interrupted.progress().state == DownloadState.PAUSED
    assert "Interrupted" in interrupted.progress().message
    done = interrupted._manager.resume(interrupted.id).wait(30)

    assert done.state == DownloadState.DONE, done.message
    assert published.file_gets(FILE_20B)[-1].range == "bytes=90000-"


def test_a_download_running_in_another_process_is_not_started_twice(published: HubServer, make_manager,
                                                                    models_dir: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock = models_dir / ".downloads" / "gpt-oss-20b.lock"
        lock.parent.mkdir(parents=True)
        lock.write_text(str(other.pid))
        final = make_manager().start(REQUEST_20B).wait(30)
    finally:
        other.kill()
        other.wait(10)
    assert final.state == DownloadState.FAILED
    assert f"another Ossian process (pid {other.pid})" in final.message
    assert published.requests == []


def test_never_use_the_network_refuses_and_sends_nothing(published: HubServer, make_manager) -> None:
    manager = make_manager(settings=Settings(offline_only=True))

    with pytest.raises(NetworkDisabled, match="never use the network"):
        manager.start(REQUEST_20B)

    assert manager.downloads() == []
    assert published.requests == []


def test_hf_hub_offline_refuses_too(published: HubServer, make_manager,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(NetworkDisabled, match="HF_HUB_OFFLINE"):
        make_manager().start(REQUEST_20B)
    assert published.requests == []


def test_an_installed_model_is_not_downloaded_again(published: HubServer, make_manager) -> None:
    manager = make_manager()
    assert manager.start(REQUEST_20B).wait(30).state == DownloadState.DONE
    gets_before = len(published.file_gets(FILE_20B))

    again = make_manager().start(REQUEST_20B).wait(30)

    assert again.state == DownloadState.DONE and "Already installed" in again.message
    assert len(published.file_gets(FILE_20B)) == gets_before


def test_a_repository_of_another_architecture_is_refused_before_downloading(hub: HubServer,
                                                                            make_manager) -> None:
    hub.add_repo("acme/llama-GGUF", {"llama.gguf": tiny_llama_model()}, architecture="llama")

    final = make_manager().start(DownloadRequest("acme/llama-GGUF")).wait(30)

    assert isinstance(final.error, NotUsable) and "llama model" in final.message
    assert hub.file_gets("llama.gguf") == []


def test_a_downloaded_file_that_is_not_gpt_oss_is_deleted(hub: HubServer, make_manager,
                                                          models_dir: Path) -> None:
    hub.add_repo("acme/mystery-GGUF", {"model.gguf": tiny_llama_model()}, architecture=None)

    final = make_manager().start(DownloadRequest("acme/mystery-GGUF")).wait(30)

    assert isinstance(final.error, NotUsable)
    assert "cannot use it" in final.message and "llama" in final.message and "deleted" in final.message
    assert not list(models_dir.rglob("*.gguf*"))


def test_a_repository_with_several_models_asks_which(hub: HubServer, make_manager) -> None:
    model = tiny_gpt_oss_model()
    hub.add_repo("acme/many-GGUF", {"gpt-oss-20b-Q4_K_M.gguf": model, "gpt-oss-20b-Q8_0.gguf": model})

    final = make_manager().start(DownloadRequest("acme/many-GGUF")).wait(30)
    assert isinstance(final.error, FileSelectionError)
    assert "gpt-oss-20b-Q4_K_M.gguf" in final.message and "gpt-oss-20b-Q8_0.gguf" in final.message

    chosen = make_manager().start(DownloadRequest("acme/many-GGUF", ("*q8_0*",))).wait(30)
    assert chosen.state == DownloadState.DONE and chosen.model is not None
    assert chosen.model.quantization == "Q8_0"


def test_a_broken_listener_does_not_stop_the_download(published: HubServer, make_manager) -> None:
    manager = make_manager()

    def broken(progress: object) -> None:
        raise RuntimeError("a UI bug")

    manager.add_listener(broken)
    assert manager.start(REQUEST_20B).wait(30).state == DownloadState.DONE


def test_bytes_that_arrive_just_before_a_stall_are_reported(published: HubServer, make_manager,
                                                             recorder: Recorder) -> None:
    # With progress paced to 2 s, the last bytes before the server stops sending would wait for the
    # next byte (never, while it stalls) without the deferred report.
    hold = published.hold_after(REPO_20B, FILE_20B, 120_000)
    manager = make_manager(progress_interval=2.0)
    manager.add_listener(recorder)
    download = manager.start(REQUEST_20B)
    try:
        assert hold.reached.wait(10)
        recorder.wait_for(lambda e: e.bytes_done >= 120_000, timeout=5)
    finally:
        download.pause()
        hold.release()
        download.wait(10)


# -- hostile networks and files (issue "Hostile input", items 6 and 10) --


def test_a_failing_redirect_target_is_named_in_the_downloads_message(published: HubServer,
                                                                    make_manager) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    published.redirect_files_to(f"http://127.0.0.1:{closed}")

    final = make_manager(max_attempts=2).start(REQUEST_20B).wait(30)

    assert final.state == DownloadState.FAILED and isinstance(final.error, HubUnreachable)
    assert f"127.0.0.1:{closed} refused the connection while downloading {FILE_20B}" in final.message
    assert "the Hub redirected there" in final.message and published.endpoint not in final.message


def test_a_captive_portal_instead_of_the_hub_is_named_not_an_error_in_ossian(published: HubServer,
                                                                             make_manager) -> None:
    published.api_replies(b"<html><title>Guest Wi-Fi</title><p>Sign in to browse</p></html>")

    final = make_manager().start(REQUEST_20B).wait(30)

    assert final.state == DownloadState.FAILED and isinstance(final.error, HubUnreachable)
    assert "error in Ossian" not in final.message
    assert "not the Hub's JSON (HTTP 200, text/html: 'Guest Wi-Fi Sign in to browse')" in final.message
    assert "captive portal" in final.message


HOSTILE_FILE = "gpt-oss-20b-mxfp4.gguf"


def publish_hostile(hub: HubServer, tmp_path: Path, repo: str = "mallory/gpt-oss-20b-GGUF") -> str:
    """A repository whose file matches its listed hash, but whose header says 0 attention heads."""
    bad = patched(tiny_gpt_oss_model(), tmp_path / HOSTILE_FILE, "gpt-oss.attention.head_count", 0)
    hub.add_repo(repo, {HOSTILE_FILE: bad})
    return repo


def test_a_verified_file_with_a_hostile_header_is_never_listed_and_says_why(
        hub: HubServer, make_manager, models_dir: Path, tmp_path: Path) -> None:
    repo = publish_hostile(hub, tmp_path)
    manager = make_manager()
    listed_while_checking: list[list[str]] = []
    original = download_module.inspect_model

    def inspect_and_look(path: Path):  # what a window listing the library sees while the header is read
        listed_while_checking.append([m.name for m in Library(models_dir).list()])
        return original(path)

    download_module.inspect_model = inspect_and_look
    try:
        final = manager.start(DownloadRequest(repo)).wait(30)
    finally:
        download_module.inspect_model = original

    assert final.state == DownloadState.FAILED and isinstance(final.error, NotUsable)
    assert ("downloaded completely and matches the Hub's checksum, but its header is invalid: "
            in final.message)
    assert "attention.head_count setting is 0" in final.message
    assert "this repository's file cannot be used" in final.message
    assert "Download it again" not in final.message and "resume" not in final.message.lower()
    assert listed_while_checking == [[]]
    assert Library(models_dir).list() == []
    assert not list(models_dir.rglob("*.gguf")) and not list(models_dir.rglob("*.partial"))


def test_retrying_a_rejected_file_does_not_fetch_it_again(hub: HubServer, make_manager,
                                                           tmp_path: Path) -> None:
    repo = publish_hostile(hub, tmp_path)
    manager = make_manager()
    first = manager.start(DownloadRequest(repo)).wait(30)
    assert first.state == DownloadState.FAILED and len(hub.file_gets(HOSTILE_FILE)) == 1

    again = manager.resume(first.id).wait(30)
    restarted = make_manager()  # the next start of the app: the rejection is remembered
    later = restarted.get(first.id).progress()
    after_restart = restarted.resume(first.id).wait(30)
    asked_anew = make_manager().start(DownloadRequest(repo)).wait(30)

    for final in (again, later, after_restart, asked_anew):
        assert final.state == DownloadState.FAILED, final
        assert "its header is invalid" in final.message and "cannot be used" in final.message
    assert len(hub.file_gets(HOSTILE_FILE)) == 1  # the same bytes were never fetched twice


def test_a_fixed_upload_is_downloaded_after_a_rejection(hub: HubServer, make_manager, tmp_path: Path) -> None:
    repo = publish_hostile(hub, tmp_path)
    manager = make_manager()
    rejected = manager.start(DownloadRequest(repo)).wait(30)
    assert rejected.state == DownloadState.FAILED

    hub.add_repo(repo, {HOSTILE_FILE: tiny_gpt_oss_model()})  # the publisher fixed the file: a new commit
    fixed = manager.resume(rejected.id).wait(30)

    assert fixed.state == DownloadState.DONE and fixed.model is not None and fixed.model.available


def test_a_download_stopped_during_its_header_check_resumes_without_fetching(
        published: HubServer, make_manager, models_dir: Path) -> None:
    def broken_check(path: Path):
        raise RuntimeError("a bug in the header check")

    original = download_module.inspect_model
    download_module.inspect_model = broken_check
    try:
        failed = make_manager().start(REQUEST_20B).wait(30)
    finally:
        download_module.inspect_model = original
    assert failed.state == DownloadState.FAILED and "error in Ossian" in failed.message
    assert Library(models_dir).list() == []  # the checked file waits where no listing sees it

    done = make_manager().resume(failed.id).wait(30)

    assert done.state == DownloadState.DONE and done.model is not None and done.model.available
    assert len(published.file_gets(FILE_20B)) == 1
    assert leftovers(models_dir) == []


def test_a_hub_file_name_with_an_override_is_shown_with_it_visible(hub: HubServer, make_manager,
                                                                   recorder: Recorder) -> None:
    hub.add_repo("mallory/gpt-oss-GGUF", {"gpt-oss-20b-\u202efdp.exe.gguf": tiny_gpt_oss_model()})
    manager = make_manager()
    manager.add_listener(recorder)

    final = manager.start(DownloadRequest("mallory/gpt-oss-GGUF")).wait(30)

    assert final.state == DownloadState.DONE and final.model is not None
    assert {e.name for e in recorder.events} == {"mallory/gpt-oss-GGUF", "gpt-oss-20b-[U+202E]fdp.exe"}
    assert final.model.name == "gpt-oss-20b-[U+202E]fdp.exe"
