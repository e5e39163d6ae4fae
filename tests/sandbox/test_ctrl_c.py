"""Ctrl-C during a sandboxed run is deferred to the grader's wait loop, and never lost."""

import os
import signal
import weakref

import pytest

from grader.sandbox.ctrl_c import deferred_ctrl_c, raise_if_pressed


@pytest.fixture(autouse=True)
def ctrl_c_raises():
    """Python's own handler, as in a terminal (a background job starts with SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_the_signal_is_recorded_and_raised_at_the_check():
    reached = False
    with pytest.raises(KeyboardInterrupt):
        with deferred_ctrl_c():
            os.kill(os.getpid(), signal.SIGINT)
            reached = True  # without the deferral, KeyboardInterrupt would have come before this line
            raise_if_pressed()
            pytest.fail("raise_if_pressed() should have raised")
    assert reached


def test_a_signal_during_a_weakref_callback_is_not_lost():
    class Thing:
        pass

    def callback(reference):
        os.kill(os.getpid(), signal.SIGINT)  # Python would print and ignore a KeyboardInterrupt here

    with pytest.raises(KeyboardInterrupt):
        with deferred_ctrl_c():
            thing = Thing()
            reference = weakref.ref(thing, callback)
            del thing
            assert reference() is None
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_a_signal_nothing_is_raised_and_the_handler_is_restored():
    with deferred_ctrl_c():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        raise_if_pressed()
    raise_if_pressed()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_signal_stays_ignored():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with deferred_ctrl_c():
        os.kill(os.getpid(), signal.SIGINT)
        raise_if_pressed()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_signal_in_a_block_that_fails_does_not_reach_the_next_block():
    with pytest.raises(ValueError):
        with deferred_ctrl_c():
            os.kill(os.getpid(), signal.SIGINT)
            raise ValueError("the block failed before any check")
    raise_if_pressed()  # nothing pending for the grader's next wait (Worker.request checks it always)
