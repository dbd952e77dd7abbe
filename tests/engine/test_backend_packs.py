"""Backend packs (CUDA 12 as a separate archive): verified before anything is written, refused with a
reason when damaged, for another platform or another llama-cpp-python build; installed whole or not at
all. The archives are made the way installers/cuda_module.py packs them (a flat zip, a manifest with each
file's size and SHA-256); the module inside is a stand-in file, since no CUDA build exists here."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app.engine.backend_packs import PackError, install_pack, installed_packs, pack_folders, remove_pack

LLAMA = "0.3.36"
PLATFORM = "linux-x86_64"


def make_pack(folder: Path, *, files: dict[str, bytes] | None = None, tamper: str | None = None,
              extra: str | None = None, **manifest: object) -> Path:
    files = files or {"libggml-cuda.so": b"\x7fELF module", "libcudart.so.12": b"runtime"}
    data = {"format": 1, "name": "ossian-cuda12", "platform": PLATFORM, "llama_cpp_python": LLAMA,
            "module": "libggml-cuda.so", "verified_on_gpu": False,
            "files": [{"name": n, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                      for n, b in files.items()]}
    data.update(manifest)
    archive = folder / "ossian-cuda12-linux-x86_64.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, content in files.items():
            bundle.writestr(name, content + (b"!" if name == tamper else b""))
        bundle.writestr("ossian-cuda12.json", json.dumps(data))
        if extra:
            bundle.writestr(extra, b"surprise")
    return archive


def install(archive: Path) -> Path:
    return install_pack(archive, llama_version=LLAMA, platform_name=PLATFORM)


def test_a_good_pack_is_installed_and_listed(tmp_path: Path) -> None:
    folder = install(make_pack(tmp_path))
    assert (folder / "libggml-cuda.so").read_bytes() == b"\x7fELF module"
    assert pack_folders() == [folder]
    [pack] = installed_packs()
    assert pack.name == "ossian-cuda12" and pack.module == "libggml-cuda.so" and not pack.verified_on_gpu
    assert install(make_pack(tmp_path)) == folder  # installing again replaces it
    assert remove_pack("ossian-cuda12") and pack_folders() == []


@pytest.mark.parametrize(("changes", "said"), [
    ({"tamper": "libcudart.so.12"}, "differs from its checksum"),
    ({"extra": "libsneaky.so"}, "files not in the manifest: libsneaky.so"),
    ({"llama_cpp_python": "0.3.20"}, "built for llama-cpp-python 0.3.20"),
    ({"platform": "windows-x86_64"}, "is for windows-x86_64"),
    ({"module": "libggml-other.so"}, "names no module"),
    ({"name": "../escape"}, "not a pack name"),
])
def test_a_bad_pack_is_refused_and_nothing_is_written(tmp_path: Path, changes: dict, said: str) -> None:
    with pytest.raises(PackError, match=said.replace("(", r"\(")):
        install(make_pack(tmp_path, **changes))
    assert pack_folders() == []


def test_not_a_zip_is_said_plainly(tmp_path: Path) -> None:
    bogus = tmp_path / "ossian-cuda12.zip"
    bogus.write_text("html error page")
    with pytest.raises(PackError, match="not a readable zip"):
        install(bogus)


def test_the_command_installs_and_refuses(tmp_path: Path) -> None:
    archive = make_pack(tmp_path, llama_cpp_python="0.0.1")
    done = subprocess.run([sys.executable, "-m", "app", "backends", "install", str(archive)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "built for llama-cpp-python 0.0.1" in done.stderr
    listed = subprocess.run([sys.executable, "-m", "app", "backends", "list"], capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0 and "No backend packs installed" in listed.stdout
