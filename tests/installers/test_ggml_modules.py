"""Which files of an installed llama-cpp-python the frozen app carries as backend modules, and where.

The trees are fakes in tmp_path laid out like the real wheels (a release build's modules in
site-packages' top-level `bin/`, the Vulkan one also in `llama_cpp/lib`; the development build's
linked-in libggml-cpu in `llama_cpp/lib`); a module file holds ggml's entry point name as the real ones do.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from tests.installers import load

ROOT = Path(__file__).resolve().parents[2]
PYINSTALLER_DIR = ROOT / "installers" / "pyinstaller"


ggml_modules = load("ggml_modules", PYINSTALLER_DIR / "ggml_modules.py")
toc_tools = load("ossian_toc_tools", PYINSTALLER_DIR / "toc_tools.py")

CPU_VARIANTS = ["x64", "sse42", "sandybridge", "haswell", "skylakex", "cannonlake", "cascadelake", "icelake",
                "cooperlake", "zen4", "alderlake", "sapphirerapids", "piledriver", "ivybridge"]
ENTRY = b"\x7fELF" + b"\0" * 60 + b"\0ggml_backend_init\0ggml_backend_score\0" + b"\0" * 16


def write(path: Path, content: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def linux_release_tree(site: Path) -> list[str]:
    """site-packages as a release wheel leaves it on Linux; returns the module names."""
    names = [f"libggml-cpu-{variant}.so" for variant in CPU_VARIANTS] + ["libggml-vulkan.so"]
    for name in names:
        write(site / "bin" / name, ENTRY)
    lib = site / "llama_cpp" / "lib"
    write(lib / "libggml-vulkan.so", ENTRY)  # llama-cpp-python's own install rule copies this one too
    for base in ("libggml-base.so", "libggml.so", "libllama.so"):
        for suffix in ("", ".0"):
            write(lib / f"{base}{suffix}", b"\x7fELF not a module")
            write(site / "lib" / f"{base}{suffix}", b"\x7fELF not a module")  # the wheel's second copy
    return names


def test_a_release_tree_yields_every_cpu_variant_and_vulkan_once_into_ggml_backends(tmp_path) -> None:
    names = linux_release_tree(tmp_path)

    collected = ggml_modules.collect(tmp_path)

    assert sorted(Path(src).name for src, _ in collected) == sorted(names)
    assert {dest for _, dest in collected} == {"ggml-backends"}
    assert len(collected) == 15
    # the package's own folder wins over bin/ for a module in both
    vulkan = next(src for src, _ in collected if src.endswith("libggml-vulkan.so"))
    assert Path(vulkan).parent == tmp_path / "llama_cpp" / "lib"


def test_a_development_build_has_nothing_to_collect_and_keeps_its_libggml_cpu(tmp_path) -> None:
    lib = tmp_path / "llama_cpp" / "lib"
    for name in ("libggml-cpu.so", "libggml-cpu.so.0", "libggml-base.so", "libggml.so", "libllama.so"):
        write(lib / name, b"\x7fELF linked-in library, no module entry point")

    assert ggml_modules.collect(tmp_path) == []
    assert not ggml_modules.is_module_file(lib / "libggml-cpu.so")
    toc = [("llama_cpp/lib/libggml-cpu.so", str(lib / "libggml-cpu.so"), "BINARY")]
    assert ggml_modules.drop_modules_elsewhere(toc) == toc


def test_no_llama_cpp_at_all_is_no_error(tmp_path) -> None:
    assert ggml_modules.collect(tmp_path / "nothing-here") == []


def test_windows_names_and_llama_cpp_bin_are_found(tmp_path) -> None:
    write(tmp_path / "llama_cpp" / "bin" / "ggml-cpu-haswell.dll", ENTRY)
    write(tmp_path / "bin" / "ggml-vulkan.dll", ENTRY)
    write(tmp_path / "bin" / "ggml-base.dll", ENTRY)  # the base library is never a backend
    write(tmp_path / "bin" / "ggml.dll", ENTRY)
    write(tmp_path / "bin" / "llama.dll", b"")

    names = sorted(Path(src).name for src, _ in ggml_modules.collect(tmp_path))

    assert names == ["ggml-cpu-haswell.dll", "ggml-vulkan.dll"]


def test_files_elsewhere_or_named_otherwise_are_not_modules(tmp_path) -> None:
    write(tmp_path / "somewhere" / "libggml-cpu-haswell.so", ENTRY)  # not a folder wheels use
    write(tmp_path / "bin" / "libggml-cpu-haswell.so.txt", ENTRY)
    write(tmp_path / "bin" / "notes-ggml-cpu.so", ENTRY)

    assert ggml_modules.collect(tmp_path) == []


def test_the_entry_point_is_found_across_a_chunk_boundary(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(ggml_modules, "_CHUNK", 8)
    content = b"0123456789abc" + ggml_modules.ENTRY_POINT + b"tail"
    path = write(tmp_path / "bin" / "libggml-cpu-zen4.so", content)
    assert ggml_modules.exports_entry_point(path)
    assert not ggml_modules.exports_entry_point(write(tmp_path / "empty.so"))


def test_the_wheel_record_is_read_when_there_is_one(tmp_path) -> None:
    site = tmp_path / "site-packages"
    write(site / "bin" / "libggml-cpu-haswell.so", ENTRY)
    write(site / "bin" / "libggml-vulkan.so", ENTRY)
    write(site / "elsewhere" / "libggml-cpu-zen4.so", ENTRY)  # in RECORD, but no folder the app looks in
    info = site / "llama_cpp_python-0.3.36.dist-info"
    write(info / "METADATA", b"Metadata-Version: 2.1\nName: llama_cpp_python\nVersion: 0.3.36\n")
    write(info / "RECORD", b"bin/libggml-cpu-haswell.so,,\nbin/libggml-vulkan.so,,\n"
                           b"elsewhere/libggml-cpu-zen4.so,,\nllama_cpp_python-0.3.36.dist-info/RECORD,,\n")
    distribution = metadata.PathDistribution(info)

    found = ggml_modules.modules_of_distribution(distribution)

    assert sorted(path.name for path in found) == ["libggml-cpu-haswell.so", "libggml-vulkan.so"]
    assert sorted(Path(src).name for src, _ in ggml_modules.collect(None, distribution)) == [
        "libggml-cpu-haswell.so", "libggml-vulkan.so"]


def test_a_module_that_collect_dynamic_libs_also_took_into_llama_cpp_lib_is_dropped(tmp_path) -> None:
    linux_release_tree(tmp_path)
    lib = tmp_path / "llama_cpp" / "lib"
    toc = [
        ("llama_cpp/lib/libggml-vulkan.so", str(lib / "libggml-vulkan.so"), "BINARY"),
        ("llama_cpp/lib/libllama.so", str(lib / "libllama.so"), "BINARY"),
        *[(f"ggml-backends/{Path(src).name}", src, "BINARY") for src, _ in ggml_modules.collect(tmp_path)],
    ]

    kept = ggml_modules.drop_modules_elsewhere(toc)

    assert ("llama_cpp/lib/libggml-vulkan.so", str(lib / "libggml-vulkan.so"), "BINARY") not in kept
    assert ("llama_cpp/lib/libllama.so", str(lib / "libllama.so"), "BINARY") in kept
    assert sum(1 for dest, _, _ in kept if dest.startswith("ggml-backends/")) == 15


def test_second_copies_of_llama_cpp_libraries_are_dropped_and_links_follow() -> None:
    """What the dependency analysis makes of a module whose run path finds libggml-base elsewhere in
    site-packages (Windows: ggml-base.dll next to the modules in bin/; the wheel's top-level lib/)."""
    toc = [
        ("llama_cpp/lib/ggml-base.dll", "/sp/llama_cpp/lib/ggml-base.dll", "BINARY"),
        ("llama_cpp/lib/libggml-base.so.0", "/sp/llama_cpp/lib/libggml-base.so.0", "BINARY"),
        ("ggml-backends/ggml-cpu-haswell.dll", "/sp/bin/ggml-cpu-haswell.dll", "BINARY"),
        ("bin/ggml-base.dll", "/sp/bin/ggml-base.dll", "BINARY"),
        ("lib/libggml-base.so.0", "/sp/lib/libggml-base.so.0", "BINARY"),
        ("libggml-base.so.0", "lib/libggml-base.so.0", "SYMLINK"),
        ("bin/other.dll", "/sp/bin/other.dll", "BINARY"),
        ("libgomp.so.1", "/usr/lib/libgomp.so.1", "BINARY"),
    ]

    kept = ggml_modules.drop_stray_llama_copies(toc)

    assert [dest for dest, _, _ in kept] == [
        "llama_cpp/lib/ggml-base.dll", "llama_cpp/lib/libggml-base.so.0",
        "ggml-backends/ggml-cpu-haswell.dll", "libggml-base.so.0", "bin/other.dll", "libgomp.so.1"]
    assert ("libggml-base.so.0", "llama_cpp/lib/libggml-base.so.0", "SYMLINK") in kept
    assert ggml_modules.drop_stray_llama_copies(kept) == kept


def test_summary_and_the_expected_backends_check() -> None:
    toc = [("ggml-backends/libggml-cpu-haswell.so", "x", "BINARY"),
           ("ggml-backends/libggml-cpu-x64.so", "x", "BINARY"),
           ("ggml-backends/libggml-vulkan.so", "x", "BINARY"), ("llama_cpp/lib/libllama.so", "x", "BINARY")]

    assert ggml_modules.summary(toc) == "cpu: haswell, x64; vulkan"
    assert ggml_modules.missing_backends(toc, ["cpu", "vulkan"]) == []
    assert ggml_modules.missing_backends(toc[:2], ["cpu", "vulkan"]) == ["vulkan"]
    assert ggml_modules.missing_backends([], ["cpu"]) == ["cpu"]
    assert ggml_modules.missing_backends([], []) == []
    assert ggml_modules.summary([]).startswith("none")


@pytest.mark.parametrize("name", ["libvulkan.so.1", "libvulkan.so", "libvulkan.so.1.3.275", "vulkan-1.dll",
                                  "VULKAN-1.DLL"])
def test_the_vulkan_loader_is_left_to_the_system(name) -> None:
    toc = [(name, f"/usr/lib/{name}", "BINARY"),
           ("ggml-backends/libggml-vulkan.so", "/x/libggml-vulkan.so", "BINARY"),
           ("libgomp.so.1", "/usr/lib/libgomp.so.1", "BINARY")]

    kept = toc_tools.drop_system_gpu_loaders(toc)

    assert [dest for dest, _, _ in kept] == ["ggml-backends/libggml-vulkan.so", "libgomp.so.1"]


def test_the_module_pattern_matches_the_apps() -> None:
    """The app finds modules with its own pattern (app/engine/worker_backends.py); both must agree."""
    source = (ROOT / "app" / "engine" / "worker_backends.py").read_text(encoding="utf-8")
    assert ggml_modules.MODULE_NAME.pattern in source
    assert '"ggml-backends"' in source
    assert ggml_modules.DEST == "ggml-backends"
