"""Downloading a backend pack from a release: a real HTTP server on loopback serves the zip and its
`.sha256`, as the release does; the file is kept only when its hash matches, and the command installs it
(its manifest checked file by file) in one step."""

from __future__ import annotations

import functools
import hashlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.engine.backend_packs import pack_folders, platform_key
from app.models.errors import ModelsError, NetworkDisabled
from app.models.pack_download import download_pack, pack_url
from app.settings import Settings
from tests.engine.test_backend_packs import make_pack


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def release(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    folder = tmp_path / "release"
    folder.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()


def publish(folder: Path, archive: Path, digest: str | None = None) -> str:
    target = folder / archive.name
    target.write_bytes(archive.read_bytes())
    digest = digest or hashlib.sha256(target.read_bytes()).hexdigest()
    (folder / f"{archive.name}.sha256").write_text(f"{digest}  {archive.name}\n")
    return archive.name


def test_a_published_pack_is_downloaded_and_checked(release, tmp_path: Path) -> None:
    base, folder = release
    name = publish(folder, make_pack(tmp_path))
    seen = []
    got = download_pack(f"{base}/{name}", tmp_path / "downloads", Settings(),
                        progress=lambda received, total: seen.append((received, total)))
    assert got.read_bytes() == (folder / name).read_bytes()
    assert seen and seen[-1][0] == seen[-1][1] == got.stat().st_size
    assert not list((tmp_path / "downloads").glob("*.partial"))


def test_a_pack_that_differs_from_its_checksum_is_deleted(release, tmp_path: Path) -> None:
    base, folder = release
    name = publish(folder, make_pack(tmp_path), digest="0" * 64)
    with pytest.raises(ModelsError, match="different SHA-256"):
        download_pack(f"{base}/{name}", tmp_path / "downloads", Settings())
    assert not list((tmp_path / "downloads").iterdir())


def test_a_missing_pack_and_the_offline_setting_are_said(release, tmp_path: Path) -> None:
    base, _ = release
    with pytest.raises(ModelsError, match="publishes no such pack"):
        download_pack(f"{base}/ossian-cuda12-nowhere.zip", tmp_path, Settings())
    with pytest.raises(NetworkDisabled, match="never use the network"):
        download_pack(f"{base}/x.zip", tmp_path, Settings(offline_only=True))


def test_the_release_address_names_version_and_platform() -> None:
    assert pack_url("cuda12", "linux-x86_64", "1.2.3") == (
        "https://github.com/ossian-app/ossian/releases/download/v1.2.3/ossian-cuda12-linux-x86_64.zip")


def test_the_command_downloads_and_installs(release, tmp_path: Path) -> None:
    import importlib.metadata

    base, folder = release
    archive = make_pack(tmp_path, platform=platform_key(),
                        llama_cpp_python=importlib.metadata.version("llama-cpp-python"))
    name = publish(folder, archive)
    done = subprocess.run([sys.executable, "-m", "app", "backends", "install", f"{base}/{name}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Installed into" in done.stdout
    [installed] = pack_folders()
    assert (installed / "libggml-cuda.so").exists()
    assert not list((installed.parent / ".downloads").glob("*"))  # the download is not kept twice
