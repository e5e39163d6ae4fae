"""One torch intra-op thread for a block of small tensor work, restoring the count after."""

from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Small tensors gain nothing from torch's thread pool, and on a shared or busy CPU it stalls
    (seen: 1 s for a few hundred tiny matmuls with two threads on two loaded cores). One thread,
    as in the sandbox's workers, also gives the same arithmetic on every machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
