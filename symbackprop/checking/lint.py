"""``lint``: every equation of a hand-written derivation checked, as a proof-reader would.

``read_document`` (``checking/document.py``) finds the equations; each goes through ``verify``'s
``check_steps`` (every ``=`` of a chain, each side against the one before) with the network's names
and the document's own definitions, and a wrong step whose left side is a gradient
(``\\frac{\\partial E_{total}}{\\partial w_{31}}``) through ``check_gradient`` for the diagnosis and the
correct formula. Nothing here parses mathematics itself: the grammar reads every side, so a formula
it refuses is "not checked" with its reason, never "wrong". What lint adds is the reading of a
document: spellings rewritten to the grammar's (``sig(x)`` → ``\\sigma(x)``, ``g'_h(z)`` → σ(z)(1−σ(z))),
sides the grammar cannot read (a matrix, a placeholder ``w_{xx}``) bridged (A = M = C checks A = C),
names the document defines (``E_{d_1} = …``) usable from there on, numbers it gives (``w_{11} = 0.15``)
used to check its numeric lines, and its claimed shapes compared with the network's.

A vector or matrix equation (BP1–BP4, ``g^{[3W]} = (a^{[2]})^T g^{[3z]}``) is read with the grammar's
``matrices=True`` (a matrix written out, ``\\begin{bmatrix}…`` or ``[a \\quad b]``, entry by entry) and
checked entry by entry, each entry an ordinary scalar comparison; sides of different shapes are
wrong, the shapes said in words. What cannot be read reliably stays "not checked": a matrix written
out inside a longer formula, one column of a matrix (``W_1^{[2]}``), a batch (``dZ^{[2]}``, ``A^{[1]}``).
A document that defines its own activation (``g_h(z) = \\frac{1}{1-e^{-z}}``, reported wrong when it is
not the network's) has its later equations about that activation (``g'_h(z) = da/dz = a(1-a)``, the
derivative worked out) judged against its own definition, as ``verify --where`` does, and says so.

>>> from symbackprop import derive
>>> from symbackprop.checking.document import read_document
>>> d = derive("2-4-3-2", only=["w_31"], proof="numeric")
>>> doc = read_document(r"$$\\frac{\\partial E_{total}}{\\partial w_{31}} = \\delta_{d_1} out_{c_2}$$")
>>> [r.verdict for r in lint_document(doc, d).reports]
['wrong']
"""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
import sympy

from ..algebra.evaluate import evaluate
from ..algebra.grammar import FormulaError, Literal, name_key, parse_math
from ..algebra.limits import time_limit
from ..handout.latex import to_latex
from ..network.model import expand_definitions
from ..network.spec import MAX_BATCH, SpecError
from .document import Document, Equation, ShapeClaim
from .verify import (
    NUMPY_SUM,
    Workspace,
    check_gradient,
    check_steps,
    propagated_rounding,
    rounding,
    significant_digits,
    split_chain,
)

if TYPE_CHECKING:  # for annotations only: this stage is handed the derivation, it does not run the pipeline
    from ..api import Derivation

EQUATION_SECONDS = 20  # longest check of one equation
EXACT_VALUE_SECONDS = 5.0  # for a value float64 cannot give (an overflow), evaluated at 30 digits
NUMERIC_SLACK = 1e-6  # relative: the document's own values are rounded too, and errors grow along a chain
RIGHT, WRONG, NOT_CHECKED = "right", "wrong", "not checked"


def _label(found: re.Match) -> tuple[str, str]:
    """The layer letter and the index of a ``_LABEL_INDEX`` match: ``_{c_j}`` → ("c", "j")."""
    layer = found.group(1) or found.group(4)
    return layer, found.group(2) or found.group(3) or found.group(5)


class _Unread(Exception):
    """An equation for every index that cannot be read for some values (an index left unplaced)."""


# -- the network, inferred from the text --------------------------------------------------------
@dataclass(frozen=True)
class Inferred:
    """What the document says (or its names show) about the network: keyword arguments for
    ``derive`` (only those found), and how each was found."""

    options: dict
    reasons: tuple[str, ...]

    @property
    def spec(self) -> str | None:
        return self.options.get("spec")


_SPEC = re.compile(r"(?<![\w.-])(\d{1,4}(?:-\d{1,4}){1,8})(?![\w-])")
_LETTER_NAME = re.compile(r"(?:out|net|target|delta|\\delta)\}?_\{?([a-z])_?\{?(\d+)")
_LETTER_WEIGHT = re.compile(r"(?<![A-Za-z\\])w_\{?(\d)(\d)")
_LAYER_NAME = re.compile(r"(?<![A-Za-z\\])([azbx])_\{?(\d+)\}?\^\{\[(\d+)\]\}|(?<![A-Za-z\\])([azb])\^\{\[(\d+)\]\}_\{?(\d+)")
_LAYER_WEIGHT = re.compile(r"(?<![A-Za-z\\])[Ww]_\{(\d+),(\d+)\}\^\{\[(\d+)\]\}|(?<![A-Za-z\\])[Ww]\^\{\[(\d+)\]\}_\{(\d+),(\d+)\}")
# Nielsen's names: the layer as a bare superscript, a number or l, L (a^L_j, \delta^{l+1}_k, w^3_{24}, b^l_j)
_NIELSEN_NAME = re.compile(r"(?<![A-Za-z\\])(?:a|z|b|w|\\delta)\^\{?(?:[lL]|\d)(?:\s*[+-]\s*1)?\}?_")
_NIELSEN_BIAS = re.compile(r"(?<![A-Za-z\\])b\^\{?(?:[lL]|\d)(?:\s*[+-]\s*1)?\}?_")
_BRACKETED_LAYER = re.compile(r"\^\{\[(?:\d+|[lL](?:\s*[+-]\s*1)?)\]\}")  # Ng's ^{[2]}, ^{[l]}, ^{[l+1]}
_ACTIVATIONS = ("sigmoid", "tanh", "relu", "softplus", "linear")


def infer_network(text: str) -> Inferred:
    """The network a document is about: its spec written in the text ("a 2-4-3-2 network", "the
    spec `2-4-3-2`"), else the sizes its names show (out_{d_2}: layer 3 has at least 2 neurons;
    W_{4,1}^{[1]}: the input has at least 4); the notation, loss, biases and activation likewise.

    >>> infer_network("uses the given example of a 2-4-3-2 network").options
    {'spec': '2-4-3-2', 'notation': 'neurons'}
    """
    options, reasons = {}, []
    low = text.lower()
    for match in _SPEC.finditer(text):
        before, after = text[max(0, match.start() - 12):match.start()].lower(), text[match.end():match.end() + 14].lower()
        sizes = [int(s) for s in match.group(1).split("-")]
        if ("network" in after or "spec" in before or "net " in after) and all(sizes) and len(sizes) >= 2:
            options["spec"] = match.group(1)
            reasons.append(f"the spec {match.group(1)} written on line {text.count(chr(10), 0, match.start()) + 1}")
            break
    letters, bracketed = len(_LETTER_NAME.findall(text)), len(_BRACKETED_LAYER.findall(text))
    if "column notation" in low or re.search(r"\bBP[1-4]\b", text):
        options["notation"] = "columns"
    elif "letter notation" in low:
        options["notation"] = "neurons"
    elif "layer notation" in low:
        options["notation"] = "layers"
    elif len(_NIELSEN_NAME.findall(text)) > max(letters, bracketed):  # Nielsen's a^L_j: his column vectors
        options["notation"] = "columns"
    elif bracketed > letters:
        options["notation"] = "layers"
    else:
        options["notation"] = "neurons"
    if "spec" not in options:
        sizes: dict[int, int] = {}
        if options["notation"] == "neurons":
            for letter, index in _LETTER_NAME.findall(text):
                layer = ord(letter) - ord("a")
                sizes[layer] = max(sizes.get(layer, 0), int(index))
        else:
            for groups in _LAYER_NAME.findall(text):
                letter, index, layer = (groups[0], groups[1], groups[2]) if groups[0] else (groups[3], groups[5], groups[4])
                layer = 0 if letter == "x" else int(layer)
                sizes[layer] = max(sizes.get(layer, 0), int(index))
            for groups in _LAYER_WEIGHT.findall(text):
                i, j, k = (groups[0], groups[1], groups[2]) if groups[0] else (groups[4], groups[5], groups[3])
                i, j, k = int(i), int(j), int(k)
                if options["notation"] == "columns":
                    i, j = j, i
                sizes[k - 1] = max(sizes.get(k - 1, 0), i)
                sizes[k] = max(sizes.get(k, 0), j)
        if sizes and sorted(sizes) == list(range(max(sizes) + 1)) and len(sizes) >= 2:
            options["spec"] = "-".join(str(sizes[k]) for k in range(len(sizes)))
            reasons.append(f"the network {options['spec']} from the names used")
    if "softmax" in low and ("cross-entropy" in low or "cross entropy" in low):
        options["loss"] = "ce"
    elif "cross-entropy" in low or "cross entropy" in low or re.search(r"\\log\s*\(?\s*1\s*-\s*(\\hat\{y\}|a)", text):
        options["loss"] = "bce"
    if re.search(r"\bno bias", low):
        options["bias"] = False
    elif re.search(r"\bwith bias|\bbiases\b", low) or re.search(r"(?<![A-Za-z\\])b_\{?\d+\}?\^\{\[\d+\]\}|b\^\{\[(?:\d+|[lL])\]\}|b_\{[a-z]_\d", text) \
            or _NIELSEN_BIAS.search(text):
        options["bias"] = True
    found = re.search(r"activation:?\s+(" + "|".join(_ACTIVATIONS) + r")\b", low)
    if found and found.group(1) != "sigmoid":
        options["activation"] = found.group(1)
    return Inferred(options, tuple(reasons))


# -- reports ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepReport:
    """One ``=`` of an equation: ``left`` = ``right`` as written; ``verdict`` right, wrong or not checked."""

    left: str
    right: str
    verdict: str
    method: str = ""  # "symbolic" (proven) or "numeric"
    note: str = ""
    relation: str = "="


@dataclass(frozen=True)
class EquationReport:
    """The verdict on one equation (or shape claim) of the document."""

    line: int
    number: str | None
    text: str
    verdict: str  # right, wrong or not checked
    reason: str = ""  # why not checked, or how it was checked
    steps: tuple[StepReport, ...] = ()
    diagnosis: tuple[str, ...] = ()
    correction: str = ""  # the corrected equation, in the document's notation
    kind: str = "equation"  # equation, definition, value, shape

    @property
    def where(self) -> str:
        return f"eq. ({self.number}), line {self.line}" if self.number else f"line {self.line}"

    def as_dict(self) -> dict:
        return {"line": self.line, "number": self.number, "text": self.text, "kind": self.kind,
                "verdict": self.verdict, "reason": self.reason, "diagnosis": list(self.diagnosis),
                "correction": self.correction,
                "steps": [{"left": s.left, "right": s.right, "relation": s.relation, "verdict": s.verdict,
                           "method": s.method, "note": s.note} for s in self.steps]}


@dataclass(frozen=True)
class LintReport:
    """Every equation's verdict, in the order written, and the network they were checked against."""

    network: str  # "2-4-3-2, sigmoid, squared error"
    reports: tuple[EquationReport, ...]
    assumed: bool = False  # the network was inferred, not given

    @property
    def summary(self) -> dict[str, int]:
        counts = {"found": len(self.reports), "checked": 0, RIGHT: 0, WRONG: 0, NOT_CHECKED: 0}
        for report in self.reports:
            counts[report.verdict] += 1
        counts["checked"] = counts[RIGHT] + counts[WRONG]
        return counts

    @property
    def wrong(self) -> tuple[EquationReport, ...]:
        return tuple(r for r in self.reports if r.verdict == WRONG)

    def as_dict(self) -> dict:
        return {"network": self.network, "assumed": self.assumed, "summary": self.summary,
                "equations": [r.as_dict() for r in self.reports]}


# -- spellings the grammar does not read, rewritten -----------------------------------------------
def _group(text: str, start: int) -> int:
    """The index just after the bracket group opening at ``start`` (-1 when unbalanced)."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    closing, depth = pairs[text[start]], 0
    for index in range(start, len(text)):
        if text[index] == text[start]:
            depth += 1
        elif text[index] == closing:
            depth -= 1
            if depth == 0:
                return index + 1
    return -1


_DERIVATIVE_SPELLING = re.compile(r"(?:\\operatorname\{sig\}|\\mathrm\{sig\}|(?<![A-Za-z\\])sig|\\sigma|g_[ho]|g)"
                                  r"\s*(?:'|\^\{?\\prime\}?)\s*(?:_\{?[ho]\}?)?\s*(?=\()|(?<![A-Za-z\\])g'_[ho]\s*(?=\()")
_SIGMOID_SPELLING = re.compile(r"\\operatorname\{sig\}|\\mathrm\{sig\}|(?<![A-Za-z\\])sig(?=\s*\()|(?<![A-Za-z\\])g_[ho](?=\s*\()")
_LOSS_ARGUMENTS = re.compile(r"(\\mathcal\{L\}|(?<![A-Za-z\\])L)\s*\((?:[^()]|\([^()]*\))*\)")


def rewrite(text: str, model=None) -> str:
    """``text`` in the spellings the grammar reads: ``sig(x)``, ``g_h(x)`` → ``\\sigma(x)``; a
    derivative ``sig'(x)``, ``g'_h(x)`` of a sigmoid → ``\\sigma(x)(1 - \\sigma(x))``;
    ``\\mathcal{L}(\\hat{y}, y)`` → ``\\mathcal{L}``; with one output, ``\\hat{y}`` → ``\\hat{y}_{1}``.

    >>> rewrite(r"sig'(net_{d_1}) = out_{d_1}")
    '\\\\sigma(net_{d_1})\\\\left(1 - \\\\sigma(net_{d_1})\\\\right) = out_{d_1}'
    """
    sigmoid = model is None or all(a == "sigmoid" for a in model.spec.activations)
    while sigmoid:
        found = _DERIVATIVE_SPELLING.search(text)
        if not found:
            break
        opening = found.end()
        end = _group(text, opening) if opening < len(text) and text[opening] == "(" else -1
        if end < 0:
            break
        argument = text[opening + 1:end - 1]
        text = text[:found.start()] + rf"\sigma({argument})\left(1 - \sigma({argument})\right)" + text[end:]
    if sigmoid:
        text = _SIGMOID_SPELLING.sub(r"\\sigma", text)
    text = _LOSS_ARGUMENTS.sub(lambda m: m.group(1), text)
    text = repair_partials(text)
    if model is not None and model.spec.notation != "neurons":
        depth, outputs = model.spec.depth, model.spec.layers[-1]
        text = re.sub(r"(?<![A-Za-ce-z\\])a_\{?(\d+)\}?\^\{\[" + str(depth) + r"\]\}", r"\\hat{y}_{\1}", text)
        text = re.sub(r"(?<![A-Za-ce-z\\])a\^\{\[" + str(depth) + r"\]\}_\{?(\d+)\}?", r"\\hat{y}_{\1}", text)
        if outputs == 1:
            text = re.sub(r"\\hat\{y\}(?!\s*_)", r"\\hat{y}_{1}", text)
            text = re.sub(r"(?<![A-Za-z\\{_^])y(?![A-Za-z_}])", "y_{1}", text)
        for layer, size in enumerate(model.spec.layers):
            if size == 1 and layer:
                text = re.sub(r"g\^\{\[" + str(layer) + r"([az])\]\}(?!\s*_)", r"g^{[" + str(layer) + r"\1]}_{1}", text)
    return text


def repair_partials(text: str) -> str:
    """A derivative whose denominator (or numerator) lost its ∂, ``\\frac{\\partial net}{w_{21}}``, read as
    ``\\frac{\\partial net}{\\partial w_{21}}`` (``missing_partial`` says that it was).

    >>> repair_partials(r"\\frac{\\partial E}{w_{31}} + \\frac{x}{\\partial w}")
    '\\\\frac{\\\\partial E}{\\\\partial w_{31}} + \\\\frac{\\\\partial x}{\\\\partial w}'
    """
    index = 0
    while True:
        index = text.find("\\frac{", index)
        if index < 0:
            return text
        top = index + len("\\frac")
        top_end = _group(text, top)
        if top_end < 0 or top_end >= len(text) or text[top_end] != "{":
            index = top
            continue
        bottom_end = _group(text, top_end)
        if bottom_end < 0:
            return text
        numerator, denominator = text[top + 1:top_end - 1], text[top_end + 1:bottom_end - 1]
        up, down = numerator.lstrip().startswith("\\partial"), denominator.lstrip().startswith("\\partial")
        if up and not down and re.fullmatch(r"\s*[A-Za-z]+_\{?[A-Za-z0-9_,]+\}?\s*", denominator):
            text = text[:top_end + 1] + "\\partial " + text[top_end + 1:]
        elif down and not up and numerator.strip() and re.match(r"\s*[A-Za-z\\]", numerator):
            text = text[:top + 1] + "\\partial " + text[top + 1:]
        index = top


def missing_partial(text: str) -> bool:
    """Whether ``text`` has a derivative that lost a ∂ (see ``repair_partials``)."""
    return repair_partials(text) != text


_MATRIX = re.compile(r"\\begin\{[a-zA-Z]*matrix|\\circ|\\odot|\)\^T|\^\{?T\}?(?![A-Za-z])|\}\^T|_\{\d+\s*\\times\s*\d+\}"
                     r"|\\mathbb|\\in(?![A-Za-z])|\[[^\]]*\\q?quad")
_PLACEHOLDER = re.compile(r"(?<![A-Za-z\\])[wW]_\{?\d*[xX]+\d*\}?(?![A-Za-z])|\\[lc]?dots(?![A-Za-z])|\.\.\.|…")
_BARE_NAME = re.compile(r"\A\s*\\?[A-Za-z]+(?:\s*[_^]\s*(?:\{[^{}=]*\}|[A-Za-z0-9]))*(?:\^\{?[+*']\}?)?\s*\Z")
_GRADIENT = re.compile(r"\A\s*\\frac\{\s*\\partial\s*(?P<loss>E_\{?\\?(?:mathrm\{)?total\}?\}?|E|\\mathcal\{[LCJ]\}|[LCJ])\s*\}"
                       r"\{\s*\\partial\s*(?P<param>[^{}]*(?:\{[^{}]*\}[^{}]*)*)\}\s*\Z")
_WEIGHT_PLACEHOLDER = re.compile(r"(?<![A-Za-z\\])[wW]_\{?(\d?)[xX]+\d*\}?(?![A-Za-z])")
_DECIMAL = re.compile(r"(?<![\w.])(\d+)\.(\d+)(?![\w.])")


def _reason(text: str) -> str:
    """Why lint does not hand a side to the grammar: a fragment, a vector or matrix, or a placeholder."""
    if re.match(r"\s*(?:[+*/]|\\cdot|\\times)", text) or re.search(r"(?:[-+*/]|\\cdot|\\times)\s*\Z", text):
        return "a fragment of a longer formula (it starts or ends with an operator)"
    if _MATRIX.search(text):
        return "a vector or matrix expression (lint checks scalar equations)"
    found = _PLACEHOLDER.search(text)
    if found:
        return f"placeholder {found.group()} (some weight of that layer)"
    return ""


def _plain(formula: str, variable: str) -> str:
    """The document's own activation in plain words: ``\\frac{1}{1 - e^{-z_1^{[1]}}}`` → 1/(1−e^{−z})."""
    text = formula.replace(variable, "z")
    text = re.sub(r"\\frac\{([^{}]*)\}\{((?:[^{}]|\{[^{}]*\})*)\}", lambda m: f"{m.group(1)}/({m.group(2)})", text)
    text = text.replace("\\left", "").replace("\\right", "").replace(" ", "").replace("-", "−")
    return text


_VECTOR_REASON = re.compile(r"vector or matrix|not a single value|cannot (?:multiply|add)|column vector|row vector")
_MATRIX_SLICE = re.compile(r"(?<![A-Za-z\\])W_\{?\d+\}?\^\{\[\d+\]\}(?!\s*_)|(?<![A-Za-z\\])W\^\{\[\d+\]\}_\{?\d+\}?(?![\d,])")
_SHAPE_ERROR = re.compile(r"cannot (?:multiply|add|subtract|compare)|a power of a")
_SHAPE_NOTE = re.compile(r"_\{\s*\d+\s*\\times\s*\d+\s*\}")
_MATRIX_LITERAL = re.compile(r"\\begin\{[a-zA-Z]*matrix\*?\}|\\q?quad(?![A-Za-z])|\\begin\{array\}|&|\\\\\\\\")
# a mini-batch's equation: Ng's matrices of samples (A^{[1]}, Z^{[1]}, dZ^{[2]}, Y), 1/m, the ones vector,
# a sample's superscript (i); dW^{[2]} and db^{[2]} alone are one sample's too (dW^{[2]} = dz^{[2]} a^{[1]T})
_BATCH = re.compile(r"(?<![A-Za-z\\])(?:dZ|dA|A\^|Z\^|Y(?![A-Za-z]))|\\mathbf\{1\}|\\frac\{1\}\{m\}|\^\{(?:\[\d+\])?\(i\)\}"
                    r"|" + NUMPY_SUM.pattern)
# an equation for every neuron: the letters i, j, k as subscripts (Nielsen's δ^L_j, w^{[2]}_{jk})
_INDEX_SUBSCRIPT = re.compile(r"_(?:\{([ijk]{1,2})\}|([ijk])(?![A-Za-z0-9]))")  # _j, _{j}, _{jk}
# ... and a layer l as a superscript: ^l, ^{l}, ^{[l]}, ^{l+1}, ^{[l-1]} (its offset captured)
# (and Ng's with more after the layer: ^{[l-1]T}, ^{[l]\prime}, ^{[l](i)}, the rest kept)
_LAYER_SUPERSCRIPT = re.compile(r"\^(?:\{\[?l([+-]\d)?\]?\}|l(?![A-Za-z0-9])|\{\[l([+-]\d)?\](?!\}))")
# ... or, in letter notation, inside a neuron's label: out_{c_j}, \delta_{b_k}, target_d_j
_LABEL_INDEX = re.compile(r"_\{([a-z])_(?:\{([ijk])\}|([ijk]))\}|_([a-z])_([ijk])(?![A-Za-z0-9])")
MAX_INSTANCES = 400  # index values tried for one equation ...
INSTANCES_SECONDS = 10.0  # ... for at most this long
BATCH_SAMPLES = 3  # a mini-batch's equations are checked for the document's m, else for at least this many samples
# (each its own inputs and targets), a number no layer has (n × m matrices are then not square: A^{[1]}(1 - A^{[1]})
# is Ng's entry by entry)
_ENVIRONMENT = re.compile(r"\A(?:\\left\s*[\[(]\s*)?\\begin\{(?P<name>[a-zA-Z]*matrix)\*?\}(?P<body>.*)\\end\{(?P=name)\*?\}"
                          r"(?:\s*\\right\s*[\])])?\Z", re.DOTALL)


def _written_matrix(text: str) -> list[list[str]] | None:
    """The cells of a side that is one matrix written out (rows of cells), else None."""
    found = _ENVIRONMENT.match(text.strip())
    if found:
        body = found.group("body")
        if "\\begin{" in body:
            return None
        rows = [row for row in re.split(r"\\\\(?:\[[^\]]*\])?", body) if row.strip()]
        return [[cell.strip() for cell in row.split("&")] for row in rows]
    text = re.sub(r"\A\\left\s*\[", "[", text.strip())
    text = re.sub(r"\\right\s*\]\Z", "]", text)
    if text.startswith("[") and _group(text, 0) == len(text) and re.search(r"\\q?quad(?![A-Za-z])", text):
        body = text[1:-1]
        cells = [cell.strip() for cell in re.split(r"\\q?quad(?![A-Za-z])", body) if cell.strip()]
        if any(cell.count("[") - cell.count("]") or cell.count("{") - cell.count("}") for cell in cells):
            return None
        return [cells]
    return None


def _short(problem: str) -> str:
    """The grammar's reason in one short line (without its list of every known name)."""
    return problem.split("; known names")[0].strip()


def _spaceless(latex: str) -> str:
    """LaTeX without spaces and \\mathrm (\\mathrm{out}_{b_1} and out_{b_1} alike), for comparing spellings."""
    return re.sub(r"\\mathrm\{([^{}]*)\}|\s+", lambda m: m.group(1) or "", latex)


def _numbers_only(text: str) -> sympy.Expr:
    """A formula of numbers only (a numeric line's arithmetic), read without the network's names."""
    return parse_math(text, {})


def _literals(text: str) -> list[Literal]:
    """The decimal numbers written in ``text``, each with its rounding (half a unit in its last digit)."""
    found = []
    for match in _DECIMAL.finditer(text):
        value = Fraction(match.group())
        found.append(Literal(match.group(), value, Fraction(5, 10 ** (len(match.group(2)) + 1)), match.start()))
    return found


def _half_unit(value: Fraction) -> Fraction | None:
    """Half a unit in the last digit of a value as the document wrote it (recorded in ``_Context.written``)."""
    return _WRITTEN_HALF_UNITS.get(value)


_WRITTEN_HALF_UNITS: dict = {}


def _number(text: str) -> Fraction | None:
    match = re.fullmatch(r"\s*(-?\s*\d+(?:\.(\d+))?)\s*", text)
    if not match:
        return None
    value = Fraction(match.group(1).replace(" ", ""))
    if match.group(2):
        _WRITTEN_HALF_UNITS[value] = Fraction(5, 10 ** (len(match.group(2)) + 1))
    return value


@dataclass
class _Context:
    """What the document has said so far: its shorthands (name → formula) and the values it gave."""

    shorthands: dict[str, str] = field(default_factory=dict)
    values: dict[sympy.Symbol, Fraction] = field(default_factory=dict)
    shorthand_values: dict[str, Fraction] = field(default_factory=dict)  # net_{h1} = … = 0.3775
    # the document's own activation, when it is not the network's: g_h → (formula, its argument as written)
    own_functions: dict[str, tuple[str, str]] = field(default_factory=dict)
    own_values: dict[str, str] = field(default_factory=dict)  # a_1^{[1]} (rewritten) → its own formula


_OWN_DEFINITION = re.compile(r"\A\s*g_\{?(?P<which>[ho])\}?\s*\((?P<argument>[^()]*)\)\s*\Z")
_OWN_DERIVATIVE = re.compile(r"(?<![A-Za-z\\])g(?:'_\{?([ho])\}?|_\{?([ho])\}?')\s*\(")
_OWN_FUNCTION = re.compile(r"(?<![A-Za-z\\])g_\{?([ho])\}?\s*\(")
_ACTIVATION_EQUATION = re.compile(r"(?<![A-Za-z\\])g(?:'_|_[ho]')|\\frac\{\s*d\s*a|\\frac\{\s*\\partial\s*a|\\frac\{\s*d\s*\}\{\s*d\s*z")
_NOT_ACTIVATION = re.compile(r"\\mathcal\{L\}|(?<![A-Za-z\\])[LEW]_|(?<![A-Za-z\\])g\^\{\[|\\delta|\\hat\{y\}|(?<![A-Za-z\\])y(?![A-Za-z_])")


class _Linter:
    def __init__(self, derivation: Derivation, points: int = 3, seed: int = 0):
        self.derivation, self.model = derivation, derivation.model
        self.points, self.seed = points, seed
        self.context = _Context()
        self.primary = set(self.model.primary)
        self._full: dict | None = None
        self._one_level: dict | None = None
        self.memo: dict = {}  # (chain, shorthands) → StepsVerdict or the FormulaError

    # -- values ---------------------------------------------------------------------------------
    @property
    def full(self) -> dict:
        """Every network symbol over the primary symbols."""
        if self._full is None:
            m = self.model
            known = expand_definitions(self.deltas, known=m.expansions)
            known[m.loss_symbol] = m.expanded_loss
            self._full = known
        return self._full

    def point(self) -> dict:
        """The document's values so far (symbol → exact number), with the half unit each is rounded to."""
        values = dict(self.context.values)
        for spelling, text in self.context.shorthands.items():
            number = _number(text)
            if number is None:
                number = self.context.shorthand_values.get(spelling)
            if number is not None:
                values[sympy.Symbol(spelling, real=True)] = number
        return values

    @property
    def one_level(self) -> dict:
        """Every network symbol's definition over the symbols before it, in evaluation order: the
        net inputs and outputs layer by layer, the loss, then the deltas from the output back."""
        if self._one_level is None:
            m = self.model
            self._one_level = {**m.definitions, m.loss_symbol: m.loss, **self.deltas}
        return self._one_level

    @property
    def deltas(self) -> dict:
        """Each delta's definition (over the next layer's deltas), the output layer's first."""
        return {d.symbol: d.definition for d in self.derivation.chain.deltas}

    def at_values(self, expr: sympy.Expr) -> tuple[float | None, float, list[str]]:
        """``expr`` at the document's values, how much their rounding can move it, and the names
        whose values are missing (the value None when some are, or it is not a real number).

        The network is evaluated forward, each definition once, in float64 at once for the values
        and for each value moved by half a unit of its last digit (the document's numbers have far
        fewer digits than float64); where float64 cannot (overflow), at 30 digits, expanded."""
        values = self.point()
        needed, primary, stack = set(), set(), list(expr.free_symbols)
        while stack:  # the defined symbols expr needs, and the primary symbols under them
            symbol = stack.pop()
            if symbol in needed or symbol in primary:
                continue
            definition = self.one_level.get(symbol)
            if definition is None:
                primary.add(symbol)
            else:
                needed.add(symbol)
                stack += definition.free_symbols
        order = [symbol for symbol in self.one_level if symbol in needed]  # one_level is in evaluation order
        names = self.model.latex_names  # the document's reader knows the handout's spellings: b_{c}, not b_c
        missing = sorted(names.get(s, str(s)) for s in primary if s not in values)
        if missing:
            return None, 0.0, missing
        moved = [s for s in sorted(primary, key=sympy.default_sort_key) if _half_unit(values[s])]
        columns = {s: n for n, s in enumerate(moved, start=1)}
        arrays = {}
        for symbol in primary:
            column = np.full(len(moved) + 1, float(values[symbol]))
            if symbol in columns:
                column[columns[symbol]] += float(_half_unit(values[symbol]))
            arrays[symbol] = column
        try:
            with np.errstate(all="ignore"):
                memo: dict = {}
                for symbol in order:
                    arrays[symbol] = evaluate(self.one_level[symbol], arrays, memo)
                result = np.broadcast_to(evaluate(expr, arrays, memo), (len(moved) + 1,))
        except (TypeError, ValueError, ArithmeticError):
            result = None
        if result is not None and not np.iscomplexobj(result) and np.all(np.isfinite(result)):
            centre = float(result[0])
            return centre, float(np.sum(np.abs(result[1:] - centre))), []
        try:
            with time_limit(EXACT_VALUE_SECONDS):
                return self._at_values_exactly(expr, values)
        except TimeoutError:
            return None, 0.0, []

    def _at_values_exactly(self, expr: sympy.Expr, values: dict) -> tuple[float | None, float, list[str]]:
        """``at_values`` at 30 digits over the expanded expression (slow: where float64 overflows)."""
        exact = {k: sympy.Rational(v.numerator, v.denominator) for k, v in values.items()}
        expr = expr.xreplace(self.full)
        missing = sorted(str(s) for s in expr.free_symbols if s not in exact)
        if missing:
            return None, 0.0, missing

        def value(at):
            result = sympy.N(expr.xreplace(at), 30)
            return float(result) if result.is_real and result.is_finite else None

        try:
            centre = value(exact)
            if centre is None:
                return None, 0.0, []
            spread = 0.0
            for symbol in expr.free_symbols:
                half = _half_unit(values[symbol])
                if half:
                    moved = value({**exact, symbol: exact[symbol] + sympy.Rational(half.numerator, half.denominator)})
                    spread += abs(moved - centre) if moved is not None else 0.0
            return centre, spread, []
        except (TypeError, ValueError, ArithmeticError, OverflowError):
            return None, 0.0, []

    # -- one equation ---------------------------------------------------------------------------
    def steps(self, texts: list[str]):
        """check_steps on the sides ``texts`` (already rewritten), with the document's shorthands."""
        chain = " = ".join(texts)
        key = (chain, tuple(self.context.shorthands.items()))
        if key not in self.memo:  # documents repeat their equations (a handout's .md and .tex, a summary)
            try:
                self.memo[key] = check_steps(chain, self.derivation, points=self.points, seed=self.seed,
                                             definitions=dict(self.context.shorthands))
            except FormulaError as error:
                self.memo[key] = error
        found = self.memo[key]
        if isinstance(found, FormulaError):
            raise found
        return found, chain

    def check(self, equation: Equation, trial: bool = False) -> EquationReport:
        if equation.quoted:
            return EquationReport(equation.line, equation.number, equation.text, NOT_CHECKED,
                                  reason="quoted: the text reports it as written elsewhere")
        report = self.check_written(equation, trial)
        if not trial:
            own = self.own_activation(equation, report)
            if own is not None:
                return own
        if not trial and report.verdict == NOT_CHECKED and (
                _VECTOR_REASON.search(report.reason) or "unknown name" in report.reason and _MATRIX.search(equation.text)
                or _BATCH.search(equation.text)
                or self.model.spec.notation == "layers" and re.search(r"g\^\{\[\d+[aWwb]\]\}", equation.text)):
            report = self.matrices(equation) or report
        if not trial and report.verdict == NOT_CHECKED and report.reason.startswith("placeholder"):
            report = self.placeholders(equation) or report
        if not trial and report.verdict == NOT_CHECKED and (
                "unknown name" in report.reason or _LAYER_SUPERSCRIPT.search(equation.text)):  # W^{[l]T}: unread as it is
            report = self.every_index(equation) or report
        if not trial and missing_partial(equation.text) and report.verdict != NOT_CHECKED:
            report = replace(report, reason="; ".join(filter(None, [
                report.reason, "note: a derivative lost a \\partial (read \\frac{\\partial x}{w} as \\frac{\\partial x}{\\partial w})"])))
        return report

    # -- equations for every index: Nielsen's ∂C/∂w^{[2]}_{jk} = a^{[1]}_k δ^{[2]}_j -----------------------
    def every_index(self, equation: Equation) -> EquationReport | None:
        """An equation written for every neuron index (i, j, k in subscripts, not bound by a \\sum and
        not a name): checked for each value of its indices that the network's names have, each
        instance as the equation itself would be; right when every instance is, wrong with the first
        wrong instance's values. None when it has no such index, or no instance could be read."""
        text = equation.text
        bound = set(re.findall(r"\\sum_\{?\s*([a-z])", text))
        if self.model.spec.notation == "neurons":
            return self.every_label_index(equation, bound)
        letters = sorted({c for groups in _INDEX_SUBSCRIPT.findall(text) for c in "".join(groups)} - bound)
        layered = "l" not in bound and bool(_LAYER_SUPERSCRIPT.search(text))
        if not (letters or layered) or any(name_key(c) in self.workspace().names for c in letters + ["l"] * layered):
            return None
        size, depth = max(self.model.spec.layers), self.model.spec.depth
        ranges = [range(1, size + 1)] * len(letters) + [range(0, depth + 1)] * layered
        letters += ["l"] * layered  # Nielsen's δ^l = ((w^{l+1})^T δ^{l+1}) ⊙ σ'(z^l): every layer, in brackets,
        # so that either numbering of the layers gives the same equations

        def instance(chosen: dict) -> str | None:
            outside = []

            def layer(found: re.Match) -> str:
                n = int(chosen["l"]) + int(found.group(1) or found.group(2) or 0)
                outside.extend([n] if not 0 <= n <= depth else [])
                return "^{[" + str(n) + ("]" if found.group(0).endswith("]") else "]}")  # ^{[1]T}: the rest kept

            def number(found: re.Match) -> str:
                group = found.group(1) or found.group(2)
                if any(c in bound for c in group):  # \sum_k W_{kj}: W_{k1}, k left to the sum
                    return "_{" + "".join(chosen.get(c, c) for c in group) + "}"
                return "_{" + ",".join(chosen[c] for c in group) + "}"  # W_{jk}: W_{1,2}

            written = _INDEX_SUBSCRIPT.sub(number, text)
            if layered:
                written = _LAYER_SUPERSCRIPT.sub(layer, written)
                if outside:  # l + 1 past the output layer, l - 1 before the input: no such instance
                    return None
            if set(letters) & {c for groups in _INDEX_SUBSCRIPT.findall(written) for c in "".join(groups)} or \
                    layered and _LAYER_SUPERSCRIPT.search(written):
                raise _Unread  # an index left where this reading cannot put a number
            return written

        # a bare l (Nielsen's δ^l, w^{l+1}) counts his way, the input layer 1: a wrong instance is said so
        nielsen = layered and any("[" not in m.group(0) for m in _LAYER_SUPERSCRIPT.finditer(text))
        return self.for_every(equation, letters, ranges, instance, nielsen)

    def every_label_index(self, equation: Equation, bound: set) -> EquationReport | None:
        """``every_index`` in letter notation, where an index stands in a neuron's label
        (δ_{c_j} = (out_{c_j} - target_{c_j}) out_{c_j}(1 - out_{c_j})): each value the layer's names have.
        Any other index subscript (w_{jk}, o_j: a weight's first subscript is its layer there) is
        not read, and the equation is left as it was."""
        text = equation.text
        letters = sorted({_label(m)[1] for m in _LABEL_INDEX.finditer(text)} - bound)
        if not letters or {c for groups in _INDEX_SUBSCRIPT.findall(_LABEL_INDEX.sub("", text))
                           for c in "".join(groups)} - bound:
            return None

        def instance(chosen: dict) -> str:
            def label(found: re.Match) -> str:
                layer, index = _label(found)
                return "_{%s_%s}" % (layer, chosen.get(index, index))  # a bound one: left to its \sum

            return _LABEL_INDEX.sub(label, text)

        return self.for_every(equation, letters, [range(1, max(self.model.spec.layers) + 1)] * len(letters), instance)

    def for_every(self, equation: Equation, letters: list[str], ranges: list[range],
                  instance: Callable[[dict], str | None], nielsen: bool = False) -> EquationReport | None:
        """Each instance of an equation for every value of its indices, ``instance(values)`` its
        text (None: no such instance; ``_Unread``: the equation cannot be read so), checked: right
        when every instance the network has names for is, wrong with the first wrong one's values."""
        if math.prod(map(len, ranges)) > MAX_INSTANCES:
            return None
        text, instances, right = equation.text, [], 0
        until = time.monotonic() + INSTANCES_SECONDS
        for values in itertools.product(*ranges):
            if time.monotonic() > until:  # a wide network's hundreds of instances: not checked rather than slow
                return None
            chosen = dict(zip(letters, map(str, values)))
            try:
                written = instance(chosen)
            except _Unread:
                return None
            if written is None or self.names_missing(written):  # δ^{[0]}, a^{[1]}_4: values the network has no name for
                continue
            report = self.check(replace(equation, text=written), trial=False)
            said = ", ".join(f"{c} = {v}" for c, v in chosen.items())
            if nielsen:  # the instance's names are bracketed, the input layer 0: say both numberings
                said = ", ".join(f"{c} = {int(v) + 1 if c == 'l' else v}" for c, v in chosen.items()) + \
                    f" in Nielsen's numbering (the input is layer 1; l = {chosen['l']} in the bracketed names below)"
            if report.verdict == WRONG:
                return replace(report, text=text, reason=f"for {said}" + (f": {report.reason}" if report.reason else ""))
            if report.verdict == RIGHT:
                right += 1
                instances.append(report)
            elif "unknown name" not in report.reason:  # a name for those values the network does not have: skipped
                return None
        if not right:
            return None
        how = "proven" if all(r.reason.startswith("proven") for r in instances) else "checked numerically"
        return EquationReport(equation.line, equation.number, text, RIGHT,
                              reason=f"{how} for every value of {', '.join(letters)} the network's names have "
                                     f"({right} of them)")

    def names_missing(self, text: str) -> bool:
        """Whether a side of ``text`` names something the network does not have (an unknown name); a
        mini-batch's equation is read over the batch's matrices, as ``matrices`` reads it."""
        ws = self.batch_workspace() if _BATCH.search(text) and self.model.spec.notation != "neurons" else self.workspace()
        for offset, side in split_chain(text)[0]:
            try:
                self.matrix_side(ws, text[offset:offset + len(side)].strip())
            except FormulaError as error:
                if "unknown name" in error.problem:
                    return True
            except (ValueError, TypeError, ArithmeticError, RecursionError):
                pass
        return False

    # -- vectors and matrices -----------------------------------------------------------------
    def workspace(self) -> Workspace:
        key = ("workspace", tuple(self.context.shorthands.items()))
        if key not in self.memo:
            self.memo[key] = Workspace(self.derivation, ("z",), dict(self.context.shorthands))
        return self.memo[key]

    def batch_workspace(self) -> Workspace:
        """A mini-batch of BATCH_SAMPLES samples (``checking.batch``): A^{[1]}, dZ^{[2]}, Y, m, dW^{[2]}, ..."""
        from .batch import BatchWorkspace

        key = ("batch", tuple(self.context.shorthands.items()))
        if key not in self.memo:
            given = self.context.shorthands.get("m", "").strip()  # the document's own "a batch of m = 2 samples"
            shorthands = dict(self.context.shorthands)
            spec = self.model.spec
            if given.isdigit() and 1 <= int(given) <= MAX_BATCH and not spec.square_batch(int(given)):
                size = int(given)
            else:  # none, or one that makes the batch's matrices square: m is the batch's size, a number no layer has
                size = spec.batch_size(BATCH_SAMPLES)
                shorthands.pop("m", None)
            self.memo[key] = BatchWorkspace(self.derivation, shorthands, size=size, gradients=True)
        return self.memo[key]

    def matrix_side(self, ws: Workspace, text: str, repairs: list | None = None):
        """One side as a SymPy value: a matrix written out (``\\begin{bmatrix}…``, ``[a \\quad b]``)
        entry by entry, else the grammar with ``matrices=True`` (and ``repairs``: ``parse_math``'s).
        A FormulaError when it cannot be read reliably (a matrix written out inside a longer formula)."""
        text = _SHAPE_NOTE.sub(" ", text).strip()
        found = _MATRIX_SLICE.search(text)
        if found:
            raise FormulaError(f"{found.group()} is one column or row of a matrix, which lint does not read", text, None)
        written = _written_matrix(text)
        if written is not None:
            rows = [[self.entry(ws, cell) for cell in row] for row in written]
            if len({len(row) for row in rows}) != 1:
                raise FormulaError("rows of different lengths", text, None)
            return sympy.ImmutableMatrix(rows)
        if _MATRIX_LITERAL.search(text):
            raise FormulaError("a matrix written out inside a longer formula", text, None)
        value = ws.parse(rewrite(self.gradient_names(text), self.model), matrices=True, repairs=repairs)
        ws.check_names(value, text)  # a batch's: one sample's names are not the batch's
        return value

    def gradient_names(self, text: str) -> str:
        """Layer notation's names for gradients, ``g^{[3W]}`` = ∂L/∂W^{[3]} (likewise a, b; the last layer's
        a is ŷ), and ``g'_{o}(z^{[3]})`` = g'(z^{[3]}), in the grammar's spelling."""
        text = re.sub(r"(?<![A-Za-z\\])g'_\{?[ho]\}?(?=\s*(?:\\left)?\s*\()", "g'", text)
        if self.model.spec.notation != "layers":
            return text
        depth = self.model.spec.depth

        def name(found: re.Match) -> str:
            layer, letter = int(found.group(1)), found.group(2)
            if letter == "a" and layer == depth:
                return r"\frac{\partial \mathcal{L}}{\partial \hat{y}}"
            return rf"\frac{{\partial \mathcal{{L}}}}{{\partial {'W' if letter in 'Ww' else letter}^{{[{layer}]}}}}"

        text = re.sub(r"(?<![A-Za-z\\])a\^\{\[" + str(depth) + r"\]\}(?!\s*_)", r"\\hat{y}", text)
        return re.sub(r"(?<![A-Za-z\\])g\^\{\[(\d+)([aWwb])\]\}(?!\s*_)", name, text)

    def entry(self, ws: Workspace, text: str):
        value = ws.parse(rewrite(self.gradient_names(_SHAPE_NOTE.sub(" ", text)), self.model), matrices=True)
        if isinstance(value, sympy.MatrixBase):
            if value.shape != (1, 1):
                raise FormulaError("a matrix inside a matrix", text, None)
            value = value[0, 0]
        return value

    def matrices(self, equation: Equation) -> EquationReport | None:
        """A vector or matrix equation (BP1–BP4, ``g^{[kW]} = (a^{[k-1]})^T g^{[kz]}``) checked entry by
        entry against the network, each entry an ordinary scalar comparison; sides of different
        shapes are wrong. None when fewer than two sides can be read reliably."""
        base = dict(line=equation.line, number=equation.number, text=equation.text)
        batch = bool(_BATCH.search(equation.text))
        if batch and self.model.spec.notation == "neurons":
            return EquationReport(**base, verdict=NOT_CHECKED, reason="a mini-batch's equation in letter notation, "
                                  "which has no batch matrices: lint reads them in layer and column notation")
        # split_chain blanks a matrix's & and \\\\ (lengths kept): each side as written, from its offsets
        sides = [equation.text[offset:offset + len(side)].strip() for offset, side in split_chain(equation.text)[0]]
        if len(sides) < 2:
            return None
        ws = self.batch_workspace() if batch else self.workspace()
        values, skipped = {}, {}
        for i, side in enumerate(sides):
            try:
                values[i] = self.matrix_side(ws, side)
            except FormulaError as error:
                skipped[i] = _short(error.problem)
        defined = ""
        if 0 in skipped and "unknown name" in skipped[0] and _BARE_NAME.match(sides[0]) and len(values) >= 2:
            defined = sides[0]  # g^{[3W]} = …: the document names the matrix; the rest is checked
            del skipped[0]
        keep = sorted(values)
        misfit = [i for i, why in skipped.items() if _SHAPE_ERROR.match(why)]
        if misfit and self.model.spec.notation == "columns":  # names read as the layer's vectors: a real misfit
            i = misfit[0]
            return EquationReport(**base, verdict=WRONG, reason=f"the shapes do not fit in {sides[i]}: {skipped[i]}",
                                  diagnosis=self.transposes_needed(ws, sides, i, values))
        if len(keep) < 2:
            if not skipped:
                return None
            return EquationReport(**base, verdict=NOT_CHECKED,
                                  reason=f"a vector or matrix equation, side not read: {next(iter(skipped.values()))}")
        steps = []
        for i, j in zip(keep, keep[1:]):
            steps.append(self.compare_matrices(ws, sides[i], sides[j], values[i], values[j],
                                               [sides[k] for k in range(i + 1, j)], skipped.get(i + 1, "")))
        results = [s.verdict for s in steps]
        if WRONG in results:
            verdict, reason = WRONG, next(s.note for s in steps if s.verdict == WRONG)
        elif RIGHT in results:
            verdict = RIGHT
            reason = ("proven" if {s.method for s in steps if s.verdict == RIGHT} == {"symbolic"} else "checked numerically")
            reason += ", entry by entry" + (f", for a batch of {ws.size} samples" if batch else "")
            unchecked = [s for s in steps if s.verdict == NOT_CHECKED]
            if unchecked:
                reason += f"; {len(unchecked)} of {len(steps)} steps not checked: {unchecked[0].note}"
        else:
            return EquationReport(**base, verdict=NOT_CHECKED, reason=next((s.note for s in steps if s.note), ""),
                                  steps=tuple(steps))
        if skipped and verdict != WRONG:
            reason += f"; side not read: {next(iter(skipped.values()))}"
        if defined:
            reason = f"names {defined}; {reason}"
        return EquationReport(**base, verdict=verdict, reason=reason, steps=tuple(steps))

    def transposes_needed(self, ws: Workspace, sides: list[str], i: int, values: dict) -> tuple[str, ...]:
        """Side ``i``, whose shapes do not fit, made defined by transposing one factor (``parse_math``'s
        ``repairs``): the factor named, only where the side so read equals a side next to it."""
        repairs: list = []
        try:
            repaired = self.matrix_side(ws, sides[i], repairs)
        except FormulaError:
            return ()
        for j in (i - 1, i + 1):
            if repairs and j in values:
                left, right = (j, i) if j < i else (i, j)
                pair = (values[j], repaired) if j < i else (repaired, values[j])
                if self.compare_matrices(ws, sides[left], sides[right], *pair, [], "").verdict == RIGHT:
                    factors = "; ".join(f"{r.factor} ({r.shape}) needs its transpose here" for r in repairs)
                    return (f"{factors}: with {'it' if len(repairs) == 1 else 'them'} transposed, the side equals "
                            f"{sides[j]}",)
        return ()

    def compare_matrices(self, ws, left_text, right_text, left, right, bridged, why) -> StepReport:
        def shape(value) -> str:
            if not isinstance(value, sympy.MatrixBase):
                return "a single value"
            rows, cols = value.shape
            kind = "column vector" if cols == 1 and rows > 1 else "row vector" if rows == 1 and cols > 1 else "matrix"
            return f"a {rows}×{cols} {kind}"

        prefix = f"compared across {len(bridged)} side(s) lint cannot read ({why}); " if bridged else ""
        a = left if isinstance(left, sympy.MatrixBase) else sympy.ImmutableMatrix([[left]])
        b = right if isinstance(right, sympy.MatrixBase) else sympy.ImmutableMatrix([[right]])
        if a.shape != b.shape:
            if a.shape == (1, 1) or b.shape == (1, 1):  # a number against a vector: a reading lint cannot trust
                return StepReport(left_text, right_text, NOT_CHECKED, "",
                                  f"{prefix}{shape(left)} against {shape(right)}")
            return StepReport(left_text, right_text, WRONG, "symbolic",
                              f"{prefix}the left side is {shape(left)}, the right side {shape(right)}")
        differs, equal, unchecked = ws.judge_entries(
            a, b, self.points, self.seed, rounding([])[0],
            lambda k: f"entry ({k // a.cols + 1}, {k % a.cols + 1})" if a.shape != (1, 1) else "the entry")
        if differs is not None:
            where, result = differs
            values = ""
            if result.left_value is not None and result.right_value is not None:
                values = f": left = {float(result.left_value):.8g}, right = {float(result.right_value):.8g}"
            scaled = ws.scale_mistake(a, b, self.points, self.seed) if hasattr(ws, "scale_mistake") else ""
            return StepReport(left_text, right_text, WRONG, result.method,
                              "; ".join(filter(None, (f"{prefix}{where} differs{values}", result.note, scaled))))
        if unchecked:
            return StepReport(left_text, right_text, NOT_CHECKED, "", prefix + unchecked)
        method = "symbolic" if {r.method for r in equal} == {"symbolic"} else "numeric"
        return StepReport(left_text, right_text, RIGHT, method, f"{prefix}{shape(left)}, entry by entry".strip())

    # -- the document's own activation ------------------------------------------------------
    def own_activation(self, equation: Equation, report: EquationReport) -> EquationReport | None:
        """A document that defines its own activation (``a_1^{[1]} = g_h(z_1^{[1]}) = \\frac{1}{1-e^{-z_1^{[1]}}}``,
        reported wrong when it is not the network's): that definition remembered, and from there on an
        equation about the activation (its derivative, ``g'_h(z)``, ``a(1-a)``) judged against the
        document's own function, as ``verify --where 'a=…' --steps`` does, the report saying so."""
        sides = [side.strip() for _, side in split_chain(equation.text)[0]]
        if report.verdict == WRONG and len(sides) >= 3 and _BARE_NAME.match(sides[0]):
            found = _OWN_DEFINITION.match(sides[1])
            formula = sides[-1]
            if found and not _OWN_FUNCTION.search(formula) and found.group("argument").strip() in formula:
                self.context.own_functions[found.group("which")] = (formula, found.group("argument").strip())
                self.context.own_values[rewrite(sides[0], self.model)] = rewrite(formula, self.model)
            return None
        if not self.context.own_functions or not _ACTIVATION_EQUATION.search(equation.text) \
                or _NOT_ACTIVATION.search(equation.text) or len(sides) < 2:
            return None
        used = set()

        def function(which: str, derivative: bool, text: str) -> str:
            pattern = _OWN_DERIVATIVE if derivative else _OWN_FUNCTION
            index = 0
            while True:
                found = pattern.search(text, index)
                if not found:
                    return text
                letter = next(g for g in found.groups() if g)
                end = _group(text, found.end() - 1)
                if letter != which or end < 0:
                    index = found.end()
                    continue
                argument = text[found.end():end - 1].strip()
                formula, variable = self.context.own_functions[which]
                body = formula.replace(variable, argument)
                if derivative:
                    if not _BARE_NAME.match(argument):
                        raise FormulaError("the derivative of the document's activation at a formula", text, None)
                    replacement = rf"\frac{{d}}{{d{argument}}}\left({body}\right)"
                else:
                    replacement = rf"\left({body}\right)"
                used.add(which)
                text = text[:found.start()] + replacement + text[end:]
                index = found.start() + len(replacement)

        try:
            own_sides = []
            for side in sides:
                for which in self.context.own_functions:
                    side = function(which, False, function(which, True, side))
                own_sides.append(side)
        except FormulaError:
            return None
        mentioned = [name for name in self.context.own_values if name in rewrite(equation.text, self.model)]
        if not used and not mentioned:
            return None
        saved = dict(self.context.shorthands)
        self.context.shorthands.update(self.context.own_values)
        try:
            judged = self.check_written(replace(equation, text=" = ".join(own_sides)), trial=True)
        finally:
            self.context.shorthands = saved
        if judged.verdict == NOT_CHECKED:
            return None
        which = sorted(used) or sorted(self.context.own_functions)
        said = ", ".join(f"g_{w} = {_plain(*self.context.own_functions[w])}" for w in which)
        words = f"with the document's {said} (its own definition, not the sigmoid)"
        back = dict(zip(own_sides, sides))
        steps = tuple(replace(step, left=back.get(step.left, step.left), right=back.get(step.right, step.right),
                              note="; ".join(filter(None, [words, step.note])) if step.verdict == WRONG else step.note)
                      for step in judged.steps)
        return replace(judged, text=equation.text, steps=steps, reason="; ".join(filter(None, [words, judged.reason])))

    def placeholders(self, equation: Equation) -> EquationReport | None:
        """An equation with placeholder weights (w_{3x}: some weight of layer 3) checked for every
        choice of distinct weights of that layer: right when one choice makes it right, wrong when
        none does (a term that repeats a neuron), else None."""
        found = [m for m in _WEIGHT_PLACEHOLDER.finditer(equation.text)]
        if not found or len(found) > 3 or _BARE_NAME.match(split_chain(equation.text)[0][0][1]) and \
                not self.known_name(split_chain(equation.text)[0][0][1]):
            return None
        written = set(re.findall(r"(?<![A-Za-z\\])w_\{?(\d)(\d+)\}?", _WEIGHT_PLACEHOLDER.sub(" ", equation.text)))
        layers = {m.group(1) for m in found if m.group(1)} or {layer for layer, _ in written}
        if len(layers) != 1:
            return None
        layer = int(layers.pop())
        names = [self.model.latex_names[s] for s in self.model.primary
                 if re.fullmatch(rf"w_{layer}_?\d+", s.name)]
        names = [n for n in names if re.sub(r"[{}_,]", "", n)[1:] not in {a + b for a, b in written}]
        choices = list(itertools.permutations(names, len(found)))
        if not choices or len(choices) > 60:
            return None
        wrong = None
        for choice in choices:
            text = equation.text
            for match, name in sorted(zip(found, choice), key=lambda pair: -pair[0].start()):
                text = text[:match.start()] + name + text[match.end():]
            report = self.check_written(replace(equation, text=text), trial=True)
            if report.verdict == RIGHT:
                return replace(report, text=equation.text, steps=(), reason=(
                    f"{report.reason}, for some weights in place of the placeholders (e.g. {', '.join(choice)})"))
            if report.verdict != WRONG:
                return None
            wrong = wrong or report
        what = ", ".join(m.group() for m in found)
        diagnosis = []
        for _, side in split_chain(equation.text)[0]:
            if _WEIGHT_PLACEHOLDER.search(side):
                neurons = re.findall(r"out_\{?([a-z])_?\{?(\d+)\}?", side)
                for neuron in dict.fromkeys(neurons):
                    if neurons.count(neuron) > 1:
                        source = ord(neuron[0]) - ord("a")
                        size = self.model.spec.layers[source] if 0 <= source < len(self.model.spec.layers) else 0
                        absent = [f"out_{{{neuron[0]}_{k}}}" for k in range(1, size + 1)
                                  if (neuron[0], str(k)) not in neurons]
                        times = {2: "twice"}.get(neurons.count(neuron), f"{neurons.count(neuron)} times")
                        diagnosis.append(f"out_{{{neuron[0]}_{neuron[1]}}} appears {times} in the sum"
                                         + (f" and {', '.join(absent)} not at all" if absent else "")
                                         + ": each neuron of the layer before feeds it once")
        return replace(wrong, text=equation.text, steps=(), correction="", diagnosis=tuple(dict.fromkeys(diagnosis)),
                       reason=f"wrong whatever weights of layer {layer} the placeholders {what} stand for")

    def known_name(self, text: str) -> bool:
        try:
            check_steps(f"{text} = {text}", self.derivation, points=1, definitions=dict(self.context.shorthands))
            return True
        except (FormulaError, ValueError):
            return False

    def check_written(self, equation: Equation, trial: bool = False) -> EquationReport:
        written = equation.text
        base = dict(line=equation.line, number=equation.number, text=written)
        if len(written) > 4000:
            return EquationReport(**base, verdict=NOT_CHECKED, reason="longer than 4000 characters")
        assigned = None
        arrow = re.search(r"\\leftarrow(?![A-Za-z])|←|:=", written)
        if arrow and "=" not in written[:arrow.start()]:
            assigned, written = written[:arrow.start()].strip(), written[arrow.end():]
        sides_written, relations = split_chain(written)
        sides = [side.strip() for _, side in sides_written]
        if assigned is not None and not trial:
            self.assign(assigned, sides[-1])
        if len(sides) < 2 or not all(sides):
            return EquationReport(**base, verdict=NOT_CHECKED, reason="not an equation (no '=' between two sides)")
        if not trial and sides[0].strip() in self.context.shorthands:  # the document defines its name anew
            self.context.shorthands.pop(sides[0].strip())
            self.context.shorthand_values.pop(sides[0].strip(), None)
        rewritten = [rewrite(side, self.model) for side in sides]
        skipped = {i: _reason(side) for i, side in enumerate(sides) if _reason(side)}
        kind = "equation"
        defined = None
        first_error = ""
        keep = [i for i in range(len(sides)) if i not in skipped]
        verdict = None
        while len(keep) >= 2:
            try:
                verdict, _ = self.steps([rewritten[i] for i in keep])
                break
            except FormulaError as error:
                position = error.position
                if position is None:
                    first_error = first_error or _short(error.problem)
                    keep = []
                    break
                offsets, total = [], 0
                for i in keep:
                    offsets.append(total)
                    total += len(rewritten[i]) + 3
                index = max(j for j, start in enumerate(offsets) if start <= position)
                side = keep[index]
                if (side == 0 and index == 0 and defined is None and not trial and "unknown name" in error.problem
                        and _BARE_NAME.match(sides[0]) and len(keep) >= 2 and self.definable(sides[0], rewritten[keep[1]])):
                    defined = sides[0].strip()
                    kind = "definition"
                    keep = keep[1:]
                    continue
                skipped[side] = _short(error.problem)
                first_error = first_error or _short(error.problem)
                keep = keep[:index] + keep[index + 1:]
        if verdict is None:
            reason = first_error or next(iter(skipped.values()), "")
            if defined is not None:
                return EquationReport(**base, verdict=NOT_CHECKED, kind="definition",
                                      reason=f"defines {defined}, used from here on")
            return EquationReport(**base, verdict=NOT_CHECKED, reason=reason or "fewer than two sides can be read")
        return self.judge(equation, base, sides, keep, skipped, verdict, kind, defined, trial)

    def assign(self, name: str, value_text: str) -> None:
        """``name \\leftarrow … = value``: from here on the parameter ``name`` has the new value."""
        number = _number(value_text.replace("\\boxed", ""). replace("{", " ").replace("}", " "))
        if number is None:
            return
        try:
            verdict = check_steps(f"{name} = {name}", self.derivation, points=1, definitions=dict(self.context.shorthands))
        except (FormulaError, ValueError):
            return
        symbol = verdict.expressions[0]
        if symbol in self.primary:
            self.context.values[symbol] = number
        elif name.strip() in self.context.shorthands:
            self.context.shorthands[name.strip()] = str(float(number))

    def definable(self, name: str, formula: str) -> bool:
        """Record ``name`` = ``formula`` as the document's shorthand when the grammar reads it."""
        trial = dict(self.context.shorthands)
        trial[name.strip()] = formula
        try:
            check_steps(f"{formula} = {formula}", self.derivation, points=1, seed=self.seed, definitions=trial)
        except (FormulaError, ValueError):
            return False
        self.context.shorthands[name.strip()] = formula
        return True

    def judge(self, equation, base, sides, keep, skipped, verdict, kind, defined, trial=False) -> EquationReport:
        steps, diagnosis, correction = [], [], ""
        expressions = verdict.expressions
        # a value the document gives a parameter or an input: remembered for its numeric lines
        if not trial and len(keep) == 2 and keep[0] == 0 and expressions[0] in self.primary and expressions[1].is_Number:
            number = _number(sides[keep[1]])
            if number is not None:
                self.context.values[expressions[0]] = number
                return EquationReport(**base, verdict=NOT_CHECKED, kind="value",
                                      reason="a value the document gives, used for its numeric lines")
        for step, (i, j) in zip(verdict.steps, zip(keep, keep[1:])):
            left, right = expressions[keep.index(i)], expressions[keep.index(j)]
            bridged = [sides[k] for k in range(i + 1, j)]
            note = step.note
            if bridged:
                note = "; ".join(filter(None, [f"compared across {len(bridged)} side(s) lint cannot read "
                                               f"({skipped.get(i + 1, '')})", note]))
            result, method = ({True: RIGHT, False: WRONG, None: NOT_CHECKED}[step.correct], step.method)
            numeric = bool(left.free_symbols) != bool(right.free_symbols)  # numbers on one side: the document's values
            if numeric:
                result, method, note = self.numeric(left, right, sides[i], sides[j])
            steps.append(StepReport(sides[i], sides[j], result, method, note, step.relation))
            if result == WRONG and not correction:
                if numeric and left.free_symbols:
                    value = self.at_values(left)[0]
                    correction = f"{sides[i]} = {value:.6g}" if value is not None else ""
                else:
                    correction, diagnosis = self.correct(sides, i, j, step, left)
        results = [s.verdict for s in steps]
        if WRONG in results:
            verdict_text, reason = WRONG, next(s.note for s in steps if s.verdict == WRONG)
        elif RIGHT in results:
            verdict_text = RIGHT
            methods = {s.method for s in steps if s.verdict == RIGHT}
            reason = "proven" if methods == {"symbolic"} else "checked numerically"
            unchecked = [s for s in steps if s.verdict == NOT_CHECKED]
            if unchecked:
                reason += f"; {len(unchecked)} of {len(steps)} steps not checked: {unchecked[0].note}"
        else:
            verdict_text, reason = NOT_CHECKED, next((s.note for s in steps if s.note), "")
        if skipped and verdict_text != WRONG:
            reason = "; ".join(filter(None, [reason, f"side not read: {next(iter(skipped.values()))}"]))
        if defined:
            reason = "; ".join(filter(None, [f"defines {defined}, used from here on", reason]))
            last = _number(sides[keep[-1]]) if keep else None
            if last is not None and not trial:
                self.context.shorthand_values[defined] = last
        return EquationReport(**base, verdict=verdict_text, reason=reason, steps=tuple(steps),
                              diagnosis=tuple(diagnosis), correction=correction, kind=kind)

    def numeric(self, left, right, left_text, right_text) -> tuple[str, str, str]:
        """A step with a number on one side, judged at the document's values, within the rounding
        of the numbers written and of the values used."""
        (a, spread_a, missing_a), (b, spread_b, missing_b) = (self.at_values(e) for e in (left, right))
        if a is None or b is None:
            names = sorted(set(missing_a) | set(missing_b))
            why = (f"the document gives no value for {', '.join(names[:4])}" + (", …" if len(names) > 4 else "")
                   if names else "cannot be evaluated at the document's values")
            return NOT_CHECKED, "", why
        scale = max(abs(a), abs(b))
        allowed = (rounding(_literals(left_text) + _literals(right_text))[0] + NUMERIC_SLACK) * scale + spread_a + spread_b
        if abs(a - b) > allowed:  # where the numbers written cancel, what their rounding does to the side
            allowed += sum(propagated_rounding(_numbers_only, text, _literals(text))
                           for expr, text in ((left, left_text), (right, right_text)) if not expr.free_symbols)
        if abs(a - b) <= allowed:
            return RIGHT, "numeric", "at the document's values, within the rounding of the numbers written"
        return WRONG, "numeric", f"at the document's values: left = {a:.10g}, right = {b:.10g}"

    def correct(self, sides, i, j, step, left) -> tuple[str, list[str]]:
        """The corrected equation and verify's diagnosis of a wrong step."""
        gradient = _GRADIENT.match(sides[i])
        if gradient:
            try:
                found = check_gradient(self.derivation, gradient.group("param").strip(), rewrite(sides[j], self.model),
                                       points=self.points, seed=self.seed)
            except (FormulaError, SpecError, ValueError):
                found = None
            if found is not None and found.correct is False:
                return f"{sides[i]} = {found.expected_latex}", list(found.diagnosis)
        if not left.free_symbols:  # arithmetic: the number it comes to, to the digits the document writes
            digits = min(15, max([6] + [significant_digits(n.text) for n in _literals(sides[j])]))
            try:
                return f"{sides[i]} = {float(sympy.N(left, 20)):.{digits}g}", []
            except (TypeError, ValueError, OverflowError):
                pass
        definition = self.model.definitions.get(left)
        if definition is not None:  # a net input or an output: its definition, as the handout writes it
            return f"{sides[i]} = {to_latex(definition, self.model.latex_names)}", []
        delta = next((d for d in self.derivation.chain.deltas if d.symbol == left), None)
        if delta is not None:  # a delta: its recursion, as the handout writes it
            return f"{sides[i]} = {to_latex(delta.recursion, self.model.latex_names)}", []
        if _spaceless(step.left_latex) == _spaceless(sides[i]):  # no correction says only "X = X"
            return "", []
        return f"{sides[i]} = {step.left_latex}", []

    # -- shapes ---------------------------------------------------------------------------------
    def shape(self, claim: ShapeClaim) -> EquationReport:
        base = dict(line=claim.line, number=None, text=claim.text, kind="shape")
        spec = self.model.spec
        found = re.fullmatch(r"([A-Za-z]+)\^\{\[(\d+)\]\}", claim.name)
        if spec.notation == "neurons" or not found or found.group(1) not in ("W", "w", "b", "a", "z"):
            return EquationReport(**base, verdict=NOT_CHECKED, reason="not a layer's matrix or vector")
        letter, layer = found.group(1), int(found.group(2))
        if not (0 <= layer <= spec.depth) or (letter in "Wwb" and layer == 0):
            return EquationReport(**base, verdict=NOT_CHECKED, reason=f"the network has no layer {layer} for {claim.name}")
        n = spec.layers
        columns = spec.notation == "columns"
        if letter in "Ww":
            expected = (n[layer], n[layer - 1]) if columns else (n[layer - 1], n[layer])
        else:
            expected = (n[layer], 1) if columns else (1, n[layer])
        if (claim.rows, claim.cols) == expected:
            return EquationReport(**base, verdict=RIGHT, reason="the network's shape")
        return EquationReport(**base, verdict=WRONG, reason=f"{claim.name} is {expected[0]}×{expected[1]} in this network",
                              correction=f"{claim.name} has the shape {expected[0]}×{expected[1]}")


def lint_document(document: Document, derivation: Derivation, points: int = 3, seed: int = 0,
                  progress: Callable[[str, int, int], None] | None = None, assumed: bool = False) -> LintReport:
    """Every equation and shape claim of ``document`` judged against ``derivation``'s network, in order.
    ``progress(stage, done, total)`` is told after each equation."""
    linter = _Linter(derivation, points, seed)
    items = sorted([(e.line, 0, k, e) for k, e in enumerate(document.equations)]
                   + [(s.line, 1, k, s) for k, s in enumerate(document.shapes)], key=lambda item: item[:3])
    reports = []
    for done, (*_, item) in enumerate(items, start=1):
        if isinstance(item, ShapeClaim):
            reports.append(linter.shape(item))
        else:
            try:
                with time_limit(EQUATION_SECONDS):
                    report = linter.check(item)
            except TimeoutError:
                report = EquationReport(item.line, item.number, item.text, NOT_CHECKED,
                                        reason=f"took over {EQUATION_SECONDS} s")
            except (FormulaError, ValueError, ArithmeticError, RecursionError, TypeError) as error:
                report = EquationReport(item.line, item.number, item.text, NOT_CHECKED,
                                        reason=f"cannot be checked: {str(error).splitlines()[0][:200]}")
            if item.kind == "value" and report.kind != "value":
                continue  # a table row that is not a value after all: not an equation of the document
            reports.append(report)
        if progress is not None:
            progress("lint", done, len(items))
    spec = derivation.model.spec
    activations = ", ".join(dict.fromkeys(spec.activations))
    network = f"{spec.text}, {activations}, {derivation.model.loss_function.title}"
    if spec.shared_bias:
        network += ", one bias per layer"
    elif spec.bias:
        network += ", with biases"
    if spec.notation != "neurons":
        network += f", {spec.notation} notation"
    return LintReport(network, tuple(reports), assumed)


__all__ = [
    "NOT_CHECKED",
    "RIGHT",
    "WRONG",
    "EquationReport",
    "Inferred",
    "LintReport",
    "StepReport",
    "infer_network",
    "lint_document",
    "rewrite",
]
