"""Notations: how neurons, weights and gradients are named, as SymPy symbol names and as LaTeX.

Symbol names are valid Python identifiers (they appear in derivation.json); the LaTeX name is
what SymPy's printer writes for the symbol (``latex(expr, symbol_names=...)``).

>>> n = NOTATIONS["neurons"]((2, 4, 3, 2))
>>> n.weight(3, 0, 0), n.weight(3, 0, 1), n.weight(2, 0, 0)
(Name(symbol='w_31', latex='w_{31}'), Name(symbol='w_34', latex='w_{34}'), Name(symbol='w_21', latex='w_{21}'))
>>> n.out(3, 0)
Name(symbol='out_d_1', latex='\\\\mathrm{out}_{d_1}')
"""

from __future__ import annotations

import string
from typing import NamedTuple


class Name(NamedTuple):
    """A symbol's name in SymPy (an identifier) and in LaTeX."""

    symbol: str
    latex: str


def layer_letter(layer: int) -> str:
    """Seed 000 letters layer 0, 1, 2, ... as a, b, c, ...; past z it continues aa, ab, ...

    >>> layer_letter(0), layer_letter(3), layer_letter(26)
    ('a', 'd', 'aa')
    """
    letters = string.ascii_lowercase
    name = ""
    layer += 1
    while layer:
        layer, rest = divmod(layer - 1, 26)
        name = letters[rest] + name
    return name


class NeuronsNotation:
    """Seed 000's names: out_{d_1}, net_{c_2}, target_{d_1}, weights w_{ℓk} numbered target-major.

    Indices i (source) and j (target) are 0-based here and 1-based in every printed name.
    """

    name = "neurons"
    title = "neuron notation (seed 000)"

    def __init__(self, layers: tuple[int, ...]):
        self.layers = layers

    def neuron(self, layer: int, j: int) -> str:
        """The neuron's label, e.g. ``d_1`` (also valid LaTeX)."""
        return f"{layer_letter(layer)}_{j + 1}"

    def _named(self, prefix: str, latex_prefix: str, layer: int, j: int) -> Name:
        label = self.neuron(layer, j)
        return Name(f"{prefix}_{label}", f"{latex_prefix}_{{{label}}}")

    def out(self, layer: int, j: int) -> Name:
        return self._named("out", r"\mathrm{out}", layer, j)

    def net(self, layer: int, j: int) -> Name:
        return self._named("net", r"\mathrm{net}", layer, j)

    def target(self, j: int) -> Name:
        return self._named("target", r"\mathrm{target}", len(self.layers) - 1, j)

    def delta(self, layer: int, j: int) -> Name:
        return self._named("delta", r"\delta", layer, j)

    def bias(self, layer: int, j: int) -> Name:
        return self._named("b", "b", layer, j)

    def error(self, j: int) -> Name:
        """The output neuron's own error term, seed 000's E_{d_1}."""
        return self._named("E", "E", len(self.layers) - 1, j)

    def loss(self) -> Name:
        return Name("E_total", r"E_{\mathrm{total}}")

    def weight(self, layer: int, i: int, j: int) -> Name:
        """w_{ℓk} with k = 1 + j·n_{ℓ-1} + i; written w_{ℓ,k} when an index exceeds 9."""
        k = 1 + j * self.layers[layer - 1] + i
        if layer > 9 or k > 9:
            return Name(f"w_{layer}_{k}", f"w_{{{layer},{k}}}")
        return Name(f"w_{layer}{k}", f"w_{{{layer}{k}}}")


NOTATIONS = {"neurons": NeuronsNotation}
