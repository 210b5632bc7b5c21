"""Independent proofs on every core: ``map_forked(function, items)``.

``sympy.diff`` of the expanded E_total is the slow part of a symbolic proof and each parameter's
proof is independent. Where ``os.fork`` exists, the items are shared out: the process forks one
child per extra core, every process works through its share (children inherit the SymPy
expressions, so only the results travel back, pickled through a pipe), and the results come
back in order. With one core, few items, or ``SYMBACKPROP_WORKERS=1``, everything runs here.

>>> map_forked(lambda n: n * n, range(6))
[0, 1, 4, 9, 16, 25]
"""

from __future__ import annotations

import os
import pickle
import signal
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


def _child(function: Callable, items: list, share: list[int], write_fd: int) -> None:
    """Runs in the forked child: compute the share, send the results, exit without cleanup."""
    try:
        payload = pickle.dumps(("ok", [function(items[i]) for i in share]))
    except BaseException as error:  # reported to the parent, which raises it
        payload = pickle.dumps(("error", f"{type(error).__name__}: {error}"))
    try:
        with os.fdopen(write_fd, "wb") as stream:
            stream.write(payload)
    finally:
        os._exit(0)  # never run the parent's atexit handlers or flush its buffers twice


def map_forked(function: Callable, items: Iterable, progress: Optional[Callable[[int, int], None]] = None) -> list:
    """``[function(item) for item in items]``, shared out to forked children where that helps.

    ``function`` and ``items`` need not be picklable; results must be. ``progress(done, total)``
    is called as this process finishes its items (children's items are counted when they report).
    """
    items = list(items)
    workers = min(usable_cpus(), len(items))
    if workers < 2 or len(items) < MIN_ITEMS or not hasattr(os, "fork"):
        results = []
        for item in items:
            results.append(function(item))
            if progress:
                progress(len(results), len(items))
        return results

    # interleaved shares: early (output-layer) items are cheap and late ones expensive
    shares = [list(range(w, len(items), workers)) for w in range(workers)]
    children = []
    try:
        for share in shares[1:]:
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                _child(function, items, share, write_fd)
            os.close(write_fd)
            children.append((pid, read_fd, share))

        results: list = [None] * len(items)
        for n, index in enumerate(shares[0]):
            results[index] = function(items[index])
            if progress:
                progress(min(len(items), (n + 1) * workers), len(items))
        while children:
            pid, read_fd, share = children.pop(0)
            with os.fdopen(read_fd, "rb") as stream:
                data = stream.read()
            os.waitpid(pid, 0)
            status, payload = pickle.loads(data) if data else ("error", "a worker process died")
            if status != "ok":
                raise RuntimeError(f"proof worker failed: {payload}")
            for index, result in zip(share, payload):
                results[index] = result
        return results
    finally:
        for pid, read_fd, _ in children:  # only left over when something went wrong
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_fd)
