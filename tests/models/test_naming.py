import pytest

from app.models.naming import (
    FileGroup,
    group_gguf_files,
    missing_parts,
    model_stem,
    parse_split,
    quantization_from_name,
    split_part_name,
)


def test_split_names_are_parsed_and_written_the_gguf_split_way() -> None:
    split = parse_split("Q4_K_M/gpt-oss-120b-Q4_K_M-00002-of-00003.gguf")
    assert split is not None and (split.stem, split.index, split.count) == ("gpt-oss-120b-Q4_K_M", 2, 3)
    assert split_part_name(split.stem, 2, 3) == "gpt-oss-120b-Q4_K_M-00002-of-00003.gguf"
    assert parse_split("gpt-oss-20b-mxfp4.gguf") is None
    assert parse_split("model-1-of-3.gguf") is None  # five digits or it is not gguf-split's naming


def test_grouping_puts_split_parts_together_in_order_and_ignores_other_files() -> None:
    groups = group_gguf_files([
        "F16/gpt-oss-120b-F16-00002-of-00002.gguf", "README.md", "gpt-oss-120b-Q2_K.gguf",
        "F16/gpt-oss-120b-F16-00001-of-00002.gguf", "Q4_K_M/gpt-oss-120b-Q4_K_M-00001-of-00002.gguf",
    ])
    assert [(g.stem, g.parts, g.complete) for g in groups] == [
        ("gpt-oss-120b-F16", ("F16/gpt-oss-120b-F16-00001-of-00002.gguf",
                              "F16/gpt-oss-120b-F16-00002-of-00002.gguf"), True),
        ("gpt-oss-120b-Q2_K", ("gpt-oss-120b-Q2_K.gguf",), True),
        ("gpt-oss-120b-Q4_K_M", ("Q4_K_M/gpt-oss-120b-Q4_K_M-00001-of-00002.gguf",), False),
    ]


def test_missing_parts_are_named() -> None:
    group = FileGroup("m", ("d/m-00002-of-00003.gguf",), 3)
    assert missing_parts(group) == ["d/m-00001-of-00003.gguf", "d/m-00003-of-00003.gguf"]
    assert missing_parts(FileGroup("m", ("m.gguf",), 1)) == []


@pytest.mark.parametrize(("name", "quantization"), [
    ("gpt-oss-20b-mxfp4.gguf", "MXFP4"),
    ("gpt-oss-120b-mxfp4-00001-of-00003.gguf", "MXFP4"),
    ("gpt-oss-20b-Q4_K_M.gguf", "Q4_K_M"),
    ("Q4_K_M/gpt-oss-120b-Q4_K_M-00001-of-00002.gguf", "Q4_K_M"),
    ("gpt-oss-20b-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"),
    ("openai_gpt-oss-20b-Q8_0.gguf", "Q8_0"),
    ("gpt-oss-20b-IQ4_XS.gguf", "IQ4_XS"),
    ("gpt-oss-20b-F16.gguf", "F16"),
    ("gpt-oss-20b-bf16.gguf", "BF16"),
    ("my-model.gguf", None),
])
def test_quantization_comes_from_the_name(name: str, quantization: str | None) -> None:
    assert quantization_from_name(name) == quantization


def test_model_stem_drops_folder_split_number_and_suffix() -> None:
    assert model_stem("F16/gpt-oss-120b-F16-00001-of-00002.gguf") == "gpt-oss-120b-F16"
    assert model_stem("a/b/gpt-oss-20b.gguf") == "gpt-oss-20b"
