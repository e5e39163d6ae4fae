"""What one test's worker costs the kernel: a fork of a process that holds torch, a little work
in the child, its exit. Three ways, side by side in one run, each in a fresh Python:

- 4 KiB pages: the default;
- malloc in huge pages: `GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, as every sandbox process starts
  (see `grader.sandbox.mother.worker_environment`);
- heap collapsed: the same, then `prefork.collapse_heap()`, as a batch mother does while idle.

Each imports and warms up as a zygote does (`prefork`), then forks `--forks` children; a child
imports `solutions/basics.py` and calls two of its functions 20 times, then exits. Medians.

    python benchmarks/fork_cost.py [--forks 40]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import gc, importlib.util, json, os, statistics, sys, time
from grader import paths
from grader.sandbox import prefork
prefork.import_shared()
prefork.warm_up(optimizers=False)
if {collapse}:
    prefork.collapse_heap()
import torch
gc.freeze()

def work(done):
    spec = importlib.util.spec_from_file_location("basics", paths.SOLUTIONS_DIR / "basics.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x = torch.linspace(-1, 1, 100)
    for _ in range(20):
        module.relu(x), module.sigmoid(x)
    os.write(done, b"1")
    os._exit(0)

fork, run, exit = [], [], []
for _ in range({forks}):
    read, write = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        work(write)
    forked = time.perf_counter()
    os.read(read, 1)
    worked = time.perf_counter()
    os.waitpid(pid, 0)
    ended = time.perf_counter()
    os.close(read), os.close(write)
    fork.append(forked - started), run.append(worked - forked), exit.append(ended - worked)
fields = dict(line.split(":") for line in open("/proc/self/smaps_rollup").read().splitlines()[1:])
print(json.dumps({{"fork": statistics.median(fork), "run": statistics.median(run), "exit": statistics.median(exit),
                  "anonymous": int(fields["Anonymous"].split()[0]) / 1024,
                  "huge": int(fields["AnonHugePages"].split()[0]) / 1024}}))
"""

WAYS = {"4 KiB pages": ({}, False),
        "malloc in huge pages": ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}, False),
        "heap collapsed": ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}, True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forks", type=int, default=40)
    forks = parser.parse_args().forks
    print(f"{forks} forks each; medians in ms; anonymous memory of the parent in MiB (in huge pages)")
    for name, (env, collapse) in WAYS.items():
        result = subprocess.run([sys.executable, "-c", CHILD.format(collapse=collapse, forks=forks)],
                                env={**os.environ, **env}, capture_output=True, text=True, check=True)
        r = json.loads(result.stdout)
        ms = {key: r[key] * 1e3 for key in ("fork", "run", "exit")}
        print(f"{name:>21}: fork {ms['fork']:5.2f}   child's work {ms['run']:5.2f}   exit {ms['exit']:5.2f}"
              f"   total {sum(ms.values()):5.2f}   anonymous {r['anonymous']:4.0f} ({r['huge']:.0f})")


if __name__ == "__main__":
    main()
