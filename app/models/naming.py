"""What GGUF file names say: split parts, the quantization, a readable model name.

llama.cpp's `gguf-split` names the parts of one model `<stem>-00001-of-00003.gguf` and so on; a split
model is loaded from its first part and must have every part next to it. Publishers name the
quantization in the file name (`gpt-oss-20b-Q4_K_M.gguf`, `gpt-oss-120b-mxfp4-00001-of-00003.gguf`).
This module only reads names; what a file really holds is the GGUF header's business (the planner).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

GGUF_SUFFIX = ".gguf"
_SPLIT_RE = re.compile(r"^(?P<stem>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
# Publishers' quantization labels: MXFP4, F16/BF16/F32, Q4_K_M, Q8_0, IQ4_XS, Unsloth's UD-Q4_K_XL.
_QUANT_RE = re.compile(
    r"(?:^|[-_.])(?P<quant>(?:UD-)?(?:IQ\d_[A-Z0-9]+(?:_[A-Z0-9]+)*|Q\d(?:_[A-Z0-9]+)*|MXFP4(?:_MOE)?|BF16|F16|F32))"
    r"(?=$|[-_.])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SplitName:
    """One part of a split model: `stem-<index>-of-<count>.gguf` (index from 1)."""

    stem: str
    index: int
    count: int


@dataclass(frozen=True)
class FileGroup:
    """The files of one model in a listing: a single file, or the parts of a split set in order."""

    stem: str
    parts: tuple[str, ...]
    expected_parts: int

    @property
    def complete(self) -> bool:
        return len(self.parts) == self.expected_parts

    @property
    def first(self) -> str:
        return self.parts[0]


def parse_split(name: str) -> SplitName | None:
    """The split numbering of a file name (a path is fine: only its last part counts)."""
    match = _SPLIT_RE.match(PurePosixPath(name).name)
    if match is None:
        return None
    return SplitName(match["stem"], int(match["index"]), int(match["count"]))


def split_part_name(stem: str, index: int, count: int) -> str:
    return f"{stem}-{index:05d}-of-{count:05d}{GGUF_SUFFIX}"


def is_gguf(name: str) -> bool:
    return name.lower().endswith(GGUF_SUFFIX)


def model_stem(name: str) -> str:
    """The model's name without folder, split numbering or `.gguf`."""
    split = parse_split(name)
    if split is not None:
        return split.stem
    base = PurePosixPath(name).name
    return base[: -len(GGUF_SUFFIX)] if is_gguf(base) else base


def group_gguf_files(paths: Iterable[str]) -> list[FileGroup]:
    """Group `.gguf` paths (relative, with '/' separators) into models; other files are ignored.

    Parts of one split set must sit in the same folder; a set with missing parts is still returned
    (`complete` is False) so that callers can say which part is missing.
    """
    singles: list[FileGroup] = []
    split_sets: dict[tuple[str, str, int], dict[int, str]] = {}
    for path in paths:
        if not is_gguf(path):
            continue
        split = parse_split(path)
        if split is None:
            singles.append(FileGroup(model_stem(path), (path,), 1))
            continue
        folder = str(PurePosixPath(path).parent)
        split_sets.setdefault((folder, split.stem, split.count), {})[split.index] = path
    groups = list(singles)
    for (_folder, stem, count), parts in split_sets.items():
        groups.append(FileGroup(stem, tuple(parts[i] for i in sorted(parts)), count))
    return sorted(groups, key=lambda group: group.first.lower())


def missing_parts(group: FileGroup) -> list[str]:
    """The names of the parts a split set lacks (empty when complete or a single file)."""
    first = parse_split(group.first)
    if first is None:
        return []
    folder = PurePosixPath(group.first).parent
    present = {split.index for part in group.parts if (split := parse_split(part)) is not None}
    return [str(folder / split_part_name(first.stem, i, first.count)).removeprefix("./")
            for i in range(1, first.count + 1) if i not in present]


def quantization_from_name(name: str) -> str | None:
    """The quantization label in a file name, upper-cased (`MXFP4`, `Q4_K_M`), or None."""
    matches = list(_QUANT_RE.finditer(model_stem(name)))
    if not matches:
        return None
    # The label sits at the end of the stem by convention; the last match avoids model-name words.
    return matches[-1]["quant"].upper()
