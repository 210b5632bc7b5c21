"""Worked examples: every number against an independent NumPy computation, the handouts, and
one line and exit 2 for every kind of bad params file."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import require_tex
from test_codegen import reference_gradient, reference_loss

from symbackprop.cli.numbers import example as example_command
from symbackprop.network.spec import NetworkSpec
from symbackprop.numbers.example import (
    ParamsError,
    check_params,
    example_json,
    render_example,
    worked_example,
    write_example,
)

PARAMS = {
    "x": [0.05, 0.10],
    "y": [0.01, 0.99],
    "W": [[[0.15, 0.25, -0.3, 0.1], [0.20, 0.30, 0.5, -0.2]],
          [[0.40, 0.50, 0.1], [0.45, 0.55, -0.2], [0.3, -0.1, 0.2], [0.6, 0.2, -0.4]],
          [[0.3, -0.5], [0.7, 0.1], [-0.2, 0.4]]],
    "b": [[0.35, 0.35, 0.1, -0.1], [0.6, 0.6, 0.0], [0.1, -0.2]],
}


def textbook_backprop(params):
    """Sigmoid layers, E = Σ ½(y - a)², written the way a textbook does (no symbackprop)."""
    W = [np.array(w) for w in params["W"]]
    b = [np.array(v) for v in params["b"]]
    nets, outs = [], [np.array(params["x"])]
    for w, v in zip(W, b):
        nets.append(outs[-1] @ w + v)
        outs.append(1 / (1 + np.exp(-nets[-1])))
    y = np.array(params["y"])
    delta = (outs[-1] - y) * outs[-1] * (1 - outs[-1])
    gW, gb = [None] * 3, [None] * 3
    for k in (2, 1, 0):
        gW[k], gb[k] = np.outer(outs[k], delta), delta
        delta = (W[k] @ delta) * outs[k] * (1 - outs[k])
    return nets, outs[1:], 0.5 * np.sum((y - outs[-1]) ** 2), gW, gb


def test_numbers_match_a_textbook_backprop():
    ex = worked_example("2-4-3-2", PARAMS, lr=0.5, bias=True)
    data = example_json(ex)
    nets, outs, loss, gW, gb = textbook_backprop(PARAMS)
    assert data["loss"] == pytest.approx(loss, rel=1e-14)
    for k in range(3):
        np.testing.assert_allclose(data["forward"]["net"][k], nets[k], rtol=1e-14)
        np.testing.assert_allclose(data["forward"]["out"][k], outs[k], rtol=1e-14)
        np.testing.assert_allclose(data["grad"]["W"][k], gW[k], rtol=1e-12)
        np.testing.assert_allclose(data["grad"]["b"][k], gb[k], rtol=1e-12)
        np.testing.assert_allclose(data["updated"]["W"][k], np.array(PARAMS["W"][k]) - 0.5 * gW[k], rtol=1e-14)
        np.testing.assert_allclose(data["updated"]["b"][k], np.array(PARAMS["b"][k]) - 0.5 * gb[k], rtol=1e-14)
    y = np.array(PARAMS["y"])
    np.testing.assert_allclose(data["forward"]["errors"], 0.5 * (y - outs[-1]) ** 2, rtol=1e-14)
    updated = {"W": data["updated"]["W"], "b": data["updated"]["b"], "x": PARAMS["x"], "y": PARAMS["y"]}
    assert data["loss_after"] == pytest.approx(textbook_backprop(updated)[2], rel=1e-14)
    assert data["loss_after"] < data["loss"]
    assert data["cross_check"]["rel_error_below"] <= 1e-12


def test_json_keeps_full_precision_and_the_params_layout():
    data = example_json(worked_example("2-4-3-2", PARAMS, bias=True))
    text = json.dumps(data)
    assert json.loads(text)["grad"] == data["grad"]  # floats round-trip exactly
    assert [np.shape(w) for w in data["grad"]["W"]] == [(2, 4), (4, 3), (3, 2)]
    assert [np.shape(v) for v in data["updated"]["b"]] == [(4,), (3,), (2,)]
    no_bias = example_json(worked_example("2-4-3-2", {k: v for k, v in PARAMS.items() if k != "b"}))
    assert no_bias["grad"]["b"] is None and no_bias["updated"]["b"] is None


@pytest.mark.parametrize("activation, loss", [("tanh", "ce"), ("relu,sigmoid", "bce"), ("softplus,linear", "mse")])
def test_other_activations_and_losses_against_finite_differences(activation, loss):
    spec = NetworkSpec.parse("3-4-2", activation=activation, loss=loss, bias=True)
    ex = worked_example(spec, seed=5, lr=0.1)
    data = example_json(ex)
    p = data["params"]
    W, b = [np.array(w) for w in p["W"]], [np.array(v) for v in p["b"]]
    assert data["loss"] == pytest.approx(reference_loss(W, b, p["x"], p["y"], spec.activations, loss), rel=1e-12)
    reference = reference_gradient(W, b, p["x"], p["y"], spec.activations, loss)
    for key in ("W", "b"):
        for ours, theirs in zip(data["grad"][key], reference[key]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)
    updated_W = [w - 0.1 * np.array(g) for w, g in zip(W, data["grad"]["W"])]
    updated_b = [v - 0.1 * np.array(g) for v, g in zip(b, data["grad"]["b"])]
    assert data["loss_after"] == pytest.approx(reference_loss(updated_W, updated_b, p["x"], p["y"], spec.activations, loss), rel=1e-12)


def test_freeze_bias_updates_only_the_weights():
    data = example_json(worked_example("2-4-3-2", PARAMS, bias=True, freeze_bias=True, lr=0.25))
    assert data["updated"]["b"] == [list(map(float, v)) for v in PARAMS["b"]]
    _, _, _, gW, _ = textbook_backprop(PARAMS)
    np.testing.assert_allclose(data["updated"]["W"][0], np.array(PARAMS["W"][0]) - 0.25 * gW[0], rtol=1e-14)


def test_random_parameters_are_seeded():
    first = example_json(worked_example("2-3-1", seed=7))
    assert first == example_json(worked_example("2-3-1", seed=7))
    assert first["params"] != example_json(worked_example("2-3-1", seed=8))["params"]
    assert first["seed"] == 7


def test_handout_shows_each_weight_as_a_product_of_numbers():
    ex = worked_example("2-4-3-2", PARAMS, bias=True)
    text = render_example(ex, "md")
    nets, outs, loss, gW, _ = textbook_backprop(PARAMS)
    out_d1, out_c1, target = outs[2][0], outs[1][0], PARAMS["y"][0]
    factors = [out_d1 - target, out_d1 * (1 - out_d1), out_c1]  # seed 000's eq. (15) for w_31
    shown = r" \cdot ".join(f"{float(f'{v:.4g}'):g}" for v in factors) + f" = {float(f'{gW[2][0, 0]:.4g}'):g}"
    assert shown in text
    assert r"\frac{\partial E_{\mathrm{total}}}{\partial w_{31}}" in text
    assert f"= {float(f'{loss:.9g}'):.9g} $$" in text  # E_total, written out to 9 digits
    assert "after" in text and "One step of gradient descent" in text


def test_large_networks_cap_the_listing():
    ex = worked_example("10-12-3", seed=0, bias=True)
    text = render_example(ex, "md")
    assert "12 of the 171 parameters are shown" in text
    assert "… and 4 more neurons in this layer." in text  # 12 neurons, 8 shown
    assert len(example_json(ex)["grad"]["W"][0]) == 10  # the JSON has everything


def test_latex_handout_compiles(tmp_path):
    require_tex()
    import subprocess

    write_example(worked_example("2-4-3-2", PARAMS, bias=True, freeze_bias=True), tmp_path, ("tex",))
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "example.tex"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    overfull = [float(points) for points in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", result.stdout)]
    assert max(overfull, default=0) < 10, f"formulas run off the page by {max(overfull)}pt"


# -- the command ---------------------------------------------------------------------------------
def _mix_stderr_supported():
    """Click 8.1 mixes stderr into the output unless asked not to; 8.2 keeps it apart always."""
    import inspect

    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters


def run(args, tmp_path):
    runner = CliRunner(mix_stderr=False) if _mix_stderr_supported() else CliRunner()
    return runner.invoke(example_command, args)


def test_command_writes_handouts_and_prints_a_summary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = tmp_path / "p.json"
    params.write_text(json.dumps(PARAMS))
    result = run(["2-4-3-2", "--bias", "--params", str(params), "--lr", "0.5"], tmp_path)
    assert result.exit_code == 0, result.output
    directory = tmp_path / "output" / "2-4-3-2-example"
    assert sorted(p.name for p in directory.iterdir()) == ["example.md", "example.tex", "network.svg"]
    assert re.search(r"E_total = 0\.\d+, after one step with lr 0.5: 0\.\d+", result.stdout)


def test_json_option_prints_only_json_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(["2-3-1", "--json", "--seed", "3"], tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"loss", "grad", "updated", "loss_after", "forward"}
    assert not (tmp_path / "output").exists()
    with_files = run(["2-3-1", "--json", "--seed", "3", "-o", str(tmp_path / "here")], tmp_path)
    assert json.loads(with_files.stdout) == data
    assert (tmp_path / "here" / "example.md").is_file()


BAD_PARAMS = [
    ("{not json", "not valid JSON (line 1, column 2"),
    (json.dumps({"x": [1, 2], "y": [0, 1]}), "missing key 'W' (a list of the weight matrices W^[k] with n_(k-1) rows of n_k numbers: 2x4, 4x3, 3x2)"),
    (json.dumps({**PARAMS, "W": PARAMS["W"][:2]}), "key 'W' must be a list of 3 (one per computed layer; got 2)"),
    (json.dumps({**PARAMS, "W": [PARAMS["W"][0], PARAMS["W"][1][:2], PARAMS["W"][2]]}), "key 'W' layer 2 must be 4 rows of 3 numbers (got 2 rows)"),
    (json.dumps({**PARAMS, "W": [PARAMS["W"][0], PARAMS["W"][1], [[1, 2, 3]] * 3]}), "key 'W' layer 3 must be 3 rows of 2 numbers (row 1 is 3 numbers)"),
    (json.dumps({**PARAMS, "x": [1, "a"]}), "key 'x' must be a list of 2 numbers (entry 2 is a string)"),
    (json.dumps({**PARAMS, "x": [1, True]}), "key 'x' must be a list of 2 numbers (entry 2 is true/false)"),
    (json.dumps({**PARAMS, "y": [1, 2, 3]}), "key 'y' must be a list of 2 numbers (got 3)"),
    (json.dumps({**PARAMS, "b": [[0, 0, 0, 0], [0, 0], [0, 0]]}), "key 'b' layer 2 must be a list of 3 numbers (got 2)"),
    (json.dumps({**PARAMS, "w": 1}), "unknown key 'w' (the keys are x, y, W, b)"),
    (json.dumps([1, 2]), "expected a JSON object with the keys x, y, W, b (got a list of 2)"),
    ('{"x": [NaN, 1], "y": [0, 1], "W": [], "b": []}', "key 'x' must be a list of 2 numbers (entry 1 is nan, not a finite number)"),
]


@pytest.mark.parametrize("text, message", BAD_PARAMS)
def test_bad_params_file_is_one_line_and_exit_2(text, message, tmp_path):
    params = tmp_path / "params.json"
    params.write_text(text)
    result = run(["2-4-3-2", "--bias", "--params", str(params), "-o", str(tmp_path / "out")], tmp_path)
    assert result.exit_code == 2
    error = result.stderr
    assert error.count("\n") == 1, error
    assert message in error
    assert "Traceback" not in error


def test_bias_given_for_a_network_without_biases():
    with pytest.raises(ParamsError, match="key 'b' is given but the network has no biases"):
        check_params(NetworkSpec.parse("2-4-3-2"), PARAMS)


def test_cross_entropy_targets_must_be_probabilities():
    with pytest.raises(ParamsError, match="key 'y' must hold probabilities between 0 and 1 for --loss bce"):
        check_params(NetworkSpec.parse("2-4-3-2", loss="bce", bias=True), {**PARAMS, "y": [2, -1]})
    assert check_params(NetworkSpec.parse("2-4-3-2", bias=True), {**PARAMS, "y": [2, -1]})["y"].tolist() == [2, -1]  # mse: any


def test_missing_params_file_and_bad_learning_rate(tmp_path):
    result = run(["2-3-1", "--params", str(tmp_path / "absent.json"), "-o", str(tmp_path)], tmp_path)
    assert result.exit_code == 2
    error = result.stderr
    assert "cannot read it (No such file or directory)" in error
    result = run(["2-3-1", "--lr", "nan", "-o", str(tmp_path)], tmp_path)
    assert result.exit_code == 2


def _mpmath_backprop(params, digits=50):
    """The same textbook backprop in mpmath at 50 digits (no symbackprop, no NumPy)."""
    import mpmath

    with mpmath.workdps(digits):
        sigmoid = lambda z: 1 / (1 + mpmath.exp(-z))  # noqa: E731
        outs = [[mpmath.mpf(v) for v in params["x"]]]
        for W, b in zip(params["W"], params["b"]):
            nets = [mpmath.fsum(outs[-1][i] * mpmath.mpf(W[i][j]) for i in range(len(W))) + mpmath.mpf(b[j])
                    for j in range(len(W[0]))]
            outs.append([sigmoid(z) for z in nets])
        y = [mpmath.mpf(v) for v in params["y"]]
        loss = mpmath.fsum((t - a) ** 2 / 2 for t, a in zip(y, outs[-1]))
        delta = [(a - t) * a * (1 - a) for a, t in zip(outs[-1], y)]
        grads = []
        for k in range(len(params["W"]) - 1, -1, -1):
            W = params["W"][k]
            grads.insert(0, [[float(outs[k][i] * delta[j]) for j in range(len(delta))] for i in range(len(W))])
            if k:
                delta = [mpmath.fsum(delta[j] * mpmath.mpf(W[i][j]) for j in range(len(delta))) * outs[k][i] * (1 - outs[k][i])
                         for i in range(len(W))]
        return float(loss), grads


def test_example_numbers_are_the_correctly_rounded_values():
    """Every number is the float64 nearest the true value, bit for bit (so the gallery is the same
    on every CPU): compared exactly with a 50-digit mpmath backprop written here."""
    loss, grads = _mpmath_backprop(PARAMS)
    data = example_json(worked_example("2-4-3-2", PARAMS, bias=True))
    assert data["loss"] == loss
    assert data["grad"]["W"] == grads


@pytest.mark.parametrize("activation, weight, words", [
    ("log(z)", -1.0, "complex"),  # net input -10
    ("sqrt(z)", -1.0, "complex"),
    ("exp(exp(z))", 100.0, "beyond the float64 range"),  # e^(e^1000)
])
def test_numbers_that_leave_the_reals_are_one_line_exit_2(tmp_path, activation, weight, words):
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"x": [10.0, 0.0], "y": [1.0], "W": [[[weight], [1.0]]]}))
    result = CliRunner().invoke(example_command, ["2-1", "--activation", activation, "--params", str(params),
                                                  "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert len(message.splitlines()) == 1 and "out_b_1" in message and words in message, message
    assert not (tmp_path / "out" / "example.md").exists()
