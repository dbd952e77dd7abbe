"""The tiny gpt-oss model written as a split set, the way llama.cpp's gguf-split names and numbers parts.

The tiny model (fixtures/tiny_models.py) is copied tensor by tensor into a `gguf.GGUFWriter`
with `split_max_tensors`, which writes `<stem>-00001-of-0000N.gguf` ... with `split.no`,
`split.count` and `split.tensors.count` in each part and the model's metadata in the first, as
published split models have. Cached next to the other generated fixtures, keyed by both generators.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import gguf

from fixtures.tiny_models import FIXTURES_DIR, tiny_gpt_oss_model

SPLIT_PARTS = 3


def tiny_gpt_oss_split(stem: str = "tiny-gpt-oss") -> list[Path]:
    """The parts of the tiny model split three ways, in order."""
    source = tiny_gpt_oss_model()
    key = hashlib.sha256(Path(__file__).read_bytes() + source.read_bytes()).hexdigest()[:12]
    folder = FIXTURES_DIR / f"tiny-split-{key}"
    names = [f"{stem}-{i:05d}-of-{SPLIT_PARTS:05d}.gguf" for i in range(1, SPLIT_PARTS + 1)]
    if not all((folder / name).is_file() for name in names):
        FIXTURES_DIR.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tiny-split-", dir=FIXTURES_DIR))
        try:
            _write_split(source, staging / f"{stem}.gguf")
            staging.rename(folder)
        except OSError:
            if not folder.is_dir():  # not another test process having written the same set first
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return [folder / name for name in names]


def _write_split(source: Path, target: Path) -> None:
    reader = gguf.GGUFReader(source)
    per_part = -(-len(reader.tensors) // SPLIT_PARTS)
    writer = gguf.GGUFWriter(target, str(reader.get_field("general.architecture").contents()),
                             split_max_tensors=per_part)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)
    for tensor in reader.tensors:
        writer.add_tensor_info(tensor.name, tensor.data.shape, tensor.data.dtype, tensor.data.nbytes,
                               tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor in reader.tensors:
        writer.write_tensor_data(tensor.data, tensor_endianess=reader.endianess)
    writer.close()
