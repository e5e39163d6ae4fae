"""Batch grading throughput, and what grading a submission costs beyond the tests' own compute.

A class of `--count` submissions (default 24) is built from solutions/ and assignments/: complete,
partial (two functions wrong), skeletons, and broken (a syntax error). Then:

1. throughput: `grade()` over the whole class with 1 worker, then with 2 (fresh gradebooks);
2. per-submission cost, on a sample with one submission of each kind, each graded alone in this
   process, one after another:
   - in-process: `run_suites(..., in_process=True)`, the same tests with the student's code
     imported here, no sandbox (unsafe: benchmarks only);
   - sandboxed: `run_suites(...)`, the tests through the sandbox (zygote, a forked worker per test),
     with the submission's zygote started on its own (a fresh Python) and forked by a warm
     mother (as grading hosts and the `bootcamp` command do);
   - batch: the 1-worker batch's wall time per submission (a child forked per submission, the job
     folder, the result file, the gradebook transaction).
   sandbox overhead = sandboxed - in-process; batch overhead = batch - sandboxed (from a mother).

    python benchmarks/grading_throughput.py [--count 24] [--practice basics] [--select EXPR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from grader import paths
from grader.check import run_suites
from grader.gradebook.grade import Options, grade
from grader.sandbox.mother import Mother, use_mother

KINDS = ("complete", "partial", "skeleton", "broken")


def source(practice: str, kind: str) -> str:
    solution = (paths.SOLUTIONS_DIR / f"{practice}.py").read_text()
    if kind == "complete":
        return solution
    if kind == "skeleton":
        return (paths.ASSIGNMENTS_DIR / f"{practice}.py").read_text()
    if kind == "broken":
        return solution + "\n\ndef broken(:\n    pass\n"
    wrong = {"basics": "def relu(x):\n    return x * 1.0\n\n"
                       "def mse_loss(a, b, reduction='mean'):\n    return a.sum()\n",
             "conv_shapes": "def conv_output_size(*args, **kwargs):\n    return 1\n"}
    return solution + "\n\n" + wrong.get(practice, "")


def build_class(folder: Path, practices: list[str], count: int) -> dict[str, str]:
    """student -> kind; kinds cycle 10:7:4:3 out of 24, as a class might."""
    weights = [("complete", 10), ("partial", 7), ("skeleton", 4), ("broken", 3)]
    cycle = [kind for kind, n in weights for _ in range(n)]
    students = {}
    for index in range(count):
        kind = cycle[index * 5 % len(cycle)]  # 5 is prime to 24: the kinds interleave
        student = f"student{index:03d}"
        (folder / student).mkdir(parents=True)
        for practice in practices:
            (folder / student / f"{practice}.py").write_text(source(practice, kind))
        students[student] = kind
    return students


def machine_busy_seconds() -> float:
    """CPU seconds all processes on this machine have used since boot (/proc/stat).

    Not this process's children: the sandbox's zygotes and workers are children of the grading
    hosts' mothers, which no one waits for, so `getrusage(RUSAGE_CHILDREN)` never sees them.
    """
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def batch(folder: Path, out: Path, practices: list[str], workers: int,
          select: str | None) -> tuple[float, float, float]:
    """Wall seconds, the machine's busy cores during the run, and the load average at the end."""
    busy, started = machine_busy_seconds(), time.perf_counter()
    summary = grade(folder, out, Options(practices=practices, workers=workers, select=select))
    seconds = time.perf_counter() - started
    assert summary.graded == summary.students, (summary.errors, summary.rejected)
    return seconds, (machine_busy_seconds() - busy) / seconds, os.getloadavg()[0]


def per_submission(folder: Path, students: dict[str, str], practices: list[str], select: str | None,
                   repeats: int) -> dict:
    """Seconds per sample submission (the fastest of `repeats`), in-process and sandboxed."""
    sample = [next(s for s, k in students.items() if k == kind) for kind in KINDS if kind in students.values()]
    run_suites(folder / sample[0], practices, in_process=True, select=select)  # warm this process
    mother = Mother(batch=True)  # as a grading host's
    times: dict[str, list[float]] = {"in-process": [], "sandboxed": [], "sandboxed, from a mother": []}
    try:
        for student in sample:
            for name in times:
                use_mother(mother if name.endswith("mother") else None)
                runs = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    run_suites(folder / student, practices, in_process=name == "in-process", select=select)
                    runs.append(time.perf_counter() - started)
                times[name].append(min(runs))
    finally:
        use_mother(None)
        mother.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--practice", action="append", dest="practices")
    parser.add_argument("--select", help="a pytest -k expression (default: every test)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="runs of each measurement, alternating; the fastest counts (others share the machine)")
    arguments = parser.parse_args()
    practices = arguments.practices or ["basics"]
    count = arguments.count
    walls: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="bootcamp-bench-") as scratch:
        folder = Path(scratch) / "submissions"
        students = build_class(folder, practices, count)
        print(f"class: {count} submissions ({', '.join(f'{k}: {list(students.values()).count(k)}' for k in KINDS)}), "
              f"practices: {', '.join(practices)}, tests: {arguments.select or 'all'}, cores: {os.cpu_count()}")
        for repeat in range(arguments.repeats):
            for workers in (1, 2):
                load = os.getloadavg()[0]
                wall, busy, load_after = batch(folder, Path(scratch) / f"run-{repeat}-{workers}", practices,
                                               workers, arguments.select)
                walls[workers].append(wall)
                print(f"{workers} worker(s): {wall:7.1f} s  ({count / wall * 60:5.1f} submissions/min)  "
                      f"machine's cores busy {busy:.2f} of {os.cpu_count()}, "
                      f"load average {load:.2f} -> {load_after:.2f}",
                      flush=True)
        times = per_submission(folder, students, practices, arguments.select, arguments.repeats)
    one, two = min(walls[1]), min(walls[2])
    print(f"fastest: 1 worker {one:.1f} s, 2 workers {two:.1f} s; speed-up {one / two:.2f}x (goal >= 1.7)")
    in_process, alone, warm = (statistics.mean(times[name]) for name in times)
    per_batch = one / count
    print(f"per submission (sample of {len(times['sandboxed'])}, one of each kind, graded alone):")
    print(f"  in-process run_suites                  {in_process:6.2f} s")
    print(f"  sandboxed run_suites, zygote alone     {alone:6.2f} s   sandbox overhead {alone - in_process:+.2f} s")
    print(f"  sandboxed run_suites, zygote of mother {warm:6.2f} s   sandbox overhead {warm - in_process:+.2f} s")
    print(f"  batch, 1 worker                        {per_batch:6.2f} s   batch overhead   {per_batch - warm:+.2f} s")
    print(f"  total overhead beyond the tests' own compute: {per_batch - in_process:+.2f} s (goal <= 2 s)")


if __name__ == "__main__":
    main()
