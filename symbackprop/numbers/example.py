"""A worked example with numbers: one sample, the forward pass, every gradient, one step of descent.

``worked_example(spec, params)`` takes a params dict in the params-file layout (DESIGN §2:
``{"x": [...], "y": [...], "W": [W1, ...], "b": [b1, ...]}``, checked by ``check_params``) or
seeded random parameters, and computes

* the forward pass (every net input and output), each output's error term and E_total;
* every gradient from the chain rule (δ_j · out_i), cross-checked against the generated NumPy
  code (``codegen``) at the same numbers (every delta form, and every path product shown);
* the parameters after one gradient-descent step W - α ∂E/∂W (biases too, unless frozen) and
  E_total after the step.

``render_example`` lays it out as Markdown or LaTeX: first the network drawn and every starting
value (inputs, targets, each layer's weights in the order they are numbered, then its biases), then
the forward-pass arithmetic written out for the first neuron of each layer and the error's
arithmetic, to ``WORKED`` significant digits (net_{b_1} = 0.15 · 0.05 + 0.2 · 0.1 + 0.35 · 1 =
0.3775, out_{b_1} = 1/(1 + e^{-0.3775}) = 0.593269992), then tables and the gradients to 4
significant digits (each shown weight as the product of its chain-rule factors, e.g.
∂E/∂w_{31} = 0.7414 · 0.1868 · 0.5933 = 0.0822);
``example_json`` gives every number in full float64 precision. The numbers are computed at
``DIGITS`` significant digits and rounded to float64 once, so each is the float nearest the true
value: the same bits on every machine (NumPy's vectorized exp differs in the last bit between
CPUs, and so would a gallery built from it).

>>> ex = worked_example("2-2-1", {"x": [1.0, 0.0], "y": [1.0], "W": [[[0.5, -0.5], [0.1, 0.2]], [[1.0], [2.0]]]})
>>> round(ex.loss, 6), round(ex.loss_after, 6)
(0.020282, 0.019862)
>>> [round(g, 6) for row in example_json(ex)["grad"]["W"][1] for g in row]
[-0.020164, -0.01223]
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Union

import mpmath
import numpy as np
import sympy
from sympy.printing.precedence import PRECEDENCE

from ..network.model import Neuron
from ..network.spec import NetworkSpec, SpecError

# Handouts list every parameter up to this many; larger networks show the first few of each
# layer (and say so); example.json always has all of them.
LIST_LIMIT = 64
PER_LAYER_SHOWN = 6
NEURONS_SHOWN = 8
SIGNIFICANT = 4  # digits in the handouts
WORKED = 9  # digits of the starting values and of the arithmetic written out, enough to follow on a calculator
_ADVICE = "choose other parameters (--params, --seed) or another activation"  # what to do about numbers outside float64
TERMS_WRITTEN = 6  # a written-out net input of more terms shows the first three, "⋯" and the last
MIXED_WRITTEN = 4  # a softmax (or a loss) over more neurons is not written out with numbers
ROWS_PER_COLUMN = 16  # starting values per column of the LaTeX handout's tables (a column never breaks across pages)
LINE_WIDTH = 60  # characters of a written-out sum per line, roughly (as ``_visible`` counts them), before "= value"
GIVEN_WIDTH = 75  # characters of a line of given values (x_1 = 0.05, x_2 = 0.1, ...)
PATHS_WRITTEN = 2  # a parameter reached along more paths is written δ · out: its delta sums the paths
CROSS_CHECK_TOLERANCE = 1e-9  # relative, generated code vs the symbolic chain rule
WIDE_SUM = 32  # terms; a wider weighted sum is added up by mpmath directly (a 784-input layer)
DIGITS = 30  # significant digits of the example's arithmetic, before the one rounding to float64


class ParamsError(SpecError):
    """A params file that does not fit the network: one line naming the key and the expected shape."""


class NumbersError(SpecError):
    """The example's numbers leave the real numbers at some neuron (log of a negative net input,
    an overflow): an input problem, named with the neuron where it first appears."""


class ExampleError(RuntimeError):
    """The generated code and the symbolic chain rule disagree on the example: a bug in symbackprop."""


# -- the params file ------------------------------------------------------------------------
def _numbers(value, count: int, what: str) -> np.ndarray:
    """A list of ``count`` finite numbers, or ParamsError saying what ``what`` must be."""
    expected = f"{what} must be a list of {count} number{'s' if count != 1 else ''}"
    if not isinstance(value, list):
        raise ParamsError(f"params file: {expected} (got {_kind(value)})")
    if len(value) != count:
        raise ParamsError(f"params file: {expected} (got {len(value)})")
    for n, entry in enumerate(value):
        if isinstance(entry, bool) or not isinstance(entry, (int, float)):
            raise ParamsError(f"params file: {expected} (entry {n + 1} is {_kind(entry)})")
        if not math.isfinite(entry):
            raise ParamsError(f"params file: {expected} (entry {n + 1} is {entry}, not a finite number)")
    return np.array(value, dtype=float)


def _kind(value) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if value is None:
        return "null"
    return {str: "a string", bool: "true/false", dict: "an object"}.get(type(value), repr(value))


def _matrix(value, rows: int, columns: int, key: str, layer: int) -> np.ndarray:
    expected = f"key '{key}' layer {layer} must be {rows} row{'s' if rows != 1 else ''} of {columns} number{'s' if columns != 1 else ''}"
    if not isinstance(value, list):
        raise ParamsError(f"params file: {expected} (got {_kind(value)})")
    if len(value) != rows:
        raise ParamsError(f"params file: {expected} (got {len(value)} row{'s' if len(value) != 1 else ''})")
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != columns:
            got = f"{len(row)} numbers" if isinstance(row, list) else _kind(row)
            raise ParamsError(f"params file: {expected} (row {i + 1} is {got})")
        _numbers(row, columns, f"key '{key}' layer {layer} row {i + 1}")
    return np.array(value, dtype=float)


def check_params(spec: NetworkSpec, data) -> dict:
    """The params dict as float arrays after checking every key against the network.

    >>> check_params(NetworkSpec.parse("2-1"), {"x": [1, 2], "y": [0.5], "W": [[[1], [2]]]})["W"][0].shape
    (2, 1)
    >>> check_params(NetworkSpec.parse("2-3-2"), {"x": [1, 2], "y": [0, 1], "W": [[[1, 2, 3], [4, 5, 6]], [[1, 2], [3, 4]]]})
    Traceback (most recent call last):
    ...
    symbackprop.numbers.example.ParamsError: params file: key 'W' layer 2 must be 3 rows of 2 numbers (got 2 rows)
    """
    layers, depth = spec.layers, spec.depth
    keys = ("x", "y", "W") + (("b",) if spec.bias else ())
    if not isinstance(data, dict):
        raise ParamsError(f"params file: expected a JSON object with the keys {', '.join(keys)} (got {_kind(data)})")
    for key in data:
        if key not in ("x", "y", "W", "b"):
            raise ParamsError(f"params file: unknown key {key!r} (the keys are {', '.join(keys)})")
    for key in keys:
        if key not in data:
            raise ParamsError(f"params file: missing key {key!r} ({_expected(spec, key)})")
    if not spec.bias and data.get("b") is not None:
        raise ParamsError("params file: key 'b' is given but the network has no biases (use --bias, or remove 'b')")
    params = {"x": _numbers(data["x"], layers[0], "key 'x'"), "y": _numbers(data["y"], layers[-1], "key 'y'")}
    if spec.loss in ("bce", "ce") and np.any((params["y"] < 0) | (params["y"] > 1)):
        raise ParamsError(f"params file: key 'y' must hold probabilities between 0 and 1 for --loss {spec.loss} "
                          f"(got {[float(v) for v in params['y']]})")
    for key in ("W",) + (("b",) if spec.bias else ()):
        if not isinstance(data[key], list) or len(data[key]) != depth:
            got = f"{len(data[key])}" if isinstance(data[key], list) else _kind(data[key])
            raise ParamsError(f"params file: key {key!r} must be a list of {depth} (one per computed layer; got {got})")
    if spec.notation == "columns":  # W^[l] as the handout writes it, n_l × n_(l-1); kept here source-major
        params["W"] = [_matrix(data["W"][k - 1], layers[k], layers[k - 1], "W", k).T for k in range(1, depth + 1)]
    else:
        params["W"] = [_matrix(data["W"][k - 1], layers[k - 1], layers[k], "W", k) for k in range(1, depth + 1)]
    if spec.shared_bias:  # one number per layer: [0.35, 0.6] or [[0.35], [0.6]]
        data = {**data, "b": [[v] if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in data["b"]]}
    sizes = [1 if spec.shared_bias else layers[k] for k in range(1, depth + 1)]
    params["b"] = [_numbers(data["b"][k - 1], sizes[k - 1], f"key 'b' layer {k}") for k in range(1, depth + 1)] if spec.bias else None
    return params


def _expected(spec: NetworkSpec, key: str) -> str:
    layers = spec.layers
    return {
        "x": f"the input, a list of {layers[0]} numbers",
        "y": f"the target, a list of {layers[-1]} numbers",
        "W": ("a list of the weight matrices W^[l] with n_l rows of n_(l-1) numbers (column notation: row j holds "
              "the weights into neuron j): " + ", ".join(f"{layers[k]}x{layers[k - 1]}" for k in range(1, len(layers))))
        if spec.notation == "columns" else
        ("a list of the weight matrices W^[k] with n_(k-1) rows of n_k numbers: "
         + ", ".join(f"{layers[k - 1]}x{layers[k]}" for k in range(1, len(layers)))),
        "b": ("a list of the shared biases, one number per computed layer" if spec.shared_bias else
              "a list of the bias vectors b^[k]: " + ", ".join(f"{n} numbers" for n in layers[1:])),
    }[key]


# A params file holds one number per weight: 16 MiB is over a million of them, more than any
# worked example shows. A larger file (or an endless one) is refused before it is read.
MAX_PARAMS_BYTES = 16 * 2**20


def load_params(path: Union[str, Path], spec: NetworkSpec) -> dict:
    """Read and check a params file; ``ParamsError`` (one line) for anything wrong with it.

    Only a regular file of at most ``MAX_PARAMS_BYTES`` is read (a symlink to one is followed):
    a FIFO or a device is refused at once, never waited on or read without end.

    >>> load_params("/dev/zero", NetworkSpec.parse("2-1"))
    Traceback (most recent call last):
    ...
    symbackprop.numbers.example.ParamsError: params file '/dev/zero': it is a character device, not a regular file
    """
    import os
    import stat

    from ..handout.files import file_kind

    where = f"params file {str(path)!r}"
    too_large = f"{where}: larger than {MAX_PARAMS_BYTES // 2**20} MiB, the limit for params files"

    def not_regular(mode: int) -> ParamsError:
        return ParamsError(f"{where}: it is {file_kind(mode)}, not a regular file")

    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):  # checked before opening: opening a FIFO would wait for a writer
            raise not_regular(mode)
        # O_NONBLOCK: should a FIFO be swapped in after the check, opening it does not wait either
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(handle, "rb") as stream:
            status = os.fstat(stream.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise not_regular(status.st_mode)
            if status.st_size > MAX_PARAMS_BYTES:
                raise ParamsError(too_large)
            raw = stream.read(MAX_PARAMS_BYTES + 1)  # a file growing while we read stops at the cap too
    except OSError as error:
        raise ParamsError(f"{where}: cannot read it ({error.strerror or error})") from None
    if len(raw) > MAX_PARAMS_BYTES:
        raise ParamsError(too_large)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParamsError(f"{where}: not UTF-8 text") from None

    def integer(digits: str) -> int:  # refused where no float64 holds it (and past 4,300 digits int() refuses)
        if math.isinf(float(digits)):
            raise ParamsError(f"{where}: an integer of {len(digits.lstrip('-'))} digits is too large for a "
                              f"float64 (the largest is about 1.8e308)")
        return int(digits)

    try:
        data = json.loads(text, parse_int=integer)
    except json.JSONDecodeError as error:
        raise ParamsError(f"{where}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None
    except RecursionError:
        raise ParamsError(f"{where}: brackets nested too deeply (the weights need 3 levels)") from None
    return check_params(spec, data)


def random_params(model, seed: int = 0) -> dict:
    """Seeded random parameters, input and target (``numeric.random_points`` at one point; with
    cross-entropy, targets that sum to 1)."""
    from ..proof.numeric import as_distribution, random_points
    from .lambdified import params_from_values

    params = params_from_values(model, as_distribution(model, random_points(model, 1, seed)), 0)
    return check_params(model.spec, {**params, "W": file_layout(model.spec, params["W"])})


# -- the example -----------------------------------------------------------------------------
@dataclass
class Example:
    """Every number of one worked example (float64); ``values`` maps each symbol of the model
    (inputs, targets, weights, biases, net inputs, outputs, deltas) to its value."""

    spec: NetworkSpec
    model: object
    chain: object
    params: dict
    lr: float
    freeze_bias: bool
    seeded: Optional[int]  # the seed of random parameters, or None for a params file
    values: dict
    errors: list  # each output neuron's term of E_total
    loss: float
    gradient: dict  # δ_j · out_i from the exact values, params layout
    updated: dict
    loss_after: float
    cross_check: float  # largest relative difference, generated code vs symbolic chain rule
    checked: int = 0  # how many numbers were cross-checked
    shown: list = field(default_factory=list)  # the gradients (chainrule.Gradient) written out


def _evaluate_all(model, chain, params, deltas: bool = True, after_step: bool = False) -> dict:
    """Every symbol's value at the example's numbers, as a SymPy Float of ``DIGITS`` digits: the
    forward definitions, then (with ``deltas``) the delta recursion, and E_total.

    >>> from symbackprop.network.model import Model
    >>> from symbackprop.derivation.chainrule import ChainRule
    >>> model = Model(NetworkSpec.parse("1-1"))
    >>> params = {"x": [0.0], "y": [1.0], "W": [[[1.0]]]}
    >>> str(_evaluate_all(model, ChainRule(model), params)[model.out[1][0]])
    '0.500000000000000000000000000000'
    """
    from .lambdified import values_from_params

    values = {s: sympy.Float(float(v), DIGITS) for s, v in values_from_params(model, params).items()}
    numbers = "after the descent step, the example's numbers" if after_step else "the example's numbers"
    advice = "choose other parameters (--params, --seed), a smaller --lr or another activation" if after_step else _ADVICE

    def settle(symbol, expr):
        terms = [term.args if term.is_Mul else (term,) for term in expr.args] if expr.is_Add else []
        if len(terms) > WIDE_SUM and all(f.is_Symbol for factors in terms for f in factors):
            # a wide layer's net input Σ w·out (+ b): summed by mpmath, without a SymPy object per term
            with mpmath.workdps(DIGITS):
                value = sympy.Float(mpmath.fsum(mpmath.fprod(mpmath.mpf(values[f]._mpf_) for f in factors)
                                                for factors in terms), DIGITS)
        else:
            try:
                value = _substitute(expr, values).evalf(DIGITS)
            except _OutOfRange as error:  # out = 1/(1 + exp(-exp(exp(net)))) may be 1, but not in float64
                raise NumbersError(f"{numbers} leave float64: {symbol}'s formula {error}, beyond the float64 range; "
                                   f"{advice}") from None
            except (OverflowError, MemoryError):  # mpmath's own limits, should _substitute not see it coming
                raise NumbersError(f"{numbers} are not finite real numbers: {symbol} is beyond the float64 range "
                                   f"(it overflows); {advice}") from None
        if not (value.is_number and value.is_real and value.is_finite and math.isfinite(float(value))):
            raise NumbersError(f"{numbers} are not finite real numbers: {symbol} is {_shown(value)}; {advice}")
        _refuse_underflow(value, symbol, numbers, advice)
        values[symbol] = value

    for symbol, definition in model.definitions.items():
        settle(symbol, definition)
    if deltas:
        for delta in chain.deltas:
            settle(delta.symbol, delta.definition)
    settle(model.loss_symbol, model.loss)
    return values


class _OutOfRange(ArithmeticError):
    """A function's argument beyond the float64 range met while substituting (``_substitute``)."""


_LARGEST = np.finfo(float).max


def _substitute(expr: sympy.Expr, values: Mapping) -> sympy.Expr:
    """``expr.xreplace(values)``, node for node (so the same numbers, bit for bit), but refusing
    with ``_OutOfRange`` a function's argument beyond the float64 range, or a power whose
    logarithm is: mpmath would work for minutes on exp(1e3000), or need more memory than there is
    or raise OverflowError for exp(exp(1e20)), while the value is beyond float64 anyway.

    >>> z = sympy.Symbol("z")
    >>> _substitute(sympy.exp(sympy.exp(z)), {z: sympy.Float(10, 30)}).evalf(5)
    9.3875e+9565
    >>> _substitute(sympy.exp(sympy.exp(sympy.exp(z))), {z: sympy.Float(10, 30)})
    Traceback (most recent call last):
    ...
    symbackprop.numbers.example._OutOfRange: takes exp of 9.39e+9565
    """
    if expr in values:
        return values[expr]
    if not expr.args:
        return expr
    args = tuple(_substitute(a, values) if isinstance(a, sympy.Basic) else a for a in expr.args)
    if all(a is b for a, b in zip(args, expr.args)):
        return expr
    if isinstance(expr, sympy.Function):
        for arg in args:
            if isinstance(arg, sympy.Number) and arg.is_finite and abs(arg) > _LARGEST:
                raise _OutOfRange(f"takes {expr.func.__name__} of {_about(arg)}")
    elif isinstance(expr, sympy.Pow):
        base, exponent = args
        if isinstance(base, sympy.Number) and isinstance(exponent, sympy.Number) and not exponent.is_Integer \
                and base.is_finite and exponent.is_finite and not base.is_zero:
            with mpmath.workdps(15):
                size = abs(mpmath.mpf(sympy.Float(exponent, 15)._mpf_) * mpmath.log(abs(mpmath.mpf(sympy.Float(base, 15)._mpf_))))
            if size > _LARGEST:
                raise _OutOfRange(f"raises {_about(base)} to the power {_about(exponent)}")
    return expr.func(*args)


def _about(number: sympy.Number) -> str:
    """A number of any size to 3 significant digits (SymPy's own format fails past 1e999999999),
    or past 10^(10^6) just its power of ten.

    >>> _about(sympy.exp(sympy.Float(1000, 30))), _about(-sympy.exp(sympy.Float(1e20, 30)))
    ('1.97e+434', '-10^(4.34e+19)')
    """
    value = mpmath.mpf(sympy.Float(number)._mpf_)
    if not value:
        return "0"
    with mpmath.workdps(15):
        power = mpmath.log10(abs(value))
    if abs(power) > 1e6:
        return ("-" if value < 0 else "") + f"10^({mpmath.nstr(power, 3)})"
    with mpmath.workdps(10 + len(str(int(abs(power))))):  # the digits of the power of ten, and 10 more
        return mpmath.nstr(value, 3)


_TINY = np.finfo(float).tiny  # the smallest normal float64, about 2.2e-308


def _refuse_underflow(value: sympy.Expr, what, numbers: str, advice: str) -> None:
    """``NumbersError`` for a nonzero value below the normal float64 range: it would be written
    and cross-checked as 0 or as a subnormal number of a few digits, numbers that say nothing.
    An exact 0 (relu of a negative net input) is a number like any other.

    >>> _refuse_underflow(sympy.Float("1e-360", 30), "out_b_1", "the example's numbers", "choose others")
    Traceback (most recent call last):
    ...
    symbackprop.numbers.example.NumbersError: the example's numbers underflow float64: out_b_1 is about 1.0e-360, below 2.2e-308, the smallest normal float64 (it would be written and cross-checked as 0); choose others
    """
    if not value.is_zero and abs(value) < _TINY:
        raise NumbersError(f"{numbers} underflow float64: {what} is about {_about(value)}, below {_TINY:.1e}, the "
                           f"smallest normal float64 (it would be written and cross-checked as 0); {advice}")


def _shown(value: sympy.Expr) -> str:
    """What is wrong with a value that is not a finite real float, in words.

    >>> _shown(sympy.I * 2), _shown(sympy.exp(1000).evalf())
    ('complex (0+2i): the activation or the loss is undefined there', 'beyond the float64 range (it overflows)')
    """
    if value.is_number and value.is_real and value.is_finite:
        return "beyond the float64 range (it overflows)"
    if value.is_number and value.is_finite:
        return f"complex ({complex(value):.4g})".replace("j)", "i)") + ": the activation or the loss is undefined there"
    return "not a number: the activation or the loss is undefined there"


def _chain_rule_gradient(model, chain, exact: Mapping, bias: bool) -> dict:
    """∂E/∂W^[k] = out^[k-1]ᵀ δ^[k] and ∂E/∂b^[k] = δ^[k] from the exact values, in the params layout;
    ``NumbersError`` for a product of two finite floats that is beyond the float64 range."""
    W, b = [], []
    for k in range(1, model.spec.depth + 1):
        deltas = [exact[chain.delta(n).symbol] for n in model.neurons(k)]
        outs = [exact[s] for s in model.out[k - 1]]
        products = [[out * delta for delta in deltas] for out in outs]
        for i, row in enumerate(products):
            for j, product in enumerate(row):
                _refuse_underflow(product, f"∂E/∂{model.weights[k][i][j]}", "the example's numbers", _ADVICE)
        W.append(np.array([[float(product) for product in row] for row in products]))
        b.append(np.array([float(sum(deltas))]) if model.spec.shared_bias else np.array([float(delta) for delta in deltas]))
        for (i, j) in zip(*np.nonzero(~np.isfinite(W[-1]))):
            raise NumbersError(f"the example's numbers are not finite real numbers: ∂E/∂{model.weights[k][i][j]} "
                               f"= {model.out[k - 1][i]} · {chain.delta(model.neurons(k)[j]).symbol} is beyond the "
                               f"float64 range (it overflows); {_ADVICE}")
    return {"W": W, "b": b if bias else None}


def _relative(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.max(np.where(scale > 0, np.abs(a - b) / np.where(scale > 0, scale, 1.0), 0.0), initial=0.0))


def _shown_parameters(chain) -> list:
    """The parameters a handout writes out: all of them up to ``LIST_LIMIT``, else the first
    ``PER_LAYER_SHOWN`` of each layer."""
    parameters = chain.parameters
    if len(parameters) <= LIST_LIMIT:
        return list(parameters)
    shown = []
    for layer in sorted({p.layer for p in parameters}, reverse=True):
        shown += [p for p in parameters if p.layer == layer][:PER_LAYER_SHOWN]
    return shown


def worked_example(
    network: Union[str, NetworkSpec, object],
    params: Optional[Mapping] = None,
    lr: float = 0.5,
    freeze_bias: bool = False,
    seed: int = 0,
    **options,
) -> Example:
    """The worked example for ``network`` (a spec text with ``activation``/``loss``/``bias``
    keywords, a ``NetworkSpec`` or a ``Derivation``) at ``params`` (a params dict; default: seeded
    random parameters). Raises ``ParamsError`` for params that do not fit the network and
    ``ExampleError`` if the generated code and the symbolic chain rule disagree."""
    from ..derivation.chainrule import ChainRule
    from ..network.model import Model
    from .codegen import generated

    if not (isinstance(lr, (int, float)) and math.isfinite(lr)):
        raise SpecError(f"the learning rate must be a finite number (got {lr!r})")
    if isinstance(network, (str, NetworkSpec)):
        spec = network if isinstance(network, NetworkSpec) else NetworkSpec.parse(network, **options)
        model = Model(spec)
        chain = ChainRule(model)
    else:  # a Derivation: its model and chain rule are reused
        spec, model, chain = network.spec, network.model, network.chain
    seeded = None
    if params is None:
        params, seeded = random_params(model, seed), seed
    else:
        params = check_params(spec, {k: _as_lists(v) for k, v in params.items()})

    exact = _evaluate_all(model, chain, params)
    values = {symbol: float(value) for symbol, value in exact.items()}
    gradient = _chain_rule_gradient(model, chain, exact, spec.bias)
    loss = values[model.loss_symbol]
    module = generated(spec)
    with np.errstate(all="ignore"):  # float64 trouble is said in one line below, not as warnings
        generated_gradient = module.grad(params, params["x"], params["y"])
        generated_loss = module.loss(params, params["x"], params["y"])
        generated_out = module.forward(params, params["x"])
    _check_generated(generated_gradient, generated_loss, generated_out)

    # cross-check: generated code against the symbolic chain rule at the same numbers
    worst, checked = _relative(generated_loss, loss), 1
    worst = max(worst, _relative(generated_out, [values[s] for s in model.out[-1]]))
    for k in range(1, spec.depth + 1):
        deltas = np.array([values[chain.delta(n).symbol] for n in model.neurons(k)])
        outs = np.array([values[s] for s in model.out[k - 1]])
        worst = max(worst, _relative(generated_gradient["W"][k - 1], np.outer(outs, deltas)))  # δ_j · out_i
        if spec.bias:  # a shared bias: the sum of the layer's deltas
            worst = max(worst, _relative(generated_gradient["b"][k - 1], [deltas.sum()] if spec.shared_bias else deltas))
        checked += deltas.size * outs.size + len(model.layer_biases(k))
    shown = []
    for parameter in _shown_parameters(chain):
        with_paths = chain.count_paths(parameter) <= PATHS_WRITTEN and spec.n_parameters <= LIST_LIMIT
        g = chain.gradient(parameter, with_paths)
        shown.append(g)
        _check_factors(g.paths, g.input_factor, values)
        if g.paths is not None:
            path_sum = sum(math.prod(_value(f.value, values) for f in path.factors) for path in g.paths)
            worst = max(worst, _relative(path_sum, _parameter_value(generated_gradient, parameter, model)))
            checked += 1
    if not worst <= CROSS_CHECK_TOLERANCE:
        raise ExampleError(f"the generated code and the symbolic chain rule differ by {worst:.2e} (relative) on this example")

    for k in range(1, spec.depth + 1):  # the factors the handout writes out for the first neurons' deltas
        for neuron in model.neurons(k)[:NEURONS_SHOWN]:
            for term in chain.delta(neuron).terms:
                _check_factors([[f for f, _ in term.upstream] + [term.activation]], None, values)

    with np.errstate(over="ignore", invalid="ignore"):
        updated = {
            "W": [W - lr * g for W, g in zip(params["W"], gradient["W"])],
            "b": None if not spec.bias else [b if freeze_bias else b - lr * g for b, g in zip(params["b"], gradient["b"])],
        }
    _check_step(model, updated, lr)
    errors = [_error_term(model.loss_function.term(out, t), values, exact, out) for out, t in zip(model.out[-1], model.targets)]
    return Example(spec, model, chain, params, float(lr), bool(freeze_bias), seeded, values, errors, float(loss),
                   gradient, updated, _loss_at(model, chain, {**params, **updated}), worst, checked, shown)


def _loss_at(model, chain, params) -> float:
    """E_total at ``params`` (after the descent step), by the same exact arithmetic."""
    return float(_evaluate_all(model, chain, params, deltas=False, after_step=True)[model.loss_symbol])


def _as_lists(value):
    return value.tolist() if isinstance(value, np.ndarray) else [_as_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


def _value(expr, values: Mapping, what=None) -> float:
    """A small SymPy expression (a local factor) at the example's numbers; with ``what`` (its name),
    ``NumbersError`` when that is not a finite float (∂E/∂out = 1/out at an output that rounds to 0)."""
    expr = sympy.sympify(expr)
    try:
        value = _substitute(expr, {s: sympy.Float(values[s]) for s in expr.free_symbols}).evalf(17)
        number = float(value) if value.is_number and value.is_real else math.inf if value.is_infinite else math.nan
    except (_OutOfRange, OverflowError, MemoryError, TypeError):
        number = math.inf
    if what is not None and not math.isfinite(number):
        raise NumbersError(f"the example's numbers are not finite real numbers in float64: {what} is "
                           f"{'beyond the float64 range (it overflows)' if math.isinf(number) else 'not a number'} at "
                           f"the example's rounded values; {_ADVICE}")
    return number


def _check_factors(paths, input_factor, values: Mapping) -> None:
    """Every factor of ``paths`` (lists of ``Factor``) and ``input_factor`` is a finite float at
    ``values``, as the handout will write it (``_value`` says which is not)."""
    factors = [f for path in paths or () for f in (path.factors if hasattr(path, "factors") else path)]
    for factor in factors + ([input_factor] if input_factor is not None else []):
        _value(factor.value, values, f"∂{factor.of}/∂{factor.wrt}")


def _error_term(term, values: Mapping, exact: Mapping, out) -> float:
    """An output's term of E_total: from the float64 values, as the handout writes it, or from the
    exact ones when the rounding leaves the loss's domain (log of an output that rounds to 0)."""
    value = _value(term, values)
    if not math.isfinite(value):
        value = float(_substitute(term, exact).evalf(DIGITS))
    if not math.isfinite(value):
        raise NumbersError(f"the example's numbers are not finite real numbers: the error term of {out} is beyond "
                           f"the float64 range (it overflows); {_ADVICE}")
    return value


def _check_generated(gradient: dict, loss, out) -> None:
    """The generated code's float64 results are finite numbers where the exact ones are (they are
    by now): else float64 itself overflowed or underflowed inside it, which is no disagreement."""
    arrays = [np.asarray(loss, dtype=float), np.asarray(out, dtype=float)] + [np.asarray(a, dtype=float) for key in ("W", "b")
                                                                              for a in (gradient.get(key) or [])]
    if not all(np.isfinite(a).all() for a in arrays):
        raise NumbersError("the example's numbers are beyond float64 for the generated NumPy code (an intermediate value "
                           f"overflows or underflows, giving inf or nan), so it cannot be cross-checked on them; {_ADVICE}")


def _check_step(model, updated: dict, lr: float) -> None:
    """Every parameter after the descent step is a finite float64 (lr · ∂E/∂p can overflow)."""
    for k, (W, b) in enumerate(zip(updated["W"], updated["b"] or [None] * len(updated["W"])), start=1):
        bad = [model.weights[k][i][j] for i, j in zip(*np.nonzero(~np.isfinite(W)))]
        if b is not None:
            bad += [model.biases[k][j] for j in np.nonzero(~np.isfinite(b))[0]]
        if bad:
            raise NumbersError(f"after the descent step, the example's numbers are not finite real numbers: "
                               f"{bad[0]} - {lr:g} · ∂E/∂{bad[0]} is beyond the float64 range (it overflows); "
                               "choose a smaller --lr or other parameters (--params, --seed)")


def _parameter_value(gradient: dict, parameter, model) -> float:
    k, j = parameter.target.layer, parameter.target.index
    if parameter.kind == "bias":
        return float(gradient["b"][k - 1][j])
    return float(gradient["W"][k - 1][parameter.source.index, j])


def file_layout(spec: NetworkSpec, weights) -> list:
    """Weight matrices (source-major, as symbackprop computes) in the params file's layout: the same,
    or in column notation each W^[l] transposed, n_l × n_(l-1) as the handout writes it.

    >>> file_layout(NetworkSpec.parse("2-1", notation="columns"), [[[1.0], [2.0]]])
    [[[1.0, 2.0]]]
    """
    transpose = spec.notation == "columns"
    return [(np.asarray(w, dtype=float).T if transpose else np.asarray(w, dtype=float)).tolist() for w in weights]


def example_json(example: Example) -> dict:
    """Every number of the example in full float64 precision, W and b in the params layout (in column
    notation each W^[l] is n_l × n_(l-1), as the handout writes it)."""
    from ..handout.render import error_bound

    m, values, depth = example.model, example.values, example.spec.depth
    as_lists = lambda arrays: None if arrays is None else [np.asarray(a, dtype=float).tolist() for a in arrays]  # noqa: E731
    return {
        "spec": example.spec.text,
        "activations": list(example.spec.activations),
        "loss_name": example.spec.loss,
        "bias": example.spec.bias,
        "lr": example.lr,
        "freeze_bias": example.freeze_bias,
        "seed": example.seeded,
        "params": {"x": example.params["x"].tolist(), "y": example.params["y"].tolist(),
                   "W": file_layout(example.spec, example.params["W"]), "b": as_lists(example.params["b"])},
        "loss": example.loss,
        "grad": {"W": file_layout(example.spec, example.gradient["W"]), "b": as_lists(example.gradient["b"])},
        "updated": {"W": file_layout(example.spec, example.updated["W"]), "b": as_lists(example.updated["b"])},
        "loss_after": example.loss_after,
        "forward": {
            "net": [[values[s] for s in m.net[k]] for k in range(1, depth + 1)],
            "out": [[values[s] for s in m.out[k]] for k in range(1, depth + 1)],
            "errors": list(example.errors),
            "delta": [[values[example.chain.delta(n).symbol] for n in m.neurons(k)] for k in range(1, depth + 1)],
        },
        "cross_check": {"rel_error_below": float(error_bound(example.cross_check)), "numbers": example.checked},
    }


def render_json(example: Example) -> str:
    return json.dumps(example_json(example), indent=2) + "\n"


# -- handouts ----------------------------------------------------------------------------------
def _number(value: float) -> sympy.Number:
    """A number as the handout prints it: ``SIGNIFICANT`` significant digits, a whole number
    (such as a bias's ∂net/∂b = 1) without a decimal point.

    >>> _number(0.123456), _number(1.0), _number(0.719851713)
    (0.1235, 1, 0.7199)
    """
    return _rounded(value, SIGNIFICANT)


def _rounded(value: float, digits: int) -> sympy.Number:
    """``value`` rounded to ``digits`` significant decimal digits (a whole number as an Integer).
    Rounded in decimal: SymPy's ``Float(value, digits)`` rounds the binary mantissa and prints
    0.719851713 as 0.7198.

    >>> _rounded(0.2776508168, 4), _rounded(-2.5e-7, 9)
    (0.2777, -2.50000000e-7)
    """
    value = float(value)
    return sympy.Integer(int(value)) if value.is_integer() else sympy.Float(f"{value:.{digits}g}", digits)


def _worked(value: float) -> sympy.Number:
    """A number as the written-out arithmetic prints it: ``WORKED`` significant digits, a whole
    number without a decimal point.

    >>> [sympy.latex(_worked(v)) for v in (0.5932699921071872, 0.15, 1.0, -2.5e-7)]
    ['0.593269992', '0.15', '1', '-2.5 \\\\cdot 10^{-7}']
    """
    return _rounded(value, WORKED)


def _visible(tex: str) -> int:
    """About how many characters wide ``tex`` prints: without commands, braces and spaces, a
    fraction as wide as its numerator.

    >>> _visible(r"\\frac{\\left(0.01 - 0.75136507\\right)^{2}}{2}")
    18
    """
    tex = re.sub(r"\\frac\{((?:[^{}]|\{[^{}]*\})*)\}\{[^{}]*\}", r"\1", tex)  # numerator only (denominators are short)
    tex = re.sub(r"\\(left|right|mathrm|cdot|quad)\b|[{}\s_^]", "", tex)
    return len(re.sub(r"\\[a-zA-Z]+", "x", tex))


def _fill(texts: list[str], extra: int = 3, width: int = 0) -> list[list[int]]:
    """The indices of ``texts`` grouped into lines of at most ``width`` (default ``LINE_WIDTH``)
    visible characters (each text and ``extra`` for its separator; a text wider than a line gets a
    line of its own).

    >>> _fill(["a" * 30, "b" * 30, "c" * 10])
    [[0], [1, 2]]
    """
    limit = width or LINE_WIDTH
    groups, used = [], limit + 1
    for n, text in enumerate(texts):
        size = _visible(text) + extra
        if used + size > limit:
            groups.append([])
            used = 0
        groups[-1].append(n)
        used += size
    return groups


def network_drawing(model):
    """The network as ``symbackprop.handout.diagram`` draws it: every neuron labelled, and every
    weight and bias where the labels stay legible (``weight_labels_readable``)."""
    from ..handout.diagram import BIAS, Diagram, Label, weight_labels_readable
    from ..handout.figures import plain

    spec = model.spec
    label = lambda latex: Label(latex, plain(latex))  # noqa: E731
    neurons = tuple(tuple(label(model.label(n)) for n in model.neurons(k)) for k in range(len(spec.layers)))
    weights = None
    if weight_labels_readable(spec.layers, spec.bias):
        weights = {(k, i, j): label(model.latex_names[model.weights[k][i][j]])
                   for k in range(1, spec.depth + 1) for i, j in model.numbered_weights(k)}
        if model.biases:
            weights.update({(k, BIAS, j): label(model.latex_names[b])
                            for k in range(1, spec.depth + 1) for j, b in enumerate(model.biases[k])})
    return Diagram(spec.layers, neurons, weights, biases=spec.bias)


class _Negative(sympy.Symbol):
    """A stand-in for a negative number in written-out arithmetic: bracketed as a factor or a
    power's base, like a sum, (-0.5)^2 and 2 (-0.5)."""

    precedence = PRECEDENCE["Add"]

    @classmethod
    def class_key(cls):
        return sympy.Symbol.class_key()  # sorted among the positive stand-ins by name: the order written


class _Handout:
    """The template context of one example: names, numbers and LaTeX printed by SymPy."""

    def __init__(self, example: Example, figures: bool = False):
        from ..handout.latex import to_latex

        self.ex, self.m, self.figures = example, example.model, figures
        # the handout's 4-digit values keep their trailing zeros (0.2500): rounded, not given exactly
        self.tex = lambda expr, names=None: to_latex(expr, names or self.m.latex_names,  # noqa: E731
                                                     rounded_digits=SIGNIFICANT)
        self.num = lambda value: to_latex(_number(value), {}, rounded_digits=SIGNIFICANT)  # noqa: E731
        self.exact = lambda value: to_latex(_worked(value), {})  # noqa: E731

    def value(self, symbol) -> float:
        return self.ex.values[symbol]

    # -- the starting values and the arithmetic written out ------------------------------------
    def starting(self) -> list[dict]:
        """Per computed layer, its weights in the order they are numbered, then its biases: each
        with the neurons it connects and its starting value."""
        m, params, layers = self.m, self.ex.params, []
        capped = self.ex.spec.n_parameters > LIST_LIMIT
        for k in range(1, self.ex.spec.depth + 1):
            rows = [{"symbol": self.tex(m.weights[k][i][j]), "source": m.label(Neuron(k - 1, i)),
                     "target": m.label(Neuron(k, j)), "value": self.exact(params["W"][k - 1][i, j])}
                    for i, j in m.numbered_weights(k)]
            if m.biases:
                shared = m.spec.shared_bias  # then the one bias of the layer, into all of its neurons
                rows += [{"symbol": self.tex(b), "source": None,
                          "target": ", ".join(m.label(n) for n in m.neurons(k)) if shared else m.label(Neuron(k, j)),
                          "value": self.exact(params["b"][k - 1][j])} for j, b in enumerate(m.layer_biases(k))]
            shown = rows[:PER_LAYER_SHOWN] if capped else rows
            height = -(-len(shown) // -(-len(shown) // ROWS_PER_COLUMN))  # balanced columns
            columns = [shown[n:n + height] for n in range(0, len(shown), height)]
            layers.append({"layer": k, "name": m.notation.layer(k), "parameters": shown, "columns": columns,
                           "omitted": len(rows) - len(shown)})
        return layers

    def _numbers(self, expr, symbols) -> str:
        """``expr`` printed with each of ``symbols`` replaced by its written-out value, unevaluated
        and in the order written (SymPy would pull the sign out of tanh(-0.5), reorder a sum of
        e^{-0.5} and e^{0.2}, and print 1/(1 + e^{- -0.5})): a negative value is bracketed where an
        operator or a product precedes it, e^{-\\left(-0.5\\right)}, and nowhere else, tanh(-0.5)."""
        names, replaced = dict(self.m.latex_names), {}
        for n, symbol in enumerate(symbols):
            value = self.value(symbol)
            stand_in = (_Negative if value < 0 else sympy.Symbol)(f"value_{n:04d}", real=True)
            names[stand_in] = self.exact(value)
            replaced[symbol] = stand_in
        text = self.tex(sympy.sympify(expr).xreplace(replaced), names)
        return re.sub(r"(?<=[-+] )-(\d[\d.]*(?: \\cdot 10\^\{-?\d+\})?)", r"\\left(-\1\\right)", text)

    def _lines(self, terms: list, names: Mapping) -> list[str]:
        """A written-out sum as the lines of the LaTeX handout, as many terms on each as fit in
        ``LINE_WIDTH``; each line after the first starts with its sign."""
        from ..algebra.expressions import ordered_sum

        groups = [[terms[n] for n in group] for group in _fill([self.tex(term, names) for term in terms])]
        lines = []
        for n, group in enumerate(groups):
            text = self.tex(ordered_sum(group), names)
            lines.append(text if n == 0 or text.startswith("-") else "+ " + text)
        return lines

    def given_lines(self, symbols: list, omitted: int) -> list[str]:
        """``symbol = value`` for each of ``symbols`` (and \\dots for ``omitted`` more), as the lines
        of a LaTeX display that fit the page."""
        pairs = [f"{self.tex(s)} = {self.exact(self.value(s))}" for s in symbols] + ([r"\dots"] if omitted else [])
        return [r", \quad ".join(pairs[n] for n in group) + ("," if n < len(groups) - 1 else "")
                for groups in [_fill(pairs, extra=4, width=GIVEN_WIDTH)] for n, group in enumerate(groups)]

    def first_neuron(self, k: int) -> dict:
        """The first neuron of layer ``k`` worked out: net = Σ w · out (+ b · 1) in symbols, in
        numbers and its value; then out = g(net) by the activation's own formula, in numbers, and
        its value (a softmax over more than ``MIXED_WRITTEN`` neurons is given by its formula)."""
        from ..algebra.expressions import Chain, ordered_sum

        m, one = self.m, sympy.Integer(1)
        pairs = [(m.weights[k][i][0], m.out[k - 1][i]) for i in range(m.spec.layers[k - 1])]
        if len(pairs) > TERMS_WRITTEN:
            pairs = pairs[:3] + [None] + pairs[-1:]
        dots = sympy.Symbol("cdots")
        names = {**m.latex_names, dots: r"\cdots"}
        symbols = [dots if p is None else Chain(*p) for p in pairs]
        numbers = [dots if p is None else Chain(_worked(self.value(p[0])), _worked(self.value(p[1]))) for p in pairs]
        if m.biases:
            symbols.append(Chain(m.biases[k][0], one))
            numbers.append(Chain(_worked(self.value(m.biases[k][0])), one))
        net, out = m.net[k][0], m.out[k][0]
        definition = m.definitions[out]
        mixed = [s for s in m.net[k] if s in definition.free_symbols]
        formula = self.tex(definition)
        written = self._numbers(definition, mixed) if len(mixed) <= MIXED_WRITTEN else None
        return {
            "net": self.tex(net),
            "net_symbols": self.tex(ordered_sum(symbols), names),
            "net_numbers": self.tex(ordered_sum(numbers), names),
            "net_lines": self._lines(numbers, names),
            "net_value": self.exact(self.value(net)),
            "out": self.tex(out),
            # a linear layer's out = net needs no formula line
            "out_formula": formula if formula != self.tex(net) else None,
            "out_numbers": written if written not in (None, self.exact(self.value(net))) else None,
            "out_value": self.exact(self.value(out)),
        }

    def loss_arithmetic(self) -> dict:
        """E_total with the outputs and targets written in (up to ``MIXED_WRITTEN`` outputs), its
        terms' values and their sum."""
        from ..algebra.expressions import ordered_sum

        m, outs = self.m, self.m.out[-1]
        display = m.loss_function.total_display
        written, lines, formula_lines = None, [], []
        if len(outs) <= MIXED_WRITTEN:
            written = self._numbers(display(outs, m.targets), list(outs) + list(m.targets))
            # the LaTeX handout: as many outputs' terms per line as fit (a bce term with numbers is half a line)
            groups = _fill([self._numbers(display(outs[j:j + 1], m.targets[j:j + 1]), [outs[j], m.targets[j]])
                            for j in range(len(outs))])
            for group in groups:
                part = slice(group[0], group[-1] + 1)
                symbols = display(outs[part], m.targets[part])
                for target, text in ((formula_lines, self.tex(symbols)),
                                     (lines, self._numbers(symbols, list(outs[part]) + list(m.targets[part])))):
                    target.append(text if group[0] == 0 or text.startswith("-") else "+ " + text)
        terms = [_worked(e) for e in self.ex.errors]
        return {
            "numbers": written,
            "lines": lines,
            "formula_lines": formula_lines,
            "terms": self.tex(ordered_sum(terms)) if 1 < len(terms) <= NEURONS_SHOWN else None,
            "value": self.exact(self.ex.loss),
        }

    def forward(self) -> list[dict]:
        m, layers = self.m, []
        for k in range(1, self.ex.spec.depth + 1):
            neurons = [{"net": self.tex(m.net[k][j]), "net_value": self.num(self.value(m.net[k][j])),
                        "out": self.tex(m.out[k][j]), "out_value": self.num(self.value(m.out[k][j]))}
                       for j in range(min(NEURONS_SHOWN, m.spec.layers[k]))]
            layers.append({"layer": k, "name": m.notation.layer(k), "activation": m.activation(k).name,
                           "neurons": neurons, "omitted": max(0, m.spec.layers[k] - NEURONS_SHOWN)})
        return layers

    def deltas(self) -> list[dict]:
        from ..algebra.expressions import Chain, ordered_sum

        found = []
        for k in range(self.ex.spec.depth, 0, -1):
            rows = []
            for neuron in self.m.neurons(k)[:NEURONS_SHOWN]:
                delta = self.ex.chain.delta(neuron)
                terms = []
                for term in delta.terms:
                    upstream = [_number(_value(f.value, self.ex.values)) if d is None
                                else Chain(_number(self.value(d)), _number(_value(f.value, self.ex.values)))
                                for f, d in term.upstream]
                    terms.append(Chain(ordered_sum(upstream), _number(_value(term.activation.value, self.ex.values))))
                rows.append({"symbol": self.tex(delta.symbol), "recursion": self.tex(delta.recursion),
                             "numbers": self.tex(ordered_sum(terms)), "value": self.num(self.value(delta.symbol))})
            found.append({"layer": k, "deltas": rows, "omitted": max(0, self.m.spec.layers[k] - NEURONS_SHOWN)})
        return found

    def gradient(self, g) -> dict:
        from ..algebra.expressions import Chain, Partial, ordered_sum

        m, values = self.m, self.ex.values
        parameter = g.parameter
        total = _parameter_value(self.ex.gradient, parameter, m)
        if g.paths is not None:
            leibniz_terms = [path.leibniz for path in g.paths]
            numbers_terms = [Chain(*(_number(_value(f.value, values)) for f in path.factors)) for path in g.paths]
        else:
            leibniz_terms = [Chain(Partial(m.loss_symbol, g.delta.net), g.input_factor.partial)]
            numbers_terms = [Chain(_number(self.value(g.delta.symbol)), _number(_value(g.input_factor.value, values)))]
        old = self._parameter(self.ex.params, parameter)
        new = self._parameter(self.ex.updated, parameter)
        return {
            "symbol": self.tex(parameter.symbol),
            "name": parameter.symbol.name,  # the HTML page's anchor (#g-w_21)
            "kind": parameter.kind,
            "partial": self.tex(Partial(m.loss_symbol, parameter.symbol)),
            "leibniz": self.tex(ordered_sum(leibniz_terms)),
            "leibniz_terms": [self.tex(term) for term in leibniz_terms],  # one line each in LaTeX
            "form": "paths" if g.paths is not None else "delta",
            "delta_form": self.tex(g.delta_form),
            "numbers": self.tex(ordered_sum(numbers_terms)),
            "numbers_terms": [self.tex(term) for term in numbers_terms],
            "value": self.num(total),
            "old": self.num(old),
            "new": self.num(new),
            "frozen": parameter.kind == "bias" and self.ex.freeze_bias,
            "step": self.tex(self._update(old, total)),
        }

    def _update(self, old: float, gradient: float):
        from ..algebra.expressions import Chain, Total

        return Total(_number(old), -Chain(_worked(self.ex.lr), _number(gradient)))  # the rate as given

    @staticmethod
    def _parameter(params: dict, parameter) -> float:
        k, j = parameter.target.layer, parameter.target.index
        if parameter.kind == "bias":
            return float(params["b"][k - 1][j])
        return float(params["W"][k - 1][parameter.source.index, j])

    def build(self) -> dict:
        from ..handout.diagram import TIKZ_LIBRARIES, to_tikz
        from ..handout.render import NETWORK_SVG, describe_layers, error_bound
        from ..version import __version__

        ex, m, spec = self.ex, self.m, self.ex.spec
        n_shown = len(ex.shown)
        return {
            "title": f"A worked example for the {spec.text} network",
            "spec": spec.text,
            "description": describe_layers(spec.layers),
            "activations": list(dict.fromkeys(spec.activations)),
            "loss_title": m.loss_function.title,
            "bias": spec.bias,
            "seed": ex.seeded,
            "lr": self.exact(ex.lr),
            "freeze_bias": ex.freeze_bias,
            "inputs": [{"symbol": self.tex(s), "value": self.exact(self.value(s))} for s in m.inputs[:NEURONS_SHOWN]],
            "given_lines": self.given_lines(m.inputs[:NEURONS_SHOWN], max(0, len(m.inputs) - NEURONS_SHOWN))
            + self.given_lines(m.targets[:NEURONS_SHOWN], max(0, len(m.targets) - NEURONS_SHOWN)),
            "inputs_omitted": max(0, len(m.inputs) - NEURONS_SHOWN),
            "targets": [{"symbol": self.tex(s), "value": self.exact(self.value(s))} for s in m.targets[:NEURONS_SHOWN]],
            "targets_omitted": max(0, len(m.targets) - NEURONS_SHOWN),
            "starting": self.starting(),
            "capped": spec.n_parameters > LIST_LIMIT,
            "tikz_network": to_tikz(network_drawing(m)),
            "tikz_libraries": ",".join(TIKZ_LIBRARIES),
            "svg_network": NETWORK_SVG if self.figures else None,
            "worked_digits": WORKED,
            "forward": self.forward(),
            "first": [self.first_neuron(k) for k in range(1, spec.depth + 1)],
            "loss_worked": self.loss_arithmetic(),
            "loss_symbol": self.tex(m.loss_symbol),
            "loss_formula": self.tex(m.loss_function.total_display(m.out[-1], m.targets)),
            "errors": [{"out": self.tex(out), "value": self.num(e)}
                       for out, e in list(zip(m.out[-1], ex.errors))[:NEURONS_SHOWN]],
            "errors_omitted": max(0, len(ex.errors) - NEURONS_SHOWN),
            "loss": self.num(ex.loss),
            "deltas": self.deltas(),
            "gradients": [self.gradient(g) for g in ex.shown],
            "n_parameters": spec.n_parameters,
            "n_shown": n_shown,
            "loss_after": self.num(ex.loss_after),
            "decrease": self.num(ex.loss - ex.loss_after),
            "increased": ex.loss_after > ex.loss,
            "cross_check": error_bound(ex.cross_check),
            "checked": ex.checked,
            "version": __version__,
        }


def render_example(example: Example, kind: str, figures: bool = False) -> str:
    """The handout as ``kind`` "md" (Markdown with $$ math) or "tex" (a LaTeX article, the
    network drawn in TikZ); with ``figures`` the Markdown shows network.svg, which
    ``write_example`` writes beside it."""
    from ..handout.render import environment

    return environment(kind).get_template(f"example.{kind}.j2").render(_Handout(example, figures).build())


# Activations and losses the HTML page's script computes a descent step with (static/page.js
# holds each one's value and derivative, in the generated code's stable forms).
PAGE_ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear", "softplus", "softmax")
PAGE_LOSSES = ("mse", "bce", "ce")


def page_data(example: Example, data: dict) -> dict:
    """What example.html's script needs (``data`` is the handout's context): per shown parameter
    its gradient's factors with their values and its paths; per neuron its numbers; and, when the
    script knows every activation, the parameters after the step, to step again in the browser."""
    from ..handout.html import caption_parts, parameter_entry

    m, spec = example.model, example.spec
    parameters = []
    for g, shown in zip(example.shown, data["gradients"]):
        lines = [("= " if n == 0 else r"\quad + ") + term for terms in (shown["leibniz_terms"], shown["numbers_terms"])
                 for n, term in enumerate(terms)] + ["= " + shown["value"]]  # one term a line: the panel is narrow
        row = r"\begin{aligned}" + shown["partial"] + " &" + r" \\ &".join(lines) + r"\end{aligned}"
        after = f"{shown['symbol']} = {shown['old']} \\to {shown['new']}"
        caption = (f"Value {'kept (frozen)' if shown['frozen'] else 'before and after the step'}, and its gradient "
                   f"as the product of its chain-rule factors:")
        parameters.append(parameter_entry(example, g, [after, row], f"g-{shown['name']}", caption))
    neurons = {}
    deltas = {d["layer"]: d["deltas"] for d in data["deltas"]}
    for k in range(len(spec.layers)):
        for j, neuron in enumerate(m.neurons(k)):
            rows = []
            if k == 0:
                rows = [f"{data['inputs'][j]['symbol']} = {data['inputs'][j]['value']}"] if j < len(data["inputs"]) else []
            elif j < len(data["forward"][k - 1]["neurons"]):
                n = data["forward"][k - 1]["neurons"][j]
                rows = [f"{n['net']} = {n['net_value']}", f"{n['out']} = {n['out_value']}"]
                if j < len(deltas[k]):
                    rows.append(f"{deltas[k][j]['symbol']} = {deltas[k][j]['numbers']} = {deltas[k][j]['value']}")
            caption = "An input." if k == 0 else f"Neuron {j + 1} of layer {k}: net input, output and delta, in numbers."
            neurons[f"{k},{j}"] = {"label": m.label(neuron), "rows": rows, "caption": caption_parts(caption),
                                   "section": "forward" if k else "start"}
    steppable = all(a in PAGE_ACTIVATIONS for a in spec.activations) and spec.loss in PAGE_LOSSES
    descent = None
    if steppable:
        as_lists = lambda arrays: None if arrays is None else [np.asarray(a, dtype=float).tolist() for a in arrays]  # noqa: E731
        descent = {
            "model": {"activations": list(spec.activations), "loss": spec.loss, "lr": example.lr,
                      "freeze_bias": example.freeze_bias, "shared_bias": spec.shared_bias},
            "params": {"x": example.params["x"].tolist(), "y": example.params["y"].tolist(),
                       "W": as_lists(example.updated["W"]), "b": as_lists(example.updated["b"])},
            "steps": 1,
            "shown": [{"latex": m.latex_names[g.parameter.symbol], "bias": g.parameter.kind == "bias",
                       "k": g.parameter.target.layer - 1, "i": g.parameter.source.index if g.parameter.source else None,
                       "j": 0 if spec.shared_bias and g.parameter.kind == "bias" else g.parameter.target.index}
                      for g in example.shown],
        }
    return {"page": "example", "spec": spec.text, "parameters": parameters, "neurons": neurons, "descent": descent}


def render_example_html(example: Example) -> str:
    """example.html: the worked example's handout (the Markdown's context) with the interactive
    network and, for the built-in activations, a button that steps gradient descent once more in
    the browser; it needs ``handout.html.page_files()`` beside it."""
    from ..handout.diagram import to_svg
    from ..handout.html import render_page
    from ..handout.render import template_dir

    data = _Handout(example, False).build()
    payload = page_data(example, data)
    hint = payload["parameters"][0]["latex"] if payload["parameters"] else "w_{11}"
    custom = [a for a in example.spec.activations if a not in PAGE_ACTIVATIONS]
    return render_page(template_dir(), "example.html.j2", dict(data, custom_activations=custom), payload,
                       to_svg(network_drawing(example.model), interactive=True), hint)


def write_example(example: Example, directory: Union[str, Path], formats=("md", "tex")) -> list[Path]:
    """Write example.md / example.tex / example.pdf (and example.json, example.html when asked)
    into ``directory``, with example.md the drawing network.svg: all of them, or none
    (``symbackprop.handout.files.Batch``)."""
    from ..handout.diagram import to_svg
    from ..handout.files import Batch
    from ..handout.render import NETWORK_SVG, write_documents

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    formats = list(formats)
    figures = "md" in formats
    with Batch(directory) as batch:
        drawing = [batch.add(NETWORK_SVG, to_svg(network_drawing(example.model)))] if figures else []
        written = write_documents(directory, "example", formats,
                                  lambda kind: render_example(example, kind, figures), batch)
        if "json" in formats:
            written.append(batch.add("example.json", render_json(example)))
        if "html" in formats:  # the page and, beside it, KaTeX and its script
            from ..handout.html import add_page

            page, *assets = add_page(batch, "example.html", render_example_html(example))
            written.append(page)
            drawing += assets
    return written + drawing

__all__ = ["worked_example", "Example", "check_params", "load_params", "random_params", "ParamsError",
           "ExampleError", "NumbersError", "example_json", "render_json", "render_example", "write_example",
           "render_example_html", "page_data"]
