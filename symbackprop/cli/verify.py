"""The ``verify`` command: a hand-derived gradient (--param) or a chain of steps (--steps), judged.

The judging is ``symbackprop.checking.verify``; this module parses options and prints the verdict.
"""

from __future__ import annotations

import click

from .options import (
    EXIT_FAILED,
    fail,
    model_options,
    network_spec,
    points_option,
    seed_option,
)


@click.command()
@click.argument("spec", required=False)
@model_options
@click.option("--param", nargs=2, metavar="NAME EXPR",
              help="Check EXPR, your formula for dE_total/dNAME, in LaTeX or plain text "
                   "(e.g. --param 'w_{31}' '(out_{d_1} - target_{d_1}) out_{d_1}(1 - out_{d_1}) out_{c_1}').")
@click.option("--steps", metavar="'A = B = ...'",
              help="Check every '=' of a chain of derivation steps; may use d/dz and the network's names.")
@click.option("--where", "definitions", multiple=True, metavar="NAME=EXPR",
              help=r"A shorthand used in --steps, e.g. --where 'a=\frac{1}{1-e^{-z}}' (repeatable).")
@click.option("--var", "variables", multiple=True, metavar="NAME",
              help="A free variable of --steps (repeatable)  [default: z]")
@points_option("Random points of the numeric check.")
@seed_option("Seed of the random points.")
def verify(spec, activation, loss, bias, notation, param, steps, definitions, variables, points, seed):
    """Check a hand derivation: a formula for one gradient (--param), or a chain of steps (--steps).

    \b
    Exit status: 0 correct, 1 incorrect, 2 a formula that does not parse, an unknown name or
    parameter. Examples:
      symbackprop verify 2-4-3-2 --param 'w_{31}' '(out_d1 - target_d1)*out_d1*(1 - out_d1)*out_c1'
      symbackprop verify --steps '\\frac{d}{dz} \\frac{1}{1+e^{-z}} = \\frac{e^{-z}}{(1+e^{-z})^2}'
    """
    if bool(param) == bool(steps):
        raise fail("give either --param NAME EXPR or --steps 'A = B = ...' (see 'symbackprop verify --help')")
    if param and not spec:
        raise fail("--param needs the network: symbackprop verify SPEC --param NAME EXPR")
    from ..algebra.grammar import FormulaError
    from ..network.spec import SpecError

    shorthands = {}
    for definition in definitions:
        name, equals, formula = definition.partition("=")
        if not equals or not name.strip():
            raise fail(f"--where needs NAME=EXPR, got {definition!r}")
        shorthands[name.strip()] = formula
    try:
        derivation = None
        if spec:
            from ..api import derive as run_derive

            network = network_spec(spec, activation, loss, bias, notation)
            derivation = run_derive(network, only=[param[0]] if param else (), proof="numeric")
        if param:
            from ..checking.verify import check_gradient

            verdict = check_gradient(derivation, param[0], param[1], points=points, seed=seed)
            _print_gradient_verdict(verdict)
            raise click.exceptions.Exit(0 if verdict.correct else EXIT_FAILED)
        from ..checking.verify import check_steps

        verdict = check_steps(steps, derivation, points=points, seed=seed,
                              variables=variables or ("z",), definitions=shorthands)
        _print_steps_verdict(verdict)
        raise click.exceptions.Exit(0 if verdict.correct else EXIT_FAILED)
    except (FormulaError, SpecError) as error:
        raise fail(str(error))


def _values(point: dict, limit: int = 6) -> str:
    shown = [f"{name} = {value:.4g}" for name, value in list(point.items())[:limit]]
    return ", ".join(shown) + (f", ... ({len(point)} values)" if len(point) > limit else "")


def _print_gradient_verdict(verdict) -> None:
    how = "proven symbolically" if verdict.method == "symbolic" else "checked numerically"
    if verdict.correct:
        click.echo(f"correct: your formula for dE/d{verdict.parameter} equals the true gradient ({how})")
        if verdict.note:
            click.echo(f"  note: {verdict.note}")
        return
    click.echo(f"incorrect: your formula for dE/d{verdict.parameter} is not the gradient ({how})")
    if verdict.point is not None:
        click.echo(f"  at {_values(verdict.point)}:")
        click.echo(f"    yours = {verdict.written_value:.10g}, true = {verdict.expected_value:.10g}")
    for message in verdict.diagnosis:
        click.echo(f"  {message}")
    click.echo(f"  the correct formula: {verdict.expected_latex}")


def _print_steps_verdict(verdict) -> None:
    for step in verdict.steps:
        mark = "right" if step.correct else "WRONG"
        click.echo(f"step {step.number}: {step.left_text} = {step.right_text}")
        how = "proven symbolically" if step.method == "symbolic" else "checked numerically"
        click.echo(f"  {mark} ({how})")
        if not step.correct and step.point is not None:
            click.echo(f"  at {_values(step.point)}: left = {step.left_value:.10g}, right = {step.right_value:.10g}")
    first = verdict.first_wrong
    if first is None:
        click.echo(f"all {len(verdict.steps)} steps are right")
    else:
        click.echo(f"first wrong step: step {first.number} ({first.left_text} = {first.right_text})")
        if verdict.ends_agree:
            click.echo("  note: the first and last expressions are equal nonetheless: later errors cancel it")
