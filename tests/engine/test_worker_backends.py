"""Finding backend modules and explaining why one did not load, without loading anything (loading them
for real needs the module build: tests/engine/test_vulkan.py, in the Vulkan run)."""

from __future__ import annotations

from pathlib import Path

from app.engine.worker_backends import MODULE_NAME, explain_load_error, find_modules, load_backends


def touch(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


def test_module_names_as_ggml_builds_them() -> None:
    assert MODULE_NAME.match("libggml-cpu-haswell.so").group("backend", "variant") == ("cpu", "haswell")
    assert MODULE_NAME.match("ggml-cuda.dll").group("backend", "variant") == ("cuda", None)
    assert MODULE_NAME.match("libggml-vulkan.so").group("backend") == "vulkan"
    assert MODULE_NAME.match("libggml.so") is None  # the core library, not a module
    assert MODULE_NAME.match("libggml-cpu-haswell.so.0") is None  # a versioned link, not the module


def test_the_folder_with_a_cpu_module_wins_and_base_is_no_backend(tmp_path: Path) -> None:
    lib = touch(tmp_path / "lib", "libggml-base.so", "libggml-vulkan.so", "libllama.so")
    bin_ = touch(tmp_path / "bin", "libggml-cpu-haswell.so", "libggml-cpu-x64.so", "libggml-vulkan.so")
    folder, modules = find_modules([tmp_path / "missing", lib, bin_])
    assert folder == bin_
    assert sorted((backend, variant) for backend, variant, _ in modules) == [
        ("cpu", "haswell"), ("cpu", "x64"), ("vulkan", "")]
    only_gpu, found = find_modules([lib])
    assert only_gpu == lib and [b for b, _, _ in found] == ["vulkan"]
    assert find_modules([tmp_path / "missing"]) == (None, [])


def test_loader_errors_say_what_to_do() -> None:
    assert "install your GPU driver's Vulkan support" in explain_load_error(
        "libvulkan.so.1: cannot open shared object file: No such file or directory")
    assert "install the NVIDIA driver" in explain_load_error("libcuda.so.1: cannot open shared object file")
    assert "reinstall Ossian" in explain_load_error("libcublasLt.so.12: cannot open shared object file")
    assert explain_load_error("something else") == "something else"


def test_the_development_build_reports_its_linked_in_backends() -> None:
    report = load_backends()
    assert report.error is None
    if report.built_in:  # the plain CPU build of the README's test command
        assert next(m.name for m in report.modules if m.loaded) == "CPU"
        assert report.cpu_variant == "" and report.folder == ""
    else:  # the module build
        assert report.cpu_variant
    assert load_backends() is report  # once per process
