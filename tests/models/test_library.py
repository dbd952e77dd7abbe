"""The library on real files: what is installed, where, verified or not; removal; damaged indexes."""

import json
import shutil
from pathlib import Path

import pytest

from app.models import InstalledModel, Library, UnknownModel
from fixtures.tiny_models import tiny_gpt_oss_model
from tests.models.tiny_split import tiny_gpt_oss_split


def hub_model(models_dir: Path, name: str = "gpt-oss-20b-mxfp4.gguf") -> InstalledModel:
    path = models_dir / "ggml-org--gpt-oss-20b-GGUF" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(tiny_gpt_oss_model(), path)
    return InstalledModel(id="ggml-org--gpt-oss-20b-gguf--gpt-oss-20b-mxfp4", name="gpt-oss-20b",
                          quantization="MXFP4", size=path.stat().st_size, parts=(path,), verified=True,
                          source="hub", repo="ggml-org/gpt-oss-20b-GGUF", commit="c" * 40,
                          catalog_id="gpt-oss-20b", sha256=("a" * 64,))


def test_a_recorded_model_lists_with_everything_the_ui_shows(tmp_path: Path) -> None:
    library = Library(tmp_path)
    added = library.add(hub_model(tmp_path))

    [listed] = Library(tmp_path).list()

    assert listed == added and listed.available and listed.verified and listed.added_at > 0
    assert (listed.name, listed.quantization, listed.size) == ("gpt-oss-20b", "MXFP4", added.size)
    index = json.loads((tmp_path / "library.json").read_text())
    assert index["models"][0]["parts"] == ["ggml-org--gpt-oss-20b-GGUF/gpt-oss-20b-mxfp4.gguf"]


def test_moving_the_whole_models_folder_keeps_the_library(tmp_path: Path) -> None:
    Library(tmp_path / "a").add(hub_model(tmp_path / "a"))
    (tmp_path / "a").rename(tmp_path / "b")
    [moved] = Library(tmp_path / "b").list()
    assert moved.available
    assert moved.path == tmp_path / "b" / "ggml-org--gpt-oss-20b-GGUF" / "gpt-oss-20b-mxfp4.gguf"


def test_models_are_found_by_id_catalog_id_name_or_file_name(tmp_path: Path) -> None:
    library = Library(tmp_path)
    model = library.add(hub_model(tmp_path))
    for name in (model.id, "gpt-oss-20b", "GPT-OSS-20B", "gpt-oss-20b-mxfp4.gguf"):
        assert library.find(name).id == model.id
    with pytest.raises(UnknownModel, match="ossian models list"):
        library.find("gpt-oss-120b")


def test_a_missing_file_is_shown_not_hidden(tmp_path: Path) -> None:
    library = Library(tmp_path)
    model = library.add(hub_model(tmp_path))
    model.path.unlink()
    [listed] = library.list()
    assert not listed.available and listed.missing == (model.path,)


def test_loose_gguf_files_in_the_models_folder_are_listed_unverified(tmp_path: Path) -> None:
    shutil.copy(tiny_gpt_oss_model(), tmp_path / "my-model-Q8_0.gguf")
    split_folder = tmp_path / "split"
    split_folder.mkdir()
    for part in tiny_gpt_oss_split()[:2]:  # the third part is missing
        shutil.copy(part, split_folder / part.name)
    (tmp_path / "x.gguf.partial").write_bytes(b"half")  # an unfinished download is not a model
    (tmp_path / ".downloads").mkdir()
    (tmp_path / ".downloads" / "hidden.gguf").write_bytes(b"x")

    listed = {m.name: m for m in Library(tmp_path).list()}

    assert set(listed) == {"my-model-Q8_0", "tiny-gpt-oss"}
    loose = listed["my-model-Q8_0"]
    assert loose.source == "folder" and not loose.verified and loose.available
    assert loose.quantization == "Q8_0"
    split = listed["tiny-gpt-oss"]
    assert len(split.parts) == 2 and split.missing == (split_folder / "tiny-gpt-oss-00003-of-00003.gguf",)


def test_remove_deletes_files_in_the_models_folder_and_their_empty_folder(tmp_path: Path) -> None:
    library = Library(tmp_path)
    model = library.add(hub_model(tmp_path))
    library.remove(model.id)
    assert library.list() == [] and not model.path.parent.exists() and tmp_path.is_dir()


def test_remove_never_deletes_a_file_outside_the_models_folder(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "mine.gguf"
    outside.parent.mkdir()
    shutil.copy(tiny_gpt_oss_model(), outside)
    library = Library(tmp_path / "models")
    model = library.add(InstalledModel(id="import--mine", name="mine", quantization=None, size=1,
                                       parts=(outside,), verified=False, source="import"))
    library.remove(model.id)
    assert library.list() == [] and outside.is_file()


def test_a_damaged_index_falls_back_to_the_files_on_disk(tmp_path: Path) -> None:
    library = Library(tmp_path)
    model = library.add(hub_model(tmp_path))
    (tmp_path / "library.json").write_text("{broken")
    [listed] = library.list()
    assert listed.path == model.path and listed.source == "folder" and not listed.verified


def test_listing_an_absent_models_folder_creates_nothing(tmp_path: Path) -> None:
    assert Library(tmp_path / "models").list() == []
    assert not (tmp_path / "models").exists()


def test_names_with_bidi_controls_are_listed_with_them_visible(tmp_path: Path) -> None:
    # Issue "Hostile input", item 10: a name reordered by an override would read as another name.
    shutil.copy(tiny_gpt_oss_model(), tmp_path / "gpt-oss-\u202e02b.gguf")  # a file someone dropped in
    library = Library(tmp_path)
    library.add(InstalledModel(
        id="import--x", name="invoice\u202efdp", quantization=None, size=1,
        parts=(tmp_path / "gpt-oss-\u202e02b.gguf",), verified=False, source="import"))
    index = json.loads((tmp_path / "library.json").read_text())
    index["models"].append({**index["models"][0], "id": "older", "name": "older\u2067entry\u2069"})
    (tmp_path / "library.json").write_text(json.dumps(index))  # written by an older Ossian

    names = {m.name for m in Library(tmp_path).list()}

    assert names == {"invoice[U+202E]fdp", "older[U+2067]entry[U+2069]"}
    model = Library(tmp_path).get("import--x")
    assert model.path.name == "gpt-oss-\u202e02b.gguf"  # the file itself is found as it is named
    (tmp_path / "library.json").unlink()
    assert [m.name for m in Library(tmp_path).list()] == ["gpt-oss-[U+202E]02b"]
