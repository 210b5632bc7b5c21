"""A ``Derivation`` as Markdown, LaTeX and JSON.

``context(derivation)`` turns the derivation into plain data for the templates: names, numbers
and LaTeX strings printed by SymPy (``symbackprop.handout.latex``). The Jinja2 templates in
``templates/`` lay that data out and hold no mathematics. User-supplied text reaches a
template only through the ``latex_escape`` / ``md_escape`` filters.

How much is worked out is the ``detail``: "concise" (the default) works one parameter per layer
in full and gives every parameter of the layer in one block, its path sum in values and its delta
form; "full" gives every parameter its own section and drawing. The steps a handout adds between
proven forms (∂E/∂out from the next layer's deltas, a path sum with its shared factors taken out)
are proven here, with the exact zero test, before they are printed.

A gallery entry that reproduces a published-style derivation adds an "About the source" note
(``source_note``): a one-sentence summary and the places where that source is wrong, each with its
corrected form. Its text may hold LaTeX math between ``$`` signs; the rest is escaped like any text.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import tempfile
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional, Union

import jinja2
import sympy
from sympy.printing.str import StrPrinter

from ..algebra.expressions import Chain, Partial, Total, ordered_sum, tidy
from ..derivation.chainrule import Delta, Gradient
from ..derivation.matrixform import LayerForm
from ..network.model import expand_definitions
from ..proof.prove import UNPROVEN, Progress, VerificationError
from ..version import __version__
from .compiled import TemplateCache
from .diagram import TIKZ_LIBRARIES, to_svg, to_tikz
from .escape import latex_escape, md_escape
from .figures import network_diagram, parameter_diagram, svg_name
from .files import Batch, write_atomic
from .latex import Remembering, latex_printer, to_latex

if TYPE_CHECKING:  # for annotations only: this stage takes the data it is given, it does not run the pipeline
    from ..api import Derivation

FORMATS = ("md", "tex", "pdf", "json", "html")
NETWORK_SVG = "network.svg"
_PACKAGE = Path(__file__).resolve().parents[1]  # symbackprop/: templates ship in it as package data
TEMPLATE_DIRS = (_PACKAGE / "templates", _PACKAGE.parent / "templates")  # installed wheel, then checkout

# A handout lists every parameter up to this many; past it, each layer shows its general rule
# and the parameters whose paths are written out, and says that derivation.json has the rest.
HANDOUT_PARAMETER_LIMIT = 120
# Forward-pass equations shown per layer before the handout says "and so on" (every delta is shown).
HANDOUT_NEURON_LIMIT = 8
UPSTREAM_PATHS = 512  # paths from an output to E written out to check ∂E/∂out; past it, summed node by node
MAX_TERMS = 6  # longer sums are printed first two terms, ⋯, last term
DOTS = sympy.Symbol("dots")
# What a handout calls each notation, and, for the letters, which of the network's names show it
# (the layer notation is shown by its pattern).
NOTATION_NAMES = {"neurons": "letter notation", "layers": "layer notation", "columns": "column notation"}
NOTATION_EXAMPLES = {"layers": (r"a^{[k]}", r"W^{[k]}_{i,j}"), "columns": (r"a^{[l]}", r"W^{[l]}_{j,k}")}


# How much of each layer a handout works out: "concise" works one parameter of each layer in full
# (Leibniz form, values, the factoring into its delta, its drawing) and gives every parameter of the
# layer in one block (its path sum in values and its delta form); "full" works every parameter in
# its own section.
DETAILS = ("concise", "full")
DEFAULT_DETAIL = "concise"
# Display equations are broken into lines no wider than this many letter widths (``printed_width``):
# the text of the PDF handout (17 cm at 11 pt); a \small block holds 10 % more.
LINE_WIDTH = 82.0
SMALL_LINE_WIDTH = 91.0


def _check_detail(detail: str) -> str:
    if detail not in DETAILS:
        raise ValueError(f"unknown detail {detail!r}: choose from {', '.join(DETAILS)}")
    return detail


# -- breaking long equations ----------------------------------------------------------------
_WIDTHS = {"cdot": 1.6, "partial": 1.0, "quad": 2.0, "qquad": 4.0, "cdots": 3.0, "circ": 1.6, "odot": 1.6,
           "log": 2.4, "exp": 2.4, "tanh": 3.6, "sigma": 1.1, ",": 0.3, ";": 0.5, " ": 0.5}
_INVISIBLE = {"left", "right", "bigl", "bigr", "Bigl", "Bigr", "mathrm", "mathbf", "hat", "text", "nonumber",
              "displaystyle", "small", "itshape"}


def _group(tex: str, i: int) -> tuple[str, int]:
    """The braced group (or single token) at ``tex[i]`` and the index after it."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        return "", i
    if tex[i] != "{":
        token = re.match(r"\\[A-Za-z]+|\\.|.", tex[i:]).group(0)
        return token, i + len(token)
    depth = 0
    for j in range(i, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[j], 0)
        if depth == 0:
            return tex[i + 1 : j], j + 1
    return tex[i + 1 :], len(tex)


@lru_cache(maxsize=8192)  # a layout measures the same factors again and again
def printed_width(tex: str) -> float:
    """A rough printed width of LaTeX math, in widths of a letter: enough to break a long sum into
    lines that fit the page (a fraction is as wide as its wider part, an index 0.7 of a letter).

    >>> printed_width(r"x + y") < printed_width(r"\\frac{\\partial E}{\\partial w_{31}} \\cdot x")
    True
    """
    total, i, script = 0.0, 0, None  # script: the width of the index just set, which a second one stacks on
    while i < len(tex):
        c = tex[i]
        if c in "_^":
            inner, i = _group(tex, i + 1)
            width = 0.7 * printed_width(inner)
            total += width if script is None else max(0.0, width - script)
            script = width if script is None else max(width, script)
            continue
        script = None
        if c == "\\":
            name = re.match(r"\\([A-Za-z]+|.)", tex[i:]).group(1)
            i += len(name) + 1
            if name == "frac":
                top, i = _group(tex, i)
                bottom, i = _group(tex, i)
                total += max(printed_width(top), printed_width(bottom)) + 0.4
            elif name == "text":
                words, i = _group(tex, i)
                total += 0.9 * len(words)
            elif name not in _INVISIBLE:
                total += _WIDTHS.get(name, 1.0)
        elif c in "{} &":
            i += 1
        elif c in "+-=<>":
            total += 2.2
            i += 1
        else:
            total += 1.0
            i += 1
    return total


def split_top(tex: str, separator: str = r" \cdot ") -> list[str]:
    """``tex`` cut at each ``separator`` outside braces and \\left...\\right pairs: the factors of a
    printed product.

    >>> split_top(r"a \\cdot \\left(b \\cdot c\\right) \\cdot \\frac{d}{e \\cdot f}")
    ['a', '\\\\left(b \\\\cdot c\\\\right)', '\\\\frac{d}{e \\\\cdot f}']
    """
    parts, depth, start, i = [], 0, 0, 0
    while i < len(tex):
        if tex.startswith(r"\left", i) and not tex[i + 5 : i + 6].isalpha():
            depth, i = depth + 1, i + 5
        elif tex.startswith(r"\right", i) and not tex[i + 6 : i + 7].isalpha():
            depth, i = depth - 1, i + 6
        elif tex[i] in "{}":
            depth += 1 if tex[i] == "{" else -1
            i += 1
        elif depth == 0 and tex.startswith(separator, i):
            parts.append(tex[start:i])
            i = start = i + len(separator)
        else:
            i += 1
    return parts + [tex[start:]]


def broken(lhs: str, chunks: list[tuple[str, list[str]]], width: float = LINE_WIDTH) -> list[str]:
    """An equation ``lhs = ...`` as the rows of an align block: ``chunks`` are (operator, factors)
    with the operator "" (the first), "+", "-", "=" or r"\\cdot"; a row is cut before a chunk
    (a new term, or the next "="), or, for a product too wide for a row, between its factors.
    Every row starts at the left (``&`` in the template): row 0 is ``lhs = `` and its text, each
    later row its indent and text, so no row is wider than ``width`` with the left-hand side.

    >>> broken("E", [("", ["a"]), ("+", ["b"]), ("=", ["c"])])
    ['a + b = c']
    >>> broken("E", [("", ["a" * 50]), ("+", ["b" * 50])])
    ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '\\\\quad + bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb']
    """
    rows: list[str] = []
    current, used = "", printed_width(lhs) + 2.2  # "lhs =" before the first row
    indent = {"+": printed_width(r"\quad"), "-": printed_width(r"\quad"), "=": printed_width(r"\quad"),
              r"\cdot": printed_width(r"\qquad")}
    lead = {"+": r"\quad + ", "-": r"\quad - ", "=": r"\quad = ", r"\cdot": r"\qquad \cdot "}
    for op, factors in chunks:
        whole = printed_width(f"{op} " + r" \cdot ".join(factors))
        if not (current or rows) and used + whole > width and indent["+"] + whole <= width:
            rows.append("")  # "lhs =" alone: the first term fits the next row whole
            current, used = r"\quad", indent["+"]
        elif current and used + whole > width and indent.get(op, 0.0) + whole <= width:
            rows.append(current)  # a term that fits a row of its own is not cut
            current, used = lead[op].rstrip(), indent[op] + printed_width(lead[op])
        for n, factor in enumerate(factors):
            joint = (op if n == 0 else r"\cdot") if (current or rows) else ""
            piece = factor if not joint else (f"{joint} {factor}" if n == 0 else rf"\cdot {factor}")
            piece_width = printed_width(piece) + (0.0 if not joint else 0.0)
            if current and current != lead.get(op, "").rstrip() and used + piece_width > width:
                rows.append(current)
                cont = joint or r"\cdot"
                current, used = lead[cont] + factor, indent[cont] + printed_width(lead[cont] + factor)
            elif current == lead.get(op, "").rstrip() and current:  # the row just started for this term
                current, used = current + " " + factor, used + printed_width(factor)
            else:
                current, used = (f"{current} {piece}" if current else piece), used + piece_width
    rows.append(current)
    return rows


def template_dir() -> Path:
    """The directory of symbackprop's Jinja2 templates (in the installed wheel, or the checkout)."""
    return _template_dir()


def _template_dir() -> Path:
    for directory in TEMPLATE_DIRS:
        if (directory / "derivation.md.j2").is_file():
            return directory
    raise FileNotFoundError("symbackprop's templates are missing; reinstall the package")


def environment(kind: str) -> jinja2.Environment:
    """The Jinja2 environment for ``kind`` "md" or "tex" (LaTeX-safe delimiters for "tex"), one per
    process and template directory: it keeps each template compiled, and reloads one that changed.

    >>> environment("tex") is environment("tex") is not environment("md")
    True
    """
    return _environment(kind, _template_dir())


@lru_cache(maxsize=None)
def _environment(kind: str, templates: Path) -> jinja2.Environment:
    options = dict(
        loader=jinja2.FileSystemLoader(str(templates)),
        bytecode_cache=TemplateCache(templates, kind),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    if kind == "tex":
        options.update(
            block_start_string=r"\BLOCK{",
            block_end_string="}",
            variable_start_string=r"\VAR{",
            variable_end_string="}",
            comment_start_string=r"\#{",
            comment_end_string="}",
            line_comment_prefix="%#",
        )
    env = jinja2.Environment(**options)
    env.filters["latex_escape"] = latex_escape
    env.filters["md_escape"] = md_escape
    return env


# -- context: the derivation as data for the templates --------------------------------------
def error_bound(error: float, floor: int = -12) -> str:
    """A power of ten above a relative error, and never below 1e-12: handouts state "below
    1e-12" (twelve digits agree), a bound that the last bits a different CPU, BLAS or NumPy gives
    cannot change, so the gallery stays byte-identical; larger errors get their own power.

    >>> error_bound(4.4e-16), error_bound(0.0), error_bound(3e-11)
    ('1e-12', '1e-12', '1e-10')
    """
    exponent = math.floor(math.log10(error)) + 1 if error > 0 else floor
    return f"1e{max(exponent, floor)}"


def describe_layers(layers: tuple[int, ...]) -> str:
    """The network in words.

    >>> describe_layers((2, 4, 3, 2))
    '2 inputs, hidden layers of 4 and 3 neurons, 2 outputs'
    """
    plural = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"  # noqa: E731
    hidden = layers[1:-1]
    parts = [plural(layers[0], "input")]
    if len(hidden) == 1:
        parts.append(f"a hidden layer of {plural(hidden[0], 'neuron')}")
    elif hidden:
        sizes = ", ".join(str(n) for n in hidden[:-1]) + f" and {hidden[-1]}"
        parts.append(f"hidden layers of {sizes} neurons")
    parts.append(plural(layers[-1], "output"))
    return ", ".join(parts)


def abbreviated(expr: sympy.Basic) -> sympy.Basic:
    """A sum of more than MAX_TERMS terms shown as its first two, ⋯, and its last (784 inputs
    make a net input of 784 terms); derivation.json keeps every term.

    >>> x = sympy.symbols("x1:10")
    >>> abbreviated(sum(x))
    Total(x1, x2, dots, x9)
    """
    if isinstance(expr, Chain):
        return Chain(*(abbreviated(f) for f in expr.factors))
    terms = expr.terms if isinstance(expr, Total) else expr.as_ordered_terms() if expr.is_Add else None
    if terms is None:
        return expr
    if len(terms) > MAX_TERMS:
        return Total(*terms[:2], DOTS, terms[-1])
    return Total(*(abbreviated(t) for t in terms)) if isinstance(expr, Total) else expr


def _shown(items: list, limit: int = HANDOUT_NEURON_LIMIT) -> dict:
    """The first ``limit`` items and how many are left out."""
    return {"items": items[:limit], "omitted": max(0, len(items) - limit)}


def marked(text: str) -> list[dict]:
    """Text with LaTeX math between ``$`` signs, as the parts a template lays out: ``{"text": ...}``
    (escaped there, like any text; ``before`` and ``after`` keep the spaces an escaper trims) and
    ``{"math": ...}`` (set as inline math).

    >>> marked("w is $w_{34}$.")
    [{'text': 'w is', 'before': '', 'after': ' '}, {'math': 'w_{34}'}, {'text': '.', 'before': '', 'after': ''}]
    """
    parts = text.split("$")
    if len(parts) % 2 == 0:
        raise ValueError(f"an unpaired $ in {text!r}")
    marked_parts = []
    for n, part in enumerate(parts):
        if n % 2:
            marked_parts.append({"math": part})
        elif part:
            core = part.strip()
            marked_parts.append({"text": core, "before": " " if part[:1].isspace() else "",
                                 "after": " " if part[-1:].isspace() and core else ""})
    return marked_parts


def source_note_context(note: Optional[dict]) -> Optional[dict]:
    """The "About the source" note for the templates: ``note`` is ``{"summary": text, "corrections":
    [(what the source writes, the corrected form), ...]}``, each text with ``$``-delimited math.
    The text between the math is escaped like a title; the math is set as written, so a note is
    the program's own text (``symbackprop.gallery.SOURCE_NOTES``), never a user's."""
    if not note:
        return None
    return {
        "summary": marked(note["summary"]),
        "corrections": [{"wrong": marked(wrong), "right": marked(right)} for wrong, right in note["corrections"]],
    }


def layer_parameters(derivation: Derivation, layer: int, detail: str = DEFAULT_DETAIL) -> tuple[list, list, list]:
    """The gradients of ``layer``: all, those the handout shows (all up to HANDOUT_PARAMETER_LIMIT
    parameters, else those whose paths are written out), and those it works out in full, each with
    its drawing: every one shown with ``detail`` "full", else the first whose paths are written out."""
    gradients = [g for g in derivation.gradients if g.parameter.layer == layer]
    everything = derivation.selected or derivation.spec.n_parameters <= HANDOUT_PARAMETER_LIMIT
    shown = gradients if everything else [g for g in gradients if g.paths is not None]
    if _check_detail(detail) == "full" or len(shown) < 2:
        return gradients, shown, shown
    return gradients, shown, [next((g for g in shown if g.paths is not None), shown[0])]


class _Context:
    """Builds the template context of one derivation."""

    def __init__(self, derivation: Derivation, figures: bool = False, detail: str = DEFAULT_DETAIL):
        self.d = derivation
        self.model = derivation.model
        self.names = {**derivation.model.latex_names, DOTS: r"\cdots"}
        self.figures = figures  # SVG files are written beside derivation.md, so link them
        self.detail = _check_detail(detail)
        self.steps_proven = {"upstream": 0, "factoring": 0}  # the steps a handout adds to the proven forms, by kind
        self.printer = latex_printer(self.names)  # one for the handout: it prints each distinct subexpression once

    # -- the steps a handout shows between proven forms, each proven before it is printed ------
    @cached_property
    def expanded_deltas(self) -> dict:
        """Every delta symbol as its definition with the deltas of later layers substituted: an
        expression in outputs, targets and weights (``chain.deltas`` runs from the output back)."""
        return expand_definitions({delta.symbol: delta.definition for delta in self.d.chain.deltas})

    def prove(self, ours: sympy.Expr, truth: sympy.Expr, what: str, kind: str = "factoring") -> None:
        """Raise ``VerificationError`` unless ``ours`` is identically ``truth`` (exact zero test);
        count it as a step of ``kind``: "upstream" (∂E/∂out from the next layer) or "factoring"."""
        from ..algebra.exact import are_equal

        if ours != truth and not are_equal(ours, truth):
            raise VerificationError(f"{what}: the handout's step gives {ours}, the chain rule {truth}")
        self.steps_proven[kind] += 1

    def upstream_truth(self, out: sympy.Symbol) -> sympy.Expr:
        """∂E/∂out by the scalar chain rule, every path from ``out`` to E its product of local
        factor values (no delta in it), so it checks the sum over the next layer's deltas."""
        m, chain, total = self.model, self.d.chain, []

        def walk(node, product):
            for user in chain.consumers[node]:
                value = product * chain.factor(user, node).value
                if user == m.loss_symbol:
                    total.append(value)
                else:
                    walk(user, value)

        if math.prod(m.spec.layers[m.neuron_of[out].layer + 1:]) > UPSTREAM_PATHS:  # a deep, wide net: node by node
            memo = {m.loss_symbol: sympy.Integer(1)}

            def through(node):
                if node not in memo:
                    memo[node] = sympy.Add(*(chain.factor(user, node).value * through(user) for user in chain.consumers[node]))
                return memo[node]

            return through(out)
        walk(out, sympy.Integer(1))
        return sympy.Add(*total)

    def tex(self, expr) -> str:
        """``to_latex(expr)`` under the handout's names."""
        return self.printer.doprint(expr)

    def label(self, neuron) -> str:
        return self.model.label(neuron)

    def forward(self, layer: int) -> dict:
        m = self.model
        equations = []
        size = m.spec.layers[layer]
        for j in range(min(size, HANDOUT_NEURON_LIMIT)):
            net, out = m.net[layer][j], m.out[layer][j]
            display = m.display_activation(layer, net)
            equations.append(
                {
                    "net": self.tex(net),
                    "net_value": self.tex(abbreviated(ordered_sum(m.net_terms(layer, j)))),
                    "out": self.tex(out),
                    "out_display": None if display is None else self.tex(display),
                    "out_value": self.tex(abbreviated(m.definitions[out])),
                }
            )
        return {"items": equations, "omitted": size - len(equations), "layer": layer,
                "name": m.notation.layer(layer), "activation": m.activation(layer).name}

    def activation(self, layer: int) -> dict:
        """∂out/∂net for the first neuron of ``layer``: the local factor and how SymPy's derivative reads."""
        m, chain = self.model, self.d.chain
        activation = m.activation(layer)
        out, net = m.out[layer][0], m.net[layer][0]
        display = m.display_activation(layer, net)
        entry = {
            "layer": layer,
            "name": activation.name,
            "mixes": activation.mixes,
            "note": activation.note,
            "partial": self.tex(Partial(out, net)),
            "display": None if display is None else self.tex(sympy.Derivative(display, net)),
            "value": self.tex(chain.factor(out, net).shown),
            "sympy": self.tex(sympy.diff(m.definitions[out], net).xreplace({}) if activation.mixes else activation.derivative(net)),
            "output_form": activation.mixes or activation.in_output is not None,
        }
        if activation.mixes and m.spec.layers[layer] > 1:
            other = m.net[layer][1]
            entry["cross_partial"] = self.tex(Partial(out, other))
            entry["cross_value"] = self.tex(chain.factor(out, other).shown)
        return entry

    def delta(self, delta: Delta) -> dict:
        simplification = delta.simplification
        return {
            "neuron": self.label(delta.neuron),
            "symbol": self.tex(delta.symbol),
            "net": self.tex(delta.net),
            "leibniz": self.tex(abbreviated(delta.leibniz)),
            "recursion": self.tex(abbreviated(delta.recursion)),
            "steps": [self.tex(tidy(step)) for step in simplification.steps] if simplification else [],
            "assumption": simplification.assumption if simplification else None,
            "is_output": delta.is_output,
        }

    def verified(self, gradient: Gradient) -> dict:
        verification = self.d.verification
        checks = verification.checks[gradient.parameter.symbol]
        reason = verification.unproven.get(gradient.parameter.symbol)
        return {
            "method": verification.method(gradient.parameter.symbol),
            "error_below": error_bound(max(c.max_rel_error for c in checks.values())),
            "unproven": UNPROVEN[reason] if reason else None,
        }

    def route(self, path) -> list[str]:
        """The neurons a path passes, forward. Through a layer that mixes its neurons (softmax) a
        path enters by one net input and may leave by another neuron's output: both are named."""
        m, route = self.model, []
        nets, outs = path.nodes[0::2], path.nodes[1::2]  # net, out, net, out, ...: one pair per layer
        for net, out in zip(nets, outs):
            neuron = m.neuron_of[net]
            if m.activation(neuron.layer).mixes:
                route += [self.tex(net), self.tex(out)]
            else:
                route.append(self.label(neuron))
        return route

    def parameter(self, gradient: Gradient) -> dict:
        m, parameter = self.model, gradient.parameter
        paths = None
        if gradient.paths is not None:
            paths = [
                {
                    "route": self.route(path),
                    "output": self.label(path.output),
                    "leibniz": self.tex(path.leibniz),
                    "product": self.tex(path.product),
                }
                for path in gradient.paths
            ]
        outputs = list(dict.fromkeys(p["output"] for p in paths)) if paths else None
        per_output = None
        if paths:  # how many paths end at each output, when that is the same number for all
            counts = {sum(1 for p in paths if p["output"] == o) for o in outputs}
            per_output = counts.pop() if len(counts) == 1 else None
        rows = factoring = None
        if gradient.paths is not None:
            gradient_tex = self.tex(Partial(m.loss_symbol, parameter.symbol))
            rows = {
                "leibniz": broken(gradient_tex, self.chunks([path.leibniz for path in gradient.paths])),
                "product": broken(gradient_tex, self.chunks([path.product for path in gradient.paths])),
            }
            factoring = self.factoring(gradient)
        return {
            "symbol": parameter.symbol.name,
            "latex": self.tex(parameter.symbol),
            "rows": rows,
            "factoring": factoring,
            "compact": self.compact(gradient),
            "kind": parameter.kind,
            "source": self.label(parameter.source) if parameter.source else None,
            "target": self.label(parameter.target),
            "shared_by": [self.label(n) for n in parameter.shared] if parameter.shared else None,
            "n_paths": gradient.n_paths,
            "outputs": outputs,
            "paths_per_output": per_output,
            "paths": paths,
            "gradient": self.tex(Partial(m.loss_symbol, parameter.symbol)),
            "input_factor": self.tex(gradient.input_factor.partial),
            "input_value": self.tex(gradient.input_factor.value),
            "delta": self.tex(gradient.delta.symbol),
            "delta_form": self.tex(gradient.delta_form),
            "verified": self.verified(gradient),
            "tikz": to_tikz(parameter_diagram(self.d, gradient)) if paths else None,
            "svg": svg_name(gradient) if paths and self.figures else None,
        }

    def chunks(self, terms) -> list[tuple[str, list[str]]]:
        """A sum of products as ``broken``'s chunks: one per term, its factors printed one by one."""
        chunks = []
        for n, term in enumerate(terms):
            printed, op = self.tex(term), "+" if n else ""
            if n and printed.startswith("- "):  # a + (-b) is written a - b; a leading minus stays
                op, printed = "-", printed[2:]
            chunks.append((op, split_top(printed)))
        return chunks

    def factors(self, factors) -> list[str]:
        """Factors printed as they stand after a \\cdot (a negative one in parentheses)."""
        return split_top(self.tex(Chain(DOTS, *factors)))[1:]

    def factoring(self, gradient: Gradient) -> Optional[dict]:
        """The path sum with the factors every path ends in taken out of the sum, and that the
        bracket times them (all but ∂net/∂w) is the target neuron's delta: both steps proven here."""
        paths = gradient.paths
        if not paths or len(paths) < 2 or gradient.shared:
            return None
        common = 0  # how many factors, counted from the parameter's end, every path shares
        while common < min(len(p.factors) for p in paths) and len({p.factors[-1 - common] for p in paths}) == 1:
            common += 1
        shared = paths[0].factors[len(paths[0].factors) - common:]
        prefixes = [path.factors[: len(path.factors) - common] for path in paths]
        bracket = sympy.Add(*(sympy.Mul(*(f.value for f in prefix)) for prefix in prefixes))
        in_delta = shared[:-1]  # all but ∂net/∂w = out: with the bracket, they make the delta
        self.prove(bracket * sympy.Mul(*(f.value for f in shared)), gradient.path_sum,
                   f"the factored path sum of {gradient.parameter.symbol}")
        self.prove((bracket * sympy.Mul(*(f.value for f in in_delta))).xreplace(self.expanded_deltas),
                   gradient.delta.symbol.xreplace(self.expanded_deltas), f"the delta in the path sum of {gradient.parameter.symbol}")
        m = self.model
        upstream = len(in_delta) == 1 and in_delta[0].of in m.computed_outs  # the bracket is ∂E/∂out of the target
        if upstream:
            self.prove(bracket, self.upstream_truth(in_delta[0].of), f"the bracket in the path sum of {gradient.parameter.symbol}")
        gradient_tex = self.tex(Partial(m.loss_symbol, gradient.parameter.symbol))
        chunks = self.chunks([Chain(*(f.shown for f in prefix)) for prefix in prefixes])
        first_op, first_factors = chunks[0]
        chunks[0] = (first_op, ["[" + first_factors[0], *first_factors[1:]])
        last_op, last_factors = chunks[-1]
        chunks[-1] = (last_op, [*last_factors[:-1], last_factors[-1] + "]"])
        chunks += [(r"\cdot", [factor]) for factor in self.factors([f.shown for f in shared])]
        chunks.append(("=", split_top(self.tex(gradient.delta_form))))
        return {
            "shared": self.tex(Chain(*(f.partial for f in shared))),
            "n_shared": len(shared),
            "in_delta": self.tex(Chain(*(f.shown for f in in_delta))) if in_delta else None,
            "upstream": self.tex(Partial(m.loss_symbol, in_delta[0].of)) if upstream else None,
            "rows": broken(gradient_tex, chunks),
        }

    def compact(self, gradient: Gradient, worked: bool = False) -> dict:
        """One parameter in the layer's block: its path sum in values (the chain rule) and its
        delta form, as rows of a \\small align block, with how it was checked; the parameter
        ``worked`` out above gets its delta form, its path sum being just above."""
        m, parameter = self.model, gradient.parameter
        gradient_tex = self.tex(Partial(m.loss_symbol, parameter.symbol))
        verified = self.verified(gradient)
        written = gradient.paths is not None and not worked
        chunks = self.chunks([path.product for path in gradient.paths]) if written else []
        check = verified["method"]  # "symbolic" or "numeric", as the block's introduction explains
        mark = r"\quad \text{(%s)}" % (f"worked above; {check}" if worked else check)
        chunks.append(("=" if chunks else "", split_top(self.tex(gradient.delta_form) + " " + mark)))
        return {"rows": broken(gradient_tex, chunks, SMALL_LINE_WIDTH), "lhs": gradient_tex}

    def matrix(self, form: LayerForm) -> dict:
        """The layer's vectorized results with shapes; in column notation labelled BP1-BP4."""
        m = self.model
        k, layers = form.layer, m.spec.layers
        columns = m.notation.columns
        output = k == m.spec.depth
        names = {**self.names, **dict(form.names)}  # self.names prints DOTS as \cdots
        tex = lambda expr: to_latex(expr, names, hadamard=r"\odot" if columns else r"\circ")  # noqa: E731
        labels = {"g_z": "BP1" if output else "BP2", "g_b": "BP3", "g_W": "BP4"} if columns else {}
        gradients = []
        for g in form.gradients:
            formula = g.formula
            explicit = isinstance(formula, sympy.MatrixBase)  # ∂E/∂out entry by entry, at the output layer
            if explicit and len(formula) > MAX_TERMS:  # a wide output layer
                shown = [formula[0], formula[1], DOTS, formula[len(formula) - 1]]
                formula = sympy.Matrix(shown) if columns else sympy.Matrix([shown])
            gradients.append(
                {
                    "name": g.name,
                    "symbol": tex(g.symbol),
                    "shape": r"%d \times %d" % g.shape,
                    "formula": tex(formula),
                    "label": labels.get(g.name),
                }
            )
        if columns:  # in Nielsen's order: BP1 or BP2, then BP3 (biases), then BP4 (weights)
            gradients.sort(key=lambda g: (g["label"] or "", g["name"]))
        vector = (lambda n: r"%d \times 1" % n) if columns else (lambda n: r"1 \times %d" % n)  # noqa: E731
        w_shape = (layers[k], layers[k - 1]) if columns else (layers[k - 1], layers[k])
        weights = sympy.Matrix(m.weights[k]).T if columns else sympy.Matrix(m.weights[k])
        if max(w_shape) <= MAX_TERMS:  # the weight matrix written out, so no symbol is used before it is defined
            gradients.insert(0, {"name": "W", "symbol": m.notation.vector("W", k), "shape": r"%d \times %d" % w_shape,
                                 "formula": tex(weights), "label": None})
        return {
            "gradients": gradients,
            "columns": columns,
            "a_prev": m.notation.vector("a", k - 1),
            "a": m.notation.vector("a", k),
            "W": m.notation.vector("W", k),
            "W_next": m.notation.vector("W", k + 1) if not output else None,
            "gprime": m.notation.vector("gprime", k),
            "delta": tex(form.gradient("g_z").symbol),
            "jacobian": None if form.jacobian_symbol is None else tex(form.jacobian_symbol),
            "simplified": None if form.simplified is None else tex(form.simplified),
            "assumption": form.assumption,
            "shapes": {
                "a_prev": vector(layers[k - 1]),
                "W": r"%d \times %d" % w_shape,
                "z": vector(layers[k]),
            },
        }

    def first_neuron(self, k: int) -> dict:
        """The scalar derivation for the first neuron of layer k: ∂E/∂out from the next layer's
        deltas (proven here), then its delta and the gradient of a weight into it."""
        m, chain = self.model, self.d.chain
        delta = next(dl for dl in self.d.deltas if dl.neuron.layer == k and dl.neuron.index == 0)
        out, net = m.out[k][0], m.net[k][0]
        (term,) = delta.terms if len(delta.terms) == 1 else (delta.terms[0],)
        if delta.is_output:
            d_a = {"leibniz": self.tex(Partial(m.loss_symbol, out)), "value": self.tex(chain.factor(m.loss_symbol, out).shown),
                   "n_terms": 1}
        else:
            users = [user for user in chain.consumers[out]]
            upstream = sympy.Add(*(chain.factor(u, out).value * chain.delta(m.neuron_of[u]).symbol for u in users))
            self.prove(upstream.xreplace(self.expanded_deltas), self.upstream_truth(out),
                       f"∂{m.loss_symbol}/∂{out} as the sum over the next layer's deltas", "upstream")
            d_a = {
                "leibniz": self.tex(abbreviated(ordered_sum(Chain(Partial(u, out), Partial(m.loss_symbol, u)) for u in users))),
                "value": self.tex(abbreviated(ordered_sum(Chain(chain.factor(u, out).shown, chain.delta(m.neuron_of[u]).symbol) for u in users))),
                "n_terms": len(users),
            }
        weight = m.weights[k][0][0]
        return {
            "a": self.tex(out),
            "z": self.tex(net),
            "d_a": d_a,
            "partial_a": self.tex(Partial(m.loss_symbol, out)),
            "partial_z": self.tex(Partial(m.loss_symbol, net)),
            "local": self.tex(Partial(out, net)),
            "local_value": self.tex(chain.factor(out, net).shown),
            "delta": self.tex(delta.symbol),
            "weight_partial": self.tex(Partial(m.loss_symbol, weight)),
            "weight_local": self.tex(Partial(net, weight)),
            "weight_value": self.tex(chain.factor(net, weight).shown),
            "bias_partial": self.tex(Partial(m.loss_symbol, m.biases[k][0])) if m.biases else None,
            "mixes": m.activation(k).mixes,
            "n_inputs": m.spec.layers[k - 1],  # the weights into the neuron
        }

    def n_paths(self, k: int) -> int:
        """How many paths lead from a parameter of layer k to the error: one neuron of every later
        layer, and in a layer that mixes its neurons (softmax) any of its outputs after any net input."""
        m, layers = self.model, self.model.spec.layers
        mixing = math.prod(layers[j] for j in range(k, m.spec.depth + 1) if m.activation(j).mixes)
        return math.prod(layers[k + 1:]) * mixing

    def layer(self, k: int) -> dict:
        m, d = self.model, self.d
        gradients, shown, worked = layer_parameters(d, k, self.detail)
        concise = worked != shown
        deltas = [self.delta(delta) for delta in d.deltas if delta.neuron.layer == k]
        form = next(f for f in d.layers if f.layer == k)
        return {
            "number": k,
            "name": m.notation.layer(k),
            "previous_name": m.notation.layer(k - 1),
            "is_output": k == m.spec.depth,
            "size": m.spec.layers[k],
            "n_next": m.spec.layers[k + 1] if k < m.spec.depth else None,  # neurons its outputs feed
            "n_paths": self.n_paths(k),
            "activation": m.activation(k).name,
            "deltas": {"items": deltas, "omitted": 0},
            "first_neuron": self.first_neuron(k),
            "matrix": self.matrix(form),
            "parameters": [self.parameter(g) for g in worked],
            "concise": concise,
            "summary": [dict(self.compact(g, g in worked), latex=self.tex(g.parameter.symbol), symbol=g.parameter.symbol.name,
                             source=self.label(g.parameter.source) if g.parameter.source else None,
                             target=self.label(g.parameter.target)) for g in shown] if concise else None,
            "summary_paths": sum(1 for g in shown if g.paths is not None),
            # the marks are explained in the first block, the next layer's unless that one has none
            "summary_explained": k < m.spec.depth and layer_parameters(d, k + 1, self.detail)[1] != layer_parameters(d, k + 1, self.detail)[2],
            "n_parameters": len(gradients),
            "n_omitted": len(gradients) - len(shown),
        }

    def batch(self) -> Optional[dict]:
        """The mini-batch section: the mean loss, and per layer dZ, dW, db with their shapes."""
        d, m = self.d, self.model
        if d.batch is None:
            return None
        form, check = d.batch, d.batch_check
        names = {**self.names, **dict(form.names)}
        columns = form.columns
        tex = lambda expr: to_latex(expr, names, hadamard=r"\odot" if columns else r"\circ")  # noqa: E731
        notation, depth = m.notation, m.spec.depth
        layers = []
        for layer in form.layers:
            k = layer.layer
            layers.append({
                "number": k,
                "is_output": k == depth,
                "gradients": [{"symbol": tex(g.symbol), "formula": tex(g.formula), "shape": r"%d \times %d" % g.shape}
                              for g in layer.gradients],
                "assumption": layer.assumption,
            })
        return {
            "size": form.size,
            "columns": columns,
            "loss": tex(m.loss_symbol),
            "loss_i": f"{{{self.tex(m.loss_symbol)}}}^{{(i)}}",
            "A": notation.batch("A", 0),
            "A_out": notation.batch("A", depth),
            "Y": notation.batch("Y", depth),
            "dZ": notation.batch("dZ", depth),
            "input_shape": r"%d \times %d" % ((m.spec.layers[0], form.size) if columns else (form.size, m.spec.layers[0])),
            "layers": layers,
            "lines": [g for layer in layers for g in layer["gradients"]],
            "entries_proven": check.entries_proven,
            "symbolic": check.symbolic,
            "n_parameters": check.n_parameters,
            "error_below": error_bound(check.max_rel_error),
            "points": check.points,
        }

    def notation_examples(self) -> list[str]:
        """Names that show the notation: the network's own (out_{d_1}, w_{31}) in letters, else the pattern."""
        m, depth = self.model, self.model.spec.depth
        if self.d.spec.notation == "neurons":
            return [self.tex(m.out[depth][0]), self.tex(m.weights[depth][0][0])]
        return list(NOTATION_EXAMPLES[self.d.spec.notation])

    def build(self, title: Optional[str], source_note: Optional[dict] = None) -> dict:
        d, m, spec = self.d, self.model, self.d.spec
        verification = d.verification
        out = m.out[spec.depth][0]
        names = [{"name": m.notation.layer(k), "layer": k, "size": size} for k, size in enumerate(spec.layers)]
        gradients = d.gradients
        computed = range(1, spec.depth + 1)
        return {
            "title": title or f"Backpropagation for a {spec.text} network",
            "spec": spec.text,
            "notation_name": spec.notation,
            "layers": list(spec.layers),
            "depth": spec.depth,
            "description": describe_layers(spec.layers),
            "activations": list(dict.fromkeys(spec.activations)),
            "loss_name": spec.loss,
            "loss_title": m.loss_function.title,
            "bias": spec.bias,
            "detail": self.detail,
            "notation": NOTATION_NAMES.get(spec.notation, spec.notation),
            "notation_examples": self.notation_examples(),
            "n_outputs": spec.layers[-1],
            "layer_names": names,
            "n_parameters": len(gradients),
            "n_all_parameters": spec.n_parameters,
            "n_weights": sum(1 for g in gradients if g.parameter.kind == "weight"),
            "n_biases": sum(1 for g in gradients if g.parameter.kind == "bias"),
            "max_paths": max((g.n_paths for g in gradients), default=1),
            "selected": d.selected,
            "loss_symbol": self.tex(m.loss_symbol),
            "loss": self.tex(abbreviated(m.loss_function.total_display(m.out[-1], m.targets))),
            "targets_sum_to_one": m.loss_function.targets_sum_to_one,
            "forward": [self.forward(k) for k in computed],
            "local": {
                "d_loss": self.tex(Partial(m.loss_symbol, out)),
                "d_loss_value": self.tex(d.chain.factor(m.loss_symbol, out).shown),
                "activations": [
                    dict(self.activation(k), layers=[j for j in computed if spec.activations[j - 1] == spec.activations[k - 1]])
                    for k in computed
                    if spec.activations[k - 1] not in spec.activations[k:]  # one entry per activation, its last layer
                ],
                "net_weight": self.tex(Partial(m.net[spec.depth][0], m.weights[spec.depth][0][0])),
                "net_weight_value": self.tex(m.out[spec.depth - 1][0]),
            },
            "layers_back": [self.layer(k) for k in range(spec.depth, 0, -1)],
            "abbreviated": max(spec.layers) > MAX_TERMS,
            "max_terms": MAX_TERMS,
            "tikz_network": to_tikz(network_diagram(d)),
            "tikz_libraries": ",".join(TIKZ_LIBRARIES),
            "svg_network": NETWORK_SVG if self.figures else None,
            "verification": {
                "symbolic": verification.symbolic,
                "skipped_on_request": verification.proof == "numeric",  # else skipped for the network's size
                "points": verification.points,
                "seed": verification.seed,
                "tolerance": f"{verification.tolerance:.0e}",
                "error_below": error_bound(verification.max_rel_error),
                "factors_proven": verification.factors_proven,
                "matrix_entries_proven": verification.matrix_entries_proven,
                "simplifications_proven": verification.simplifications_proven,
                "simplified_deltas": sum(1 for delta in d.deltas if delta.simplification is not None),
                "n_symbolic": sum(1 for g in gradients if verification.method(g.parameter.symbol) == "symbolic"),
                # who took the derivative the proofs compare with: "SymPy", "SymEngine", or "SymEngine+abs"
                "truth": verification.truth,
                "n_unproven": len(verification.unproven),
                "steps_proven": sum(self.steps_proven.values()),  # counted while the layers above were built
                "steps_upstream": self.steps_proven["upstream"],
                "steps_factoring": self.steps_proven["factoring"],
                "unproven_reasons": sorted({UNPROVEN[r] for r in verification.unproven.values()}),
            },
            "batch": self.batch(),
            "source_note": source_note_context(source_note),
            "version": __version__,
        }


def sum_chunks(derivation: Derivation, terms) -> list[tuple[str, list[str]]]:
    """A sum of products (e.g. a gradient's path products) as ``broken``'s chunks, printed in the
    derivation's notation: one per term, its factors one by one (for rows of another width)."""
    return _Context(derivation).chunks(terms)


def context(derivation: Derivation, title: Optional[str] = None, figures: bool = False,
            source_note: Optional[dict] = None, detail: str = DEFAULT_DETAIL) -> dict:
    """The data the templates lay out (all mathematics already printed as LaTeX); with
    ``figures`` the Markdown links the SVG diagrams that ``write_outputs`` writes beside it; with
    ``source_note`` (see ``source_note_context``) the handout ends with "About the source";
    ``detail`` is "concise" (one parameter per layer worked in full) or "full" (every one)."""
    _require_full_derivation(derivation)
    return _Context(derivation, figures, detail).build(title, source_note)


def _require_full_derivation(derivation: Derivation) -> None:
    """Refuse a derivation made with ``proof="gradients"`` or ``"none"`` (verify's): it has no matrix forms to show."""
    if not derivation.layers:
        raise ValueError("this derivation was made with proof='gradients' or 'none' (no matrix forms were built): "
                         "derive it with proof='auto', 'symbolic' or 'numeric' to write a handout")


def _render(kind: str, data: dict) -> str:
    return environment(kind).get_template(f"derivation.{kind}.j2").render(data)


def render_markdown(derivation: Derivation, title: Optional[str] = None, source_note: Optional[dict] = None,
                    detail: str = DEFAULT_DETAIL) -> str:
    """derivation.md: the handout for GitHub (math in $$ blocks, MathJax macros only); ``detail``
    "full" works every parameter in its own section."""
    return _render("md", context(derivation, title, source_note=source_note, detail=detail))


def render_notebook_latex(derivation: Derivation) -> str:
    """The derivation in one display (Jupyter's ``_repr_latex_``): per layer, the first delta and the matrix form."""
    return _render_template("notebook.tex.j2", "tex", context(derivation))


def _render_template(name: str, kind: str, data: dict) -> str:
    return environment(kind).get_template(name).render(data)


def render_latex(derivation: Derivation, title: Optional[str] = None, source_note: Optional[dict] = None,
                 detail: str = DEFAULT_DETAIL) -> str:
    """derivation.tex: the handout as a standalone amsmath article for pdflatex (``detail`` as for Markdown)."""
    return _render("tex", context(derivation, title, source_note=source_note, detail=detail))


# -- HTML: the handout's content with the interactive drawing (see symbackprop.handout.html) -----
PANEL_WIDTH = 46.0  # letter widths of a row in the page's side panel (``printed_width``), half the text's


def _route(model, gradient) -> str:
    p = gradient.parameter
    paths = "one path" if gradient.n_paths == 1 else f"{gradient.n_paths} paths"
    if p.source is not None:
        return f"Weight from ${model.label(p.source)}$ to ${model.label(p.target)}$; {paths} to the outputs"
    owners = ", ".join(f"${model.label(n)}$" for n in p.shared) if p.shared else f"${model.label(p.target)}$"
    return f"Bias {'shared by' if p.shared else 'of'} {owners}; {paths} to the outputs"


def aligned(lhs: str, rows: list[str]) -> str:
    r"""``lhs = `` and the rows of ``render.broken`` as one aligned display.

    >>> print(aligned("E", ["a", "+ b"]))
    \begin{aligned}&E = a \\
    &+ b\end{aligned}
    """
    return r"\begin{aligned}&" + lhs + " = " + " \\\\\n&".join(rows) + r"\end{aligned}"


def page_data(derivation: Derivation, data: dict) -> dict:
    """What the page's script needs: per parameter shown, its gradient (path sum and delta form,
    printed by SymPy) and its paths; per neuron, its net input, output and delta."""
    from .html import caption_parts, parameter_entry

    d, m = derivation, derivation.model
    names = {**m.latex_names, DOTS: r"\cdots"}
    tex = lambda expr: to_latex(expr, names)  # noqa: E731
    worked = {p["symbol"] for layer in data["layers_back"] for p in layer["parameters"]}
    checks = {"symbolic": "proven symbolically and checked numerically", "numeric": "checked numerically"}
    parameters = []
    for k in range(d.spec.depth, 0, -1):
        for g in layer_parameters(d, k, data["detail"])[1]:
            symbol, lhs = g.parameter.symbol, tex(Partial(m.loss_symbol, g.parameter.symbol))
            rows = [] if g.paths is None else [aligned(lhs, broken(lhs, sum_chunks(d, [path.product for path in g.paths]),
                                                                   PANEL_WIDTH))]
            rows.append(f"{lhs} = {tex(g.delta_form)}")
            section = f"p-{symbol.name}" if symbol.name in worked else f"s-{symbol.name}"
            caption = f"{_route(m, g)}; {checks[d.verification.method(symbol)]}."
            parameters.append(parameter_entry(d, g, rows, section, caption))
    neurons = {}
    deltas = {(delta.neuron.layer, delta.neuron.index): delta for delta in d.deltas}
    for k, size in enumerate(d.spec.layers):
        for j in range(size):
            rows = []
            if k > 0:
                net, out = m.net[k][j], m.out[k][j]
                rows = [f"{tex(net)} = {tex(abbreviated(ordered_sum(m.net_terms(k, j))))}",
                        f"{tex(out)} = {tex(abbreviated(m.definitions[out]))}"]
                if (k, j) in deltas:
                    rows.append(f"{tex(deltas[(k, j)].symbol)} = {tex(abbreviated(deltas[(k, j)].recursion))}")
            neuron = m.neurons(k)[j]
            caption = f"Input {j + 1}: its output is the input itself." if k == 0 else \
                f"Neuron {j + 1} of layer {k}: its net input, output and delta."
            neurons[f"{k},{j}"] = {"label": m.label(neuron), "rows": rows, "caption": caption_parts(caption),
                                   "section": f"layer-{k}" if k else "network"}
    return {"page": "derivation", "spec": d.spec.text, "parameters": parameters, "neurons": neurons}


def render_html(derivation: Derivation, title: Optional[str] = None, source_note: Optional[dict] = None,
                detail: str = DEFAULT_DETAIL, data: Optional[dict] = None) -> str:
    """derivation.html: the handout's content (``context``, or ``data`` already built) with the
    interactive network (``symbackprop.handout.html``); it needs ``html.page_files()`` beside it."""
    from .html import render_page

    data = data if data is not None else context(derivation, title, source_note=source_note, detail=detail)
    drawing = to_svg(network_diagram(derivation), interactive=True)
    payload = page_data(derivation, data)
    shown = payload["parameters"]  # the search box's example: a hidden weight, as the text names it
    hint = next((p["latex"] for p in shown if p["key"].startswith(f"{max(1, derivation.spec.depth - 1)},")),
                shown[0]["latex"] if shown else "")
    return render_page(template_dir(), "derivation.html.j2", data, payload, drawing, hint)


# -- JSON -----------------------------------------------------------------------------------
def text(expr: sympy.Basic, printer: Optional[StrPrinter] = None) -> str:
    """``str()`` of an expression as derivation.json writes it, terms in SymPy's stored order
    (sorting the 784 terms of a net input for printing costs more than deriving it); ``printer``,
    a ``text_printer()``, for many expressions of one document.

    >>> text(sympy.Symbol("x") * 2 + 1)
    '1 + 2*x'
    """
    plain = _plain_text(expr)
    return plain if plain is not None else (printer or _TextPrinter({"order": "none"})).doprint(expr)


def text_printer() -> StrPrinter:
    """The printer ``text`` uses, for many expressions: each distinct subexpression printed once."""
    return _RememberingText({"order": "none"})


class _TextPrinter(StrPrinter):
    """``sympy.sstr``'s printer, with sums and products of plain symbols inside an expression (the
    Σ_k δ_k w_jk of a hidden delta) joined by ``_plain_text`` instead of term by term: the same text."""

    def _print_Add(self, expr, order=None):
        plain = _plain_text(expr) if order is None else None
        return plain if plain is not None else super()._print_Add(expr, order=order)

    def _print_Mul(self, expr):
        plain = _plain_product(expr)
        return plain if plain is not None else super()._print_Mul(expr)


class _RememberingText(Remembering, _TextPrinter):
    """``_TextPrinter`` for one document's expressions (``Remembering``)."""


def _plain_product(expr: sympy.Basic) -> Optional[str]:
    """sstr of a symbol or a product of symbols (δ_j·out_i), joined directly; None for anything else."""
    if type(expr) is sympy.Symbol:
        return expr.name
    if expr.is_Mul and all(type(a) is sympy.Symbol for a in expr.args):
        return "*".join(a.name for a in expr.args)
    return None


def _plain_text(expr: sympy.Basic) -> Optional[str]:
    """What ``sympy.sstr(expr, order="none")`` prints, built directly for the expressions a big
    network has one of per weight (δ_j*out_i, and net inputs out_1*w_11 + out_2*w_12 + ...); None
    for anything else, which SymPy's printer prints.

    >>> x, y, z = sympy.symbols("x y z")
    >>> _plain_text(x * y + z), _plain_text(x * y + z) == sympy.sstr(x * y + z, order="none"), _plain_text(2 * x)
    ('z + x*y', True, None)
    """
    if not isinstance(expr, sympy.Basic):
        return None
    if expr.is_Add:
        parts = [_plain_product(term) for term in expr.args]
        if any(part is None or part.startswith("-") for part in parts):
            return None
        return " + ".join(parts)
    return _plain_product(expr)


def _position(neuron) -> Optional[list[int]]:
    """[layer, neuron] with neurons counted from 1, as derivation.json writes it."""
    return None if neuron is None else [neuron.layer, neuron.index + 1]


def derivation_json(derivation: Derivation, progress: Progress = None) -> dict:
    """The machine-readable result (the schema is documented in the README)."""
    _require_full_derivation(derivation)
    d, m, spec = derivation, derivation.model, derivation.spec
    names = lambda symbols: [s.name for s in symbols]  # noqa: E731
    printer = text_printer()
    printed = lambda expr: text(expr, printer)  # noqa: E731  (each distinct subexpression printed once)

    definitions = {symbol.name: printed(expr) for symbol, expr in m.definitions.items()}
    definitions.update({delta.symbol.name: printed(delta.definition) for delta in d.deltas})
    definitions[m.loss_symbol.name] = printed(m.loss)
    parameters = []
    for done, gradient in enumerate(d.gradients, start=1):
        if progress and (done % 500 == 0 or done == len(d.gradients)):
            progress("derivation.json", done, len(d.gradients))
        p = gradient.parameter
        checks = d.verification.checks[p.symbol]
        delta_form = printed(gradient.delta_value)  # also the chain rule's form where paths are not written out
        verified = d.verification.method(p.symbol)
        parameters.append(
            {
                "symbol": p.symbol.name,
                "latex": m.latex_names[p.symbol],
                "kind": p.kind,
                "from": _position(p.source),
                "to": _position(p.target),
                "paths": gradient.n_paths,
                "chain_rule": delta_form if gradient.paths is None else printed(gradient.chain_rule),
                "form": "path_sum" if gradient.paths is not None else "delta",
                "delta_form": delta_form,
                "path_terms": None if gradient.paths is None else [printed(path.value) for path in gradient.paths],
                "verified": verified,
                "symbolic_proof": _symbolic_proof(d.verification, p.symbol, verified),
                "rel_error_below": float(error_bound(max(c.max_rel_error for c in checks.values()))),
            }
        )
    deltas = {
        delta.symbol.name: {
            "definition": printed(delta.definition),
            "simplified": [printed(step) for step in delta.simplification.steps] if delta.simplification else None,
            "assumption": delta.simplification.assumption if delta.simplification else None,
        }
        for delta in d.deltas
    }
    return {
        "spec": spec.text,
        "layers": list(spec.layers),
        "activations": list(spec.activations),
        "loss": spec.loss,
        "bias": spec.bias,
        "notation": spec.notation,
        "primary": {
            "inputs": names(m.inputs),
            "targets": names(m.targets),
            "weights": [[names(row) for row in m.weights[k]] for k in range(1, spec.depth + 1)],
            "biases": [names(m.biases[k]) for k in range(1, spec.depth + 1)] if m.biases else None,
        },
        "loss_symbol": m.loss_symbol.name,
        "definitions": definitions,
        "deltas": deltas,
        "parameters": parameters,
        "matrix_form": [_layer_json(form, {**m.latex_names, **dict(form.names)}) for form in d.layers],
        "batch": spec.batch,
        "batch_form": _batch_json(d) if d.batch is not None else None,
        "verification": {
            "symbolic": d.verification.symbolic,
            "points": d.verification.points,
            "seed": d.verification.seed,
            "tolerance": d.verification.tolerance,
            "local_factors_proven": d.verification.factors_proven,
        },
        "generator": f"symbackprop {__version__}",
    }


def _symbolic_proof(verification, symbol, method: Optional[str] = None) -> Optional[str]:
    """"proven", "inconclusive" or "timeout" (see ``verify.UNPROVEN``), or None when not attempted;
    ``method`` is ``verification.method(symbol)`` when it is known already."""
    if symbol in verification.unproven:
        return verification.unproven[symbol]
    return "proven" if (method or verification.method(symbol)) == "symbolic" else None


def _layer_json(form: LayerForm, names) -> dict:
    """One layer's vectorized results: each formula in LaTeX and as explicit entries, with its shape."""
    hadamard = r"\odot" if form.gradients[0].columns else r"\circ"
    return {
        "layer": form.layer,
        "activation": form.activation,
        "gradients": {
            g.name: {
                "symbol": to_latex(g.symbol, names),
                "latex": to_latex(g.formula, names, hadamard=hadamard),
                "shape": list(g.shape),
                "entries": [[text(entry) for entry in row] for row in g.entries.tolist()],
            }
            for g in form.gradients
        },
        "simplified": None if form.simplified is None else to_latex(form.simplified, names),
        "assumption": form.assumption,
    }


def _batch_json(derivation: Derivation) -> dict:
    """The mini-batch equations: per layer each formula in LaTeX with its shape, and how they were checked."""
    form, check = derivation.batch, derivation.batch_check
    names = {**derivation.model.latex_names, **dict(form.names)}
    hadamard = r"\odot" if form.columns else r"\circ"
    return {
        "samples": form.size,
        "layout": "one column per sample" if form.columns else "one row per sample",
        "loss": "mean of the samples' losses",
        "layers": [
            {
                "layer": layer.layer,
                "gradients": {g.name: {"symbol": to_latex(g.symbol, names), "latex": to_latex(g.formula, names, hadamard=hadamard),
                                       "shape": list(g.shape)} for g in layer.gradients},
                "assumption": layer.assumption,
            }
            for layer in form.layers
        ],
        "verification": {"entries_proven": check.entries_proven, "rel_error_below": float(error_bound(check.max_rel_error)),
                         "points": check.points, "symbolic": check.symbolic},
    }


def render_json(derivation: Derivation, progress: Progress = None) -> str:
    """derivation.json's text: ``json_text`` of ``derivation_json``."""
    return json_text(derivation_json(derivation, progress)) + "\n"


def json_text(value, indent: str = "") -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, the same text, about three times as fast
    (the standard encoder is pure Python once it indents, and derivation.json of 784-128-64-10 has
    109,184 parameters).

    >>> json_text({"a": [1, 2.5, None], "b": {}, "c": "x"}) == json.dumps({"a": [1, 2.5, None], "b": {}, "c": "x"}, indent=2)
    True
    """
    parts: list[str] = []
    _encode(value, parts, indent)
    return "".join(parts)


_ESCAPE = json.encoder.encode_basestring  # the C escaper where there is one, as json.dumps uses


def _json_float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _json_key(key) -> str:
    if isinstance(key, str):
        return _ESCAPE(key)
    if key is True or key is False or key is None:
        return _ESCAPE(json.dumps(key))
    if isinstance(key, float):
        return _ESCAPE(_json_float(key))
    if isinstance(key, int):
        return _ESCAPE(int.__repr__(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _encode(value, parts: list[str], indent: str, prefixes: Optional[dict] = None) -> None:
    """``json_text``'s recursion: ``value`` appended to ``parts``, nested ``indent`` deep. Strings,
    whole numbers and nulls inside a list or an object are written in its loop, and each object
    key's line start (",\n", the indent, the quoted key) is made once (``prefixes``): the
    parameters of a big network repeat the same keys a hundred thousand times."""
    prefixes = {} if prefixes is None else prefixes
    if isinstance(value, str):
        parts.append(_ESCAPE(value))
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float):
        parts.append(_json_float(value))
    elif isinstance(value, (list, tuple, dict)):
        is_dict = isinstance(value, dict)
        if not value:
            parts.append("{}" if is_dict else "[]")
            return
        inner = indent + "  "
        append = parts.append
        first = True
        for key, item in value.items() if is_dict else zip(_NO_KEYS, value):
            lead = prefixes.get((first, inner, key, is_dict))
            if lead is None:
                lead = (("{" if is_dict else "[") if first else ",") + "\n" + inner + (_json_key(key) + ": " if is_dict else "")
                prefixes[(first, inner, key, is_dict)] = lead
            first = False
            kind = type(item)
            if kind is str:
                append(lead + _ESCAPE(item))
            elif kind is int:
                append(lead + int.__repr__(item))
            elif item is None:
                append(lead + "null")
            else:
                append(lead)
                _encode(item, parts, inner, prefixes)
        append("\n" + indent + ("}" if is_dict else "]"))
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_NO_KEYS = itertools.repeat(None)  # a list's items, paired with no key


# -- files ----------------------------------------------------------------------------------
# Every file of a run goes through one Batch (symbackprop.handout.files): all are written to
# temporaries first and renamed only when every one was written, so a full disk or a LaTeX error
# leaves the previous files as they were, and derivation.md never links an SVG that is missing.
def compile_pdf(tex: str, name: str) -> bytes:
    """The PDF the LaTeX text ``tex`` compiles to (see ``symbackprop.handout.pdf``), built in a
    temporary directory; ``name`` (e.g. "derivation.pdf") names the document in LaTeX's errors."""
    from .pdf import build_pdf

    with tempfile.TemporaryDirectory(prefix="symbackprop-") as work:
        source = Path(work) / Path(name).with_suffix(".tex").name
        source.write_text(tex, encoding="utf-8")
        return build_pdf(source).read_bytes()


def write_pdf(tex: str, path: Path) -> Path:
    """Compile the LaTeX text ``tex`` into the PDF ``path`` (replaced only whole, see ``write_atomic``)."""
    path = Path(path)
    write_atomic(path, compile_pdf(tex, path.name))
    return path


def document_files(stem: str, formats: Iterable[str], render) -> list[tuple[str, Union[str, bytes]]]:
    """stem.md / stem.tex / stem.pdf for the requested formats, as (name, content) pairs;
    ``render(kind)`` gives md or tex text."""
    formats = list(formats)
    files = [(f"{stem}.{fmt}", render(fmt)) for fmt in formats if fmt in ("md", "tex")]
    if "pdf" in formats:
        files.append((f"{stem}.pdf", compile_pdf(render("tex"), f"{stem}.pdf")))
    return files


def write_documents(directory: Path, stem: str, formats: list[str], render, batch: Optional[Batch] = None) -> list[Path]:
    """``document_files``, written.

    With ``batch`` (a ``Batch`` in ``directory``) the files join that run's batch; without, they
    are one batch of their own: all are in place when this returns, or none is.
    """
    if batch is None:
        with Batch(directory) as own:
            return write_documents(directory, stem, formats, render, own)
    return [batch.add(name, content) for name, content in document_files(stem, formats, render)]


def render_outputs(
    derivation: Derivation, formats: Iterable[str], title: Optional[str] = None,
    progress: Progress = None, source_note: Optional[dict] = None, detail: str = DEFAULT_DETAIL,
) -> list[tuple[str, Union[str, bytes]]]:
    """Every file ``write_outputs`` writes, rendered but not written: (name, content) pairs, each
    diagram and asset before the page that needs it. The ``derive`` command renders while its
    symbolic proofs still run in forked children, and writes once they are in."""
    formats = list(formats)
    data = (context(derivation, title, figures="md" in formats, source_note=source_note, detail=detail)
            if {"md", "tex", "pdf", "html"} & set(formats) else None)
    files = svg_files(derivation, detail) if "md" in formats else []  # in place before the md that links them
    files += document_files("derivation", formats, lambda kind: _render(kind, data))
    if "json" in formats:
        files.append(("derivation.json", render_json(derivation, progress)))
    if "html" in formats:  # the page and, before it, KaTeX and its script (see handout.html)
        from .html import with_page_files

        files += with_page_files({"derivation.html": render_html(derivation, data=data)})
    return files


def write_rendered(directory: Path, files: list[tuple[str, Union[str, bytes]]]) -> list[Path]:
    """Write ``render_outputs``'s files into ``directory``, all or none, in their order; returns the
    documents' paths first (md, tex, pdf, json, html), then the diagrams' and assets'."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with Batch(directory) as batch:
        paths = [batch.add(name, content) for name, content in files]
    documents = [path for path in paths if path.name.startswith("derivation.")]
    return documents + [path for path in paths if not path.name.startswith("derivation.")]


def write_outputs(
    derivation: Derivation, directory: Path, formats: Iterable[str], title: Optional[str] = None,
    progress: Progress = None, source_note: Optional[dict] = None, detail: str = DEFAULT_DETAIL,
) -> list[Path]:
    """Write derivation.<format> for each format (md, tex, pdf, json, html) into ``directory``, the
    SVG diagrams beside derivation.md and KaTeX beside derivation.html, all or none; ``progress(stage, done, total)`` hears of long
    JSON writing; ``source_note`` adds "About the source" (see ``source_note_context``); ``detail``
    "full" works every parameter in its own section (default "concise": one per layer)."""
    return write_rendered(directory, render_outputs(derivation, formats, title, progress, source_note, detail))


def write_exercise(derivation: Derivation, directory: Path, formats: Iterable[str], seed: int = 0,
                   title: Optional[str] = None) -> list[Path]:
    """An exercise sheet and its answer key (exercise.* and solutions.*) in md, tex and pdf, with
    json the answer key for programs (solutions.json: the tasks and every value), with html the two
    pages and KaTeX beside them; ``title`` (``--title``, else ``exercise.sheet_title``'s) heads every
    sheet; all or none."""
    from .exercise import add_exercise_pages, exercise_context, exercise_svgs, sheet_title

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    data = exercise_context(derivation, seed)
    data["title"] = sheet_title(data, title)  # escaped by each template
    written = []
    with Batch(directory) as batch:
        pages = add_exercise_pages(batch, derivation, template_dir(), seed, title) if "html" in formats else []
        if "md" in formats:  # the drawing exercise.md links, renamed before the md
            written += [batch.add(name, svg) for name, svg in exercise_svgs(derivation).items()]
        for stem, solutions in (("exercise", False), ("solutions", True)):
            render = lambda kind: environment(kind).get_template(f"exercise.{kind}.j2").render(  # noqa: E731
                dict(data, solutions=solutions)
            )
            written += write_documents(directory, stem, list(formats), render, batch)
        if "json" in formats:
            answers = {key: value for key, value in data.items() if key not in ("local", "local_partial", "figure")}
            written.append(batch.add("solutions.json", json.dumps(answers, indent=2, ensure_ascii=False) + "\n"))
    return written + pages


def svg_files(derivation: Derivation, detail: str = DEFAULT_DETAIL) -> list[tuple[str, str]]:
    """network.svg and, per parameter the handout works out (``layer_parameters``) whose paths
    are written out, network-<name>.svg: (name, SVG text) pairs."""
    worked = [g for k in range(derivation.spec.depth, 0, -1) for g in layer_parameters(derivation, k, detail)[2]]
    figures = [(NETWORK_SVG, network_diagram(derivation))]
    figures += [(svg_name(g), parameter_diagram(derivation, g)) for g in worked if g.paths is not None]
    return [(name, to_svg(diagram)) for name, diagram in figures]
