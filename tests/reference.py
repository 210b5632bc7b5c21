"""An independent reference for the tests: E_total built from scratch, differentiated by SymPy.

Nothing here imports symbackprop's model, chain rule or verifier. It reads only the names a
derivation publishes (derivation.json's "primary" block) and writes the network out by hand.
"""

from __future__ import annotations

import random

import mpmath
import sympy


def sigmoid(z):
    return 1 / (1 + sympy.exp(-z))


# The activations and losses, written out here independently of symbackprop's registries.
ACTIVATIONS = {
    "sigmoid": sigmoid,
    "tanh": sympy.tanh,
    "relu": lambda z: sympy.Max(0, z),
    "linear": lambda z: z,
    "softplus": lambda z: sympy.log(1 + sympy.exp(z)),
}


def softmax(nets):
    total = sum(sympy.exp(n) for n in nets)
    return [sympy.exp(n) / total for n in nets]


LOSSES = {
    "mse": lambda outs, ts: sum(sympy.Rational(1, 2) * (t - o) ** 2 for t, o in zip(ts, outs)),
    "bce": lambda outs, ts: -sum(t * sympy.log(o) + (1 - t) * sympy.log(1 - o) for t, o in zip(ts, outs)),
    "ce": lambda outs, ts: -sum(t * sympy.log(o) for t, o in zip(ts, outs)),
}


def expanded_loss(primary: dict, layers: list[int], activations=None, loss: str = "mse") -> sympy.Expr:
    """The loss of the network written out over the primary symbol names (default: sigmoid, ½Σ(t - o)²)."""
    S = lambda name: sympy.Symbol(name, real=True)  # noqa: E731
    activations = activations or ["sigmoid"] * (len(layers) - 1)
    outs = [S(n) for n in primary["inputs"]]
    for k in range(1, len(layers)):
        W = primary["weights"][k - 1]
        b = primary["biases"][k - 1] if primary["biases"] else None
        nets = [sum(S(W[i][j]) * outs[i] for i in range(layers[k - 1])) + (S(b[j]) if b else 0) for j in range(layers[k])]
        name = activations[k - 1]
        outs = softmax(nets) if name == "softmax" else [ACTIVATIONS[name](n) for n in nets]
    return LOSSES[loss](outs, [S(t) for t in primary["targets"]])


def central_differences(loss: sympy.Expr, point: dict, h: float = 1e-6):
    """A function p -> ∂loss/∂p at ``point`` (symbol -> float) by central differences in float64."""
    symbols = sorted(loss.free_symbols, key=lambda s: s.name)
    f = sympy.lambdify(symbols, loss, "numpy")

    def gradient(parameter: sympy.Symbol) -> float:
        args = lambda delta: [point[s] + (delta if s == parameter else 0.0) for s in symbols]  # noqa: E731
        return (f(*args(h)) - f(*args(-h))) / (2 * h)

    return gradient


def substitute_definitions(expr: sympy.Expr, definitions: dict[str, str]) -> sympy.Expr:
    """Replace every defined name in ``expr`` by its definition until only primary symbols remain.

    Each definition is written out once, over the primary symbols (memoized, depth first, and kept
    for the next call with the same definitions: the tests call this once per parameter), and
    ``expr`` is then substituted in one pass: re-substituting the whole expression once per layer
    rebuilt every Max (relu) node many times over, which SymPy makes slow.
    """
    parsed, written_out = _definitions(tuple(definitions.items()))
    visiting: set[sympy.Symbol] = set()

    def write_out(symbol: sympy.Symbol) -> sympy.Expr:
        if symbol not in written_out:
            if symbol in visiting:
                raise AssertionError("definitions are circular")
            visiting.add(symbol)
            definition = parsed[symbol]
            written_out[symbol] = definition.xreplace(
                {s: write_out(s) for s in definition.free_symbols if s in parsed}
            )
            visiting.discard(symbol)
        return written_out[symbol]

    return expr.xreplace({s: write_out(s) for s in expr.free_symbols if s in parsed})


_DEFINITIONS: dict[tuple, tuple[dict, dict]] = {}  # the definitions as given -> (parsed, written out so far)


def _definitions(items: tuple[tuple[str, str], ...]) -> tuple[dict, dict]:
    """The definitions parsed, and the memo of those written out, for these exact definitions."""
    if items not in _DEFINITIONS:
        if len(_DEFINITIONS) >= 8:
            _DEFINITIONS.pop(next(iter(_DEFINITIONS)))
        definitions = dict(items)
        parsed = {sympy.Symbol(name, real=True): sympy.sympify(text, locals=_locals(text, definitions))
                  for name, text in items}
        _DEFINITIONS[items] = (parsed, {})
    return _DEFINITIONS[items]


def _locals(text: str, definitions: dict[str, str]) -> dict:
    """Every identifier in ``text`` as a real symbol, except SymPy's functions (exp, log, ...)."""
    import re

    functions = {"exp", "log", "tanh", "Abs", "Heaviside", "Max", "Min", "sqrt", "sign", "sin", "cos"}
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)) - functions
    return {name: sympy.Symbol(name, real=True) for name in names}


def parse(text: str, definitions: dict[str, str]) -> sympy.Expr:
    return sympy.sympify(text, locals=_locals(text, definitions))


def agree_numerically(a: sympy.Expr, b: sympy.Expr, points: int = 4, digits: int = 40, seed: int = 1) -> bool:
    """a and b agree to 30 significant digits at random points (mpmath, 40-digit arithmetic)."""
    rng = random.Random(seed)
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    with mpmath.workdps(digits):
        for _ in range(points):
            values = {s: mpmath.mpf(rng.uniform(-1, 1)) for s in symbols}
            memo: dict = {}  # the expanded expressions repeat each layer's net inputs many times over
            va, vb = mp_value(a, values, memo), mp_value(b, values, memo)
            if abs(va - vb) > mpmath.mpf(10) ** -30 * max(1, abs(vb)):
                return False
    return True


_MP_FUNCTIONS = {
    sympy.exp: mpmath.exp,
    sympy.log: mpmath.log,
    sympy.tanh: mpmath.tanh,
    sympy.Abs: abs,
    sympy.sqrt: mpmath.sqrt,
    sympy.sign: mpmath.sign,
    sympy.sin: mpmath.sin,
    sympy.cos: mpmath.cos,
}


def mp_value(expr: sympy.Expr, values: dict, memo: dict):
    """``expr`` at ``values`` (symbol -> mpf) in mpmath at the working precision, each distinct
    subexpression once (``memo``). Written here, independently of symbackprop's evaluator."""
    if expr in memo:
        return memo[expr]
    if expr.is_Symbol:
        value = values[expr]
    elif expr.is_Rational:
        value = mpmath.mpf(expr.p) / expr.q
    elif expr.is_Number or expr.is_NumberSymbol:
        value = mpmath.mpf(sympy.Float(expr, mpmath.mp.dps + 5))
    else:
        args = [mp_value(arg, values, memo) for arg in expr.args]
        if expr.is_Add:
            value = mpmath.fsum(args)
        elif expr.is_Mul:
            value = mpmath.fprod(args)
        elif expr.is_Pow:
            value = mpmath.power(*args)
        elif isinstance(expr, (sympy.Max, sympy.Min)):
            value = (max if isinstance(expr, sympy.Max) else min)(args)
        elif isinstance(expr, sympy.Heaviside):  # H(0) is the second argument when given
            (x, *h0) = args
            value = mpmath.mpf(1) if x > 0 else mpmath.mpf(0) if x < 0 else (h0[0] if h0 else mpmath.mpf(0.5))
        elif expr.func in _MP_FUNCTIONS:
            value = _MP_FUNCTIONS[expr.func](*args)
        else:
            raise TypeError(f"the reference evaluator has no rule for {expr.func.__name__}")
    memo[expr] = value
    return value
