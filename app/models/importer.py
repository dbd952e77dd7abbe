"""Import of a `.gguf` the user already has: from a file dialog, the command line, or a file dropped later.

The header is checked first (by the planner's reader): a broken or truncated file, a split set with a
part missing, or a model of another family is refused with a message saying which and what to do,
and nothing is recorded. Any part of a split set finds the others. By default the files stay where
they are and the library only points at them (a 60 GB copy is rarely what anyone wants); with
`copy=True` they are copied into the models folder (through `.partial` names, after a free-space
check), so the model survives the original being moved. An imported model is "not verified": there
is no published hash to hold it against.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from app.models.errors import ModelsError, NotEnoughDisk
from app.models.gguf_check import inspect_model
from app.models.library import PARTIAL_SUFFIX, InstalledModel, Library, slug
from app.units import format_bytes

IMPORT_FOLDER = "imported"
COPY_BLOCK = 16 * 1024 * 1024


def import_model(source: Path, library: Library, *, copy: bool = False,
                 on_progress: Callable[[int, int], None] | None = None) -> InstalledModel:
    """Check and register a local model; returns the library entry (the existing one if already there)."""
    header = inspect_model(Path(source).expanduser())
    for model in library.list():
        if model.source != "folder" and model.path.resolve() == header.path.resolve():
            return model
    parts = header.parts
    if copy and not library.owns(header.path):
        parts = _copy_parts(header.parts, library, header.size, on_progress)
    return library.add(InstalledModel(
        id=library.unique_id(f"import--{slug(header.name)}"), name=header.name,
        quantization=header.quantization, size=header.size, parts=tuple(parts), verified=False,
        source="import",
    ))


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
