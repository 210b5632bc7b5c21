"""verify --param's short route: a right formula proven exactly, with neither NumPy nor SymEngine.

`verify --param` first derives with ``proof="none"`` and asks ``check_gradient(...,
proven_only=True)`` for a verdict: one point in Python floats (``at_point``), then the exact zero
test with SymPy alone. Whatever it cannot prove right falls back to the full check. These tests
hold the short route to the full route's verdicts, and its pure-Python evaluator to NumPy's.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

from test_startup import probe

from symbackprop import derive
from symbackprop.api import check_forms
from symbackprop.algebra.evaluate import at_point, evaluate
from symbackprop.algebra.lazy import LazyModule
from symbackprop.checking.verify import check_gradient

ROOT = Path(__file__).resolve().parent.parent
NUMERIC = ("numpy", "symengine")  # what a right verdict on a small network no longer imports

# (spec, derive options, parameter, formula, right?)
CASES = [
    ("2-2-2", {}, "w_5", r"(out_{o_1} - target_{o_1}) out_{o_1} (1 - out_{o_1}) out_{h_1}", True),
    ("2-4-3-2", {}, "w_21", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) out_{b_1}(1 - out_{b_1}) out_{a_1}", False),
    ("2-4-3-2", {}, "w_11", r"\delta_{b_1} out_{a_1}", True),
    ("2-4-3-2", {}, "w_11", r"\delta_{b_1} out_{a_2}", False),
    ("2-3-2", {"activation": "tanh"}, "w_11", r"\delta_{b_1} out_{a_1}", True),
    ("2-3-2", {"activation": "relu"}, "w_11", r"\delta_{b_1} out_{a_1}", True),
    ("2-2-2", {"loss": "ce"}, "w_21", r"(out_{c_1} - target_{c_1}) out_{b_1}", True),
]


def _full(spec, options, parameter, formula):
    derivation = derive(spec, only=[parameter], proof="gradients", **options)
    return check_gradient(derivation, parameter, formula)


@pytest.mark.parametrize("spec, options, parameter, formula, right", CASES)
def test_the_short_route_agrees_with_the_full_check(spec, options, parameter, formula, right):
    try:
        full = _full(spec, options, parameter, formula)
    except Exception as error:  # a spelling this network does not have: both routes must refuse it alike
        with pytest.raises(type(error)):
            check_gradient(derive(spec, only=[parameter], proof="none", **options), parameter, formula,
                           proven_only=True)
        return
    short = check_gradient(derive(spec, only=[parameter], proof="none", **options), parameter, formula,
                           proven_only=True)
    if short is None:  # not proven on the short route: the full check decides (a wrong formula always)
        assert not full.correct or options.get("activation") == "relu"  # relu's gate: Heaviside has no float here
        return
    assert full.correct is True and short.correct is True and short.method == "symbolic"
    for field in ("parameter", "written", "written_latex", "expected", "expected_latex", "note", "readings", "loss",
                  "mistakes", "aliases"):
        assert getattr(short, field) == getattr(full, field), field


@pytest.mark.parametrize("spec, options", [("2-4-3-2", {}), ("2-3-2", {"activation": "tanh"}),
                                           ("2-3-3", {"loss": "ce"}), ("3-2-2", {"bias": False})])
def test_the_forward_pass_through_a_parameter_gives_the_whole_gradient(spec, options):
    """``Model.expansions_through(p)`` leaves standing every net and out symbol p does not change;
    its E_total differentiated by p, with those symbols then replaced by their expansions, is the
    derivative of the fully expanded E_total: compared at an exact rational point, 20 digits, for
    one weight into each layer."""
    model = derive(spec, only=["w_11"], proof="none", **options).model
    rng = np.random.default_rng(7)
    for p in model.parameters:
        through = model.expansions_through(p)
        if p not in (model.weights[k][-1][0] for k in range(1, model.spec.depth + 1)):  # one weight per layer
            continue
        standing = {s for s in model.definitions if s not in through}
        assert all(p not in model.expansions[s].free_symbols for s in standing)
        assert all(p in model.expansions[s].free_symbols for s in through if s in model.definitions)
        partial = sympy.diff(through[model.loss_symbol], p).xreplace({s: model.expansions[s] for s in standing})
        whole = sympy.diff(model.expanded_loss, p)
        point = {s: sympy.Rational(int(rng.integers(-900, 900)), 1000) for s in model.primary}
        point.update({t: sympy.Rational(int(rng.integers(50, 950)), 1000) for t in model.targets})
        a, b = partial.xreplace(point).evalf(20), whole.xreplace(point).evalf(20)
        assert abs(a - b) <= sympy.Float("1e-15") * max(1, abs(b)), (p, a, b)


def test_the_short_route_proves_over_what_the_parameter_changes_and_else_over_everything():
    """w_21 (b_1 → c_1) leaves out_{b_1} standing: a formula in out_{b_1} is proven with it as a
    symbol; the same gradient written through net_{b_1} is proven over the whole forward pass."""
    derivation = derive("2-4-3-2", only=["w_21"], proof="none")
    model = derivation.model
    w21 = next(p for p in model.parameters if p.name == "w_21")
    out_b1 = model.out[1][0]
    assert out_b1 not in model.expansions_through(w21)
    assert out_b1 in model.expansions_through(w21)[model.loss_symbol].free_symbols
    for formula in (r"\delta_{c_1} out_{b_1}", r"\delta_{c_1} \sigma(net_{b_1})",
                    r"\delta_{c_1} \frac{1}{1 + e^{-(w_{11} out_{a_1} + w_{12} out_{a_2})}}"):
        short = check_gradient(derivation, "w_21", formula, proven_only=True)
        assert short is not None and short.correct is True and short.method == "symbolic", formula
    assert check_gradient(derivation, "w_21", r"\delta_{c_1} out_{b_2}", proven_only=True) is None


def test_a_wrong_formula_is_never_proven_on_the_short_route():
    derivation = derive("2-4-3-2", only=["w_11"], proof="none")
    assert check_gradient(derivation, "w_11", r"\delta_{b_1} out_{a_2}", proven_only=True) is None
    assert check_gradient(derivation, "w_11", r"2 \delta_{b_1} out_{a_1}", proven_only=True) is None


def test_softmax_cross_entropy_is_proven_right_under_the_handouts_assumption():
    derivation = derive("2-2-2", only=["w_21"], proof="none", loss="ce")
    full = check_gradient(derive("2-2-2", only=["w_21"], loss="ce"), "w_21",
                          r"(out_{c_1} - target_{c_1}) out_{b_1}")
    short = check_gradient(derivation, "w_21", r"(out_{c_1} - target_{c_1}) out_{b_1}", proven_only=True)
    assert full.correct is True and "sum to 1" in full.note
    assert short is not None and short.correct is True and short.note == full.note


def test_a_matrix_or_a_tolerance_takes_the_full_route():
    derivation = derive("2-2-2", only=["w_5"], proof="none")
    assert check_gradient(derivation, "w_5", r"(out_{o_1} - target_{o_1}) out_{o_1} (1 - out_{o_1}) out_{h_1}",
                          tolerance=1e-3, proven_only=True) is None


def test_check_forms_runs_the_numeric_checks_a_proof_none_derivation_skipped():
    bare = derive("2-4-3-2", only=["w_21"], proof="none")
    assert bare.verification.proof == "none" and not bare.verification.checks
    checked = check_forms(bare)
    reference = derive("2-4-3-2", only=["w_21"], proof="gradients")
    assert set(checked.verification.checks) == set(reference.verification.checks) != set()
    for name, forms in checked.verification.checks.items():
        assert forms.keys() == reference.verification.checks[name].keys()
        assert all(form.max_rel_error < 1e-9 for form in forms.values())


def test_a_right_verdict_on_a_small_network_loads_neither_numpy_nor_symengine(tmp_path):
    code, loaded, out, err = probe(["verify", "2-4-3-2", "--param", "w_11", r"\delta_{b_1} out_{a_1}"], tmp_path,
                                   NUMERIC)
    assert (code, loaded) == (0, []), (out, err)
    assert "correct" in out.lower()


def test_a_wrong_verdict_still_gets_the_numbers_and_its_diagnosis(tmp_path):
    code, loaded, out, err = probe(["verify", "2-4-3-2", "--param", "w_11", r"\delta_{b_1} out_{a_2}"], tmp_path,
                                   NUMERIC)
    assert code == 1 and "numpy" in loaded, (out, err)
    assert out.startswith("incorrect:") and "the correct formula" in out


def test_at_point_matches_numpy_evaluation():
    x, y = sympy.symbols("x y", real=True)
    expr = sympy.exp(-x) / (1 + sympy.exp(-x)) * sympy.tanh(y) + sympy.log(1 + x**2) - sympy.Max(0, x) * y
    point = {x: 0.3, y: -0.7}
    value = at_point(expr, point)
    numpy_value = float(evaluate(expr, {x: np.array([0.3]), y: np.array([-0.7])})[0])
    assert math.isclose(value, numpy_value, rel_tol=1e-12)
    assert math.isclose(value, float(expr.subs(point)), rel_tol=1e-12)


def test_at_point_refuses_what_has_no_real_value():
    x = sympy.Symbol("x", real=True)
    with pytest.raises(ValueError):
        at_point(sympy.log(x), {x: -1.0})
    with pytest.raises(ValueError):
        at_point(1 / x, {x: 0.0})


def test_lazy_module_imports_on_first_use_only():
    code = ("import sys; from symbackprop.algebra.lazy import LazyModule; m = LazyModule('json'); "
            "sys.modules.pop('json', None); before = 'json' in sys.modules; v = m.dumps([1]); "
            "print(before, 'json' in sys.modules, v)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT))).stdout.split()
    assert out == ["False", "True", "[1]"]
    assert LazyModule("math").sqrt(4.0) == 2.0
