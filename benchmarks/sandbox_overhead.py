"""What the sandbox costs: `bootcamp check basics conv_shapes` on the solutions, sandboxed and not.

Both variants run the same suites with the same inputs through the same function
(`grader.check.run_suites`); the only difference is where the student's (here: the reference's)
code runs: in isolated worker processes forked from a zygote, or imported into the grading
process (`in_process=True`, unsafe, for this comparison only). Two measures:

- whole command: a fresh Python process per run, from start to exit, as a student waits for
  `bootcamp check` (which starts the sandbox's mother first thing, so that it imports torch
  while the grader starts up, and forks the submission's zygote from it);
- suites only: the run inside an already started process.

Variants alternate, `--repeats` times each; medians are compared.

    python benchmarks/sandbox_overhead.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

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


def one_run(in_process: bool) -> tuple[float, float, int]:
    """(whole-process seconds, suites-only seconds, number of tests)."""
    started = time.perf_counter()
    prelude = "" if in_process else MOTHER_FIRST
    result = subprocess.run([sys.executable, "-c", RUN.format(practices=PRACTICES, in_process=in_process,
                                                              prelude=prelude)],
                            capture_output=True, text=True, check=True)
    whole = time.perf_counter() - started
    suites, tests = result.stdout.split()
    return whole, float(suites), int(tests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    one_run(True)  # warm the file cache
    runs: dict[str, list[tuple[float, float]]] = {"sandboxed": [], "in-process": []}
    for _ in range(repeats):
        for name, in_process in (("sandboxed", False), ("in-process", True)):
            whole, suites, tests = one_run(in_process)
            runs[name].append((whole, suites))
    print(f"{tests} tests ({', '.join(PRACTICES)}) on solutions/, {repeats} runs each, medians in seconds")
    medians = {}
    for name, values in runs.items():
        medians[name] = (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))
        print(f"{name:>11}: whole command {medians[name][0]:6.2f}   suites only {medians[name][1]:6.2f}")
    print(f"ratio sandboxed / in-process: whole command {medians['sandboxed'][0] / medians['in-process'][0]:.2f}, "
          f"suites only {medians['sandboxed'][1] / medians['in-process'][1]:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
