"""A gpt-oss model file from the outside: the GGUF header, the model's profile, its KV cache arithmetic.

A leaf room: the standard library and the `gguf` package (the format's definitions) only, so that the
engine's worker (which refuses a bad file or an impossible context before llama.cpp can abort on it)
and the planner (which places the bytes on devices) use one reader without importing each other.

Public surface (pinned by tests/gguf/test_public_api.py):

- `read_profile(path) -> GgufProfile`, raising `ModelFileError` for a file that cannot be used
  (`read_header` for one file's metadata and tensor infos);
- `ContextSettings`, `kv_bytes`, `kv_bytes_per_block`, `kv_cells`: the KV cache of a context.
"""

from app.gguf.errors import ModelFileError, ModelFileProblem
from app.gguf.header import ArraySummary, GgufHeader, TensorEntry, read_header
from app.gguf.kv import ContextSettings, KvType, kv_bytes, kv_bytes_per_block, kv_cells
from app.gguf.profile import BlockBytes, GgufProfile, Hyperparameters, TensorBytes, read_profile

__all__ = [
    "ArraySummary",
    "BlockBytes",
    "ContextSettings",
    "GgufHeader",
    "GgufProfile",
    "Hyperparameters",
    "KvType",
    "ModelFileError",
    "ModelFileProblem",
    "TensorBytes",
    "TensorEntry",
    "kv_bytes",
    "kv_bytes_per_block",
    "kv_cells",
    "read_header",
    "read_profile",
]
