"""Issue 14, item 1: the notation students actually type parses, each spelling to the expression
it means (compared symbolically with the expected SymPy expression), and right textbook formulas
written that way are judged right by `verify`; unknown names stay refused, in the handout's spelling."""

import re

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop import derive
from symbackprop.algebra.grammar import FormulaError, Textbook, name_table, name_value, parse_math, split_claim
from symbackprop.checking.verify import check_gradient, check_steps
from symbackprop.cli import main

S = lambda name: sympy.Symbol(name, real=True)  # noqa: E731
z, x = S("z"), S("x")
sigma = lambda v: 1 / (1 + sympy.exp(-v))  # noqa: E731
dsigma = lambda v: sigma(v) * (1 - sigma(v))  # noqa: E731
H = lambda v: sympy.Heaviside(v, 0)  # noqa: E731


def same(a, b) -> bool:
    """Symbolically equal: scalars by expand/simplify of the difference, matrices entry by entry."""
    if isinstance(a, sympy.MatrixBase) or isinstance(b, sympy.MatrixBase):
        return (isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase) and a.shape == b.shape
                and all(same(p, q) for p, q in zip(a, b)))
    difference = sympy.expand(a - b)
    return difference == 0 or sympy.simplify(difference.rewrite(sympy.exp)) == 0


# -- the networks ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def letters():
    """2-4-3-2, seed 000's network in letter notation."""
    return derive("2-4-3-2", only=["w_31"], proof="numeric")


@pytest.fixture(scope="module")
def columns():
    """3-3-2 in column notation with biases."""
    return derive("3-3-2", notation="columns", bias=True, only=["W_2_1_2"], proof="numeric")


@pytest.fixture(scope="module")
def layers():
    """2-3-2 in layer notation (seed 001's names): tanh hidden layer, sigmoid output."""
    return derive("2-3-2", notation="layers", activation="tanh,sigmoid", only=["W_2_1_1"], proof="numeric")


def context(derivation):
    m = derivation.model
    definitions = {**m.definitions, m.loss_symbol: m.loss, **{d.symbol: d.definition for d in derivation.chain.deltas}}
    textbook = Textbook(m.spec.depth, m.latex_names) if m.notation.columns else None
    return name_table(m.latex_names), definitions, textbook


def parse(derivation, text, **options):
    names, definitions, textbook = context(derivation)
    return parse_math(text, names, definitions=definitions, textbook=textbook, **options)


# -- letter notation (seed 000): every spelling against its expression --------------------------------
out, net, target, w, delta = (lambda label, p=p: S(f"{p}_{label}") for p in ("out", "net", "target", "w", "delta"))
o, t = out("d_1"), target("d_1")
EQ15 = (o - t) * o * (1 - o) * out("c_1")

LETTERS = [
    # derivatives of activations
    ("sigma_prime", r"\sigma'(net_{d_1})", dsigma(net("d_1"))),
    ("sigma_prime_unicode", "σ′(net_d1)", dsigma(net("d_1"))),
    ("sigma_prime_superscript", r"\sigma^{\prime}(net_{d_1})", dsigma(net("d_1"))),
    ("g_prime_of_layer", r"g'(net_{c_1})", dsigma(net("c_1"))),
    ("f_prime_of_layer", r"f'(net_{b_2})", dsigma(net("b_2"))),
    ("g_prime_superscript", r"g^{\prime}(net_{c_1})", dsigma(net("c_1"))),
    ("g_of_layer", r"g(net_{c_1})", sigma(net("c_1"))),
    ("tanh_prime", r"\tanh'(net_{d_1})", 1 - sympy.tanh(net("d_1")) ** 2),
    ("sech_squared", r"\operatorname{sech}^2(net_{d_1})", 1 - sympy.tanh(net("d_1")) ** 2),
    ("frac_d_sigma", r"\frac{d\sigma}{d net_{d_1}}", dsigma(net("d_1"))),
    ("frac_d_operator_sigma", r"\frac{d}{d net_{d_1}}\sigma(net_{d_1})", dsigma(net("d_1"))),
    ("indicator_bracket", r"\mathbb{1}[net_{c_1} > 0]", H(net("c_1"))),
    ("indicator_subscript", r"\mathbb{1}_{net_{c_1} > 0}", H(net("c_1"))),
    ("indicator_unicode", "𝟙(net_c1 > 0)", H(net("c_1"))),
    ("iverson", r"[net_{c_1} > 0]", H(net("c_1"))),
    ("iverson_geq", r"[net_{c_1} \geq 0]", sympy.Heaviside(net("c_1"), 1)),
    ("iverson_less", r"[0 < net_{c_1}]", H(net("c_1"))),
    ("heaviside", r"H(net_{c_1})", H(net("c_1"))),
    ("kronecker", r"\delta_{11} out_{d_1} - \delta_{12} out_{d_2}", o),
    ("kronecker_comma", r"\delta_{2,2}", sympy.Integer(1)),
    # sums over a layer's neurons
    ("sum_bare_index", r"\sum_k w_{3k}", sum(w(f"3{k}") for k in range(1, 7))),
    ("sum_with_limits", r"\sum_{j=1}^{2} \delta_{d_j} w_{3j}", delta("d_1") * w("31") + delta("d_2") * w("32")),
    ("sum_to_n_l", r"\sum_{k=1}^{n_2} out_{c_k}", sum(out(f"c_{k}") for k in (1, 2, 3))),
    ("sum_unicode", "Σ_j out_{c_j} + 1", sum(out(f"c_{k}") for k in (1, 2, 3)) + 1),
    ("sum_index_value", r"\sum_{k=1}^{3} k", sympy.Integer(6)),
    ("sum_kronecker", r"\sum_j \delta_{j1} out_{c_j}", out("c_1")),
    ("nested_sums", r"\sum_{i=1}^{2} \sum_{j=1}^{2} \delta_{ij}", sympy.Integer(2)),
    # derivative spellings
    ("partial_slash", r"\partial E/\partial out_{d_1}", o - t),
    ("partial_slash_unicode", "∂E/∂out_d1", o - t),
    ("d_slash_plain", "dE/dout_d1", o - t),
    ("d_slash_mathrm", r"\mathrm{d}E/\mathrm{d}out_{d_1}", o - t),
    ("partial_frac_E", r"\frac{\partial E}{\partial out_{d_1}}", o - t),
    ("partial_frac_C", r"\frac{\partial C}{\partial out_{d_1}}", o - t),
    ("partial_frac_L", r"\frac{\partial \mathcal{L}}{\partial out_{d_1}}", o - t),
    ("partial_frac_E_total", r"\frac{\partial E_{total}}{\partial out_{d_1}}", o - t),
    ("slash_operator", r"\partial/\partial w_{31} (w_{31} out_{c_1})", out("c_1")),
    # LaTeX habits
    ("dollars", r"$(out_{d_1} - target_{d_1}) out_{d_1}(1 - out_{d_1}) out_{c_1}$", EQ15),
    ("double_dollars", r"$$(out_{d_1} - target_{d_1}) out_{d_1}(1 - out_{d_1}) out_{c_1}$$", EQ15),
    ("parenthesis_delimiters", r"\((out_{d_1} - target_{d_1}) out_{d_1}(1 - out_{d_1}) out_{c_1}\)", EQ15),
    ("bracket_delimiters", r"\[(out_{d_1} - target_{d_1}) out_{d_1}(1 - out_{d_1}) out_{c_1}\]", EQ15),
    ("aligned", r"\begin{aligned} & (out_{d_1} - target_{d_1}) out_{d_1} \\ & \cdot (1 - out_{d_1}) out_{c_1} \end{aligned}",
     EQ15),
    ("displaystyle", r"\displaystyle \frac{1}{2} out_{d_1}", o / 2),
    ("spacing", r"out_{d_1} \, \cdot \; 2 \! \quad \qquad ~ \: out_{c_1}", 2 * o * out("c_1")),
    ("text", r"\text{out}_{d_1} - \text{target}_{d_1}", o - t),
    ("rm_group", r"{\rm out}_{d_1} - {\rm target}_{d_1}", o - t),
    ("mathrm", r"\mathrm{out}_{d_1}", o),
    ("operatorname", r"\operatorname{out}_{d_1}", o),
    ("ast", r"2 \ast out_{d_1}", 2 * o),
    ("left_right_brackets", r"\left[ out_{d_1} - target_{d_1} \right] \left( 1 - out_{d_1} \right)", (o - t) * (1 - o)),
    ("big_parentheses", r"\bigl( out_{d_1} - target_{d_1} \bigr) \Bigl( 1 - out_{d_1} \Bigr)", (o - t) * (1 - o)),
    ("cdot_times", r"out_{d_1} \cdot out_{c_1} \times 2", 2 * o * out("c_1")),
    # Unicode
    ("unicode_delta", "δ_d1 · out_c1", delta("d_1") * out("c_1")),
    ("unicode_minus_times", "(out_d1 − target_d1) × out_c1", (o - t) * out("c_1")),
    ("unicode_squares", "out_d1² + out_d1³", o**2 + o**3),
    ("unicode_middle_dot", "out_d1⋅2", 2 * o),
    # the loss, by its other names
    ("loss_E", "E", S("E_total")),
    ("loss_C", "C", S("E_total")),
    ("loss_L", r"\mathcal{L}", S("E_total")),
    ("loss_E_total", r"E_{\text{total}}", S("E_total")),
    # numbers
    ("scientific_negative", "1e-3 out_d1", o / 1000),
    ("scientific_positive", "1e3", sympy.Integer(1000)),
    ("euler", "e^{-net_{d_1}}", sympy.exp(-net("d_1"))),
]


@pytest.mark.parametrize("text, expected", [case[1:] for case in LETTERS], ids=[case[0] for case in LETTERS])
def test_letter_notation_spellings(letters, text, expected):
    assert same(parse(letters, text), expected)


# -- vectors and matrices ---------------------------------------------------------------------------
def column(*names):
    return sympy.ImmutableMatrix([S(n) for n in names])


def matrix(rows):
    return sympy.ImmutableMatrix([[S(n) for n in row] for row in rows])


W2 = matrix([["W_2_1_1", "W_2_1_2", "W_2_1_3"], ["W_2_2_1", "W_2_2_2", "W_2_2_3"]])  # column notation: n_2 × n_1
D2, A1, Z1 = column("delta_2_1", "delta_2_2"), column("a_1_1", "a_1_2", "a_1_3"), column("z_1_1", "z_1_2", "z_1_3")
YHAT, Y = column("yhat_1", "yhat_2"), column("y_1", "y_2")

COLUMNS = [
    ("delta_vector", r"\delta^{[2]}", D2),
    ("activation_vector", r"a^{[1]}", A1),
    ("net_vector", r"z^{[1]}", Z1),
    ("weight_matrix", r"W^{[2]}", W2),
    ("output_vectors", r"\hat{y} - y", YHAT - Y),
    ("output_vector_unicode", "ŷ - y", YHAT - Y),
    ("ng_capitals", r"A^{[1]} + dZ^{[1]} \odot Z^{[1]}",
     A1 + column("delta_1_1", "delta_1_2", "delta_1_3").multiply_elementwise(Z1)),
    ("input_vector", "x", column("a_0_1", "a_0_2", "a_0_3")),
    ("forward_pass", r"W^{[2]} a^{[1]} + b^{[2]}", W2 * A1 + column("b_2_1", "b_2_2")),
    ("transpose_T", r"(W^{[2]})^T \delta^{[2]}", W2.T * D2),
    ("transpose_top", r"(W^{[2]})^\top \delta^{[2]}", W2.T * D2),
    ("transpose_braced", r"{W^{[2]}}^{T} \delta^{[2]}", W2.T * D2),
    ("transpose_unicode", "(W^{[2]})ᵀ δ^{[2]}", W2.T * D2),
    ("transpose_in_superscript", r"\delta^{[2]} a^{[1]T}", D2 * A1.T),
    ("outer_product", r"\delta^{[2]} (a^{[1]})^T", D2 * A1.T),
    ("transpose_mathsf_in_superscript", r"\delta^{[2]} a^{[1]\mathsf{T}}", D2 * A1.T),
    ("transpose_braced_top_in_superscript", r"\delta^{[2]} a^{[1]{\top}}", D2 * A1.T),
    ("power_in_superscript", r"1 - a^{[1]2}", A1.applyfunc(lambda a: 1 - a ** 2)),
    ("power_in_superscript_entry", r"1 - a^{[1]2}_2", 1 - S("a_1_2") ** 2),
    ("bp2_odot", r"(W^{[2]})^T \delta^{[2]} \odot \sigma'(z^{[1]})",
     (W2.T * D2).multiply_elementwise(Z1.applyfunc(dsigma))),
    ("bp2_circ", r"((W^{[2]})^T \delta^{[2]}) \circ g'(z^{[1]})", (W2.T * D2).multiply_elementwise(Z1.applyfunc(dsigma))),
    ("bp2_unicode", "(W^{[2]})^T δ^{[2]} ⊙ σ'(z^{[1]})", (W2.T * D2).multiply_elementwise(Z1.applyfunc(dsigma))),
    ("ng_g_prime", r"g^{[1]\prime}(z^{[1]})", Z1.applyfunc(dsigma)),
    ("nabla_a", r"\nabla_a C", YHAT - Y),
    ("nabla_a_unicode", "∇_a C ⊙ σ'(z^{[2]})",
     (YHAT - Y).multiply_elementwise(column("z_2_1", "z_2_2").applyfunc(dsigma))),
    ("nabla_layer", r"\nabla_{a^{[2]}} \mathcal{L}", YHAT - Y),
    ("partial_by_vector", r"\frac{\partial L}{\partial \hat{y}}", YHAT - Y),
    ("row_times_column_is_a_number", r"(\delta^{[2]})^T \delta^{[2]}", S("delta_2_1") ** 2 + S("delta_2_2") ** 2),
]


@pytest.mark.parametrize("text, expected", [case[1:] for case in COLUMNS], ids=[case[0] for case in COLUMNS])
def test_column_notation_vectors_and_matrices(columns, text, expected):
    assert same(parse(columns, text, matrices=True), expected)


COLUMN_SCALARS = [
    ("sum_over_layer", r"\sum_k W^{[2]}_{1,k} a^{[1]}_k", sum(S(f"W_2_1_{k}") * S(f"a_1_{k}") for k in (1, 2, 3))),
    ("sum_to_n_1", r"\sum_{k=1}^{n_1} W^{[2]}_{1,k} a^{[1]}_k", sum(S(f"W_2_1_{k}") * S(f"a_1_{k}") for k in (1, 2, 3))),
    ("sum_glued_index", r"\sum_{j=1}^{2} W^{[2]}_{j3} \delta^{[2]}_j",
     S("W_2_1_3") * S("delta_2_1") + S("W_2_2_3") * S("delta_2_2")),
    ("hat_without_braces", r"\hat y_1 - y_1", S("yhat_1") - S("y_1")),
    ("hat_unicode", "ŷ_1 - y_1", S("yhat_1") - S("y_1")),
    ("loss_C", r"\frac{\partial C}{\partial \hat{y}_1}", S("yhat_1") - S("y_1")),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in COLUMN_SCALARS], ids=[c[0] for c in COLUMN_SCALARS])
def test_column_notation_scalars(columns, text, expected):
    assert same(parse(columns, text), expected)


@pytest.mark.parametrize("text, words", [
    (r"\frac{\partial L}{\partial a^{[1]2}_1}", "a power inside a layer superscript (a^{[1]2}) is read only in a formula's terms"),
    (r"g^{[1]2}(z^{[1]}_1)", "a power of a function is written (g(z))^2, not inside its layer superscript"),
    (r"a^{[1]2}^{[1]3}_1", "read only in a formula's terms, once"),
    (r"a^{[1]99}_1", "a whole number from 2 to"),
])
def test_a_power_inside_a_layer_superscript_is_read_only_where_it_means_one(columns, text, words):
    """Ng's a^{[1]2} is (a^{[1]})^2 in a term; where it would be silently dropped (the variable of a
    derivative) or is no power of a name (g^{[1]2}(z)), it is refused."""
    with pytest.raises(FormulaError, match=re.escape(words)):
        parse(columns, text, matrices=True)


def test_ngs_tanh_derivative_written_with_a_power_in_the_superscript():
    d = derive("2-3-1", notation="columns", activation="tanh,sigmoid", loss="bce", only=["W_1_1_1"], proof="gradients")
    right = check_gradient(d, "W^{[1]}_{1,1}", r"W^{[2]}_{1,1} dz^{[2]}_1 (1 - a^{[1]2}_1) x_1")
    assert right.correct is True and right.method == "symbolic"
    wrong = check_gradient(d, "W^{[1]}_{1,1}", r"W^{[2]}_{1,1} dz^{[2]}_1 (1 - a^{[1]3}_1) x_1")
    assert wrong.correct is False


def test_layer_notation_names_its_input_when_x_is_written(layers):
    """Layer notation's input is a^{[0]}: x_1 is refused pointing there (it suggested y_1); reading x_1
    as a^{[0]}_1 would make seed 001's a^{[0]} = [x_1 \\ x_2 ...] (a column, the notation's rows) a false WRONG in lint."""
    with pytest.raises(FormulaError, match=re.escape("unknown name 'x_1': in layer notation the input is a^{[0]}: "
                                                     "did you mean a^{[0]}_{1}?")):
        parse(layers, "x_1 + 1")


def test_row_vectors_in_layer_and_letter_notation(layers, letters):
    row = lambda *n: sympy.ImmutableMatrix([[S(v) for v in n]])  # noqa: E731
    assert parse(layers, r"a^{[1]}", matrices=True) == row("a_1_1", "a_1_2", "a_1_3")
    assert parse(layers, r"g^{[2z]}", matrices=True) == row("g_2z_1", "g_2z_2")
    w2 = parse(layers, r"W^{[2]}", matrices=True)
    assert w2.shape == (3, 2) and w2[2, 0] == S("W_2_3_1")  # n_{k-1} × n_k, W^{[k]}_{i,j} from i to j
    assert same(parse(layers, r"a^{[1]} W^{[2]}", matrices=True), row("a_1_1", "a_1_2", "a_1_3") * w2)
    assert parse(letters, r"\mathbf{out}_c", matrices=True) == row("out_c_1", "out_c_2", "out_c_3")
    assert parse(letters, r"\boldsymbol{\delta}_d^T", matrices=True).shape == (2, 1)
    assert parse(letters, r"\mathbf{out}_d - \mathbf{target}", matrices=True) == row("out_d_1", "out_d_2") - row(
        "target_d_1", "target_d_2")


def test_layer_notation_activations(layers):
    """2-3-2 with tanh then sigmoid: g_h and g_o are those, g'(z) follows its argument's layer."""
    z11, z21 = S("z_1_1"), S("z_2_1")
    assert same(parse(layers, r"g_h'(z^{[1]}_1)"), 1 - sympy.tanh(z11) ** 2)
    assert same(parse(layers, r"g'_h(z^{[1]}_1)"), 1 - sympy.tanh(z11) ** 2)
    assert same(parse(layers, r"g_o'(z^{[2]}_1)"), dsigma(z21))
    assert same(parse(layers, r"g'(z^{[1]}_1) + g'(z^{[2]}_1)"), 1 - sympy.tanh(z11) ** 2 + dsigma(z21))
    assert same(parse(layers, r"\hat y_1 (1 - \hat{y}_1)"), S("yhat_1") * (1 - S("yhat_1")))
    with pytest.raises(FormulaError, match="different activations"):
        parse(layers, "g'(z^{[1]}_1 + z^{[2]}_1)")


def test_free_variables_with_the_networks_activation(letters):
    names, definitions, _ = context(letters)
    assert same(parse_math(r"f'(x)", names, definitions=definitions, variables=["x"]), dsigma(x))
    assert same(parse_math(r"\sigma'(z) - \sigma(z)(1 - \sigma(z))", {}, variables=["z"]), 0)
    assert same(parse_math(r"\frac{d\sigma}{dz}", {}, variables=["z"]), dsigma(z))
    assert same(parse_math(r"\tanh'(z) - \operatorname{sech}^2 z", {}, variables=["z"]), 0)
    with pytest.raises(FormulaError, match="needs the network"):
        parse_math("g'(z)", {}, variables=["z"])


# -- shape errors: one line, in words ---------------------------------------------------------------
@pytest.mark.parametrize(
    "text, words",
    [
        (r"W^{[2]} \delta^{[2]}", "cannot multiply a 2×3 matrix by a 2×1 column vector: 3 columns against 2 rows"),
        (r"\delta^{[2]} \odot a^{[1]}", "cannot multiply a 2×1 column vector and a 3×1 column vector elementwise"),
        (r"\delta^{[2]} + a^{[1]}", "cannot add a 2×1 column vector and a 3×1 column vector"),
        (r"\delta^{[2]} a^{[1]}", "cannot multiply a 2×1 column vector by a 3×1 column vector"),
        (r"W^{[2]} W^{[2]}", "cannot multiply a 2×3 matrix by a 2×3 matrix"),  # two matrices: never entry by entry
        (r"(W^{[2]})^2", r"a power of a 2×3 matrix: write an elementwise product with \odot"),
        (r"1/W^{[2]}", "cannot divide by a 2×3 matrix"),  # by a vector: entry by entry (below)
        (r"\delta^{[2]}/a^{[1]}", "cannot divide a 2×1 column vector by a 3×1 column vector"),
    ],
)
def test_shape_mismatches_are_one_line_errors(columns, text, words):
    with pytest.raises(FormulaError) as caught:
        parse(columns, text, matrices=True)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_what_numpy_and_ng_write_entry_by_entry_is_read_so_and_said(columns):
    """1 - a^{[1]}, a^{[1]}(1 - a^{[1]}), a^{[1]} * a^{[1]} and (a^{[1]})^2 have no meaning as matrix
    algebra; NumPy and Ng's notes mean them entry by entry, and so are they read, each reading
    reported. A square matrix keeps its matrix product, and nothing else is read so."""
    from symbackprop.algebra import shapes

    ones = sympy.ImmutableMatrix([[1], [1], [1]])
    for text, expected, said in [
        (r"1 - a^{[1]}", ones - A1, [shapes.BROADCAST]),
        (r"a^{[1]}(1 - a^{[1]})", A1.multiply_elementwise(ones - A1), [shapes.BROADCAST, shapes.SAME_SHAPE_PRODUCT]),
        (r"a^{[1]} * a^{[1]}", A1.multiply_elementwise(A1), [shapes.SAME_SHAPE_PRODUCT]),
        (r"1 - (a^{[1]})^2", ones - A1.multiply_elementwise(A1), [shapes.VECTOR_POWER, shapes.BROADCAST]),
        (r"1/a^{[1]}", A1.applyfunc(lambda a: 1 / a), [shapes.VECTOR_QUOTIENT]),
        (r"\frac{1 - a^{[1]}}{a^{[1]}}", sympy.ImmutableMatrix([(1 - a) / a for a in A1]), [shapes.BROADCAST, shapes.VECTOR_QUOTIENT]),
        (r"\delta^{[2]} (a^{[1]})^T", D2 * A1.T, []),
    ]:
        readings = []
        assert parse(columns, text, matrices=True, readings=readings) == expected, text
        assert readings == said, text
    readings = []
    W1 = parse(columns, r"W^{[1]}", matrices=True)
    assert W1.shape == (3, 3) and parse(columns, r"W^{[1]} W^{[1]}", matrices=True, readings=readings) == W1 * W1
    assert readings == []


def test_a_vector_where_a_number_is_expected_is_refused_in_words(columns):
    with pytest.raises(FormulaError, match="the formula is a 2×1 column vector, not a single value"):
        parse(columns, r"\delta^{[2]}")


def test_name_value_gives_a_whole_layer(columns):
    names, _, textbook = context(columns)
    assert name_value(r"W^{[2]}", names, textbook=textbook) == W2
    assert name_value(r"\delta^{[2]}", names, textbook=textbook) == D2
    assert name_value(r"W^{[2]}_{1,2}", names, textbook=textbook) == S("W_2_1_2")


# -- a left-hand side that names the derivative -------------------------------------------------------
@pytest.mark.parametrize(
    "text, parameter, rest",
    [
        (r"\frac{\partial E}{\partial w_{31}} = \delta_{d_1} out_{c_1}", "w_{31}", r" \delta_{d_1} out_{c_1}"),
        (r"$\frac{\partial E_{total}}{\partial w_{31}} = x$", "w_{31}", " x"),
        (r"\frac{\partial \mathcal{L}}{\partial W^{[2]}_{1,2}} &= x", r"W^{[2]}_{1,2}", " x"),
        (r"\dfrac{\partial C}{\partial w} \approx 0.5", "w", " 0.5"),
        ("dE/dw31 = delta_d1*out_c1", "w31", " delta_d1*out_c1"),
        (r"\partial E/\partial w_{31} = 1", "w_{31}", " 1"),
        ("out_d1 - target_d1", None, "out_d1 - target_d1"),  # no left side
        (r"\delta_{c_1} = 2", None, r"\delta_{c_1} = 2"),  # not a derivative of the loss: the caller judges
        (r"\frac{\partial out_{d_1}}{\partial w_{31}} = 2", None, r"\frac{\partial out_{d_1}}{\partial w_{31}} = 2"),
    ],
)
def test_split_claim(text, parameter, rest):
    assert split_claim(text) == (parameter, rest)


# -- verify judges right textbook formulas right ------------------------------------------------------
RIGHT = [
    ("letters", "w_31", r"$\sigma'(net_{d_1}) (out_{d_1} - target_{d_1}) out_{c_1}$"),
    ("letters", "w_31", r"\frac{\partial E}{\partial out_{d_1}} \cdot g'(net_{d_1}) \cdot out_{c_1}"),
    ("letters", "w_31", r"\partial E/\partial out_{d_1} \, \sigma(net_{d_1})(1 - \sigma(net_{d_1})) out_{c_1}"),
    ("letters", "w_31", "dE/dout_d1 · out_d1(1 − out_d1) · out_c1"),
    ("letters", "w_21", r"\left(\delta_{d_1} w_{31} + \delta_{d_2} w_{34}\right) \sigma'(net_{c_1}) out_{b_1}"),
    ("letters", "w_21", r"\sum_{j=1}^{2} \delta_{d_j} \frac{\partial net_{d_j}}{\partial out_{c_1}} g'(net_{c_1}) out_{b_1}"),
    ("columns", r"W^{[2]}_{1,2}", r"\frac{\partial C}{\partial \hat{y}_1} \sigma'(z^{[2]}_1) a^{[1]}_2"),
    ("columns", r"W^{[1]}_{1,2}",
     r"\sum_j W^{[2]}_{j1} \delta^{[2]}_j \, g'(z^{[1]}_1) \, x_2"),
    ("columns", r"W^{[2]}_{1,2}", r"\left[ (\hat y_1 - y_1) \right] \hat y_1 (1 - \hat y_1) a^{[1]}_2"),
]


@pytest.mark.parametrize("net, parameter, formula", RIGHT)
def test_verify_judges_textbook_formulas_right(letters, columns, net, parameter, formula):
    derivation = {"letters": letters, "columns": columns}[net]
    if parameter == "w_21":
        derivation = derive("2-4-3-2", only=["w_21"], proof="numeric")
    verdict = check_gradient(derivation, parameter, formula)
    assert verdict.correct is True, (formula, verdict.note)


def test_verify_relu_gate_spellings():
    relu = derive("2-2-1", activation="relu,sigmoid", only=["w_11"], proof="numeric")
    for gate in (r"\mathbb{1}[net_{b_1} > 0]", r"[net_{b_1} > 0]", r"H(net_{b_1})", "g'(net_b1)"):
        formula = rf"\delta_{{c_1}} w_{{21}} {gate} out_{{a_1}}"
        assert check_gradient(relu, "w_11", formula).correct is True, gate


def test_verify_steps_with_the_new_spellings(letters):
    assert check_steps(r"\sigma'(z) = \sigma(z)(1 - \sigma(z)) = \frac{d}{dz}\sigma(z)").correct is True
    assert check_steps(r"\tanh'(z) = \operatorname{sech}^2(z) = 1 - \tanh^2 z").correct is True
    chain = r"\begin{aligned} \partial E/\partial out_{d_1} &= out_{d_1} - target_{d_1} \\ &\approx out_{d_1} - target_{d_1} \end{aligned}"
    assert check_steps(chain, letters).correct is True


def test_cli_accepts_the_new_spellings(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["verify", "2-4-3-2", "--param", "w_{31}", r"$\sigma'(net_{d_1}) \, \partial E/\partial out_{d_1} \, out_{c_1}$"])
    assert stop.value.code == 0, capsys.readouterr()
    assert capsys.readouterr().out.startswith("correct:")


# -- names stay checked ---------------------------------------------------------------------------------
def test_unknown_names_are_listed_in_the_handouts_spelling(columns, capsys):
    with pytest.raises(FormulaError) as caught:
        parse(columns, r"\hat{y}_3")
    message = str(caught.value)
    assert r"unknown name '\\hat{y}_3'" in message
    assert r"\hat{y}_{1}" in message and "hat_y_1" not in message and "haty1" not in message
    assert r"the names of that kind are \hat{y}_{1}, \hat{y}_{2}" in message
    with pytest.raises(SystemExit) as stop:
        main(["verify", "3-3-2", "--notation", "columns", "--param", r"W^{[2]}_{1,2}", r"\hat{y}_3"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert r"\hat{y}_{1}, \hat{y}_{2}" in err and len(err.strip().splitlines()) == 1


def test_sums_stop_at_the_layers_end_but_not_past_a_typo(letters):
    with pytest.raises(FormulaError, match="unknown name"):
        parse(letters, r"\sum_k q_k")
    with pytest.raises(FormulaError, match="unknown name"):
        parse(letters, r"\sum_{k=1}^{5} out_{c_k}")  # layer c has 3 neurons
    with pytest.raises(FormulaError, match="already summed"):
        parse(letters, r"\sum_k \sum_k out_{c_k}")
    with pytest.raises(FormulaError, match="appears in no name of the sum"):
        parse(letters, r"\sum_k out_{c_1}")
    with pytest.raises(FormulaError, match="the network has no layer 7"):
        parse(letters, r"\sum_{k=1}^{n_7} out_{c_k}", sizes=(2, 4, 3, 2))
    assert same(parse(letters, r"\sum_{k=1}^{n_3} out_{d_k}", sizes=(2, 4, 3, 2)), out("d_1") + out("d_2"))


# -- fuzzing: only FormulaError, never anything else ---------------------------------------------------
FRAGMENTS = [
    r"\sigma'", "g'", "f'", r"\tanh'", "(", ")", "net_{c_1}", "out_{d_1}", r"\sum_k", r"\sum_{k=1}^{n_2}", "w_{3k}",
    "out_{c_k}", r"\odot", r"\circ", "^T", r"^\top", r"\delta^{[2]}", "a^{[1]}", "W^{[2]}", r"\nabla_a", "C", "E",
    r"\partial", "/", "d", "dE", "[", "]", ">", "<", r"\geq", r"\mathbb{1}", "H", r"\delta_{12}", "$", r"\(", r"\)",
    r"\begin{aligned}", r"\end{aligned}", "&", r"\\", r"\displaystyle", r"{\rm", "}", "{", r"\hat", "y", "_", "1",
    "σ", "∂", "∇", "⊙", "Σ", "²", "ᵀ", "′", "'", "=", r"\frac", r"\prime", "^", " ", "k", "j", "1e-3", "+", "-", "*",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=20).map("".join))
def test_fuzzed_new_notation_raises_only_formula_errors(columns, text):
    for matrices in (False, True):
        try:
            result = parse(columns, text, matrices=matrices)
        except FormulaError as error:
            assert "\n" not in str(error)
        else:
            assert isinstance(result, (sympy.Expr, sympy.MatrixBase))
    try:
        split_claim(text)
    except Exception as error:  # pragma: no cover - split_claim never raises
        raise AssertionError(f"split_claim raised {error!r}")


@pytest.mark.parametrize("text", [r"w_{31}^{+}", r"w_{31}^+", r"w_{31}^{+} - 1"])
def test_an_updated_weight_is_refused_as_a_definition_in_words(letters, text):
    """The walk-through's w_5^+ = w_5 - η ∂E/∂w_5 defines the new weight: nothing to derive, said so
    (it was 'unexpected end of the formula'); z^+1 in plain text stays the power z^{+1}."""
    with pytest.raises(FormulaError, match=re.escape("w^{+} is an updated parameter, defined by a gradient-descent step")):
        parse(letters, text)
    assert same(parse_math("z^+1", {}, variables=["z"]), z)
