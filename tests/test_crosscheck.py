"""symbackprop check: every method agrees on correct code and the check notices a wrong one."""

import importlib.util

import numpy as np
import pytest
from click.testing import CliRunner
from test_codegen import reference_gradient

from symbackprop import derive
from symbackprop.cli.numbers import check
from symbackprop.network.model import Model
from symbackprop.network.spec import NetworkSpec
from symbackprop.numbers import crosscheck as module
from symbackprop.numbers.crosscheck import central_differences, crosscheck, report
from symbackprop.proof.numeric import random_points


def test_all_methods_agree_on_a_small_network():
    result = crosscheck(derive("2-4-3-2", proof="numeric", bias=True), points=2, autograd="none")
    assert result.methods == ("chain rule", "sympy.diff", "lambdified", "generated code")
    assert result.agree and result.max_rel_error < 1e-13
    assert result.fd_max_rel_error < 1e-6
    assert len(result.parameters) == 35
    lines = report(result)
    assert any(line.startswith("  w_31 ") for line in lines)
    assert lines[-1].startswith("verdict: agree: the 4 exact methods agree within 1e-07 relative")
    assert any("the 1e-07 verdict is about the exact methods" in line for line in lines)


def test_sympy_diff_is_skipped_above_50_parameters_and_said_so():
    result = crosscheck(derive("4-8-3", proof="numeric"), points=1, autograd="none")  # 56 weights
    assert "sympy.diff" not in result.methods
    assert result.skipped[0][0] == "sympy.diff" and "56 parameters" in result.skipped[0][1]
    assert any("sympy.diff: skipped: 56 parameters" in line for line in report(result))


def test_central_differences_agree_with_an_independent_reference():
    model = Model(NetworkSpec.parse("3-4-2", activation="tanh", loss="ce", bias=True))
    values = random_points(model, 2, seed=1)
    fd, losses = central_differences(model, values)
    for point in range(2):
        W = [np.array([[values[s][point] for s in row] for row in model.weights[k]]) for k in (1, 2)]
        b = [np.array([values[s][point] for s in model.biases[k]]) for k in (1, 2)]
        x = [values[s][point] for s in model.inputs]
        y = [values[s][point] for s in model.targets]
        reference = reference_gradient(W, b, x, y, model.spec.activations, "ce")
        for k in (1, 2):
            ours = np.array([[fd[s][point] for s in row] for row in model.weights[k]])
            np.testing.assert_allclose(ours, reference["W"][k - 1], rtol=1e-6, atol=1e-9)


def test_a_wrong_method_is_caught(monkeypatch):
    original = module.generated_values

    def off_by_a_little(model, values):
        result = original(model, values)
        result[model.weights[2][0][0]] = result[model.weights[2][0][0]] * (1 + 1e-6)
        return result

    monkeypatch.setattr(module, "generated_values", off_by_a_little)
    result = crosscheck(derive("2-3-1", proof="numeric"), points=2, autograd="none")
    assert not result.agree and not result.exact_agree and result.fd_agree
    assert [p.name for p in result.parameters if p.max_rel > module.TOLERANCE] == ["w_21"]
    assert "verdict: DISAGREE: the exact methods differ by more than 1e-07 for 1 parameter (w_21)" in report(result)[-1]
    runner = CliRunner()
    assert runner.invoke(check, ["2-3-1", "--points", "2", "--autograd", "none"]).exit_code == 1


def test_large_networks_get_a_per_layer_summary():
    result = crosscheck(derive("6-12-4", proof="numeric", bias=True), points=1, autograd="none")
    lines = report(result)
    assert any(line.split()[:2] == ["1", "84"] for line in lines)  # layer 1: 72 weights + 12 biases
    assert any("the 10 parameters with the largest errors:" in line for line in lines)
    assert result.agree


@pytest.mark.skipif(not any(importlib.util.find_spec(n) for n in ("torch", "autograd")), reason="no autograd library installed")
def test_an_autograd_library_agrees():
    result = crosscheck(derive("3-4-2", proof="numeric", activation="z/(1+abs(z)),softmax", loss="ce", bias=True), points=2)
    assert len(result.methods) == 5 and result.methods[-1].split()[0] in ("torch", "autograd")
    assert result.agree


def test_check_command_prints_a_table_and_a_verdict():
    result = CliRunner().invoke(check, ["2-3-1", "--points", "2", "--autograd", "none"])
    assert result.exit_code == 0, result.output
    assert "symbackprop check 2-3-1: 9 parameters at 2 random points (seed 0), float64" in result.output
    assert "verdict: agree" in result.output
    bad = CliRunner().invoke(check, ["2-0-1"])
    assert bad.exit_code == 2
