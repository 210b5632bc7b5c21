"""Check a hand derivation: a formula for ∂E_total/∂w, or a chain of steps A = B = C.

Formulas are read by the safe grammar of ``symbackprop.algebra.grammar`` (LaTeX as the handouts print
it, or plain text) in the network's own names. A formula is right when it is *proven* equal:
every intermediate name (net, out, δ, E_total) is replaced by its definition down to the inputs,
targets and weights, and the difference from ``sympy.diff`` of the expanded E_total is shown to
be zero by ``symbackprop.algebra.exact`` (``sympy.diff`` taken by SymEngine where installed, as in the
proofs: ``algebra.differentiate``). A numeric check at random points guards the proof and, for a
wrong formula, gives a point where the two sides differ. Where the exact test cannot decide
(a network over ``SYMBOLIC_LIMIT`` parameters, a timeout, or functions it treats as unrelated,
such as tanh and exp) the verdict says it rests on numbers: float64 at random points, then 50
significant digits, which separate a true identity from a difference of 1e-12.

No numeric agreement overrides an exact difference: when the exact test says the two differ,
their difference is evaluated at an exact (rational) point to a certified accuracy, so a factor
1 + 10^{-31} is found though float64 cannot see it. Where float64 cannot evaluate a side
(e^{1000}, 0·inf), the point is evaluated at 50 digits; a point where neither side is a real
number is no evidence, and when no point is, the verdict is "not checked" (``correct`` None),
never "right". Numbers with decimals in ``--steps`` count as rounded (0.74136507 may be off by
5e-9; a short one inside a computation, a weight 0.4, is a value given), so a chain of rounded arithmetic is judged within that rounding (``rounding``), or within
a tolerance given; for the cross-entropy, steps and gradients are judged, like the handout, with
targets that sum to 1, and the verdict says so.

For a wrong gradient, ``checking.diagnose`` names the mistake whatever the form it was written in
(a path sum, a factored delta recursion, δ · out): a mutation of the true delta recursion (a term
dropped, a wrong weight, σ for σ', a sign, the ½ dropped, another parameter's gradient, ...)
that equals the formula at every random point ("the term through d_2 is missing", "the term
through d_2 has a wrong weight: w_{31} where it needs w_{34}"); when none does, a sum of path
products (seed 000's eqs (23) + (25)) is still compared term by term, and otherwise nothing is
said. The correct formula shown is the simplest proven form (ŷ − y where the output factors
cancel), the delta recursion, shortened, where the path sum would be long.

>>> from symbackprop import derive
>>> d = derive("2-4-3-2", only=["w_31"])
>>> check_gradient(d, "w_{31}", "(out_d1 - target_d1)*out_d1*(1 - out_d1)*out_c1").correct
True
>>> check_steps(r"\\frac{d}{dz} z^2 = 2z = z^2").first_wrong.number
2
"""

from __future__ import annotations

import math
import random
import re
import weakref
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Union

import mpmath
import sympy
from sympy.core.evalf import PrecisionExhausted

from ..algebra.differentiate import derivative, sympy_only
from ..algebra.evaluate import at_point, evaluate
from ..algebra.exact import are_equal
from ..algebra.expressions import Chain, Total, ordered_sum, tidy
from ..algebra import shapes
from ..algebra.grammar import (
    FormulaError,
    Literal,
    NameTable,
    Repair,
    Textbook,
    name_key,
    name_table,
    name_value,
    parse_math,
    split_claim,
)
from ..algebra.lazy import numpy as np
from ..algebra.limits import time_limit
from ..derivation.chainrule import Gradient, Path, definition_symbols, find_parameter
from ..handout.latex import to_latex
from ..network.activations import sign_times_argument
from ..network.model import definitions_used, expand_definitions
from ..network.notation import NOTATIONS
from ..network.spec import NetworkSpec, SpecError
from ..proof import numeric
from ..proof.prove import SYMBOLIC_LIMIT, TOLERANCE

if TYPE_CHECKING:  # for annotations only: this stage takes the data it is given, it does not run the pipeline
    from ..api import Derivation

EXACT_SECONDS = 20  # longest exact test before falling back to numbers
PRECISE_SECONDS = 5  # longest evaluation of one point at DIGITS digits, or of one certified difference
CONFIRM_POINTS = 20  # extra random points when the exact test does not decide
DIGITS = 50  # precision of the high-precision evaluation
AGREEING_DIGITS = 30  # at DIGITS digits, values this close (relative) are equal
PRECISE_TOLERANCE = 10.0**-AGREEING_DIGITS
CERTIFIED_DIGITS = 1300  # a difference is told from zero down to this many digits (10^{-1200} is writable)
MAX_PRECISE_POINTS = 3  # points of a sample evaluated at DIGITS digits where float64 cannot decide
HUGE_BITS = 100_000  # a value beyond 2^±HUGE_BITS is too large to evaluate (or to print)
MAX_DIAGNOSED_PATHS = 64
EXACT_FIRST_LIMIT = 50  # parameters: verify --param tries the exact test first, with SymPy alone (``_proven_right``)
CLEAR_DIFFERENCE = 1e-6  # relative: in float64 a difference this large needs no confirmation at DIGITS digits

Number = Union[float, sympy.Float]  # a witness value: a SymPy Float where float64 cannot show it


@dataclass(frozen=True)
class TermCheck:
    """One term of a path sum: ``kind`` is "matched", "wrong", "missing" or "extra"; ``route`` the
    labels of the neurons the path goes through (``("d_2",)``), empty for an extra term."""

    kind: str
    route: tuple[str, ...]
    written: sympy.Expr | None  # the user's term (None when missing)
    expected: sympy.Expr | None  # the path's product of factor values (None when extra)
    message: str


@dataclass(frozen=True)
class GradientVerdict:
    """The verdict on a formula for ∂E_total/∂``parameter``.

    ``correct`` is True, False, or None when it could not be checked (no point where both sides
    are real numbers, and no exact decision; ``note`` says why). ``method`` is "symbolic" (an
    exact proof, or an exact disproof with a witness) or "numeric" (see ``note``). When
    incorrect, ``point`` (the names of the primary symbols the two sides depend on → values) is
    where the written and the expected values differ; ``terms`` compares a path sum term by term.
    """

    parameter: str  # LaTeX name, e.g. w_{31}
    correct: bool | None
    method: str
    written: sympy.Expr
    written_latex: str
    expected: sympy.Expr  # the chain-rule form: the path sum, or δ_j · out_i
    expected_latex: str
    point: dict[str, float] | None = None
    written_value: Number | None = None
    expected_value: Number | None = None
    terms: tuple[TermCheck, ...] = ()
    note: str = ""
    tolerance: float = 0.0  # relative: the sides need only agree this closely
    readings: tuple[str, ...] = ()  # names read in Nielsen's numbering: "w^3_{12} = W^{[2]}_{1,2}"
    loss: str = "E"  # the loss's short name in the notation (E, or L in layer and column notation)
    mistakes: tuple[str, ...] = ()  # the mistake named whatever the formula's form (``checking.diagnose``)
    elementwise: tuple[str, ...] = ()  # vector operations read entry by entry, as NumPy does (``shapes.BROADCAST``, ...)
    aliases: tuple[str, ...] = ()  # other spellings read: the walk-through's "w_5 = w_{21}"

    @property
    def diagnosis(self) -> list[str]:
        """What is wrong, in words: the named mistake whatever the formula's form
        (``checking.diagnose``), else, for a path sum, its terms' differences (empty when nothing is certain)."""
        return list(self.mistakes) or [term.message for term in self.terms if term.kind != "matched"]


@dataclass(frozen=True)
class Step:
    """Step ``number`` (from 1) claims that expression ``number`` equals expression ``number + 1``
    (``relation`` "=", or "\\approx"/"≈": equal up to the rounding shown). ``correct`` is None
    when the step could not be checked (``note`` says why); ``tolerance`` is the relative
    difference allowed (from the digits of rounded numbers, or given)."""

    number: int
    left_text: str  # the two sides as written
    right_text: str
    left: sympy.Expr  # as parsed, derivatives evaluated
    right: sympy.Expr
    correct: bool | None
    method: str
    point: dict[str, float] | None = None
    left_value: Number | None = None
    right_value: Number | None = None
    note: str = ""
    relation: str = "="
    tolerance: float = 0.0
    printer: Callable[[sympy.Basic], str] = field(default=to_latex, repr=False, compare=False)
    diagnosis: tuple[str, ...] = ()  # a wrong gradient step (∂E/∂w_{31} = ...): what is wrong, as --param says
    correction: str = ""  # ... and its correct formula

    @cached_property
    def left_latex(self) -> str:
        """The left side as parsed, in LaTeX (printed when asked: a derivative's side can be long)."""
        return self.printer(self.left)

    @cached_property
    def right_latex(self) -> str:
        return self.printer(self.right)


@dataclass(frozen=True)
class StepsVerdict:
    """Every step of a chain A = B = C = …; ``ends_agree`` whether A = the last expression
    (None for a single step, or when that could not be checked): errors can cancel, as in seed 001."""

    expressions: tuple[sympy.Expr, ...]
    steps: tuple[Step, ...]
    ends_agree: bool | None
    readings: tuple[str, ...] = ()  # names read in Nielsen's numbering: "a^2_1 = a^{[1]}_{1}"
    elementwise: tuple[str, ...] = ()  # vector operations read entry by entry, as NumPy does
    aliases: tuple[str, ...] = ()  # other spellings read: the walk-through's "w_5 = w_{21}"

    @property
    def correct(self) -> bool | None:
        """True when every step is right, False when one is wrong, None when some could not be checked."""
        if any(step.correct is False for step in self.steps):
            return False
        return None if self.unchecked else True

    @property
    def first_wrong(self) -> Step | None:
        return next((step for step in self.steps if step.correct is False), None)

    @property
    def unchecked(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.correct is None)


# -- comparing two expressions -----------------------------------------------------------------
@dataclass(frozen=True)
class _Comparison:
    equal: bool | None  # None: not checked (``note`` says why)
    method: str
    point: dict[str, float] | None = None
    left_value: Number | None = None
    right_value: Number | None = None
    note: str = ""


def _disagreement(a: np.ndarray, b: np.ndarray, tolerance: float = TOLERANCE) -> int | None:
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


def _relative(x, y):
    """|x - y| / max(|x|, |y|), 0 when both are 0 (floats or SymPy numbers)."""
    scale = max(abs(x), abs(y))
    return abs(x - y) / scale if scale else 0 * scale


def _real(value: sympy.Expr) -> sympy.Float | None:
    """A number SymPy computed, as a real Float; None when it is not a real number (complex,
    infinite, undefined). Raises ``ValueError`` when it is not a number or too large to handle.

    >>> _real(sympy.Rational(1, 4)), _real(sympy.log(-2).evalf())
    (0.25000000000000000000000000000000000000000000000000, None)
    """
    if value.has(sympy.zoo, sympy.nan, sympy.oo, sympy.S.NegativeInfinity):
        return None
    re, im = value.as_real_imag()
    if not (re.is_Number and im.is_Number):
        raise ValueError(f"not a number: {value}")
    re, im = (v if v.is_Float else sympy.Float(v, DIGITS) for v in (re, im))
    if re._mpf_[1] and abs(re._mpf_[2] + re._mpf_[3]) > HUGE_BITS:
        raise ValueError("too large to evaluate")
    return re if abs(im) <= 1e-12 * max(abs(re), 1) else None


def _shown(x, y) -> tuple[Number, Number]:
    """The values of a witness: floats where float64 holds them and shows their difference,
    else the SymPy Floats (e^{1000}, or two sides 1e-40 apart); nan for "not a real number"."""
    def as_float(v):
        try:
            f = float(v)
        except OverflowError:
            return None
        return f if math.isfinite(f) and (f != 0 or not v) else None  # not v: SymPy's Float(0) == 0 is False

    if isinstance(x, float) and isinstance(y, float):
        return float(x), float(y)
    fx, fy = (float("nan") if v is None else as_float(v) for v in (x, y))
    if fx is None or fy is None or (fx == fy and x != y):
        return tuple(float("nan") if v is None else v for v in (x, y))
    return fx, fy


def _short(value: sympy.Float, digits: int = 2) -> str:
    """A SymPy Float in a few digits, however small or large (``4.8e-1000``).

    >>> _short(sympy.Float("4.75406e-1000", 20))
    '4.8e-1000'
    """
    with mpmath.workdps(digits + 5):
        return mpmath.nstr(mpmath.mpf(value._mpf_ if isinstance(value, sympy.Float) else value), digits)


def _digits_needed(expr: sympy.Expr) -> int:
    """Digits enough to see a difference that the numbers written in ``expr`` can make (a factor
    1 + 10^{-31} needs some 31 more than float64 has): 40 plus the digits of its rational numbers,
    at most CERTIFIED_DIGITS.

    >>> _digits_needed(sympy.Rational(1, 10**31) + sympy.Symbol("z"))
    71
    """
    digits = 40
    for number in expr.atoms(sympy.Rational):
        digits += len(str(abs(number.p))) + len(str(number.q)) - 2
        if digits >= CERTIFIED_DIGITS:
            return CERTIFIED_DIGITS
    return digits


def _clear_gap(a: sympy.Expr, b: sympy.Expr, point: dict, digits: int) -> tuple[sympy.Float | None, tuple]:
    """a - b at an exact point, evaluated at ``digits`` + 30 working digits (fast, unlike a
    certified evaluation of the whole difference), when the gap is beyond doubt: over 10^{-digits}
    relative to both sides; else (None, ())."""
    work = digits + 30
    at = {s: sympy.Float(v, work) for s, v in point.items()}
    pair = tuple(_real(sympy.N(side.xreplace(at), work)) for side in (a, b))
    if None in pair:
        return None, ()
    gap = pair[0] - pair[1]
    scale = max(abs(pair[0]), abs(pair[1]))
    if scale == 0 or abs(gap) <= scale * sympy.Float(10, work) ** -digits:
        return None, ()
    return gap, tuple(sympy.Float(v, DIGITS) for v in pair)


def _unrelated(expr: sympy.Expr) -> list[str]:
    """What the exact test treats as independent variables besides the symbols (functions,
    powers with a symbolic or fractional exponent, constants such as e); none for a rational
    function, whose difference the exact test decides for good.

    >>> z = sympy.Symbol("z")
    >>> _unrelated(sympy.tanh(z) + sympy.sqrt(z) + z**2), _unrelated(1 / (1 + z))
    (['non-integer powers', 'tanh'], [])
    """
    found = set()
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Function):
            found.add(type(node).__name__)
        elif node.is_Pow and not node.exp.is_Integer:
            found.add("non-integer powers")
        elif node.is_Number and not node.is_Rational or isinstance(node, sympy.NumberSymbol):
            found.add(str(node))
    return sorted(found)


_NAME_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SAMPLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model → the network's values at sample points


def _names(model) -> dict[str, sympy.Symbol]:
    """The grammar's name table of a model, built once per model (a wide network has 24,000 names,
    and ``lint`` checks many formulas against one derivation)."""
    if model not in _NAME_TABLES:
        table = name_table(model.latex_names)
        walkthrough = getattr(model.notation, "walkthrough_names", None)  # letter notation: the walk-through's w_5
        if walkthrough is not None:
            by_name = {s.name: s for s in model.latex_names}
            table.add_aliases({alias: by_name[name.symbol] for alias, name in walkthrough(model.spec.shared_bias).items()
                               if name.symbol in by_name})
        _NAME_TABLES[model] = table
    return _NAME_TABLES[model]


def walkthrough_spellings(model) -> dict[str, str]:
    """The classic walk-through's spelling of each name it has one for (letter notation, one hidden
    layer): symbol name -> spelling, out_b_1 -> out_{h_1}, w_21 -> w_5."""
    return {symbol.name: spelling for symbol, spelling in _names(model).spellings.items()}


def _alias_latex(spelling: str) -> str:
    """An alias as the handouts print names: out_{h_1} as \\mathrm{out}_{h_1}, w_5 as w_{5}.

    >>> _alias_latex("out_{h_1}"), _alias_latex("w_5"), _alias_latex("E_{o_1}")
    ('\\\\mathrm{out}_{h_1}', 'w_{5}', 'E_{o_1}')
    """
    spelling = re.sub(r"^(out|net|target)_", r"\\mathrm{\1}_", spelling)
    return re.sub(r"_([0-9A-Za-z])$", r"_{\1}", spelling)


class _Derived:
    """The parameters a derivation was asked for (``derive(only=...)``), for looking a name up
    among those few first rather than among every parameter of a wide network."""

    def __init__(self, derivation: Derivation):
        self.model = derivation.model
        self.parameters = [g.parameter for g in derivation.gradients]


def _parameter(derivation: Derivation, name: str):
    """``find_parameter``, trying the derived parameters first when only some were derived."""
    if derivation.selected and len(derivation.gradients) < len(derivation.chain.parameters):
        try:
            return find_parameter(_Derived(derivation), name)
        except (SpecError, FormulaError):
            pass
    return find_parameter(derivation.chain, name)


class _Later:
    """A set computed the first time it is asked (``in``, ``bool``): what two sides depend on is
    needed only to name a witness point, and through every definition of a wide network it is costly.

    >>> later = _Later(lambda: {1, 2})
    >>> 2 in later, bool(later)
    (True, True)
    """

    def __init__(self, compute: Callable[[], set]):
        self._compute, self._value = compute, None

    @property
    def value(self) -> set:
        if self._value is None:
            self._value = self._compute()
        return self._value

    def __contains__(self, item) -> bool:
        return item in self.value

    def __bool__(self) -> bool:
        return bool(self.value)


@dataclass
class _Tally:
    """What the random points showed: how many compared two real values, and why the others did not."""

    tried: int = 0
    compared: int = 0
    undefined: int = 0  # neither side is a real number there
    unknown: int = 0  # a side float64 cannot evaluate, too large or too slow at DIGITS digits too

    def add(self, other: _Tally) -> None:
        self.tried += other.tried
        self.compared += other.compared
        self.undefined += other.undefined
        self.unknown += other.unknown

    def reason(self) -> str:
        """Why nothing was compared, in words (only what was seen)."""
        floats = f"float64 cannot evaluate both sides at any of the {self.tried} random points"
        evaluated = self.undefined + self.unknown
        if self.undefined and not self.unknown:
            return f"{floats}, and at {DIGITS} digits neither side is a real number at the {evaluated} evaluated"
        if self.unknown and not self.undefined:
            return f"{floats}, and at {DIGITS} digits the {evaluated} evaluated are too large or too slow to evaluate"
        if evaluated:
            return (f"{floats}, and at {DIGITS} digits neither side is a real number at {self.undefined} of the "
                    f"{evaluated} evaluated, the others are too large or too slow to evaluate")
        return floats


NUMPY_SUM = re.compile(r"(?<![A-Za-z\\])(?:np|numpy)\s*\.\s*sum\s*\(")  # Ng's db = 1/m np.sum(dZ, axis=1, keepdims=True)


class Workspace:
    """What a check knows: the network's names and definitions (when a derivation is given), free
    variables such as z, and the user's own definitions (``a`` = 1/(1 - e^{-z}))."""

    def __init__(self, derivation: Derivation | None = None, variables: Iterable[str] = (),
                 definitions: Mapping[str, str] | None = None, own_names_only: bool = False):
        self.model = derivation.model if derivation is not None else None
        self.derivation = derivation
        self.names: NameTable = NameTable()
        self.latex_names: dict[sympy.Symbol, str] = {}
        self.one_level: dict[sympy.Symbol, sympy.Expr] = {}  # in evaluation order
        self.delta_definitions: dict[sympy.Symbol, sympy.Expr] = {}
        self.inputs: list[sympy.Symbol] = []
        self.textbook: Textbook | None = None  # column notation: Nielsen's and Ng's spellings too
        self.elementwise: list[str] = []  # vector operations the formulas' parse read entry by entry
        self.aliased: list[str] = []  # other spellings read (the walk-through's "w_5 = w_{21}")
        self.output_errors: dict[sympy.Symbol, sympy.Expr] = {}  # E_{c_1}: one output's term of E_total
        self.shorthand_gradients: dict[sympy.Symbol, set] = {}  # a --where shorthand -> the gradients its formula names
        if derivation is not None:
            m = self.model
            self.delta_definitions = {d.symbol: d.definition for d in derivation.chain.deltas}  # output first
            self.names = NameTable(_names(m), latex=m.latex_names)  # messages list names as the handout spells them
            self.names.aliases = dict(_names(m).aliases)  # the walk-through's w_5, out_{h1} (E_{o1} below)
            self.names.spellings = dict(_names(m).spellings)
            self.latex_names = dict(m.latex_names)
            self.one_level = {**m.definitions, m.loss_symbol: m.loss, **self.delta_definitions}
            self.inputs = list(m.primary)
            if m.notation.columns:
                self.textbook = Textbook(m.spec.depth, self.latex_names)
            elif m.spec.notation == "neurons":
                self._output_errors(m)
        self.variables = [sympy.Symbol(v, real=True) for v in variables]
        for spelling, symbol in zip(variables, self.variables):
            self.names[name_key(spelling)] = symbol
            self.names.latex[symbol] = spelling
            self.latex_names[symbol] = spelling
        self.inputs += self.variables
        self.user_definitions: dict[sympy.Symbol, sympy.Expr] = {}
        self.batch_products = False  # two n × m matrices of one shape multiply entry by entry (``BatchWorkspace``)
        self.define(definitions or {}, own_names_only)
        self.symbolic = self.model is None or self.model.spec.n_parameters <= SYMBOLIC_LIMIT
        self.samples: dict[tuple[int, int], dict] = {}
        self.given: dict[sympy.Symbol, sympy.Expr] = {}  # an assumption (``assuming_targets_sum_to_one``)
        self.sides = ("the left side", "the right side", "the sides")  # how verdicts name the two sides
        self.slow = False  # a precise evaluation timed out in the current comparison
        self._depends: dict[sympy.Symbol, int] = {}  # a defined symbol → the primary symbols it depends on (bits)
        self._bits: dict[sympy.Symbol, int] = {}  # a primary symbol → its bit in those sets
        self._bit_symbols: list[sympy.Symbol] = []
        self.diagnosed = 0  # wrong formulas diagnosed in words (a matrix's entries: at most MAX_DIAGNOSED_ENTRIES)

    def define(self, definitions: Mapping[str, str], own_names_only: bool = False) -> None:
        """The user's shorthands (``verify --where``), each name -> its formula; with ``own_names_only``
        none may take a name the network has."""
        for spelling, text in definitions.items():
            key = name_key(spelling)
            if own_names_only and (key in self.names or key in self.names.aliases):  # --param: the network's own
                raise FormulaError(f"the network already names {spelling}: give the shorthand a name of its own",
                                   f"{spelling}={text}", 0)
            named: set = set()
            value = self.parse(text, matrices=True, gradients=named)
            if shapes.is_matrix(value):  # a vector or matrix shorthand (G = dZ^{[2]}) stands for its value, inline
                self.names[key] = value
                self.names.latex[value] = spelling
                continue
            symbol = sympy.Symbol(spelling, real=True)
            self.shorthand_gradients[symbol] = named
            self.user_definitions[symbol] = value
            self.one_level[symbol] = self.user_definitions[symbol]
            self.names[key] = symbol
            self.names.latex[symbol] = spelling
            self.latex_names[symbol] = spelling

    def _output_errors(self, m) -> None:
        """Letter notation's E_{c_1}, the classic walk-through's E_{o1}: one output's term of E_total
        (½(target_{c_1} - out_{c_1})² for squared error), so ∂E_total/∂out_{b_1} = ∂E_{c_1}/∂out_{b_1} +
        ∂E_{c_2}/∂out_{b_1} reads as written."""
        depth = m.spec.depth
        for neuron, out, target in zip(m.neurons(depth), m.out[depth], m.targets):
            label = m.label(neuron)
            symbol, spelled = sympy.Symbol(f"E_{label}", real=True), f"E_{{{label}}}"
            if symbol in self.latex_names or name_key(spelled) in self.names:
                continue
            self.one_level[symbol] = self.output_errors[symbol] = m.loss_function.term(out, target)
            self.names[name_key(spelled)] = symbol
            self.names.latex[symbol] = spelled
            self.latex_names[symbol] = spelled
            if self.names.aliases:  # one hidden layer: the walk-through's own spelling, E_{o1}
                self.names.add_aliases({f"E_{{o_{neuron.index + 1}}}": symbol})

    # -- the truth a gradient formula is judged against ------------------------------------------
    def check_names(self, written: sympy.Basic, text: str) -> None:
        """Refuse names a parsed formula may not use here (a batch workspace: one sample's)."""

    def matrix_latex(self, target: sympy.ImmutableMatrix) -> str:
        """The correct formula of a whole layer's gradient, where one is shown for it ("": each entry's)."""
        return ""

    def gradient_value(self, gradient: Gradient) -> sympy.Expr:
        """The gradient as the handout writes it (δ_j · out_i, over defined symbols), for the numbers."""
        return gradient.delta_value

    def gradient_exact(self, parameter: sympy.Symbol) -> sympy.Expr:
        """``sympy.diff`` of the plain E_total by ``parameter``, for the exact test."""
        return derivative(self.model.expanded_loss, parameter)

    def gradient_through(self, parameter: sympy.Symbol) -> sympy.Expr:
        """``sympy.diff`` by ``parameter`` of the plain E_total written over the net and out
        symbols ``parameter`` does not change (``Model.expansions_through``), for ``expand(…, through=parameter)``."""
        return derivative(self.model.expansions_through(parameter)[self.model.loss_symbol], parameter)

    def gradient_latex(self, gradient: Gradient, written: sympy.Basic | None = None) -> str:
        """The correct formula shown for a wrong one (``correct_formula``), in the terms of ``written``."""
        return correct_formula(self.derivation, gradient, self.latex, written)

    def gradient_mistakes(self, gradient: Gradient, written: sympy.Expr, points: int,
                          seed: int) -> tuple[tuple[TermCheck, ...], tuple[str, ...]]:
        """A wrong formula's term-by-term comparison and its named mistakes."""
        return (_diagnose(self, self.derivation, gradient, written, points, seed),
                tuple(_mistakes(self, self.derivation, gradient, written, seed)))

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

    def parse(self, text: str, literals: list | None = None, matrices: bool = False,
              repairs: list | None = None, gradients: set | None = None) -> sympy.Expr:
        """``text`` in the network's names; a vector or matrix formula only with ``matrices`` (and
        ``repairs``: see ``parse_math``). ``gradients``, a set, receives the parameters whose own
        gradient the formula names: ∂E/∂w_{31}, Ng's dW^{[2]}_{1,1}, a shorthand that does."""
        if not self.batch_products and (summed := NUMPY_SUM.search(text)):
            raise FormulaError("np.sum(...) sums a mini-batch's samples: give the batch (verify --batch M, "
                               "over the batch's matrices dZ^{[l]}, A^{[l]}, ...)", text, summed.start())
        taken: list | None = [] if gradients is not None else None
        start = len(self.textbook.gradients) if self.textbook is not None else 0
        try:
            result = parse_math(text, self.names, definitions=self.one_level, literals=literals, textbook=self.textbook,
                                matrices=matrices, sizes=self.model.spec.layers if self.model is not None else None,
                                readings=self.elementwise, aliased=self.aliased, repairs=repairs,
                                batch=self.batch_products, derivatives=taken)
        except FormulaError as error:
            if self.model is not None and error.problem.startswith("unknown name 'm'"):  # Ng's 1/m: a batch's size
                raise FormulaError("unknown name 'm': the number of samples of a mini-batch is known with "
                                   "--batch M (verify --batch)", error.text, error.position) from None
            raise
        if gradients is not None and self.model is not None:
            gradients.update(variable for operand, variable in taken if operand == self.model.loss_symbol)
            if self.textbook is not None:
                gradients.update(self.textbook.gradients[start:])
            for symbol in result.free_symbols & self.shorthand_gradients.keys():
                gradients.update(self.shorthand_gradients[symbol])
        return result

    def refuse_circular(self, parameters, named: set, text: str, layer: str | None = None) -> None:
        """``FormulaError`` when a formula for the gradient of ``parameters`` names that gradient
        itself (``named``, from ``parse``): ∂E/∂w_{31} = ∂E/∂w_{31} is true and checks nothing.
        ``layer``: the name of the whole matrix or vector ``parameters`` are (W^{[2]})."""
        circular = [p for p in parameters if p in named]
        if circular:
            loss = self.model.loss_symbol.name.split("_")[0]
            raise FormulaError(f"your formula is written with d{loss}/d{layer or self.latex(circular[0])} itself, the "
                               "gradient it is checked against: write it without it, in the network's quantities "
                               "(deltas, activations, net inputs, weights, targets)", text, None)

    def latex(self, expr: sympy.Basic) -> str:
        """``expr`` in LaTeX, its symbols under their handout names, or the classic walk-through's where
        the formula was written in them (out_{h_1}, w_5): the printer is handed only the names of the
        symbols in ``expr`` (it copies what it is given, and a wide network has 24,000)."""
        names = self.latex_names
        if isinstance(expr, sympy.Basic):
            names = {s: names[s] for s in expr.atoms(sympy.Symbol) if s in names}
        if self.aliased:
            names = {s: _alias_latex(self.names.spellings[s]) if s in self.names.spellings else n for s, n in names.items()}
        return to_latex(expr, names)

    def label(self, neuron) -> str:
        """A neuron's name in a diagnosis: c_2, or the walk-through's o_2 where the formula was written in its names."""
        if self.aliased and self.names.spellings:
            return f"{'iho'[neuron.layer]}_{neuron.index + 1}"
        return self.model.label(neuron)

    def readings(self) -> tuple[str, ...]:
        """The names read in Nielsen's numbering, each once, in the order written."""
        return tuple(dict.fromkeys(self.textbook.read)) if self.textbook is not None else ()

    @cached_property
    def full(self) -> dict[sympy.Symbol, sympy.Expr]:
        """Every defined symbol written over the primary symbols and free variables."""
        known: dict[sympy.Symbol, sympy.Expr] = {}
        if self.model is not None:
            known = expand_definitions(self.delta_definitions, known=self.model.expansions)
            known[self.model.loss_symbol] = self.model.expanded_loss
            known = expand_definitions(self.output_errors, known=known)
        return expand_definitions(self.user_definitions, known=known)

    def expand(self, expr: sympy.Expr, through: sympy.Symbol | None = None) -> sympy.Expr:
        """``expr`` over the primary symbols and free variables, expanding only the definitions it
        uses (a formula for one gradient needs a few deltas, not every one of a wide network).
        ``through`` a parameter: the forward pass is substituted only where that parameter changes
        it (``Model.expansions_through``), the other net and out symbols stand for themselves."""
        if self.model is None or ("full" in self.__dict__ and through is None):
            return expr.xreplace(self.full)
        needed, stack = set(), list(expr.free_symbols)
        while stack:
            symbol = stack.pop()
            if symbol in self.one_level and symbol not in needed:
                needed.add(symbol)
                stack.extend(self.one_level[symbol].free_symbols)
        if through is not None:
            known = dict(self.model.expansions_through(through))
        else:
            known = dict(self.model.expansions)
            if self.model.loss_symbol in needed:
                known[self.model.loss_symbol] = self.model.expanded_loss
        deltas = {s: d for s, d in self.delta_definitions.items() if s in needed}
        known = expand_definitions(deltas, known=known)  # output layer first: each uses only earlier ones
        known = expand_definitions({s: d for s, d in self.output_errors.items() if s in needed}, known=known)
        known = expand_definitions(self.user_definitions, known=known)
        return expr.xreplace(known)

    @cached_property
    def deltas_over_outputs(self) -> dict[sympy.Symbol, sympy.Expr]:
        """Each δ over out, target and weight symbols (for comparing path terms)."""
        return expand_definitions(self.delta_definitions)

    def over_outputs(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` with each δ in it written over out, target and weight symbols, as
        ``deltas_over_outputs`` writes them, expanding only the deltas it needs (of a wide layer's many)."""
        if "deltas_over_outputs" in self.__dict__:
            return expr.xreplace(self.deltas_over_outputs)
        needed = definitions_used([expr], self.delta_definitions)
        return expr.xreplace(expand_definitions({s: d for s, d in self.delta_definitions.items() if s in needed}))

    def depends_on(self, exprs: Iterable[sympy.Expr]) -> set[sympy.Symbol]:
        """The primary symbols and variables that ``exprs`` depend on, through every definition
        (each defined symbol's, once per workspace: a layer's matrix asks for hundreds of entries)."""
        found = 0
        for symbol in {s for e in exprs for s in e.free_symbols}:
            found |= self._primary(symbol)
        if not found:
            return set()
        bits = np.unpackbits(np.frombuffer(found.to_bytes((found.bit_length() + 7) // 8, "little"), dtype=np.uint8),
                             bitorder="little")
        return {self._bit_symbols[i] for i in np.flatnonzero(bits).tolist()}

    def _bit(self, symbol: sympy.Symbol) -> int:
        """The bit that stands for a primary symbol (or variable) in ``_primary``'s sets."""
        index = self._bits.get(symbol)
        if index is None:
            index = self._bits[symbol] = len(self._bit_symbols)
            self._bit_symbols.append(symbol)
        return index

    def _primary(self, symbol: sympy.Symbol) -> int:
        """The primary symbols one symbol depends on, as a set of bits (``_bit``; a union is one ``|``
        however many thousands a wide layer's outputs depend on), memoized for every definition on the way."""
        if symbol not in self.one_level:
            return 1 << self._bit(symbol)
        uses: dict[sympy.Symbol, set] = {}
        stack = [(symbol, False)]
        while stack:  # post-order: a definition after every definition it uses
            current, done = stack.pop()
            if current in self._depends:
                continue
            if done:
                leaves = bytearray(len(self._bit_symbols) // 8 + len(uses[current]) // 8 + 1)
                found = 0
                for s in uses[current]:
                    if s in self.one_level:
                        found |= self._depends[s]
                    else:
                        index = self._bit(s)
                        if index >= 8 * len(leaves):
                            leaves.extend(bytes(index // 8 + 1 - len(leaves)))
                        leaves[index >> 3] |= 1 << (index & 7)
                self._depends[current] = found | int.from_bytes(leaves, "little")
                continue
            uses[current] = definition_symbols(self.one_level[current])
            stack.append((current, True))
            stack.extend((s, False) for s in uses[current] if s in self.one_level and s not in self._depends)
        return self._depends[symbol]

    def targets_matter(self, exprs: Iterable[sympy.Expr]) -> bool:
        """Whether the cross-entropy's assumption on the targets can change a comparison of ``exprs``."""
        m = self.model
        return m is not None and m.loss_function.targets_sum_to_one and bool(self.depends_on(exprs) & set(m.targets))

    # -- numbers -------------------------------------------------------------------------------
    def agree_at_a_point(self, a: sympy.Expr, b: sympy.Expr, seed: int) -> bool:
        """Whether ``a`` and ``b`` agree at one random point, evaluated in Python floats (no NumPy):
        verify's screen before it tries the exact test first (``proven_right``). False where they
        differ, and where either side has no such value there (the usual route then decides).

        >>> from symbackprop import derive
        >>> ws = Workspace(derive("2-2-1", only=["w_11"], proof="none"))
        >>> a, b = ws.parse(r"\\delta_{b_1} out_{a_1}"), ws.parse(r"\\delta_{b_1} out_{a_2}")
        >>> ws.agree_at_a_point(a, a * 1, 0), ws.agree_at_a_point(a, b, 0)
        (True, False)
        """
        rng = random.Random(seed)
        targets = set(self.model.targets) if self.model is not None else set()
        point = {s: rng.uniform(0.05, 0.95) if s in targets else rng.uniform(-1.0, 1.0) for s in self.inputs}
        definitions = {**self.one_level, **self.given}
        for symbol in self.given:
            del point[symbol]
        memo: dict = {}
        try:
            x, y = at_point(a, point, definitions, memo), at_point(b, point, definitions, memo)
        except ValueError:
            return False
        return abs(x - y) <= TOLERANCE * max(abs(x), abs(y))

    def sample(self, n: int, seed: int) -> dict[sympy.Symbol, np.ndarray]:
        """Random values for the primary symbols and variables, and the values of every definition."""
        if (n, seed) in self.samples:
            return self.samples[n, seed]
        # the network's part is the same for every formula checked against one model (lint checks
        # hundreds): computed once per model, unless a user's definition replaces a network symbol
        shared = self.model is not None and not (set(self.user_definitions) & set(self.model.definitions))
        key = (n, seed, tuple(self.variables), bool(self.given))
        cache = _SAMPLES.setdefault(self.model, {}) if shared else {}
        if key not in cache:
            values = numeric.random_points(self.model, n, seed) if self.model is not None else {}
            if self.given:
                values = numeric.as_distribution(self.model, values)
            rng = np.random.default_rng([seed, 1])
            for variable in self.variables:
                values[variable] = rng.uniform(-2.0, 2.0, n)
            memo: dict = {}
            known = self._forward(n, seed) if shared and not self.given else {}
            for symbol, definition in self.one_level.items():
                if symbol in known:
                    values[symbol] = np.array(known[symbol], dtype=float)
                elif not shared or symbol not in self.user_definitions:
                    values[symbol] = self.evaluate(definition, values, memo)
            cache[key] = values
        values = dict(cache[key])
        if shared:
            memo = {}
            for symbol in self.user_definitions:
                values[symbol] = self.evaluate(self.one_level[symbol], values, memo)
        self.samples[n, seed] = values
        return values

    def _forward(self, n: int, seed: int) -> dict:
        """The net inputs and outputs at ``n`` points of seed ``seed`` as the proof's numeric check
        evaluated them (``Verification.forward``), when those are this sample's points and every one
        is real (float64: what ``evaluate`` makes of it is the number itself); else nothing."""
        verification = self.derivation.verification if self.derivation is not None else None
        forward = getattr(verification, "forward", None)
        if not forward or (verification.points, verification.seed) != (n, seed) or len(forward) != len(self.model.definitions):
            return {}
        if any(v in self.model.latex_names for v in self.variables):  # a variable named as a network symbol
            return {}
        if not all(type(v) is np.ndarray and v.dtype == np.float64 and v.shape == (n,) for v in forward.values()):
            return {}
        return forward

    @staticmethod
    def evaluate(expr: sympy.Expr, values, memo: dict | None = None) -> np.ndarray:
        """``expr`` at every point, as real numbers; nan where it is undefined or not real."""
        n = len(next(iter(values.values()))) if values else 1
        try:
            with np.errstate(all="ignore"):
                result = evaluate(expr, values, memo)
                if type(result) is float or (type(result) is np.ndarray and result.dtype == np.float64):
                    return np.array(np.broadcast_to(result, (n,)), dtype=float)  # real already: as below, quickly
                result = np.asarray(result, dtype=complex)
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

    def precise(self, a: sympy.Expr, b: sympy.Expr, values, index: int) -> tuple | None:
        """(a, b) at point ``index`` at DIGITS digits, each a real Float or None where it is not a
        real number; None when they cannot be evaluated that precisely (too large, or too slow)."""
        if self.slow:
            return None
        try:
            with time_limit(PRECISE_SECONDS):
                point = self.precise_point(values, index, (a, b))
                return tuple(_real(sympy.N(e.xreplace(point), DIGITS)) for e in (a, b))
        except TimeoutError:
            self.slow = True  # the other points would take as long: no more of them in this comparison
            return None
        except (TypeError, ValueError, ArithmeticError, RecursionError):
            return None

    def witness(self, values, index: int, pair: tuple, method: str, depends: set, note: str = "",
                sides: tuple = ()) -> _Comparison:
        """An "unequal" verdict with the point (the primary symbols and variables the two sides
        depend on) and both values there; given the two ``sides``, a value at the rounding level of
        the high-precision evaluation is settled first (``_settled``)."""
        depends = depends.value if isinstance(depends, _Later) else depends
        point = {s.name: float(values[s][index]) for s in self.inputs if s in values and s in depends}
        if sides:
            pair = tuple(self._settled(side, value, values, index) for side, value in zip(sides, pair))
        left, right = _shown(*pair)
        return _Comparison(False, method, point, left, right, note)

    def _settled(self, side: sympy.Expr, value, values, index: int):
        """``value``, a side at point ``index`` evaluated at DIGITS digits, or where it is at that
        evaluation's rounding level (below 10^{-(DIGITS-20)}: σ(1 - σ) - σ + σ², zero, comes out
        -6.7e-52) its value certified at the exact point: 0 where it is zero to 3·DIGITS digits,
        else the certified value. ``value`` as it was when that cannot be done in time."""
        if not isinstance(value, sympy.Float) or not value or abs(value) >= sympy.Float(10) ** -(DIGITS - 20):
            return value
        try:
            with time_limit(PRECISE_SECONDS):
                expanded = self.expand(side).xreplace(self.given)
                point = self._exact_point(expanded, values, index)
                if point is None:
                    return value
                certified = _real(expanded.xreplace(point).evalf(15, strict=True, maxn=3 * DIGITS))
        except PrecisionExhausted:
            return sympy.Float(0)
        except (TimeoutError, TypeError, ValueError, ArithmeticError, RecursionError):
            return value
        return value if certified is None else certified

    def numbers(self, a: sympy.Expr, b: sympy.Expr, values, tolerance: float,
                depends: set) -> tuple[_Comparison | None, _Tally]:
        """A point where a and b differ (a difference in float64 confirmed at DIGITS digits, or one
        side a real number and the other not), and the tally of what the points showed. Where
        float64 cannot evaluate a side (overflow, nan), the point is evaluated at DIGITS digits."""
        fa, fb = self.evaluate(a, values), self.evaluate(b, values)
        tally = _Tally(tried=len(fa))
        with np.errstate(all="ignore"):
            finite = np.isfinite(fa) & np.isfinite(fb)
            scale = np.maximum(np.abs(fa), np.abs(fb))
            relative = np.where(finite, np.abs(fa - fb) / np.where(scale > 0, scale, 1.0), 0.0)
        tally.compared = int(finite.sum())
        suspects = list(np.flatnonzero(relative > max(tolerance, TOLERANCE))[:MAX_PRECISE_POINTS])
        if 0 < tolerance < 100 * TOLERANCE:  # float64 cannot decide so fine a tolerance
            suspects += [i for i in np.flatnonzero(finite)[:MAX_PRECISE_POINTS] if i not in suspects]
        for index in suspects:
            if not self.symbolic and relative[index] > CLEAR_DIFFERENCE:  # a wide network: 50 digits of every
                return self.witness(values, index, (fa[index], fb[index]), "numeric", depends), tally  # net is slow
            pair = self.precise(a, b, values, index)
            if pair is None:  # cannot confirm: the float64 values, both finite, stand
                if relative[index] > max(tolerance, TOLERANCE):
                    return self.witness(values, index, (fa[index], fb[index]), "numeric", depends), tally
            elif None not in pair and _relative(*pair) > max(tolerance, PRECISE_TOLERANCE):
                if abs(pair[0] - pair[1]) < VANISHED * abs(fa[index] - fb[index]):
                    continue  # float64's difference was its rounding (a zero, 1e-17, came out 1e-52): the exact test decides
                return self.witness(values, index, pair, "numeric", depends, sides=(a, b)), tally
        unresolved = np.flatnonzero(~finite)
        for index in unresolved[:MAX_PRECISE_POINTS]:
            pair = self.precise(a, b, values, index)
            if pair is None:
                tally.unknown += 1
            elif pair == (None, None):
                tally.undefined += 1
            elif None in pair:
                side = self.sides[0] if pair[0] is None else self.sides[1]
                return self.witness(values, index, pair, "numeric", depends,
                                    f"{side} is not a real number there, the other side is"), tally
            else:
                tally.compared += 1
                if _relative(*pair) > max(tolerance, PRECISE_TOLERANCE):
                    return self.witness(values, index, pair, "numeric", depends,
                                        f"float64 cannot evaluate a side here (overflow or underflow): compared at {DIGITS} digits"), tally
        return None, tally

    # -- the check -----------------------------------------------------------------------------
    def exact(self, a: sympy.Expr, b_exact: Callable[[], sympy.Expr],
              through: sympy.Symbol | None = None) -> tuple[bool | None, str, tuple]:
        """The exact test of a = b over the primary symbols: True, False, or None with the reason;
        and the two sides written over the primary symbols (empty when not computed). ``through``
        a parameter: ``a`` is written as ``expand(a, through)`` writes it, and ``b_exact`` must be
        so written too; True is then a proof (what a symbol left standing stands for cannot make
        two equal sides differ), False and None are not."""
        if not self.symbolic:
            return None, f"the network has over {SYMBOLIC_LIMIT} parameters, too many for the exact test", ()
        try:
            with time_limit(EXACT_SECONDS):
                sides = self.expand(a, through).xreplace(self.given), b_exact().xreplace(self.given)
                if any(side.has(sympy.sign) for side in sides):  # d|u|/dw = sign(u) u': sign(u)·u is |u|
                    sides = tuple(sign_times_argument(side) for side in sides)
                return are_equal(*sides), "", sides
        except TimeoutError:
            return None, f"the exact test took over {EXACT_SECONDS} s", ()
        except ZeroDivisionError:
            return None, "a denominator is identically zero once the definitions are substituted", ()

    def disprove(self, sides: tuple, values, depends: set) -> tuple[_Comparison | None, bool]:
        """A proof that the sides differ, when the exact test says they do: their difference at an
        exact (rational) sample point, evaluated to a certified accuracy, is a nonzero real number,
        however small (10^{-40}, below float64's resolution). Else None, and whether the difference
        was zero to the digits tried (``_digits_needed``) at a point."""
        a, b = sides
        difference = sympy.Add(a, sympy.Mul(-1, b, evaluate=False), evaluate=False)
        digits = _digits_needed(difference)
        n = len(next(iter(values.values()))) if values else 1
        for index in range(min(MAX_PRECISE_POINTS, n)):
            point = self._exact_point(difference, values, index)
            if point is None:
                break
            try:
                with time_limit(PRECISE_SECONDS):
                    gap, pair = _clear_gap(a, b, point, digits)
                    if gap is not None:  # far above the working precision's error: no certified evaluation needed
                        return self._differ(values, index, pair, gap, depends, sides), False
                    gap = _real(difference.xreplace(point).evalf(15, strict=True, maxn=digits))
                    if gap is None:  # not a real number here: another point
                        continue
                    if not gap:  # (a SymPy Float: Float(0) == 0 is False since SymPy 1.13)
                        return None, True
                    pair = tuple(_real(side.xreplace(point).evalf(DIGITS)) for side in (a, b))
            except PrecisionExhausted:  # cannot be told from zero at that many digits: equal, or as good as
                return None, True
            except TimeoutError:  # another point would take as long
                self.slow = True
                break
            except ValueError as error:
                if "too large" in str(error):  # each side beyond 2^HUGE_BITS: their ratio may still decide
                    found = self._by_ratio(a, b, point, values, index, depends)
                    if found is not None:
                        return found, False
                continue
            except (TypeError, ArithmeticError, RecursionError):
                continue
            return self._differ(values, index, pair, gap, depends, sides), False
        return None, False

    def _exact_point(self, expr: sympy.Expr, values, index: int) -> dict | None:
        """Sample point ``index`` as exact rationals for every free symbol of ``expr``; None when one is
        not a primary symbol or variable (a defined symbol left in it has only a float64 value)."""
        inputs = set(self.inputs)
        point = {s: sympy.Rational(float(values[s][index])) for s in expr.free_symbols if s in values and s in inputs}
        return point if len(point) == len(expr.free_symbols) else None

    def _by_ratio(self, a, b, point, values, index: int, depends: set) -> _Comparison | None:
        """The sides differ where each is too large to evaluate (e^{100000} and 2 e^{100000}) when
        their ratio at the exact point is certified to be a real number other than 1; else None."""
        try:
            with time_limit(PRECISE_SECONDS):
                ratio = _real(sympy.Mul(a, sympy.Pow(b, -1)).xreplace(point).evalf(15, strict=True))
                if ratio is None or abs(ratio - 1) < 1e-12:
                    return None
                pair = tuple(side.xreplace(point).evalf(15) for side in (a, b))
        except (TimeoutError, PrecisionExhausted, TypeError, ValueError, ArithmeticError, RecursionError):
            return None
        note = f"both sides are beyond float64's range there, and their ratio is {_short(ratio, 6)}"
        return self.witness(values, index, pair, "symbolic", depends, note)

    def _differ(self, values, index: int, pair: tuple, gap, depends: set, sides: tuple) -> _Comparison:
        note = ""
        if None not in pair and _relative(*pair) < 100 * TOLERANCE:
            relative = abs(gap) / max(abs(pair[0]), abs(pair[1]))
            note = (f"{self.sides[2]} differ by {_short(gap)} there (relative {_short(relative, 1)}), "
                    "below float64's resolution: shown by exact evaluation")
        return self.witness(values, index, pair, "symbolic", depends, note, sides)

    def compare(self, a: sympy.Expr, b: sympy.Expr, b_exact: Callable[[], sympy.Expr], points: int,
                seed: int, tolerance: float = 0.0) -> _Comparison:
        """Is a = b (within ``tolerance``, relative)? Numbers first (a difference confirmed at
        DIGITS digits is final), then the exact test: equal is a proof; "differ" is made a proof
        at an exact point (``disprove``), which no numeric agreement overrides. Where neither
        decides, more points; where no point gives two real values, "not checked" (equal None)."""
        depends = _Later(lambda: self.depends_on((a, b)))  # needed only for a witness
        values = self.sample(points, seed)
        self.slow = False
        found, tally = self.numbers(a, b, values, tolerance, depends)
        if found:
            return found
        verdict, reason, sides = self.exact(a, b_exact)
        if verdict:
            note = "" if tally.compared else f"equal as formulas, but {tally.reason()}"
            return _Comparison(True, "symbolic", note=note)
        zero = False
        if verdict is False and not tolerance and not self.slow:
            found, zero = self.disprove(sides, values, depends)
            if found:
                return found
        found, more = self.numbers(a, b, self.sample(CONFIRM_POINTS, seed + 1), tolerance, depends)
        if found:
            return found
        tally.add(more)
        if not tally.compared:
            return _Comparison(None, "numeric", note=tally.reason())
        at = f"at {tally.compared} random points" if tally.compared == tally.tried else (
            f"at the {tally.compared} of {tally.tried} random points where both sides are real numbers")
        if tolerance:
            within = f"equal within the relative tolerance {tolerance:.2g}"
            return _Comparison(True, "numeric", note=within + (f" {at}" if depends else ""))
        if verdict is None:
            return _Comparison(True, "numeric", note=f"not proven exactly ({reason}); equal {at}")
        unrelated = _unrelated(sympy.Add(*sides))
        if not unrelated:  # a rational function: the exact test decides, whatever the points show
            return _Comparison(False, "symbolic", note="the exact test shows the sides differ; no random point showed it")
        digits = f", and their difference is zero to {_digits_needed(sympy.Add(*sides))} digits at one" if zero else ""
        return _Comparison(True, "numeric", note=(
            f"the exact test cannot relate the functions used ({', '.join(unrelated)}); equal {at}{digits}"))

    def judge(self, a: sympy.Expr, b: sympy.Expr, b_exact: Callable[[], sympy.Expr], points: int, seed: int,
              tolerance: float, assumption: str) -> _Comparison:
        """``compare``, under the handout's assumption where it has one: for the cross-entropy the
        targets sum to 1 (softmax + CE gives ŷ - y only then); ``assumption`` is the note that says so."""
        result = self.compare(a, b, b_exact, points, seed, tolerance)
        if result.equal is False and self.targets_matter((a, b)):
            with self.assuming_targets_sum_to_one():
                assumed = self.compare(a, b, b_exact, points, seed, tolerance)
            if assumed.equal:
                result = replace(assumed, note="; ".join(filter(None, (assumption, assumed.note))))
            elif assumed.equal is False:  # wrong either way: the witness respects the handout's assumption
                result = assumed
        return result

    def judge_entries(self, left: sympy.ImmutableMatrix, right: sympy.ImmutableMatrix, points: int, seed: int,
                      tolerance: float, where: Callable[[int], str]
                      ) -> tuple[tuple[str, _Comparison] | None, list[_Comparison], str]:
        """Two matrices of one shape judged entry by entry (``judge``), in order: the first entry that
        differs (``where`` names it) and its comparison, else None; the comparisons of the entries
        found equal; and, for the first entry that could not be checked, its name and why ("" if none).
        (``verify --steps`` and ``lint`` on vector and matrix equations.)"""
        equal, unchecked = [], ""
        for index, (a, b) in enumerate(zip(left, right)):
            result = self.judge(a, b, lambda b=b: self.expand(b), points, seed, tolerance,
                                f"right when {ASSUMED_DISTRIBUTION}; for targets that do not, the sides differ")
            if result.equal is False:
                return (where(index), result), equal, unchecked
            if result.equal is None:
                unchecked = unchecked or f"{where(index)} not checked: {result.note}"
            else:
                equal.append(result)
        return None, equal, unchecked




# -- one gradient --------------------------------------------------------------------------------
def _route(derivation: Derivation, path: Path, name: Callable | None = None) -> tuple[str, ...]:
    """The neurons a path goes through after the parameter's own (d_2 for w_{21} → c_1 → d_2);
    where a softmax takes net_{c_1} to out_{c_2}, both: "c_1→c_2", so no two paths share a label.
    ``name`` names a neuron (default: the model's label)."""
    m = derivation.model
    name = name or m.label
    labels, previous = [], None
    for node in path.nodes:
        neuron = m.neuron_of.get(node)
        if node in m.computed_outs:
            label = name(neuron)
            if previous is not None and previous != neuron:
                label = f"{name(previous)}→{label}"
            labels.append(label)
        previous = neuron
    return tuple(labels[1:] if len(labels) > 1 else labels)


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


def _term_difference(ws: Workspace, values, written: sympy.Expr, expected: sympy.Expr
                     ) -> tuple[int, Callable[[], list[str]]]:
    """How many factors two terms share, and what puts their differences in words (called only
    for the pairs a diagnosis names: printing factors is most of the cost of comparing them)."""
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

    def clauses() -> list[str]:
        latex = lambda factors: ", ".join(ws.latex(f) for f in factors)  # noqa: E731
        said = []
        if extra and missing:
            plural = len(extra) > 1 or len(missing) > 1
            what = "wrong factors" if plural else "a wrong factor"
            said.append(f"{what}: {latex(extra)} instead of {latex(missing)}")
        elif missing:
            said.append(f"no factor {latex(missing)}")
        elif extra:
            said.append(f"an extra factor {latex(extra)}")
        if not said:  # the same factors: the coefficients alone differ (with a wrong factor they say nothing:
            # 1 - |n| - n·sign(n) is normalized to -(...) and -1 against 1 is no wrong sign)
            if c_written == -c_expected:
                said.append("the wrong sign")
            elif c_written != c_expected:
                said.append(f"the coefficient {c_written} instead of {c_expected}")
        return said

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
    return _diagnose(Workspace(derivation), derivation, gradient, written, points, seed)


def _diagnose(ws: Workspace, derivation: Derivation, gradient: Gradient, written: sympy.Expr, points: int,
              seed: int) -> tuple[TermCheck, ...]:
    model = derivation.model
    if model.spec.loss == "ce" and model.activation(model.spec.depth).mixes:
        # softmax + cross-entropy: its paths (∂L/∂ŷ_2 · ∂ŷ_2/∂z_1, ...) are not the terms anyone writes
        # (ŷ_1 - y_1): matched against them, ŷ_1 "has no factor y_2"; the named mistakes speak instead
        return ()
    paths = gradient.paths
    if paths is None and gradient.n_paths <= MAX_DIAGNOSED_PATHS:
        paths = derivation.chain.paths(gradient.parameter)
    terms = sympy.Add.make_args(ws.over_outputs(written))
    if paths and len(terms) == 1 and len(paths) > 1:  # (δ_{o1} w_5 + δ_{o2} w_7) out_{h2}(1 - out_{h2}) i_1: one term a path
        terms = tuple(t for part in _distributed(written, set(model.parameters))
                      for t in sympy.Add.make_args(ws.over_outputs(part)))
    if not paths or len(paths) > MAX_DIAGNOSED_PATHS or len(terms) > 2 * len(paths) + 4:
        return ()
    values = ws.sample(points, seed)
    routes = [_words(_route(derivation, p, ws.label)) for p in paths]
    found: dict[int, TermCheck] = {}  # path index → its check
    unused = list(range(len(terms)))
    path_values = [ws.evaluate(p.value, values) for p in paths]
    for t in list(unused):
        term_values = ws.evaluate(terms[t], values)
        free = [i for i in range(len(paths)) if i not in found]
        same = next((i for i in free if _disagreement(term_values, path_values[i]) is None), None)
        if same is not None:
            found[same] = TermCheck("matched", _route(derivation, paths[same], ws.label), terms[t], paths[same].value,
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
            what = "; ".join(clauses()) or "a different value"
            found[i] = TermCheck("wrong", _route(derivation, paths[i], ws.label), terms[t], paths[i].value,
                                 f"the term through {routes[i]} has {what}")
            unused.remove(t)
    if not found:
        return ()
    checks = [found.get(i) or TermCheck("missing", _route(derivation, paths[i], ws.label), None, paths[i].value,
                                        f"the term through {routes[i]} is missing") for i in range(len(paths))]
    name = derivation.model.latex_names[gradient.parameter.symbol]
    checks += [TermCheck("extra", (), terms[t], None,
                         f"the term {ws.latex(terms[t])} is extra: no path from {name} to the error gives it")
               for t in unused]
    return tuple(checks)


def _distributed(product: sympy.Expr, weights: set) -> tuple[sympy.Expr, ...]:
    """A factored delta recursion's terms: the product of a sum whose every term has a weight (Σ_k δ_k
    w_jk) and other factors, the sum multiplied out; anything else as it is (1 - out is no such sum).

    >>> d, e, w, v, o = sympy.symbols("d e w v o")
    >>> _distributed((d * w + e * v) * o * (1 - o), {w, v})
    (d*o*w*(1 - o), e*o*v*(1 - o))
    """
    if not product.is_Mul:
        return (product,)
    sums = [f for f in product.args if f.is_Add and all(term.free_symbols & weights for term in f.args)]
    if len(sums) != 1:
        return (product,)
    rest = sympy.Mul(*(f for f in product.args if f is not sums[0]))
    return tuple(term * rest for term in sums[0].args)


def _tolerance(tolerance: float | None) -> float | None:
    if tolerance is not None and not (isinstance(tolerance, (int, float)) and 0 <= tolerance < 1):
        raise ValueError(f"the tolerance is a relative difference from 0 to below 1, not {tolerance!r}")
    return None if tolerance is None else float(tolerance)


ASSUMED_DISTRIBUTION = "the targets sum to 1, as the handout assumes for the cross-entropy (a probability distribution)"
RIGHT_WHEN_ASSUMED = f"correct when {ASSUMED_DISTRIBUTION}; for targets that do not, it is not the gradient"


MAX_MATRIX_ENTRIES = 400  # a layer's matrix checked at once has at most this many entries
MAX_DIAGNOSED_ENTRIES = 8  # wrong entries of a matrix diagnosed in words (the others: their values only)


@dataclass(frozen=True)
class MatrixVerdict:
    """The verdict on a formula for a whole layer's gradient at once (``verify --param 'W^{[2]}'``):
    ``entries`` holds the verdict on each entry (row-major), judged exactly as ``check_gradient``
    judges one parameter. ``transposed`` when the formula is the gradient's transpose (every entry of
    its transpose right): then ``entries`` are the verdicts on the transpose's entries.
    ``correct`` is True when every entry is right, False when one is wrong (or ``transposed``),
    None when some could not be checked and none is wrong."""

    parameter: str  # the layer's LaTeX name, W^{[2]}
    shape: tuple[int, int]
    written: sympy.ImmutableMatrix
    written_latex: str
    entries: tuple[GradientVerdict, ...]
    transposed: bool = False
    readings: tuple[str, ...] = ()
    loss: str = "E"
    names: tuple[str, ...] = ()  # each entry's LaTeX name, W^{[2]}_{1,2}, row-major
    elementwise: tuple[str, ...] = ()  # vector operations read entry by entry, as NumPy does
    aliases: tuple[str, ...] = ()  # other spellings read: the walk-through's "w_5 = w_{21}"
    repairs: tuple[Repair, ...] = ()  # an undefined product that is right once these factors are transposed
    formula_latex: str = ""  # the correct formula of the whole matrix, where one is shown (a batch's \frac{1}{m} dZ A^T)

    @property
    def correct(self) -> bool | None:
        if self.transposed or self.repairs or any(e.correct is False for e in self.entries):
            return False
        return None if any(e.correct is None for e in self.entries) else True

    @property
    def method(self) -> str:
        """"symbolic" when every entry's verdict is exact, else "numeric"."""
        return "symbolic" if all(e.method == "symbolic" for e in self.entries) else "numeric"

    @property
    def wrong(self) -> tuple[GradientVerdict, ...]:
        return () if self.transposed or self.repairs else tuple(e for e in self.entries if e.correct is False)

    @property
    def unchecked(self) -> tuple[GradientVerdict, ...]:
        return tuple(e for e in self.entries if e.correct is None)

    @property
    def note(self) -> str:
        """The entries' notes, each once (the cross-entropy's assumption, a numeric check)."""
        return "; ".join(dict.fromkeys(e.note for e in self.entries if e.note))

    @property
    def pattern(self) -> str:
        """What the wrong entries have in common, in words ("" when nothing is certain)."""
        if self.transposed:
            return f"your matrix is the transpose of the gradient of {self.parameter}"
        if self.repairs:
            return "; ".join(f"{r.factor} ({r.shape}) needs its transpose here" for r in self.repairs)
        wrong = self.wrong
        where = "every entry" if len(wrong) == len(self.entries) else f"each of the {len(wrong)} wrong entries"
        if self.shared_diagnosis:  # the same words for every wrong entry: said once
            return f"in {where}: {self.shared_diagnosis}"
        said = [re.sub(r"\d+", "#", "; ".join(e.mistakes)) for e in wrong]
        if len(wrong) > 1 and all(said) and len(set(said)) == 1:  # one mistake, told alike in every wrong entry
            return f"the same kind of mistake in {where}"
        return ""

    @property
    def shared_diagnosis(self) -> str:
        """The diagnosis of every wrong entry when it is word for word the same (a batch's 1/m dropped), else ""."""
        said = {"; ".join(e.diagnosis) for e in self.wrong}
        return said.pop() if len(self.wrong) > 1 and len(said) == 1 else ""

    @property
    def diagnosis(self) -> list[str]:
        """The pattern, then each wrong entry by its name with its diagnosis: "W^{[2]}_{1,2}: ..."."""
        if self.shared_diagnosis:
            return [self.pattern]
        lines = [self.pattern] if self.pattern else []
        for entry in self.wrong:
            lines.append(f"{entry.parameter}: " + ("; ".join(entry.diagnosis) or "a different value"))
        return lines

    @property
    def expected_latex(self) -> str:
        """The correct formula of every entry, as a matrix."""
        rows, cols = self.shape
        cells = [e.expected_latex for e in self.entries]  # the gradient's own entries, in its shape
        body = r" \\ ".join(" & ".join(cells[r * cols:(r + 1) * cols]) for r in range(rows))
        return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}"


def _layer_name(entry_latex: str) -> str:
    """W^{[2]} of W^{[2]}_{1,2}, b^{[2]} of b^{[2]}_{1}."""
    return re.sub(r"_\{[^{}]*\}$", "", entry_latex)


def _target(derivation: Derivation, ws: Workspace, name: str):
    """The parameter ``name`` names (``_parameter``), or else the layer's matrix or vector of
    parameters it names (``W^{[2]}``, ``b^{[2]}``: ``name_value``) as a matrix of their symbols.
    Raises ``SpecError`` when it names neither."""
    try:
        return _parameter(derivation, name)
    except SpecError as error:
        unknown = error
    try:
        book = Textbook(ws.textbook.output_layer, ws.latex_names, parameter=True) if ws.textbook is not None else None
        value = name_value(name, ws.names, textbook=book)
    except FormulaError:
        raise unknown from None
    symbols = {p.symbol for p in derivation.chain.parameters}
    if not shapes.is_matrix(value) or not all(s in symbols for s in value):
        raise unknown
    if len(value) > MAX_MATRIX_ENTRIES:
        raise SpecError(f"{name} has {len(value):,} entries; at most {MAX_MATRIX_ENTRIES} are checked at once: "
                        "name one entry")
    return value


def _said_alias(ws: Workspace, name: str, target) -> None:
    """Say that a parameter named in the walk-through's spelling (w_5) is the network's w_{21}."""
    if shapes.is_matrix(target) or not ws.names.aliases:
        return
    try:
        key = name_key(name.strip())
    except FormulaError:
        return
    if key not in ws.names and (key in ws.names.aliases or key.replace("_", "") in ws.names.aliases):
        said = f"{name.strip()} = {ws.latex_names[target.symbol]}"
        if said not in ws.aliased:
            ws.aliased.append(said)


def _target_name(derivation: Derivation, target) -> str:
    names = derivation.model.latex_names
    return _layer_name(names[target[0]]) if shapes.is_matrix(target) else names[target.symbol]


def claimed_parameter(parameter: str, text: str) -> str:
    """``parameter``, or when it is empty the parameter the formula's left side names
    (``\\frac{\\partial E}{\\partial w_{31}} = …``, ``split_claim``); ``FormulaError`` when neither names one.

    >>> claimed_parameter("", r"dE/dw31 = delta_d1*out_c1"), claimed_parameter("w_{21}", "1")
    ('w31', 'w_{21}')
    """
    name = (parameter or "").strip()
    if name:
        return parameter
    claimed, _ = split_claim(text)
    if claimed is None:
        raise FormulaError(r"name the parameter, or write its derivative on the left: \frac{\partial E}{\partial "
                           r"w_{31}} = ...", text if isinstance(text, str) else "", None)
    return claimed


def layer_entries(spec: NetworkSpec, parameter: str, text: str = "") -> list[str]:
    """What ``derive(only=...)`` needs for ``check_gradient(parameter, text)`` (``verify``): the
    LaTeX names of every entry of the layer's matrix or vector that ``parameter`` names
    (``W^{[2]}``, ``b^{[2]}``), row-major; else ``[parameter]`` (one parameter, or a name
    ``derive`` refuses). With no ``parameter`` (empty), the one the formula's left side names
    (``\\frac{\\partial E}{\\partial w_{31}} = …``). Reads only the notation's names, no model.

    >>> from symbackprop.network.spec import NetworkSpec
    >>> layer_entries(NetworkSpec.parse("2-3-2", notation="columns", bias=True), "b^{[2]}")
    ['b^{[2]}_{1}', 'b^{[2]}_{2}']
    """
    name = claimed_parameter(parameter, text).strip()
    notation = NOTATIONS[spec.notation](spec.layers)
    latex: dict[sympy.Symbol, str] = {}
    for k in range(1, spec.depth + 1):
        for i in range(spec.layers[k - 1]):
            for j in range(spec.layers[k]):
                spelled = notation.weight(k, i, j)
                latex[sympy.Symbol(spelled.symbol, real=True)] = spelled.latex
        if spec.bias and not spec.shared_bias:
            for j in range(spec.layers[k]):
                spelled = notation.bias(k, j)
                latex[sympy.Symbol(spelled.symbol, real=True)] = spelled.latex
    book = Textbook(spec.depth, latex, parameter=True) if notation.columns else None
    try:
        value = name_value(name, name_table(latex), textbook=book)
    except FormulaError:
        return [name]
    if not shapes.is_matrix(value) or len(value) > MAX_MATRIX_ENTRIES:
        return [name]
    return [latex[s] for s in value]


def check_gradient(derivation: Derivation, parameter: str, text: str, points: int = 3,
                   seed: int = 0, tolerance: float | None = None, definitions: Mapping[str, str] | None = None,
                   workspace: type[Workspace] | None = None, proven_only: bool = False
                   ) -> GradientVerdict | MatrixVerdict | None:
    """Is ``text`` a correct formula for ∂E_total/∂``parameter``? (``verify --param``)

    ``text`` may have a left-hand side, ``\\frac{\\partial E}{\\partial w_{31}} = …``: it must
    name ``parameter`` (an empty ``parameter`` takes it from there). When ``parameter`` names a
    layer's whole matrix or vector (``W^{[2]}``, ``b^{[2]}``), ``text`` is a vector or matrix
    formula of that shape (``\\delta^{[2]} (a^{[1]})^T``), every entry is judged against that
    entry's gradient, and the verdict is a ``MatrixVerdict``. ``tolerance`` (relative) lets the
    two agree only that closely (default: exactly). Raises ``SpecError`` for an unknown parameter
    and ``FormulaError`` for a formula that does not parse, names something unknown, has the wrong
    shape, or whose left side names another parameter. ``definitions`` are the user's shorthands
    (``verify --where``), each under a name the network does not have. ``workspace`` is the
    ``Workspace`` class the formula is read and judged in (a mini-batch's: ``checking.batch``).
    ``proven_only`` returns only a verdict "correct" that the exact test alone gives (with SymPy;
    no numbers, so a derivation with ``proof="none"`` will do), else None: ``verify``'s first try.

    >>> from symbackprop import derive
    >>> d = derive("2-4-3-2", only=["w_21"])
    >>> v = check_gradient(d, "w_21", r"\\delta_{d_1} w_{31} out_{c_1}(1 - out_{c_1}) out_{b_1}")
    >>> v.correct, v.diagnosis
    (False, ['the term through d_2 is missing'])
    >>> check_gradient(d, "w_31", "g out_{c_1}", definitions={"g": "(out_{d_1} - target_{d_1}) out_{d_1}(1 - out_{d_1})"}).correct
    True
    """
    if points < 1:
        raise ValueError("the numeric check needs at least one point")
    tolerance = _tolerance(tolerance) or 0.0
    if proven_only and not _exact_first(derivation, tolerance):
        return None  # before reading anything: the usual route reads the formula again
    whole = text
    claimed, text = split_claim(text)
    if not (parameter or "").strip() and claimed is not None:
        parameter = claimed
    ws = (workspace or Workspace)(derivation, definitions=definitions, own_names_only=True)
    ws.sides = ("your formula", "the true gradient", "your formula and the true gradient")
    target = _target(derivation, ws, parameter)
    _said_alias(ws, parameter, target)
    if claimed is not None:
        said = _target(derivation, ws, claimed)
        if shapes.is_matrix(said) != shapes.is_matrix(target) or said != target:
            raise FormulaError(f"the left side is the derivative by {_target_name(derivation, said)}, but --param names "
                               f"{_target_name(derivation, target)}", whole if isinstance(whole, str) else "", None)
    if ws.textbook is not None and not shapes.is_matrix(target):  # a parameter named in Nielsen's numbering
        named = Textbook(derivation.model.spec.depth, ws.latex_names, parameter=True)  # settles how names read
        try:
            named.name(parameter, ws.names)
        except FormulaError:
            pass  # find_parameter found it under another spelling
        ws.textbook.nielsen, ws.textbook.read = named.nielsen, list(named.read)
    if shapes.is_matrix(target):
        return None if proven_only else _check_matrix(ws, derivation, target, text, points, seed, tolerance)
    named: set = set()
    written = ws.parse(text, gradients=named)
    if ws.textbook is not None:
        ws.textbook.settle()
    ws.refuse_circular([target.symbol], named, text)
    ws.check_names(written, text)
    if proven_only:
        return _proven_right(ws, derivation, target, written, seed, tolerance)
    return _entry_verdict(ws, derivation, target, written, points, seed, tolerance)


def _entry_verdict(ws: Workspace, derivation: Derivation, p, written: sympy.Expr, points: int, seed: int,
                   tolerance: float) -> GradientVerdict:
    """The verdict on ``written`` as ∂E_total/∂``p`` (one parameter), with its diagnosis when wrong."""
    chain = derivation.chain
    gradient = chain.gradient(p, with_paths=chain.count_paths(p) <= MAX_DIAGNOSED_PATHS)
    # the handout's cross-entropy results (g = ŷ - y) hold when the targets sum to 1: say so
    assumption = RIGHT_WHEN_ASSUMED
    result = ws.judge(written, ws.gradient_value(gradient), lambda: ws.gradient_exact(p.symbol), points, seed,
                      tolerance, assumption)
    terms, mistakes = (), ()
    if result.equal is False and ws.diagnosed < MAX_DIAGNOSED_ENTRIES:
        ws.diagnosed += 1
        terms, mistakes = ws.gradient_mistakes(gradient, written, points, seed)
    return _gradient_verdict(ws, gradient, written, result, tolerance, terms, mistakes)


def _gradient_verdict(ws: Workspace, gradient: Gradient, written: sympy.Expr, result: _Comparison, tolerance: float,
                      terms: tuple = (), mistakes: tuple = ()) -> GradientVerdict:
    model = ws.model
    return GradientVerdict(
        model.latex_names[gradient.parameter.symbol], result.equal, result.method, written, ws.latex(written),
        gradient.chain_rule, ws.gradient_latex(gradient, written), result.point, result.left_value, result.right_value,
        terms, result.note, tolerance, ws.readings(), model.loss_symbol.name.split("_")[0], mistakes,
        tuple(ws.elementwise), tuple(ws.aliased),
    )


def _proven_right(ws: Workspace, derivation: Derivation, p, written: sympy.Expr, seed: int,
                  tolerance: float) -> GradientVerdict | None:
    """The verdict "correct (proven symbolically)" when the exact test alone proves ``written``
    equal to ∂E_total/∂``p`` (under the cross-entropy's assumption where the handout makes it);
    else None, and the usual route decides (``_entry_verdict``). Tried only where it pays: no
    tolerance, a network of at most ``EXACT_FIRST_LIMIT`` parameters, and a formula that agrees
    with the gradient at one point in floats (``agree_at_a_point``; a wrong one goes to the numbers
    first, as ever). The one derivative is SymPy's: on such a network it takes less time than
    importing SymEngine (and NumPy, which SymEngine imports) would."""
    if not _exact_first(derivation, tolerance):
        return None
    chain = derivation.chain
    gradient = chain.gradient(p, with_paths=chain.count_paths(p) <= MAX_DIAGNOSED_PATHS)
    truth = ws.gradient_value(gradient)
    for assumed in (False, True):
        if assumed and not ws.targets_matter((written, truth)):
            break
        with ws.assuming_targets_sum_to_one() if assumed else nullcontext():
            if ws.agree_at_a_point(written, truth, seed):
                with sympy_only():  # first over what p changes; a formula written through what it does
                    # not (σ(net_{b_1}) for out_{b_1}) needs the whole forward pass
                    proven, _, _ = ws.exact(written, lambda: ws.gradient_through(p.symbol), through=p.symbol)
                    if not proven:
                        proven, _, _ = ws.exact(written, lambda: ws.gradient_exact(p.symbol))
                if proven:
                    note = RIGHT_WHEN_ASSUMED if assumed else ""
                    return _gradient_verdict(ws, gradient, written, _Comparison(True, "symbolic", note=note), tolerance)
    return None


def _exact_first(derivation: Derivation, tolerance: float) -> bool:
    """Whether ``_proven_right`` is tried: no tolerance, and a network of at most ``EXACT_FIRST_LIMIT`` parameters."""
    return not tolerance and derivation.model.spec.n_parameters <= EXACT_FIRST_LIMIT


def _numerically_close(ws: Workspace, derivation: Derivation, written: sympy.ImmutableMatrix, parameters,
                       points: int, seed: int) -> bool:
    """Whether every entry of ``written`` equals its parameter's gradient at the random points
    (under the cross-entropy's assumption too): a quick screen before judging each entry."""
    chain = derivation.chain
    expected = [ws.gradient_value(chain.gradient(p, with_paths=False)) for p in parameters]

    def close() -> bool:
        values = ws.sample(points, seed)
        return all(_disagreement(ws.evaluate(w, values), ws.evaluate(e, values)) is None
                   for w, e in zip(written, expected))

    if close():
        return True
    if ws.targets_matter(list(written) + expected):
        with ws.assuming_targets_sum_to_one():
            return close()
    return False


def _check_matrix(ws: Workspace, derivation: Derivation, target: sympy.ImmutableMatrix, text: str, points: int,
                  seed: int, tolerance: float) -> MatrixVerdict:
    """Every entry of a vector or matrix formula judged against its entry's gradient (``check_gradient``).
    A formula with a product undefined as written (W^{[2]} \\delta^{[2]}) is judged as the transpose
    of one factor makes it (``parse_math``'s ``repairs``): wrong, and named so, where that is right;
    where it is not, the shape error is the verdict (no claim about a formula that means nothing)."""
    model = derivation.model
    by_symbol = {p.symbol: p for p in derivation.chain.parameters}
    layer = _layer_name(model.latex_names[target[0]])
    repairs: list[Repair] = []
    named: set = set()
    written = ws.parse(text, matrices=True, repairs=repairs, gradients=named)
    if ws.textbook is not None:
        ws.textbook.settle()
    ws.refuse_circular(target.values(), named, text, layer)
    ws.check_names(written, text)
    described = shapes.describe(written)
    if not shapes.is_matrix(written):
        written = sympy.ImmutableMatrix([[written]])
    loss = model.loss_symbol.name.split("_")[0]

    def verdict(matrix: sympy.ImmutableMatrix, transposed: bool = False) -> MatrixVerdict:
        entries = tuple(_entry_verdict(ws, derivation, by_symbol[s], w, points, seed, tolerance)
                        for s, w in zip(target, matrix))
        return MatrixVerdict(layer, target.shape, written, ws.latex(written), entries, transposed, ws.readings(), loss,
                             tuple(model.latex_names[s] for s in target), tuple(ws.elementwise), tuple(ws.aliased))

    def judged() -> MatrixVerdict:
        parameters = [by_symbol[s] for s in target]
        if written.shape != target.shape:
            if written.T.shape == target.shape and _numerically_close(ws, derivation, written.T, parameters, points, seed):
                found = verdict(written.T, transposed=True)
                if all(e.correct for e in found.entries):
                    return found
            raise FormulaError(f"your formula is {described}, {layer} is {shapes.describe(target)}", text, None)
        found = verdict(written)
        if found.wrong and written.shape[0] == written.shape[1] and written != written.T and \
                _numerically_close(ws, derivation, written.T, parameters, points, seed):
            transposed = verdict(written.T, transposed=True)
            if all(e.correct for e in transposed.entries):
                return transposed
        return found

    if not repairs:
        found = judged()
        return replace(found, formula_latex=ws.matrix_latex(target)) if found.correct is False else found
    try:
        found = judged()
    except FormulaError:
        found = None
    if found is None or found.correct is not True:
        raise FormulaError(repairs[0].problem, text, repairs[0].position)
    return replace(found, repairs=tuple(repairs))


DIAGNOSIS_POINTS = 7  # random points at which a mutation must equal the formula


def _mistakes(ws: Workspace, derivation: Derivation, gradient: Gradient, written: sympy.Expr, seed: int) -> list[str]:
    """The named mistake (``checking.diagnose``), at points that respect the handout's assumptions."""
    from .diagnose import diagnose  # only a wrong formula needs it

    def run():
        values = ws.sample(DIAGNOSIS_POINTS, seed + 7)
        return diagnose(derivation, gradient, written, values, ws.evaluate, ws.latex, ws.label)

    try:
        if derivation.model.loss_function.targets_sum_to_one:
            with ws.assuming_targets_sum_to_one():
                return run()
        return run()
    except (ArithmeticError, ValueError, TypeError, RecursionError):  # no words rather than a traceback
        return []


VANISHED = 1e-9  # a float64 difference that shrinks below this fraction of itself at DIGITS digits was rounding
MAX_SHOWN_PATHS = 8  # a correct formula with more path terms is shown as the delta recursion
MAX_SHOWN_TERMS = 4  # ... and a recursion with more terms is shortened with \dots


def correct_formula(derivation: Derivation, gradient: Gradient, latex: Callable[[sympy.Basic], str],
                    written: sympy.Basic | None = None) -> str:
    """The simplest proven form of the gradient, in the handout's notation and in the terms the
    user wrote (``written``, their formula): δ_j · out_i where they wrote the gradient's own delta
    (with δ_j's recursion where they wrote only other deltas); else the path sum when it has at most
    MAX_SHOWN_PATHS terms, else δ_j · out_i with δ_j's recursion (shortened);
    the output delta as ŷ − y where its factors cancel (sigmoid + bce, softmax + ce).

    >>> from symbackprop import derive
    >>> d = derive("3-4-3-2", notation="columns", only=["W^{[1]}_{11}"], proof="gradients")
    >>> g, names = d.gradients[0], d.model.latex_names
    >>> print(correct_formula(d, g, lambda e: to_latex(e, names), g.delta.symbol * sympy.Symbol("a_0_2")))
    \\delta^{[1]}_{1} \\cdot a^{[0]}_{1}
    """
    model = derivation.model
    delta = gradient.delta
    symbols = written.free_symbols if isinstance(written, sympy.Basic) else set()
    deltas = {d.symbol for d in derivation.chain.deltas}
    if delta.symbol in symbols and not gradient.shared:  # they wrote δ_j · out_i: the same, right
        return latex(gradient.delta_form)
    simplest = delta.simplification.steps[-1] if delta.simplification is not None else None
    if simplest is not None and not gradient.shared:
        factor, simplest = gradient.input_factor.value, tidy(simplest)  # ŷ - y, as the handout prints it
        return latex(Chain(simplest, factor) if factor != 1 else simplest)
    if gradient.paths and len(gradient.paths) <= MAX_DIAGNOSED_PATHS and not symbols & deltas:
        paths = _paths_with_simplest_output_deltas(derivation, gradient)  # a softmax's 9 paths: 3 terms ŷ_k - y_k
        if len(paths.args if isinstance(paths, Total) else sympy.Add.make_args(paths)) <= MAX_SHOWN_PATHS:
            return latex(paths)
    if gradient.shared or delta.is_output:
        return latex(gradient.delta_form)
    recursion = delta.recursion
    parts = list(sympy.Add.make_args(recursion)) if not isinstance(recursion, Chain) else [recursion]
    shown = latex(recursion)
    if len(delta.terms) == 1 and len(delta.terms[0].upstream) > MAX_SHOWN_TERMS:
        term = delta.terms[0]
        upstream = [Chain(user, f.shown) for f, user in term.upstream if user is not None]
        dots = sympy.Symbol("dots")
        names = {**model.latex_names, dots: r"\dots"}
        kept = ordered_sum(upstream[:2] + [dots] + upstream[-1:])
        shown = to_latex(Chain(kept, term.activation.shown), names)
    del parts
    return f"{latex(gradient.delta_form)}, where {latex(delta.symbol)} = {shown}"


def _paths_with_simplest_output_deltas(derivation: Derivation, gradient: Gradient) -> sympy.Expr:
    """The path sum, each output delta's factors (∂E/∂ŷ_k · ∂ŷ_k/∂z_j, summed over the k that a
    softmax mixes) written as its simplest proven form ŷ_j - y_j where they cancel (sigmoid + bce,
    softmax + ce): (ŷ_1 - y_1) · W^{[2]}_{1,1} · a(1 - a) · x_1 rather than
    (ŷ_1 - y_1)/(ŷ_1(1 - ŷ_1)) · ŷ_1(1 - ŷ_1) · … . The regrouped sum is shown equal to the path sum
    (under the targets' assumption, as the cancellation itself) before it is used; else the path sum."""
    paths = gradient.paths
    plain = ordered_sum(path.product for path in paths)
    simplest = {d.neuron: d.simplification for d in derivation.chain.deltas if d.simplification is not None}
    if not simplest or any(len(path.factors) < 2 for path in paths):
        return plain
    groups: dict[tuple, Path] = {}  # (the output net, the route below it) -> the first path that takes it
    for path in paths:
        groups.setdefault((path.factors[1].wrt, tuple((f.of, f.wrt) for f in path.factors[2:])), path)
    model = derivation.model
    by_net = {model.net[n.layer][n.index]: n for n in simplest}
    terms, values, assumption = [], [], None
    for (net, _), first in groups.items():
        neuron = by_net.get(net)
        if neuron is None:
            return plain
        simplification = simplest[neuron]
        assumption = assumption or simplification.assumption
        rest = first.factors[2:]
        terms.append(Chain(tidy(simplification.steps[-1]), *(f.shown for f in rest)))
        values.append(sympy.Mul(simplification.steps[-1], *(f.value for f in rest)))
    condition = {}
    if assumption:  # the targets sum to 1
        condition = {model.targets[-1]: 1 - sympy.Add(*model.targets[:-1])}
    total = sympy.Add(*(path.value for path in paths))
    if not are_equal(sympy.Add(*values).xreplace(condition), total.xreplace(condition)):
        return plain
    return ordered_sum(terms)


# -- a chain of steps ----------------------------------------------------------------------------
_RELATION = re.compile(r"=|≈|\\approx(?![A-Za-z])")


def split_chain(text: str) -> tuple[list[tuple[int, str]], list[str]]:
    """The sides of ``A = B \\approx C`` at top-level ``=``, ``\\approx`` or ``≈`` (not inside
    braces or brackets), each with its offset in ``text``, and the relations between them;
    ``&`` and ``\\\\`` (aligned environments) are ignored.

    >>> split_chain(r"x = 0.333 \\approx 1/3")
    ([(0, 'x '), (3, ' 0.333 '), (17, ' 1/3')], ['=', '\\\\approx'])
    """
    cleaned = text.replace("\\\\", "  ").replace("&", " ")
    sides, relations, depth, start, index = [], [], 0, 0, 0
    while index < len(cleaned):
        char = cleaned[index]
        depth += (char in "([{") - (char in ")]}")
        relation = _RELATION.match(cleaned, index) if depth == 0 else None
        if relation:
            sides.append((start, cleaned[start:index]))
            relations.append(relation.group())
            index = start = relation.end()
        else:
            index += 1
    sides.append((start, cleaned[start:]))
    return sides, relations


def split_steps(text: str) -> list[tuple[int, str]]:
    """The sides of ``A = B = C`` at top-level ``=`` (or ``\\approx``, ``≈``; not inside braces or
    brackets), each with its offset in ``text``; ``&`` and ``\\\\`` (aligned environments) are ignored.

    >>> split_steps(r"f(x) = \\frac{a=b}{2} = c")
    [(0, 'f(x) '), (6, ' \\\\frac{a=b}{2} '), (22, ' c')]
    """
    return split_chain(text)[0]


def rounding(literals: Iterable[Literal]) -> tuple[float, Literal | None]:
    """The relative tolerance that rounded numbers allow, and the least precise of them: each
    number with decimals may be off by half a unit in its last digit (0.74136507 ± 5e-9), and
    relative errors add up in a product (to first order), so the tolerance is the sum of each
    number's half unit over its value. Whole numbers (2, 1e-3) are exact.

    >>> from fractions import Fraction
    >>> tolerance, least = rounding([Literal("0.25", Fraction(1, 4), Fraction(1, 200), 0),
    ...                              Literal("2", Fraction(2), None, 5)])
    >>> tolerance, least.text
    (0.02, '0.25')
    """
    rounded = [n for n in literals if n.half_unit is not None and n.value != 0]
    if not rounded:
        return 0.0, None
    relative = [float(n.half_unit / abs(n.value)) for n in rounded]
    return sum(relative), rounded[relative.index(max(relative))]


def significant_digits(text: str) -> int:
    """Significant digits of a number as written: 0.05 has 1, 0.15 2, 0.74136507 8, 2.5E+4 2."""
    mantissa = re.split(r"[eE]", text.lstrip("+-"))[0]
    return len(mantissa.replace(".", "").lstrip("0")) or 1


def _rounded_only(literals: list[Literal], side: sympy.Expr) -> list[Literal]:
    """The numbers of one side that count as rounded: a number of one or two significant digits
    inside a computation (a weight 0.4, an input 0.05, a learning rate 0.5) is a value given, taken
    exactly, or 0.4 ± 0.05 would excuse a result 24 % off; standing alone as the side (= 0.27, = -0.12)
    it is a rounded result. Longer numbers (0.74136507) count as rounded wherever they are."""
    alone = (len(literals) == 1 and not shapes.is_matrix(side)
             and abs(side) == sympy.Rational(literals[0].value.numerator, literals[0].value.denominator))
    return [n if n.half_unit is None or alone or significant_digits(n.text) > 2 else replace(n, half_unit=None)
            for n in literals]


def propagated_rounding(parse: Callable[[str], sympy.Expr], text: str, literals: list[Literal]) -> float:
    """How far the rounding of the numbers written can move the value of ``text``, a formula of
    numbers only (``parse`` reads it): the sum over its rounded numbers of the change that half a
    unit in the last digit makes, each found by reading the text again with that number moved.
    A relative bound from the digits alone is too tight where terms cancel: in
    0.003016·(−0.4622) − 0.005256·0.3144 + 0.01229·0.4419 the rounding moves the sum by far more
    than its digits' relative error times the sum.

    >>> parse = lambda t: parse_math(t, {})
    >>> text = "0.5 - 0.49"
    >>> found = []; _ = parse_math(text, {}, literals=found)
    >>> round(propagated_rounding(parse, text, found), 6)
    0.055
    """
    try:
        centre = float(sympy.N(parse(text)))
    except (FormulaError, TypeError, ValueError, ArithmeticError):
        return 0.0
    bound = 0.0
    for literal in literals:
        if literal.half_unit is None or text[literal.position:literal.position + len(literal.text)] != literal.text:
            continue
        moved = f"{float(literal.value + literal.half_unit):.17g}"
        try:
            value = float(sympy.N(parse(text[:literal.position] + moved + text[literal.position + len(literal.text):])))
        except (FormulaError, TypeError, ValueError, ArithmeticError):
            continue
        if math.isfinite(value):
            bound += abs(value - centre)
    return bound


def check_steps(text: str, derivation: Derivation | None = None, points: int = 3, seed: int = 0,
                variables: Iterable[str] = ("z",), definitions: Mapping[str, str] | None = None,
                tolerance: float | None = None, matrices: bool = False, diagnose: bool = False,
                own_names_only: bool = False) -> StepsVerdict:
    """Check every ``=`` of a derivation chain (``verify --steps``). ``variables`` are free
    (real) variables; ``definitions`` names shorthands, e.g. ``{"a": "1/(1-e^{-z})"}``; with a
    ``derivation`` the network's names may be used too, under the handout's assumptions (for
    the cross-entropy, the targets sum to 1). Numbers with decimals are taken as rounded (but a
    short one inside a computation, 0.4 or 0.05, as a value given: ``_rounded_only``): a step
    is right when its sides agree within the rounding of the numbers written (``rounding``), or
    within ``tolerance`` (relative) when it is given; ``\\approx`` and ``≈`` say the same as ``=``.
    With ``matrices`` a side may be a vector or matrix (BP1: δ^{[2]} = (a^{[2]} - y) ⊙ σ'(z^{[2]})): two
    sides of one shape are compared entry by entry, of two shapes they differ. With ``diagnose`` a
    wrong gradient step (∂E/∂w_{31} = ...) is diagnosed as ``check_gradient`` diagnoses it. With
    ``own_names_only`` no shorthand may take a name the network has (``verify --steps``: a number given
    for w_1 would be a new quantity, unrelated to the network's w_1). A step with the network's
    quantities on one side and only numbers on the other (a worked example's) is not checked: it
    holds only at the example's values (a constant such as 0 is an identity, checked as one).

    >>> v = check_steps(r"\\frac{d}{dz} a = a(1 - a)", definitions={"a": r"\\frac{1}{1+e^{-z}}"})
    >>> v.correct, v.steps[0].method
    (True, 'symbolic')
    >>> check_steps(r"0.74136507 \\times 0.186815602 \\times 0.593269992 = 0.082167041").correct
    True
    """
    if points < 1:
        raise ValueError("the numeric check needs at least one point")
    given = _tolerance(tolerance)
    variables = tuple(variables)
    ws = Workspace(derivation, variables, definitions, own_names_only=own_names_only)
    sides, relations = split_chain(text if isinstance(text, str) else "")
    if len(sides) < 2:
        raise FormulaError("a chain of steps needs at least one '=' (A = B = ...)", str(text), None)
    texts = [side for _, side in sides]  # as parsed: the numbers' positions are in them
    free = set(ws.variables)  # --steps' own variables (z): not the network's quantities

    def parsed() -> tuple[list, list]:
        expressions, numbers = [], []
        for offset, side in sides:
            literals: list[Literal] = []
            if ws.textbook is not None:
                ws.textbook.whole = (text, offset)
            try:
                expressions.append(shapes.simplest(ws.parse(side, literals, matrices=matrices)))
            except FormulaError as error:
                position = None if error.position is None else offset + error.position
                raise type(error)(error.problem, text, position, error.allowed) from None
            numbers.append(_rounded_only(literals, expressions[-1]))
        return expressions, numbers

    expressions, numbers = parsed()
    if ws.textbook is not None:
        if ws.textbook.powers and ws.textbook.nielsen:  # z^2 read as a power before w^3 showed the chain is in
            ws.textbook.read.clear()  # Nielsen's numbering: read it again knowing that, z^2 is his
            ws.textbook.pending.clear()
            ws.textbook.powers.clear()
            expressions, numbers = parsed()
        ws.textbook.settle()

    def same(i: int, j: int) -> tuple[_Comparison, float]:
        left, right = expressions[i], expressions[j]
        if shapes.is_matrix(left) or shapes.is_matrix(right):
            return entry_by_entry(i, j)
        allowed, least = (given, None) if given is not None else rounding(numbers[i] + numbers[j])
        plain = [(k, other) for k, side, other in ((i, left, right), (j, right, left)) if not side.free_symbols]
        if derivation is not None and len(plain) == 1 and plain[0][1].free_symbols - free \
                and any("." in n.text for n in numbers[plain[0][0]]):
            # a worked example's step: the network's quantities on one side, decimals put in for them on the other
            return _Comparison(None, "numeric", note=(
                "numbers in place of the network's quantities: a step of a worked example, right or wrong only at "
                "its values, which --steps does not know (symbackprop lint checks a document's numbers at its values)")), 0.0
        cancelled = None  # how far the rounding moves the sides, where terms cancel
        result = ws.judge(left, right, lambda: ws.expand(right), points, seed, allowed,
                          f"right when {ASSUMED_DISTRIBUTION}; for targets that do not, the sides differ")
        if result.equal is False and allowed and given is None and not (left.free_symbols or right.free_symbols):
            # numbers only, where terms cancel: the rounding's effect on each side, not the digits' relative error
            bound = sum(propagated_rounding(ws.parse, texts[k], numbers[k]) for k in (i, j))
            scale = max(abs(float(sympy.N(left))), abs(float(sympy.N(right))))
            if scale and bound / scale > allowed:
                allowed, cancelled = bound / scale, bound
                result = ws.judge(left, right, lambda: ws.expand(right), points, seed, allowed, "")
        notes = [result.note]
        if allowed and result.equal is not None:
            if least is None:
                why = f"the tolerance given (relative {allowed:.2g})"
            elif cancelled is not None:
                why = (f"the rounding of the numbers written (each may be off by half a unit in its last digit; where "
                       f"terms cancel, that moves the sides by up to {cancelled:.2g} together, relative {allowed:.2g})")
            else:
                why = (f"the rounding of the numbers written (relative {allowed:.2g}: each number may be off by half "
                       f"a unit in its last digit, {least.text} ± {float(least.half_unit):.1g}, and their relative "
                       "errors add up)")
            if result.equal and result.method == "numeric":
                notes = [f"right up to {why}"] + [n for n in notes if not n.startswith("equal within")]
            elif not result.equal:
                notes.append(f"wrong even allowing for {why}")
        return replace(result, note="; ".join(filter(None, notes))), allowed

    def entry_by_entry(i: int, j: int) -> tuple[_Comparison, float]:
        """Two sides of which one is a vector or matrix: of two shapes they differ; else each entry compared."""
        left, right = expressions[i], expressions[j]
        if not (shapes.is_matrix(left) and shapes.is_matrix(right) and left.shape == right.shape):
            return _Comparison(False, "symbolic", note=f"the left side is {shapes.describe(left)}, the right side "
                                                        f"{shapes.describe(right)}"), 0.0
        allowed = given if given is not None else rounding(numbers[i] + numbers[j])[0]
        differs, equal, unchecked = ws.judge_entries(
            left, right, points, seed, allowed,
            lambda k: f"entry ({k // left.cols + 1}, {k % left.cols + 1})" if left.cols > 1 else f"entry {k + 1}")
        if differs is not None:
            where, result = differs
            return replace(result, note="; ".join(filter(None, (f"{where} differs", result.note)))), allowed
        if unchecked:  # not "differs": an entry that could not be checked is no difference
            return _Comparison(None, "numeric", note=unchecked), allowed
        note = "; ".join(dict.fromkeys(filter(None, ["entry by entry"] + [r.note for r in equal])))
        method = "symbolic" if {r.method for r in equal} == {"symbolic"} else "numeric"
        return _Comparison(True, method, note=note), allowed

    steps = []
    for number, relation in enumerate(relations, start=1):
        result, allowed = same(number - 1, number)
        note = result.note
        if relation != "=" and not allowed:
            note = "; ".join(filter(None, (f"no rounded number is written, so {relation} is checked as =", note)))
        left, right = expressions[number - 1], expressions[number]
        # a wrong gradient step, or the first wrong step of a chain that starts from the gradient (each side
        # before it right, so its right side is a wrong formula for that gradient): named as --param names it
        first_wrong = all(step.correct for step in steps)
        start = texts[0] if first_wrong and number > 1 else texts[number - 1]
        diagnosis, correction = _gradient_step(derivation, start, texts[number], points, seed) \
            if diagnose and result.equal is False and derivation is not None else ((), "")
        steps.append(Step(
            number, texts[number - 1].strip(), texts[number].strip(), left, right,
            result.equal, result.method, result.point, result.left_value, result.right_value, note, relation, allowed,
            ws.latex, diagnosis, correction,
        ))
    ends = same(0, len(expressions) - 1)[0].equal if len(expressions) > 2 else None
    return StepsVerdict(tuple(expressions), tuple(steps), ends, ws.readings(), tuple(ws.elementwise), tuple(ws.aliased))


def _gradient_step(derivation: Derivation, left: str, right: str, points: int, seed: int) -> tuple[tuple[str, ...], str]:
    """A wrong step whose left side is a gradient (∂E/∂w_{31}) and its right side a formula for it:
    ``check_gradient``'s diagnosis and correct formula; nothing for any other step."""
    claimed, formula = split_claim(f"{left} = {right}")
    if claimed is None:
        return (), ""
    try:
        found = check_gradient(derivation, claimed, formula, points=points, seed=seed)
    except (FormulaError, SpecError, ValueError):
        return (), ""
    if found.correct is not False:
        return (), ""
    return tuple(found.diagnosis), getattr(found, "formula_latex", "") or found.expected_latex


__all__ = [
    "GradientVerdict",
    "MatrixVerdict",
    "Step",
    "StepsVerdict",
    "TermCheck",
    "Workspace",
    "check_gradient",
    "check_steps",
    "diagnose_paths",
    "propagated_rounding",
    "claimed_parameter",
    "layer_entries",
    "rounding",
    "split_chain",
    "split_steps",
]
