"""Numbers beyond float64, both ways: no traceback, exit 2 with one line naming the problem, and
nothing false printed.

* overflow in the worked example (exp(exp(exp(z))) after the descent step, a gradient or a step
  beyond 1.8e308, an output that rounds to 0 under a bce loss);
* gradients that underflow float64 (a deep chain of z/10^6): `check`, `derive --proof numeric`
  and `example` refuse them instead of comparing zeros, while exact zeros (relu's dead neurons)
  still pass;
* the reason `derive` gives for skipping the symbolic proof is the true one.

CLI cases run in a subprocess (the console entry point, as a user runs it), with a timeout that
only guards against a hang.
"""

import json

import numpy as np
import pytest
import sympy

from test_robustness import one_line_exit_2, run

CHAIN_60 = "-".join(["1"] * 61)  # 60 layers, 60 weights
CHAIN_20 = "-".join(["1"] * 21)  # 20 layers, 20 weights


# -- 1. overflow in the worked example --------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 3])
def test_an_activation_overflowing_after_the_descent_step_is_one_line_exit_2(tmp_path, seed):
    out = tmp_path / "out"
    result = run("example", "2-2-1", "--activation", "exp(exp(exp(z)))", "--seed", str(seed), "-o", str(out))
    message = one_line_exit_2(result, "after the descent step", "beyond the float64 range", "'s formula takes exp of",
                              "a smaller --lr")
    assert "OverflowError" not in message
    assert result.stdout == "" and not (out / "example.md").exists()  # no E_total, no files


@pytest.mark.parametrize("seed", [0, 2])
def test_the_same_activation_at_other_seeds_still_works(tmp_path, seed):
    result = run("example", "2-2-1", "--activation", "exp(exp(exp(z)))", "--seed", str(seed), "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "cross-check: the generated code and the symbolic chain rule agree" in result.stdout


@pytest.mark.parametrize("x", [16.0, 25.0, 50.0])
def test_a_nested_exponential_beyond_float64_is_refused_at_once(tmp_path, x):
    """exp(exp(exp(16))) made mpmath work for minutes, exp(exp(exp(25))) ran out of memory, and
    exp(exp(exp(50))) raised OverflowError: each is beyond float64 and is said so at once."""
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"x": [x], "y": [0.5], "W": [[[1.0]]]}))
    result = run("example", "1-1", "--activation", "exp(exp(exp(z)))", "--params", str(params),
                 "-o", str(tmp_path / "out"), timeout=60)
    one_line_exit_2(result, "out_b_1's formula takes exp of", "beyond the float64 range")
    assert result.stdout == ""


@pytest.mark.parametrize("params, options, words", [
    # every net input and output finite, ∂E/∂w_11 = out_a_1 · delta_b_1 = 1e300 · 1e20
    ({"x": [1e300], "y": [0.0], "W": [[[1e-300]], [[1e10]]]}, ["--activation", "linear"],
     ["∂E/∂w_11", "beyond the float64 range"]),
    # the gradient is finite, the step w - lr ∂E/∂w is not
    ({"x": [1.0], "y": [0.0], "W": [[[1e150]]]}, ["--activation", "linear", "--lr", "1e300"],
     ["after the descent step", "w_11", "beyond the float64 range", "--lr"]),
    # the output is 1 - 2e-22, 1 in float64: ∂E/∂out = -y/out + (1 - y)/(1 - out) is 1/0 there (was a TypeError)
    ({"x": [50.0], "y": [0.5], "W": [[[1.0]]]}, ["--loss", "bce"], ["∂E_total/∂out_b_1", "beyond the float64 range"]),
    # the output is 5e-435: below float64's normal range, it would be written as 0
    ({"x": [1000.0], "y": [0.5], "W": [[[-1.0]]]}, ["--loss", "bce"], ["underflow float64", "out_b_1 is about 5.08e-435"]),
])
def test_other_numbers_beyond_float64_in_the_example_are_one_line_exit_2(tmp_path, params, options, words):
    spec = "1-1" if len(params["W"]) == 1 else "1-1-1"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(params))
    result = run("example", spec, *options, "--params", str(path), "-o", str(tmp_path / "out"))
    one_line_exit_2(result, *words)
    assert "RuntimeWarning" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "out" / "example.md").exists()


def test_substitute_gives_the_numbers_of_xreplace_bit_for_bit():
    """The guarded substitution builds the same nodes as ``xreplace``: the example's numbers (and
    the gallery) do not change."""
    from symbackprop.numbers.example import DIGITS, _substitute

    z, y = sympy.symbols("z y")
    values = {z: sympy.Float(0.37, DIGITS), y: sympy.Float(-2.5, DIGITS)}
    for expr in (1 / (1 + sympy.exp(-z)), sympy.tanh(z) * y + sympy.log(1 + sympy.exp(y)), (z - y) ** 2 / 2,
                 sympy.Max(0, y) + sympy.sqrt(z), sympy.exp(sympy.exp(sympy.exp(z)))):
        assert _substitute(expr, values).evalf(DIGITS) == expr.xreplace(values).evalf(DIGITS)


# -- 2. gradients that underflow float64 ------------------------------------------------------
def test_check_refuses_gradients_that_underflow_float64():
    result = run("check", CHAIN_60, "--activation", "z/1000000")
    one_line_exit_2(result, "underflow float64", "the true ∂E/∂w_", "below 2e-308",
                    "the numeric check cannot tell the forms apart")
    assert "agree" not in result.stdout and "verdict" not in result.stdout


def test_derive_numeric_refuses_gradients_that_underflow_float64(tmp_path):
    result = run("derive", CHAIN_60, "--activation", "z/1000000", "--proof", "numeric", "-o", str(tmp_path / "out"))
    one_line_exit_2(result, "underflow float64", "the true ∂E/∂w_", "the numeric check cannot tell the forms apart")
    assert "agree" not in result.stdout
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_example_refuses_numbers_that_underflow_float64(tmp_path):
    result = run("example", CHAIN_60, "--activation", "z/1000000", "-o", str(tmp_path / "out"))
    one_line_exit_2(result, "underflow float64", "below 2.2e-308", "cross-checked as 0")
    assert result.stdout == "" and not (tmp_path / "out" / "example.md").exists()


def test_the_api_raises_the_underflow_as_an_input_problem():
    from symbackprop.api import derive
    from symbackprop.network.spec import SpecError
    from symbackprop.proof.prove import UnderflowError

    with pytest.raises(UnderflowError, match="underflow float64") as caught:
        derive(CHAIN_60, activation="z/1000000", proof="numeric")
    assert isinstance(caught.value, SpecError)


def _relu_net_with_exact_zeros():
    from symbackprop.derivation.chainrule import ChainRule
    from symbackprop.network.model import Model
    from symbackprop.network.spec import NetworkSpec
    from symbackprop.proof import numeric

    model = Model(NetworkSpec.parse("2-3-1", activation="relu"))
    gradient = numeric.complex_step_gradient(model, numeric.random_points(model, 3, seed=0))
    assert any(np.any(gradient[p] == 0) for p in model.parameters)  # dead neurons: exact zeros at seed 0
    return model, ChainRule(model)


def test_exact_zeros_of_a_dead_relu_neuron_still_pass():
    from symbackprop.proof.prove import verify

    model, chain = _relu_net_with_exact_zeros()
    checks = verify(model, chain, [chain.gradient(p, True) for p in chain.parameters], proof="numeric", seed=0).checks
    assert len(checks) == len(chain.parameters)


def test_exact_zeros_pass_even_where_an_underflow_was_met(monkeypatch):
    """With every block reporting an underflow, each zero is decided by its exact value (SymPy's
    floats, no exponent limit): relu's dead neurons are truly 0 and pass."""
    from symbackprop.proof import prove

    def always(self):
        self.seen = True
        return np.errstate()

    model, chain = _relu_net_with_exact_zeros()
    monkeypatch.setattr(prove._Underflows, "watch", always)
    verification = prove.verify(model, chain, [chain.gradient(p, True) for p in chain.parameters], proof="numeric", seed=0)
    assert len(verification.checks) == len(chain.parameters)


def test_a_wrong_gradient_is_still_caught_where_the_true_one_is_exactly_zero():
    from symbackprop.proof import numeric
    from symbackprop.proof.prove import VerificationError, verify

    model, chain = _relu_net_with_exact_zeros()
    gradients = [chain.gradient(p, False) for p in chain.parameters]  # no path sums: numbers alone decide
    truth = numeric.complex_step_gradient(model, numeric.random_points(model, 3, seed=0))
    dead = next(g for g in gradients if np.any(truth[g.parameter.symbol] == 0))
    dead.__dict__["delta_value"] = dead.delta_value + model.inputs[0] ** 2  # nonzero where the truth is 0
    with pytest.raises(VerificationError, match=f"delta form of {dead.parameter.symbol}"):
        verify(model, chain, gradients, proof="numeric", seed=0)


def test_ordinary_nets_pass_the_underflow_check(tmp_path):
    result = run("check", "2-3-2", "--activation", "relu", "--points", "5")
    assert result.returncode == 0, result.stderr
    assert "underflow" not in result.stderr


# -- 3. the reason the symbolic proof was skipped ----------------------------------------------
@pytest.mark.parametrize("spec", ["2-2-1", CHAIN_20])
def test_derive_says_the_symbolic_proof_was_skipped_because_numeric_was_asked(tmp_path, spec):
    result = run("derive", spec, "--proof", "numeric", "--format", "json", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "symbolic proof: skipped (--proof numeric was given)" in result.stdout
    assert "over 50" not in result.stdout


def test_the_skip_reason_of_a_large_network_is_its_size():
    from symbackprop.proof.prove import SYMBOLIC_LIMIT, Verification

    assert Verification({}, 0, 3, 0, False, proof="auto").skipped_because.startswith(f"over {SYMBOLIC_LIMIT} parameters")
    assert Verification({}, 0, 3, 0, False, proof="numeric").skipped_because == "--proof numeric was given"
    assert Verification({}, 0, 3, 0, True, proof="auto").skipped_because is None


@pytest.mark.parametrize("proof", ["numeric", "auto"])  # auto: proven, neither reason
def test_the_handouts_give_the_true_reason_too(proof):
    from symbackprop import derive
    from symbackprop.handout.render import render_html, render_latex, render_markdown

    derivation = derive("2-2-1", proof=proof)
    for render, numeric_words in ((render_markdown, "`--proof numeric` was given"),
                                  (render_latex, r"\texttt{-{}-proof numeric} was given"),
                                  (render_html, "<code>--proof numeric</code> was given")):
        text = render(derivation)
        assert (numeric_words in text) == (proof == "numeric"), render.__name__
        assert "networks above 50 parameters are checked numerically" not in text, render.__name__


def test_a_wrong_form_where_the_float64_truth_may_have_underflowed_is_still_a_failure(monkeypatch):
    """Where every block reports an underflow, a zero is settled by sympy.diff at the point past
    float64's range, not by the form under test: a wrong form nonzero where the truth is 0 is
    still a failed proof (exit 1), never excused as an underflow."""
    from symbackprop.proof import numeric, prove

    def always(self):
        self.seen = True
        return np.errstate()

    model, chain = _relu_net_with_exact_zeros()
    gradients = [chain.gradient(p, False) for p in chain.parameters]
    truth = numeric.complex_step_gradient(model, numeric.random_points(model, 3, seed=0))
    dead = next(g for g in gradients if np.any(truth[g.parameter.symbol] == 0))
    dead.__dict__["delta_value"] = dead.delta_value + model.inputs[0] ** 2
    monkeypatch.setattr(prove._Underflows, "watch", always)
    with pytest.raises(prove.VerificationError, match=str(dead.parameter.symbol)):
        prove.verify(model, chain, gradients, proof="numeric", seed=0)


def test_derive_still_names_the_size_when_auto_skips_the_symbolic_proof(tmp_path):
    result = run("derive", "-".join(["1"] * 52), "--format", "json", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "symbolic proof: skipped (over 50 parameters; use --proof symbolic to force it)" in result.stdout
