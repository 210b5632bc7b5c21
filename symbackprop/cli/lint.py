"""The ``lint`` command: every equation of a hand-written derivation document, checked.

The reading is ``symbackprop.checking.document``, the judging ``symbackprop.checking.lint``; this
module parses options, reads the file and prints the report.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import click

from .options import EXIT_FAILED, ProgressBar, fail, points_option, seed_option

MAX_BYTES = 2_000_000  # as checking.document.MAX_DOCUMENT_BYTES (not imported: --help stays light)


@click.command()
@click.argument("document", type=click.Path(path_type=Path))
@click.option("--spec", metavar="SPEC", help="The network, e.g. 2-4-3-2. Default: inferred from the document, and said.")
@click.option("--activation", default=None, metavar="NAME", help="As for derive  [default: sigmoid, or as the document says]")
@click.option("--loss", default=None, metavar="NAME", help="As for derive: mse, bce or ce  [default: as the document says, else mse]")
@click.option("--bias/--no-bias", default=None, help="Every computed neuron has a bias  [default: as the document's names show]")
@click.option("--shared-bias", is_flag=True, help="One bias per computed layer, shared by its neurons.")
@click.option("--notation", default=None, metavar="NAME",
              help="neurons, layers or columns  [default: as the document's names show]")
@click.option("--format", "output_format", type=click.Choice(["text", "md", "json"]), default="text", show_default=True,
              help="The report: plain text, Markdown (each wrong equation beside its correction) or JSON.")
@click.option("--all/--wrong-only", "show_all", default=True, show_default=True,
              help="List every equation, or only the wrong ones (the summary counts all).")
@points_option("Random points of the numeric checks.")
@seed_option("Seed of the random points.")
def lint(document, spec, activation, loss, bias, shared_bias, notation, output_format, show_all, points, seed):
    """Check every equation of a hand-written derivation (Markdown, LaTeX or text with math).

    \b
    Exit status: 0 when no equation is wrong, 1 when one is, 2 for a file that cannot be read or
    bad options. Examples:
      symbackprop lint notes.md --spec 2-4-3-2
      symbackprop lint backprop.tex
    """
    try:
        status = document.stat()  # a missing file: "No such file or directory", from the OSError below
        if not stat.S_ISREG(status.st_mode):  # a FIFO or a device would block or never end
            kind = "a directory" if stat.S_ISDIR(status.st_mode) else "not a regular file"
            raise fail(f"cannot read {str(document)!r}: {kind}")
        if status.st_size > MAX_BYTES:
            raise fail(f"cannot read {str(document)!r}: larger than {MAX_BYTES // 1_000_000} MB")
        text = document.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise fail(f"cannot read {str(document)!r}: not UTF-8 text")
    except OSError as error:
        raise fail(f"cannot read {str(document)!r}: {error.strerror or error}")
    from ..checking.lint import infer_network  # no SymPy in it, but keep the CLI module light

    inferred = infer_network(text)
    options = {k: v for k, v in inferred.options.items() if k != "spec"}
    given = {"activation": activation, "loss": loss, "bias": bias, "notation": notation}
    options.update({k: v for k, v in given.items() if v is not None})
    network = spec or inferred.spec
    if not network:
        raise fail(f"cannot tell the network from {str(document)!r}: give it with --spec (e.g. --spec 2-4-3-2)")
    from ..network.spec import NetworkSpec, SpecError

    try:
        checked = NetworkSpec.parse(network, activation=options.get("activation", "sigmoid"),
                                    loss=options.get("loss", "mse"), bias=bool(options.get("bias", False)),
                                    notation=options.get("notation", "neurons"), shared_bias=shared_bias)
    except SpecError as error:
        raise fail(str(error))
    from ..api import derive
    from ..checking.document import read_document
    from ..checking.lint import lint_document

    derivation = derive(checked, proof="numeric")
    bar = ProgressBar()
    try:
        report = lint_document(read_document(text, document.name), derivation, points=points, seed=seed,
                               progress=bar, assumed=spec is None)
    finally:
        bar.close()
    defaults = [name for name in ("activation", "loss", "notation") if given[name] is None]
    assumption = ""
    if spec is None or defaults:
        assumption = f"assuming {report.network}; say --spec to change" if spec is None else ""
    if output_format == "json":
        result = report.as_dict()
        result["document"] = str(document)
        click.echo(json.dumps(result, indent=1, ensure_ascii=False))
    elif output_format == "md":
        click.echo(_markdown(document, report, assumption, show_all))
    else:
        click.echo(_text(document, report, assumption, show_all))
    raise click.exceptions.Exit(EXIT_FAILED if report.wrong else 0)


def _summary(report) -> str:
    s = report.summary
    return (f"{s['found']} equations found, {s['checked']} checked: {s['right']} right, {s['wrong']} wrong; "
            f"{s['not checked']} not checked")


def _text(document, report, assumption, show_all) -> str:
    lines = [f"symbackprop lint {document}: {report.network}"]
    if assumption:
        lines.append(assumption)
    for r in report.reports:
        if not show_all and r.verdict != "wrong":
            continue
        head = "WRONG" if r.verdict == "wrong" else r.verdict
        lines.append(f"{r.where}: {head}" + (f" ({r.reason})" if r.reason and r.verdict != "wrong" else ""))
        if r.verdict == "wrong":
            lines.append(f"  {r.text}")
            for step in r.steps if len(r.steps) > 1 else ():  # one step is the equation, just printed
                if step.verdict == "wrong":
                    lines.append(f"  wrong step: {step.left} {step.relation} {step.right}")
            if r.reason:
                lines.append(f"  {r.reason}")
            lines.extend(f"  {message}" for message in r.diagnosis)
            if r.correction:
                lines.append(f"  correct: {r.correction}")
    lines.append(_summary(report))
    return "\n".join(lines)


def _markdown(document, report, assumption, show_all) -> str:
    lines = [f"# symbackprop lint: `{document}`", "", f"*{assumption}*" if assumption else f"Network: {report.network}."]
    lines += ["", f"**{_summary(report)}**", ""]
    wrong = report.wrong
    if wrong:
        lines += ["## Wrong", "", "| where | written | correct | why |", "| --- | --- | --- | --- |"]
        for r in wrong:
            why = "; ".join(filter(None, [r.reason, *r.diagnosis]))
            correct = f"${r.correction}$" if r.correction else ""
            cells = [r.where, f"${r.text}$", correct, why]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
        lines.append("")
    if show_all:
        lines += ["## Every equation", ""]
        for r in report.reports:
            lines.append(f"* {r.where}: **{r.verdict}**" + (f" — {r.reason}" if r.reason else ""))
    return "\n".join(lines)
