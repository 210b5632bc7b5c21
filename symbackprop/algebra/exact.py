"""An exact, fast zero test for the expressions backpropagation produces.

``is_zero(expr)`` decides whether ``expr`` is identically zero. It treats every non-rational
subterm (``exp(-net)``, ``tanh(net)``, ``log(...)``, ``Heaviside(...)``) as an independent
variable G, then writes the whole expression as one fraction N / (f1^e1 · f2^e2 · ...) with
sparse polynomial arithmetic, the denominators kept factored so that (1 + e^{-net})^2 and
(1 + e^{-net})^3 share their factor. The answer is N == 0. It is a proof, not a sample:

* if N is the zero polynomial, the expression is zero wherever it is defined;
* structurally identical subterms become the same variable, and the forms we compare are built
  from the same definitions, so no relation between subterms is needed to see they agree.

An exponent that is an integer combination of others (e^{-net_1 - net_2}, as SymEngine writes
e^{-net_1} e^{-net_2}) is taken as that product of their variables (``_merged_exponents``).

One change of variables keeps it fast: where a denominator is c0 + c1·G (the sigmoid's
1 + e^{-net}), G is replaced everywhere by (1/v - c0)/c1 with a fresh variable v, so that
denominator becomes the monomial 1/v. The map is invertible (v = 1/(c0 + c1·G)), so the verdict
is unchanged, but common denominators are now monomials and the numerator stays the size of
the sum over paths instead of growing with the product of every neuron's (1 + e^{-net})^2.
And 1 - c0·v (which is c1·G·v) gets a variable u of its own: a sigmoid's σ' is then the monomial
v·u on both sides (out(1 - out), and e^{-net}/(1 + e^{-net})^2), not v - v^2, so a path of three
sigmoid layers is one monomial, not eight. Sums that are a·(1 - c0·v) are written a·u, and
a·(u + c0·v) is a; the relation u = 1 - c0·v is used at the end, only on a numerator that is not
already zero (the cross-entropy's σ'/(1 - σ) needs it), so the verdict is the same as without u.

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

import math
from fractions import Fraction
from functools import lru_cache
from typing import Optional

import sympy

from .expressions import has_log, replace_shared


def _is_rational_node(node: sympy.Basic) -> bool:
    """True for the nodes our polynomial arithmetic handles itself (+, ×, integer powers)."""
    return node.is_Add or node.is_Mul or (node.is_Pow and node.exp.is_Integer)


def _split(argument: sympy.Expr) -> tuple[sympy.Expr, int | Fraction]:
    """e^{argument} = (e^{r})^c: the rational multiple c (an int where it is one) and r, r not
    starting with a minus sign; e^{2} is (e^{1})^2 and e^{-x/2} is (e^{x})^{-1/2}."""
    coefficient, rest = argument.primitive() if argument.is_Add else argument.as_coeff_Mul()
    if not coefficient.is_Rational or coefficient.is_zero:
        coefficient, rest = sympy.Integer(1), argument
    if rest.could_extract_minus_sign():
        coefficient, rest = -coefficient, -rest
    return rest, _from_sympy(coefficient)


@lru_cache(maxsize=8192)
def _exponents(node: sympy.Basic, each_term: bool = False) -> Optional[tuple[tuple[sympy.Expr, int], ...]]:
    """e^{...} or b^w (w not an integer) as a product of (e^{r})^c, one factor per term of the
    exponent that holds a logarithm (SymPy turns e^{w log b} into b^w on its own) and one for
    the rest (or, with ``each_term``, one for every term); None for any other node. Memoized:
    the proofs of a network's parameters meet the same forward-pass exps again and again.

    >>> x, w, b = sympy.symbols("x w b")
    >>> _exponents(sympy.exp(-2 * x)), _exponents(b**w)
    (((x, -2),), ((w*log(b), 1),))
    """
    if node is sympy.E:  # e, as e^{1}: e^2 is then its square
        return ((sympy.S.One, 1),)
    if node.is_Pow and not node.exp.is_Integer and node.base is not sympy.E:
        return (_split(node.exp * sympy.log(node.base)),)
    if not isinstance(node, sympy.exp):
        return None
    logs, rest = [], []
    for term in sympy.Add.make_args(node.args[0]):
        has_log = any(isinstance(f, sympy.log) for f in sympy.Mul.make_args(term))
        (logs if has_log else rest).append(term)
    parts = tuple(_split(term) for term in logs)
    if each_term:
        return parts + tuple(_split(term) for term in rest)
    if not rest:
        return parts
    return parts + (_split(node.args[0] if not logs else sympy.Add(*rest)),)


class _Atoms:
    """Chooses one variable for each family of related subterms of one expression.

    e^{r}, e^{-r}, e^{2r} and b^w = e^{w log b} are powers of one variable (e^{r/q} where some are
    e^{r/q}: q the least common denominator of the multiples of r met); which sign of r
    becomes the variable is chosen so that a sigmoid's 1 + e^{-net} stays linear in it (see
    ``_linear_denominators``).
    """

    def __init__(self, expr: sympy.Expr, each_term: bool = False):
        # ``each_term``, for expressions with logs (softplus nets): SymPy merges e^{net_c} e^{net_d}
        # into one exp whose exponent mixes both nets' terms, so only one variable per term sees
        # that they are the same. Without logs (sigmoid, tanh) a whole net stays one variable,
        # which keeps 1 + e^{-net} linear (``_linear_denominators``) and the test fast.
        self.each_term = each_term
        self.sign: dict[sympy.Expr, int] = {}
        self.denominator: dict[sympy.Expr, int] = {}  # r -> q, where e^{r/q} is the variable
        seen: set = set()
        stack = [expr]
        while stack:
            node = stack.pop()
            if node in seen or node.is_Atom:
                continue
            seen.add(node)
            if _is_rational_node(node):
                stack.extend(node.args)
                if node.is_Pow and node.exp < 0 and node.base.is_Add and len(node.base.args) == 2:
                    for term in node.base.args:
                        found = _exponents(term.as_coeff_Mul()[1])
                        if found and len(found) == 1 and abs(found[0][1]) == 1:
                            self.sign[found[0][0]] = found[0][1]  # the sign a linear denominator uses
            else:
                for rest, coefficient in _exponents(node, self.each_term) or ():
                    self.sign.setdefault(rest, 1)
                    if isinstance(coefficient, Fraction):
                        q = self.denominator.get(rest, 1)
                        self.denominator[rest] = q * coefficient.denominator // math.gcd(q, coefficient.denominator)
        self.parts = {} if each_term else _merged_exponents(list(self.sign))
        for rest, parts in self.parts.items():
            del self.sign[rest]
            q = self.denominator.pop(rest, 1)
            for r, _ in parts:  # (e^{a + b})^{1/2} is (e^{a})^{1/2} (e^{b})^{1/2}
                self.denominator[r] = self.denominator.get(r, 1) * q // math.gcd(self.denominator.get(r, 1), q)

    def canonical(self, node: sympy.Basic) -> list[tuple[sympy.Basic, int]]:
        """A non-rational subterm as a product of variables with integer powers.

        >>> x = sympy.Symbol("x")
        >>> atoms = _Atoms(1 / (1 + sympy.exp(-x)) + sympy.exp(2 * x))
        >>> atoms.canonical(sympy.exp(2 * x))
        [(exp(-x), -2)]
        """
        found = _exponents(node, self.each_term)
        if found is None:
            return [(node, 1)]
        found = [(r, coefficient * k) for rest, coefficient in found for r, k in self.parts.get(rest, [(rest, 1)])]
        variables = []
        for rest, coefficient in found:
            sign, q = self.sign.get(rest, 1), self.denominator.get(rest, 1)
            power = coefficient * sign * q
            if isinstance(power, Fraction) and power.denominator != 1:  # a multiple not met in the walk: its own variable
                return [(node, 1)]
            variables.append((sympy.exp(sign * rest if q == 1 else sign * rest / q, evaluate=False), int(power)))
        return variables


@lru_cache(maxsize=8192)
def _monomials(exponent: sympy.Expr) -> dict[sympy.Expr, sympy.Rational]:
    """An exponent's terms as {monomial: rational coefficient} (memoized, as ``_exponents``: not to be changed)."""
    terms: dict[sympy.Expr, sympy.Rational] = {}
    for term in sympy.Add.make_args(exponent):
        coefficient, monomial = term.as_coeff_Mul()
        terms[monomial] = terms.get(monomial, 0) + coefficient
    return terms


def _merged_exponents(exponents: list[sympy.Expr]) -> dict[sympy.Expr, list[tuple[sympy.Expr, int]]]:
    """The exponents that are integer combinations of the others, each as [(other, multiple), ...]:
    e^{-net_1 - 2 net_2} is (e^{net_1})^{-1} (e^{net_2})^{-2} when e^{net_1} and e^{net_2} occur
    too (SymEngine, and some hand-written forms, merge e^{a} e^{b} into e^{a + b}).

    >>> a, b, c = sympy.symbols("a b c")
    >>> _merged_exponents([a + b, c, a + b + 2 * c])
    {a + b + 2*c: [(a + b, 1), (c, 2)]}
    """
    shapes = {r: _monomials(r) for r in exponents}
    by_monomial: dict[sympy.Expr, list[sympy.Expr]] = {}
    for r, terms in shapes.items():
        for monomial in terms:
            by_monomial.setdefault(monomial, []).append(r)
    merged = {}
    order = {r: i for i, r in enumerate(exponents)}  # ties in the order met: stable, and cheap to sort by
    for rest in sorted(exponents, key=lambda r: (len(shapes[r]), order[r])):
        left = dict(shapes[rest])
        if len(left) < 2:
            continue
        parts = []
        while left:
            monomial = next(iter(left))
            for r in by_monomial.get(monomial, ()):
                if r is rest or r in merged or len(shapes[r]) >= len(shapes[rest]):
                    continue
                k = left[monomial] / shapes[r][monomial]
                if k.is_Integer and all(left.get(m) == k * c for m, c in shapes[r].items()):
                    parts.append((r, int(k)))
                    for m in shapes[r]:
                        del left[m]
                    break
            else:
                break
        if not left and len(parts) > 1:
            merged[rest] = parts
    return merged


def _generators(expr: sympy.Expr, atoms: _Atoms) -> list[sympy.Basic]:
    """Symbols and canonical non-rational subterms (the polynomial variables), in the order first
    met (stable: SymPy orders the arguments of + and × canonically; sorting by ``default_sort_key``
    cost more than the test on a big network, and no verdict depends on the order)."""
    found: dict[sympy.Basic, None] = {}
    seen: set[sympy.Basic] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node.is_Number:
            if not node.is_Rational and not node.is_Float:
                found[node] = None
        elif node.is_Symbol:
            found[node] = None
        elif _is_rational_node(node):
            stack.extend(node.args)
        else:
            found.update((atom, None) for atom, _ in atoms.canonical(node))
    return list(found)


def _linear_denominators(expr: sympy.Expr, generators: list[sympy.Basic],
                         atoms: _Atoms) -> tuple[dict[sympy.Basic, tuple], dict[sympy.Basic, sympy.Basic]]:
    """Generators G that occur in a denominator c0 + c1·G (c0, c1 nonzero rationals), with (c0, c1);
    and each such c0 + c1·G found, with its G."""
    candidates = {g for g in generators if not g.is_Symbol}
    found: dict[sympy.Basic, tuple] = {}
    bases: dict[sympy.Basic, sympy.Basic] = {}
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
            parts = atoms.canonical(g) if not g.is_Symbol else [(g, 1)]
            g, power = parts[0] if len(parts) == 1 else (None, 0)
            if power == 1 and c0.is_Rational and c1.is_Rational and g in candidates:
                if found.setdefault(g, (c0, c1)) == (c0, c1):
                    bases[node.base] = g
    return found, bases


class _ExponentOverflow(Exception):
    """An exponent outgrew its field in ``_Ring``'s packed monomials: build again with wider fields."""


class _Ring:
    """Sparse polynomials with rational coefficients over ``n`` variables, made for speed: a
    polynomial is a dict {monomial: coefficient}, a monomial one int holding each variable's
    exponent in its own field of ``width`` bits (variable i in bits i·width and up), so the
    product of two monomials is the sum of two ints, whatever the number of variables (a
    network's hundreds of weights made tuple monomials, as in ``sympy.polys.rings``, the cost
    of the test). Coefficients are ints, or ``Fraction`` where one is not an integer.

    Exponents stay below 2^(width-1): the top bit of each field is a guard, so a sum of two
    monomials never carries into the next field, and a product whose exponent reaches the guard
    raises ``_ExponentOverflow`` (``is_zero`` builds again with fields twice as wide).

    >>> ring = _Ring(2, width=8)
    >>> x, y = ring.gens
    >>> p = ring.add(x, ring.const(1))                     # x + 1
    >>> ring.mul(p, ring.add(x, ring.const(-1))) == ring.add(ring.mul(x, x), ring.const(-1))
    True
    >>> ring.power(y, 127) == {127 << 8: 1}                # y^127: 127 in y's field, bits 8 to 15
    True
    >>> ring.power(y, 128)
    Traceback (most recent call last):
    ...
    symbackprop.algebra.exact._ExponentOverflow
    """

    def __init__(self, n: int, width: int = 16):
        self.width = width
        self.guard = sum(1 << (i * width + width - 1) for i in range(n))
        self.one = {0: 1}
        self.zero: dict = {}
        self.gens = [{1 << (i * width): 1} for i in range(n)]

    @staticmethod
    def const(c) -> dict:
        return {0: c} if c else {}

    def _checked(self, p: dict) -> dict:
        if self.guard and p:
            bits = 0
            for m in p:
                bits |= m
            if bits & self.guard:
                raise _ExponentOverflow
        return p

    def mul(self, a: dict, b: dict) -> dict:
        if len(a) < len(b):
            a, b = b, a
        if len(b) == 1:
            ((mb, cb),) = b.items()
            if mb == 0:
                return a if cb == 1 else {m: c * cb for m, c in a.items()}
            return self._checked({m + mb: c * cb for m, c in a.items()})
        out: dict = {}
        get = out.get
        for mb, cb in b.items():
            for ma, ca in a.items():
                m = ma + mb
                c = get(m, 0) + ca * cb
                if c:
                    out[m] = c
                else:
                    del out[m]
        return self._checked(out)

    @staticmethod
    def add(a: dict, b: dict) -> dict:
        if len(a) < len(b):
            a, b = b, a
        out = dict(a)
        get = out.get
        for m, c in b.items():
            total = get(m, 0) + c
            if total:
                out[m] = total
            else:
                del out[m]
        return out

    @staticmethod
    def scale(a: dict, c) -> dict:
        """``a`` times the rational ``c`` (an int, or a ``Fraction`` kept an int where it is one)."""
        return {m: _rational(v * c) for m, v in a.items()} if c != 1 else a

    def substitute(self, a: dict, replacements: list[tuple[int, dict]]) -> dict:
        """``a`` with the variables of the given indices replaced by polynomials free of them.

        >>> ring = _Ring(2, width=8)
        >>> x, y = ring.gens
        >>> ring.substitute(ring.mul(x, y), [(1, ring.add(x, ring.const(1)))]) == ring.add(ring.mul(x, x), x)
        True
        """
        mask = (1 << self.width) - 1
        powers: dict[tuple[int, int], dict] = {}
        out: dict = {}
        for m, c in a.items():
            term = {m: c}
            for index, value in replacements:
                shift = index * self.width
                exponent = (m >> shift) & mask
                if exponent:
                    if (index, exponent) not in powers:
                        powers[(index, exponent)] = self.power(value, exponent)
                    term = self.mul({k - (exponent << shift): v for k, v in term.items()}, powers[(index, exponent)])
            out = self.add(out, term)
        return out

    def power(self, a: dict, exponent: int) -> dict:
        result, base = self.one, a
        while exponent:
            if exponent & 1:
                result = self.mul(result, base)
            exponent >>= 1
            if exponent:
                base = self.mul(base, base)
        return result


def _rational(c):
    """A coefficient as an int where it is one (a ``Fraction`` with denominator 1), else as is."""
    return c.numerator if isinstance(c, Fraction) and c.denominator == 1 else c


class _FractionBuilder:
    """Converts an expression to (numerator polynomial, {denominator factor id: exponent})."""

    def __init__(self, generators: list[sympy.Basic], substitutions: dict[sympy.Basic, tuple], atoms: _Atoms,
                 width: int = 16, bases: Optional[dict[sympy.Basic, sympy.Basic]] = None):
        self.atoms = atoms
        kept = [g for g in generators if g not in substitutions]
        n = len(substitutions)
        self.ring = ring = _Ring(len(kept) + 2 * n, width)
        self.variable = {g: (x, {}) for g, x in zip(kept, ring.gens)}
        self.factors: list = []  # primitive polynomials; a fraction's denominator is a product of their powers
        self.factor_id: dict = {}
        self.powers: dict[tuple[int, int], object] = {}
        self.memo: dict[sympy.Basic, tuple] = {}
        self.relations: list[tuple[int, dict]] = []  # (the index of u, 1 - c0·v): what each u stands for
        self.one_minus: dict[tuple[int, object], dict] = {}  # (v's monomial, -c0) -> u: 1 - c0·v is written u
        self.sum_is_one: dict[tuple[int, int], object] = {}  # (u's monomial, v's) -> c0: u + c0·v is 1
        reciprocal: dict[sympy.Basic, tuple] = {}  # G -> 1/v, the value of c0 + c1·G
        gens = ring.gens[len(kept):]
        for index, ((g, (c0, c1)), v, u) in enumerate(zip(substitutions.items(), gens[:n], gens[n:])):
            _, v_id = self.register(v)  # G = (1/v - c0)/c1 = (1 - c0·v)/(c1·v) = u/(c1·v)
            c0, c1 = _from_sympy(c0), _from_sympy(c1)
            self.variable[g] = (ring.scale(u, Fraction(1) / c1), {v_id: 1})
            (v_monomial,), (u_monomial,) = v, u
            self.relations.append((len(kept) + n + index, ring.add(ring.one, ring.scale(v, -c0))))
            self.one_minus[(v_monomial, -c0)] = u
            self.sum_is_one[(u_monomial, v_monomial)] = c0
            reciprocal[g] = (ring.one, {v_id: 1})
        self.bases = {base: reciprocal[g] for base, g in (bases or {}).items() if g in reciprocal}

    def canonical_sum(self, p: dict) -> dict:
        """A sum as built, or written with u where it is a·(1 - c0·v) (a·u) or a·(u + c0·v) (a): the
        same value, and the products it enters stay as small as 1 - c0·v keeps them unexpanded
        (a sigmoid's out(1 - out) is v·u, one monomial, as SymPy's e^{-net}/(1 + e^{-net})^2 is)."""
        if len(p) != 2:
            return p
        (m1, a1), (m2, a2) = p.items()
        for (m, a), (m_other, a_other) in (((m1, a1), (m2, a2)), ((m2, a2), (m1, a1))):
            if m == 0:
                u = self.one_minus.get((m_other, Fraction(a_other) / a))
                if u is not None:
                    return self.ring.scale(u, a)
            c0 = self.sum_is_one.get((m, m_other))
            if c0 is not None and a_other == c0 * a:
                return self.ring.const(a)
        return p

    def numerator(self, expr: sympy.Expr) -> dict:
        """The numerator of ``expr`` as a fraction over its denominators' factors, each u written 1 - c0·v:
        the zero polynomial only if ``expr`` is zero wherever it is defined (``is_zero``'s verdict)."""
        numerator, _ = self.convert(expr)
        if numerator and self.relations:
            numerator = self.ring.substitute(numerator, self.relations)
        return numerator

    def power_of_factor(self, factor: int, exponent: int):
        key = (factor, exponent)
        if key not in self.powers:
            self.powers[key] = self.ring.power(self.factors[factor], exponent)
        return self.powers[key]

    def register(self, polynomial: dict) -> tuple[object, int | None]:
        """Make ``polynomial`` a denominator factor: it is s · f with f primitive (integer
        coefficients without a common divisor, the leading one positive); returns (1/s, the id of
        f, or None when ``polynomial`` is a constant)."""
        if not polynomial:
            raise ZeroDivisionError("the expression divides by an expression that is identically zero")
        if len(polynomial) == 1 and 0 in polynomial:
            return _rational(Fraction(1) / polynomial[0]), None
        common = 1  # the least common multiple of the coefficients' denominators
        for c in polynomial.values():
            if isinstance(c, Fraction):
                common = common * c.denominator // math.gcd(common, c.denominator)
        integers = {m: int(c * common) for m, c in polynomial.items()}
        divisor = 0
        for c in integers.values():
            divisor = math.gcd(divisor, c)
        if integers[max(integers)] < 0:
            divisor = -divisor
        primitive = frozenset((m, c // divisor) for m, c in integers.items())
        if primitive not in self.factor_id:
            self.factor_id[primitive] = len(self.factors)
            self.factors.append(dict(primitive))
        return _rational(Fraction(common, divisor)), self.factor_id[primitive]

    def convert(self, node: sympy.Basic) -> tuple:
        cached = self.memo.get(node)
        if cached is not None:
            return cached
        ring = self.ring
        if node in self.variable:
            result = self.variable[node]
        elif node in self.bases:
            result = self.bases[node]
        elif not node.is_Number and not _is_rational_node(node):
            numerator, denominator = ring.one, {}
            for atom, power in self.atoms.canonical(node):
                n, d = self.power(self.variable[atom], power)
                numerator = ring.mul(numerator, n)
                for factor, exponent in d.items():
                    denominator[factor] = denominator.get(factor, 0) + exponent
            result = (numerator, denominator)
        elif node.is_Number:
            result = (ring.const(_from_sympy(sympy.Rational(node))), {})
        elif node.is_Mul:
            numerator, denominator = ring.one, {}
            for arg in node.args:
                n, d = self.convert(arg)
                numerator = ring.mul(numerator, n)
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
                        n = ring.mul(n, self.power_of_factor(factor, missing))
                numerator = ring.add(numerator, n)
            result = (self.canonical_sum(numerator), denominator)
        else:  # an integer power
            result = self.power(self.convert(node.base), int(node.exp))
        self.memo[node] = result
        return result

    def power(self, fraction: tuple, exponent: int) -> tuple:
        """A fraction (numerator, {factor: exponent}) raised to an integer power."""
        n, d = fraction
        if exponent == 1:
            return fraction
        ring = self.ring
        if exponent < 0:
            inverted = ring.one
            for factor, e in d.items():
                inverted = ring.mul(inverted, self.power_of_factor(factor, e))
            scale, factor = self.register(n)
            n, d = ring.scale(inverted, scale), ({} if factor is None else {factor: 1})
            exponent = -exponent
        return ring.power(n, exponent), {factor: e * exponent for factor, e in d.items()}


def _from_sympy(number: sympy.Rational):
    """A SymPy rational as an int, or a ``Fraction``."""
    return int(number.p) if number.q == 1 else Fraction(int(number.p), int(number.q))


def _powers_as_exp(expr: sympy.Expr) -> sympy.Expr:
    """One form for what SymPy writes several ways inside logs (softplus nets build
    log(1 + exp(w log(...)))): ``y**w`` with a symbolic exponent becomes ``exp(w log y)``, and a
    product of exps one exp of the sum, so that equal log(...) atoms are identical.

    >>> y, w, a, b = sympy.symbols("y w a b", positive=True)
    >>> _powers_as_exp(sympy.log(1 + y**w) + y**2)
    y**2 + log(exp(w*log(y)) + 1)
    >>> _powers_as_exp(sympy.log(1 + sympy.exp(a) * sympy.exp(b) * y)) == sympy.log(1 + y * sympy.exp(a + b))
    True
    """
    expr = replace_shared(
        expr,
        lambda e: e.is_Pow and not e.exp.is_number,
        lambda e: sympy.exp(e.exp * sympy.log(e.base), evaluate=False),
    )
    return replace_shared(
        expr,
        lambda e: e.is_Mul and sum(1 for f in e.args if isinstance(f, sympy.exp)) > 1,
        lambda e: sympy.Mul(*(f for f in e.args if not isinstance(f, sympy.exp)))
        * sympy.exp(sympy.Add(*(f.args[0] for f in e.args if isinstance(f, sympy.exp)))),
    )


def is_zero(expr: sympy.Expr) -> bool:
    """True when ``expr`` is identically zero (exactly, see the module docstring)."""
    expr = sympy.sympify(expr)
    logs = has_log(expr)  # sigmoid and tanh nets have none
    if logs:
        expr = _powers_as_exp(expr)
    atoms = _Atoms(expr, each_term=logs)
    generators = _generators(expr, atoms)
    substitutions, bases = _linear_denominators(expr, generators, atoms)
    width = 8
    while True:
        try:
            return not _FractionBuilder(generators, substitutions, atoms, width, bases).numerator(expr)
        except _ExponentOverflow:  # an exponent of 2^15 or more: wider fields
            width *= 2


def are_equal(a: sympy.Expr, b: sympy.Expr) -> bool:
    """True when ``a - b`` is identically zero.

    >>> x = sympy.Symbol("x")
    >>> are_equal((x + 1) ** 2, x**2 + 2 * x + 1)
    True

    The same expression is equal without expanding it: a deep chain's path product (121 factors
    of 1-1-...-1) is its delta form, and expanding their difference would take 2^40 terms.
    """
    if a == b:
        return True
    # unevaluated: SymPy would otherwise flatten and query assumptions on two large expressions
    return is_zero(sympy.Add(a, sympy.Mul(-1, b, evaluate=False), evaluate=False))
