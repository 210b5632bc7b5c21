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


def expanded_loss(primary: dict, layers: list[int]) -> sympy.Expr:
    """½ Σ (target - out)², the sigmoid network written out over the primary symbol names."""
    S = lambda name: sympy.Symbol(name, real=True)  # noqa: E731
    outs = [S(n) for n in primary["inputs"]]
    for k in range(1, len(layers)):
        W = primary["weights"][k - 1]
        b = primary["biases"][k - 1] if primary["biases"] else None
        outs = [
            sigmoid(sum(S(W[i][j]) * outs[i] for i in range(layers[k - 1])) + (S(b[j]) if b else 0))
            for j in range(layers[k])
        ]
    return sum(sympy.Rational(1, 2) * (S(t) - o) ** 2 for t, o in zip(primary["targets"], outs))


def substitute_definitions(expr: sympy.Expr, definitions: dict[str, str]) -> sympy.Expr:
    """Replace every defined name in ``expr`` by its definition until only primary symbols remain."""
    parsed = {
        sympy.Symbol(name, real=True): sympy.sympify(text, locals=_locals(text, definitions))
        for name, text in definitions.items()
    }
    for _ in range(len(parsed) + 1):
        new = expr.xreplace(parsed)
        if new == expr:
            return expr
        expr = new
    raise AssertionError("definitions are circular")


def _locals(text: str, definitions: dict[str, str]) -> dict:
    """Every identifier in ``text`` as a real symbol, except SymPy's functions (exp, log, ...)."""
    import re

    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)) - {"exp", "log", "tanh", "Abs", "Heaviside", "Max", "Min", "sqrt"}
    return {name: sympy.Symbol(name, real=True) for name in names}


def parse(text: str, definitions: dict[str, str]) -> sympy.Expr:
    return sympy.sympify(text, locals=_locals(text, definitions))


def agree_numerically(a: sympy.Expr, b: sympy.Expr, points: int = 4, digits: int = 40, seed: int = 1) -> bool:
    """a and b agree to 30 significant digits at random points (mpmath, 40-digit arithmetic)."""
    rng = random.Random(seed)
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    fa = sympy.lambdify(symbols, a, "mpmath")
    fb = sympy.lambdify(symbols, b, "mpmath")
    with mpmath.workdps(digits):
        for _ in range(points):
            values = [mpmath.mpf(rng.uniform(-1, 1)) for _ in symbols]
            va, vb = fa(*values), fb(*values)
            if abs(va - vb) > mpmath.mpf(10) ** -30 * max(1, abs(vb)):
                return False
    return True
