"""Models other apps downloaded: each store's real layout in a temporary home, found, header-checked,
used in place, and every case that cannot be used explained.

The stores are built by `fixtures.other_apps` the way the apps write them (Hub cache snapshots linking
into `blobs/`, LM Studio's publisher/repository folders, Ollama's manifests and `sha256-` blobs), with
the tiny gpt-oss GGUF as the payload. Loading through the engine is in test_found_engine.py.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from app.models import Library, NotUsable, import_found, import_model, scan_found, store_locations
from app.models.found import identify
from app.models.stores import Environment, removal_warning
from fixtures.other_apps import (
    hub_cache_repo,
    lm_studio_model,
    ollama_model,
    ollama_own_gpt_oss,
    openai_checkpoint,
    place,
)
from fixtures.shape_twins import shape_twin_120b
from fixtures.tiny_models import tiny_gpt_oss_model, tiny_llama_model, write_truncated_copy
from tests.models.tiny_split import tiny_gpt_oss_split

FILE_20B = "gpt-oss-20b-mxfp4.gguf"
NAMES_120B = [f"gpt-oss-120b-mxfp4-{i:05d}-of-00003.gguf" for i in (1, 2, 3)]


@pytest.fixture
def env(tmp_path: Path) -> Environment:
    home = tmp_path / "home"
    home.mkdir()
    return Environment(home=home, env={}, platform="linux", system_root=tmp_path / "system")


def hub(env: Environment) -> Path:
    return env.home / ".cache" / "huggingface" / "hub"


def lm(env: Environment) -> Path:
    return env.home / ".lmstudio" / "models"


def ollama(env: Environment) -> Path:
    return env.home / ".ollama" / "models"


def scan(env: Environment):
    return scan_found(store_locations(env))


def only(found, **fields):
    matches = [f for f in found if all(getattr(f, k) == v for k, v in fields.items())]
    assert len(matches) == 1, (fields, found)
    return matches[0]


# -- where the stores are ------------------------------------------------------------------------------


def test_each_app_is_looked_for_where_it_keeps_models_on_each_platform(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for folder in (".cache/huggingface/hub", ".lmstudio/models", ".cache/lm-studio/models", ".ollama/models",
                   "hf-home/hub", "elsewhere/hub", "ollama-models", "lms-downloads", "pointed/models"):
        (home / folder).mkdir(parents=True)
    system = tmp_path / "system"
    (system / "usr/share/ollama/.ollama/models").mkdir(parents=True)

    plain = Environment(home=home, platform="linux", system_root=system)
    assert [(s.source, s.root.relative_to(tmp_path).as_posix()) for s in store_locations(plain)] == [
        ("hub-cache", "home/.cache/huggingface/hub"),
        ("lm-studio", "home/.lmstudio/models"),
        ("lm-studio", "home/.cache/lm-studio/models"),
        ("ollama", "home/.ollama/models"),
        ("ollama", "system/usr/share/ollama/.ollama/models"),
    ]

    # The variables the apps read, LM Studio's pointer to a moved home and its settings' downloadsFolder
    (home / ".lmstudio-home-pointer").write_text(f"{home / 'pointed'}\n")
    (home / ".lmstudio" / "settings.json").write_text(json.dumps({"downloadsFolder": "~/lms-downloads"}))
    configured = Environment(home=home, platform="darwin", system_root=system, env={
        "HF_HUB_CACHE": str(home / "elsewhere/hub"), "HF_HOME": str(home / "hf-home"),
        "OLLAMA_MODELS": str(home / "ollama-models")})
    assert [(s.source, s.root.relative_to(home).as_posix(), s.origin.split(" (")[0])
            for s in store_locations(configured)] == [
        ("hub-cache", "elsewhere/hub", "HF_HUB_CACHE"),
        ("hub-cache", "hf-home/hub", "HF_HOME"),
        ("hub-cache", ".cache/huggingface/hub", "the default location"),
        ("lm-studio", "lms-downloads", "LM Studio's settings"),
        ("lm-studio", "pointed/models", "the default location"),
        ("lm-studio", ".lmstudio/models", "the default location"),
        ("lm-studio", ".cache/lm-studio/models", "the default location"),
        ("ollama", "ollama-models", "OLLAMA_MODELS"),
        ("ollama", ".ollama/models", "the default location"),  # no Linux service store on macOS
    ]

    # Windows: LM Studio's older settings live in AppData; a folder named twice is scanned once
    appdata = home / "AppData" / "Roaming" / "LM Studio"
    appdata.mkdir(parents=True)
    (appdata / "settings.json").write_text(json.dumps({"downloadsFolder": str(home / ".lmstudio/models")}))
    windows = Environment(home=home, platform="win32", system_root=system)
    roots = [s.root for s in store_locations(windows) if s.source == "lm-studio"]
    assert roots.count(home / ".lmstudio/models") == 1 and len(roots) == len(set(roots))
    assert all(s.source != "ollama" or "system" not in str(s.root) for s in store_locations(windows))


# -- found and header-checked ------------------------------------------------------------------------------


def test_a_hub_cache_gguf_is_found_through_its_snapshot_link(env: Environment) -> None:
    snapshot = hub_cache_repo(hub(env), "ggml-org/gpt-oss-20b-GGUF", {FILE_20B: tiny_gpt_oss_model()})
    link = snapshot / FILE_20B
    assert link.is_symlink() and "blobs" in os.readlink(link)

    found = only(scan(env), source="hub-cache")

    assert found.usable and found.reason == "" and found.path == link and found.parts == (link,)
    assert (found.repo, found.revision, found.catalog_id) == ("ggml-org/gpt-oss-20b-GGUF", snapshot.name,
                                                              "gpt-oss-20b")
    assert found.quantization == "MXFP4" and found.size == tiny_gpt_oss_model().stat().st_size
    assert found.to_json()["source"] == "hub-cache" and "reason" not in found.to_json()


def test_a_hub_cache_without_symlinks_is_read_like_any_other(env: Environment) -> None:
    snapshot = hub_cache_repo(hub(env), "ggml-org/gpt-oss-20b-GGUF", {FILE_20B: tiny_gpt_oss_model()},
                              symlinks=False)  # Windows without symlink rights: copies in the snapshot

    found = only(scan(env))

    assert found.usable and found.path == snapshot / FILE_20B and not found.path.is_symlink()


def test_a_file_several_snapshots_share_is_listed_once_under_the_current_revision(env: Environment) -> None:
    old, current = "a" * 40, "b" * 40
    hub_cache_repo(hub(env), "ggml-org/gpt-oss-20b-GGUF", {FILE_20B: tiny_gpt_oss_model()}, revision=old)
    hub_cache_repo(hub(env), "ggml-org/gpt-oss-20b-GGUF", {FILE_20B: tiny_gpt_oss_model()}, revision=current)

    found = scan(env)

    assert [f.revision for f in found] == [current]  # refs/main names the last one written


def test_an_lm_studio_split_set_shaped_like_the_120b_is_found_whole(env: Environment) -> None:
    parts = lm_studio_model(lm(env), "ggml-org/gpt-oss-120b-GGUF", tiny_gpt_oss_split(), NAMES_120B)

    found = only(scan(env), source="lm-studio")

    assert found.usable and found.parts == tuple(parts) and found.path == parts[0]
    assert found.size == sum(p.stat().st_size for p in parts)
    assert (found.repo, found.catalog_id, found.name) == ("ggml-org/gpt-oss-120b-GGUF", "gpt-oss-120b",
                                                          "gpt-oss-120b-mxfp4")


def test_the_real_120b_shape_in_lm_studio_passes_the_header_check_without_reading_weights(
        env: Environment) -> None:
    twin = shape_twin_120b()
    sources = sorted(twin.parent.glob("*.gguf"))
    parts = [place(source, lm(env) / "lmstudio-community" / "gpt-oss-120b-GGUF" / source.name)
             for source in sources]

    started = time.perf_counter()
    found = only(scan(env), source="lm-studio")
    elapsed = time.perf_counter() - started

    assert found.usable and found.parts == tuple(parts)
    assert found.size == sum(p.stat().st_size for p in sources) > 60 * 10**9  # 63 GB of sparse file
    assert elapsed < 2, elapsed  # the header of three parts, not 63 GB of weights


def test_the_folder_lm_studio_settings_name_is_scanned(env: Environment, tmp_path: Path) -> None:
    downloads = tmp_path / "big-disk" / "lmstudio"
    (env.home / ".lmstudio").mkdir()
    (env.home / ".lmstudio" / "settings.json").write_text(json.dumps({"downloadsFolder": str(downloads)}))
    lm_studio_model(downloads, "ggml-org/gpt-oss-20b-GGUF", [tiny_gpt_oss_model()], [FILE_20B])

    found = only(scan(env), source="lm-studio")

    assert found.usable and found.store_root == downloads


def test_a_gguf_ollama_pulled_from_the_hub_is_used_as_it_is(env: Environment) -> None:
    blob = ollama_model(ollama(env), "gpt-oss-20b-GGUF", "latest", tiny_gpt_oss_model(), registry="hf.co",
                        namespace="ggml-org")

    found = only(scan(env), source="ollama")

    assert found.usable and found.path == blob and found.name == "hf.co/ggml-org/gpt-oss-20b-GGUF:latest"
    assert blob.name.startswith("sha256-") and found.quantization == "MXFP4_MOE"


# -- what cannot be used, said plainly ------------------------------------------------------------------


def test_the_original_checkpoint_is_explained_and_the_gguf_offered(env: Environment) -> None:
    openai_checkpoint(hub(env), "openai/gpt-oss-20b")
    openai_checkpoint(hub(env), "openai/gpt-oss-120b", experts=128)

    found = scan(env)

    small = only(found, repo="openai/gpt-oss-20b")
    big = only(found, repo="openai/gpt-oss-120b")
    assert not small.usable and small.problem == "checkpoint" and small.path.parent.name == "snapshots"
    assert "original checkpoint" in small.reason and "safetensors" in small.reason
    assert "Transformers and vLLM" in small.reason and "convert_hf_to_gguf.py" in small.reason
    assert "ossian models download gpt-oss-20b" in small.reason
    assert (small.download_instead, big.download_instead) == ("gpt-oss-20b", "gpt-oss-120b")
    assert small.to_json()["reason"] == small.reason and small.to_json()["usable"] is False


def test_ollamas_own_gpt_oss_is_explained_from_its_header(env: Environment, tmp_path: Path) -> None:
    converted = ollama_own_gpt_oss(tmp_path / "converted.gguf")
    blob = ollama_model(ollama(env), "gpt-oss", "20b", converted)
    ollama_model(ollama(env), "gpt-oss", "latest", converted)

    found = only(scan(env), source="ollama")

    assert not found.usable and found.problem == "ollama_format" and found.path == blob
    assert found.tags == ("gpt-oss:20b", "gpt-oss:latest")  # one blob, two tags: one model
    assert '"gptoss"' in found.reason and "blk.0.attn_qkv.weight" in found.reason
    assert "type 4" in found.reason and "only Ollama's engine runs it" in found.reason
    assert found.download_instead == "gpt-oss-20b"
    with pytest.raises(NotUsable, match="Ollama's own conversion"):
        import_found(found, Library(tmp_path / "models"))


def test_a_split_set_with_a_part_missing_names_it(env: Environment) -> None:
    parts = tiny_gpt_oss_split()
    lm_studio_model(lm(env), "ggml-org/gpt-oss-120b-GGUF", parts[:2], NAMES_120B[:2])

    found = only(scan(env), source="lm-studio")

    assert not found.usable and found.problem == "missing_parts"
    assert NAMES_120B[2] in found.reason and "LM Studio" in found.reason


def test_partial_files_are_not_offered_and_a_cut_short_gguf_says_so(env: Environment, tmp_path: Path) -> None:
    folder = lm(env) / "ggml-org" / "gpt-oss-20b-GGUF"
    folder.mkdir(parents=True)
    for suffix in (".partial", ".incomplete", ".part", ".download"):
        shutil.copy(tiny_gpt_oss_model(), folder / f"{FILE_20B}{suffix}")
    blobs = hub(env) / "models--ggml-org--gpt-oss-20b-GGUF" / "blobs"
    blobs.mkdir(parents=True)
    shutil.copy(tiny_gpt_oss_model(), blobs / ("a" * 64 + ".incomplete"))  # a Hub download under way
    (ollama(env) / "blobs").mkdir(parents=True)
    shutil.copy(tiny_gpt_oss_model(), ollama(env) / "blobs" / f"sha256-{'b' * 64}-partial")
    assert scan(env) == []

    write_truncated_copy(tiny_gpt_oss_model(), folder / FILE_20B)
    found = only(scan(env))
    assert not found.usable and found.problem == "truncated" and "incomplete" in found.reason
    assert "LM Studio keeps this file" in found.reason


def test_other_model_families_are_left_out_unless_named_gpt_oss(env: Environment) -> None:
    lm_studio_model(lm(env), "meta/llama-GGUF", [tiny_llama_model()], ["llama-3-8b.Q4_K_M.gguf"])
    hub_cache_repo(hub(env), "someone/tiny-llama-GGUF", {"model.gguf": tiny_llama_model()})
    ollama_model(ollama(env), "llama3", "8b", tiny_llama_model())
    assert scan(env) == []

    lm_studio_model(lm(env), "someone/gpt-oss-20b-GGUF", [tiny_llama_model()], ["gpt-oss-20b-Q4_K_M.gguf"])
    found = only(scan(env))
    assert not found.usable and found.problem == "wrong_architecture" and "a llama model" in found.reason


def test_links_out_of_a_store_are_never_followed(env: Environment, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    model = Path(shutil.copy(tiny_gpt_oss_model(), outside / FILE_20B))
    fifo = outside / "blocks-whoever-opens-it.gguf"
    os.mkfifo(fifo)  # opening this for reading would hang the scan: it must not even be opened
    (lm(env) / "me" / "gpt-oss-20b-GGUF").mkdir(parents=True)
    (lm(env) / "me" / "gpt-oss-20b-GGUF" / FILE_20B).symlink_to(model)
    (lm(env) / "me" / "gpt-oss-20b-GGUF" / "gpt-oss-fifo.gguf").symlink_to(fifo)
    (lm(env) / "linked-folder").symlink_to(outside, target_is_directory=True)
    snapshot = hub(env) / "models--me--gpt-oss-20b-GGUF" / "snapshots" / ("c" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / FILE_20B).symlink_to(model)
    (snapshot / "gpt-oss-fifo.gguf").symlink_to(fifo)
    manifest = ollama(env) / "manifests" / "registry.ollama.ai" / "library" / "gpt-oss" / "20b"
    manifest.parent.mkdir(parents=True)
    (ollama(env) / "blobs").mkdir()
    (ollama(env) / "blobs" / f"sha256-{'d' * 64}").symlink_to(model)
    manifest.write_text(json.dumps({"layers": [
        {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{'d' * 64}"},
        {"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:../../../outside/x"}]}))

    result: list = []
    worker = threading.Thread(target=lambda: result.append(scan(env)), daemon=True)
    worker.start()
    worker.join(30)

    assert not worker.is_alive(), "the scan opened a file outside the store"
    assert result == [[]]


# -- used in place ----------------------------------------------------------------------------------------


def disk_usage(folder: Path) -> int:
    return sum(p.lstat().st_blocks * 512 for p in folder.rglob("*"))


def test_found_models_are_used_in_place_without_copying_a_byte(env: Environment, ossian_home: Path) -> None:
    hub_cache_repo(hub(env), "ggml-org/gpt-oss-20b-GGUF", {FILE_20B: tiny_gpt_oss_model()})
    lm_studio_model(lm(env), "ggml-org/gpt-oss-120b-GGUF", tiny_gpt_oss_split(), NAMES_120B)
    ollama_model(ollama(env), "gpt-oss-20b-GGUF", "latest", tiny_gpt_oss_model(), registry="hf.co",
                 namespace="ggml-org")
    found = scan(env)
    assert [f.source for f in found] == ["hub-cache", "lm-studio", "ollama"] and all(f.usable for f in found)
    files = [Path(os.path.realpath(p)) for f in found for p in f.parts]
    links_before = {p: p.stat().st_nlink for p in files}
    inodes_before = {p: p.stat().st_ino for p in files}
    library = Library(ossian_home / "models")
    home_before = disk_usage(ossian_home)

    models = [import_found(f, library) for f in found]

    for model, item in zip(models, found, strict=True):
        assert model.parts == item.parts and model.kept_by == item.source and model.source == "import"
        assert not library.owns(model.path) and not model.verified
    assert {p: p.stat().st_nlink for p in files} == links_before  # no hard link into another app's store
    assert {p: p.stat().st_ino for p in files} == inodes_before
    assert sorted(p.name for p in library.models_dir.rglob("*") if p.is_file()) == ["library.json"]
    assert disk_usage(ossian_home) - home_before <= 16 * 1024  # the index, not 1.2 MB of models
    stored = json.loads(library.index_path.read_text())["models"]
    assert [m["parts"] for m in stored] == [[str(p) for p in f.parts] for f in found]
    assert [m["kept_by"] for m in stored] == ["hub-cache", "lm-studio", "ollama"]
    assert [m.id for m in library.list()] == [m.id for m in models]
    assert [import_found(f, library).id for f in found] == [m.id for m in models]  # again: nothing new


def test_importing_a_store_file_by_path_is_recognised(env: Environment, ossian_home: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Environment, "current", classmethod(lambda cls: env))
    snapshot = hub_cache_repo(hub(env), "ggml-org/gpt-oss-20b-GGUF", {FILE_20B: tiny_gpt_oss_model()})
    blob = Path(os.path.realpath(snapshot / FILE_20B))
    tagged = ollama_model(ollama(env), "gpt-oss-20b-GGUF", "Q4", tiny_gpt_oss_model(), registry="hf.co",
                          namespace="ggml-org")
    own = ollama_model(ollama(env), "gpt-oss", "20b", ollama_own_gpt_oss(tmp_path / "c.gguf"))
    library = Library(ossian_home / "models")

    from_blob = import_model(blob, library)  # picked in a file dialog: the blob, not the snapshot link
    from_ollama = import_model(tagged, library)

    assert from_blob.path == snapshot / FILE_20B and from_blob.kept_by == "hub-cache"
    assert from_blob.repo == "ggml-org/gpt-oss-20b-GGUF" and from_blob.catalog_id == "gpt-oss-20b"
    assert from_ollama.name == "hf.co/ggml-org/gpt-oss-20b-GGUF:Q4" and from_ollama.kept_by == "ollama"
    with pytest.raises(NotUsable, match='"gptoss"'):
        import_model(own, library)
    assert identify(tmp_path / "elsewhere.gguf", env) is None


def test_a_file_the_other_app_deleted_is_shown_missing_not_an_error(env: Environment,
                                                                   ossian_home: Path) -> None:
    snapshot = hub_cache_repo(hub(env), "ggml-org/gpt-oss-20b-GGUF", {FILE_20B: tiny_gpt_oss_model()})
    library = Library(ossian_home / "models")
    model = import_found(only(scan(env)), library)

    Path(os.path.realpath(snapshot / FILE_20B)).unlink()  # `hf cache delete` removes the blob

    listed = library.get(model.id)
    assert not listed.available and listed.missing == (snapshot / FILE_20B,)
    assert "delete" in removal_warning("hub-cache") and "missing" in removal_warning("hub-cache")
    assert scan(env) == []  # a dangling link is not offered again


# -- speed ------------------------------------------------------------------------------------------------


def synthetic_disk(env: Environment, tmp_path: Path, count: int) -> int:
    """`count` models of other families across the three stores, plus one gpt-oss in each; returns the
    number of model files written."""
    llama = tiny_llama_model()
    checkpoint = tmp_path / "config.json"
    checkpoint.write_text(json.dumps({"model_type": "llama"}))
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"\x10" + b"\0" * 7 + b"{}" + b" " * 14)
    written = 0
    for i in range(count):
        kind = i % 4
        if kind == 0:
            hub_cache_repo(hub(env), f"org{i}/model-{i}-GGUF", {f"model-{i}.Q4_K_M.gguf": llama})
        elif kind == 1:
            hub_cache_repo(hub(env), f"org{i}/model-{i}", {"config.json": checkpoint,
                                                            "model.safetensors": weights})
        elif kind == 2:
            lm_studio_model(lm(env), f"org{i}/model-{i}-GGUF", [llama], [f"model-{i}.Q8_0.gguf"])
        else:
            ollama_model(ollama(env), f"model{i}", "latest", llama)
        written += 1
    hub_cache_repo(hub(env), "ggml-org/gpt-oss-20b-GGUF", {FILE_20B: tiny_gpt_oss_model()})
    lm_studio_model(lm(env), "ggml-org/gpt-oss-120b-GGUF", tiny_gpt_oss_split(), NAMES_120B)
    ollama_model(ollama(env), "gpt-oss-20b-GGUF", "latest", tiny_gpt_oss_model(), registry="hf.co",
                 namespace="ggml-org")
    return written + 3


def test_a_disk_with_hundreds_of_models_is_scanned_well_under_a_second(env: Environment,
                                                                       tmp_path: Path) -> None:
    synthetic_disk(env, tmp_path, 400)
    stores = store_locations(env)
    scan_found(stores)  # the first run imports the header reader (gguf, numpy): not the scan's cost

    timings = []
    for _ in range(3):
        started = time.perf_counter()
        found = scan_found(stores)
        timings.append(time.perf_counter() - started)

    assert [f.source for f in found] == ["hub-cache", "lm-studio", "ollama"] and all(f.usable for f in found)
    assert min(timings) < 0.5, timings
