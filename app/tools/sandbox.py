"""The python sandbox, parent side: run code in a locked-down child process and report what happened.

Each run gets a fresh folder (`run/work` is the working directory, `run/tmp` its TMPDIR) that is deleted
afterwards: the sandbox keeps no state between calls, which is why the tool is described to the model
with gpt-oss's stateless text. The child (`sandbox_child.py`) locks itself down and reports which
protections took hold; this side adds what only a parent can do: the wall-clock limit, a watchdog on
memory and CPU time where the OS has no kernel limit, cancelling, killing the whole process group, and
capturing output within a character budget.

What is enforced, per OS (each run reports its own `protections`, so nothing here is assumed):

- wall time and cancel: the parent kills the process group (POSIX) or process tree (Windows), everywhere,
  and on Linux every process left in the run's own user namespace (a child that called setsid); a call
  returns within its limit plus about a second even if something still holds its output pipe;
- CPU time: kernel RLIMIT_CPU on Linux and macOS; the parent's watchdog on Windows;
- memory: kernel RLIMIT_AS on Linux; the parent's watchdog on resident memory on macOS and Windows. With
  no second process possible (below), one process's limit is the whole run's;
- the run folder as a whole: on Linux a size-capped tmpfs in a mount namespace of its own; elsewhere the
  parent measures it every 0.25 s (each file is capped by RLIMIT_FSIZE on POSIX either way);
- network: on Linux no sockets at all (seccomp; socketpair stays for asyncio), plus a network namespace
  of its own and Landlock's TCP rules where the kernel has them; the audit-hook guard elsewhere;
- writes outside the run folder: kernel (Landlock, Linux 5.13+) plus the guard; the guard alone elsewhere;
- file metadata (mode, owner, times, xattrs): refused everywhere by seccomp on Linux (a filter cannot see
  paths); the guard, outside the run folder only, elsewhere;
- processes and signals: on Linux seccomp refuses execve, fork and clone without CLONE_THREAD, signals
  to any other process, ptrace, and whatever could undo the layers (mount, unshare, io_uring...); Landlock
  (ABI 6+) also scopes signals; the guard alone elsewhere.

The guard is a Python audit hook: it stops ordinary Python code and explains refusals readably, but code
that calls C through ctypes gets past it, which is why macOS and Windows runs say "guard" where Linux
says "kernel". The app's environment (tokens, keys) is not passed to the child.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.tools import sandbox_child
from app.tools.truncation import StreamingTruncator

# psutil (30-60 ms) is imported where a run's processes are measured or killed, not with this
# module: the window imports the tools on its way to the first frame, where nothing runs.

log = logging.getLogger(__name__)

MiB = 1024 * 1024
# The flag a frozen build answers with `sandbox_child.main` (there is no bare interpreter to start).
CHILD_FLAG = "--python-sandbox"
POLL_SECONDS = 0.05
WATCHDOG_SECONDS = 0.25
# Python's own start-up (slow on a busy machine) does not count against the code's wall-clock time.
STARTUP_GRACE_SECONDS = 10.0
# How long to wait for output still in the pipe after the process is gone.
DRAIN_SECONDS = 1.0
# Files and folders a run may create where the kernel cannot cap the folder (the child's tmpfs has the same).
FOLDER_ENTRIES_LIMIT = sandbox_child.RUN_FOLDER_INODES

NetworkIsolation = Literal["auto", "namespace", "guard"]
WriteConfinement = Literal["auto", "landlock", "guard"]
SyscallFilter = Literal["auto", "seccomp", "off"]
EnforcedBy = Literal["kernel", "guard", "watchdog"]
SandboxOutcome = Literal[
    "ok",            # exited with status 0
    "error",         # exited with another status (the traceback is in the output)
    "timeout",       # still running at the wall-clock limit
    "cpu_limit",     # used its CPU seconds
    "memory_limit",  # MemoryError, or the watchdog saw too much resident memory
    "folder_limit",  # the watchdog saw the run folder grow past its cap (where the kernel cannot cap it)
    "cancelled",     # the caller's cancel event was set
    "crashed",       # killed by a signal nobody here sent
    "setup_failed",  # the child could not start or lock itself down; the code did not run
]
ASPECT_ORDER = ("time", "cpu", "memory", "file_size", "folder", "network", "writes", "metadata", "processes",
                "signals")


@dataclass(frozen=True)
class SandboxLimits:
    """How much one run may use, and which isolation to insist on.

    `network="namespace"` / `writes="landlock"` / `syscalls="seccomp"` refuse to run when the kernel layer
    is unavailable; "auto" falls back to the guard and says so; "guard"/"off" skip the kernel layer.
    `folder_bytes` caps the run folder as a whole (`file_bytes` caps each file).
    """

    wall_seconds: float = 30.0
    cpu_seconds: int = 30
    memory_bytes: int = 1024 * MiB
    file_bytes: int = 64 * MiB
    folder_bytes: int = 256 * MiB
    output_chars: int = 8000
    network: NetworkIsolation = "auto"
    writes: WriteConfinement = "auto"
    syscalls: SyscallFilter = "auto"
    allow_subprocesses: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not self.wall_seconds > 0:
            problems.append(f"wall_seconds must be > 0 (got {self.wall_seconds})")
        if self.cpu_seconds < 1:
            problems.append(f"cpu_seconds must be a whole number >= 1 (got {self.cpu_seconds})")
        if self.memory_bytes < 64 * MiB:
            problems.append(f"memory_bytes must be at least 64 MiB: Python itself needs that much "
                            f"(got {self.memory_bytes})")
        if self.file_bytes < 1:
            problems.append(f"file_bytes must be >= 1 (got {self.file_bytes})")
        if self.folder_bytes < self.file_bytes:
            problems.append(f"folder_bytes must be at least file_bytes ({self.file_bytes}), got "
                            f"{self.folder_bytes}")
        if self.output_chars < 100:
            problems.append(f"output_chars must be at least 100 (got {self.output_chars})")
        if self.network not in ("auto", "namespace", "guard"):
            problems.append(f"network must be 'auto', 'namespace' or 'guard' (got {self.network!r})")
        if self.writes not in ("auto", "landlock", "guard"):
            problems.append(f"writes must be 'auto', 'landlock' or 'guard' (got {self.writes!r})")
        if self.syscalls not in ("auto", "seccomp", "off"):
            problems.append(f"syscalls must be 'auto', 'seccomp' or 'off' (got {self.syscalls!r})")
        if problems:
            raise ValueError("invalid sandbox limits: " + "; ".join(problems))


@dataclass(frozen=True)
class Protection:
    """One thing the sandbox enforced in a run, and by what."""

    aspect: str  # one of ASPECT_ORDER
    by: EnforcedBy
    detail: str


@dataclass(frozen=True)
class SandboxRun:
    """The result of one run."""

    outcome: SandboxOutcome
    output: str  # stdout and stderr interleaved as written, cut to the budget
    truncated: bool
    output_chars: int  # before cutting
    exit_code: int | None
    duration_s: float
    protections: tuple[Protection, ...]
    message: str  # one sentence on how it ended ("" when it simply finished)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def sandbox_command(config_json: str) -> list[str]:
    """The argv of a sandbox child: this interpreter, isolated, running sandbox_child.py."""
    if getattr(sys, "frozen", False):
        return [sys.executable, CHILD_FLAG, config_json]
    # -I: no user site, no PYTHON* variables, no script folder on sys.path; -B: no .pyc writes (they
    # would be refused outside the run folder anyway); -u: output reaches us even if the run is killed.
    return [sys.executable, "-I", "-B", "-u", "-X", "utf8", sandbox_child.__file__, config_json]


_PASSED_ENVIRONMENT = (
    "PATH", "SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "LANG", "LC_ALL", "LC_CTYPE", "TZ",
    "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH",
)


def child_environment(work: Path, tmp: Path) -> dict[str, str]:
    """What the child sees: only what an interpreter needs, never the app's tokens or keys."""
    env = {name: os.environ[name] for name in _PASSED_ENVIRONMENT if name in os.environ}
    env.update({
        "HOME": str(work), "USERPROFILE": str(work),
        "TMPDIR": str(tmp), "TEMP": str(tmp), "TMP": str(tmp),
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(tmp),
        # One thread per math library: fewer surprises under the CPU and address-space limits.
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
    })
    return env


class PythonSandbox:
    """Runs python code under `limits`. Thread-safe: each `run` is independent."""

    def __init__(self, limits: SandboxLimits | None = None, temp_root: Path | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self._temp_root = temp_root

    def run(self, code: str, *, cancel: threading.Event | None = None,
            on_output: Callable[[str], None] | None = None) -> SandboxRun:
        """Run `code` to the end or to a limit; never raises for anything the code does.

        `on_output` gets text as it arrives (on a reader thread); `cancel` stops the run within ~50 ms.
        """
        started = time.monotonic()
        run_root = Path(tempfile.mkdtemp(prefix="ossian-python-", dir=self._temp_root))
        try:
            return _Run(self.limits, run_root, code, cancel, on_output, started).execute()
        finally:
            remove_tree(run_root)


    def probe(self) -> SandboxRun:
        """Run nothing, to learn which protections this machine enforces (for `ossian doctor`, settings).

        Check `outcome`: "setup_failed" means a protection these limits require is not available here.
        """
        return self.run("pass")


class _Run:
    """One child process from start to finish (kept apart so `PythonSandbox` holds no per-run state)."""

    def __init__(self, limits: SandboxLimits, run_root: Path, code: str, cancel: threading.Event | None,
                 on_output: Callable[[str], None] | None, started: float) -> None:
        self.limits = limits
        self.run_root = run_root
        self.work = run_root / "work"
        self.tmp = run_root / "tmp"
        self.code = code
        self.cancel = cancel
        self.on_output = on_output
        self.started = started
        self.output = StreamingTruncator(limits.output_chars)
        self.status: tuple[str, dict] | None = None
        self.ready_at: float | None = None  # when the child said it is about to run the code
        self.stopped_by: SandboxOutcome | None = None
        self.namespace: str | None = None  # the child's own user namespace, where it made one

    def config_json(self) -> str:
        return json.dumps({
            "workdir": str(self.work),
            "write_roots": [str(self.run_root)],
            "network": self.limits.network,
            "writes": self.limits.writes,
            "memory_bytes": self.limits.memory_bytes,
            "cpu_seconds": self.limits.cpu_seconds,
            "file_bytes": self.limits.file_bytes,
            "folder_bytes": self.limits.folder_bytes,
            "syscalls": self.limits.syscalls,
            "run_folders": [str(self.work), str(self.tmp)],
            "allow_subprocesses": self.limits.allow_subprocesses,
        })

    def execute(self) -> SandboxRun:
        self.work.mkdir()
        self.tmp.mkdir()
        try:
            process = subprocess.Popen(
                sandbox_command(self.config_json()), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, cwd=self.work, env=child_environment(self.work, self.tmp),
                **_new_process_group())
        except OSError as exc:
            return self.finish(None, "setup_failed", f"The sandbox could not start Python: {exc}.")
        feeder = threading.Thread(target=self.feed_code, args=(process,), name="sandbox-stdin", daemon=True)
        reader = threading.Thread(target=self.read_output, args=(process,), name="sandbox-stdout",
                                  daemon=True)
        feeder.start()
        reader.start()
        try:
            self.watch(process)
        finally:
            kill_process_group(process)
            if self.namespace is not None:
                # A child that left the process group (setsid) is still in the namespace the run made.
                kill_namespace(self.namespace)
            process.wait()
            reader.join(DRAIN_SECONDS)
            if reader.is_alive():
                # Something outside the process group (a child started with setsid, where the OS let one
                # start) still holds the pipe. Closing it now would block on the reader's lock until that
                # process exits, so the call returns and the daemon reader ends when the pipe does.
                log.warning("sandbox output pipe still open after the run ended; not waiting for it")
            elif process.stdout is not None:
                process.stdout.close()
        return self.conclude(process.returncode)

    def feed_code(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None
        try:
            process.stdin.write(self.code.encode("utf-8", errors="replace"))
            process.stdin.close()
        except OSError:
            pass  # the child is already gone; its exit status tells why

    def read_output(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        pending = b""
        try:
            while chunk := process.stdout.read1(65536):
                if self.status is None:
                    pending += chunk
                    if b"\n" not in pending and pending.startswith(_PREFIX[:len(pending)]):
                        continue
                    chunk = self.take_status(pending)
                    pending = b""
                if chunk:
                    self.pass_on(self.output.feed(chunk))
        except (OSError, ValueError):
            pass  # the pipe was closed under us after the drain timeout
        if pending and self.status is None:
            self.output.feed(pending)

    def pass_on(self, text: str) -> None:
        if not text or self.on_output is None:
            return
        try:
            self.on_output(text)
        except Exception:
            # Keep reading: a pipe nobody drains would block the code until its time runs out.
            log.exception("sandbox output listener failed; live output is off for this run")
            self.on_output = None

    def take_status(self, data: bytes) -> bytes:
        """Split the child's status line off the front of `data`; returns the rest (the code's output)."""
        if not data.startswith(_PREFIX):
            self.status = ("missing", {})
            return data
        line, _, rest = data.partition(b"\n")
        kind, _, payload = line[len(_PREFIX):].decode("utf-8", errors="replace").partition(" ")
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = None
        self.status = (kind, parsed) if isinstance(parsed, dict) else ("missing", {})
        if kind == "ready":
            self.ready_at = time.monotonic()
            self.namespace = user_namespace(parsed.get("pid") if isinstance(parsed, dict) else None)
        return rest

    def watch(self, process: subprocess.Popen[bytes]) -> None:
        """Wait for the child, stopping it at the wall-clock limit, on cancel, or when the watchdog says."""
        next_watchdog = 0.0
        while True:
            try:
                process.wait(timeout=POLL_SECONDS)
                return
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if self.cancel is not None and self.cancel.is_set():
                self.stopped_by = "cancelled"
                return
            if self.ready_at is None:
                if now >= self.started + self.limits.wall_seconds + STARTUP_GRACE_SECONDS:
                    self.stopped_by = "timeout"
                    return
                continue
            if now >= self.ready_at + self.limits.wall_seconds:
                self.stopped_by = "timeout"
                return
            if now >= next_watchdog:
                next_watchdog = now + WATCHDOG_SECONDS
                over = self.watchdog(process.pid)
                if over is not None:
                    self.stopped_by = over
                    return

    def watchdog(self, pid: int) -> SandboxOutcome | None:
        """The parent's own check of memory, CPU and the run folder, only where the kernel does not enforce
        them."""
        reported = self.status[1].get("protections", {}) if self.status else {}
        over = over_limits(pid, self.limits, check_memory=reported.get("memory", {}).get("by") != "kernel",
                           check_cpu=reported.get("cpu", {}).get("by") != "kernel")
        watch_folder = reported.get("folder", {}).get("by") != "kernel"
        if over is None and watch_folder and folder_over_limit(self.run_root, self.limits.folder_bytes):
            return "folder_limit"
        return over

    def conclude(self, returncode: int | None) -> SandboxRun:
        limits = self.limits
        kind, payload = self.status or ("missing", {})
        if kind == "error":
            reason = payload.get("message")
            return self.finish(returncode, "setup_failed", f"The sandbox could not start: {reason}.")
        if kind != "ready" and self.stopped_by is None:
            return self.finish(returncode, "setup_failed",
                               f"The sandbox's Python exited before running the code (status {returncode}).")
        if self.stopped_by == "cancelled":
            return self.finish(returncode, "cancelled", "Stopped: the run was cancelled.")
        if self.stopped_by == "timeout":
            return self.finish(returncode, "timeout",
                               f"Stopped: still running after {limits.wall_seconds:g} s, the time limit.")
        cpu_message = f"Stopped: used {limits.cpu_seconds} s of CPU time, the limit."
        memory_message = f"Stopped: needed more than {limits.memory_bytes // MiB} MiB of memory, the limit."
        killed_by_cpu_limit = _SIGXCPU is not None and returncode == -_SIGXCPU
        if self.stopped_by == "cpu_limit" or killed_by_cpu_limit:
            return self.finish(returncode, "cpu_limit", cpu_message)
        if self.stopped_by == "memory_limit" or returncode == sandbox_child.EXIT_MEMORY_ERROR:
            return self.finish(returncode, "memory_limit", memory_message)
        if self.stopped_by == "folder_limit":
            return self.finish(returncode, "folder_limit", f"Stopped: the files it wrote passed "
                               f"{limits.folder_bytes // MiB} MiB (or {FOLDER_ENTRIES_LIMIT:,} files), the "
                               "limit for the run folder.")
        if returncode is not None and returncode < 0:
            return self.finish(returncode, "crashed", crash_message(-returncode))
        if returncode == 0:
            return self.finish(returncode, "ok", "")
        return self.finish(returncode, "error", f"Exited with status {returncode}.")

    def finish(self, returncode: int | None, outcome: SandboxOutcome, message: str) -> SandboxRun:
        fitted = self.output.result()
        reported = self.status[1].get("protections", {}) if self.status and self.status[0] == "ready" else {}
        return SandboxRun(
            outcome=outcome, output=fitted.text, truncated=fitted.truncated, output_chars=fitted.total_chars,
            exit_code=returncode, duration_s=time.monotonic() - self.started,
            protections=merge_protections(reported, self.limits), message=message)


_PREFIX = sandbox_child.STATUS_PREFIX.encode("utf-8")
_SIGXCPU: int | None = getattr(signal, "SIGXCPU", None)  # POSIX only


def merge_protections(reported: dict[str, dict[str, str]], limits: SandboxLimits) -> tuple[Protection, ...]:
    """The child's report plus what the parent itself enforces, in a fixed order."""
    merged: dict[str, Protection] = {}
    for aspect, entry in reported.items():
        if isinstance(entry, dict) and entry.get("by") in ("kernel", "guard", "watchdog"):
            merged[aspect] = Protection(aspect, entry["by"], str(entry.get("detail", "")))
    merged["time"] = Protection("time", "watchdog", f"{limits.wall_seconds:g} s of wall-clock time; then the "
                                "app kills the whole process group")
    if "cpu" not in merged:
        merged["cpu"] = Protection("cpu", "watchdog", f"{limits.cpu_seconds} s of CPU time, checked by the "
                                   f"app every {WATCHDOG_SECONDS:g} s")
    if "folder" not in merged:
        merged["folder"] = Protection(
            "folder", "watchdog", f"{limits.folder_bytes // MiB} MiB and {FOLDER_ENTRIES_LIMIT:,} files in "
            f"the run folder, measured by the app every {WATCHDOG_SECONDS:g} s (a very fast writer can "
            "overshoot before it is stopped)")
    if "memory" not in merged:
        merged["memory"] = Protection("memory", "watchdog", f"{limits.memory_bytes // MiB} MiB of resident "
                                      f"memory, checked by the app every {WATCHDOG_SECONDS:g} s (a very fast "
                                      "allocation can overshoot before it is stopped)")
    return tuple(merged[a] for a in ASPECT_ORDER if a in merged) + tuple(
        p for a, p in merged.items() if a not in ASPECT_ORDER)


def over_limits(pid: int, limits: SandboxLimits, *, check_memory: bool,
                check_cpu: bool) -> SandboxOutcome | None:
    """Whether process `pid` (and, if it may start any, its children) is over the memory or CPU limit."""
    if not (check_memory or check_cpu):
        return None
    import psutil  # with the first run (see the imports above)

    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)] if limits.allow_subprocesses else [root]
        rss = sum(p.memory_info().rss for p in tree)
        cpu = sum(sum(p.cpu_times()[:2]) for p in tree)
    except psutil.Error:
        return None  # gone already: its exit status tells the story
    if check_memory and rss > limits.memory_bytes:
        return "memory_limit"
    if check_cpu and cpu > limits.cpu_seconds:
        return "cpu_limit"
    return None


def _new_process_group() -> dict:
    if os.name == "posix":
        return {"start_new_session": True}
    flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(subprocess, "CREATE_NO_WINDOW", 0)
    return {"creationflags": flags}


def kill_process_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the child and everything it started (its session on POSIX, its process tree elsewhere)."""
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the child leads its own session: pgid == pid
        except (ProcessLookupError, PermissionError):
            pass
        return
    import psutil  # with the first run (see the imports above)

    try:
        parent = psutil.Process(process.pid)
        for proc in [*parent.children(recursive=True), parent]:
            proc.kill()
    except psutil.Error:
        pass


# What each fatal signal usually means here, so a crash is not blamed on the wrong cause.
_CRASH_CAUSES = {
    "SIGSEGV": "a fault in native code (a C extension or ctypes touched memory it should not)",
    "SIGBUS": "a fault in native code (a bad memory access)",
    "SIGILL": "native code ran an instruction this CPU does not have",
    "SIGFPE": "native code divided by zero",
    "SIGABRT": "native code aborted (a failed assertion in a C library)",
    "SIGSYS": "it made a system call the sandbox forbids",
    "SIGKILL": "the kernel ended it (running out of memory is the usual cause)",
}


def crash_message(number: int) -> str:
    """One sentence on a process that died of signal `number`."""
    name = _signal_name(number)
    cause = _CRASH_CAUSES.get(name, "a signal nobody in the app sent")
    return f"The Python process crashed with {name}: {cause}. The code did not finish."


def folder_over_limit(root: Path, limit_bytes: int) -> bool:
    """Whether the run folder holds more than `limit_bytes` or more than FOLDER_ENTRIES_LIMIT entries.

    Counting stops at the entry limit, so a folder of a million empty files costs this check no more than
    one at the limit.
    """
    total, entries = 0, 0
    pending = [str(root)]
    while pending:
        try:
            scanner = os.scandir(pending.pop())
        except OSError:
            continue
        with scanner:
            for entry in scanner:
                entries += 1
                if entries > FOLDER_ENTRIES_LIMIT:
                    return True
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    else:
                        total += _allocated_bytes(entry.stat(follow_symlinks=False))
                except OSError:
                    continue
                if total > limit_bytes:
                    return True
    return False


def _allocated_bytes(info: os.stat_result) -> int:
    """Room on disk, not the length: a sparse file takes none however long it claims to be."""
    blocks = getattr(info, "st_blocks", None)
    return blocks * 512 if blocks is not None else info.st_size


def user_namespace(pid: object) -> str | None:
    """The user namespace of process `pid` (Linux), when it is one of its own, not the app's."""
    if not isinstance(pid, int) or not sys.platform.startswith("linux"):
        return None
    try:
        theirs = os.readlink(f"/proc/{pid}/ns/user")
        return theirs if theirs != os.readlink("/proc/self/ns/user") else None
    except OSError:
        return None


def kill_namespace(namespace: str) -> None:
    """SIGKILL every process in user namespace `namespace` (only a sandbox run's processes are there)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry.name}/ns/user") == namespace:
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue  # gone, or not ours to look at


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def remove_tree(path: Path) -> None:
    """Delete a run folder even if the code made parts of it read-only."""
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            entry = os.path.join(root, name)
            if os.path.islink(entry):
                continue  # chmod would follow the link, perhaps to a file outside the run folder
            try:
                os.chmod(entry, stat.S_IRWXU)
            except OSError:
                pass
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        log.warning("could not remove the sandbox run folder %s", path)
