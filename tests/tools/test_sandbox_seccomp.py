"""The sandbox's system-call filter: its numbers against the kernel headers, and the way a frozen build
starts it (through the app's own entry point, where the filter module is imported, not loaded by path)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.tools import sandbox_child, sandbox_seccomp
from app.tools.sandbox import MiB, crash_message

HEADERS = {
    "x86_64": (Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"), 0),
    "aarch64": (Path("/usr/include/asm-generic/unistd.h"), 1),
}


@pytest.mark.parametrize("machine", sorted(HEADERS))
def test_syscall_numbers_match_the_kernel_headers(machine: str) -> None:
    header, column = HEADERS[machine]
    if not header.exists():
        pytest.skip(f"{header} is not installed (Debian's linux-libc-dev has it)")
    defined = {name: int(number) for name, number in
               re.findall(r"#define __NR(?:3264)?_(\w+)\s+(\d+)", header.read_text())}
    checked = 0
    for name, numbers in sandbox_seccomp._SYSCALLS.items():
        if name in defined:
            assert numbers[column] == defined[name], f"{name} on {machine}"
            checked += 1
        elif numbers[column] is not None:
            # Newer than these headers: from 424 on every architecture shares one number.
            assert numbers[column] >= 424, f"{name} is missing from {header} and is not a shared number"
    assert checked > 60


@pytest.mark.parametrize("machine", sorted(HEADERS))
def test_every_architecture_gets_a_program_with_jumps_in_range(machine: str) -> None:
    program = sandbox_seccomp.build_program(machine, 4242)
    assert program[-1] == (0x06, 0, 0, 0x7FFF0000)  # ends by allowing what no rule refused
    for index, (code, true_jump, false_jump, _k) in enumerate(program):
        if code & 0x07 == 0x05:  # BPF_JMP: both targets must be inside the program
            assert index + 1 + max(true_jump, false_jump) < len(program)
    relaxed = sandbox_seccomp.build_program(machine, 4242, block_processes=False, block_sockets=False,
                                            block_metadata=False)
    assert len(relaxed) < len(program)


def test_an_unknown_architecture_is_refused_by_name() -> None:
    with pytest.raises(KeyError):
        sandbox_seccomp.build_program("riscv64", 1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux's")
def test_the_frozen_entry_point_installs_the_same_filter(tmp_path: Path) -> None:
    """A frozen build runs `ossian --python-sandbox CONFIG`; there the filter module is imported from the
    package (the by-path loading of a plain start does not apply)."""
    run_root = tmp_path / "run"
    work, tmp = run_root / "work", run_root / "tmp"
    work.mkdir(parents=True)
    tmp.mkdir()
    config = json.dumps({
        "workdir": str(work), "write_roots": [str(run_root)], "network": "auto", "writes": "auto",
        "memory_bytes": 512 * MiB, "cpu_seconds": 10, "file_bytes": MiB, "folder_bytes": 8 * MiB,
        "syscalls": "seccomp", "run_folders": [str(work), str(tmp)], "allow_subprocesses": False})
    code = b"import ctypes\nprint('fork', ctypes.CDLL(None, use_errno=True).fork(), ctypes.get_errno())"
    done = subprocess.run([sys.executable, "-m", "app", "--python-sandbox", config], input=code,
                          capture_output=True, timeout=60, cwd=Path(__file__).parents[2])
    status, _, output = done.stdout.decode().partition("\n")
    assert status.startswith(sandbox_child.STATUS_PREFIX + "ready "), done
    protections = json.loads(status.split(" ", 2)[2])["protections"]
    assert protections["processes"]["by"] == "kernel"
    assert output == "fork -1 1\n"


def test_crash_messages_name_the_likely_cause() -> None:
    assert "native code" in crash_message(11)
    assert "forbids" in crash_message(31)  # SIGSYS
    assert "memory" in crash_message(9)
