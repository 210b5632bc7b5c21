"""``verify --batch M``: a mini-batch formula, as Ng writes them, judged against the gradient of the batch's loss.

The loss of a batch of m samples is the mean of their losses, L = (1/m) Σ_i L^(i), so the gradient
of a weight is the mean of the samples' gradients: ∂L/∂W^{[2]}_{j,k} = (1/m) Σ_i δ^{[2](i)}_j a^{[1](i)}_k,
which Ng writes dW^{[2]} = \\frac{1}{m} dZ^{[2]} A^{[1]T}. A formula is read over the batch's
matrices, one column per sample in column notation (one row per sample in the others): A^{[l]} the
outputs (X = A^{[0]}, \\hat{Y} the last layer's), Z^{[l]} the net inputs, dZ^{[l]} the deltas, Y
the targets, and m the number of samples. Every sample has its own inputs and targets, the weights
are shared; each sample's symbols are copies (``derivation.batch.sample_copies``), so the exact
test and the numbers are those of ``verify``'s ``Workspace``: the truth side is the mean of
``sympy.diff`` of each sample's plain loss. A wrong formula that is m times the gradient (the 1/m
dropped: the sum of the samples' gradients) or 1/m of it is named so, after the same test proves it.

>>> from symbackprop import derive
>>> d = derive("2-3-1", notation="columns", loss="bce", batch=2, only=["W_2_1_1", "W_2_1_2", "W_2_1_3"],
...            proof="gradients")
>>> check_batch_gradient(d, "dW^{[2]}", r"\\frac{1}{m} dZ^{[2]} A^{[1]T}").correct
True
>>> check_batch_gradient(d, "dW^{[2]}", r"dZ^{[2]} A^{[1]T}").diagnosis[0][:52]
'in every entry: the 1/m of the mean is missing: your'
"""

from __future__ import annotations

import functools
import re
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import sympy

from ..algebra.grammar import FormulaError, name_key, total_derivative
from ..derivation.batch import batch_form, sample_copies
from ..derivation.chainrule import Gradient
from ..handout.latex import to_latex
from ..network.spec import split_top_level
from ..proof import numeric
from .verify import NUMPY_SUM, GradientVerdict, MatrixVerdict, TermCheck, Workspace, check_gradient

MAX_NAMED_ORIGINALS = 3  # one-sample names listed when a batch formula uses them
ASSUMED = "each sample's targets summing to 1"  # the note of a comparison that needed the cross-entropy's assumption
WHEN_ASSUMED = "; this holds when each sample's targets sum to 1"


# Ng's sum over the samples of one sample's vector: \sum_{i=1}^{m} dz^{[2](i)} (or dZ^{[2](i)}), the (i) the sample
_SAMPLE_SUM = re.compile(r"\\sum_\{?\s*i\s*=\s*1\s*\}?\s*\^\s*\{?\s*m\s*\}?\s*"
                         r"(?P<name>d?[zZaA]|[xXyY])\^\{(?P<layer>\[\d+\])?\(i\)\}")
# what may follow that summand (the sum ends there); anything else would be a sum of products
_SUM_ENDS = re.compile(r"\s*(?:$|[-+)}=,]|\\right(?![A-Za-z])|\\\\)")
_SAMPLES = {"dz": "dZ", "dZ": "dZ", "z": "Z", "Z": "Z", "a": "A", "A": "A", "da": "dA", "dA": "dA",
            "x": "X", "X": "X", "y": "Y", "Y": "Y"}


def sums_over_samples(text: str, columns: bool) -> str:
    """Ng's two spellings of a sum over a batch's samples, in the batch's matrices: NumPy's
    ``np.sum(dZ^{[2]}, axis=1, keepdims=True)`` (axis 1 is the samples' in column notation, 0 in the
    others) and ``\\sum_{i=1}^{m} dz^{[2](i)}`` (sample i's vector), each the matrix times the ones
    vector. Any other axis is refused: it would sum a sample's neurons.

    >>> sums_over_samples(r"\\frac{1}{m} np.sum(dZ^{[2]}, axis=1, keepdims=True)", columns=True)
    '\\\\frac{1}{m} \\\\left(dZ^{[2]}\\\\right) \\\\mathbf{1}'
    >>> sums_over_samples(r"\\frac{1}{m} \\sum_{i=1}^{m} dz^{[2](i)}", columns=True)
    '\\\\frac{1}{m} dZ^{[2]} \\\\mathbf{1}'
    """
    samples_axis = 1 if columns else 0
    ones = lambda matrix: rf"\left({matrix}\right) \mathbf{{1}}" if columns else rf"\mathbf{{1}} \left({matrix}\right)"  # noqa: E731
    while (found := NUMPY_SUM.search(text)) is not None:
        depth, end = 1, found.end()
        while end < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        if depth:
            raise FormulaError("np.sum( is not closed", text, found.start())
        parts = split_top_level(text[found.end():end - 1], "(){}[]")
        options = dict(part.replace(" ", "").partition("=")[::2] for part in parts[1:])
        if set(options) - {"axis", "keepdims"} or options.get("axis") != str(samples_axis) or \
                options.get("keepdims", "True") not in ("True", "False"):
            raise FormulaError(f"np.sum over the samples is np.sum(..., axis={samples_axis}, keepdims=True) here "
                               f"(one {'column' if columns else 'row'} per sample); another axis or option is not read",
                               text, found.start())
        text = text[:found.start()] + ones(parts[0]) + text[end:]

    def vector_sum(found: re.Match) -> str:
        if not _SUM_ENDS.match(text, found.end()):  # Σ_i dz^{(i)} a^{(i)T}: the sum of a product, not a product of the sum
            raise FormulaError(r"a sum over the samples is read only of one sample's vector alone (\sum_{i=1}^{m} dz^{[2](i)}); "
                               r"write a sum of products with the batch's matrices (dZ^{[2]} A^{[1]T})", text, found.start())
        name = _SAMPLES[found.group("name")]
        layer = found.group("layer") or ""
        matrix = f"{name}^{{{layer}}}" if layer else name
        return f"{matrix} \\mathbf{{1}}" if columns else f"\\mathbf{{1}} {matrix}"

    return _SAMPLE_SUM.sub(vector_sum, text)


class BatchWorkspace(Workspace):
    """``Workspace`` over a batch of ``size`` samples: the batch's matrices as names, every
    per-sample symbol copied for each sample (with its definition), the truth the mean of the
    samples' gradients."""

    def __init__(self, derivation, definitions=None, own_names_only: bool = False, size: int | None = None,
                 gradients: bool = False):
        """``size`` samples (default: the model's batch); with ``gradients`` the batch's dW^{[l]} and
        db^{[l]} are names too, each the mean of the samples' gradients (``lint`` reads them as left sides)."""
        super().__init__(derivation)
        model, chain = derivation.model, derivation.chain
        self.batch_products = True  # Ng's A^{[1]}(1 - A^{[1]}) of n × m matrices, entry by entry
        self.size = size = size or model.spec.batch
        self.copies, latex = sample_copies(chain, size)
        self.original: dict[sympy.Symbol, tuple[sympy.Symbol, int]] = {}  # a copy -> (its symbol, its sample)
        for i, copy in enumerate(self.copies):
            self.original.update((twin, (symbol, i)) for symbol, twin in copy.items())
        self.latex_names.update(latex)
        self.names.latex.update(latex)
        originals = [(s, d) for s, d in self.one_level.items() if s in self.copies[0]]  # nets, outs, deltas: in order
        for copy in self.copies:
            self.one_level.update((copy[s], d.xreplace(copy)) for s, d in originals)
        primary = [copy[s] for copy in self.copies for s in (*model.inputs, *model.targets)]
        self.inputs += primary
        self.primary_copies = set(primary)
        self.targets = [copy[t] for copy in self.copies for t in model.targets]
        self._name_matrices()
        if gradients:
            self._name_gradients()
        self.define(definitions or {}, own_names_only)  # over the batch's names

    def _name_matrices(self) -> None:
        """The batch's matrices under the notation's names (Ng's A^{[1]}, dZ^{[2]}, X, Y in column notation)."""
        model = self.model
        notation, depth, columns = model.notation, model.spec.depth, model.notation.columns
        deltas = {d.neuron: d.symbol for d in self.derivation.chain.deltas}

        def matrix(symbols):
            rows = [[copy[s] for copy in self.copies] for s in symbols]  # one column per sample
            return sympy.ImmutableMatrix(rows if columns else list(map(list, zip(*rows))))

        def over_samples(exprs):  # one expression per neuron, for each sample
            rows = [[e.xreplace(copy) for copy in self.copies] for e in exprs]
            return sympy.ImmutableMatrix(rows if columns else list(map(list, zip(*rows))))

        named = {}
        for k in range(depth + 1):
            named[notation.batch("A", k)] = matrix(model.out[k] if k else model.inputs)
        for k in range(1, depth + 1):
            named[notation.batch("dZ", k)] = matrix([deltas[n] for n in model.neurons(k)])
            if columns:
                named[f"Z^{{[{k}]}}"] = matrix(model.net[k])
        for k in range(depth + 1):  # Ng's dA^{[l]}: each sample's ∂L/∂a^{[l]}, as dZ^{[l]} holds its δ (dZ = dA * g'(Z))
            named[notation.batch("dA", k)] = over_samples(
                [total_derivative(model.loss_symbol, out, self.one_level) for out in model.out[k]])
        named[notation.batch("Y", depth)] = matrix(model.targets)
        if columns:
            named["X"], named[r"\hat{Y}"] = named[notation.batch("A", 0)], named[notation.batch("A", depth)]
        named[r"\mathbf{1}"] = sympy.ImmutableMatrix(sympy.ones(*((self.size, 1) if columns else (1, self.size))))
        for spelling, value in named.items():  # the messages list them as spelled here
            self.names[name_key(spelling)] = value
            self.names.latex[value] = spelling
        self.names[name_key("m")] = sympy.Integer(self.size)
        self.batch_names = tuple(named) + ("m",)

    def _name_gradients(self) -> None:
        """dW^{[l]} and db^{[l]} (the notation's spelling) as the matrices of the mean gradients,
        laid out as the layer's W^{[l]} and b^{[l]} are."""
        model, chain = self.model, self.derivation.chain
        notation, columns = model.notation, model.notation.columns
        by_symbol = {p.symbol: p for p in chain.parameters}

        def mean_gradient(symbol):
            return self.mean(chain.gradient(by_symbol[symbol], with_paths=False).delta_value)

        for k in range(1, model.spec.depth + 1):
            weights = sympy.Matrix(model.weights[k])  # from i to j: n_{k-1} × n_k
            value = (weights.T if columns else weights).applyfunc(mean_gradient)
            self.names[name_key(notation.batch("dW", k))] = sympy.ImmutableMatrix(value)
            if model.biases:
                biases = model.biases[k][:1] if model.spec.shared_bias else model.biases[k]
                row = [mean_gradient(b) for b in biases]
                value = sympy.ImmutableMatrix([[v] for v in row] if columns else [row])
                self.names[name_key(notation.batch("db", k))] = value

    def parse(self, text: str, *args, **options) -> sympy.Expr:
        """``Workspace.parse`` over the batch's matrices, with Ng's sums over the samples read (``sums_over_samples``)."""
        return super().parse(sums_over_samples(text, self.model.notation.columns), *args, **options)

    # -- numbers and expansions over the copies --------------------------------------------------
    def sample(self, n: int, seed: int) -> dict[sympy.Symbol, np.ndarray]:
        """The network's random point (its weights), and for each sample inputs and targets of its own."""
        if (n, seed) in self.samples:
            return self.samples[n, seed]
        model = self.model
        values = numeric.random_points(model, n, seed)  # the weights (one sample's symbols are not used)
        for i, copy in enumerate(self.copies, 1):
            drawn = numeric.random_points(model, n, seed + 7919 * i)
            if self.given:
                drawn = numeric.as_distribution(model, drawn)
            values.update((copy[s], drawn[s]) for s in (*model.inputs, *model.targets))
        memo: dict = {}
        for symbol, definition in self.one_level.items():  # in order: each copy after what it uses
            if (symbol in self.original or symbol in self.user_definitions) and symbol not in values:
                values[symbol] = self.evaluate(definition, values, memo)
        self.samples[n, seed] = values
        return values

    def expand(self, expr: sympy.Expr, through: sympy.Symbol | None = None) -> sympy.Expr:
        """``expr`` over the weights and each sample's inputs and targets (the whole forward pass of
        each sample: ``through`` is not taken)."""
        if through is not None:
            raise NotImplementedError("a batch workspace expands every sample's whole forward pass")
        copied = {}
        for symbol in expr.free_symbols:
            if symbol in self.original and symbol not in self.primary_copies:
                original, i = self.original[symbol]
                copied[symbol] = super().expand(original).xreplace(self.copies[i])
        return super().expand(expr.xreplace(copied) if copied else expr)

    @property
    def full(self) -> dict[sympy.Symbol, sympy.Expr]:
        raise NotImplementedError("a batch workspace expands only what a formula uses (expand)")

    def targets_matter(self, exprs) -> bool:
        return self.model.loss_function.targets_sum_to_one and bool(self.depends_on(exprs) & set(self.targets))

    @contextmanager
    def assuming_targets_sum_to_one(self):
        """Each sample's targets sum to 1."""
        with super().assuming_targets_sum_to_one():
            targets = self.model.targets
            for copy in self.copies:
                self.given[copy[targets[-1]]] = 1 - sympy.Add(*(copy[t] for t in targets[:-1]))
            yield

    # -- the truth: the mean of the samples' gradients -------------------------------------------
    def mean(self, expr: sympy.Expr) -> sympy.Expr:
        """(1/m) Σ_i ``expr`` of sample i (``expr`` over one sample's symbols; the weights shared)."""
        return sympy.Rational(1, self.size) * sympy.Add(*(expr.xreplace(copy) for copy in self.copies))

    def gradient_value(self, gradient: Gradient) -> sympy.Expr:
        return self.mean(gradient.delta_value)

    def gradient_exact(self, parameter: sympy.Symbol) -> sympy.Expr:
        return self.mean(super().gradient_exact(parameter))

    def gradient_latex(self, gradient: Gradient, written: sympy.Basic | None = None) -> str:
        return self.latex(sympy.Mul(sympy.Rational(1, self.size), sympy.Add(*(
            gradient.delta_value.xreplace(copy) for copy in self.copies), evaluate=False), evaluate=False))

    def gradient_mistakes(self, gradient: Gradient, written: sympy.Expr, points: int,
                          seed: int) -> tuple[tuple[TermCheck, ...], tuple[str, ...]]:
        """The 1/m dropped (m times the gradient) or taken twice (1/m of it), each proven by the
        same test as the verdict; no other mistake is named in a batch formula."""
        truth = self.gradient_value(gradient)
        exact = self.gradient_exact(gradient.parameter.symbol)
        m = sympy.Integer(self.size)
        for factor, said in ((m, "the 1/m of the mean is missing: your formula is m times the gradient (the sum "
                                 "of the samples' gradients)"),
                             (1 / m, "1/m is taken twice: your formula is the gradient divided by m")):
            found = self.judge(written, factor * truth, lambda f=factor: f * exact, points, seed, 0.0, ASSUMED)
            if found.equal:
                return (), (said + (WHEN_ASSUMED if ASSUMED in found.note else ""),)
        return (), ()

    def matrix_latex(self, target: sympy.ImmutableMatrix) -> str:
        """The layer's batch formula as the handout prints it (``derivation.batch``): \\frac{1}{m} dZ^{[2]} (A^{[1]})^T."""
        model, first = self.model, target[0]
        layer = next(k for k in range(1, model.spec.depth + 1)
                     if any(first in row for row in model.weights[k]) or (model.biases and first in model.biases[k]))
        kind = "dW" if any(first in row for row in model.weights[layer]) else "db"
        form = batch_form(self.derivation.chain)  # for the model's batch size, this workspace's
        gradient = next(g for g in form.layers if g.layer == layer).gradient(kind)
        return to_latex(gradient.formula, dict(form.names), hadamard=r"\odot" if form.columns else r"\circ")

    def scale_mistake(self, left: sympy.ImmutableMatrix, right: sympy.ImmutableMatrix, points: int, seed: int) -> str:
        """Words for two sides of a batch equation of which one is m times the other in every entry
        (a 1/m dropped or doubled, ``lint``), after the same test as a verdict proves it; else ""."""
        m = sympy.Integer(self.size)
        for factor, said in ((m, "the right side is m times the left: a 1/m is missing on the right (or extra on "
                                 "the left)"),
                             (1 / m, "the left side is m times the right: a 1/m is missing on the left (or extra on "
                                     "the right)")):
            found = [self.judge(r, factor * l, lambda e=factor * l: self.expand(e), points, seed, 0.0, ASSUMED)
                     for l, r in zip(left, right)]
            if all(f.equal for f in found):
                return said + (WHEN_ASSUMED if any(ASSUMED in f.note for f in found) else "")
        return ""

    def check_names(self, written: sympy.Basic, text: str) -> None:
        """Refuse one sample's names (a^{[1]}_1, δ^{[2]}) in a batch formula: they are no sample of the batch."""
        model = self.model
        symbols = written.free_symbols if isinstance(written, sympy.Basic) else set()
        for symbol in [s for s in symbols if s in self.user_definitions]:  # and in the shorthands it uses
            symbols |= self.expand(symbol).free_symbols
        alone = sorted((s for s in symbols if s in self.copies[0]), key=lambda s: s.name)
        if alone:
            shown = ", ".join(model.latex_names[s] for s in alone[:MAX_NAMED_ORIGINALS])
            raise FormulaError(f"{shown} {'is' if len(alone) == 1 else 'are'} one sample's, not the batch's: with "
                               f"--batch write the batch's matrices ({', '.join(self.batch_names)})", text, None)


def check_batch_gradient(derivation, parameter: str, text: str, **options) -> GradientVerdict | MatrixVerdict:
    """``check_gradient`` for a mini-batch of ``derivation.model.spec.batch`` samples (``verify --batch``):
    ``text`` over the batch's matrices, judged against the gradient of the mean loss. m is the number
    M there, so what depends on it is judged for a second batch size too: a formula right for M
    samples but not for the other (a number where m belongs, 1/2 for 1/m at M = 2) is wrong, said so,
    and "the 1/m is missing" is said only where it holds for both (not of 2/m at M = 2)."""
    verdict = check_gradient(derivation, parameter, text, workspace=BatchWorkspace, **options)
    spec = derivation.model.spec
    about_m = _mean_words(verdict)
    if verdict.correct is not True and not about_m:
        return verdict
    size, other = spec.batch, spec.batch_size(spec.batch + 1)
    again = check_gradient(derivation, parameter, text, workspace=functools.partial(BatchWorkspace, size=other), **options)
    if verdict.correct is True:
        if again.correct is not False:
            return verdict
        words = (f"right for a batch of {size} samples but not for {other}: the formula does not hold for every m",)
        return _with_mistakes(again, lambda entry: words if entry.correct is False else ())
    if about_m and not _mean_words(again):  # the 1/m words held at M only (2/m at M = 2): not said
        return _with_mistakes(verdict, lambda entry: tuple(w for w in entry.mistakes if "1/m" not in w))
    return verdict


def _mean_words(verdict) -> bool:
    entries = verdict.entries if isinstance(verdict, MatrixVerdict) else (verdict,)
    return any("1/m" in w for e in entries for w in e.mistakes)


def _with_mistakes(verdict, mistakes):
    """The verdict with each entry's named mistakes replaced by ``mistakes(entry)``."""
    if isinstance(verdict, MatrixVerdict):
        return replace(verdict, entries=tuple(replace(e, mistakes=mistakes(e)) for e in verdict.entries))
    return replace(verdict, mistakes=mistakes(verdict))
