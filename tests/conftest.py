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
# server) or, like the diagnosis table, report over all of their tests: under `-n` pytest-xdist runs
# each such module in one worker (the scheduler below), so the fixture is built once, not once per
# worker. Every other test is balanced across the workers one by one.
ONE_WORKER = {
    "test_detail", "test_diagnosis", "test_example_arithmetic", "test_exercise_html", "test_exercise_title",
    "test_fuzz_cli", "test_grammar", "test_html", "test_markdown", "test_notation_parsing", "test_seed001",
    "test_textbook_names", "test_verify", "test_verify_matrix", "test_wording",
}


# The longest units of work (a module on one worker, or a single test of half a minute), started
# first so that the workers finish together instead of one waiting on a long test begun last.
RUN_FIRST = ("test_wheel", "test_benchmark", "test_fuzz_cli", "test_html", "test_wording", "test_exercise_html",
             "test_derive", "test_detail", "test_pdf_layout", "test_handouts")


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # before pytest-xdist's own answer
def pytest_xdist_make_scheduler(config, log):
    """For `-n` (its "load" distribution): pytest-xdist's scope scheduling, where a scope is a whole
    module for those in ``ONE_WORKER`` and a single test for every other. (Its "loadgroup" marks
    would do the same, but from pytest 9.2 a plugin can no longer change a test's id, which they
    rely on.) Any other ``--dist`` is left to pytest-xdist."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerModules(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if Path(module).stem in ONE_WORKER else nodeid

    return OneWorkerModules(config, log)


def pytest_collection_modifyitems(items):
    rank = {module: n for n, module in enumerate(RUN_FIRST)}
    items.sort(key=lambda item: rank.get(Path(str(item.fspath)).stem, len(RUN_FIRST)))  # stable: else as collected
