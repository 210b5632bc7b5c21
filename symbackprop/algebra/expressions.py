"""SymPy node types that keep a chain-rule formula as a person writes it.

SymPy sorts the factors of a product and evaluates derivatives; a derivation must instead show
seed 000's ∂E_total/∂out_{d_1} · ∂out_{d_1}/∂net_{d_1} · ∂net_{d_1}/∂w_{31} in path order.
``Partial`` is an unevaluated ∂of/∂wrt, ``Chain`` an ordered product and ``Total`` an ordered
sum; the LaTeX printer in ``symbackprop.handout.latex`` prints them, and ``doit()`` turns them into
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

    def could_extract_minus_sign(self) -> bool:
        return self.args[0].could_extract_minus_sign()

    def __neg__(self):
        return Chain(-self.args[0], *self.args[1:])


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


def distinct_nodes(expr: sympy.Basic):
    """Every distinct subexpression of ``expr`` once (``expr`` first), in no particular order:
    ``preorder_traversal`` walks the tree, and an expanded derivative shares its subterms so often
    that the tree is dozens of times the distinct nodes.

    >>> x = sympy.Symbol("x")
    >>> sorted(map(str, distinct_nodes(sympy.exp(x) * (sympy.exp(x) + 1))))
    ['(exp(x) + 1)*exp(x)', '1', 'exp(x)', 'exp(x) + 1', 'x']
    """
    seen, stack = {expr}, [expr]
    while stack:
        node = stack.pop()
        yield node
        for arg in node.args:
            if arg not in seen:
                seen.add(arg)
                stack.append(arg)


_LOGS: dict[sympy.Basic, bool] = {}  # node -> whether a log occurs in it: a network's proofs share their subterms


def has_log(expr: sympy.Basic) -> bool:
    """Whether a log occurs in ``expr``; each distinct subterm is looked at once, and remembered
    (the zero test asks of every proof's difference, SymEngine's way back of every exponent).

    >>> x = sympy.Symbol("x")
    >>> has_log(x * sympy.exp(x) + 1), has_log(x * sympy.exp(sympy.log(x + 1) * x))
    (False, True)
    """
    if len(_LOGS) > 500_000:
        _LOGS.clear()
    stack = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if node in _LOGS:
            continue
        if ready or not node.args:
            _LOGS[node] = isinstance(node, sympy.log) or any(_LOGS[arg] for arg in node.args)
        else:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if arg not in _LOGS)
    return _LOGS[expr]


def distinct_postorder(expr: sympy.Basic):
    """Every distinct subexpression of ``expr`` once, each after its arguments (``expr`` last): the
    order to build something node by node from the leaves up.

    >>> x = sympy.Symbol("x")
    >>> list(map(str, distinct_postorder(sympy.exp(x) + x)))
    ['x', 'exp(x)', 'x + exp(x)']
    """
    done: set = set()
    stack = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if node in done:
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((arg, False) for arg in reversed(node.args) if arg not in done)
            continue
        done.add(node)
        yield node


def tree_size(expr: sympy.Basic) -> int:
    """The number of nodes of ``expr`` written out as a tree (a shared subterm counted each time
    it occurs), computed over the distinct nodes: about twice ``sympy.count_ops``, at a tenth of
    its cost or less.

    >>> x, y = sympy.symbols("x y")
    >>> tree_size(x * y + x), tree_size((x + 1) * sympy.exp(x + 1))  # x + 1 counted twice
    (5, 8)
    """
    sizes: dict[sympy.Basic, int] = {}
    for node in distinct_postorder(expr):
        sizes[node] = 1 + sum(sizes[arg] for arg in node.args)
    return sizes[expr]


def replace_shared(expr: sympy.Expr, query, value) -> sympy.Expr:
    """``expr.replace(query, value)`` (bottom up: each node rebuilt from its replaced arguments,
    then replaced itself if ``query`` holds), rebuilding each distinct subexpression once: an
    expanded derivative shares its subterms so often that ``replace``, which walks the tree, visits
    each dozens of times.

    >>> x, y = sympy.symbols("x y")
    >>> sines = sympy.sin(x) * sympy.sin(x + y) + sympy.sin(x)
    >>> replace_shared(sines, lambda e: isinstance(e, sympy.sin), lambda e: sympy.cos(e.args[0]))
    cos(x)*cos(x + y) + cos(x)
    """
    expr = sympy.sympify(expr)
    done: dict = {}
    for node in distinct_postorder(expr):  # each node after its arguments: they are rebuilt already
        args = node.args
        result = node
        if args:
            new = tuple(done[a] for a in args)
            if new != args:
                result = node.func(*new)
        if query(result):
            result = value(result)
        done[node] = result
    return done[expr]


def ordered_sum(terms) -> sympy.Expr:
    """``Total`` of several terms, or the single term itself."""
    terms = list(terms)
    return terms[0] if len(terms) == 1 else Total(*terms)


def tidy(expr: sympy.Expr) -> sympy.Expr:
    """An equal expression that prints the way people write it: a difference with its positive
    term first (out - target, not -target + out) and a denominator with (1 - out) rather than
    -(out - 1). For display only; the result may hold ``Total`` nodes (``doit()`` removes them).

    >>> o, t = sympy.symbols("o t")
    >>> tidy(-t + o)
    Total(o, -t)
    >>> from symbackprop.handout.latex import to_latex
    >>> print(to_latex(tidy(-t / o + (1 - t) / (1 - o)), {}))
    \\frac{o - t}{o \\left(1 - o\\right)}
    """
    expr = sympy.sympify(expr)
    numerator, denominator = sympy.fraction(sympy.together(expr))
    if denominator == 1 or all(f.as_base_exp()[0] is sympy.E for f in sympy.Mul.make_args(denominator)):
        return _differences(expr)  # no fraction to tidy, or one only over e^x: 1 - e^{-a} reads better
    numerator, denominator = sympy.fraction(sympy.factor(sympy.together(expr)))
    sign, factors = 1, []
    for factor in sympy.Mul.make_args(denominator):
        base, exponent = factor.as_base_exp()
        if base.is_Add and len(base.args) == 2:
            constant, rest = base.as_coeff_Add()
            if constant < 0 and not rest.could_extract_minus_sign():  # (x - 1) = -(1 - x)
                base, sign = Total(-constant, -rest), sign * (-1) ** int(exponent)
            else:
                base = _difference(base)
        factors.append(sympy.Pow(base, exponent, evaluate=False) if exponent != 1 else base)
    if numerator.could_extract_minus_sign() or (sign == -1 and numerator.is_Add):
        numerator, sign = -numerator, -sign  # -(y - out)/(...) reads better as (out - y)/(...)
    fraction = sympy.Mul(
        _differences(numerator), sympy.Pow(sympy.Mul(*factors, evaluate=False), -1, evaluate=False), evaluate=False
    )
    return fraction if sign == 1 else sympy.Mul(-1, fraction, evaluate=False)


def _differences(expr: sympy.Expr) -> sympy.Expr:
    """Each two-term difference among the factors of ``expr`` written positive term first; a
    leading minus absorbed into a factor like (a - 1), so -a (a - 1) reads a (1 - a)."""
    if not expr.is_Mul:
        return _difference(expr)
    coefficient, factors = expr.as_coeff_mul()
    factors = list(factors)
    if coefficient < 0:
        for n, factor in enumerate(factors):
            constant, rest = factor.as_coeff_Add() if factor.is_Add and len(factor.args) == 2 else (0, None)
            if constant < 0 and not rest.could_extract_minus_sign():
                factors[n], coefficient = Total(-constant, -rest), -coefficient
                break
    parts = [_difference(f) for f in factors]
    return sympy.Mul(*([coefficient] if coefficient != 1 else []), *parts, evaluate=False)


def _difference(expr: sympy.Expr) -> sympy.Expr:
    """a - b with the positive term first, as an ordered ``Total``; other expressions unchanged."""
    if expr.is_Add and len(expr.args) == 2:
        first, second = expr.args
        if first.could_extract_minus_sign() and not second.could_extract_minus_sign():
            first, second = second, first
        return Total(first, second)
    return expr
