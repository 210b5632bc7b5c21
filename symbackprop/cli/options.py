"""What every ``symbackprop`` command shares: the model options, one-line errors, progress.

Kept apart from cli.py so that commands.py can use it without importing the CLI itself.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

FORMAT_CHOICES = ("md", "tex", "pdf", "json", "html")
EXIT_USAGE = 2
EXIT_FAILED = 1


def fail(message: str) -> "click.exceptions.Exit":
    click.echo(f"symbackprop: error: {message}", err=True)
    return click.exceptions.Exit(EXIT_USAGE)


def parse_formats(ctx, param, value: str) -> tuple[str, ...]:
    formats = tuple(dict.fromkeys(f.strip() for f in value.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FORMAT_CHOICES]
    if unknown or not formats:
        raise click.BadParameter(
            f"unknown format {', '.join(map(repr, unknown)) or 'list'}: give a comma list of {', '.join(FORMAT_CHOICES)}"
        )
    return formats


class OutputPath(click.Path):
    """A path option (-o) that refuses an empty string, which would quietly mean "here" ('.' does).

    >>> OutputPath(path_type=Path).convert("out", None, None)
    PosixPath('out')
    """

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("the path is empty", param, ctx)
        return super().convert(value, param, ctx)


MAX_POINTS = 1000


def seed_option(help: str):
    """--seed, a non-negative integer (NumPy's generators take no negative seeds)."""
    return click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help=help)


def points_option(help: str):
    """--points, the number of random points of a numeric check (1 to MAX_POINTS)."""
    return click.option("--points", type=click.IntRange(1, MAX_POINTS), default=3, show_default=True, help=help)


def check_output_dir(directory: Path) -> None:
    """The output directory must be a directory we can write into (created if missing)."""
    try:
        is_file = directory.exists() and not directory.is_dir()
    except OSError as error:  # e.g. a name longer than the file system allows
        raise ValueError(f"cannot use output directory {str(directory)!r}: {error.strerror or error}") from None
    if is_file:
        raise ValueError(f"output path {str(directory)!r} exists and is not a directory: give a directory with -o")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create output directory {str(directory)!r}: {error.strerror or error}") from None
    import os
    import tempfile  # here, not at module level: --help stays fast

    try:  # a unique name, opened O_EXCL: a symlink planted under a fixed name is never followed
        handle, probe = tempfile.mkstemp(prefix=".symbackprop-write-test.", dir=directory)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise ValueError(f"cannot write to output directory {str(directory)!r}: {error.strerror or error}") from None


class ProgressBar:
    """Progress of long runs on stderr: a bar on a terminal (after the first second, or after
    ``$SYMBACKPROP_PROGRESS_AFTER`` seconds), nothing otherwise."""

    WIDTH = 30

    def __init__(self):
        self.live = sys.stderr.isatty()
        self.started = time.perf_counter()
        self.shown = False
        try:
            self.after = float(os.environ.get("SYMBACKPROP_PROGRESS_AFTER", "1"))
        except ValueError:
            self.after = 1.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.live or time.perf_counter() - self.started < self.after:
            return
        filled = self.WIDTH * done // max(total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        click.echo(f"\r{stage:<16} [{bar}] {done}/{total}", err=True, nl=False)
        self.shown = True

    def close(self) -> None:
        if self.shown:
            click.echo("\r\033[K", err=True, nl=False)
            self.shown = False


def model_options(command):
    """The options that choose the network's activation, loss, biases and notation (shared by commands)."""
    options = [
        click.option("--activation", default="sigmoid", show_default=True, metavar="NAME",
                     help="sigmoid, tanh, relu, linear, softplus or a formula in z such as 'z/(1+abs(z))', for every "
                          "computed layer, or a comma list with one per computed layer (with --loss ce: the hidden "
                          "layers)."),
        click.option("--loss", default="mse", show_default=True, metavar="NAME",
                     help="mse: sum of 1/2 (target - out)^2; bce: binary cross-entropy (sigmoid output); "
                          "ce: cross-entropy with a softmax output layer."),
        click.option("--bias/--no-bias", default=False, show_default=True,
                     help="Give every computed neuron a bias, derived like the weights."),
        click.option("--shared-bias", is_flag=True,
                     help="Give every computed layer one bias shared by its neurons (as the classic 2-2-2 "
                          "walk-through does); its gradient is the sum of the layer's deltas."),
        click.option("--notation", default="neurons", show_default=True, metavar="NAME",
                     help="Names in the handout: neurons = letter notation, out_{d_1}, net_{c_2}, w_{31}; "
                          "layers = layer notation, row vectors, a^{[k]}, z^{[k]}, W^{[k]}_{i,j} from i to j; "
                          "columns = the textbooks' column vectors (Nielsen, Ng), z^{[l]} = W^{[l]} a^{[l-1]} + b^{[l]}, "
                          "W^{[l]}_{j,k} from k to j, with BP1-BP4."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def network_spec(spec: str, activation: str, loss: str, bias: bool, notation: str, batch: int = 1,
                 shared_bias: bool = False):
    """The validated NetworkSpec, or exit 2 with one line."""
    from ..network.spec import NetworkSpec, SpecError

    try:
        return NetworkSpec.parse(spec, activation=activation, loss=loss, bias=bias, notation=notation, batch=batch,
                                 shared_bias=shared_bias)
    except SpecError as error:
        raise fail(str(error))
