"""The release configuration readers: installers/llama_config.py (CMAKE_ARGS per platform, for the
workflow and build.py --release), the CUDA module's archive (installers/cuda_module.py), the .deb's
dependency declarations and the release workflow's use of them. Fakes only: no CUDA, no build."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.installers import load

ROOT = Path(__file__).resolve().parents[2]


llama_config = load("llama_config", ROOT / "installers" / "llama_config.py")
cuda_module = load("ossian_cuda_module", ROOT / "installers" / "cuda_module.py")
build_deb = load("ossian_build_deb", ROOT / "installers" / "linux" / "build_deb.py")
CONFIG = llama_config.load()


@pytest.mark.parametrize("system, machine, key", [
    ("linux", "x86_64", "linux-x86_64"), ("win32", "AMD64", "windows-x86_64"),
    ("darwin", "arm64", "macos-arm64"), ("linux", "aarch64", "linux-arm64"),
])
def test_platform_keys(system, machine, key) -> None:
    assert llama_config.platform_key(system, machine) == key


def test_linux_and_windows_release_builds_carry_cpu_variants_and_vulkan_as_modules() -> None:
    for key in ("linux-x86_64", "windows-x86_64"):
        env = llama_config.release_environment(CONFIG, key)
        args = env["CMAKE_ARGS"].split()
        wanted = {"-DGGML_BACKEND_DL=ON", "-DGGML_CPU_ALL_VARIANTS=ON", "-DGGML_NATIVE=OFF",
                  "-DGGML_VULKAN=ON"}
        assert wanted <= set(args)
        assert env["OSSIAN_EXPECT_MODULES"] == "cpu,vulkan"
    assert "-DGGML_OPENMP=OFF" in llama_config.release_environment(CONFIG, "windows-x86_64")["CMAKE_ARGS"]


def test_macos_has_metal_built_in_and_expects_no_module() -> None:
    env = llama_config.release_environment(CONFIG, "macos-arm64")
    assert "-DGGML_METAL=ON" in env["CMAKE_ARGS"] and "GGML_BACKEND_DL" not in env["CMAKE_ARGS"]
    assert env["OSSIAN_EXPECT_MODULES"] == ""


def test_the_cuda_args_build_only_the_module() -> None:
    args = llama_config.cmake_args(CONFIG, "linux-x86_64", cuda=True)
    assert "-DGGML_CPU=OFF" in args and "-DGGML_CUDA=ON" in args and "-DGGML_BACKEND_DL=ON" in args
    with pytest.raises(SystemExit):
        llama_config.cmake_args(CONFIG, "macos-arm64", cuda=True)
    with pytest.raises(SystemExit):
        llama_config.release_environment(CONFIG, "plan9-mips")


def test_github_env_appends_lines(monkeypatch, tmp_path, capsys) -> None:
    target = tmp_path / "github_env"
    target.write_text("EARLIER=1\n")
    monkeypatch.setenv("GITHUB_ENV", str(target))

    assert llama_config.main(["github-env", "--platform", "linux-x86_64"]) == 0

    lines = target.read_text().splitlines()
    assert lines[0] == "EARLIER=1"
    assert lines[1].startswith("CMAKE_ARGS=-DGGML_BACKEND_DL=ON ")
    assert "OSSIAN_EXPECT_MODULES=cpu,vulkan" in lines
    assert "OSSIAN_LLAMA_PLATFORM=linux-x86_64" in lines


def test_arguments_with_spaces_or_newlines_are_refused() -> None:
    with pytest.raises(SystemExit):
        llama_config.cmake_args_string(["-DX=a b"])
    with pytest.raises(SystemExit):
        llama_config.github_env_lines({"CMAKE_ARGS": "a\nEVIL=1"})


# ---- the CUDA archive ----

def fake_cuda(tmp_path: Path, windows: bool = False) -> Path:
    cuda = tmp_path / "cuda"
    if windows:
        for name in ("cudart64_12.dll", "cublas64_12.dll", "cublasLt64_12.dll"):
            (cuda / "bin").mkdir(parents=True, exist_ok=True)
            (cuda / "bin" / name).write_bytes(name.encode() * 100)
        return cuda
    lib = cuda / "lib64"
    lib.mkdir(parents=True)
    for name in ("cudart", "cublas", "cublasLt"):
        real = lib / f"lib{name}.so.12.8.4.1"
        real.write_bytes(name.encode() * 1000)
        (lib / f"lib{name}.so.12").symlink_to(real.name)
    return cuda


def test_pack_writes_a_zip_that_verifies(tmp_path) -> None:
    module = tmp_path / "build" / "libggml-cuda.so"
    module.parent.mkdir()
    module.write_bytes(b"\x7fELF cuda module")

    archive = cuda_module.pack(module, fake_cuda(tmp_path), tmp_path / "dist", "linux-x86_64", "0.3.36",
                               "12.8.1", config=CONFIG, set_rpath=False)

    assert archive.name == "ossian-cuda12-linux-x86_64.zip"
    assert cuda_module.verify(archive) == []
    with zipfile.ZipFile(archive) as bundle:
        names = set(bundle.namelist())
        data = json.loads(bundle.read("ossian-cuda12.json"))
        sums = bundle.read("SHA256SUMS").decode()
    assert {"libggml-cuda.so", "libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12", "NOTICE.txt"} <= (
        names)
    assert data["verified_on_gpu"] is False
    assert (data["llama_cpp_python"], data["cuda"]) == ("0.3.36", "12.8.1")
    # the runtime is the real file under its soname, not a link
    cudart = next(f for f in data["files"] if f["name"] == "libcudart.so.12")
    assert cudart["size"] == len(b"cudart" * 1000)
    assert f"{cudart['sha256']}  libcudart.so.12" in sums


def test_verify_catches_a_changed_file_and_a_changed_zip(tmp_path) -> None:
    module = tmp_path / "ggml-cuda.dll"
    module.write_bytes(b"MZ cuda module")
    archive = cuda_module.pack(module, fake_cuda(tmp_path, windows=True), tmp_path / "dist", "windows-x86_64",
                               "0.3.36", "", config=CONFIG)
    tampered = tmp_path / "dist" / "tampered.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(tampered, "w") as target:
        for name in source.namelist():
            target.writestr(name, b"evil" if name == "cublas64_12.dll" else source.read(name))
    (tmp_path / "dist" / "tampered.zip.sha256").write_text("0" * 64 + "  tampered.zip\n")

    problems = cuda_module.verify(tampered)

    assert any("cublas64_12.dll" in p for p in problems)
    assert any("SHA-256 differs" in p for p in problems)


def test_pack_refuses_a_wrong_module_or_a_missing_runtime(tmp_path) -> None:
    wrong = tmp_path / "libggml-vulkan.so"
    wrong.write_bytes(b"x")
    with pytest.raises(SystemExit, match="not the CUDA module"):
        cuda_module.pack(wrong, fake_cuda(tmp_path), tmp_path / "dist", "linux-x86_64", "0.3.36", "",
                         config=CONFIG)
    module = tmp_path / "libggml-cuda.so"
    module.write_bytes(b"x")
    with pytest.raises(SystemExit, match=r"libcublasLt\.so\.12"):
        cuda_module.pack(module, tmp_path / "no-cuda", tmp_path / "dist", "linux-x86_64", "0.3.36", "",
                         config=CONFIG)


def test_the_module_may_only_link_what_the_archive_or_the_system_has() -> None:
    shipped = ["libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12"]
    needed = ["libggml-base.so.0", "libcudart.so.12", "libcublas.so.12", "libcuda.so.1", "libstdc++.so.6",
              "libc.so.6", "libcublasLt.so.12"]
    assert cuda_module.unexpected_needs(needed, shipped) == []
    assert cuda_module.unexpected_needs([*needed, "libnccl.so.2"], shipped) == ["libnccl.so.2"]


# ---- the .deb and the workflow ----

def test_the_deb_recommends_the_vulkan_loader_and_does_not_depend_on_it() -> None:
    assert "libvulkan1" in build_deb.RECOMMENDS
    assert "libvulkan1" not in build_deb.DEPENDS
    assert build_deb.KNOWN_SONAMES["libvulkan.so.1"] == "libvulkan1"
    control = build_deb.control_text("0.1.0", "amd64", 1, "me <me@example.org>", [])
    depends = next(line for line in control.splitlines() if line.startswith("Depends:"))
    recommends = next(line for line in control.splitlines() if line.startswith("Recommends:"))
    assert "libvulkan1" not in depends and "libvulkan1" in recommends


def test_the_workflow_reads_the_config_and_has_no_separate_vulkan_package() -> None:
    yaml = pytest.importorskip("yaml")
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    jobs = workflow["jobs"]
    names = [leg["name"] for leg in jobs["build"]["strategy"]["matrix"]["include"]]
    platforms = {leg["platform"] for leg in jobs["build"]["strategy"]["matrix"]["include"]}

    assert names == ["linux-x64", "macos-arm64", "windows-x64"]
    assert platforms == set(CONFIG["platforms"])
    assert "--variant" not in text and "GGML_VULKAN=on" not in text
    assert "llama_config.py github-env" in text
    cuda = jobs["cuda12"]
    cuda_platforms = {leg["platform"] for leg in cuda["strategy"]["matrix"]["include"]}
    assert cuda_platforms == set(CONFIG["cuda"]["platforms"])
    assert cuda["continue-on-error"] is True and "not verified" in cuda["name"]
    assert "cuda12" in jobs["release"]["needs"]
