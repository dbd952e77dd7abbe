"""Is this GGUF a gpt-oss model Ossian can run? The profile reader (`app.gguf`) answers; this maps its answer.

Used after a download (before the files are registered) and on import. The header walk, the split-set
search from any part and the error wording all belong to the profile reader (`read_profile`); this module
turns its `ModelFileError` into the models room's `NotUsable` and keeps what the library records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from app.models.errors import NotUsable
from app.models.naming import model_stem, quantization_from_name

# The profile reader ends a message about a broken file with what to do about a local copy; a caller
# that knows better (a download that matched the Hub's hash) words its own advice, so it gets the reason
# without it.
_COPY_ADVICE = re.compile(r"[\s:;.]*(?:the download or copy was cut short[;.]\s*)?"
                          r"download (?:or copy )?(?:it|them|the model) again\.?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ModelHeader:
    path: Path  # the file to load: the first part of a split model
    parts: tuple[Path, ...]
    size: int
    name: str
    quantization: str | None


def inspect_model(path: Path) -> ModelHeader:
    """Check the header of a model (any part of a split set); `NotUsable` says what is wrong."""
    # Imported here: the reader brings gguf and numpy, which listing models at start-up never needs.
    from app.gguf import ModelFileError, read_profile

    try:
        profile = read_profile(path)
    except ModelFileError as exc:
        raise NotUsable(exc.message, reason=_COPY_ADVICE.sub("", exc.message), problem=exc.problem) from None
    return ModelHeader(
        path=profile.path,
        parts=profile.parts,
        size=profile.file_bytes,
        name=model_stem(profile.path.name),
        quantization=quantization_from_name(profile.path.name) or file_type_label(profile.file_type),
    )


def file_type_label(file_type: int | None) -> str | None:
    """llama.cpp's file type as a label (MOSTLY_MXFP4_MOE -> MXFP4_MOE) for names that carry none."""
    if file_type is None:
        return None
    import gguf

    try:
        name = gguf.LlamaFileType(file_type).name
    except ValueError:
        return None
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")
