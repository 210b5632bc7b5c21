"""Shared biases: one bias per computed layer, in every neuron's net input; its gradient is the sum
of the layer's deltas, derived and proven like any parameter, in every notation and every command."""

import json
from pathlib import Path

import numpy as np
import pytest
from forkserver import run_symbackprop
from test_derive import check_against_reference

from symbackprop import derive
from symbackprop.handout.render import derivation_json, render_markdown
from symbackprop.network.spec import NetworkSpec, SpecError
from symbackprop.numbers.codegen import generated
from symbackprop.numbers.example import example_json, worked_example

ROOT = Path(__file__).resolve().parent.parent
WALKTHROUGH = json.loads((ROOT / "examples" / "walkthrough-2-2-2.json").read_text())


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def walkthrough_by_hand():
    """The classic walk-through's numbers, computed here: h = σ(W1ᵀx + b1), o = σ(W2ᵀh + b2)."""
    x, y = np.array(WALKTHROUGH["x"]), np.array(WALKTHROUGH["y"])
    W1, W2 = (np.array(w) for w in WALKTHROUGH["W"])  # rows: source neuron, columns: target
    b1, b2 = WALKTHROUGH["b"]
    h = sigmoid(x @ W1 + b1)
    o = sigmoid(h @ W2 + b2)
    d2 = (o - y) * o * (1 - o)
    d1 = (W2 @ d2) * h * (1 - h)
    return 0.5 * np.sum((y - o) ** 2), np.outer(h, d2), np.outer(x, d1), d2.sum(), d1.sum()


@pytest.mark.parametrize("notation", ["neurons", "layers", "columns"])
@pytest.mark.parametrize("spec,options", [("2-2-2", {}), ("3-2-2-1", {"activation": "tanh", "loss": "mse"}),
                                          ("2-3-1", {"loss": "bce"})])
def test_shared_bias_gradients_equal_sympy_diff(notation, spec, options):
    data = check_against_reference(spec, True, shared_bias=True, notation=notation, **options)
    biases = [p for p in data["parameters"] if p["kind"] == "bias"]
    assert len(biases) == len(data["layers"]) - 1  # one per computed layer
    layers = data["layers"]
    assert [len(set(names)) for names in data["primary"]["biases"]] == [1] * (len(layers) - 1)
    for bias in biases:  # the path sum runs through every neuron of the layer
        k = bias["to"][0]
        assert bias["paths"] == layers[k] * int(np.prod(layers[k + 1:]))


def test_the_walkthrough_with_its_own_shared_biases():
    loss, dW2, dW1, db2, db1 = walkthrough_by_hand()
    example = worked_example(NetworkSpec.parse("2-2-2", shared_bias=True), WALKTHROUGH)
    data = example_json(example)
    assert round(data["loss"], 9) == 0.298371109 == round(loss, 9)
    assert round(data["grad"]["W"][1][0][0], 9) == 0.082167041  # w5: first hidden neuron -> first output
    np.testing.assert_allclose(data["grad"]["W"][1], dW2, rtol=1e-12)
    np.testing.assert_allclose(data["grad"]["W"][0], dW1, rtol=1e-12)
    np.testing.assert_allclose([v for b in data["grad"]["b"] for v in b], [db1, db2], rtol=1e-12)
    assert data["grad"]["b"] == [[pytest.approx(db1, rel=1e-12)], [pytest.approx(db2, rel=1e-12)]]


def test_the_walkthrough_command_line(tmp_path):
    result = run_symbackprop("example", "2-2-2", "--shared-bias", "--params", str(ROOT / "examples" / "walkthrough-2-2-2.json"),
                             "--format", "md", "-o", str(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "example.md").read_text()
    assert "0.298371109" in text and "b_{b}" in text and "b_{c}" in text


def test_the_handout_says_the_bias_is_shared_and_sums_the_deltas():
    d = derive("2-2-2", shared_bias=True)
    md = render_markdown(d, detail="full")
    assert r"### $b_{c}$ (bias shared by $c_1$, $c_2$)" in md
    assert r"\frac{\partial E_{\mathrm{total}}}{\partial b_{c}} = \delta_{c_1} \cdot 1 + \delta_{c_2} \cdot 1" in md
    layers = derive("2-2-2", shared_bias=True, notation="columns")
    data = derivation_json(layers)
    (b2,) = [p for p in data["parameters"] if p["symbol"] == "b_2"]
    assert b2["delta_form"] == "delta_2_1 + delta_2_2" and b2["latex"] == "b^{[2]}"
    matrix = data["matrix_form"][0]["gradients"]["g_b"]
    assert matrix["shape"] == [1, 1] and matrix["latex"] == r"\mathbf{1}^{T} \delta^{[2]}"


def test_generated_code_sums_the_shared_bias():
    spec = NetworkSpec.parse("2-2-2", shared_bias=True)
    module = generated(spec)
    x, y = np.array([WALKTHROUGH["x"]]), np.array([WALKTHROUGH["y"]])
    gradient = module.grad({"W": WALKTHROUGH["W"], "b": [[0.35], [0.60]]}, x, y)
    _, _, _, db2, db1 = walkthrough_by_hand()
    np.testing.assert_allclose([gradient["b"][0][0], gradient["b"][1][0]], [db1, db2], rtol=1e-12)


def test_a_shared_bias_on_a_softmax_layer_is_refused():
    with pytest.raises(SpecError, match="softmax"):
        NetworkSpec.parse("2-2-2", loss="ce", shared_bias=True)
    assert NetworkSpec.parse("2-2-2", shared_bias=True).n_parameters == 8 + 2


def test_column_notation_reads_each_weight_matrix_as_the_textbooks_write_it():
    """In column notation the params file's W^[l] has one row per neuron of layer l: the walk-through's
    w1..w8 then read row by row, and the numbers are the same as in the other notations."""
    columns = {**WALKTHROUGH, "W": [[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]]}
    data = example_json(worked_example(NetworkSpec.parse("2-2-2", shared_bias=True, notation="columns"), columns))
    rows = example_json(worked_example(NetworkSpec.parse("2-2-2", shared_bias=True), WALKTHROUGH))
    assert data["loss"] == rows["loss"]
    assert data["params"]["W"] == columns["W"]
    np.testing.assert_array_equal(np.array(data["grad"]["W"][1]), np.array(rows["grad"]["W"][1]).T)
    assert round(data["grad"]["W"][1][0][0], 9) == 0.082167041  # W^[2]_{1,1}: to output 1 from hidden 1 (w5)
    with pytest.raises(Exception, match="2 rows of 3 numbers"):
        worked_example(NetworkSpec.parse("3-2", notation="columns"), {"x": [1, 2, 3], "y": [0.5, 0.5],
                                                                        "W": [[[1, 2], [3, 4], [5, 6]]]})
