"""The library: the models on this machine, what they are, where their files are, whether verified.

An index (`library.json` in the models folder) records every model that a download finished or an
import added: its name, quantization, size, every part of a split set, its source (Hub repository and
commit, or the file the user imported), and whether each part matched the Hub's SHA-256 on arrival.
Paths inside the models folder are stored relative to it, so moving the whole folder keeps working.

Listing reads only the index and file sizes (no GGUF parsing, no network), so it is cheap enough for
start-up. `.gguf` files that someone put into the models folder by hand are listed too, as
unverified. Removing a model deletes its files only when they live in the models folder; a model
imported in place (a file elsewhere on disk) is only forgotten, never deleted. A model another app keeps
(the Hugging Face cache, LM Studio, Ollama: `kept_by`) is always used in place: that app may delete the
file later, and the model is then listed with its parts missing, never an error at load.

A model's name is made from outside text (a Hub file name, a GGUF header, a file someone dropped in),
so its bidirectional controls are made visible (`app.text_safety`) whenever a model is added or listed:
no window or command shows a right-to-left override's reordering as the name.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from app.models.errors import ModelsError, UnknownModel
from app.models.naming import FileGroup, group_gguf_files, missing_parts, model_stem, quantization_from_name
from app.models.stores import SOURCES, StoreSource
from app.text_safety import shown_name

log = logging.getLogger(__name__)

INDEX_FILE = "library.json"
INDEX_FORMAT = 1
DOWNLOADS_DIR = ".downloads"
PARTIAL_SUFFIX = ".partial"
ModelSource = Literal["hub", "import", "folder"]


@dataclass(frozen=True)
class InstalledModel:
    """One model on disk. `path` is the file to load (the first part of a split set)."""

    id: str
    name: str
    quantization: str | None
    size: int
    parts: tuple[Path, ...]
    verified: bool
    source: ModelSource
    repo: str | None = None
    commit: str | None = None
    catalog_id: str | None = None
    sha256: tuple[str | None, ...] = ()
    added_at: float = 0.0
    kept_by: StoreSource | None = None  # another app's store holds the files (used in place)
    missing: tuple[Path, ...] = field(default=(), compare=False)

    @property
    def path(self) -> Path:
        return self.parts[0]

    @property
    def available(self) -> bool:
        return not self.missing


def slug(text: str) -> str:
    """A lower-case id fragment: letters, digits, '.', '_' and '-'."""
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-") or "model"


def hub_model_id(repo: str, first_part: str) -> str:
    return f"{slug(repo.replace('/', '--'))}--{slug(model_stem(first_part))}"


class Library:
    """The installed models under one models folder. Safe to use from several threads."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = Path(models_dir)
        self._lock = threading.RLock()

    @property
    def index_path(self) -> Path:
        return self.models_dir / INDEX_FILE

    def list(self) -> list[InstalledModel]:
        """Every model: the index's (with parts now missing marked) and loose `.gguf` files."""
        with self._lock:
            indexed = [self._with_missing(model) for model in self._read()]
        known = {part.resolve() for model in indexed for part in model.parts}
        return indexed + self._loose_files(known)

    def get(self, model_id: str) -> InstalledModel:
        for model in self.list():
            if model.id == model_id:
                return model
        raise UnknownModel(f"No installed model has the id '{model_id}'. `ossian models list` shows them.")

    def find(self, name: str) -> InstalledModel:
        """A model by id, catalog id, name or file name (case-insensitive); it must be unambiguous."""
        wanted = name.strip().lower()
        models = self.list()
        for key in (lambda m: m.id, lambda m: m.catalog_id or "", lambda m: m.name.lower(),
                    lambda m: m.path.name.lower()):
            matches = [m for m in models if key(m) == wanted]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                ids = ", ".join(m.id for m in matches)
                raise UnknownModel(f"'{name}' names more than one installed model ({ids}); use its id.")
        raise UnknownModel(f"No installed model is called '{name}'. `ossian models list` shows them.")

    def add(self, model: InstalledModel) -> InstalledModel:
        """Record a model (replacing one with the same id)."""
        model = replace(model, name=shown_name(model.name), added_at=model.added_at or time.time(),
                        missing=())
        with self._lock:
            models = [m for m in self._read() if m.id != model.id]
            models.append(model)
            self._write(models)
        return model

    def unique_id(self, base: str) -> str:
        taken = {m.id for m in self.list()}
        if base not in taken:
            return base
        counter = 2
        while f"{base}-{counter}" in taken:
            counter += 1
        return f"{base}-{counter}"

    def owns(self, path: Path) -> bool:
        """True when `path` lives inside the models folder (so removing the model deletes it)."""
        try:
            path.resolve().relative_to(self.models_dir.resolve())
        except ValueError:
            return False
        return True

    def remove(self, model_id: str) -> InstalledModel:
        """Forget a model; delete its files when they live in the models folder."""
        with self._lock:
            model = self.get(model_id)
            for part in model.parts:
                if self.owns(part):
                    try:
                        part.unlink(missing_ok=True)
                    except OSError as exc:
                        raise ModelsError(f"Could not delete {part}: {exc.strerror or exc}. Close any "
                                          "program that has the model open and try again.") from None
            self._prune_empty_folders(model.parts)
            self._write([m for m in self._read() if m.id != model.id])
        return model

    # -- the index file --------------------------------------------------------------------------

    def _read(self) -> list[InstalledModel]:
        try:
            raw = json.loads(self.index_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            # A damaged index must not hide the models: they show up again as loose files, unverified.
            log.warning("the library index %s cannot be read (%s); listing the folder only",
                        self.index_path, exc)
            return []
        models = []
        for item in raw.get("models", []) if isinstance(raw, dict) else []:
            try:
                models.append(self._from_json(item))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("skipping a damaged library entry (%s): %r", exc, item)
        return models

    def _write(self, models: list[InstalledModel]) -> None:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        data = {"format": INDEX_FORMAT, "models": [self._to_json(m) for m in models]}
        fd, tmp = tempfile.mkstemp(prefix=".library-", dir=self.models_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
                handle.write("\n")
            os.replace(tmp, self.index_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _stored_path(self, path: Path) -> str:
        if self.owns(path):
            return path.resolve().relative_to(self.models_dir.resolve()).as_posix()
        return str(path)

    def _loaded_path(self, text: str) -> Path:
        path = Path(text)
        return path if path.is_absolute() else self.models_dir / path

    def _to_json(self, model: InstalledModel) -> dict[str, Any]:
        return {
            "id": model.id, "name": model.name, "quantization": model.quantization, "size": model.size,
            "parts": [self._stored_path(p) for p in model.parts], "verified": model.verified,
            "source": model.source, "repo": model.repo, "commit": model.commit,
            "catalog_id": model.catalog_id, "sha256": list(model.sha256), "added_at": model.added_at,
            "kept_by": model.kept_by,
        }

    def _from_json(self, item: dict[str, Any]) -> InstalledModel:
        parts = tuple(self._loaded_path(p) for p in item["parts"])
        if not parts:
            raise ValueError("no parts")
        source = item.get("source", "import")
        if source not in ("hub", "import", "folder"):
            raise ValueError(f"unknown source {source!r}")
        kept_by = item.get("kept_by")
        if kept_by is not None and kept_by not in SOURCES:  # a newer Ossian's store: still the same files
            kept_by = None
        return InstalledModel(
            id=str(item["id"]), name=shown_name(str(item["name"])), quantization=item.get("quantization"),
            size=int(item["size"]), parts=parts, verified=bool(item.get("verified", False)), source=source,
            repo=item.get("repo"), commit=item.get("commit"), catalog_id=item.get("catalog_id"),
            sha256=tuple(item.get("sha256") or ()), added_at=float(item.get("added_at") or 0.0),
            kept_by=kept_by,
        )

    # -- what is on disk ---------------------------------------------------------------------------

    @staticmethod
    def _with_missing(model: InstalledModel) -> InstalledModel:
        missing = tuple(part for part in model.parts if not part.is_file())
        return replace(model, missing=missing) if missing else model

    def _loose_files(self, known: set[Path]) -> list[InstalledModel]:
        if not self.models_dir.is_dir():
            return []
        found: list[str] = []
        for root, dirs, files in os.walk(self.models_dir):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                path = Path(root) / name
                if name.lower().endswith(".gguf") and path.resolve() not in known:
                    found.append(path.relative_to(self.models_dir).as_posix())
        models = []
        for group in group_gguf_files(found):
            parts = tuple(self.models_dir / p for p in group.parts)
            size = sum(p.stat().st_size for p in parts if p.is_file())
            models.append(InstalledModel(
                id=f"folder--{slug(group.first.removesuffix('.gguf'))}", name=shown_name(group.stem),
                quantization=quantization_from_name(group.first), size=size, parts=parts, verified=False,
                source="folder", missing=self._absent_parts(group.first, group.expected_parts, parts),
            ))
        return models

    def _absent_parts(self, first: str, expected: int, parts: tuple[Path, ...]) -> tuple[Path, ...]:
        if len(parts) == expected:
            return ()
        group = FileGroup(model_stem(first), tuple(p.relative_to(self.models_dir).as_posix() for p in parts),
                          expected)
        return tuple(self.models_dir / p for p in missing_parts(group))

    def _prune_empty_folders(self, parts: tuple[Path, ...]) -> None:
        """Remove folders a download created and that are now empty (never the models folder)."""
        root = self.models_dir.resolve()
        for part in parts:
            folder = part.resolve().parent
            while folder != root and self.owns(folder):
                try:
                    folder.rmdir()
                except OSError:
                    break
                folder = folder.parent
