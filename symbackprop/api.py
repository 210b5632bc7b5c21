"""The Python API: ``derive("2-4-3-2")`` runs the whole pipeline and returns a ``Derivation``.

>>> d = derive("2-4-3-2")
>>> d.gradient("w_31").paths[0].value
out_c_1*out_d_1*(1 - out_d_1)*(out_d_1 - target_d_1)
>>> d.verification.method(d.gradient("w_21").parameter.symbol)
'symbolic'
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Iterable, Optional, Union

from .derivation.chainrule import ChainRule, Delta, Gradient, Parameter, find_parameter
from .network.model import Model
from .network.spec import NetworkSpec, SpecError
from .proof.prove import Progress, Verification, verify

if TYPE_CHECKING:  # imported where they are used: `verify` needs neither the matrix form nor a batch
    from .derivation.batch import BatchForm
    from .derivation.matrixform import LayerForm
    from .proof.batch import BatchCheck

# Path sums are written out for every parameter of a network with at most DETAIL_LIMIT
# parameters; larger networks get them for one representative weight per layer (and for any
# weight named with ``only``). A path sum longer than MAX_PATHS terms is never written out
# unless the parameter is named (then up to MAX_NAMED_PATHS).
DETAIL_LIMIT = 64
MAX_PATHS = 64
MAX_NAMED_PATHS = 4096


@dataclass(frozen=True)
class Derivation:
    """Everything symbackprop derived for one network: gradients, deltas and how each was verified."""

    spec: NetworkSpec
    model: Model
    chain: ChainRule
    gradients: tuple[Gradient, ...]
    layers: tuple[LayerForm, ...]  # seed 001's matrix form, output layer first
    verification: Verification
    selected: bool  # True when ``only`` limited the parameters
    seconds: float
    batch: Optional[BatchForm] = None  # the mini-batch equations, with --batch m > 1
    batch_check: Optional[BatchCheck] = None

    @property
    def deltas(self) -> list[Delta]:
        return self.chain.deltas

    def gradient(self, name: str) -> Gradient:
        """The gradient of the parameter named ``name`` (``"w_31"``, ``"w_{31}"`` or its LaTeX name)."""
        parameter = find_parameter(self.chain, name)
        for gradient in self.gradients:
            if gradient.parameter == parameter:
                return gradient
        raise KeyError(f"{name} was not derived (see the only= argument)")

    def loss_function(self):
        """E_total as a NumPy function ``f(params)`` of a params dict in the params-file layout
        (``sympy.lambdify`` with cse, see ``symbackprop.numbers.lambdified``)."""
        from .numbers.lambdified import loss_function

        return loss_function(self)

    def gradient_function(self):
        """The full gradient, lambdified from the chain-rule forms: ``f(params)`` returns
        ``{"W": [...], "b": [...]}`` in the params-file layout (see ``symbackprop.numbers.lambdified``)."""
        from .numbers.lambdified import gradient_function

        return gradient_function(self)

    def crosscheck(self, points: int = 3, seed: int = 0, autograd: str = "auto"):
        """Every way symbackprop computes each gradient, compared in float64 at ``points`` random
        points (see ``symbackprop.numbers.crosscheck``); ``result.agree`` says whether all agree."""
        from .numbers.crosscheck import crosscheck

        return crosscheck(self, points=points, seed=seed, autograd=autograd)

    def __repr__(self) -> str:
        """One line, whatever the size (no rendering): the network, the counts, how it was verified.

        >>> derive("2-2-1", bias=True, loss="bce")
        <Derivation 2-2-1 sigmoid/bce: 6 weights, 3 biases; 9 proven symbolically, 9 checked numerically at 3 points>
        """
        spec, verification = self.spec, self.verification
        count = lambda n, word, plural: f"{n} {word if n == 1 else plural}"  # noqa: E731
        kinds = [g.parameter.kind for g in self.gradients]
        derived = f"{count(kinds.count('weight'), 'weight', 'weights')}, {count(kinds.count('bias'), 'bias', 'biases')}"
        if self.selected:
            derived += f" (of {spec.n_parameters} parameters)"
        symbols = [g.parameter.symbol for g in self.gradients]
        activations = spec.activations[0] if len(set(spec.activations)) == 1 else ",".join(spec.activations)
        notation = "" if spec.notation == "neurons" else f", {spec.notation} notation"
        proven = sum(1 for s in symbols if verification.method(s) == "symbolic")
        unproven = f" ({len(verification.unproven)} not proven)" if verification.unproven else ""
        return (f"<Derivation {spec.text} {activations}/{spec.loss}{notation}: {derived}; {proven} proven symbolically"
                f"{unproven}, {len(symbols)} checked numerically at {count(verification.points, 'point', 'points')}>")

    def _repr_markdown_(self) -> str:
        """The Markdown handout, rendered by Jupyter (no diagrams: those are files)."""
        from .handout.render import render_markdown

        return render_markdown(self)

    def _repr_latex_(self) -> str:
        """The derivation in one display of math: per layer, the first delta and the matrix form."""
        from .handout.render import render_notebook_latex

        return render_notebook_latex(self)


def _writes_paths(chain: ChainRule, parameter: Parameter, named: bool, max_paths: int) -> bool:
    n_paths = chain.count_paths(parameter)
    if named:
        return n_paths <= MAX_NAMED_PATHS
    if chain.model.spec.n_parameters <= DETAIL_LIMIT:
        return n_paths <= max_paths
    representative = parameter.kind == "weight" and parameter.source.index == 0 and parameter.target.index == 0
    return representative and n_paths <= max_paths


def derive(
    spec: Union[str, NetworkSpec],
    *,
    activation: str = "sigmoid",
    loss: str = "mse",
    bias: bool = False,
    shared_bias: bool = False,
    notation: str = "neurons",
    batch: int = 1,
    only: Iterable[str] = (),
    proof: str = "auto",
    points: int = 3,
    seed: int = 0,
    max_paths: int = MAX_PATHS,
    progress: Progress = None,
    meanwhile: Optional[Callable[[Derivation], None]] = None,
) -> Derivation:
    """Derive, verify and return the gradients of E_total for the network ``spec`` (e.g. ``"2-4-3-2"``).

    ``shared_bias`` gives each computed layer one bias shared by its neurons. ``batch`` > 1 adds the mini-batch equations for that many samples (the loss their mean), proven
    equal to the mean of the per-sample gradients. ``only`` names parameters to derive (default: all); ``proof`` is "auto" (symbolic proofs up
    to 50 parameters), "symbolic", "numeric" or "gradients" (what ``verify`` needs: the derived parameters'
    forms checked numerically, no matrix forms, batch equations or proofs of the local derivatives), or
    "none" (the same, with nothing checked yet: ``verify`` first tries to prove the user's formula exactly,
    which prints nothing derived, and calls ``check_forms`` only if it goes on); ``points`` and ``seed`` set the numeric check.
    Raises ``SpecError`` for bad input and ``VerificationError`` if a form fails its proof.
    ``meanwhile``, while the symbolic proofs run in forked children, is given the Derivation as it
    will be if all of them succeed (without ``batch`` > 1, whose equations come after the proofs):
    the ``derive`` command renders the handouts then, and keeps them if the proofs came true.
    """
    started = time.perf_counter()
    if not isinstance(spec, NetworkSpec):
        spec = NetworkSpec.parse(spec, activation=activation, loss=loss, bias=bias, notation=notation, batch=batch,
                                 shared_bias=shared_bias)
    if points < 1:
        raise SpecError("the numeric check needs at least one point")
    model = Model(spec)
    chain = ChainRule(model)
    named = {find_parameter(chain, name) for name in only}
    symbols = {p.symbol for p in named}  # each parameter has its own symbol: compared by it, quickly
    parameters = [p for p in chain.parameters if p.symbol in symbols] if named else chain.parameters
    gradients = []
    for done, p in enumerate(parameters, start=1):
        gradients.append(chain.gradient(p, _writes_paths(chain, p, bool(named), max_paths)))
        if progress and (done % 500 == 0 or done == len(parameters)):
            progress("chain rule", done, len(parameters))
    gradients = tuple(gradients)
    only_gradients = proof in ("gradients", "none")  # `verify`: the forms it prints are checked, and it builds nothing else
    layers = ()
    if not only_gradients:
        from .derivation.matrixform import layer_forms

        layers = tuple(layer_forms(chain))

    def provisional(verification: Verification) -> None:
        meanwhile(Derivation(spec, model, chain, gradients, layers, verification, bool(named), time.perf_counter() - started))

    speculate = meanwhile is not None and spec.batch == 1 and not only_gradients
    if proof == "none":
        verification = Verification({}, 0, points, seed, False, proof="none")
    else:
        verification = verify(model, chain, gradients, layers, proof="numeric" if only_gradients else proof,
                              points=points, seed=seed, progress=progress, meanwhile=provisional if speculate else None,
                              local_factors=not only_gradients)
    form = check = None
    if spec.batch > 1 and not only_gradients:
        from .derivation.batch import batch_form
        from .proof.batch import verify_batch

        form = batch_form(chain)
        check = verify_batch(model, chain, form, points=points, seed=seed,
                             symbolic=None if proof == "auto" else proof == "symbolic")
    return Derivation(spec, model, chain, gradients, layers, verification, bool(named), time.perf_counter() - started,
                      form, check)


def check_forms(derivation: Derivation) -> Derivation:
    """``derivation``, derived with ``proof="none"``, with its gradients' forms checked numerically as
    ``proof="gradients"`` checks them (any other derivation is returned as it is). Raises
    ``VerificationError`` if a form fails its check.

    >>> d = derive("2-2-1", only=["w_11"], proof="none")
    >>> d.verification.checks, check_forms(d).verification.method(d.gradients[0].parameter.symbol)
    ({}, 'numeric')
    """
    if derivation.verification.proof != "none":
        return derivation
    started, checked = time.perf_counter(), derivation.verification
    verification = verify(derivation.model, derivation.chain, derivation.gradients, (), proof="numeric",
                          points=checked.points, seed=checked.seed, local_factors=False)
    return replace(derivation, verification=verification, seconds=derivation.seconds + time.perf_counter() - started)


__all__ = ["derive", "check_forms", "Derivation", "find_parameter"]
