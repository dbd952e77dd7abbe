"""What a download is: the request (repository + file pattern) and, once the Hub answered, the plan.

A request names a repository and file patterns (alternatives, tried in order), like a catalog entry.
The plan is what the Hub's file list made of it: the commit the download is pinned to (so a resumed
download keeps getting the same bytes even if the repository changes meanwhile), every file of the
one model that matched (all parts of a split set), their sizes and hashes, and where each goes in the
models folder. Patterns that match no model, or more than one, are refused with the choices listed.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from app.models.catalog import CatalogEntry
from app.models.errors import FileSelectionError, NotUsable, UnknownModel
from app.models.library import PARTIAL_SUFFIX, slug
from app.models.naming import FileGroup, group_gguf_files, is_gguf, missing_parts, quantization_from_name
from app.text_safety import shown_name
from app.units import format_bytes

if TYPE_CHECKING:  # the listing comes from the hub module, which loads huggingface_hub
    from app.models.hub import RepoListing

# Hub listings hold more than models: vision projectors and imatrix files are not chat models.
_NOT_A_MODEL = re.compile(r"(^|/)(mmproj|imatrix)[^/]*$", re.IGNORECASE)
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
ARCHITECTURE = "gpt-oss"


@dataclass(frozen=True)
class DownloadRequest:
    """Which model to fetch: a repository, file patterns (empty: the repository's only model)."""

    repo: str
    files: tuple[str, ...] = ()
    revision: str = "main"
    name: str | None = None
    catalog_id: str | None = None

    def __post_init__(self) -> None:
        if not _REPO_RE.match(self.repo):
            raise UnknownModel(f"'{self.repo}' is not a Hub repository id: it should look like owner/name, "
                               "e.g. ggml-org/gpt-oss-20b-GGUF.")

    @classmethod
    def from_catalog(cls, entry: CatalogEntry) -> DownloadRequest:
        return cls(entry.repo, entry.files, entry.revision, entry.name, entry.id)

    @property
    def id(self) -> str:
        """Stable for the same request, so asking again finds (and resumes) the earlier download."""
        if self.catalog_id:
            return self.catalog_id
        wanted = "+".join(self.files) or "model"
        suffix = "" if self.revision == "main" else f"@{self.revision}"
        return slug(f"{self.repo.replace('/', '--')}--{wanted}{suffix}")

    @property
    def display_name(self) -> str:
        name = self.name or (f"{self.repo} ({', '.join(self.files)})" if self.files else self.repo)
        return shown_name(name)

    def to_json(self) -> dict[str, Any]:
        return {"repo": self.repo, "files": list(self.files), "revision": self.revision, "name": self.name,
                "catalog_id": self.catalog_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DownloadRequest:
        return cls(str(data["repo"]), tuple(data.get("files") or ()), str(data.get("revision") or "main"),
                   data.get("name"), data.get("catalog_id"))


@dataclass(frozen=True)
class PlannedFile:
    path: str  # in the repository
    size: int
    sha256: str | None
    blob_id: str | None
    destination: Path

    @property
    def partial(self) -> Path:
        return self.destination.with_name(self.destination.name + PARTIAL_SUFFIX)


@dataclass(frozen=True)
class DownloadPlan:
    repo: str
    commit: str
    name: str
    quantization: str | None
    files: tuple[PlannedFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {"repo": self.repo, "commit": self.commit, "name": self.name,
                "quantization": self.quantization,
                "files": [{"path": f.path, "size": f.size, "sha256": f.sha256, "blob_id": f.blob_id,
                           "destination": str(f.destination)} for f in self.files]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DownloadPlan:
        files = tuple(PlannedFile(str(f["path"]), int(f["size"]), f.get("sha256"), f.get("blob_id"),
                                  Path(f["destination"])) for f in data["files"])
        if not files:
            raise ValueError("a plan without files")
        return cls(str(data["repo"]), str(data["commit"]), str(data["name"]), data.get("quantization"), files)


def repo_folder(models_dir: Path, repo: str) -> Path:
    return models_dir / repo.replace("/", "--")


def plan_download(listing: RepoListing, request: DownloadRequest, models_dir: Path) -> DownloadPlan:
    """Pick the one model the request means from a `RepoListing`, and place its files."""
    if listing.architecture and listing.architecture != ARCHITECTURE:
        raise NotUsable(f"{request.repo} holds a {listing.architecture} model. Ossian runs OpenAI's gpt-oss "
                        "models only; choose a gpt-oss repository.")
    by_path = {f.path: f for f in listing.files}
    candidates = [p for p in by_path if is_gguf(p) and not _NOT_A_MODEL.search(p)]
    if not candidates:
        raise FileSelectionError(f"{request.repo} has no GGUF model files. Ossian needs a GGUF build of "
                                 "gpt-oss (the repository names usually end in -GGUF).")
    matched = candidates
    for pattern in request.files:
        matched = [p for p in candidates if fnmatch.fnmatchcase(p.lower(), pattern.lower())]
        if matched:
            break
    else:
        if request.files:
            raise FileSelectionError(f"No file in {request.repo} matches {' or '.join(request.files)}. "
                                     f"It has: {_describe(group_gguf_files(candidates), by_path)}.")
    groups = group_gguf_files(matched)
    if len(groups) > 1:
        raise FileSelectionError(f"{request.repo} has {len(groups)} models"
                                 f"{' matching that' if request.files else ''}; choose one: "
                                 f"{_describe(groups, by_path)}.")
    group = groups[0]
    if not group.complete:
        raise FileSelectionError(f"{request.repo} lacks parts of {group.stem}: "
                                 f"{', '.join(missing_parts(group))}. The publisher's upload is incomplete.")
    folder = repo_folder(models_dir, request.repo)
    files = tuple(PlannedFile(path, by_path[path].size, by_path[path].sha256, by_path[path].blob_id,
                              folder / _safe_relative(path, request.repo)) for path in group.parts)
    # The name is shown in every download row and becomes the library's name: a Hub file name is outside
    # text, so its bidirectional controls are made visible.
    return DownloadPlan(request.repo, listing.commit, shown_name(request.name or group.stem),
                        quantization_from_name(group.first), files)


def _describe(groups: list[FileGroup], by_path: dict[str, Any]) -> str:
    shown = []
    for group in groups[:12]:
        size = sum(by_path[p].size for p in group.parts if p in by_path)
        parts = f", {len(group.parts)} parts" if len(group.parts) > 1 else ""
        shown.append(f"{group.first} ({format_bytes(size)}{parts})")
    more = f" and {len(groups) - 12} more" if len(groups) > 12 else ""
    return "; ".join(shown) + more


def _safe_relative(path: str, repo: str) -> Path:
    """A repository path as a relative local path; anything that could escape the folder is refused."""
    pure = PurePosixPath(path)
    unsafe = pure.is_absolute() or "\\" in path or ":" in path
    if unsafe or any(part in ("", ".", "..") for part in pure.parts):
        raise FileSelectionError(f"{repo} lists a file with an unsafe name ({path!r}); it was not "
                                 "downloaded.")
    return Path(*pure.parts)
