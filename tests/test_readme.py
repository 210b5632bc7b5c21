"""Every `$ symbackprop ...` example in README.md prints what the README shows.

The verify examples are checked in test_verify_cli.py; this file runs the others in a scratch
directory holding a copy of examples/ and tests/lint_documents/. Only the figures that depend on the machine are masked:
run times ("in 1.11 s") and the last digits of rounding errors ("8.1e-16").
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import textwrap
from pathlib import Path

import pytest
from forkserver import run_symbackprop

ROOT = Path(__file__).resolve().parent.parent


def readme_examples() -> list[tuple[list[str], str]]:
    examples = []
    text = (ROOT / "README.md").read_text()
    for block in text.split("```")[1::2]:
        lines = textwrap.dedent(block).strip("\n").splitlines()  # a block inside a list is indented
        for n, line in enumerate(lines):
            if line.startswith("$ symbackprop ") and not line.startswith("$ symbackprop verify"):
                output = []
                for following in lines[n + 1:]:
                    if following.startswith("$ ") or not following:
                        break
                    output.append(following)
                examples.append((shlex.split(line[2:])[1:], "\n".join(output)))
    return examples


def masked(text: str) -> str:
    text = re.sub(r"in \d+\.\d+ s\b", "in N s", text)
    return re.sub(r"\b\d\.\de-1\d\b", "ROUNDING", text)  # errors of order 1e-16 .. 1e-13


@pytest.mark.parametrize("argv, printed", readme_examples(), ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_readme_example_prints_what_the_readme_shows(tmp_path, argv, printed):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copytree(ROOT / "tests" / "lint_documents", tmp_path / "tests" / "lint_documents")
    # a process of its own (tests/forkserver.py), as after the README's `pip install .`: no SymEngine
    result = run_symbackprop(*argv, cwd=tmp_path, timeout=600, env=dict(os.environ, SYMBACKPROP_SYMENGINE="0"))
    wrong = argv[0] == "lint" and "WRONG" in printed  # lint's exit status 1: a wrong equation was found
    assert result.returncode == (1 if wrong else 0), result.stderr
    assert masked((result.stdout + result.stderr).rstrip("\n")) == masked(printed)


def test_the_readme_shows_the_walkthrough_and_derive_examples():
    commands = [" ".join(argv[:2]) for argv, _ in readme_examples()]
    assert "derive 2-4-3-2" in commands and "example 2-2-2" in commands
