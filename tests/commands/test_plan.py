"""`ossian plan` as a user runs it: a real subprocess, on the shape twins and on files that are wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.commands import UsageError
from app.commands.plan import parse_size
from fixtures.shape_twins import REPO_ROOT, shape_twin_20b, shape_twin_120b

GIB = 2**30


def ossian(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT)


def test_what_could_i_run_on_a_24_gb_card() -> None:
    done = ossian("plan", str(shape_twin_120b()), "--gpu-total", "24G", "--ram", "64GiB", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["fits"] is True and plan["mode"] == "hybrid"
    assert plan["n_ctx"] == 32768 and plan["n_gpu_layers"] == -1 and plan["kv_type"] == "f16"
    assert 23 <= len(plan["cpu_expert_blocks"]) <= 27
    assert plan["cpu_expert_blocks"] == list(range(len(plan["cpu_expert_blocks"])))
    [gpu] = plan["predicted"]["devices"]
    assert gpu["memory_total"] == 24 * GIB and gpu["total"] <= gpu["memory_free"] - GIB
    assert plan["predicted"]["host"]["total"] <= 63 * GIB
    assert "experts of" in plan["explanation"] and plan["machine"]["source"] == "described"


def test_this_machine_in_words() -> None:
    done = ossian("plan", str(shape_twin_20b()), "--ctx", "8192")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert "CPU only" in first and "8K context" in first
    assert "context          8K (8,192 tokens), KV cache f16" in done.stdout
    assert "RAM" in done.stdout and "GPU layers       0" in done.stdout


def test_unified_memory_that_is_too_small() -> None:
    done = ossian("plan", str(shape_twin_120b()), "--unified", "--ram", "64G", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["fits"] is False and plan["suggestion"] == "gpt-oss-20b"
    assert "try gpt-oss-20b" in plan["explanation"]


def test_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    bad = tmp_path / "notes.gguf"
    bad.write_text("<html>404 Not Found</html>")
    done = ossian("plan", str(bad))
    assert done.returncode == 1
    assert "notes.gguf is not a GGUF model file: it is a web page" in done.stderr


@pytest.mark.parametrize(("args", "words"), [
    (["--ram", "lots"], "--ram takes a size such as"),
    (["--gpu-free", "30G", "--gpu-total", "24G"], "--gpu-free cannot be more than --gpu-total"),
    (["--ctx", "12"], "at least 256 tokens"),
])
def test_usage_errors(args: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_status:
        main(["plan", str(shape_twin_20b()), *args])
    assert exit_status.value.code == 2 and words in capsys.readouterr().err


def test_sizes() -> None:
    assert parse_size("25769803776", "--ram") == 24 * GIB
    assert parse_size("24G", "--ram") == parse_size("24GB", "--ram") == 24 * GIB
    assert parse_size("24 GiB", "--ram") == 24 * GIB
    assert parse_size("1.5t", "--ram") == int(1.5 * 2**40)
    with pytest.raises(UsageError):
        parse_size("-3G", "--ram")
