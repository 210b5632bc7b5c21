"""NumPy functions lambdified from a derivation: the loss and the full gradient.

``loss_function(derivation)`` and ``gradient_function(derivation)`` return callables that take a
params dict in the params-file layout (DESIGN §2)::

    f(params, x=None, y=None)
    params = {"x": [...], "y": [...], "W": [W1, W2, ...], "b": [b1, ...]}   # "b" only with biases

``x`` and ``y`` default to ``params["x"]`` and ``params["y"]``; each is one sample (shape (n0,),
(nL,)) or a batch of rows (shape (n, n0), (n, nL)). The loss function returns E_total per sample
(a float for one sample, shape (n,) for a batch); the gradient function returns the gradient of
the batch mean, ``{"W": [arrays n_{k-1} × n_k], "b": [arrays n_k] or None}``, the layout of params.
``.at(values)`` evaluates either at the random points of ``numeric.random_points`` instead
(one array per primary symbol, weights included), returning one array over the points per symbol.

What is lambdified is the chain rule, never ``sympy.diff``:

* **scalar** (networks of at most ``SCALAR_LIMIT`` parameters): one ``sympy.lambdify`` of every
  parameter's chain-rule form (its path sum where the derivation writes the paths out, else its
  delta form δ_j · out_i). The common subexpressions are the network's own definitions, so
  lambdify's ``cse`` is given them in dependency order (every net input and output, forward, then
  every delta, backward), each layer's group further reduced by ``sympy.cse``. Letting
  ``sympy.cse`` rediscover that structure in the fully substituted forms takes 15 s at 4-16-16-4
  and grows with the depth;
* **layers** (larger networks): one small lambdified function per layer and step, from the
  derivation's matrix form (seed 001): z^[k] = a^[k-1] W^[k] + b^[k] and the activation; the
  output deltas from their chain-rule definitions; g^[ka] = g^[k+1,z] (W^[k+1])^T,
  g^[kz] = g'(z^[k]) ∘ g^[ka] with the local factor ∂out/∂net, and g^[kW] = (a^[k-1])^T g^[kz].
  Every matrix entry is proven equal to the scalar chain rule when the derivation is verified.
  A scalar function of 784-30-10's 23,820 gradients takes 7 s to lambdify; per layer it is instant.

>>> from symbackprop import derive
>>> d = derive("2-2-1", proof="numeric")
>>> params = {"x": [1.0, -1.0], "y": [0.5], "W": [[[0.1, 0.2], [0.3, 0.4]], [[0.5], [0.6]]]}
>>> round(loss_function(d)(params), 6)
0.00736
>>> gradient = gradient_function(d)(params)
>>> [w.shape for w in gradient["W"]], gradient["b"]
([(2, 2), (2, 1)], None)
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import sympy

SCALAR_LIMIT = 2_000  # parameters; above it, lambdify per layer from the matrix form
MODULES = "numpy"


# -- params layout <-> primary symbols ------------------------------------------------------
def values_from_params(model, params: Mapping, x=None, y=None) -> dict:
    """The primary symbols' values from a params dict: inputs and targets as arrays over the
    samples (or floats), weights and biases as floats.

    >>> from symbackprop.network.spec import NetworkSpec
    >>> from symbackprop.network.model import Model
    >>> m = Model(NetworkSpec.parse("1-1"))
    >>> values_from_params(m, {"x": [2.0], "y": [1.0], "W": [[[0.5]]]})
    {out_a_1: 2.0, target_b_1: 1.0, w_11: 0.5}
    """
    x = np.asarray(params["x"] if x is None else x, dtype=float)
    y = np.asarray(params["y"] if y is None else y, dtype=float)
    values = {}
    for symbols, data in ((model.inputs, x), (model.targets, y)):
        for j, symbol in enumerate(symbols):
            values[symbol] = float(data[j]) if data.ndim == 1 else data[:, j]
    for k in range(1, model.spec.depth + 1):
        W = np.asarray(params["W"][k - 1], dtype=float)
        for i, row in enumerate(model.weights[k]):
            for j, symbol in enumerate(row):
                values[symbol] = float(W[i, j])
        if model.biases:
            b = np.asarray(params["b"][k - 1], dtype=float)
            for j, symbol in enumerate(model.layer_biases(k)):
                values[symbol] = float(b[j])
    return values


def params_from_values(model, values: Mapping, point: int) -> dict:
    """The params dict (x, y, W, b as nested lists) at one of the points of ``values``.

    >>> from symbackprop.network.spec import NetworkSpec
    >>> from symbackprop.network.model import Model
    >>> from symbackprop.proof.numeric import random_points
    >>> m = Model(NetworkSpec.parse("2-1"))
    >>> sorted(params_from_values(m, random_points(m, 2), 1))
    ['W', 'b', 'x', 'y']
    """
    take = lambda symbols: [float(values[s][point]) for s in symbols]  # noqa: E731
    depth = model.spec.depth
    return {
        "x": take(model.inputs),
        "y": take(model.targets),
        "W": [[take(row) for row in model.weights[k]] for k in range(1, depth + 1)],
        "b": [take(model.layer_biases(k)) for k in range(1, depth + 1)] if model.biases else None,
    }


def _samples(params: Mapping, x, y) -> tuple[np.ndarray, np.ndarray, bool]:
    x = np.asarray(params["x"] if x is None else x, dtype=float)
    y = np.asarray(params["y"] if y is None else y, dtype=float)
    single = x.ndim == 1
    return x.reshape(1, -1) if single else x, y.reshape(1, -1) if single else y, single


# -- scalar mode: one lambdified function of the primary symbols ----------------------------
def _staged_cse(stages: Sequence[Sequence[tuple]], reduce_stage: Sequence[bool]):
    """A ``cse`` for ``sympy.lambdify`` that returns the given definitions, stage by stage in
    dependency order, each stage (and the final expressions) reduced by ``sympy.cse``."""

    def cse(exprs):
        names = sympy.numbered_symbols("_t")
        replacements = []
        for stage, reduce in zip(stages, reduce_stage):
            if not reduce:
                replacements += list(stage)
                continue
            shared, reduced = sympy.cse([e for _, e in stage], symbols=names, order="none")
            replacements += shared + [(symbol, e) for (symbol, _), e in zip(stage, reduced)]
        single = isinstance(exprs, sympy.Basic)
        shared, reduced = sympy.cse([exprs] if single else list(exprs), symbols=names, order="none")
        return replacements + shared, reduced[0] if single else reduced

    return cse


def _forward_stages(model) -> tuple[list, list]:
    """The forward definitions as stages: each layer's net inputs (not reduced), then its outputs."""
    stages, reduce = [], []
    for k in range(1, model.spec.depth + 1):
        stages.append([(net, model.definitions[net]) for net in model.net[k]])
        stages.append([(out, model.definitions[out]) for out in model.out[k]])
        reduce += [False, True]
    return stages, reduce


def chain_rule_forms(derivation) -> list[sympy.Expr]:
    """Each parameter's chain-rule form in ``model.parameters`` order: the path sum where the
    derivation wrote the paths out, else δ_j · (∂net_j/∂p)."""
    derived = {g.parameter.symbol: g for g in derivation.gradients}
    chain, forms = derivation.chain, []
    for symbol in derivation.model.parameters:
        gradient = derived.get(symbol) or chain.gradient(_parameter(chain, symbol), with_paths=False)
        forms.append(gradient.path_sum if gradient.paths is not None else gradient.delta_value)
    return forms


def _parameter(chain, symbol):
    return next(p for p in chain.parameters if p.symbol == symbol)


# -- layers mode: per-layer functions from the matrix form ----------------------------------
def _of_net(expr: sympy.Expr, net: sympy.Symbol):
    """A neuron's ``expr`` of its net symbol as an elementwise NumPy function of the net inputs."""
    z = sympy.Dummy("z")
    function = sympy.lambdify([z], expr.xreplace({net: z}), MODULES)
    return lambda Z: np.broadcast_to(function(Z), np.shape(Z))


def _elementwise(expr: sympy.Expr, out: sympy.Symbol, net: sympy.Symbol):
    """``expr`` of one neuron's out and net symbols as an elementwise NumPy function f(a, z)."""
    a, z = sympy.Dummy("a"), sympy.Dummy("z")
    function = sympy.lambdify([a, z], expr.xreplace({out: a, net: z}), MODULES)
    return lambda A, Z: np.broadcast_to(function(A, Z), np.shape(Z))


def _columns(function, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Call a function of scalar symbols with one column per symbol; stack the results as columns."""
    rows = np.shape(arrays[0])[0]
    results = function(*(array[:, j] for array in arrays for j in range(array.shape[1])))
    return np.stack([np.broadcast_to(r, (rows,)) for r in results], axis=1)


class _Layers:
    """Per-layer lambdified functions of one derivation (the large-network mode)."""

    def __init__(self, derivation):
        m, chain = derivation.model, derivation.chain
        self.model, self.depth = m, m.spec.depth
        forms = {form.layer: form for form in derivation.layers}
        self.linear, self.activation, self.local, self.back, self.weights = {}, {}, {}, {}, {}
        for k in range(1, self.depth + 1):
            A = sympy.MatrixSymbol("a", 1, m.spec.layers[k - 1])
            W = sympy.MatrixSymbol("W", m.spec.layers[k - 1], m.spec.layers[k])
            B = sympy.MatrixSymbol("b", 1, m.spec.layers[k])
            self.linear[k] = sympy.lambdify([A, W, B], A * W + B, MODULES)
            if m.activation(k).mixes:
                outputs = [m.definitions[out] for out in m.out[k]]
                self.activation[k] = _Columns(sympy.lambdify(m.net[k], outputs, MODULES))
            else:
                out, net = m.out[k][0], m.net[k][0]
                self.activation[k] = _of_net(m.definitions[out], net)
                # ∂out/∂net as the derivation writes it (out(1 - out) for the sigmoid)
                self.local[k] = _elementwise(chain.factor(out, net).value, out, net)
            gradients = {g.name: g for g in forms[k].gradients}
            columns = m.notation.columns
            self.weights[k] = _matrix_function(gradients["g_W"].formula, columns)
            if k < self.depth:
                self.back[k] = _matrix_function(gradients["g_a"].formula, columns)
        output_deltas = [chain.delta(n).definition for n in m.neurons(self.depth)]
        self.output_delta = sympy.lambdify(list(m.out[-1]) + list(m.targets), output_deltas, MODULES)
        self.loss = sympy.lambdify(list(m.out[-1]) + list(m.targets), m.loss, MODULES)

    def forward(self, W, b, x):
        a, z = [x], [None]
        for k in range(1, self.depth + 1):
            bias = b[k - 1] if b is not None else np.zeros(W[k - 1].shape[1])
            z.append(self.linear[k](a[-1], W[k - 1], bias.reshape(1, -1)))
            a.append(self.activation[k](z[-1]))
        return a, z

    def losses(self, W, b, x, y):
        a, _ = self.forward(W, b, x)
        return np.broadcast_to(self.loss(*a[-1].T, *y.T), (x.shape[0],))

    def gradient(self, W, b, x, y):
        """Σ over the rows of the per-sample gradients, layer by layer from the output back."""
        a, z = self.forward(W, b, x)
        g_z = _columns(self.output_delta, [a[-1], y])
        gW, gb = [None] * self.depth, [None] * self.depth
        for k in range(self.depth, 0, -1):
            if k < self.depth:
                g_a = self.back[k](g_z, W[k])  # g^[ka] = g^[k+1,z] (W^[k+1])^T
                g_z = self.local[k](a[k], z[k]) * g_a  # g^[kz] = g'(z^[k]) ∘ g^[ka]
            gW[k - 1] = self.weights[k](a[k - 1], g_z)  # g^[kW] = (a^[k-1])^T g^[kz]
            gb[k - 1] = g_z.sum(axis=0)  # g^[kb] = g^[kz], summed over the rows
            if self.model.spec.shared_bias:  # one bias in every net input of the layer: the sum over them too
                gb[k - 1] = gb[k - 1].sum(keepdims=True)
        return gW, gb


class _Columns:
    """A layer function of its net-input symbols (softmax), applied row by row to a matrix."""

    def __init__(self, function):
        self.function = function

    def __call__(self, Z):
        return _columns(self.function, [Z])


def _matrix_function(formula: sympy.Basic, columns: bool = False):
    """A matrix-form formula such as (a^[k-1])^T g^[kz], lambdified in its named matrices; the
    function takes them in the order a^[k], g^[k], W^[k], one row per sample and W in the params
    layout. A column-notation formula (δ a^T, W^T δ) gets every array transposed, and its result too."""
    rank = {"vec_a": 0, "g": 1, "mat_W": 2}
    names = sorted(formula.free_symbols, key=lambda s: (rank[s.name.rsplit("_", 1)[0]], s.name))
    function = sympy.lambdify(names, formula, MODULES)
    if columns:
        return lambda *arrays: np.asarray(function(*(np.asarray(a).T for a in arrays))).T
    return lambda *arrays: np.asarray(function(*arrays))


# -- the public functions ---------------------------------------------------------------------
class _Lambdified:
    def __init__(self, derivation):
        self.model = derivation.model
        self.mode = "scalar" if derivation.spec.n_parameters <= SCALAR_LIMIT else "layers"
        self.arguments = list(self.model.primary)

    def _matrices(self, params):
        W = [np.asarray(w, dtype=float) for w in params["W"]]
        b = [np.asarray(v, dtype=float) for v in params["b"]] if self.model.biases else None
        return W, b

    def _scalar_call(self, values: Mapping):
        return self.scalar(*(values[s] for s in self.arguments))


class LossFunction(_Lambdified):
    """E_total, lambdified: ``f(params, x=None, y=None)`` → per-sample loss; ``f.at(values)``."""

    def __init__(self, derivation):
        super().__init__(derivation)
        m = self.model
        if self.mode == "scalar":
            stages, reduce = _forward_stages(m)
            self.scalar = sympy.lambdify(self.arguments, m.loss, MODULES, cse=_staged_cse(stages, reduce))
        else:
            self.layers = _Layers(derivation)

    def __call__(self, params: Mapping, x=None, y=None):
        x, y, single = _samples(params, x, y)
        if self.mode == "scalar":
            values = values_from_params(self.model, params, x, y)
            result = np.broadcast_to(self._scalar_call(values), (x.shape[0],)).astype(float)
        else:
            result = self.layers.losses(*self._matrices(params), x, y)
        return float(result[0]) if single else np.array(result)

    def at(self, values: Mapping) -> np.ndarray:
        """E_total at every point of ``values`` (``numeric.random_points``)."""
        n = len(next(iter(values.values())))
        if self.mode == "scalar":
            return np.broadcast_to(self._scalar_call(values), (n,)).astype(float)
        return np.array([self(params_from_values(self.model, values, p)) for p in range(n)])


class GradientFunction(_Lambdified):
    """The gradient, lambdified from the chain rule: ``f(params, x=None, y=None)`` → the gradient of
    the batch mean in the params layout; ``f.at(values)`` → per parameter symbol, per point."""

    def __init__(self, derivation):
        super().__init__(derivation)
        m = self.model
        if self.mode == "scalar":
            stages, reduce = _forward_stages(m)
            forms = chain_rule_forms(derivation)
            deltas = derivation.chain.deltas  # output layer first: dependency order
            if any(f.has(*(delta.symbol for delta in deltas)) for f in forms):  # not for path sums only
                by_layer = {}
                for delta in deltas:
                    by_layer.setdefault(delta.neuron.layer, []).append((delta.symbol, delta.definition))
                stages += list(by_layer.values())
                reduce += [True] * len(by_layer)
            self.scalar = sympy.lambdify(self.arguments, forms, MODULES, cse=_staged_cse(stages, reduce))
        else:
            self.layers = _Layers(derivation)

    def at(self, values: Mapping) -> dict:
        """∂E_total/∂p for every parameter p at every point of ``values``."""
        n = len(next(iter(values.values())))
        parameters = self.model.parameters
        if self.mode == "scalar":
            return {p: np.broadcast_to(v, (n,)).astype(float) for p, v in zip(parameters, self._scalar_call(values))}
        result = {p: np.empty(n) for p in parameters}
        for point in range(n):
            gradient = self(params_from_values(self.model, values, point))
            for symbol, value in zip(parameters, flatten_gradient(self.model, gradient)):
                result[symbol][point] = value
        return result

    def __call__(self, params: Mapping, x=None, y=None) -> dict:
        x, y, _ = _samples(params, x, y)
        n, m = x.shape[0], self.model
        if self.mode == "layers":
            gW, gb = self.layers.gradient(*self._matrices(params), x, y)
            return {"W": [g / n for g in gW], "b": [g / n for g in gb] if m.biases else None}
        values = values_from_params(m, params, x, y)
        means = iter([float(np.mean(np.broadcast_to(v, (n,)))) for v in self._scalar_call(values)])
        layers = range(1, m.spec.depth + 1)
        W = [np.array([[next(means) for _ in row] for row in m.weights[k]]) for k in layers]
        b = [np.array([next(means) for _ in m.layer_biases(k)]) for k in layers] if m.biases else None
        return {"W": W, "b": b}


def flatten_gradient(model, gradient: dict) -> list[float]:
    """A gradient in the params layout as one list in ``model.parameters`` order (weights, then biases)."""
    values = [float(v) for W in gradient["W"] for v in np.ravel(W)]
    if model.biases:
        values += [float(v) for b in gradient["b"] for v in np.ravel(b)]
    return values


def loss_function(derivation) -> LossFunction:
    """E_total as a NumPy function of a params dict: ``f(params, x=None, y=None)`` → the loss of
    each sample (a float for one sample). ``f.at(values)`` evaluates at ``random_points``."""
    return LossFunction(derivation)


def gradient_function(derivation) -> GradientFunction:
    """The full gradient as a NumPy function of a params dict, lambdified from the chain-rule
    forms: ``f(params, x=None, y=None)`` → ``{"W": [...], "b": [...] or None}``, the gradient of
    the batch mean. ``f.mode`` is "scalar" or "layers" (see the module docstring)."""
    return GradientFunction(derivation)


__all__ = ["loss_function", "gradient_function", "LossFunction", "GradientFunction",
           "values_from_params", "params_from_values", "SCALAR_LIMIT"]
