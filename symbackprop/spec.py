"""Stage 1 of the pipeline: parse and validate what the user asked for.

All input checking happens here; every later stage trusts a ``NetworkSpec``.

>>> spec = NetworkSpec.parse("2-4-3-2")
>>> spec.layers, spec.activations, spec.n_parameters
((2, 4, 3, 2), ('sigmoid', 'sigmoid', 'sigmoid'), 26)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .activations import ACTIVATIONS
from .losses import LOSSES
from .notation import NOTATIONS

SPEC_FORM = "layer sizes joined by '-', input first, at least two positive integers, e.g. 2-4-3-2"

# Beyond this the symbolic objects alone would not fit in memory; refuse early with a clear line.
MAX_PARAMETERS = 2_000_000
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
    layers = tuple(int(part) for part in text.strip().split("-"))
    if any(size < 1 for size in layers):
        raise SpecError(f"invalid network spec {text!r}: every layer needs at least one neuron ({SPEC_FORM})")
    n_weights = sum(a * b for a, b in zip(layers, layers[1:]))
    if n_weights > MAX_PARAMETERS:
        raise SpecError(
            f"network spec {text!r} has {n_weights:,} weights; symbackprop handles at most {MAX_PARAMETERS:,}"
        )
    return layers


def parse_activations(text: str, depth: int) -> tuple[str, ...]:
    """One activation name for every computed layer, or a comma list with one name per layer.

    >>> parse_activations("sigmoid", 3)
    ('sigmoid', 'sigmoid', 'sigmoid')
    """
    names = [name.strip() for name in text.split(",")]
    if len(names) not in (1, depth):
        raise SpecError(
            f"--activation lists {len(names)} names but the network has {depth} computed layers: "
            f"give one name, or {depth} separated by commas"
        )
    for name in names:
        if name not in ACTIVATIONS:
            raise SpecError(f"unknown activation {name!r}: choose from {', '.join(ACTIVATIONS)}")
    return tuple(names) * depth if len(names) == 1 else tuple(names)


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

    @classmethod
    def parse(
        cls,
        text: str,
        activation: str = "sigmoid",
        loss: str = "mse",
        bias: bool = False,
        notation: str = "neurons",
    ) -> "NetworkSpec":
        layers = parse_layers(text)
        if loss not in LOSSES:
            raise SpecError(f"unknown loss {loss!r}: choose from {', '.join(LOSSES)}")
        if notation not in NOTATIONS:
            raise SpecError(f"unknown notation {notation!r}: choose from {', '.join(NOTATIONS)}")
        activations = parse_activations(activation, len(layers) - 1)
        return cls(layers, activations, loss, bool(bias), notation)

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
        return sum(self.layers[1:]) if self.bias else 0

    @property
    def n_parameters(self) -> int:
        return self.n_weights + self.n_biases
