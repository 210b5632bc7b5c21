"""Start-up: ``--help`` of every command and every usage error import no SymPy, NumPy or Jinja2.

Importing SymPy takes longer than everything else ``symbackprop --help`` does, so the cheap checks
(layer sizes, formats, names of activations, losses and notations, option ranges) run before any
heavy import. Each case runs ``main`` in a fresh interpreter and reports which heavy modules it
loaded; nothing here measures time (the benchmark does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sympy", "numpy", "jinja2", "mpmath")
MARK = "symbackprop-startup-probe:"

# main() under a wrapper that, once main has exited, says what it imported (on stdout's last line).
PROBE = f"""
import json, sys
from symbackprop.cli import main
try:
    main(json.loads(sys.argv[1]))
    code = 0
except SystemExit as stop:
    code = stop.code
sys.stdout.flush()
print({MARK!r} + json.dumps({{"code": code, "heavy": [m for m in json.loads(sys.argv[2]) if m in sys.modules]}}))
"""


def probe(argv, cwd, modules=HEAVY):
    """Run ``symbackprop ARGV`` in a fresh interpreter: (exit code, which of ``modules`` it loaded, stdout, stderr)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(modules)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)
    lines = result.stdout.splitlines()
    assert lines and lines[-1].startswith(MARK), (result.returncode, result.stdout, result.stderr)
    report = json.loads(lines[-1][len(MARK):])
    return report["code"], report["heavy"], "\n".join(lines[:-1]), result.stderr


COMMANDS = ["derive", "verify", "example", "codegen", "check", "gallery"]


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--version"]] + [[command, "--help"] for command in COMMANDS],
                         ids=" ".join)
def test_help_imports_nothing_heavy(argv, tmp_path):
    code, heavy, out, err = probe(argv, tmp_path)
    assert code == 0 and not err, err
    assert out.strip()
    assert heavy == [], f"symbackprop {' '.join(argv)} imported {heavy}"


USAGE_ERRORS = [
    (["derive", "2-0-3"], "every layer needs at least one neuron"),
    (["derive", "-2-3"], "invalid network spec starting '-2'"),
    (["derive", "1" * 5000 + "-2"], "more than 7 digits"),
    (["derive", "-".join(["1"] * 1000)], "computed layers"),
    (["derive", "1414-1414"], "the symbolic derivation handles at most 500,000"),
    (["derive", "2-3", "--bogus"], "No such option"),
    (["derive", "2-3", "--format", "docx"], "unknown format 'docx'"),
    (["derive", "2-3", "--activation", "swish"], "unknown activation 'swish'"),
    (["derive", "2-3-2", "--activation", "tanh,relu,tanh"], "lists 3 activations"),
    (["derive", "2-3-2", "--activation", "softmax,softmax", "--loss", "ce"], "only be the activation of the output"),
    (["derive", "2-3", "--loss", "hinge"], "unknown loss 'hinge'"),
    (["derive", "2-3", "--loss", "bce", "--activation", "tanh"], "needs values in (0, 1)"),
    (["derive", "2-3-1", "--loss", "ce"], "needs at least 2 outputs"),
    (["derive", "2-3", "--notation", "matrix"], "unknown notation 'matrix'"),
    (["derive", "2-3", "--proof", "maybe"], "Invalid value for '--proof'"),
    (["derive", "2-3", "--points", "0"], "Invalid value for '--points'"),
    (["derive", "2-3", "-o", ""], "the path is empty"),
    (["derive"], "Missing argument 'SPEC'"),
    (["example", "2-3", "--lr", "-inf"], "the learning rate must be a finite number"),
    (["example", "2-3", "--lr", "nan", "--json"], "the learning rate must be a finite number"),
    (["example", "2-3", "--seed", "-1"], "Invalid value for '--seed'"),
    (["codegen", "2-3", "-o", "."], "Invalid value for '-o'"),
    (["check", "2-3", "--autograd", "jax"], "Invalid value for '--autograd'"),
    (["verify", "2-3"], "give either --param NAME EXPR or --steps"),
    (["verify", "--param", "w_1", "0"], "--param needs the network"),
    (["verify", "--steps", "z = z", "--where", "a"], "--where needs NAME=EXPR"),
    (["verify", "--steps", "z = z", "--tolerance", "nan"], "Invalid value for '--tolerance'"),
    (["verify", "2-0", "--param", "w_1", "0"], "every layer needs at least one neuron"),
    (["gallery", "--bogus"], "No such option"),
    (["nosuch"], "No such command"),
]


@pytest.mark.parametrize("argv, words", USAGE_ERRORS, ids=lambda v: " ".join(v)[:60] if isinstance(v, list) else None)
def test_usage_errors_are_one_line_exit_2_and_import_nothing_heavy(argv, words, tmp_path):
    code, heavy, out, err = probe(argv, tmp_path)
    assert code == 2, (code, out, err)
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err, err
    assert heavy == [], f"symbackprop {' '.join(argv)[:80]} imported {heavy} before refusing"
    assert not list(tmp_path.iterdir()), "a refused command wrote files"


def test_a_device_as_codegen_output_is_refused_before_any_heavy_import(tmp_path):
    code, heavy, _, err = probe(["codegen", "2-3", "-o", os.devnull], tmp_path)
    assert code == 2 and "not a regular file" in err and heavy == [], (err, heavy)


def test_an_exercise_too_large_is_refused_before_any_heavy_import(tmp_path):
    code, heavy, _, err = probe(["derive", "20-20-20", "--exercise"], tmp_path)
    assert code == 2 and "worked by hand" in err
    assert heavy == []


def test_the_spec_checks_name_tables_match_the_registries():
    """spec.py knows the registries by name so that checking a spec imports no SymPy: the same names."""
    from symbackprop.network import spec
    from symbackprop.network.activations import ACTIVATIONS, OUTPUT_ONLY
    from symbackprop.network.losses import LOSSES
    from symbackprop.network.notation import NOTATIONS

    assert spec.ACTIVATION_NAMES == tuple(ACTIVATIONS)
    assert spec.ACTIVATION_UNIT_INTERVAL == {name: a.unit_interval for name, a in ACTIVATIONS.items()}
    assert spec.OUTPUT_ONLY == frozenset(OUTPUT_ONLY)
    assert spec.LOSS_NAMES == tuple(LOSSES)
    assert spec.LOSS_OUTPUT_ACTIVATION == {name: loss.output_activation for name, loss in LOSSES.items()}
    assert spec.LOSS_NEEDS_UNIT_INTERVAL == frozenset(n for n, loss in LOSSES.items() if loss.needs_unit_interval)
    assert tuple(NOTATIONS) == ("neurons", "layers", "columns")


def test_importing_the_spec_module_imports_no_sympy():
    code = ("import sys; from symbackprop.network.spec import NetworkSpec; "
            "s = NetworkSpec.parse('2-4-3-2', activation='tanh,relu,sigmoid', loss='bce', bias=True, notation='layers'); "
            f"print(s.n_parameters, [m for m in {HEAVY!r} if m in sys.modules])")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.stdout.split(" ", 1) == ["35", "[]\n"], result.stdout + result.stderr


def test_a_formula_still_gets_its_full_check():
    """The lazy imports change nothing for formulas: they are parsed and must depend on z."""
    from symbackprop.network.spec import NetworkSpec, SpecError

    assert NetworkSpec.parse("2-2-1", activation="z/(1+abs(z))").activations == ("z/(1+abs(z))",) * 2
    with pytest.raises(SpecError, match="does not depend on z"):
        NetworkSpec.parse("2-2-1", activation="0*z")
    with pytest.raises(SpecError, match="invalid activation formula"):
        NetworkSpec.parse("2-2-1", activation="z+")


# The console script's placeholder for sympy.tensor.tensor (``cli.defer_tensor_module``): a run of
# ``run`` as the console script does it, reporting whether the tensor modules were loaded.
TENSOR_PROBE = """
import json, os, sys
from symbackprop.cli import run
real_exit = os._exit
def report(code):
    print(json.dumps({"code": code, "tensor": type(sys.modules.get("sympy.tensor.tensor")).__name__,
                      "combinatorics": "sympy.combinatorics" in sys.modules}))
    sys.stdout.flush()
    real_exit(code)
os._exit = report
sys.argv = ["symbackprop"] + json.loads(sys.argv[1])
run()
"""


def test_the_console_script_never_loads_sympy_tensors_for_a_derivation(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = ["verify", "2-2-1", "--param", "w_{11}", r"\delta_{b_1} out_{a_1}"]
    result = subprocess.run([sys.executable, "-c", TENSOR_PROBE, json.dumps(argv)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    *said, last = result.stdout.splitlines()
    assert json.loads(last) == {"code": 0, "tensor": "module", "combinatorics": False}, result.stderr
    assert said[0].startswith("correct: your formula for dE/dw_{11} equals the true gradient")


def test_the_tensor_placeholder_gives_way_to_sympy_tensors_when_one_is_used():
    """Sums keep working before and after the real module is loaded, and tensor algebra is
    SymPy's own: the placeholder only answers Add's two questions while no tensor can exist."""
    code = """
import sys
from symbackprop.cli import defer_tensor_module
defer_tensor_module()
import sympy
x, y = sympy.symbols("x y")
before = x + y + 1
assert "sympy.combinatorics" not in sys.modules and before == sympy.Add(1, x, y)
from sympy.tensor.tensor import TensorIndexType, TensorHead, tensor_indices
L = TensorIndexType("L")
i = tensor_indices("i", L)
A, B = TensorHead("A", [L]), TensorHead("B", [L])
total = A(i) + B(i) + A(i)
assert type(total).__name__ == "TensAdd" and total == 2 * A(i) + B(i), total
assert sys.modules["sympy.tensor.tensor"].TensAdd is type(total)
assert x + y + 1 == before
print("ok")
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.stdout == "ok\n", result.stderr
