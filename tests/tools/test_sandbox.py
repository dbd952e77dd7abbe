"""The python sandbox, run for real: a child process, real limits, a real loopback server, real files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.tools.sandbox import MiB, PythonSandbox, SandboxLimits, over_limits
from tests.tools.servers import LoopbackServer

LINUX = sys.platform.startswith("linux")
# Short limits keep the suite fast; CPU-bound tests get a generous wall clock because CI machines are busy.
FAST = SandboxLimits(wall_seconds=10, cpu_seconds=5, memory_bytes=256 * MiB, output_chars=2000)


@pytest.fixture
def runs_root(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    return root


@pytest.fixture
def sandbox(runs_root: Path) -> PythonSandbox:
    return PythonSandbox(FAST, temp_root=runs_root)


def protection(run, aspect: str) -> str | None:
    return next((p.by for p in run.protections if p.aspect == aspect), None)


def test_normal_output_keeps_stdout_and_stderr_in_order(sandbox: PythonSandbox) -> None:
    run = sandbox.run("import sys\nprint('one')\nprint('two', file=sys.stderr)\nprint(6 * 7)")
    assert run.outcome == "ok" and run.ok
    assert run.exit_code == 0
    assert run.output == "one\ntwo\n42\n"
    assert not run.truncated
    assert run.message == ""


def test_the_working_directory_is_fresh_writable_and_removed_afterwards(sandbox: PythonSandbox,
                                                                        runs_root: Path) -> None:
    code = ("import os\nopen('notes.txt', 'w').write('kept')\nprint(open('notes.txt').read(), os.getcwd(),"
            " sorted(os.listdir('.')))")
    run = sandbox.run(code)
    assert run.outcome == "ok", run.output
    text, cwd, listing = run.output.split(" ", 2)
    assert text == "kept"
    assert Path(cwd).is_relative_to(runs_root.resolve()) or Path(cwd).is_relative_to(runs_root)
    assert listing.strip() == "['notes.txt']"
    assert list(runs_root.iterdir()) == []  # the run folder is gone
    second = sandbox.run("import os\nprint(os.path.exists('notes.txt'))")
    assert second.output == "False\n"  # stateless: nothing survives between calls


def test_syntax_error_is_reported_with_the_line(sandbox: PythonSandbox) -> None:
    run = sandbox.run("x = 1\ndef broken(:\n    pass\n")
    assert run.outcome == "error"
    assert run.exit_code == 1
    assert 'File "<python>", line 2' in run.output
    assert "SyntaxError" in run.output


def test_exception_traceback_shows_the_code_not_the_sandbox(sandbox: PythonSandbox) -> None:
    run = sandbox.run("def f(x):\n    return 1 / x\nf(0)\n")
    assert run.outcome == "error"
    assert "ZeroDivisionError" in run.output
    assert "return 1 / x" in run.output  # the source line is shown
    assert "sandbox_child" not in run.output


def test_timeout_kills_the_process_group(sandbox: PythonSandbox) -> None:
    limits = SandboxLimits(wall_seconds=1, cpu_seconds=5, memory_bytes=256 * MiB)
    started = time.monotonic()
    run = PythonSandbox(limits).run("import time\nprint('started', flush=True)\ntime.sleep(60)")
    assert run.outcome == "timeout"
    assert run.output == "started\n"  # output before the kill is kept
    assert "1 s" in run.message
    assert time.monotonic() - started < 8


def test_cpu_limit_stops_a_busy_loop(runs_root: Path) -> None:
    limits = SandboxLimits(wall_seconds=30, cpu_seconds=1, memory_bytes=256 * MiB)
    run = PythonSandbox(limits, temp_root=runs_root).run("while True:\n    pass\n")
    assert run.outcome == "cpu_limit"
    assert "CPU" in run.message
    assert run.duration_s < 30


def test_memory_hog_is_stopped(sandbox: PythonSandbox) -> None:
    run = sandbox.run("blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 1024 * 1024))\n")
    assert run.outcome == "memory_limit"
    assert "256 MiB" in run.message


def test_watchdog_sees_a_process_over_the_memory_limit() -> None:
    """The parent-side check that macOS and Windows rely on, pointed at a real process."""
    code = "import sys, time\nx = bytearray(200 * 1024 * 1024)\nprint('ready', flush=True)\ntime.sleep(30)"
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == b"ready\n"
            small = SandboxLimits(memory_bytes=100 * MiB)
            large = SandboxLimits(memory_bytes=1024 * MiB)
            assert over_limits(child.pid, small, check_memory=True, check_cpu=False) == "memory_limit"
            assert over_limits(child.pid, large, check_memory=True, check_cpu=False) is None
            assert over_limits(child.pid, small, check_memory=False, check_cpu=False) is None
        finally:
            child.kill()


def test_socket_to_a_loopback_server_is_blocked(sandbox: PythonSandbox) -> None:
    with LoopbackServer() as server:
        code = (f"import socket\ns = socket.create_connection(('127.0.0.1', {server.port}), timeout=2)\n"
                "print('connected')")
        run = sandbox.run(code)
        time.sleep(0.1)
        assert server.connections == 0
    assert run.outcome == "error"
    assert "connected" not in run.output
    assert "network access" in run.output and "blocked" in run.output


def test_guard_only_mode_still_blocks_python_sockets(runs_root: Path) -> None:
    limits = SandboxLimits(wall_seconds=10, memory_bytes=256 * MiB, network="guard", writes="guard")
    with LoopbackServer() as server:
        run = PythonSandbox(limits, temp_root=runs_root).run(
            f"import socket\nsocket.create_connection(('127.0.0.1', {server.port}))\nprint('connected')")
        time.sleep(0.1)
        assert server.connections == 0
    assert "SandboxViolation" in run.output
    assert protection(run, "network") == "guard"


RAW_CONNECT = """
import ctypes, socket, struct
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
address = (struct.pack("=H", socket.AF_INET) + struct.pack("!H", {port}) + socket.inet_aton("127.0.0.1")
           + bytes(8))
print("connect", libc.connect(fd, address, len(address)), ctypes.get_errno())
"""


@pytest.mark.skipif(not LINUX, reason="raw libc calls through ctypes are written for Linux")
@pytest.mark.parametrize("network", ["auto", "guard"])
def test_reported_network_protection_matches_what_raw_code_can_do(runs_root: Path, network: str) -> None:
    """ctypes gets past the audit hook; only the kernel layer stops it. The report must say which holds."""
    limits = SandboxLimits(wall_seconds=10, memory_bytes=256 * MiB, network=network)  # type: ignore[arg-type]
    with LoopbackServer() as server:
        run = PythonSandbox(limits, temp_root=runs_root).run(RAW_CONNECT.format(port=server.port))
        assert run.outcome == "ok", run.output
        if protection(run, "network") == "kernel":
            time.sleep(0.3)
            assert server.connections == 0
            assert run.output.startswith("connect -1 ")
        else:
            assert network == "guard" or "namespace" in next(p.detail for p in run.protections
                                                              if p.aspect == "network")
            deadline = time.monotonic() + 5
            while server.connections == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert server.connections == 1  # honest: the guard alone does not stop native code
    if network == "guard":
        assert protection(run, "network") == "guard"


def test_writing_outside_the_working_directory_is_blocked(sandbox: PythonSandbox, tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    link_code = f"import os\nos.symlink({str(target)!r}, 'link')\nopen('link', 'w').write('via link')\n"
    run = sandbox.run(f"open({str(target)!r}, 'w').write('escaped')\n")
    assert run.outcome == "error"
    assert "outside the working directory" in run.output
    via_link = sandbox.run(link_code)
    assert via_link.outcome == "error"
    assert not target.exists()


def test_deleting_and_renaming_outside_are_blocked(sandbox: PythonSandbox, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for code in (f"import os\nos.remove({str(victim)!r})",
                 f"import os\nos.rename({str(victim)!r}, 'stolen.txt')",
                 f"import shutil\nshutil.rmtree({str(tmp_path)!r})"):
        run = sandbox.run(code)
        assert run.outcome == "error", code
        assert "blocked" in run.output, run.output
    assert victim.read_text() == "precious"


RAW_WRITE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.open({path!r}.encode(), os.O_WRONLY | os.O_CREAT, 0o644)
print("open", fd, ctypes.get_errno())
"""


@pytest.mark.skipif(not LINUX, reason="raw libc calls through ctypes are written for Linux")
@pytest.mark.parametrize("writes", ["auto", "guard"])
def test_reported_write_protection_matches_what_raw_code_can_do(runs_root: Path, tmp_path: Path,
                                                                writes: str) -> None:
    target = tmp_path / f"raw-{writes}.txt"
    limits = SandboxLimits(wall_seconds=10, memory_bytes=256 * MiB, writes=writes)  # type: ignore[arg-type]
    run = PythonSandbox(limits, temp_root=runs_root).run(RAW_WRITE.format(path=str(target)))
    assert run.outcome == "ok", run.output
    if protection(run, "writes") == "kernel":
        assert not target.exists()
        assert run.output.startswith("open -1 13")  # EACCES from Landlock
    else:
        assert target.exists()  # honest: the guard alone does not stop native code
    if writes == "guard":
        assert protection(run, "writes") == "guard"


def test_starting_processes_is_blocked(sandbox: PythonSandbox) -> None:
    for code in ("import subprocess\nsubprocess.run(['echo', 'hi'])", "import os\nos.system('echo hi')"):
        run = sandbox.run(code)
        assert run.outcome == "error"
        assert "starting another process is blocked" in run.output
        assert "hi\n" not in run.output


def test_the_apps_environment_does_not_reach_the_code(sandbox: PythonSandbox,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secretsecretsecret")
    run = sandbox.run("import os\nprint(os.environ.get('HF_TOKEN'), os.environ['HOME'] == os.getcwd())")
    assert run.output == "None True\n"


def test_input_gets_end_of_file_instead_of_hanging(sandbox: PythonSandbox) -> None:
    run = sandbox.run("try:\n    input()\nexcept EOFError:\n    print('eof')")
    assert run.output == "eof\n"


def test_long_output_is_cut_in_the_middle_with_a_marker(runs_root: Path) -> None:
    limits = SandboxLimits(wall_seconds=20, memory_bytes=256 * MiB, output_chars=1000)
    run = PythonSandbox(limits, temp_root=runs_root).run("for i in range(100000):\n    print(i)\n")
    expected_total = sum(len(f"{i}\n") for i in range(100000))
    assert run.outcome == "ok"
    assert run.truncated
    assert run.output_chars == expected_total
    assert run.output.startswith("0\n1\n2\n")
    assert run.output.endswith("99998\n99999\n")
    omitted = expected_total - 1000
    assert f"[… {omitted:,} characters omitted …]" in run.output
    assert len(run.output) < 1100


def test_cancel_stops_a_running_call_quickly(sandbox: PythonSandbox) -> None:
    cancel = threading.Event()
    seen: list[str] = []

    def on_output(text: str) -> None:
        seen.append(text)
        cancel.set()  # as soon as the code has started

    started = time.monotonic()
    run = sandbox.run("import time\nprint('working', flush=True)\ntime.sleep(60)", cancel=cancel,
                      on_output=on_output)
    assert run.outcome == "cancelled"
    assert "".join(seen).startswith("working")
    assert time.monotonic() - started < 5


def test_exit_status_is_reported(sandbox: PythonSandbox) -> None:
    run = sandbox.run("import sys\nprint('bye')\nsys.exit(3)")
    assert run.outcome == "error"
    assert run.exit_code == 3
    assert run.output == "bye\n"


def test_report_lists_every_protection_with_what_enforces_it(sandbox: PythonSandbox) -> None:
    run = sandbox.run("print('x')")
    aspects = {p.aspect: p for p in run.protections}
    assert {"time", "cpu", "memory", "network", "writes", "processes"} <= set(aspects)
    assert aspects["time"].by == "watchdog"
    assert all(p.detail for p in run.protections)
    if LINUX:
        assert aspects["memory"].by == "kernel"  # RLIMIT_AS
        assert aspects["cpu"].by == "kernel"


def test_non_ascii_output_survives(sandbox: PythonSandbox) -> None:
    run = sandbox.run("print('naïve — 日本語 ✓')")
    assert run.output == "naïve — 日本語 ✓\n"


def test_numpy_works_under_the_limits(sandbox: PythonSandbox) -> None:
    pytest.importorskip("numpy")
    run = sandbox.run("import numpy as np\nprint(int(np.arange(10).sum()))")
    assert run.outcome == "ok", run.output
    assert run.output == "45\n"


@pytest.mark.parametrize(("field", "value", "words"), [
    ("wall_seconds", 0, "wall_seconds"),
    ("cpu_seconds", 0, "cpu_seconds"),
    ("memory_bytes", 1024, "64 MiB"),
    ("output_chars", 10, "output_chars"),
    ("network", "off", "network"),
    ("writes", "nowhere", "writes"),
])
def test_bad_limits_are_refused_with_what_to_change(field: str, value: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        SandboxLimits(**{field: value})  # type: ignore[arg-type]


def test_unix_sockets_are_refused_but_socketpair_works(sandbox: PythonSandbox) -> None:
    """A socket file anywhere could be a door out (the kernel filter cannot see paths), so none are made;
    socketpair, which asyncio needs, reaches nothing outside."""
    if not hasattr(socket, "AF_UNIX") or os.name != "posix":
        pytest.skip("Unix-domain sockets are POSIX")
    run = sandbox.run("import socket\na, b = socket.socketpair()\na.sendall(b'pair ok')\n"
                      "print(b.recv(7).decode())\ns = socket.socket(socket.AF_UNIX)\n"
                      "print('unix socket made')")
    assert run.output.startswith("pair ok\n"), run.output
    if protection(run, "network") == "kernel" and "seccomp" in next(
            p.detail for p in run.protections if p.aspect == "network"):
        assert "unix socket made" not in run.output
        assert "Operation not permitted" in run.output


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_FSIZE is POSIX")
def test_file_size_limit_gives_an_error_not_a_crash(runs_root: Path) -> None:
    limits = SandboxLimits(wall_seconds=10, memory_bytes=256 * MiB, file_bytes=1 * MiB)
    run = PythonSandbox(limits, temp_root=runs_root).run(
        "with open('big.bin', 'wb') as f:\n    f.write(b'x' * (2 * 1024 * 1024))\nprint('wrote it')")
    assert run.outcome == "error"
    assert "File too large" in run.output
    assert "wrote it" not in run.output


@pytest.mark.skipif(os.name != "posix", reason="process groups are POSIX")
def test_with_subprocesses_allowed_a_timeout_kills_the_grandchildren_too(runs_root: Path) -> None:
    psutil = pytest.importorskip("psutil")
    limits = SandboxLimits(wall_seconds=2, memory_bytes=512 * MiB, allow_subprocesses=True)
    code = ("import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "print('child', child.pid, flush=True)\n"
            "time.sleep(60)")
    run = PythonSandbox(limits, temp_root=runs_root).run(code)
    assert run.outcome == "timeout"
    assert "processes" not in {p.aspect for p in run.protections}  # not claimed when allowed
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
        pytest.fail(f"grandchild {pid} outlived the sandbox")


def test_a_broken_output_listener_does_not_stall_the_run(sandbox: PythonSandbox) -> None:
    def broken(text: str) -> None:
        raise RuntimeError("card went away")

    run = sandbox.run("for i in range(20000):\n    print('line', i)\nprint('end')", on_output=broken)
    assert run.outcome == "ok"
    assert run.output.endswith("end\n")


def test_probe_reports_protections_without_running_anything(sandbox: PythonSandbox) -> None:
    run = sandbox.probe()
    assert run.outcome == "ok" and run.output == ""
    assert {p.aspect for p in run.protections} >= {"time", "cpu", "memory", "network", "writes"}


@pytest.mark.skipif(not LINUX, reason="Landlock is Linux only")
def test_requiring_a_kernel_layer_either_gets_it_or_refuses_to_run(runs_root: Path) -> None:
    limits = SandboxLimits(wall_seconds=10, memory_bytes=256 * MiB, writes="landlock", network="namespace")
    run = PythonSandbox(limits, temp_root=runs_root).run("print('ran')")
    if run.outcome == "setup_failed":
        assert "was required but" in run.message
        assert "ran" not in run.output
    else:
        assert run.output == "ran\n"
        assert protection(run, "writes") == "kernel" and protection(run, "network") == "kernel"


def test_child_refuses_a_bad_configuration_before_running_anything(tmp_path: Path) -> None:
    from app.tools import sandbox_child

    missing = str(tmp_path / "missing")
    config = json.dumps({"workdir": missing, "write_roots": [missing], "network": "guard", "writes": "guard",
                         "memory_bytes": 256 * MiB, "cpu_seconds": 5, "file_bytes": MiB,
                         "allow_subprocesses": False})
    for argv in ([], ["{not json"], [config]):
        done = subprocess.run([sys.executable, "-I", sandbox_child.__file__, *argv], input=b"print('ran')",
                              capture_output=True, timeout=30)
        assert done.returncode == sandbox_child.EXIT_SETUP_FAILED, done
        assert done.stdout.startswith((sandbox_child.STATUS_PREFIX + "error ").encode())
        assert b"ran" not in done.stdout.split(b"\n", 1)[1]


def test_a_child_that_dies_before_reporting_is_a_setup_failure(monkeypatch: pytest.MonkeyPatch,
                                                               runs_root: Path) -> None:
    import app.tools.sandbox as sandbox_module

    monkeypatch.setattr(sandbox_module, "sandbox_command",
                        lambda config: [sys.executable, "-c", "import sys; print('boom'); sys.exit(5)"])
    run = PythonSandbox(FAST, temp_root=runs_root).run("print('never')")
    assert run.outcome == "setup_failed"
    assert "status 5" in run.message
    assert run.output == "boom\n"
    assert [p.aspect for p in run.protections] == ["time", "cpu", "memory", "folder"]  # the parent's own


def test_a_child_that_reports_an_error_is_a_setup_failure(monkeypatch: pytest.MonkeyPatch,
                                                          runs_root: Path) -> None:
    import app.tools.sandbox as sandbox_module
    from app.tools.sandbox_child import STATUS_PREFIX

    line = STATUS_PREFIX + 'error {"message": "network isolation was required but no namespaces"}'
    monkeypatch.setattr(sandbox_module, "sandbox_command",
                        lambda config: [sys.executable, "-c", f"print({line!r}); raise SystemExit(70)"])
    run = PythonSandbox(FAST, temp_root=runs_root).run("print('never')")
    assert run.outcome == "setup_failed"
    assert run.message == ("The sandbox could not start: network isolation was required but no "
                           "namespaces.")
