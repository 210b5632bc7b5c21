"""The activation registry: each activation's formula and its derivative, side by side.

Adding an activation is adding one entry to ``ACTIVATIONS``. The formula is plain SymPy (the
sigmoid is written with ``exp``), so ``sympy.diff`` of it is the truth; ``in_output`` is the
derivative written in the neuron's output a = g(z) (seed 000's out(1 - out)), which the
derivation prints and the proofs check against ``sympy.diff``.

>>> import sympy
>>> z, a = sympy.symbols("z a")
>>> ACTIVATIONS["sigmoid"].formula(z)
1/(1 + exp(-z))
>>> ACTIVATIONS["tanh"].in_output(a)
1 - a**2
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Optional, Sequence

import sympy

from ..algebra.expressions import replace_shared


@dataclass(frozen=True)
class Activation:
    """An elementwise activation g: its SymPy formula g(z) and, where one exists, g' written in a = g(z).

    ``almost_everywhere`` rewrites an expression so that two forms of a derivative that differ
    only where g has a kink (relu at 0) become identical, for the symbolic proofs.
    """

    name: str
    display: str  # name of the function as printed, e.g. "sigma" prints as \sigma(net)
    formula: Callable[[sympy.Expr], sympy.Expr]
    in_output: Optional[Callable[[sympy.Expr], sympy.Expr]] = None
    note: str = ""  # anything a reader must know, e.g. the value used for a derivative at a kink
    almost_everywhere: Optional[Callable[[sympy.Expr], sympy.Expr]] = None
    unit_interval: Optional[bool] = False  # outputs always in (0, 1)? None: unknown (a custom formula)
    mixes = False  # out_k depends on net_k only

    def derivative(self, z: sympy.Expr) -> sympy.Expr:
        """g'(z), by ``sympy.diff`` of the formula (never declared by us), each sign(u)·u that
        SymPy's rule for |u| leaves written |u| (an identity for real u: z/(1 + |z|) gives
        1/(1 + |z|)^2, not 1/(1 + |z|) - z sign(z)/(1 + |z|)^2).

        >>> resolve_activation("z/(1+abs(z))").derivative(sympy.Symbol("z", real=True))
        (Abs(z) + 1)**(-2)
        """
        dummy = sympy.Dummy("z", real=True)
        derivative = sympy.diff(self.formula(dummy), dummy)
        if derivative.has(sympy.sign):  # over one denominator, where the |z| terms cancel
            derivative = sympy.together(sign_times_argument(derivative))
        return derivative.xreplace({dummy: z})

    def outputs(self, nets: Sequence[sympy.Expr]) -> list[sympy.Expr]:
        """The layer's outputs as functions of its net inputs."""
        return [self.formula(net) for net in nets]

    def local_derivative(self, outs: Sequence, nets: Sequence, k: int, j: int) -> sympy.Expr:
        """∂out_k/∂net_j as the derivation prints it: in the output where possible (out(1 - out))."""
        if k != j:
            return sympy.Integer(0)
        return self.in_output(outs[k]) if self.in_output is not None else self.derivative(nets[k])


@dataclass(frozen=True)
class Softmax(Activation):
    """softmax: out_k = e^{net_k} / Σ_j e^{net_j}; every output depends on every net input of the layer."""

    mixes = True

    def outputs(self, nets: Sequence[sympy.Expr]) -> list[sympy.Expr]:
        total = sympy.Add(*(sympy.exp(net) for net in nets))
        return [sympy.exp(net) / total for net in nets]

    def local_derivative(self, outs: Sequence, nets: Sequence, k: int, j: int) -> sympy.Expr:
        """∂out_k/∂net_j = out_k (1 - out_k) if k = j, else -out_k out_j."""
        return outs[k] * (1 - outs[k]) if k == j else -outs[k] * outs[j]


def _sigmoid(z):
    return 1 / (1 + sympy.exp(-z))


def _relu_almost_everywhere(expr: sympy.Expr) -> sympy.Expr:
    """Heaviside(max(0, x), h) and Heaviside(x, h) are both the step at x, away from x = 0."""
    expr = replace_shared(
        expr,
        lambda e: isinstance(e, sympy.Heaviside) and isinstance(e.args[0], sympy.Max) and 0 in e.args[0].args,
        lambda e: sympy.Heaviside(sympy.Add(*(a for a in e.args[0].args if a != 0)), 0),
    )
    return replace_shared(expr, lambda e: isinstance(e, sympy.Heaviside), lambda e: sympy.Heaviside(e.args[0], 0))


def sign_times_argument(expr: sympy.Expr) -> sympy.Expr:
    """Every product sign(u)·u written |u|, an identity for real u (at u = 0 too).

    ``sympy.diff`` of |u| is sign(u)·u', so the derivative of z/(1 + |z|) comes out as
    1/(1 + |z|) - z·sign(z)/(1 + |z|)²; in a network's expanded E_total every such z is a whole
    net input, and the exact zero test, which takes |u| and sign(u) for unrelated variables,
    multiplies those nets out: 2 s per first-layer weight of 2-4-3-2 instead of 0.1 s. The
    proofs rewrite both sides, the truth and ours, alike.

    >>> x, y = sympy.symbols("x y", real=True)
    >>> sign_times_argument(3 * x * y * sympy.sign(-2 * x * y) + sympy.sign(x))
    -3*Abs(x*y) + sign(x)
    """

    def merge(product: sympy.Expr) -> sympy.Expr:
        factors = list(product.args)
        for sign in [f for f in factors if isinstance(f, sympy.sign)]:
            coefficient, rest = sign.args[0].as_coeff_Mul()
            others = [f for f in factors if f is not sign]
            if coefficient == 0:
                continue
            for part in sympy.Mul.make_args(rest):
                if part not in others:
                    break
                others.remove(part)
            else:  # sign(c·r)·r = |c·r|/c
                factors = others + [sympy.Abs(sign.args[0]) / coefficient]
        return sympy.Mul(*factors)

    return replace_shared(expr, lambda e: e.is_Mul and any(isinstance(f, sympy.sign) for f in e.args), merge)


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", "sigma", _sigmoid, in_output=lambda a: a * (1 - a), unit_interval=True),
    "tanh": Activation("tanh", "tanh", sympy.tanh, in_output=lambda a: 1 - a**2),
    "relu": Activation(
        "relu",
        "ReLU",
        lambda z: sympy.Max(0, z),
        in_output=lambda a: sympy.Heaviside(a, 0),
        note="relu has no derivative at 0; the derivation uses the step H(net) with H(0) = 0",
        almost_everywhere=_relu_almost_everywhere,
    ),
    "linear": Activation("linear", "g", lambda z: z, in_output=lambda a: sympy.Integer(1)),
    "softplus": Activation(
        "softplus", "softplus", lambda z: sympy.log(1 + sympy.exp(z)), in_output=lambda a: 1 - sympy.exp(-a)
    ),
    "softmax": Softmax("softmax", "softmax", sympy.exp, unit_interval=True),
}
OUTPUT_ONLY = {"softmax"}  # activations that only make sense on the output layer


def resolve_activation(name: str) -> Activation:
    """The registry entry called ``name``, or a custom activation if ``name`` is a formula in z.

    >>> resolve_activation("tanh").name
    'tanh'
    """
    return ACTIVATIONS[name] if name in ACTIVATIONS else custom_activation(name)


@lru_cache(maxsize=64)
def custom_activation(text: str) -> Activation:
    """An activation from a formula in z, parsed by the whitelist grammar of ``symbackprop.algebra.grammar``.

    SymPy derives its derivative; where SymPy can invert the formula (a = g(z) ⇒ z = g⁻¹(a)), the
    derivative is also written in the output, and kept only if it is proven equal.

    >>> g = custom_activation("1/(1 + exp(-z))")
    >>> sympy.expand(g.in_output(sympy.Symbol("a")))
    -a**2 + a
    """
    from ..algebra.grammar import (
        parse_activation,  # raises FormulaError for anything outside the grammar
    )

    expr = parse_activation(text)
    z = next(iter(expr.free_symbols), sympy.Symbol("z", real=True))
    in_float_range = _check_constants(expr, text)
    in_output = _output_form(expr, z) if in_float_range else None
    return Activation(text, "g", lambda net: expr.xreplace({z: net}), in_output=in_output,
                      unit_interval=_maybe_unit_interval(expr, z),
                      almost_everywhere=sign_times_argument if expr.has(sympy.Abs, sympy.sign) else None)


def _check_constants(expr: sympy.Expr, text: str) -> bool:
    """Refuse a formula with a constant that float64 cannot hold (every number computed from
    e^{e^{10^6}} is inf or nan) or that SymPy cannot evaluate within ``CONSTANT_SECONDS`` (its
    own work on e^{-e^{10^6}}, in the proofs, would take minutes); say whether every constant is
    of ordinary size, 1e-300 to 1e300 (``sympy.solve`` is slow on extreme ones).

    >>> z = sympy.Symbol("z", real=True)
    >>> _check_constants(z + sympy.exp(10), "z + exp(10)"), _check_constants(z * sympy.exp(-1000), "z*exp(-1000)")
    (True, False)
    """
    import math

    from ..algebra.evaluate import CONSTANT_SECONDS, constant, precise_constant
    from ..algebra.grammar import FormulaError

    ordinary, walk = True, sympy.preorder_traversal(expr)
    for node in walk:
        if not (node.is_number and not node.is_Atom):
            continue
        walk.skip()  # the largest constant subexpressions only: e^{-e^{e^9}} is 0, not inf
        value, precise = constant(node), precise_constant(node)
        problem = ("is too large for float64" if math.isinf(abs(value))
                   else f"takes SymPy over {CONSTANT_SECONDS:g} s to evaluate" if precise is None
                   else "is not a number" if math.isnan(abs(value)) else "")
        if problem:
            shown = sympy.sstr(node, order="none")
            shown = shown if len(shown) <= 40 else shown[:39] + "…"
            raise FormulaError(f"the constant {shown} {problem}: write a number of ordinary size", text)
        ordinary = ordinary and 1e-300 < abs(value) < 1e300
    return ordinary


def _maybe_unit_interval(expr: sympy.Expr, z: sympy.Symbol) -> Optional[bool]:
    """False when the formula takes a value outside [0, 1] somewhere on a grid of z from -1000 to
    1000 (so it cannot feed log(out) and log(1 - out)); None (not known) otherwise.

    >>> z = sympy.Symbol("z", real=True)
    >>> _maybe_unit_interval(z / (1 + abs(z)), z), _maybe_unit_interval(1 / (1 + sympy.exp(-z)), z)
    (False, None)
    """
    import numpy as np

    from ..algebra.evaluate import evaluate

    grid = np.concatenate([np.linspace(-50, 50, 2001), [-1000.0, -100.0, 100.0, 1000.0]])
    with np.errstate(all="ignore"):
        values = np.real_if_close(np.broadcast_to(evaluate(expr, {z: grid}), grid.shape))
    if np.iscomplexobj(values):
        return None
    finite = values[np.isfinite(values)]
    return False if np.any((finite < 0) | (finite > 1)) else None


OUTPUT_FORM_SECONDS = 1.0  # for finding g' written in the output a = g(z); past it there is none (those found take under 0.6 s)
_PIECEWISE = (sympy.Abs, sympy.Max, sympy.Min, sympy.sign, sympy.Heaviside)


def _output_form(expr: sympy.Expr, z: sympy.Symbol) -> Optional[Callable[[sympy.Expr], sympy.Expr]]:
    """g'(z) written in a = g(z), if SymPy inverts g to one branch and the result is proven."""
    from ..algebra.exact import are_equal
    from ..algebra.limits import time_limit

    if expr.has(*_PIECEWISE) or sympy.count_ops(expr) > 25 or not expr.has(z):
        return None
    a = sympy.Dummy("a", real=True)
    try:
        # sympy.solve can run for minutes and gigabytes on innocent formulas (exp(30 z), tanh(1000 z),
        # ((z+1)^16+1)^16): bounded, and without an output form the derivative is written in z.
        with time_limit(OUTPUT_FORM_SECONDS):
            solutions = sympy.solve(sympy.Eq(expr, a), z)
            if len(solutions) != 1:
                return None
            derivative = sympy.diff(expr, z)
            candidate = sympy.factor(sympy.simplify(derivative.xreplace({z: solutions[0]})))
            if candidate.has(z) or not are_equal(candidate.xreplace({a: expr}), derivative):
                return None
    except (NotImplementedError, ValueError, TypeError, TimeoutError, RecursionError, MemoryError):
        return None
    return lambda out: candidate.xreplace({a: out})
