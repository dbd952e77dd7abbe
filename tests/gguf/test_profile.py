"""read_profile on the shape twins, the tiny model and broken files of every kind a user can have."""

from __future__ import annotations

import os
from pathlib import Path

import gguf
import pytest

from app.gguf import GgufProfile, ModelFileError, read_profile
from app.gguf.header import read_header
from fixtures.shape_twins import TWIN_20B, TWIN_120B, tensor_bytes, tensor_layout
from fixtures.tiny_models import TINY, tiny_llama_model, write_not_a_gguf, write_truncated_copy

MIB = 2**20


def mxfp4_bytes(*dims: int) -> int:
    block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.MXFP4]
    n = 1
    for dim in dims:
        n *= dim
    return n // block * size


def expert_biases(profile: GgufProfile, block: int) -> int:
    return sum(t.nbytes for t in profile.tensors if t.name.startswith(f"blk.{block}.ffn_")
               and t.name.endswith("_exps.bias"))


def test_20b_twin_hyperparameters_are_gpt_oss_20b(profile_20b: GgufProfile) -> None:
    h = profile_20b.hparams
    assert profile_20b.architecture == "gpt-oss"
    assert (h.n_blocks, h.n_embd, h.n_head, h.n_head_kv) == (24, 2880, 64, 8)
    assert (h.head_dim_k, h.head_dim_v) == (64, 64)
    assert (h.n_experts, h.n_experts_used, h.expert_ffn) == (32, 4, 2880)
    assert (h.n_vocab, h.n_ctx_train, h.sliding_window) == (201088, 131072, 128)
    # even blocks sliding-window, odd blocks full attention (llama.cpp's pattern 2 for gpt-oss)
    assert h.swa_blocks == tuple(i % 2 == 0 for i in range(24))
    assert (h.n_swa_blocks, h.n_full_attention_blocks) == (12, 12)


def test_20b_twin_bytes_are_grouped_as_the_published_file(profile_20b: GgufProfile) -> None:
    experts = 3 * mxfp4_bytes(2880, 2880, 32)
    assert all(block.experts == experts for block in profile_20b.blocks)
    # the published figures (memory-planner.md): experts with biases 404.5 MiB, the rest 27.3 MiB
    biases = expert_biases(profile_20b, 0)
    assert round((profile_20b.blocks[0].experts + biases) / MIB, 1) == 404.5
    assert round((profile_20b.blocks[0].dense - biases) / MIB, 1) == 27.3
    assert round(profile_20b.output_bytes / MIB, 1) == 586.8
    assert round(profile_20b.token_embd_bytes / MIB, 1) == 586.8
    assert round(profile_20b.expert_bytes / profile_20b.tensor_bytes, 2) == 0.84
    # every tensor of the file is counted exactly once
    assert profile_20b.tensor_bytes == sum(
        tensor_bytes(dims, kind) for _, dims, kind in tensor_layout(TWIN_20B))
    assert len(profile_20b.tensors) == 3 + 19 * 24
    header = profile_20b.file_bytes - profile_20b.tensor_bytes
    assert 0 < header < 16 * MIB  # the rest is the header: vocabulary and tensor infos


def test_120b_twin_is_read_from_all_three_parts(profile_120b: GgufProfile, twin_120b: Path) -> None:
    assert [p.name for p in profile_120b.parts] == [
        f"gpt-oss-120b-mxfp4-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    assert profile_120b.path == twin_120b
    assert profile_120b.file_bytes == sum(p.stat().st_size for p in profile_120b.parts)
    assert {t.part for t in profile_120b.tensors} == {0, 1, 2}
    h = profile_120b.hparams
    assert (h.n_blocks, h.n_experts, h.n_experts_used) == (36, 128, 4)
    assert round((profile_120b.blocks[0].experts + expert_biases(profile_120b, 0)) / MIB, 1) == 1617.9
    assert round((profile_120b.blocks[0].dense - expert_biases(profile_120b, 0)) / MIB, 2) == 28.35
    assert profile_120b.tensor_bytes == sum(
        tensor_bytes(dims, kind) for _, dims, kind in tensor_layout(TWIN_120B))
    assert round(profile_120b.expert_bytes / profile_120b.tensor_bytes, 2) == 0.96


def test_any_part_of_a_split_model_finds_the_first(twin_120b: Path, profile_120b: GgufProfile) -> None:
    third = twin_120b.with_name("gpt-oss-120b-mxfp4-00003-of-00003.gguf")
    assert read_profile(third) == profile_120b


def test_tiny_model_profile_agrees_with_gguf_reader(tiny_model: Path) -> None:
    profile = read_profile(tiny_model)
    h = profile.hparams
    assert (h.n_blocks, h.n_embd, h.n_experts, h.n_experts_used) == (
        TINY.n_blocks, TINY.n_embd, TINY.n_experts, TINY.n_experts_used)
    assert h.swa_blocks == (True, False)
    reader = gguf.GGUFReader(tiny_model)
    assert h.n_vocab == len(reader.fields["tokenizer.ggml.tokens"].data)
    theirs = {t.name: (int(t.n_bytes), tuple(int(d) for d in t.shape), t.tensor_type.name)
              for t in reader.tensors}
    ours = {t.name: (t.nbytes, t.dims, t.type_name) for t in profile.tensors}
    assert ours == theirs
    assert profile.tensor_bytes == sum(int(t.n_bytes) for t in reader.tensors)


def test_fingerprint_follows_the_contents_not_the_name(tmp_path: Path, twin_20b: Path,
                                                       profile_20b: GgufProfile,
                                                       profile_120b: GgufProfile) -> None:
    renamed = tmp_path / "my-copy.gguf"
    renamed.symlink_to(twin_20b)
    assert read_profile(renamed).fingerprint == profile_20b.fingerprint
    assert profile_20b.fingerprint != profile_120b.fingerprint


# ---- files a person might pick by mistake, or that a download left broken ----

def problem_of(path: Path) -> ModelFileError:
    with pytest.raises(ModelFileError) as caught:
        read_profile(path)
    return caught.value


def test_missing_file(tmp_path: Path) -> None:
    error = problem_of(tmp_path / "gpt-oss-20b.gguf")
    assert error.problem == "missing"
    assert str(tmp_path / "gpt-oss-20b.gguf") in str(error)


def test_folder_instead_of_file(tmp_path: Path) -> None:
    error = problem_of(tmp_path)
    assert error.problem == "unreadable"
    assert "folder" in str(error)


@pytest.mark.parametrize(("content", "hint"), [
    (b"", "empty"),
    (b"<!DOCTYPE html><html><body>Not found</body></html>", "web page"),
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n", "git lfs pull"),
    (b"\x40\x00\x00\x00\x00\x00\x00\x00{\"__metadata__\":{}}", "safetensors"),
    (b"\x00\x01\x02\x03 random bytes", "GGUF signature"),
])
def test_not_a_gguf_file_says_what_it_is(tmp_path: Path, content: bytes, hint: str) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    error = problem_of(path)
    assert error.problem == "not_gguf"
    assert hint in str(error)


def test_zip_named_gguf(tmp_path: Path) -> None:
    error = problem_of(write_not_a_gguf(tmp_path / "model.gguf"))
    assert error.problem == "not_gguf"
    assert "model.gguf is not a GGUF model file" in str(error)


def test_truncated_in_the_data(tmp_path: Path, tiny_model: Path) -> None:
    error = problem_of(write_truncated_copy(tiny_model, tmp_path / "tiny.gguf", keep_fraction=0.6))
    assert error.problem == "truncated"
    assert "incomplete" in str(error) and "download it again" in str(error)


def test_truncated_in_the_header(tmp_path: Path, tiny_model: Path) -> None:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(tiny_model.read_bytes()[:2000])
    error = problem_of(path)
    assert error.problem == "truncated"
    assert "ends inside its header" in str(error)


def test_truncated_20b_says_how_much_is_there(tmp_path: Path, twin_20b: Path) -> None:
    header = read_header(twin_20b)
    path = tmp_path / "gpt-oss-20b-mxfp4.gguf"
    with open(twin_20b, "rb") as source, open(path, "wb") as target:
        target.write(source.read(header.data_offset))
        target.truncate(header.data_end // 2)  # sparse: half the model "downloaded"
    error = problem_of(path)
    assert error.problem == "truncated"
    assert f"{header.data_end // 2:,} of its {header.data_end:,} bytes (50%)" in str(error)


def link_parts(twin_120b: Path, folder: Path, numbers: dict[int, int]) -> Path:
    """Symlink part `source` of the 120b twin as part `target` in `folder`, for each target: source."""
    for target, source in numbers.items():
        (folder / f"gpt-oss-120b-mxfp4-0000{target}-of-00003.gguf").symlink_to(
            twin_120b.with_name(f"gpt-oss-120b-mxfp4-0000{source}-of-00003.gguf"))
    return folder / "gpt-oss-120b-mxfp4-00001-of-00003.gguf"


def test_missing_split_part_is_named(tmp_path: Path, twin_120b: Path) -> None:
    first = link_parts(twin_120b, tmp_path, {1: 1, 3: 3})
    error = problem_of(first)
    assert error.problem == "missing_parts"
    assert "1 part is missing" in str(error)
    assert "gpt-oss-120b-mxfp4-00002-of-00003.gguf" in str(error)


def test_swapped_split_parts(tmp_path: Path, twin_120b: Path) -> None:
    first = link_parts(twin_120b, tmp_path, {1: 1, 2: 3, 3: 2})
    error = problem_of(first)
    assert error.problem == "damaged"
    assert "holds part 3" in str(error)


def test_renamed_first_part_cannot_find_the_others(tmp_path: Path, twin_120b: Path) -> None:
    renamed = tmp_path / "gpt-oss-120b.gguf"
    renamed.symlink_to(twin_120b)
    error = problem_of(renamed)
    assert error.problem == "missing_parts"
    assert "split into 3 files" in str(error)


def test_another_architecture_is_named(tmp_path: Path) -> None:
    error = problem_of(tiny_llama_model())
    assert error.problem == "wrong_architecture"
    assert "is a llama model" in str(error)
    assert "gpt-oss" in str(error)


def test_unreadable_file(tmp_path: Path, tiny_model: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions")
    path = tmp_path / "tiny.gguf"
    path.write_bytes(tiny_model.read_bytes())
    path.chmod(0)
    assert problem_of(path).problem == "unreadable"
