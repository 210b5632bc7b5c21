"""The mini-batch form of backpropagation, as data: m samples at once, one matrix per layer.

The loss of a batch is the mean of the samples' losses, L = (1/m) Σ_i L^(i); each sample runs
through the same weights. With one column per sample (column notation, as Ng writes it):

    dZ^[L] = A^[L] - Y                            (where the output factors cancel; else dA^[L] ⊙ g'(Z^[L]))
    dZ^[l] = ((W^[l+1])^T dZ^[l+1]) ⊙ g^[l]'(Z^[l])
    dW^[l] = (1/m) dZ^[l] (A^[l-1])^T,     db^[l] = (1/m) dZ^[l] 1

and with one row per sample (layer and letter notation) the transposes, dW^[k] = (1/m) (A^[k-1])^T dZ^[k].
Column i of dZ^[l] (row i in rows layout) is sample i's delta vector, so every formula has
explicit entries over per-sample copies of the scalar symbols (out_{c_1} of sample 2 is
``out_c_1__2``), which ``proof.batch`` compares with the mean of the per-sample gradients.

>>> from symbackprop.network.spec import NetworkSpec
>>> from symbackprop.network.model import Model
>>> from symbackprop.derivation.chainrule import ChainRule
>>> form = batch_form(ChainRule(Model(NetworkSpec.parse("2-3-1", notation="columns", batch=2))))
>>> [(g.name, g.shape) for g in form.layers[0].gradients]
[('dZ', (1, 2)), ('dW', (1, 3))]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import sympy

from .chainrule import ChainRule

BATCH_SIZE = sympy.Symbol("m", positive=True)  # printed in the formulas; the entries use the number


@dataclass(frozen=True)
class BatchGradient:
    """dZ, dW or db of one layer: its formula in named matrices and its explicit entries."""

    name: str  # "dZ", "dW" or "db"
    symbol: sympy.MatrixSymbol
    formula: sympy.Basic
    entries: sympy.Matrix  # over per-sample copies of out, target, delta symbols, and the weights

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(int(n) for n in self.symbol.shape)


@dataclass(frozen=True)
class BatchLayer:
    layer: int
    gradients: tuple[BatchGradient, ...]
    assumption: Optional[str] = None  # what dZ^[L] = A^[L] - Y needs (softmax + ce: each sample's targets sum to 1)

    def gradient(self, name: str) -> BatchGradient:
        return next(g for g in self.gradients if g.name == name)


@dataclass(frozen=True)
class BatchForm:
    """The batch equations of every computed layer (output layer first) for ``size`` samples."""

    size: int
    columns: bool  # one column per sample (else one row per sample)
    samples: tuple[dict, ...]  # per sample, each per-sample symbol -> its copy for that sample
    loss: sympy.Expr  # (1/m) Σ_i L^(i), over per-sample copies of the output and target symbols
    layers: tuple[BatchLayer, ...]
    names: tuple[tuple[sympy.Basic, str], ...]  # LaTeX of the named matrices and copied symbols


def sample_symbols(chain: ChainRule) -> list[sympy.Symbol]:
    """The symbols that differ from sample to sample: inputs, targets, every net, out and delta."""
    m = chain.model
    symbols = list(m.inputs) + list(m.targets)
    symbols += [s for k in range(1, m.spec.depth + 1) for s in m.net[k] + m.out[k]]
    return symbols + [delta.symbol for delta in chain.deltas]


def sample_copies(chain: ChainRule, size: int) -> tuple[list[dict], dict[sympy.Symbol, str]]:
    """For each of ``size`` samples, each per-sample symbol (``sample_symbols``) -> its copy for
    that sample (out_c_1 of sample 2 is ``out_c_1__2``), and the copies' LaTeX ({out_{c_1}}^{(2)}).

    >>> from symbackprop.network.model import Model
    >>> from symbackprop.network.spec import NetworkSpec
    >>> copies, latex = sample_copies(ChainRule(Model(NetworkSpec.parse("1-1"))), 2)
    >>> copies[1][sympy.Symbol("out_b_1", real=True)], latex[copies[1][sympy.Symbol("out_b_1", real=True)]]
    (out_b_1__2, '{\\\\mathrm{out}_{b_1}}^{(2)}')
    """
    latex: dict[sympy.Symbol, str] = {}
    copies = []
    for sample in range(1, size + 1):
        copy = {}
        for symbol in sample_symbols(chain):
            twin = sympy.Symbol(f"{symbol.name}__{sample}", real=True)
            latex[twin] = f"{{{chain.model.latex_names[symbol]}}}^{{({sample})}}"
            copy[symbol] = twin
        copies.append(copy)
    return copies, latex


def batch_form(chain: ChainRule) -> BatchForm:
    """The mini-batch equations for ``chain.model.spec.batch`` samples."""
    model, notation = chain.model, chain.model.notation
    spec, size, columns = model.spec, model.spec.batch, model.notation.columns
    copies, copied = sample_copies(chain, size)
    latex: dict[sympy.Basic, str] = dict(copied)

    def matrix(name: str, text: str, rows: int, cols: int) -> sympy.MatrixSymbol:
        symbol = sympy.MatrixSymbol(name, rows, cols)
        latex[symbol] = text
        return symbol

    def per_sample(n: int, entry) -> sympy.Matrix:
        """n × m with one column per sample (columns), else m × n; ``entry(j, sample_copy)``."""
        if columns:
            return sympy.Matrix(n, size, lambda j, s: entry(j, copies[s]))
        return sympy.Matrix(size, n, lambda s, j: entry(j, copies[s]))

    def batch_matrix(kind: str, k: int, n: int) -> sympy.MatrixSymbol:
        rows, cols = (n, size) if columns else (size, n)
        return matrix(f"batch_{kind}_{k}", notation.batch(kind, k), rows, cols)

    def weights(k: int) -> tuple[sympy.MatrixSymbol, sympy.Matrix]:
        n_before, n = spec.layers[k - 1], spec.layers[k]
        explicit = sympy.Matrix(model.weights[k])  # n_{k-1} × n_k, from i to j
        if columns:
            return matrix(f"mat_W_{k}", notation.vector("W", k), n, n_before), explicit.T
        return matrix(f"mat_W_{k}", notation.vector("W", k), n_before, n), explicit

    def hadamard(a: sympy.Matrix, b: sympy.Matrix) -> sympy.Matrix:
        return a.multiply_elementwise(b)

    deltas = {d.neuron: d for d in chain.deltas}
    mean = sympy.Rational(1, size)
    layers = []
    for k in range(spec.depth, 0, -1):
        n, n_before = spec.layers[k], spec.layers[k - 1]
        neurons = model.neurons(k)
        d_z = batch_matrix("dZ", k, n)
        delta_symbols = per_sample(n, lambda j, c: c[deltas[neurons[j]].symbol])
        a_before = batch_matrix("A", k - 1, n_before)
        a_before_entries = per_sample(n_before, lambda i, c: c[model.out[k - 1][i]])
        derivative = batch_matrix("gprime", k, n)
        derivative_entries = per_sample(n, lambda j, c: chain.factor(model.out[k][j], model.net[k][j]).value.xreplace(c))
        assumption = None
        if k == spec.depth:
            simplifications = [deltas[neuron].simplification for neuron in neurons]
            if all(simplifications):  # Ng's dZ^[L] = A^[L] - Y
                z_formula = batch_matrix("A", k, n) - batch_matrix("Y", k, n)
                z_entries = per_sample(n, lambda j, c: (model.out[k][j] - model.targets[j]).xreplace(c))
                assumption = simplifications[0].assumption
            else:
                d_a = per_sample(n, lambda j, c: chain.factor(model.loss_symbol, model.out[k][j]).value.xreplace(c))
                z_formula = sympy.HadamardProduct(batch_matrix("dA", k, n), derivative)
                z_entries = hadamard(d_a, derivative_entries)
        else:
            w_next, w_next_entries = weights(k + 1)
            next_z = batch_matrix("dZ", k + 1, spec.layers[k + 1])
            next_deltas = per_sample(spec.layers[k + 1], lambda j, c: c[deltas[model.neurons(k + 1)[j]].symbol])
            if columns:
                z_formula = sympy.HadamardProduct(w_next.T * next_z, derivative)
                z_entries = hadamard(w_next_entries.T * next_deltas, derivative_entries)
            else:
                z_formula = sympy.HadamardProduct(next_z * w_next.T, derivative)
                z_entries = hadamard(next_deltas * w_next_entries.T, derivative_entries)
        ones = matrix("ones", r"\mathbf{1}", *((size, 1) if columns else (1, size)))
        if columns:
            w_formula = BATCH_SIZE**-1 * d_z * a_before.T
            w_entries = mean * delta_symbols * a_before_entries.T
            b_formula, b_entries = BATCH_SIZE**-1 * d_z * ones, mean * delta_symbols * sympy.ones(size, 1)
        else:
            w_formula = BATCH_SIZE**-1 * a_before.T * d_z
            w_entries = mean * a_before_entries.T * delta_symbols
            b_formula, b_entries = BATCH_SIZE**-1 * ones * d_z, mean * sympy.ones(1, size) * delta_symbols
        w_shape = (n, n_before) if columns else (n_before, n)
        b_shape = (n, 1) if columns else (1, n)
        gradients = [
            BatchGradient("dZ", d_z, z_formula, z_entries),
            BatchGradient("dW", matrix(f"batch_dW_{k}", notation.batch("dW", k), *w_shape), w_formula, w_entries),
        ]
        if model.spec.shared_bias:  # the sum over the layer's neurons too: 1^T dZ 1 / m
            row = matrix(f"ones_{k}", r"\mathbf{1}", *((n, 1) if columns else (1, n)))
            b_formula = BATCH_SIZE**-1 * (row.T * d_z * ones if columns else ones * d_z * row.T)
            b_entries = sympy.Matrix([[mean * sympy.Add(*delta_symbols)]])
            gradients.append(BatchGradient("db", matrix(f"batch_db_{k}", notation.batch("db", k), 1, 1), b_formula, b_entries))
        elif model.biases:
            gradients.append(BatchGradient("db", matrix(f"batch_db_{k}", notation.batch("db", k), *b_shape),
                                           b_formula, b_entries))
        layers.append(BatchLayer(k, tuple(gradients), assumption))
    loss = mean * sympy.Add(*(model.loss.xreplace(copy) for copy in copies))
    latex[BATCH_SIZE] = "m"
    return BatchForm(size, columns, tuple(copies), loss, tuple(layers), tuple(latex.items()))
