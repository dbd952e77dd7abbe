"""`ossian models scan [--json]` and `ossian models import` of a found file, as a user runs them: real
subprocesses, other apps' stores built in a temporary home (HOME points there)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.other_apps import (
    hub_cache_repo,
    lm_studio_model,
    ollama_model,
    ollama_own_gpt_oss,
    openai_checkpoint,
)
from fixtures.tiny_models import tiny_gpt_oss_model
from tests.models.tiny_split import tiny_gpt_oss_split

REPO_ROOT = Path(__file__).resolve().parents[2]
STORE_VARIABLES = ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
                   "OLLAMA_MODELS")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    hub_cache_repo(home / ".cache/huggingface/hub", "ggml-org/gpt-oss-20b-GGUF",
                   {"gpt-oss-20b-mxfp4.gguf": tiny_gpt_oss_model()})
    openai_checkpoint(home / ".cache/huggingface/hub")
    lm_studio_model(home / ".lmstudio/models", "ggml-org/gpt-oss-120b-GGUF", tiny_gpt_oss_split(),
                    [f"gpt-oss-120b-mxfp4-{i:05d}-of-00003.gguf" for i in (1, 2, 3)])
    ollama_model(home / ".ollama/models", "gpt-oss", "20b", ollama_own_gpt_oss(tmp_path / "ollama.gguf"))
    return home


def ossian(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in STORE_VARIABLES}
    env["HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def test_scan_json_lists_every_found_model_usable_or_with_its_reason(home: Path) -> None:
    done = ossian(home, "models", "scan", "--json")

    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [(m["source"], m["usable"]) for m in listed] == [
        ("hub-cache", True), ("lm-studio", True), ("hub-cache", False), ("ollama", False)]
    for item in listed:
        assert {"path", "source", "size", "usable"} <= item.keys() and item["size"] > 0
        assert Path(item["path"]).exists()
        assert ("reason" in item) == (not item["usable"])
    checkpoint, converted = listed[2], listed[3]
    assert checkpoint["problem"] == "checkpoint" and "safetensors" in checkpoint["reason"]
    assert converted["problem"] == "ollama_format" and "gptoss" in converted["reason"]
    assert all(item["in_library"] is None for item in listed)


def test_scan_text_then_import_uses_the_file_in_place(home: Path, ossian_home: Path) -> None:
    done = ossian(home, "models", "scan")
    assert done.returncode == 0, done.stderr
    assert "Usable where they are" in done.stdout and "Not usable" in done.stdout
    assert "original checkpoint" in done.stdout and "Ollama's own conversion" in done.stdout

    part = home / ".lmstudio/models/ggml-org/gpt-oss-120b-GGUF/gpt-oss-120b-mxfp4-00002-of-00003.gguf"
    imported = ossian(home, "models", "import", str(part))
    assert imported.returncode == 0, imported.stderr
    assert "used where it is" in imported.stdout and "LM Studio keeps this file" in imported.stdout

    listed = json.loads(ossian(home, "models", "list", "--json").stdout)["installed"]
    assert [(m["kept_by"], m["path"]) for m in listed] == [("lm-studio", str(part.with_name(
        "gpt-oss-120b-mxfp4-00001-of-00003.gguf")))]
    assert not list((ossian_home / "models").rglob("*.gguf"))  # nothing copied
    found = json.loads(ossian(home, "models", "scan", "--json").stdout)
    assert [m["in_library"] for m in found if m["source"] == "lm-studio"] == [listed[0]["id"]]

    refused = ossian(home, "models", "import", next(m["path"] for m in found if m["source"] == "ollama"))
    assert refused.returncode == 1 and "only Ollama's engine runs it" in refused.stderr
