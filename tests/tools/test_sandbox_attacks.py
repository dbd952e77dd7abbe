"""The python sandbox attacked the way issue 14 did it: each escape that once worked, tried again for real.

Every test runs the attack as the model's code in a real sandbox child and checks the outside world (a
file's mode and times, a listening socket, the test process itself, the process table), not the message.
Where the kernel layer is missing on a machine, the test checks that the report says so instead.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from app.tools.sandbox import MiB, PythonSandbox, SandboxLimits, folder_over_limit

LINUX = sys.platform.startswith("linux")
pytestmark = pytest.mark.skipif(not LINUX, reason="the kernel layers (seccomp, namespaces) are Linux's")
LIMITS = SandboxLimits(wall_seconds=10, cpu_seconds=5, memory_bytes=256 * MiB, output_chars=4000)


@pytest.fixture
def sandbox(tmp_path: Path) -> PythonSandbox:
    root = tmp_path / "runs"
    root.mkdir()
    return PythonSandbox(LIMITS, temp_root=root)


def by(run, aspect: str) -> str | None:
    return next((p.by for p in run.protections if p.aspect == aspect), None)


def test_posixsubprocess_cannot_start_a_program(sandbox: PythonSandbox, tmp_path: Path) -> None:
    """Item 1: `_posixsubprocess.fork_exec` raises no audit event, so only the kernel can stop it."""
    marker = tmp_path / "pwned"
    code = f"""
import _posixsubprocess, os
read_end, write_end = os.pipe()
try:
    pid = _posixsubprocess.fork_exec(
        [b'/bin/sh', b'-c', b'touch {marker}'], [b'/bin/sh'], True, (write_end,), None, None,
        -1, -1, -1, -1, -1, -1, read_end, write_end, False, False, -1, None, None, None, -1, None, False)
    print('started', pid)
    os.waitpid(pid, 0)
except OSError as exc:
    print('refused', exc.errno)
"""
    run = sandbox.run(code)
    assert by(run, "processes") == "kernel", run.protections
    assert "refused 1" in run.output, run.output
    time.sleep(0.2)
    assert not marker.exists()


def test_raw_fork_and_exec_through_ctypes_are_refused(sandbox: PythonSandbox) -> None:
    code = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print('fork', libc.fork(), ctypes.get_errno())
print('execv', libc.execv(b'/bin/true', (ctypes.c_char_p * 2)(b'/bin/true', None)), ctypes.get_errno())
"""
    run = sandbox.run(code)
    assert run.output.splitlines() == ["fork -1 1", "execv -1 1"], run.output


def test_threads_still_work_under_the_filter(sandbox: PythonSandbox) -> None:
    code = ("import threading, concurrent.futures as cf\n"
            "with cf.ThreadPoolExecutor(4) as pool:\n    print(sum(pool.map(lambda x: x * x, range(10))))\n"
            "import asyncio\nprint(asyncio.run(asyncio.sleep(0, 'async ok')))")
    run = sandbox.run(code)
    assert run.outcome == "ok", run.output
    assert run.output == "285\nasync ok\n"


def test_the_app_cannot_be_signalled(sandbox: PythonSandbox) -> None:
    """Item 2: `os.kill(os.getppid(), 9)` killed the app. Signal 0 asks the same question harmlessly."""
    code = ("import os, ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "print('raw', libc.kill(os.getppid(), 0), ctypes.get_errno())\n"
            "try:\n    os.kill(os.getppid(), 0)\nexcept PermissionError as exc:\n    print('python', exc)\n"
            "import signal\nsignal.signal(signal.SIGUSR1, lambda *a: print('own signal ok'))\n"
            "os.kill(os.getpid(), signal.SIGUSR1)")
    run = sandbox.run(code)
    assert by(run, "signals") == "kernel"
    lines = run.output.splitlines()
    assert lines[0] == "raw -1 1", run.output
    assert "sending a signal to another process" in lines[1]
    assert lines[2] == "own signal ok"


def test_file_metadata_outside_cannot_be_changed(sandbox: PythonSandbox, tmp_path: Path) -> None:
    """Item 3: chmod, utimes and setxattr through ctypes succeeded outside the run folder."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.chmod(victim, 0o600)
    os.utime(victim, (1_000_000_000, 1_000_000_000))
    before = victim.stat()
    code = f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
path = {str(victim)!r}.encode()
print('chmod', libc.chmod(path, 0o777), ctypes.get_errno())
print('utimes', libc.utimes(path, None), ctypes.get_errno())
print('setxattr', libc.setxattr(path, b'user.ossian', b'x', 1, 0), ctypes.get_errno())
fd = os.open(path, os.O_RDONLY)
print('fchmod', libc.fchmod(fd, 0o777), ctypes.get_errno())
"""
    run = sandbox.run(code)
    assert by(run, "metadata") == "kernel"
    assert run.output.splitlines() == ["chmod -1 1", "utimes -1 1", "setxattr -1 1", "fchmod -1 1"], \
        run.output
    after = victim.stat()
    assert (after.st_mode, after.st_mtime) == (before.st_mode, before.st_mtime)
    assert victim.read_text() == "precious"


def test_python_level_metadata_changes_get_a_readable_refusal(sandbox: PythonSandbox) -> None:
    run = sandbox.run("open('a.txt', 'w').write('x')\nimport os\nos.chmod('a.txt', 0o700)")
    assert run.outcome == "error"
    assert "changing a file's permissions, owner, times or attributes" in run.output
    copied = sandbox.run("open('a.txt', 'w').write('x')\nimport shutil\nshutil.copyfile('a.txt', 'b.txt')\n"
                         "print(open('b.txt').read())")
    assert copied.output == "x\n"


def test_unix_sockets_on_disk_outside_are_unreachable(sandbox: PythonSandbox, tmp_path: Path) -> None:
    """Item 3: AF_UNIX connected to socket files outside (D-Bus, Docker); the network namespace does not
    cover them. A real listening socket stands in for the session bus."""
    path = tmp_path / "bus.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)
    server.settimeout(0.5)
    accepted: list[socket.socket] = []

    def accept() -> None:
        try:
            accepted.append(server.accept()[0])
        except OSError:
            pass

    code = """
import ctypes, socket
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0)
print('socket', fd, ctypes.get_errno())
"""
    run = sandbox.run(code)
    acceptor = threading.Thread(target=accept)
    acceptor.start()
    acceptor.join()
    server.close()
    assert run.output == "socket -1 1\n", run.output
    assert accepted == []
    python_level = sandbox.run(f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({str(path)!r})")
    assert python_level.outcome == "error" and "Operation not permitted" in python_level.output


def test_a_call_returns_on_time_and_leaves_no_process_when_a_child_keeps_the_pipe(tmp_path: Path) -> None:
    """Item 4, with subprocesses allowed (the only configuration where a child can exist): a child in a
    session of its own keeps stdout open; the call must still end at its limit and the child must die."""
    psutil = pytest.importorskip("psutil")
    limits = SandboxLimits(wall_seconds=2, memory_bytes=512 * MiB, allow_subprocesses=True)
    code = ("import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], "
            "start_new_session=True)\nprint('child', child.pid, flush=True)\ntime.sleep(60)")
    started = time.monotonic()
    run = PythonSandbox(limits, temp_root=tmp_path).run(code)
    took = time.monotonic() - started
    assert run.outcome == "timeout", run.output
    assert took < 2 + 10 + 3  # the limit, Python's start-up grace, and the drain
    pid = int(run.output.split()[1])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    else:
        psutil.Process(pid).kill()
        pytest.fail(f"child {pid} in a session of its own outlived the sandbox")


def test_cancel_is_prompt_even_when_a_child_keeps_the_pipe(tmp_path: Path) -> None:
    limits = SandboxLimits(wall_seconds=30, memory_bytes=512 * MiB, allow_subprocesses=True)
    code = ("import subprocess, sys, time\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],\n"
            "                 start_new_session=True)\n"
            "print('started', flush=True)\ntime.sleep(60)")
    cancel = threading.Event()
    seen = threading.Event()
    sandbox = PythonSandbox(limits, temp_root=tmp_path)

    def on_output(text: str) -> None:
        if "started" in text:
            seen.set()

    result: list = []
    worker = threading.Thread(target=lambda: result.append(sandbox.run(code, cancel=cancel,
                                                                       on_output=on_output)))
    worker.start()
    assert seen.wait(20)
    cancel.set()
    asked = time.monotonic()
    worker.join(10)
    assert not worker.is_alive(), "run_python ignored the cancel while a child held its stdout"
    assert time.monotonic() - asked < 3
    assert result[0].outcome == "cancelled"


def test_limits_hold_for_the_whole_run_not_per_process(sandbox: PythonSandbox) -> None:
    """Item 5: three children of 700 MB each used 2.1 GB under a 1 GiB limit, and 200 processes started.
    Now there is one process; threads share its address-space limit."""
    many = sandbox.run("import ctypes, os\nlibc = ctypes.CDLL(None)\nstarted = 0\nfor _ in range(200):\n"
                       "    pid = libc.fork()\n    if pid == 0:\n        os._exit(0)\n"
                       "    started += pid > 0\nprint('started', started)")
    assert many.output.endswith("started 0\n"), many.output
    code = ("import threading\nblocks = []\n"
            "def grab():\n    try:\n        blocks.append(bytearray(100 * 1024 * 1024))\n"
            "    except MemoryError:\n        print('refused', flush=True)\n"
            "threads = [threading.Thread(target=grab) for _ in range(4)]\n"
            "[t.start() for t in threads]; [t.join() for t in threads]\n"
            "print('held MiB', sum(len(b) for b in blocks) // 2**20)")
    run = sandbox.run(code)
    held = int(run.output.rsplit("held MiB", 1)[1])
    assert held <= 256, run.output
    assert "refused" in run.output


def test_the_run_folder_as_a_whole_is_capped(tmp_path: Path) -> None:
    """Item 5: the run folder took 768 MiB in 0.4 s (only single files were capped)."""
    limits = SandboxLimits(wall_seconds=20, memory_bytes=256 * MiB, file_bytes=32 * MiB,
                           folder_bytes=64 * MiB)
    code = ("chunk = b'x' * (16 * 1024 * 1024)\nwritten = 0\n"
            "try:\n    for i in range(48):\n        with open(f'part{i}.bin', 'wb') as f:\n"
            "            f.write(chunk)\n        written += 16\n"
            "except OSError as exc:\n    print('stopped:', exc.strerror)\nprint('MiB', written)")
    run = PythonSandbox(limits, temp_root=tmp_path).run(code)
    if by(run, "folder") == "kernel":
        assert "stopped: No space left on device" in run.output, run.output
        assert int(run.output.rsplit("MiB", 1)[1]) <= 64
    else:
        assert run.outcome == "folder_limit", run.output
    files = PythonSandbox(limits, temp_root=tmp_path).run(
        "import os\nmade = 0\ntry:\n    for i in range(30000):\n        open(f'f{i}', 'w').close()\n"
        "        made += 1\nexcept OSError as exc:\n    print(exc.strerror)\nprint(made)")
    assert files.outcome in ("ok", "folder_limit"), files.output
    if files.outcome == "ok":
        assert int(files.output.split()[-1]) < 20000


def test_the_folder_watchdog_counts_bytes_and_files(tmp_path: Path) -> None:
    """Where no mount namespace can be had, the parent measures the folder itself."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "big.bin").write_bytes(b"x" * (3 * MiB))
    assert folder_over_limit(tmp_path, 2 * MiB)
    assert not folder_over_limit(tmp_path, 8 * MiB)
    with (tmp_path / "sparse.bin").open("wb") as sparse:
        sparse.truncate(100 * MiB)  # claims 100 MiB, takes none
    assert not folder_over_limit(tmp_path, 8 * MiB)


def test_a_segfault_is_called_a_crash_in_native_code(sandbox: PythonSandbox) -> None:
    """Item 10: a segfault was blamed on 'out of memory or the CPU hard limit'."""
    run = sandbox.run("import ctypes\nctypes.string_at(0)")
    assert run.outcome == "crashed"
    assert "SIGSEGV" in run.message and "native code" in run.message
    assert "out of memory" not in run.message


def test_the_filter_cannot_be_undone_from_inside(sandbox: PythonSandbox) -> None:
    """The user namespace gives the code capabilities inside it; the filter keeps them from unmounting
    the capped folder or making new namespaces."""
    code = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print('umount', libc.umount2(b'..', 2), ctypes.get_errno())
print('unshare', libc.unshare(0x10000000), ctypes.get_errno())
print('mount', libc.mount(b'none', b'.', b'tmpfs', 0, None), ctypes.get_errno())
"""
    run = sandbox.run(code)
    assert run.output.splitlines() == ["umount -1 1", "unshare -1 1", "mount -1 1"], run.output
