"""An exact, fast zero test for the expressions backpropagation produces.

``is_zero(expr)`` decides whether ``expr`` is identically zero. It treats every non-rational
subterm (``exp(-net)``, ``tanh(net)``, ``log(...)``, ``Heaviside(...)``) as an independent
variable G, then writes the whole expression as one fraction N / (f1^e1 · f2^e2 · ...) with
sparse polynomial arithmetic, the denominators kept factored so that (1 + e^{-net})^2 and
(1 + e^{-net})^3 share their factor. The answer is N == 0. It is a proof, not a sample:

* if N is the zero polynomial, the expression is zero wherever it is defined;
* structurally identical subterms become the same variable, and the forms we compare are built
  from the same definitions, so no relation between subterms is needed to see they agree.

One change of variables keeps it fast: where a denominator is c0 + c1·G (the sigmoid's
1 + e^{-net}), G is replaced everywhere by (1/v - c0)/c1 with a fresh variable v, so that
denominator becomes the monomial 1/v. The map is invertible (v = 1/(c0 + c1·G)), so the verdict
is unchanged, but common denominators are now monomials and the numerator stays the size of
the sum over paths instead of growing with the product of every neuron's (1 + e^{-net})^2.

``sympy.simplify``/``cancel`` reach the same verdict on small inputs but take seconds to minutes
on a first-layer gradient, because they compute polynomial GCDs that we never need.

>>> import sympy
>>> z = sympy.Symbol("z")
>>> sigma = 1 / (1 + sympy.exp(-z))
>>> is_zero(sympy.diff(sigma, z) - sigma * (1 - sigma))
True
>>> is_zero(sympy.diff(sigma, z) - sigma ** 2)
False
"""

from __future__ import annotations

import sympy
from sympy.polys.domains import QQ
from sympy.polys.rings import PolyRing


def _is_rational_node(node: sympy.Basic) -> bool:
    """True for the nodes our polynomial arithmetic handles itself (+, ×, integer powers)."""
    return node.is_Add or node.is_Mul or (node.is_Pow and node.exp.is_Integer)


def _generators(expr: sympy.Expr) -> list[sympy.Basic]:
    """Symbols and non-rational subterms (the polynomial variables), in a stable order."""
    found: set[sympy.Basic] = set()
    seen: set[sympy.Basic] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node.is_Number:
            if not node.is_Rational and not node.is_Float:
                found.add(node)
        elif node.is_Symbol:
            found.add(node)
        elif _is_rational_node(node):
            stack.extend(node.args)
        else:
            found.add(node)
    return sorted(found, key=sympy.default_sort_key)


def _linear_denominators(expr: sympy.Expr, generators: list[sympy.Basic]) -> dict[sympy.Basic, tuple]:
    """Generators G that occur in a denominator c0 + c1·G (c0, c1 nonzero rationals), with (c0, c1)."""
    candidates = {g for g in generators if not g.is_Symbol}
    found: dict[sympy.Basic, tuple] = {}
    seen: set[sympy.Basic] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen or not _is_rational_node(node):
            continue
        seen.add(node)
        stack.extend(node.args)
        if node.is_Pow and node.exp < 0 and node.base.is_Add and len(node.base.args) == 2:
            c0, term = node.base.as_two_terms()
            c1, g = term.as_coeff_Mul()
            if c0.is_Rational and c1.is_Rational and g in candidates and g not in found:
                found[g] = (c0, c1)
    return found


class _FractionBuilder:
    """Converts an expression to (numerator polynomial, {denominator factor id: exponent})."""

    def __init__(self, generators: list[sympy.Basic], substitutions: dict[sympy.Basic, tuple]):
        kept = [g for g in generators if g not in substitutions]
        names = [sympy.Dummy(f"g{n}") for n in range(len(kept) + len(substitutions))] or [sympy.Dummy("g")]
        self.ring = PolyRing(names, QQ)
        self.variable = {g: (x, {}) for g, x in zip(kept, self.ring.gens)}
        self.factors: list = []  # monic polynomials; a fraction's denominator is a product of their powers
        self.factor_id: dict = {}
        self.powers: dict[tuple[int, int], object] = {}
        self.memo: dict[sympy.Basic, tuple] = {}
        for (g, (c0, c1)), v in zip(substitutions.items(), self.ring.gens[len(kept) :]):
            _, v_id = self.register(v)  # G = (1/v - c0)/c1 = (1 - c0·v)/(c1·v)
            c0, c1 = QQ.from_sympy(c0), QQ.from_sympy(c1)
            self.variable[g] = ((self.ring.one - v * c0).quo_ground(c1), {v_id: 1})

    def power_of_factor(self, factor: int, exponent: int):
        key = (factor, exponent)
        if key not in self.powers:
            self.powers[key] = self.factors[factor] ** exponent
        return self.powers[key]

    def register(self, polynomial) -> tuple[object, int | None]:
        """Make ``polynomial`` a denominator factor; returns (scale, factor id or None if constant)."""
        if polynomial.is_ground:
            return QQ(1) / polynomial.LC, None
        lead = polynomial.LC
        monic = polynomial.quo_ground(lead)
        if monic not in self.factor_id:
            self.factor_id[monic] = len(self.factors)
            self.factors.append(monic)
        return QQ(1) / lead, self.factor_id[monic]

    def convert(self, node: sympy.Basic) -> tuple:
        cached = self.memo.get(node)
        if cached is not None:
            return cached
        ring = self.ring
        if node in self.variable:
            result = self.variable[node]
        elif node.is_Number:
            result = (ring(QQ.from_sympy(sympy.Rational(node))), {})
        elif node.is_Mul:
            numerator, denominator = ring.one, {}
            for arg in node.args:
                n, d = self.convert(arg)
                numerator *= n
                for factor, exponent in d.items():
                    denominator[factor] = denominator.get(factor, 0) + exponent
            result = (numerator, denominator)
        elif node.is_Add:
            parts = [self.convert(arg) for arg in node.args]
            denominator: dict[int, int] = {}
            for _, d in parts:
                for factor, exponent in d.items():
                    denominator[factor] = max(denominator.get(factor, 0), exponent)
            numerator = ring.zero
            for n, d in parts:
                for factor, exponent in denominator.items():
                    missing = exponent - d.get(factor, 0)
                    if missing:
                        n = n * self.power_of_factor(factor, missing)
                numerator += n
            result = (numerator, denominator)
        else:  # an integer power; every other node is a generator
            n, d = self.convert(node.base)
            exponent = int(node.exp)
            if exponent < 0:
                inverted = ring.one
                for factor, e in d.items():
                    inverted *= self.power_of_factor(factor, e)
                scale, factor = self.register(n)
                n, d = inverted * scale, ({} if factor is None else {factor: 1})
                exponent = -exponent
            result = (n**exponent, {factor: e * exponent for factor, e in d.items()})
        self.memo[node] = result
        return result


def is_zero(expr: sympy.Expr) -> bool:
    """True when ``expr`` is identically zero (exactly, see the module docstring)."""
    expr = sympy.sympify(expr)
    generators = _generators(expr)
    substitutions = _linear_denominators(expr, generators)
    numerator, _ = _FractionBuilder(generators, substitutions).convert(expr)
    return not numerator


def are_equal(a: sympy.Expr, b: sympy.Expr) -> bool:
    """True when ``a - b`` is identically zero.

    >>> x = sympy.Symbol("x")
    >>> are_equal((x + 1) ** 2, x**2 + 2 * x + 1)
    True
    """
    # unevaluated: SymPy would otherwise flatten and query assumptions on two large expressions
    return is_zero(sympy.Add(a, sympy.Mul(-1, b, evaluate=False), evaluate=False))
