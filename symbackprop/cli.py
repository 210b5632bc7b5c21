"""Stage 7: the ``symbackprop`` command. Parses options, calls the library, prints a summary.

No mathematics here, and no heavy imports at module level: ``symbackprop --help`` stays fast.
Every usage problem is one line on stderr and exit status 2; a failed proof is exit status 1.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

FORMAT_CHOICES = ("md", "tex", "json")
EXIT_USAGE = 2
EXIT_FAILED = 1


def _fail(message: str) -> "click.exceptions.Exit":
    click.echo(f"symbackprop: error: {message}", err=True)
    return click.exceptions.Exit(EXIT_USAGE)


def _parse_formats(ctx, param, value: str) -> tuple[str, ...]:
    formats = tuple(dict.fromkeys(f.strip() for f in value.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FORMAT_CHOICES]
    if unknown or not formats:
        raise click.BadParameter(
            f"unknown format {', '.join(map(repr, unknown)) or 'list'}: give a comma list of {', '.join(FORMAT_CHOICES)}"
        )
    return formats


def _check_output_dir(directory: Path) -> None:
    """The output directory must be a directory we can write into (created if missing)."""
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"output path {str(directory)!r} exists and is not a directory: give a directory with -o")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create output directory {str(directory)!r}: {error.strerror or error}") from None
    probe = directory / ".symbackprop-write-test"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise ValueError(f"cannot write to output directory {str(directory)!r}: {error.strerror or error}") from None


class _Progress:
    """Progress of long runs on stderr: a live counter on a terminal, nothing otherwise."""

    def __init__(self):
        self.live = sys.stderr.isatty()
        self.started = time.perf_counter()
        self.shown = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.live or time.perf_counter() - self.started < 1.0:
            return
        click.echo(f"\r{stage}: {done}/{total} parameters ({100 * done // total}%)", err=True, nl=False)
        self.shown = True

    def close(self) -> None:
        if self.shown:
            click.echo("\r\033[K", err=True, nl=False)


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
@click.option("--activation", default="sigmoid", show_default=True, metavar="NAME",
              help="sigmoid, tanh, relu, linear, softplus or a formula in z such as 'z/(1+abs(z))', for every "
                   "computed layer, or a comma list with one per computed layer (with --loss ce: the hidden layers).")
@click.option("--loss", default="mse", show_default=True, metavar="NAME",
              help="mse: sum of 1/2 (target - out)^2; bce: binary cross-entropy (sigmoid output); "
                   "ce: cross-entropy with a softmax output layer.")
@click.option("--bias/--no-bias", default=False, show_default=True,
              help="Give every computed neuron a bias, derived like the weights.")
@click.option("--notation", default="neurons", show_default=True, metavar="NAME",
              help="Names in the handout: neurons = seed 000's out_{d_1}, net_{c_2}, w_{31}; "
                   "layers = seed 001's a^{[k]}, z^{[k]}, W^{[k]}_{i,j}, with the matrix form.")
@click.option("--format", "formats", default="md,tex,json", show_default=True, callback=_parse_formats,
              metavar="LIST", help="Comma list of files to write: md, tex, json.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, metavar="DIR",
              help="Directory for the files  [default: output/SPEC]")
@click.option("--only", multiple=True, metavar="PARAM",
              help="Derive just this parameter, e.g. --only 'w_{31}' (repeatable).")
@click.option("--proof", type=click.Choice(["auto", "symbolic", "numeric"]), default="auto", show_default=True,
              help="Symbolic proofs against sympy.diff: auto = for networks of at most 50 parameters.")
@click.option("--points", type=click.IntRange(min=1), default=3, show_default=True,
              help="Random points for the numeric check.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random points.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def derive(spec, activation, loss, bias, notation, formats, output, only, proof, points, seed, quiet):
    """Derive the gradient of the total error for every weight and bias of the network SPEC.

    SPEC is the layer sizes joined by '-', input first, e.g. 2-4-3-2. Writes derivation.md,
    derivation.tex and derivation.json to output/SPEC (or -o DIR) and prints a summary.
    """
    started = time.perf_counter()
    from .spec import NetworkSpec, SpecError

    try:
        network = NetworkSpec.parse(spec, activation=activation, loss=loss, bias=bias, notation=notation)
        directory = output if output is not None else Path("output") / network.text
        _check_output_dir(directory)
    except (SpecError, ValueError) as error:
        raise _fail(str(error))

    from .api import derive as run_derive
    from .render import write_outputs
    from .verify import VerificationError

    progress = _Progress()
    try:
        derivation = run_derive(network, only=only, proof=proof, points=points, seed=seed, progress=progress)
    except SpecError as error:
        raise _fail(str(error))
    except VerificationError as error:
        click.echo(f"symbackprop: verification failed: {error}", err=True)
        raise click.exceptions.Exit(EXIT_FAILED)
    finally:
        progress.close()
    try:
        written = write_outputs(derivation, directory, formats)
    except OSError as error:
        raise _fail(f"cannot write to {str(directory)!r}: {error.strerror or error}")
    if not quiet:
        _summary(derivation, written, time.perf_counter() - started)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "es" if word.endswith("s") else "s")


def _summary(derivation, written, seconds: float) -> None:
    v = derivation.verification
    gradients = derivation.gradients
    n_symbolic = sum(1 for g in gradients if v.method(g.parameter.symbol) == "symbolic")
    kinds = [_count(sum(1 for g in gradients if g.parameter.kind == k), k) for k in ("weight", "bias")]
    click.echo(f"symbackprop derive {derivation.spec.text}: {_count(len(gradients), 'parameter')} derived "
               f"({', '.join(k for k in kinds if not k.startswith('0 '))}) in {seconds:.2f} s")
    if n_symbolic:
        click.echo(f"  symbolic proof: {n_symbolic} of {len(gradients)} equal sympy.diff of the expanded E_total exactly")
    else:
        click.echo("  symbolic proof: skipped (over 50 parameters; use --proof symbolic to force it)")
    click.echo(f"  numeric check:  all {len(gradients)} agree at {v.points} random points "
               f"(max relative error {v.max_rel_error:.1e}, tolerance {v.tolerance:.0e})")
    for n, path in enumerate(written):
        click.echo(f"  {'wrote' if n == 0 else '     '} {path}")


def main(argv=None) -> None:
    """Entry point: run the CLI, turning every usage error into one line on stderr and exit 2."""
    try:
        status = cli.main(args=argv, prog_name="symbackprop", standalone_mode=False)
    except click.UsageError as error:
        hint = f" (see 'symbackprop {error.ctx.info_name} --help')" if error.ctx and error.ctx.parent else ""
        click.echo(f"symbackprop: error: {error.format_message()}{hint}", err=True)
        sys.exit(EXIT_USAGE)
    except click.Abort:
        click.echo("symbackprop: interrupted", err=True)
        sys.exit(130)
    # without standalone mode Click returns the exit status of click.exceptions.Exit instead of exiting
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
