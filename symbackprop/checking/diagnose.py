"""What is wrong with a gradient formula, named as a teacher would, and only when it is certain.

The true gradient is the delta recursion of ``derivation.chainrule``: ∂E/∂w_ij = δ_j · out_i,
δ_j = (Σ_n δ_n w_jn) · g'(net_j), δ at the output = ∂E/∂out · g'. Each usual mistake is a
*mutation* of that structure: one local factor dropped or replaced (a term through d_2
missing, w_{22} where the path needs w_{23}, σ for σ', the output layer's σ' in a hidden layer,
sigmoid' in a tanh layer, net where out is needed, relu's gate forgotten, the sign of
∂E/∂out flipped), the whole scaled (the ½ dropped), another parameter's gradient (indices
swapped), and for the cross-entropies the sigmoid-style δ = (ŷ − y) ŷ (1 − ŷ) and the softmax's
dropped off-diagonal terms. Every mutation is evaluated at the same random points as the user's
formula (NumPy, float64); a mutation is reported only when its values equal the user's at every
point (relative 1e-9) and differ from the true gradient's, so the words describe a formula that
*is* the user's, whatever form it was written in (a path sum, a factored recursion, a vector
form). When nothing matches, nothing is said.

>>> from symbackprop import derive
>>> from symbackprop.checking.verify import check_gradient
>>> d = derive("2-4-3-2", only=["w_21"])
>>> check_gradient(d, "w_21", r"(\\delta_{d_1} w_{31} + \\delta_{d_2} w_{33}) out_{c_1}(1-out_{c_1}) out_{b_1}").diagnosis
['the term through d_2 has a wrong weight: w_{33} where it needs w_{34}']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sympy

from ..algebra.expressions import Total
from ..algebra.lazy import numpy as np
from ..derivation.chainrule import Gradient, Parameter
from ..network.activations import ACTIVATIONS

if TYPE_CHECKING:  # for annotations only
    from ..api import Derivation

MATCH = 1e-9  # relative: a mutation equals the user's formula
DIFFERENT = 1e-6  # relative: a mutation differs from the true gradient somewhere
MAX_MUTATIONS = 4000  # single mutations evaluated (a wide layer has many weights to swap in)
MAX_OTHER_PARAMETERS = 400  # other parameters whose gradient the formula may be
MAX_SWAPPED_WEIGHTS = 64  # a layer with more weights offers only those sharing a neuron as wrong weights
SECONDS = 1.5  # the search for a mistake stops after this long (it then says nothing)


@dataclass(frozen=True)
class Mutation:
    """One named mistake: local factors (``of``, ``wrt``) replaced by values (ones: omitted, zeros: the term dropped), a
    scale of the whole, or another value altogether; ``message`` says it in words."""

    message: str
    replace: tuple = ()  # ((of, wrt), array), ...
    scale: float = 1.0
    value: Callable[[], np.ndarray] | None = None  # the mutated gradient outright (another parameter's), on demand
    rank: int = 0  # simpler explanations first


@dataclass
class _Structure:
    """The gradient's delta recursion at the sample points, with hooks to change any local factor."""

    derivation: Derivation
    gradient: Gradient
    values: dict
    evaluate: Callable
    factor_values: dict = field(default_factory=dict)
    visited: list = field(default_factory=list)  # local factors (of, wrt) on the gradient's paths, in order

    def factor(self, f) -> np.ndarray:
        key = (f.of, f.wrt)
        if key not in self.factor_values:
            self.factor_values[key] = np.broadcast_to(np.asarray(self.evaluate(f.value, self.values), float),
                                                      self.shape)
        return self.factor_values[key]

    @property
    def shape(self):
        return np.shape(next(iter(self.values.values())))

    def value(self, mutation: Mutation | None = None, record: bool = False) -> np.ndarray:
        chain = self.derivation.chain
        changes = dict(mutation.replace) if mutation else {}
        memo: dict = {}

        def local(f):
            key = (f.of, f.wrt)
            if record and key not in seen:
                seen.add(key)
                self.visited.append((key, f))
            if key in changes:
                return changes[key]
            return self.factor(f)

        def delta(d) -> np.ndarray:
            if d.symbol in memo:
                return memo[d.symbol]
            total = np.zeros(self.shape)
            for term in d.terms:
                upstream = np.zeros(self.shape)
                for f, user in term.upstream:
                    weight = local(f)
                    upstream = upstream + weight * (1.0 if user is None else delta(by_symbol[user]))
                activation = local(term.activation)
                total = total + upstream * activation
            memo[d.symbol] = total
            return total

        seen: set = set()
        by_symbol = {d.symbol: d for d in chain.deltas}
        result = np.zeros(self.shape)
        for d, f in self.gradient.terms:
            inputs = local(f)
            result = result + delta(d) * inputs
        return result * (mutation.scale if mutation else 1.0)


def _alike(a: np.ndarray, b: np.ndarray, tolerance: float) -> bool:
    """Equal within ``tolerance`` (relative) at every point where both are finite (at least half of them)."""
    with np.errstate(all="ignore"):
        finite = np.isfinite(a) & np.isfinite(b)
        if finite.sum() < max(1, (len(a) + 1) // 2):
            return False
        scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)
        return bool(np.all(np.abs(a - b)[finite] <= tolerance * scale[finite] + 1e-280))


class Diagnosis:
    """The mutations of one gradient, and the one the user's formula is (``explain``)."""

    def __init__(self, derivation: Derivation, gradient: Gradient, values: dict, evaluate: Callable,
                 latex: Callable[[sympy.Basic], str], label: Callable | None = None):
        self.derivation, self.gradient = derivation, gradient
        self.label = label or derivation.model.label  # a neuron's name in the words: c_2 (or the walk-through's o_2)
        printed: dict = {}  # the same few names are printed in many mutations' messages

        def shown(expr):
            if expr not in printed:
                printed[expr] = latex(expr)
            return printed[expr]

        self.latex = shown
        self.model = derivation.model
        self.loss = shown(self.model.loss_symbol)  # every message names the loss as the notation does: E_total, L
        self.structure = _Structure(derivation, gradient, values, evaluate)
        self.ones, self.zeros = np.ones(self.structure.shape), np.zeros(self.structure.shape)
        self.truth = self.structure.value(record=True)
        self.values, self.evaluate = values, evaluate

    # -- names ---------------------------------------------------------------------------------
    def _array(self, expr: sympy.Expr) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.evaluate(expr, self.values), float), self.structure.shape)

    # -- the mutations -------------------------------------------------------------------------
    def mutations(self) -> Iterable[Mutation]:
        m = self.model
        loss = m.loss_symbol
        activations = {}
        for (of, wrt), f in self.structure.visited:
            if of == loss:
                yield from self._loss_factor(of, wrt, f)
            elif of in m.computed_outs and wrt in m.neuron_of and wrt not in m.computed_outs:
                activations.setdefault(m.neuron_of[wrt].layer, []).append((of, wrt, f))
                yield from self._activation_factor(of, wrt, f)
            elif wrt == self.gradient.parameter.symbol:
                yield from self._input_factor(of, wrt, f)
            else:
                yield from self._weight_factor(of, wrt, f)
        yield from self._output_delta()
        yield from self._softmax_diagonal(activations)

    def _loss_factor(self, of, wrt, f):
        out = self.latex(wrt)
        target = self.model.targets[self.model.neuron_of[wrt].index]
        partial = f"∂{self.loss}/∂{out}"
        value = self.structure.factor(f)
        shown = self.latex(f.shown)
        yield Mutation(f"{partial} has the wrong sign: it is {shown}, not its negative "
                       f"(the error is {out} − {self.latex(target)})", (((of, wrt), -value),), rank=1)
        yield Mutation(f"{partial} is twice what it should be: {self._half()}",
                       (((of, wrt), 2 * value),), rank=2) if self.model.spec.loss == "mse" else \
            Mutation(f"{partial} has a factor 2 too many", (((of, wrt), 2 * value),), rank=2)
        net = self._net_for_out(wrt)
        if net is not None:
            yield Mutation(f"{self.latex(net)} where {out} is needed (in {partial})",
                           (((of, wrt), self._array(f.value.xreplace({wrt: net}))),), rank=2)
        yield Mutation(f"the error factor {partial} = {shown} is missing", (((of, wrt), self.ones),),
                       rank=3)
        if self.model.spec.loss != "mse":
            squared = Total(wrt, -target)
            yield Mutation(f"{partial} is the squared error's {self.latex(squared)}, not the cross-entropy's {shown}",
                           (((of, wrt), self._array(wrt - target)),), rank=2)

    def _half(self) -> str:
        """Why the squared error's derivative has no 2, naming the loss as the notation does."""
        return f"the ½ in {self.loss} cancels the 2 from the square"

    def _net_for_out(self, out):
        neuron = self.model.neuron_of.get(out)
        if neuron is None or neuron.layer == 0:
            return None
        return self.model.net[neuron.layer][neuron.index]

    def _activation_factor(self, of, wrt, f):
        m = self.model
        neuron = m.neuron_of[wrt]
        activation = m.activation(neuron.layer)
        shown, out_name = self.latex(f.shown), self.latex(of)
        if of != m.out[neuron.layer][neuron.index]:  # softmax off-diagonal: handled with the layer
            return
        where = f"∂{out_name}/∂{self.latex(wrt)}"
        if activation.name == "relu":
            yield Mutation(f"relu's gate {shown} (1 where {self.latex(wrt)} > 0, else 0) is forgotten at "
                           f"{self.label(neuron)}", (((of, wrt), self.ones),), rank=1)
        elif activation.name != "linear":
            yield Mutation(f"the activation derivative {where} = {shown} of {self.label(neuron)} is missing",
                           (((of, wrt), self.ones),), rank=1)
        display = "\\sigma" if activation.name == "sigmoid" else activation.name
        if activation.name in ("sigmoid", "tanh", "softplus"):
            yield Mutation(f"{display} written for {display}': {out_name} where {where} = {shown} is needed",
                           (((of, wrt), self._array(of)),), rank=2)
            yield Mutation(f"{self.latex(wrt)} where {out_name} is needed: {self.latex(f.shown.xreplace({of: wrt}))} "
                           f"instead of {shown}", (((of, wrt), self._array(f.value.xreplace({of: wrt}))),), rank=2)
        if activation.name == "tanh":
            wrong = 1 - of
            yield Mutation(f"tanh' written {self.latex(wrong)}; it is {shown}", (((of, wrt), self._array(wrong)),),
                           rank=2)
        for other_name, other in ACTIVATIONS.items():
            if other_name in (activation.name, "softmax", "linear") or other.in_output is None:
                continue
            form = other.in_output(of)
            yield Mutation(f"the derivative of {other_name} ({self.latex(form)}) where {self.label(neuron)}'s "
                           f"{activation.name} needs {shown}", (((of, wrt), self._array(form)),), rank=2)
        for k in range(1, m.spec.depth + 1):  # another neuron's derivative: the output layer's σ' in a hidden layer
            for j in range(m.spec.layers[k]):
                other_out = m.out[k][j]
                if other_out == of or m.activation(k).mixes:
                    continue
                form = m.activation(k).local_derivative(m.out[k], m.net[k], j, j)
                which = "the output layer's" if k == m.spec.depth and neuron.layer != k else f"{self.label(m.neuron_of[other_out])}'s"
                yield Mutation(f"{which} activation derivative {self.latex(form)} used for {self.label(neuron)}, "
                               f"which needs {shown}", (((of, wrt), self._array(form)),), rank=2)

    def _weight_factor(self, of, wrt, f):
        m = self.model
        target, source = m.neuron_of[of], m.neuron_of[wrt]
        weight = f.value
        through = self._through(source, target)
        yield Mutation(f"the term through {through} is missing", (((of, wrt), self.zeros),), rank=1)
        if not (isinstance(weight, sympy.Symbol) and weight in m.parameter_set):
            return
        layer = target.layer
        wide = m.spec.layers[layer - 1] * m.spec.layers[layer] > MAX_SWAPPED_WEIGHTS
        for i, row in enumerate(m.weights[layer]):
            for j, other in enumerate(row):
                if wide and i != source.index and j != target.index:
                    continue  # a wide layer: only the weights out of the same neuron or into the same one
                if other != weight:
                    yield Mutation(f"the term through {through} has a wrong weight: {self.latex(other)} where it needs {self.latex(weight)}",
                                   (((of, wrt), self._array(other)),), rank=2)

    def _through(self, source, target) -> str:
        """The route of the terms through the edge source → target: the target, and the source
        too when it is not the parameter's own neuron (c_1 and d_2)."""
        if source in self.gradient.parameter.feeds:
            return self.label(target)
        return f"{self.label(source)} and {self.label(target)}"

    def _input_factor(self, of, wrt, f):
        m = self.model
        p: Parameter = self.gradient.parameter
        if p.kind != "weight":
            return
        source = p.source
        out = m.out[source.layer][source.index]
        if source.layer > 0:
            net = m.net[source.layer][source.index]
            yield Mutation(f"{self.latex(net)} where {self.latex(out)} is needed (∂{self.latex(of)}/∂{self.latex(wrt)} "
                           "is the input's output)",
                           (((of, wrt), self._array(net)),), rank=2)
        yield Mutation(f"no factor {self.latex(out)} (∂{self.latex(of)}/∂{self.latex(wrt)} = {self.latex(out)})",
                       (((of, wrt), self.ones),), rank=2)
        for other in m.out[source.layer]:
            if other != out:
                yield Mutation(f"{self.latex(other)} instead of {self.latex(out)}", (((of, wrt), self._array(other)),),
                               rank=3)

    def _output_delta(self):
        """sigmoid + bce, softmax + ce: δ = ŷ − y; the sigmoid-style (ŷ − y) ŷ (1 − ŷ) multiplies σ' in again."""
        m = self.model
        if m.spec.loss not in ("bce", "ce"):
            return
        depth = m.spec.depth
        if not any(of == m.loss_symbol for (of, _), _f in self.structure.visited):
            return
        # sigmoid-style: δ_j = (ŷ_j − y_j) ŷ_j (1 − ŷ_j); expressed as ∂E/∂out_j := (ŷ_j − y_j) with the diagonal σ'
        replace = []
        for (of, wrt), f in self.structure.visited:
            if of == m.loss_symbol:
                j = m.neuron_of[wrt].index
                out, target = m.out[depth][j], m.targets[j]
                replace.append(((of, wrt), self._array(out - target)))
            elif (m.activation(depth).mixes and of in m.out[depth] and wrt in m.net[depth]
                  and m.neuron_of[of].index != m.neuron_of[wrt].index):
                replace.append(((of, wrt), self.zeros))
        name = "softmax + cross-entropy" if m.spec.loss == "ce" else f"{m.spec.activations[-1]} + cross-entropy"
        # the output named: the one whose net input the formula's paths pass when there is one (a softmax
        # output's bias: every ŷ_k depends on it, but only ∂ŷ_3/∂z_3 is left), else the first on its paths
        passed = sorted({m.neuron_of[wrt].index for (of, wrt), _f in self.structure.visited
                         if wrt in m.net[depth] and of in m.out[depth] and m.neuron_of[of].index == m.neuron_of[wrt].index})
        j = passed[0] if len(passed) == 1 else next(
            (m.neuron_of[wrt].index for (of, wrt), _f in self.structure.visited if of == m.loss_symbol), 0)
        out, target = m.out[depth][j], m.targets[j]
        delta = next(d.symbol for d in self.derivation.chain.deltas if d.neuron == m.neuron_of[out])  # δ, g^{[Lz]}
        error = self.latex(Total(out, -target))
        yield Mutation(f"the sigmoid-style output delta ({error}) {self.latex(out * (1 - out))}: "
                       f"for {name} the factors cancel, {self.latex(delta)} = {error}", tuple(replace), rank=1)
        # the target dropped: δ_j = ŷ_j, its ∂E/∂ŷ_j taken as 1/(1 - ŷ_j) against the diagonal ŷ_j(1 - ŷ_j)
        dropped = [((of, wrt), self._array(1 / (1 - wrt)) if of == m.loss_symbol else self.zeros)
                   for (of, wrt), _value in replace]  # wrt of ∂E/∂ŷ_j is ŷ_j
        if m.activation(depth).name in ("sigmoid", "softmax"):
            several = len({wrt for (of, wrt), _f in self.structure.visited if wrt in m.net[depth]}) > 1  # deltas
            what = "the targets are missing" if several else "the target is missing"
            every = ", and so at every output" if several else ""
            yield Mutation(f"{what}: {self.latex(delta)} = {error}, not {self.latex(out)}{every}", tuple(dropped), rank=1)

    def _softmax_diagonal(self, activations):
        m = self.model
        depth = m.spec.depth
        if not m.activation(depth).mixes:
            return
        dropped = []
        for (of, wrt), f in self.structure.visited:
            if of in m.out[depth] and wrt in m.net[depth] and m.neuron_of[of].index != m.neuron_of[wrt].index:
                dropped.append(((of, wrt), self.zeros))
        if dropped:
            out = m.out[depth]
            example = self.latex(-out[0] * out[1]) if len(out) > 1 else ""
            yield Mutation(f"the softmax's off-diagonal terms are dropped: ∂{self.latex(out[0])}/∂{self.latex(m.net[depth][1])}"
                           f" = {example}, not 0", tuple(dropped), rank=1)

    def other_parameters(self) -> Iterable[Mutation]:
        """Your formula is the gradient of another parameter (indices swapped, W not transposed):
        the swapped one first, then those out of the same neuron or into the same one."""
        m, chain = self.model, self.derivation.chain
        p = self.gradient.parameter
        names = m.latex_names

        def order(q):  # the swapped one, then those sharing a neuron, nearest first
            if p.kind == q.kind == "weight":
                swapped = q.source.index == p.target.index and q.target.index == p.source.index
                near = abs(q.source.index - p.source.index) + abs(q.target.index - p.target.index)
                return (0 if swapped else 1 if q.source == p.source or q.target == p.target else 2), near
            return 1, 0

        candidates = sorted((q for q in chain.parameters if q != p and q.layer == p.layer), key=order)
        for q in candidates[:MAX_OTHER_PARAMETERS]:
            def value(q=q):  # the deltas' values are sampled
                return self._array(chain.gradient(q, with_paths=False).delta_value)
            swapped = order(q)[0] == 0 and p.kind == "weight"
            why = " (its indices swapped)" if swapped else ""
            yield Mutation(f"your formula is the gradient of {names[q.symbol]}, not of {names[p.symbol]}{why}",
                           value=value, rank=1 if swapped else 2)

    # -- the verdict -----------------------------------------------------------------------------
    def explain(self, written: np.ndarray, terms: Iterable[tuple[str, np.ndarray]] = (),
                reversed_error: tuple | None = None) -> list[str]:
        """The words for the mutation that ``written`` (values at the sample points) equals; empty
        when none does. ``terms`` are the formula's own terms (LaTeX, values), any of which may be
        extra; ``reversed_error``: the (out, target) the formula writes as target − out, if any."""
        if _alike(written, self.truth, MATCH):
            return []
        why = self._reversed(*reversed_error) if reversed_error else ""
        twice = "your formula is twice the gradient" + (f": {self._half()}" if self.model.spec.loss == "mse" else "")
        scales = [(-1.0, f"the sign is flipped: your formula is the negative of the gradient{why}"),
                  (2.0, twice), (0.5, "your formula is half the gradient"),
                  (-2.0, f"the sign is flipped, and {twice.split(':')[0].replace('your formula is ', 'it is ')}{why}"),
                  (-0.5, f"the sign is flipped, and it is half the gradient{why}")]
        with np.errstate(all="ignore"):  # a value that overflows (inf, or inf - inf: nan) is alike nothing
            scaled = [(scale * self.truth, message) for scale, message in scales]
            rests = [(shown, written - value) for shown, value in terms]
        for value, message in scaled:
            if _alike(written, value, MATCH):
                return [message]
        for shown, rest in rests:
            if _alike(rest, self.truth, MATCH):
                name = self.model.latex_names[self.gradient.parameter.symbol]
                return [f"the term {shown} is extra: no path from {name} to the error gives it"]
        found: list[tuple[int, str]] = []  # (rank, message), each simpler than the last
        singles = []
        deadline = time.perf_counter() + SECONDS
        for count, mutation in enumerate(self._all()):
            if count >= MAX_MUTATIONS or time.perf_counter() > deadline:
                break
            if found and mutation.rank >= found[-1][0]:
                continue  # it cannot be simpler than the match in hand
            value = mutation.value() if mutation.value is not None else self.structure.value(mutation)
            if _alike(value, self.truth, DIFFERENT):
                continue  # no change at these points: it explains nothing
            singles.append((mutation, value))
            if _alike(written, value, MATCH):
                found.append((mutation.rank, mutation.message))
                if mutation.rank == 1:  # none is simpler
                    break
        if not found:  # one mistake and a sign or a factor 2 on top
            for mutation, value in singles:
                for scale, message in scales[:3]:
                    if _alike(written, scale * value, MATCH):
                        found.append((mutation.rank + 3, f"{mutation.message}; and {message.split(':')[0].replace('your formula is', 'it is')}"))
        if not found:
            return []
        return [min(found, key=lambda match: match[0])[1]]  # the simplest; of equal ranks, the first found

    def _reversed(self, out: sympy.Symbol, target: sympy.Symbol) -> str:
        """The note on an error written target − out, in the notation's names: for the squared
        error, " (∂E_total/∂out_{d_1} is out_{d_1} − target_{d_1}, not ...)"."""
        out, target = self.latex(out), self.latex(target)
        what = f"∂{self.loss}/∂{out}" if self.model.spec.loss == "mse" else "the error"
        return f" ({what} is {out} − {target}, not {target} − {out})"

    def _all(self) -> Iterable[Mutation]:
        yield from self.other_parameters()  # cheap: no recursion to recompute
        yield from self.mutations()


def diagnose(derivation: Derivation, gradient: Gradient, written: sympy.Expr, values: dict, evaluate: Callable,
             latex: Callable[[sympy.Basic], str], label: Callable | None = None) -> list[str]:
    """The mistake ``written`` makes, in words, when one of the usual mutations of the gradient is
    exactly it at the points ``values`` (primary symbols and every definition, as arrays); else [].
    ``latex`` and ``label`` name expressions and neurons in the words (default: the model's labels)."""
    diagnosis = Diagnosis(derivation, gradient, values, evaluate, latex, label)
    shape = diagnosis.structure.shape
    mine = np.broadcast_to(np.asarray(evaluate(written, values), dtype=float), shape)
    terms = sympy.Add.make_args(written)
    own = [(latex(t), np.broadcast_to(np.asarray(evaluate(t, values), dtype=float), shape))
           for t in terms] if 1 < len(terms) <= 16 else []
    return diagnosis.explain(mine, own, _reversed_error(derivation, written))


def _reversed_error(derivation: Derivation, written: sympy.Expr) -> tuple | None:
    """The first (out, target) that ``written`` has as a difference target − out (the error the
    wrong way round), or None."""
    m = derivation.model
    targets, outs = set(m.targets), set(m.out[-1])
    for node in sympy.preorder_traversal(written):
        if node.is_Add:
            target = next((a for a in node.args if a in targets), None)
            out = next((-a for a in node.args if -a in outs), None)
            if target is not None and out is not None:
                return out, target
    return None


__all__ = ["Diagnosis", "Mutation", "diagnose"]
