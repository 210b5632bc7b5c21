"""Stage 4 of the pipeline: prove every printed form equal to the true gradient.

The truth is ``sympy.diff`` of the fully expanded E_total (sigmoid written with exp), never a
derivative we declared. Three kinds of check:

* **local factors**: every ∂out/∂net written in the output (out(1 - out)) is proven equal to
  ``sympy.diff`` of the activation formula, neuron by neuron, so the Leibniz form and the
  valued form are the same equation;
* **symbolic** (networks up to ``SYMBOLIC_LIMIT`` parameters, or on request): the delta form of
  each parameter, substituted down to primary symbols, minus ``sympy.diff(E_total, p)`` is shown
  to be identically zero (``symbackprop.exact``); the path sum is shown identical to the delta
  form, so it is proven too;
* **numeric** (always): every form evaluated at random points agrees with the complex-step
  derivative of E_total to ``TOLERANCE`` relative error.

A form that fails any check raises ``VerificationError``: a derivation is never printed unproven.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Optional

import sympy

from . import numeric
from .parallel import map_forked
from .chainrule import ChainRule, Gradient
from .exact import are_equal
from .model import Model, expand_definitions

SYMBOLIC_LIMIT = 50  # parameters; above it sympy.diff of the expanded E_total gets slow
TOLERANCE = 1e-9
PROOF_MODES = ("auto", "symbolic", "numeric")

Progress = Optional[Callable[[str, int, int], None]]  # (stage, done, total)


class VerificationError(RuntimeError):
    """A derived form disagrees with the true gradient; this is a bug in symbackprop."""


@dataclass(frozen=True)
class FormCheck:
    """How one form of one parameter's gradient was checked.

    ``method`` is "symbolic" (an exact identity with ``sympy.diff`` of the expanded E_total, and
    the numeric check) or "numeric" (the numeric check only); ``max_rel_error`` is the largest
    relative difference from the complex-step derivative over the random points.
    """

    method: str
    max_rel_error: float


@dataclass(frozen=True)
class Verification:
    """Every check made: per parameter symbol, per form ("path_sum", "delta"), a ``FormCheck``."""

    checks: dict[sympy.Symbol, dict[str, FormCheck]]
    factors_proven: int
    points: int
    seed: int
    symbolic: bool
    tolerance: float = TOLERANCE

    def method(self, parameter: sympy.Symbol, form: Optional[str] = None) -> str:
        """How the given form (default: the parameter's weakest form) was verified."""
        forms = self.checks[parameter]
        methods = [forms[form].method] if form else [c.method for c in forms.values()]
        return "symbolic" if all(m == "symbolic" for m in methods) else "numeric"

    @property
    def max_rel_error(self) -> float:
        return max((c.max_rel_error for forms in self.checks.values() for c in forms.values()), default=0.0)


def use_symbolic(proof: str, model: Model) -> bool:
    """Whether ``proof`` ("auto", "symbolic" or "numeric") asks for symbolic proofs on this model."""
    if proof not in PROOF_MODES:
        raise ValueError(f"unknown proof mode {proof!r}: choose from {', '.join(PROOF_MODES)}")
    return proof == "symbolic" or (proof == "auto" and model.spec.n_parameters <= SYMBOLIC_LIMIT)


def prove_local_factors(model: Model, chain: ChainRule) -> int:
    """Prove each ∂out/∂net value equal to ``sympy.diff`` of the activation formula; returns how many."""
    proven = 0
    for delta in chain.deltas:
        for term in delta.terms:
            factor = term.activation
            definition = model.definitions[factor.of]
            truth = sympy.diff(definition, factor.wrt)
            if not are_equal(factor.value.xreplace({factor.of: definition}), truth):
                raise VerificationError(
                    f"∂{factor.of}/∂{factor.wrt} = {factor.value} differs from sympy.diff: {truth}"
                )
            proven += 1
    return proven


def verify(
    model: Model,
    chain: ChainRule,
    gradients: Iterable[Gradient],
    proof: str = "auto",
    points: int = 3,
    seed: int = 0,
    progress: Progress = None,
) -> Verification:
    """Check every form of every gradient; raise ``VerificationError`` on the first disagreement."""
    gradients = list(gradients)
    symbolic = use_symbolic(proof, model)
    factors_proven = prove_local_factors(model, chain)

    delta_definitions = {delta.symbol: delta.definition for delta in chain.deltas}
    deltas_over_outputs = expand_definitions(delta_definitions)  # δ in out, target and weight symbols

    values = numeric.random_points(model, points, seed)
    truth_numeric = numeric.complex_step_gradient(model, values)
    memo: dict = {}
    for symbol, definition in list(model.definitions.items()) + list(delta_definitions.items()):
        values[symbol] = numeric.evaluate(definition, values, memo)

    checks: dict[sympy.Symbol, dict[str, FormCheck]] = {}
    for gradient in gradients:
        p = gradient.parameter.symbol
        delta_form = gradient.delta_form.doit()
        forms = {"delta": delta_form}
        if gradient.paths is not None:
            forms["path_sum"] = gradient.path_sum
            # exact polynomial identity over out/target/weight symbols: the path sum is the delta form
            if not are_equal(gradient.path_sum, delta_form.xreplace(deltas_over_outputs)):
                raise VerificationError(f"the path sum of {p} differs from its delta form")
        checks[p] = {}
        for name, form in forms.items():
            error = numeric.relative_error(numeric.evaluate(form, values, memo), truth_numeric[p])
            if not error < TOLERANCE:
                raise VerificationError(
                    f"the {name.replace('_', ' ')} form of {p} differs from the complex-step derivative "
                    f"by {error:.2e} (relative)"
                )
            checks[p][name] = FormCheck("numeric", error)

    if symbolic:
        fully_expanded = expand_definitions(delta_definitions, known=model.expansions)
        expanded_loss = model.expanded_loss

        def prove(gradient: Gradient) -> bool:
            truth = sympy.diff(expanded_loss, gradient.parameter.symbol)
            return are_equal(gradient.delta_form.doit().xreplace(fully_expanded), truth)

        report = (lambda done, total: progress("symbolic proof", done, total)) if progress else None
        for gradient, proven in zip(gradients, map_forked(prove, gradients, report)):
            p = gradient.parameter.symbol
            if not proven:
                raise VerificationError(f"the delta form of {p} differs from sympy.diff of the expanded E_total")
            checks[p] = {name: FormCheck("symbolic", check.max_rel_error) for name, check in checks[p].items()}
    return Verification(checks, factors_proven, points, seed, symbolic)
