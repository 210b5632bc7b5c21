"""The benchmark script runs (on tiny sizes) and writes its table and plot."""

import subprocess
import sys
from pathlib import Path

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
    assert "| verify 2-4-3-2 --param (a right formula), whole process |" in table
    assert "| verify 2-4-3-2 --param (a wrong formula), whole process |" in table
    assert "| largest network whose symbolic proof finishes within 60 s | 2-3-2 (12 weights," in table
    assert (tmp_path / "scaling.png").read_bytes().startswith(b"\x89PNG")
