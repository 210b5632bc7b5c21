"""Stage 7: the ``symbackprop`` command. Parses options, calls the library, prints a summary.

No mathematics here, and no heavy imports at module level: ``symbackprop --help`` stays fast.
Every usage problem is one line on stderr and exit status 2; a failed proof is exit status 1.
"""

from __future__ import annotations

import gc
import re
import sys
import time
from collections import Counter
from pathlib import Path

import click

from .clitools import (
    EXIT_FAILED,
    EXIT_USAGE,
    OutputPath,
    _check_output_dir,
    _fail,
    _network,
    _parse_formats,
    _Progress,
    model_options,
    points_option,
    seed_option,
)
from .commands import COMMANDS

@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="symbackprop", prog_name="symbackprop")
def cli() -> None:
    """symbackprop derives backpropagation by computer algebra, for any fully-connected
    network, proves every formula against sympy.diff, and writes the derivation as Markdown,
    LaTeX and JSON.

    \b
    Example:
      symbackprop derive 2-4-3-2
    """


@cli.command()
@click.argument("spec")
@model_options
@click.option("--format", "formats", default="md,tex,json", show_default=True, callback=_parse_formats,
              metavar="LIST", help="Comma list of files to write: md (with SVG diagrams), tex, pdf (needs pdflatex), json.")
@click.option("--title", default=None, metavar="TEXT", help="Title of the handout (printed literally).")
@click.option("--exercise", is_flag=True,
              help="Write an exercise sheet and its answer key (exercise.*, solutions.*) on numbers drawn with --seed.")
@click.option("-o", "--output", type=OutputPath(path_type=Path), default=None, metavar="DIR",
              help="Directory for the files  [default: output/SPEC]")
@click.option("--only", multiple=True, metavar="PARAM",
              help="Derive just this parameter, e.g. --only 'w_{31}' (repeatable).")
@click.option("--proof", type=click.Choice(["auto", "symbolic", "numeric"]), default="auto", show_default=True,
              help="Symbolic proofs against sympy.diff: auto = for networks of at most 50 parameters.")
@points_option("Random points for the numeric check.")
@seed_option("Seed of the random points.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def derive(spec, activation, loss, bias, notation, formats, title, exercise, output, only, proof, points, seed, quiet):
    """Derive the gradient of the total error for every weight and bias of the network SPEC.

    SPEC is the layer sizes joined by '-', input first, e.g. 2-4-3-2. Writes derivation.md,
    derivation.tex and derivation.json to output/SPEC (or -o DIR) and prints a summary.
    """
    started = time.perf_counter()
    network = _network(spec, activation, loss, bias, notation)
    directory = output if output is not None else Path("output") / network.text
    try:
        _check_output_dir(directory)
    except ValueError as error:
        raise _fail(str(error))

    if "pdf" in formats:
        from .pdf import TexMissing, engine

        if engine() is None:
            raise _fail(str(TexMissing()))
    if exercise:
        from .exercise import MAX_PARAMETERS

        if network.n_parameters > MAX_PARAMETERS:
            raise _fail(f"an exercise sheet is worked by hand: give a network of at most {MAX_PARAMETERS} "
                        f"parameters ({network.text} has {network.n_parameters})")

    progress = _Progress()
    try:
        derivation, written = _derive_and_write(network, directory, formats, only, proof, points, seed, title, exercise,
                                                progress)
    finally:
        progress.close()  # before any message: the bar shares the line
    if not quiet:
        _summary(derivation, written, time.perf_counter() - started)


def _derive_and_write(network, directory, formats, only, proof, points, seed, title, exercise, progress):
    """``derive``'s work: the derivation and the files, each failure turned into its exit status."""
    from .api import derive as run_derive
    from .exercise import ExerciseError
    from .pdf import LatexError, TexMissing
    from .render import write_exercise, write_outputs
    from .spec import SpecError
    from .verify import VerificationError

    try:
        derivation = run_derive(network, only=only, proof=proof, points=points, seed=seed, progress=progress)
    except SpecError as error:
        raise _fail(str(error))
    except VerificationError as error:
        progress.close()
        click.echo(f"symbackprop: verification failed: {error}", err=True)
        raise click.exceptions.Exit(EXIT_FAILED)
    try:
        if exercise:
            written = write_exercise(derivation, directory, formats, seed=seed)
        else:
            written = write_outputs(derivation, directory, formats, title=title, progress=progress)
    except OSError as error:
        raise _fail(f"cannot write to {str(directory)!r}: {error.strerror or error}")
    except (ExerciseError, TexMissing) as error:
        raise _fail(str(error))
    except LatexError as error:
        progress.close()
        click.echo(f"symbackprop: {error}", err=True)
        raise click.exceptions.Exit(EXIT_FAILED)
    return derivation, written


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "es" if word.endswith("s") else "s")


def _summary(derivation, written, seconds: float) -> None:
    from .verify import UNPROVEN

    v = derivation.verification
    gradients = derivation.gradients
    n_symbolic = sum(1 for g in gradients if v.method(g.parameter.symbol) == "symbolic")
    kinds = [_count(sum(1 for g in gradients if g.parameter.kind == k), k) for k in ("weight", "bias")]
    click.echo(f"symbackprop derive {derivation.spec.text}: {_count(len(gradients), 'parameter')} derived "
               f"({', '.join(k for k in kinds if not k.startswith('0 '))}) in {seconds:.2f} s")
    if n_symbolic or v.unproven:
        click.echo(f"  symbolic proof: {n_symbolic} of {len(gradients)} equal sympy.diff of the expanded E_total exactly")
        for reason, n in sorted(Counter(v.unproven.values()).items()):
            click.echo(f"                  {n} not proven: {UNPROVEN[reason]} (the numeric check stands)")
    else:
        click.echo("  symbolic proof: skipped (over 50 parameters; use --proof symbolic to force it)")
    click.echo(f"  numeric check:  all {len(gradients)} agree at {v.points} random points "
               f"(max relative error {v.max_rel_error:.1e}, tolerance {v.tolerance:.0e})")
    shown = [p for p in written if p.suffix != ".svg"]
    for n, path in enumerate(shown):
        click.echo(f"  {'wrote' if n == 0 else '     '} {path}")
    figures = len(written) - len(shown)
    if figures:
        click.echo(f"        and {figures} SVG diagram{'s' if figures > 1 else ''} beside {shown[0].name}")


@cli.command()
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
        raise _fail("give either --param NAME EXPR or --steps 'A = B = ...' (see 'symbackprop verify --help')")
    if param and not spec:
        raise _fail("--param needs the network: symbackprop verify SPEC --param NAME EXPR")
    from .formula import FormulaError
    from .spec import SpecError

    shorthands = {}
    for definition in definitions:
        name, equals, formula = definition.partition("=")
        if not equals or not name.strip():
            raise _fail(f"--where needs NAME=EXPR, got {definition!r}")
        shorthands[name.strip()] = formula
    try:
        derivation = None
        if spec:
            from .api import derive as run_derive

            network = _network(spec, activation, loss, bias, notation)
            derivation = run_derive(network, only=[param[0]] if param else (), proof="numeric")
        if param:
            from .handcheck import check_gradient

            verdict = check_gradient(derivation, param[0], param[1], points=points, seed=seed)
            _print_gradient_verdict(verdict)
            raise click.exceptions.Exit(0 if verdict.correct else EXIT_FAILED)
        from .handcheck import check_steps

        verdict = check_steps(steps, derivation, points=points, seed=seed,
                              variables=variables or ("z",), definitions=shorthands)
        _print_steps_verdict(verdict)
        raise click.exceptions.Exit(0 if verdict.correct else EXIT_FAILED)
    except (FormulaError, SpecError) as error:
        raise _fail(str(error))


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


@cli.command()
@click.option("-o", "--output", type=OutputPath(path_type=Path), default=Path("output") / "gallery", show_default=True,
              metavar="DIR", help="Where the gallery lives.")
def gallery(output):
    """Regenerate the curated gallery of handouts (md, tex, pdf, json) under output/gallery/.

    The files are reproducible: on a clean checkout this changes no byte.
    """
    from .gallery import build_gallery
    from .pdf import LatexError, TexMissing, engine

    if engine() is None:
        raise _fail(str(TexMissing()))
    started = time.perf_counter()
    report = lambda entry, n, total: click.echo(f"[{n + 1}/{total}] {entry.folder}: {entry.title}", err=True)  # noqa: E731
    try:
        written = build_gallery(output, progress=report)
    except LatexError as error:
        click.echo(f"symbackprop: {error}", err=True)
        raise click.exceptions.Exit(EXIT_FAILED)
    except OSError as error:
        raise _fail(f"cannot write the gallery to {str(output)!r}: {error.strerror or error}")
    click.echo(f"symbackprop gallery: {len(written)} files in {output}/ ({time.perf_counter() - started:.1f} s)")


for _command in COMMANDS:  # example, codegen and check (commands.py)
    cli.add_command(_command)


def main(argv=None) -> None:
    """Entry point: run the CLI, turning every usage error into one line on stderr and exit 2."""
    # SymPy makes millions of small objects and almost no reference cycles: collecting the young
    # generation less often saves a tenth of a derivation's time (memory is bounded by the
    # objects we keep, not by garbage).
    gc.set_threshold(100_000, 50, 100)
    try:
        status = cli.main(args=argv, prog_name="symbackprop", standalone_mode=False)
    except click.UsageError as error:
        hint = f" (see 'symbackprop {error.ctx.info_name} --help')" if error.ctx and error.ctx.parent else ""
        message = error.format_message()
        if isinstance(error, click.NoSuchOption) and re.fullmatch(r"-[\d.]+(-.*)?", error.option_name or ""):
            from .spec import SPEC_FORM

            message = f"invalid network spec starting {error.option_name!r}: {SPEC_FORM}"  # "-2-3" looks like an option
        click.echo(f"symbackprop: error: {message}{hint}", err=True)
        sys.exit(EXIT_USAGE)
    except click.Abort:
        click.echo("symbackprop: interrupted", err=True)
        sys.exit(130)
    # without standalone mode Click returns the exit status of click.exceptions.Exit instead of exiting
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
