"""The generated NumPy module: against an independent NumPy network and central differences,
for every activation and loss, one sample and a batch; stable at |z| >= 1000; readable output.

The reference below knows nothing of symbackprop: the activations and losses are written out
again with NumPy, and the gradient is taken by central differences in float64.
"""

import ast

import numpy as np
import pytest
from click.testing import CliRunner

from symbackprop.cli.numbers import codegen
from symbackprop.network.spec import NetworkSpec
from symbackprop.numbers.codegen import (
    check_generated,
    command_line,
    generate_module,
    generated,
    load_module,
)

REFERENCE_ACTIVATIONS = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "linear": lambda z: z,
    "softplus": lambda z: np.log1p(np.exp(z)),
    "z/(1+abs(z))": lambda z: z / (1 + np.abs(z)),
    "softmax": lambda z: np.exp(z) / np.sum(np.exp(z)),
}
REFERENCE_LOSSES = {
    "mse": lambda a, y: 0.5 * np.sum((y - a) ** 2),
    "bce": lambda a, y: -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)),
    "ce": lambda a, y: -np.sum(y * np.log(a)),
}


def reference_loss(W, b, x, y, activations, loss):
    """E_total of one sample, written out from the definitions (row vectors, DESIGN §2)."""
    a = np.asarray(x, dtype=float)
    for k, name in enumerate(activations):
        a = REFERENCE_ACTIVATIONS[name](a @ W[k] + (b[k] if b is not None else 0.0))
    return REFERENCE_LOSSES[loss](a, np.asarray(y, dtype=float))


def reference_gradient(W, b, x, y, activations, loss, h=1e-6):
    """∂E/∂W and ∂E/∂b of one sample by central differences, in the params layout."""
    W = [np.array(w, dtype=float) for w in W]
    b = None if b is None else [np.array(v, dtype=float) for v in b]

    def derivative(array, index):
        saved = array[index]
        step = h * max(1.0, abs(saved))
        array[index] = saved + step
        up = reference_loss(W, b, x, y, activations, loss)
        array[index] = saved - step
        down = reference_loss(W, b, x, y, activations, loss)
        array[index] = saved
        return (up - down) / (2 * step)

    gW = [np.array([[derivative(w, (i, j)) for j in range(w.shape[1])] for i in range(w.shape[0])]) for w in W]
    gb = None if b is None else [np.array([derivative(v, (j,)) for j in range(v.shape[0])]) for v in b]
    return {"W": gW, "b": gb}


def random_network(layers, seed, bias=True, scale=1.0):
    rng = np.random.default_rng(seed)
    W = [rng.uniform(-scale, scale, (m, n)) for m, n in zip(layers, layers[1:])]
    b = [rng.uniform(-0.5, 0.5, n) for n in layers[1:]] if bias else None
    return W, b


def assert_close_gradients(ours, reference, rtol=1e-6, atol=1e-9):
    for key in ("W", "b"):
        if reference[key] is None:
            assert ours[key] is None
            continue
        for mine, theirs in zip(ours[key], reference[key]):
            np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=atol)


CASES = [
    ("sigmoid", "mse"),
    ("tanh", "mse"),
    ("relu", "mse"),
    ("linear", "mse"),
    ("softplus", "mse"),
    ("z/(1+abs(z))", "mse"),
    ("tanh,sigmoid", "bce"),
    ("sigmoid", "bce"),
    ("tanh", "ce"),
    ("relu", "ce"),
    ("softplus,softmax", "mse"),
]


@pytest.mark.parametrize("activation, loss", CASES)
def test_one_sample_and_batch_against_finite_differences(activation, loss):
    spec = NetworkSpec.parse("3-4-2", activation=activation, loss=loss, bias=True)
    module = generated(spec)
    W, b = random_network(spec.layers, seed=1)
    params = {"W": W, "b": b}
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, (5, 3))
    Y = rng.uniform(0.05, 0.95, (5, 2))
    if loss == "ce":
        Y /= Y.sum(axis=1, keepdims=True)

    # one sample: the gradient of its loss
    reference = reference_gradient(W, b, X[0], Y[0], spec.activations, loss)
    assert_close_gradients(module.grad(params, X[0], Y[0]), reference)
    assert module.loss(params, X[0], Y[0]) == pytest.approx(reference_loss(W, b, X[0], Y[0], spec.activations, loss), rel=1e-12)
    assert isinstance(module.loss(params, X[0], Y[0]), float)

    # a batch: per-sample losses, and the gradient of their mean
    losses = module.loss(params, X, Y)
    assert losses.shape == (5,)
    np.testing.assert_allclose(losses, [reference_loss(W, b, x, y, spec.activations, loss) for x, y in zip(X, Y)], rtol=1e-12)
    per_sample = [reference_gradient(W, b, x, y, spec.activations, loss) for x, y in zip(X, Y)]
    mean = {key: [np.mean([g[key][k] for g in per_sample], axis=0) for k in range(2)] for key in ("W", "b")}
    assert_close_gradients(module.grad(params, X, Y), mean)

    # forward: one sample and a batch agree
    outputs = module.forward(params, X)
    assert outputs.shape == (5, 2)
    np.testing.assert_allclose(module.forward(params, X[3]), outputs[3], rtol=1e-13)


def test_no_biases_and_three_layers_against_finite_differences():
    spec = NetworkSpec.parse("2-4-3-2")
    module = generated(spec)
    W, _ = random_network(spec.layers, seed=3, bias=False)
    x, y = np.array([0.3, -0.8]), np.array([0.2, 0.9])
    gradient = module.grad({"W": W}, x, y)
    assert gradient["b"] is None
    assert [g.shape for g in gradient["W"]] == [(2, 4), (4, 3), (3, 2)]
    assert_close_gradients(gradient, reference_gradient(W, None, x, y, spec.activations, "mse"))


@pytest.mark.parametrize("activation, loss", [c for c in CASES if c[0] != "z/(1+abs(z))"])
def test_finite_loss_and_gradient_at_net_inputs_beyond_1000(activation, loss):
    """Stable sigmoid and softplus, bce and ce from logits: nothing overflows to inf or nan."""
    spec = NetworkSpec.parse("3-4-2", activation=activation, loss=loss, bias=True)
    module = generated(spec)
    W, b = random_network(spec.layers, seed=4, scale=1.0)
    W = [np.sign(w) * (1000 + 1000 * np.abs(w)) for w in W]  # every |net input| is far beyond 1000
    params = {"W": W, "b": b}
    X = np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, -0.5]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow, log(0) or nan (underflow is fine)
        losses = module.loss(params, X, Y)
        gradient = module.grad(params, X, Y)
        outputs = module.forward(params, X)
    assert np.all(np.isfinite(losses)) and np.all(np.isfinite(outputs))
    assert all(np.all(np.isfinite(g)) for key in ("W", "b") for g in gradient[key])


def test_bce_and_ce_from_logits_give_the_exact_large_loss():
    # sigmoid + bce, z = 2000, target 0: E = log(1 + e^z) - 0 = 2000 (a naive log(1 - sigmoid) is inf)
    bce = generated(NetworkSpec.parse("1-1", loss="bce"))
    assert bce.loss({"W": [[[2000.0]]]}, [1.0], [0.0]) == pytest.approx(2000.0, rel=1e-15)
    assert bce.grad({"W": [[[2000.0]]]}, [1.0], [0.0])["W"][0][0, 0] == pytest.approx(1.0)
    # softmax + ce: z = (1500, -1500), target (0, 1): E = 3000 + log(1 + e^-3000) = 3000
    ce = generated(NetworkSpec.parse("1-2", loss="ce"))
    assert ce.loss({"W": [[[1500.0, -1500.0]]]}, [1.0], [0.0, 1.0]) == pytest.approx(3000.0, rel=1e-15)


def test_matches_the_complex_step_derivative():
    for spec in [NetworkSpec.parse("2-3-3-2", activation="tanh,relu,softmax", loss="ce", bias=True),
                 NetworkSpec.parse("4-3-1", activation="softplus,sigmoid", loss="bce")]:
        assert check_generated(spec, points=3) < 1e-12


def test_generated_source_is_deterministic_readable_and_needs_only_numpy():
    spec = NetworkSpec.parse("2-4-3-2", activation="tanh,tanh,sigmoid", loss="bce", bias=True)
    source = generate_module(spec)
    assert source == generate_module(spec)  # no timestamps
    tree = ast.parse(source)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"numpy"}
    from symbackprop import __version__

    assert f"generated by symbackprop {__version__}" in source
    assert "symbackprop codegen 2-4-3-2 --activation tanh,tanh,sigmoid --loss bce --bias" in source
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert {"forward", "loss", "grad"} <= functions
    # vectorized per layer, with the derivation as comments
    assert "gW[0] = a0.T @ g_z" in source and "g_a = g_z @ W[2].T" in source
    assert "# δ_c = g'(net_c) ∘ ∂E_total/∂out_c, with tanh'(z) = 1 - a**2" in source  # letter notation, the default
    assert "np.maximum(z3, 0.0) - y * z3 + np.log1p(np.exp(-np.abs(z3)))" in source  # bce from logits
    assert source.count("@") == 3 + 3 + 2  # forward, g^[kW], g^[ka]: matrix products, not scalars


def test_shape_errors_name_the_expected_shapes():
    module = generated(NetworkSpec.parse("2-3-1", bias=True))
    W, b = random_network((2, 3, 1), seed=0)
    with pytest.raises(ValueError, match=r"params\['W'\] must hold arrays of shapes \[\(2, 3\), \(3, 1\)\]"):
        module.grad({"W": [W[0].T, W[1]], "b": b}, [0.0, 1.0], [1.0])
    with pytest.raises(ValueError, match=r"X must have shape \(2,\) or \(n, 2\)"):
        module.loss({"W": W, "b": b}, [0.0, 1.0, 2.0], [1.0])


def test_command_line_of_the_header():
    assert command_line(NetworkSpec.parse("2-2", activation="z/(1+abs(z))")) == "symbackprop codegen 2-2 --activation 'z/(1+abs(z))'"
    assert command_line(NetworkSpec.parse("2-3-2", activation="tanh", loss="ce")) == "symbackprop codegen 2-3-2 --activation tanh --loss ce"


def test_codegen_command_writes_an_importable_module(tmp_path):
    runner = CliRunner()
    target = tmp_path / "net.py"
    result = runner.invoke(codegen, ["2-3-2", "--activation", "tanh", "--loss", "ce", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert f"wrote {target}; checked against the complex-step derivative" in result.output
    module = load_module(target.read_text())
    assert module.LAYERS == (2, 3, 2) and module.LOSS == "ce"

    printed = runner.invoke(codegen, ["2-3-2", "--activation", "tanh", "--loss", "ce", "-o", "-", "--no-check"])
    assert printed.exit_code == 0 and printed.output == target.read_text()

    directory = runner.invoke(codegen, ["2-3-2", "-o", str(tmp_path)])
    assert directory.exit_code == 2
    assert "is a directory" in directory.output


def test_bce_loss_is_accurate_when_tiny(tmp_path):
    """log(1 + e^{-30}) = 9.3576e-14: computed without cancelling 30 against 30."""
    from symbackprop.numbers.codegen import generated

    module = generated(NetworkSpec.parse("2-1", loss="bce"))
    value = module.loss({"W": [np.array([[30.0], [0.0]])]}, np.array([1.0, 0.0]), np.array([1.0]))
    assert value == pytest.approx(np.log1p(np.exp(-30.0)), rel=1e-12)


def _mp_values(activation: str, z_values) -> tuple[np.ndarray, np.ndarray]:
    """g(z) and g'(z) at 60 digits (mpmath), rounded to float64, for the saturation tests."""
    import mpmath

    with mpmath.workdps(60):
        values, slopes = [], []
        for z in z_values:
            z = mpmath.mpf(z)
            if activation == "sigmoid":
                values.append(float(1 / (1 + mpmath.exp(-z))))
                slopes.append(float(mpmath.exp(-z) / (1 + mpmath.exp(-z)) ** 2))
            else:
                values.append(float(mpmath.tanh(z)))
                slopes.append(float(mpmath.sech(z) ** 2))
        return np.array(values), np.array(slopes)


SATURATED = np.array([-40.0, -35.0, -18.0, -1.0, -1e-9, 0.0, 1e-9, 2.5, 18.0, 35.0, 37.0, 40.0, 300.0])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_generated_derivatives_keep_precision_in_saturated_layers(activation):
    """a(1 - a) is 0 from z = 37 and 6 % off at z = 35; 1 - a² 4 % off at |z| = 18: the generated
    code takes g' from the net input instead (the sigmoid's from the forward pass's e^{-|z|}), right
    to ~1e-15 against mpmath at 60 digits, in the slope and in the gradient grad returns."""
    module = generated(NetworkSpec.parse("1-1", activation=activation))
    z = np.concatenate([SATURATED, [-700.0, 700.0] if activation == "sigmoid" else []])  # e^{-700}: still normal
    value, slope = _mp_values(activation, z)
    assert np.all(slope > 0)
    # one sample per net input z: x = 1, W = z, target 2, so ∂E/∂W = (a - 2) g'(z), never 0
    gradients = np.array([module.grad({"W": [[[w]]]}, [1.0], [2.0])["W"][0][0, 0] for w in z])
    expected = (value - 2.0) * slope
    assert np.max(np.abs(gradients - expected) / np.abs(expected)) < 1e-14
    outputs = module.forward({"W": [[[1.0]]]}, z[:, None])[:, 0]
    assert np.max(np.abs(outputs - value) / np.abs(np.where(value == 0, 1.0, value))) < 1e-15
    if activation == "tanh":
        assert np.max(np.abs(module.tanh_prime(z) - slope) / slope) < 1e-14


def test_the_sigmoid_and_its_derivative_share_one_exp_per_neuron():
    """The forward pass computes sigmoid'(z) from the e^{-|z|} of sigmoid(z) and hands it to the
    backward pass: one exp per sigmoid layer in grad, as in a hand-written backprop (bench_numbers.py)."""
    source = generate_module(NetworkSpec.parse("784-128-10", bias=True))
    assert source.count("np.exp(") == 2 and "sigmoid_prime" not in source and "def sigmoid(" not in source
    assert "(a0, a1, a2), (_, z1, z2), (_, da1_dz1, da2_dz2) = _forward(W, b, x)" in source
    assert "g_z = da1_dz1 * g_a" in source and "g_z = da2_dz2 * g_a" in source
    # sigmoid + bce: the output's slope cancels, so the forward pass computes only the hidden layer's
    bce = generate_module(NetworkSpec.parse("2-3-1", loss="bce"))
    assert "da1_dz1 = e1 * r1 * r1" in bce and "da2_dz2" not in bce
    assert "return (a0, a1, a2), (None, z1, z2), (None, da1_dz1, None)" in bce


def test_an_activation_outside_its_domain_cannot_pass_the_check(tmp_path):
    """sqrt(z) at negative net inputs: every gradient is nan, and nan beside nan is no agreement;
    the check says so (exit 2), and --no-check still writes the module."""
    target = tmp_path / "net.py"
    result = CliRunner().invoke(codegen, ["2-2-1", "--activation", "sqrt(z)", "-o", str(target)])
    assert result.exit_code == 2 and not target.exists()
    assert "is not a finite number at the random points of the check" in result.output
    assert "RuntimeWarning" not in result.output and "checked against" not in result.output
    unchecked = CliRunner().invoke(codegen, ["2-2-1", "--activation", "sqrt(z)", "--no-check", "-o", str(target)])
    assert unchecked.exit_code == 0 and target.exists()
    from symbackprop.proof.numeric import relative_error

    assert np.isnan(relative_error(np.array([1.0, np.nan]), np.array([1.0, np.nan])))


def test_a_newline_in_a_custom_activation_stays_inside_its_comment(tmp_path):
    target = tmp_path / "net.py"
    result = CliRunner().invoke(codegen, ["2-2-1", "--activation", "z/(1+abs(z))\n+0", "-o", str(target)])
    assert result.exit_code == 0, result.output
    source = target.read_text()
    ast.parse(source)  # it compiles
    assert "'z/(1+abs(z))\\n+0'" in source  # the registry name, as a Python literal
    assert all(not line.lstrip().startswith("+0") for line in source.splitlines())


def _comments(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if line.strip().startswith("#")]


def test_column_notation_comments_are_bp1_to_bp4_and_say_the_arrays_are_row_major():
    spec = NetworkSpec.parse("2-3-2", loss="bce", bias=True, notation="columns")
    source = generate_module(spec)
    comments = _comments(source)
    assert "symbackprop codegen 2-3-2 --loss bce --bias --notation columns" in source
    assert any(c.startswith("# layer 1: z^[1] = W^[1] a^[0] + b^[1] (as rows here: a0 @ W[0], W[0] = (W^[1])^T)")
               for c in comments)
    assert "# so δ^[2] = a - y (BP1) (divided by n: the gradient of the mean over the batch)" in comments
    assert any(c.startswith("# δ^[1] = ((W^[2])^T δ^[2]) ⊙ g'(z^[1]) (BP2), with sigmoid'(z) = a*(1 - a)") for c in comments)
    assert "# dW^[2] = δ^[2] (a^[1])^T (BP4); gW[1] holds its transpose a^[1] (δ^[2])^T (the params layout)," in comments
    assert any(c.endswith("# db^[1] = δ^[1] (BP3), summed over the samples") for c in source.splitlines())
    assert 'params["W"][k-1] is (W^[k])^T, the transpose of column notation\'s W^[k], with one row\nper neuron of layer k-1' \
        in source
    assert "BP2        δ^[l] = ((W^[l+1])^T δ^[l+1]) ⊙ g^[l]'(z^[l])" in source
    assert not any("g^[" in c for c in comments)  # no layer-notation names left
    # the code is the same in every notation: only comments and the docstring differ
    layers = generate_module(NetworkSpec.parse("2-3-2", loss="bce", bias=True, notation="layers"))
    code = lambda text: ast.unparse(ast.Module(ast.parse(text).body[1:], []))  # noqa: E731  (no docstring, no comments)
    assert code(source) == code(layers)


def test_layer_and_letter_notation_comments_use_their_own_names():
    layers = _comments(generate_module(NetworkSpec.parse("2-3-3-2", activation="tanh", bias=True, notation="layers")))
    assert "# g^[2z] = g'(z^[2]) ∘ g^[2a], with tanh'(z) = 1 - a**2 = 4 e^{-2|z|}/(1 + e^{-2|z|})^2" in layers
    assert "# layer 1: g^[1a] = g^[2z] (W^[2])^T" in layers and "# g^[3W] = (a^[2])^T g^[3z]: the matrix product sums over the samples" in layers
    assert "# output layer 3: g^[3a] = ∂L/∂a^[3] = a - y (sympy.diff of the loss term)," in layers
    letters = _comments(generate_module(NetworkSpec.parse("2-3-3-2", activation="tanh", bias=True)))
    assert "# layer 1: ∂E_total/∂out_b = δ_c (W^[2])^T" in letters
    assert "# ∂E_total/∂W^[3] = (out_c)^T δ_d: the matrix product sums over the samples" in letters
    assert "# output layer 3: ∂E_total/∂out_d = out - target (sympy.diff of the loss term)," in letters
    assert not any("g^[" in c or "BP" in c for c in letters)


def test_the_codegen_command_takes_the_notation(tmp_path):
    target = tmp_path / "net.py"
    result = CliRunner().invoke(codegen, ["2-3-2", "--notation", "columns", "--bias", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "# db^[2] = δ^[2] (BP3), summed over the samples" in target.read_text()
