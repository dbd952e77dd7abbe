"""The python sandbox's system-call filter: a seccomp-bpf program the child installs on itself (Linux).

This module owns the list of system calls the sandboxed code may not make, the numbers of those calls on
each CPU architecture the filter knows (x86-64 and AArch64), and turning that list into a classic BPF
program for `prctl(PR_SET_SECCOMP)`. It is the layer that holds when the code reaches C through ctypes or
a module the audit-hook guard does not watch (`_posixsubprocess.fork_exec` was the way out before it):

- no new programs and no new processes: execve/execveat, fork/vfork, clone without CLONE_THREAD
  (threads still work), and clone3 answered "not implemented" so the C library falls back to clone;
- signals only to itself: kill/tgkill/rt_sigqueueinfo aimed anywhere but this process, tkill, pidfds;
- no reaching into other processes: ptrace, process_vm_readv/writev, kcmp;
- no changing file metadata, anywhere: the chmod, chown, utime and xattr families (Landlock handles
  writes, not metadata, and a seccomp filter cannot see paths, so even the run folder's files keep theirs);
- no sockets: socket() of any family (Unix sockets on disk lead to D-Bus, Docker and the like; the
  network namespace does not cover them), while socketpair(AF_UNIX) stays for asyncio's wake-up pipe;
- none of what could undo the other layers or the machine: mount and the new mount API, unshare, setns,
  chroot, pivot_root, keyctl, bpf, io_uring (its requests would bypass this filter), perf_event_open,
  userfaultfd, modules, reboot, clocks, swap, quotas and the like (these matter when the app runs as root).

A refused call fails with EPERM ("Operation not permitted"), so the code gets an ordinary OSError. Calls
made through another ABI (i386 via `int 0x80`, x32) are refused too. Standard library only: the child
loads this file by path and must hand the code nothing of the app.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import sys
from dataclasses import dataclass

# <linux/audit.h> architecture tokens, as the kernel reports them in seccomp_data.arch.
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_X32_SYSCALL_BIT = 0x40000000

# Numbers from <asm/unistd_64.h> (x86-64) and <asm-generic/unistd.h> (AArch64). From 424 on the
# numbers are the same on every architecture, hence one table for those. None: the call does not exist
# on that architecture (AArch64 has only the *at forms).
_SYSCALLS: dict[str, tuple[int | None, int | None]] = {
    # processes
    "clone": (56, 220), "fork": (57, None), "vfork": (58, None), "execve": (59, 221),
    "execveat": (322, 281), "clone3": (435, 435),
    # signals
    "kill": (62, 129), "tkill": (200, 130), "tgkill": (234, 131), "rt_sigqueueinfo": (129, 138),
    "rt_tgsigqueueinfo": (297, 240), "pidfd_open": (434, 434), "pidfd_send_signal": (424, 424),
    "pidfd_getfd": (438, 438),
    # other processes' memory
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "kcmp": (312, 272),
    # file metadata
    "chmod": (90, None), "fchmod": (91, 52), "fchmodat": (268, 53), "fchmodat2": (452, 452),
    "chown": (92, None), "fchown": (93, 55), "lchown": (94, None), "fchownat": (260, 54),
    "setxattr": (188, 5), "lsetxattr": (189, 6), "fsetxattr": (190, 7), "removexattr": (197, 14),
    "lremovexattr": (198, 15), "fremovexattr": (199, 16), "setxattrat": (463, 463),
    "removexattrat": (466, 466), "utime": (132, None), "utimes": (235, None), "utimensat": (280, 88),
    "futimesat": (261, None),
    # sockets
    "socket": (41, 198), "socketpair": (53, 199),
    # undoing the other layers
    "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51),
    "unshare": (272, 97), "setns": (308, 268), "open_tree": (428, 428), "move_mount": (429, 429),
    "fsopen": (430, 430), "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433),
    "mount_setattr": (442, 442), "open_tree_attr": (467, 467), "keyctl": (250, 219),
    "add_key": (248, 217), "request_key": (249, 218), "bpf": (321, 280), "perf_event_open": (298, 241),
    "userfaultfd": (323, 282), "io_uring_setup": (425, 425), "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427), "name_to_handle_at": (303, 264), "open_by_handle_at": (304, 265),
    # the machine (only a process with capabilities could make these work; the app may run as root)
    "reboot": (169, 142), "kexec_load": (246, 104), "kexec_file_load": (320, 294),
    "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "swapon": (167, 224), "swapoff": (168, 225), "quotactl": (179, 60), "quotactl_fd": (443, 443),
    "acct": (163, 89), "settimeofday": (164, 170), "clock_settime": (227, 112),
    "clock_adjtime": (305, 266), "adjtimex": (159, 171), "sethostname": (170, 161),
    "setdomainname": (171, 162), "iopl": (172, None), "ioperm": (173, None), "syslog": (103, 116),
    "vhangup": (153, 58),
}

PROCESS_CALLS = ("fork", "vfork", "execve", "execveat")
SIGNAL_CALLS = ("tkill", "pidfd_open", "pidfd_send_signal", "pidfd_getfd")
PEEKING_CALLS = ("ptrace", "process_vm_readv", "process_vm_writev", "kcmp")
METADATA_CALLS = ("chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
                  "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
                  "setxattrat", "removexattrat", "utime", "utimes", "utimensat", "futimesat")
SYSTEM_CALLS = ("mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "open_tree",
                "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "open_tree_attr",
                "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
                "io_uring_setup", "io_uring_enter", "io_uring_register", "name_to_handle_at",
                "open_by_handle_at", "reboot", "kexec_load", "kexec_file_load", "init_module",
                "finit_module", "delete_module", "swapon", "swapoff", "quotactl", "quotactl_fd", "acct",
                "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
                "setdomainname", "iopl", "ioperm", "syslog", "vhangup")

_CLONE_THREAD = 0x00010000
_AF_UNIX = 1

# Classic BPF opcodes (<linux/filter.h>) and seccomp return values (<linux/seccomp.h>).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_OFFSET_NR = 0
_OFFSET_ARCH = 4
_OFFSET_ARGS = 16  # u64 args[6]; little-endian on both architectures, so the low half comes first

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

Instruction = tuple[int, int, int, int]  # code, jump if true, jump if false, k


@dataclass(frozen=True)
class FilterResult:
    """Whether the filter is in force, and the sentence the protections report shows."""

    installed: bool
    detail: str


def _deny(code: int = errno.EPERM) -> Instruction:
    return (_RET_K, 0, 0, _RET_ERRNO | code)


def _allow() -> Instruction:
    return (_RET_K, 0, 0, _RET_ALLOW)


def _load(offset: int) -> Instruction:
    return (_LD_W_ABS, 0, 0, offset)


def _refuse(number: int, code: int = errno.EPERM) -> list[Instruction]:
    return [(_JEQ_K, 0, 1, number), _deny(code)]


def _allow_if_argument(number: int, index: int, values: tuple[int, ...]) -> list[Instruction]:
    """Allow the call only when argument `index` is one of `values` (all 32-bit, upper half zero)."""
    count = len(values)
    body: list[Instruction] = [_load(_OFFSET_ARGS + 8 * index + 4), (_JEQ_K, 0, count + 1, 0),
                               _load(_OFFSET_ARGS + 8 * index)]
    body += [(_JEQ_K, count - i, 0, value & 0xFFFFFFFF) for i, value in enumerate(values)]
    body += [_deny(), _allow()]
    return [(_JEQ_K, 0, len(body), number), *body]


def _threads_only(number: int) -> list[Instruction]:
    """clone is how threads start too: allow it only with CLONE_THREAD (a thread shares this process)."""
    return [(_JEQ_K, 0, 4, number), _load(_OFFSET_ARGS), (_JSET_K, 0, 1, _CLONE_THREAD), _allow(), _deny()]


def build_program(machine: str, own_pid: int, *, block_processes: bool = True, block_sockets: bool = True,
                  block_metadata: bool = True) -> list[Instruction]:
    """The filter for `machine` (as `platform.machine()` names it). Raises KeyError for an unknown one.

    The three switches exist so a sandbox configured to rely on the guard alone for an aspect (which the
    tests use to show the guard's limits honestly) is not quietly stricter than it says.
    """
    arch = _AUDIT_ARCH[machine]
    column = 0 if machine == "x86_64" else 1

    def number(name: str) -> int | None:
        return _SYSCALLS[name][column]

    program: list[Instruction] = [_load(_OFFSET_ARCH), (_JEQ_K, 1, 0, arch), _deny(), _load(_OFFSET_NR)]
    if machine == "x86_64":
        program += [(_JGE_K, 0, 1, _X32_SYSCALL_BIT), _deny()]
    refused = [*PEEKING_CALLS, *SYSTEM_CALLS]
    if block_metadata:
        refused += METADATA_CALLS
    if block_sockets:
        refused.append("socket")
    if block_processes:
        refused += [*PROCESS_CALLS, *SIGNAL_CALLS]
        program += _threads_only(_known(number("clone")))
        program += _refuse(_known(number("clone3")), errno.ENOSYS)
        program += _allow_if_argument(_known(number("kill")), 0, (own_pid, 0))
        for name in ("tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
            program += _allow_if_argument(_known(number(name)), 0, (own_pid,))
    if block_sockets:
        program += _allow_if_argument(_known(number("socketpair")), 0, (_AF_UNIX,))
    for name in refused:
        syscall = number(name)
        if syscall is not None:
            program += _refuse(syscall)
    program.append(_allow())
    return program


def _known(value: int | None) -> int:
    assert value is not None, "every architecture in the table has this call"
    return value


def install_filter(own_pid: int, *, block_processes: bool = True, block_sockets: bool = True,
                   block_metadata: bool = True) -> FilterResult:
    """Install the filter on this process (and every thread it starts later). Never raises."""
    if not sys.platform.startswith("linux"):
        return FilterResult(False, "seccomp exists only on Linux")
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if machine not in _AUDIT_ARCH:
        return FilterResult(False, f"the system-call filter knows no {machine} numbers")
    program = build_program(machine, own_pid, block_processes=block_processes, block_sockets=block_sockets,
                            block_metadata=block_metadata)
    code = b"".join(struct.pack("=HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(code, len(code))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program), ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    # Without no_new_privs an unprivileged process may not install a filter (Landlock set it already).
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return FilterResult(False, f"setting no_new_privs failed ({os.strerror(ctypes.get_errno())})")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        return FilterResult(False, f"the kernel refused the seccomp filter "
                                   f"({os.strerror(ctypes.get_errno())})")
    return FilterResult(True, f"seccomp filter of {len(program)} instructions")
