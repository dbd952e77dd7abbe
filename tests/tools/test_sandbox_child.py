"""The child's audit-hook guard, called directly with real paths and sockets (never installed in the tests'
own process: audit hooks cannot be removed). The child as a whole is exercised in test_sandbox.py."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from app.tools.sandbox_child import SandboxViolation, make_guard

WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


@pytest.fixture
def root(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    (run / "work").mkdir(parents=True)
    return run


@pytest.fixture
def guard(root: Path):
    return make_guard([str(root)], block_network=True, block_processes=True)


def test_writes_inside_the_run_folder_pass(guard, root: Path) -> None:
    guard("open", (str(root / "work" / "a.txt"), "w", WRITE))
    guard("os.mkdir", (str(root / "work" / "sub"), 0o777, -1))
    guard("os.rename", (str(root / "work" / "a.txt"), str(root / "tmp.txt"), -1, -1))


def test_reading_anywhere_passes(guard) -> None:
    guard("open", ("/etc/hostname", "r", os.O_RDONLY))


def test_writes_outside_are_refused(guard, tmp_path: Path) -> None:
    with pytest.raises(SandboxViolation, match="outside the working directory"):
        guard("open", (str(tmp_path / "elsewhere.txt"), "w", WRITE))
    with pytest.raises(SandboxViolation):
        guard("open", (str(tmp_path / "elsewhere.txt"), None, os.O_RDWR))  # os.open form
    with pytest.raises(SandboxViolation):
        guard("os.remove", (str(tmp_path / "x"), -1))


def test_a_path_that_climbs_out_is_refused(guard, root: Path) -> None:
    with pytest.raises(SandboxViolation):
        guard("open", (str(root / "work" / ".." / ".." / "escape.txt"), "a", os.O_WRONLY | os.O_APPEND))


def test_a_symlink_inside_that_points_outside_is_refused(guard, root: Path, tmp_path: Path) -> None:
    link = root / "work" / "link"
    link.symlink_to(tmp_path / "target.txt")
    with pytest.raises(SandboxViolation):
        guard("open", (str(link), "w", WRITE))


def test_moving_a_file_in_from_outside_is_refused(guard, root: Path, tmp_path: Path) -> None:
    # A rename takes the file away from its folder: that is a write there too.
    with pytest.raises(SandboxViolation):
        guard("os.rename", (str(tmp_path / "theirs.txt"), str(root / "work" / "mine.txt"), -1, -1))
    with pytest.raises(SandboxViolation):
        guard("os.link", (str(tmp_path / "theirs.txt"), str(root / "work" / "hard"), -1, -1, True))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="dir_fd is resolved through /proc on Linux")
def test_relative_paths_are_resolved_against_dir_fd(guard, root: Path, tmp_path: Path) -> None:
    inside = os.open(root / "work", os.O_RDONLY)
    outside = os.open(tmp_path, os.O_RDONLY)
    try:
        guard("os.remove", ("file.txt", inside))
        with pytest.raises(SandboxViolation):
            guard("os.remove", ("file.txt", outside))
    finally:
        os.close(inside)
        os.close(outside)


def test_network_sockets_are_refused_but_local_ones_inside_pass(guard, root: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as inet:
        with pytest.raises(SandboxViolation, match="network access"):
            guard("socket.connect", (inet, ("127.0.0.1", 80)))
        with pytest.raises(SandboxViolation):
            guard("socket.bind", (inet, ("0.0.0.0", 8080)))
    if hasattr(socket, "AF_UNIX"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
            guard("socket.connect", (unix, str(root / "work" / "mine.sock")))
            # A socket on disk elsewhere (a Docker or D-Bus socket) is a way out.
            with pytest.raises(SandboxViolation):
                guard("socket.connect", (unix, "/var/run/docker.sock"))


def test_name_lookups_are_refused_except_address_literals(guard) -> None:
    with pytest.raises(SandboxViolation, match=r"looking up 'example\.com'"):
        guard("socket.getaddrinfo", ("example.com", 80, 0, 0, 0))
    guard("socket.getaddrinfo", ("127.0.0.1", 80, 0, 0, 0))
    guard("socket.getaddrinfo", ("::1", 80, 0, 0, 0))


def test_starting_processes_is_refused_unless_allowed(root: Path) -> None:
    strict = make_guard([str(root)], block_network=True, block_processes=True)
    relaxed = make_guard([str(root)], block_network=True, block_processes=False)
    for event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.fork"):
        with pytest.raises(SandboxViolation, match="starting another process"):
            strict(event, ("x",))
        relaxed(event, ("x",))


def test_unrelated_events_pass(guard) -> None:
    guard("import", ("json", None, [], [], []))
    guard("os.listdir", ("/",))
