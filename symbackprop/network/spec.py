"""Parse and validate what the user asked for.

All input checking happens here; every later stage trusts a ``NetworkSpec``.

>>> spec = NetworkSpec.parse("2-4-3-2")
>>> spec.layers, spec.activations, spec.n_parameters
((2, 4, 3, 2), ('sigmoid', 'sigmoid', 'sigmoid'), 26)
"""

from __future__ import annotations

import itertools

import re
from dataclasses import dataclass

from .notation import NOTATIONS  # plain names, no SymPy

# What checking a spec needs to know of the registries, by name: ``activations.ACTIVATIONS`` and
# ``losses.LOSSES`` build SymPy expressions, and importing them (SymPy) takes longer than all the rest of
# ``symbackprop --help`` or a usage error. They are imported only for a formula in z (a custom activation);
# tests/test_startup.py holds these tables equal to the registries.
ACTIVATION_UNIT_INTERVAL = {  # every named activation: are its outputs always in (0, 1)?
    "sigmoid": True, "tanh": False, "relu": False, "linear": False, "softplus": False, "softmax": True,
}
ACTIVATION_NAMES = tuple(ACTIVATION_UNIT_INTERVAL)
OUTPUT_ONLY = frozenset({"softmax"})  # activations that only make sense on the output layer
LOSS_OUTPUT_ACTIVATION = {"mse": None, "bce": None, "ce": "softmax"}  # every loss: the output activation it fixes
LOSS_NAMES = tuple(LOSS_OUTPUT_ACTIVATION)
LOSS_NEEDS_UNIT_INTERVAL = frozenset({"bce"})  # losses that take log(out) and log(1 - out)

SPEC_FORM = "layer sizes joined by '-', input first, at least two positive integers, e.g. 2-4-3-2"

# Beyond this even the generated NumPy code is impractical; refuse early with a clear line. The
# symbolic stages have their own, lower limit (``MAX_SYMBOLIC_PARAMETERS``).
MAX_PARAMETERS = 2_000_000
# One symbol, definition and gradient per parameter: about 9 KB each (784-128-64-10, 109,184
# weights, peaks at 0.9 GB), so this keeps a derivation within about 5 GB of the machine's 24.
MAX_SYMBOLIC_PARAMETERS = 500_000
MAX_LAYER_DIGITS = 7  # a layer of 10 million neurons is already far beyond MAX_PARAMETERS
MAX_EXERCISE_PARAMETERS = 40  # an exercise sheet is worked by hand (checked here, before any heavy import)
MAX_BATCH = 16  # samples in --batch: the batch equations have explicit entries for each
MAX_BATCH_ENTRIES = 20_000  # parameters × samples: the batch proof compares every entry exactly
MAX_DEPTH = 64  # computed layers; SymPy's recursion (and a reader's patience) ends well before hundreds
_SPEC_RE = re.compile(r"[0-9]+(-[0-9]+)+")  # ASCII digits only: int() accepts others


class SpecError(ValueError):
    """Bad user input. The message is one line naming the problem and the accepted form."""


def parse_layers(text: str) -> tuple[int, ...]:
    """Parse a layer spec such as ``"2-4-3-2"`` into its sizes.

    >>> parse_layers("784-30-10")
    (784, 30, 10)
    """
    if not isinstance(text, str) or not _SPEC_RE.fullmatch(text.strip()):
        shown = text if isinstance(text, str) else repr(text)
        raise SpecError(f"invalid network spec {shown!r}: expected {SPEC_FORM}")
    parts = text.strip().split("-")
    if any(len(part.lstrip("0")) > MAX_LAYER_DIGITS for part in parts):
        raise SpecError(f"invalid network spec: a layer size has more than {MAX_LAYER_DIGITS} digits "
                        f"(symbackprop handles at most {MAX_PARAMETERS:,} weights)")
    if len(parts) - 1 > MAX_DEPTH:
        raise SpecError(f"network spec has {len(parts) - 1} computed layers; symbackprop handles at most {MAX_DEPTH}")
    layers = tuple(int(part) for part in parts)
    if any(size < 1 for size in layers):
        raise SpecError(f"invalid network spec {text!r}: every layer needs at least one neuron ({SPEC_FORM})")
    n_weights = sum(a * b for a, b in zip(layers, layers[1:]))
    if n_weights > MAX_PARAMETERS:
        raise SpecError(
            f"network spec {text!r} has {n_weights:,} weights; symbackprop handles at most {MAX_PARAMETERS:,}"
        )
    return layers


def split_top_level(text: str, brackets: str = "()") -> list[str]:
    """Split at commas outside brackets (``brackets``: each opener followed by its closer;
    parentheses unless told), so formulas like ``max(0, z)`` stay whole; each part stripped.

    >>> split_top_level("tanh, max(0, z),sigmoid")
    ['tanh', 'max(0, z)', 'sigmoid']
    >>> split_top_level("dZ_{1,2}, axis=1", "(){}[]")
    ['dZ_{1,2}', 'axis=1']
    """
    depths = {**{opener: 1 for opener in brackets[::2]}, **{closer: -1 for closer in brackets[1::2]}}
    parts, depth, current = [], 0, ""
    for char in text:
        depth += depths.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return parts + [current.strip()]


def _check_activation(name: str, position: str) -> None:
    """Known name or a valid formula in z; output-only activations only on the output layer."""
    if name in OUTPUT_ONLY and position != "output":
        raise SpecError(f"{name} can only be the activation of the output layer (with --loss ce)")
    if name in ACTIVATION_NAMES:
        return
    if re.fullmatch(r"[A-Za-z_]\w*", name) and name != "z":
        known = ", ".join(a for a in ACTIVATION_NAMES if a not in OUTPUT_ONLY)
        raise SpecError(f"unknown activation {name!r}: choose from {known}, or give a formula in z such as 'z/(1+abs(z))'")
    import sympy  # here, not at module level: a spec of named activations is checked without SymPy

    from ..algebra.grammar import FormulaError
    from .activations import resolve_activation

    try:
        activation = resolve_activation(name)
    except FormulaError as error:
        raise SpecError(f"invalid activation formula: {error}") from None
    z = sympy.Dummy("z", real=True)
    if not activation.formula(z).has(z):
        raise SpecError(f"the activation {name!r} does not depend on z: a layer of constant outputs passes no "
                        "gradient back (every weight before it would have gradient 0)")


def parse_activations(text: str, depth: int, loss: str = "mse") -> tuple[str, ...]:
    """One activation for every computed layer, or a comma list with one per computed layer.

    With a loss that fixes the output activation (ce: softmax), a single name applies to the
    hidden layers and a list names the hidden layers followed by that output activation.

    >>> parse_activations("sigmoid", 3)
    ('sigmoid', 'sigmoid', 'sigmoid')
    >>> parse_activations("tanh", 3, loss="ce")
    ('tanh', 'tanh', 'softmax')
    """
    names = split_top_level(text)
    output = LOSS_OUTPUT_ACTIVATION[loss]
    if len(names) == 1 and output:
        names = names * (depth - 1) + [output]
    elif len(names) == 1:
        names = names * depth
    elif len(names) != depth:
        hint = f" (the hidden layers, then {output})" if output else ""
        raise SpecError(
            f"--activation lists {len(names)} activations but the network has {depth} computed layers: "
            f"give one, or {depth} separated by commas{hint}"
        )
    if output and names[-1] != output:
        raise SpecError(f"--loss {loss} needs {output} on the output layer: end the --activation list with {output}")
    for k, name in enumerate(names):
        _check_activation(name, "output" if k == depth - 1 else "hidden")
    if loss in LOSS_NEEDS_UNIT_INTERVAL and _unit_interval(names[-1]) is False:
        raise SpecError(
            f"--loss {loss} takes the log of the outputs and of 1 - outputs, so the output layer needs values "
            f"in (0, 1): end --activation with sigmoid, not {names[-1]}"
        )
    return tuple(names)


def _unit_interval(name: str) -> bool | None:
    """Are the activation's outputs always in (0, 1)? True, False, or None: not known (a formula)."""
    if name in ACTIVATION_UNIT_INTERVAL:
        return ACTIVATION_UNIT_INTERVAL[name]
    from .activations import resolve_activation

    return resolve_activation(name).unit_interval


def _check_batch(batch) -> int:
    """The number of samples in a mini-batch: an integer from 1 to MAX_BATCH."""
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        raise SpecError(f"invalid batch size {batch!r}: give a whole number of samples from 1 to {MAX_BATCH}")
    return batch


@dataclass(frozen=True)
class NetworkSpec:
    """A validated network: layer sizes (input first), one activation per computed layer, loss,
    bias on/off and notation. Layer 0 is the input, layers 1..L are computed.

    >>> NetworkSpec.parse("2-3-1", bias=True).n_parameters
    13
    """

    layers: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str = "mse"
    bias: bool = False
    notation: str = "neurons"
    batch: int = 1  # samples per mini-batch: the loss is their mean
    shared_bias: bool = False  # one bias per computed layer, shared by its neurons (implies ``bias``)

    @classmethod
    def parse(
        cls,
        text: str,
        activation: str = "sigmoid",
        loss: str = "mse",
        bias: bool = False,
        notation: str = "neurons",
        batch: int = 1,
        shared_bias: bool = False,
    ) -> "NetworkSpec":
        layers = parse_layers(text)
        if loss not in LOSS_NAMES:
            raise SpecError(f"unknown loss {loss!r}: choose from {', '.join(LOSS_NAMES)}")
        if notation not in NOTATIONS:
            raise SpecError(f"unknown notation {notation!r}: choose from {', '.join(NOTATIONS)}")
        activations = parse_activations(activation, len(layers) - 1, loss)
        if activations[-1] == "softmax" and layers[-1] < 2:
            raise SpecError(f"a softmax output layer (--loss {loss}) needs at least 2 outputs: over one it is "
                            "the constant 1 (for one output use --loss bce)")
        if shared_bias and "softmax" in activations:
            raise SpecError("a bias shared by a softmax layer's neurons shifts every net input alike, which softmax "
                            "ignores (its gradient is always 0): use --bias for per-neuron biases with --loss ce")
        spec = cls(layers, activations, loss, bool(bias or shared_bias), notation, _check_batch(batch), bool(shared_bias))
        if spec.batch > 1 and spec.n_parameters * spec.batch > MAX_BATCH_ENTRIES:
            raise SpecError(f"--batch {batch}: the batch equations of {spec.text} would have {spec.n_parameters * spec.batch:,} "
                            f"entries to prove; symbackprop writes them for at most {MAX_BATCH_ENTRIES:,} "
                            "(parameters times samples): give a smaller network or batch")
        return spec

    @property
    def text(self) -> str:
        """The canonical spec string, e.g. ``"2-4-3-2"``."""
        return "-".join(str(size) for size in self.layers)

    @property
    def depth(self) -> int:
        """L, the number of computed layers."""
        return len(self.layers) - 1

    @property
    def n_weights(self) -> int:
        return sum(a * b for a, b in zip(self.layers, self.layers[1:]))

    @property
    def n_biases(self) -> int:
        if self.shared_bias:
            return self.depth
        return sum(self.layers[1:]) if self.bias else 0

    @property
    def n_parameters(self) -> int:
        return self.n_weights + self.n_biases

    def square_batch(self, samples: int) -> bool:
        """Whether a batch of ``samples`` makes a computed layer's batch matrices square (n × m with
        m = n), where Ng's A^{[1]}(1 - A^{[1]}) would read as a matrix product.

        >>> spec = NetworkSpec.parse("2-3-1")
        >>> [m for m in range(1, 5) if spec.square_batch(m)]
        [1, 3]
        """
        return samples in self.layers[1:]

    def batch_size(self, at_least: int) -> int:
        """The smallest batch of at least ``at_least`` samples whose matrices are not square (``square_batch``)."""
        return next(m for m in itertools.count(at_least) if not self.square_batch(m))


def check_symbolic_size(spec: "NetworkSpec") -> None:
    """Refuse a network too large for the symbolic stages, before any of them (or SymPy) starts.

    >>> check_symbolic_size(NetworkSpec.parse("1414-1414"))
    Traceback (most recent call last):
    ...
    symbackprop.network.spec.SpecError: network 1414-1414 has 1,999,396 parameters; the symbolic derivation handles at most 500,000 (about 9 KB of memory each): 'symbackprop codegen' writes NumPy code for larger networks
    """
    if spec.n_parameters > MAX_SYMBOLIC_PARAMETERS:
        raise SpecError(f"network {spec.text} has {spec.n_parameters:,} parameters; the symbolic derivation "
                        f"handles at most {MAX_SYMBOLIC_PARAMETERS:,} (about 9 KB of memory each): "
                        "'symbackprop codegen' writes NumPy code for larger networks")
