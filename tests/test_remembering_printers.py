"""The printers that remember subexpressions (``latex_printer``, ``text_printer``) print every
expression exactly as a fresh printer does, whatever was printed before with them."""

import sympy

from symbackprop import derive
from symbackprop.algebra.expressions import distinct_postorder
from symbackprop.handout.latex import latex_printer, to_latex
from symbackprop.handout.render import text, text_printer


def _expressions(derivation):
    """Every form, definition and subexpression of one derivation, bottom up (the order in which a
    remembering printer meets the subexpressions of later ones first)."""
    roots = list(derivation.model.definitions.values()) + [derivation.model.loss]
    for gradient in derivation.gradients:
        roots += [gradient.delta_value, gradient.delta_form, gradient.chain_rule]
        roots += [path.product for path in gradient.paths or ()]
    roots += [delta.definition for delta in derivation.chain.deltas]
    return [node for root in roots for node in distinct_postorder(root)] + roots


def test_the_remembering_printers_print_what_fresh_ones_print():
    for spec, options in [("2-4-3-2", {}), ("2-3-2", {"activation": "tanh", "loss": "ce"}),
                          ("3-3-2", {"activation": "relu", "bias": True, "notation": "columns"}),
                          ("2-3-2", {"activation": "z/(1+abs(z))"})]:
        d = derive(spec, proof="numeric", **options)
        names = d.model.latex_names
        latex, plain = latex_printer(names), text_printer()
        for expr in _expressions(d):
            assert latex.doprint(expr) == to_latex(expr, names)
            assert text(expr, plain) == text(expr)


def test_floats_print_their_own_digits_at_the_top_and_inside():
    """StrPrinter drops a Float's trailing zeros inside an expression but not on its own; a
    remembering printer does not carry one reading into the other."""
    x = sympy.Symbol("x")
    half = sympy.Float("0.5000", 15)
    exprs = [half * x + 1, half, x**half, half, sympy.Float("0.25", 4) * x, sympy.Float("0.25", 30) * x]
    latex, plain = latex_printer({}, rounded_digits=4), text_printer()
    for expr in exprs + exprs[::-1]:
        assert latex.doprint(expr) == to_latex(expr, {}, rounded_digits=4)
        assert text(expr, plain) == text(expr)


def test_matrices_are_printed_though_they_cannot_be_remembered():
    x, y = sympy.symbols("x y")
    mutable = sympy.Matrix([[x * (1 - x), y], [1 - x, x * (1 - x)]])
    printer = latex_printer({x: r"\xi"})
    assert printer.doprint(mutable) == to_latex(mutable, {x: r"\xi"})
    assert printer.doprint(x * (1 - x)) == to_latex(x * (1 - x), {x: r"\xi"})
