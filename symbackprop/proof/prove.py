"""Prove every printed form equal to the true gradient.

The truth is ``sympy.diff`` of the fully expanded E_total (sigmoid written with exp), never a
derivative we declared; SymEngine takes it where installed (``algebra.differentiate``). Three kinds of check:

* **local factors**: every ∂out/∂net written in the output (out(1 - out)) is proven equal to
  ``sympy.diff`` of the activation formula, neuron by neuron, so the Leibniz form and the
  valued form are the same equation;
* **symbolic** (networks up to ``SYMBOLIC_LIMIT`` parameters, or on request): the delta form of
  each parameter, substituted down to primary symbols, minus ``sympy.diff(E_total, p)`` is shown
  to be identically zero (``symbackprop.algebra.exact``); the path sum is shown identical to the delta
  form, so it is proven too;
* **numeric** (always): every form evaluated at random points agrees with the complex-step
  derivative of E_total to ``TOLERANCE`` relative error.

A form that fails any check raises ``VerificationError``: a derivation is never printed unproven.
The exact zero test proves, but cannot always disprove: subterms related in ways it does not
know (exp of a log, with softplus) can hide a zero, and absurd custom activations can make SymPy
slow. A symbolic proof that is not found (or takes over ``PROOF_SECONDS``) leaves that parameter
"numeric", says why, and is not a failure: the numeric check, which every form passed, decides.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Optional

import mpmath
import sympy

from ..algebra.evaluate import evaluate, evaluate_many
from ..algebra.differentiate import derivative, engine, expected_engine
from ..algebra.exact import are_equal
from ..algebra.expressions import tree_size
from ..algebra.lazy import numpy as np
from ..algebra.limits import time_limit
from ..derivation.chainrule import ChainRule, Gradient
from ..network.model import Model, canonical_sum, definitions_used, expand_definitions, product
from ..network.spec import SpecError
from . import numeric
from .parallel import Forked

if TYPE_CHECKING:
    from ..derivation.matrixform import LayerForm

SYMBOLIC_LIMIT = 50  # parameters; above it sympy.diff of the expanded E_total gets slow
PROOF_SECONDS = 10.0  # per parameter: a symbolic proof that takes longer is given up ...
PROOFS_SECONDS = 120.0  # ... and with --proof auto, so are all those not done by then
UNPROVEN = {  # why a symbolic proof was not found, as the handouts say it
    "inconclusive": "the exact zero test could not show the difference is zero",
    "timeout": "SymPy ran out of time for it and was stopped",
}
IDENTITY_NODES = 8_000  # nodes of a path sum and its delta form (as trees) beyond which the exact identity is not tried
IDENTITY_SECONDS = 2.0  # ... nor allowed to run longer than this each,
IDENTITIES_SECONDS = 6.0  # ... or all together (a deep chain 1-1-...-1 makes every one slow)
TOLERANCE = 1e-9
EXACT_DIGITS = 40  # where float64 underflows, the gradients are computed at one point with this many digits
PROOF_MODES = ("auto", "symbolic", "numeric")

Progress = Optional[Callable[[str, int, int], None]]  # (stage, done, total)


class OutsideDomainError(SpecError):
    """The random points of the numeric check leave the activation's or the loss's domain (log or
    sqrt of a negative number, an overflow): the input's problem, not a failed proof (exit 2)."""


class UnderflowError(SpecError):
    """The gradients (or the quantities they are made of) underflow float64 at the random points:
    0.0 or a subnormal number where the true value is not zero, so the numeric check compares
    nothing. The input's problem, not a failed proof (exit 2)."""


class _Underflows:
    """Whether NumPy met an underflow (a nonzero result rounded to a subnormal number or 0) in the
    blocks it is the error callback of: exact zeros (relu of a negative number, 0 · x) raise none."""

    def __init__(self):
        self.seen = False

    def __call__(self, kind: str, flag: int) -> None:
        self.seen = True

    def watch(self):
        self.seen = False
        return np.errstate(under="call", call=self)


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
    matrix_entries_proven: int = 0
    simplifications_proven: int = 0
    tolerance: float = TOLERANCE
    unproven: dict[sympy.Symbol, str] = field(default_factory=dict)  # parameter -> key of UNPROVEN
    proof: str = "auto"  # the mode asked for: why the symbolic proofs were skipped, when they were
    # who took the derivative the proofs compare with: "SymPy", "SymEngine", or "SymEngine+abs" (abs by SymPy's rule)
    truth: str = "SymPy"
    # the numeric check's points (``numeric.random_points(model, points, seed)``) with every net input
    # and output evaluated there (``evaluate``), for a later stage that needs the same numbers (``verify``)
    forward: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def skipped_because(self) -> Optional[str]:
        """Why no symbolic proof was tried, in words; None when they were.

        >>> Verification({}, 0, 3, 0, False, proof="numeric").skipped_because
        '--proof numeric was given'
        """
        if self.symbolic:
            return None
        if self.proof == "numeric":
            return "--proof numeric was given"
        return f"over {SYMBOLIC_LIMIT} parameters; use --proof symbolic to force it"

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
    """Prove each ∂out/∂net value equal to ``sympy.diff`` of the activation formula; returns how many.

    Neurons whose formula and value are the same up to the name of the net input (every sigmoid
    neuron of a layer) share one proof, made with a stand-in symbol for that name: renaming a
    symbol changes neither ``sympy.diff`` nor the zero test, and ``sympy.diff`` takes milliseconds
    a neuron, which a network of hundreds of neurons would feel.
    """
    proven = 0
    done: set = set()  # (formula, value) with the net input renamed to its stand-in, proven already
    stand_ins: dict = {}
    layer_outputs: dict[int, dict] = {}
    for delta in chain.deltas:
        k = delta.neuron.layer
        if k not in layer_outputs:
            layer_outputs[k] = {out: model.definitions[out] for out in model.out[k]}
        outputs = layer_outputs[k]
        for term in delta.terms:
            factor = term.activation
            formula, value = model.definitions[factor.of], factor.value.xreplace(outputs)
            assumptions = tuple(sorted(factor.wrt.assumptions0.items()))
            stand_in = stand_ins.setdefault(assumptions, sympy.Dummy("net", **dict(assumptions)))
            key = (formula.xreplace({factor.wrt: stand_in}), value.xreplace({factor.wrt: stand_in}))
            if key not in done:
                truth = model.almost_everywhere(sympy.diff(key[0], stand_in))
                if not are_equal(model.almost_everywhere(key[1]), truth):
                    truth = model.almost_everywhere(sympy.diff(formula, factor.wrt))
                    raise VerificationError(
                        f"∂{factor.of}/∂{factor.wrt} = {factor.value} differs from sympy.diff: {truth}"
                    )
                done.add(key)
            proven += 1
    return proven


def prove_matrix_forms(model: Model, chain: ChainRule, forms: Iterable[LayerForm], gradients: Iterable[Gradient] = ()) -> int:
    """Prove seed 001's vectorized results equal the scalar chain rule, entry by entry; returns
    how many entries. g^[kz] must equal the deltas, g^[kW] and g^[kb] each parameter's delta
    form, and g^[ka] the sum over the next layer that every delta of layer k starts from."""
    deltas = {delta.neuron: delta for delta in chain.deltas}
    by_symbol = {g.parameter.symbol: g for g in gradients}

    def expected(parameter) -> sympy.Expr:  # the scalar chain rule's δ_j · out_i
        gradient = by_symbol.get(parameter.symbol) or chain.gradient(parameter, with_paths=False)
        return gradient.delta_value

    parameters = {p.symbol: p for p in chain.parameters}
    proven = 0

    def same(entry, expected, what: str) -> None:
        nonlocal proven
        if entry != expected and not are_equal(entry, expected):
            raise VerificationError(f"{what}: the matrix form gives {entry}, the scalar chain rule {expected}")
        proven += 1

    for form in forms:
        k = form.layer
        g_w = form.gradient("g_W")
        w_entries = g_w.entries.tolist()  # rows as the matrix stands: n_{k-1} × n_k, or n_k × n_{k-1} in columns
        for j, neuron in enumerate(model.neurons(k)):
            delta = deltas[neuron]
            same(form.gradient("g_z").at(j), delta.definition, f"g^[{k}z] entry {j + 1}")
            if k < model.spec.depth:
                (term,) = delta.terms
                same(form.gradient("g_a").at(j), canonical_sum([product(d, f.value) for f, d in term.upstream]),
                     f"g^[{k}a] entry {j + 1}")
            for i in range(model.spec.layers[k - 1]):
                entry = w_entries[j][i] if g_w.columns else w_entries[i][j]  # g_w.at(j, i)
                same(entry, expected(parameters[model.weights[k][i][j]]), f"g^[{k}W] entry ({i + 1}, {j + 1})")
            if model.biases and (j == 0 or not model.spec.shared_bias):  # a shared bias has one entry
                same(form.gradient("g_b").at(j), expected(parameters[model.biases[k][j]]),
                     f"g^[{k}b] entry {j + 1}")
    return proven


def prove_simplifications(model: Model, chain: ChainRule) -> int:
    """Prove each cancellation shown for an output delta (δ = out - target), under its assumption."""
    proven = 0
    targets = model.targets
    for delta in chain.deltas:
        if delta.simplification is None:
            continue
        condition = {}
        if delta.simplification.assumption:  # the targets sum to 1
            condition = {targets[-1]: 1 - sympy.Add(*targets[:-1])}
        for step in delta.simplification.steps:
            if not are_equal(delta.definition.xreplace(condition), step.xreplace(condition)):
                raise VerificationError(f"the simplification of {delta.symbol} to {step} does not hold")
            proven += 1
    return proven


def _symbolic_proofs(model: Model, chain: ChainRule, gradients: list[Gradient], budget: Optional[float],
                     alongside: bool = False) -> Forked:
    """Start, in forked children, the proof of every delta form against ``sympy.diff``, each
    within ``PROOF_SECONDS`` and all within ``budget`` seconds (None: no overall limit). Each
    result is the proof's outcome and who differentiated (``engine``).

    The plain E_total and the delta forms over the same forward pass are built once: in this
    process before the children fork, one per core, which share them; or, ``alongside`` other
    work of this process's (the ``derive`` command's handouts) on a network within
    ``SYMBOLIC_LIMIT`` parameters, in one child, which proves every form while this process
    makes the numeric checks and the handouts (on such a network building is most of the work,
    and a second child would only slow this process down)."""
    delta_definitions = {delta.symbol: delta.definition for delta in chain.deltas}
    built: dict = {}

    def build() -> dict:
        if not built:  # (all at once: a proof stopped while building leaves nothing half built)
            loss = model.expanded_loss
            deltas = expand_definitions(delta_definitions, known=model.expansions)
            built.update(loss=loss, deltas=deltas, engine=engine(loss))  # engine: converts E_total once
        return built

    in_child = alongside and model.spec.n_parameters <= SYMBOLIC_LIMIT
    if not in_child:
        build()
    else:  # NumPy, which SymEngine imports, once for both: this process's numeric checks need it
        np.import_now()
    deadline = None if budget is None else time.monotonic() + budget

    def prove(gradient: Gradient) -> tuple[str, str | None]:
        """"proven", or why not: "inconclusive" or "timeout" (see ``UNPROVEN``); and the engine
        (None when E_total was not built)."""
        seconds = PROOF_SECONDS if deadline is None else min(PROOF_SECONDS, deadline - time.monotonic())
        if seconds <= 0:
            return "timeout", built.get("engine")
        try:
            with time_limit(seconds):
                ready = build()
                truth = model.almost_everywhere(derivative(ready["loss"], gradient.parameter.symbol, evaluate=False))
                ours = model.almost_everywhere(gradient.delta_value.xreplace(ready["deltas"]))
                return ("proven" if are_equal(ours, truth) else "inconclusive"), ready["engine"]
        except TimeoutError:
            return "timeout", built.get("engine")
        except (RecursionError, MemoryError):  # a very deep net's expanded E_total: beyond SymPy's reach
            return "inconclusive", built.get("engine")

    return Forked(prove, gradients, workers=1 if in_child else None)


def _identity(path_sum: sympy.Expr, delta_form: sympy.Expr, seconds: float = IDENTITY_SECONDS) -> Optional[bool]:
    """Whether the written-out path sum equals the delta form as polynomials: True, False, or None
    when the exact test is too costly (a deep net's products of dozens of factors); the path sum
    is then checked numerically like every other form, which ``_numeric_checks`` does anyway.

    >>> a, b = sympy.symbols("a b")
    >>> _identity(a * b + a, a * (b + 1)), _identity(a * b, a * (b + 1))
    (True, False)
    """
    if seconds <= 0 or tree_size(path_sum) + tree_size(delta_form) > IDENTITY_NODES:
        return None
    try:
        with time_limit(seconds):
            return are_equal(path_sum, delta_form)
    except (TimeoutError, RecursionError, MemoryError):
        return None


def _numeric_checks(model: Model, chain: ChainRule, gradients: list[Gradient], points: int, seed: int,
                    progress: Progress, forward: Optional[dict] = None) -> dict[sympy.Symbol, dict[str, FormCheck]]:
    """Every form of every gradient against the complex-step derivative at random points, and
    each written-out path sum against its delta form (an exact polynomial identity). The forms
    are evaluated all at once (``evaluate_many``: a big network's δ_j·out_i in a few NumPy
    products) and compared row by row, in the order of ``gradients``. ``forward``, when given,
    receives every net input's and output's values at the points (``Verification.forward``)."""
    delta_definitions = {delta.symbol: delta.definition for delta in chain.deltas}
    over_outputs: dict[sympy.Symbol, sympy.Expr] = {}  # δ in out, target and weight symbols, as needed

    def in_outputs(expr: sympy.Expr) -> sympy.Expr:
        """``expr`` with every delta replaced by its definition, recursively (``expand_definitions``'s result)."""
        needed = [s for s in expr.free_symbols if s in delta_definitions]
        for symbol in needed:
            if symbol not in over_outputs:
                over_outputs[symbol] = in_outputs(delta_definitions[symbol])
        return expr.xreplace({s: over_outputs[s] for s in needed}) if needed else expr

    values = numeric.random_points(model, points, seed)
    primary = dict(values)
    underflows = _Underflows()
    with underflows.watch():
        truth_numeric = _complex_step(model, values, [g.parameter for g in gradients])
    truth_underflowed = underflows.seen
    if truth_numeric is not None and any(np.any(np.abs(t) < numeric.SMALLEST_GRADIENT) for t in truth_numeric.values()):
        truth_numeric = None  # a gradient too small to read: judged with every parameter's batch, as always
    if truth_numeric is None:
        with underflows.watch():
            truth_numeric = numeric.complex_step_gradient(model, values)
        truth_underflowed = underflows.seen
    memo: dict = {}
    tainted: set = set()  # symbols whose float64 values may have lost an underflowed part
    needed = definitions_used((form for g in gradients for form in (g.delta_value, g.path_sum) if form is not None),
                              delta_definitions)  # the deltas the forms use: a wide layer has many others
    deltas_needed = [(s, d) for s, d in delta_definitions.items() if s in needed]
    for symbol, definition in list(model.definitions.items()) + deltas_needed:
        with underflows.watch():
            values[symbol] = evaluate(definition, values, memo)
        if underflows.seen or (tainted and not tainted.isdisjoint(definition.free_symbols)):
            tainted.add(symbol)

    written = []  # (gradient, form name, form), in checking order
    for gradient in gradients:
        written.append((gradient, "delta", gradient.delta_value))
        if gradient.paths is not None:
            written.append((gradient, "path_sum", gradient.path_sum))
    with underflows.watch():
        forms = evaluate_many([form for _, _, form in written], values, memo, points)
    forms_underflowed = underflows.seen
    truth = np.array([np.broadcast_to(truth_numeric[g.parameter.symbol], (points,)) for g, _, _ in written],
                     dtype=float).reshape(len(written), points)
    finite = (np.isfinite(forms).all(axis=1) & np.isfinite(truth).all(axis=1)).tolist()
    errors = numeric.relative_errors(forms, truth).tolist()
    with np.errstate(invalid="ignore"):
        # below these, a value is no number to compare: the complex step's imaginary part h·∂E/∂p is
        # subnormal (digits lost) or 0, a form is subnormal or 0; an exact 0 (no underflow met) is one
        small = (np.abs(truth) < numeric.SMALLEST_GRADIENT) | (np.abs(forms) < np.finfo(float).tiny)
    suspect = np.nonzero(small.any(axis=1))[0].tolist()
    if suspect:
        _check_underflow(model, chain, written, forms, truth, suspect, primary, tainted,
                         truth_underflowed, forms_underflowed)

    checks: dict[sympy.Symbol, dict[str, FormCheck]] = {}
    identities_until = time.monotonic() + IDENTITIES_SECONDS
    row, done = 0, 0
    for gradient in gradients:
        done += 1
        if progress and (done % 500 == 0 or done == len(gradients)):
            progress("numeric check", done, len(gradients))
        p = gradient.parameter.symbol
        if gradient.paths is not None:
            seconds = min(IDENTITY_SECONDS, identities_until - time.monotonic())
            if _identity(gradient.path_sum, in_outputs(gradient.delta_value), seconds) is False:
                raise VerificationError(f"the path sum of {p} differs from its delta form")
        checks[p] = {}
        for name in ("delta", "path_sum") if gradient.paths is not None else ("delta",):
            if not finite[row]:
                raise OutsideDomainError(
                    f"the gradient of {p} is not a finite number at the random points of the numeric check: "
                    "the loss or an activation overflows or is undefined there (exp of a large number, "
                    "log or sqrt of a negative number?)"
                )
            error = errors[row]
            if not error < TOLERANCE:
                raise VerificationError(
                    f"the {name.replace('_', ' ')} form of {p} differs from the complex-step derivative "
                    f"by {error:.2e} (relative)"
                )
            checks[p][name] = FormCheck("numeric", error)
            row += 1
    if forward is not None:
        forward.update((symbol, values[symbol]) for symbol in model.definitions)
    return checks


FEW_PARAMETERS = 16  # a derivation of at most this many parameters of a wide network (``verify``) ...
WIDE_NETWORK = 1000  # ... of over this many: the complex step is taken for those parameters only


def _complex_step(model: Model, values, parameters) -> Optional[dict[sympy.Symbol, np.ndarray]]:
    """∂E_total/∂p by the complex step for each of ``parameters`` alone (``numeric.complex_step_of``)
    when they are a few of a wide network; None otherwise, when the whole batch is the better buy."""
    if len(parameters) > FEW_PARAMETERS or model.spec.n_parameters <= WIDE_NETWORK:
        return None
    return numeric.complex_step_of(model, values, parameters)


def _check_underflow(model: Model, chain: ChainRule, written: list, forms: np.ndarray, truth: np.ndarray,
                     rows: list[int], primary: dict, tainted: set, truth_underflowed: bool, forms_underflowed: bool) -> None:
    """``UnderflowError`` if a gradient that float64 gives as 0 or a subnormal number at a random
    point (``rows``: those that have one) is not truly zero there. An exact zero (relu with a dead
    neuron, a parameter with no effect) arises with no underflow on its way and stands; for any
    other the true value is computed at the point in SymPy's floats, whose exponent has no limit,
    and only a true 0 stands."""
    tiny = np.finfo(float).tiny
    exact_at: dict[int, Optional[dict]] = {}
    for row in rows:
        gradient, _, form = written[row]
        for point in range(truth.shape[1]):
            t, f = truth[row, point], forms[row, point]
            doubtful = (abs(t) < numeric.SMALLEST_GRADIENT and (t != 0 or truth_underflowed)) or \
                (abs(f) < tiny and (f != 0 or forms_underflowed or not tainted.isdisjoint(form.free_symbols)))
            if not doubtful:
                continue
            if point not in exact_at:
                exact_at[point] = _exact_values(model, chain, primary, point)
            exact = exact_at[point]
            p = gradient.parameter.symbol
            value = _exact_gradient(model, gradient, exact)
            true_value = value if exact is None else _exact_truth(model, p, exact)
            if true_value is not None and value is not None and not _close(value, true_value):
                raise VerificationError(f"the delta form of {p} is {_power_of_ten(value)} at a random point, where the "
                                        f"true gradient (sympy.diff, past float64's range) is {_power_of_ten(true_value)}")
            value = true_value if true_value is not None else value
            if value is not None and value.is_number and value.is_zero:
                continue  # truly zero: float64's 0 is right
            if value is not None and value.is_number and value.is_finite and value.is_real:
                size = f"about {_power_of_ten(value)}"
                where = (f"below {tiny:.0e}, the smallest normal float64" if abs(value) < tiny else
                         f"but float64 gives {t:.3g} by the complex step and {f:.3g} by the chain rule: "
                         "a quantity it is made of underflows")
            else:
                size, where = "not found", "float64 gives it as 0 or a subnormal number after an underflow"
            raise UnderflowError(
                f"the gradients underflow float64 at the random points of the numeric check (the true ∂E/∂{p} is "
                f"{size}, {where}): the numeric check cannot tell the forms apart; choose another activation "
                "or fewer layers"
            )


def _exact_gradient(model: Model, gradient: Gradient, exact: Optional[dict]) -> Optional[sympy.Expr]:
    """The delta form at the point of ``exact`` (``_exact_values``), or None."""
    if exact is None:
        return None
    try:
        value = gradient.delta_value.xreplace(exact).evalf(EXACT_DIGITS)
    except (ArithmeticError, MemoryError, RecursionError, TypeError, ValueError):
        return None
    return value if value.is_number and value.is_finite else None


def _exact_truth(model: Model, p: sympy.Symbol, exact: dict, seconds: float = 10.0) -> Optional[sympy.Expr]:
    """``sympy.diff`` of the expanded E_total by ``p`` at the point of ``exact``, the truth side
    past float64's range; None when that takes too long (a big network's expanded E_total)."""
    try:
        with time_limit(seconds):
            truth = model.almost_everywhere(derivative(model.expanded_loss, p))
            value = truth.xreplace({s: exact[s] for s in truth.free_symbols if s in exact}).evalf(EXACT_DIGITS)
    except (TimeoutError, ArithmeticError, MemoryError, RecursionError, TypeError, ValueError, KeyError):
        return None
    return value if value.is_number and value.is_finite and not value.free_symbols else None


def _close(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Whether two values of ``EXACT_DIGITS`` digits agree to ``TOLERANCE`` relative (both 0 counts)."""
    scale = max(abs(a), abs(b))
    return bool(scale.is_zero or abs(a - b) <= TOLERANCE * scale)


def _power_of_ten(value: sympy.Expr) -> str:
    """``value`` as ±1e±N, N of any size (SymPy's Float has no exponent limit).

    >>> _power_of_ten(sympy.Float("3.2e-360")), _power_of_ten(sympy.Float("-7e5")), _power_of_ten(sympy.Float(0))
    ('3e-360', '-7e+5', '0')
    """
    if value.is_zero:
        return "0"
    with mpmath.workdps(15):
        x = mpmath.mpf(sympy.Float(value, 15)._mpf_)
        power = int(mpmath.floor(mpmath.log10(abs(x))))
        mantissa = int(mpmath.nint(abs(x) / mpmath.mpf(10) ** power))
    if mantissa == 10:
        mantissa, power = 1, power + 1
    return f"{'-' if x < 0 else ''}{mantissa}e{power:+d}"


def _exact_values(model: Model, chain: ChainRule, primary: dict, point: int, seconds: float = 10.0) -> Optional[dict]:
    """Every net input, output and delta at one random point in SymPy floats of ``EXACT_DIGITS`` digits, whose
    exponent has no limit (what float64 underflows stays a number); None if that takes too long."""
    exact = {s: sympy.Float(float(np.asarray(v)[point] if np.ndim(v) else v), EXACT_DIGITS) for s, v in primary.items()}
    definitions = list(model.definitions.items()) + [(d.symbol, d.definition) for d in chain.deltas]
    try:
        with time_limit(seconds):
            for symbol, definition in definitions:
                exact[symbol] = definition.xreplace(exact).evalf(EXACT_DIGITS)
    except (TimeoutError, ArithmeticError, MemoryError, RecursionError, TypeError, ValueError):
        return None
    return exact


def verify(
    model: Model,
    chain: ChainRule,
    gradients: Iterable[Gradient],
    forms: Iterable[LayerForm] = (),
    proof: str = "auto",
    points: int = 3,
    seed: int = 0,
    progress: Progress = None,
    meanwhile: Optional[Callable[[Verification], None]] = None,
    local_factors: bool = True,
) -> Verification:
    """Check every form of every gradient; raise ``VerificationError`` on the first disagreement.

    ``local_factors=False`` skips the symbolic proofs of the activations' local derivatives
    (``prove_local_factors``: every neuron's, for the handout's count); the forms that use them are
    checked numerically all the same (``verify`` prints no handout, and asks for one gradient).

    The symbolic proofs start first, in forked children (``symbackprop.proof.parallel``), and this
    process makes the other checks while they run; then, if they still run, it calls
    ``meanwhile`` with the Verification as it will be if every proof succeeds (the ``derive``
    command renders the handouts then), and collects them.
    """
    gradients = list(gradients)
    symbolic = use_symbolic(proof, model)
    budget = PROOFS_SECONDS if proof == "auto" else None
    # who differentiates E_total, as the handouts rendered while the proofs run say it (confirmed by the proofs)
    truth = expected_engine([*model.definitions.values(), model.loss]) if symbolic else "SymPy"
    outcomes: list[str] = []  # each symbolic proof's: "proven", or why not (a key of UNPROVEN)
    with _symbolic_proofs(model, chain, gradients, budget, meanwhile is not None) if symbolic else nullcontext() as proofs:
        factors_proven = prove_local_factors(model, chain) if local_factors else 0
        with np.errstate(all="ignore"):  # a non-finite value is reported as one message, not as warnings
            forward: dict = {}
            checks = _numeric_checks(model, chain, gradients, points, seed, progress, forward)
        matrix_entries = prove_matrix_forms(model, chain, forms, gradients)
        simplifications = prove_simplifications(model, chain)

        def verification(outcomes: list[str], truth: str = truth) -> Verification:
            unproven = {}
            decided = dict(checks)
            for gradient, outcome in zip(gradients, outcomes):
                p = gradient.parameter.symbol
                if outcome == "proven":
                    decided[p] = {name: FormCheck("symbolic", c.max_rel_error) for name, c in checks[p].items()}
                else:  # every form passed the numeric check already: it stands
                    unproven[p] = outcome
            return Verification(
                decided, factors_proven, points, seed, symbolic,
                matrix_entries_proven=matrix_entries, simplifications_proven=simplifications, unproven=unproven,
                proof=proof, forward=forward, truth=truth,
            )

        if proofs is not None:
            if meanwhile is not None and proofs.children:
                meanwhile(verification(["proven"] * len(gradients)))
            report = (lambda done, total: progress("symbolic proof", done, total)) if progress else None
            results = proofs.results(report)
            outcomes = [outcome for outcome, _ in results]
            truth = next((who for _, who in results if who is not None), truth)
    return verification(outcomes, truth)
