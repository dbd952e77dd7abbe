"""Import of local GGUF files: checked by the planner's header reader, refused with reasons."""

import shutil
from pathlib import Path

import pytest

from app.models import Library, ModelsError, NotUsable, import_model
from fixtures.tiny_models import (
    tiny_gpt_oss_model,
    tiny_llama_model,
    write_not_a_gguf,
    write_truncated_copy,
)
from tests.models.tiny_split import tiny_gpt_oss_split


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return Library(tmp_path / "models")


def test_a_model_is_used_where_it_is(tmp_path: Path, library: Library) -> None:
    source = tmp_path / "Downloads" / "gpt-oss-20b-mxfp4.gguf"
    source.parent.mkdir()
    shutil.copy(tiny_gpt_oss_model(), source)

    model = import_model(source, library)

    assert model.parts == (source,) and model.source == "import" and not model.verified
    assert (model.name, model.quantization) == ("gpt-oss-20b-mxfp4", "MXFP4")
    assert model.size == source.stat().st_size
    assert [m.id for m in library.list()] == [model.id]
    assert import_model(source, library).id == model.id  # importing again changes nothing
    assert len(library.list()) == 1


def test_any_part_of_a_split_set_brings_the_whole_set(tmp_path: Path, library: Library) -> None:
    folder = tmp_path / "split"
    folder.mkdir()
    parts = [Path(shutil.copy(p, folder / p.name)) for p in tiny_gpt_oss_split()]

    model = import_model(parts[1], library)

    assert model.parts == tuple(parts) and model.path == parts[0]
    assert model.size == sum(p.stat().st_size for p in parts)


def test_copy_puts_the_files_into_the_models_folder(tmp_path: Path, library: Library) -> None:
    folder = tmp_path / "split"
    folder.mkdir()
    parts = [Path(shutil.copy(p, folder / p.name)) for p in tiny_gpt_oss_split()]
    seen: list[tuple[int, int]] = []

    model = import_model(parts[0], library, copy=True,
                         on_progress=lambda done, total: seen.append((done, total)))

    assert all(library.owns(p) for p in model.parts) and len(model.parts) == 3
    assert [p.read_bytes() for p in model.parts] == [p.read_bytes() for p in parts]
    assert seen[-1][0] == seen[-1][1] == model.size
    assert not list(library.models_dir.rglob("*.partial"))
    library.remove(model.id)
    assert all(p.is_file() for p in parts)  # the originals are untouched


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: Path(shutil.copy(tiny_llama_model(), d / "llama.gguf")), "is a llama model"),
    (lambda d: write_truncated_copy(tiny_gpt_oss_model(), d / "cut.gguf"), "is incomplete"),
    (lambda d: write_not_a_gguf(d / "zip.gguf"), "not"),
    (lambda d: d / "nothing-here.gguf", "There is no file"),
])
def test_unusable_files_are_refused_and_nothing_is_recorded(tmp_path: Path, library: Library, make,
                                                            message: str) -> None:
    with pytest.raises(NotUsable, match=message):
        import_model(make(tmp_path), library)
    assert library.list() == []


def test_a_split_set_with_a_missing_part_names_it(tmp_path: Path, library: Library) -> None:
    folder = tmp_path / "split"
    folder.mkdir()
    first, second, _third = tiny_gpt_oss_split()
    shutil.copy(first, folder / first.name)
    shutil.copy(second, folder / second.name)
    with pytest.raises(NotUsable, match=r"tiny-gpt-oss-00003-of-00003\.gguf"):
        import_model(folder / first.name, library)


def test_copy_refuses_to_overwrite(tmp_path: Path, library: Library) -> None:
    source = Path(shutil.copy(tiny_gpt_oss_model(), tmp_path / "m.gguf"))
    import_model(source, library, copy=True)
    other = tmp_path / "other"
    other.mkdir()
    again = Path(shutil.copy(tiny_gpt_oss_model(), other / "m.gguf"))
    with pytest.raises(ModelsError, match="already exists"):
        import_model(again, library, copy=True)
