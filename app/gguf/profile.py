"""The profile of a gpt-oss GGUF model: its hyperparameters and where its bytes are.

`read_profile(path)` reads the header of every part of a (possibly split) model and groups the tensor
bytes the way placement decisions need them:

- per block, the expert weights (`ffn_{gate,up,down}_exps.weight`): what an expert override keeps in
  host memory; their small biases stay with the rest of the block on purpose (measured faster elsewhere);
- per block, everything else ("dense": attention, router, norms, sinks, expert biases);
- the output layer (`output.weight`, `output_norm`), offloaded as llama.cpp's last "layer";
- the token embedding, which llama.cpp always keeps in host memory.

It never reads tensor data, so it is quick even on a 61 GB model, and it checks what can be checked
from the outside: the file is there, is GGUF, is complete (every split part present, no part shorter
than its header says) and is gpt-oss. Anything else raises `ModelFileError` with a message to show.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.gguf.errors import ModelFileError
from app.gguf.header import ArraySummary, GgufHeader, read_header

ARCHITECTURE = "gpt-oss"
SPLIT_NAME = re.compile(r"^(?P<prefix>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")
EXPERT_WEIGHT = re.compile(r"^blk\.(\d+)\.ffn_(gate|up|down)_exps\.weight$")
BLOCK_TENSOR = re.compile(r"^blk\.(\d+)\.")
# Where llama.cpp's gpt-oss graph reads these from when the file does not say (llama.cpp openai-moe.cpp).
DEFAULT_SWA_PATTERN = 2


@dataclass(frozen=True)
class Hyperparameters:
    n_blocks: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim_k: int
    head_dim_v: int
    n_experts: int
    n_experts_used: int
    expert_ffn: int
    n_vocab: int
    n_ctx_train: int
    sliding_window: int
    swa_blocks: tuple[bool, ...]  # per block: True where attention is sliding-window

    @property
    def n_full_attention_blocks(self) -> int:
        return self.swa_blocks.count(False)

    @property
    def n_swa_blocks(self) -> int:
        return self.swa_blocks.count(True)


@dataclass(frozen=True)
class BlockBytes:
    experts: int  # the expert weight tensors: what an expert override moves to host memory
    dense: int  # the rest of the block: what stays with the block's device


@dataclass(frozen=True)
class TensorBytes:
    name: str
    type_name: str
    dims: tuple[int, ...]
    nbytes: int
    part: int  # index into GgufProfile.parts


@dataclass(frozen=True)
class GgufProfile:
    path: Path  # the file to load: the first part of a split model
    parts: tuple[Path, ...]
    file_bytes: int  # all parts together
    architecture: str
    name: str
    file_type: int | None
    hparams: Hyperparameters
    blocks: tuple[BlockBytes, ...]
    output_bytes: int  # output.weight and output_norm: offloaded with llama.cpp's output "layer"
    token_embd_bytes: int  # stays in host memory whatever the plan
    tensors: tuple[TensorBytes, ...]

    @property
    def expert_bytes(self) -> int:
        return sum(block.experts for block in self.blocks)

    @property
    def dense_block_bytes(self) -> int:
        return sum(block.dense for block in self.blocks)

    @property
    def tensor_bytes(self) -> int:
        return self.expert_bytes + self.dense_block_bytes + self.output_bytes + self.token_embd_bytes

    @property
    def offloadable_dense_bytes(self) -> int:
        """What goes to a GPU when every layer is offloaded and every expert stays in host memory."""
        return self.dense_block_bytes + self.output_bytes

    @property
    def fingerprint(self) -> str:
        """Identifies the model's memory needs: equal for copies and renames, different for another model
        or quantization. Taken from the tensor layout and hyperparameters, not the path or the date."""
        digest = hashlib.sha256(repr(self.hparams).encode())
        for tensor in self.tensors:
            digest.update(f"{tensor.name}:{tensor.type_name}:{tensor.dims}".encode())
        return digest.hexdigest()[:16]


def read_profile(path: str | Path) -> GgufProfile:
    """Profile the model at `path` (any part of a split model finds the others). Raises ModelFileError."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelFileError(path, "missing", f"There is no file at {path}. Check the path, or download the "
                                              "model again.")
    if path.is_dir():
        raise ModelFileError(path, "unreadable", f"{path} is a folder; choose the .gguf file inside it.")
    parts = _find_parts(path)
    headers = [read_header(part) for part in parts]
    first = headers[0]
    _check_splits(headers)
    for header in headers:
        if header.file_size < header.data_end:
            share = header.file_size / header.data_end
            raise ModelFileError(header.path, "truncated",
                                 f"{header.path.name} is incomplete: it has {header.file_size:,} of its "
                                 f"{header.data_end:,} bytes ({share:.0%}). The download or copy was cut "
                                 "short; download it again.")
    architecture = first.metadata.get("general.architecture")
    if architecture != ARCHITECTURE:
        found = (f"a {architecture} model" if isinstance(architecture, str)
                 else "a GGUF file that names no architecture")
        raise ModelFileError(path, "wrong_architecture",
                             f"{path.name} is {found}. Ossian runs OpenAI's gpt-oss models (gpt-oss-20b, "
                             "gpt-oss-120b); choose a gpt-oss GGUF.")
    tensors = tuple(TensorBytes(t.name, t.type_name, t.dims, t.nbytes, index)
                    for index, header in enumerate(headers) for t in header.tensors)
    hparams = _hyperparameters(first, path, len(tensors))
    blocks, output, token_embd = _group(tensors, hparams.n_blocks, path)
    file_type = first.metadata.get("general.file_type")
    return GgufProfile(
        path=parts[0], parts=tuple(parts), file_bytes=sum(h.file_size for h in headers),
        architecture=ARCHITECTURE, name=str(first.metadata.get("general.name", parts[0].stem)),
        file_type=file_type if isinstance(file_type, int) else None,
        hparams=hparams, blocks=blocks, output_bytes=output, token_embd_bytes=token_embd, tensors=tensors,
    )


def _find_parts(path: Path) -> list[Path]:
    match = SPLIT_NAME.match(path.name)
    if not match:
        return [path]
    count = int(match["count"])
    if count < 1 or int(match["no"]) > count:
        raise ModelFileError(path, "damaged", f"{path.name} is named as part {int(match['no'])} of {count}, "
                                              "which cannot be; rename it as the download named it.")
    parts = [path.with_name(f"{match['prefix']}-{no:05d}-of-{count:05d}.gguf") for no in range(1, count + 1)]
    missing = [part.name for part in parts if not part.is_file()]
    if missing:
        raise ModelFileError(path, "missing_parts",
                             f"{path.name} is one of {count} parts of a split model, and "
                             f"{_count(len(missing), 'part is', 'parts are')} missing from {path.parent}: "
                             f"{', '.join(missing)}. Put all the parts in the same folder.")
    return parts


def _check_splits(headers: list[GgufHeader]) -> None:
    count = len(headers)
    first = headers[0]
    declared = first.metadata.get("split.count", 1)
    if declared != count:
        if count == 1:
            raise ModelFileError(first.path, "missing_parts",
                                 f"{first.path.name} is part of a model split into {declared} files, but "
                                 "its name does not say which part it is, so the others cannot be found. "
                                 "Keep the names the download gave them (…-00001-of-0000N.gguf).")
        raise ModelFileError(first.path, "damaged", f"{first.path.name} says the model has {declared} parts, "
                                                    f"its name says {count}. Download the model again.")
    for index, header in enumerate(headers):
        number = header.metadata.get("split.no", 0)
        if number != index:
            raise ModelFileError(header.path, "damaged",
                                 f"{header.path.name} holds part {number + 1} of the split model, not part "
                                 f"{index + 1} as its name says. Download the model again.")
    expected = first.metadata.get("split.tensors.count")
    found = sum(len(header.tensors) for header in headers)
    if count > 1 and expected != found:
        raise ModelFileError(first.path, "damaged",
                             f"The parts of {first.path.name} hold {found} tensors together, the first part "
                             f"says {expected}: the parts are from different downloads. Download them again.")


def _hyperparameters(header: GgufHeader, path: Path, n_tensors: int) -> Hyperparameters:
    """The numbers the planner computes with, each checked for what it must be: a hostile or broken file
    could otherwise make the planner divide by zero, allocate per block for four billion blocks, or pass
    llama.cpp a model it aborts on (no expert used)."""
    meta = header.metadata

    def key(name: str, default: Any = None) -> Any:
        value = meta.get(f"{ARCHITECTURE}.{name}", default)
        if value is None:
            raise ModelFileError(path, "damaged", f"{path.name} lacks the {ARCHITECTURE}.{name} setting that "
                                                  "every gpt-oss model has. Download it again.")
        return value

    n_blocks = _int(key("block_count"), path, "block_count", low=1)
    if n_blocks > n_tensors:  # every block has tensors of its own
        raise ModelFileError(path, "damaged", f"{path.name} is damaged: it says it has {n_blocks:,} blocks "
                                              f"but holds {n_tensors:,} tensors. Download it again.")
    n_embd = _int(key("embedding_length"), path, "embedding_length", low=1)
    n_head = _int(key("attention.head_count"), path, "attention.head_count", low=1)
    head_dim = n_embd // n_head
    tokens = meta.get("tokenizer.ggml.tokens")
    if isinstance(tokens, ArraySummary):
        n_vocab = tokens.length
    elif isinstance(tokens, list):
        n_vocab = len(tokens)
    else:
        n_vocab = _int(key("vocab_size"), path, "vocab_size")
    n_head_kv = _int(key("attention.head_count_kv", n_head), path, "attention.head_count_kv", low=1)
    if n_head % n_head_kv:
        raise ModelFileError(path, "damaged", f"{path.name} is damaged: {n_head} attention heads cannot "
                                              f"share {n_head_kv} key/value heads. Download it again.")
    n_experts = _int(key("expert_count"), path, "expert_count", low=1)
    n_experts_used = _int(key("expert_used_count"), path, "expert_used_count", low=1)
    if n_experts_used > n_experts:
        raise ModelFileError(path, "damaged", f"{path.name} is damaged: it uses {n_experts_used} of only "
                                              f"{n_experts} experts per token. Download it again.")
    return Hyperparameters(
        n_blocks=n_blocks,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        head_dim_k=_int(key("attention.key_length", head_dim), path, "attention.key_length", low=1),
        head_dim_v=_int(key("attention.value_length", head_dim), path, "attention.value_length", low=1),
        n_experts=n_experts,
        n_experts_used=n_experts_used,
        expert_ffn=_int(key("expert_feed_forward_length"), path, "expert_feed_forward_length", low=1),
        n_vocab=n_vocab,
        n_ctx_train=_int(key("context_length"), path, "context_length", low=1),
        sliding_window=_int(key("attention.sliding_window"), path, "attention.sliding_window"),
        swa_blocks=_swa_blocks(meta.get(f"{ARCHITECTURE}.attention.sliding_window_pattern"), n_blocks, path),
    )


def _swa_blocks(pattern: Any, n_blocks: int, path: Path) -> tuple[bool, ...]:
    """Which blocks use sliding-window attention, as llama.cpp decides it (llama_hparams::set_swa_pattern)."""
    if isinstance(pattern, list):
        if len(pattern) != n_blocks:
            raise ModelFileError(path, "damaged", f"{path.name} is damaged: its sliding-window pattern has "
                                                  f"{len(pattern)} entries for {n_blocks} blocks.")
        return tuple(bool(entry) for entry in pattern)
    n = DEFAULT_SWA_PATTERN if pattern is None else _int(pattern, path, "attention.sliding_window_pattern")
    return tuple(n == 0 or block % n < n - 1 for block in range(n_blocks))


def _group(tensors: tuple[TensorBytes, ...], n_blocks: int,
           path: Path) -> tuple[tuple[BlockBytes, ...], int, int]:
    experts = [0] * n_blocks
    dense = [0] * n_blocks
    output = token_embd = 0
    for tensor in tensors:
        expert = EXPERT_WEIGHT.match(tensor.name)
        block = BLOCK_TENSOR.match(tensor.name)
        if block and int(block[1]) >= n_blocks:
            raise ModelFileError(path, "damaged", f"{path.name} is damaged: it has tensor {tensor.name} but "
                                                  f"only {n_blocks} blocks.")
        if expert:
            experts[int(expert[1])] += tensor.nbytes
        elif block:
            dense[int(block[1])] += tensor.nbytes
        elif tensor.name.startswith("token_embd."):
            token_embd += tensor.nbytes
        else:
            output += tensor.nbytes
    if token_embd == 0 or 0 in experts:
        what = "token embedding" if token_embd == 0 else f"experts of block {experts.index(0)}"
        raise ModelFileError(path, "damaged", f"{path.name} lacks the {what}; it is not a complete gpt-oss "
                                              "model. Download it again.")
    if not any(t.name == "output.weight" for t in tensors):
        # llama.cpp then uses a copy of the token embedding as the output layer
        output += token_embd
    return tuple(BlockBytes(e, d) for e, d in zip(experts, dense, strict=True)), output, token_embd


def _int(value: Any, path: Path, name: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        what = "not a count" if low == 0 else "not a positive count"
        raise ModelFileError(path, "damaged", f"{path.name} is damaged: its {ARCHITECTURE}.{name} setting is "
                                              f"{value!r}, {what}. Download it again.")
    return value


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one}" if n == 1 else f"{n} {many}"
