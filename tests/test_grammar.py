"""The safe formula grammar: what it accepts (as exact SymPy expressions), what it refuses, how fast."""

import ast
from pathlib import Path

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop.algebra import grammar as formula
from reference import agree_numerically
from symbackprop.algebra.grammar import (
    FormulaError,
    Function,
    name_key,
    name_table,
    expand_dependents,
    parse_activation,
    total_derivative,
    parse_math,
)
from symbackprop.network.model import Model
from symbackprop.network.spec import NetworkSpec

z = sympy.Symbol("z", real=True)
S = lambda name: sympy.Symbol(name, real=True)  # noqa: E731
out, net, target, w = (lambda label, p=p: S(f"{p}_{label}") for p in ("out", "net", "target", "w"))  # noqa: E731
sigma = lambda x: 1 / (1 + sympy.exp(-x))  # noqa: E731


@pytest.fixture(scope="module")
def seed000_model():
    return Model(NetworkSpec.parse("2-4-3-2"))


@pytest.fixture(scope="module")
def names(seed000_model):
    from symbackprop.derivation.chainrule import ChainRule

    ChainRule(seed000_model).deltas  # registers the delta symbols' names
    return name_table(seed000_model.latex_names)


# -- activations ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("z/(1+abs(z))", z / (1 + sympy.Abs(z))),
        ("max(0, z)", sympy.Max(0, z)),
        ("min(z, 6)", sympy.Min(z, 6)),
        ("tanh(z)^2", sympy.tanh(z) ** 2),
        ("2**z", 2**z),
        ("log(1+exp(z))", sympy.log(1 + sympy.exp(z))),
        ("sqrt(z^2 + 1)", sympy.sqrt(z**2 + 1)),
        ("0.5*sin(z) - cos(z)/4", sympy.sin(z) / 2 - sympy.cos(z) / 4),
        ("-z^2", -(z**2)),
        ("2^3^2", sympy.Integer(512)),  # right-associative: 2^(3^2)
        ("1.25z", sympy.Rational(5, 4) * z),
    ],
)
def test_activation_grammar_builds_exact_expressions(text, expected):
    result = parse_activation(text)
    assert result == expected
    assert result.free_symbols <= {z}


def test_activation_variable_is_real_z():
    assert parse_activation("z") == sympy.Symbol("z", real=True)
    assert parse_activation("z") != sympy.Symbol("z")


@pytest.mark.parametrize(
    "text, position, problem",
    [
        ('__import__("os")', 1, "unexpected '_'"),
        ("z.real", 2, "unexpected '.'"),
        ("'z'", 1, "unexpected \"'\""),
        ("[z]", 1, "unexpected '['"),
        ("(z, 1)", 3, "expected ')' but found ','"),
        ("y + z", 1, "unknown name 'y'"),
        ("exp z", 5, "expected '(' after exp"),
        ("max(z, z^2)", 1, "max needs a number"),
        ("max(0, z, 1)", 1, "max takes 2 arguments"),
        (r"\exp(z)", 1, "unexpected '\\\\'"),
        ("e^z", 1, "unknown name 'e'"),
        ("z = 1", 3, "unexpected '='"),
        ("sqrt(z", 7, "expected ')' but the formula ends"),
    ],
)
def test_activation_errors_quote_the_text_and_show_where(text, position, problem):
    with pytest.raises(FormulaError) as caught:
        parse_activation(text)
    message = str(caught.value)
    assert message.startswith(f"invalid formula {text!r} at position {position}: ")
    assert problem in message
    assert "\n" not in message
    assert caught.value.position == position - 1
    if "unknown name" not in problem:
        assert "allowed: numbers, the variable z" in message


def test_formula_error_is_a_value_error():
    assert issubclass(FormulaError, ValueError)


def test_modules_never_evaluate_user_text():
    """No eval, exec, compile, sympify, S() or parse_expr anywhere in the two modules."""
    builtins = {"eval", "exec", "compile", "__import__"}
    anywhere = {"sympify", "parse_expr", "parse_latex", "S", "lambdify"}
    for module in ("algebra/grammar.py", "checking/verify.py"):
        tree = ast.parse((Path(__file__).parent.parent / "symbackprop" / module).read_text())
        calls = [node.func for node in ast.walk(tree) if isinstance(node, ast.Call)]
        names = {f.id for f in calls if isinstance(f, ast.Name)}
        attributes = {f.attr for f in calls if isinstance(f, ast.Attribute)}
        assert not names & (builtins | anywhere), module
        assert not attributes & anywhere, module


# -- names -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spelling",
    [r"out_{d_1}", r"\mathrm{out}_{d_1}", "out_d_1", "out_d1", r"out_{d1}", r"\operatorname{out}_{d_1}"],
)
def test_every_spelling_of_an_output_resolves(names, spelling):
    assert parse_math(spelling, names) == out("d_1")


@pytest.mark.parametrize("spelling", [r"w_{31}", "w31", "w_31", r"w_{3,1}", r"w_{3_1}"])
def test_every_spelling_of_a_weight_resolves(names, spelling):
    assert parse_math(spelling, names) == w("31")


def test_weights_with_two_digit_indices():
    model = Model(NetworkSpec.parse("2-6-3"))  # w_{2,12}: layer 2, k = 12
    table = name_table(model.latex_names)
    for spelling in (r"w_{2,12}", "w_2_12", r"w_{2, 12}", "w212"):
        assert parse_math(spelling, table) == S("w_2_12")
    assert parse_math(r"w_{21}", table) == S("w_21")


def test_other_names_of_seed_000(names):
    assert parse_math(r"E_{\mathrm{total}} - E_{total} + E_total", names) == S("E_total")
    assert parse_math(r"\delta_{c_1} + delta_c1", names) == 2 * S("delta_c_1")
    assert parse_math(r"\mathrm{target}_{d_2}", names) == target("d_2")
    assert parse_math(r"\mathrm{net}_{b_4}", names) == net("b_4")


def test_every_latex_name_of_the_model_parses_back_to_its_symbol(seed000_model, names):
    for symbol, latex in seed000_model.latex_names.items():
        assert parse_math(latex, names) == symbol, latex
        assert parse_math(symbol.name, names) == symbol


def test_layers_notation_names_keep_their_superscripts_as_part_of_the_name():
    """Seed 001's (future) notation: ^{[k]} is a layer index, not a power."""
    latex = {
        S("a_2_1"): r"a^{[2]}_{1}", S("W_3_1_2"): r"W^{[3]}_{1,2}", S("z_1_3"): r"z^{[1]}_{3}",
        S("b_2_1"): r"b^{[2]}_{1}", S("yhat_1"): r"\hat{y}_{1}", S("y_1"): r"y_{1}",
        S("W_3_12_1"): r"W^{[3]}_{12,1}", S("W_3_1_21"): r"W^{[3]}_{1,21}", S("g_3z"): r"g^{[3z]}",
    }
    table = name_table(latex)
    for symbol, spelling in latex.items():
        assert parse_math(spelling, table) == symbol, spelling
    # seed 001 writes the subscript first: a_1^{[2]}, W_{1,2}^{[3]}
    assert parse_math(r"a_1^{[2]} W_{1,2}^{[3]}", table) == S("a_2_1") * S("W_3_1_2")
    assert parse_math(r"(a^{[2]}_{1})^2 + \hat{y}_1 - y_1", table) == S("a_2_1") ** 2 + S("yhat_1") - S("y_1")
    assert parse_math(r"a^{[2]}_{1}^{2}", table) == S("a_2_1") ** 2
    # W^{[3]}_{1,21} and W^{[3]}_{12,1} share the separator-free spelling, so it is refused
    with pytest.raises(FormulaError, match="unknown name"):
        parse_math(r"W^{[3]}_{121}", table)


def test_name_key_normalizes_spellings():
    assert name_key(r"\mathrm{out}_{d_1}") == name_key("out_d1") == "out_d_1"
    assert name_key(r"a_1^{[2]}") == name_key(r"a^{[2]}_{1}") == "a^[2]_1"
    with pytest.raises(FormulaError):
        name_key("out_d1 + 1")


def test_unknown_names_list_close_matches_and_the_known_names(names):
    with pytest.raises(FormulaError) as caught:
        parse_math(r"out_{d_1} + out_{d_3}", names)
    message = str(caught.value)
    assert "at position 13: unknown name 'out_{d_3}'" in message
    # in the handout's own spelling, and all of the kind (layer d's outputs) when they are few
    assert r"(did you mean \mathrm{out}_{d_2} or \mathrm{out}_{d_1} or \mathrm{out}_{c_3} or \mathrm{out}_{b_3}?)" in message
    assert r"the names of that kind are \mathrm{out}_{d_1}, \mathrm{out}_{d_2}" in message
    assert "out_d_2" not in message and "outd2" not in message
    with pytest.raises(FormulaError) as caught:
        parse_math("2x", names)
    assert "unknown name 'x'" in str(caught.value) and r"known names: E_{\mathrm{total}}" in str(caught.value)
    assert "(58 in all)" in str(caught.value)


@pytest.mark.parametrize("notation, formula", [("neurons", "b_{1}"), ("neurons", "b_{c_1}"), ("layers", "b^{[1]}_1"),
                                               ("layers", "db^{[2]}"), ("columns", "b^{[1]}")])
def test_a_bias_of_a_network_without_biases_says_so(notation, formula):
    for bias in (False, True):
        table = name_table(Model(NetworkSpec.parse("2-3-2", notation=notation, bias=bias)).latex_names)
        try:
            parse_math(formula, table)
        except FormulaError as error:
            assert ("this network has no biases (give --bias)" in str(error)) is not bias, (bias, str(error))
        else:
            assert bias


def test_a_bare_b_is_no_bias():
    """A letter b (a variable of --steps) is not taken for a bias the network lacks."""
    with pytest.raises(FormulaError) as caught:
        parse_math("b + z", {}, variables=["z"])
    assert "biases" not in str(caught.value)


def test_free_variables_and_euler_e():
    assert parse_math(r"e^{-z}", {}, variables=["z"]) == sympy.exp(-z)
    assert parse_math(r"e", {}) == sympy.E
    assert parse_math(r"z_1^{[3]}", {}, variables=["z_1^{[3]}"]) == sympy.Symbol("z_1^{[3]}", real=True)
    a = S("a")
    assert parse_math("az + za", {"a": a}, variables=["z"]) == 2 * a * z  # implicit product of letters


# -- LaTeX and plain text ------------------------------------------------------------------------
EQ15 = (out("d_1") - target("d_1")) * out("d_1") * (1 - out("d_1")) * out("c_1")


@pytest.mark.parametrize(
    "text",
    [
        r"(out_{d_1} - target_{d_1}) * out_{d_1} * (1 - out_{d_1}) * out_{c_1}",
        r"\left(\mathrm{out}_{d_1} - \mathrm{target}_{d_1}\right) \cdot \mathrm{out}_{d_1} "
        r"\left(1 - \mathrm{out}_{d_1}\right) \cdot \mathrm{out}_{c_1}",
        "(out_d1 - target_d1)*out_d1*(1 - out_d1)*out_c1",
        "(out_d_1 - target_d_1)*out_d_1*(1 - out_d_1)*out_c_1",
        r"out_{d_1}(1 - out_{d_1})(out_{d_1} - target_{d_1})out_{c_1}",
        r"\left[out_{d_1} - target_{d_1}\right] \times out_{d_1} \, \{1 - out_{d_1}\} \; out_{c_1} \!",
        r"{(out_{d_1} - target_{d_1})} \cdot (out_{d_1} - out_{d_1}^{2}) \cdot out_{c_1}",
        "(out_d1 − target_d1)·out_d1×(1 − out_d1)·out_c1",  # Unicode minus and dots
    ],
)
def test_seed_000_eq_15_in_every_spelling(names, text):
    assert sympy.expand(parse_math(text, names) - EQ15) == 0


def test_latex_constructs(names):
    o, t = out("d_1"), target("d_1")
    cases = {
        r"\frac{out_{d_1}}{2} \cdot target_{d_1}": o * t / 2,
        r"\frac12 out_{d_1}^2": o**2 / 2,
        r"\tfrac{1}{2}(target_{d_1} - out_{d_1})^{2}": (t - o) ** 2 / 2,
        r"2out_{d_1}": 2 * o,
        r"e^{-net_{d_1}}": sympy.exp(-net("d_1")),
        r"\exp(net_{d_1}) + \exp net_{d_1}": 2 * sympy.exp(net("d_1")),
        r"\log(out_{d_1}) + \ln out_{d_1}": 2 * sympy.log(o),
        r"\tanh^2(net_{d_1})": sympy.tanh(net("d_1")) ** 2,
        r"\sigma(net_{d_1})": sigma(net("d_1")),
        r"\sigma\left(net_{d_1}\right) - sig(net_{d_1})": sympy.Integer(0),
        r"\operatorname{sigmoid}(net_{d_1})": sigma(net("d_1")),
        r"\sqrt{out_{d_1}} + \sqrt[3]{8}": sympy.sqrt(o) + 2,
        r"\sin(out_{d_1})^2 + \cos(out_{d_1})": sympy.sin(o) ** 2 + sympy.cos(o),
        r"out_{d_1}**2 + 0.25": o**2 + sympy.Rational(1, 4),
        r"-out_{d_1}^2": -(o**2),
        r"\frac{1}{1 + e^{-net_{d_1}}}": sigma(net("d_1")),
    }
    for text, expected in cases.items():
        assert parse_math(text, names) == expected, text


@pytest.mark.parametrize("text, expected", [
    (r"|z|", sympy.Abs(z)),
    (r"\left| z \right| + \lvert z \rvert + \vert z \vert", 3 * sympy.Abs(z)),
    (r"\left\lvert 1 - z \right\rvert", sympy.Abs(1 - z)),
    (r"2|z| + |-3|", 2 * sympy.Abs(z) + 3),
    (r"||z| - 1|", sympy.Abs(sympy.Abs(z) - 1)),
    (r"\frac{z}{1 + |z|}", z / (1 + sympy.Abs(z))),
    (r"\big| z \big|^2", sympy.Abs(z) ** 2),
    (r"\mathrm{sign}(z) + \operatorname{sgn}(z) + sign(z)", 3 * sympy.sign(z)),
])
def test_absolute_value_bars_and_sign(text, expected):
    """|z| as people write it (bars, \\left| \\right|, \\lvert \\rvert), and sign(z), what d|z|/dz is."""
    assert parse_math(text, {"z": z}) == expected


def test_absolute_value_bars_are_checked():
    for text, problem in [(r"|z", "never closed"), (r"\lvert z", "never closed"), (r"\left| z \right)", "never closed")]:
        with pytest.raises(FormulaError, match=problem):
            parse_math(text, {"z": z})
    assert parse_activation("z/(1+|z|)") == z / (1 + sympy.Abs(z))  # plain text too


def test_no_derivative_by_a_name_given_a_number():
    """A document's $v = 0.4$ makes v a number: ∂E/∂v would be 0 whatever E is, which is no check of
    anything (lint once called right lines wrong so); it is refused, naming v."""
    v = S("v")
    with pytest.raises(FormulaError, match="cannot differentiate with respect to v: it is given the value 2/5"):
        parse_math(r"\frac{\partial}{\partial v} v^2", {"v": v}, definitions={v: sympy.Rational(2, 5)})
    assert parse_math(r"\frac{d}{dv} v^2", {"v": v}) == 2 * v


def test_an_unknown_name_under_partial_is_reported_as_such(names):
    """\\frac{\\partial E}{\\partial X} is a derivative whatever X is: an unknown X is named, not the ∂."""
    with pytest.raises(FormulaError, match="unknown name 'out_{x1}'"):
        parse_math(r"\frac{\partial E_{total}}{\partial out_{x1}}", names)


def test_derivative_forms(names, seed000_model):
    m = seed000_model
    definitions = {**m.definitions, m.loss_symbol: m.loss}
    o, t = out("d_1"), target("d_1")
    parse = lambda text: parse_math(text, names, definitions=definitions)  # noqa: E731
    assert parse(r"\frac{\partial E_{\mathrm{total}}}{\partial \mathrm{out}_{d_1}}") == o - t
    assert parse(r"\frac{\partial}{\partial out_{c_1}} net_{d_1}") == w("31")
    assert parse(r"\frac{\partial net_{d_1}}{\partial w_{31}}") == out("c_1")
    assert parse(r"\frac{\partial}{\partial w_{31}} (w_{31} out_{c_1} + w_{32} out_{c_2})") == out("c_1")
    # through the definitions: d out_{d_1} / d net_{d_1} is the sigmoid's derivative
    assert sympy.simplify(parse(r"\frac{\partial out_{d_1}}{\partial net_{d_1}}") - sympy.diff(sigma(net("d_1")), net("d_1"))) == 0
    # ∂E_total/∂w_{31}, expanded only as far as w_{31} reaches, equals seed 000's eq (15)
    value = expand_dependents(parse(r"\frac{\partial E_{total}}{\partial w_{31}}"), w("31"), definitions)
    eq15 = EQ15.xreplace({o: sigma(m.definitions[m.net[3][0]])})
    assert sympy.simplify(value - eq15) == 0


def test_total_derivative_is_the_derivative_of_the_expanded_loss(seed000_model):
    """The chain rule through the definitions (which keeps out_{d_1} and its kind) equals
    sympy.diff of E_total written out over the weights: the first and last weight of every layer."""
    m = seed000_model
    definitions = {**m.definitions, m.loss_symbol: m.loss}
    for layer in m.weights[1:]:
        for weight in (layer[0][0], layer[-1][-1]):
            found = total_derivative(m.loss_symbol, weight, definitions)
            assert found.free_symbols & set(m.definitions), "the result keeps the defined symbols"
            assert agree_numerically(found.xreplace(m.expansions), sympy.diff(m.expanded_loss, weight), points=2), weight


def test_derivative_operator_takes_a_bracket_or_the_rest_of_the_product():
    parse = lambda text: parse_math(text, {}, variables=["z"])  # noqa: E731
    assert parse(r"\frac{d}{dz}(z^2) z") == 2 * z**2  # (d/dz z^2) · z
    assert parse(r"\frac{d}{dz}(1-e^{-z})^{-1}") == sympy.diff((1 - sympy.exp(-z)) ** -1, z)
    assert parse(r"\frac{d}{dz} z^2 z + 1") == 3 * z**2 + 1  # d/dz (z^2 · z), then + 1
    assert parse(r"\frac{d}{d z} \left(\frac{1}{1-e^{-z}}\right)") == -sympy.exp(-z) / (1 - sympy.exp(-z)) ** 2
    assert parse(r"\frac{dz^3}{dz}") == parse(r"\frac{d (z^3)}{d z}") == 3 * z**2
    assert parse(r"\frac{d}{dz}\frac{d}{dz} z^3") == 6 * z
    with pytest.raises(FormulaError, match="unknown name 'q'"):
        parse(r"\frac{d}{dq} z")


def test_custom_functions_replace_the_default_table():
    functions = {"g": Function(1, sympy.tanh), "relu": Function(1, lambda x: sympy.Max(0, x))}
    assert parse_math("g(z) + relu(z)", {}, functions, variables=["z"]) == sympy.tanh(z) + sympy.Max(0, z)
    with pytest.raises(FormulaError, match="unknown name 'exp'"):
        parse_math("exp(z)", {}, functions, variables=["z"])


def test_definitions_are_expanded_only_where_the_variable_is_inside():
    a, b = S("a"), S("b")
    definitions = {a: 1 / (1 - sympy.exp(-z)), b: S("c") ** 2}
    result = parse_math(r"\frac{d}{dz} (a b)", {"a": a, "b": b}, variables=["z"], definitions=definitions)
    assert result == b * sympy.diff(definitions[a], z)


# -- hostile and absurd input -----------------------------------------------------------------------
HOSTILE = [
    ("x" * 5000, "too long"),
    ("(" * 100 + "1" + ")" * 100, "nested too deeply"),
    ("{" * 100 + "1" + "}" * 100, "nested too deeply"),
    ("-" * 200 + "1", "nested too deeply"),
    ("2^" * 100 + "2", "nested too deeply"),
    ("1" * 40, "number too long"),
    (r"2^{10^{10}}", "too large"),
    ("9^9^9", "too large"),
    (r"((10^{100})^{10})^{10}", "too large"),
    (r"(out_{d_1} + 1)^{1000}", "too large"),
    (r"((out_{d_1} + 1)^{16})^{16}", "too large"),
    (r"\sqrt[1000]{2}", "root degree"),
    (r"\input{/etc/passwd}", r"unknown or misplaced command \input"),
    (r"\include{x}", r"command \include"),
    (r"\def\x{1} 1", r"command \def"),
    (r"\catcode`\^=7", "unexpected '`'"),
    (r"\foo", r"command \foo"),
    (r"\frac{d}{dz}" * 9 + "1", "more than 8 derivatives"),
    ("1/0", "undefined or not real"),
    (r"\log(-1)", "undefined or not real"),
    (r"\sqrt{-1}", "undefined or not real"),
    ("(-8)^{1/3}", "not a real number"),
    ("0^{-1}", "division by zero"),
    ("out_d1 = 1", "unexpected '='"),
    ("\x00", "unexpected '\\x00'"),
    ("1e5000", "the number 1e5000 is too large or too small"),
    ("2.5e-1300", "too large or too small"),
    ("1e123456", "exponent too long"),
    ("1" * 21 + "e-3", "number too long"),
    ("(1e400)^{11}", "too large"),
    (r"\sum_{k=1}^{100000} 1", "a sum of more than 10000 terms"),
    (r"\sum_{i=1}^{9000} \sum_{j=1}^{9000} 1", "the sums write out more than 20000 terms"),
    (r"\sum_k 1", "the index k appears in no name of the sum"),
    (r"\frac{d}{dz}" * 5 + r"\sum_{k=1}^{5} \frac{d}{dz} z", "more than 8 derivatives"),
    ("(z > 0) > 1", "unexpected '>'"),
    (r"\delta^{[2]}", "unknown name"),
]


def test_nesting_limit_counts_levels():
    assert parse_math("(" * 60 + "z" + ")" * 60, {}, variables=["z"]) == z
    assert parse_math(r"\sigma(" * 20 + "z" + ")" * 20, {}, variables=["z"]).has(sympy.exp)
    with pytest.raises(FormulaError, match="nested too deeply"):
        parse_math("(" * 61 + "z" + ")" * 61, {}, variables=["z"])


def test_slow_sympy_work_is_stopped_by_the_time_limit(monkeypatch):
    """Differentiating nested functions again and again makes SymPy slow; the parse gives up."""
    import signal

    monkeypatch.setattr(formula, "PARSE_SECONDS", 0.3)
    with pytest.raises(FormulaError, match="too costly to build"):
        parse_math(r"\frac{d}{dz}" * 8 + r"\tanh(\tanh(\tanh(\tanh(z))))", {}, variables=["z"])
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # no alarm left behind
    assert parse_math("z + 1", {}, variables=["z"]) == z + 1


@pytest.mark.parametrize("text, problem", HOSTILE)
def test_hostile_input_is_refused_with_a_formula_error(names, text, problem):
    """(How fast: benchmarks/benchmark.py measures it; tests assert no times.)"""
    with pytest.raises(FormulaError) as caught:
        parse_math(text, names, variables=["z"])
    assert problem in str(caught.value)


FRAGMENTS = [
    "out_{d_1}", "w_{31}", r"\mathrm{out}_{c_1}", "z", "e", "2", "0", "10", "0.5", "+", "-", "*", "/", "^", "**",
    "(", ")", "{", "}", "[", "]", "_", ",", "=", r"\frac", r"\frac{d}{dz}", r"\frac{\partial}{\partial w_{31}}",
    r"\left(", r"\right)", r"\cdot", r"\sqrt", r"\sigma", r"\exp", r"\log", r"\tanh", r"\input", "^{[2]}", "d",
    r"\partial", " ", "9^9", r"\,", "max(0,", "abs", "x", "'", "\\", "ÿ", "1e5", ".",
    "1e-3", "2.5E+4", "E", "e-", "e+", "1e400", "0e99999", ".5e1",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join) | st.text(max_size=40))
def test_random_input_parses_or_raises_formula_error(names, text):
    try:
        result = parse_math(text, names, variables=["z"])
    except FormulaError as error:
        assert "\n" not in str(error)
    else:
        assert isinstance(result, sympy.Expr)
    try:
        parse_activation(text)
    except FormulaError:
        pass


# -- numbers in scientific notation ----------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("1e-3", sympy.Rational(1, 1000)),
        ("2.5E+4", sympy.Integer(25000)),
        ("1e3", sympy.Integer(1000)),
        (".5e1", sympy.Integer(5)),
        ("0e99999", sympy.Integer(0)),
        ("1e-3 z", z / 1000),
        (r"2 \cdot 1e3", sympy.Integer(2000)),
        ("1e400", sympy.Integer(10) ** 400),
        # e alone is Euler's number, whatever follows it
        ("e", sympy.E),
        ("2e", 2 * sympy.E),
        ("e-3", sympy.E - 3),
        ("2e^{-z}", 2 * sympy.exp(-z)),
        ("3e+z", 3 * sympy.E + z),
        ("2e-z", 2 * sympy.E - z),
    ],
)
def test_scientific_notation_in_the_latex_grammar(text, expected):
    assert parse_math(text, {}, variables=["z"]) == expected


def test_scientific_notation_in_activations():
    assert parse_activation("exp(z) - 1e-3") == sympy.exp(z) - sympy.Rational(1, 1000)
    assert parse_activation("2.5E+4*z") == 25000 * z
    assert parse_activation("max(0, z) + 1e3") == sympy.Max(0, z) + 1000


def test_an_e_glued_to_a_name_is_not_an_exponent(names):
    assert [t.text for t in formula.tokenize("w1e3 x_1e2 2\\cdot1e3")] == [
        "w", "1", "e", "3", "x", "_", "1", "e", "2", "2", "\\cdot", "1e3", ""]
    with pytest.raises(FormulaError, match="unknown name 'w1'"):
        parse_math("w1e3", names)
    with pytest.raises(FormulaError, match="unexpected '1e3' in a name"):
        parse_math("w_{1e3}", names)


def test_the_allowed_text_says_how_numbers_are_written():
    assert "1e-3" in formula.MATH_ALLOWED and "e alone is Euler's number" in formula.MATH_ALLOWED
    assert "1e-3" in formula.ACTIVATION_ALLOWED


def test_literals_record_each_number_with_its_rounding():
    found, text = [], r"0.74136507 \times 2 + 2.50 - 1e-3 + 1.5E2"
    parse_math(text, {}, literals=found)
    assert [(n.text, n.value, n.half_unit) for n in found] == [
        ("0.74136507", formula.Fraction(74136507, 10**8), formula.Fraction(1, 2 * 10**8)),
        ("2", 2, None),
        ("2.50", formula.Fraction(5, 2), formula.Fraction(1, 200)),
        ("1e-3", formula.Fraction(1, 1000), None),
        ("1.5E2", 150, formula.Fraction(5)),
    ]
    assert [n.position for n in found] == [text.index(n.text) for n in found]


def test_a_product_one_transpose_defines_is_repaired_only_when_asked():
    from symbackprop.algebra.grammar import Repair

    names = {"A": sympy.ImmutableMatrix(2, 3, sympy.symbols("a:6")), "v": sympy.ImmutableMatrix(2, 1, sympy.symbols("v:2")),
             "u": sympy.ImmutableMatrix(4, 1, sympy.symbols("u:4"))}
    table = dict(names)
    with pytest.raises(FormulaError, match="cannot multiply a 2×3 matrix by a 2×1 column vector"):
        parse_math(r"A v", table, matrices=True)
    repairs: list = []
    result = parse_math(r"2 A \cdot v", table, matrices=True, repairs=repairs)
    assert result == 2 * names["A"].T * names["v"]
    assert repairs == [Repair("A", "a 2×3 matrix", "cannot multiply a 2×3 matrix by a 2×1 column vector: "
                              "3 columns against 2 rows", 4)]  # the matrix factor, not the number before it
    both: list = []
    parse_math(r"(A \odot A) v", table, matrices=True, repairs=both)  # two matrix factors: the whole left side
    assert [r.factor for r in both] == [r"(A \odot A)"]
    with pytest.raises(FormulaError, match="cannot multiply a 2×3 matrix by a 4×1 column vector"):
        parse_math(r"A u", table, matrices=True, repairs=[])  # no transpose defines it


def test_a_derivative_through_definitions_remembered_follows_changed_definitions():
    """``total_derivative`` keeps what it computed for the definitions as they stood: the same
    derivative again is the same, and after a definition changes it is the new one's."""
    x, y, z = sympy.symbols("x y z", real=True)
    definitions = {y: sympy.exp(z), x: y**2}
    first = total_derivative(x, z, definitions)
    assert sympy.simplify(first.xreplace({y: sympy.exp(z)}) - 2 * sympy.exp(2 * z)) == 0
    assert total_derivative(x, z, definitions) == first
    definitions[y] = sympy.sin(z)  # the same dict, changed: another key
    changed = total_derivative(x, z, definitions)
    assert sympy.simplify(changed.xreplace({y: sympy.sin(z)}) - sympy.diff(sympy.sin(z) ** 2, z)) == 0
    model = Model(NetworkSpec.parse("2-3-2"))
    formula._DEFINITIONS.clear()
    formula._CHAINS.clear()
    for out, net in zip(model.out[2], model.net[2]):
        assert total_derivative(out, net, model.definitions) == sympy.diff(model.definitions[out], net)
    assert len(formula._DEFINITIONS) == 1 and len(formula._CHAINS) == 2  # one copy of the definitions for both
