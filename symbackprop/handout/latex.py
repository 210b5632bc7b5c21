"""LaTeX of expressions: SymPy's printer, given the notation's symbol names.

The only additions are the three presentation nodes of ``symbackprop.algebra.expressions``: a named
partial derivative, an ordered product (factors joined by ``\\cdot`` in path order) and an
ordered sum, which when negated is bracketed (square brackets around parentheses, as in
-[y log ŷ + (1 - y) log(1 - ŷ)]); and log of a single name without parentheses. Everything else,
parentheses included, is SymPy's ``LatexPrinter``.

>>> import sympy
>>> from symbackprop.algebra.expressions import Chain, Partial
>>> out, target, net = sympy.symbols("out_d_1 target_d_1 net_d_1")
>>> names = {out: r"\\mathrm{out}_{d_1}", target: r"\\mathrm{target}_{d_1}", net: r"\\mathrm{net}_{d_1}"}
>>> to_latex(Chain(out - target, out * (1 - out)), names)
'\\\\left(\\\\mathrm{out}_{d_1} - \\\\mathrm{target}_{d_1}\\\\right) \\\\cdot \\\\mathrm{out}_{d_1} \\\\left(1 - \\\\mathrm{out}_{d_1}\\\\right)'
>>> to_latex(Partial(out, net), names)
'\\\\frac{\\\\partial \\\\mathrm{out}_{d_1}}{\\\\partial \\\\mathrm{net}_{d_1}}'
"""

from __future__ import annotations

from typing import Mapping

import sympy
from mpmath.libmp import prec_to_dps
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from ..algebra.expressions import Total


class Remembering:
    """A SymPy printer that prints each distinct subexpression once and then reuses its text (a
    handout prints the same factors, out_{b_1}(1 - out_{b_1}), in dozens of products). What a node
    prints as does not depend on where it stands (its parent adds any parentheses), except a bare
    Float's digits in ``StrPrinter``, so Floats, and calls with arguments, are always printed afresh.
    Meant for one document's expressions (equal Floats of two precisions would share a text)."""

    def __init__(self, settings=None):
        super().__init__(settings)
        self.printed: dict = {}

    def _print(self, expr, **kwargs) -> str:
        if kwargs or getattr(expr, "is_Float", False):
            return super()._print(expr, **kwargs)
        try:
            return self.printed[expr]
        except KeyError:
            text = self.printed[expr] = super()._print(expr)
            return text
        except TypeError:  # not hashable: a mutable matrix
            return super()._print(expr)


class HandoutPrinter(LatexPrinter):
    """``LatexPrinter`` that knows ``Partial``, ``Chain`` and ``Total``; the Hadamard product is
    printed with the setting ``hadamard`` (``\\circ`` as Ng and seed 001 write it, or ``\\odot`` as Nielsen)."""

    # rounded_digits: a float of at most this many significant digits is a rounded value and keeps
    # its trailing zeros (0.2500, not 0.25), so that a reader, and ``lint``, sees how precise it is
    _default_settings = {**LatexPrinter._default_settings, "hadamard": r"\circ", "rounded_digits": 0}

    def _print_Float(self, expr) -> str:
        digits = self._settings["rounded_digits"]
        if not digits or prec_to_dps(expr._prec) > digits or self._settings["full_prec"] is True:
            return super()._print_Float(expr)
        self._settings["full_prec"], kept = True, self._settings["full_prec"]
        try:
            return super()._print_Float(expr)
        finally:
            self._settings["full_prec"] = kept

    def _print_HadamardProduct(self, expr) -> str:
        operator = " %s " % self._settings["hadamard"]
        return operator.join(self.parenthesize(arg, PRECEDENCE["Pow"], strict=True) for arg in expr.args)

    def _print_Partial(self, expr) -> str:
        return r"\frac{\partial %s}{\partial %s}" % (self._print(expr.of), self._print(expr.wrt))

    def _print_Chain(self, expr) -> str:
        return r" \cdot ".join(
            r"\left(%s\right)" % self._print(f) if n and f.could_extract_minus_sign() else self.parenthesize(f, PRECEDENCE["Mul"], strict=True)
            for n, f in enumerate(expr.factors)
        )

    def _print_Transpose(self, expr) -> str:
        # (W^{[3]})^T, not W^{[3]}^{T} (a double superscript LaTeX refuses); a plain name as it is, 1^T
        inner = self._print(expr.arg)
        if isinstance(expr.arg, sympy.MatrixSymbol) and "^" not in inner and "_" not in inner:
            return r"%s^{T}" % inner
        return r"\left(%s\right)^{T}" % inner

    def _print_Heaviside(self, expr) -> str:
        # the value at 0 is stated in the text (relu's note), not in every formula
        return r"H\left(%s\right)" % self._print(expr.args[0])

    def _print_Mul(self, expr) -> str:
        # SymPy parenthesizes -(a + b) only for an Add (is_Add); an ordered sum is not one, and
        # "- a + b" would flip the sign of every term after the first
        coefficient, rest = expr.as_coeff_Mul()
        if coefficient == -1 and isinstance(rest, Total):
            return "- " + self._bracketed(rest)
        return super()._print_Mul(expr)

    def _bracketed(self, total: Total) -> str:
        """(a + b), or [a + b] around a sum with parentheses inside: -[y log ŷ + (1 - y) log(1 - ŷ)]."""
        inner = self._print(total)
        return r"\left[%s\right]" % inner if r"\left(" in inner else r"\left(%s\right)" % inner

    def _print_log(self, expr, exp=None) -> str:
        # log ŷ for a single name, as people write it; log(1 - ŷ) otherwise (SymPy's form)
        if exp is None and expr.args[0].is_Symbol:
            return r"\log %s" % self._print(expr.args[0])
        return super()._print_log(expr, exp)

    def _print_Total(self, expr) -> str:
        text = ""
        for n, term in enumerate(expr.terms):
            negative = term.could_extract_minus_sign()
            positive = -term if negative else term
            if negative and isinstance(positive, Total):
                body = self._bracketed(positive)
            else:
                body = self.parenthesize(positive, PRECEDENCE["Add"], strict=True)
            text += ("- " if negative else "") + body if n == 0 else (" - " if negative else " + ") + body
        return text


class RememberingPrinter(Remembering, HandoutPrinter):
    """``HandoutPrinter`` for many expressions of one document (``Remembering``)."""


def latex_printer(names: Mapping[sympy.Symbol, str], **settings) -> RememberingPrinter:
    """A printer of many expressions under the same names and settings: ``printer.doprint(expr)``
    is ``to_latex(expr, names, **settings)``, each distinct subexpression printed once.

    >>> x = sympy.Symbol("x")
    >>> printer = latex_printer({x: r"\\xi"})
    >>> printer.doprint(x * (1 - x)), printer.doprint((1 - x) ** 2) == to_latex((1 - x) ** 2, {x: r"\\xi"})
    ('\\\\xi \\\\left(1 - \\\\xi\\\\right)', True)
    """
    return RememberingPrinter({"symbol_names": dict(names), **settings})


def to_latex(expr: sympy.Basic, names: Mapping[sympy.Symbol, str], **settings) -> str:
    """LaTeX of ``expr`` with each symbol printed under its notation name.

    >>> to_latex(sympy.Float("0.25", 4), {}, rounded_digits=4), to_latex(sympy.Float("0.15", 9), {}, rounded_digits=4)
    ('0.2500', '0.15')
    """
    return HandoutPrinter({"symbol_names": dict(names), **settings}).doprint(expr)
