"""The ``example``, ``codegen`` and ``check`` commands: thin Click wrappers around the numbers stage.

Each parses its options, calls the library (``symbackprop.numbers.example``, ``symbackprop.numbers.codegen``,
``symbackprop.numbers.crosscheck``) and prints a summary. Usage errors are one line on stderr and exit
status 2; a failed cross-check is exit status 1. ``symbackprop.cli`` registers them on the group.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click

from .options import (
    EXIT_FAILED,
    OutputPath,
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
@click.option("--params", "params_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              metavar="FILE.json",
              help='Input, target, weights and biases: {"x": [...], "y": [...], "W": [W1, ...], "b": [b1, ...]}, '
                   "each W^[k] n_(k-1) rows of n_k numbers  [default: random parameters, see --seed]")
@seed_option("Seed of the random parameters (without --params).")
@click.option("--lr", type=float, default=0.5, show_default=True, help="Learning rate of the gradient-descent step.")
@click.option("--freeze-bias", is_flag=True, help="Leave the biases as they are in the gradient-descent step.")
@click.option("--format", "formats", default="md,tex", show_default=True, callback=parse_formats, metavar="LIST",
              help="Comma list of files to write: md, tex, pdf (needs pdflatex), json (every number, full precision), "
                   "html (an interactive page that steps gradient descent in the browser).")
@click.option("--json", "as_json", is_flag=True,
              help="Print every number as JSON on stdout (full precision) and nothing else; the files "
                   "are then written only if -o is given.")
@click.option("-o", "--output", type=OutputPath(path_type=Path), default=None, metavar="DIR",
              help="Directory for example.md, example.tex, ...  [default: output/SPEC-example]")
def example(spec, activation, loss, bias, shared_bias, notation, params_file, seed, lr, freeze_bias, formats, as_json, output):
    """A worked example with numbers for the network SPEC: the forward pass, every gradient as
    the product of its chain-rule factors, and one step of gradient descent.

    \b
    Examples:
      symbackprop example 2-4-3-2
      symbackprop example 2-2-2 --format md,tex,pdf,json -o handouts
      symbackprop example 2-2-2 --format html -o handouts
      symbackprop example 2-4-3-2 --params params.json --lr 0.1 --json
    """
    # no SymPy until the usage checks are done: --help and every usage error stay fast
    from ..handout.pdf import LatexError, TexMissing, engine

    network = network_spec(spec, activation, loss, bias, notation, shared_bias=shared_bias)
    if not math.isfinite(lr):  # worked_example says the same; here before any directory is made or SymPy imported
        raise fail(f"the learning rate must be a finite number (got {lr!r})")
    directory = output if output is not None else (None if as_json else Path("output") / f"{network.text}-example")
    if directory is not None and "pdf" in formats and engine() is None:
        raise fail(str(TexMissing()))
    if directory is not None:
        try:
            check_output_dir(directory)
        except ValueError as error:
            raise fail(str(error))
    from ..network.spec import SpecError
    from ..numbers.example import (
        ExampleError,
        ParamsError,
        load_params,
        render_json,
        worked_example,
        write_example,
    )

    try:
        params = load_params(params_file, network) if params_file is not None else None
        result = worked_example(network, params, lr=lr, freeze_bias=freeze_bias, seed=seed)
    except (ParamsError, SpecError) as error:
        raise fail(str(error))
    except ExampleError as error:
        click.echo(f"symbackprop: cross-check failed: {error}", err=True)
        raise click.exceptions.Exit(EXIT_FAILED)
    written = []
    if directory is not None:
        try:
            written = write_example(result, directory, formats)
        except OSError as error:
            raise fail(f"cannot write to {str(directory)!r}: {error.strerror or error}")
        except LatexError as error:
            click.echo(f"symbackprop: {error}", err=True)
            raise click.exceptions.Exit(EXIT_FAILED)
    if as_json:
        click.echo(render_json(result), nl=False)
        return
    source = f"seed {seed}" if params_file is None else str(params_file)
    click.echo(f"symbackprop example {network.text} ({source}): E_total = {result.loss:.6g}, "
               f"after one step with lr {lr:g}: {result.loss_after:.6g}")
    click.echo(f"  cross-check: the generated code and the symbolic chain rule agree on {result.checked} numbers "
               f"(max relative difference {result.cross_check:.1e})")
    assets = [p for p in written if p.parent.name in ("katex", "fonts") or p.name in ("page.js", "page.css")]
    for n, path in enumerate(p for p in written if p not in assets):
        click.echo(f"  {'wrote' if n == 0 else '     '} {path}")
    if assets:
        click.echo("        and KaTeX (katex/), page.js and page.css beside example.html")


@click.command()
@click.argument("spec")
@model_options
@click.option("-o", "--output", type=OutputPath(path_type=Path, dir_okay=False, allow_dash=True), default=None,
              metavar="FILE.py", help="Where to write the module; '-' prints it  [default: output/SPEC/backprop.py]")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Before writing, compare the generated gradient with the complex-step derivative at 2 random points.")
def codegen(spec, activation, loss, bias, shared_bias, notation, output, check):
    """Generate a readable NumPy module for the network SPEC with forward(params, X), loss(params,
    X, Y) (per sample) and grad(params, X, Y) (gradient of the batch mean), vectorized per layer.

    \b
    Example:
      symbackprop codegen 784-128-10 --bias -o mnist_backprop.py
    """
    from ..handout.files import NotRegularFile, check_target, write_atomic

    network = network_spec(spec, activation, loss, bias, notation, shared_bias=shared_bias)
    path = output if output is not None else Path("output") / network.text / "backprop.py"
    if str(path) != "-":
        try:  # before the directory is probed: -o /dev/null must leave /dev alone
            check_target(path)
        except NotRegularFile as error:
            raise fail(f"output path {error} (give a file name with -o)")
        except OSError as error:  # e.g. a name longer than the file system allows
            raise fail(f"cannot write {str(path)!r}: {error.strerror or error}")
        try:
            check_output_dir(path.parent)
        except ValueError as error:
            raise fail(str(error))
    from ..network.spec import SpecError  # NumPy and SymPy: after the checks
    from ..numbers.codegen import GeneratedCodeError, check_generated, generate_module

    try:
        error = check_generated(network) if check else None
    except GeneratedCodeError as failure:
        click.echo(f"symbackprop: verification failed: {failure}", err=True)
        raise click.exceptions.Exit(EXIT_FAILED)
    except SpecError as failure:  # the check builds the symbolic model, which has its own, lower limit
        raise fail(f"cannot check the generated code: {failure}; give --no-check to write it unchecked")
    source = generate_module(network)
    if str(path) == "-":
        click.echo(source, nl=False)
        return
    try:
        write_atomic(path, source)  # a regular file replaced keeps its permission bits
    except NotRegularFile as failure:  # planted while the code was generated
        raise fail(f"output path {failure}")
    except OSError as failure:
        raise fail(f"cannot write {str(path)!r}: {failure.strerror or failure}")
    checked = f"; checked against the complex-step derivative (max relative error {error:.1e})" if check else ""
    click.echo(f"symbackprop codegen {network.text}: wrote {path}{checked}")


@click.command()
@click.argument("spec")
@model_options
@points_option("Random points to compare at.")
@seed_option("Seed of the random points.")
@click.option("--autograd", "library", type=click.Choice(["auto", "torch", "autograd", "none"]), default="auto",
              show_default=True, help="Autograd library to compare with; auto: the first installed of torch, autograd.")
def check(spec, activation, loss, bias, shared_bias, notation, points, seed, library):
    """Compare, for every parameter of the network SPEC, the chain-rule form, sympy.diff, the
    lambdified gradient, the generated code, an autograd library (if installed) and central
    finite differences, in float64 at random points.

    \b
    Exit status: 0 when the exact methods agree within 1e-7 relative and the finite differences
    within their own tolerance, 1 otherwise, 2 for bad input (gradients that underflow or
    overflow float64 at the random points included: there is nothing to compare).
    """
    network = network_spec(spec, activation, loss, bias, notation, shared_bias=shared_bias)
    from ..api import derive
    from ..network.spec import SpecError
    from ..numbers.crosscheck import crosscheck, report
    from ..proof.prove import VerificationError

    try:
        # at the cross-check's own points: gradients that underflow float64 there are refused, not compared
        derivation = derive(network, proof="numeric", points=points, seed=seed)
        result = crosscheck(derivation, points=points, seed=seed, autograd=library)
    except SpecError as error:
        raise fail(str(error))
    except VerificationError as error:
        click.echo(f"symbackprop: verification failed: {error}", err=True)
        raise click.exceptions.Exit(EXIT_FAILED)
    for line in report(result):
        click.echo(line)
    sys.stdout.flush()
    if not result.agree:
        raise click.exceptions.Exit(EXIT_FAILED)
