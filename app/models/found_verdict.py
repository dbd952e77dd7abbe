"""Can Ossian run what another app downloaded? The verdict on one found candidate, said plainly.

One job: turn a candidate of the scan (`app.models.found.Candidate`) into a `FoundModel`: usable, or not
with a reason a person can act on, and the catalog's GGUF to download in its place when there is one.
Nothing here walks folders or writes anything.

The checks, cheapest first, so a disk full of other models costs almost nothing:

1. `peek_header` reads a GGUF's metadata up to its architecture with `struct` over a memory map (no numpy,
   no `gguf` import, no tensor data): a file of another family is left out after a few hundred bytes
   unless its name says gpt-oss (then the reason says what it is).
2. A gpt-oss file gets the full header check of `app.gguf.read_profile` (every split part there and
   consistent, no part shorter than its header says, the hyperparameters sound, tensor types known),
   then a check that its tensors carry the names llama.cpp's gpt-oss loader looks up.

What cannot be used, and why (found out from the files, not assumed):
- a Hub snapshot of `openai/gpt-oss-*` is the original checkpoint (safetensors, for Transformers and vLLM);
  llama.cpp needs a GGUF: the reason offers the catalog's GGUF, or llama.cpp's converter;
- Ollama's own gpt-oss (`ollama pull gpt-oss:20b`) is Ollama's conversion: its header names the
  architecture `gptoss`, not `gpt-oss`, its attention and expert projections are fused tensors
  (`attn_qkv`, `ffn_gate_up_exps`) and its MXFP4 tensors carry type number 4, a slot llama.cpp retired
  (its MXFP4 is 39). llama.cpp refuses it; only Ollama's engine runs it. A GGUF Ollama pulled from the
  Hub (`ollama pull hf.co/ggml-org/gpt-oss-20b-GGUF`) is the llama.cpp file itself and is used as is.
"""

from __future__ import annotations

import mmap
import re
import struct
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from app.models.naming import quantization_from_name
from app.models.stores import APP_NAMES, STORE_LABELS, StoreSource
from app.text_safety import shown_name
from app.units import format_bytes

if TYPE_CHECKING:  # the scan imports this module; the candidate's type is all that is needed here
    from app.gguf import GgufProfile
    from app.models.catalog import Catalog
    from app.models.found import Candidate

GPT_OSS = "gpt-oss"
OLLAMA_ARCHITECTURE = "gptoss"  # Ollama's converter (convert/convert_gptoss.go) writes this name
GGUF_MAGIC = b"GGUF"
# Kept whole when peeking; longer arrays (the vocabulary) are only skipped.
PEEK_ARRAY_LIMIT = 64
PEEK_BYTES = 64 * 1024  # read first; the whole header is mapped only when the answer is not in them
# llama.cpp's gpt-oss loader (openai-moe) looks these up in every block; a file without them is another
# program's layout, which llama.cpp refuses after reading the whole header.
BLOCK_TENSORS = ("attn_norm", "post_attention_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                 "attn_sinks", "ffn_gate_inp", "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps")
MODEL_TENSORS = ("token_embd.weight", "output_norm.weight")

FoundProblem = Literal[
    "checkpoint",       # original safetensors weights, not a GGUF
    "ollama_format",    # Ollama's own gpt-oss conversion
    "foreign_layout",   # says gpt-oss, but its tensors are not what llama.cpp's loader looks up
    "wrong_architecture",  # named gpt-oss, but another model family
    "not_gguf",         # named gpt-oss, but not a GGUF file
    "missing_parts",    # a split set with parts absent
    "truncated", "damaged", "unsupported", "unreadable", "missing",  # the header check's kinds
]


@dataclass(frozen=True)
class FoundModel:
    """A gpt-oss model another app keeps: where, how big, and whether Ossian can run it as it is."""

    source: StoreSource
    path: Path  # the file to load (first part of a split set); a checkpoint's snapshot folder
    parts: tuple[Path, ...]
    name: str
    size: int
    usable: bool
    store_root: Path
    reason: str = ""  # why not, and what to do instead ('' when usable)
    problem: FoundProblem | None = None
    quantization: str | None = None
    repo: str | None = None
    revision: str | None = None
    tags: tuple[str, ...] = ()
    catalog_id: str | None = None  # the catalog model this file is (a usable one)
    download_instead: str | None = None  # the catalog GGUF to download in its place (an unusable one)
    architecture: str | None = field(default=None, compare=False)

    @property
    def store_label(self) -> str:
        return STORE_LABELS[self.source]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": str(self.path), "source": self.source, "size": self.size, "usable": self.usable,
            "name": self.name, "parts": [str(p) for p in self.parts], "quantization": self.quantization,
            "repo": self.repo, "revision": self.revision, "tags": list(self.tags),
            "store": str(self.store_root), "catalog_id": self.catalog_id,
        }
        if not self.usable:
            data.update(reason=self.reason, problem=self.problem, download_instead=self.download_instead)
        return data


def judge(candidate: Candidate, catalog: Catalog | None) -> FoundModel | None:
    """The verdict on one candidate; None when it is not gpt-oss and nothing about it says it is."""
    if candidate.kind == "checkpoint":
        return _checkpoint(candidate, catalog)
    try:
        peek = peek_header(candidate.path)
    except HeaderUnreadable as exc:
        if not candidate.named_gpt_oss:
            return None
        return _unusable(candidate, "not_gguf", f"{_shown(candidate)} is not a GGUF model file: {exc}.",
                         catalog)
    architecture = peek.metadata.get("general.architecture")
    if architecture == OLLAMA_ARCHITECTURE:
        return _ollama_conversion(candidate, catalog)
    if architecture != GPT_OSS:
        if not candidate.named_gpt_oss:
            return None
        what = f"a {architecture} model" if isinstance(architecture, str) else "a GGUF that names no model"
        return _unusable(candidate, "wrong_architecture", f"{_shown(candidate)} is {what}, not gpt-oss, "
                         "although its name says gpt-oss.", catalog, architecture=architecture)
    if candidate.missing:
        count = len(candidate.parts) + len(candidate.missing)
        return _unusable(candidate, "missing_parts",
                         f"{_shown(candidate)} is split into {count} files and "
                         f"{', '.join(candidate.missing)} {'is' if len(candidate.missing) == 1 else 'are'} "
                         f"not in {_folder(candidate)}. "
                         f"Let {APP_NAMES[candidate.store.source]} finish the download, or download it there "
                         "again.", catalog)
    # Imported here: the reader brings gguf and numpy, which a store holding no gpt-oss never needs.
    from app.gguf import ModelFileError, read_profile

    try:
        profile = read_profile(candidate.path)
    except ModelFileError as exc:
        return _unusable(candidate, exc.problem, _with_store_advice(exc.message, candidate), catalog)
    absent = layout_gaps(profile)
    if absent:
        more = f" and {len(absent) - 1} more" if len(absent) > 1 else ""
        return _unusable(candidate, "foreign_layout",
                         f"{_shown(candidate)} says it is gpt-oss, but its tensors are not the ones "
                         f"llama.cpp's gpt-oss loader looks up (it has no {absent[0]}{more}): another "
                         "program converted it, and llama.cpp cannot load it.", catalog)
    return FoundModel(
        source=candidate.store.source, path=candidate.path, parts=candidate.parts, name=candidate.name,
        size=candidate.size, usable=True, store_root=candidate.store.root,
        quantization=_quantization(candidate, profile.file_type), repo=candidate.repo,
        revision=candidate.revision, tags=candidate.tags, catalog_id=_catalog_id(candidate, catalog),
        architecture=GPT_OSS,
    )


def layout_gaps(profile: GgufProfile) -> list[str]:
    """The tensors llama.cpp's gpt-oss loader needs that the file lacks (weights; biases are optional)."""
    names = {tensor.name for tensor in profile.tensors}
    needed = list(MODEL_TENSORS)
    needed += [f"blk.{block}.{tensor}.weight" for block in range(profile.hparams.n_blocks)
               for tensor in BLOCK_TENSORS]
    return [name for name in needed if name not in names]


# -- the header, peeked ---------------------------------------------------------------------------------


class HeaderUnreadable(Exception):
    """Not a GGUF file, or one whose header ends early; the text says which, for a reason line."""


@dataclass(frozen=True)
class HeaderPeek:
    """What the start of a GGUF says: its metadata (long arrays as their length), and its tensors
    (name and type number) when asked for."""

    version: int
    metadata: dict[str, Any]
    tensors: tuple[tuple[str, int], ...] = ()


_SCALARS: dict[int, str] = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


def peek_header(path: Path, *, tensors: bool = False) -> HeaderPeek:
    """Read a GGUF's metadata, stopping at the architecture unless `tensors` asks for the tensor infos
    too (which walks past the vocabulary). Only the standard library: quick enough for hundreds of files.
    Every count is bounded by the bytes the file has, as in `app.gguf.header`."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(PEEK_BYTES)
            if len(start) < 24:
                raise HeaderUnreadable("it is too short to be one" if start else "it is empty")
            if not tensors:
                # The architecture is the first key in every writer's output: the first few KiB answer,
                # without mapping a file that may be 60 GB.
                try:
                    return _Peeker(start, len(start)).read(tensors, partial=len(start) == PEEK_BYTES)
                except _NeedMore:
                    pass
            size = handle.seek(0, 2)
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
                return _Peeker(buffer, size).read(tensors)
    except OSError as exc:
        raise HeaderUnreadable(f"it could not be read ({exc.strerror or exc})") from None


class _Peeker:
    def __init__(self, buffer: mmap.mmap | bytes, size: int) -> None:
        self.buffer, self.size, self.pos = buffer, size, 0

    def read(self, tensors: bool, partial: bool = False) -> HeaderPeek:
        """The header; with `partial` (the buffer is the file's start only), running out of bytes asks
        for the whole file (`_NeedMore`) instead of calling the file cut short."""
        if self.buffer[:4] != GGUF_MAGIC:
            raise HeaderUnreadable(_what_instead(bytes(self.buffer[:64])))
        try:
            return self._read(tensors)
        except HeaderUnreadable:
            if partial:
                raise _NeedMore from None
            raise

    def _read(self, tensors: bool) -> HeaderPeek:
        if self.buffer[:4] != GGUF_MAGIC:
            raise HeaderUnreadable(_what_instead(bytes(self.buffer[:64])))
        self.pos = 4
        try:
            version = self.unpack("<I")
            n_tensors = self.unpack("<Q")
            n_kv = self.unpack("<Q")
            if n_kv * 12 > self.size or n_tensors * 24 > self.size:
                raise HeaderUnreadable("its header is damaged (impossible counts)")
            metadata: dict[str, Any] = {}
            for _ in range(n_kv):
                key = self.string()
                metadata[key] = self.value(self.unpack("<I"), 0)
                if key == "general.architecture" and not tensors:
                    return HeaderPeek(version, metadata)
            infos: list[tuple[str, int]] = []
            if tensors:
                for _ in range(n_tensors):
                    name = self.string()
                    n_dims = self.unpack("<I")
                    if n_dims > 8:
                        raise HeaderUnreadable("its header is damaged (a tensor of more than 8 dimensions)")
                    self.skip(8 * n_dims)
                    infos.append((name, self.unpack("<I")))
                    self.skip(8)
            return HeaderPeek(version, metadata, tuple(infos))
        except _End:
            raise HeaderUnreadable("it ends inside its header, so it was cut short") from None

    def unpack(self, fmt: str) -> Any:
        width = struct.calcsize(fmt)
        if self.pos + width > self.size:
            raise _End
        (value,) = struct.unpack_from(fmt, self.buffer, self.pos)
        self.pos += width
        return value

    def skip(self, count: int) -> None:
        if self.pos + count > self.size:
            raise _End
        self.pos += count

    def string(self) -> str:
        length = self.unpack("<Q")
        self.skip(length)
        return bytes(self.buffer[self.pos - length:self.pos]).decode("utf-8", errors="replace")

    def value(self, kind: int, depth: int) -> Any:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind != _ARRAY or depth > 4:
            raise HeaderUnreadable(f"its header is damaged (value type {kind})")
        item = self.unpack("<I")
        count = self.unpack("<Q")
        if count * (struct.calcsize(_SCALARS[item]) if item in _SCALARS else 8) > self.size - self.pos:
            raise _End
        if count <= PEEK_ARRAY_LIMIT:
            return [self.value(item, depth + 1) for _ in range(count)]
        if item in _SCALARS:
            self.skip(count * struct.calcsize(_SCALARS[item]))
        else:
            for _ in range(count):
                self.value(item, depth + 1)
        return count


class _End(Exception):
    pass


class _NeedMore(Exception):
    """The first bytes did not hold the answer: read the header from the whole file."""


def _what_instead(start: bytes) -> str:
    head = start.lstrip().lower()
    if head.startswith(b"{"):
        return "it is JSON text"
    if head.startswith(b"version https://git-lfs"):
        return "it is a Git LFS pointer, not the file itself"
    if len(start) >= 9 and start[8:9] == b"{":
        return "it is a safetensors file"
    return "it does not start with the GGUF signature"


# -- the verdicts that say no ---------------------------------------------------------------------------


def _checkpoint(candidate: Candidate, catalog: Catalog | None) -> FoundModel:
    instead = _official(catalog, _family_from_config(candidate.config or {}) or _family_from_name(candidate))
    reason = (f"{_shown(candidate)} in the Hugging Face cache is the original checkpoint "
              f"({format_bytes(candidate.size)} of safetensors, for Transformers and vLLM), not a GGUF file, "
              f"which is what llama.cpp runs. {_download_offer(catalog, instead)} Or convert this one with "
              "llama.cpp's convert_hf_to_gguf.py and import the .gguf file it writes.")
    return _unusable(candidate, "checkpoint", reason, catalog, instead=instead)


def _ollama_conversion(candidate: Candidate, catalog: Catalog | None) -> FoundModel:
    try:
        peek = peek_header(candidate.path, tensors=True)
        details = _ollama_details(peek)
    except HeaderUnreadable:
        peek, details = None, ""
    family = _family_from_experts(peek.metadata.get(f"{OLLAMA_ARCHITECTURE}.expert_count") if peek else None)
    instead = _official(catalog, family or _family_from_name(candidate))
    reason = (f"{_shown(candidate)} is Ollama's own conversion of gpt-oss: its header names the "
              f"architecture \"{OLLAMA_ARCHITECTURE}\" where llama.cpp expects \"{GPT_OSS}\"{details}. "
              "llama.cpp cannot load it; only Ollama's engine runs it. "
              f"{_download_offer(catalog, instead)} Ollama keeps its own copy either way.")
    return _unusable(candidate, "ollama_format", reason, catalog, instead=instead,
                     architecture=OLLAMA_ARCHITECTURE)


def _ollama_details(peek: HeaderPeek) -> str:
    """What else in the header differs from llama.cpp's gpt-oss, as found (not assumed)."""
    import gguf  # the format's type numbers; only reached for an Ollama conversion

    names = {name for name, _type in peek.tensors}
    known = {int(t) for t in gguf.GGMLQuantizationType}
    notes = []
    fused = [name for name in ("blk.0.attn_qkv.weight", "blk.0.ffn_gate_up_exps.weight") if name in names]
    if fused:
        notes.append(f"its projections are fused ({', '.join(fused)}, where llama.cpp has separate "
                     "attn_q/attn_k/attn_v and ffn_gate_exps/ffn_up_exps)")
    unknown = sorted({kind for _name, kind in peek.tensors if kind not in known})
    if unknown:
        count = sum(1 for _name, kind in peek.tensors if kind in unknown)
        kinds = ", ".join(str(kind) for kind in unknown)
        notes.append(f"{count} tensors are stored as type {kinds}, a number llama.cpp does not have "
                     "(Ollama's MXFP4; llama.cpp's is 39)")
    return "; " + "; and ".join(notes) if notes else ""


def _unusable(candidate: Candidate, problem: FoundProblem, reason: str, catalog: Catalog | None, *,
              instead: str | None = None, architecture: Any = None) -> FoundModel:
    if instead is None and problem not in ("missing_parts", "truncated"):
        instead = _official(catalog, _family_from_name(candidate))
    return FoundModel(
        source=candidate.store.source, path=candidate.path, parts=candidate.parts, name=candidate.name,
        size=candidate.size, usable=False, store_root=candidate.store.root, reason=reason, problem=problem,
        quantization=_quantization(candidate, None), repo=candidate.repo, revision=candidate.revision,
        tags=candidate.tags, download_instead=instead,
        architecture=architecture if isinstance(architecture, str) else None,
    )


# -- naming and the catalog -----------------------------------------------------------------------------


def _shown(candidate: Candidate) -> str:
    return shown_name(candidate.name if candidate.kind == "gguf" or not candidate.repo else candidate.repo)


def _folder(candidate: Candidate) -> str:
    return shown_name(str(candidate.path.parent))


_COPY_ADVICE = re.compile(r"\s*(?:the download or copy was cut short[;.]\s*)?"
                          r"(?:download|copy) (?:or copy )?(?:it|them|the model) again\.?\s*$", re.IGNORECASE)


def _with_store_advice(message: str, candidate: Candidate) -> str:
    """The header check's sentence, its "download it again" advice pointed at the app that keeps it."""
    bare = _COPY_ADVICE.sub("", message).rstrip(" .;:")
    keeper = APP_NAMES[candidate.store.source]
    return f"{bare}. {keeper} keeps this file: let it finish the download, or repeat it there."


def _quantization(candidate: Candidate, file_type: int | None) -> str | None:
    for text in (candidate.relative, candidate.name, *candidate.tags):
        label = quantization_from_name(PurePosixPath(text.replace(":", "-")).name + ".gguf") if text else None
        if label:
            return label
    if file_type is None:
        return None
    from app.models.gguf_check import file_type_label

    return file_type_label(file_type)


def _catalog_id(candidate: Candidate, catalog: Catalog | None) -> str | None:
    """The catalog entry this file is: same repository, a file the entry's patterns pick."""
    if catalog is None or not candidate.repo:
        return None
    name = PurePosixPath(candidate.relative).name
    for entry in catalog.entries:
        if entry.repo.lower() != candidate.repo.lower():
            continue
        if any(fnmatch(candidate.relative, pattern) or fnmatch(name, pattern) for pattern in entry.files):
            return entry.id
    return None


def _official(catalog: Catalog | None, family: str | None) -> str | None:
    if catalog is None or family is None:
        return None
    entry = next((e for e in catalog.entries if e.family == family and e.official), None)
    return entry.id if entry else None


def _download_offer(catalog: Catalog | None, entry_id: str | None) -> str:
    entry = catalog.find(entry_id) if catalog is not None and entry_id else None
    if entry is None:
        return "Download a gpt-oss GGUF from the catalog instead."
    return (f"Download the GGUF build instead: {entry.name}, about {format_bytes(entry.approx_bytes)} "
            f"(`ossian models download {entry.id}`).")


def _family_from_config(config: dict[str, Any]) -> str | None:
    return _family_from_experts(config.get("num_local_experts") or config.get("num_experts"))


def _family_from_experts(experts: Any) -> str | None:
    return {32: "gpt-oss-20b", 128: "gpt-oss-120b"}.get(experts) if isinstance(experts, int) else None


def _family_from_name(candidate: Candidate) -> str | None:
    text = " ".join((candidate.name, candidate.repo or "", *candidate.tags)).lower()
    if "120b" in text:
        return "gpt-oss-120b"
    if "20b" in text or "gpt-oss:latest" in text:  # Ollama's `gpt-oss` without a tag is the 20b
        return "gpt-oss-20b"
    return None
