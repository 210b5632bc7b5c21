"""The ``gallery`` command: regenerate the curated handouts under output/gallery/, byte for byte."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .options import EXIT_FAILED, OutputPath, fail


@click.command()
@click.option("-o", "--output", type=OutputPath(path_type=Path), default=Path("output") / "gallery", show_default=True,
              metavar="DIR", help="Where the gallery lives.")
def gallery(output):
    """Regenerate the curated gallery of handouts (md, tex, pdf, json) under output/gallery/.

    The files are reproducible: on a clean checkout this changes no byte.
    """
    from ..handout.pdf import LatexError, TexMissing, engine

    if engine() is None:
        raise fail(str(TexMissing()))
    from ..gallery import build_gallery  # the whole pipeline: after the check
    started = time.perf_counter()
    report = lambda entry, n, total: click.echo(f"[{n + 1}/{total}] {entry.folder}: {entry.title}", err=True)  # noqa: E731
    try:
        written = build_gallery(output, progress=report)
    except LatexError as error:
        click.echo(f"symbackprop: {error}", err=True)
        raise click.exceptions.Exit(EXIT_FAILED)
    except OSError as error:
        raise fail(f"cannot write the gallery to {str(output)!r}: {error.strerror or error}")
    click.echo(f"symbackprop gallery: {len(written)} files in {output}/ ({time.perf_counter() - started:.1f} s)")
