"""Backend packs: GPU backend modules that do not ship in the installer, installed into the data folder.

CUDA 12 is one: the module and the CUDA runtime it needs (cudart, cublas, cublasLt) are about 0.9 GB,
ten times the rest of the app, and useful only with an NVIDIA GPU (docs/packaging.md has the figures),
so the release publishes it as a separate archive, `ossian-cuda12-<platform>.zip`, whose manifest
(`ossian-cuda12.json`) lists every file with its size and SHA-256 and names the llama-cpp-python build it
was made for. `install_pack` checks all of that before anything is written, unpacks into a temporary
folder next to the target and renames it into place, so a pack is either whole and verified or absent.
The worker's module loader (`worker_backends`) then loads the GPU modules it finds in `pack_folders()`
next to the ones the app ships.

Nothing here imports llama_cpp: the parent installs, the worker loads.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from app.errors import OssianError
from app.paths import app_paths

PACK_MANIFEST = re.compile(r"^ossian-[a-z0-9]+\.json$")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class PackError(OssianError):
    """A pack that cannot be installed; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class InstalledPack:
    name: str  # e.g. ossian-cuda12
    folder: Path
    module: str
    llama_cpp_python: str
    verified_on_gpu: bool


def packs_root() -> Path:
    return app_paths().data / "backends"


def pack_folders() -> list[Path]:
    """Folders of installed packs, each holding one GPU module and what it needs."""
    root = packs_root()
    if not root.is_dir():
        return []
    return sorted(folder for folder in root.iterdir() if folder.is_dir() and not folder.name.startswith("."))


def platform_key() -> str:
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "aarch64": "arm64"}.get(machine, machine)
    return f"{system}-{machine}"


def installed_packs() -> list[InstalledPack]:
    packs = []
    for folder in pack_folders():
        manifests = [path for path in folder.iterdir() if PACK_MANIFEST.match(path.name)]
        if not manifests:
            continue
        data = json.loads(manifests[0].read_text(encoding="utf-8"))
        packs.append(InstalledPack(data.get("name", folder.name), folder, data.get("module", ""),
                                   data.get("llama_cpp_python", ""), bool(data.get("verified_on_gpu"))))
    return packs


def install_pack(archive: Path, llama_version: str | None = None, platform_name: str | None = None) -> Path:
    """Verify `archive` and unpack it into the packs folder; returns the pack's folder. Raises PackError."""
    llama_version = llama_version or importlib.metadata.version("llama-cpp-python")
    platform_name = platform_name or platform_key()
    try:
        bundle = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        raise PackError(f"{archive} is not a backend pack (not a readable zip: {exc}).") from None
    with bundle:
        data = _manifest(bundle, archive)
        name = str(data.get("name", ""))
        if not SAFE_NAME.match(name):
            raise PackError(f"{archive.name} names itself {name!r}, which is not a pack name.")
        if data.get("platform") != platform_name:
            raise PackError(f"{archive.name} is for {data.get('platform')}, and this is {platform_name}: "
                            f"get the {platform_name} pack.")
        if data.get("llama_cpp_python") != llama_version:
            raise PackError(f"{archive.name} was built for llama-cpp-python {data.get('llama_cpp_python')}, "
                            f"and this Ossian has {llama_version}: a module of another build would not load "
                            "(or worse, crash). Get the pack from the same release as the app.")
        problems = _check_files(bundle, data)
        if problems:
            raise PackError(f"{archive.name} is damaged or was changed: {'; '.join(problems)}. Download it "
                            "again.")
        root = packs_root()
        root.mkdir(parents=True, exist_ok=True)
        target = root / name
        with tempfile.TemporaryDirectory(dir=root, prefix=".installing-") as tmp:
            staged = Path(tmp) / name
            staged.mkdir()
            for entry in bundle.infolist():
                if not SAFE_NAME.match(entry.filename):  # flat archive: no folders, no '..'
                    raise PackError(f"{archive.name} holds {entry.filename!r}, which a pack may not.")
                (staged / entry.filename).write_bytes(bundle.read(entry))
            if target.exists():
                shutil.rmtree(target)
            staged.rename(target)
    return target


def remove_pack(name: str) -> bool:
    target = packs_root() / name
    if not SAFE_NAME.match(name) or not target.is_dir():
        return False
    shutil.rmtree(target)
    return True


def _manifest(bundle: zipfile.ZipFile, archive: Path) -> dict:
    manifests = [n for n in bundle.namelist() if PACK_MANIFEST.match(n)]
    if len(manifests) != 1:
        raise PackError(f"{archive.name} is not a backend pack of Ossian (no ossian-*.json manifest in it).")
    try:
        data = json.loads(bundle.read(manifests[0]))
    except ValueError as exc:
        raise PackError(f"{archive.name}: its manifest is not JSON ({exc}). Download it again.") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise PackError(f"{archive.name}: its manifest lists no files. Download it again.")
    return data


def _check_files(bundle: zipfile.ZipFile, data: dict) -> list[str]:
    names = set(bundle.namelist())
    problems = []
    listed = set()
    for entry in data["files"]:
        name = str(entry.get("name", ""))
        listed.add(name)
        if name not in names:
            problems.append(f"{name} is missing")
            continue
        digest = hashlib.sha256()
        size = 0
        with bundle.open(name) as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
        if size != entry.get("size") or digest.hexdigest() != entry.get("sha256"):
            problems.append(f"{name} differs from its checksum")
    if data.get("module") not in listed:
        problems.append("the manifest names no module among its files")
    extra = {n for n in names - listed if not PACK_MANIFEST.match(n) and n != "SHA256SUMS"}
    if extra:
        problems.append(f"files not in the manifest: {', '.join(sorted(extra))}")
    return problems
