"""`ossian backends`: the GPU backend packs installed next to the app (CUDA 12), list, install, remove.

The installer carries the CPU variants and Vulkan; CUDA 12 comes as a separate, checksummed archive
(`ossian-cuda12-<platform>.zip` from the release, about 0.6 GB) because its runtime is ten times the rest
of the app and only NVIDIA users need it. `install` verifies every file against the pack's manifest and
the llama-cpp-python build it was made for before writing anything (app.engine.backend_packs); the next
model load uses it. `ossian doctor` shows whether it loaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.commands import CommandError
from app.engine.backend_packs import PackError, install_pack, installed_packs, remove_pack


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("backends", help="list, install or remove GPU backend packs (CUDA 12)")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="the installed packs").set_defaults(handler=run_list)
    install = actions.add_parser("install", help="verify and install a pack archive (ossian-cuda12-*.zip)")
    install.add_argument("archive", type=Path)
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
    try:
        folder = install_pack(args.archive)
    except PackError as exc:
        raise CommandError(str(exc)) from None
    print(f"Installed into {folder}. The next model load uses it; `ossian doctor` shows whether it loaded.")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    if not remove_pack(args.name):
        raise CommandError(f"No backend pack named {args.name!r} is installed (`ossian backends list`).")
    print(f"Removed {args.name}.")
    return 0
