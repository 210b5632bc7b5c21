"""Mini-batches: Ng's batch equations, read back from the handout, give the mean of the per-sample
gradients of an independent NumPy network; the proofs catch a wrong batch formula."""

import json
import re
from dataclasses import replace

import numpy as np
import pytest

from symbackprop import derive
from symbackprop.cli import main
from symbackprop.handout.render import derivation_json, render_latex, render_markdown
from symbackprop.network.spec import NetworkSpec, SpecError
from symbackprop.proof.batch import check_numerically, prove_entries, prove_symbolically
from symbackprop.proof.prove import VerificationError

ACTIVATIONS = {"sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
               "tanh": (np.tanh, lambda a: 1 - a**2)}


def per_sample_gradients(layers, activation, loss, W, b, x, y):
    """Backpropagation for one sample, written out here (columns: W[l] is n_l × n_(l-1))."""
    f, fprime = ACTIVATIONS[activation]
    a = [x.reshape(-1, 1)]
    for l in range(1, len(layers)):
        a.append(f(W[l] @ a[-1] + (b[l] if b else 0)))
    L = len(layers) - 1
    y = y.reshape(-1, 1)
    grad = {"mse": a[L] - y, "bce": (a[L] - y) / (a[L] * (1 - a[L]))}[loss]
    delta = {L: grad * fprime(a[L])}
    for l in range(L - 1, 0, -1):
        delta[l] = (W[l + 1].T @ delta[l + 1]) * fprime(a[l])
    return {l: delta[l] @ a[l - 1].T for l in delta}, {l: delta[l] for l in delta}, a, delta


_TOKENS = [
    (r"\\left\(", "("), (r"\\right\)", ")"), (r"\\frac\{1\}\{m\}", " INV_M * "),
    (r"g\^\{\[(\d+)\]\\prime\}\(Z\^\{\[\d+\]\}\)", r" GP[\1] "),
    (r"d([ZWbA])\^\{\[(\d+)\]\}", r" d\1[\2] "), (r"([AWZ])\^\{\[(\d+)\]\}", r" \1[\2] "),
    (r"\\mathbf\{1\}", " ONES "), (r"\^\{T\}", ".T"), (r"\\odot", "*"), (r"\\circ", "*"),
]


def _python(latex: str) -> str:
    text = latex
    for pattern, replacement in _TOKENS:
        text = re.sub(pattern, replacement, text)
    assert "\\" not in text, text
    return re.sub(r"(\]|\)|T|[A-Z])\s+(?=[A-Za-z(])", r"\1 @ ", text.strip())


@pytest.mark.parametrize("notation", ["columns", "layers"])
@pytest.mark.parametrize("spec,activation,loss,bias,m", [
    ("2-3-2", "sigmoid", "bce", True, 2),
    ("3-2-2-1", "tanh", "mse", False, 3),
])
def test_batch_equations_read_back_give_the_mean_gradient(notation, spec, activation, loss, bias, m):
    d = derive(spec, notation=notation, activation=activation, loss=loss, bias=bias, batch=m)
    assert d.batch_check.symbolic == d.spec.n_parameters  # proven against sympy.diff of the batch loss
    tex = render_latex(d)
    lines = re.findall(r"^(d[ZWb]\^\{\[\d+\]\}) &= (.*?) && \((\d+) \\times (\d+)\)", tex, re.M)
    depth = len(d.spec.layers) - 1
    assert len(lines) == depth * (3 if bias else 2)
    layers = d.spec.layers
    rng = np.random.default_rng(11)
    W = {l: rng.uniform(-1, 1, (layers[l], layers[l - 1])) for l in range(1, depth + 1)}
    b = {l: rng.uniform(-1, 1, (layers[l], 1)) for l in range(1, depth + 1)} if bias else {}
    X = rng.uniform(-1, 1, (layers[0], m))
    Y = rng.uniform(0.1, 0.9, (layers[-1], m))
    mean_dW = {l: 0 for l in W}
    mean_db = {l: 0 for l in W}
    A = {l: np.zeros((layers[l], m)) for l in range(depth + 1)}
    dZ = {l: np.zeros((layers[l], m)) for l in range(1, depth + 1)}
    for i in range(m):
        dW, db, a, delta = per_sample_gradients(layers, activation, loss, W, b, X[:, i], Y[:, i])
        for l in W:
            mean_dW[l] = mean_dW[l] + dW[l] / m
            mean_db[l] = mean_db[l] + db[l] / m
            dZ[l][:, i] = delta[l][:, 0]
        for l in range(depth + 1):
            A[l][:, i] = a[l][:, 0]
    fprime = ACTIVATIONS[activation][1]
    columns = notation == "columns"
    t = (lambda M: M) if columns else (lambda M: M.T)  # noqa: E731  rows: one row per sample, W^[k] is n_(k-1) × n_k
    namespace = {
        "A": {l: t(A[l]) for l in A}, "W": {l: t(W[l]) for l in W}, "Y": t(Y), "INV_M": 1 / m,
        "GP": {l: t(fprime(A[l])) for l in range(1, depth + 1)}, "ONES": np.ones((m, 1)) if columns else np.ones((1, m)),
        "dZ": {l: t(dZ[l]) for l in dZ}, "dA": {depth: t(A[depth] - Y)},  # mse: ∂L^(i)/∂ŷ = ŷ - y
    }
    computed = {}
    for left, right, rows, cols in lines:  # from the output layer back, as the handout writes them
        value = eval(_python(right), {"__builtins__": {}}, namespace)  # our own printed LaTeX, not user input
        assert value.shape == (int(rows), int(cols)), (left, right)
        kind, l = re.match(r"d([ZWb])\^\{\[(\d+)\]\}", left).groups()
        computed[kind, int(l)] = value
    for l in W:
        np.testing.assert_allclose(computed["W", l], t(mean_dW[l]), rtol=1e-10)
        np.testing.assert_allclose(computed["Z", l], t(dZ[l]), rtol=1e-10)
        if bias:
            np.testing.assert_allclose(computed["b", l], t(mean_db[l]), rtol=1e-10)


@pytest.mark.parametrize("notation", ["neurons", "layers", "columns"])
@pytest.mark.parametrize("bias", [False, True])
def test_every_notation_proves_its_batch_form(notation, bias):
    d = derive("2-2-2", notation=notation, bias=bias, loss="ce", batch=3)
    check = d.batch_check
    assert check.symbolic == d.spec.n_parameters and check.max_rel_error < 1e-9
    n_dz = 3 * (2 + 2)
    assert check.entries_proven == n_dz + d.spec.n_parameters
    data = json.loads(json.dumps(derivation_json(d)))
    assert data["batch"] == 3 and data["batch_form"]["samples"] == 3
    shapes = {layer["layer"]: {k: v["shape"] for k, v in layer["gradients"].items()} for layer in data["batch_form"]["layers"]}
    assert shapes[2]["dZ"] == ([2, 3] if notation == "columns" else [3, 2])
    assert shapes[1]["dW"] == [2, 2]
    assert data["batch_form"]["layers"][0]["assumption"] == "the targets sum to 1"
    # a power of ten, as for each parameter: the last bits of another CPU's BLAS cannot change the gallery
    verification = data["batch_form"]["verification"]
    assert verification["rel_error_below"] == 1e-12 and "max_rel_error" not in verification
    md = render_markdown(d)
    assert "A mini-batch of 3 samples" in md and "sympy.diff" in md


def test_a_wrong_batch_formula_is_caught():
    d = derive("2-2-1", notation="columns", bias=True, batch=2)
    form, model, chain = d.batch, d.model, d.chain
    layer = form.layers[0]
    dw = layer.gradient("dW")
    wrong = replace(dw, entries=dw.entries * 2)  # the 1/m forgotten
    broken = replace(form, layers=(replace(layer, gradients=(layer.gradients[0], wrong) + layer.gradients[2:]),)
                     + form.layers[1:])
    with pytest.raises(VerificationError):
        prove_entries(model, chain, broken)
    with pytest.raises(VerificationError):
        check_numerically(model, chain, broken, points=2, seed=0)
    with pytest.raises(VerificationError):
        prove_symbolically(model, chain, broken)
    dz = layer.gradient("dZ")
    swapped = replace(dz, entries=dz.entries[:, ::-1])  # the samples' columns exchanged
    broken = replace(form, layers=(replace(layer, gradients=(swapped,) + layer.gradients[1:]),) + form.layers[1:])
    with pytest.raises(VerificationError):
        prove_entries(model, chain, broken)


def run(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    captured = capsys.readouterr()
    return stop.value.code, captured.out + captured.err


def test_batch_sizes_are_checked(capsys):
    with pytest.raises(SpecError, match="from 1 to 16"):
        NetworkSpec.parse("2-2-1", batch=0)
    with pytest.raises(SpecError, match="entries to prove"):
        NetworkSpec.parse("100-100-10", batch=2)
    code, output = run(["derive", "2-2-1", "--batch", "17"], capsys)
    assert code == 2 and "17" in output and "Traceback" not in output and len(output.strip().splitlines()) == 1


def test_derive_batch_from_the_command_line(tmp_path, capsys):
    code, output = run(["derive", "2-2-1", "--notation", "columns", "--batch", "2", "--format", "json", "-o", str(tmp_path)],
                       capsys)
    assert code == 0, output
    data = json.loads((tmp_path / "derivation.json").read_text())
    assert data["batch"] == 2
    assert data["batch_form"]["layers"][0]["gradients"]["dW"]["latex"] == r"\frac{1}{m} dZ^{[2]} \left(A^{[1]}\right)^{T}"


@pytest.mark.parametrize("notation", ["neurons", "layers", "columns"])
@pytest.mark.parametrize("bias_kind", ["none", "per neuron", "shared"])
@pytest.mark.parametrize("spec,m", [("2-3-1", 2), ("1-2-2-2", 3)])
def test_batch_gradient_is_the_mean_of_independent_per_sample_gradients(notation, bias_kind, spec, m):
    """Every notation × bias kind: each batch dW/db entry, evaluated at per-sample outputs and deltas
    computed here by NumPy, equals the mean of the per-sample gradients computed here too."""
    options = {"bias": bias_kind == "per neuron", "shared_bias": bias_kind == "shared"}
    d = derive(spec, notation=notation, batch=m, **options)
    assert d.batch_check.symbolic == d.spec.n_parameters
    model, form = d.model, d.batch
    layers, depth = d.spec.layers, len(d.spec.layers) - 1
    rng = np.random.default_rng(len(spec) + m)
    W = {l: rng.uniform(-1, 1, (layers[l], layers[l - 1])) for l in range(1, depth + 1)}  # to j from k
    b = {l: (np.full((layers[l], 1), rng.uniform(-1, 1)) if bias_kind == "shared" else rng.uniform(-1, 1, (layers[l], 1)))
         for l in range(1, depth + 1)} if bias_kind != "none" else {}
    values = {model.weights[l][i][j]: W[l][j, i] for l in W for i in range(layers[l - 1]) for j in range(layers[l])}
    if b:
        values.update({model.biases[l][j]: b[l][j, 0] for l in b for j in range(layers[l])})
    mean_dW = {l: np.zeros_like(W[l]) for l in W}
    mean_db = {l: 0.0 for l in W}
    for s, copy in enumerate(form.samples):
        x, y = rng.uniform(-1, 1, layers[0]), rng.uniform(0.1, 0.9, layers[-1])
        dW, db, a, delta = per_sample_gradients(layers, "sigmoid", "mse", W, b, x, y)
        for l in W:
            mean_dW[l] += dW[l] / m
            mean_db[l] = mean_db[l] + (db[l].sum() if bias_kind == "shared" else db[l][:, 0]) / m
        for l in range(depth + 1):
            values.update({copy[model.out[l][j]]: a[l][j, 0] for j in range(layers[l])})
        for l in delta:
            values.update({copy[d.chain.delta(n).symbol]: delta[l][j, 0] for j, n in enumerate(model.neurons(l))})
    for layer in form.layers:
        l = layer.layer
        dw = np.array(layer.gradient("dW").entries.xreplace(values), dtype=float)
        np.testing.assert_allclose(dw if form.columns else dw.T, mean_dW[l], rtol=1e-10)
        if bias_kind != "none":
            db = np.array(layer.gradient("db").entries.xreplace(values), dtype=float).ravel()
            np.testing.assert_allclose(db, np.atleast_1d(mean_db[l]), rtol=1e-10)
