"""Every activation, loss, bias and notation: checked against sympy.diff and finite differences."""

import json
import random
import zlib

import mpmath
import numpy as np
import pytest
import sympy
from reference import central_differences, expanded_loss, mp_value, parse, substitute_definitions

from symbackprop import derive
from symbackprop.algebra.exact import are_equal
from symbackprop.handout.render import derivation_json, render_markdown
from symbackprop.network.activations import ACTIVATIONS

HIDDEN = ["sigmoid", "tanh", "relu", "linear", "softplus"]
OUTPUT_FOR_LOSS = {"bce": "sigmoid", "ce": "softmax"}


def combinations():
    for activation in HIDDEN:
        for loss in ("mse", "bce", "ce"):
            for bias in (False, True):
                for notation in ("neurons", "layers"):
                    yield activation, loss, bias, notation


def random_spec(seed: int) -> str:
    rng = random.Random(seed)
    return "-".join(str(rng.randint(1, 3)) for _ in range(rng.randint(2, 3))) + f"-{rng.randint(2, 3)}"


@pytest.mark.parametrize("activation, loss, bias, notation", list(combinations()))
def test_every_combination(activation, loss, bias, notation):
    spec = random_spec(zlib.crc32(f"{activation}{loss}{bias}{notation}".encode()))
    depth = spec.count("-")
    activations = [activation] * depth
    if loss in OUTPUT_FOR_LOSS:
        activations[-1] = OUTPUT_FOR_LOSS[loss]
    derivation = derive(spec, activation=",".join(activations), loss=loss, bias=bias, notation=notation, proof="numeric")
    data = json.loads(json.dumps(derivation_json(derivation)))
    assert data["activations"] == activations
    truth_loss = expanded_loss(data["primary"], data["layers"], activations, loss)
    rng = np.random.default_rng(7)
    point = {s: float(rng.uniform(-1, 1)) for s in truth_loss.free_symbols}
    for t in data["primary"]["targets"]:
        point[sympy.Symbol(t, real=True)] = float(rng.uniform(0.1, 0.9))
    at_point = {s: mpmath.mpf(v) for s, v in point.items()}
    memo: dict = {}  # the gradients and the truths share their subexpressions: each evaluated once
    finite_difference = central_differences(truth_loss, point)
    for parameter in data["parameters"]:
        p = sympy.Symbol(parameter["symbol"], real=True)
        gradient = substitute_definitions(parse(parameter["chain_rule"], data["definitions"]), data["definitions"])
        truth = sympy.diff(truth_loss, p)
        if activation != "relu":  # relu: equal only away from its kink at 0, so compared at a point below
            assert are_equal(gradient, truth), (spec, parameter["symbol"])
        with mpmath.workdps(30):  # the reference evaluator, at 30 digits
            value, true_value = float(mp_value(gradient, at_point, memo)), float(mp_value(truth, at_point, memo))
        assert value == pytest.approx(true_value, rel=1e-9, abs=1e-12), parameter["symbol"]
        assert value == pytest.approx(finite_difference(p), rel=1e-5, abs=1e-8), parameter["symbol"]


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n != "softmax"])
def test_output_forms_equal_sympys_derivative(name):
    activation = ACTIVATIONS[name]
    z = sympy.Symbol("z", real=True)
    if activation.in_output is None:
        return
    written = activation.in_output(activation.formula(z))
    for value in (-1.7, -0.3, 0.4, 2.2):
        assert float(written.subs(z, value)) == pytest.approx(float(activation.derivative(z).subs(z, value).doit()))


def test_which_activations_have_an_output_form():
    with_output_form = sorted(n for n, a in ACTIVATIONS.items() if a.in_output is not None or a.mixes)
    assert with_output_form == ["linear", "relu", "sigmoid", "softmax", "softplus", "tanh"]
    a = sympy.Symbol("a")
    assert ACTIVATIONS["tanh"].in_output(a) == 1 - a**2
    assert ACTIVATIONS["softplus"].in_output(a) == 1 - sympy.exp(-a)
    assert ACTIVATIONS["linear"].in_output(a) == 1
    assert "H(0) = 0" in ACTIVATIONS["relu"].note


def test_sigmoid_and_bce_cancel_to_out_minus_target():
    derivation = derive("2-2-1", loss="bce")
    (output,) = [d for d in derivation.deltas if d.is_output]
    out, target = sympy.symbols("out_c_1 target_c_1", real=True)
    assert output.simplification.steps == (out - target,)
    assert output.simplification.assumption is None
    md = render_markdown(derivation)
    assert r"\cdot \mathrm{out}_{c_1} \left(1 - \mathrm{out}_{c_1}\right) = \mathrm{out}_{c_1} - \mathrm{target}_{c_1}" in md
    assert "The factors cancel" in md


def test_softmax_and_ce_cancel_when_the_targets_sum_to_one():
    derivation = derive("2-3", loss="ce")
    first = derivation.deltas[0]
    out = sympy.symbols("out_b_1", real=True)
    targets = sympy.symbols("target_b_1:4", real=True)
    collected, simplest = first.simplification.steps
    assert sympy.expand(collected - (out * sum(targets) - targets[0])) == 0
    assert simplest == out - targets[0]
    assert first.simplification.assumption == "the targets sum to 1"
    assert derivation.layers[0].simplified is not None


def test_matrix_form_names_and_shapes_for_2_4_3_2():
    derivation = derive("2-4-3-2", notation="layers", bias=True)
    data = derivation_json(derivation)
    shapes = {(f["layer"], name): tuple(g["shape"]) for f in data["matrix_form"] for name, g in f["gradients"].items()}
    assert shapes[(3, "g_a")] == (1, 2) and shapes[(3, "g_W")] == (3, 2) and shapes[(2, "g_W")] == (4, 3)
    assert shapes[(1, "g_W")] == (2, 4) and shapes[(1, "g_b")] == (1, 4) and shapes[(2, "g_a")] == (1, 3)
    md = render_markdown(derivation)
    assert r"g^{[2a]} &= g^{[3z]} \left(W^{[3]}\right)^{T} && (1 \times 3)" in md
    assert r"g^{[2z]} &= g'_{h}\left(z^{[2]}\right) \circ g^{[2a]} && (1 \times 3)" in md
    assert r"g^{[1W]} &= \left(a^{[0]}\right)^{T} g^{[1z]} && (2 \times 4)" in md
    assert "Hadamard product" in md
    assert derivation.verification.matrix_entries_proven == sum(
        3 * n + m * n for m, n in zip((2, 4, 3), (4, 3, 2))
    ) - 2  # g_z and g_b per neuron, g_W per weight, g_a per hidden neuron


@pytest.mark.parametrize("loss", ["mse", "bce", "ce"])
def test_the_printed_loss_is_the_loss(loss):
    """E_total as the handouts print it (terms kept in order, for reading), read back from its
    LaTeX, is the loss itself: a sign lost in printing shows here."""
    from symbackprop.algebra.grammar import parse_math
    from symbackprop.handout.latex import to_latex
    from symbackprop.network.losses import LOSSES

    outs, targets = sympy.symbols("o1:4", real=True), sympy.symbols("t1:4", real=True)
    printed = to_latex(LOSSES[loss].total_display(outs, targets), {})
    read_back = parse_math(printed, {}, variables=[s.name for s in outs + targets])
    assert sympy.expand(read_back - sum(LOSSES[loss].term(o, t) for o, t in zip(outs, targets))) == 0, printed


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "linear", "softplus"])
@pytest.mark.parametrize("loss", ["mse", "bce", "ce"])
def test_every_builtin_activation_and_loss_is_proven_symbolically_by_default(activation, loss):
    """The default path (--proof auto, 3 computed layers): every gradient an exact identity."""
    hidden = activation if loss == "mse" else f"{activation},{activation},{'sigmoid' if loss == 'bce' else 'softmax'}"
    derivation = derive("2-2-2-2", activation=hidden, loss=loss, bias=True)
    assert derivation.verification.unproven == {}
    assert {derivation.verification.method(g.parameter.symbol) for g in derivation.gradients} == {"symbolic"}
