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
# module in one worker (its "loadgroup" distribution, which `pytest_configure` picks for `-n`), so
# the fixture is built once, not once per worker. Every other test is balanced across the workers
# one by one.
ONE_WORKER = {
    "test_detail", "test_diagnosis", "test_example_arithmetic", "test_exercise_html", "test_exercise_title",
    "test_fuzz_cli", "test_grammar", "test_html", "test_markdown", "test_notation_parsing", "test_seed001",
    "test_textbook_names", "test_verify", "test_verify_matrix", "test_wording",
}


# The longest units of work (a module on one worker, or a single test of half a minute), started
# first so that the workers finish together instead of one waiting on a long test begun last.
RUN_FIRST = ("test_wheel", "test_benchmark", "test_fuzz_cli", "test_html", "test_wording", "test_exercise_html",
             "test_derive", "test_detail", "test_pdf_layout", "test_handouts")


def pytest_configure(config):
    """Under ``-n`` (pytest-xdist) the controller distributes by groups, and each worker marks its
    tests' ids with their group (told through ``workerinput``: a worker reads the command line
    again, without this change). Without xdist, or with ``--dist`` other than load, nothing changes."""
    config.addinivalue_line("markers", "xdist_group(name): run in the same pytest-xdist worker as the rest of the group")
    if getattr(config.option, "dist", "no") == "load" and not getattr(config.option, "distload", False):
        config.option.dist = "loadgroup"
    if getattr(config, "workerinput", {}).get("loadgroup"):
        config.option.loadgroup = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["loadgroup"] = node.config.getvalue("dist") == "loadgroup"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    for item in items:
        module = Path(str(item.fspath)).stem
        if module in ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group(module))
    rank = {module: n for n, module in enumerate(RUN_FIRST)}
    items.sort(key=lambda item: rank.get(Path(str(item.fspath)).stem, len(RUN_FIRST)))  # stable: else as collected
