"""Bounds on a computation that user input can make arbitrarily large: ``time_limit(seconds)``, and
``require_memory(bytes)`` before a build that cannot fit."""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager

# The deadlines (time.monotonic()) of the limits now entered, innermost last, and the process
# they belong to (a forked child inherits the list but not the timer: it starts afresh).
_deadlines: list[float] = []
_owner = [os.getpid()]
_previous_handler: list = []


REFIRE_SECONDS = 0.1  # a limit that has passed fires again this often until its block is left


def _expire(signum, frame):
    """The alarm: raise ``TimeoutError`` if a deadline has passed, and fire again shortly, for
    SymPy swallows exceptions in places (``except Exception``: ``sympy.solve`` went on for
    minutes and gigabytes after one alarm); else (an alarm that arrived as a block was being
    left) set the timer for the nearest deadline still standing."""
    if not _deadlines:
        return
    left = min(_deadlines) - time.monotonic()
    if left <= 1e-3:
        signal.setitimer(signal.ITIMER_REAL, REFIRE_SECONDS)
        raise TimeoutError("time limit reached")
    signal.setitimer(signal.ITIMER_REAL, left)


@contextmanager
def time_limit(seconds: float):
    """Raise ``TimeoutError`` in the block after ``seconds``. Limits nest: an inner block ends at
    its own limit or at the enclosing one, whichever comes first, and an enclosing limit that
    passed while inner code caught the ``TimeoutError`` fires again as soon as that code returns
    to it. Once the outermost block is left no alarm is pending. Works in the main thread on
    POSIX; elsewhere there is no limit.

    >>> with time_limit(1.0):
    ...     with time_limit(0.5):
    ...         sum(range(10))
    45
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return
    if _owner[0] != os.getpid():  # a forked child: the parent's limits are not ours
        _owner[0] = os.getpid()
        _deadlines.clear()
        _previous_handler.clear()
    outermost = not _deadlines
    if outermost:
        if signal.getitimer(signal.ITIMER_REAL)[0] > 0:  # someone else's alarm: leave it alone
            yield
            return
        _previous_handler[:] = [signal.signal(signal.SIGALRM, _expire)]
    _deadlines.append(time.monotonic() + max(float(seconds), 1e-3))
    signal.setitimer(signal.ITIMER_REAL, max(min(_deadlines) - time.monotonic(), 1e-3))
    try:
        yield
    finally:
        _deadlines.pop()
        if _deadlines:  # the enclosing limits go on, the nearest one in charge
            signal.setitimer(signal.ITIMER_REAL, max(min(_deadlines) - time.monotonic(), 1e-3))
        else:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, _previous_handler.pop())


def require_memory(needed: int) -> None:
    """Raise ``MemoryError`` now when ``needed`` more bytes cannot fit under the process's data limit
    (RLIMIT_DATA, which the command line sets): a build certain to run out is refused before it
    starts, instead of failing deep inside, where an allocation that fails can even crash CPython
    rather than raise. ``needed`` must be a floor of what the build takes, so that nothing that
    would fit is refused; without a limit, or off Linux, this does nothing.

    >>> require_memory(1024)
    """
    try:
        import resource
    except ImportError:
        return
    soft, _hard = resource.getrlimit(resource.RLIMIT_DATA)
    if soft == resource.RLIM_INFINITY:
        return
    if _data_in_use() + needed > soft:
        raise MemoryError(f"{needed} bytes more do not fit under the data limit of {soft} bytes")


def _data_in_use() -> int:
    """Bytes the process's data now takes as RLIMIT_DATA counts them (VmData), or 0 where unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
