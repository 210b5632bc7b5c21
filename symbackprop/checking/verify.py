"""Check a hand derivation: a formula for ∂E_total/∂w, or a chain of steps A = B = C.

Formulas are read by the safe grammar of ``symbackprop.algebra.grammar`` (LaTeX as the handouts print
it, or plain text) in the network's own names. A formula is right when it is *proven* equal:
every intermediate name (net, out, δ, E_total) is replaced by its definition down to the inputs,
targets and weights, and the difference from ``sympy.diff`` of the expanded E_total is shown to
be zero by ``symbackprop.algebra.exact``. A numeric check at random points guards the proof and, for a
wrong formula, gives a point where the two sides differ. Where the exact test cannot decide
(a network over ``SYMBOLIC_LIMIT`` parameters, a timeout, or functions it treats as unrelated,
such as tanh and exp) the verdict says it rests on numbers: float64 at random points, then 50
significant digits, which separate a true identity from a difference of 1e-12.

For a wrong gradient written as a sum of path products (seed 000's eqs (23) + (25)), each term
is matched to a path of the chain rule and the differences are put in words ("the term through
d_2 is missing", "the term through d_2 has a wrong factor: w_{31} instead of w_{34}").

>>> from symbackprop import derive
>>> d = derive("2-4-3-2", only=["w_31"])
>>> check_gradient(d, "w_{31}", "(out_d1 - target_d1)*out_d1*(1 - out_d1)*out_c1").correct
True
>>> check_steps(r"\\frac{d}{dz} z^2 = 2z = z^2").first_wrong.number
2
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Optional

import numpy as np
import sympy

from ..algebra.evaluate import evaluate
from ..algebra.exact import are_equal
from ..algebra.expressions import ordered_sum
from ..algebra.grammar import FormulaError, name_key, name_table, parse_math
from ..algebra.limits import time_limit
from ..derivation.chainrule import Gradient, Path, find_parameter
from ..handout.latex import to_latex
from ..network.model import expand_definitions
from ..proof import numeric
from ..proof.prove import SYMBOLIC_LIMIT, TOLERANCE

if TYPE_CHECKING:  # for annotations only: this stage takes the data it is given, it does not run the pipeline
    from ..api import Derivation

EXACT_SECONDS = 20  # longest exact test before falling back to numbers
CONFIRM_POINTS = 20  # extra random points when the exact test does not decide
DIGITS = 50  # precision of the high-precision evaluation
AGREEING_DIGITS = 30  # at DIGITS digits, values this close (relative) are equal
PRECISE_TOLERANCE = 10.0**-AGREEING_DIGITS
MAX_DIAGNOSED_PATHS = 64


@dataclass(frozen=True)
class TermCheck:
    """One term of a path sum: ``kind`` is "matched", "wrong", "missing" or "extra"; ``route`` the
    labels of the neurons the path goes through (``("d_2",)``), empty for an extra term."""

    kind: str
    route: tuple[str, ...]
    written: Optional[sympy.Expr]  # the user's term (None when missing)
    expected: Optional[sympy.Expr]  # the path's product of factor values (None when extra)
    message: str


@dataclass(frozen=True)
class GradientVerdict:
    """The verdict on a formula for ∂E_total/∂``parameter``.

    ``method`` is "symbolic" (an exact proof, or an exact disproof with a witness) or "numeric"
    (see ``note``). When incorrect, ``point`` (primary symbol names → values) is where the
    written and the expected values differ; ``terms`` compares a path sum term by term.
    """

    parameter: str  # LaTeX name, e.g. w_{31}
    correct: bool
    method: str
    written: sympy.Expr
    written_latex: str
    expected: sympy.Expr  # the chain-rule form: the path sum, or δ_j · out_i
    expected_latex: str
    point: Optional[dict[str, float]] = None
    written_value: Optional[float] = None
    expected_value: Optional[float] = None
    terms: tuple[TermCheck, ...] = ()
    note: str = ""

    @property
    def diagnosis(self) -> list[str]:
        """What is wrong with the path terms, in words."""
        return [term.message for term in self.terms if term.kind != "matched"]


@dataclass(frozen=True)
class Step:
    """Step ``number`` (from 1) claims that expression ``number`` equals expression ``number + 1``."""

    number: int
    left_text: str  # the two sides as written
    right_text: str
    left: sympy.Expr  # as parsed, derivatives evaluated
    right: sympy.Expr
    left_latex: str
    right_latex: str
    correct: bool
    method: str
    point: Optional[dict[str, float]] = None
    left_value: Optional[float] = None
    right_value: Optional[float] = None
    note: str = ""


@dataclass(frozen=True)
class StepsVerdict:
    """Every step of a chain A = B = C = …; ``ends_agree`` whether A = the last expression
    (None for a single step): errors can cancel, as in seed 001."""

    expressions: tuple[sympy.Expr, ...]
    steps: tuple[Step, ...]
    ends_agree: Optional[bool]

    @property
    def correct(self) -> bool:
        return all(step.correct for step in self.steps)

    @property
    def first_wrong(self) -> Optional[Step]:
        return next((step for step in self.steps if not step.correct), None)


# -- comparing two expressions -----------------------------------------------------------------
@dataclass(frozen=True)
class _Comparison:
    equal: bool
    method: str
    point: Optional[dict[str, float]] = None
    left_value: Optional[float] = None
    right_value: Optional[float] = None
    note: str = ""


def _disagreement(a: np.ndarray, b: np.ndarray, tolerance: float = TOLERANCE) -> Optional[int]:
    """The first point where ``a`` and ``b`` differ by more than ``tolerance`` (relative); a value
    undefined (nan) on one side only is a difference, on both sides no evidence either way."""
    with np.errstate(all="ignore"):
        finite = np.isfinite(a) & np.isfinite(b)
        scale = np.maximum(np.abs(a), np.abs(b))
        relative = np.abs(a - b) / np.where(scale > 0, scale, 1.0)
        alike = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
        error = np.where(finite, relative, np.where(alike, 0.0, np.inf))
    wrong = np.flatnonzero(~(error <= tolerance))
    return int(wrong[0]) if wrong.size else None


class _Workspace:
    """What a check knows: the network's names and definitions (when a derivation is given), free
    variables such as z, and the user's own definitions (``a`` = 1/(1 - e^{-z}))."""

    def __init__(self, derivation: Optional[Derivation] = None, variables: Iterable[str] = (),
                 definitions: Optional[Mapping[str, str]] = None):
        self.model = derivation.model if derivation is not None else None
        self.names: dict[str, sympy.Symbol] = {}
        self.latex_names: dict[sympy.Symbol, str] = {}
        self.one_level: dict[sympy.Symbol, sympy.Expr] = {}  # in evaluation order
        self.delta_definitions: dict[sympy.Symbol, sympy.Expr] = {}
        self.inputs: list[sympy.Symbol] = []
        if derivation is not None:
            m = self.model
            self.delta_definitions = {d.symbol: d.definition for d in derivation.chain.deltas}  # output first
            self.names = name_table(m.latex_names)
            self.latex_names = dict(m.latex_names)
            self.one_level = {**m.definitions, m.loss_symbol: m.loss, **self.delta_definitions}
            self.inputs = list(m.primary)
        self.variables = [sympy.Symbol(v, real=True) for v in variables]
        for spelling, symbol in zip(variables, self.variables):
            self.names[name_key(spelling)] = symbol
            self.latex_names[symbol] = spelling
        self.inputs += self.variables
        self.user_definitions: dict[sympy.Symbol, sympy.Expr] = {}
        for spelling, text in (definitions or {}).items():
            symbol = sympy.Symbol(spelling, real=True)
            self.user_definitions[symbol] = self.parse(text)
            self.one_level[symbol] = self.user_definitions[symbol]
            self.names[name_key(spelling)] = symbol
            self.latex_names[symbol] = spelling
        self.symbolic = self.model is None or self.model.spec.n_parameters <= SYMBOLIC_LIMIT
        self.samples: dict[tuple[int, int], dict] = {}
        self.given: dict[sympy.Symbol, sympy.Expr] = {}  # an assumption (``assuming_targets_sum_to_one``)

    @contextmanager
    def assuming_targets_sum_to_one(self):
        """Inside the block, compare under the cross-entropy's assumption: the last target is 1
        minus the others (and the sampled targets sum to 1)."""
        targets = self.model.targets
        self.given = {targets[-1]: 1 - sympy.Add(*targets[:-1])}
        self.samples.clear()
        try:
            yield
        finally:
            self.given = {}
            self.samples.clear()

    def parse(self, text: str) -> sympy.Expr:
        return parse_math(text, self.names, definitions=self.one_level)

    def latex(self, expr: sympy.Basic) -> str:
        return to_latex(expr, self.latex_names)

    @cached_property
    def full(self) -> dict[sympy.Symbol, sympy.Expr]:
        """Every defined symbol written over the primary symbols and free variables."""
        known: dict[sympy.Symbol, sympy.Expr] = {}
        if self.model is not None:
            known = expand_definitions(self.delta_definitions, known=self.model.expansions)
            known[self.model.loss_symbol] = self.model.expanded_loss
        return expand_definitions(self.user_definitions, known=known)

    @cached_property
    def deltas_over_outputs(self) -> dict[sympy.Symbol, sympy.Expr]:
        """Each δ over out, target and weight symbols (for comparing path terms)."""
        return expand_definitions(self.delta_definitions)

    # -- numbers -------------------------------------------------------------------------------
    def sample(self, n: int, seed: int) -> dict[sympy.Symbol, np.ndarray]:
        """Random values for the primary symbols and variables, and the values of every definition."""
        if (n, seed) in self.samples:
            return self.samples[n, seed]
        values = numeric.random_points(self.model, n, seed) if self.model is not None else {}
        if self.given:
            values = numeric.as_distribution(self.model, values)
        rng = np.random.default_rng([seed, 1])
        for variable in self.variables:
            values[variable] = rng.uniform(-2.0, 2.0, n)
        memo: dict = {}
        for symbol, definition in self.one_level.items():
            values[symbol] = self.evaluate(definition, values, memo)
        self.samples[n, seed] = values
        return values

    @staticmethod
    def evaluate(expr: sympy.Expr, values, memo: Optional[dict] = None) -> np.ndarray:
        """``expr`` at every point, as real numbers; nan where it is undefined or not real."""
        n = len(next(iter(values.values()))) if values else 1
        try:
            with np.errstate(all="ignore"):
                result = np.asarray(evaluate(expr, values, memo), dtype=complex)
        except Exception:  # a node NumPy cannot evaluate counts as undefined, never as a crash
            return np.full(n, np.nan)
        result = np.broadcast_to(result, (n,))
        real = np.abs(result.imag) <= 1e-12 * np.maximum(np.abs(result.real), 1.0)
        return np.where(real, result.real, np.nan)

    def precise_point(self, values, index: int, exprs: Iterable[sympy.Expr]) -> dict:
        """Point ``index`` of ``values`` with the definitions the expressions need, at DIGITS digits."""
        point = {s: sympy.Float(float(values[s][index]), DIGITS) for s in self.inputs if s in values}
        needed, stack = set(), [s for e in exprs for s in e.free_symbols]
        while stack:
            symbol = stack.pop()
            if symbol in self.one_level and symbol not in needed:
                needed.add(symbol)
                stack.extend(self.one_level[symbol].free_symbols)
        for symbol, definition in self.one_level.items():  # in order: each uses earlier ones
            if symbol in needed:
                point[symbol] = sympy.N(definition.xreplace(point), DIGITS)
        return point

    def precisely_differ(self, a: sympy.Expr, b: sympy.Expr, values, index: int,
                         unknown: Optional[tuple[float, float]] = None) -> Optional[tuple[float, float]]:
        """(a, b) at point ``index`` when they differ at DIGITS digits, None when they agree, and
        ``unknown`` when they cannot be evaluated that precisely (undefined there, or too slow)."""
        try:
            with time_limit(EXACT_SECONDS):
                point = self.precise_point(values, index, (a, b))
                x, y = (complex(sympy.N(e.xreplace(point), DIGITS)) for e in (a, b))
        except (TimeoutError, TypeError, ValueError, ArithmeticError):
            return unknown
        x, y = (v.real if abs(v.imag) <= 1e-12 * max(abs(v.real), 1.0) else float("nan") for v in (x, y))
        wrong = _disagreement(np.array([x]), np.array([y]), PRECISE_TOLERANCE)
        return None if wrong is None else (x, y)

    def witness(self, values, index: int, pair: tuple[float, float], method: str, note: str = "") -> _Comparison:
        """An "unequal" verdict with the point (primary symbols and variables) and both values there."""
        point = {s.name: float(values[s][index]) for s in self.inputs if s in values}
        return _Comparison(False, method, point, pair[0], pair[1], note)

    def difference(self, a: sympy.Expr, b: sympy.Expr, values) -> Optional[_Comparison]:
        """A point where a and b differ in float64, confirmed at DIGITS digits (rounding is no difference)."""
        floats = self.evaluate(a, values), self.evaluate(b, values)
        index = _disagreement(*floats)
        if index is None:
            return None
        pair = self.precisely_differ(a, b, values, index, unknown=(floats[0][index], floats[1][index]))
        return self.witness(values, index, pair, "numeric") if pair else None

    # -- the check -----------------------------------------------------------------------------
    def exact(self, a: sympy.Expr, b_exact: Callable[[], sympy.Expr]) -> tuple[Optional[bool], str]:
        """The exact test of a = b over the primary symbols: True, False, or None with the reason."""
        if not self.symbolic:
            return None, f"the network has over {SYMBOLIC_LIMIT} parameters, too many for the exact test"
        try:
            with time_limit(EXACT_SECONDS):
                return are_equal(a.xreplace(self.full).xreplace(self.given), b_exact().xreplace(self.given)), ""
        except TimeoutError:
            return None, f"the exact test took over {EXACT_SECONDS} s"
        except ZeroDivisionError:
            return None, "a denominator is identically zero once the definitions are substituted"

    def compare(self, a: sympy.Expr, b: sympy.Expr, b_exact: Callable[[], sympy.Expr], points: int,
                seed: int) -> _Comparison:
        """Is a = b? Numbers first (a disagreement confirmed at DIGITS digits is final), then the
        exact test, then more points and DIGITS digits where the exact test cannot decide."""
        witness = self.difference(a, b, self.sample(points, seed))
        if witness:
            return witness
        verdict, reason = self.exact(a, b_exact)
        if verdict:
            return _Comparison(True, "symbolic")
        values = self.sample(CONFIRM_POINTS, seed + 1)
        witness = self.difference(a, b, values)
        if witness:
            return witness
        if verdict is None:
            return _Comparison(True, "numeric", note=f"not proven exactly ({reason}); "
                               f"equal at {points + CONFIRM_POINTS} random points")
        for index in range(min(3, CONFIRM_POINTS)):  # the exact test says "differ": find out how much
            if pair := self.precisely_differ(a, b, values, index):
                return self.witness(values, index, pair, "symbolic",
                                    f"the difference is below the float64 tolerance; shown at {DIGITS} digits")
        return _Comparison(True, "numeric", note="the exact test cannot relate the functions used (e.g. tanh "
                           f"and exp); equal to {AGREEING_DIGITS} digits at 3 random points")


# -- one gradient --------------------------------------------------------------------------------
def _route(derivation: Derivation, path: Path) -> tuple[str, ...]:
    """The neurons a path goes through after the parameter's own (d_2 for w_{21} → c_1 → d_2)."""
    after = path.neurons[1:] if len(path.neurons) > 1 else path.neurons
    return tuple(derivation.model.label(neuron) for neuron in after)


def _words(labels: tuple[str, ...]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _factors(term: sympy.Expr) -> tuple[sympy.Expr, list[sympy.Expr], list[sympy.Expr]]:
    """(coefficient, factors up to sign, factors as written): x^2 counts as x twice, a factor
    (target - out) as -(out - target) and 2 out - 2 target as 2 (out - target), so that a sign
    slip or a stray number shows as the coefficient."""
    coefficient, rest = term.as_coeff_Mul()
    normalized, written = [], []
    for factor in sympy.Mul.make_args(rest):
        base, exponent = factor.as_base_exp()
        repeat = int(exponent) if exponent.is_Integer and 0 < exponent <= 16 else 1
        base = base if repeat > 1 or factor == base else factor
        if base.is_Add:
            content, base = base.as_content_primitive()
            coefficient *= content**repeat
        if base.is_Add and base.could_extract_minus_sign():
            normalized += [-base] * repeat
            coefficient *= (-1) ** repeat
        else:
            normalized += [base] * repeat
        written += [base] * repeat
    return coefficient, normalized, written


def _term_difference(ws: _Workspace, values, written: sympy.Expr, expected: sympy.Expr) -> tuple[int, list[str]]:
    """How many factors two terms share, and their differences in words."""
    def factor_values(term):
        coefficient, normalized, shown = _factors(term)
        return coefficient, [(ws.evaluate(f, values), s) for f, s in zip(normalized, shown)]

    (c_written, mine), (c_expected, theirs) = factor_values(written), factor_values(expected)
    remaining, extra = list(theirs), []
    for value, shown in mine:
        same = next((j for j, (v, _) in enumerate(remaining) if _disagreement(value, v) is None), None)
        if same is None:
            extra.append(shown)
        else:
            remaining.pop(same)
    missing = [shown for _, shown in remaining]
    shared = len(mine) - len(extra)
    latex = lambda factors: ", ".join(ws.latex(f) for f in factors)  # noqa: E731
    clauses = []
    if extra and missing:
        plural = len(extra) > 1 or len(missing) > 1
        what = "wrong factors" if plural else "a wrong factor"
        clauses.append(f"{what}: {latex(extra)} instead of {latex(missing)}")
    elif missing:
        clauses.append(f"no factor {latex(missing)}")
    elif extra:
        clauses.append(f"an extra factor {latex(extra)}")
    if c_written == -c_expected:
        clauses.append("the wrong sign")
    elif c_written != c_expected:
        clauses.append(f"the coefficient {c_written} instead of {c_expected}")
    return shared, clauses


def diagnose_paths(derivation: Derivation, gradient: Gradient, written: sympy.Expr, points: int = 3,
                   seed: int = 0) -> tuple[TermCheck, ...]:
    """Match the terms of ``written`` to the gradient's paths: matched, wrong (with the differing
    factors), missing or extra. Empty when ``written`` does not look like a path sum.

    >>> from symbackprop import derive
    >>> d = derive("2-4-3-2", only=["w_21"])
    >>> eq23 = "out_d1*(1-out_d1)*(out_d1-target_d1)*w31*out_c1*(1-out_c1)*out_b1"
    >>> written = parse_math(eq23, name_table(d.model.latex_names))
    >>> [t.message for t in diagnose_paths(d, d.gradient("w_21"), written)]
    ['the term through d_1 is right', 'the term through d_2 is missing']
    """
    return _diagnose(_Workspace(derivation), derivation, gradient, written, points, seed)


def _diagnose(ws: _Workspace, derivation: Derivation, gradient: Gradient, written: sympy.Expr, points: int,
              seed: int) -> tuple[TermCheck, ...]:
    paths = gradient.paths
    if paths is None and gradient.n_paths <= MAX_DIAGNOSED_PATHS:
        paths = derivation.chain.paths(gradient.parameter)
    terms = sympy.Add.make_args(written.xreplace(ws.deltas_over_outputs))
    if not paths or len(paths) > MAX_DIAGNOSED_PATHS or len(terms) > 2 * len(paths) + 4:
        return ()
    values = ws.sample(points, seed)
    routes = [_words(_route(derivation, p)) for p in paths]
    found: dict[int, TermCheck] = {}  # path index → its check
    unused = list(range(len(terms)))
    path_values = [ws.evaluate(p.value, values) for p in paths]
    for t in list(unused):
        term_values = ws.evaluate(terms[t], values)
        free = [i for i in range(len(paths)) if i not in found]
        same = next((i for i in free if _disagreement(term_values, path_values[i]) is None), None)
        if same is not None:
            found[same] = TermCheck("matched", _route(derivation, paths[same]), terms[t], paths[same].value,
                                    f"the term through {routes[same]} is right")
            unused.remove(t)
    pairs = []  # (-shared factors, term, path, differences): most alike first
    for t in unused:
        for i in (i for i in range(len(paths)) if i not in found):
            shared, clauses = _term_difference(ws, values, terms[t], paths[i].value)
            if shared and 2 * shared >= len(_factors(paths[i].value)[1]):
                pairs.append((-shared, t, i, clauses))
    for _, t, i, clauses in sorted(pairs, key=lambda pair: pair[:3]):
        if i not in found and t in unused:
            what = "; ".join(clauses) or "a different value"
            found[i] = TermCheck("wrong", _route(derivation, paths[i]), terms[t], paths[i].value,
                                 f"the term through {routes[i]} has {what}")
            unused.remove(t)
    if not found:
        return ()
    checks = [found.get(i) or TermCheck("missing", _route(derivation, paths[i]), None, paths[i].value,
                                        f"the term through {routes[i]} is missing") for i in range(len(paths))]
    name = derivation.model.latex_names[gradient.parameter.symbol]
    checks += [TermCheck("extra", (), terms[t], None,
                         f"the term {ws.latex(terms[t])} is extra: no path from {name} to the error gives it")
               for t in unused]
    return tuple(checks)


def check_gradient(derivation: Derivation, parameter: str, text: str, points: int = 3,
                   seed: int = 0) -> GradientVerdict:
    """Is ``text`` a correct formula for ∂E_total/∂``parameter``? (``verify --param``)

    Raises ``SpecError`` for an unknown parameter and ``FormulaError`` for a formula that does
    not parse or names something unknown.

    >>> from symbackprop import derive
    >>> d = derive("2-4-3-2", only=["w_21"])
    >>> v = check_gradient(d, "w_21", r"\\delta_{d_1} w_{31} out_{c_1}(1 - out_{c_1}) out_{b_1}")
    >>> v.correct, v.diagnosis
    (False, ['the term through d_2 is missing'])
    """
    if points < 1:
        raise ValueError("the numeric check needs at least one point")
    model, chain = derivation.model, derivation.chain
    p = find_parameter(chain, parameter)
    gradient = chain.gradient(p, with_paths=chain.count_paths(p) <= MAX_DIAGNOSED_PATHS)
    ws = _Workspace(derivation)
    written = ws.parse(text)
    delta_form = gradient.delta_value
    result = ws.compare(written, delta_form, lambda: sympy.diff(model.expanded_loss, p.symbol), points, seed)
    if not result.equal and model.loss_function.targets_sum_to_one:
        # the handout's cross-entropy results (g = ŷ - y) hold when the targets sum to 1: say so
        with ws.assuming_targets_sum_to_one():
            assumed = ws.compare(written, delta_form, lambda: sympy.diff(model.expanded_loss, p.symbol), points, seed)
        if assumed.equal:
            result = replace(assumed, note=(
                "correct when the targets sum to 1, as the handout assumes for the cross-entropy "
                "(a probability distribution); for targets that do not, it is not the gradient"))
    shown = ordered_sum(path.product for path in gradient.paths) if gradient.paths else gradient.delta_form
    terms = () if result.equal else _diagnose(ws, derivation, gradient, written, points, seed)
    return GradientVerdict(
        model.latex_names[p.symbol], result.equal, result.method, written, ws.latex(written), gradient.chain_rule,
        ws.latex(shown), result.point, result.left_value, result.right_value, terms, result.note,
    )


# -- a chain of steps ----------------------------------------------------------------------------
def split_steps(text: str) -> list[tuple[int, str]]:
    """The sides of ``A = B = C`` at top-level ``=`` (not inside braces or brackets), each with its
    offset in ``text``; ``&`` and ``\\\\`` (aligned environments) are ignored.

    >>> split_steps(r"f(x) = \\frac{a=b}{2} = c")
    [(0, 'f(x) '), (6, ' \\\\frac{a=b}{2} '), (22, ' c')]
    """
    cleaned = text.replace("\\\\", "  ").replace("&", " ")
    sides, depth, start = [], 0, 0
    for index, char in enumerate(cleaned):
        depth += (char in "([{") - (char in ")]}")
        if char == "=" and depth == 0:
            sides.append((start, cleaned[start:index]))
            start = index + 1
    sides.append((start, cleaned[start:]))
    return sides


def check_steps(text: str, derivation: Optional[Derivation] = None, points: int = 3, seed: int = 0,
                variables: Iterable[str] = ("z",), definitions: Optional[Mapping[str, str]] = None) -> StepsVerdict:
    """Check every ``=`` of a derivation chain (``verify --steps``). ``variables`` are free
    (real) variables; ``definitions`` names shorthands, e.g. ``{"a": "1/(1-e^{-z})"}``; with a
    ``derivation`` the network's names may be used too.

    >>> v = check_steps(r"\\frac{d}{dz} a = a(1 - a)", definitions={"a": r"\\frac{1}{1+e^{-z}}"})
    >>> v.correct, v.steps[0].method
    (True, 'symbolic')
    """
    if points < 1:
        raise ValueError("the numeric check needs at least one point")
    variables = tuple(variables)
    ws = _Workspace(derivation, variables, definitions)
    sides = split_steps(text if isinstance(text, str) else "")
    if len(sides) < 2:
        raise FormulaError("a chain of steps needs at least one '=' (A = B = ...)", str(text), None)
    expressions = []
    for offset, side in sides:
        try:
            expressions.append(ws.parse(side))
        except FormulaError as error:
            position = None if error.position is None else offset + error.position
            raise FormulaError(error.problem, text, position, error.allowed) from None

    def same(left, right) -> _Comparison:
        return ws.compare(left, right, lambda: right.xreplace(ws.full), points, seed)

    steps = []
    texts = [side.strip() for _, side in sides]
    for number, (left, right) in enumerate(zip(expressions, expressions[1:]), start=1):
        result = same(left, right)
        steps.append(Step(
            number, texts[number - 1], texts[number], left, right, ws.latex(left), ws.latex(right),
            result.equal, result.method, result.point, result.left_value, result.right_value, result.note,
        ))
    ends = same(expressions[0], expressions[-1]).equal if len(expressions) > 2 else None
    return StepsVerdict(tuple(expressions), tuple(steps), ends)


__all__ = [
    "TermCheck", "GradientVerdict", "Step", "StepsVerdict", "check_gradient", "check_steps",
    "diagnose_paths", "split_steps",
]
