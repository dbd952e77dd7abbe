#!/usr/bin/env python3
"""llama.cpp's CUDA 12 backend as a separate, checksummed archive: `ossian-cuda12-<platform>.zip`.

NOT VERIFIED HERE: no CUDA toolkit or NVIDIA GPU was at hand where this was written. The release workflow
runs it (job `cuda12`); its first run is the test.

    python3 installers/cuda_module.py source --out build/cuda-src   # llama-cpp-python's sdist, unpacked
    python3 installers/cuda_module.py build \\
        --source build/cuda-src/llama_cpp_python-0.3.36/vendor/llama.cpp \\
        --build-dir build/cuda                                       # only the ggml-cuda module
    python3 installers/cuda_module.py pack --module build/cuda/bin/libggml-cuda.so \\
        --cuda-path "$CUDA_PATH" --out dist                          # module + runtime + manifest, zipped
    python3 installers/cuda_module.py verify dist/ossian-cuda12-linux-x86_64.zip

Why separate: the CUDA runtime the module needs (cudart, cublas, cublasLt) is about 0.85 GB unpacked,
ten times the rest of the installer, and useful only with an NVIDIA GPU; docs/packaging.md has the
figures and the decision. The module is built from the same llama.cpp source as the app's wheel (the
sdist of the pinned llama-cpp-python), with installers/llama-build.json's `cuda` cmake_args: the
backend as a module (`GGML_BACKEND_DL`), no CPU backend (the app has its own), Turing and newer.

The archive holds, flat: the module (`libggml-cuda.so` / `ggml-cuda.dll`), the runtime libraries under
their sonames (`libcudart.so.12`, `libcublas.so.12`, `libcublasLt.so.12`; on Windows `cudart64_12.dll`,
`cublas64_12.dll`, `cublasLt64_12.dll`), `ossian-cuda12.json` (what it is, for which llama-cpp-python,
each file's size and SHA-256), `SHA256SUMS` (the same, for `sha256sum -c`) and `NOTICE.txt`. Its own
SHA-256 goes next to it in `<zip>.sha256`. The files belong in one folder next to each other: on Linux
the module's run path is set to `$ORIGIN` (patchelf) so it finds the runtime there; on Windows the app
adds the module's folder to the DLL search path. Both need the NVIDIA driver (libcuda / nvcuda.dll),
which is never shipped.

Standard library only (plus cmake, the CUDA toolkit and, on Linux, patchelf for `build`/`pack`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import llama_config  # noqa: E402

CUDA_MAJOR = "12"
NAME = f"ossian-cuda{CUDA_MAJOR}"
MANIFEST = f"{NAME}.json"
SUMS = "SHA256SUMS"
NOTICE = "NOTICE.txt"
FORMAT = 1
# What llama.cpp's own CUDA release switches off besides: nothing but the module is built or needed.
EXTRA_CMAKE_ARGS = ["-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_TESTS=OFF",
                    "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_TOOLS=OFF", "-DLLAMA_BUILD_SERVER=OFF"]
# Libraries a Linux module may link from the system: glibc, the C++ runtime, the NVIDIA driver, and the
# libggml-base the app has already loaded.
SYSTEM_SONAMES = ("libc.so", "libm.so", "libdl.so", "libpthread.so", "librt.so", "libstdc++.so",
                  "libgcc_s.so", "ld-linux", "libcuda.so", "libggml-base.so")
NOTICE_TEXT = """\
Ossian's CUDA {major} backend for llama.cpp ({platform}).

{module}: llama.cpp's ggml-cuda backend, MIT licence (see Ossian's _internal/licenses/llama.cpp-LICENSE.txt).
The CUDA runtime libraries ({runtime}) are NVIDIA's, redistributed under the NVIDIA CUDA Toolkit End
User License Agreement, https://docs.nvidia.com/cuda/eula/ (Attachment A lists them as redistributable).
They need an NVIDIA driver recent enough for CUDA {major}; none is included.
"""


def say(text: str) -> None:
    print(f"[cuda] {text}", file=sys.stderr, flush=True)


def run(cmd: list, **kwargs) -> None:
    say("$ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def platform_system(key: str) -> str:
    return key.split("-", 1)[0]


def module_file_name(key: str) -> str:
    return "ggml-cuda.dll" if platform_system(key) == "windows" else "libggml-cuda.so"


def runtime_file_names(config: dict, key: str) -> list[str]:
    """The runtime libraries' names as the module asks for them (sonames / DLL names)."""
    names = config["cuda"]["runtime_libraries"]
    if platform_system(key) == "windows":
        return [f"{name}64_{CUDA_MAJOR}.dll" for name in names]
    return [f"lib{name}.so.{CUDA_MAJOR}" for name in names]


def runtime_folders(cuda_path: Path, key: str) -> list[Path]:
    if platform_system(key) == "windows":
        return [cuda_path / "bin", cuda_path / "bin" / "x64"]
    return [cuda_path / "lib64", cuda_path / "targets" / "x86_64-linux" / "lib", cuda_path / "lib"]


def find_runtime(cuda_path: Path, key: str, names: list[str]) -> dict[str, Path]:
    """name -> the file (symlinks followed later, by the copy). Stops naming every one it cannot find."""
    found, missing = {}, []
    for name in names:
        folders = runtime_folders(cuda_path, key)
        path = next((folder / name for folder in folders if (folder / name).exists()), None)
        if path is None:
            missing.append(name)
        else:
            found[name] = path
    if missing:
        looked = ", ".join(str(f) for f in runtime_folders(cuda_path, key))
        raise SystemExit(f"[cuda] not in the CUDA toolkit at {cuda_path}: {', '.join(missing)} "
                         f"(looked in {looked})")
    return found


def unexpected_needs(needed: list[str], shipped: list[str]) -> list[str]:
    """NEEDED entries of the Linux module that neither the archive nor the system provides."""
    return [name for name in needed if name not in shipped and not name.startswith(SYSTEM_SONAMES)]


def elf_needed(path: Path) -> list[str]:
    done = subprocess.run(["patchelf", "--print-needed", str(path)], capture_output=True, text=True,
                          check=True)
    return done.stdout.split()


def manifest(config: dict, key: str, folder: Path, files: list[str], llama_version: str,
             cuda_version: str) -> dict:
    return {
        "format": FORMAT,
        "name": NAME,
        "platform": key,
        "llama_cpp_python": llama_version,
        "cuda": cuda_version,
        "cmake_args": config["cuda"]["cmake_args"],
        "module": module_file_name(key),
        "verified_on_gpu": False,  # set by a person who ran it on an NVIDIA GPU, never by this script
        "files": [{"name": name, "size": (folder / name).stat().st_size, "sha256": sha256_file(folder / name)}
                  for name in files],
    }


def pack(module: Path, cuda_path: Path, out: Path, key: str, llama_version: str, cuda_version: str,
         config: dict | None = None, set_rpath: bool = True) -> Path:
    """Stage module + runtime + manifest, zip them, write `<zip>.sha256`. Returns the zip."""
    config = config or llama_config.load()
    expected = module_file_name(key)
    if module.name != expected:
        raise SystemExit(f"[cuda] {module} is not the CUDA module for {key} (expected {expected})")
    runtime = find_runtime(cuda_path, key, runtime_file_names(config, key))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        stage = Path(tmp)
        shutil.copyfile(module, stage / module.name)
        for name, path in runtime.items():
            shutil.copyfile(path, stage / name)  # follows the soname link to the real library
        if platform_system(key) == "linux" and set_rpath:
            run(["patchelf", "--set-rpath", "$ORIGIN", stage / module.name])
            problems = unexpected_needs(elf_needed(stage / module.name), list(runtime))
            if problems:
                raise SystemExit(f"[cuda] the module links libraries the archive does not carry: {problems}")
        files = [module.name, *runtime]
        notice = NOTICE_TEXT.format(major=CUDA_MAJOR, platform=key, module=module.name,
                                    runtime=", ".join(runtime))
        (stage / NOTICE).write_text(notice, encoding="utf-8")
        files.append(NOTICE)
        data = manifest(config, key, stage, files, llama_version, cuda_version)
        (stage / MANIFEST).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        sums = "".join(f"{f['sha256']}  {f['name']}\n" for f in data["files"])
        (stage / SUMS).write_text(sums, encoding="utf-8")
        archive = out / f"{NAME}-{key}.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
            for name in [*files, MANIFEST, SUMS]:
                bundle.write(stage / name, name)
    (out / f"{archive.name}.sha256").write_text(f"{sha256_file(archive)}  {archive.name}\n", encoding="utf-8")
    say(f"{archive} ({archive.stat().st_size / 1e6:.0f} MB): " + ", ".join(
        f"{f['name']} {f['size'] / 1e6:.1f} MB" for f in data["files"]))
    return archive


def verify(archive: Path) -> list[str]:
    """Problems with an archive: the zip's own checksum file (when next to it), the manifest's files."""
    problems = []
    sidecar = archive.with_name(archive.name + ".sha256")
    if sidecar.exists():
        wanted = sidecar.read_text(encoding="utf-8").split()[0]
        if sha256_file(archive) != wanted:
            problems.append(f"{archive.name}: SHA-256 differs from {sidecar.name}")
    with zipfile.ZipFile(archive) as bundle:
        names = set(bundle.namelist())
        if MANIFEST not in names:
            return [*problems, f"no {MANIFEST} in the archive"]
        data = json.loads(bundle.read(MANIFEST))
        listed = {entry["name"] for entry in data["files"]}
        for entry in data["files"]:
            if entry["name"] not in names:
                problems.append(f"{entry['name']}: listed, not in the archive")
                continue
            content = bundle.read(entry["name"])
            if len(content) != entry["size"] or hashlib.sha256(content).hexdigest() != entry["sha256"]:
                problems.append(f"{entry['name']}: size or SHA-256 differs from the manifest")
        extra = names - listed - {MANIFEST, SUMS}
        if extra:
            problems.append(f"not in the manifest: {', '.join(sorted(extra))}")
        if data.get("module") not in listed:
            problems.append("the manifest names no module among its files")
    return problems


def fetch_source(out: Path) -> Path:
    """The pinned llama-cpp-python's sdist, unpacked into `out`; returns its vendor/llama.cpp."""
    from bootstrap import llama_requirement

    requirement = llama_requirement()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", requirement,
             "-d", tmp])
        sdist = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(sdist) as archive:
            archive.extractall(out, filter="data")
        top = out / sdist.name.removesuffix(".tar.gz")
    source = top / "vendor" / "llama.cpp"
    if not (source / "CMakeLists.txt").exists():
        raise SystemExit(f"[cuda] no llama.cpp source in {top}")
    print(source)
    return source


def build(source: Path, build_dir: Path, key: str, jobs: int | None = None) -> Path:
    """Configure llama.cpp with the `cuda` cmake_args and build only the ggml-cuda target."""
    config = llama_config.load()
    args = llama_config.cmake_args(config, key, cuda=True)
    run(["cmake", "-S", source, "-B", build_dir, *args, *EXTRA_CMAKE_ARGS])
    command = ["cmake", "--build", build_dir, "--config", "Release", "--target", "ggml-cuda"]
    if jobs:
        command += ["--parallel", str(jobs)]
    run(command)
    name = module_file_name(key)
    found = sorted(build_dir.rglob(name))
    if not found:
        raise SystemExit(f"[cuda] the build made no {name} under {build_dir}")
    print(found[0])
    return found[0]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Build and pack llama.cpp's CUDA 12 module.")
    parser.add_argument("--platform", default=None, help="llama-build.json's key (default: this machine's)")
    commands = parser.add_subparsers(dest="command", required=True)
    source = commands.add_parser("source")
    source.add_argument("--out", type=Path, default=ROOT / "build" / "cuda-src")
    built = commands.add_parser("build")
    built.add_argument("--source", type=Path, required=True)
    built.add_argument("--build-dir", type=Path, default=ROOT / "build" / "cuda")
    built.add_argument("--jobs", type=int, default=os.cpu_count())
    packed = commands.add_parser("pack")
    packed.add_argument("--module", type=Path, required=True)
    packed.add_argument("--cuda-path", type=Path, default=os.environ.get("CUDA_PATH"))
    packed.add_argument("--cuda-version", default=os.environ.get("CUDA_VERSION", ""))
    packed.add_argument("--out", type=Path, default=ROOT / "dist")
    checked = commands.add_parser("verify")
    checked.add_argument("archive", type=Path)
    args = parser.parse_args(argv)
    key = args.platform or llama_config.platform_key()

    if args.command == "source":
        fetch_source(args.out)
    elif args.command == "build":
        build(args.source, args.build_dir, key, args.jobs)
    elif args.command == "pack":
        if args.cuda_path is None:
            parser.error("--cuda-path (or CUDA_PATH) is required")
        from bootstrap import llama_requirement

        version = llama_requirement().split("==", 1)[1]
        pack(args.module, args.cuda_path, args.out, key, version, args.cuda_version)
    else:
        problems = verify(args.archive)
        for problem in problems:
            print(f"FAIL: {problem}")
        if problems:
            return 1
        print(f"ok: {args.archive}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
