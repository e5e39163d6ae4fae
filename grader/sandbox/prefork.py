"""What a process that forks workers does first, so that every fork inherits it instead of paying.

The mother and each zygote (see `zygote`) import torch and the grader's trusted operations once
and run common layers forward and backward once; a batch mother, when it has nothing else to do,
also moves its heap into huge pages:

    import_shared()                  # numpy, torch, the trusted operations: about a second
    warm_up(optimizers=False)        # kernels, autograd's engine: about 0.3 s
    warm_up(optimizers=True)         # and the first optimizer steps: about 0.6 s more
    collapse_heap()                  # 2 MiB pages for the anonymous memory: about 0.8 s

Why huge pages: a process that holds torch has about 370 MiB of anonymous memory (the Python
objects of torch's modules, the C++ operator tables). A fork copies one page-table entry for each
4 KiB page of it, and an exit drops them one by one: on the reference machine about 4 ms and 5 ms
of kernel time for every test's worker. The sandbox's processes start with glibc's malloc asking
for huge pages (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, see `mother.worker_environment`), which
covers about a third of it for free (fork 2.8 ms, exit 3.4 ms); `collapse_heap` covers the rest
(fork 1.5 ms, exit 1-2 ms) but takes about 0.8 s, which only a mother that forks zygote after
zygote earns back. A worker that writes to a shared huge page gets a 4 KiB copy, as before. Where
the kernel gives this process no transparent huge pages (`never`, Linux before 6.1, not Linux),
nothing changes. The numbers: `benchmarks/README.md`, "Sandbox overhead".
"""

from __future__ import annotations

import ctypes
import importlib
import sys

# The grader's trusted operations on models (`grader.operations`), imported by name: the sandbox
# runs them but depends on nothing above itself.
PRELOADED = ("grader.operations",)

_MADV_HUGEPAGE = 14
_MADV_COLLAPSE = 25  # Linux 6.1: make huge pages of what is already there, now
_HUGE_PAGE = 2 << 20


def import_shared() -> None:
    """What every worker needs, imported once before forking."""
    import numpy  # noqa: F401
    import torch
    import torch.nn.functional  # noqa: F401

    from grader.sandbox import ops, worker  # noqa: F401
    for name in PRELOADED:
        importlib.import_module(name)

    torch.set_num_threads(1)  # no thread pool before fork; each worker sets its own count


def warm_up(*, optimizers: bool) -> None:
    """Run common layers forward and backward once (and, if asked, each optimizer), before forking.

    First calls initialise kernels, autograd's engine and caches; done once here, every forked
    worker inherits them instead of paying in every test. The first optimizer in a process costs
    most (it imports much of torch, about a second), so that part runs only for practices that
    train models (`warm` in their fork requests), or in a mother with nothing else to do.
    Single-threaded: no thread pool exists to be broken by fork.
    """
    import torch

    torch.cuda.device_count()  # probes the driver without creating a context: fork-safe, cached
    import torch.fx.experimental.symbolic_shapes  # noqa: F401  (autograd.grad with grad_outputs needs it)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.ConvTranspose2d(2, 2, 4, 2, 1), nn.Dropout(0.5), nn.Flatten(), nn.Linear(32, 3))
    steps = ((torch.optim.SGD(model.parameters(), lr=0.1), torch.optim.Adam(model.parameters())) if optimizers
             else (None,))
    for optimizer in steps:
        model.zero_grad()
        logits = model(torch.randn(2, 1, 4, 4, dtype=torch.float32))  # (2, 3)
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1]))
        (loss + torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.ones(2, 3))).backward()
        if optimizer is not None:
            optimizer.step()
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    torch.autograd.grad(x * x, x, torch.ones(3, dtype=torch.float64))


def collapse_heap() -> int:
    """Back this process's anonymous memory with 2 MiB pages where the kernel allows; returns how
    many bytes were asked for (the kernel may refuse some: memory is fragmented, THP is off)."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    asked = 0
    for start, end in _anonymous_regions():
        start = -(-start // _HUGE_PAGE) * _HUGE_PAGE  # whole huge pages inside the region only
        end = end // _HUGE_PAGE * _HUGE_PAGE
        if end > start:
            libc.madvise(start, end - start, _MADV_HUGEPAGE)  # allowed under THP "madvise" too
            libc.madvise(start, end - start, _MADV_COLLAPSE)
            asked += end - start
    return asked


def _anonymous_regions() -> list[tuple[int, int]]:
    """(start, end) of each private writable mapping without a file: the heap and mmap'd memory."""
    with open("/proc/self/maps") as maps:
        lines = maps.read().splitlines()
    regions = []
    for line in lines:
        fields = line.split()
        if fields[1].startswith("rw") and fields[1].endswith("p") and (len(fields) < 6 or fields[5] == "[heap]"):
            start, end = (int(address, 16) for address in fields[0].split("-"))
            regions.append((start, end))
    return regions
