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
    title = "letter notation"
    columns = False  # its matrix form uses row vectors
    source_first = False  # w_{ℓk} counts the weights target by target

    def __init__(self, layers: tuple[int, ...]):
        self.layers = layers

    def neuron(self, layer: int, j: int) -> str:
        """The neuron's label in LaTeX, e.g. ``d_1``, or ``d_{10}`` from the tenth neuron on.

        >>> NeuronsNotation((2, 12)).neuron(1, 0), NeuronsNotation((2, 12)).neuron(1, 9)
        ('b_1', 'b_{10}')
        """
        index = j + 1
        return f"{layer_letter(layer)}_{index}" if index < 10 else f"{layer_letter(layer)}_{{{index}}}"

    def layer(self, layer: int) -> str:
        """The layer's name in LaTeX, e.g. ``c``."""
        return layer_letter(layer)

    def _named(self, prefix: str, latex_prefix: str, layer: int, j: int) -> Name:
        """E.g. ``out_d_10`` printed ``\\mathrm{out}_{d_{10}}``."""
        return Name(f"{prefix}_{layer_letter(layer)}_{j + 1}", f"{latex_prefix}_{{{self.neuron(layer, j)}}}")

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

    def shared_bias(self, layer: int) -> Name:
        """The one bias of a layer shared by its neurons, named by the layer as b_{c_1} is by its neuron: b_{c}."""
        return Name(f"b_{layer_letter(layer)}", f"b_{{{layer_letter(layer)}}}")

    def walkthrough_names(self, shared_bias: bool) -> dict[str, Name]:
        """The classic 2-2-2 walk-through's names for a network with one hidden layer, as other spellings of
        this notation's names: inputs i_1, hidden neurons h_1 (out_{h1}, net_{h1}), outputs o_1 (out_{o1},
        net_{o1}, target_{o1}); the weights w_1, w_2, ... through both layers in this notation's order (the
        walk-through's: w_1 = i_1→h_1, w_2 = i_2→h_1, ...) while there are at most 9 (w_{11} is this
        notation's own first weight); a shared bias per layer, b_1 and b_2. Empty for any other depth.

        >>> names = NeuronsNotation((2, 2, 2)).walkthrough_names(shared_bias=True)
        >>> [(alias, names[alias].symbol) for alias in ("w_5", "out_{h_1}", "i_2", "b_2")]
        [('w_5', 'w_21'), ('out_{h_1}', 'out_b_1'), ('i_2', 'out_a_2'), ('b_2', 'b_c')]
        """
        if len(self.layers) != 3:
            return {}
        names = {f"i_{j + 1}": self.out(0, j) for j in range(self.layers[0])}
        for letter, layer in (("h", 1), ("o", 2)):
            for j in range(self.layers[layer]):
                names[f"out_{{{letter}_{j + 1}}}"] = self.out(layer, j)
                names[f"net_{{{letter}_{j + 1}}}"] = self.net(layer, j)
                names[f"\\delta_{{{letter}_{j + 1}}}"] = self.delta(layer, j)
        for j in range(self.layers[2]):
            names[f"target_{{o_{j + 1}}}"] = self.target(j)
        weights = [self.weight(k, i, j) for k in (1, 2) for j in range(self.layers[k]) for i in range(self.layers[k - 1])]
        if len(weights) <= 9:
            names.update((f"w_{n}", weight) for n, weight in enumerate(weights, start=1))
        if shared_bias:
            names.update((f"b_{k}", self.shared_bias(k)) for k in (1, 2))
        return names

    def error(self, j: int) -> Name:
        """The output neuron's own error term, seed 000's E_{d_1}."""
        return self._named("E", "E", len(self.layers) - 1, j)

    def loss(self) -> Name:
        return Name("E_total", r"E_{\mathrm{total}}")

    def vector(self, kind: str, layer: int) -> str:
        """LaTeX of a layer's row vector or matrix: "a" (outputs), "W", "gprime" (g' at the net inputs)."""
        letter = layer_letter(layer)
        return {
            "a": rf"\mathbf{{out}}_{{{letter}}}",
            "W": f"W^{{[{layer}]}}",
            "gprime": rf"g'\left(\mathbf{{net}}_{{{letter}}}\right)",
            "target": r"\mathbf{target}",
        }[kind]

    def gradient(self, kind: str, layer: int) -> str:
        """LaTeX of a layer's gradient vector: "a" ∂E/∂out, "z" the deltas, "W", "b"."""
        letter, loss = layer_letter(layer), self.loss().latex
        return {
            "a": rf"\frac{{\partial {loss}}}{{\partial \mathbf{{out}}_{{{letter}}}}}",
            "z": rf"\boldsymbol{{\delta}}_{{{letter}}}",
            "W": rf"\frac{{\partial {loss}}}{{\partial W^{{[{layer}]}}}}",
            "b": rf"\frac{{\partial {loss}}}{{\partial \mathbf{{b}}_{{{letter}}}}}",
        }[kind]

    def batch(self, kind: str, layer: int) -> str:
        """LaTeX of a layer's matrix over a mini-batch, one row per sample: "A" outputs, "Y" targets,
        "dA" ∂E/∂out, "dZ" the deltas, "dW", "db", "gprime" g' at the net inputs."""
        letter = layer_letter(layer)
        return {
            "A": rf"\mathbf{{OUT}}_{{{letter}}}",
            "Y": r"\mathbf{TARGET}",
            "dA": rf"\mathrm{{d}}\mathbf{{OUT}}_{{{letter}}}",
            "dZ": rf"\boldsymbol{{\Delta}}_{{{letter}}}",
            "dW": rf"\mathrm{{d}}W^{{[{layer}]}}",
            "db": rf"\mathrm{{d}}\mathbf{{b}}_{{{letter}}}",
            "gprime": rf"g'\left(\mathbf{{NET}}_{{{letter}}}\right)",
        }[kind]

    def weight(self, layer: int, i: int, j: int) -> Name:
        """w_{ℓk} with k = 1 + j·n_{ℓ-1} + i; written w_{ℓ,k} when an index exceeds 9."""
        k = 1 + j * self.layers[layer - 1] + i
        if layer > 9 or k > 9:
            return Name(f"w_{layer}_{k}", f"w_{{{layer},{k}}}")
        return Name(f"w_{layer}{k}", f"w_{{{layer}{k}}}")


class LayersNotation:
    r"""Seed 001's names: a^{[k]}_j, z^{[k]}_j, W^{[k]}_{i,j}, b^{[k]}_j, y_j, ŷ_j and the gradients g^{[kz]}_j.

    Row vectors, z^{[k]} = a^{[k-1]} W^{[k]} + b^{[k]}; the output layer's a^{[L]} is written ŷ.

    >>> n = LayersNotation((4, 3, 2, 1))
    >>> n.weight(2, 2, 1), n.out(3, 0), n.delta(2, 0)
    (Name(symbol='W_2_3_2', latex='W^{[2]}_{3,2}'), Name(symbol='yhat_1', latex='\\hat{y}_{1}'), Name(symbol='g_2z_1', latex='g^{[2z]}_{1}'))
    """

    name = "layers"
    title = "layer notation"
    columns = False  # vectors are rows
    source_first = True  # W^{[k]}_{i,j}: from i to j

    def __init__(self, layers: tuple[int, ...]):
        self.layers = layers
        self.depth = len(layers) - 1

    def neuron(self, layer: int, j: int) -> str:
        return self.out(layer, j).latex

    def layer(self, layer: int) -> str:
        return r"\hat{y}" if layer == self.depth else f"a^{{[{layer}]}}"

    def out(self, layer: int, j: int) -> Name:
        if layer == self.depth:
            return Name(f"yhat_{j + 1}", rf"\hat{{y}}_{{{j + 1}}}")
        return Name(f"a_{layer}_{j + 1}", f"a^{{[{layer}]}}_{{{j + 1}}}")

    def net(self, layer: int, j: int) -> Name:
        return Name(f"z_{layer}_{j + 1}", f"z^{{[{layer}]}}_{{{j + 1}}}")

    def target(self, j: int) -> Name:
        return Name(f"y_{j + 1}", f"y_{{{j + 1}}}")

    def delta(self, layer: int, j: int) -> Name:
        return Name(f"g_{layer}z_{j + 1}", f"g^{{[{layer}z]}}_{{{j + 1}}}")

    def bias(self, layer: int, j: int) -> Name:
        return Name(f"b_{layer}_{j + 1}", f"b^{{[{layer}]}}_{{{j + 1}}}")

    def shared_bias(self, layer: int) -> Name:
        """The one bias of layer ``layer`` shared by its neurons, b^{[k]}."""
        return Name(f"b_{layer}", f"b^{{[{layer}]}}")

    def loss(self) -> Name:
        return Name("L", r"\mathcal{L}")

    def weight(self, layer: int, i: int, j: int) -> Name:
        return Name(f"W_{layer}_{i + 1}_{j + 1}", f"W^{{[{layer}]}}_{{{i + 1},{j + 1}}}")

    def batch(self, kind: str, layer: int) -> str:
        """LaTeX of a layer's matrix over a mini-batch (Ng's names): A^{[k]}, Y, dA^{[k]}, dZ^{[k]},
        dW^{[k]}, db^{[k]}, g^{[k]}'(Z^{[k]})."""
        if kind == "Y":
            return "Y"
        if kind == "gprime":
            return rf"g^{{[{layer}]\prime}}\left(Z^{{[{layer}]}}\right)"
        return f"{kind}^{{[{layer}]}}"

    def gradient(self, kind: str, layer: int) -> str:
        """LaTeX of a layer's gradient, g^{[ka]}, g^{[kz]}, g^{[kW]} or g^{[kb]} (∂L/∂a, ∂L/∂z, ...)."""
        return f"g^{{[{layer}{kind}]}}"

    def vector(self, kind: str, layer: int) -> str:
        """LaTeX of a layer's row vector or matrix: "a" (outputs), "W", "gprime" (g'_h or g'_o at z)."""
        role = "o" if layer == self.depth else "h"
        return {
            "a": self.layer(layer),
            "W": f"W^{{[{layer}]}}",
            "gprime": rf"g'_{{{role}}}\left(z^{{[{layer}]}}\right)",
            "target": "y",
        }[kind]


class ColumnsNotation(LayersNotation):
    r"""The textbooks' names (Nielsen ch. 2, Ng): column vectors, z^{[l]} = W^{[l]} a^{[l-1]} + b^{[l]}.

    W^{[l]}_{j,k} is the weight from neuron k of layer l-1 to neuron j of layer l (target first,
    the transpose of layer notation's W^{[l]}_{k,j}); δ^{[l]}_j = ∂L/∂z^{[l]}_j; the output
    layer's a^{[L]} is written ŷ. Layers are numbered from 0, the input, as Ng does (Nielsen
    numbers the input layer 1).

    >>> n = ColumnsNotation((4, 3, 2, 1))
    >>> n.weight(2, 2, 1), n.delta(2, 0)
    (Name(symbol='W_2_2_3', latex='W^{[2]}_{2,3}'), Name(symbol='delta_2_1', latex='\\delta^{[2]}_{1}'))
    """

    name = "columns"
    title = "column notation"
    columns = True
    source_first = False  # W^{[l]}_{j,k}: to j from k

    def weight(self, layer: int, i: int, j: int) -> Name:
        return Name(f"W_{layer}_{j + 1}_{i + 1}", f"W^{{[{layer}]}}_{{{j + 1},{i + 1}}}")

    def delta(self, layer: int, j: int) -> Name:
        return Name(f"delta_{layer}_{j + 1}", rf"\delta^{{[{layer}]}}_{{{j + 1}}}")

    def gradient(self, kind: str, layer: int) -> str:
        """LaTeX of a layer's gradient: ∇_{a^{[l]}} L, δ^{[l]}, ∂L/∂W^{[l]}, ∂L/∂b^{[l]}."""
        loss = self.loss().latex
        return {
            "a": rf"\nabla_{{{self.layer(layer)}}} {loss}",
            "z": rf"\delta^{{[{layer}]}}",
            "W": rf"\frac{{\partial {loss}}}{{\partial W^{{[{layer}]}}}}",
            "b": rf"\frac{{\partial {loss}}}{{\partial b^{{[{layer}]}}}}",
        }[kind]

    def vector(self, kind: str, layer: int) -> str:
        """LaTeX of a layer's column vector or matrix: "a", "W", "gprime" (g^{[l]}' at z), "target"."""
        return {
            "a": self.layer(layer),
            "W": f"W^{{[{layer}]}}",
            "gprime": rf"g^{{[{layer}]\prime}}\left(z^{{[{layer}]}}\right)",
            "target": "y",
        }[kind]


NOTATIONS = {"neurons": NeuronsNotation, "layers": LayersNotation, "columns": ColumnsNotation}
