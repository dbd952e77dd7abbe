"""The child side of the python sandbox: lock this process down, report how, then run the model's code.

The parent (`app.tools.sandbox`) starts this file by path as `python -I -B -u -X utf8 sandbox_child.py
CONFIG` (a frozen build starts the app with `--python-sandbox CONFIG` and calls `main`), writes the code
to stdin and closes it. This module owns, in this order:

1. resource limits (POSIX `setrlimit`): address space, CPU seconds, file size, no core files;
2. on Linux, a user + network namespace of its own (no interface but a loopback that is down), when the
   kernel lets an unprivileged process create one;
3. on Linux with Landlock, a kernel rule that lets this process and its children write only under the
   run folder (and /dev/null);
4. a Python audit hook (PEP 578) that refuses network use, writes outside the run folder and starting
   processes, with an error the model can read;
5. one status line on stdout saying which of these are in force, then the code, run as `__main__`.

Each step reports what it achieved instead of assuming: the parent shows the user exactly that. The audit
hook is a guard against ordinary Python code, not a security boundary: code that calls C through ctypes
gets past it, which is why the kernel layers are used wherever the OS has them.

Standard library only, and nothing from `app`: it must start fast, work in any interpreter, and hand the
sandboxed code nothing of the app.
"""

from __future__ import annotations

import builtins
import io
import json
import linecache
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

# The first stdout line; the parent reads it before any output of the code (which cannot forge it:
# it has not run yet when this is written).
STATUS_PREFIX = "\x1e\x1eOSSIAN-SANDBOX "
# Exit statuses the parent understands; the code may exit with them too, which only mislabels its own run.
EXIT_SETUP_FAILED = 70
EXIT_MEMORY_ERROR = 71
CODE_FILENAME = "<python>"

_MiB = 1024 * 1024


# --- 1. resource limits --------------------------------------------------------------------------------

def apply_limits(memory_bytes: int, cpu_seconds: int, file_bytes: int) -> dict[str, dict[str, str]]:
    """Set POSIX limits (soft = hard, so the code cannot raise them back) and say which took hold."""
    try:
        import resource
    except ImportError:  # Windows: the parent's watchdog is all there is
        return {}

    def limit(which: int, value: int, hard: int | None = None) -> bool:
        _, current_hard = resource.getrlimit(which)
        wanted_hard = value if hard is None else hard
        if current_hard != resource.RLIM_INFINITY:
            value, wanted_hard = min(value, current_hard), min(wanted_hard, current_hard)
        try:
            resource.setrlimit(which, (value, wanted_hard))
        except (ValueError, OSError):
            return False
        return True

    applied: dict[str, dict[str, str]] = {}
    limit(resource.RLIMIT_CORE, 0)
    # macOS accepts RLIMIT_AS but does not enforce it, so only Linux counts it as kernel-enforced.
    if sys.platform.startswith("linux") and limit(resource.RLIMIT_AS, memory_bytes):
        applied["memory"] = {"by": "kernel", "detail": f"{memory_bytes // _MiB} MiB of address space "
                             "(RLIMIT_AS); the parent also watches resident memory"}
    # The soft limit sends SIGXCPU; the hard one, a second later, SIGKILL if SIGXCPU was caught.
    if limit(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1):
        applied["cpu"] = {"by": "kernel", "detail": f"{cpu_seconds} s of CPU time (RLIMIT_CPU)"}
    if limit(resource.RLIMIT_FSIZE, file_bytes):
        applied["file_size"] = {"by": "kernel", "detail": f"files up to {file_bytes // _MiB} MiB "
                                "(RLIMIT_FSIZE)"}
    return applied


# --- 2. namespaces (Linux): no network, and a run folder of fixed size ------------------------------------

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_CLONE_NEWNS = 0x00020000
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MS_PRIVATE = 1 << 18
# A run may create this many files and folders; each costs kernel memory the size cap does not count.
RUN_FOLDER_INODES = 20000


def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def enter_namespaces(network: bool) -> tuple[bool, str]:
    """Move into a new user + mount (+ network) namespace. Returns (entered, a note on what went wrong).

    A user namespace is what lets an unprivileged process own the others. The network namespace's only
    interface is a loopback that stays down, so nothing, not even a server on this machine's 127.0.0.1,
    is reachable; the mount namespace lets the run folder be a size-capped filesystem of its own.
    The process must still be single-threaded here (the kernel refuses CLONE_NEWUSER otherwise).
    """
    if not sys.platform.startswith("linux"):
        return False, "namespaces exist only on Linux"
    import ctypes

    uid, gid = os.getuid(), os.getgid()
    libc = _libc()
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS | (_CLONE_NEWNET if network else 0)) != 0:
        err = ctypes.get_errno()
        return False, f"the kernel refused a user namespace of our own ({os.strerror(err)})"
    # Map our own ids into the namespace so files we create are owned as usual; "deny" setgroups first,
    # which the kernel requires before an unprivileged gid_map write.
    try:
        id_maps = (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1"))
        for name, text in id_maps:
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
    except OSError as exc:
        # Still cut off from the network; only file ownership inside the namespace looks odd.
        return True, f"; mapping the user id failed ({exc.strerror}), so files show an unmapped owner"
    return True, ""


def cap_run_folder(run_root: str, folder_bytes: int, subfolders: list[str]) -> str | None:
    """Mount a fresh tmpfs of `folder_bytes` over the run folder (inside our own mount namespace, so
    nobody else sees it). Returns None when it took hold, else why not.

    The parent deletes the run folder afterwards anyway, so its contents living only in this namespace
    loses nothing; what it gains is a kernel limit on the folder's total size and file count (RLIMIT_FSIZE
    caps only single files).
    """
    import ctypes

    libc = _libc()
    options = f"size={folder_bytes},nr_inodes={RUN_FOLDER_INODES},mode=0700".encode()
    if libc.mount(b"tmpfs", os.fsencode(run_root), b"tmpfs", _MS_NOSUID | _MS_NODEV, options) != 0:
        return f"mounting a size-capped folder failed ({os.strerror(ctypes.get_errno())})"
    # Private: nothing mounted here later can propagate back (the mount is ours alone either way).
    libc.mount(None, os.fsencode(run_root), None, _MS_PRIVATE, None)
    for folder in subfolders:
        os.makedirs(folder, exist_ok=True)
    return None


def die_with_parent() -> None:
    """Linux: get SIGKILL if the app dies, so a sleeping child never outlives it."""
    if not sys.platform.startswith("linux"):
        return
    import signal

    pr_set_pdeathsig = 1
    try:
        _libc().prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass


# --- 3. Landlock: writes only under the run folder (Linux >= 5.13) -------------------------------------

_SYS_LANDLOCK_CREATE_RULESET = 444  # the same number on every architecture (added after the unification)
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_FS_WRITE_FILE = 1 << 1
_FS_REMOVE_DIR = 1 << 4
_FS_REMOVE_FILE = 1 << 5
_FS_MAKE_ALL = sum(1 << bit for bit in range(6, 13))  # char, dir, reg, sock, fifo, block, sym
_FS_REFER = 1 << 13  # ABI 2
_FS_TRUNCATE = 1 << 14  # ABI 3
_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1


def confine_writes_with_landlock(write_roots: list[str],
                                 block_network: bool = True) -> tuple[int, str | None]:
    """Allow writing only beneath `write_roots` and to /dev/null. Returns (ABI version, why not or None).

    Only write-like rights are handled, so reading stays as the user's own permissions allow. Where the
    kernel's Landlock has them, also: no TCP bind or connect and no abstract Unix sockets outside (with
    `block_network`), and signals only within the sandbox.
    """
    if not sys.platform.startswith("linux"):
        return 0, "Landlock exists only on Linux"
    import ctypes

    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                       ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))
    if abi < 1:
        return 0, f"the kernel has no Landlock ({os.strerror(ctypes.get_errno())})"
    handled = _FS_WRITE_FILE | _FS_REMOVE_DIR | _FS_REMOVE_FILE | _FS_MAKE_ALL
    if abi >= 2:
        handled |= _FS_REFER
    if abi >= 3:
        handled |= _FS_TRUNCATE

    # The struct grew with the ABI; an older kernel refuses a longer one, so send only what it knows.
    fields = [("handled_access_fs", ctypes.c_uint64)]
    if abi >= 4:
        fields.append(("handled_access_net", ctypes.c_uint64))
    if abi >= 6:
        fields.append(("scoped", ctypes.c_uint64))

    class RulesetAttr(ctypes.Structure):
        _fields_ = fields

    class PathBeneathAttr(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    def failed(what: str) -> tuple[int, str]:
        return abi, f"{what} failed ({os.strerror(ctypes.get_errno())})"

    attr = RulesetAttr(handled)
    if abi >= 4 and block_network:
        attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP  # handled with no rule: none allowed
    if abi >= 6:
        # Signals only within this sandbox (not to the app or any other process of the user), and no
        # abstract Unix sockets outside it.
        attr.scoped = _SCOPE_SIGNAL | (_SCOPE_ABSTRACT_UNIX_SOCKET if block_network else 0)
    ruleset_fd = libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr),
                              ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0))
    if ruleset_fd < 0:
        return failed("creating the Landlock ruleset")
    try:
        file_rights = handled & (_FS_WRITE_FILE | _FS_TRUNCATE)
        targets = [(root, handled) for root in write_roots] + [(os.devnull, file_rights)]
        for path, rights in targets:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = PathBeneathAttr(rights, fd)
                added = libc.syscall(_SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset_fd),
                                     ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(rule),
                                     ctypes.c_uint32(0))
                if added != 0:
                    return failed(f"adding a Landlock rule for {path}")
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return failed("setting no_new_privs")
        if libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset_fd), ctypes.c_uint32(0)) != 0:
            return failed("Landlock restrict_self")
    finally:
        os.close(ruleset_fd)
    return abi, None


# --- 4. the audit-hook guard -----------------------------------------------------------------------------

class SandboxViolation(PermissionError):
    """What the guard raises; a PermissionError, so code that handles those keeps working."""


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# event -> positions of (path, dir_fd) pairs among its arguments
_PATH_EVENTS: dict[str, tuple[tuple[int, int | None], ...]] = {
    "os.remove": ((0, 1),),
    "os.rmdir": ((0, 1),),
    "os.mkdir": ((0, 2),),
    "os.rename": ((0, 2), (1, 3)),
    "os.link": ((0, 2), (1, 3)),
    "os.symlink": ((1, 2),),
    "os.chmod": ((0, 2),),
    "os.chown": ((0, 3),),
    "os.utime": ((0, 3),),
    "os.truncate": ((0, None),),
    "os.chflags": ((0, None),),
    "os.lchflags": ((0, None),),
    "os.setxattr": ((0, None),),
    "os.removexattr": ((0, None),),
    "shutil.rmtree": ((0, 1),),
}
_NETWORK_SOCKET_EVENTS = frozenset({"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"})
_NETWORK_NAME_EVENTS = frozenset({
    "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr",
    "socket.getnameinfo",
})
_METADATA_EVENTS = frozenset({
    "os.chmod", "os.chown", "os.utime", "os.chflags", "os.lchflags", "os.setxattr", "os.removexattr",
})
_PROCESS_EVENTS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.startfile", "pty.spawn",
})


def _fd_path(fd: int) -> str | None:
    """The folder an open directory descriptor stands for, where the OS can tell."""
    try:
        if sys.platform.startswith("linux"):
            return os.readlink(f"/proc/self/fd/{fd}")
        if sys.platform == "darwin":
            import fcntl

            raw = fcntl.fcntl(fd, fcntl.F_GETPATH, b"\0" * 1024)  # type: ignore[attr-defined]
            return raw.rstrip(b"\0").decode()
    except OSError:
        return None
    return None


def _is_address_literal(host: Any) -> bool:
    """An IP written out needs no lookup (the connect that follows is what gets refused)."""
    import ipaddress

    if isinstance(host, bytes):
        host = host.decode("ascii", errors="replace")
    if not isinstance(host, str):
        return host is None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_network_family(family: Any) -> bool:
    """Sockets that leave the process for a network (Unix sockets are judged where they connect)."""
    import socket

    return family != getattr(socket, "AF_UNIX", None)


def _shown(path: Any) -> str:
    try:
        return repr(os.fsdecode(path))
    except TypeError:
        return repr(path)


def make_guard(write_roots: list[str], block_network: bool, block_processes: bool,
               block_metadata: bool = False) -> Callable[[str, tuple[Any, ...]], None]:
    """The audit hook. It raises SandboxViolation for what the sandbox forbids and returns otherwise.

    `block_metadata`: refuse permission, owner, time and attribute changes everywhere, with a readable
    message, where the kernel filter refuses them anyway (it cannot tell the run folder from elsewhere).
    """
    roots = [os.path.realpath(root) for root in write_roots]
    own_pid = os.getpid()
    allowed_files = {os.path.realpath(os.devnull)}

    def inside(path: Any, dir_fd: Any = None) -> bool:
        if isinstance(path, int):
            return True  # an open descriptor: its opening was checked
        try:
            text = os.fsdecode(os.fspath(path))
        except TypeError:
            return False
        if not os.path.isabs(text) and isinstance(dir_fd, int) and dir_fd >= 0:
            base = _fd_path(dir_fd)
            if base is None:
                return False
            text = os.path.join(base, text)
        # realpath follows symlinks, so a link made inside the folder cannot point the write elsewhere.
        real = os.path.realpath(text)
        if real in allowed_files:
            return True
        return any(real == root or real.startswith(root + os.sep) for root in roots)

    def refuse(what: str) -> None:
        raise SandboxViolation(f"{what} is blocked in the python tool's sandbox")

    def socket_is_local(sock: Any, address: Any) -> bool:
        import socket

        if getattr(sock, "family", None) != getattr(socket, "AF_UNIX", object()):
            return False
        # A Unix socket on disk (D-Bus, Docker) is a door out of the sandbox; only its own folder is fine.
        return isinstance(address, (str, bytes)) and (address[:1] in ("\0", b"\0") or inside(address))

    # Nothing the checks call (realpath, readlink) raises an event handled here, so the hook never
    # re-enters itself and needs no re-entrancy flag (a shared flag would let a second thread slip by).
    def guard(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, _mode, flags = args
            if isinstance(flags, int) and flags & _WRITE_FLAGS and not inside(path):
                refuse(f"writing to {_shown(path)} (outside the working directory)")
        elif block_metadata and event in _METADATA_EVENTS:
            refuse(f"changing a file's permissions, owner, times or attributes ({event})")
        elif event in _PATH_EVENTS:
            for path_index, fd_index in _PATH_EVENTS[event]:
                dir_fd = args[fd_index] if fd_index is not None and fd_index < len(args) else None
                if path_index < len(args) and not inside(args[path_index], dir_fd):
                    refuse(f"changing {_shown(args[path_index])} (outside the working directory)")
        elif block_network and event in _NETWORK_SOCKET_EVENTS:
            sock, address = args[0], args[1] if len(args) > 1 else None
            if not socket_is_local(sock, address):
                refuse(f"network access ({event.split('.')[1]} to {address!r})")
        elif block_network and event in _NETWORK_NAME_EVENTS and not _is_address_literal(args[0]):
            refuse(f"network access (looking up {args[0]!r})")
        elif block_processes and event in _PROCESS_EVENTS:
            refuse("starting another process")
        elif block_processes and event in ("os.kill", "os.killpg") and args[0] not in (own_pid, 0):
            refuse(f"sending a signal to another process ({args[0]})")
        elif block_network and event == "socket.__new__" and _is_network_family(args[1]):
            refuse(f"network access (a socket of family {args[1]!r})")

    return guard


# --- 5. running the code ---------------------------------------------------------------------------------

def run_code(code: str) -> int:
    """Run `code` as a fresh `__main__`; print tracebacks the way python does, minus this file's frames."""
    # Registering the source lets tracebacks show the offending lines of "<python>".
    linecache.cache[CODE_FILENAME] = (len(code), None, code.splitlines(keepends=True), CODE_FILENAME)
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins, "__doc__": None}
    try:
        compiled = compile(code, CODE_FILENAME, "exec")
    except (SyntaxError, ValueError) as exc:
        traceback.print_exception(type(exc), exc, None)
        return 1
    try:
        exec(compiled, namespace)
    except SystemExit as exc:
        return _exit_status(exc)
    except MemoryError as exc:
        _print_user_traceback(exc)
        return EXIT_MEMORY_ERROR
    except BaseException as exc:
        _print_user_traceback(exc)
        return 1
    return 0


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _print_user_traceback(exc: BaseException) -> None:
    """Print like python does, without this module's frames (the exec call, the guard's own raise)."""
    report = traceback.TracebackException.from_exception(exc)
    seen: set[int] = set()
    pending = [report]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.stack = traceback.StackSummary.from_list(
            [frame for frame in current.stack if frame.filename != __file__])
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        pending.extend(getattr(current, "exceptions", None) or ())
    sys.stderr.write("".join(report.format()))


def _read_code() -> str:
    data = sys.stdin.buffer.read()
    # Nothing more comes in: input() in the code gets EOF at once instead of waiting forever.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return data.decode("utf-8", errors="replace")


def _write_status(kind: str, payload: dict[str, Any]) -> None:
    sys.stdout.write(f"{STATUS_PREFIX}{kind} {json.dumps(payload)}\n")
    sys.stdout.flush()


class SetupFailed(Exception):
    """A protection the configuration requires is not available; nothing has run."""


_BYPASS = "code that uses ctypes or native extensions can get past it"


def _seccomp_module() -> Any:
    """The filter module beside this file. Started by path with -I, the child has no `app` package to
    import from, so it is loaded by path; a frozen build calls `main` from inside the app, where the
    package is there (and the import statement is what tells PyInstaller to collect it)."""
    if __package__:
        from app.tools import sandbox_seccomp

        return sandbox_seccomp
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_seccomp.py")
    spec = importlib.util.spec_from_file_location("_ossian_sandbox_seccomp", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def enter_isolation(network: str) -> tuple[bool, dict[str, str]]:
    """Namespaces first (they need a single-threaded process with nothing locked down yet).

    Returns whether we are in namespaces of our own, and the network entry if they decided it. Mode
    "auto": the namespace when the kernel allows it; "namespace": required; "guard": no network namespace
    (a user + mount namespace is still tried, for the run folder's size cap).
    """
    wants_network = network in ("auto", "namespace")
    entered, note = enter_namespaces(network=wants_network)
    if not entered and network == "namespace":
        raise SetupFailed(f"network isolation was required but {note}")
    if entered and wants_network:
        return True, {"by": "kernel", "detail": "own network namespace: no interface but a loopback that "
                      f"is down{note}"}
    if not wants_network:
        return entered, {"by": "guard", "detail": f"Python audit hook only (by configuration); {_BYPASS}"}
    return entered, {"by": "guard", "detail": f"Python audit hook only ({note}); {_BYPASS}"}


def cap_folder(entered: bool, run_root: str, folder_bytes: int, folders: list[str]) -> dict[str, str] | None:
    """The run folder's total size, by the kernel where a mount namespace could be had (else the parent's
    watchdog measures it, and this returns None)."""
    why_not = "no mount namespace of our own"
    if entered:
        why_not = cap_run_folder(run_root, folder_bytes, folders)
        if why_not is None:
            return {"by": "kernel", "detail": f"the run folder is a {folder_bytes // _MiB} MiB filesystem of "
                    f"its own (tmpfs in a private mount namespace), at most {RUN_FOLDER_INODES:,} files"}
    for folder in folders:
        os.makedirs(folder, exist_ok=True)
    return None


def confine_writes(mode: str, write_roots: list[str], block_network: bool) -> dict[str, str]:
    """Mode "auto": Landlock when the kernel has it, else the guard; "landlock": required."""
    abi, why_not = 0, "by configuration"
    if mode in ("auto", "landlock"):
        abi, why_not = confine_writes_with_landlock(write_roots, block_network)
    if why_not is None:
        return {"by": "kernel", "detail": f"Landlock (ABI {abi}): writes only under the run folder and to "
                "/dev/null; reading is not restricted"}
    if mode == "landlock":
        raise SetupFailed(f"kernel write confinement was required but {why_not}")
    return {"by": "guard", "detail": f"Python audit hook only ({why_not}); {_BYPASS}; "
            "reading is not restricted"}


def filter_syscalls(mode: str, protections: dict[str, dict[str, str]], *, block_processes: bool,
                    block_sockets: bool, block_metadata: bool) -> None:
    """The seccomp layer (mode "auto": where the kernel has it; "seccomp": required; "off": not used),
    recorded in `protections` against each aspect it enforces."""
    seccomp = _seccomp_module()
    result = seccomp.FilterResult(False, "by configuration")
    if mode in ("auto", "seccomp"):
        result = seccomp.install_filter(os.getpid(), block_processes=block_processes,
                                        block_sockets=block_sockets, block_metadata=block_metadata)
    if not result.installed and mode == "seccomp":
        raise SetupFailed(f"the system-call filter was required but {result.detail}")
    kernel = result.installed
    why = f"Python audit hook only ({result.detail}); {_BYPASS}"
    if block_processes:
        protections["processes"] = (
            {"by": "kernel", "detail": f"no new programs or processes ({result.detail}: execve, fork and "
             "clone without CLONE_THREAD refused; threads work); the guard explains refusals to Python code"}
            if kernel else {"by": "guard", "detail": f"starting processes is refused ({why})"})
        protections["signals"] = (
            {"by": "kernel", "detail": "signals only to itself (seccomp), so not to the app or any other "
             "process; no ptrace or reading other processes' memory"}
            if kernel else {"by": "guard", "detail": f"signals only to itself ({why})"})
    if block_sockets and kernel:
        entry = protections.get("network", {})
        protections["network"] = {"by": "kernel", "detail": "no sockets can be created (seccomp), so no "
                                  "network and no Unix sockets on disk (D-Bus, Docker); socketpair stays"
                                  + (f"; also {entry['detail']}" if entry.get("by") == "kernel" else "")}
    if block_metadata:
        protections["metadata"] = (
            {"by": "kernel", "detail": "file permissions, owners, times and extended attributes cannot be "
             "changed anywhere (seccomp; a filter cannot tell paths apart, so not in the run folder either)"}
            if kernel else {"by": "guard", "detail": f"only inside the run folder ({why})"})


def _unbuffered_output() -> None:
    """UTF-8 and unbuffered, so output written before a kill still reaches the parent.

    A normal start has this from `-u -X utf8`; a frozen build starts without them, so set it up here.
    """
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)


def main(argv: list[str]) -> int:
    """Entry point. argv[0] is the JSON config the parent built (`_Run.config_json` in app.tools.sandbox)."""
    _unbuffered_output()
    try:
        config = json.loads(argv[0])
        workdir, write_roots = str(config["workdir"]), [str(root) for root in config["write_roots"]]
        network, writes = str(config["network"]), str(config["writes"])
        memory, cpu = int(config["memory_bytes"]), int(config["cpu_seconds"])
        file_size = int(config["file_bytes"])
        block_processes = not bool(config["allow_subprocesses"])
        folder_bytes, syscalls = int(config["folder_bytes"]), str(config["syscalls"])
        folders = [str(folder) for folder in config["run_folders"]]
        code = _read_code()
    except (IndexError, KeyError, TypeError, ValueError, OSError) as exc:
        _write_status("error", {"message": f"the sandbox got a bad configuration: {exc!r}"})
        return EXIT_SETUP_FAILED

    die_with_parent()
    protections = apply_limits(memory, cpu, file_size)
    try:
        entered, protections["network"] = enter_isolation(network)
        folder = cap_folder(entered, write_roots[0], folder_bytes, folders)
        if folder is not None:
            protections["folder"] = folder
        protections["writes"] = confine_writes(writes, write_roots, block_network=network != "guard")
        os.chdir(workdir)
        filter_syscalls(syscalls, protections, block_processes=block_processes,
                        block_sockets=network != "guard", block_metadata=writes != "guard")
    except (SetupFailed, OSError) as exc:
        _write_status("error", {"message": str(exc)})
        return EXIT_SETUP_FAILED
    except Exception as exc:  # a bug here must still end as a setup failure, never run the code unguarded
        _write_status("error", {"message": f"locking the sandbox down failed: {exc!r}"})
        return EXIT_SETUP_FAILED
    sys.addaudithook(make_guard(write_roots, block_network=True, block_processes=block_processes,
                                block_metadata=protections.get("metadata", {}).get("by") == "kernel"))
    _write_status("ready", {"protections": protections, "pid": os.getpid()})
    return run_code(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
