"""The pure parts of bench/gpu_check.py and its offline bundle: what the trimmed sources keep, the
CMAKE_ARGS of the CUDA build, the bundle's checksums, the toolkit search, and the sweep's arithmetic. The
check itself needs a GPU (see the script's docstring); nothing here loads llama.cpp."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


prep = _load("gpu_check_prepare")
check = _load("gpu_check")


@pytest.mark.parametrize("path", [
    "CMakeLists.txt", "pyproject.toml", "README.md", "llama_cpp/llama_cpp.py",
    "vendor/llama.cpp/CMakeLists.txt", "vendor/llama.cpp/ggml/src/ggml-cuda/fattn.cu",
    "vendor/llama.cpp/ggml/src/ggml-cpu/ggml-cpu.c", "vendor/llama.cpp/vendor/miniaudio/miniaudio.h",
    "vendor/llama.cpp/common/common.cpp", "vendor/llama.cpp/tools/mtmd/CMakeLists.txt",
    "vendor/llama.cpp/cmake/build-info.cmake", "vendor/llama.cpp/LICENSE",
])
def test_the_trimmed_sources_keep_what_the_build_reads(path: str) -> None:
    assert prep.trim_reason(path) is None


@pytest.mark.parametrize("path", [
    ".git/HEAD", "vendor/llama.cpp/.github/workflows/build.yml", "docs/index.md", "tests/test_llama.py",
    "vendor/llama.cpp/models/ggml-vocab-gpt-2.gguf", "vendor/llama.cpp/docs/ops/CUDA.csv",
    "vendor/llama.cpp/tools/ui/index.html", "vendor/llama.cpp/tools/server/server.cpp",
    "vendor/llama.cpp/convert_hf_to_gguf.py", "vendor/llama.cpp/ggml/src/ggml-vulkan/ggml-vulkan.cpp",
    "vendor/llama.cpp/tools/mtmd/test-1.jpeg", "vendor/llama.cpp/tests/test-backend-ops.cpp",
])
def test_the_trimmed_sources_leave_out_data_docs_and_other_backends(path: str) -> None:
    assert prep.trim_reason(path) is not None


def test_the_build_combines_the_cpu_modules_with_cuda() -> None:
    config = json.loads(prep.BUILD_CONFIG.read_text(encoding="utf-8"))
    args = prep.combined_cmake_args(config)
    names = [arg.split("=", 1)[0] for arg in args]
    assert len(names) == len(set(names))  # each setting once
    wanted = {"-DGGML_CUDA=ON", "-DGGML_CPU_ALL_VARIANTS=ON", "-DGGML_BACKEND_DL=ON", "-DGGML_NATIVE=OFF"}
    assert wanted <= set(args)
    assert not any(arg.startswith(("-DGGML_CPU=", "-DGGML_VULKAN")) for arg in args)
    release = next(a for a in config["cuda"]["cmake_args"] if a.startswith("-DCMAKE_CUDA_ARCHITECTURES="))
    assert release in args
    own = prep.combined_cmake_args(config, cuda_arch="90-real")
    assert "-DCMAKE_CUDA_ARCHITECTURES=90-real" in own and release not in own


def test_compute_capability_becomes_an_architecture() -> None:
    assert prep.cuda_arch_of(" 9.0") == "90-real"
    assert prep.cuda_arch_of("8.9") == "89-real"
    assert prep.cuda_arch_of("[N/A]") is None


def test_a_bundle_is_verified_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "wheels").mkdir()
    wheel = tmp_path / "wheels" / "x-1-py3-none-any.whl"
    wheel.write_bytes(b"wheel")
    entries = [{"name": "wheels/x-1-py3-none-any.whl", "size": 5, "sha256": prep.sha256_file(wheel)}]
    (tmp_path / prep.MANIFEST).write_text(json.dumps({"format": prep.FORMAT, "files": entries}))
    assert prep.verify_bundle(tmp_path)["files"] == entries
    wheel.write_bytes(b"WHEEL")
    with pytest.raises(SystemExit, match="damaged or incomplete"):
        prep.verify_bundle(tmp_path)


def test_the_toolkit_is_found_through_a_wrapper_script(tmp_path: Path) -> None:
    home = tmp_path / "cuda-13.0"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "nvcc").write_text("#!/bin/sh\n")
    wrappers = tmp_path / "wrappers"
    wrappers.mkdir()
    wrapper = wrappers / "nvcc"
    wrapper.write_text(f'#!/bin/sh\nexec {home}/bin/nvcc "$@"\n')
    wrapper.chmod(0o755)
    found = prep.find_cuda_toolkit({"PATH": str(wrappers)})
    assert found is not None and found.home == home.resolve()
    assert "libcudart" in (prep.toolkit_problem(found) or "")  # no libraries at all in this one


def test_the_sweep_goes_around_the_plan_within_the_model() -> None:
    assert check.sweep_points(5, 24) == [3, 4, 5, 6, 7]
    assert check.sweep_points(0, 24) == [0, 1, 2]
    assert check.sweep_points(24, 24, reach=1) == [23, 24]
    forced = frozenset({20})
    assert check.leading_blocks((0, 1, 2, 20), forced, 24) == 3
    assert check.leading_blocks((20,), forced, 24) == 0
    assert check.leading_blocks((1, 2), frozenset(), 24) is None  # not the first k blocks


def test_the_plan_is_held_against_the_fastest_split_that_fits() -> None:
    rates = {3: 50.0, 4: 48.0, 5: 45.0, 6: 44.0}
    fits = {3: False, 4: True, 5: True, 6: True}
    best, distance = check.distance_from_fastest(rates, fits, plan_k=5)
    assert best == 4 and distance == pytest.approx(1 - 45 / 48)
    assert check.distance_from_fastest(rates, {**fits, 5: False}, plan_k=5) is None
