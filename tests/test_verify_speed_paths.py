"""The fast paths behind `verify` on wide networks give exactly what the general code gives.

`verify 784-30-10 --param ...` keys ~49,000 names, normalizes ~48,000 parameter spellings, builds a
net input of 784 terms per neuron and judges one gradient; each has a fast path for the shapes the
notations print, and falls back to the general code for anything else. These tests compare the
two, name by name and structure by structure (no timing is asserted here: see benchmarks/).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import sympy

from symbackprop import derive
from symbackprop.algebra import grammar
from symbackprop.algebra.grammar import FormulaError, name_table, parse_math
from symbackprop.checking.verify import Workspace, check_gradient
from symbackprop.derivation import chainrule
from symbackprop.derivation.chainrule import ChainRule, find_parameter
from symbackprop.network.model import Model, canonical_sum, product
from symbackprop.network.notation import NOTATIONS
from symbackprop.network.spec import NetworkSpec, SpecError
from symbackprop.proof import numeric, prove

NETWORKS = [
    ("2-4-3-2", {}),
    ("3-12-11-2", {"bias": True}),
    ("11-11-11", {"bias": True, "shared_bias": True}),
    ("1-" + "-".join(["1"] * 28), {}),  # past layer z: aa, ab, ...
    ("30-12-10", {"bias": True}),
]


def _models():
    for spec, options in NETWORKS:
        for notation in NOTATIONS:
            model = Model(NetworkSpec.parse(spec, notation=notation, **options))
            ChainRule(model).deltas  # the delta symbols join the names
            yield model


MODELS = list(_models())


def _parsed_key(spelling: str):
    """name_key by the tokenizer and parser alone: the key, or the error's message."""
    parser = grammar._Parser(spelling, grammar.tokenize(spelling, grammar.MATH_ALLOWED),
                             grammar._Grammar(True, {}, grammar.MATH_ALLOWED), {}, {})
    try:
        if parser.peek().kind not in ("word", "macro"):
            parser.fail(parser.peek(), "expected a name")
        name = parser.read_name()
        parser.expect_end()
    except FormulaError as error:
        return ("error", str(error))
    return name.key


def _parsed_table(latex_names) -> dict:
    """name_table built with the parser alone (the code before the fast path)."""
    table, loose = {}, {}
    for spellings in ([latex for latex in latex_names.values()], [s.name for s in latex_names]):
        for symbol, spelling in zip(latex_names, spellings):
            key = _parsed_key(spelling)
            if isinstance(key, tuple):
                continue
            table.setdefault(key, symbol)
            loose.setdefault(key.replace("_", ""), set()).add(symbol)
    for key, symbols in loose.items():
        if len(symbols) == 1 and key not in table:
            table[key] = next(iter(symbols))
    losses = [s for s in latex_names if s.name in ("E_total", "L")]
    if len(losses) == 1:
        for spelling in grammar.LOSS_SPELLINGS:
            table.setdefault(spelling, losses[0])
    return table


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.spec.text[:12]}-{m.spec.notation}")
def test_every_name_keys_as_the_parser_keys_it(model):
    for symbol, latex in model.latex_names.items():
        for spelling in (latex, symbol.name):
            parsed = _parsed_key(spelling)
            if isinstance(parsed, tuple):  # not one name (g_2z_1): refused, by the parser
                assert grammar._simple_key(spelling) is None, spelling
            else:
                assert grammar.name_key(spelling) == parsed, spelling


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.spec.text[:12]}-{m.spec.notation}")
def test_name_table_is_the_parsers_table_in_its_order(model):
    fast = name_table(model.latex_names)
    assert list(fast.items()) == list(_parsed_table(model.latex_names).items())
    assert fast.latex == model.latex_names


PIECES = ["w", "out", "e", "E", "d", "1", "2", "12", "0", "_", "^", "{", "}", "[", "]", ",", r"\mathrm", r"\hat",
          r"\delta", r"\alpha", r"\sigma", r"\quad", "z", "T", "'", r"\prime", " ", "1e3", "3E", r"\text",
          r"\mathcal", r"\Sigma", "x", r"\{", r"\,", ".", "5.1", r"\begin{x}", "~", "aa", r"\rm"]
BASES = ["w", "w31", "out", r"\mathrm{out}", r"\delta", r"\hat{y}", r"\mathrm{}", r"\hat{}", r"\mathcal{L}", "E",
         r"\alpha", r"\mathrm{a_b}", r"\hat{y1}", r"\mathrm{\alpha}", r"\delta{x}", r"\hat y", "yhat", "g", "12", "_",
         r"\sigma", r"\mathrm", "W", "b"]
DECORATIONS = ["_1", "_12", "_d", "_d1", "_{d_1}", "_{d_{10}}", "_{3,12}", r"_{\mathrm{total}}", r"_\mathrm{total}",
               r"_\alpha", r"_\alpha{x}", "^{[2]}", "^[2]", "^{[2z]}", "^{[]}", r"^{[2]\prime}", "^{[2]T}", "_{}",
               "_{,}", "_{1e5}", "_1e5", "^2", "^{2}", r"_{\quad}", r"_{\mathrm{}}", "_{{}}", "_{a{b}c}",
               "_{a{b{c}}}", r"_\hat{y}", r"_{\hat{y}}", "_{1.5}", "_", "^", "'", "_{d_1", "_{d_1}}", "_x2y",
               "^{[a1]}", "^{[1a]}", "^{[1,2]}", "^{[1_2]}", "_{3, 12}", r"_{\sigma}"]


def test_the_fast_key_agrees_with_the_parser_on_odd_spellings():
    """Random spellings near the notations' shapes: wherever the fast path answers, it answers as the parser."""
    rng = random.Random(14)
    spellings = ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 9))) for _ in range(20_000)]
    spellings += [rng.choice(BASES) + "".join(rng.choice(DECORATIONS) for _ in range(rng.randint(0, 4)))
                  for _ in range(20_000)]
    answered = 0
    for spelling in spellings:
        key = grammar._simple_key(spelling)
        if key is not None:
            answered += 1
            assert key == _parsed_key(spelling), spelling
    assert answered > 4000  # the comparison is not vacuous


@pytest.mark.parametrize("spelling", ["w_{1e3}", r"\sigma_{1}", "g_2z_1", r"w_{3, 12}", r"\mathrm{}_1", "w__1", "w_1.5"])
def test_what_the_fast_key_does_not_read_goes_to_the_parser(spelling):
    assert grammar._simple_key(spelling) is None
    parsed = _parsed_key(spelling)
    if isinstance(parsed, tuple):
        with pytest.raises(FormulaError) as error:
            grammar.name_key(spelling)
        assert str(error.value) == parsed[1]
    else:
        assert grammar.name_key(spelling) == parsed


@pytest.mark.parametrize("spec, notation, formula", [
    ("784-30-10", "neurons", r"\delta_{b_1} out_{a_785}"),
    ("30-12-10", "neurons", r"\delta_{b_1} out_{a_99}"),
    ("30-12-10", "layers", r"g^{[1z]}_{1} a^{[0]}_{99}"),
    ("30-12-10", "columns", r"\delta^{[1]}_{1} a^{[0]}_{99}"),
    ("30-12-10", "neurons", r"\delta_{q_1} out_{a_1}"),
])
def test_unknown_names_are_listed_as_before(spec, notation, formula):
    """The 'did you mean' and 'names of that kind' listing read the table: the same table, the same words."""
    model = Model(NetworkSpec.parse(spec, notation=notation))
    ChainRule(model).deltas
    fast, parsed = name_table(model.latex_names), grammar.NameTable(_parsed_table(model.latex_names),
                                                                     latex=model.latex_names)
    messages = []
    for table in (fast, parsed):
        with pytest.raises(FormulaError) as error:
            parse_math(formula, table)
        messages.append(str(error.value))
    assert messages[0] == messages[1]
    assert "unknown name" in messages[0]


def _normalized_as_before(name: str) -> str:
    """chainrule._normalize's general rewriting, without its fast paths."""
    import re

    name = name.replace(r"\mathrm", "").replace("\\", "").replace(" ", "").replace("^{[", "^[").replace("]}", "]")
    name = re.sub(r"^([A-Za-z]+)((?:_\{[^{}]*\}|_[0-9A-Za-z,]+)+)(\^\{?\[[0-9]+\]\}?)$", r"\1\3\2", name)
    name = re.sub(r"[{},\s]+", "_", name)
    return re.sub(r"_+", "_", name).strip("_")


def test_parameter_spellings_normalize_as_before():
    spellings = [s for m in MODELS for pair in m.latex_names.items() for s in (pair[0].name, pair[1])]
    rng = random.Random(5)
    pieces = ["w", "W", "b", "_", "{", "}", "[", "]", "^", ",", "1", "12", "a", r"\mathrm", "\\", " ", "c", "^{[", "]}"]
    spellings += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 10))) for _ in range(30_000)]
    for spelling in spellings:
        assert chainrule._normalize(spelling) == _normalized_as_before(spelling), spelling


def _found_as_before(chain, name, spelled=None):
    """find_parameter's first two passes as they were: every parameter's spellings normalized in turn
    (``spelled``: those spellings, by parameter, normalized once for many names)."""
    wanted = _normalized_as_before(name)
    if spelled is None:
        spelled = _spelled_as_before(chain)
    for parameter in chain.parameters:
        if wanted in spelled[parameter]:
            return parameter
    loose = [p for p in chain.parameters if wanted.replace("_", "") in {s.replace("_", "") for s in spelled[p]}]
    return loose[0] if len(loose) == 1 else None


def _spelled_as_before(chain):
    """Each parameter's two spellings as ``_normalized_as_before`` writes them."""
    names = chain.model.latex_names
    return {p: (_normalized_as_before(p.symbol.name), _normalized_as_before(names[p.symbol])) for p in chain.parameters}


@pytest.mark.parametrize("spec, options", NETWORKS[:3] + [("2-3-2", {})])
@pytest.mark.parametrize("notation", list(NOTATIONS))
def test_find_parameter_finds_what_it_found(spec, options, notation):
    chain = ChainRule(Model(NetworkSpec.parse(spec, notation=notation, **options)))
    names = []
    for p in chain.parameters:
        symbol, latex = p.symbol.name, chain.model.latex_names[p.symbol]
        names += [symbol, latex, symbol.replace("_", ""), latex.replace("{", "").replace("}", ""), latex.replace(",", ", ")]
    names += ["w_{99}", "W^3_{12}", "w^3_{21}", "dW^{[2]}_{1,3}", "w^{[2]}_{1,3}", "x", "W_{1,1}^{[2]}", r"\delta"]
    spelled = _spelled_as_before(chain)
    for name in names:
        before = _found_as_before(chain, name, spelled)
        try:
            found = find_parameter(chain, name)
        except SpecError as error:
            assert before is None, name
            assert "unknown parameter" in str(error) or "parameter" in str(error)
            continue
        if before is not None:
            assert found is before, name


@pytest.mark.parametrize("model", MODELS[:6], ids=lambda m: f"{m.spec.text[:12]}-{m.spec.notation}")
def test_net_inputs_are_sympys_sums(model):
    """The model's own products and sums have SymPy's canonical order, term for term."""
    for k in range(1, model.spec.depth + 1):
        for j in range(model.spec.layers[k]):
            terms = model.net_terms(k, j)
            assert [t.args for t in terms] == [sympy.Mul(*t.args).args for t in terms]
            built = model.definitions[model.net[k][j]]
            assert built == sympy.Add(*terms) and built.args == sympy.Add(*terms).args


def test_canonical_sum_with_the_same_assumptions_is_sympys():
    rng = random.Random(3)
    symbols = sympy.symbols("a b c x1 x2 x10 y_1 y_2 zz", real=True)
    for _ in range(500):
        terms = [rng.choice(symbols) if rng.random() < 0.2 else product(rng.choice(symbols), rng.choice(symbols))
                 for _ in range(rng.randint(2, 12))]
        assert canonical_sum(terms, same_assumptions=True).args == sympy.Add(*terms).args
        assert canonical_sum(terms, same_assumptions=True) == canonical_sum(terms)


def test_the_parameter_set_is_the_parameter_list():
    model = Model(NetworkSpec.parse("30-12-10", bias=True))
    parameters = model.parameters
    assert model.parameter_set == set(parameters) and len(model.parameter_set) == len(parameters)
    assert all(p in model.parameter_set for p in parameters[:50]) and model.out[0][0] not in model.parameter_set
    assert sympy.Symbol(parameters[3].name, real=True) in model.parameter_set  # equal, not identical
    parameters.remove(parameters[3])
    assert model.weights[1][0][3] not in parameters and model.weights[1][0][3] in model.parameters
    assert model.parameters is not model.parameters  # a new list each time, as before


def test_the_complex_step_of_a_few_parameters_is_every_parameters():
    for spec, options in [("784-30-10", {}), ("50-30-10", {"bias": True}), ("50-30-10", {"bias": True, "shared_bias": True}),
                          ("60-20-5", {"loss": "ce", "activation": "sigmoid,softmax"})]:
        model = Model(NetworkSpec.parse(spec, **options))
        chain, values = ChainRule(model), numeric.random_points(model, 3, seed=0)
        few = [chain.parameters[0], chain.parameters[-1], chain.parameters[len(chain.parameters) // 2]]
        mine, every = prove._complex_step(model, values, few), numeric.complex_step_gradient(model, values)
        for p in few:  # the same arithmetic, in a batch of one row instead of thousands: equal to rounding
            np.testing.assert_allclose(mine[p.symbol], every[p.symbol], rtol=1e-13, atol=0)
    assert prove._complex_step(Model(NetworkSpec.parse("2-4-3-2")), values, few) is None  # small: the whole batch


def test_a_witness_depends_on_what_it_did():
    d = derive("30-12-10", only=["w_{1,1}"], proof="gradients")
    ws = Workspace(d)

    def reached(exprs):
        found, seen, stack = set(), set(), [s for e in exprs for s in e.free_symbols]
        while stack:
            symbol = stack.pop()
            if symbol not in seen:
                seen.add(symbol)
                if symbol in ws.one_level:
                    stack.extend(ws.one_level[symbol].free_symbols)
                else:
                    found.add(symbol)
        return found

    m = d.model
    for exprs in [(d.gradients[0].delta_value,), (m.loss_symbol,), (m.out[-1][0], m.weights[1][0][0]), (sympy.Integer(2),)]:
        assert ws.depends_on(exprs) == reached(exprs)


def test_latex_prints_with_the_names_it_needs():
    d = derive("30-12-10", only=["w_{1,1}"], proof="gradients")
    ws = Workspace(d)
    from symbackprop.handout.latex import to_latex

    g = d.gradients[0]
    for expr in (g.delta_value, g.delta.definition, g.delta_form, d.model.loss, sympy.Integer(3)):
        assert ws.latex(expr) == to_latex(expr, ws.latex_names)


@pytest.mark.parametrize("formula, correct, diagnosis", [
    (r"\delta_{b_1} out_{a_1}", True, []),
    (r"\delta_{b_2} out_{a_1}", False, ["your formula is the gradient of w_{1,31}, not of w_{11}"]),
])
def test_verdicts_on_a_wide_network(formula, correct, diagnosis):
    d = derive("30-12-10", only=["w_{1,1}"], proof="gradients")
    verdict = check_gradient(d, "w_{1,1}", formula)
    assert verdict.correct is correct and verdict.method == "numeric"
    assert verdict.diagnosis == diagnosis


@pytest.mark.parametrize("spec, options", [("30-12-10", {}), ("4-5-3", {"bias": True, "loss": "ce", "activation": "tanh,softmax"}),
                                           ("3-4-2", {"activation": "relu"})])
def test_the_proofs_forward_values_are_the_samples_own(spec, options):
    """verify reuses the numeric check's net inputs and outputs at its points: the numbers it would compute."""
    d = derive(spec, only=["w_{11}" if spec != "30-12-10" else "w_{1,1}"], proof="gradients", **options)
    assert d.verification.forward and Workspace(d)._forward(3, 0)  # reused, not evaluated again
    reused = Workspace(d).sample(3, 0)
    fresh_workspace = Workspace(d)
    fresh_workspace._forward = lambda n, seed: {}
    from symbackprop.checking import verify as verify_module

    verify_module._SAMPLES.pop(d.model, None)
    fresh = fresh_workspace.sample(3, 0)
    assert list(reused) == list(fresh)
    for symbol in fresh:
        np.testing.assert_array_equal(reused[symbol], fresh[symbol])


def test_whole_lists_normalize_and_key_as_each_name():
    for model in MODELS:
        for spellings in (list(model.latex_names.values()), [s.name for s in model.latex_names]):
            assert chainrule._normalize_all(spellings) == [chainrule._normalize(s) for s in spellings]
            assert grammar._keys(spellings) == [None if isinstance(_parsed_key(s), tuple) else _parsed_key(s)
                                                for s in spellings]
    odd = ["w_1\nw_2", "w_{1}", "W^{[2]}", "b", "a b"]
    assert chainrule._normalize_all(odd) == [chainrule._normalize(s) for s in odd]
    assert grammar._keys(odd) == [None if isinstance(_parsed_key(s), tuple) else _parsed_key(s) for s in odd]


def test_deltas_over_outputs_only_as_needed():
    d = derive("30-12-10", only=["w_{1,1}"], proof="gradients")
    ws = Workspace(d)
    written = ws.parse(r"\delta_{b_2} out_{a_1} + \delta_{c_3} w_{2,1}")
    assert ws.over_outputs(written) == written.xreplace(Workspace(d).deltas_over_outputs)
