"""The truth side of every proof: ∂expr/∂symbol of the plain expression, by a computer algebra system.

``derivative(expr, symbol)`` is ``sympy.diff(expr, symbol)``, taken by SymEngine (PyPI
``symengine``, a C++ symbolic core) when it is installed and the expression is built only from
+, ×, powers, exp, log, tanh and abs (sigmoid, tanh, softplus, a custom activation such as
z/(1+|z|), squared error, cross-entropy, softmax). SymEngine differentiates the same expression by
the same rules about ten times faster: SymPy walks the whole result again at every nested
step. SymEngine has no rule for abs (it is not differentiable as a complex function) and leaves
∂|u|/∂w unevaluated; that node is rebuilt with SymPy's own rule for a real u, sign(u) · ∂u/∂w.
Anything else (Max, Heaviside, Piecewise, a custom function, a float, abs of an expression not
known to be real), a SymEngine failure, or ``SYMBACKPROP_SYMENGINE=0`` in the environment takes
``sympy.diff`` itself. Either way the result is a SymPy expression over the same symbols (their
assumptions kept), and it is never trusted beyond what the caller checks: a proof compares it with
the derived form by the exact zero test, which decides on the expression, not on who built it.

>>> x, w = sympy.symbols("x w", real=True)
>>> loss = (1 - 1 / (1 + sympy.exp(-w * x))) ** 2 / 2
>>> from symbackprop.algebra.exact import are_equal
>>> are_equal(derivative(loss, w), sympy.diff(loss, w))
True
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from contextlib import contextmanager
from functools import lru_cache

import sympy

from .expressions import distinct_nodes, distinct_postorder, has_log

# The node types SymEngine's rules agree with SymPy's on, for real arguments; and Abs, whose
# derivative SymEngine leaves to us: it is rebuilt by SymPy's rule (``_Converted._abs_derivative``).
_PLAIN = (sympy.Add, sympy.Mul, sympy.Pow, sympy.exp, sympy.log, sympy.tanh, sympy.Symbol, sympy.Rational,
          sympy.core.numbers.NumberSymbol, sympy.Abs)


_SYMPY_ONLY: list[bool] = []  # set inside ``sympy_only()``


@contextmanager
def sympy_only():
    """Take every derivative with ``sympy.diff`` inside the block (the gallery is built so, to read
    the same on every machine, with SymEngine installed or not).

    >>> with sympy_only():
    ...     engine(sympy.exp(sympy.Symbol("x")))
    'SymPy'
    """
    _SYMPY_ONLY.append(True)
    try:
        yield
    finally:
        _SYMPY_ONLY.pop()


def engine(expr: sympy.Expr) -> str:
    """Who ``derivative`` lets differentiate ``expr``, for the handouts' words: "SymEngine",
    "SymEngine+abs" (SymEngine, with SymPy's rule for abs), or "SymPy".

    >>> x = sympy.Symbol("x", real=True)
    >>> with sympy_only():
    ...     engine(sympy.Abs(x))
    'SymPy'
    """
    symengine = _symengine()
    if symengine is None or _converted(expr, symengine) is None:
        return "SymPy"
    return "SymEngine+abs" if any(isinstance(node, sympy.Abs) for node in distinct_nodes(expr)) else "SymEngine"


def _symengine():
    """The symengine module, or None when it is not installed or switched off."""
    return None if _SYMPY_ONLY else _installed_symengine()


def _switched_off() -> bool:
    return os.environ.get("SYMBACKPROP_SYMENGINE", "1").strip() in ("0", "no", "false", "off")


@lru_cache(maxsize=1)
def _installed_symengine():
    if _switched_off():
        return None
    try:
        import symengine
    except ImportError:
        return None
    return symengine


def expected_engine(parts: Iterable[sympy.Expr]) -> str:
    """What ``engine`` is expected to say of an expression substituted together from ``parts`` (a
    network's definitions, and E_total over them), without building it or importing SymEngine:
    substitution adds no node type, so the parts' types are the whole's. A forecast, for words
    printed before the whole is built (the caller confirms it with ``engine`` of the whole).

    >>> x = sympy.Symbol("x", real=True)
    >>> with sympy_only():
    ...     expected_engine([sympy.exp(x)])
    'SymPy'
    """
    if _SYMPY_ONLY or _switched_off() or importlib.util.find_spec("symengine") is None:
        return "SymPy"
    nodes = {node for part in parts for node in distinct_nodes(part)}
    symbols = [n for n in nodes if n.is_Symbol]
    if not all(_plain_node(node) for node in nodes) or len({s.name for s in symbols}) != len(symbols):
        return "SymPy"  # as ``_converted`` decides: a node SymEngine should not take, or two symbols of one name
    return "SymEngine+abs" if any(isinstance(node, sympy.Abs) for node in nodes) else "SymEngine"


class _Converted:
    """One expression in SymEngine, and the way back: SymEngine's result rebuilt in SymPy node by
    node (shared subterms once), its symbols the expression's own (with their assumptions)."""

    def __init__(self, expr: sympy.Expr, symbols: dict[str, sympy.Symbol], symengine):
        self.symengine = symengine
        self.symbols = symbols  # the expression's free symbols by name
        self.memo: dict = {}
        self.trees: dict = {}  # SymEngine node -> its unevaluated SymPy tree (``tree``)
        self.has_abs = False  # whether |u| occurs: its derivative's sign(u)·u' must be merged by SymPy (``tree``)
        self.expr = self._forward(expr)

    def _forward(self, expr: sympy.Expr):
        """``expr`` in SymEngine, built node by node from the leaves up; each SymEngine node is
        remembered with the SymPy node it came from, so that the way back gives a derivative's
        forward-pass subterms as the very objects of ``expr`` (and of the forms compared with it,
        built from the same expansions): dict lookups and the zero test then compare them by
        identity, not by walking two equal trees."""
        se = self.symengine
        built: dict = {}
        for node in distinct_postorder(expr):
            args = [built[arg] for arg in node.args]
            if node.is_Symbol:
                result = se.Symbol(node.name)
            elif node.is_Add:
                result = se.Add(*args)
            elif node.is_Mul:
                result = se.Mul(*args)
            elif node.is_Pow:
                result = se.Pow(*args)
            elif isinstance(node, (sympy.exp, sympy.log, sympy.tanh, sympy.Abs)):
                result = getattr(se, type(node).__name__)(*args)
                self.has_abs = self.has_abs or isinstance(node, sympy.Abs)
            else:  # numbers: as SymEngine reads them
                result = se.sympify(node)
            built[node] = result
            self.memo.setdefault(result, node)
        return built[expr]

    def back(self, node) -> sympy.Expr:
        """The SymPy form of a SymEngine result; ValueError for a node outside ``_PLAIN``'s kinds."""
        done = self.memo.get(node)
        if done is not None:
            return done
        se = self.symengine
        kind = type(node).__name__
        if kind == "Symbol":
            result = self.symbols[node.name]
        elif kind in ("Integer", "Zero", "One", "NegativeOne"):
            result = sympy.Integer(int(node))
        elif kind == "Rational":
            result = sympy.Rational(*node.get_num_den())
        elif kind == "Exp1":
            result = sympy.E
        elif kind == "Add":
            result = sympy.Add(*(self.back(a) for a in node.args))
        elif kind == "Mul":
            result = sympy.Mul(*(self.back(a) for a in node.args))
        elif kind == "Pow":
            base, exponent = node.args
            result = sympy.exp(self.back(exponent)) if base == se.E else sympy.Pow(self.back(base), self.back(exponent))
        elif kind in ("log", "tanh") and len(node.args) == 1:
            result = getattr(sympy, kind)(self.back(node.args[0]))
        elif kind == "Abs":
            result = sympy.Abs(self.back(node.args[0]))
        elif kind == "Derivative":
            result = self._abs_derivative(node)
        else:
            raise ValueError(f"SymEngine gave a {kind}")
        self.memo[node] = result
        return result

    def tree(self, node) -> sympy.Expr:
        """The SymPy form of a SymEngine result as it stands, for the exact zero test only: its
        +, × and integer powers are built unevaluated, and so is e^{u} where u has no log (SymPy's
        evaluation there simplifies nothing, but asks assumptions of u, a whole forward pass, at
        every merged exponent: most of a big network's proof). Its exponents, and everything
        under a non-rational node, are ``back``'s, so equal subterms are equal nodes; the value is
        SymEngine's result, which the zero test reads by structure. ValueError as ``back``. Not
        for an expression with |u|: the proofs rewrite sign(u)·u as |u| (``sign_times_argument``)
        in a product SymPy has flattened.

        >>> import symengine
        >>> x = sympy.Symbol("x")
        >>> converted = _Converted(x, {"x": x}, symengine)
        >>> converted.tree(symengine.exp(-symengine.Symbol("x")) * 2 * symengine.Symbol("x"))
        2*x*exp(-x)
        """
        done = self.memo.get(node)
        if done is not None:
            return done
        done = self.trees.get(node)
        if done is not None:
            return done
        se = self.symengine
        kind = type(node).__name__
        if kind == "Add":
            result = sympy.Add(*(self.tree(a) for a in node.args), evaluate=False)
        elif kind == "Mul":
            result = sympy.Mul(*(self.tree(a) for a in node.args), evaluate=False)
        elif kind == "Pow" and node.args[0] == se.E:
            exponent = self.back(node.args[1])
            result = sympy.exp(exponent) if has_log(exponent) else sympy.exp(exponent, evaluate=False)
        elif kind == "Pow" and type(node.args[1]).__name__ in ("Integer", "One", "NegativeOne"):
            result = sympy.Pow(self.tree(node.args[0]), sympy.Integer(int(node.args[1])), evaluate=False)
        else:
            result = self.back(node)
        self.trees[node] = result
        return result

    def _abs_derivative(self, node) -> sympy.Expr:
        """SymEngine's unevaluated ∂|u|/∂w (it has no rule for abs, which is not holomorphic) by
        SymPy's own rule for a real u, ``Abs._eval_derivative``: sign(u) · ∂u/∂w, with ∂u/∂w
        SymEngine's. ValueError for any other Derivative, or a u SymPy does not know to be real."""
        se = self.symengine
        if len(node.args) != 2 or type(node.args[0]).__name__ != "Abs" or type(node.args[1]).__name__ != "Symbol":
            raise ValueError("SymEngine left a derivative other than of abs")
        inner, symbol = node.args[0].args[0], node.args[1]
        u = self.back(inner)
        if u.is_extended_real is not True:
            raise ValueError("abs of an expression not known to be real")
        return self.back(se.diff(inner, symbol)) * sympy.sign(u)


_CONVERTED: dict[sympy.Expr, _Converted | None] = {}  # the last few expressions differentiated (E_total, again and again)


def _plain_node(node: sympy.Basic) -> bool:
    """One of the node types in ``_PLAIN``, an abs only of what SymPy knows to be real."""
    return isinstance(node, _PLAIN) and (not isinstance(node, sympy.Abs) or node.args[0].is_extended_real is True)


def _plain(expr: sympy.Expr) -> bool:
    """Built only from ``_plain_node``s."""
    return all(_plain_node(node) for node in distinct_nodes(expr))


def _converted(expr: sympy.Expr, symengine) -> _Converted | None:
    """``expr`` in SymEngine, once for the last few expressions; None when SymEngine should not take
    it: a node outside ``_PLAIN``, or two free symbols of one name."""
    if expr not in _CONVERTED:
        if len(_CONVERTED) >= 4:
            _CONVERTED.pop(next(iter(_CONVERTED)))
        free = expr.free_symbols
        symbols = {s.name: s for s in free}
        try:
            plain = len(symbols) == len(free) and _plain(expr)
            _CONVERTED[expr] = _Converted(expr, symbols, symengine) if plain else None
        except (RuntimeError, TypeError, ValueError, NotImplementedError):
            _CONVERTED[expr] = None
    return _CONVERTED[expr]


def derivative(expr: sympy.Expr, symbol: sympy.Symbol, evaluate: bool = True) -> sympy.Expr:
    """∂``expr``/∂``symbol``, as ``sympy.diff`` gives it (see the module docstring).

    ``evaluate=False``, for the exact zero test: where SymEngine took it, its result is given as it
    stands, not evaluated by SymPy (``_Converted.tree``): the same expression, maybe printed with
    unmerged terms (x + x), and built several times faster on a big network.
    """
    symengine = _symengine()
    converted = _converted(expr, symengine) if symengine is not None and isinstance(symbol, sympy.Symbol) else None
    if converted is not None and converted.symbols.get(symbol.name) == symbol:  # a free symbol of expr
        try:
            result = symengine.diff(converted.expr, symengine.Symbol(symbol.name))
            return converted.tree(result) if not evaluate and not converted.has_abs else converted.back(result)
        except (RuntimeError, TypeError, ValueError, NotImplementedError, KeyError):
            pass
    return sympy.diff(expr, symbol)
