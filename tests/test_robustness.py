"""Hostile input: no hang, no traceback, limits named up front, input problems are exit 2.

Each CLI case runs in a subprocess with a generous timeout that only guards against a hang; no
test asserts a speed.
"""

import subprocess
import sys

import pytest

from symbackprop.network.activations import custom_activation
from symbackprop.network.model import MAX_SYMBOLIC_PARAMETERS, Model
from symbackprop.network.spec import MAX_DEPTH, NetworkSpec, SpecError
from symbackprop.proof.prove import _identity

HANG = 240  # seconds: far beyond any of these runs, short of CI's patience


def run(*args, timeout=HANG):
    return subprocess.run([sys.executable, "-m", "symbackprop", *args], capture_output=True, text=True,
                          timeout=timeout)


def one_line_exit_2(result, *words):
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.mark.parametrize("spec, words", [
    ("1" * 5000 + "-2", ["more than 7 digits"]),
    ("-".join(["1"] * 1000), [f"at most {MAX_DEPTH}"]),
    ("1414-1414", ["1,999,396 parameters", f"{MAX_SYMBOLIC_PARAMETERS:,}"]),
])
def test_specs_beyond_the_machine_are_refused_up_front(tmp_path, spec, words):
    one_line_exit_2(run("derive", spec, "--format", "json", "-o", str(tmp_path)), *words)
    assert not list(tmp_path.iterdir())


def test_model_refuses_a_network_too_large_for_symbols():
    with pytest.raises(SpecError, match="codegen"):
        Model(NetworkSpec.parse("1414-1414"))


def test_a_deep_chain_is_derived_with_its_identity_checks_bounded(tmp_path):
    """1-1-...-1 with 40 computed layers: every path-sum identity is exponential to expand; they are
    given up within their budget and the numeric check stands."""
    result = run("derive", "-".join(["1"] * 41), "--proof", "numeric", "--format", "json", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "all 40 agree" in result.stdout


@pytest.mark.parametrize("formula", ["exp(30*z)", "1/(1+exp(-100*z))", "tanh(1000*z)", "(1+z)^(15/16)",
                                     "((z+1)^16+1)^16"])
def test_inverting_a_custom_activation_gives_up_instead_of_hanging(formula):
    """sympy.solve ran for minutes and gigabytes on these; now the output form is None or proven."""
    activation = custom_activation(formula)
    if activation.in_output is not None:  # when found, it is g' written in a = g(z): check at a point
        import sympy

        z = sympy.Symbol("z", real=True)
        g = activation.formula(z)
        at = {z: sympy.Rational(1, 7)}
        assert abs(float((activation.in_output(g) - sympy.diff(g, z)).subs(at))) < 1e-9


@pytest.mark.parametrize("formula", ["exp(30*z)", "sqrt(z)", "log(z)"])
def test_random_points_outside_the_activations_domain_are_an_input_problem(tmp_path, formula):
    result = run("derive", "2-2-1", "--activation", formula, "--format", "json", "-o", str(tmp_path))
    if result.returncode == 0:  # the points happened to stay inside the domain: then all agreed
        assert "agree" in result.stdout
    else:
        one_line_exit_2(result, "not a finite number")


def test_a_learning_rate_of_minus_infinity_is_refused_before_any_model(tmp_path):
    one_line_exit_2(run("example", "784-128-64-10", "--lr", "-inf", "-o", str(tmp_path)), "finite")


def test_identity_is_exact_when_cheap_and_gives_up_otherwise():
    import sympy

    a, b = sympy.symbols("a b")
    assert _identity(a * b + a, a * (b + 1)) is True
    assert _identity(a * b, a * (b + 1)) is False
    assert _identity(a * b, a * b, seconds=0) is None  # no time left: not decided, never "different"


def test_an_exercise_sheet_with_only_is_one_line_exit_2(tmp_path):
    """The sheet draws its tasks from every weight; --only used to end in an IndexError."""
    one_line_exit_2(run("derive", "2-2-1", "--exercise", "--only", "w_11", "-o", str(tmp_path)), "--only")
    assert not list(tmp_path.iterdir())
