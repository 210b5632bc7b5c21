"""The benchmark script runs (on tiny sizes) and writes its table and plot; its A/B of two revisions reads\nthe older package from git."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_script_on_tiny_sizes(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "benchmark.py"), "--quick", "--output", str(tmp_path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "benchmark.md").read_text()
    assert "| derive 2-4-3-2 (md, tex, json), whole process |" in table
    assert "× import sympy" in table and "| symbackprop --help |" in table
    assert "| derive 2-4-3-2 --activation 'z/(1+abs(z))' (md, tex, json; the same proofs) |" in table
    assert "| 2-4-3-2 | 26 |" in table
    assert "| network | weights | symbackprop (s) | naive sympy.diff (s) | naive SymEngine's diff (s) |" in table
    assert "| fitted exponent, naive SymEngine's diff |" in table
    # the generated code beside the hand-written NumPy at two tiny sizes, each a ratio
    assert "| 2-3-2, one sample: hand-written NumPy | " in table and "generated / hand-written" in table
    assert "| 6-5-3 with biases, batch 16: generated grad | " in table
    for parameter in ("w_{21}", "w_{11}"):
        assert f"| verify 2-4-3-2 --param {parameter} (a right formula), whole process |" in table
        assert f"| verify 2-4-3-2 --param {parameter} (a wrong formula), whole process |" in table
    assert "| largest network whose symbolic proof finishes within 60 s | 2-3-2 (12 weights," in table
    assert (tmp_path / "scaling.png").read_bytes().startswith(b"\x89PNG")


def test_before_and_after_runs_the_package_of_another_revision(tmp_path):
    """source_of unpacks a revision's package; symbackprop_at runs that package, not the installed one."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import benchmark
    finally:
        sys.path.pop(0)
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    source = benchmark.source_of("HEAD", tmp_path)
    assert (source / "symbackprop" / "__init__.py").is_file()
    printed = subprocess.run(benchmark.symbackprop_at(source, "--version"), capture_output=True, text=True, check=True)
    assert "symbackprop" in printed.stdout
    where = subprocess.run(["env", f"PYTHONPATH={source}", sys.executable, "-c", "import symbackprop; print(symbackprop.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path)
    assert where.stdout.strip() == str(source / "symbackprop" / "__init__.py")
    assert benchmark.source_of("no-such-revision", tmp_path) is None
