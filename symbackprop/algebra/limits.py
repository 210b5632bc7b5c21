"""Bounds on a computation that user input can make arbitrarily long: ``time_limit(seconds)``."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


@contextmanager
def time_limit(seconds: float):
    """Raise ``TimeoutError`` in the block after ``seconds`` (one alarm, so that it can never
    fire again once the block is left). Works in the main thread on POSIX; elsewhere, or inside
    another limit, there is no limit.

    >>> with time_limit(1.0):
    ...     sum(range(10))
    45
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
