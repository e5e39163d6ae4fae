"""What a student's install costs: the size of the virtual environment and the time pip takes.

    python benchmarks/install_size.py student [--torch ARGS]   # a fresh venv: torch for the CPU, then `pip install -e .`
    python benchmarks/install_size.py measure VENV [VENV ...]   # the size of venvs that exist (the README's full install)

`measure` also splits a venv's distributions (each the sum of the files its RECORD lists) into
CUDA (nvidia-*, triton, cuda-*), what a student's install lacks beyond that (not needed by this
checkout's `[project] dependencies`), and the rest.

`student` creates a new venv in a temporary folder and runs, timing each, the student's install:

    VENV/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch   (--torch changes these arguments)
    VENV/bin/pip install -e <this checkout>                                       (the dependencies a student needs)

then checks that `bootcamp list basics` and `bootcamp check basics` (on the reference, its relu tests)
run there, prints the size and the biggest folders of site-packages, and removes the venv (unless --keep).
Sizes are the sum of the files' sizes (`apparent`) and what they hold on disk (`on disk`, from
st_blocks), in MB of 10^6 bytes. The times include downloads: they depend on the network and on
pip's cache, so say where they were measured.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CPU_TORCH = "--index-url https://download.pytorch.org/whl/cpu torch"


def sizes(folder: Path) -> tuple[int, int]:
    """(apparent bytes, bytes on disk) of every file under `folder`, each file counted once."""
    apparent = on_disk = 0
    seen: set[tuple[int, int]] = set()
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            stat = os.lstat(os.path.join(dirpath, name))
            if (stat.st_dev, stat.st_ino) in seen:
                continue
            seen.add((stat.st_dev, stat.st_ino))
            apparent += stat.st_size
            on_disk += stat.st_blocks * 512
    return apparent, on_disk


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def report(venv: Path, top: int = 8) -> None:
    apparent, on_disk = sizes(venv)
    print(f"{venv}: {apparent / 1e6:,.0f} MB apparent, {on_disk / 1e6:,.0f} MB on disk")
    site = site_packages(venv)
    folders = sorted(((sizes(p)[0] if p.is_dir() else p.stat().st_size, p.name) for p in site.iterdir()), reverse=True)
    print("  biggest in site-packages: " + ", ".join(f"{name} {size / 1e6:,.0f} MB" for size, name in folders[:top]))
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True).stdout.split()
    torch = next((line for line in listed if line.startswith("torch==")), "no torch")
    wanted = ("nbgrader", "dask", "jupyterlab", "torchvision", "nvidia-")
    print(f"  {len(listed)} distributions; {torch}; "
          f"{', '.join(sorted(line for line in listed if line.startswith(wanted))) or 'none of nbgrader, dask, jupyterlab, torchvision, nvidia-*'}")
    for group, (count, size) in sorted(by_group(venv).items()):
        print(f"  {group}: {count} distributions, {size / 1e6:,.0f} MB")


def by_group(venv: Path) -> dict[str, tuple[int, int]]:
    """group -> (distributions, apparent bytes): CUDA, beyond a student's install, a student's install."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        from pip._vendor.packaging.requirements import Requirement
    site = site_packages(venv)
    dists = {_canonical(d.metadata["Name"]): d for d in importlib.metadata.distributions(path=[str(site)])}
    pyproject = (ROOT / "pyproject.toml").read_text()
    block = pyproject[pyproject.index("dependencies = ["):]
    todo = re.findall(r'^\s*"([^"]+)",', block[:block.index("]")], re.M)
    student: set[str] = set()
    while todo:
        requirement = Requirement(todo.pop())
        name = _canonical(requirement.name)
        if name in student or name not in dists or \
                (requirement.marker is not None and not requirement.marker.evaluate({"extra": ""})):
            continue
        student.add(name)
        todo += dists[name].requires or []
    groups: dict[str, list[int]] = {}
    for name, dist in dists.items():
        size = sum((site / f.as_posix()).stat().st_size for f in dist.files or []
                   if (site / f.as_posix()).is_file())
        group = ("CUDA (nvidia-*, triton, cuda-*)" if name.startswith(("nvidia-", "triton", "cuda-"))
                 else "a student's install" if name in student else "beyond a student's install")
        groups.setdefault(group, [0, 0])
        groups[group][0] += 1
        groups[group][1] += size
    return {k: (v[0], v[1]) for k, v in groups.items()}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def timed(command: list[str], **kwargs) -> float:
    print("$ " + " ".join(shlex.quote(part) for part in command), flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True, **kwargs)
    seconds = time.perf_counter() - started
    print(f"  {seconds:.1f} s", flush=True)
    return seconds


def student(torch_args: str, keep: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="student-install-"))
    venv = folder / ".venv"
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    steps = {"venv": timed([sys.executable, "-m", "venv", str(venv)]),
             "torch": timed(pip + shlex.split(torch_args)),
             "course": timed(pip + ["-e", str(ROOT)])}
    print(f"install: {sum(steps.values()):.1f} s in all (" + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()) + ")")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    listed = subprocess.run([str(venv / "bin" / "bootcamp"), "list", "basics"], capture_output=True, text=True,
                            env=env, cwd=folder)
    checked = subprocess.run([str(venv / "bin" / "bootcamp"), "check", "basics", "--path", str(ROOT / "solutions"),
                              "-k", "relu"], capture_output=True, text=True, env=env, cwd=folder)
    print(f"bootcamp list: exit {listed.returncode}; bootcamp check basics -k relu on the reference: "
          f"exit {checked.returncode}")
    if listed.returncode or checked.returncode:
        print((listed.stderr + checked.stdout + checked.stderr)[-2000:])
    report(venv)
    if keep:
        print(f"kept {venv}")
    else:
        subprocess.run(["rm", "-rf", str(folder)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fresh = commands.add_parser("student", help="time and size a student's install in a fresh venv")
    fresh.add_argument("--torch", default=CPU_TORCH, help=f"pip's arguments for torch (default: {CPU_TORCH!r})")
    fresh.add_argument("--keep", action="store_true", help="keep the venv")
    existing = commands.add_parser("measure", help="the size of existing venvs")
    existing.add_argument("venvs", nargs="+", type=Path)
    args = parser.parse_args()
    if args.command == "student":
        student(args.torch, args.keep)
    else:
        for venv in args.venvs:
            report(venv)


if __name__ == "__main__":
    main()
