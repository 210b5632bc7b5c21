"""The curated gallery under output/gallery/: ``symbackprop gallery`` regenerates it, byte for byte.

Each entry is a derivation (or an exercise sheet, or a worked example) written in every format
with the PDF built reproducibly (``symbackprop.handout.pdf``), so on a clean checkout regenerating the
gallery changes no byte; a test holds it to that. The two derivations that reproduce a published-style
hand derivation (the seeds 000 and 001 of the tests) end with "About the source": what that source
is, and each place where it is wrong with the corrected form (``SOURCE_NOTES``).

>>> [entry.folder for entry in GALLERY][:2]
['2-4-3-2', '4-3-2-1-layers-bce-bias']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .handout.escape import md_escape


@dataclass(frozen=True)
class Entry:
    """One folder of the gallery: what it shows, and how to build it."""

    folder: str
    title: str
    command: str  # the command line that produces the same files (but for the source note)
    build: Callable[[Path], list[Path]] = field(repr=False)
    source_note: Optional[dict] = field(default=None, repr=False)  # "About the source", see SOURCE_NOTES
    page: Optional[str] = None  # the entry's interactive HTML page, if it has one


# "About the source" for the entries that reproduce a published-style derivation: one sentence on
# the source, then (what the source writes, the corrected form) for each place where it is wrong.
# Text is escaped for each format; $...$ is LaTeX math (symbackprop.handout.render.marked).
# 2-4-3-2 is the tests' seed 000, 4-3-2-1 their seed 001.
SOURCE_NOTES = {
    "2-4-3-2": {
        "summary": (
            "This handout reproduces a hand derivation, written as study notes with equations numbered "
            "(1) to (25), of the gradients of $w_{31}$ and $w_{21}$ for this 2-4-3-2 sigmoid network with "
            "squared error, in the same letter notation."
        ),
        "corrections": [
            (
                r"Its eq. (18) writes the net input of $d_1$ as "
                r"$w_{31}\,\mathrm{out}_{c_1} + w_{3x}\,\mathrm{out}_{c_2} + w_{3x}\,\mathrm{out}_{c_1}$, "
                r"with $\mathrm{out}_{c_1}$ twice and $\mathrm{out}_{c_3}$ missing",
                r"$\mathrm{net}_{d_1} = w_{31}\,\mathrm{out}_{c_1} + w_{32}\,\mathrm{out}_{c_2} "
                r"+ w_{33}\,\mathrm{out}_{c_3}$, "
                r"one term for each of $c_1$, $c_2$, $c_3$",
            ),
            (
                r"Its text calls $w_{34}$ “the connection between $c_1$ and $d_1$”",
                r"$w_{34}$ connects $c_1$ to $d_2$ (the connection from $c_1$ to $d_1$ is $w_{31}$), "
                r"so its eq. (25) uses the right weight",
            ),
            (
                r"Eqs. (9) and (16) to (21) drop the $\partial$ of some denominators, as in "
                r"$\frac{\partial E_{total}}{w_{31}}$ and $\frac{\partial net_{d_1}}{w_{21}}$",
                r"$\frac{\partial E_{\mathrm{total}}}{\partial w_{31}}$ and "
                r"$\frac{\partial \mathrm{net}_{d_1}}{\partial w_{21}}$",
            ),
        ],
    },
    "4-3-2-1-layers-bce-bias": {
        "summary": (
            "This handout reproduces a lecture-style derivation of backpropagation for this 4-3-2-1 network "
            "(sigmoid, binary cross-entropy, biases) in the same layer notation with row vectors, which works "
            "one neuron of each layer step by step and then the layer in matrix form."
        ),
        "corrections": [
            (
                r"It writes the sigmoid as $g(z) = \frac{1}{1 - e^{-z}}$",
                r"$\sigma(z) = \frac{1}{1 + e^{-z}}$",
            ),
            (
                r"Differentiating its formula, it takes $\frac{d}{dz}(1 - e^{-z}) = -e^{-z}$ and then "
                r"$\frac{e^{-z}}{1 - e^{-z}} = 1 - a$; for $a = \frac{1}{1 - e^{-z}}$ both signs are wrong "
                r"(the derivative is $e^{-z}$, the quotient $a - 1$), and the two slips cancel to $a(1 - a)$",
                r"$\sigma'(z) = \frac{e^{-z}}{(1 + e^{-z})^{2}} = \frac{1}{1 + e^{-z}} \cdot "
                r"\frac{e^{-z}}{1 + e^{-z}} = a(1 - a)$ with $a = \sigma(z)$",
            ),
            (
                r"For the second layer it says “$b^{[1]}$ has the shape $1 \times 2$”",
                r"$b^{[2]}$ has the shape $1 \times 2$ ($b^{[1]}$ is $1 \times 3$)",
            ),
            (
                r"It writes $z^{[3]} = W_1^{[3]T} a^{[2]} + b_1^{[3]}$, a $1 \times 2$ row times a "
                r"$1 \times 2$ row",
                r"$z^{[3]} = a^{[2]} W^{[3]} + b^{[3]}$, as for the other layers",
            ),
            (
                r"It writes $\partial \mathcal{L} / \partial a^{[1]}_2$ as $g^{[2z]} "
                r"\left[W^{[2]}_{3,1} \;\; W^{[2]}_{3,2}\right]^{T}$, with the weights out of $a^{[1]}_3$",
                r"$g^{[2z]} \left[W^{[2]}_{2,1} \;\; W^{[2]}_{2,2}\right]^{T}$, with row 2 of $W^{[2]}$, "
                r"the weights out of $a^{[1]}_2$",
            ),
            (
                r"It calls layer 1 (“$z^{[1]}|a^{[1]}$”) the input layer",
                r"layer 1 is the first hidden layer; the input is layer 0, $a^{[0]}$",
            ),
        ],
    },
}


def _derivation(spec: str, source_note: Optional[dict] = None, **options) -> Callable[[Path], list[Path]]:
    def build(directory: Path) -> list[Path]:
        from .api import derive
        from .handout.render import write_outputs

        return write_outputs(derive(spec, **options), directory, ["md", "tex", "pdf", "json", "html"], source_note=source_note)

    return build


def _exercise(spec: str, seed: int) -> Callable[[Path], list[Path]]:
    def build(directory: Path) -> list[Path]:
        from .api import derive
        from .handout.render import write_exercise

        return write_exercise(derive(spec), directory, ["md", "tex", "pdf", "json", "html"], seed=seed)

    return build


def _example(spec: str, seed: int) -> Callable[[Path], list[Path]]:
    def build(directory: Path) -> list[Path]:
        from .numbers.example import worked_example, write_example

        return write_example(worked_example(spec, seed=seed), directory, ["md", "tex", "pdf", "json", "html"])

    return build


GALLERY = [
    Entry("2-4-3-2", "A hand derivation's 2-4-3-2 network: sigmoid, squared error, letter notation",
          "symbackprop derive 2-4-3-2 --format md,tex,pdf,json,html",
          _derivation("2-4-3-2", SOURCE_NOTES["2-4-3-2"]), SOURCE_NOTES["2-4-3-2"], "derivation.html"),
    Entry("4-3-2-1-layers-bce-bias",
          "A lecture derivation's 4-3-2-1 network: layer notation, binary cross-entropy, biases, matrix form",
          "symbackprop derive 4-3-2-1 --notation layers --loss bce --bias --format md,tex,pdf,json,html",
          _derivation("4-3-2-1", SOURCE_NOTES["4-3-2-1-layers-bce-bias"], notation="layers", loss="bce", bias=True),
          SOURCE_NOTES["4-3-2-1-layers-bce-bias"], "derivation.html"),
    Entry("2-3-2-columns-bce-batch",
          "The textbooks' convention: column notation (Nielsen's BP1-BP4), binary cross-entropy, biases, "
          "a mini-batch of 2 (Ng's batch equations)",
          "symbackprop derive 2-3-2 --notation columns --loss bce --bias --batch 2 --format md,tex,pdf,json,html",
          _derivation("2-3-2", notation="columns", loss="bce", bias=True, batch=2), page="derivation.html"),
    Entry("2-2-2-example", "A worked example with numbers: forward pass, every gradient, one gradient-descent step",
          "symbackprop example 2-2-2 --seed 0 --format md,tex,pdf,json,html -o output/gallery/2-2-2-example",
          _example("2-2-2", 0), page="example.html"),
    Entry("2-2-1-exercise", "An exercise sheet and its answer key (seed 1)",
          "symbackprop derive 2-2-1 --exercise --seed 1 --format md,tex,pdf,json,html", _exercise("2-2-1", 1),
          page="exercise.html"),
]


def index(entries=GALLERY) -> str:
    """output/gallery/README.md: what each folder holds and the command that made it."""
    lines = [
        "# The symbackprop gallery",
        "",
        "Generated by `symbackprop gallery` (regenerating it changes no byte). Each folder holds the",
        "handout as Markdown (with SVG diagrams), LaTeX and PDF, and the machine-readable JSON; the",
        "derivations and the worked example also as an interactive HTML page (`derivation.html`,",
        "`example.html`), the exercise sheet and its key as HTML pages (`exercise.html`, `solutions.html`),",
        "each with KaTeX beside it in `katex/`: they open offline, from the file system.",
        "",
    ]
    for entry in entries:
        note = " (the gallery's copy ends with a note about the source it reproduces)" if entry.source_note else ""
        kind = "HTML page" if (entry.page or "").startswith("exercise") else "interactive page"
        html = f" ([{kind}]({entry.folder}/{entry.page}))" if entry.page else ""
        lines += [f"* [{md_escape(entry.title)}]({entry.folder}/){html}: `{entry.command}`{note}"]
    return "\n".join(lines) + "\n"


def build_gallery(root: Path, entries=GALLERY, progress=None) -> list[Path]:
    """Regenerate every entry under ``root`` and the index; returns the files written. A file left in
    an entry's folder from an earlier build that this build does not write is removed."""
    from .algebra.differentiate import sympy_only
    from .handout.files import write_atomic

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for n, entry in enumerate(entries):
        if progress:
            progress(entry, n, len(entries))
        directory = root / entry.folder
        directory.mkdir(exist_ok=True)
        with sympy_only():  # the proofs' words name sympy.diff, with SymEngine installed or not
            built = entry.build(directory)
        for stale in set(directory.iterdir()) - {Path(path) for path in built}:  # e.g. a drawing no longer linked
            if stale.is_file() and not stale.is_symlink():
                stale.unlink()
        written += built
    write_atomic(root / "README.md", index(entries))
    return written + [root / "README.md"]
