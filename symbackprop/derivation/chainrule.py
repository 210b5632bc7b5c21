"""The chain rule, parameter by parameter, as data.

For a weight, every path from it to an output neuron is a product of named local derivatives
(seed 000, eqs (11), (22), (24)); each local derivative has a value (eqs (12)-(14)); the
gradient is the sum over paths. The same sum, shared between weights, is the delta recursion:
δ_j = ∂E_total/∂net_j, and ∂E_total/∂w_ij = δ_j · out_i. Deltas are computed once per neuron
and reused by every weight into that neuron, which keeps the cost linear in the network size.

Nothing here is LaTeX; expressions stay SymPy objects (``Partial`` and ``Chain`` keep the
order a person writes them in).

>>> from symbackprop.network.spec import NetworkSpec
>>> from symbackprop.network.model import Model
>>> model = Model(NetworkSpec.parse("2-4-3-2"))
>>> chain = ChainRule(model)
>>> w31 = chain.parameter("w_31")
>>> chain.paths(w31)[0].value
out_c_1*out_d_1*(1 - out_d_1)*(out_d_1 - target_d_1)
>>> chain.count_paths(chain.parameter("w_11"))
6
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Optional

import sympy

from ..algebra.exact import are_equal
from ..algebra.expressions import Chain, Partial, ordered_sum, tidy
from ..algebra.grammar import AmbiguousName, FormulaError, Textbook
from ..network.model import Model, Neuron, canonical_sum, product
from ..network.spec import SpecError


@dataclass(frozen=True)
class Factor:
    """One local derivative ∂of/∂wrt and its value, e.g. ∂out_{d_1}/∂net_{d_1} = out_{d_1}(1 - out_{d_1})."""

    of: sympy.Symbol
    wrt: sympy.Symbol
    value: sympy.Expr

    @property
    def partial(self) -> Partial:
        return Partial(self.of, self.wrt)

    @cached_property
    def shown(self) -> sympy.Expr:
        """The value as printed: (out - target)/(out (1 - out)) rather than SymPy's -(...)/(out (out - 1))."""
        return tidy(self.value)


@dataclass(frozen=True)
class Parameter:
    """A weight (``source`` → ``target``) or a bias (``source`` is None) feeding ``target``'s net input."""

    symbol: sympy.Symbol
    kind: str  # "weight" or "bias"
    source: Optional[Neuron]
    target: Neuron  # for a shared bias, the first neuron of its layer
    shared: tuple[Neuron, ...] = ()  # a shared bias: every neuron whose net input it is in

    @property
    def layer(self) -> int:
        return self.target.layer

    @property
    def feeds(self) -> tuple[Neuron, ...]:
        """The neurons whose net input the parameter is in: one, or a whole layer for a shared bias."""
        return self.shared or (self.target,)


@dataclass(frozen=True)
class Path:
    """One route from a parameter to E_total (seed 000's eq. (22) is one of w_{21}'s two paths).

    ``nodes`` are the net and out symbols passed through, forward; ``neurons`` the neurons whose
    outputs it passes (b_1, c_1, d_1); ``factors`` are the local derivatives in chain-rule order,
    from E_total back to the parameter.
    """

    nodes: tuple[sympy.Symbol, ...]
    neurons: tuple[Neuron, ...]
    factors: tuple[Factor, ...]

    @property
    def output(self) -> Neuron:
        """The output neuron the path ends at."""
        return self.neurons[-1]

    @property
    def leibniz(self) -> Chain:
        """∂E/∂out · ∂out/∂net · ... · ∂net/∂w, each factor named (seed 000, eq. (22))."""
        return Chain(*(f.partial for f in self.factors))

    @property
    def product(self) -> Chain:
        """The same product with each factor replaced by its value (seed 000, eq. (23))."""
        return Chain(*(f.shown for f in self.factors))

    @cached_property
    def value(self) -> sympy.Expr:
        """The product of the factors' values (built once: the checks, the proofs and every format read it)."""
        return sympy.Mul(*(f.value for f in self.factors))


@dataclass(frozen=True)
class DeltaTerm:
    """One way net_j reaches E_total: through out node ``activation.of`` (one, unless the layer mixes neurons).

    ``upstream`` holds, for each consumer n of that output, the factor ∂n/∂out and n's delta
    (None when n is E_total itself, i.e. at the output layer).
    """

    activation: Factor
    upstream: tuple[tuple[Factor, Optional[sympy.Symbol]], ...]


@dataclass(frozen=True)
class Simplification:
    """Where the factors of an output delta cancel (sigmoid + bce, softmax + ce: δ = out - target).

    ``steps`` are the forms after the product, the last one simplest; ``assumption`` is what
    the last step needs, if anything (softmax + ce: that the targets sum to 1).
    """

    steps: tuple[sympy.Expr, ...]
    assumption: Optional[str] = None


@dataclass(frozen=True)
class Delta:
    """δ_j = ∂E_total/∂net_j, defined by the backward recursion from the deltas of the next layer."""

    neuron: Neuron
    symbol: sympy.Symbol
    net: sympy.Symbol
    loss: sympy.Symbol
    terms: tuple[DeltaTerm, ...]
    simplification: Optional[Simplification] = None

    @property
    def leibniz(self) -> sympy.Expr:
        """∂E/∂net_j in named local derivatives: ∂E/∂out_j · ∂out_j/∂net_j."""
        return ordered_sum(Chain(Partial(self.loss, t.activation.of), t.activation.partial) for t in self.terms)

    @property
    def recursion(self) -> sympy.Expr:
        """The values: (Σ_k δ_k · ∂net_k/∂out_j) · ∂out_j/∂net_j, or (∂E/∂out_j) · ∂out_j/∂net_j at the output."""
        return ordered_sum(Chain(_upstream(t, ordered=True), t.activation.shown) for t in self.terms)

    @cached_property
    def definition(self) -> sympy.Expr:
        """The recursion as an ordinary SymPy expression over out, target, weight and delta symbols."""
        return sympy.Add(*(_upstream(t, ordered=False) * t.activation.value for t in self.terms))

    @property
    def is_output(self) -> bool:
        return all(delta is None for t in self.terms for _, delta in t.upstream)


def _upstream(term: DeltaTerm, ordered: bool) -> sympy.Expr:
    """∂E/∂out through the consumers of one output: Σ_k δ_k · ∂net_k/∂out (kept in order when ``ordered``)."""
    parts = [
        (factor.shown if ordered else factor.value)
        if delta is None
        else (Chain(delta, factor.shown) if ordered else product(delta, factor.value))
        for factor, delta in term.upstream
    ]
    return ordered_sum(parts) if ordered else canonical_sum(parts)


@dataclass(frozen=True)
class Gradient:
    """Everything derived for one parameter: its paths (when written out) and its delta form."""

    parameter: Parameter
    n_paths: int
    paths: Optional[tuple[Path, ...]]  # None when the path sum is too long to write out
    delta: Delta
    input_factor: Factor  # ∂net_j/∂w = out_i (or 1 for a bias)
    shared: tuple[tuple[Delta, Factor], ...] = ()  # a shared bias: (δ_j, ∂net_j/∂b = 1) for every neuron j
    built: Optional[sympy.Expr] = field(default=None, repr=False, compare=False)  # δ_j · out_i from ChainRule.delta_product

    @property
    def terms(self) -> tuple[tuple[Delta, Factor], ...]:
        """(delta, input factor) of every net input the parameter is in: one, or a layer's for a shared bias."""
        return self.shared or ((self.delta, self.input_factor),)

    @property
    def delta_form(self) -> sympy.Expr:
        """δ_j · out_i (δ_j · 1 for a bias), in that order for printing; Σ_j δ_j · 1 for a shared bias."""
        return ordered_sum(Chain(delta.symbol, factor.value) for delta, factor in self.terms)

    @cached_property
    def delta_value(self) -> sympy.Expr:
        """The delta form as an ordinary SymPy product (computed once: big networks have many)."""
        if self.built is not None:
            return self.built
        parts = [product(delta.symbol, factor.value) for delta, factor in self.terms]
        return parts[0] if len(parts) == 1 else sympy.Add(*parts)

    @cached_property
    def path_sum(self) -> Optional[sympy.Expr]:
        """Σ over paths of the product of factor values, or None when paths are not written out (built once)."""
        return None if self.paths is None else sympy.Add(*(p.value for p in self.paths))

    @property
    def chain_rule(self) -> sympy.Expr:
        """The form derivation.json reports: the path sum where written out, else δ_j · out_i."""
        return self.path_sum if self.paths is not None else self.delta_value


def _coefficient(term: sympy.Expr, symbol: sympy.Symbol) -> sympy.Expr:
    """∂term/∂symbol for one term of a net input: its coefficient when the term is linear in
    ``symbol`` (out_i·w_ij → out_i, b_j → 1), else ``sympy.diff``.

    >>> w, out = sympy.symbols("w out")
    >>> _coefficient(out * w, w), _coefficient(w, w), _coefficient(w**2, w)
    (out, 1, 2*w)
    """
    if term.is_Mul and len(term.args) == 2:  # out_i·w_ij, the usual term, quickly: a product of two symbols
        first, second = term.args
        other = first if second == symbol else second if first == symbol else None
        if other is not None and other.is_Symbol:
            return other
    if term == symbol:
        return sympy.S.One
    coefficient, rest = term.as_independent(symbol, as_Add=False)
    return coefficient if rest == symbol else sympy.diff(term, symbol)


def definition_symbols(definition: sympy.Expr):
    """The free symbols of a definition; of a net input (a sum of symbols and products of symbols)
    read off its terms, without SymPy's recursive ``free_symbols``.

    >>> x, y, z = sympy.symbols("x y z")
    >>> sorted(definition_symbols(x * y + z), key=str), sorted(definition_symbols(sympy.exp(-x)), key=str)
    ([x, y, z], [x])
    """
    if definition.is_Add and all(t.is_Symbol or (t.is_Mul and all(a.is_Symbol for a in t.args)) for t in definition.args):
        return {a for t in definition.args for a in ((t,) if t.is_Symbol else t.args)}
    return definition.free_symbols


class ChainRule:
    """Builds factors, paths and deltas for one ``Model``; deltas and factors are shared and cached."""

    def __init__(self, model: Model):
        self.model = model
        self.consumers: dict[sympy.Symbol, list[sympy.Symbol]] = {}
        for symbol, definition in model.definitions.items():
            for used in definition_symbols(definition):
                self.consumers.setdefault(used, []).append(symbol)
        for out in model.out[-1]:  # definitions are in forward order, so each list is too
            self.consumers.setdefault(out, []).append(model.loss_symbol)
        self._factors: dict[tuple[sympy.Symbol, sympy.Symbol], Factor] = {}
        self._net_terms: dict[sympy.Symbol, dict[sympy.Symbol, list[sympy.Expr]]] = {}
        self._deltas: dict[sympy.Symbol, Delta] = {}
        self._path_counts: dict[sympy.Symbol, int] = {}
        self._delta_products: dict[tuple[sympy.Symbol, sympy.Expr], sympy.Expr] = {}

    # -- parameters ------------------------------------------------------------------------
    @cached_property
    def parameters(self) -> list[Parameter]:
        """Every weight and bias, layer by layer from the output back (the handout's order);
        within a layer, weights in the notation's target-major order, then biases."""
        m, found = self.model, []
        for k in range(m.spec.depth, 0, -1):
            sources = m.neurons(k - 1)  # one Neuron each, shared by its weights (a wide layer has many)
            for j, target in enumerate(m.neurons(k)):
                for i, source in enumerate(sources):
                    found.append(Parameter(m.weights[k][i][j], "weight", source, target))
            if m.spec.shared_bias:
                found.append(Parameter(m.biases[k][0], "bias", None, Neuron(k, 0), tuple(m.neurons(k))))
            elif m.biases:
                found.extend(Parameter(m.biases[k][j], "bias", None, Neuron(k, j)) for j in range(m.spec.layers[k]))
        return found

    @cached_property
    def spellings(self) -> "Spellings":
        """Every parameter's normalized spellings, built once (``find_parameter``)."""
        return Spellings.of(self)

    def parameter(self, name: str) -> Parameter:
        """The parameter whose SymPy symbol name is ``name`` (e.g. ``"w_31"``)."""
        for parameter in self.parameters:
            if parameter.symbol.name == name:
                return parameter
        raise KeyError(name)

    # -- local derivatives -----------------------------------------------------------------
    def factor(self, of: sympy.Symbol, wrt: sympy.Symbol) -> Factor:
        """∂of/∂wrt with its value: the activation's output form for ∂out/∂net, else ``sympy.diff``
        of the (small) definition of ``of`` (∂net/∂w = out, ∂net/∂out = w, ∂E/∂out = out - target)."""
        key = (of, wrt)
        known = self._factors.get(key)
        if known is not None:
            return known
        m = self.model
        neuron = m.neuron_of.get(of)
        if neuron is not None and of is m.net[neuron.layer][neuron.index]:  # the usual case: ∂net/∂w, quickly
            value = self._net_factor(of, wrt)
        elif of == m.loss_symbol:
            value = sympy.diff(m.loss, wrt)
        elif neuron is not None and of == m.out[neuron.layer][neuron.index]:
            k = neuron.layer
            value = m.activation(k).local_derivative(m.out[k], m.net[k], neuron.index, m.neuron_of[wrt].index)
        else:
            value = self._net_factor(of, wrt)
        factor = self._factors[key] = Factor(of, wrt, value)
        return factor

    def _net_factor(self, net: sympy.Symbol, wrt: sympy.Symbol) -> sympy.Expr:
        """∂net/∂wrt: a net input is linear in each weight, bias and input, ∂(c·w)/∂w = c."""
        coefficients = [_coefficient(term, wrt) for term in self._terms_of(net).get(wrt, ())]
        return coefficients[0] if len(coefficients) == 1 else sympy.Add(*coefficients)

    def _terms_of(self, net: sympy.Symbol) -> dict[sympy.Symbol, list[sympy.Expr]]:
        """The terms of a net input's definition (w_ij out_i, b_j), indexed by the symbols in them."""
        if net not in self._net_terms:
            index: dict[sympy.Symbol, list[sympy.Expr]] = {}
            for term in sympy.Add.make_args(self.model.definitions[net]):
                plain = term.is_Mul and all(a.is_Symbol for a in term.args)  # out_i·w_ij: its symbols are its factors
                for symbol in term.args if plain else term.free_symbols:
                    index.setdefault(symbol, []).append(term)
            self._net_terms[net] = index
        return self._net_terms[net]

    # -- deltas ------------------------------------------------------------------------------
    def delta(self, neuron: Neuron) -> Delta:
        """δ of ``neuron``, built from the deltas of the layer above (seed 001's g^{[kz]} entry)."""
        m = self.model
        net = m.net[neuron.layer][neuron.index]
        if net not in self._deltas:
            terms = []
            for out in self.consumers[net]:
                upstream = []
                for user in self.consumers[out]:
                    user_delta = None if user == m.loss_symbol else self.delta(m.neuron_of[user]).symbol
                    upstream.append((self.factor(user, out), user_delta))
                terms.append(DeltaTerm(self.factor(out, net), tuple(upstream)))
            delta = Delta(neuron, m.delta_symbol(neuron), net, m.loss_symbol, tuple(terms))
            if delta.is_output:
                delta = replace(delta, simplification=self.cancellation(delta))
            self._deltas[net] = delta
        return self._deltas[net]

    def cancellation(self, delta: Delta) -> Optional[Simplification]:
        """The simplification of an output delta to out - target, where its factors cancel.

        sigmoid + bce: (out - target)/(out (1 - out)) · out (1 - out) = out - target. softmax + ce:
        Σ_k (-target_k/out_k) · ∂out_k/∂net_j = out_j Σ_k target_k - target_j, which is
        out_j - target_j when the targets sum to 1.
        """
        m = self.model
        out, target = m.out[delta.neuron.layer][delta.neuron.index], m.targets[delta.neuron.index]
        simplest = out - target
        if len(delta.terms) == 1 and delta.definition != simplest and are_equal(delta.definition, simplest):
            return Simplification((simplest,))
        if m.loss_function.targets_sum_to_one and len(delta.terms) > 1:
            collected = sympy.collect(sympy.expand(delta.definition), out)
            last = m.targets[-1]
            one = {last: 1 - sympy.Add(*m.targets[:-1])}
            if are_equal(delta.definition.xreplace(one), simplest.xreplace(one)):
                return Simplification((collected, simplest), "the targets sum to 1")
        return None

    @cached_property
    def deltas(self) -> list[Delta]:
        """Every neuron's delta, output layer first (the order the recursion runs)."""
        m = self.model
        return [self.delta(n) for k in range(m.spec.depth, 0, -1) for n in m.neurons(k)]

    # -- paths -------------------------------------------------------------------------------
    def count_paths(self, parameter: Parameter) -> int:
        """The number of paths from the parameter to E_total, without listing them."""
        return sum(self._count(self.model.net[n.layer][n.index]) for n in parameter.feeds)

    def _count(self, node: sympy.Symbol) -> int:
        count = self._path_counts.get(node)
        if count is None:
            if node == self.model.loss_symbol:
                return 1
            count = self._path_counts[node] = sum(self._count(user) for user in self.consumers[node])
        return count

    def paths(self, parameter: Parameter) -> tuple[Path, ...]:
        """Every path from the parameter to E_total, each with its local factors (seed 000, eqs (22), (24))."""
        m = self.model
        found: list[Path] = []

        def walk(node: sympy.Symbol, nodes: tuple, factors: tuple) -> None:
            for user in self.consumers[node]:
                factor = self.factor(user, node)
                if user == m.loss_symbol:
                    neurons = tuple(m.neuron_of[n] for n in nodes if n in m.computed_outs)
                    found.append(Path(nodes, neurons, tuple(reversed(factors + (factor,)))))
                else:
                    walk(user, nodes + (user,), factors + (factor,))

        for neuron in parameter.feeds:
            net = m.net[neuron.layer][neuron.index]
            walk(net, (net,), (self.factor(net, parameter.symbol),))
        return tuple(found)

    def gradient(self, parameter: Parameter, with_paths: bool) -> Gradient:
        m = self.model
        terms = tuple((self.delta(n), self.factor(m.net[n.layer][n.index], parameter.symbol)) for n in parameter.feeds)
        return Gradient(
            parameter,
            self.count_paths(parameter),
            self.paths(parameter) if with_paths else None,
            *terms[0],
            shared=terms if parameter.shared else (),
            built=None if parameter.shared else self.delta_product(terms[0][0].symbol, terms[0][1].value),
        )

    def delta_product(self, delta: sympy.Symbol, value: sympy.Expr) -> sympy.Expr:
        """δ_j · ∂net_j/∂p (δ_j · out_i for a weight), built once: a parameter's delta form and its
        entry of the matrix form's g^[kW] are the same object.

        >>> from symbackprop.network.spec import NetworkSpec
        >>> chain = ChainRule(Model(NetworkSpec.parse("2-2")))
        >>> d, out = chain.deltas[0].symbol, chain.model.out[0][0]
        >>> chain.delta_product(d, out), chain.delta_product(d, out) is chain.delta_product(d, out)
        (delta_b_1*out_a_1, True)
        """
        key = (delta, value)
        known = self._delta_products.get(key)
        if known is None:
            known = self._delta_products[key] = product(delta, value)
        return known


_IDENTIFIER = re.compile(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*")  # w_3_12, W_2_3_2: already normalized
_PRINTED = re.compile(r"(?P<letter>[A-Za-z]+)(?:\^\{\[(?P<layer>[0-9]+)\]\})?"
                      r"(?:_\{(?P<indices>[A-Za-z0-9]+(?:[,_][A-Za-z0-9]+)*)\})?")  # w_{3,12}, W^{[2]}_{3,2}, b^{[2]}


def _normalize(name: str) -> str:
    """``w_{3,12}``, ``w_3_12`` and ``w_{3, 12}`` all become ``w_3_12``; ``\\mathrm`` is dropped;
    a layer superscript may come after the subscript, as seed 001 writes it (``W_{1,1}^{[3]}``).
    The shapes the notations print are normalized directly (the same result, checked in
    tests/test_verify_speed_paths.py); anything else by the general rewriting.

    >>> _normalize("W_{1,1}^{[3]}") == _normalize("W^{[3]}_{1,1}") == "W^[3]_1_1"
    True
    """
    if _IDENTIFIER.fullmatch(name):
        return name
    printed = _PRINTED.fullmatch(name)
    if printed:
        letter, layer, indices = printed.group("letter", "layer", "indices")
        return letter + ("" if layer is None else f"^[{layer}]") + ("" if indices is None else "_" + indices.replace(",", "_"))
    name = name.replace(r"\mathrm", "").replace("\\", "").replace(" ", "").replace("^{[", "^[").replace("]}", "]")
    name = re.sub(r"^([A-Za-z]+)((?:_\{[^{}]*\}|_[0-9A-Za-z,]+)+)(\^\{?\[[0-9]+\]\}?)$", r"\1\3\2", name)
    name = re.sub(r"[{},\s]+", "_", name)
    return re.sub(r"_+", "_", name).strip("_")


_ALL_IDENTIFIERS = re.compile(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*(?:\n[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*)*")
_ONE_PRINTED = _PRINTED.pattern.replace("(?P<letter>", "(?:").replace("(?P<layer>", "(?:").replace("(?P<indices>", "(?:")
_ALL_PRINTED = re.compile(rf"{_ONE_PRINTED}(?:\n{_ONE_PRINTED})*")


def _normalize_all(spellings: list[str]) -> list[str]:
    """``[_normalize(s) for s in spellings]``, for a whole notation's names at once: when every one is an
    identifier (``w_3_12``) or every one a printed shape (``w_{3,12}``, ``W^{[2]}_{3,2}``), one regular
    expression checks them all and a few string replacements normalize them all (as ``_normalize`` does each).

    >>> _normalize_all(["w_{31}", "W^{[2]}_{3,2}", "b^{[2]}"]), _normalize_all(["w_3_12", "E_total"])
    (['w_31', 'W^[2]_3_2', 'b^[2]'], ['w_3_12', 'E_total'])
    """
    text = "\n".join(spellings)
    if text.count("\n") != len(spellings) - 1:  # a spelling with a line break: each on its own
        return [_normalize(spelling) for spelling in spellings]
    if spellings and _ALL_IDENTIFIERS.fullmatch(text):
        return list(spellings)
    if spellings and _ALL_PRINTED.fullmatch(text):
        return text.replace("^{[", "^[").replace("]}", "]").replace("_{", "_").replace("}", "").replace(",", "_").split("\n")
    return [_normalize(spelling) for spelling in spellings]


@dataclass(frozen=True)
class Spellings:
    """Every parameter's normalized spellings (its symbol's name, its LaTeX name), for ``find_parameter``:
    ``first`` maps each to the first parameter (in ``parameters`` order) spelled so; ``loose_count``
    counts the parameters spelled so without separators, ``loose`` names one of them."""

    parameters: tuple[Parameter, ...]
    symbols: tuple[str, ...]  # normalized, in the order of ``parameters``
    printed: tuple[str, ...]
    first: dict[str, Parameter]
    loose_count: Counter
    loose: dict[str, Parameter]

    @classmethod
    def of(cls, chain) -> "Spellings":
        """The spellings of ``chain.parameters`` (a ``ChainRule``'s, or any object with ``parameters`` and ``model``)."""
        names, parameters = chain.model.latex_names, tuple(chain.parameters)
        symbols = _normalize_all([p.symbol.name for p in parameters])
        printed = _normalize_all([names[p.symbol] for p in parameters])
        # the first parameter of each spelling: assigned from the last, so that the first stays
        first = dict(zip(reversed([s for pair in zip(symbols, printed) for s in pair]),
                         reversed([p for p in parameters for _ in (0, 1)])))
        loose_symbols = [s.replace("_", "") for s in symbols]
        loose_printed = [s.replace("_", "") for s in printed]
        count = Counter(loose_symbols)  # each parameter once for each distinct spelling it has
        count.update(b for a, b in zip(loose_symbols, loose_printed) if a != b)
        loose = dict(zip(loose_printed, parameters))
        loose.update(zip(loose_symbols, parameters))
        return cls(parameters, tuple(symbols), tuple(printed), first, count, loose)

    def pairs(self):
        """(parameter, (symbol spelling, LaTeX spelling)) for every parameter, in order."""
        return zip(self.parameters, zip(self.symbols, self.printed))


def find_parameter(chain: ChainRule, name: str) -> Parameter:
    """The parameter named ``name`` in the model's notation (symbol or LaTeX name); in column
    notation also in Nielsen's and Ng's spellings (``grammar.Textbook``: w^3_{24}, dW^{[2]}_{1,3}).
    Looked up directly in every parameter's normalized spellings (``ChainRule.spellings``, built once:
    a wide network has tens of thousands of parameters).

    >>> from symbackprop.network.spec import NetworkSpec
    >>> from symbackprop.network.model import Model
    >>> chain = ChainRule(Model(NetworkSpec.parse("2-4-3-2")))
    >>> find_parameter(chain, "w_{34}").symbol, find_parameter(chain, "w34").symbol
    (w_34, w_34)

    In letter notation with one hidden layer, also the classic walk-through's w_1, w_2, ... and b_1, b_2
    (``NeuronsNotation.walkthrough_names``).
    """
    wanted = _normalize(name)
    names = chain.model.latex_names
    spelled = chain.spellings if isinstance(chain, ChainRule) else Spellings.of(chain)
    found = spelled.first.get(wanted)  # the first parameter spelled so
    if found is not None:
        return found
    # w31 for w_31: without separators, accepted only when exactly one parameter matches
    separated = wanted.replace("_", "")
    if spelled.loose_count.get(separated) == 1:
        return spelled.loose[separated]
    if chain.model.notation.columns:  # Nielsen's w^3_{24}, Ng's dW^{[2]}_{1,3}, lowercase w^{[2]}_{1,3}
        class Spelled(dict):  # parameters by normalized spelling, looked up by the grammar's keys (W^[2]_1_3)
            def get(self, key, default=None):
                return super().get(_normalize(key), default)

        by_symbol = {p.symbol: p for p in chain.parameters}
        book = Textbook(chain.model.spec.depth, names, parameter=True)
        table = Spelled((spelling, p.symbol) for p, spellings in spelled.pairs() for spelling in spellings)
        try:
            symbol = book.name(name, table)
            book.settle()
        except AmbiguousName as error:
            raise SpecError(f"parameter {error.problem}") from None
        except FormulaError:
            symbol = None
        if symbol in by_symbol:
            return by_symbol[symbol]
    walkthrough = getattr(chain.model.notation, "walkthrough_names", None)  # the classic walk-through's w_5
    if walkthrough is not None:
        aliases = {_normalize(alias): named.symbol for alias, named in walkthrough(chain.model.spec.shared_bias).items()}
        symbol = aliases.get(wanted) or {k.replace("_", ""): v for k, v in aliases.items()}.get(separated)
        found = next((p for p in chain.parameters if p.symbol.name == symbol), None)
        if found is not None:
            return found
    in_order = sorted(chain.parameters, key=lambda p: (p.layer, p.kind != "weight"))  # stable: target-major
    known = [names[p.symbol] for p in in_order]
    shown = ", ".join(known[:8]) + (f", … ({len(known)} in all)" if len(known) > 8 else "")
    raise SpecError(f"unknown parameter {name!r}: this network's parameters are {shown}")
