"""Column notation (Nielsen, Ng): names are target-first, and the handout's BP1-BP4 hold.

The reference here is NumPy backpropagation written out in the test, in the textbooks' own
layout (W^[l] of shape n_l × n_(l-1), column vectors), with each weight found by *parsing its
printed name*: if symbackprop's W^{[l]}_{j,k} were not the weight from k to j, the numbers differ.
"""

import json
import re

import numpy as np
import pytest
import sympy
from reference import parse, substitute_definitions

from symbackprop import derive
from symbackprop.handout.render import derivation_json, render_latex, render_markdown

from test_derive import check_against_reference


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def textbook_backprop(layers, W, b, x, y, loss):
    """Nielsen's algorithm: forward, BP1, BP2 down the layers, BP3, BP4 (sigmoid everywhere)."""
    a, z = [np.asarray(x, float).reshape(-1, 1)], [None]
    for l in range(1, len(layers)):
        z.append(W[l] @ a[-1] + (b[l] if b else 0))
        a.append(sigmoid(z[-1]))
    y = np.asarray(y, float).reshape(-1, 1)
    grad_a = {"mse": a[-1] - y, "bce": (a[-1] - y) / (a[-1] * (1 - a[-1]))}[loss]
    L = len(layers) - 1
    delta = {L: grad_a * a[L] * (1 - a[L])}  # BP1
    for l in range(L - 1, 0, -1):
        delta[l] = (W[l + 1].T @ delta[l + 1]) * a[l] * (1 - a[l])  # BP2
    dW = {l: delta[l] @ a[l - 1].T for l in delta}  # BP4
    return a, z, delta, dW


def _point(data, rng):
    """Random values for every primary symbol, and W^[l] matrices filled by parsing each name."""
    layers = data["layers"]
    values = {name: rng.uniform(-1, 1) for group in ("inputs", "targets") for name in data["primary"][group]}
    values.update({t: rng.uniform(0.1, 0.9) for t in data["primary"]["targets"]})
    W, b = {}, {}
    for l in range(1, len(layers)):
        W[l] = np.zeros((layers[l], layers[l - 1]))
        for row in data["primary"]["weights"][l - 1]:
            for name in row:
                layer, j, k = map(int, re.fullmatch(r"W_(\d+)_(\d+)_(\d+)", name).groups())
                assert layer == l
                values[name] = W[l][j - 1, k - 1] = rng.uniform(-1, 1)
        if data["primary"]["biases"]:
            b[l] = np.zeros((layers[l], 1))
            for name in data["primary"]["biases"][l - 1]:
                layer, j = map(int, re.fullmatch(r"b_(\d+)_(\d+)", name).groups())
                values[name] = b[l][j - 1, 0] = rng.uniform(-1, 1)
    return values, W, b


@pytest.mark.parametrize("spec,loss,bias", [("2-3-2", "bce", True), ("3-2-2-1", "mse", False)])
def test_weight_names_are_target_first(spec, loss, bias):
    derivation = derive(spec, notation="columns", loss=loss, bias=bias)
    data = json.loads(json.dumps(derivation_json(derivation)))
    rng = np.random.default_rng(3)
    values, W, b = _point(data, rng)
    x = [values[n] for n in data["primary"]["inputs"]]
    y = [values[n] for n in data["primary"]["targets"]]
    _, _, delta, dW = textbook_backprop(data["layers"], W, b, x, y, loss)
    symbols = {name: sympy.Symbol(name, real=True) for name in values}
    point = {symbols[name]: value for name, value in values.items()}
    for parameter in data["parameters"]:
        gradient = substitute_definitions(parse(parameter["chain_rule"], data["definitions"]), data["definitions"])
        if parameter["kind"] == "weight":
            l, j, k = map(int, re.fullmatch(r"W_(\d+)_(\d+)_(\d+)", parameter["symbol"]).groups())
            expected = dW[l][j - 1, k - 1]
            assert parameter["latex"] == f"W^{{[{l}]}}_{{{j},{k}}}"
        else:
            l, j = map(int, re.fullmatch(r"b_(\d+)_(\d+)", parameter["symbol"]).groups())
            expected = delta[l][j - 1, 0]  # BP3
        assert float(gradient.xreplace(point)) == pytest.approx(expected, rel=1e-9, abs=1e-12), parameter["symbol"]


@pytest.mark.parametrize("spec,bias,options", [
    ("2-2-1", False, {}),
    ("1-3-2", True, {"activation": "tanh"}),
    ("3-2-3", True, {"loss": "ce"}),
])
def test_columns_forms_equal_sympy_diff(spec, bias, options):
    data = check_against_reference(spec, bias, notation="columns", **options)
    assert data["notation"] == "columns"


# -- the handout's BP1-BP4, read back from its LaTeX and evaluated -----------------------------------

_TOKENS = [
    (r"\\left\(", "("), (r"\\right\)", ")"),
    (r"\\nabla_\{\\hat\{y\}\} \\mathcal\{L\}", " NABLA "),
    (r"\\nabla_\{a\^\{\[(\d+)\]\}\} \\mathcal\{L\}", r" NA[\1] "),
    (r"\\frac\{\\partial \\mathcal\{L\}\}\{\\partial W\^\{\[(\d+)\]\}\}", r" DW[\1] "),
    (r"\\frac\{\\partial \\mathcal\{L\}\}\{\\partial b\^\{\[(\d+)\]\}\}", r" DB[\1] "),
    (r"g\^\{\[(\d+)\]\\prime\}\(z\^\{\[\d+\]\}\)", r" GP[\1] "),
    (r"\\delta\^\{\[(\d+)\]\}", r" D[\1] "), (r"W\^\{\[(\d+)\]\}", r" W[\1] "), (r"a\^\{\[(\d+)\]\}", r" A[\1] "),
    (r"\\hat\{y\}", " YHAT "), (r"\^\{T\}", ".T"), (r"\\odot", "*"),
]


def _python(latex: str) -> str:
    """One side of a BP line as a NumPy expression: juxtaposed matrices multiply (@)."""
    text = latex
    for pattern, replacement in _TOKENS:
        text = re.sub(pattern, replacement, text)
    assert "\\" not in text, text
    text = re.sub(r"(\]|\)|T|[A-Z])\s+(?=[A-Z(])", r"\1 @ ", text.strip())
    return text


def test_bp1_to_bp4_read_back_from_the_latex_hold():
    derivation = derive("2-3-2", notation="columns", loss="bce", bias=True)
    tex = render_latex(derivation)
    lines = re.findall(r"^(.*?) &= (.*?) && \(\\text\{(BP\d)\}; (\d+) \\times (\d+)\)", tex, re.M)
    assert sorted({line[2] for line in lines}) == ["BP1", "BP2", "BP3", "BP4"]
    data = json.loads(json.dumps(derivation_json(derivation)))
    values, W, b = _point(data, np.random.default_rng(5))
    x = [values[n] for n in data["primary"]["inputs"]]
    y = [values[n] for n in data["primary"]["targets"]]
    a, z, delta, dW = textbook_backprop(data["layers"], W, b, x, y, "bce")
    L = len(data["layers"]) - 1
    namespace = {
        "W": W, "A": a, "D": delta, "YHAT": a[L], "NABLA": (a[L] - np.reshape(y, (-1, 1))) / (a[L] * (1 - a[L])),
        "GP": {l: a[l] * (1 - a[l]) for l in range(1, L + 1)}, "DW": dW, "DB": delta,
        "NA": {l: W[l + 1].T @ delta[l + 1] for l in range(1, L)},
    }
    for left, right, label, rows, columns in lines:
        lhs = eval(_python(left), {"__builtins__": {}}, namespace)  # our own printed LaTeX, not user input
        rhs = eval(_python(right), {"__builtins__": {}}, namespace)
        assert rhs.shape == lhs.shape == (int(rows), int(columns)), (label, left, right)
        np.testing.assert_allclose(rhs, lhs, rtol=1e-12, err_msg=f"{label}: {left} = {right}")
    # the same equations in the Markdown, and the notation table
    md = render_markdown(derivation)
    assert md.count(r"\text{BP") == len(lines)
    assert "| weight from neuron $i$ of layer $l-1$ to neuron $j$ of layer $l$ |" in md
    assert r"\odot" in md and r"\circ" not in md


def test_row_notations_keep_their_hadamard_and_no_bp_labels():
    md = render_markdown(derive("2-2-1", notation="layers"))
    assert r"\circ" in md and r"\odot" not in md and "BP1" not in md
