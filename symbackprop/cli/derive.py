"""The ``derive`` command: the derivation handouts (md, tex, pdf, json) or an exercise sheet.

Parses options, calls ``symbackprop.api.derive`` and the handout writers, prints a summary.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import click

from .options import (
    EXIT_FAILED,
    OutputPath,
    ProgressBar,
    check_output_dir,
    fail,
    model_options,
    network_spec,
    parse_formats,
    points_option,
    seed_option,
)


@click.command()
@click.argument("spec")
@model_options
@click.option("--format", "formats", default="md,tex,json", show_default=True, callback=parse_formats,
              metavar="LIST", help="Comma list of files to write: md (with SVG diagrams), tex, pdf (needs pdflatex), json, "
                   "html (an interactive page that opens offline, KaTeX beside it).")
@click.option("--batch", default=1, show_default=True, type=click.IntRange(1, 16), metavar="M",
              help="Add the mini-batch equations for M samples (the loss their mean), e.g. Ng's "
                   "dW = (1/m) dZ A^T, proven equal to the mean of the per-sample gradients.")
@click.option("--detail", type=click.Choice(["concise", "full"]), default="concise", show_default=True,
              help="concise: per layer one parameter worked in full, then every parameter in one block; "
                   "full: a section with its own drawing for every parameter.")
@click.option("--title", default=None, metavar="TEXT", help="Title of the handout (printed literally).")
@click.option("--exercise", is_flag=True,
              help="Write an exercise sheet and its answer key (exercise.*, solutions.*) on numbers drawn with --seed.")
@click.option("-o", "--output", type=OutputPath(path_type=Path), default=None, metavar="DIR",
              help="Directory for the files  [default: output/SPEC]")
@click.option("--only", multiple=True, metavar="PARAM",
              help="Derive just this parameter, e.g. --only 'w_{31}' (repeatable).")
@click.option("--proof", type=click.Choice(["auto", "symbolic", "numeric"]), default="auto", show_default=True,
              help="Symbolic proofs against sympy.diff (SymEngine's diff when installed): auto = for networks of at most 50 parameters.")
@points_option("Random points for the numeric check.")
@seed_option("Seed of the random points.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def derive(spec, activation, loss, bias, shared_bias, notation, batch, formats, detail, title, exercise, output, only, proof, points,
           seed, quiet):
    """Derive the gradient of the total error for every weight and bias of the network SPEC.

    SPEC is the layer sizes joined by '-', input first, e.g. 2-4-3-2. Writes derivation.md,
    derivation.tex and derivation.json to output/SPEC (or -o DIR) and prints a summary;
    --format html adds derivation.html, an interactive page.
    """
    started = time.perf_counter()
    network = network_spec(spec, activation, loss, bias, notation, batch, shared_bias)
    from ..network.spec import SpecError, check_symbolic_size  # light: refused before SymPy is imported

    try:
        check_symbolic_size(network)
    except SpecError as error:
        raise fail(str(error))
    directory = output if output is not None else Path("output") / network.text
    try:
        check_output_dir(directory)
    except ValueError as error:
        raise fail(str(error))

    if "pdf" in formats:
        from ..handout.pdf import TexMissing, engine

        if engine() is None:
            raise fail(str(TexMissing()))
    if exercise:
        from ..network.spec import MAX_EXERCISE_PARAMETERS as MAX_PARAMETERS  # light: no SymPy before refusing

        if network.n_parameters > MAX_PARAMETERS:
            raise fail(f"an exercise sheet is worked by hand: give a network of at most {MAX_PARAMETERS} "
                        f"parameters ({network.text} has {network.n_parameters})")

    progress = ProgressBar()
    try:
        derivation, written = _derive_and_write(network, directory, formats, only, proof, points, seed, title, exercise,
                                                progress, detail)
    finally:
        progress.close()  # before any message: the bar shares the line
    if not quiet:
        _summary(derivation, written, time.perf_counter() - started)


def _derive_and_write(network, directory, formats, only, proof, points, seed, title, exercise, progress, detail="concise"):
    """``derive``'s work: the derivation and the files, each failure turned into its exit status."""
    from ..api import derive as run_derive
    from ..handout.exercise import ExerciseError
    from ..handout.pdf import LatexError, TexMissing
    from ..handout.render import render_outputs, write_exercise, write_outputs, write_rendered
    from ..network.spec import SpecError
    from ..proof.prove import VerificationError

    guess = None  # (the Verification assumed, the handouts rendered with it) while the proofs ran

    def render_meanwhile(provisional) -> None:
        nonlocal guess
        try:
            guess = provisional.verification, render_outputs(provisional, formats, title=title, detail=detail)
        except Exception:  # rendered again once the proofs are in, where its error is reported as usual
            guess = None

    try:
        derivation = run_derive(network, only=only, proof=proof, points=points, seed=seed, progress=progress,
                                meanwhile=None if exercise else render_meanwhile)
    except SpecError as error:
        raise fail(str(error))
    except VerificationError as error:
        progress.close()
        click.echo(f"symbackprop: verification failed: {error}", err=True)
        raise click.exceptions.Exit(EXIT_FAILED)
    try:
        if exercise:
            written = write_exercise(derivation, directory, formats, seed=seed, title=title)
        elif guess is not None and guess[0] == derivation.verification:  # every proof came true: as rendered
            written = write_rendered(directory, guess[1])
        else:
            written = write_outputs(derivation, directory, formats, title=title, progress=progress, detail=detail)
    except OSError as error:
        raise fail(f"cannot write to {str(directory)!r}: {error.strerror or error}")
    except (ExerciseError, TexMissing) as error:
        raise fail(str(error))
    except LatexError as error:
        progress.close()
        click.echo(f"symbackprop: {error}", err=True)
        raise click.exceptions.Exit(EXIT_FAILED)
    return derivation, written


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "es" if word.endswith("s") else "s")


def _summary(derivation, written, seconds: float) -> None:
    from ..proof.prove import UNPROVEN

    v = derivation.verification
    gradients = derivation.gradients
    n_symbolic = sum(1 for g in gradients if v.method(g.parameter.symbol) == "symbolic")
    kinds = [_count(sum(1 for g in gradients if g.parameter.kind == k), k) for k in ("weight", "bias")]
    click.echo(f"symbackprop derive {derivation.spec.text}: {_count(len(gradients), 'parameter')} derived "
               f"({', '.join(k for k in kinds if not k.startswith('0 '))}) in {seconds:.2f} s")
    if n_symbolic or v.unproven:
        truth = {"SymEngine": "SymEngine's diff", "SymEngine+abs": "SymEngine's diff (with SymPy's rule for abs)"}.get(
            v.truth, "sympy.diff")
        click.echo(f"  symbolic proof: {n_symbolic} of {len(gradients)} equal {truth} of the expanded E_total exactly")
        for reason, n in sorted(Counter(v.unproven.values()).items()):
            click.echo(f"                  {n} not proven: {UNPROVEN[reason]} (the numeric check stands)")
    else:  # the real reason: --proof numeric, or a network above the automatic limit
        click.echo(f"  symbolic proof: skipped ({v.skipped_because or 'no parameter to prove'})")
    agree = f"all {len(gradients)} agree" if len(gradients) > 1 else "it agrees"
    click.echo(f"  numeric check:  {agree} at {_count(v.points, 'random point')} "
               f"(max relative error {v.max_rel_error:.1e}, tolerance {v.tolerance:.0e})")
    assets = [p for p in written if p.parent.name == "katex" or p.parent.name == "fonts" or p.name in ("page.js", "page.css")]
    shown = [p for p in written if p.suffix != ".svg" and p not in assets]
    for n, path in enumerate(shown):
        click.echo(f"  {'wrote' if n == 0 else '     '} {path}")
    figures = len(written) - len(shown) - len(assets)
    if figures:
        click.echo(f"        and {figures} SVG diagram{'s' if figures > 1 else ''} beside {shown[0].name}")
    if assets:
        pages = " and ".join(p.name for p in shown if p.suffix == ".html")
        click.echo(f"        and KaTeX (katex/), page.js and page.css beside {pages}")
