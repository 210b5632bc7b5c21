"""The ``verify`` command: a hand-derived gradient (--param) or a chain of steps (--steps), judged.

The judging is ``symbackprop.checking.verify``; this module parses options and prints the verdict.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import click

from .options import (
    EXIT_FAILED,
    EXIT_USAGE,
    fail,
    model_options,
    network_spec,
    points_option,
    seed_option,
)

MAX_SHOWN_ENTRIES = 24  # wrong entries of a layer's matrix listed one per line
EXIT_NOT_CHECKED = EXIT_USAGE  # 2, as for input that cannot be judged: no verdict, its reason printed


def _tolerance(ctx, param, value):
    """--tolerance: a relative difference, 0 ≤ X < 1."""
    if value is not None and not 0 <= value < 1:  # also refuses nan
        raise click.BadParameter(f"a relative difference from 0 to below 1 (e.g. 1e-6), not {value}")
    return value


@click.command()
@click.argument("spec", required=False)
@model_options
@click.option("--param", nargs=2, metavar="NAME EXPR",
              help="Check EXPR, your formula for the loss's gradient dE_total/dNAME (dL/dNAME in layer and column "
                   "notation), in LaTeX or plain text (e.g. --param 'w_{31}' '(out_{d_1} - target_{d_1}) out_{d_1}"
                   "(1 - out_{d_1}) out_{c_1}'). In column notation Nielsen's and Ng's names are understood too "
                   "(w^3_{24} = W^{[2]}_{2,4}: Nielsen numbers the input layer 1; \\delta^L and a^{L-1} from the output layer; "
                   "dW^{[2]}_{1,3}, dZ^{[2]}_1, dz^{[2]}, A^{[1]}_3, x_1); a bare superscript that reads two ways (a^2_1: a^{[1]}_1, a^{[2]}_1 or (a_1)^2) is refused. "
                   r"EXPR may start with its left side, '\frac{\partial E}{\partial w_{31}} = ...', which must name NAME "
                   "(an empty NAME, '', takes it from there). NAME may be a whole layer's matrix or vector "
                   r"(W^{[2]}, b^{[2]}) with EXPR a matrix formula of its shape, e.g. '\delta^{[2]} (a^{[1]})^T' in "
                   "column notation: every entry is checked. As NumPy and Ng's notes write them, 1 - a^{[1]}, "
                   "a^{[1]}(1 - a^{[1]}) (two vectors of one shape) and (a^{[1]})^2 are read entry by entry, "
                   "and the verdict says so.")
@click.option("--batch", default=1, show_default=True, type=click.IntRange(1, 16), metavar="M",
              help="--param for a mini-batch of M samples, the loss their mean: EXPR over the batch's matrices, as "
                   r"Ng writes dW^{[2]} = \frac{1}{m} dZ^{[2]} A^{[1]T} (column notation: A^{[l]}, Z^{[l]}, dZ^{[l]}, dA^{[l]}, X, "
                   r"\hat{Y}, Y, one column per sample; m = M; \mathbf{1} a vector of ones; layer notation: one row "
                   r"per sample); db^{[2]} = \frac{1}{m} np.sum(dZ^{[2]}, axis=1, keepdims=True) and \frac{1}{m} "
                   r"\sum_{i=1}^{m} dz^{[2](i)} are read as \frac{1}{m} dZ^{[2]} \mathbf{1}. M may not be a computed layer's size (its matrices would be square); what depends "
                   "on m is checked for a second batch size too.")
@click.option("--steps", metavar="'A = B = ...'",
              help=r"Check every '=' (or \approx, ≈) of a chain of derivation steps; may use d/dz and the "
                   "network's names, vectors and matrices too (compared entry by entry). Numbers of three or more significant digits count as rounded to their last digit, and so "
                   "does a side that is one number (= 0.27); shorter ones inside a computation (a weight 0.4, a "
                   "learning rate 0.5) are given values, taken exactly.")
@click.option("--where", "definitions", multiple=True, metavar="NAME=EXPR",
              help=r"A shorthand your formula uses, e.g. --where 'a=\frac{1}{1-e^{-z}}' (repeatable); "
                   "in --param under a name the network does not have (--where 'g_o=(out_{d_1} - target_{d_1}) out_{d_1}(1 - out_{d_1})').")
@click.option("--var", "variables", multiple=True, metavar="NAME",
              help="A free variable of --steps (repeatable)  [default: z]")
@click.option("--tolerance", type=float, callback=_tolerance, metavar="X",
              help="The relative difference the two sides may have (e.g. 1e-6). Default: none for --param; "
                   "for --steps, the rounding of the numbers written (half a unit in each one's last digit).")
@points_option("Random points of the numeric check.")
@seed_option("Seed of the random points.")
def verify(spec, activation, loss, bias, shared_bias, notation, param, batch, steps, definitions, variables, tolerance,
           points, seed):
    """Check a hand derivation: a formula for one gradient (--param), or a chain of steps (--steps).

    \b
    Exit status: 0 correct, 1 incorrect, 2 a formula that does not parse, an unknown name or
    parameter, or a formula that could not be checked ("not checked": no exact decision, and a
    side is not a real number, or too large to evaluate, at every point tried). Examples:
      symbackprop verify 2-4-3-2 --param 'w_{31}' '(out_d1 - target_d1)*out_d1*(1 - out_d1)*out_c1'
      symbackprop verify --steps '\\frac{d}{dz} \\frac{1}{1+e^{-z}} = \\frac{e^{-z}}{(1+e^{-z})^2}'
    """
    if bool(param) == bool(steps):
        raise fail("give either --param NAME EXPR or --steps 'A = B = ...' (see 'symbackprop verify --help')")
    if param and not spec:
        raise fail("--param needs the network: symbackprop verify SPEC --param NAME EXPR")
    if batch > 1 and not param:
        raise fail("--batch checks a --param formula over a batch of samples, not --steps")
    if batch > 1 and notation == "neurons":
        raise fail("--batch needs the batch's matrices of layer or column notation (A^{[1]}, dZ^{[2]}): "
                   "add --notation columns or --notation layers")
    shorthands = {}
    for definition in definitions:
        name, equals, formula = definition.partition("=")
        if not equals or not name.strip():
            raise fail(f"--where needs NAME=EXPR, got {definition!r}")
        shorthands[name.strip()] = formula
    network = network_spec(spec, activation, loss, bias, notation, batch, shared_bias=shared_bias) if spec else None
    if batch > 1 and network.square_batch(batch):  # A^{[1]}(1 - A^{[1]}) of square matrices: a matrix product
        raise fail(f"--batch {batch}: a layer of {batch} neurons would make the batch's matrices square ({batch}×{batch}), "
                   "where a product of two of them reads as a matrix product, not entry by entry as Ng writes it: "
                   "give a number of samples no layer has")
    from ..algebra.grammar import FormulaError  # SymPy: after the usage checks
    from ..network.spec import SpecError

    try:
        derivation = None
        if network is not None:
            from ..api import derive as run_derive

            if param:  # derived with nothing checked yet: a formula proven right exactly needs no numbers
                from ..checking.verify import claimed_parameter, layer_entries

                name = claimed_parameter(param[0], param[1])  # NAME, or the one the formula's left side names
                try:
                    derivation = run_derive(network, only=[name], proof="none")
                except SpecError:  # not one parameter: a layer's matrix or vector derives every entry
                    only = layer_entries(network, name)
                    if only == [name]:
                        raise
                    derivation = run_derive(network, only=only, proof="none")
            else:
                derivation = run_derive(network, proof="gradients")
        if param:
            from ..api import check_forms
            from ..checking.verify import MatrixVerdict, check_gradient

            arguments = dict(points=points, seed=seed, tolerance=tolerance, definitions=shorthands)
            verdict = check_gradient(derivation, *param, **arguments, proven_only=True) if batch == 1 else None
            if verdict is None:  # the numbers decide, or diagnose: the derived forms they use are checked first
                derivation = check_forms(derivation)
                if batch > 1:  # Ng's mini-batch formulas, over the batch's matrices
                    from ..checking.batch import check_batch_gradient as check_gradient
                verdict = check_gradient(derivation, *param, **arguments)
            if isinstance(verdict, MatrixVerdict):
                _print_matrix_verdict(verdict)
            else:
                _print_gradient_verdict(verdict, _spelling(derivation, _shown(verdict.point), bool(verdict.aliases)),
                                        param[0])
            raise click.exceptions.Exit(_status(verdict.correct))
        from ..checking.verify import check_steps

        verdict = check_steps(steps, derivation, points=points, seed=seed, variables=variables or ("z",),
                              definitions=shorthands, tolerance=tolerance, matrices=True, diagnose=True,
                              own_names_only=True)
        _print_steps_verdict(verdict, _spelling(derivation, {n for step in verdict.steps for n in _shown(step.point)}))
        raise click.exceptions.Exit(_status(verdict.correct))
    except (FormulaError, SpecError) as error:
        raise fail(str(error))


def _status(correct) -> int:
    return 0 if correct else EXIT_FAILED if correct is False else EXIT_NOT_CHECKED


SHOWN_VALUES = 6  # of a witness point's values, the first so many are printed


def _shown(point: dict | None) -> list[str]:
    """The names of the values of ``point`` that are printed (``_values``)."""
    return list(point or ())[:SHOWN_VALUES]


def _spelling(derivation, names: Collection[str], aliased: bool = False) -> dict[str, str]:
    """The witness point's ``names`` as the handout spells them and as they can be typed back
    (out_{a_1}, W^{[1]}_{1,1}, \\hat{y}_{1}; not the internal out_a_1, W_1_1_1, y_1), or, ``aliased``,
    in the classic walk-through's names where it has one (i_1, w_5): name -> spelling."""
    if derivation is None or not names:
        return {}
    names = set(names)
    copies = {re.sub(r"__\d+$", "", n) for n in names if re.search(r"__\d+$", n)}  # a batch's sample i: out_b_1__2
    spelled = {s.name: re.sub(r"\\mathrm\{([^{}]*)\}", r"\1", latex)
               for s, latex in derivation.model.latex_names.items() if s.name in names or s.name in copies}
    for name in names:
        found = re.fullmatch(r"(.+)__(\d+)", name)
        if found and found.group(1) in spelled:
            spelled[name] = f"{{{spelled[found.group(1)]}}}^{{({found.group(2)})}}"
    if aliased:
        from ..checking.verify import walkthrough_spellings

        spelled.update((name, alias) for name, alias in walkthrough_spellings(derivation.model).items() if name in spelled)
    return spelled


def _values(point: dict, names: dict[str, str] | None = None, limit: int = SHOWN_VALUES) -> str:
    names = names or {}
    shown = [f"{names.get(name, name)} = {value:.4g}" for name, value in list(point.items())[:limit]]
    return ", ".join(shown) + (f", ... ({len(point)} values)" if len(point) > limit else "")


def _number(value, digits: int = 10) -> str:
    """A witness value: a float as %.10g, nan as words, a SymPy Float (too large for float64) alike."""
    if isinstance(value, float):
        return "not a real number" if value != value else f"{value:.{digits}g}"
    import mpmath

    with mpmath.workdps(digits + 10):
        return mpmath.nstr(mpmath.mpf(value), digits)


def _pair(left, right) -> tuple[str, str]:
    """The two values with digits enough to show that they differ (10, or up to 50)."""
    for digits in (10, 20, 30, 40, 50):
        shown = _number(left, digits), _number(right, digits)
        if shown[0] != shown[1] or isinstance(left, float) and isinstance(right, float):
            return shown
    return _number(left), _number(right)


def _witness(point: dict | None, left, right, spelling: dict[str, str]) -> str:
    """'at z = 1.559: left = ..., right = ...', naming only the variables the formula depends on."""
    shown = _pair(left, right)
    values = f"left = {shown[0]}, right = {shown[1]}"
    return f"at {_values(point, spelling)}: {values}" if point else values


def _readings(verdict) -> None:
    """Say how bare superscripts were read (Nielsen's numbering), which vector operations entry by
    entry (as NumPy and Ng's notes write them), and which names in the classic walk-through's
    spelling, so no reading is silent."""
    readings, elementwise, aliases = verdict.readings, verdict.elementwise, verdict.aliases
    if aliases:
        click.echo(f"  read in the classic walk-through's names (w_1, w_2, ... through both layers): {', '.join(aliases)}")
    if readings:
        click.echo(f"  read in Nielsen's numbering (he numbers the input layer 1): {', '.join(readings)}")
    if elementwise:
        click.echo(f"  read as NumPy and Ng's notes write them: {'; '.join(elementwise)}")


def _print_gradient_verdict(verdict, spelling: dict[str, str], named: str = "") -> None:
    """``named``: the parameter as the user wrote it; the walk-through's w_5 is said as written."""
    how = "proven symbolically" if verdict.method == "symbolic" else "checked numerically"
    said = named.strip() if f"{named.strip()} = {verdict.parameter}" in verdict.aliases else verdict.parameter
    of = f"d{verdict.loss}/d{said}"
    if verdict.correct is None:
        click.echo(f"not checked: your formula for {of} could not be compared with the true gradient: {verdict.note}")
        _readings(verdict)
        return
    if verdict.correct:
        click.echo(f"correct: your formula for {of} equals the true gradient ({how})")
        _readings(verdict)
        if verdict.note:
            click.echo(f"  note: {verdict.note}")
        return
    click.echo(f"incorrect: your formula for {of} is not the gradient ({how})")
    _readings(verdict)
    if verdict.point is not None:
        yours, true = _pair(verdict.written_value, verdict.expected_value)
        click.echo(f"  at {_values(verdict.point, spelling)}:" if verdict.point else "  everywhere:")
        click.echo(f"    yours = {yours}, true = {true}")
    if verdict.note:
        click.echo(f"  note: {verdict.note}")
    for message in verdict.diagnosis:
        click.echo(f"  {message}")
    click.echo(f"  the correct formula: {verdict.expected_latex}")


def _print_matrix_verdict(verdict) -> None:
    """A whole layer's verdict: one line per wrong entry, by its name, with its diagnosis and values."""
    how = "proven symbolically" if verdict.method == "symbolic" else "checked numerically"
    of = f"d{verdict.loss}/d{verdict.parameter}"
    rows, cols = verdict.shape
    size = f"{rows}×{cols}"
    n = len(verdict.entries)
    if verdict.correct:
        click.echo(f"correct: your formula for {of} equals the true gradient" + (
            f" in all {n} entries of the {size} {'matrix' if min(rows, cols) > 1 else 'vector'}" if n > 1 else "")
            + f" ({how})")
        _readings(verdict)
        if verdict.note:
            click.echo(f"  note: {verdict.note}")
        return
    if verdict.correct is None:
        skipped = ", ".join(e.parameter for e in verdict.unchecked)
        click.echo(f"not checked: your formula for {of} could not be compared with the true gradient at {skipped}; "
                   f"the other entries are right")
        _readings(verdict)
        for entry in verdict.unchecked[:1]:
            click.echo(f"  note: {entry.note}")
        return
    if verdict.transposed:
        click.echo(f"incorrect: your formula for {of} is the transpose of the gradient ({how})")
        _readings(verdict)
        entry = "entry (i, j)" if min(rows, cols) > 1 else "entry i"
        index = "{i,j}" if min(rows, cols) > 1 else "{i}"
        click.echo(f"  transposed, it is right in all {n} entries: {entry} of the gradient is d{verdict.loss}/"
                   f"d{verdict.parameter}_{index}, a {size} {'matrix' if min(rows, cols) > 1 else 'vector'}")
        return
    if verdict.repairs:
        click.echo(f"incorrect: your formula for {of} is undefined as written: {verdict.repairs[0].problem}")
        _readings(verdict)
        click.echo(f"  {verdict.pattern}: with {'it' if len(verdict.repairs) == 1 else 'them'} transposed, "
                   f"your formula is right in all {n} entries ({how})")
        return
    wrong = verdict.wrong
    click.echo(f"incorrect: your formula for {of} " + (f"is wrong in {len(wrong)} of its {n} entries" if n > 1 else
                                                         "is not the gradient") + f" ({how})")
    _readings(verdict)
    if verdict.pattern:
        click.echo(f"  {verdict.pattern}:")
    shared = verdict.shared_diagnosis  # said once in the pattern above
    for entry in wrong[:MAX_SHOWN_ENTRIES]:
        said = "" if shared else "; ".join(entry.diagnosis)
        values = "" if entry.point is None else "yours = {}, true = {}".format(*_pair(entry.written_value,
                                                                                      entry.expected_value))
        click.echo(f"  {entry.parameter}: " + (f"{said} ({values})" if said and values else said or values))
    if len(wrong) > MAX_SHOWN_ENTRIES:
        click.echo(f"  ... and {len(wrong) - MAX_SHOWN_ENTRIES} more wrong entries")
    if verdict.formula_latex:
        click.echo(f"  the correct formula: {verdict.formula_latex}")
        return
    first = wrong[0]
    click.echo(f"  the correct formula of {first.parameter}: {first.expected_latex}")


def _print_steps_verdict(verdict, spelling: dict[str, str]) -> None:
    _readings(verdict)
    for step in verdict.steps:
        click.echo(f"step {step.number}: {step.left_text} {step.relation} {step.right_text}")
        how = "proven symbolically" if step.method == "symbolic" else "checked numerically"
        if step.correct is None:
            click.echo(f"  not checked: {step.note}")
            continue
        click.echo(f"  {'right' if step.correct else 'WRONG'} ({how})")
        if not step.correct and step.point is not None:
            click.echo(f"  {_witness(step.point, step.left_value, step.right_value, spelling)}")
        for said in step.diagnosis:
            click.echo(f"  {said}")
        if step.correction:
            click.echo(f"  the correct formula: {step.correction}")
        if step.note:
            click.echo(f"  note: {step.note}")
    first, unchecked = verdict.first_wrong, verdict.unchecked
    skipped = ", ".join(str(step.number) for step in unchecked)
    if first is not None:
        click.echo(f"first wrong step: step {first.number} ({first.left_text} {first.relation} {first.right_text})")
        if verdict.ends_agree:
            click.echo("  note: the first and last expressions are equal nonetheless: later errors cancel it")
        if unchecked:
            click.echo(f"  not checked: step {skipped}")
    elif unchecked:
        right = len(verdict.steps) - len(unchecked)
        others = "the other step is right" if right == 1 else f"the other {right} are right"
        click.echo(f"not checked: step {skipped}" + (f"; {others}" if right else ""))
    elif len(verdict.steps) == 1:
        click.echo("the one step is right")
    else:
        click.echo(f"all {len(verdict.steps)} steps are right")
