"""The loss registry: each loss as a SymPy formula over the output neurons and the targets.

∂E/∂out is never declared: the derivation takes ``sympy.diff`` of the formula, which is small
because it is written over the per-neuron output symbols.

>>> import sympy
>>> out, target = sympy.symbols("out target")
>>> LOSSES["mse"].term(out, target)
(-out + target)**2/2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import sympy

from .expressions import Total, ordered_sum


@dataclass(frozen=True)
class Loss:
    """A loss that is a sum of one term per output neuron: E_total = Σ_j term(out_j, target_j)."""

    name: str
    title: str
    term: Callable[[sympy.Expr, sympy.Expr], sympy.Expr]
    display: Callable[[sympy.Expr, sympy.Expr], sympy.Expr]  # the term as printed, in reading order

    def total(self, outs: Sequence[sympy.Expr], targets: Sequence[sympy.Expr]) -> sympy.Expr:
        """E_total over the given outputs and targets."""
        return sympy.Add(*(self.term(out, target) for out, target in zip(outs, targets)))

    def total_display(self, outs: Sequence[sympy.Expr], targets: Sequence[sympy.Expr]) -> sympy.Expr:
        """E_total as printed: the terms in output order, e.g. ½(target_{d_1} - out_{d_1})² + ..."""
        return ordered_sum(self.display(out, target) for out, target in zip(outs, targets))


LOSSES: dict[str, Loss] = {
    "mse": Loss(
        "mse",
        "squared error",
        term=lambda out, target: sympy.Rational(1, 2) * (target - out) ** 2,
        display=lambda out, target: sympy.Rational(1, 2) * Total(target, -out) ** 2,
    ),
}
