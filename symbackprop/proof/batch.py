"""The mini-batch equations, proven: equal to the mean of the per-sample gradients, entry by entry.

Three checks, from cheapest to strongest:

1. every entry of dZ, dW and db is an exact identity with the scalar chain rule of its sample
   (dZ column i is sample i's deltas; a dW entry is the mean of the samples' δ_j · out_i);
2. numerically always: at random points, with each sample its own inputs and targets and the
   weights shared, every dW and db entry equals the mean over the samples of the complex-step
   derivative of each sample's loss;
3. symbolically for small networks (at most ``SYMBOLIC_PARAMETERS`` parameters, m ≤ 3): every
   entry, written over inputs, targets and weights, equals ``sympy.diff`` of the batch loss.

>>> from symbackprop import derive
>>> d = derive("2-2-1", notation="columns", batch=2)
>>> (d.batch_check.entries_proven, d.batch_check.symbolic)
(12, 6)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import sympy

from ..algebra.differentiate import derivative
from ..algebra.evaluate import evaluate
from ..algebra.exact import are_equal
from ..algebra.limits import time_limit
from ..derivation.batch import BatchForm
from ..derivation.chainrule import ChainRule
from ..network.model import Model, expand_definitions
from . import numeric
from .prove import TOLERANCE, VerificationError

SYMBOLIC_PARAMETERS = 30  # networks up to this size get the sympy.diff proof of the batch loss
SYMBOLIC_SAMPLES = 3
SYMBOLIC_SECONDS = 20.0  # for all of check 3 together; past it, checks 1 and 2 stand


@dataclass(frozen=True)
class BatchCheck:
    """What was proven of a ``BatchForm``: exact entry identities, the numeric check's worst
    relative error, and how many parameters' batch gradients were proven against ``sympy.diff``."""

    entries_proven: int
    max_rel_error: float
    points: int
    symbolic: int  # parameters proven against sympy.diff of the batch loss (0: not attempted)
    n_parameters: int


def _parameter_entries(model: Model, form: BatchForm):
    """Yield (parameter symbol, its batch gradient entry): dW and db entries in model order."""
    for layer in form.layers:
        k = layer.layer
        dw = layer.gradient("dW").entries
        for i, row in enumerate(model.weights[k]):
            for j, weight in enumerate(row):
                yield weight, dw[j, i] if form.columns else dw[i, j]
        if model.spec.shared_bias:
            yield model.biases[k][0], layer.gradient("db").entries[0, 0]
        elif model.biases:
            db = layer.gradient("db").entries
            for j, bias in enumerate(model.biases[k]):
                yield bias, db[j, 0] if form.columns else db[0, j]


def prove_entries(model: Model, chain: ChainRule, form: BatchForm) -> int:
    """Check 1: each entry against the per-sample scalar chain rule; returns how many entries."""
    deltas = {d.neuron: d for d in chain.deltas}
    mean = sympy.Rational(1, form.size)
    proven = 0

    def same(entry, expected, what: str, condition=None) -> None:
        nonlocal proven
        if condition:
            entry, expected = entry.xreplace(condition), expected.xreplace(condition)
        if entry != expected and not are_equal(entry, expected):
            raise VerificationError(f"{what}: the batch form gives {entry}, the per-sample chain rule {expected}")
        proven += 1

    for layer in form.layers:
        k = layer.layer
        dz = layer.gradient("dZ").entries
        for s, copy in enumerate(form.samples):
            condition = None
            if layer.assumption:  # each sample's targets sum to 1
                targets = [copy[t] for t in model.targets]
                condition = {targets[-1]: 1 - sympy.Add(*targets[:-1])}
            for j, neuron in enumerate(model.neurons(k)):
                entry = dz[j, s] if form.columns else dz[s, j]
                same(entry, deltas[neuron].definition.xreplace(copy), f"dZ^[{k}] sample {s + 1} neuron {j + 1}", condition)
    parameters = {p.symbol: p for p in chain.parameters}
    for parameter, entry in _parameter_entries(model, form):
        scalar = chain.gradient(parameters[parameter], with_paths=False).delta_value  # δ_j · out_i, Σ_j δ_j if shared
        same(entry, mean * sympy.Add(*(scalar.xreplace(copy) for copy in form.samples)), f"batch gradient of {parameter}")
    return proven


def _sample_values(model: Model, chain: ChainRule, form: BatchForm, points: int, seed: int):
    """Numeric values of every per-sample copy at ``points`` random points (weights shared within
    a point, each sample its own inputs and targets), and the mean complex-step gradient."""
    shared = numeric.random_points(model, points, seed)
    values = {p: shared[p] for p in model.parameters}
    truth = {p: np.zeros(points) for p in model.parameters}
    delta_definitions = {delta.symbol: delta.definition for delta in chain.deltas}
    for s, copy in enumerate(form.samples):
        own = numeric.as_distribution(model, numeric.random_points(model, points, seed + 1 + s))
        sample = {**own, **values}
        memo: dict = {}
        for symbol, definition in list(model.definitions.items()) + list(delta_definitions.items()):
            sample[symbol] = evaluate(definition, sample, memo)
        for symbol, twin in copy.items():
            values[twin] = sample[symbol]
        for p, value in numeric.complex_step_gradient(model, sample).items():
            truth[p] += value / form.size
    return values, truth


def check_numerically(model: Model, chain: ChainRule, form: BatchForm, points: int, seed: int) -> float:
    """Check 2: every dW, db entry against the mean complex-step derivative; the worst relative error."""
    values, truth = _sample_values(model, chain, form, points, seed)
    worst, memo = 0.0, {}
    for parameter, entry in _parameter_entries(model, form):
        error = numeric.relative_error(evaluate(entry, values, memo), truth[parameter])
        if not error < TOLERANCE:
            raise VerificationError(f"the batch gradient of {parameter} differs from the mean of the per-sample "
                                    f"complex-step derivatives by {error:.2e} (relative)")
        worst = max(worst, error)
    return worst


def prove_symbolically(model: Model, chain: ChainRule, form: BatchForm, seconds: float = SYMBOLIC_SECONDS) -> int:
    """Check 3: each entry over inputs, targets and weights, against ``sympy.diff`` of the batch loss
    (``algebra.differentiate.derivative``: by SymEngine where it is installed)."""
    delta_definitions = {delta.symbol: delta.definition for delta in chain.deltas}
    expanded = expand_definitions(delta_definitions, known=model.expansions)
    full = {}
    for copy in form.samples:
        primary_copy = {symbol: copy[symbol] for symbol in list(model.inputs) + list(model.targets)}
        for symbol, twin in copy.items():
            full[twin] = (expanded[symbol] if symbol in expanded else symbol).xreplace(primary_copy)
    batch_loss = form.loss.xreplace(full)
    proven = 0
    try:
        with time_limit(seconds):
            for parameter, entry in _parameter_entries(model, form):
                truth = derivative(batch_loss, parameter, evaluate=False)
                if not are_equal(model.almost_everywhere(entry.xreplace(full)), model.almost_everywhere(truth)):
                    raise VerificationError(f"the batch gradient of {parameter} differs from sympy.diff of the batch loss")
                proven += 1
    except (TimeoutError, RecursionError, MemoryError):
        return 0  # checks 1 and 2 stand; the note says no symbolic batch proof was made
    return proven


def verify_batch(model: Model, chain: ChainRule, form: BatchForm, points: int = 3, seed: int = 0,
                 symbolic: Optional[bool] = None) -> BatchCheck:
    """All three checks (the third when ``symbolic``, by default for small networks and batches)."""
    entries = prove_entries(model, chain, form)
    with np.errstate(all="ignore"):
        worst = check_numerically(model, chain, form, points, seed)
    if symbolic is None:
        symbolic = model.spec.n_parameters <= SYMBOLIC_PARAMETERS and form.size <= SYMBOLIC_SAMPLES
    proven = prove_symbolically(model, chain, form) if symbolic else 0
    return BatchCheck(entries, worst, points, proven, model.spec.n_parameters)
