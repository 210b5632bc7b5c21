"""The loss registry: each loss as a SymPy formula over the output neurons and the targets.

∂E/∂out is never declared: the derivation takes ``sympy.diff`` of the formula, which is small
because it is written over the per-neuron output symbols.

>>> import sympy
>>> out, target = sympy.symbols("out target")
>>> LOSSES["mse"].term(out, target)
(-out + target)**2/2
>>> LOSSES["bce"].term(out, target)
-target*log(out) - (1 - target)*log(1 - out)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import sympy

from ..algebra.expressions import Total, ordered_sum


@dataclass(frozen=True)
class Loss:
    """A loss that is a sum of one term per output neuron: E_total = Σ_j term(out_j, target_j).

    ``output_activation`` names the activation the output layer must have (softmax for ce);
    ``targets_sum_to_one`` says the loss assumes the targets form a probability distribution,
    which is what lets softmax + ce simplify to ∂E/∂net = out - target.
    """

    name: str
    title: str
    formula_text: str  # for --help and the README
    term: Callable[[sympy.Expr, sympy.Expr], sympy.Expr]
    display: Callable[[sympy.Expr, sympy.Expr], sympy.Expr]  # the term as printed, in reading order
    output_activation: Optional[str] = None
    targets_sum_to_one: bool = False
    needs_unit_interval: bool = False  # log(out) and log(1 - out) need outputs in (0, 1)

    def total(self, outs: Sequence[sympy.Expr], targets: Sequence[sympy.Expr]) -> sympy.Expr:
        """E_total over the given outputs and targets."""
        return sympy.Add(*(self.term(out, target) for out, target in zip(outs, targets)))

    def total_display(self, outs: Sequence[sympy.Expr], targets: Sequence[sympy.Expr]) -> sympy.Expr:
        """E_total as printed: the terms in output order, e.g. ½(target_{d_1} - out_{d_1})² + ..."""
        terms = []
        for out, target in zip(outs, targets):
            term = self.display(out, target)
            terms += term.terms if isinstance(term, Total) else [term]  # one flat sum: no "+ -"
        return ordered_sum(terms)


def _cross_entropy_term(out, target):
    return -(target * sympy.log(out) + (1 - target) * sympy.log(1 - out))


LOSSES: dict[str, Loss] = {
    "mse": Loss(
        "mse",
        "squared error",
        "sum of 1/2 (target - out)^2",
        term=lambda out, target: sympy.Rational(1, 2) * (target - out) ** 2,
        display=lambda out, target: sympy.Rational(1, 2) * Total(target, -out) ** 2,
    ),
    "bce": Loss(
        "bce",
        "binary cross-entropy",
        "-sum of [y log(out) + (1 - y) log(1 - out)]",
        term=_cross_entropy_term,
        display=lambda out, target: -Total(target * sympy.log(out), (1 - target) * sympy.log(1 - out)),
        needs_unit_interval=True,
    ),
    "ce": Loss(
        "ce",
        "cross-entropy (softmax output)",
        "-sum of y log(out), softmax output layer",
        term=lambda out, target: -target * sympy.log(out),
        display=lambda out, target: -target * sympy.log(out),
        output_activation="softmax",
        targets_sum_to_one=True,
    ),
}
