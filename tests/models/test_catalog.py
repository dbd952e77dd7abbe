"""The bundled catalog, its checks, and what its patterns pick from realistic Hub file lists."""

import json
from pathlib import Path

import pytest

from app.models import CatalogError, UnknownModel, load_catalog
from app.models.download_plan import DownloadRequest, plan_download
from app.models.hub import RemoteFile, RepoListing

GB = 1_000_000_000


def listing(repo: str, files: dict[str, int]) -> RepoListing:
    return RepoListing(repo, "main", "c" * 40, False, False, "gpt-oss",
                       tuple(RemoteFile(path, size, "a" * 64, None) for path, size in files.items()))


# File lists shaped like the published repositories: ggml-org's single and split MXFP4 files, Unsloth's
# root-level 20b quantizations and 120b quantizations in sub-folders as split files.
PUBLISHED = {
    "ggml-org/gpt-oss-20b-GGUF": {"gpt-oss-20b-mxfp4.gguf": 12_109_566_624, "README.md": 1000},
    "ggml-org/gpt-oss-120b-GGUF": {f"gpt-oss-120b-mxfp4-{i:05d}-of-00003.gguf": 21 * GB for i in (1, 2, 3)},
    "unsloth/gpt-oss-20b-GGUF": {"gpt-oss-20b-Q4_K_M.gguf": 11_600_000_000, "gpt-oss-20b-F16.gguf": 13 * GB,
                                 "gpt-oss-20b-UD-Q4_K_XL.gguf": 11 * GB, "gpt-oss-20b-Q8_0.gguf": 12 * GB},
    "unsloth/gpt-oss-120b-GGUF": {
        **{f"Q4_K_M/gpt-oss-120b-Q4_K_M-{i:05d}-of-00002.gguf": 31 * GB for i in (1, 2)},
        **{f"F16/gpt-oss-120b-F16-{i:05d}-of-00002.gguf": 32 * GB for i in (1, 2)},
        **{f"UD-Q4_K_XL/gpt-oss-120b-UD-Q4_K_XL-{i:05d}-of-00002.gguf": 31 * GB for i in (1, 2)},
        "gpt-oss-120b-Q2_K.gguf": 60 * GB,
    },
}


def test_the_bundled_catalog_offers_both_models_from_ggml_org_and_other_builds() -> None:
    catalog = load_catalog()
    official = {e.id: e for e in catalog.entries if e.official}
    assert official["gpt-oss-20b"].repo == "ggml-org/gpt-oss-20b-GGUF"
    assert official["gpt-oss-120b"].repo == "ggml-org/gpt-oss-120b-GGUF"
    assert {e.quantization for e in official.values()} == {"MXFP4"}
    assert {e.repo for e in catalog.entries} >= {"unsloth/gpt-oss-20b-GGUF", "unsloth/gpt-oss-120b-GGUF"}
    assert {e.family for e in catalog.entries} == {"gpt-oss-20b", "gpt-oss-120b"}


@pytest.mark.parametrize("entry", load_catalog().entries, ids=lambda e: e.id)
def test_every_entry_picks_exactly_its_model_from_the_published_file_list(entry, tmp_path: Path) -> None:
    request = DownloadRequest.from_catalog(entry)
    plan = plan_download(listing(entry.repo, PUBLISHED[entry.repo]), request, tmp_path)
    assert plan.quantization == entry.quantization
    assert 0.8 < plan.total_bytes / entry.approx_bytes < 1.25, "approx_bytes should be near the real size"
    if entry.family == "gpt-oss-120b" and entry.publisher == "ggml-org":
        assert len(plan.files) == 3


def test_lookups_by_id_and_the_unknown_id_lists_the_known_ones() -> None:
    catalog = load_catalog()
    assert catalog.get("GPT-OSS-20B").id == "gpt-oss-20b"
    with pytest.raises(UnknownModel, match="gpt-oss-120b"):
        catalog.get("gpt-oss-7b")


def entry(**changes) -> dict:
    base = {"id": "x", "name": "X", "family": "gpt-oss-20b", "publisher": "p", "repo": "o/r",
            "files": "*.gguf", "quantization": "MXFP4", "approx_bytes": 10, "description": "d"}
    return {**base, **changes}


@pytest.mark.parametrize(("content", "message"), [
    (None, "is missing"),
    ("{not json", "cannot be read"),
    (json.dumps({"format": 1}), "no 'models' list"),
    (json.dumps({"format": 7, "models": []}), "format 7"),
    (json.dumps({"format": 1, "models": [entry(repo="no-slash")]}), "expected 'owner/name'"),
    (json.dumps({"format": 1, "models": [entry(files=[])]}), "needs 'files'"),
    (json.dumps({"format": 1, "models": [entry(approx_bytes="big")]}), "approx_bytes"),
    (json.dumps({"format": 1, "models": [entry(name="")]}), "non-empty text 'name'"),
    (json.dumps({"format": 1, "models": [entry(family="llama-3")]}), "family 'llama-3'"),
    (json.dumps({"format": 1, "models": [entry(id="Bad Id")]}), "lower-case"),
    (json.dumps({"format": 1, "models": [entry(), entry()]}), "lists 'x' twice"),
])
def test_a_damaged_catalog_says_what_is_wrong(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "catalog.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CatalogError, match=message) as caught:
        load_catalog(path)
    assert str(path) in str(caught.value)
