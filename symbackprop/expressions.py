"""SymPy node types that keep a chain-rule formula as a person writes it.

SymPy sorts the factors of a product and evaluates derivatives; a derivation must instead show
seed 000's ∂E_total/∂out_{d_1} · ∂out_{d_1}/∂net_{d_1} · ∂net_{d_1}/∂w_{31} in path order.
``Partial`` is an unevaluated ∂of/∂wrt, ``Chain`` an ordered product and ``Total`` an ordered
sum; the LaTeX printer in ``symbackprop.latex`` prints them, and ``doit()`` turns them into
ordinary SymPy expressions.

>>> import sympy
>>> out, net = sympy.symbols("out net")
>>> Chain(Partial(out, net), out * (1 - out)).doit()
out*(1 - out)*Derivative(out, net)
"""

from __future__ import annotations

import sympy
from sympy.printing.precedence import PRECEDENCE


class Partial(sympy.Expr):
    """∂of/∂wrt, never evaluated: a named local derivative (seed 000's ∂out_{d_1}/∂net_{d_1})."""

    is_commutative = True

    def __new__(cls, of: sympy.Expr, wrt: sympy.Expr):
        return sympy.Expr.__new__(cls, sympy.sympify(of), sympy.sympify(wrt))

    @property
    def of(self) -> sympy.Expr:
        return self.args[0]

    @property
    def wrt(self) -> sympy.Expr:
        return self.args[1]

    def doit(self, **hints):
        return sympy.Derivative(self.of, self.wrt)


class Chain(sympy.Expr):
    """An ordered product of chain-rule factors, printed in the order given."""

    is_commutative = True
    precedence = PRECEDENCE["Mul"]

    def __new__(cls, *factors: sympy.Expr):
        return sympy.Expr.__new__(cls, *(sympy.sympify(f) for f in factors))

    @property
    def factors(self) -> tuple[sympy.Expr, ...]:
        return self.args

    def doit(self, **hints):
        return sympy.Mul(*(f.doit(**hints) for f in self.args))


class Total(sympy.Expr):
    """An ordered sum (δ_{d_1} w_{31} + δ_{d_2} w_{34}), printed in the order given."""

    is_commutative = True
    precedence = PRECEDENCE["Add"]

    def __new__(cls, *terms: sympy.Expr):
        return sympy.Expr.__new__(cls, *(sympy.sympify(t) for t in terms))

    @property
    def terms(self) -> tuple[sympy.Expr, ...]:
        return self.args

    def doit(self, **hints):
        return sympy.Add(*(t.doit(**hints) for t in self.args))


def ordered_sum(terms) -> sympy.Expr:
    """``Total`` of several terms, or the single term itself."""
    terms = list(terms)
    return terms[0] if len(terms) == 1 else Total(*terms)
