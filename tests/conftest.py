import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tex():
    """Skip when pdflatex is missing, except under CI=true, where a missing engine is a failure."""
    if shutil.which("pdflatex") is None:
        if IN_CI:
            pytest.fail("pdflatex is not installed, and CI=true requires it (.ci/run installs it)")
        pytest.skip("pdflatex is not installed")


@pytest.fixture(scope="session")
def seed000():
    """derive("2-4-3-2"), seed 000's network, shared by the tests that read it."""
    from symbackprop import derive

    return derive("2-4-3-2")


# Modules whose tests share an expensive module-scoped fixture (derived handouts, a browser, a fork
# server) or, like the diagnosis table, report over all of their tests: pytest-xdist runs each such
# module in one worker (pyproject's `--dist loadgroup`), so the fixture is built once, not once per
# worker. Every other test is balanced across the workers one by one.
ONE_WORKER = {
    "test_detail", "test_diagnosis", "test_example_arithmetic", "test_exercise_html", "test_exercise_title",
    "test_fuzz_cli", "test_grammar", "test_html", "test_markdown", "test_notation_parsing", "test_seed001",
    "test_textbook_names", "test_verify", "test_verify_matrix", "test_wording",
}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    for item in items:
        module = Path(str(item.fspath)).stem
        if module in ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group(module))
