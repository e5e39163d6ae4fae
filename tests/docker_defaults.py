"""Run a command the way a container with Docker's defaults runs it: no namespaces, Docker's capabilities.

    python tests/docker_defaults.py [--reachable PATH]... COMMAND [ARG]...      (as root)

As Docker's default seccomp profile and capability list do, and as Gradescope, most CI
containers and Kubernetes pods run the grader:

- the capability bounding set is cut to Docker's default list (`DOCKER_CAPABILITIES`), so the
  command, root, has those and no others after its exec;
- `PR_SET_NO_NEW_PRIVS`, then a seccomp filter (a classic BPF program, installed with
  `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)`) that checks the audit architecture (a call from
  another ABI kills the process) and answers `unshare`, `setns`, `mount`, `umount2`,
  `pivot_root` and a `clone` with any `CLONE_NEW*` flag with EPERM, and `clone3` with ENOSYS
  (so that libc falls back to `clone`, whose flags the filter can read); any x32 call gets EPERM.

Then it execs COMMAND. The filter and the bounding set hold for every process it starts.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import sys

DOCKER_CAPABILITIES = {  # moby's defaults (oci/caps/defaults.go)
    "CHOWN": 0, "DAC_OVERRIDE": 1, "FOWNER": 3, "FSETID": 4, "KILL": 5, "SETGID": 6, "SETUID": 7, "SETPCAP": 8,
    "NET_BIND_SERVICE": 10, "NET_RAW": 13, "SYS_CHROOT": 18, "MKNOD": 27, "AUDIT_WRITE": 29, "SETFCAP": 31,
}
CLONE_NEW_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
# (audit architecture, system call numbers) per machine
ARCHITECTURES = {
    "x86_64": (0xC000003E, {"unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155,
                            "clone": 56, "clone3": 435}),
    "aarch64": (0xC00000B7, {"unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41,
                             "clone": 220, "clone3": 435}),
}
X32_BIT = 0x40000000

_PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 24, 38, 22, 2
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL_PROCESS, _ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (arg0's low 32 bits on little-endian)


def _statement(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def filter_program(machine: str | None = None) -> bytes:
    """The BPF program, as the bytes of its `struct sock_filter` array."""
    arch, numbers = ARCHITECTURES[machine or platform.machine()]
    eperm, enosys = _ERRNO | errno.EPERM, _ERRNO | errno.ENOSYS
    refused = [numbers[name] for name in ("unshare", "setns", "mount", "umount2", "pivot_root")]
    program = [_statement(_LD_W_ABS, _ARCH), _statement(_JEQ_K, arch, jt=1), _statement(_RET_K, _KILL_PROCESS),
               _statement(_LD_W_ABS, _NR)]
    if machine in (None, "x86_64") and platform.machine() == "x86_64":
        program += [_statement(_JGE_K, X32_BIT, jf=1), _statement(_RET_K, eperm)]
    for number in refused:
        program += [_statement(_JEQ_K, number, jf=1), _statement(_RET_K, eperm)]
    program += [_statement(_JEQ_K, numbers["clone3"], jf=1), _statement(_RET_K, enosys),
                _statement(_JEQ_K, numbers["clone"], jf=3), _statement(_LD_W_ABS, _ARG0),
                _statement(_JSET_K, CLONE_NEW_FLAGS, jf=1), _statement(_RET_K, eperm),
                _statement(_RET_K, _ALLOW)]
    return b"".join(program)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def enter() -> None:
    """Apply Docker's defaults to this process (root): bounding set, no new privileges, seccomp."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in range(64):
        if capability not in DOCKER_CAPABILITIES.values():
            libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    code = filter_program()
    buffer = ctypes.create_string_buffer(code, len(code))
    program = _SockFprog(len(code) // 8, ctypes.addressof(buffer))
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")


def main(arguments: list[str]) -> None:
    """[--reachable PATH]... COMMAND [ARG]...: each PATH made enterable by every user first
    (`reachable`, where the interpreter lies under a 0700 home), then Docker's defaults, then exec."""
    targets = []
    while arguments[:1] == ["--reachable"] and len(arguments) > 2:
        targets.append(arguments[1])
        arguments = arguments[2:]
    if not arguments:
        sys.exit("usage: docker_defaults.py [--reachable PATH]... COMMAND [ARG]...")
    if targets:
        import reachable

        reachable.enter(targets)
    enter()
    os.execvp(arguments[0], arguments)


if __name__ == "__main__":
    main(sys.argv[1:])
