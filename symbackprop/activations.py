"""The activation registry: each activation's formula and its derivative, side by side.

Adding an activation is adding one entry to ``ACTIVATIONS``. The formula is plain SymPy (the
sigmoid is written with ``exp``), so ``sympy.diff`` of it is the truth; ``in_output`` is the
derivative written in the neuron's output a = g(z) (seed 000's out(1 - out)), which the
derivation prints and the proofs check against ``sympy.diff``.

>>> import sympy
>>> z = sympy.Symbol("z")
>>> ACTIVATIONS["sigmoid"].formula(z)
1/(1 + exp(-z))
>>> ACTIVATIONS["sigmoid"].in_output(sympy.Symbol("a"))
a*(1 - a)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import sympy


@dataclass(frozen=True)
class Activation:
    """An elementwise activation g: its SymPy formula g(z) and, where one exists, g' written in a = g(z)."""

    name: str
    display: str  # name of the function as printed, e.g. "sigma" prints as \sigma(net)
    formula: Callable[[sympy.Expr], sympy.Expr]
    in_output: Optional[Callable[[sympy.Expr], sympy.Expr]] = None
    note: str = ""  # anything a reader must know, e.g. the value used for a derivative at a kink

    def derivative(self, z: sympy.Expr) -> sympy.Expr:
        """g'(z), by ``sympy.diff`` of the formula (never declared by us)."""
        dummy = sympy.Dummy("z")
        return sympy.diff(self.formula(dummy), dummy).xreplace({dummy: z})

    def local_derivative(self, out: sympy.Expr, net: sympy.Expr) -> sympy.Expr:
        """∂out/∂net as the derivation prints it: in the output where possible (out(1 - out)), else in the net input."""
        return self.in_output(out) if self.in_output is not None else self.derivative(net)


def _sigmoid(z):
    return 1 / (1 + sympy.exp(-z))


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", "sigma", _sigmoid, in_output=lambda a: a * (1 - a)),
}
