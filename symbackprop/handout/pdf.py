"""LaTeX to PDF: pdflatex (or latexmk), never with shell escape, reproducible byte for byte.

The handout is compiled in a temporary directory (no .aux or .log left beside it) with
SOURCE_DATE_EPOCH fixed and pdfTeX's date, ID and banner suppressed by the template, so the same
.tex gives the same .pdf. pdflatex runs again while its log asks for it (a reference such as
"section 4" is known only from the .aux of the pass before), at most MAX_PASSES times. A LaTeX
error is raised with the first error line of the log.

>>> engine() in (None, "pdflatex", "latexmk")
True
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

INSTALL_HINT = "sudo apt-get install texlive-latex-base texlive-latex-recommended texlive-pictures"
SOURCE_DATE_EPOCH = "1700000000"  # any fixed date: the PDF must not depend on when it was built
TIMEOUT = 300  # seconds for one compilation
MAX_PASSES = 4  # references settle in two passes; a third when a page number moves
# What pdflatex and LaTeX's packages write to the log when the references are not yet right
RERUN = ("Rerun to get", "There were undefined references", "Label(s) may have changed")


class TexMissing(RuntimeError):
    """No TeX engine on this machine."""

    def __init__(self):
        super().__init__(f"no TeX engine found (pdflatex) to build the PDF: install one with '{INSTALL_HINT}'")


class LatexError(RuntimeError):
    """pdflatex stopped with an error; the message is the log's first error line and where it was."""


def engine() -> Optional[str]:
    """The TeX front end to use: pdflatex if installed (run until the references settle), else None."""
    return "pdflatex" if shutil.which("pdflatex") else None


def _first_error(log: str) -> str:
    """'! Undefined control sequence. (line 12: \\foo)' from a pdflatex log."""
    lines = log.splitlines()
    for n, line in enumerate(lines):
        if line.startswith("!"):
            where = next((l for l in lines[n + 1 : n + 12] if l.startswith("l.")), "")
            return line[1:].strip() + (f" (at {where.strip()})" if where else "")
    return "pdflatex failed without an error line in its log"


def needs_rerun(log: str) -> bool:
    """Whether a pdflatex log says the references are not settled yet.

    >>> needs_rerun("LaTeX Warning: Label(s) may have changed. Rerun to get cross-references right.")
    True
    >>> needs_rerun("Output written on example.pdf (3 pages, 91234 bytes).")
    False
    """
    return any(marker in log for marker in RERUN)


def run_pdflatex(source: Path) -> str:
    """Compile ``source`` in its own directory, rerunning until the log asks for no rerun (at
    most MAX_PASSES passes); the final log. The PDF is left beside ``source``."""
    source = Path(source)
    environment = dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH, FORCE_SOURCE_DATE="1")
    command = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", source.name]
    log_path, built = source.with_suffix(".log"), source.with_suffix(".pdf")
    for _ in range(MAX_PASSES):
        result = subprocess.run(command, cwd=source.parent, env=environment, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, errors="replace", timeout=TIMEOUT)
        log = log_path.read_text(errors="replace") if log_path.exists() else result.stdout
        if result.returncode != 0 or not built.exists():
            raise LatexError(f"LaTeX error in {source.name}: {_first_error(log)}")
        if not needs_rerun(log):
            break
    return log


def build_pdf(tex: Path, pdf: Optional[Path] = None) -> Path:
    """Compile ``tex`` to ``pdf`` (default: beside it) and return the PDF's path.

    Raises ``TexMissing`` when no engine is installed and ``LatexError`` when LaTeX fails.
    """
    if engine() is None:
        raise TexMissing()
    tex = Path(tex)
    pdf = Path(pdf) if pdf is not None else tex.with_suffix(".pdf")
    with tempfile.TemporaryDirectory(prefix="symbackprop-tex-") as work:
        source = Path(work) / tex.name
        shutil.copyfile(tex, source)
        run_pdflatex(source)
        built = source.with_suffix(".pdf")
        from .files import write_atomic

        write_atomic(pdf, built.read_bytes())  # a unique temporary and a rename, never over a link or device
    return pdf
