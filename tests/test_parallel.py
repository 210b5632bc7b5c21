"""``proof.parallel.Forked``: items computed in forked children, results in order; a lone child
spreads a slow rest over helpers that inherit what its first item built."""

import os
import time

import pytest

from symbackprop.proof import parallel
from symbackprop.proof.parallel import Forked

BUILT: list = []  # what a child's first item builds, as the proofs build E_total


def square_with_pid(n: int, pause: float = 0.0) -> tuple[int, int, int]:
    if not BUILT:
        BUILT.append(os.getpid())  # built once, in the process that took the first item
    time.sleep(pause)
    return n * n, os.getpid(), BUILT[0]


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setenv("SYMBACKPROP_WORKERS", "2")
    BUILT.clear()


def test_children_give_every_result_in_order(two_cores):
    with Forked(square_with_pid, range(12)) as squares:
        assert len(squares.children) == 2
        results = squares.results()
    assert [r[0] for r in results] == [n * n for n in range(12)]
    assert len({r[1] for r in results}) == 2 and os.getpid() not in {r[1] for r in results}


def test_one_child_alone_keeps_quick_items_to_itself(two_cores):
    with Forked(square_with_pid, range(12), workers=1) as squares:
        assert len(squares.children) == 1
        results = squares.results()
    assert [r[0] for r in results] == [n * n for n in range(12)]
    assert len({r[1] for r in results}) == 1


def test_one_child_spreads_a_slow_rest_over_a_helper_that_inherits_what_it_built(two_cores):
    pause = 2 * parallel.SPREAD_SECONDS / 10  # ten items left take twice the limit
    with Forked(lambda n: square_with_pid(n, pause), range(14), workers=1) as squares:
        results = squares.results()
    assert [r[0] for r in results] == [n * n for n in range(14)]
    pids = {r[1] for r in results}
    assert len(pids) == 2  # the child and its helper
    assert len({r[2] for r in results}) == 1  # built once: the helper inherited it


def test_a_failure_in_a_helper_reaches_the_parent(two_cores):
    def fail_late(n):
        time.sleep(parallel.SPREAD_SECONDS / 4)
        if n == 13:
            raise ValueError("item 13")
        return n

    with Forked(fail_late, range(14), workers=1) as items:
        with pytest.raises(RuntimeError, match="ValueError: item 13"):
            items.results()
