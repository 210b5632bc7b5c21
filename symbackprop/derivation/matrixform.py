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

from ..network.model import canonical_sum, product
from .chainrule import ChainRule


@dataclass(frozen=True)
class VectorGradient:
    """One of g^[ka], g^[kz], g^[kW], g^[kb]: its named formula and its explicit entries."""

    name: str  # "g_a", "g_z", "g_W" or "g_b"
    symbol: sympy.MatrixSymbol  # the named matrix, e.g. g^{[3z]}
    formula: sympy.Basic  # in named matrices, e.g. (a^{[2]})^T g^{[3z]}
    entries: sympy.Matrix  # over the scalar out, weight, target and delta symbols
    columns: bool = False  # column vectors (W^[k] is n_k × n_{k-1}) rather than rows

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(int(n) for n in self.symbol.shape)

    def at(self, j: int, i: Optional[int] = None) -> sympy.Expr:
        """The entry for neuron j of the layer (and, in g_W, neuron i of the layer before),
        whichever way the vectors stand.

        >>> g = VectorGradient("g_z", sympy.MatrixSymbol("d", 2, 1), None, sympy.Matrix([1, 2]), columns=True)
        >>> g.at(1)
        2
        """
        if i is None:
            if self.entries.shape == (1, 1):  # a shared bias's one gradient
                return self.entries[0, 0]
            return self.entries[j, 0] if self.columns else self.entries[0, j]
        return self.entries[j, i] if self.columns else self.entries[i, j]


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

    def vector(self, name: str, latex: str, n: int) -> sympy.MatrixSymbol:
        """A layer's vector of n entries: 1 × n as a row, n × 1 as a column."""
        return self.matrix(name, latex, *((n, 1) if self.notation.columns else (1, n)))

    def activations(self, k: int) -> sympy.MatrixSymbol:
        return self.vector(f"vec_a_{k}", self.notation.vector("a", k), self.model.spec.layers[k])

    def targets(self) -> sympy.MatrixSymbol:
        return self.vector("vec_target", self.notation.vector("target", self.model.spec.depth), self.model.spec.layers[-1])

    def weights(self, k: int) -> sympy.MatrixSymbol:
        layers = self.model.spec.layers
        shape = (layers[k], layers[k - 1]) if self.notation.columns else (layers[k - 1], layers[k])
        return self.matrix(f"mat_W_{k}", self.notation.vector("W", k), *shape)

    def gradient(self, kind: str, k: int) -> sympy.MatrixSymbol:
        layers = self.model.spec.layers
        latex = self.notation.gradient(kind, k)
        if kind == "W":
            shape = (layers[k], layers[k - 1]) if self.notation.columns else (layers[k - 1], layers[k])
            return self.matrix(f"g_{k}{kind}", latex, *shape)
        return self.vector(f"g_{k}{kind}", latex, layers[k])

    def derivative(self, k: int) -> sympy.MatrixSymbol:
        return self.vector(f"vec_gprime_{k}", self.notation.vector("gprime", k), self.model.spec.layers[k])

    def jacobian(self, k: int) -> sympy.MatrixSymbol:
        n = self.model.spec.layers[k]
        return self.matrix(f"mat_J_{k}", f"J^{{[{k}]}}", n, n)


def layer_forms(chain: ChainRule) -> list[LayerForm]:
    """The vectorized results for every computed layer, output layer first: seed 001's row form,
    or in column notation Nielsen's BP1-BP4 (δ^[L] = ∇_ŷ L ⊙ g'(z^[L]), δ^[l] = ((W^[l+1])^T δ^[l+1])
    ⊙ g'(z^[l]), ∂L/∂b^[l] = δ^[l], ∂L/∂W^[l] = δ^[l] (a^[l-1])^T)."""
    m = chain.model
    columns = m.notation.columns
    names = _Names(chain)
    deltas = {d.neuron: d for d in chain.deltas}
    vector = (lambda items: sympy.Matrix(items)) if columns else (lambda items: sympy.Matrix([items]))  # noqa: E731
    forms = []
    for k in range(m.spec.depth, 0, -1):
        n, n_before = m.spec.layers[k], m.spec.layers[k - 1]
        delta_vector = vector([deltas[neuron].symbol for neuron in m.neurons(k)])
        g_a, g_z = names.gradient("a", k), names.gradient("z", k)
        if k == m.spec.depth:
            a_formula = vector([chain.factor(m.loss_symbol, out).shown for out in m.out[k]])
            a_entries = vector([chain.factor(m.loss_symbol, out).value for out in m.out[k]])
        else:
            next_deltas = [deltas[neuron].symbol for neuron in m.neurons(k + 1)]
            through = [canonical_sum([product(m.weights[k + 1][i][j], d) for j, d in enumerate(next_deltas)])
                       for i in range(n)]
            a_entries = vector(through)
            if columns:
                a_formula = names.weights(k + 1).T * names.gradient("z", k + 1)
            else:
                a_formula = names.gradient("z", k + 1) * names.weights(k + 1).T
        local = sympy.Matrix(n, n, lambda i, j: chain.factor(m.out[k][i], m.net[k][j]).value if
                             m.activation(k).mixes or i == j else 0)
        jacobian = names.jacobian(k) if m.activation(k).mixes else None
        a_list = list(a_entries)
        if jacobian is not None:  # δ_j = Σ_i ∂L/∂out_i · J_ij
            z_formula = jacobian.T * g_a if columns else g_a * jacobian
            z_entries = vector([sympy.Add(*(a_list[i] * local[i, j] for i in range(n))) for j in range(n)])
        else:
            if columns:  # BP1, and BP2 with the sum through W^T written in: ((W^[l+1])^T δ^[l+1]) ⊙ g'(z^[l])
                z_formula = sympy.HadamardProduct(g_a if k == m.spec.depth else a_formula, names.derivative(k))
            else:
                z_formula = sympy.HadamardProduct(names.derivative(k), g_a)
            z_entries = vector([local[j, j] * a_list[j] for j in range(n)])
        simplifications = [deltas[neuron].simplification for neuron in m.neurons(k)]
        simplified = assumption = None
        if k == m.spec.depth and all(simplifications):
            simplified = names.activations(k) - names.targets()
            assumption = simplifications[0].assumption
        deltas_list = list(delta_vector)
        if columns:
            w_formula = g_z * names.activations(k - 1).T
            w_entries = sympy.Matrix(n, n_before, lambda j, i: chain.delta_product(deltas_list[j], m.out[k - 1][i]))
        else:
            w_formula = names.activations(k - 1).T * g_z
            w_entries = sympy.Matrix(n_before, n, lambda i, j: chain.delta_product(deltas_list[j], m.out[k - 1][i]))
        gradients = [
            VectorGradient("g_a", g_a, a_formula, a_entries, columns),
            VectorGradient("g_z", g_z, z_formula, z_entries, columns),
            VectorGradient("g_W", names.gradient("W", k), w_formula, w_entries, columns),
        ]
        if m.spec.shared_bias:  # one bias in every net input of the layer: the sum of its deltas, 1^T δ
            ones = names.vector(f"ones_{k}", r"\mathbf{1}", n)
            b_formula = ones.T * g_z if columns else g_z * ones.T
            gradients.append(VectorGradient("g_b", names.matrix(f"g_{k}b", names.notation.gradient("b", k), 1, 1),
                                            b_formula, sympy.Matrix([[sympy.Add(*deltas_list)]]), columns))
        elif m.biases:
            gradients.append(VectorGradient("g_b", names.gradient("b", k), g_z, delta_vector, columns))
        forms.append(
            LayerForm(k, m.activation(k).name, tuple(gradients), local if jacobian is not None else None,
                      jacobian, simplified, assumption, tuple(names.latex.items()))
        )
        names.latex = {}
    return forms
