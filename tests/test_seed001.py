"""Seed 001's 4-3-2-1 network (layer notation, binary cross-entropy, biases), and its errors fixed."""

import json

import pytest
import sympy
from reference import expanded_loss, parse, substitute_definitions

from symbackprop import derive
from symbackprop.algebra.exact import are_equal
from symbackprop.handout.render import derivation_json, render_latex, render_markdown

S = lambda name: sympy.Symbol(name, real=True)  # noqa: E731


@pytest.fixture(scope="module")
def seed001():
    return derive("4-3-2-1", notation="layers", loss="bce", bias=True)


@pytest.fixture(scope="module")
def data(seed001):
    return json.loads(json.dumps(derivation_json(seed001)))


def test_every_gradient_equals_sympy_diff(data):
    loss = expanded_loss(data["primary"], data["layers"], ["sigmoid"] * 3, "bce")
    for parameter in data["parameters"]:
        gradient = substitute_definitions(parse(parameter["chain_rule"], data["definitions"]), data["definitions"])
        assert are_equal(gradient, sympy.diff(loss, S(parameter["symbol"]))), parameter["symbol"]
    assert {p["symbol"] for p in data["parameters"]} >= {"W_1_1_1", "W_1_4_3", "W_2_3_2", "W_3_2_1", "b_2_2", "b_3_1"}


def test_the_sigmoid_is_one_over_one_plus_e_to_the_minus_z(seed001):
    # seed 001 writes g(z) = 1/(1 - e^{-z}) throughout
    for text in (render_markdown(seed001), render_latex(seed001)):
        assert r"\frac{1}{1 + e^{- z^{[1]}_{1}}}" in text
        assert r"1 - e^{-" not in text


def test_g3z_is_yhat_minus_y_through_the_cancellation(seed001, data):
    # g^{[3a]} = (a - y)/(a(1 - a)), g'_o = a(1 - a), so g^{[3z]} = ŷ - y (seed 001's result)
    delta = data["deltas"]["g_3z_1"]
    assert sympy.sympify(delta["simplified"][-1], locals={"yhat_1": S("yhat_1"), "y_1": S("y_1")}) == S("yhat_1") - S("y_1")
    md = render_markdown(seed001)
    assert r"\frac{\hat{y}_{1} - y_{1}}{\hat{y}_{1} \left(1 - \hat{y}_{1}\right)} \cdot \hat{y}_{1} \left(1 - \hat{y}_{1}\right) = \hat{y}_{1} - y_{1}" in md


def test_vectorized_results_with_seed_001s_names_and_shapes(seed001, data):
    shapes = {(f["layer"], n): g["shape"] for f in data["matrix_form"] for n, g in f["gradients"].items()}
    assert shapes[(3, "g_W")] == [2, 1] and shapes[(3, "g_b")] == [1, 1]
    assert shapes[(2, "g_a")] == [1, 2] and shapes[(2, "g_W")] == [3, 2]
    # b^{[2]} has shape 1 x 2 (seed 001 calls it b^{[1]} there)
    assert shapes[(2, "g_b")] == [1, 2]
    assert shapes[(1, "g_a")] == [1, 3] and shapes[(1, "g_W")] == [4, 3] and shapes[(1, "g_b")] == [1, 3]
    md = render_markdown(seed001)
    for line in (
        r"g^{[2a]} &= g^{[3z]} \left(W^{[3]}\right)^{T} && (1 \times 2)",
        r"g^{[2z]} &= g'_{h}\left(z^{[2]}\right) \circ g^{[2a]} && (1 \times 2)",
        r"g^{[2W]} &= \left(a^{[1]}\right)^{T} g^{[2z]} && (3 \times 2)",
        r"g^{[2b]} &= g^{[2z]} && (1 \times 2)",
        r"g^{[1W]} &= \left(a^{[0]}\right)^{T} g^{[1z]} && (4 \times 3)",
        r"g^{[1b]} &= g^{[1z]} && (1 \times 3)",
    ):
        assert line in md, line
    assert "Hadamard product" in md


def test_dL_da2_of_layer_1_uses_the_second_row_of_W2(data):
    # seed 001 writes g^{[2z]} · [W_{3,1}; W_{3,2}] for ∂L/∂a_2^{[1]}; the weights out of a_2^{[1]} are W_{2,·}
    (layer1,) = [f for f in data["matrix_form"] if f["layer"] == 1]
    second = sympy.sympify(layer1["gradients"]["g_a"]["entries"][0][1],
                           locals={n: S(n) for n in ("W_2_2_1", "W_2_2_2", "g_2z_1", "g_2z_2")})
    assert second == S("W_2_2_1") * S("g_2z_1") + S("W_2_2_2") * S("g_2z_2")


def test_layer_1_is_a_hidden_layer(seed001):
    md = render_markdown(seed001)
    assert "Layer 1, a hidden layer" in md
    assert "layer 1 is the first hidden layer" in md
