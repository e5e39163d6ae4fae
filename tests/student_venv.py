"""A fresh virtual environment for an edition of the course, reusing this interpreter's installed packages.

`make_venv` creates a venv without pip, and points it at this interpreter's own site-packages
with a `.pth` line: torch and the other dependencies are found there without installing them
again, while the `.pth` files of those folders (the editable install of this checkout, for one)
are not run, so the venv sees no `grader` but the one installed into it. `install` then puts an
edition into it with this pip (`--no-deps --no-build-isolation`, seconds).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path


def make_venv(folder: Path) -> Path:
    """A venv in `folder`; returns its `bin/` folder."""
    subprocess.run([sys.base_prefix + "/bin/python3", "-m", "venv", "--without-pip", str(folder)], check=True)
    lib = next((folder / "lib").glob("python3*")) / "site-packages"
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    own = [sysconfig.get_path(kind) for kind in ("purelib", "platlib")]  # this venv's, where torch is
    packages = dict.fromkeys(own + [sysconfig.get_path(kind, vars=base) for kind in ("purelib", "platlib")])
    (lib / "_base_packages.pth").write_text("\n".join(packages) + "\n")
    return folder / "bin"


def install(bin_dir: Path, project: Path) -> None:
    """`pip install -e project` into the venv, without dependencies (they come from the .pth)."""
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "-e", str(project)], check=True, env=bare_env(bin_dir))


def bare_env(bin_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """An environment without this venv or the base interpreter's scripts on PATH."""
    path = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if Path(p).is_dir())
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8", "COLUMNS": "200",
           "BOOTCAMP_CACHE": os.environ.get("BOOTCAMP_CACHE", str(Path.home() / ".cache" / "bootcamp"))}
    env.update(extra)
    return env
