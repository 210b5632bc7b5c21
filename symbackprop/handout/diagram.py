"""The network drawn: a TikZ picture for derivation.tex and an SVG to put beside derivation.md.

A ``Diagram`` is plain data: layer sizes, a label per neuron (and optionally per weight), and
the backprop paths to highlight. ``layout`` places everything once, in centimetres with y
pointing down; ``to_tikz`` and ``to_svg`` only print that layout, so the two pictures agree.
The module needs nothing beyond the standard library and symbackprop.handout.escape, and its
output is deterministic: fixed decimals, no ids, no dates.

Rules a reader of the handout relies on:

* **Weight labels** are drawn only when ``weights`` is given; ``weight_labels_readable`` says
  when to give them: at most 30 weights, no layer wider than 6, and no two adjacent layers both
  wider than 4 (a drawn bias node counts as one more neuron of its layer; bias labels are not
  counted towards the 30). The labels of a layer gap stand in one column, each on its edge,
  evenly spaced (see ``_label_fraction``), on a white box that hides the lines behind it; neurons
  are spaced by the labels' real heights (W^{[1]}_{1,1} is taller than w_{11}) so that no two
  labels touch and an edge passing between two reads as a line, and layers so that no label
  touches a neuron.
* **Labels are typeset** from the notation's LaTeX names: letters italic, indices at 70 %, a
  superscript raised and a subscript lowered under it (``math_runs``; SVG <tspan>s with dx/dy).
* **Print size**: the picture is meant to be printed unscaled; its fonts are set in points
  (NEURON_PT, LABEL_PT, BIAS_PT), so the smallest glyph, an index, prints at MIN_PRINT_PT.
* **Elision**: a layer of more than 12 neurons shows its first 4, a vertical ellipsis and its
  last one (plus any neuron on a highlighted path, with an ellipsis wherever indices skip);
  edges are drawn only between shown neurons.
* **Arrow tips** (direction is always left to right) are drawn on every edge unless a layer is
  elided or a neuron has more than 6 drawn inputs; then, to keep the targets from disappearing
  under a heap of tips, only the emphasised edges have them.
* **Highlighting**: edges on the given paths are thick and blue, the highlighted weight is
  thicker and orange-red (its label framed), their neurons are emphasised, and all else is grey.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Optional

from .escape import latex_escape, xml_escape

# TikZ libraries the picture needs (the preamble loads them with \usetikzlibrary).
TIKZ_LIBRARIES = ("arrows.meta",)

BIAS = -1  # source index of a layer's bias node: weights[(k, BIAS, j)] labels the bias of neuron j
ELIDE_ABOVE = 12  # layers with more neurons are elided ...
ELIDE_HEAD = 4  # ... to their first ELIDE_HEAD neurons, an ellipsis and the last one
MAX_WEIGHT_LABELS = 30
MAX_LABELLED_WIDTH = 6
MAX_LABELLED_PAIR = 4

# Fonts, in TeX points at print size. The picture is printed unscaled, so an index (TeX's script
# size, 70 %) of a weight label is 7pt: the smallest text a reader has to read.
NEURON_PT = 10.95  # \normalsize of an 11pt document
LABEL_PT = 10.0  # \small of an 11pt document
BIAS_PT = 9.0  # the "1" of a bias node
MIN_PRINT_PT = 7.0  # no glyph of a label smaller than this at print size
SCRIPT = 0.7  # the size of an index, relative to its base (TeX's \scriptstyle)
SCRIPT_NESTED = 0.85  # an index of an index shrinks less, to stay legible


def _cm(points: float) -> float:
    return points / 72.27 * 2.54


# Layout, in centimetres (the SVG draws PX_PER_CM pixels per centimetre).
PX_PER_CM = 48
NEURON_FONT = _cm(NEURON_PT)
LABEL_FONT = _cm(LABEL_PT)
BIAS_FONT = _cm(BIAS_PT)
TITLE_FONT = 0.42
RADIUS_MIN = 0.38
BIAS_RADIUS = 0.24
LABEL_PAD = 0.8 / 72.27 * 2.54  # the white box's inner sep around a weight label (0.8pt)
LABEL_GAP = 0.16  # free room between two weight labels of one column: an edge passing between them reads as a line
SPACING_MIN, SPACING_MAX = 1.15, 2.4
GAP_MIN, GAP_MAX = 2.0, 3.0  # horizontal distance between layers, before labels ask for more
PICTURE_WIDTH = 14.0  # the gaps shrink towards GAP_MIN to keep deep nets within this width
LABEL_CLEARANCE = 0.4  # from a circle's border to the nearest weight label's centre, beyond its half width
MARGIN = 0.3
ARROW = 0.17  # arrow-tip length
TIPS_FAN_IN = 6  # more drawn inputs per neuron than this, or an elided layer: only emphasised edges get tips

# Colours (Okabe-Ito blue and vermillion read in colour-blind eyes and print as dark grey).
COLOURS = {
    "plain": "#4d4d4d",
    "dim": "#c4c4c4",
    "dim_text": "#666666",
    "path": "#0072b2",
    "path_fill": "#dbeaf6",
    "weight": "#d55e00",
    "bias_fill": "#eeeeee",
}
WIDTHS = {"plain": 0.6, "dim": 0.6, "path": 1.6, "weight": 2.2}  # line widths in pt


@dataclass(frozen=True)
class Label:
    """One name in two renderings: LaTeX math (trusted, from SymPy's printer) and plain text."""

    latex: str
    text: str


@dataclass(frozen=True)
class Diagram:
    """A fully-connected network to draw; neurons[layer][index], weights[(k, i, j)] for i → j.

    ``highlight`` holds paths of (layer, index) neurons, each stepping one layer to the right;
    ``highlight_weight`` is the weight (k, i, j) whose paths they are (i = BIAS for a bias).
    """

    layers: tuple[int, ...]
    neurons: tuple[tuple[Label, ...], ...]
    weights: Optional[Mapping[tuple[int, int, int], Label]]
    highlight: tuple[tuple[tuple[int, int], ...], ...] = ()
    highlight_weight: Optional[tuple[int, int, int]] = None
    biases: bool = False
    title: Optional[str] = None

    def __post_init__(self):
        if len(self.layers) < 2 or any(n < 1 for n in self.layers):
            raise ValueError(f"a network needs at least two layers of at least one neuron: {self.layers}")
        if tuple(len(row) for row in self.neurons) != tuple(self.layers):
            raise ValueError("neurons must hold one label per neuron of every layer")
        for path in self.highlight:
            for neuron in path:
                self._check_neuron(neuron)
            for (k, _), (k2, _) in zip(path, path[1:]):
                if k2 != k + 1:
                    raise ValueError(f"a highlighted path must step one layer to the right: {path}")
        if self.highlight_weight is not None:
            self._check_weight(self.highlight_weight)
        for key in self.weights or {}:
            self._check_weight(key)

    def _check_neuron(self, neuron):
        layer, index = neuron
        if not (0 <= layer < len(self.layers) and 0 <= index < self.layers[layer]):
            raise ValueError(f"no neuron {neuron} in a {self.layers} network")

    def _check_weight(self, weight):
        k, i, j = weight
        if not 1 <= k < len(self.layers):
            raise ValueError(f"no weight {weight}: layers of weights are 1..{len(self.layers) - 1}")
        if i == BIAS and not self.biases:
            raise ValueError(f"weight {weight} is a bias, but the diagram draws no biases")
        if i != BIAS:
            self._check_neuron((k - 1, i))
        self._check_neuron((k, j))


# -- rules ----------------------------------------------------------------------------------
def weight_labels_readable(layers: Iterable[int], biases: bool = False) -> bool:
    """Whether every weight can be labelled legibly (the module docstring has the rule).

    >>> weight_labels_readable((2, 4, 3, 2)), weight_labels_readable((784, 30, 10))
    (True, False)
    """
    layers = tuple(layers)
    weights = sum(a * b for a, b in zip(layers, layers[1:]))
    pairs_narrow = all(min(a + biases, b) <= MAX_LABELLED_PAIR for a, b in zip(layers, layers[1:]))
    return weights <= MAX_WEIGHT_LABELS and max(layers) <= MAX_LABELLED_WIDTH and pairs_narrow


def shown_neurons(size: int, keep: Iterable[int] = ()) -> tuple[Optional[int], ...]:
    """The indices drawn for a layer of ``size`` neurons, top to bottom; None is an ellipsis.

    >>> shown_neurons(3), shown_neurons(784), shown_neurons(30, keep=[9])
    ((0, 1, 2), (0, 1, 2, 3, None, 783), (0, 1, 2, 3, None, 9, None, 29))
    """
    if size <= ELIDE_ABOVE:
        return tuple(range(size))
    indices = sorted(set(range(ELIDE_HEAD)) | {size - 1} | {i for i in keep if 0 <= i < size})
    slots: list[Optional[int]] = []
    for index in indices:
        if slots and index != slots[-1] + 1:
            slots.append(None)
        slots.append(index)
    return tuple(slots)


def weight_paths(layers: Iterable[int], weight: tuple[int, int, int]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Every path by which weight (k, i, j) reaches the outputs, from its source neuron on.

    For a bias (i = BIAS) the paths start at the target. Seed 000's w_21 in 2-4-3-2:

    >>> weight_paths((2, 4, 3, 2), (2, 0, 0))
    (((1, 0), (2, 0), (3, 0)), ((1, 0), (2, 0), (3, 1)))
    """
    layers = tuple(layers)
    k, i, j = weight
    paths: list[tuple[tuple[int, int], ...]] = [((k - 1, i), (k, j)) if i != BIAS else ((k, j),)]
    for layer in range(k + 1, len(layers)):
        paths = [path + ((layer, n),) for path in paths for n in range(layers[layer])]
    return tuple(paths)


# -- layout ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """A drawn circle: a neuron (layer, index) or a bias node (layer, BIAS); style plain/path/dim."""

    key: tuple[int, int]
    x: float
    y: float
    r: float
    label: Label
    style: str


@dataclass(frozen=True)
class Edge:
    """A drawn weight: source → target, style plain/dim/path/weight, label and its centre (or None)."""

    weight: tuple[int, int, int]
    source: Node
    target: Node
    style: str
    label: Optional[Label]
    label_at: Optional[tuple[float, float]]
    tip: bool = True


@dataclass(frozen=True)
class Layout:
    """Everything placed, in cm, y down, inside a width × height box; title baseline at title_y."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    ellipses: tuple[tuple[float, float], ...]
    width: float
    height: float
    title_y: float


# -- math labels ----------------------------------------------------------------------------
# A label is the notation's LaTeX name (w_{31}, a^{[0]}_{1}, \mathrm{out}_{d_1}, \hat{y}_{1},
# W^{[2]}_{1,3}). ``math_runs`` reads that small subset of LaTeX into runs of text, each placed
# as TeX places it: letters italic, indices smaller, a superscript raised and a subscript lowered,
# and the two stacked when both are given. SVG prints the runs as <tspan>s (``svg_math``); the
# layout measures them (``text_width``, ``text_height``), so both agree with the picture.
SUP_RISE, SUB_DROP, SUB_DROP_BOTH = 0.42, 0.2, 0.28  # in units of the base's size, as TeX about does
ASCENT, DESCENT = 0.72, 0.22  # of a run, in units of its size

_SYMBOLS = {  # commands that print one character
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ",
    "lambda": "λ", "mu": "μ", "sigma": "σ", "tau": "τ", "phi": "φ", "psi": "ψ", "omega": "ω",
    "Delta": "Δ", "Sigma": "Σ", "cdot": "·", "ldots": "…", "cdots": "⋯", ",": " ", ";": " ", " ": " ",
}
_UPRIGHT = {"mathrm", "text", "textrm", "operatorname", "mathbf", "boldsymbol"}  # their argument is set upright
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|.", re.DOTALL)


@dataclass(frozen=True)
class Run:
    """A piece of a label: its text, size (1 = the label's font), rise (up, in label font units),
    x (its start, in label font units) and whether it is set in italic."""

    text: str
    size: float
    rise: float
    x: float
    italic: bool


def _char_width(c: str) -> float:
    """A character's advance in a Times-like serif, in units of its size."""
    if c in "WM":
        return 0.95
    if c in "mw%&":
        return 0.75
    if c in "il.,;:!|' []()":
        return 0.3
    if c.isdigit():
        return 0.5
    return 0.68 if c.isupper() else 0.5


def _parse(tokens: list, size: float, upright: bool, depth: int) -> tuple[list, float]:
    """Runs (relative to x = 0, rise = 0) of tokens up to a closing brace, and their width."""
    runs: list[Run] = []
    x = 0.0
    while tokens and tokens[0] != "}":
        base, width = _atom(tokens, size, upright, depth)
        scripts = {}
        while tokens and tokens[0] in ("^", "_") and tokens[0] not in scripts:
            mark = tokens.pop(0)
            smaller = size * (SCRIPT if depth == 0 else SCRIPT_NESTED)
            scripts[mark] = _atom(tokens, smaller, upright, depth + 1)
        runs += [Run(r.text, r.size, r.rise, r.x + x, r.italic) for r in base]
        x += width
        extent = 0.0
        for mark, (script, script_width) in sorted(scripts.items()):  # "^" before "_"
            rise = SUP_RISE * size if mark == "^" else -(SUB_DROP_BOTH if "^" in scripts else SUB_DROP) * size
            runs += [Run(r.text, r.size, r.rise + rise, r.x + x, r.italic) for r in script]
            extent = max(extent, script_width)
        x += extent
    return runs, x


def _atom(tokens: list, size: float, upright: bool, depth: int) -> tuple[list, float]:
    """One letter, group or command with its argument."""
    if not tokens:
        return [], 0.0
    token = tokens.pop(0)
    if token == "{":
        runs, width = _parse(tokens, size, upright, depth)
        if tokens:
            tokens.pop(0)  # the closing brace
        return runs, width
    if token.startswith("\\") and len(token) > 1:
        name = token[1:]
        if name in _UPRIGHT or name in ("hat", "mathcal"):
            runs, width = _atom(tokens, size, upright or name in _UPRIGHT, depth)
            if name == "hat" and runs:  # a circumflex over the first character (ŷ is one character)
                first = runs[0]
                accented = ("ŷ" + first.text[1:]) if first.text[:1] == "y" else first.text[:1] + "\u0302" + first.text[1:]
                runs[0] = Run(accented, first.size, first.rise, first.x, first.italic)
            if name == "mathcal" and runs and runs[0].text == "L":
                runs[0] = Run("ℒ", runs[0].size, runs[0].rise, runs[0].x, False)
            return runs, width
        token = _SYMBOLS.get(name, name)  # an unknown command prints its name: shown, never obeyed
        italic = False
    elif token in "^_}":
        token, italic = "", False
    else:
        italic = token.isalpha() and not upright
    width = size * sum(_char_width(c) for c in token) + (0.05 * size if italic else 0.0)
    return ([Run(token, size, 0.0, 0.0, italic)] if token else []), width


def math_runs(latex: str) -> tuple[Run, ...]:
    r"""The runs of a label's LaTeX name, adjacent runs of the same style merged.

    >>> [(r.text, r.size, r.rise > 0) for r in math_runs("a^{[0]}_{1}")]
    [('a', 1.0, False), ('[0]', 0.7, True), ('1', 0.7, False)]
    >>> [r.text for r in math_runs(r"\mathrm{out}_{d_1}")], math_runs(r"\hat{y}_{1}")[0].text
    (['out', 'd', '1'], 'ŷ')
    """
    tokens, runs, x = _TOKEN.findall(latex), [], 0.0
    while tokens:  # an unmatched "}" is skipped, not the end of the label
        part, width = _parse(tokens, 1.0, False, 0)
        runs += [Run(r.text, r.size, r.rise, r.x + x, r.italic) for r in part]
        x += width
        if tokens:
            tokens.pop(0)
    merged: list[Run] = []
    for run in runs:
        last = merged[-1] if merged else None
        if (last and (last.size, last.rise, last.italic) == (run.size, run.rise, run.italic)
                and abs(last.x + _width(last) - run.x) < 1e-9):
            merged[-1] = Run(last.text + run.text, last.size, last.rise, last.x, last.italic)
        else:
            merged.append(run)
    return tuple(merged)


def _width(run: Run) -> float:
    return run.size * sum(_char_width(c) for c in run.text if c != "\u0302") + (0.05 * run.size if run.italic else 0.0)


def text_width(latex: str, font: float) -> float:
    """Estimated width (cm) of the label ``latex`` set in a serif font of ``font`` cm.

    >>> round(text_width("w_{31}", 1.0), 2), round(text_width("W^{[2]}_{1,3}", 1.0), 2)
    (1.5, 1.91)
    """
    runs = math_runs(latex)
    return font * max((run.x + _width(run) for run in runs), default=0.0)


def text_height(latex: str, font: float) -> float:
    """Estimated height (cm) of the label ``latex``, from its highest superscript to its lowest
    subscript, in a font of ``font`` cm.

    >>> round(text_height("w_{31}", 1.0), 2), round(text_height("W^{[2]}_{1,3}", 1.0), 2)
    (1.07, 1.36)
    """
    runs = math_runs(latex) or (Run("", 1.0, 0.0, 0.0, False),)
    top = max(run.rise + ASCENT * run.size for run in runs)
    bottom = max(DESCENT * run.size - run.rise for run in runs)
    return font * (top + bottom)


def _baseline(latex: str) -> float:
    """Where to put the label's baseline, below its vertical centre, in units of its font."""
    runs = math_runs(latex) or (Run("", 1.0, 0.0, 0.0, False),)
    top = max(run.rise + ASCENT * run.size for run in runs)
    bottom = max(DESCENT * run.size - run.rise for run in runs)
    return (top - bottom) / 2


def _plain_width(text: str, font: float) -> float:
    """Estimated width (cm) of plain ``text``, every character taken as printed."""
    return font * sum(_char_width(c) for c in text)


def _label_fraction(n_sources: int, n_targets: int) -> float:
    """Where, from source (0) to target (1), a gap's weight labels stand.

    At t = 1/(m+1) for m target slots, the label of edge i → j sits at height
    s·(m·i + j)/(m+1) + const: all labels of the gap evenly spaced, s/(m+1) apart, grouped by
    source. Near the target, symmetrically, they are grouped by target. The side with the wider
    spacing wins.
    """
    if n_sources <= n_targets:
        return 1 - 1 / (n_sources + 1)
    return 1 / (n_targets + 1)


class _Placer:
    """Computes the ``Layout`` of one diagram (see ``layout``)."""

    def __init__(self, diagram: Diagram):
        self.d = diagram
        self.depth = len(diagram.layers) - 1
        self.path_edges, self.marked = self._highlighted()
        keep = [[i for (layer, i) in self.marked if layer == k] for k in range(self.depth + 1)]
        self.slots = [shown_neurons(n, keep[k]) for k, n in enumerate(diagram.layers)]
        shown = [diagram.neurons[k][i] for k in range(self.depth + 1) for i in self.slots[k] if i is not None]
        self.r = max(RADIUS_MIN, max(  # the label's box fits inside the circle, with a little air
            (text_width(label.latex, NEURON_FONT) ** 2 + text_height(label.latex, NEURON_FONT) ** 2) ** 0.5 / 2
            for label in shown) + 0.06)

    def _highlighted(self):
        """The highlighted edges (as weight keys) and neurons (including bias nodes)."""
        edges = {(b[0], a[1], b[1]) for path in self.d.highlight for a, b in zip(path, path[1:])}
        marked = {neuron for path in self.d.highlight for neuron in path}
        if self.d.highlight_weight is not None:
            k, i, j = self.d.highlight_weight
            edges.add(self.d.highlight_weight)
            marked |= {(k - 1, i), (k, j)}
        return edges, marked

    def sources(self, k: int) -> int:
        """Slots feeding gap k (the layer before it, and its bias node if drawn)."""
        return len(self.slots[k - 1]) + self.d.biases

    def spacing(self) -> float:
        """Room between neurons: enough that no two weight labels of a gap touch.

        The label of edge i → j stands at height s·c on its edge, c = (slot_i − mid)(1 − t) +
        (slot_j − mid')·t (t from ``_label_fraction``, s the spacing): labels of a fully labelled
        gap are evenly spaced, s/(m+1) apart. Two labels whose c differ by Δc need s·Δc at least
        half the height of each, their white boxes and a little air. A path figure labels a few
        edges only, and stays as compact as its neurons allow. No upper bound:
        ``weight_labels_readable`` keeps the columns short.
        """
        spacing = min(SPACING_MAX, max(SPACING_MIN, 2 * self.r + 0.4))
        for k in range(1, self.depth + 1):
            placed = sorted(
                (self._label_height(k, i, j), label.latex)
                for (gap, i, j), label in (self.d.weights or {}).items()
                if gap == k and (i == BIAS or i in self.slots[k - 1]) and j in self.slots[k]  # drawn edges only
            )
            for (c1, latex1), (c2, latex2) in zip(placed, placed[1:]):
                room = (text_height(latex1, LABEL_FONT) + text_height(latex2, LABEL_FONT)) / 2 + 2 * LABEL_PAD + LABEL_GAP
                spacing = max(spacing, room / max(c2 - c1, 1e-9))
        return spacing

    def _label_height(self, k: int, i: int, j: int) -> float:
        """c of the label of edge i → j in gap k: its height is c times the spacing (see ``spacing``)."""
        sources, targets = self.slots[k - 1], self.slots[k]
        t = _label_fraction(self.sources(k), len(targets))
        source = (-1 if i == BIAS else sources.index(i)) - (len(sources) - 1) / 2
        target = targets.index(j) - (len(targets) - 1) / 2
        return round(source * (1 - t) + target * t, 9)

    def columns(self) -> list[float]:
        """The x of each layer: gaps of GAP_MIN..GAP_MAX, widened where labels need room."""
        base = max(2 * self.r + 1.2, min(GAP_MAX, max(GAP_MIN, PICTURE_WIDTH / self.depth)))
        gaps = [base] * (self.depth + 1)
        for (k, _, _), label in sorted((self.d.weights or {}).items()):
            t = _label_fraction(self.sources(k), len(self.slots[k]))
            room = self.r + text_width(label.latex, LABEL_FONT) / 2 + LABEL_CLEARANCE  # centre to label centre
            gaps[k] = max(gaps[k], room / t if t < 0.5 else (room + ARROW) / (1 - t))
        return [sum(gaps[1 : k + 1]) for k in range(self.depth + 1)]

    def nodes(self, spacing: float, xs: list[float]) -> dict:
        nodes, marking = {}, bool(self.marked)
        for k, slots in enumerate(self.slots):
            middle = (len(slots) - 1) / 2
            for slot, i in enumerate(slots):
                if i is not None:
                    style = ("path" if (k, i) in self.marked else "dim") if marking else "plain"
                    nodes[(k, i)] = Node((k, i), xs[k], (slot - middle) * spacing, self.r, self.d.neurons[k][i], style)
            if self.d.biases and k < self.depth:
                style = ("path" if (k, BIAS) in self.marked else "dim") if marking else "plain"
                nodes[(k, BIAS)] = Node((k, BIAS), xs[k], (-1 - middle) * spacing, BIAS_RADIUS, Label("1", "1"), style)
        return nodes

    def ellipses(self, spacing: float, xs: list[float]) -> list:
        return [
            (xs[k], (slot - (len(slots) - 1) / 2) * spacing)
            for k, slots in enumerate(self.slots)
            for slot, i in enumerate(slots)
            if i is None
        ]

    def edge_style(self, key: tuple[int, int, int]) -> str:
        if key == self.d.highlight_weight:
            return "weight"
        return "path" if key in self.path_edges else "dim"

    def edges(self, nodes: dict) -> list:
        marking = bool(self.path_edges)
        weights = self.d.weights or {}
        elided = any(None in slots for slots in self.slots)
        tips = not elided and max(self.sources(k) for k in range(1, self.depth + 1)) <= TIPS_FAN_IN
        edges = []
        for k in range(1, self.depth + 1):
            t = _label_fraction(self.sources(k), len(self.slots[k]))
            sources = [nodes[key] for key in nodes if key[0] == k - 1]
            for source in sorted(sources, key=lambda n: n.key[1]):
                for j in (i for i in self.slots[k] if i is not None):
                    key, target = (k, source.key[1], j), nodes[(k, j)]
                    style = self.edge_style(key) if marking else "plain"
                    at = (source.x + t * (target.x - source.x), source.y + t * (target.y - source.y))
                    label = weights.get(key)
                    tip = tips or style in ("path", "weight")
                    edges.append(Edge(key, source, target, style, label, at if label else None, tip))
        order = {"dim": 0, "plain": 0, "path": 1, "weight": 2}  # emphasised edges on top
        return sorted(edges, key=lambda e: order[e.style])


def layout(diagram: Diagram) -> Layout:
    """Place the diagram's neurons, edges, labels and ellipses (cm, y down, origin top left).

    >>> box = layout(Diagram((1, 1), ((Label("a_1", "a_1"),), (Label("b_1", "b_1"),)), None))
    >>> [(n.label.text, n.x) for n in box.nodes]
    [('a_1', 0.68), ('b_1', 3.68)]
    """
    placer = _Placer(diagram)
    spacing, xs = placer.spacing(), placer.columns()
    nodes = placer.nodes(spacing, xs)
    edges = placer.edges(nodes)
    ellipses = placer.ellipses(spacing, xs)
    # the bounding box of circles and ellipses (labels lie on edges between them), a margin, the title
    xs = [x for n in nodes.values() for x in (n.x - n.r, n.x + n.r)]
    ys = [y for n in nodes.values() for y in (n.y - n.r, n.y + n.r)] + [y for _, y in ellipses]
    left, top = min(xs) - MARGIN, min(ys) - MARGIN
    width, height = max(xs) + MARGIN - left, max(ys) + MARGIN - top
    title_y = 0.0
    if diagram.title:
        width = max(width, 1.15 * _plain_width(_one_line(diagram.title), TITLE_FONT) + 2 * MARGIN)  # bold
        left -= (width - (max(xs) + MARGIN - left)) / 2
        title_y, top = TITLE_FONT + MARGIN / 2, top - TITLE_FONT - MARGIN
        height += TITLE_FONT + MARGIN
    moved = {key: _moved(node, -left, -top) for key, node in nodes.items()}
    return Layout(
        nodes=tuple(moved[key] for key in sorted(moved)),
        edges=tuple(
            Edge(e.weight, moved[e.source.key], moved[e.target.key], e.style, e.label,
                 None if e.label_at is None else (round(e.label_at[0] - left, 3), round(e.label_at[1] - top, 3)), e.tip)
            for e in edges
        ),
        ellipses=tuple((x - left, y - top) for x, y in ellipses),
        width=round(width, 3),
        height=round(height, 3),
        title_y=title_y,
    )


def _moved(node: Node, dx: float, dy: float) -> Node:
    return Node(node.key, round(node.x + dx, 3), round(node.y + dy, 3), node.r, node.label, node.style)


def _one_line(text: str) -> str:
    """User text on one line, without the control characters XML and TeX reject."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()


def _number(x: float, digits: int = 2) -> str:
    """A coordinate with fixed decimals, trailing zeros dropped, never "-0".

    >>> _number(-0.0001), _number(1.5), _number(2.0)
    ('0', '1.5', '2')
    """
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# -- TikZ -----------------------------------------------------------------------------------
def _rgb(hex_colour: str) -> str:
    return ",".join(str(int(hex_colour[i : i + 2], 16)) for i in (1, 3, 5))


def _tikz_colour(key: str) -> str:
    """The picture's name for COLOURS[key]: dim_text → sbpDimText."""
    return "sbp" + key.title().replace("_", "")


# Style names avoid TikZ's own keys (edge, label); the picture defines them for itself only.
_TIKZ_STYLES = r"""  neuron/.style={circle, draw, fill=white, line width=0.6pt, minimum size=%(size)scm,
    inner sep=0.5pt, font=%(neuron_font)s},
  neuron path/.style={neuron, draw=sbpPath, fill=sbpPathFill, line width=1.4pt},
  neuron dim/.style={neuron, draw=sbpDim, text=sbpDimText},
  bias node/.style={minimum size=%(bias)scm, font=%(bias_font)s},
  link/.style={draw=sbpPlain, line width=0.6pt, -{Stealth[length=1.7mm, width=1.3mm]}},
  link dim/.style={link, draw=sbpDim},
  link path/.style={link, draw=sbpPath, line width=1.6pt},
  link weight/.style={link, draw=sbpWeight, line width=2.2pt},
  weight label/.style={fill=white, inner sep=0.8pt, font=%(label_font)s},
  weight label dim/.style={weight label, text=sbpDimText},
  weight label path/.style={weight label, text=sbpPath},
  weight label weight/.style={weight label, text=sbpWeight, draw=sbpWeight, line width=0.8pt, rounded corners=1pt}"""


def to_tikz(diagram: Diagram, escape: Callable[[str], str] = latex_escape) -> str:
    """The diagram as a ``tikzpicture`` (needs ``\\usetikzlibrary`` of TIKZ_LIBRARIES).

    ``escape`` prints the title literally (render.latex_escape fits). Example:

    >>> tex = to_tikz(Diagram((1, 1), ((Label("a_1", "a_1"),), (Label("b_1", "b_1"),)), None))
    >>> tex.splitlines()[0], r"\\draw[link] (n0-0) -- (n1-0);" in tex
    ('\\\\begin{tikzpicture}[x=1cm, y=1cm,', True)
    """
    box = layout(diagram)
    lines = [r"\begin{tikzpicture}[x=1cm, y=1cm,"]
    radius = next(node.r for node in box.nodes if node.key[1] != BIAS)
    fonts = {f"{kind}_font": _tikz_font(size) for kind, size in (("neuron", NEURON_PT), ("bias", BIAS_PT), ("label", LABEL_PT))}
    lines.append(_TIKZ_STYLES % dict(fonts, size=_number(2 * radius), bias=_number(2 * BIAS_RADIUS)) + "]")
    lines += [rf"\definecolor{{{_tikz_colour(key)}}}{{RGB}}{{{_rgb(value)}}}" for key, value in COLOURS.items()]
    xy = lambda x, y: f"({_number(x)},{_number(-y)})"  # noqa: E731  (TikZ's y points up)
    for node in box.nodes:
        style = "neuron" if node.style == "plain" else f"neuron {node.style}"
        if node.key[1] == BIAS:
            style += ", bias node" + (", fill=sbpBiasFill" if node.style == "plain" else "")
        lines.append(rf"\node[{style}] ({_tikz_name(node)}) at {xy(node.x, node.y)} {{${node.label.latex}$}};")
    lines += [rf"\node at {xy(x, y)} {{$\vdots$}};" for x, y in box.ellipses]
    for edge in box.edges:
        style = ("link" if edge.style == "plain" else f"link {edge.style}") + ("" if edge.tip else ", -")
        lines.append(rf"\draw[{style}] ({_tikz_name(edge.source)}) -- ({_tikz_name(edge.target)});")
    for edge in (e for e in box.edges if e.label is not None):
        style = "weight label" if edge.style == "plain" else f"weight label {edge.style}"
        lines.append(rf"\node[{style}] at {xy(*edge.label_at)} {{${edge.label.latex}$}};")
    if diagram.title:
        title = escape(_one_line(diagram.title))
        lines.append(rf"\node[font=\bfseries, anchor=base] at {xy(box.width / 2, box.title_y)} {{{title}}};")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def _tikz_font(points: float) -> str:
    """A font of ``points`` pt whatever the document's size: the picture is printed unscaled, so
    this is the size on paper (and TeX sets the indices at 70 % of it)."""
    return rf"\fontsize{{{_number(points)}}}{{{_number(1.2 * points)}}}\selectfont"


def _tikz_name(node: Node) -> str:
    layer, index = node.key
    return f"bias{layer}" if index == BIAS else f"n{layer}-{index}"


# -- SVG ------------------------------------------------------------------------------------
def svg_math(latex: str, font_px: float) -> str:
    """A label's LaTeX name as the <tspan>s of a <text> of ``font_px`` pixels, set as TeX sets it.

    Every run is a tspan with its own font-size; ``dy`` raises or lowers it from the run before
    (baseline-shift is not drawn by every viewer), and ``dx`` steps back so that a subscript stands
    under its superscript. Example, a^{[0]}_1 at 20 px:

    >>> svg_math("a^{[0]}_{1}", 20.0)  # doctest: +NORMALIZE_WHITESPACE
    '<tspan font-size="20" font-style="italic">a</tspan><tspan font-size="14" dy="-8.4">[0]</tspan><tspan
    font-size="14" dx="-15.4" dy="14">1</tspan>'
    """
    out, x, rise = [], 0.0, 0.0
    for run in math_runs(latex):
        attributes = [f'font-size="{_number(run.size * font_px)}"']
        if run.italic:
            attributes.append('font-style="italic"')
        if abs(run.x - x) > 1e-6:
            attributes.append(f'dx="{_number((run.x - x) * font_px)}"')
        if abs(run.rise - rise) > 1e-6:
            attributes.append(f'dy="{_number((rise - run.rise) * font_px)}"')  # SVG's y points down
        out.append(f'<tspan {" ".join(attributes)}>{xml_escape(run.text)}</tspan>')
        x, rise = run.x + _width(run), run.rise
    return "".join(out)


def to_svg(diagram: Diagram, interactive: bool = False) -> str:
    """The diagram as a standalone SVG 1.1 document (white background, no fonts or scripts); with
    ``interactive``, an <svg> element for an HTML page (no XML declaration) whose weights, biases
    and neurons carry ``data-weight="k,i,j"`` / ``data-neuron="k,i"`` and are focusable, for the
    page's script to light up (the drawing itself is the same).

    >>> svg = to_svg(Diagram((1, 1), ((Label("a_1", "a_1"),), (Label("b_1", "b_1"),)), None))
    >>> svg.count("<circle"), 'class="edge plain"' in svg
    (2, True)
    """
    box = layout(diagram)
    px = lambda value: _number(value * PX_PER_CM, 1)  # noqa: E731
    width, height = px(box.width), px(box.height)
    title = xml_escape(_one_line(diagram.title or "")) or "Network " + "-".join(map(str, diagram.layers))
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="\'Latin Modern Roman\', \'Times New Roman\', Times, serif"'
        + (' class="network" role="group" aria-label="The network: choose a weight or a neuron">' if interactive else ">"),
        f"<title>{title}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    if interactive:
        out.pop(0)
    out += [_svg_edge(edge, px, interactive) for edge in box.edges]
    out += [_svg_ellipsis(x, y, px) for x, y in box.ellipses]
    out += [_svg_node(node, px, interactive) for node in box.nodes]
    out += [_svg_weight_label(edge, px, interactive) for edge in box.edges if edge.label is not None]
    if diagram.title:
        out.append(
            f'<text class="title" x="{px(box.width / 2)}" y="{px(box.title_y)}" text-anchor="middle" '
            f'font-size="{px(TITLE_FONT)}" font-weight="bold" fill="#000000">{title}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _data(kind: str, key: tuple, label: Optional[Label], focusable: bool) -> str:
    """The attributes by which an HTML page's script finds a drawn weight or neuron."""
    name = f' aria-label="{xml_escape(label.text)}"' if label is not None else ""
    focus = f' tabindex="0" role="button"{name}' if focusable else ""
    return f' data-{kind}="{",".join(map(str, key))}"{focus}'


def _svg_edge(edge: Edge, px, interactive: bool = False) -> str:
    """A line from border to border, and an arrow tip that ends on the target's border."""
    (x1, y1), (x2, y2) = (edge.source.x, edge.source.y), (edge.target.x, edge.target.y)
    length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    tip = (x2 - ux * edge.target.r, y2 - uy * edge.target.r)
    arrow = ARROW * (1.35 if edge.style == "weight" else 1.15 if edge.style == "path" else 1.0)
    back = (tip[0] - ux * arrow, tip[1] - uy * arrow)
    half = arrow * 0.42
    points = [tip, (back[0] - uy * half, back[1] + ux * half), (back[0] + uy * half, back[1] - ux * half)]
    colour = COLOURS[edge.style]
    stroke = _pt(WIDTHS[edge.style])
    start = (x1 + ux * edge.source.r, y1 + uy * edge.source.r)
    end = (tip[0] - ux * arrow * 0.8, tip[1] - uy * arrow * 0.8) if edge.tip else tip  # the line stops inside the tip
    polygon = f'<polygon points="{" ".join(f"{px(x)},{px(y)}" for x, y in points)}" fill="{colour}"/>'
    data = hit = ""
    if interactive:  # a wide transparent line over the thin one, so that a finger can hit it
        data = _data("weight", edge.weight, edge.label, edge.label is None)
        hit = (f'<line class="hit" x1="{px(start[0])}" y1="{px(start[1])}" x2="{px(end[0])}" y2="{px(end[1])}" '
               f'stroke="transparent" stroke-width="12"/>')
    return (
        f'<g class="edge {edge.style}"{data}><line x1="{px(start[0])}" y1="{px(start[1])}" x2="{px(end[0])}" '
        f'y2="{px(end[1])}" stroke="{colour}" stroke-width="{stroke}"/>{polygon if edge.tip else ""}{hit}</g>'
    )


def _svg_node(node: Node, px, interactive: bool = False) -> str:
    stroke, fill, text = "#000000", "#ffffff", "#000000"
    width = 0.6
    if node.style == "path":
        stroke, fill, width = COLOURS["path"], COLOURS["path_fill"], 1.4
    elif node.style == "dim":
        stroke, text = COLOURS["dim"], COLOURS["dim_text"]
    kind = "bias" if node.key[1] == BIAS else "neuron"
    if kind == "bias" and node.style == "plain":
        fill = COLOURS["bias_fill"]
    font = BIAS_FONT if kind == "bias" else NEURON_FONT
    data = _data("neuron", node.key, node.label, kind == "neuron") if interactive else ""
    return (
        f'<g class="{kind} {node.style}"{data}><circle cx="{px(node.x)}" cy="{px(node.y)}" r="{px(node.r)}" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{_pt(width)}"/>'
        f'<text x="{px(node.x)}" y="{px(node.y + _baseline(node.label.latex) * font)}" text-anchor="middle" font-size="{px(font)}" '
        f'fill="{text}">{svg_math(node.label.latex, font * PX_PER_CM)}</text></g>'
    )


def _svg_weight_label(edge: Edge, px, interactive: bool = False) -> str:
    """The label on a white box (a framed one for the highlighted weight)."""
    x, y = edge.label_at
    w, h = text_width(edge.label.latex, LABEL_FONT) + 2 * LABEL_PAD, text_height(edge.label.latex, LABEL_FONT) + 2 * LABEL_PAD
    baseline = y + _baseline(edge.label.latex) * LABEL_FONT
    colour = {"dim": COLOURS["dim_text"], "path": COLOURS["path"], "weight": COLOURS["weight"]}.get(edge.style, "#000")
    frame = f' stroke="{colour}" stroke-width="1.2" rx="2"' if edge.style == "weight" else ""
    data = _data("weight", edge.weight, edge.label, True) if interactive else ""
    return (
        f'<g class="label {edge.style}"{data}><rect x="{px(x - w / 2)}" y="{px(y - h / 2)}" width="{px(w)}" '
        f'height="{px(h)}" fill="#ffffff"{frame}/>'
        f'<text x="{px(x)}" y="{px(baseline)}" text-anchor="middle" font-size="{px(LABEL_FONT)}" '
        f'fill="{colour}">{svg_math(edge.label.latex, LABEL_FONT * PX_PER_CM)}</text></g>'
    )


def _pt(points: float) -> str:
    """A line width given in TeX points, in the SVG's pixels."""
    return _number(points / 72.27 * 2.54 * PX_PER_CM, 2)


def _svg_ellipsis(x: float, y: float, px) -> str:
    """Three dots (a dotted line with round caps: no font needed)."""
    return (
        f'<line class="ellipsis" x1="{px(x)}" y1="{px(y - 0.2)}" x2="{px(x)}" y2="{px(y + 0.2)}" '
        f'stroke="#000000" stroke-width="4" stroke-linecap="round" stroke-dasharray="0,{px(0.2)}"/>'
    )
