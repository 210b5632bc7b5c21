"""SIGKILL at any moment leaves only complete files: a target is its old bytes or its new ones.

A run writes every file of its batch to an unnamed temporary (O_TMPFILE) and gives it a name only
when it is complete, just before the renames (symbackprop/handout/files.py), so a run killed at any
moment leaves in the output directory nothing but complete files. Outputs are deterministic, so
"complete" is checked byte for byte against an uninterrupted run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

KILLS = 6  # moments per command, spread over an uninterrupted run's duration


def _files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir() if path.is_file()}


def _run(argv: list[str], cwd: Path, env: dict, kill_after: float | None = None) -> None:
    process = subprocess.Popen([sys.executable, "-m", "symbackprop", *argv], cwd=cwd, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill_after is None:
        assert process.wait(timeout=300) == 0
        return
    try:
        process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the command and whatever it started (pdflatex, forked proofs)
    except ProcessLookupError:
        pass
    process.wait(timeout=60)


@pytest.mark.parametrize("argv, written", [
    (["derive", "2-3-2", "--format", "md,tex,json", "-q", "-o", "out"], "out"),
    (["codegen", "2-3-2", "-o", "out/backprop.py"], "out"),
], ids=["derive", "codegen"])
def test_sigkill_at_random_moments_leaves_only_complete_files(argv, written, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    (reference_dir / "out").mkdir()
    started = time.perf_counter()
    _run(argv, reference_dir, env)
    duration = time.perf_counter() - started
    reference = _files(reference_dir / written)
    assert reference, "the uninterrupted run wrote nothing"
    complete = set(reference.values())

    rng = random.Random(20261201)
    for case, kept in enumerate(["old", "fresh"] * (KILLS // 2)):
        cwd = tmp_path / f"case{case}"
        (cwd / "out").mkdir(parents=True)
        if kept == "old":  # a previous run's complete files are there to be replaced
            for name, data in reference.items():
                (cwd / written / name).write_bytes(data)
        _run(argv, cwd, env, kill_after=rng.uniform(0.05, duration))
        for path in (cwd / written).iterdir():
            assert path.is_file(), f"{path.name} is not a regular file"
            assert path.read_bytes() in complete, f"killed run left an incomplete file {path.name}"
            assert path.name in reference or path.name.endswith(".tmp"), f"unexpected file {path.name}"
        if kept == "old":  # every old file is still there, complete (old or new bytes: the same)
            assert set(reference) <= {p.name for p in (cwd / written).iterdir()}
