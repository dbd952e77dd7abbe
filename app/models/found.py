"""Models other apps already downloaded: each store's own layout walked, nothing outside it touched.

One job: turn the store folders (`app.models.stores`) into candidates, a file or a split set or an
original checkpoint each, and hand every candidate to the verdict (`app.models.found_verdict`), which
reads its GGUF header and says whether Ossian can run it. `scan_found()` is the whole scan;
`identify(path)` tells whether a file someone picked lives in another app's store, and what it is.

The layouts:

- Hub cache: `models--<owner>--<name>/snapshots/<revision>/<path in the repository>`, where each file is
  a link to `../../blobs/<hash>` (a plain copy on Windows without symlink rights). The revision `refs/main`
  names comes first, so a file every snapshot shares is listed once, under the current revision. A
  snapshot with no GGUF whose `config.json` says gpt-oss is the original checkpoint (safetensors).
- LM Studio: `<publisher>/<repository>/<file>.gguf`, plain files.
- Ollama: `manifests/<registry>/<namespace>/<model>/<tag>` JSON manifests whose layer of media type
  `application/vnd.ollama.image.model` names `blobs/sha256-<hex>`; tags sharing one blob are one model.

Rules every walk keeps, because these folders belong to other programs and may be large:
- never follow a link out of the store folder it was given: a file is used only if its real path is
  inside the store's real path (a link that leads out is not opened, not even stat'ed at its target);
  folders are walked without following links, to a bounded depth;
- nothing is written, and only headers are read (the verdict's business): a few hundred models take a
  small fraction of a second;
- partial files (`.incomplete`, `.partial`, Ollama's `-partial` blobs) are never offered: only names
  ending in `.gguf` (or blobs a manifest names) are candidates, and a GGUF cut short fails its header check;
- manifests, `config.json` and `refs` are read only up to a size, and a digest must be 64 hex digits
  before it becomes a file name (a hostile manifest cannot point at `../../elsewhere`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from app.models.catalog import Catalog, load_catalog
from app.models.errors import ModelsError
from app.models.found_verdict import FoundModel, judge
from app.models.naming import group_gguf_files, is_gguf, missing_parts, model_stem
from app.models.stores import SOURCES, Environment, Store, store_locations, store_of

log = logging.getLogger(__name__)

MAX_DEPTH = 6  # folders below a snapshot, LM Studio's root or Ollama's manifests: more is not a store
MAX_SMALL_FILE = 1 << 20  # manifests, config.json, refs
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
OLLAMA_REGISTRY = "registry.ollama.ai"
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")
_GPT_OSS = re.compile(r"gpt[-_ ]?oss", re.IGNORECASE)

CandidateKind = Literal["gguf", "checkpoint"]


@dataclass(frozen=True)
class Candidate:
    """Something a store holds that may be gpt-oss, before any header is read."""

    store: Store
    kind: CandidateKind
    path: Path  # the file to load (the first part of a split set), or a checkpoint's folder
    parts: tuple[Path, ...]  # the parts there are, in order, as the store names them
    missing: tuple[str, ...]  # names of split parts that are not there (or lead out of the store)
    name: str  # how people know it: the file's stem, or Ollama's model:tag
    size: int  # bytes of the parts there are (a checkpoint: its weights)
    relative: str = ""  # the file's path inside its repository (Hub cache, LM Studio)
    repo: str | None = None  # owner/name (Hub cache, LM Studio's publisher/repository)
    revision: str | None = None  # the Hub commit of the snapshot
    tags: tuple[str, ...] = ()  # every Ollama name for the same blob
    named_gpt_oss: bool = False  # the store's names for it say gpt-oss
    config: dict[str, Any] | None = None  # a checkpoint's config.json
    real: str = ""  # the real path of `path` (inside the store): one file named twice is one candidate


def scan_found(stores: list[Store] | None = None, catalog: Catalog | None = None) -> list[FoundModel]:
    """Every gpt-oss file the stores hold, usable or not (with the reason), usable ones first.

    `stores` defaults to this user's (`store_locations()`); each file is listed once, however many
    snapshots or tags name it. Files of other model families are left out unless their names say gpt-oss.
    """
    stores = store_locations() if stores is None else stores
    catalog = catalog if catalog is not None else _catalog()
    found: list[FoundModel] = []
    seen: set[str] = set()
    for store in stores:
        for candidate in candidates(store):
            key = candidate.real or os.path.realpath(candidate.path)
            if key in seen:
                continue
            seen.add(key)
            verdict = judge(candidate, catalog)
            if verdict is not None:
                found.append(verdict)
    # Stable: within a name, the scan's order stays (the revision `refs/main` names first).
    return sorted(found, key=lambda f: (not f.usable, SOURCES.index(f.source), f.name.lower()))


def identify(path: Path, environment: Environment | None = None) -> FoundModel | None:
    """What `path` is, when it lives in another app's store (any part of a split set, a Hub snapshot
    link or the blob it points at); None for a file outside every store, or not gpt-oss."""
    stores = store_locations(environment)
    store = store_of(path, stores)
    if store is None:
        return None
    wanted = os.path.realpath(path)
    for found in scan_found([store]):
        named = {os.path.realpath(part) for part in (*found.parts, found.path)}
        if wanted in named:
            return found
    return None


def candidates(store: Store) -> Iterator[Candidate]:
    """The store's candidates, by its layout."""
    root = _Root(store)
    if root.real is None:
        return
    if store.source == "hub-cache":
        yield from _hub_cache(root)
    elif store.source == "lm-studio":
        yield from _lm_studio(root)
    else:
        yield from _ollama(root)


# -- the Hub cache -------------------------------------------------------------------------------------


def _hub_cache(root: _Root) -> Iterator[Candidate]:
    for entry in _folders(root.store.root):
        if not entry.name.startswith("models--"):
            continue
        repo = entry.name.removeprefix("models--").replace("--", "/", 1)
        repo_dir = Path(entry.path)
        for revision in _revisions(root, repo_dir):
            snapshot = repo_dir / "snapshots" / revision
            files = _walk(root, snapshot)
            ggufs = [name for name in files if is_gguf(name)]
            if ggufs:
                yield from _gguf_groups(root, snapshot, ggufs, repo=repo, revision=revision)
            elif "config.json" in files:
                checkpoint = _checkpoint(root, snapshot, files, repo, revision)
                if checkpoint is not None:
                    yield checkpoint


def _revisions(root: _Root, repo_dir: Path) -> list[str]:
    """The repository's snapshot folders, the one `refs/main` names first, then other refs', then the rest."""
    names = sorted(entry.name for entry in _folders(repo_dir / "snapshots"))
    preferred: list[str] = []
    refs = repo_dir / "refs"
    for ref in ["main", *sorted(n.name for n in _files(refs) if n.name != "main")]:
        text = root.read_small(refs / ref)
        commit = text.strip() if text else ""
        if commit in names and commit not in preferred:
            preferred.append(commit)
    return preferred + [name for name in names if name not in preferred]


def _checkpoint(root: _Root, snapshot: Path, files: list[str], repo: str,
                revision: str) -> Candidate | None:
    """A snapshot of the original weights (safetensors): a candidate only when it is gpt-oss."""
    weights = [name for name in files if name.lower().endswith(".safetensors")]
    config = _json(root.read_small(snapshot / "config.json"))
    model_type = str(config.get("model_type", "")) if config else ""
    architectures = " ".join(map(str, config.get("architectures", []) or [])) if config else ""
    is_gpt_oss = model_type == "gpt_oss" or "GptOss" in architectures
    if not weights or not (is_gpt_oss or _GPT_OSS.search(repo)):
        return None
    size = 0
    for name in weights:
        info = root.file(snapshot / name)
        size += info.st_size if info is not None else 0
    return Candidate(root.store, "checkpoint", snapshot, (), (), repo, size, repo=repo, revision=revision,
                     named_gpt_oss=True, config=config or {}, real=root.inside(snapshot) or "")


# -- LM Studio -----------------------------------------------------------------------------------------


def _lm_studio(root: _Root) -> Iterator[Candidate]:
    ggufs = [name for name in _walk(root, root.store.root) if is_gguf(name)]
    by_folder: dict[str, list[str]] = {}
    for name in ggufs:
        by_folder.setdefault(str(PurePosixPath(name).parent), []).append(name)
    for folder, names in sorted(by_folder.items()):
        pieces = PurePosixPath(folder).parts
        repo = "/".join(pieces[:2]) if len(pieces) >= 2 else None
        yield from _gguf_groups(root, root.store.root, names, repo=repo, relative_to=len(pieces[:2]))


# -- Ollama --------------------------------------------------------------------------------------------


def _ollama(root: _Root) -> Iterator[Candidate]:
    manifests = root.store.root / "manifests"
    tags_of: dict[str, list[str]] = {}
    for relative in _walk(root, manifests):
        pieces = PurePosixPath(relative).parts
        manifest = _json(root.read_small(manifests / relative))
        if manifest is None or len(pieces) < 2:
            continue
        for layer in manifest.get("layers") or []:
            if not isinstance(layer, dict) or layer.get("mediaType") != OLLAMA_MODEL_LAYER:
                continue
            match = _DIGEST.match(str(layer.get("digest", "")))
            if match:
                tags_of.setdefault(match[1], []).append(_ollama_name(pieces))
    for digest, tags in sorted(tags_of.items()):
        blob = root.store.root / "blobs" / f"sha256-{digest}"
        real = root.inside(blob)
        info = _regular(real) if real is not None else None
        if real is None or info is None:  # pruned, or a link out of the store: nothing to offer
            continue
        names = tuple(sorted(set(tags), key=lambda t: (t.endswith(":latest"), t)))
        yield Candidate(root.store, "gguf", blob, (blob,), (), names[0], info.st_size, tags=names,
                        named_gpt_oss=any(_GPT_OSS.search(t) for t in names), real=real)


def _ollama_name(pieces: tuple[str, ...]) -> str:
    """'gpt-oss:20b' for Ollama's library, 'hf.co/owner/repo:tag' for the rest (as `ollama list` shows)."""
    *path, tag = pieces
    if len(path) >= 3 and path[0] == OLLAMA_REGISTRY and path[1] == "library":
        return f"{'/'.join(path[2:])}:{tag}"
    if path and path[0] == OLLAMA_REGISTRY:
        path = path[1:]
    return f"{'/'.join(path)}:{tag}"


# -- shared --------------------------------------------------------------------------------------------


def _gguf_groups(root: _Root, folder: Path, names: list[str], *, repo: str | None = None,
                 revision: str | None = None, relative_to: int = 0) -> Iterator[Candidate]:
    """Candidates for the `.gguf` files `names` (relative to `folder`): one per single file or split set."""
    for group in group_gguf_files(names):
        present: list[Path] = []
        reals: list[str] = []
        size = 0
        lost: list[str] = []
        for name in group.parts:
            real = root.inside(folder / name)
            info = _regular(real) if real is not None else None
            if real is None or info is None:  # a link out of the store, or to nothing: as good as absent
                lost.append(PurePosixPath(name).name)
            else:
                present.append(folder / name)
                reals.append(real)
                size += info.st_size
        if not present:
            continue
        missing = tuple(sorted({*(PurePosixPath(m).name for m in missing_parts(group)), *lost}))
        relative = "/".join(PurePosixPath(group.first).parts[relative_to:])
        named = bool(_GPT_OSS.search(group.first) or (repo and _GPT_OSS.search(repo)))
        yield Candidate(root.store, "gguf", folder / group.first, tuple(present), missing,
                        model_stem(group.first), size, relative=relative, repo=repo, revision=revision,
                        named_gpt_oss=named, real=reals[0])


class _Root:
    """A store folder and the one rule about it: nothing outside its real path is used.

    Links are resolved one step at a time from folders already known to be real and inside, so a link
    that leads out is never followed further (its target is not opened, not even stat'ed), and a scan
    of hundreds of files costs about one `lstat` each rather than a full `realpath`."""

    MAX_HOPS = 8  # links to links: more is a loop

    def __init__(self, store: Store) -> None:
        self.store = store
        try:
            self.real: str | None = os.path.realpath(store.root) if store.root.is_dir() else None
        except OSError:
            self.real = None
        self._prefix = (self.real or "").rstrip(os.sep) + os.sep
        self._folders: dict[str, str | None] = {os.fspath(store.root): self.real}

    def within(self, real: str) -> bool:
        return self.real is not None and (real == self.real or real.startswith(self._prefix))

    def inside(self, path: Path | str, hops: int = 0) -> str | None:
        """The real path of `path` when it lies inside the store, else None."""
        text = os.fspath(path)
        parent = self._folder(os.path.dirname(text))
        if parent is None:
            return None
        candidate = os.path.join(parent, os.path.basename(text))
        try:
            info = os.lstat(candidate)
        except OSError:
            return None
        if not stat.S_ISLNK(info.st_mode):
            return candidate
        if hops >= self.MAX_HOPS:
            return None
        try:
            target = os.path.normpath(os.path.join(parent, os.readlink(candidate)))
        except OSError:
            return None
        # `parent` is real, so '..' in the link text is resolved correctly by normpath
        return self.inside(target, hops + 1) if self.within(target) else None

    def learn_folder(self, folder: str, real: str) -> None:
        """`folder` is a real folder inside the store at `real` (a walk entered it without a link)."""
        self._folders[folder] = real

    def folder(self, folder: str) -> str | None:
        """The real path of a folder inside the store, None when it is not one (or leads out)."""
        return self._folder(folder)

    def _folder(self, folder: str, hops: int = 0) -> str | None:
        """The real path of a folder inside the store (cached), None when it is not one."""
        if folder in self._folders:
            return self._folders[folder]
        parent_text = os.path.dirname(folder)
        result: str | None = None
        if parent_text != folder and hops < self.MAX_HOPS:
            parent = self._folder(parent_text, hops)
            if parent is not None:
                candidate = os.path.join(parent, os.path.basename(folder))
                try:
                    info = os.lstat(candidate)
                    if stat.S_ISDIR(info.st_mode):
                        result = candidate
                    elif stat.S_ISLNK(info.st_mode):
                        target = os.path.normpath(os.path.join(parent, os.readlink(candidate)))
                        result = self._folder(target, hops + 1) if self.within(target) else None
                except OSError:
                    result = None
        self._folders[folder] = result
        return result

    def file(self, path: Path) -> os.stat_result | None:
        """The status of `path` if it is a regular file inside the store (following links only inside)."""
        real = self.inside(path)
        return _regular(real) if real is not None else None

    def read_small(self, path: Path) -> str | None:
        real = self.inside(path)
        info = _regular(real) if real is not None else None
        if real is None or info is None or info.st_size > MAX_SMALL_FILE:
            return None
        try:
            with open(real, encoding="utf-8", errors="replace") as handle:
                return handle.read(MAX_SMALL_FILE)
        except OSError:
            return None


def _regular(real: str) -> os.stat_result | None:
    try:
        info = os.stat(real)
    except OSError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


def _walk(root: _Root, top: Path) -> list[str]:
    """Files and file links below `top` as '/'-separated relative paths: links to folders are not entered,
    hidden folders (`.git`, `.internal`, `.locks`) are skipped, and so is anything deeper than MAX_DEPTH.
    `top` must be a folder inside the store; every folder entered is then one too (it is not a link), so
    the store's record of real folders learns it without another `lstat`."""
    top_real = root.folder(os.fspath(top))
    if top_real is None:
        return []
    found: list[str] = []
    stack: list[tuple[str, str, tuple[str, ...]]] = [(os.fspath(top), top_real, ())]
    while stack:
        folder, real, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not entry.name.startswith(".") and len(prefix) < MAX_DEPTH:
                        inner = os.path.join(real, entry.name)
                        root.learn_folder(entry.path, inner)
                        stack.append((entry.path, inner, (*prefix, entry.name)))
                elif entry.is_file(follow_symlinks=False) or entry.is_symlink():
                    found.append("/".join((*prefix, entry.name)))
            except OSError:
                continue
    return sorted(found)


def _folders(path: Path) -> list[os.DirEntry[str]]:
    try:
        return sorted((e for e in os.scandir(path) if e.is_dir(follow_symlinks=False)), key=lambda e: e.name)
    except OSError:
        return []


def _files(path: Path) -> list[os.DirEntry[str]]:
    try:
        return [e for e in os.scandir(path) if not e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _json(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _catalog() -> Catalog | None:
    try:
        return load_catalog()
    except ModelsError as exc:  # a damaged catalog only costs the "download this instead" offers
        log.warning("found models are judged without the catalog: %s", exc)
        return None
