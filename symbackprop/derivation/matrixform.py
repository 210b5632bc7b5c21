"""The layer-level matrix form of backpropagation (seed 001), as data.

Row vectors throughout: z^[k] = a^[k-1] W^[k] + b^[k]. For each computed layer k, from the
output back, seed 001's four results

    g^[ka] = g^[k+1,z] (W^[k+1])^T      (1 × n_k; at the output layer: ∂E/∂ŷ entry by entry)
    g^[kz] = g'(z^[k]) ∘ g^[ka]          (1 × n_k; softmax: g^[ka] J, J_ij = ∂ŷ_i/∂z_j)
    g^[kW] = (a^[k-1])^T g^[kz]          (n_{k-1} × n_k)
    g^[kb] = g^[kz]                      (1 × n_k)

each as a named matrix formula (printed by SymPy) and as explicit entries over the scalar
symbols, which ``verify.prove_matrix_forms`` compares with the scalar chain rule entry by entry.

>>> from symbackprop.network.spec import NetworkSpec
>>> from symbackprop.network.model import Model
>>> from symbackprop.derivation.chainrule import ChainRule
>>> forms = layer_forms(ChainRule(Model(NetworkSpec.parse("2-3-1"))))
>>> [(g.name, g.shape) for g in forms[1].gradients]
[('g_a', (1, 3)), ('g_z', (1, 3)), ('g_W', (2, 3))]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import sympy

from .chainrule import ChainRule


@dataclass(frozen=True)
class VectorGradient:
    """One of g^[ka], g^[kz], g^[kW], g^[kb]: its named formula and its explicit entries."""

    name: str  # "g_a", "g_z", "g_W" or "g_b"
    symbol: sympy.MatrixSymbol  # the named matrix, e.g. g^{[3z]}
    formula: sympy.Basic  # in named matrices, e.g. (a^{[2]})^T g^{[3z]}
    entries: sympy.Matrix  # over the scalar out, weight, target and delta symbols

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(int(n) for n in self.symbol.shape)


@dataclass(frozen=True)
class LayerForm:
    """The matrix form of one computed layer."""

    layer: int
    activation: str
    gradients: tuple[VectorGradient, ...]
    jacobian: Optional[sympy.Matrix] = None  # ∂out_i/∂net_j when the activation mixes neurons (softmax)
    jacobian_symbol: Optional[sympy.MatrixSymbol] = None
    simplified: Optional[sympy.Basic] = None  # g^[Lz] = ŷ - y where the output factors cancel
    assumption: Optional[str] = None  # what ``simplified`` needs (softmax + ce: the targets sum to 1)
    names: tuple[tuple[sympy.MatrixSymbol, str], ...] = ()  # LaTeX of the named matrices above

    def gradient(self, name: str) -> VectorGradient:
        return next(g for g in self.gradients if g.name == name)


class _Names:
    """Named matrices of one model, with their LaTeX (kept apart from the scalar symbols' names)."""

    def __init__(self, chain: ChainRule):
        self.model = chain.model
        self.notation = chain.model.notation
        self.latex: dict[sympy.MatrixSymbol, str] = {}

    def matrix(self, name: str, latex: str, rows: int, columns: int) -> sympy.MatrixSymbol:
        symbol = sympy.MatrixSymbol(name, rows, columns)
        self.latex[symbol] = latex
        return symbol

    def activations(self, k: int) -> sympy.MatrixSymbol:
        n = self.model.spec.layers[k]
        return self.matrix(f"vec_a_{k}", self.notation.vector("a", k), 1, n)

    def targets(self) -> sympy.MatrixSymbol:
        return self.matrix("vec_target", self.notation.vector("target", self.model.spec.depth), 1, self.model.spec.layers[-1])

    def weights(self, k: int) -> sympy.MatrixSymbol:
        layers = self.model.spec.layers
        return self.matrix(f"mat_W_{k}", self.notation.vector("W", k), layers[k - 1], layers[k])

    def gradient(self, kind: str, k: int) -> sympy.MatrixSymbol:
        layers = self.model.spec.layers
        rows, columns = (layers[k - 1], layers[k]) if kind == "W" else (1, layers[k])
        return self.matrix(f"g_{k}{kind}", f"g^{{[{k}{kind}]}}", rows, columns)

    def derivative(self, k: int) -> sympy.MatrixSymbol:
        return self.matrix(f"vec_gprime_{k}", self.notation.vector("gprime", k), 1, self.model.spec.layers[k])

    def jacobian(self, k: int) -> sympy.MatrixSymbol:
        n = self.model.spec.layers[k]
        return self.matrix(f"mat_J_{k}", f"J^{{[{k}]}}", n, n)


def layer_forms(chain: ChainRule) -> list[LayerForm]:
    """Seed 001's vectorized results for every computed layer, output layer first."""
    m = chain.model
    names = _Names(chain)
    deltas = {d.neuron: d for d in chain.deltas}
    forms = []
    for k in range(m.spec.depth, 0, -1):
        n = m.spec.layers[k]
        delta_row = sympy.Matrix([[deltas[neuron].symbol for neuron in m.neurons(k)]])
        g_a, g_z = names.gradient("a", k), names.gradient("z", k)
        if k == m.spec.depth:
            a_formula = sympy.Matrix([[chain.factor(m.loss_symbol, out).shown for out in m.out[k]]])
            a_entries = sympy.Matrix([[chain.factor(m.loss_symbol, out).value for out in m.out[k]]])
        else:
            next_deltas = sympy.Matrix([[deltas[neuron].symbol for neuron in m.neurons(k + 1)]])
            a_formula = names.gradient("z", k + 1) * names.weights(k + 1).T
            a_entries = next_deltas * sympy.Matrix(m.weights[k + 1]).T
        local = sympy.Matrix(n, n, lambda i, j: chain.factor(m.out[k][i], m.net[k][j]).value if
                             m.activation(k).mixes or i == j else 0)
        jacobian = names.jacobian(k) if m.activation(k).mixes else None
        if jacobian is not None:
            z_formula, z_entries = g_a * jacobian, a_entries * local
        else:
            z_formula = sympy.HadamardProduct(names.derivative(k), g_a)
            z_entries = sympy.Matrix([[local[j, j] * a_entries[0, j] for j in range(n)]])
        simplifications = [deltas[neuron].simplification for neuron in m.neurons(k)]
        simplified = assumption = None
        if k == m.spec.depth and all(simplifications):
            simplified = names.activations(k) - names.targets()
            assumption = simplifications[0].assumption
        gradients = [
            VectorGradient("g_a", g_a, a_formula, a_entries),
            VectorGradient("g_z", g_z, z_formula, z_entries),
            VectorGradient("g_W", names.gradient("W", k), names.activations(k - 1).T * g_z,
                           sympy.Matrix(m.spec.layers[k - 1], n, lambda i, j: m.out[k - 1][i] * delta_row[0, j])),
        ]
        if m.biases:
            gradients.append(VectorGradient("g_b", names.gradient("b", k), g_z, delta_row))
        forms.append(
            LayerForm(k, m.activation(k).name, tuple(gradients), local if jacobian is not None else None,
                      jacobian, simplified, assumption, tuple(names.latex.items()))
        )
        names.latex = {}
    return forms
