"""What the sandbox costs: `bootcamp check conv_shapes basics` on the solutions, sandboxed and not.

Both runs use the same suites, the same inputs and the same pytest process set-up; the only
difference is where the student's (here: the reference's) code runs: in forked, isolated workers,
or imported into the grading process (`--in-process`, unsafe, benchmarks only). Each variant runs
`--repeats` times, alternating, and the medians are compared.

    python benchmarks/sandbox_overhead.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from grader import paths
from grader.check import run_suites

PRACTICES = ["basics", "conv_shapes"]


def one_run(in_process: bool) -> tuple[float, int, float]:
    started = time.perf_counter()
    report = run_suites(paths.SOLUTIONS_DIR, PRACTICES, in_process=in_process)
    seconds = time.perf_counter() - started
    tests = sum(len(t.tests) for p in report.practices for t in p.tasks)
    assert report.all_passed, "the solutions must pass for the comparison to mean anything"
    return seconds, tests, report.points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    one_run(True)  # warm the trusted process (imports, reference modules)
    times = {"sandboxed": [], "in-process": []}
    for _ in range(repeats):
        for name, in_process in (("sandboxed", False), ("in-process", True)):
            seconds, tests, _ = one_run(in_process)
            times[name].append(seconds)
    sandboxed, in_process = statistics.median(times["sandboxed"]), statistics.median(times["in-process"])
    print(f"tests: {tests} ({', '.join(PRACTICES)}), repeats: {repeats}")
    for name, values in times.items():
        print(f"{name:>11}: median {statistics.median(values):.2f} s  (runs: {', '.join(f'{v:.2f}' for v in values)})")
    print(f"ratio sandboxed / in-process: {sandboxed / in_process:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
