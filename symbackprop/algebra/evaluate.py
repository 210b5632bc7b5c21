"""A SymPy expression evaluated with NumPy at many points at once, real or complex.

The one numeric evaluator of the package: the proofs' numeric checks, the complex-step gradient
and the activation registry's range test all use it. Nodes without a NumPy twin here fall back to
``sympy.lambdify``.

>>> import numpy as np, sympy
>>> z = sympy.Symbol("z")
>>> evaluate(sympy.tanh(z) ** 2, {z: np.array([0.0, 1.0])}).round(6)
array([0.      , 0.580026])
"""

from __future__ import annotations

import math
import time
from functools import lru_cache
from typing import Mapping

import sympy

from .lazy import numpy as np
from .limits import time_limit

_VECTOR_TERMS = 8  # a sum of at least this many products of symbols (a net input) is added up in NumPy
CONSTANT_SECONDS = 0.5  # for one constant at full precision (e^{e^{10^6}} takes ~45 s): then float64


def real_part(x):
    """The real part of a complex array; a real array as it is."""
    return np.real(x) if np.iscomplexobj(x) else x


# NumPy twins of SymPy's functions, right for the complex step too: non-analytic functions keep
# the imaginary part (|x + ih| is |x| + ih·sign(x), not sqrt(x² + h²)) and compare real parts.
# (Each reads np when called: NumPy is imported on first use, ``algebra.lazy``.)
_UFUNCS = {
    "exp": lambda x: np.exp(x),
    "log": lambda x: np.log(x),
    "tanh": lambda x: np.tanh(x),
    "sinh": lambda x: np.sinh(x),
    "cosh": lambda x: np.cosh(x),
    "sin": lambda x: np.sin(x),
    "cos": lambda x: np.cos(x),
    "Abs": lambda x: x * np.sign(real_part(x)),
    "sign": lambda x: np.sign(real_part(x)),
}
COMPLEX_STEP_SAFE = {  # the same, for sympy.lambdify
    "Abs": _UFUNCS["Abs"],
    "sign": _UFUNCS["sign"],
    "Heaviside": lambda x, h0=0.5: np.heaviside(real_part(x), h0),
}


def _extreme(values: list, better) -> np.ndarray:
    """Elementwise max (better = np.greater) or min of several values, compared by real part."""
    chosen = values[0]
    for value in values[1:]:
        chosen = np.where(better(real_part(value), real_part(chosen)), value, chosen)
    return chosen


def evaluate(expr: sympy.Expr, values: Mapping[sympy.Symbol, np.ndarray], memo: dict | None = None) -> np.ndarray:
    """``expr`` at the points in ``values`` (one array per symbol), vectorized over points.

    Walks the expression once (shared subterms once); nodes without a NumPy twin here fall back
    to ``sympy.lambdify``.

    >>> x, y = sympy.symbols("x y")
    >>> evaluate(x * sympy.exp(y) + 1, {x: np.array([1.0, 2.0]), y: np.array([0.0, 0.0])})
    array([2., 3.])
    """
    return _walk(sympy.sympify(expr), values, {} if memo is None else memo)


def _walk(node: sympy.Basic, values: Mapping, memo: dict, in_float64: bool = False):
    """``evaluate``'s recursion: a plain function, not a closure, so that no reference cycle
    keeps the memo's (possibly large) arrays alive after the call. ``in_float64``: constants
    too are walked in NumPy, node by node (``constant``'s fallback)."""
    if node in memo:
        return memo[node]
    walk = lambda child: _walk(child, values, memo, in_float64)  # noqa: E731
    if node in values:
        result = values[node]
    elif node.is_number and (node.is_Atom or not in_float64):  # a constant: 2, pi, or nan/zoo
        result = constant(node)
    elif node.is_Add:
        products = (_products([_factors_with_values(a, values) for a in node.args], values)
                    if len(node.args) >= _VECTOR_TERMS else None)
        if products is None:
            result = sum(walk(a) for a in node.args)
        else:  # left to right from 0, as sum() adds (np.sum would pair terms up and round differently)
            result = np.add.accumulate(np.concatenate([np.zeros((1,) + products.shape[1:]), products]))[-1].copy()
    elif node.is_Mul:
        result = 1.0
        for a in node.args:
            result = result * walk(a)
    elif node.is_Pow:
        base, exponent = walk(node.base), node.exp
        result = base ** int(exponent) if exponent.is_Integer else base ** walk(exponent)
    elif node.func.__name__ in _UFUNCS and len(node.args) == 1:
        result = _UFUNCS[node.func.__name__](walk(node.args[0]))
    elif isinstance(node, (sympy.Max, sympy.Min)):
        result = _extreme([walk(a) for a in node.args], np.greater if isinstance(node, sympy.Max) else np.less)
    elif isinstance(node, sympy.Heaviside):
        at_zero = float(node.args[1]) if len(node.args) > 1 else 0.5
        result = np.heaviside(real_part(walk(node.args[0])), at_zero)
    else:
        free = sorted(node.free_symbols, key=lambda s: s.name)
        result = sympy.lambdify(free, node, modules=[COMPLEX_STEP_SAFE, "numpy"])(*(walk(s) for s in free))
    memo[node] = result
    return result


def evaluate_many(exprs: list[sympy.Expr], values: Mapping[sympy.Symbol, np.ndarray], memo: dict | None = None,
                  points: int = 1) -> np.ndarray:
    """Each of ``exprs`` at the points in ``values``: one row per expression, ``points`` columns
    (each row the number ``evaluate`` gives, broadcast). Products of symbols with values, such as
    every weight's δ_j·out_i in a big network, are multiplied as a few NumPy operations.

    >>> x, y = sympy.symbols("x y")
    >>> evaluate_many([x * y, x + 1, y], {x: np.array([1.0, 2.0]), y: np.array([3.0, 4.0])}, points=2)
    array([[3., 8.],
           [2., 3.],
           [3., 4.]])
    """
    memo = {} if memo is None else memo
    simple, other, factor_lists = [], [], []
    for i, expr in enumerate(exprs):
        factors = _factors_with_values(expr, values)
        if factors is None:
            other.append(i)
        else:
            simple.append(i)
            factor_lists.append(factors)
    computed = _products(factor_lists, values) if simple else np.zeros((0, points))
    if computed.ndim == 1:  # values given as numbers, not arrays
        computed = computed[:, None]
    walked = [evaluate(exprs[i], values, memo) for i in other]
    result = np.empty((len(exprs), points), dtype=np.result_type(computed, *walked, 1.0))
    result[simple] = computed
    for i, value in zip(other, walked):
        result[i] = value
    return result


_MATH = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "sinh": math.sinh, "cosh": math.cosh, "sin": math.sin,
         "cos": math.cos, "Abs": abs, "sign": lambda x: float((x > 0) - (x < 0))}


def at_point(expr: sympy.Expr, point: Mapping[sympy.Symbol, float],
             definitions: Mapping[sympy.Symbol, sympy.Expr] | None = None, memo: dict | None = None) -> float:
    """``expr`` at one point as a Python float, without NumPy: a symbol takes its value in ``point``,
    or its definition's value (``definitions``: net = w·out, out = σ(net), ... each at most once).
    ValueError where the value is not a real number or a node has no ``math`` twin here (a quick
    screen gives up there; ``evaluate`` is the evaluator of the checks).

    >>> x, y = sympy.symbols("x y")
    >>> at_point(x * sympy.exp(y) + 1, {x: 2.0}, {y: x - 2})
    3.0
    """
    memo = {} if memo is None else memo
    definitions = definitions or {}

    def walk(node: sympy.Basic) -> float:
        if node in memo:
            return memo[node]
        if node in point:
            result = float(point[node])
        elif node.is_Symbol and node in definitions:
            result = walk(definitions[node])
        elif node.is_number:
            result = constant(node)
        elif node.is_Add:
            result = math.fsum(walk(a) for a in node.args)
        elif node.is_Mul:
            result = math.prod(walk(a) for a in node.args)
        elif node.is_Pow:
            base = walk(node.base)
            result = base ** int(node.exp) if node.exp.is_Integer else base ** walk(node.exp)
        elif node.func.__name__ in _MATH and len(node.args) == 1:
            result = _MATH[node.func.__name__](walk(node.args[0]))
        elif isinstance(node, (sympy.Max, sympy.Min)):
            result = (max if isinstance(node, sympy.Max) else min)(walk(a) for a in node.args)
        else:
            raise ValueError(f"no float evaluation of {type(node).__name__} here")
        if type(result) is not float or not math.isfinite(result):
            raise ValueError("not a finite real number")
        memo[node] = result
        return result

    try:
        return walk(sympy.sympify(expr))
    except (ArithmeticError, TypeError, RecursionError) as error:  # 1/0, overflow, a complex power
        raise ValueError(str(error)) from None


def _factors_with_values(expr: sympy.Basic, values: Mapping) -> tuple | None:
    """The factors of ``expr`` when it is a symbol with a value or a product of such symbols, else None."""
    factors = expr.args if expr.is_Mul else (expr,)
    return factors if all(f.is_Symbol and f in values for f in factors) else None


def _products(factor_lists: list, values: Mapping) -> np.ndarray | None:
    """The products of each list of symbols with values, one row each, multiplied in argument
    order from 1.0 as ``_walk`` does; None if a list is None (a term that is anything else)."""
    if not factor_lists or any(f is None for f in factor_lists):
        return None
    symbols = list(dict.fromkeys(f for factors in factor_lists for f in factors))
    row = {symbol: i for i, symbol in enumerate(symbols)}
    table = np.stack(np.broadcast_arrays(*(np.asarray(values[s]) for s in symbols)))
    result = np.empty((len(factor_lists),) + table.shape[1:], dtype=np.result_type(table, 1.0))
    by_length: dict[int, list[int]] = {}
    for i, factors in enumerate(factor_lists):
        by_length.setdefault(len(factors), []).append(i)
    for length, members in by_length.items():
        index = np.array([[row[f] for f in factor_lists[i]] for i in members], dtype=np.intp).reshape(len(members), length)
        product = 1.0 * table[index[:, 0]]
        for column in range(1, length):
            product = product * table[index[:, column]]
        result[members] = product
    return result


@lru_cache(maxsize=4096)
def constant(node: sympy.Expr) -> complex | float:
    """A SymPy constant as a float (or complex) number: rounded from its precise value where
    SymPy finds it within ``CONSTANT_SECONDS`` (``precise_constant``), else evaluated in float64
    node by node, so that e^{e^{10^6}} is inf in a moment, not after a minute of mpmath. nan
    where there is no number (zoo, nan), and where that float64 value is 0 or subnormal: a
    nonzero constant (SymPy would have made a zero 0) whose every digit is lost, such as
    e^{-e^{10^6}}, is not a number to compare with (2·0 = 0 would be agreement).

    >>> constant(sympy.pi), constant(sympy.exp(sympy.exp(10**6))), constant(-sympy.exp(-sympy.exp(10**6)))
    (3.141592653589793, inf, nan)
    >>> constant(1 + sympy.exp(-sympy.exp(10**6)))
    1.0
    """
    value = precise_constant(node)
    if value is not None:
        return value
    with np.errstate(all="ignore"):  # float64 node by node: overflow is inf, an undefined value nan
        value = complex(np.asarray(_walk(node, {}, {}, in_float64=True)).item())
    if abs(value) < np.finfo(float).tiny:
        return float("nan")
    return value.real if value.imag == 0 else value


@lru_cache(maxsize=4096)
def precise_constant(node: sympy.Expr) -> complex | float | None:
    """A SymPy constant rounded to a float (or complex) from its value at 17 digits, or None when
    SymPy cannot find that within ``CONSTANT_SECONDS`` (e^{e^{10^6}} takes mpmath ~45 s).

    >>> precise_constant(sympy.exp(10) / 3), precise_constant(sympy.exp(-sympy.exp(10**6)))
    (7342.155264935572, None)
    """
    if node.is_Atom:
        return _rounded(node)
    started = time.monotonic()
    try:
        with time_limit(CONSTANT_SECONDS):
            return _rounded(node.evalf(17))
    except TimeoutError:
        if time.monotonic() - started < 0.9 * CONSTANT_SECONDS:
            raise  # an enclosing limit's time is up, not ours: it is in charge
    except (ArithmeticError, ValueError, TypeError, RecursionError):
        pass
    return None


def _rounded(node: sympy.Expr) -> complex | float:
    """A SymPy number (evaluated already, or an atom such as pi) as a float or complex."""
    try:
        return float(node)
    except TypeError:
        try:
            return complex(node)
        except TypeError:
            return float("nan")
