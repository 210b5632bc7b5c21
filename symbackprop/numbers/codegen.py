"""Code generation: a readable, vectorized NumPy module for one network's backpropagation.

``generate_module(spec)`` writes a Python module that needs only NumPy, with

* ``forward(params, X)``: the output layer for one sample (shape (n0,)) or a batch (shape (n, n0));
* ``loss(params, X, Y)``: the loss per sample (a float for one sample, shape (n,) for a batch);
* ``grad(params, X, Y)``: the gradient of the batch mean, ``{"W": [...], "b": [...]}`` in the
  params-file layout (``"b"`` is None without biases).

The code works per layer with matrix products, seed 001's row-vector form of the derivation:
z^[k] = a^[k-1] W^[k] + b^[k]; g^[kz] = g'(z^[k]) ∘ g^[ka]; g^[kW] = (a^[k-1])^T g^[kz];
g^[k-1,a] = g^[kz] (W^[k])^T. Every formula in it comes from the registries (each activation's
formula and its derivative written in the output, each loss term and ``sympy.diff`` of it) and
is printed by SymPy's NumPy printer; a few numerically stable forms replace the naive ones
(``STABLE_FORWARD``, ``STABLE_DERIVATIVE``, the sigmoid of ``_sigmoid_lines`` and the two
loss-from-logits pairs in ``FROM_LOGITS``), so the loss and the gradient stay finite for net
inputs of any size. A sigmoid layer's forward pass computes sigmoid'(z) from the same e^{-|z|}
as sigmoid(z) and hands it to the backward pass: one exp per neuron and sample, as in a
hand-written backprop, yet right to the last digit where a(1 - a) has lost them all.

>>> from symbackprop.network.spec import NetworkSpec
>>> module = load_module(generate_module(NetworkSpec.parse("2-3-1")))
>>> params = {"W": [np.full((2, 3), 0.5), np.full((3, 1), -1.0)]}
>>> round(module.loss(params, [1.0, 0.0], [0.5]), 6)
0.067035
>>> module.grad(params, [1.0, 0.0], [0.5])["W"][1].shape
(3, 1)
"""

from __future__ import annotations

import re
import shlex
import types
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

import numpy as np
import sympy
from sympy.codegen.rewriting import expm1_opt, log1p_opt, optimize
from sympy.printing.numpy import NumPyPrinter

from ..network.activations import ACTIVATIONS, Activation, resolve_activation
from ..network.losses import LOSSES
from ..network.notation import layer_letter
from ..network.spec import NetworkSpec

# Stable NumPy forms of activations, used instead of printing the formula (the helper function
# softmax is written out in the generated module; see templates/gradient_module.py.j2). The
# sigmoid is written out line by line in the forward pass instead (``_sigmoid_lines``).
STABLE_FORWARD = {
    "sigmoid": None,  # 1/(1+e^{-z}) from e^{-|z|}: no overflow; see _sigmoid_lines
    "softplus": "np.logaddexp(0.0, {z})",  # log(1+e^z) without overflow
    "softmax": "softmax({z})",  # e^{z_j - max z} / Σ e^{z_k - max z}
}
# Derivatives from the net input where the registry's form in the output loses precision: once
# sigmoid(z) rounds to 1 (z > 37), a(1 - a) is 0 and a few units before that it has lost most
# digits; tanh's 1 - a² likewise (|z| > 19). These take exp only of -|z|: exact to rounding
# everywhere. The sigmoid's is computed by the forward pass with the sigmoid itself (the same
# e^{-|z|}), so that the backward pass needs no second exp: its entry names the variable the
# forward pass keeps for layer {k} (see _sigmoid_lines); tanh's is computed from the net input {z}.
STABLE_DERIVATIVE = {
    "sigmoid": ("da{k}_dz{k}", "e^{-|z|}/(1 + e^{-|z|})^2"),
    "tanh": ("tanh_prime({z})", "4 e^{-2|z|}/(1 + e^{-2|z|})^2"),
}
# (output activation, loss) pairs whose loss is computed from the net inputs (logits), where the
# product of the output factors cancels: sigmoid + bce and softmax + ce.
FROM_LOGITS = {("sigmoid", "bce"), ("softmax", "ce")}


class CodePrinter(NumPyPrinter):
    """SymPy's NumPy printer with short names (``exp(z)``, the imports collected in
    ``module_imports``) and readable forms of max, min and the step function.

    >>> z = sympy.Symbol("z")
    >>> printer = CodePrinter()
    >>> printer.doprint(sympy.Max(0, z)), printer.doprint(sympy.Heaviside(z, 0))
    ('maximum(0, z)', 'heaviside(z, 0.0)')
    >>> printer.doprint(1 - sympy.exp(-z))  # rewritten for accuracy near 0
    '-expm1(-z)'
    """

    def __init__(self, settings=None):
        super().__init__({"fully_qualified_modules": False, **(settings or {})})

    def doprint(self, expr, assign_to=None):
        return super().doprint(optimize(sympy.sympify(expr), [expm1_opt, log1p_opt]), assign_to)

    def _pairwise(self, name: str, expr) -> str:
        function = self._module_format(f"numpy.{name}")
        args = [self._print(a) for a in expr.args]
        text = args[0]
        for arg in args[1:]:
            text = f"{function}({text}, {arg})"
        return text

    def _print_Max(self, expr) -> str:
        return self._pairwise("maximum", expr)

    def _print_Min(self, expr) -> str:
        return self._pairwise("minimum", expr)

    def _print_Heaviside(self, expr) -> str:
        at_zero = expr.args[1] if len(expr.args) > 1 else sympy.S.Half
        return f"{self._module_format('numpy.heaviside')}({self._print(expr.args[0])}, {float(at_zero)!r})"


@dataclass
class _Code:
    """Prints the mathematics of one module, collecting the NumPy names it uses."""

    printer: CodePrinter = field(default_factory=CodePrinter)

    def math(self, expr: sympy.Expr, names: dict) -> str:
        """``expr`` printed as NumPy code, each symbol under its variable name in ``names``."""
        renamed = sympy.sympify(expr).xreplace({s: sympy.Symbol(n) for s, n in names.items()})
        return self.printer.doprint(renamed)

    def imports(self) -> list[str]:
        return sorted(name for name in self.printer.module_imports.get("numpy", ()))


_z, _a, _y = (sympy.Symbol(n, real=True) for n in "zay")


@dataclass(frozen=True)
class Words:
    """The names the generated code's comments use, in the notation of the spec (plain text):
    layer notation's g^[kz], letter notation's δ_c, column notation's δ^[l] with BP1-BP4. The
    code itself keeps symbackprop's row-major arrays in every notation.

    >>> [Words("neurons", 3).delta(2), Words("layers", 3).delta(2), Words("columns", 3).delta(2)]
    ['δ_c', 'g^[2z]', 'δ^[2]']
    """

    notation: str
    depth: int

    @property
    def columns(self) -> bool:
        return self.notation == "columns"

    def _letter(self, k: int) -> str:
        return layer_letter(k)

    @property
    def loss(self) -> str:
        return "E_total" if self.notation == "neurons" else "L"

    @property
    def out_target(self) -> tuple[str, str]:
        """The letters of an output and a target in the loss formulas."""
        return ("out", "target") if self.notation == "neurons" else ("a", "y")

    def a(self, k: int) -> str:
        return f"out_{self._letter(k)}" if self.notation == "neurons" else f"a^[{k}]"

    def z(self, k: int) -> str:
        return f"net_{self._letter(k)}" if self.notation == "neurons" else f"z^[{k}]"

    def b(self, k: int) -> str:
        return f"b_{self._letter(k)}" if self.notation == "neurons" else f"b^[{k}]"

    def delta(self, k: int) -> str:
        return {"neurons": f"δ_{self._letter(k)}", "layers": f"g^[{k}z]"}.get(self.notation, f"δ^[{k}]")

    def d_out(self, k: int) -> str:
        """∂loss/∂a of layer k, as the notation names it."""
        return {"neurons": f"∂E_total/∂out_{self._letter(k)}", "layers": f"g^[{k}a]"}.get(
            self.notation, f"∂L/∂a^[{k}]")

    def dW(self, k: int) -> str:
        return {"neurons": f"∂E_total/∂W^[{k}]", "layers": f"g^[{k}W]"}.get(self.notation, f"dW^[{k}]")

    def db(self, k: int) -> str:
        return {"neurons": f"∂E_total/∂{self.b(k)}", "layers": f"g^[{k}b]"}.get(self.notation, f"db^[{k}]")

    def forward(self, k: int, bias: bool) -> str:
        plus = f" + {self.b(k)}" if bias else ""
        if self.columns:
            return f"{self.z(k)} = W^[{k}] {self.a(k - 1)}{plus} (as rows here: a{k - 1} @ W[{k - 1}], W[{k - 1}] = (W^[{k}])^T)"
        return f"{self.z(k)} = {self.a(k - 1)} W^[{k}]{plus}"

    def delta_equation(self, k: int) -> str:
        """δ of layer k from ∂loss/∂a: BP1 at the output, BP2 below it, in column notation."""
        if not self.columns:
            return f"{self.delta(k)} = g'({self.z(k)}) ∘ {self.d_out(k)}"
        if k == self.depth:
            return f"{self.delta(k)} = ∇_a L ⊙ g'({self.z(k)}) (BP1)"
        return f"{self.delta(k)} = ((W^[{k + 1}])^T δ^[{k + 1}]) ⊙ g'({self.z(k)}) (BP2)"

    def back(self, k: int) -> str:
        """∂loss/∂a of layer k from the deltas of layer k + 1 (the code's g_a = g_z @ W[k].T)."""
        if self.columns:
            return (f"(W^[{k + 1}])^T δ^[{k + 1}], BP2's first factor; as rows: δ^T W^[{k + 1}] = g_z @ W[{k}].T, "
                    f"W[{k}] being (W^[{k + 1}])^T")
        return f"{self.d_out(k)} = {self.delta(k + 1)} (W^[{k + 1}])^T"

    def weight_gradient(self, k: int) -> str:
        if self.columns:
            return (f"dW^[{k}] = δ^[{k}] (a^[{k - 1}])^T (BP4); gW[{k - 1}] holds its transpose a^[{k - 1}] (δ^[{k}])^T "
                    f"(the params layout),\n# a{k - 1}.T @ g_z: the matrix product sums over the samples")
        return f"{self.dW(k)} = ({self.a(k - 1)})^T {self.delta(k)}: the matrix product sums over the samples"

    def bias_gradient(self, k: int) -> str:
        return f"{self.db(k)} = {self.delta(k)}" + (" (BP3)" if self.columns else "")


def one_line(text: str) -> str:
    """User text (a custom activation's formula) as it may stand in a comment or a docstring of
    the generated code: every run of whitespace, newlines included, one space.

    >>> one_line("z/(1 +\\n abs(z))")
    'z/(1 + abs(z))'
    """
    return " ".join(text.split())


def _text(expr: sympy.Expr) -> str:
    """A formula for a comment, e.g. ``a*(1 - a)``."""
    return sympy.sstr(expr)


def _derivative(activation: Activation) -> tuple[sympy.Expr, str]:
    """g' as printed by the derivation: in the output a where the registry has it, else in z."""
    if activation.in_output is not None:
        return activation.in_output(_a), "a"
    return activation.derivative(_z), "z"


def _slope(k: int) -> str:
    """The variable of ∂a/∂z of layer k, which a sigmoid layer's forward pass keeps for the backward pass."""
    return STABLE_DERIVATIVE["sigmoid"][0].format(k=k)


def _forward_lines(code: _Code, k: int, activation: Activation, bias: bool, words: Words,
                   slope: bool = False) -> list[str]:
    """Layer k's net input and output; with ``slope``, also a sigmoid layer's ∂a/∂z for the backward pass."""
    z, a = f"z{k}", f"a{k}"
    linear = f"a{k - 1} @ W[{k - 1}]" + (f" + b[{k - 1}]" if bias else "")
    shown = "e^{z_j}/Σ_i e^{z_i}" if activation.mixes else _text(activation.formula(_z))
    lines = [
        f"# layer {k}: {words.forward(k, bias)}, {words.a(k)} = g({words.z(k)}) with g(z) = {shown} "
        f"({one_line(activation.name)})",
        f"{z} = {linear}",
    ]
    if activation.name == "sigmoid":
        return lines + _sigmoid_lines(k, words, slope)
    form = STABLE_FORWARD.get(activation.name)
    value = form.format(z=z) if form else code.math(activation.formula(_z), {_z: z})
    return lines + [f"{a} = {value}"]


def _sigmoid_lines(k: int, words: Words, slope: bool) -> list[str]:
    """sigmoid(z) and, with ``slope``, sigmoid'(z) from one e^{-|z|} in (0, 1]: no overflow, no
    second exp in the backward pass, and every digit of sigmoid' where a has rounded to 1."""
    e, r, z, a = f"e{k}", f"r{k}", f"z{k}", f"a{k}"
    lines = [
        "# sigmoid from e^{-|z|}, in (0, 1], so that exp never overflows; r = 1/(1 + e^{-|z|}) = sigmoid(|z|)",
        f"{e} = np.exp(-np.abs({z}))",
        f"{r} = 1.0 / (1.0 + {e})",
        (f"# {words.a(k)} = r where z >= 0, e^{{-|z|}} r = e^z/(1 + e^z) where z < 0: max(e^{{-|z|}}, z >= 0) is the "
         "numerator, 1 or e^{-|z|}"),
        f"{a} = np.maximum({e}, {z} >= 0) * {r}",
    ]
    if slope:
        lines += [
            (f"# sigmoid'({words.z(k)}) = {words.a(k)} (1 - {words.a(k)}) = e^{{-|z|}} r^2, from the same exp, for the "
             "backward pass: every digit"),
            f"# kept where {words.a(k)} has rounded to 1 and 1 - {words.a(k)} is 0",
            f"{_slope(k)} = {e} * {r} * {r}",
        ]
    return lines


def _delta_lines(code: _Code, k: int, activation: Activation, words: Words) -> list[str]:
    """The deltas from ∂loss/∂a: the activation's derivative (hidden layers and outputs without a cancellation)."""
    a, z = f"a{k}", f"z{k}"
    delta, d_out = words.delta(k), words.d_out(k)
    if activation.mixes:  # softmax: δ = ∂loss/∂a J, J_ij = a_i (δ_ij - a_j)
        return [
            f"# {delta} = {d_out} J with the softmax Jacobian J_ij = a_i (δ_ij - a_j):",
            f"#   ({delta})_j = a_j (({d_out})_j - Σ_i ({d_out})_i a_i)",
            f"g_z = {a} * (g_a - np.sum(g_a * {a}, axis=1, keepdims=True))",
        ]
    if activation.name in STABLE_DERIVATIVE:
        form, shown = STABLE_DERIVATIVE[activation.name]
        derivative, _ = _derivative(activation)
        source = (f"# computed by the forward pass from e^{{-|z|}} ({form.format(k=k)}): every digit kept where the output "
                  "has rounded to 1" if activation.name == "sigmoid" else
                  "# from the net input, which keeps every digit where the output has rounded to ±1")
        return [f"# {words.delta_equation(k)}, with {activation.name}'(z) = {_text(derivative)} = {shown}",
                source,
                f"g_z = {form.format(z=z, k=k)} * g_a"]
    derivative, variable = _derivative(activation)
    name = {"a": a, "z": z}[variable]
    g = activation.name if activation.name in ACTIVATIONS else "g"
    comment = f"# {words.delta_equation(k)}, with {g}'(z) = {_text(derivative)}"
    if derivative == 1:
        return [comment + ": nothing to multiply", "g_z = g_a"]
    if variable == "a":
        comment += f" written in the output a = {g}(z)"
    value = code.math(derivative, {_a: name, _z: name})
    return [comment, f"g_z = ({value}) * g_a"]


def _output_lines(code: _Code, spec: NetworkSpec, activation: Activation, words: Words) -> tuple[list[str], list[str]]:
    """The loss per sample, and the output deltas of the batch mean (the backward pass's first step)."""
    L, loss = spec.depth, LOSSES[spec.loss]
    a, z = f"a{L}", f"z{L}"
    E, (o, t), delta = words.loss, words.out_target, words.delta(L)
    term = loss.term(_a, _y)
    if (activation.name, spec.loss) == ("sigmoid", "bce"):
        loss_lines = [
            f"# {E} = -Σ_j [{t}_j log {o}_j + (1 - {t}_j) log(1 - {o}_j)] with {o} = sigmoid(z); since log sigmoid(z) =",
            f"# z - log(1 + e^z) and log(1 - sigmoid(z)) = -log(1 + e^z), {E} = Σ_j [log(1 + e^{{z_j}}) - {t}_j z_j],",
            f"# written max(z, 0) - {t} z + log(1 + e^{{-|z|}}): no overflow, and no cancellation when {E} is tiny",
            f"return np.sum(np.maximum({z}, 0.0) - y * {z} + np.log1p(np.exp(-np.abs({z}))), axis=1)",
        ]
        backward = [
            f"# output layer {L}, sigmoid + bce: ∂{E}/∂{o} · ∂{o}/∂z = ({o} - {t})/({o} (1 - {o})) · {o} (1 - {o}) = {o} - {t},",
            f"# so {delta} = {o} - {t}" + (" (BP1)" if words.columns else "")
            + " (divided by n: the gradient of the mean over the batch)",
            f"g_z = ({a} - y) / n",
        ]
    elif (activation.name, spec.loss) == ("softmax", "ce"):
        loss_lines = [
            f"# {E} = -Σ_j {t}_j log {o}_j with {o} = softmax(z), from log {o} = log_softmax(z) (never log of 0)",
            f"return -np.sum(y * log_softmax({z}), axis=1)",
        ]
        backward = [
            f"# output layer {L}, softmax + ce: ({delta})_j = Σ_k ∂{E}/∂{o}_k ∂{o}_k/∂z_j = Σ_k (-{t}_k/{o}_k) {o}_k (δ_kj - {o}_j)",
            f"# = {o}_j Σ_k {t}_k - {t}_j (which is {o}_j - {t}_j when the targets sum to 1); divided by n for the mean",
            f"g_z = ({a} * np.sum(y, axis=1, keepdims=True) - y) / n",
        ]
    else:
        d_term = sympy.diff(term, _a)
        names = {_a: a, _y: "y"}
        loss_lines = [
            f"# {E} = {loss.formula_text}, i.e. Σ_j {_text(loss.term(sympy.Symbol(o + '_j'), sympy.Symbol(t + '_j')))}",
            f"return np.sum({code.math(term, names)}, axis=1)",
        ]
        backward = [
            f"# output layer {L}: {_d_out_named(words, L)} = {_text(d_term.subs({_a: sympy.Symbol(o), _y: sympy.Symbol(t)}))} "
            "(sympy.diff of the loss term),",
            "# divided by n: the gradient of the mean over the batch",
            f"g_a = ({code.math(d_term, names)}) / n",
        ] + _delta_lines(code, L, activation, words)
    return loss_lines, backward


def _d_out_named(words: Words, k: int) -> str:
    """∂loss/∂a of layer k, with what it is when the notation's name does not say (g^[2a] = ∂L/∂a^[2])."""
    name = words.d_out(k)
    return name if name.startswith("∂") else f"{name} = ∂{words.loss}/∂{words.a(k)}"


def _parameter_lines(k: int, bias: bool, shared: bool = False, words: Words = None) -> list[str]:
    words = words or Words("layers", k)
    lines = [f"# {line}" if not line.startswith("#") else line for line in words.weight_gradient(k).split("\n")]
    lines.append(f"gW[{k - 1}] = a{k - 1}.T @ g_z")
    if shared:
        lines += [f"gb[{k - 1}] = np.sum(g_z).reshape(1)  # the shared bias: {words.delta(k)} summed over the samples "
                  "and the layer's neurons"]
    elif bias:
        lines += [f"gb[{k - 1}] = np.sum(g_z, axis=0)  # {words.bias_gradient(k)}, summed over the samples"]
    return lines


def command_line(spec: NetworkSpec) -> str:
    """The ``symbackprop codegen`` command that generates this module.

    >>> command_line(NetworkSpec.parse("2-4-1", activation="tanh,sigmoid", loss="bce", bias=True))
    'symbackprop codegen 2-4-1 --activation tanh,sigmoid --loss bce --bias'
    """
    names = [one_line(name) for name in spec.activations]
    if spec.loss == "ce":
        names = names[:-1]
    unique = list(dict.fromkeys(names))
    activation = unique[0] if len(unique) == 1 else ",".join(names + (["softmax"] if spec.loss == "ce" else []))
    parts = ["symbackprop", "codegen", spec.text]
    if names and activation != "sigmoid":
        parts += ["--activation", activation]
    if spec.loss != "mse":
        parts += ["--loss", spec.loss]
    if spec.shared_bias:
        parts.append("--shared-bias")
    elif spec.bias:
        parts.append("--bias")
    if spec.notation != "neurons":  # the names of the comments
        parts += ["--notation", spec.notation]
    return " ".join(shlex.quote(p) for p in parts)


def module_context(spec: NetworkSpec) -> dict:
    """The data the template ``gradient_module.py.j2`` lays out: code lines and names."""
    from ..handout.render import describe_layers
    from ..version import __version__

    code, depth = _Code(), spec.depth
    words = Words(spec.notation, depth)
    w_shapes = [(spec.layers[k - 1], spec.layers[k]) for k in range(1, depth + 1)]
    activations = [resolve_activation(name) for name in spec.activations]
    # the sigmoid layers whose backward pass needs sigmoid'(z): all but an output whose loss cancels it
    slopes = [k for k in range(1, depth + 1) if activations[k - 1].name == "sigmoid"
              and not (k == depth and (activations[-1].name, spec.loss) in FROM_LOGITS)]
    forward = []
    for k in range(1, depth + 1):
        forward += _forward_lines(code, k, activations[k - 1], spec.bias, words, slope=k in slopes)
    loss_lines, backward = _output_lines(code, spec, activations[-1], words)
    backward += _parameter_lines(depth, spec.bias, spec.shared_bias, words)
    for k in range(depth - 1, 0, -1):
        backward += [f"# layer {k}: {words.back(k)}", f"g_a = g_z @ W[{k}].T"]
        backward += _delta_lines(code, k, activations[k - 1], words)
        backward += _parameter_lines(k, spec.bias, spec.shared_bias, words)
    helpers = {"tanh_prime": _calls("tanh_prime", backward),
               "softmax": _calls("softmax", forward),
               "log_softmax": _calls("log_softmax", loss_lines)}
    return {
        "version": __version__,
        "spec": spec.text,
        "command": command_line(spec),
        "description": describe_layers(spec.layers),
        "layers": list(spec.layers),
        "depth": depth,
        "activations": [one_line(name) for name in spec.activations],
        "loss": spec.loss,
        "loss_title": LOSSES[spec.loss].title,
        "bias": spec.bias,
        "shared_bias": spec.shared_bias,
        "notation": spec.notation,
        "loss_name": words.loss,
        "literals": {  # Python literals, written into the module as they are
            "layers": repr(tuple(spec.layers)),
            "activations": repr(tuple(spec.activations)),
            "loss": repr(spec.loss),
            "w_shapes": repr(w_shapes),
            "w_shapes_text": ", ".join(f"({rows}, {columns})" for rows, columns in w_shapes),
            "b_shapes": repr([(1 if spec.shared_bias else size,) for size in spec.layers[1:]]),
        },
        "outputs": ", ".join(f"a{k}" for k in range(depth + 1)),
        "nets": ", ".join(["None"] + [f"z{k}" for k in range(1, depth + 1)]),
        "net_names": ", ".join(["_"] + [f"z{k}" for k in range(1, depth + 1)]),
        "slopes": ", ".join(["None"] + [_slope(k) if k in slopes else "None" for k in range(1, depth + 1)]),
        "slope_names": ", ".join(["_"] + [_slope(k) if k in slopes else "_" for k in range(1, depth + 1)]),
        "forward": forward,
        "loss_lines": loss_lines,
        "backward": backward,
        "numpy_imports": code.imports(),
        "helpers": helpers,
        "stable": [f"{name}" for name in dict.fromkeys(spec.activations) if name in STABLE_FORWARD]
        + [f"{a.name} + {spec.loss} from logits" for a in activations[-1:] if (a.name, spec.loss) in FROM_LOGITS],
    }


def _calls(function: str, lines: list[str]) -> bool:
    """Whether the code of ``lines`` (not their comments) calls the helper ``function``.

    >>> _calls("softmax", ["# softmax(z) from e^{z - max z}", "a1 = log_softmax(z1)"])
    False
    """
    code = "\n".join(line.split("#", 1)[0] for line in lines)
    return re.search(rf"(?<![\w.]){function}\(", code) is not None


def generate_module(spec: NetworkSpec) -> str:
    """The source of the NumPy module for ``spec``: deterministic, no timestamps.

    >>> source = generate_module(NetworkSpec.parse("2-4-3-2"))
    >>> "def grad(params, X, Y):" in source and "gW[0] = a0.T @ g_z" in source
    True
    """
    from ..handout.render import environment

    return environment("md").get_template("gradient_module.py.j2").render(module_context(spec))


def load_module(source: str, name: str = "symbackprop_generated") -> types.ModuleType:
    """Execute generated source as a fresh module (not registered in ``sys.modules``)."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


@lru_cache(maxsize=32)
def generated(spec: NetworkSpec) -> types.ModuleType:
    """The generated module of ``spec``, compiled once per spec and process."""
    return load_module(generate_module(spec), "symbackprop_" + spec.text.replace("-", "_"))


def check_generated(spec: NetworkSpec, points: int = 2, seed: int = 0, tolerance: float = 1e-9) -> float:
    """Compare the generated ``grad`` and ``loss`` with the complex-step derivative and the loss of
    ``numeric.ForwardPass`` (independent of the generated code) at random points; return the
    largest relative error, or raise ``GeneratedCodeError`` above ``tolerance``.

    >>> check_generated(NetworkSpec.parse("2-3-2", activation="tanh", loss="ce")) < 1e-9
    True
    """
    from ..network.model import Model
    from ..proof.numeric import (
        ForwardPass,
        complex_step_gradient,
        random_points,
        relative_error,
        worst_error,
    )

    from ..proof.prove import OutsideDomainError

    model = Model(spec)
    module = generated(spec)
    values = random_points(model, points, seed)
    with np.errstate(all="ignore"):
        truth = complex_step_gradient(model, values)
    outside = [symbol for symbol, value in truth.items() if not np.all(np.isfinite(value))]
    if outside:  # nan compared with nan would look like agreement
        raise OutsideDomainError(
            f"the gradient of {outside[0]} is not a finite number at the random points of the check (the activation "
            "is outside its domain or overflows there)")
    forward = ForwardPass(model)
    errors = []
    for point in range(points):
        x, y, W, b = forward.matrices(values, point)
        params = {"W": W[1:], "b": [v[:1] if spec.shared_bias else v for v in b[1:]] if spec.bias else None}
        with np.errstate(all="ignore"):
            gradient = module.grad(params, x, y)
        for k in range(1, spec.depth + 1):
            expected = np.array([[truth[symbol][point] for symbol in row] for row in model.weights[k]])
            errors.append(relative_error(gradient["W"][k - 1], expected))
            if spec.bias:
                expected = np.array([truth[symbol][point] for symbol in model.layer_biases(k)])
                errors.append(relative_error(gradient["b"][k - 1], expected))
        with np.errstate(all="ignore"):
            expected = forward.from_layer(np.atleast_2d(x @ W[1] + b[1]), 1, y, W, b)[0]
            errors.append(relative_error(module.loss(params, x, y), expected))
    worst = worst_error(errors)
    if not worst <= tolerance:
        raise GeneratedCodeError(
            f"the generated code for {spec.text} differs from the complex-step derivative by {worst:.2e} (relative)"
        )
    return worst


class GeneratedCodeError(RuntimeError):
    """Generated code disagrees with an independent computation: a bug in symbackprop."""


def write_module(spec: NetworkSpec, path, check: bool = True) -> Optional[float]:
    """Generate the module for ``spec``, check it (``check_generated``) and write it atomically to ``path``.

    Returns the largest relative error of the check (None when not checked).
    """
    from ..handout.files import write_atomic

    error = check_generated(spec) if check else None
    write_atomic(path, generate_module(spec))
    return error


__all__ = [
    "generate_module",
    "load_module",
    "generated",
    "check_generated",
    "write_module",
    "command_line",
    "CodePrinter",
    "GeneratedCodeError",
]
