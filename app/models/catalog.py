"""The model catalog: the gpt-oss builds Ossian offers, read from `resources/catalog.json`.

The catalog is data, not code: each entry names a Hub repository and the file pattern of one model
(alternatives allowed, the first that matches on the Hub wins). It holds no file list, size or hash
of its own: those come from the Hub when a download starts, so a publisher re-uploading a file never
leaves the catalog stale. `approx_bytes` exists only to give advice (does it fit this machine?)
before anything is fetched. Loading reads one small file and touches no network.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.models.errors import CatalogError, UnknownModel
from app.paths import resources_dir

CATALOG_FILE = "catalog.json"
SUPPORTED_FORMAT = 1
FAMILIES = ("gpt-oss-20b", "gpt-oss-120b")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class CatalogEntry:
    """One downloadable model: where it lives on the Hub and what to expect of it."""

    id: str
    name: str
    family: str
    publisher: str
    repo: str
    files: tuple[str, ...]
    quantization: str
    approx_bytes: int
    official: bool
    description: str
    revision: str = "main"


@dataclass(frozen=True)
class Catalog:
    entries: tuple[CatalogEntry, ...]
    source: Path

    def find(self, entry_id: str) -> CatalogEntry | None:
        wanted = entry_id.strip().lower()
        return next((entry for entry in self.entries if entry.id == wanted), None)

    def get(self, entry_id: str) -> CatalogEntry:
        entry = self.find(entry_id)
        if entry is None:
            known = ", ".join(entry.id for entry in self.entries)
            raise UnknownModel(f"'{entry_id}' is not in the catalog. Known models: {known}.")
        return entry


def catalog_path() -> Path:
    return resources_dir() / CATALOG_FILE


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and check the catalog; a damaged file is a `CatalogError` naming the entry and field."""
    path = path or catalog_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"The model catalog {path} is missing. Reinstall Ossian to restore it.") from None
    except (OSError, ValueError) as exc:
        raise CatalogError(f"The model catalog {path} cannot be read ({exc}). "
                           "Reinstall Ossian to restore it.") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("models"), list):
        raise CatalogError(f"The model catalog {path} has no 'models' list. Reinstall Ossian to restore it.")
    if raw.get("format") != SUPPORTED_FORMAT:
        raise CatalogError(f"The model catalog {path} has format {raw.get('format')!r}; this Ossian reads "
                           f"format {SUPPORTED_FORMAT}. Reinstall Ossian or update it.")
    entries = tuple(_entry(item, index, path) for index, item in enumerate(raw["models"], start=1))
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise CatalogError(f"The model catalog {path} lists '{entry.id}' twice.")
        seen.add(entry.id)
    return Catalog(entries, path)


def _entry(item: Any, index: int, path: Path) -> CatalogEntry:
    where = f"The model catalog {path}, entry {index}"
    if not isinstance(item, dict):
        raise CatalogError(f"{where}, is not an object.")

    def text(key: str, default: str | None = None) -> str:
        value = item.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise CatalogError(f"{where}, needs a non-empty text '{key}'.")
        return value.strip()

    files = item.get("files")
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not files or not all(isinstance(f, str) and f.strip() for f in files):
        raise CatalogError(f"{where}, needs 'files': a file pattern or a list of them.")
    approx = item.get("approx_bytes")
    if not isinstance(approx, int) or isinstance(approx, bool) or approx <= 0:
        raise CatalogError(f"{where}, needs 'approx_bytes': a positive whole number.")
    official = item.get("official", False)
    if not isinstance(official, bool):
        raise CatalogError(f"{where}, has an 'official' that is not true or false.")
    entry_id = text("id")
    if not _ID_RE.match(entry_id):
        raise CatalogError(f"{where}, has the id '{entry_id}': use lower-case letters, digits, '.', '_' "
                           "and '-'.")
    repo = text("repo")
    if not _REPO_RE.match(repo):
        raise CatalogError(f"{where}, has the repo '{repo}': expected 'owner/name'.")
    family = text("family")
    if family not in FAMILIES:
        raise CatalogError(f"{where}, has the family '{family}': expected one of {', '.join(FAMILIES)}.")
    return CatalogEntry(
        id=entry_id,
        name=text("name"),
        family=family,
        publisher=text("publisher"),
        repo=repo,
        files=tuple(f.strip() for f in files),
        quantization=text("quantization"),
        approx_bytes=approx,
        official=official,
        description=text("description"),
        revision=text("revision", "main"),
    )
