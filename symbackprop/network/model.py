"""The network as SymPy symbols and per-neuron definitions.

Every neuron gets two intermediate symbols, its net input and its output, each with a small
defining expression (seed 000: net_{d_1} = w_{31} out_{c_1} + ...; out_{d_1} = sig(net_{d_1})).
E_total is written over the output symbols. Substituting the definitions down to the primary
symbols (inputs, targets, weights, biases) gives the fully expanded E_total that the proofs
differentiate; nothing else expands.

>>> from symbackprop.network.spec import NetworkSpec
>>> m = Model(NetworkSpec.parse("2-4-3-2"))
>>> m.definitions[m.net[3][0]]
out_c_1*w_31 + out_c_2*w_32 + out_c_3*w_33
>>> m.definitions[m.out[3][0]]
1/(1 + exp(-net_d_1))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Mapping, Optional

import sympy

from ..algebra.limits import require_memory
from .activations import Activation, resolve_activation
from .losses import LOSSES, Loss
from .notation import NOTATIONS, Name
from .spec import MAX_SYMBOLIC_PARAMETERS, NetworkSpec, SpecError, check_symbolic_size  # noqa: F401 (re-exported)



@dataclass(frozen=True, order=True)
class Neuron:
    """Neuron ``index`` (0-based) of ``layer`` (0 is the input layer)."""

    layer: int
    index: int


MODEL_BYTES_PER_PARAMETER = 500  # a floor: a parameter's symbol, names and net-input term take 0.6-2 KB (measured)


class Model:
    """Symbols, definitions and E_total of one network.

    ``weights[k][i][j]`` is the weight from neuron i of layer k-1 to neuron j of layer k (W^[k] in
    row-vector layout, k = 1..L; ``weights[0]`` is unused); ``biases[k][j]`` is the bias in neuron j's
    net input (with shared biases the same symbol for every j), or None.
    """

    def __init__(self, spec: NetworkSpec):
        check_symbolic_size(spec)
        require_memory(MODEL_BYTES_PER_PARAMETER * spec.n_parameters)
        self.spec = spec
        self.notation = NOTATIONS[spec.notation](spec.layers)
        self.loss_function: Loss = LOSSES[spec.loss]
        self.latex_names: dict[sympy.Symbol, str] = {}
        layers, depth, n = spec.layers, spec.depth, self.notation

        self.out = [[self._symbol(n.out(k, j)) for j in range(size)] for k, size in enumerate(layers)]
        self.net = [[]] + [[self._symbol(n.net(k, j)) for j in range(layers[k])] for k in range(1, depth + 1)]
        self.weights = [[]] + [
            [[self._symbol(n.weight(k, i, j)) for j in range(layers[k])] for i in range(layers[k - 1])]
            for k in range(1, depth + 1)
        ]
        if spec.shared_bias:  # one symbol per layer, the same in every neuron's net input
            self.biases = [[]] + [[self._symbol(n.shared_bias(k))] * layers[k] for k in range(1, depth + 1)]
        elif spec.bias:
            self.biases = [[]] + [[self._symbol(n.bias(k, j)) for j in range(layers[k])] for k in range(1, depth + 1)]
        else:
            self.biases = None
        self.targets = [self._symbol(n.target(j)) for j in range(layers[-1])]
        self.loss_symbol = self._symbol(n.loss())

        # Ordered so that every definition only uses symbols defined before it (forward pass).
        self.definitions: dict[sympy.Symbol, sympy.Expr] = {}
        for k in range(1, depth + 1):
            for j in range(layers[k]):  # every symbol is the model's own, real: see ``canonical_sum``
                self.definitions[self.net[k][j]] = canonical_sum(self.net_terms(k, j), same_assumptions=True)
            for out, definition in zip(self.out[k], self.activation(k).outputs(self.net[k])):
                self.definitions[out] = definition
        self.loss = self.loss_function.total(self.out[depth], self.targets)
        self.neuron_of: dict[sympy.Symbol, Neuron] = {
            symbol: Neuron(k, j)
            for k in range(depth + 1)
            for j in range(layers[k])
            for symbol in ([self.out[k][j]] + ([self.net[k][j]] if k else []))
        }
        # the out symbol of every computed neuron (layers 1..L)
        self.computed_outs = frozenset(out for layer in self.out[1:] for out in layer)
        self._through: dict[sympy.Symbol, dict] = {}  # parameter -> its expansions_through (emptied past 64)

    def net_terms(self, k: int, j: int) -> list[sympy.Expr]:
        """The terms of net_j of layer k in reading order: out_1 w_1j, out_2 w_2j, ..., then the bias."""
        terms = [_own_product(self.out[k - 1][i], self.weights[k][i][j]) for i in range(self.spec.layers[k - 1])]
        return terms + ([self.biases[k][j]] if self.biases is not None else [])

    def _symbol(self, name: Name) -> sympy.Symbol:
        symbol = sympy.Symbol(name.symbol, real=True)
        self.latex_names[symbol] = name.latex
        return symbol

    # -- structure ---------------------------------------------------------------------------
    @property
    def inputs(self) -> list[sympy.Symbol]:
        return self.out[0]

    def activation(self, layer: int) -> Activation:
        """The activation of computed layer ``layer`` (1..L)."""
        return resolve_activation(self.spec.activations[layer - 1])

    def neurons(self, layer: int) -> list[Neuron]:
        return [Neuron(layer, j) for j in range(self.spec.layers[layer])]

    def label(self, neuron: Neuron) -> str:
        """The neuron's printed label, e.g. ``d_1``."""
        return self.notation.neuron(neuron.layer, neuron.index)

    def delta_symbol(self, neuron: Neuron) -> sympy.Symbol:
        """δ of a computed neuron, e.g. delta_c_1 (printed \\delta_{c_1})."""
        return self._symbol(self.notation.delta(neuron.layer, neuron.index))

    def numbered_weights(self, layer: int) -> list[tuple[int, int]]:
        """The (source, target) index pairs of layer ``layer``'s weights in the order the notation
        numbers them: letter notation counts target-major (w_{11} = a_1→b_1, w_{12} = a_2→b_1,
        w_{13} = a_1→b_2), and so does column notation (W_{j,k}: target first); layer notation's
        W^{[k]}_{i,j} reads source first, row by row as in the params file.

        >>> Model(NetworkSpec.parse("2-2")).numbered_weights(1)
        [(0, 0), (1, 0), (0, 1), (1, 1)]
        >>> Model(NetworkSpec.parse("2-2", notation="layers")).numbered_weights(1)
        [(0, 0), (0, 1), (1, 0), (1, 1)]
        """
        sources, targets = self.spec.layers[layer - 1], self.spec.layers[layer]
        if self.notation.source_first:
            return [(i, j) for i in range(sources) for j in range(targets)]
        return [(i, j) for j in range(targets) for i in range(sources)]

    def layer_biases(self, layer: int) -> list[sympy.Symbol]:
        """The bias parameters of computed layer ``layer``: one per neuron, or one shared (the params
        file's ``b[layer - 1]`` in order); empty without biases."""
        return list(dict.fromkeys(self.biases[layer])) if self.biases else []

    @property
    def primary(self) -> list[sympy.Symbol]:
        """Inputs, targets, weights and biases: the symbols E_total is finally a function of."""
        symbols = list(self.inputs) + list(self.targets) + self.parameters
        return symbols

    @property
    def parameters(self) -> list[sympy.Symbol]:
        """Every weight, then every bias, layer by layer from the input (a new list each time)."""
        return list(self._parameter_order)

    @cached_property
    def _parameter_order(self) -> tuple[sympy.Symbol, ...]:
        weights = [w for k in range(1, self.spec.depth + 1) for row in self.weights[k] for w in row]
        return tuple(weights + [b for k in range(1, self.spec.depth + 1) for b in self.layer_biases(k)])

    @cached_property
    def parameter_set(self) -> frozenset[sympy.Symbol]:
        """``parameters`` as a set, to ask of a symbol whether it is one (a wide network has 24,000)."""
        return frozenset(self._parameter_order)

    def display_activation(self, layer: int, net: sympy.Expr) -> Optional[sympy.Expr]:
        """g(net) as an unevaluated named function, e.g. sigma(net_b_1), for printing (None for
        an activation such as softmax that mixes the layer's neurons)."""
        activation = self.activation(layer)
        return None if activation.mixes else sympy.Function(activation.display)(net)

    def almost_everywhere(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` with every activation's kink convention applied (relu's step at 0), for proofs."""
        for name in dict.fromkeys(self.spec.activations):
            rewrite = resolve_activation(name).almost_everywhere
            if rewrite is not None:
                expr = rewrite(expr)
        return expr

    # -- expansion ---------------------------------------------------------------------------
    @cached_property
    def expansions(self) -> dict[sympy.Symbol, sympy.Expr]:
        """Every net and out symbol written over the primary symbols (the forward pass, substituted)."""
        return expand_definitions(self.definitions)

    @cached_property
    def expanded_loss(self) -> sympy.Expr:
        """E_total fully expanded: a function of inputs, targets, weights and biases only."""
        return self.loss.xreplace(self.expansions)

    def expansions_through(self, parameter: sympy.Symbol) -> dict[sympy.Symbol, sympy.Expr]:
        """The forward pass substituted only where it depends on ``parameter``: each net and out
        symbol whose value ``parameter`` changes, written over the primary symbols and the net
        and out symbols it does not change (those stand for themselves), and E_total so written
        under ``loss_symbol``. ∂E_total/∂``parameter`` of that E_total, with each symbol left
        standing then replaced by its expansion, is ∂E_total/∂``parameter`` of the fully expanded
        one: substituting what does not depend on the parameter commutes with differentiating.

        >>> m = Model(NetworkSpec.parse("2-2-1"))
        >>> through = m.expansions_through(m.weights[2][0][0])  # w_21, into the output layer
        >>> sorted(map(str, through)), through[m.net[2][0]]
        (['E_total', 'net_c_1', 'out_c_1'], out_b_1*w_21 + out_b_2*w_22)
        """
        found = self._through.get(parameter)
        if found is None:
            found = {}
            for symbol, definition in self.definitions.items():
                if parameter in definition.free_symbols or any(s in found for s in definition.free_symbols):
                    found[symbol] = definition.xreplace(found)
            found[self.loss_symbol] = self.loss.xreplace(found)
            if len(self._through) > 64:
                self._through.clear()
            self._through[parameter] = found
        return found


def product(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    """``a * b`` as ``sympy.Mul`` builds it, built directly when both are distinct plain symbols
    (out_i · w_ij, δ_j · out_i: one per weight, and ``Mul``'s general flattening is most of the
    cost of a big network); anything else goes through ``sympy.Mul``.

    >>> x, y = sympy.symbols("x y")
    >>> product(y, x).args == (x * y).args, product(x, 2)
    (True, 2*x)
    """
    if type(a) is sympy.Symbol and type(b) is sympy.Symbol and a != b and a.is_commutative and b.is_commutative:
        return sympy.Mul._from_args((a, b) if a.compare(b) < 0 else (b, a), True)  # Mul's canonical order
    return sympy.Mul(a, b)


def _own_product(a: sympy.Symbol, b: sympy.Symbol) -> sympy.Expr:
    """``product(a, b)`` of two of a model's own symbols (``Model._symbol``: all real): SymPy orders
    two plain symbols of the same assumptions by name (``Basic.compare``), so the names decide here.

    >>> x, y = sympy.symbols("x y", real=True)
    >>> _own_product(y, x).args == product(y, x).args == (x * y).args
    True
    """
    if a.name == b.name:
        return product(a, b)
    return sympy.Mul._from_args((a, b) if a.name < b.name else (b, a), True)


def _term_key(term: sympy.Expr) -> tuple:
    """A sort key that puts symbols and products of symbols in SymPy's canonical order (checked by
    ``canonical_sum``, which falls back to ``sympy.Add`` if it did not)."""
    return (0, (term.name,)) if term.is_Symbol else (1, len(term.args), tuple(a.name for a in term.args))


def canonical_sum(terms: list[sympy.Expr], same_assumptions: bool = False) -> sympy.Expr:
    """``sympy.Add(*terms)``, built directly when the terms are distinct symbols and products of
    symbols (a net input's 784 terms out_i · w_ij): sorted by name, then checked term by term
    against SymPy's canonical order; anything else goes through ``sympy.Add``.

    ``same_assumptions``: the caller knows that every symbol has the same assumptions (a model's
    own, all real). SymPy's ``Basic.compare`` of two such terms is then the comparison of their
    ``_term_key`` (a symbol before a product; products by length, then their factors' names), so
    the check is made on the keys, without ``compare``.

    >>> x, y, z = sympy.symbols("x y z")
    >>> canonical_sum([y * z, x, x * y]).args == sympy.Add(y * z, x, x * y).args
    True
    >>> canonical_sum([y * z, x, x * y], same_assumptions=True).args == sympy.Add(y * z, x, x * y).args
    True
    """
    plain = lambda e: type(e) is sympy.Symbol and e.is_commutative  # noqa: E731
    if len(terms) > 1 and all(plain(t) or (t.is_Mul and all(plain(a) for a in t.args)) for t in terms):
        if same_assumptions:
            keyed = sorted(((_term_key(t), t) for t in terms), key=lambda pair: pair[0])
            if all(a[0] < b[0] for a, b in zip(keyed, keyed[1:])):
                return sympy.Add._from_args([t for _, t in keyed], True)
            return sympy.Add(*terms)
        ordered = sorted(terms, key=_term_key)
        if all(a.compare(b) < 0 for a, b in zip(ordered, ordered[1:])):  # strictly: no two terms alike
            return sympy.Add._from_args(ordered, True)
    return sympy.Add(*terms)


def expand_definitions(
    definitions: Mapping[sympy.Symbol, sympy.Expr], known: Mapping[sympy.Symbol, sympy.Expr] | None = None
) -> dict[sympy.Symbol, sympy.Expr]:
    """Substitute each definition into the later ones (``definitions`` must be in dependency order).

    >>> a, b, c = sympy.symbols("a b c")
    >>> expand_definitions({a: b + 1, c: 2 * a})
    {a: b + 1, c: 2*b + 2}
    """
    expanded = dict(known or {})
    for symbol, definition in definitions.items():
        expanded[symbol] = definition.xreplace(expanded)
    return expanded


def definitions_used(exprs: Iterable[sympy.Expr], definitions: Mapping[sympy.Symbol, sympy.Expr]) -> set[sympy.Symbol]:
    """The defined symbols ``exprs`` use, directly or through the definitions of others.

    >>> a, b, c, d = sympy.symbols("a b c d")
    >>> sorted(definitions_used([2 * c], {a: d + 1, b: d, c: a * d}), key=str)
    [a, c]
    """
    stack = [s for expr in exprs for s in expr.free_symbols if s in definitions]
    used: set[sympy.Symbol] = set()
    while stack:
        symbol = stack.pop()
        if symbol not in used:
            used.add(symbol)
            stack.extend(s for s in definitions[symbol].free_symbols if s in definitions)
    return used


def free_symbols_in_order(exprs: Iterable[sympy.Expr]) -> list[sympy.Symbol]:
    """The free symbols of ``exprs`` sorted by name, for stable argument lists."""
    symbols: set[sympy.Symbol] = set()
    for expr in exprs:
        symbols |= expr.free_symbols
    return sorted(symbols, key=lambda s: s.name)
