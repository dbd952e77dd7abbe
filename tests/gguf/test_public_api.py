"""The gguf room's public surface is pinned, and it stays a leaf: the standard library and `gguf` only."""

from __future__ import annotations

import subprocess
import sys

import app.gguf

EXPECTED = [
    "ArraySummary", "BlockBytes", "ContextSettings", "GgufHeader", "GgufProfile", "Hyperparameters", "KvType",
    "ModelFileError", "ModelFileProblem", "TensorBytes", "TensorEntry", "kv_bytes", "kv_bytes_per_block",
    "kv_cells", "read_header", "read_profile",
]


def test_public_names() -> None:
    assert sorted(app.gguf.__all__) == sorted(EXPECTED)
    for name in EXPECTED:
        assert getattr(app.gguf, name) is not None


def test_importing_it_loads_no_other_room() -> None:
    code = ("import sys, app.gguf\n"
            "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('app.') and m.count('.')}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['errors', 'gguf']"  # app.errors: the leaf that roots ModelFileError
