"""What the sandbox costs: `bootcamp check basics conv_shapes` on the solutions, sandboxed and not.

Both variants run the same suites with the same inputs through the same function
(`grader.check.run_suites`); the only difference is where the student's (here: the reference's)
code runs: in isolated worker processes forked from a zygote, or imported into the grading
process (`in_process=True`, unsafe, for this comparison only). Two measures:

- whole command: a fresh Python process per run, from start to exit, as a student waits for
  `bootcamp check` (which starts the sandbox's mother first thing, so that it imports torch
  while the grader starts up, and forks the submission's zygote from it);
- suites only: the run inside an already started process.

Variants alternate, `--repeats` times each; medians are compared. With `--docker` (as root) a
third variant runs sandboxed under Docker's defaults (`tests/docker_defaults.py`: no namespaces,
so the sandbox of `grader.sandbox.by_user`), and all three run from a copy of the project
(`tests/docker_checkout.py`: the grader closes that copy's secret folders, never this one's).

    python benchmarks/sandbox_overhead.py [--repeats 5] [--docker]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRACTICES = ["basics", "conv_shapes"]
RUN = """
import sys, time
{prelude}
from grader import paths, plugin
plugin.FREEZE_AFTER_COLLECTION = True  # as `bootcamp` runs it (grader/launch.py)
from grader.check import run_suites
started = time.perf_counter()
report = run_suites(paths.SOLUTIONS_DIR, {practices!r}, in_process={in_process})
assert report.all_passed, "the solutions must pass for the comparison to mean anything"
print(time.perf_counter() - started, sum(len(t.tests) for p in report.practices for t in p.tasks))
import gc; gc.freeze()  # as `bootcamp` ends (grader/launch.py): no last collection of the whole heap
"""


# What the `bootcamp` command does first (grader/launch.py): the sandbox's mother imports torch
# while the grader imports its own.
MOTHER_FIRST = "from grader.sandbox.mother import Mother, use_mother; use_mother(Mother())"


TESTS = Path(__file__).resolve().parent.parent / "tests"


def one_run(in_process: bool, python: str = sys.executable, launcher: tuple[str, ...] = (),
            cwd: Path | None = None) -> tuple[float, float, int]:
    """(whole-process seconds, suites-only seconds, number of tests); `launcher`: what runs the
    Python (Docker's defaults)."""
    started = time.perf_counter()
    prelude = "" if in_process else MOTHER_FIRST
    result = subprocess.run([*launcher, python, "-c", RUN.format(practices=PRACTICES, in_process=in_process,
                                                                 prelude=prelude)],
                            capture_output=True, text=True, check=True, cwd=cwd)
    whole = time.perf_counter() - started
    suites, tests = result.stdout.split()
    return whole, float(suites), int(tests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--docker", action="store_true",
                        help="also sandboxed under Docker's defaults (as root), all from a copy of the project")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bootcamp-overhead-") as folder:
        python, cwd, docker = sys.executable, None, ()
        if options.docker:
            sys.path.insert(0, str(TESTS))
            import docker_checkout

            project = docker_checkout.make_checkout(Path(folder))
            python, cwd = docker_checkout.python_of(project), project
            docker = (sys.executable, str(TESTS / "docker_defaults.py"),
                      *(arg for path in (sys.prefix, sys.base_prefix, folder) for arg in ("--reachable", path)))
        variants = {"sandboxed": (False, ()), "in-process": (True, ())}
        if docker:
            variants["sandboxed, Docker's defaults"] = (False, docker)
        medians = measure(variants, options.repeats, python, cwd)
    base = medians["in-process"]
    for name in variants:
        if name != "in-process":
            print(f"ratio {name} / in-process: whole command {medians[name][0] / base[0]:.2f}, "
                  f"suites only {medians[name][1] / base[1]:.2f} (goal <= 1.5)")


def measure(variants: dict[str, tuple[bool, tuple[str, ...]]], repeats: int, python: str,
            cwd: Path | None) -> dict[str, tuple[float, float]]:
    """Each variant `repeats` times, alternating; print and return the medians."""
    one_run(True, python, cwd=cwd)  # warm the file cache
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, (in_process, launcher) in variants.items():
            whole, suites, tests = one_run(in_process, python, launcher, cwd)
            runs[name].append((whole, suites))
    print(f"{tests} tests ({', '.join(PRACTICES)}) on solutions/, {repeats} runs each, medians in seconds")
    medians = {}
    for name, values in runs.items():
        medians[name] = (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))
        print(f"{name:>28}: whole command {medians[name][0]:6.2f}   suites only {medians[name][1]:6.2f}")
    return medians


if __name__ == "__main__":
    main()
