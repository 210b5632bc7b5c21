"""Numbers for the proofs: random points, evaluation, the forward pass and the complex-step gradient.

* ``random_points``: seeded random values for the primary symbols (inputs, targets, weights, biases);
* ``ForwardPass``: E_total in NumPy, layer by layer with matrix products, from the model's
  definitions alone (it knows nothing of the backward pass);
* ``complex_step_gradient``: ∂E_total/∂p for every parameter p by the complex-step method,
  f'(x) = Im f(x + ih) / h, exact to rounding (no subtractive cancellation, unlike finite
  differences), so a chain-rule form can be checked to 1e-9 relative on networks far too large
  for ``sympy.diff`` of the expanded E_total.

>>> from symbackprop.network.spec import NetworkSpec
>>> from symbackprop.network.model import Model
>>> model = Model(NetworkSpec.parse("2-3-1"))
>>> values = random_points(model, 2, seed=0)
>>> grad = complex_step_gradient(model, values)
>>> w = model.weights[2][0][0]
>>> truth = evaluate(sympy.diff(model.expanded_loss, w), values)
>>> bool(np.allclose(grad[w], truth, rtol=1e-12, atol=0))
True
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import Iterable, Mapping

import sympy

from ..algebra.evaluate import evaluate
from ..algebra.lazy import numpy as np
from ..network.activations import ACTIVATIONS, Activation
from ..network.model import Model

STEP = 1e-20  # complex step; any tiny h works, there is no cancellation to balance against
# below this, h·∂E/∂p, the imaginary part the complex step reads the gradient from, is subnormal
# (digits lost) or 0 in float64: such a gradient is no number to check against (prove._check_underflow)
SMALLEST_GRADIENT = sys.float_info.min / STEP  # float64's smallest normal number (np.finfo(float).tiny)
_CHUNK_ENTRIES = 1_000_000  # complex entries per batch of perturbed forward passes (16 MB)

def random_points(model: Model, n: int, seed: int = 0) -> dict[sympy.Symbol, np.ndarray]:
    """``n`` seeded random values for every primary symbol: inputs in [-1, 1], the weights into a
    layer of fan-in m in [-2s/√m, 2s/√m] (so net inputs stay of order s and no sigmoid saturates,
    however wide the layer), biases in [-s/2, s/2], targets in [0.05, 0.95] (valid for every loss);
    s is the layer's activation's ``sensitive_scale``, 1 but for a custom activation such as
    tanh(1000 z), which would be flat (saturated) at every point with s = 1."""
    rng = np.random.default_rng(seed)
    values: dict[sympy.Symbol, np.ndarray] = {}
    for symbol in model.inputs:
        values[symbol] = rng.uniform(-1.0, 1.0, n)
    for symbol in model.targets:
        values[symbol] = rng.uniform(0.05, 0.95, n)
    for k in range(1, model.spec.depth + 1):
        sensitive = sensitive_scale(model.activation(k))
        scale = 2.0 * sensitive / np.sqrt(model.spec.layers[k - 1])
        weights = [symbol for row in model.weights[k] for symbol in row]
        drawn = rng.uniform(-scale, scale, (len(weights), n))  # the same numbers as one draw per weight, in order
        values.update(zip(weights, drawn))
        if model.biases:
            for symbol in model.biases[k]:
                values[symbol] = rng.uniform(-0.5 * sensitive, 0.5 * sensitive, n)
    return values


SCALES = tuple(10.0**-k for k in range(7))  # the net-input scales tried by ``sensitive_scale``
_FLAT = 1e-6  # g' below this fraction of its largest value on a range: g is flat (saturated) there


@lru_cache(maxsize=256)
def sensitive_scale(activation: Activation) -> float:
    """The scale s of net inputs (1, 0.1, ..., 1e-6) where ``activation`` is not flat: the
    largest s at which g' is nowhere on [-4s, 4s] below a millionth of its largest value there
    (or as rarely as at any scale, for relu's exact zeros). At random points on that scale the
    numeric check compares gradients, not zeros and float64's rounding of saturated values. The
    registry's activations are made for s = 1 and are not probed.

    >>> from symbackprop.network.activations import custom_activation
    >>> sensitive_scale(custom_activation("tanh(1000*z)")), sensitive_scale(custom_activation("z/(1+abs(z))"))
    (0.001, 1.0)
    """
    if activation.name in ACTIVATIONS:
        return 1.0
    z = sympy.Dummy("z", real=True)
    derivative = activation.derivative(z)
    grid = np.linspace(-4.0, 4.0, 161)
    alive = []
    with np.errstate(all="ignore"):
        for s in SCALES:
            slope = np.abs(np.broadcast_to(evaluate(derivative, {z: s * grid}), grid.shape))
            slope = np.where(np.isfinite(slope), slope, 0.0)
            alive.append(float(np.mean(slope > _FLAT * slope.max())) if slope.max() > 0 else 0.0)
    best = max(alive)
    return next(s for s, fraction in zip(SCALES, alive) if fraction >= best - 0.01)


def as_distribution(model: Model, values: dict, decimals: int | None = None) -> dict:
    """``values`` with the targets made a probability distribution (summing to 1) when the loss is
    cross-entropy, as a worked example's targets should be; other losses' targets are unchanged.
    With ``decimals``, the targets are rounded and the last is 1 minus the others.

    >>> from symbackprop.network.spec import NetworkSpec
    >>> model = Model(NetworkSpec.parse("2-3", loss="ce"))
    >>> points = as_distribution(model, random_points(model, 1), decimals=2)
    >>> round(float(sum(points[t][0] for t in model.targets)), 12)
    1.0
    """
    if not model.loss_function.targets_sum_to_one:
        return values
    targets = np.array([values[t] for t in model.targets], dtype=float)
    targets = targets / targets.sum(axis=0)
    if decimals is not None:
        targets = np.round(targets, decimals)
        targets[-1] = np.round(1.0 - targets[:-1].sum(axis=0), decimals)
    return {**values, **dict(zip(model.targets, targets))}


def numpy_activation(activation, size: int):
    """The activation of a layer of ``size`` neurons as a NumPy function of the net-input matrix
    (one row per sample), evaluated from its SymPy formula by ``evaluate`` (real or complex).

    >>> from symbackprop.network.activations import ACTIVATIONS
    >>> numpy_activation(ACTIVATIONS["softmax"], 2)(np.array([[0.0, 0.0]]))
    array([[0.5, 0.5]])
    """
    nets = [sympy.Dummy(f"z{j}", real=True) for j in range(size if activation.mixes else 1)]
    outputs = activation.outputs(nets)
    if not activation.mixes:
        return lambda Z: evaluate(outputs[0], {nets[0]: np.asarray(Z)})

    def layer(Z):
        Z = np.asarray(Z)
        values, memo = {net: Z[..., j] for j, net in enumerate(nets)}, {}
        return np.stack(np.broadcast_arrays(*(evaluate(out, values, memo) for out in outputs)), axis=-1)

    return layer


class ForwardPass:
    """E_total in NumPy, per layer: z^[k] = a^[k-1] W^[k] + b^[k], a^[k] = g(z^[k]).

    Built from the activation formulas and the loss of the model only, so it is an independent
    check on anything derived by the chain rule. Works with complex numbers (complex step).
    """

    def __init__(self, model: Model):
        self.model = model
        self.activations = [None] + [
            numpy_activation(model.activation(k), model.spec.layers[k]) for k in range(1, model.spec.depth + 1)
        ]
        outs, targets, loss = model.out[-1], model.targets, model.loss
        self.loss = lambda A, y: evaluate(loss, {**dict(zip(outs, A)), **dict(zip(targets, y))})

    def matrices(self, values: Mapping[sympy.Symbol, np.ndarray], point: int, weights: list | None = None):
        """(x, y, W, b) at one point, W[k] of shape n_{k-1} × n_k and b[k] of shape n_k (row-vector layout);
        ``weights`` is ``self.weights(values)``, when it was gathered already for all points."""
        m = self.model
        take = lambda symbols: np.array([values[s][point] for s in symbols], dtype=float)  # noqa: E731
        weights = self.weights(values) if weights is None else weights
        W = [None] + [weights[k][point] for k in range(1, m.spec.depth + 1)]
        b = [None] + [
            take(m.biases[k]) if m.biases else np.zeros(m.spec.layers[k]) for k in range(1, m.spec.depth + 1)
        ]
        return take(m.inputs), take(m.targets), W, b

    def weights(self, values: Mapping[sympy.Symbol, np.ndarray]) -> list:
        """W^[k] at every point, points × n_{k-1} × n_k (each point's matrix contiguous), for k = 1..L."""
        gathered = [None]
        for rows in self.model.weights[1:]:
            stacked = np.array([[np.asarray(values[s], dtype=float) for s in row] for row in rows], dtype=float)
            gathered.append(np.ascontiguousarray(stacked.reshape(len(rows), len(rows[0]), -1).transpose(2, 0, 1)))
        return gathered

    def from_layer(self, z: np.ndarray, layer: int, y: np.ndarray, W, b) -> np.ndarray:
        """E_total for each row of ``z``, taken as the net input of ``layer``."""
        a = self.activations[layer](z)
        for k in range(layer + 1, self.model.spec.depth + 1):
            a = self.activations[k](a @ W[k] + b[k])
        a = np.broadcast_to(a, z.shape) if np.ndim(a) == 0 else a
        return np.asarray(self.loss(list(a.T), list(y)))


def complex_step_gradient(model: Model, values: Mapping[sympy.Symbol, np.ndarray]) -> dict[sympy.Symbol, np.ndarray]:
    """∂E_total/∂p at every point, for every weight and bias p, by the complex-step method.

    Perturbing w_ij by ih changes only z_j of its layer, by ih·a_i, so all weights of a layer are
    done as one batch of forward passes that start at that layer.
    """
    forward = ForwardPass(model)
    n_points = len(next(iter(values.values())))
    depth = model.spec.depth
    # per layer, one row per perturbed net input: every (source i, target j) of W^[k], then each bias's j
    derivatives = [None] + [np.zeros((model.spec.layers[k - 1] * model.spec.layers[k]
                                      + (model.spec.layers[k] if model.biases else 0), n_points)) for k in range(1, depth + 1)]
    weights = forward.weights(values)
    for point in range(n_points):
        y, W, b, a = _outputs(forward, values, point, weights)
        for k in range(1, depth + 1):
            z = a[k - 1] @ W[k] + b[k]
            n_in, n_out = W[k].shape
            # one perturbed row per (source i, target j): z + ih·a_i·e_j, source-major; then the biases
            targets = np.tile(np.arange(n_out), n_in)
            sizes = np.repeat(a[k - 1], n_out)
            if model.biases:
                targets, sizes = np.concatenate([targets, np.arange(n_out)]), np.concatenate([sizes, np.ones(n_out)])
            chunk = max(1, _CHUNK_ENTRIES // max(model.spec.layers[k:]))
            for start in range(0, len(targets), chunk):
                stop = min(start + chunk, len(targets))
                Z = np.tile(z.astype(complex), (stop - start, 1))
                Z[np.arange(stop - start), targets[start:stop]] += 1j * STEP * sizes[start:stop]
                derivatives[k][start:stop, point] += forward.from_layer(Z, k, y, W, b).imag / STEP
    gradient: dict[sympy.Symbol, np.ndarray] = {}
    for k in range(1, depth + 1):
        n_in, n_out = model.spec.layers[k - 1], model.spec.layers[k]
        gradient.update(zip((w for row in model.weights[k] for w in row), derivatives[k][: n_in * n_out]))
        if model.biases:  # a shared bias sums its neurons' parts, in order
            for j, bias in enumerate(model.biases[k]):
                gradient[bias] = gradient[bias] + derivatives[k][n_in * n_out + j] if bias in gradient else \
                    0.0 + derivatives[k][n_in * n_out + j]
    return {p: gradient[p] for p in model.parameters}


def _outputs(forward: ForwardPass, values, point: int, weights) -> tuple:
    """At one point: the targets, the weight matrices and biases, and every layer's outputs a^[k]."""
    x, y, W, b = forward.matrices(values, point, weights)
    a = [x]
    for k in range(1, forward.model.spec.depth + 1):
        a.append(np.asarray(forward.activations[k](a[k - 1] @ W[k] + b[k]), dtype=float))
    return y, W, b, a


def complex_step_of(model: Model, values: Mapping[sympy.Symbol, np.ndarray], parameters) -> dict[sympy.Symbol, np.ndarray]:
    """``complex_step_gradient`` for a few ``parameters`` (chain-rule ``Parameter``s) alone: the
    same forward pass and z_j + ih·a_i at each net input a parameter feeds (a shared bias's parts
    summed in order), one perturbed row each instead of a whole layer's batch.

    >>> from symbackprop.network.spec import NetworkSpec
    >>> from symbackprop.derivation.chainrule import ChainRule
    >>> model = Model(NetworkSpec.parse("40-30-1"))
    >>> chain, values = ChainRule(model), random_points(model, 2, seed=0)
    >>> p = chain.parameters[-1]
    >>> mine, every = complex_step_of(model, values, [p]), complex_step_gradient(model, values)
    >>> bool(np.allclose(mine[p.symbol], every[p.symbol], rtol=1e-13, atol=0))
    True
    """
    forward = ForwardPass(model)
    n_points = len(next(iter(values.values())))
    weights = forward.weights(values)
    found = {p.symbol: np.zeros(n_points) for p in parameters}
    for point in range(n_points):
        y, W, b, a = _outputs(forward, values, point, weights)
        nets: dict[int, np.ndarray] = {}  # layer k's net inputs at this point, as one complex row
        for p in parameters:
            total = 0.0
            for neuron in p.feeds:
                k = neuron.layer
                if k not in nets:
                    nets[k] = (a[k - 1] @ W[k] + b[k]).astype(complex)[np.newaxis, :]
                Z = nets[k].copy()
                Z[0, neuron.index] += 1j * STEP * (a[k - 1][p.source.index] if p.kind == "weight" else 1.0)
                total = total + forward.from_layer(Z, k, y, W, b).imag[0] / STEP
            found[p.symbol][point] = total
    return found


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max over points of |a - b| / max(|a|, |b|), 0 where both are 0; nan where either is not a
    finite number (nan beside nan is no agreement).

    >>> relative_error(np.array([2.0, 0.0]), np.array([2.5, 0.0])), relative_error(np.nan, np.nan)
    (0.2, nan)
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        error = np.where(scale > 0, np.abs(a - b) / np.where(scale > 0, scale, 1.0), 0.0)
        error = np.where(np.isfinite(a) & np.isfinite(b), error, np.nan)
    return float(np.max(error)) if error.size else 0.0


def worst_error(errors: Iterable[float]) -> float:
    """The largest of ``errors``, nan (a value that was not a number) above all: the builtin max
    keeps or drops a nan depending on where it stands.

    >>> worst_error([0.0, float("nan"), 1e-16]), worst_error([2e-16, 1e-16]), worst_error([])
    (nan, 2e-16, 0.0)
    """
    errors = np.asarray(list(errors), dtype=float)
    return float(np.max(errors)) if errors.size else 0.0


def relative_errors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``relative_error`` of each row of ``a`` against the same row of ``b`` (rows × points).

    >>> relative_errors(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([[2.5, 0.0], [1.0, 1.0]])).tolist()
    [0.2, 0.0]
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        error = np.where(scale > 0, np.abs(a - b) / np.where(scale > 0, scale, 1.0), 0.0)
    return error.max(axis=1) if error.shape[1] else np.zeros(error.shape[0])
