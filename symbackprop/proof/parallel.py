"""Independent proofs on every core, in the background: ``Forked(function, items)``.

``sympy.diff`` of the expanded E_total is the slow part of a symbolic proof and each parameter's
proof is independent. Where ``os.fork`` exists, ``Forked`` shares the items out to one forked
child per core as soon as it is created (children inherit the SymPy expressions: only indices
and results travel, pickled through a pipe), so the parent can do its own work meanwhile and
collect the results, in order, with ``results()``. ``workers=1`` starts one child, which forks
helpers of its own only if its items turn out slow (``_child``'s ``spread``). With one core, few
items, or ``SYMBACKPROP_WORKERS=1``, ``results()`` computes everything in this process.

>>> with Forked(lambda n: n * n, range(6)) as squares:
...     squares.results()
[0, 1, 4, 9, 16, 25]
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import time
from typing import Callable, Iterable, Optional

MIN_ITEMS = 4  # below this, forking costs more than it saves


def usable_cpus() -> int:
    """Cores this process may run on, or the override in ``SYMBACKPROP_WORKERS``."""
    override = os.environ.get("SYMBACKPROP_WORKERS", "")
    if override.isdigit() and int(override) > 0:
        return int(override)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


SPREAD_SECONDS = 0.2  # a lone child whose items left would take longer forks helpers (``Forked``'s ``spread``)


def _child(function: Callable, items: list, share: list[int], write_fd: int, spread: int = 0) -> None:
    """Runs in a forked child: compute the share item by item, send each result, exit without cleanup.
    ``spread``: as soon as the items left would take over ``SPREAD_SECONDS`` at the pace of those
    done since the first (which builds what all share), fork that many helpers, which inherit what
    was built, give each an interleaved part of the rest, and pass their results on after its own."""
    # SymPy allocates many short-lived objects and no cycles worth collecting: without the
    # cyclic collector the proofs run about a fifth faster.
    gc.disable()
    try:
        with os.fdopen(write_fd, "wb") as stream:
            try:
                helpers: list[tuple[int, int]] = []
                position, built = 0, None
                while position < len(share):
                    pickle.dump(("ok", share[position], function(items[share[position]])), stream)
                    stream.flush()
                    position += 1
                    rest = share[position:]
                    if position == 1:
                        built = time.perf_counter()
                    elif spread and not helpers and len(rest) > spread \
                            and (time.perf_counter() - built) / (position - 1) * len(rest) > SPREAD_SECONDS:
                        for helper in range(1, spread + 1):
                            read_fd, helper_fd = os.pipe()
                            pid = os.fork()
                            if pid == 0:
                                os.close(read_fd)
                                _child(function, items, rest[helper::spread + 1], helper_fd)
                            os.close(helper_fd)
                            helpers.append((pid, read_fd))
                        share = share[:position] + rest[::spread + 1]  # mine: every (spread + 1)th
                for pid, read_fd in helpers:  # theirs, passed on as they come
                    with os.fdopen(read_fd, "rb") as theirs:
                        while True:
                            try:
                                record = pickle.load(theirs)
                            except EOFError:
                                break
                            pickle.dump(record, stream)
                            stream.flush()
                    os.waitpid(pid, 0)
            except BaseException as error:  # reported to the parent, which raises it
                pickle.dump(("error", None, f"{type(error).__name__}: {error}"), stream)
    finally:
        os._exit(0)  # never run the parent's atexit handlers or flush its buffers twice


class Forked:
    """``[function(item) for item in items]``, started in forked children at once; use as a
    context manager so that children are stopped if the parent gives up early."""

    def __init__(self, function: Callable, items: Iterable, workers: Optional[int] = None):
        """``workers`` children at most (default: one per usable core); none, and the items are
        computed in this process when ``results`` is called, on a single core or for fewer than
        ``MIN_ITEMS`` items. One child is for work that this process's own would only slow down:
        it builds what the items share with the first, and spreads the rest over helpers of its
        own, one per other core, only if the rest would take long (``_child``'s ``spread``)."""
        self.function, self.items = function, list(items)
        self.children: list[tuple[int, int | None]] = []  # (pid, read end of its pipe, None once read)
        cpus = usable_cpus()
        workers = min(workers or cpus, cpus, len(self.items))
        if cpus < 2 or len(self.items) < MIN_ITEMS or not hasattr(os, "fork"):
            return
        gc.freeze()  # children inherit the heap without the collector touching (and copying) its pages
        try:
            for worker in range(workers):  # interleaved shares: late (first-layer) items cost most
                read_fd, write_fd = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(read_fd)
                    _child(function, self.items, list(range(worker, len(self.items), workers)), write_fd,
                           spread=cpus - 1 if workers == 1 else 0)
                os.close(write_fd)
                self.children.append((pid, read_fd))
        finally:
            gc.unfreeze()

    def results(self, progress: Optional[Callable[[int, int], None]] = None) -> list:
        """Every result, in the order of the items; ``progress(done, total)`` as they arrive."""
        total = len(self.items)
        if not self.children:
            results = []
            for item in self.items:
                results.append(self.function(item))
                if progress:
                    progress(len(results), total)
            return results
        results: list = [None] * total
        done = 0
        while self.children:
            pid, read_fd = self.children[0]
            self.children[0] = (pid, None)  # the stream owns the descriptor now: ``close`` must not close it again
            with os.fdopen(read_fd, "rb") as stream:
                while True:
                    try:
                        status, index, value = pickle.load(stream)
                    except EOFError:
                        break
                    if status != "ok":
                        raise RuntimeError(f"proof worker failed: {value}")
                    results[index] = value
                    done += 1
                    if progress:
                        progress(done, total)
            os.waitpid(pid, 0)
            self.children.pop(0)
        if done != total:
            raise RuntimeError("a proof worker died before it finished")
        return results

    def close(self) -> None:
        """Stop any child still running (only when the parent stops before collecting)."""
        for pid, read_fd in self.children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            if read_fd is not None:
                os.close(read_fd)
        self.children = []

    def __enter__(self) -> "Forked":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def map_forked(function: Callable, items: Iterable, progress: Optional[Callable[[int, int], None]] = None) -> list:
    """``[function(item) for item in items]``, shared out to forked children where that helps.

    >>> map_forked(lambda n: n + 1, range(5))
    [1, 2, 3, 4, 5]
    """
    with Forked(function, items) as work:
        return work.results(progress)
