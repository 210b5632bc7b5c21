"""Lambdified loss and gradient: against independent finite differences and the complex-step
derivative, in both modes (one scalar function, and per layer from the matrix form)."""

import inspect

import numpy as np
import pytest
from test_codegen import reference_gradient, reference_loss

from symbackprop import derive
from symbackprop.numbers import lambdified
from symbackprop.numbers.lambdified import (
    gradient_function,
    loss_function,
    params_from_values,
)
from symbackprop.proof.numeric import (
    complex_step_gradient,
    random_points,
    relative_error,
)

CASES = [("2-4-3-2", {}), ("3-4-2", dict(activation="tanh", loss="ce", bias=True)),
         ("3-3-2", dict(activation="relu,sigmoid", loss="bce", bias=True)),
         ("3-3-3", dict(activation="z/(1+abs(z)),softmax", loss="mse"))]


@pytest.fixture(params=["scalar", "layers"])
def mode(request, monkeypatch):
    if request.param == "layers":
        monkeypatch.setattr(lambdified, "SCALAR_LIMIT", 0)
    return request.param


@pytest.mark.parametrize("spec, options", CASES)
def test_gradient_and_loss_against_finite_differences(spec, options, mode):
    d = derive(spec, proof="numeric", **options)
    gradient, loss = gradient_function(d), loss_function(d)
    assert gradient.mode == mode
    rng = np.random.default_rng(11)
    W = [rng.uniform(-1, 1, (m, n)) for m, n in zip(d.spec.layers, d.spec.layers[1:])]
    b = [rng.uniform(-0.5, 0.5, n) for n in d.spec.layers[1:]] if d.spec.bias else None
    x, y = rng.uniform(-1, 1, d.spec.layers[0]), rng.uniform(0.05, 0.95, d.spec.layers[-1])
    params = {"x": x.tolist(), "y": y.tolist(), "W": W, "b": b}
    assert loss(params) == pytest.approx(reference_loss(W, b, x, y, d.spec.activations, d.spec.loss), rel=1e-12)
    reference = reference_gradient(W, b, x, y, d.spec.activations, d.spec.loss)
    ours = gradient(params)
    for key in ("W", "b"):
        if b is None and key == "b":
            assert ours["b"] is None
            continue
        for mine, theirs in zip(ours[key], reference[key]):
            np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("spec, options", CASES[:2])
def test_batch_is_the_mean_and_at_matches_the_complex_step(spec, options, mode):
    d = derive(spec, proof="numeric", **options)
    gradient, loss = gradient_function(d), loss_function(d)
    values = random_points(d.model, 4, seed=2)
    truth = complex_step_gradient(d.model, values)
    at = gradient.at(values)
    assert max(relative_error(at[p], truth[p]) for p in d.model.parameters) < 1e-12

    params = params_from_values(d.model, values, 0)
    X = np.array([[values[s][i] for s in d.model.inputs] for i in range(4)])
    Y = np.array([[values[s][i] for s in d.model.targets] for i in range(4)])
    batch = gradient(params, X, Y)
    singles = [gradient(params, X[i], Y[i]) for i in range(4)]
    for k in range(d.spec.depth):
        np.testing.assert_allclose(batch["W"][k], np.mean([s["W"][k] for s in singles], axis=0), rtol=1e-12, atol=1e-15)
    losses = loss(params, X, Y)
    assert losses.shape == (4,)
    np.testing.assert_allclose(losses, [loss(params, X[i], Y[i]) for i in range(4)], rtol=1e-13)
    assert isinstance(loss(params), float)


def test_scalar_mode_lambdifies_the_chain_rule_not_sympy_diff():
    d = derive("2-3-1", proof="numeric", bias=True)
    source = inspect.getsource(gradient_function(d).scalar)
    # the forward definitions are lambdify's common subexpressions, in dependency order
    assert source.index("net_b_1 = ") < source.index("out_b_1 = ") < source.index("net_c_1 = ")
    assert "Derivative" not in source
    large = derive("4-10-10-2", proof="numeric")  # 160 parameters: delta forms, so the deltas appear
    assert "delta_b_1 = " in inspect.getsource(gradient_function(large).scalar)


def test_values_and_params_round_trip():
    d = derive("2-2", proof="numeric", bias=True)
    values = random_points(d.model, 3, seed=4)
    params = params_from_values(d.model, values, 2)
    back = lambdified.values_from_params(d.model, params)
    assert back == {s: float(values[s][2]) for s in d.model.primary}
