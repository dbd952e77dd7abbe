"""`ossian backends`: the GPU backend packs installed next to the app (CUDA 12), list, install, remove.

The installer carries the CPU variants and Vulkan; CUDA 12 comes as a separate, checksummed archive
(`ossian-cuda12-<platform>.zip` from the release, about 0.6 GB) because its runtime is ten times the rest
of the app and only NVIDIA users need it. `install cuda12` downloads this release's pack (checked against
the SHA-256 published next to it; "Never use the network" refuses), `install FILE.zip` takes one
downloaded by hand; either way every file is checked against the pack's manifest and the llama-cpp-python
build it was made for before anything is written (app.engine.backend_packs). The next model load uses
it; `ossian doctor` shows whether it loaded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.commands import CommandError
from app.engine.backend_packs import (
    install_pack,
    installed_packs,
    packs_root,
    platform_key,
    remove_pack,
)
from app.models.pack_download import download_pack, pack_url
from app.paths import app_paths
from app.settings import load_settings

PACK_NAMES = ("cuda12",)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("backends", help="list, install or remove GPU backend packs (CUDA 12)")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="the installed packs").set_defaults(handler=run_list)
    install = actions.add_parser(
        "install", help="verify and install a pack: a downloaded ossian-cuda12-*.zip, its https address, or "
                        "'cuda12' for this release's CUDA 12 pack")
    install.add_argument("archive", help="a .zip file, an http(s) address, or a pack name (cuda12)")
    install.set_defaults(handler=run_install)
    remove = actions.add_parser("remove", help="remove an installed pack")
    remove.add_argument("name")
    remove.set_defaults(handler=run_remove)


def run_list(args: argparse.Namespace) -> int:
    packs = installed_packs()
    if not packs:
        print("No backend packs installed. The app's own backends: see `ossian doctor`.")
    for pack in packs:
        checked = "verified on a GPU" if pack.verified_on_gpu else "not yet verified on a GPU"
        print(f"{pack.name}  {pack.module}  llama-cpp-python {pack.llama_cpp_python}  ({checked})  "
              f"{pack.folder}")
    return 0


def run_install(args: argparse.Namespace) -> int:
    source = str(args.archive)
    # A PackError or a ModelsError (a download, the network switched off) reaches the command line as is.
    if source in PACK_NAMES or source.startswith(("https://", "http://")):
        archive = _download(source)
        try:
            folder = install_pack(archive)
        finally:
            archive.unlink(missing_ok=True)
    else:
        folder = install_pack(Path(source))
    print(f"Installed into {folder}. The next model load uses it; `ossian doctor` shows whether it loaded.")
    return 0


def _download(source: str) -> Path:
    url = pack_url(source, platform_key()) if source in PACK_NAMES else source
    print(f"Downloading {url} (checked against its published SHA-256)…", file=sys.stderr)
    settings = load_settings(app_paths().settings_file)

    def progress(received: int, total: int | None) -> None:
        if total:
            print(f"\r  {received / 1e6:,.0f} of {total / 1e6:,.0f} MB", end="", file=sys.stderr, flush=True)

    archive = download_pack(url, packs_root() / ".downloads", settings, progress)
    print(file=sys.stderr)
    return archive


def run_remove(args: argparse.Namespace) -> int:
    if not remove_pack(args.name):
        raise CommandError(f"No backend pack named {args.name!r} is installed (`ossian backends list`).")
    print(f"Removed {args.name}.")
    return 0
