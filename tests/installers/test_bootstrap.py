"""The README's set-up script: wheel cache keys, the pinned llama-cpp-python and how exit statuses travel."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_bootstrap():
    spec = importlib.util.spec_from_file_location("ossian_bootstrap", ROOT / "installers" / "bootstrap.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bootstrap = load_bootstrap()


def test_the_llama_requirement_is_the_exact_pin_in_pyproject() -> None:
    assert bootstrap.llama_requirement() == "llama-cpp-python==0.3.36"


def test_a_gpu_build_and_a_cpu_build_never_share_a_wheelhouse(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("OSSIAN_WHEELHOUSE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("CMAKE_ARGS", raising=False)
    cpu = bootstrap.wheelhouse()
    monkeypatch.setenv("CMAKE_ARGS", "-DGGML_CUDA=on")
    cuda = bootstrap.wheelhouse()
    monkeypatch.setenv("CMAKE_ARGS", "-DGGML_VULKAN=on")
    vulkan = bootstrap.wheelhouse()
    assert len({cpu, cuda, vulkan}) == 3
    if sys.platform.startswith("linux"):
        assert cpu.is_relative_to(tmp_path), "the wheel cache lives outside the work tree"
    assert not cpu.is_relative_to(ROOT)


def test_the_stamp_changes_when_cmake_args_change(monkeypatch) -> None:
    monkeypatch.delenv("CMAKE_ARGS", raising=False)
    plain = bootstrap.stamp_text()
    monkeypatch.setenv("CMAKE_ARGS", "-DGGML_METAL=on")
    assert bootstrap.stamp_text() != plain


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_child_killed_by_a_signal_is_named_and_exits_like_a_shell(capsys) -> None:
    crash = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    status = subprocess.call([sys.executable, "-c", crash])
    assert status == -signal.SIGSEGV
    assert bootstrap.exit_status("pytest", status) == 128 + signal.SIGSEGV
    assert "pytest was killed by SIGSEGV" in capsys.readouterr().err


def test_ordinary_statuses_pass_through_unchanged(capsys) -> None:
    assert [bootstrap.exit_status("pytest", s) for s in (0, 1, 5)] == [0, 1, 5]
    assert capsys.readouterr().err == ""


def test_an_unknown_command_prints_usage_and_installs_nothing(capsys, monkeypatch) -> None:
    monkeypatch.setattr(bootstrap, "ensure_installed", lambda: pytest.fail("must not set up"))
    assert bootstrap.main(["frobnicate"]) == 2
    assert "usage: bootstrap.py run|test|setup" in capsys.readouterr().err
