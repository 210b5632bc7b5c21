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
