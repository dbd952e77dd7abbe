#!/usr/bin/env python3
"""llama.cpp's release configuration (installers/llama-build.json) as the build wants it.

    python3 installers/llama_config.py cmake-args          # this platform's CMAKE_ARGS
    python3 installers/llama_config.py cmake-args --cuda   # the CUDA 12 module's
    python3 installers/llama_config.py modules             # the backends the bundle carries: cpu vulkan
    python3 installers/llama_config.py github-env          # append CMAKE_ARGS=..., OSSIAN_EXPECT_MODULES=...
                                                           # and OSSIAN_LLAMA_PLATFORM=... to $GITHUB_ENV
    --platform linux-x86_64|windows-x86_64|macos-arm64 picks another platform than this machine's.

One reader of the JSON for the release workflow and `installers/build.py --release`, so neither spells
the flags out again. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "llama-build.json"


def platform_key(system: str | None = None, machine: str | None = None) -> str:
    """`linux-x86_64`, `windows-x86_64`, `macos-arm64`: the keys of llama-build.json's `platforms`."""
    system = system or sys.platform
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(system, system)
    machine = (machine or platform.machine()).lower()
    machine = {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64"}.get(machine, machine)
    return f"{system}-{machine}"


def load(path: Path = CONFIG) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def platform_entry(config: dict, key: str) -> dict:
    try:
        return config["platforms"][key]
    except KeyError:
        known = ", ".join(sorted(config["platforms"]))
        raise SystemExit(f"[llama-config] no release configuration for {key} in {CONFIG.name} "
                         f"(known: {known})") from None


def cmake_args(config: dict, key: str, cuda: bool = False) -> list[str]:
    if cuda:
        if key not in config["cuda"]["platforms"]:
            raise SystemExit(f"[llama-config] the CUDA module is not built for {key}")
        return list(config["cuda"]["cmake_args"])
    return list(platform_entry(config, key)["cmake_args"])


def modules(config: dict, key: str) -> list[str]:
    """The backends a release bundle of this platform carries as modules ([] where they are built in)."""
    return list(platform_entry(config, key)["modules"])


def cmake_args_string(args: list[str]) -> str:
    """CMAKE_ARGS as scikit-build-core reads it (split on spaces): no argument may contain one."""
    spaced = [arg for arg in args if " " in arg]
    if spaced:
        raise SystemExit(f"[llama-config] CMAKE_ARGS cannot carry arguments with spaces: {spaced}")
    return " ".join(args)


def release_environment(config: dict, key: str) -> dict[str, str]:
    """What a release build of `key` sets: CMAKE_ARGS for llama-cpp-python, OSSIAN_EXPECT_MODULES for the
    spec's check that the bundle carries every module, OSSIAN_LLAMA_PLATFORM for file names."""
    return {
        "CMAKE_ARGS": cmake_args_string(cmake_args(config, key)),
        "OSSIAN_EXPECT_MODULES": ",".join(modules(config, key)),
        "OSSIAN_LLAMA_PLATFORM": key,
    }


def github_env_lines(environment: dict[str, str]) -> str:
    for name, value in environment.items():
        if "\n" in value:
            raise SystemExit(f"[llama-config] {name} holds a newline")
    return "".join(f"{name}={value}\n" for name, value in environment.items())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Read installers/llama-build.json.")
    parser.add_argument("what", choices=["cmake-args", "modules", "github-env"])
    parser.add_argument("--platform", default=None, help="default: this machine's")
    parser.add_argument("--cuda", action="store_true", help="cmake-args: the CUDA module's")
    args = parser.parse_args(argv)
    config = load()
    key = args.platform or platform_key()
    if args.what == "cmake-args":
        print(cmake_args_string(cmake_args(config, key, cuda=args.cuda)))
    elif args.what == "modules":
        print(" ".join(modules(config, key)))
    else:
        target = os.environ.get("GITHUB_ENV")
        if not target:
            raise SystemExit("[llama-config] github-env: GITHUB_ENV is not set (not in GitHub Actions?)")
        lines = github_env_lines(release_environment(config, key))
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(lines)
        print(lines, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
