"""What the model screens say for each state, without widgets: the wording and the buttons of a row."""

from __future__ import annotations

from pathlib import Path

from app.models import DownloadState, InstalledModel, assess_fit, load_catalog
from app.planner import describe_machine
from app.settings import Settings
from app.ui.models.presenting import (
    BUSY,
    PROGRESS_SCALE,
    catalog_row,
    download_block,
    installed_detail,
    machine_summary,
    row_view,
)
from tests.ui.models.conftest import GIB, LAPTOP_16GB, RTX_4090, snapshot

CATALOG = load_catalog()


def installed(tmp_path: Path, **fields) -> InstalledModel:
    path = tmp_path / "gpt-oss-20b-mxfp4.gguf"
    values = dict(id="m", name="gpt-oss-20b", quantization="MXFP4", size=12_109_566_624, parts=(path,),
                  verified=True, source="hub", repo="ggml-org/gpt-oss-20b-GGUF", catalog_id="gpt-oss-20b")
    values.update(fields)
    return InstalledModel(**values)


def test_the_machine_is_summed_up_in_one_line() -> None:
    assert machine_summary(RTX_4090) == "NVIDIA GeForce RTX 4090 · 23.5 of 24 GiB free · 64 GiB RAM"
    assert machine_summary(LAPTOP_16GB) == "CPU only · 16 GiB RAM"
    mac = describe_machine(unified=True, ram=64 * GIB, gpu_total=48 * GIB, gpu_free=40 * GIB,
                           gpu_name="Apple M3 Max")
    assert machine_summary(mac) == ("Apple M3 Max · unified memory, 40 GiB of 48 GiB usable by the GPU · "
                                    "64 GiB RAM")


def test_a_catalog_row_names_size_quantization_publisher_and_the_planners_verdict() -> None:
    entry = CATALOG.get("gpt-oss-20b")
    fit = assess_fit(entry, RTX_4090)
    info = catalog_row(entry, fit, "Recommended")
    assert (info.key, info.name, info.tag) == ("gpt-oss-20b", "gpt-oss-20b", "Recommended")
    assert info.detail == "11.3 GiB · MXFP4 · ggml-org (official build)"
    assert info.fit_level == "recommended" and info.fit_reason == fit.reason
    assert "NVIDIA GeForce RTX 4090" in info.fit_reason
    unofficial = catalog_row(CATALOG.get("gpt-oss-20b-unsloth-f16"))
    assert unofficial.detail == "12.8 GiB · F16 · unsloth" and unofficial.fit_level is None


def test_no_download_offers_download_with_the_size() -> None:
    view = row_view(None, size=12_109_566_624)
    assert (view.phase, view.primary, view.primary_text) == ("idle", "download", "Download · 11.3 GiB")
    assert view.progress is None and view.secondary == () and view.enabled("download")


def test_offline_disables_the_network_buttons_and_says_why() -> None:
    reason = download_block(Settings(offline_only=True))
    assert reason.startswith("Downloads are off.") and "Never use the network" in reason
    assert "Settings" in reason
    assert download_block(Settings()) == ""
    idle = row_view(None, blocked=reason)
    assert not idle.enabled("download") and idle.status == reason
    paused = row_view(snapshot(DownloadState.PAUSED, bytes_done=10, bytes_total=100), blocked=reason)
    assert paused.primary == "resume" and not paused.enabled("resume") and paused.enabled("cancel")


def test_downloading_shows_bytes_speed_and_time_left() -> None:
    view = row_view(snapshot(DownloadState.DOWNLOADING, bytes_done=4_200_000_000, bytes_total=12_100_000_000,
                             speed=48_300_000, eta_seconds=163, file_index=1, file_count=1))
    assert view.phase == "downloading" and view.primary is None and view.secondary == ("pause", "cancel")
    assert view.progress == round(4.2 / 12.1 * PROGRESS_SCALE)
    assert view.status == "34% · 3.9 GiB of 11.3 GiB · 46.1 MiB/s · 2 min 43 s left"
    parts = row_view(snapshot(DownloadState.DOWNLOADING, bytes_done=1, bytes_total=3, file_index=2,
                              file_count=3))
    assert parts.status.startswith("33% · part 2 of 3 · 1 B of 3 B")


def test_before_the_file_list_arrives_the_bar_is_busy_and_says_what_happens() -> None:
    view = row_view(snapshot(DownloadState.DOWNLOADING, message="Asking the Hub for the file list."))
    assert view.progress == BUSY and view.status == "Asking the Hub for the file list."
    queued = row_view(snapshot(DownloadState.QUEUED, message="Waiting for the downloads before it."))
    assert queued.progress == BUSY and queued.secondary == ("pause", "cancel")


def test_verifying_bytes_from_before_shows_how_far_the_check_is() -> None:
    view = row_view(snapshot(DownloadState.VERIFYING, checked_bytes=250, check_total=1000))
    assert view.progress == 250 and view.status == "Checking the 1 KiB downloaded before · 25%"
    hashing = row_view(snapshot(DownloadState.VERIFYING, message="Checking x.gguf against the Hub's hash."))
    assert hashing.progress == BUSY and hashing.status == "Checking x.gguf against the Hub's hash."


def test_paused_keeps_the_bar_and_offers_resume() -> None:
    view = row_view(snapshot(DownloadState.PAUSED, bytes_done=25, bytes_total=100,
                             message="Paused at 25 B of 100 B. Resume to continue where it stopped."))
    assert (view.phase, view.primary, view.secondary, view.progress) == ("paused", "resume", ("cancel",), 250)
    assert view.status.startswith("Paused at")


def test_failed_shows_the_message_and_offers_retry() -> None:
    view = row_view(snapshot(DownloadState.FAILED, message="x did not match the Hub's SHA-256."))
    assert (view.phase, view.primary, view.primary_text, view.tone) == ("failed", "retry", "Retry", "danger")
    assert view.status == "x did not match the Hub's SHA-256." and view.secondary == ("cancel",)


def test_done_offers_load_while_the_model_is_in_the_library(tmp_path: Path) -> None:
    model = installed(tmp_path)
    done = snapshot(DownloadState.DONE, message="gpt-oss-20b is installed and verified.", model=model)
    view = row_view(done, model)
    assert (view.phase, view.primary, view.primary_text, view.tone) == ("done", "load", "Ready — Load it",
                                                                        "success")
    removed_since = row_view(done, None, size=12_109_566_624)
    assert (removed_since.phase, removed_since.primary_text) == ("idle", "Download · 11.3 GiB")


def test_an_installed_model_offers_load_and_a_cancelled_download_falls_back_to_it(tmp_path: Path) -> None:
    model = installed(tmp_path)
    for progress in (None, snapshot(DownloadState.CANCELLED)):
        view = row_view(progress, model)
        assert (view.phase, view.primary, view.primary_text) == ("installed", "load", "Load")
    missing = installed(tmp_path, missing=(model.path,))
    broken = row_view(None, missing)
    assert broken.primary == "download" and broken.tone == "danger" and "missing" in broken.status


def test_installed_detail_says_where_a_model_came_from(tmp_path: Path) -> None:
    assert installed_detail(installed(tmp_path)) == "MXFP4 · 11.3 GiB · from ggml-org/gpt-oss-20b-GGUF"
    imported = installed(tmp_path, source="import", repo=None, quantization=None, size=411_616,
                         parts=(tmp_path / "a.gguf", tmp_path / "b.gguf"))
    assert installed_detail(imported) == "402 KiB · 2 files · imported"
