"""`ossian models list|scan|search|download|import|remove|login|logout`: the models room on the command line.

Thin on purpose: it parses arguments, calls `app.models` and prints. `list` works offline (it reads
the library, the unfinished downloads and the catalog, and asks the llama.cpp probe about the GPUs
for its advice); `search` and `download` are the only actions that use the network, and they refuse
when "never use the network" is set. A download shows its progress on stderr (one updating line on a
terminal, a line per step otherwise); Ctrl+C pauses it, and running the same command again resumes.
`scan` lists the gpt-oss other apps already downloaded (the Hugging Face cache, LM Studio, Ollama), each
usable or with the reason it is not; `import PATH` uses one where it is.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import threading
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TextIO

from app.commands import CommandError
from app.models import (
    STORE_NAMES,
    Download,
    DownloadManager,
    DownloadProgress,
    DownloadRequest,
    DownloadState,
    FoundModel,
    HubAccess,
    InstalledModel,
    Library,
    TokenStore,
    UnknownModel,
    assess_fit,
    import_model,
    load_catalog,
    recommend,
    removal_warning,
    scan_found,
    store_locations,
)
from app.paths import AppPaths, app_paths
from app.settings import Settings, load_settings
from app.units import format_bytes, format_duration, format_speed

if TYPE_CHECKING:
    from app.planner import Machine


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list, search, download, import and remove models")
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="installed models, unfinished downloads and the catalog")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=run_list)

    scan = actions.add_parser("scan", help="find gpt-oss other apps downloaded (the Hugging Face cache, "
                                           "LM Studio, Ollama)")
    scan.add_argument("--json", action="store_true", help="print JSON: a list of the models found")
    scan.set_defaults(handler=run_scan)

    search = actions.add_parser("search", help="search the Hugging Face Hub for GGUF models")
    search.add_argument("query", help="words to look for, e.g. gpt-oss")
    search.add_argument("--limit", type=int, default=20, help="at most this many results (default 20)")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(handler=run_search)

    download = actions.add_parser("download", help="download a model (again: resume it)")
    download.add_argument("name", help="a catalog id (see `ossian models list`) or a Hub repository "
                                       "owner/name")
    download.add_argument("--file", action="append", default=[], metavar="PATTERN",
                          help="which model file(s) in the repository, e.g. '*Q4_K_M*' (repeat for "
                               "alternatives)")
    download.add_argument("--revision", default="main", help="branch, tag or commit (default main)")
    download.set_defaults(handler=run_download)

    imported = actions.add_parser("import", help="add a .gguf file you already have (any part of a split "
                                                  "set)")
    imported.add_argument("path", help="the .gguf file")
    imported.add_argument("--copy", action="store_true", help="copy it into the models folder")
    imported.set_defaults(handler=run_import)

    remove = actions.add_parser("remove", help="remove an installed model, or cancel an unfinished download")
    remove.add_argument("name", help="id, catalog id, name or file name")
    remove.set_defaults(handler=run_remove)

    login = actions.add_parser("login", help="store a Hugging Face token (for gated or private models)")
    login.set_defaults(handler=run_login)
    logout = actions.add_parser("logout", help="forget the stored Hugging Face token")
    logout.set_defaults(handler=run_logout)


def _context() -> tuple[AppPaths, Settings]:
    paths = app_paths()
    settings = load_settings(paths.settings_file)
    return app_paths(settings.models_dir), settings


def _manager(paths: AppPaths, settings: Settings) -> DownloadManager:
    return DownloadManager(paths.models, HubAccess(settings=lambda: settings, tokens=TokenStore()))


# -- list -----------------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    paths, settings = _context()
    catalog = load_catalog()
    installed = Library(paths.models).list()
    unfinished = [d.progress() for d in _manager(paths, settings).downloads()]
    machine = _machine()
    suggested = recommend(catalog.entries, machine)
    advice = [(entry, assess_fit(entry, machine)) for entry in catalog.entries]
    if args.json:
        print(json.dumps({
            "models_folder": str(paths.models),
            "installed": [_model_json(m) for m in installed],
            "unfinished_downloads": [_progress_json(p) for p in unfinished],
            "machine": {"gpus": [asdict(g) for g in machine.usable_gpus], "ram_total": machine.ram_total,
                        "ram_available": machine.ram_available, "unified_memory": machine.unified_memory},
            "recommended": suggested.id if suggested else None,
            "catalog": [{**asdict(entry), "files": list(entry.files),
                         "fit": {"level": fit.level, "reason": fit.reason}} for entry, fit in advice],
        }, indent=2))
        return 0
    print(f"Installed models (in {paths.models})")
    if not installed:
        hint = (f" `ossian models download {suggested.id}` fetches the one suggested below."
                if suggested else "")
        print(f"  none yet.{hint}")
    for model in installed:
        status = "verified" if model.verified else "not verified"
        if model.kept_by:
            status += f", kept by {STORE_NAMES[model.kept_by]}"
        if model.missing:
            status = f"MISSING {', '.join(p.name for p in model.missing)}"
        parts = f", {len(model.parts)} parts" if len(model.parts) > 1 else ""
        print(f"  {model.name}  [{model.quantization or '?'}]  {format_bytes(model.size)}{parts}  {status}")
        print(f"      id {model.id}  {model.path}")
    if unfinished:
        print("\nUnfinished downloads")
        for progress in unfinished:
            print(f"  {progress.name}: {progress.message}")
            print(f"      `ossian models download {progress.id}` resumes it; "
                  f"`ossian models remove {progress.id}` deletes what arrived.")
    print(f"\nCatalog (this machine: {machine.gpu_label}, {format_bytes(machine.ram_available)} of "
          f"{format_bytes(machine.ram_total)} RAM available)")
    for entry, fit in advice:
        mark = "*" if suggested and entry.id == suggested.id else " "
        print(f" {mark} {entry.id:<28} {entry.quantization:<7} about {format_bytes(entry.approx_bytes):<9} "
              f"{fit.level.replace('_', ' ')}: {fit.reason}")
    if suggested:
        print(f"\n * suggested for this machine: `ossian models download {suggested.id}`")
    return 0


def _machine() -> Machine:
    """This machine as the planner sees it (llama.cpp's own device list, through the probe child)."""
    from app.planner import detect_machine

    return detect_machine()


def _model_json(model: InstalledModel) -> dict[str, Any]:
    return {"id": model.id, "name": model.name, "quantization": model.quantization, "size": model.size,
            "path": str(model.path), "parts": [str(p) for p in model.parts], "verified": model.verified,
            "source": model.source, "repo": model.repo, "commit": model.commit,
            "catalog_id": model.catalog_id, "missing": [str(p) for p in model.missing],
            "kept_by": model.kept_by}


def _progress_json(progress: DownloadProgress) -> dict[str, Any]:
    return {"id": progress.id, "name": progress.name, "state": progress.state.value,
            "bytes_done": progress.bytes_done, "bytes_total": progress.bytes_total,
            "message": progress.message}


# -- scan -----------------------------------------------------------------------------------------


def run_scan(args: argparse.Namespace) -> int:
    paths, _settings = _context()
    stores = store_locations()
    found = scan_found(stores)
    installed = Library(paths.models).list()
    if args.json:
        listed = [{**model.to_json(), "in_library": _library_id(model, installed)} for model in found]
        print(json.dumps(listed, indent=2))
        return 0
    if not stores:
        print("No Hugging Face cache, LM Studio models folder or Ollama store on this computer.")
        return 0
    print("Looked in " + "; ".join(f"{store.label}: {store.root}" for store in stores))
    if not found:
        print("\nNo gpt-oss model there.")
        return 0
    usable = [model for model in found if model.usable]
    if usable:
        print("\nUsable where they are (nothing is copied)")
    for model in usable:
        known = _library_id(model, installed)
        state = f"in the library as {known}" if known else f"`ossian models import '{model.path}'` uses it"
        print(f"  {_found_title(model)}  [{model.quantization or '?'}]  {format_bytes(model.size)}  {state}")
        print(f"      {model.path}")
        print(f"      {removal_warning(model.source, model.tags)}")
    unusable = [model for model in found if not model.usable]
    if unusable:
        print("\nNot usable")
    for model in unusable:
        print(f"  {_found_title(model)}  {format_bytes(model.size)}")
        print(f"      {model.path}")
        print(f"      {model.reason}")
    return 0


def _found_title(model: FoundModel) -> str:
    where = STORE_NAMES[model.source]
    names = ", ".join(model.tags) if model.tags else (f"{model.repo}: {model.name}" if model.repo and
                                                       model.repo != model.name else model.name)
    return f"{names} ({where})"


def _library_id(model: FoundModel, installed: list[InstalledModel]) -> str | None:
    wanted = model.path.resolve()
    return next((m.id for m in installed if m.source != "folder" and m.path.resolve() == wanted), None)


# -- search ---------------------------------------------------------------------------------------


def run_search(args: argparse.Namespace) -> int:
    _paths, settings = _context()
    access = HubAccess(settings=lambda: settings, tokens=TokenStore())
    results = access.search(args.query, max(1, args.limit))
    if args.json:
        print(json.dumps([{**asdict(r), "tags": list(r.tags), "gpt_oss": r.looks_gpt_oss} for r in results],
                         indent=2))
        return 0
    if not results:
        print(f"No GGUF models on the Hub match '{args.query}'.")
        return 0
    for result in results:
        notes = [n for n, on in (("gpt-oss", result.looks_gpt_oss), ("gated", result.gated)) if on]
        print(f"  {result.repo:<48} {result.downloads:>10,} downloads  {' '.join(notes)}")
    print("\nDownload one with `ossian models download OWNER/NAME` (add --file PATTERN if it holds several).")
    return 0


# -- download -------------------------------------------------------------------------------------


def request_for(name: str, files: list[str], revision: str, manager: DownloadManager) -> DownloadRequest:
    """A catalog id, an unfinished download's id, or owner/name of a Hub repository (with file patterns)."""
    catalog = load_catalog()
    entry = catalog.find(name)
    if entry is not None:
        if not files and revision == entry.revision:
            return DownloadRequest.from_catalog(entry)
        return DownloadRequest(entry.repo, tuple(files) or entry.files, revision)
    if "/" in name:
        return DownloadRequest(name.strip(), tuple(files), revision)
    for download in manager.downloads():
        if download.id == name.strip().lower():
            return download.request
    known = ", ".join(e.id for e in catalog.entries)
    raise UnknownModel(f"'{name}' is not in the catalog ({known}), not an unfinished download, and not a Hub "
                       "repository (owner/name).")


def run_download(args: argparse.Namespace) -> int:
    paths, settings = _context()
    manager = _manager(paths, settings)
    request = request_for(args.name, args.file, args.revision, manager)
    printer = ProgressPrinter(sys.stderr)
    manager.add_listener(printer)
    download = manager.start(request)
    try:
        final = download.wait()
    except KeyboardInterrupt:
        download.pause()
        final = download.wait(30)
        printer.finish()
        print(f"ossian: paused. {final.message} Run the same command again to resume.", file=sys.stderr)
        return 130
    printer.finish()
    if final.state == DownloadState.DONE and final.model is not None:
        print(f"{final.message}\n  {final.model.path}")
        return 0
    raise CommandError(final.message)


class ProgressPrinter:
    """Prints download events: one line rewritten in place on a terminal, a line per step otherwise."""

    def __init__(self, stream: TextIO, step_percent: int = 10) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._step = step_percent
        self._last_state: DownloadState | None = None
        self._last_message = ""
        self._last_step = -1
        self._line_open = False
        self._lock = threading.Lock()

    def __call__(self, progress: DownloadProgress) -> None:
        with self._lock:
            if progress.state != self._last_state or progress.message != self._last_message:
                self._close_line()
                self._stream.write(f"{progress.name}: {progress.message}\n")
                self._last_state, self._last_message = progress.state, progress.message
            if progress.state not in (DownloadState.DOWNLOADING, DownloadState.VERIFYING):
                self._stream.flush()
                return
            line = self.describe(progress)
            if self._tty:
                self._stream.write("\r" + line.ljust(79))
                self._line_open = True
            else:
                total = progress.check_total if progress.check_total else progress.bytes_total
                done = progress.checked_bytes if progress.check_total else progress.bytes_done
                step = int(100 * done / total) // self._step if total else 0
                if step != self._last_step:
                    self._last_step = step
                    self._stream.write(line + "\n")
            self._stream.flush()

    @staticmethod
    def describe(progress: DownloadProgress) -> str:
        if progress.check_total:
            return (f"  checking {format_bytes(progress.checked_bytes)} of "
                    f"{format_bytes(progress.check_total)} already downloaded")
        if not progress.bytes_total:
            return "  waiting for the file list"
        percent = 100 * progress.bytes_done / progress.bytes_total
        text = (f"  {format_bytes(progress.bytes_done)} of {format_bytes(progress.bytes_total)} "
                f"({percent:.0f}%)")
        if progress.state == DownloadState.DOWNLOADING and progress.speed > 0:
            text += f"  {format_speed(progress.speed)}  {format_duration(progress.eta_seconds)} left"
        return text

    def finish(self) -> None:
        with self._lock:
            self._close_line()
            self._stream.flush()

    def _close_line(self) -> None:
        if self._line_open:
            self._stream.write("\n")
            self._line_open = False


# -- import, remove -------------------------------------------------------------------------------


def run_import(args: argparse.Namespace) -> int:
    paths, _settings = _context()
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        if time.monotonic() - started > 1:
            print(f"\r  copied {format_bytes(done)} of {format_bytes(total)}", end="", file=sys.stderr)

    model = import_model(args.path, Library(paths.models), copy=args.copy, on_progress=progress)
    parts = f", {len(model.parts)} parts" if len(model.parts) > 1 else ""
    where = "copied into the models folder" if args.copy else "used where it is (not copied)"
    print(f"Imported {model.name} [{model.quantization or '?'}], {format_bytes(model.size)}{parts}: "
          f"{where}.\n"
          f"  id {model.id}  {model.path}\n"
          "  Not verified: there is no published hash to check a local file against.")
    if model.kept_by:
        print(f"  {removal_warning(model.kept_by, (model.name,))}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    paths, settings = _context()
    library = Library(paths.models)
    try:
        model = library.find(args.name)
    except UnknownModel as not_installed:
        download = _unfinished(paths, settings, args.name)
        if download is None:
            raise CommandError(str(not_installed)) from None
        download.cancel()
        print(f"Cancelled the unfinished download of {download.progress().name}; its partial files were "
              "deleted.")
        return 0
    library.remove(model.id)
    if library.owns(model.path):
        print(f"Removed {model.name} and deleted {format_bytes(model.size)} of files.")
    else:
        print(f"Removed {model.name} from the library; its files in {model.path.parent} were left alone.")
    return 0


def _unfinished(paths: AppPaths, settings: Settings, name: str) -> Download | None:
    wanted = name.strip().lower()
    for download in _manager(paths, settings).downloads():
        if wanted in (download.id, (download.request.catalog_id or ""), download.progress().name.lower()):
            return download
    return None


# -- login, logout --------------------------------------------------------------------------------


def run_login(args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        token = getpass.getpass("Hugging Face token (from https://huggingface.co/settings/tokens): ")
    else:
        token = sys.stdin.readline()
    result = TokenStore().set(token)
    print(result.message)
    if not result.saved:
        print("On the command line, set HF_TOKEN in the environment instead; Ossian uses it for downloads.")
    return 0


def run_logout(args: argparse.Namespace) -> int:
    TokenStore().clear()
    print("The stored Hugging Face token was removed (if there was one).")
    return 0
