"""Cross-check every way symbackprop computes a gradient, parameter by parameter, in float64.

At ``points`` random points (``numeric.random_points``: inputs, targets and parameters), for
every weight and bias, the **exact** methods

* ``chain rule``: the derivation's chain-rule forms (path sums where written out, else δ_j · out_i),
  evaluated with ``symbackprop.algebra.evaluate`` after the forward definitions and the delta recursion;
* ``sympy.diff``: the derivative of the fully expanded E_total (networks of at most
  ``DIFF_LIMIT`` parameters: beyond it, differentiating the expanded form is too slow);
* ``lambdified``: ``lambdified.gradient_function`` (chain-rule forms through ``sympy.lambdify``);
* ``generated code``: the NumPy module of ``codegen``, one sample at a time;
* an autograd library when one is installed (torch, or HIPS autograd), with the activations and
  losses written in its own operations, independently of symbackprop's registries;

must agree within ``TOLERANCE`` relative error: per parameter, the spread (largest minus smallest
value over the methods) divided by the largest magnitude. **Central finite differences** of an
independent NumPy forward pass (``numeric.ForwardPass``) are accurate only to about 1e-9, so they
are reported apart with their own tolerance, |error| ≤ ``FD_RTOL``·|g| + ``FD_ATOL``·max(1, E_total).
The check passes when both hold.

>>> from symbackprop import derive
>>> result = crosscheck(derive("2-2-1", proof="numeric"), points=2, autograd="none")
>>> result.methods
('chain rule', 'sympy.diff', 'lambdified', 'generated code')
>>> result.agree, result.max_rel_error < 1e-12
(True, True)
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Optional

import numpy as np
import sympy

from ..algebra.evaluate import COMPLEX_STEP_SAFE, evaluate
from ..network.spec import NetworkSpec, SpecError
from ..proof import numeric

if TYPE_CHECKING:  # for annotations only: this stage takes the data it is given, it does not run the pipeline
    from ..api import Derivation

TOLERANCE = 1e-7  # relative, between the exact methods
DIFF_LIMIT = 50  # parameters; sympy.diff of the expanded E_total above this is too slow
FD_STEP = 6e-6  # relative step of the central differences, ≈ (machine epsilon)^(1/3)
FD_RTOL = 1e-5
FD_ATOL = 1e-7  # times max(1, |E_total|): the rounding error of E divided by the step
TABLE_LIMIT = 64  # parameters listed one per row; larger networks get a per-layer summary
AUTOGRAD_LIBRARIES = ("torch", "autograd")
_CHUNK_ENTRIES = 2_000_000


@dataclass(frozen=True)
class ParameterCheck:
    """The agreement of every method on one parameter, over all points."""

    name: str
    layer: int
    kind: str
    max_abs: float  # largest spread between the exact methods
    max_rel: float  # that spread relative to the largest magnitude
    fd_abs: float  # largest |finite difference - chain rule|
    fd_rel: float
    fd_ok: bool


@dataclass(frozen=True)
class CrossCheck:
    """The outcome of ``crosscheck``: one ``ParameterCheck`` per parameter and the methods used."""

    spec: NetworkSpec
    points: int
    seed: int
    methods: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (method, why)
    parameters: tuple[ParameterCheck, ...]
    method_errors: tuple[tuple[str, float], ...]  # each method's largest rel. error vs the chain rule
    lambdify_mode: str

    @property
    def max_rel_error(self) -> float:
        return max((p.max_rel for p in self.parameters), default=0.0)

    @property
    def max_abs_error(self) -> float:
        return max((p.max_abs for p in self.parameters), default=0.0)

    @property
    def fd_max_rel_error(self) -> float:
        return max((p.fd_rel for p in self.parameters), default=0.0)

    @property
    def fd_max_abs_error(self) -> float:
        return max((p.fd_abs for p in self.parameters), default=0.0)

    @property
    def exact_agree(self) -> bool:
        return all(p.max_rel <= TOLERANCE for p in self.parameters)

    @property
    def fd_agree(self) -> bool:
        return all(p.fd_ok for p in self.parameters)

    @property
    def agree(self) -> bool:
        return self.exact_agree and self.fd_agree

    def worst(self, n: int = 10) -> list[ParameterCheck]:
        """The ``n`` parameters with the largest relative disagreement."""
        return sorted(self.parameters, key=lambda p: (-p.max_rel, -p.fd_rel))[:n]

    def by_layer(self) -> list[dict]:
        """Per computed layer, output first: how many parameters and their largest errors."""
        layers = sorted({p.layer for p in self.parameters}, reverse=True)
        summary = []
        for layer in layers:
            rows = [p for p in self.parameters if p.layer == layer]
            summary.append({
                "layer": layer,
                "parameters": len(rows),
                "max_abs": max(p.max_abs for p in rows),
                "max_rel": max(p.max_rel for p in rows),
                "fd_rel": max(p.fd_rel for p in rows),
                "fd_ok": all(p.fd_ok for p in rows),
            })
        return summary


# -- the methods --------------------------------------------------------------------------------
def chain_rule_values(derivation, values: Mapping) -> dict:
    """Every parameter's chain-rule form evaluated at the points (definitions, then deltas)."""
    from .lambdified import chain_rule_forms

    m, chain = derivation.model, derivation.chain
    values, memo = dict(values), {}
    for symbol, definition in m.definitions.items():
        values[symbol] = evaluate(definition, values, memo)
    for delta in chain.deltas:
        values[delta.symbol] = evaluate(delta.definition, values, memo)
    n = len(next(iter(values.values())))
    return {p: np.broadcast_to(evaluate(form, values, memo), (n,)).astype(float)
            for p, form in zip(m.parameters, chain_rule_forms(derivation))}


def diff_values(model, values: Mapping) -> dict:
    """∂E_total/∂p by ``sympy.diff`` of the expanded E_total (small networks only)."""
    n = len(next(iter(values.values())))
    loss, arguments = model.expanded_loss, model.primary
    result = {}
    for p in model.parameters:
        # np.heaviside for the step function: lambdify's select() form fails on nested Max under NumPy 2
        function = sympy.lambdify(arguments, sympy.diff(loss, p), modules=[COMPLEX_STEP_SAFE, "numpy"])
        result[p] = np.broadcast_to(function(*(values[s] for s in arguments)), (n,)).astype(float)
    return result


def generated_values(model, values: Mapping) -> dict:
    """The generated module's ``grad``, called with one sample per point."""
    from .codegen import generated
    from .lambdified import flatten_gradient, params_from_values

    module = generated(model.spec)
    n = len(next(iter(values.values())))
    result = {p: np.empty(n) for p in model.parameters}
    for point in range(n):
        params = params_from_values(model, values, point)
        gradient = module.grad(params, params["x"], params["y"])
        for symbol, value in zip(model.parameters, flatten_gradient(model, gradient)):
            result[symbol][point] = value
    return result


def central_differences(model, values: Mapping, step: float = FD_STEP) -> tuple[dict, np.ndarray]:
    """(∂E/∂p by central differences for every parameter p, E_total) at every point.

    The step for p is h = ``step``·max(1, |p|). Changing w_ij by h changes only the net input
    z_j of its layer, by h·a_i, so each layer's perturbed forward passes start at that layer
    (``numeric.ForwardPass.from_layer``), in batches.
    """
    forward = numeric.ForwardPass(model)
    n_points = len(next(iter(values.values())))
    gradient = {p: np.zeros(n_points) for p in model.parameters}  # += : a shared bias sums its neurons' parts
    losses = np.empty(n_points)
    depth = model.spec.depth
    for point in range(n_points):
        x, y, W, b = forward.matrices(values, point)
        a = [x]
        for k in range(1, depth + 1):
            a.append(np.asarray(forward.activations[k](a[k - 1] @ W[k] + b[k]), dtype=float))
        z1 = x @ W[1] + b[1]
        losses[point] = float(np.ravel(forward.from_layer(z1[None, :], 1, y, W, b))[0])
        for k in range(1, depth + 1):
            z = a[k - 1] @ W[k] + b[k]
            rows = [(model.weights[k][i][j], j, a[k - 1][i], step * max(1.0, abs(W[k][i, j])))
                    for i in range(W[k].shape[0]) for j in range(W[k].shape[1])]
            if model.biases:
                rows += [(model.biases[k][j], j, 1.0, step * max(1.0, abs(b[k][j]))) for j in range(len(b[k]))]
            chunk = max(1, _CHUNK_ENTRIES // max(model.spec.layers[k:]))
            for start in range(0, len(rows), chunk):
                batch = rows[start:start + chunk]
                columns = np.array([j for _, j, _, _ in batch])
                shift = np.array([s * h for _, _, s, h in batch])
                Z = np.tile(z, (len(batch), 1))
                Z[np.arange(len(batch)), columns] += shift
                up = forward.from_layer(Z, k, y, W, b)
                Z[np.arange(len(batch)), columns] -= 2 * shift
                down = forward.from_layer(Z, k, y, W, b)
                for (symbol, _, _, h), e_up, e_down in zip(batch, up, down):
                    gradient[symbol][point] += (e_up - e_down) / (2 * h)
    return gradient, losses


# -- autograd libraries: the network written in the library's own operations -----------------
def autograd_library(requested: str = "auto") -> Optional[str]:
    """The autograd library to use: ``requested`` ("torch", "autograd", "none"), or with "auto"
    the first of ``AUTOGRAD_LIBRARIES`` that is installed (None if none is)."""
    if requested == "none":
        return None
    if requested != "auto":
        if requested not in AUTOGRAD_LIBRARIES:
            raise SpecError(f"unknown autograd library {requested!r}: choose from auto, {', '.join(AUTOGRAD_LIBRARIES)}, none")
        if importlib.util.find_spec(requested) is None:
            raise SpecError(f"--autograd {requested}: the library is not installed (pip install {requested})")
        return requested
    return next((name for name in AUTOGRAD_LIBRARIES if importlib.util.find_spec(name) is not None), None)


def _custom(formula: sympy.Expr, z: sympy.Symbol, functions: dict):
    """A custom activation's formula as a function in an autograd library's operations."""
    return sympy.lambdify(z, formula, modules=[functions])


def _torch_backend():
    import torch

    def pairwise(function):
        def apply(*args):
            tensors = [a if torch.is_tensor(a) else None for a in args]
            like = next(t for t in tensors if t is not None)
            result = args[0] if torch.is_tensor(args[0]) else torch.full_like(like, float(args[0]))
            for arg in args[1:]:
                result = function(result, arg if torch.is_tensor(arg) else torch.full_like(like, float(arg)))
            return result
        return apply

    functions = {"exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "tanh": torch.tanh, "sin": torch.sin,
                 "cos": torch.cos, "Abs": torch.abs, "sign": torch.sign, "Max": pairwise(torch.maximum),
                 "Min": pairwise(torch.minimum), "pi": np.pi, "E": np.e}
    activations = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z,
                   "softplus": lambda z: torch.logaddexp(torch.zeros_like(z), z),
                   "softmax": lambda z: torch.softmax(z, dim=-1)}

    def gradient(spec, x, y, W, b, activation):
        Ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in W]
        bs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in b] if b is not None else None
        out = torch.tensor(x, dtype=torch.float64)
        for k in range(spec.depth):
            out = activation[k](out @ Ws[k] + (bs[k] if bs is not None else 0.0))
        loss = _loss(spec.loss, out, torch.tensor(y, dtype=torch.float64), torch.log)
        loss.backward()
        return [w.grad.numpy() for w in Ws], [v.grad.numpy() for v in bs] if bs is not None else None

    return functions, activations, gradient, f"torch {torch.__version__}"


def _hips_backend():
    import autograd
    import autograd.numpy as anp

    functions = {"exp": anp.exp, "log": anp.log, "sqrt": anp.sqrt, "tanh": anp.tanh, "sin": anp.sin,
                 "cos": anp.cos, "Abs": anp.abs, "sign": anp.sign, "pi": np.pi, "E": np.e,
                 "Max": lambda *args: _fold(anp.maximum, args), "Min": lambda *args: _fold(anp.minimum, args)}

    def softmax(z):
        e = anp.exp(z - anp.max(z))
        return e / anp.sum(e)

    activations = {"sigmoid": lambda z: 1 / (1 + anp.exp(-z)), "tanh": anp.tanh, "relu": lambda z: anp.maximum(0.0, z),
                   "linear": lambda z: z, "softplus": lambda z: anp.logaddexp(0.0, z), "softmax": softmax}

    def gradient(spec, x, y, W, b, activation):
        def loss(parameters):
            Ws, bs = parameters
            out = x
            for k in range(spec.depth):
                out = activation[k](anp.dot(out, Ws[k]) + (bs[k] if b is not None else 0.0))
            return _loss(spec.loss, out, y, anp.log)

        gW, gb = autograd.grad(loss)((list(W), list(b) if b is not None else []))
        return gW, gb if b is not None else None

    return functions, activations, gradient, f"autograd {_version('autograd')}"


def _fold(function, args):
    result = args[0]
    for arg in args[1:]:
        result = function(result, arg)
    return result


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def _loss(name: str, out, y, log):
    """The loss written out again in the library's operations (DESIGN §2)."""
    if name == "mse":
        return (0.5 * (y - out) ** 2).sum()
    if name == "bce":
        return -(y * log(out) + (1 - y) * log(1 - out)).sum()
    return -(y * log(out)).sum()


def autograd_values(model, values: Mapping, library: str) -> tuple[dict, str]:
    """∂E/∂p from an autograd library, one point at a time; also the library's name and version."""
    from ..network.activations import ACTIVATIONS, resolve_activation
    from .lambdified import flatten_gradient

    functions, registry, gradient, title = {"torch": _torch_backend, "autograd": _hips_backend}[library]()
    z = sympy.Symbol("z", real=True)
    activation = []
    for name in model.spec.activations:
        if name in ACTIVATIONS:
            activation.append(registry[name])
        else:
            formula = resolve_activation(name).formula(z)
            activation.append(_custom(formula, z, functions))
    forward = numeric.ForwardPass(model)
    n = len(next(iter(values.values())))
    result = {p: np.empty(n) for p in model.parameters}
    for point in range(n):
        x, y, W, b = forward.matrices(values, point)
        gW, gb = gradient(model.spec, x, y, W[1:], b[1:] if model.biases else None, activation)
        if model.spec.shared_bias:  # the library saw one bias per neuron, all equal: the shared one's is their sum
            gb = [np.sum(np.asarray(g, dtype=float)).reshape(1) for g in gb]
        flat = flatten_gradient(model, {"W": gW, "b": gb})
        for symbol, value in zip(model.parameters, flat):
            result[symbol][point] = value
    return result, title


# -- the check ------------------------------------------------------------------------------------
def _spread(columns: list[np.ndarray]) -> tuple[float, float]:
    """(max abs spread, max relative spread) over points of the methods' values for one parameter."""
    stack = np.vstack(columns)
    spread = stack.max(axis=0) - stack.min(axis=0)
    scale = np.abs(stack).max(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.where(scale > 0, spread / np.where(scale > 0, scale, 1.0), 0.0)
    if not np.all(np.isfinite(stack)):
        return float("inf"), float("inf")
    return float(spread.max()), float(relative.max())


def crosscheck(derivation: Derivation, points: int = 3, seed: int = 0, autograd: str = "auto") -> CrossCheck:
    """Compare every method on every parameter of ``derivation`` at ``points`` random points (see
    the module docstring); ``autograd`` is "auto", "torch", "autograd" or "none". The API's
    ``derive(spec).crosscheck()`` is the same.
    """
    from .lambdified import gradient_function

    if points < 1:
        raise SpecError("the check needs at least one point")
    library = autograd_library(autograd)
    model, spec = derivation.model, derivation.spec
    values = numeric.random_points(model, points, seed)

    methods: dict[str, dict] = {"chain rule": chain_rule_values(derivation, values)}
    skipped = []
    if spec.n_parameters <= DIFF_LIMIT:
        methods["sympy.diff"] = diff_values(model, values)
    else:
        skipped.append(("sympy.diff", f"skipped: {spec.n_parameters:,} parameters (it is used up to {DIFF_LIMIT}, "
                                      "where differentiating the expanded E_total stays fast)"))
    lambdified = gradient_function(derivation)
    methods["lambdified"] = lambdified.at(values)
    methods["generated code"] = generated_values(model, values)
    if library:
        methods[library], title = autograd_values(model, values, library)
    elif autograd == "none":
        skipped.append(("autograd", "skipped (--autograd none)"))
    else:
        skipped.append(("autograd", "skipped: no autograd library installed (torch or autograd)"))
    fd, losses = central_differences(model, values)
    fd_scale = FD_ATOL * np.maximum(1.0, np.abs(losses))

    reference = methods["chain rule"]
    rows = []
    for p in derivation.chain.parameters:
        max_abs, max_rel = _spread([m[p.symbol] for m in methods.values()])
        error = np.abs(fd[p.symbol] - reference[p.symbol])
        scale = np.maximum(np.abs(fd[p.symbol]), np.abs(reference[p.symbol]))
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = np.where(scale > 0, error / np.where(scale > 0, scale, 1.0), 0.0)
        fd_ok = bool(np.all(error <= FD_RTOL * np.abs(reference[p.symbol]) + fd_scale))
        rows.append(ParameterCheck(p.symbol.name, p.layer, p.kind, max_abs, max_rel,
                                   float(error.max()), float(relative.max()), fd_ok))
    method_errors = tuple(
        (name, numeric.worst_error(numeric.relative_error(values_[p], reference[p]) for p in model.parameters))
        for name, values_ in methods.items() if name != "chain rule"
    )
    names = tuple(title if name == library else name for name in methods)
    method_errors = tuple((title if name == library else name, e) for name, e in method_errors)
    return CrossCheck(spec, points, seed, names, tuple(skipped), tuple(rows), method_errors, lambdified.mode)


# -- the report -----------------------------------------------------------------------------------
def _e(x: float) -> str:
    return f"{x:.1e}"


def report(result: CrossCheck, limit: int = TABLE_LIMIT) -> list[str]:
    """The lines ``symbackprop check`` prints: methods, the table (or per-layer summary), the verdict."""
    spec = result.spec
    lines = [f"symbackprop check {spec.text}: {len(result.parameters):,} parameters at {result.points} random "
             f"point{'s' if result.points != 1 else ''} (seed {result.seed}), float64"]
    described = {"chain rule": "chain rule (path sums and delta forms, evaluated)",
                 "lambdified": f"lambdified chain rule ({result.lambdify_mode})",
                 "sympy.diff": "sympy.diff of the expanded E_total"}
    lines.append(f"  exact methods: {', '.join(described.get(m, m) for m in result.methods)}")
    for method, why in result.skipped:
        lines.append(f"  {method}: {why}")
    lines.append(f"  finite differences: central, step {FD_STEP:.0e}·max(1, |p|); they are accurate to about 1e-9, "
                 f"so they are reported apart,")
    lines.append(f"    with their own tolerance |error| <= {FD_RTOL:.0e}·|g| + {FD_ATOL:.0e}·max(1, E_total); "
                 f"the {TOLERANCE:.0e} verdict is about the exact methods")
    header = f"  {'parameter':<12} {'max abs error':>14} {'max rel error':>14} {'finite diff. rel':>17}"
    if len(result.parameters) <= limit:
        lines += ["", header]
        for p in result.parameters:
            mark = "" if p.max_rel <= TOLERANCE and p.fd_ok else "  <- disagrees"
            lines.append(f"  {p.name:<12} {_e(p.max_abs):>14} {_e(p.max_rel):>14} {_e(p.fd_rel):>17}{mark}")
    else:
        lines += ["", f"  {'layer':<6} {'parameters':>11} {'max abs error':>14} {'max rel error':>14} {'finite diff. rel':>17}"]
        for layer in result.by_layer():
            lines.append(f"  {layer['layer']:<6} {layer['parameters']:>11,} {_e(layer['max_abs']):>14} "
                         f"{_e(layer['max_rel']):>14} {_e(layer['fd_rel']):>17}")
        lines += ["", "  the 10 parameters with the largest errors:", header]
        for p in result.worst(10):
            lines.append(f"  {p.name:<12} {_e(p.max_abs):>14} {_e(p.max_rel):>14} {_e(p.fd_rel):>17}")
    lines += ["", "  each method against the chain rule, max rel error: "
              + ", ".join(f"{name} {_e(error)}" for name, error in result.method_errors)]
    n_exact = len(result.methods)
    if result.agree:
        lines.append(f"verdict: agree: the {n_exact} exact methods agree within {TOLERANCE:.0e} relative for every "
                     f"parameter (max {_e(result.max_rel_error)}); finite differences within their tolerance "
                     f"(max abs error {_e(result.fd_max_abs_error)}, max rel error {_e(result.fd_max_rel_error)})")
    else:
        bad = [p.name for p in result.parameters if p.max_rel > TOLERANCE]
        fd_bad = [p.name for p in result.parameters if not p.fd_ok]
        parts = []
        if bad:
            parts.append(f"the exact methods differ by more than {TOLERANCE:.0e} for {len(bad)} parameter"
                         f"{'s' if len(bad) != 1 else ''} ({', '.join(bad[:5])}{', ...' if len(bad) > 5 else ''})")
        if fd_bad:
            parts.append(f"finite differences are outside their tolerance for {len(fd_bad)} parameter"
                         f"{'s' if len(fd_bad) != 1 else ''} ({', '.join(fd_bad[:5])}{', ...' if len(fd_bad) > 5 else ''})")
        lines.append("verdict: DISAGREE: " + "; ".join(parts))
    return lines


__all__ = ["crosscheck", "report", "CrossCheck", "ParameterCheck", "central_differences", "chain_rule_values",
           "diff_values", "generated_values", "autograd_values", "autograd_library", "TOLERANCE"]
