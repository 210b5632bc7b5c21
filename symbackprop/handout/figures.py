"""The network drawn for a derivation: whole, and once per detailed parameter with its paths lit.

Maps a ``Derivation`` (names in the chosen notation, the paths of each gradient) onto the
plain data of ``symbackprop.handout.diagram``, which draws it as TikZ and SVG.

>>> from symbackprop import derive
>>> d = derive("2-4-3-2", only=["w_21"])
>>> diagram = parameter_diagram(d, d.gradient("w_21"))
>>> diagram.highlight
(((1, 0), (2, 0), (3, 0)), ((1, 0), (2, 0), (3, 1)))
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..derivation.chainrule import Gradient
from .diagram import BIAS, Diagram, Label, weight_labels_readable

if TYPE_CHECKING:  # for annotations only: this stage takes the data it is given, it does not run the pipeline
    from ..api import Derivation


def plain(latex: str) -> str:
    """A LaTeX name as the plain text an SVG label shows (the part after "_" is a subscript).

    >>> plain(r"\\mathrm{out}_{d_1}"), plain("w_{2,12}"), plain("W^{[2]}_{1,3}"), plain(r"\\hat{y}_{1}")
    ('out_d_1', 'w_2,12', 'W[2]_1,3', 'ŷ_1')
    """
    text = latex.replace(r"\hat{y}", "ŷ").replace(r"\mathrm", "").replace("^", "")
    return re.sub(r"[{}\\]", "", text)


def _labels(derivation: Derivation):
    m = derivation.model
    neurons = tuple(
        tuple(Label(m.label(n), plain(m.label(n))) for n in m.neurons(k)) for k in range(len(m.spec.layers))
    )
    weights = None
    if weight_labels_readable(m.spec.layers, m.spec.bias):
        weights = {}
        for k in range(1, m.spec.depth + 1):
            for i, row in enumerate(m.weights[k]):
                for j, w in enumerate(row):
                    weights[(k, i, j)] = Label(m.latex_names[w], plain(m.latex_names[w]))
            if m.biases:
                for j, b in enumerate(m.biases[k]):
                    weights[(k, BIAS, j)] = Label(m.latex_names[b], plain(m.latex_names[b]))
    return neurons, weights


def network_diagram(derivation: Derivation) -> Diagram:
    """The whole network, every neuron labelled (and every weight, where that stays legible)."""
    neurons, weights = _labels(derivation)
    return Diagram(derivation.spec.layers, neurons, weights, biases=derivation.spec.bias)


def parameter_diagram(derivation: Derivation, gradient: Gradient) -> Diagram:
    """The network with the paths from ``gradient``'s parameter to the outputs highlighted
    (seed 000's discussion of w_{21}: the paths through d_1 and d_2)."""
    neurons, labels = _labels(derivation)
    p = gradient.parameter
    start = ((p.source.layer, p.source.index),) if p.source else ()
    target = (p.target.layer, p.target.index)
    paths = []
    for path in gradient.paths or ():
        first = (path.neurons[0].layer, path.neurons[0].index) if p.shared else target  # a shared bias: each neuron
        later = tuple((n.layer, n.index) for n in path.neurons if n.layer > p.target.layer)
        route = start + (first,) + later
        if route not in paths:
            paths.append(route)
    key = (p.target.layer, p.source.index if p.source else BIAS, p.target.index)
    weights = None
    if labels is not None:  # label only the parameter and the weights on its paths: the factors of its products
        on_paths = {key} | {(b[0], a[1], b[1]) for route in paths for a, b in zip(route, route[1:])}
        on_paths |= {(n.layer, BIAS, n.index) for n in p.shared}  # a shared bias: its label on each of its edges
        weights = {k: label for k, label in labels.items() if k in on_paths}
    return Diagram(derivation.spec.layers, neurons, weights, tuple(paths), key, biases=derivation.spec.bias)


def svg_name(gradient: Gradient) -> str:
    """The file name of a parameter's diagram beside derivation.md, e.g. ``network-w_21.svg``."""
    return f"network-{gradient.parameter.symbol.name}.svg"
