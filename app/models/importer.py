"""Import of a `.gguf` the user already has: from a file dialog, the command line, or a file dropped later.

The header is checked first (by the planner's reader): a broken or truncated file, a split set with a
part missing, or a model of another family is refused with a message saying which and what to do,
and nothing is recorded. Any part of a split set finds the others. By default the files stay where
they are and the library only points at them (a 60 GB copy is rarely what anyone wants); with
`copy=True` they are copied into the models folder (through `.partial` names, after a free-space
check), so the model survives the original being moved. An imported model is "not verified": there
is no published hash to hold it against.

A file another app keeps (the Hugging Face cache, LM Studio, Ollama: `app.models.found`) is recognised
whichever way it comes (a scan's "Use it", the file dialog, a drop, the command line): it is recorded
where it is, under that app's name for it (`gpt-oss:20b`, not `sha256-…`), with the app that keeps it,
so the library can warn that the app may delete it. Never copied, never hard-linked: a link into another
app's store would keep the bytes alive after that app deleted the model, unseen by either. A file that
app's format keeps from llama.cpp (Ollama's own conversion) is refused with the scan's reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from app.models.errors import ModelsError, NotEnoughDisk, NotUsable
from app.models.found import identify
from app.models.found_verdict import FoundModel
from app.models.gguf_check import inspect_model
from app.models.library import PARTIAL_SUFFIX, InstalledModel, Library, slug
from app.units import format_bytes

IMPORT_FOLDER = "imported"
COPY_BLOCK = 16 * 1024 * 1024


def import_model(source: Path, library: Library, *, copy: bool = False,
                 on_progress: Callable[[int, int], None] | None = None) -> InstalledModel:
    """Check and register a local model; returns the library entry (the existing one if already there)."""
    path = Path(source).expanduser()
    found = identify(path)
    if found is not None and not found.usable:
        raise NotUsable(found.reason, problem=found.problem)
    if found is not None and not copy:
        return import_found(found, library)
    header = inspect_model(path)
    existing = _recorded(library, header.path)
    if existing is not None:
        return existing
    parts = header.parts
    if copy and not library.owns(header.path):
        parts = _copy_parts(header.parts, library, header.size, on_progress)
    name = found.name if found is not None else header.name
    return library.add(InstalledModel(
        id=library.unique_id(f"import--{slug(name)}"), name=name,
        quantization=header.quantization, size=header.size, parts=tuple(parts), verified=False,
        source="import",
    ))


def import_found(found: FoundModel, library: Library) -> InstalledModel:
    """Use a model another app keeps where it is: the library records its path and the app that keeps it."""
    if not found.usable:
        raise NotUsable(found.reason, problem=found.problem)
    existing = _recorded(library, found.path)
    if existing is not None:
        return existing
    header = inspect_model(found.path)  # again: the other app may have changed the file since the scan
    return library.add(InstalledModel(
        id=library.unique_id(f"{found.source}--{slug(found.name)}"), name=found.name,
        quantization=found.quantization or header.quantization, size=header.size, parts=header.parts,
        verified=False, source="import", repo=found.repo, commit=found.revision,
        catalog_id=found.catalog_id, kept_by=found.source,
    ))


def _recorded(library: Library, path: Path) -> InstalledModel | None:
    """The library's entry for the model whose first file is `path`, if it has one."""
    wanted = path.resolve()
    return next((model for model in library.list()
                 if model.source != "folder" and model.path.resolve() == wanted), None)


def _copy_parts(parts: tuple[Path, ...], library: Library, total: int,
                on_progress: Callable[[int, int], None] | None) -> tuple[Path, ...]:
    folder = library.models_dir / IMPORT_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    targets = tuple(folder / part.name for part in parts)
    taken = [t for t in targets if t.exists()]
    if taken:
        raise ModelsError(f"{taken[0]} already exists in the models folder. Remove that model first, or "
                          "import without copying.")
    free = shutil.disk_usage(folder).free
    if free < total:
        raise NotEnoughDisk(f"Not enough free disk space to copy the model: it has {format_bytes(total)}, "
                            f"{folder} has {format_bytes(free)} free. Import it without copying, or free up "
                            "space.", total, free, folder)
    done = 0
    partials = [t.with_name(t.name + PARTIAL_SUFFIX) for t in targets]
    try:
        for part, partial in zip(parts, partials, strict=True):
            with open(part, "rb") as source, open(partial, "wb") as target:
                while block := source.read(COPY_BLOCK):
                    target.write(block)
                    done += len(block)
                    if on_progress:
                        on_progress(done, total)
        for partial, target in zip(partials, targets, strict=True):
            partial.replace(target)
    except BaseException as exc:
        for partial in partials:
            partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ModelsError(f"Copying the model into {folder} failed: {exc.strerror or exc}. Nothing was "
                              "imported; free up space or import without copying.") from None
        raise
    return targets
