"""Custom activations: a formula in z through a whitelist grammar, never eval'd, derived by SymPy."""


import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import parse

from symbackprop import derive
from symbackprop.cli import main
from symbackprop.handout.render import derivation_json
from symbackprop.network.activations import custom_activation
from symbackprop.network.spec import NetworkSpec, SpecError


def test_a_custom_activation_is_derived_and_proven():
    derivation = derive("2-2-1", activation="z/(1+abs(z))")
    assert derivation.verification.symbolic and derivation.verification.max_rel_error < 1e-12
    data = derivation_json(derivation)
    assert data["activations"] == ["z/(1+abs(z))", "z/(1+abs(z))"]
    z = sympy.Symbol("z", real=True)
    out = sympy.Symbol("out_c_1", real=True)
    definition = sympy.sympify(data["definitions"]["out_c_1"], locals={"net_c_1": z})
    assert sympy.simplify(definition - z / (1 + sympy.Abs(z))) == 0
    assert out in parse(data["parameters"][0]["chain_rule"], data["definitions"]).free_symbols


def test_per_layer_list_with_commas_inside_a_formula():
    spec = NetworkSpec.parse("2-2-2-1", activation="tanh, max(0, z), sigmoid", bias=True)
    assert spec.activations == ("tanh", "max(0, z)", "sigmoid")
    derivation = derive(spec)
    assert derivation.verification.max_rel_error < 1e-12


def test_output_form_where_sympy_can_invert_the_formula():
    a = sympy.Symbol("a")
    assert sympy.expand(custom_activation("1/(1 + exp(-z))").in_output(a) - a * (1 - a)) == 0
    assert custom_activation("2*z").in_output(a) == 2
    assert custom_activation("z/(1+abs(z))").in_output is None  # not invertible by SymPy: written in z


def test_hostile_formulas_are_refused_and_not_evaluated(tmp_path, capsys):
    marker = tmp_path / "pwned"
    for text in (f'__import__("os").system("touch {marker}")', "z.__class__", "exec('1')", "z; import os", "lambda: 1"):
        with pytest.raises(SpecError):
            NetworkSpec.parse("2-2", activation=text)
        with pytest.raises(SystemExit) as stop:
            main(["derive", "2-2", "--activation", text, "-o", str(tmp_path)])
        assert stop.value.code == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not marker.exists()


def test_absurd_formulas_fail_fast():
    for text in ("z^(10^10)", "9^9^9^9", "(" * 500 + "z" + ")" * 500, "z" + "+z" * 5000):
        with pytest.raises(SpecError):
            NetworkSpec.parse("2-2", activation=text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="z0123456789+-*/^().,e xpsqrtlognabmi_'\"", max_size=25))
def test_random_formulas_parse_or_are_refused(text):
    try:
        spec = NetworkSpec.parse("1-1", activation=text)
    except SpecError as error:
        assert "\n" not in str(error)
    else:
        assert spec.activations == (text.strip(),) or spec.activations[0] in ("sigmoid", "tanh", "relu", "linear", "softplus")


@pytest.mark.parametrize("command", ["derive", "example", "codegen"])
def test_a_custom_output_activation_outside_0_1_is_refused_for_bce(command, tmp_path):
    target = ["-o", str(tmp_path / ("out.py" if command == "codegen" else "out"))]
    with pytest.raises(SystemExit) as stop:
        main([command, "3-4-2", "--activation", "z/(1+abs(z))", "--loss", "bce", *target])
    assert stop.value.code == 2
    with pytest.raises(SystemExit) as stop:  # the logistic function written out is fine
        main(["derive", "3-2", "--activation", "1/(1+exp(-z))", "--loss", "bce", "-q", "-o", str(tmp_path / "ok")])
    assert stop.value.code in (0, None)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40) | st.sampled_from(['__import__("os")', "eval('1')", "z.__class__", "exec", "S('z')"]))
def test_random_text_is_never_handed_to_an_evaluator(text):
    """With eval, exec and SymPy's string parser made to fail loudly, any text either parses
    through the grammar or is refused with a SpecError."""
    import builtins
    from unittest import mock

    import sympy.parsing.sympy_parser as sympy_parser

    import symbackprop.algebra.grammar  # noqa: F401  (imported before exec is disabled)
    import symbackprop.proof.numeric  # noqa: F401
    from symbackprop.network.activations import custom_activation as cached

    def forbidden(*args, **kwargs):
        raise AssertionError(f"user text reached an evaluator: {str(args[:1])[:200]}")

    cached.cache_clear()
    with mock.patch.object(builtins, "eval", forbidden), mock.patch.object(builtins, "exec", forbidden), \
            mock.patch.object(sympy_parser, "parse_expr", forbidden):
        try:
            NetworkSpec.parse("1-1", activation=text)
        except SpecError:
            pass


def test_sign_times_its_argument_is_abs_in_the_proofs():
    """sympy.diff of |u| is sign(u)·u'; the proofs write sign(u)·u as |u| on both sides (an identity
    for real u), which keeps the exact zero test from multiplying whole net inputs out."""
    import numpy as np

    from symbackprop.algebra.evaluate import evaluate
    from symbackprop.network.activations import sign_times_argument

    x, y = sympy.symbols("x y", real=True)
    expr = -3 * x * y * (x + y) * sympy.sign(x * (x + y)) + sympy.sign(y) * x
    rewritten = sign_times_argument(expr)
    assert rewritten == -3 * y * sympy.Abs(x * (x + y)) + sympy.sign(y) * x
    points = {x: np.array([-1.5, 0.0, 2.0, 0.5]), y: np.array([0.5, -2.0, 1.0, -0.5])}
    assert np.allclose(evaluate(expr, points), evaluate(rewritten, points), rtol=1e-15, atol=0)
    assert custom_activation("z/(1+abs(z))").almost_everywhere is sign_times_argument
    assert custom_activation("tanh(z)").almost_everywhere is None


def test_the_softsign_derivative_is_written_with_abs_not_sign():
    """sympy.diff of z/(1 + |z|) is 1/(1 + |z|) - z sign(z)/(1 + |z|)^2; the local factor is written
    1/(1 + |z|)^2 (sign(z)·z = |z|), and still proven against sympy.diff."""
    z = sympy.Symbol("z", real=True)
    derivative = custom_activation("z/(1+abs(z))").derivative(z)
    assert derivative == 1 / (1 + sympy.Abs(z)) ** 2
    truth = sympy.diff(z / (1 + sympy.Abs(z)), z)
    for value in (-2.5, -0.25, 0.75, 3):
        assert float(derivative.subs(z, value)) == pytest.approx(float(truth.subs(z, value)), rel=1e-14)
    d = derive("2-2-1", activation="z/(1+abs(z))")
    assert d.verification.factors_proven > 0 and not d.verification.unproven
    assert all("sign" not in p["chain_rule"] for p in derivation_json(d)["parameters"])


def test_softsign_two_hidden_layers_every_weight_proven_symbolically():
    derivation = derive("2-4-3-2", activation="z/(1+abs(z))")
    verification = derivation.verification
    assert verification.symbolic and not verification.unproven
    assert all(verification.method(g.parameter.symbol) == "symbolic" for g in derivation.gradients)
    assert len(derivation.gradients) == 26 and verification.max_rel_error < 1e-12


@pytest.mark.parametrize("formula, scale", [("tanh(1000*z)", 1e-3), ("1/(1+exp(-100*z))", 1e-2), ("tanh(z)", 1.0),
                                            ("1/(1+exp(-z))", 1.0), ("max(0, z)", 1.0), ("z/(1+abs(z))", 1.0)])
def test_random_points_are_scaled_only_for_activations_flat_at_order_one(formula, scale):
    from symbackprop.network.activations import ACTIVATIONS
    from symbackprop.proof.numeric import sensitive_scale

    assert sensitive_scale(custom_activation(formula)) == scale
    assert {sensitive_scale(a) for a in ACTIVATIONS.values()} == {1.0}
