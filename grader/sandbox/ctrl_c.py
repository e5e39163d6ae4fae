"""Ctrl-C while the grader waits on a worker: raised where it is safe, never lost.

Python raises `KeyboardInterrupt` at whatever bytecode runs when SIGINT arrives. If that is a
finaliser or a weakref callback (the garbage collector runs them at any allocation), Python
prints "Exception ignored in ..." and carries on, so a long training run would ignore the key.
Inside `deferred_ctrl_c()` the signal only records that it came; `Worker.request` checks the
record every poll (50 ms) and raises `KeyboardInterrupt` there, and leaving the block raises it
if nothing did before.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

_pressed = False


def _record(signum: int, frame: object) -> None:
    global _pressed
    _pressed = True


def raise_if_pressed() -> None:
    """Raise `KeyboardInterrupt` if Ctrl-C came since the last check (inside `deferred_ctrl_c`)."""
    global _pressed
    if _pressed:
        _pressed = False
        raise KeyboardInterrupt


@contextmanager
def deferred_ctrl_c() -> Iterator[None]:
    """Within the block, SIGINT raises `KeyboardInterrupt` only at `raise_if_pressed()` or at exit.

    Outside the main thread (where signal handlers cannot be set), or where SIGINT is ignored
    (a background job), it changes nothing.
    """
    global _pressed
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is signal.SIG_IGN):
        yield
        return
    _pressed = False
    previous = signal.signal(signal.SIGINT, _record)
    try:
        yield
    except BaseException:
        _pressed = False  # the block ends anyway; a late Ctrl-C must not surface in a later one
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    raise_if_pressed()
