"""Downloading a backend pack (CUDA 12 for NVIDIA GPUs) from the release, checked against its SHA-256.

The release publishes `ossian-cuda12-<platform>.zip` next to `<zip>.sha256`; the pack is about 0.6 GB
and only NVIDIA users need it (docs/packaging.md), so the installer leaves it out and this fetches it on
request. It is a request the user starts, like a model download: the network policy is asked first
("Never use the network" refuses it), the bytes go to a `.partial` file hashed as they land, and the
file is kept only when its hash equals the published one. Installing it (the manifest inside checked
file by file) is app.engine.backend_packs' job.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from app import __version__
from app.models.errors import HubUnreachable, ModelsError
from app.models.policy import network_policy
from app.settings import Settings

RELEASES = "https://github.com/ossian-app/ossian/releases/download"
CHUNK = 1 << 20


def pack_url(name: str, platform_name: str, version: str = __version__) -> str:
    """Where the release of this version publishes the pack, e.g. ossian-cuda12-linux-x86_64.zip."""
    return f"{RELEASES}/v{version}/ossian-{name}-{platform_name}.zip"


def download_pack(url: str, folder: Path, settings: Settings,
                  progress: Callable[[int, int | None], None] | None = None, timeout: float = 60) -> Path:
    """Fetch `url` and its `.sha256` into `folder`; returns the verified file. Raises ModelsError."""
    if settings.offline_only:
        network_policy(settings).require("download a backend pack")
    if not url.startswith(("https://", "http://")):
        raise ModelsError(f"{url} is not a download address (http or https).")
    published = _published_digest(url + ".sha256", timeout)
    name = url.rstrip("/").rsplit("/", 1)[-1]
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{name}.partial"
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            received = 0
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(received, total)
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise HubUnreachable(f"The download of {name} failed ({exc}). Check the connection and try again.") \
            from None
    if digest.hexdigest() != published:
        partial.unlink(missing_ok=True)
        raise ModelsError(f"{name} arrived with a different SHA-256 than the release publishes: it was "
                          "damaged or changed on the way, and was deleted. Try again.")
    target = folder / name
    partial.replace(target)
    return target


def _published_digest(url: str, timeout: float) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            text = response.read(4096).decode("ascii", errors="replace")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise ModelsError(f"This release publishes no such pack ({url.removesuffix('.sha256')}: not "
                              "found). Check docs/packaging.md for the platforms it is built for.") from None
        raise HubUnreachable(f"The pack's checksum could not be fetched ({exc}).") from None
    except (urllib.error.URLError, OSError) as exc:
        raise HubUnreachable(f"The pack's checksum could not be fetched ({exc}). Check the connection.") \
            from None
    words = text.split()
    if not words or len(words[0]) != 64 or any(c not in "0123456789abcdef" for c in words[0].lower()):
        raise ModelsError(f"{url} does not hold a SHA-256 checksum.")
    return words[0].lower()
