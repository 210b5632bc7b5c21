"""A safe grammar for formulas typed by users: a hand-written tokenizer and recursive-descent parser.

User text is never given to ``eval``, ``sympify`` or ``parse_expr``. Each token is checked
against a whitelist as it is read, and SymPy objects are built only from accepted tokens, so
``__import__("os")``, ``\\input{...}`` or ``z.real`` fail before anything is evaluated. Two
entry points:

* ``parse_activation``: a custom activation in ``z`` (``z/(1+abs(z))``, ``max(0, z)``);
* ``parse_math``: a formula in a network's names, as LaTeX the way symbackprop's handouts print
  it (``\\left(\\mathrm{out}_{d_1} - \\mathrm{target}_{d_1}\\right) \\cdot ...``) or as plain
  text (``(out_d1 - target_d1)*out_d1*(1 - out_d1)*out_c1``), derivatives included.

Names are looked up by a normalized spelling (``name_key``): ``out_{d_1}``, ``\\mathrm{out}_{d_1}``,
``out_d_1`` and ``out_d1`` are all ``out_d_1``; a bracketed superscript (``a^{[2]}_{1}``) is part
of the name, not a power. With a ``Textbook`` (column notation), Nielsen's and Ng's spellings are
read too (``w^3_{24}``, ``dZ^{[2]}_1``, ``x_1``), and a bare superscript that could be a layer or a
power is refused (``AmbiguousName``) rather than guessed. Hostile or absurd input (too long, nested too deeply, huge numbers
or exponents, unknown commands) raises ``FormulaError`` quickly.

Numbers may be written in scientific notation (``1e-3``, ``2.5E+4``, ``1e3``); ``e`` alone is
Euler's number (``e^{-z}``, ``2e``), and so is an ``e`` glued to a name (``w1e3`` is not a number).
With ``literals``, ``parse_math`` lists the numbers as written, each with its rounding (half a
unit in its last written digit), for judging rounded arithmetic.

>>> parse_activation("z/(1+abs(z))")
z/(Abs(z) + 1)
>>> out, target = sympy.symbols("out_d_1 target_d_1", real=True)
>>> names = name_table({out: r"\\mathrm{out}_{d_1}", target: r"\\mathrm{target}_{d_1}"})
>>> parse_math(r"\\left(out_{d_1} - target_{d_1}\\right) \\cdot out_d1", names)
out_d_1*(out_d_1 - target_d_1)
"""

from __future__ import annotations

import difflib
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Iterable, Mapping, Optional

import sympy

from .limits import time_limit

MAX_LENGTH = 4000  # characters of one formula
MAX_DEPTH = 60  # nested brackets, braces, signs, powers and functions
MAX_DIGITS = 20  # digits of one number literal, before and after the point
MAX_EXPONENT_DIGITS = 5  # digits of the exponent of a number in scientific notation (1e-3)
MAX_NUMBER_BITS = 4096  # a constant power may produce about this many bits (some 1200 digits)
MAX_EXPONENT = 16  # |numerator| and denominator of a rational exponent of a non-constant base
MAX_DERIVATIVES = 8  # \frac{d}{dz} operators in one formula
PARSE_SECONDS = 5.0  # SymPy can be slow on absurd input (nested functions differentiated): stop it


class FormulaError(ValueError):
    """A formula that does not parse, or names something unknown. The message is one line:
    the formula, where the problem is (1-based position), the problem and what is allowed."""

    def __init__(self, problem: str, text: str = "", position: Optional[int] = None, allowed: str = ""):
        self.problem, self.text, self.position, self.allowed = problem, text, position, allowed
        where = "" if position is None else f" at position {position + 1}"
        hint = f" (allowed: {allowed})" if allowed else ""
        super().__init__(f"invalid formula {_excerpt(text, position)}{where}: {problem}{hint}")


class AmbiguousName(FormulaError):
    """A name that reads two ways (Nielsen's a^2_1: layer 2 counting the input as 1 or as 0, or a power)."""


def _excerpt(text: str, position: Optional[int]) -> str:
    """The formula quoted, shortened around ``position`` when it is long."""
    if len(text) <= 80:
        return repr(text)
    start = max(0, min((position or 0) - 30, len(text) - 60))
    return repr(("…" if start else "") + text[start : start + 60] + ("…" if start + 60 < len(text) else ""))


# -- tokens -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # "number", "word" (a run of ASCII letters), "macro" (\name), "op" or "end"
    text: str
    position: int  # index of the first character in the formula
    end: int


_TOKEN = re.compile(
    r"(?P<space>\s+|\\[,;:! ])"
    r"|(?P<unicode>[δσ]|ŷ|y\u0302)"
    r"|(?P<number>(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?P<exponent>[eE][-+]?[0-9]+)?)"
    r"|(?P<word>[A-Za-z]+)"
    r"|(?P<macro>\\[A-Za-z]+)"
    r"|(?P<op>\*\*|\\[{}]|[-+*/^()\[\]{}_,=])"
)
_SAME_WIDTH = str.maketrans({"−": "-", "·": "*", "⋅": "*", "×": "*"})  # one character each way
_SPACING = {r"\quad", r"\qquad"}
_UNICODE = {"δ": ("macro", r"\delta"), "σ": ("macro", r"\sigma"), "ŷ": ("word", "yhat"), "y\u0302": ("word", "yhat")}
_PLAIN_OPS = {"+", "-", "*", "/", "^", "**", "(", ")", ","}


def tokenize(text: str, allowed: str = "", plain: bool = False) -> list[Token]:
    """The tokens of ``text``, ending with an "end" token; unknown characters are errors, and so
    are LaTeX commands, braces, brackets and subscripts when ``plain``.

    >>> [t.text for t in tokenize(r"2\\cdot w_{31}")]
    ['2', '\\\\cdot', 'w', '_', '{', '31', '}', '']
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be text, not {type(text).__name__}", "", None, allowed)
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"too long ({len(text)} characters, at most {MAX_LENGTH})", text, None, allowed)
    source, tokens, position = text.translate(_SAME_WIDTH), [], 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise FormulaError(f"unexpected {text[position]!r}", text, position, allowed)
        kind, word, end = match.lastgroup, match.group(), match.end()
        if kind == "unicode":  # δ is \delta, σ is \sigma, ŷ is yhat (the symbol name of \hat{y})
            kind, word = _UNICODE[word]
        after = tokens[-1] if tokens and tokens[-1].end == position else None
        glued = after is not None and (after.kind == "word" or after.text == "_")
        if match.group("exponent") and glued:  # w1e3, x_1e2: the e is a letter of a name, not an exponent
            end = match.start("exponent")
            word = source[position:end]
        if plain and (kind == "macro" or (kind == "op" and word not in _PLAIN_OPS)):
            raise FormulaError(f"unexpected {text[position]!r}", text, position, allowed)
        if kind != "space" and word not in _SPACING:
            tokens.append(Token(kind, word, position, end))
        position = end
    tokens.append(Token("end", "", len(text), len(text)))
    return tokens


# -- grammars -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Function:
    """A function users may call: its number of arguments and how to build it in SymPy.
    ``needs_number``: one argument must be a number (``max(0, z)``)."""

    arity: int
    build: Callable[..., sympy.Expr]
    needs_number: bool = False


def sigmoid(x: sympy.Expr) -> sympy.Expr:
    """σ(x) = 1/(1 + e^{-x}), written with exp (never a helper with a declared derivative)."""
    return 1 / (1 + sympy.exp(-x))


ACTIVATION_FUNCTIONS: dict[str, Function] = {
    "exp": Function(1, sympy.exp),
    "log": Function(1, sympy.log),
    "sqrt": Function(1, sympy.sqrt),
    "tanh": Function(1, sympy.tanh),
    "abs": Function(1, sympy.Abs),
    "sin": Function(1, sympy.sin),
    "cos": Function(1, sympy.cos),
    "max": Function(2, sympy.Max, needs_number=True),
    "min": Function(2, sympy.Min, needs_number=True),
}
MATH_FUNCTIONS: dict[str, Function] = {
    **ACTIVATION_FUNCTIONS,
    "ln": Function(1, sympy.log),
    "sigma": Function(1, sigmoid),
    "sig": Function(1, sigmoid),
    "sigmoid": Function(1, sigmoid),
}

_WRAPPERS = {r"\mathrm", r"\operatorname", r"\text", r"\textrm", r"\mathit", r"\mathbf", r"\mathsf",
             r"\mathcal", r"\boldsymbol"}  # \mathrm{out}: the letters are the name
_ACCENTS = {r"\hat", r"\bar", r"\tilde", r"\vec", r"\dot"}  # \hat{y}: part of the name
_GREEK = {"\\" + g for g in (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi "
    "rho varrho tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon "
    "Phi Psi Omega").split()}
_FUNCTION_MACROS = {r"\exp", r"\log", r"\ln", r"\tanh", r"\sin", r"\cos", r"\sigma", r"\max", r"\min"}
_FRACTIONS = {r"\frac", r"\dfrac", r"\tfrac"}
_TIMES = {"*", r"\cdot", r"\times"}
_OPENING = {"(": ")", "[": "]", "{": "}", r"\{": r"\}"}  # \{ \}: braces that print
_IGNORED = {r"\big", r"\Big", r"\bigg", r"\Bigg", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr"}

ACTIVATION_ALLOWED = ("numbers, the variable z, + - * / ^ **, parentheses, exp log sqrt tanh abs sin cos, "
                      "max/min of an expression and a number such as max(0, z); "
                      "numbers as 2, 0.5, 1e-3 or 2.5E+4")
MATH_ALLOWED = (r"numbers (2, 0.5, 1e-3, 2.5E+4; e alone is Euler's number), "
                r"the network's names (out_{d_1}, w_{31}, \delta_{c_1}, ...), + - * / ^ **, "
                r"\cdot \times, implicit products, ( ) [ ] { } \left( \right), \frac \sqrt, e^{...}, "
                r"\exp \log \ln \tanh \sigma \sin \cos, \frac{d}{dz} and \frac{\partial}{\partial w}")


@dataclass(frozen=True)
class _Grammar:
    latex: bool  # LaTeX commands, braces, subscripts, e = Euler's number
    functions: Mapping[str, Function]
    allowed: str


_ACTIVATION = _Grammar(False, ACTIVATION_FUNCTIONS, ACTIVATION_ALLOWED)


# -- names -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Name:
    """A name as written: its base (out, w 31, hat y), bracketed superscripts ([2]) and subscripts."""

    base: tuple[str, ...]
    superscripts: tuple[str, ...]
    subscripts: tuple[str, ...]
    start: int
    end: int
    bare: Optional[str] = None  # an unbracketed superscript read with the name (Nielsen's a^2_1), textbook names only

    @property
    def key(self) -> str:
        """Separators dropped, parts joined by "_", superscripts right after the base."""
        return "_".join(self.base) + "".join(f"^[{s}]" for s in self.superscripts) + "".join(
            "_" + s for s in self.subscripts
        )

    @property
    def word(self) -> Optional[str]:
        """The single word of an undecorated name (``exp``, ``e``, ``a``), else None."""
        plain = len(self.base) == 1 and not self.superscripts and not self.subscripts
        return self.base[0] if plain and self.base[0].isalpha() else None


def _loose(key: str) -> str:
    """The key without separators: the fallback spelling (``w_{2_1}`` finds ``w_{21}``)."""
    return key.replace("_", "")


def name_key(spelling: str) -> str:
    """The normalized spelling of one name, in LaTeX or plain text.

    >>> [name_key(s) for s in (r"\\mathrm{out}_{d_1}", "out_d1", "w31", r"w_{2,12}", r"a_1^{[2]}")]
    ['out_d_1', 'out_d_1', 'w_31', 'w_2_12', 'a^[2]_1']
    """
    parser = _Parser(spelling, tokenize(spelling, MATH_ALLOWED), _Grammar(True, {}, MATH_ALLOWED), {}, {})
    if parser.peek().kind not in ("word", "macro"):
        parser.fail(parser.peek(), "expected a name")
    name = parser.read_name()
    parser.expect_end()
    return name.key


def name_table(latex_names: Mapping[sympy.Symbol, str]) -> dict[str, sympy.Symbol]:
    """The lookup ``parse_math`` needs: every normalized spelling of every symbol's LaTeX name
    and SymPy name (LaTeX names first, so each always parses back to its symbol), plus the
    separator-free spellings that are unambiguous.

    >>> w = sympy.Symbol("w_2_12", real=True)
    >>> table = name_table({w: "w_{2,12}"})
    >>> table["w_2_12"] is w, table["w212"] is w
    (True, True)
    """
    table: dict[str, sympy.Symbol] = {}
    loose: dict[str, set] = {}
    for spellings in ([latex for latex in latex_names.values()], [s.name for s in latex_names]):
        for symbol, spelling in zip(latex_names, spellings):
            try:
                key = name_key(spelling)
            except FormulaError:  # not writable as one name; the other spelling still works
                continue
            table.setdefault(key, symbol)
            loose.setdefault(_loose(key), set()).add(symbol)
    for key, symbols in loose.items():
        if len(symbols) == 1 and key not in table:
            table[key] = next(iter(symbols))
    return table


# -- the textbooks' spellings (column notation) ---------------------------------------------------
LAYERED = {"a", "z", "w", "W", "b", "delta"}  # Nielsen's letters with a layer superscript: a^l_j, w^l_{jk}, δ^l_j
_SAME_NAME = {"w": "W", "A": "a", "Z": "z", "dZ": "delta", "d_Z": "delta"}  # Ng's capitals for one entry, lowercase w
_GRADIENT = {"dW": "W", "d_W": "W", "db": "b", "d_b": "b"}  # Ng's dW^{[l]}: ∂L/∂W^{[l]}


@dataclass
class Textbook:
    r"""Nielsen's and Ng's spellings of column notation's names, for one input (a parameter name
    and its formula, or a chain of steps): lowercase w^{[l]}_{j,k} for W^{[l]}_{j,k}; A^{[l]}_j,
    Z^{[l]}_j, dZ^{[l]}_j (δ^{[l]}_j); dW^{[l]}_{j,k}, db^{[l]}_j (a parameter's name, or in a
    formula ∂L/∂W = δ^{[l]}_j a^{[l-1]}_k); X_i, x_i for a^{[0]}_i; a^{[L]}_j for ŷ_j.

    A bare superscript (a^2_1, w^3_{24}, δ^3_1) is Nielsen's layer number: he numbers the input
    layer 1, so a^2_1 is a^{[1]}_1 and w^3_{24} is W^{[2]}_{2,4}. It is refused as ambiguous when
    another reading names something too: the layer counted from the input as 0 (a^{[2]}_1, the
    brackets left out), or a power ((a_1)^2). Where only those two layer readings exist, a name
    of the same input that only Nielsen's numbering can read (w^3_{12} in a 2-3-2 network)
    settles it; ``settle`` refuses what is still ambiguous. ``read`` lists the names read as
    Nielsen's, for the verdict to say so.

    >>> names = {sympy.Symbol(f"a_{l}_1"): f"a^{{[{l}]}}_{{1}}" for l in (0, 1)}
    >>> names[sympy.Symbol("yhat_1")] = r"\hat{y}_{1}"
    >>> book = Textbook(2, names)
    >>> parse_math("a^3_1 + x_1", name_table(names), textbook=book), book.read
    (a_0_1 + yhat_1, ['a^3_1 = \\hat{y}_{1}'])
    """

    output_layer: int  # L
    latex_names: Mapping[sympy.Symbol, str]
    parameter: bool = False  # reading a parameter's name: dW^{[l]}_{j,k} is the weight itself
    read: list = field(default_factory=list)  # "w^3_{12} = W^{[2]}_{1,2}": read in Nielsen's numbering
    pending: list = field(default_factory=list)  # (text, position, problem): ambiguous unless settled
    nielsen: bool = False  # some name of the input can be read only in Nielsen's numbering
    whole: Optional[tuple[str, int]] = None  # (the whole input, the offset of the text parsed) for ``settle``'s message

    @staticmethod
    def _lookup(key: str, names: Mapping[str, sympy.Symbol]) -> Optional[sympy.Symbol]:
        return names.get(key, names.get(_loose(key)))

    def _key(self, base: str, layer: Optional[int], subscripts: tuple[str, ...]) -> str:
        """The column notation's key: a^{[L]}_j is ŷ_j, a layer written with Ng's or Nielsen's letters."""
        base = _SAME_NAME.get(base, base)
        if base in ("x", "X") and layer is None:
            base, layer = "a", 0
        if len(subscripts) == 1 and base == "W" and len(subscripts[0]) == 2 and subscripts[0].isdigit():
            subscripts = tuple(subscripts[0])  # Nielsen's w^3_{24}: j = 2, k = 4
        if base == "a" and layer == self.output_layer:
            return "_".join(("hat_y",) + subscripts)
        return base + ("" if layer is None else f"^[{layer}]") + "".join("_" + s for s in subscripts)

    def resolve(self, name: _Name, names: Mapping[str, sympy.Symbol], text: str) -> Optional[sympy.Expr]:
        """What ``name`` stands for in the textbooks' spellings; None to look it up as written."""
        base = "_".join(name.base)
        if name.bare is not None:
            return self._bare(name, base, names, text)
        if self._lookup(name.key, names) is not None or len(name.superscripts) > 1:
            return None
        layer = int(name.superscripts[0]) if name.superscripts and name.superscripts[0].isdigit() else None
        if base in _GRADIENT:
            target = self._lookup(self._key(_GRADIENT[base], layer, name.subscripts), names)
            if target is None or self.parameter:
                return target
            return self._gradient(_GRADIENT[base], layer, name.subscripts, names)
        if name.superscripts and layer is None:
            return None
        return self._lookup(self._key(base, layer, name.subscripts), names)

    def _gradient(self, kind: str, layer: int, subscripts: tuple[str, ...], names) -> Optional[sympy.Expr]:
        """Ng's dW^{[l]}_{j,k} = δ^{[l]}_j a^{[l-1]}_k and db^{[l]}_j = δ^{[l]}_j inside a formula."""
        if kind == "b" and not subscripts:  # a shared bias: the sum of the layer's deltas
            deltas = [self._lookup(self._key("delta", layer, (str(j),)), names) for j in range(1, 10_000)]
            deltas = deltas[: deltas.index(None)] if None in deltas else deltas
            return sympy.Add(*deltas) if deltas else None
        if kind == "b":
            return self._lookup(self._key("delta", layer, subscripts[:1]), names)
        parts = subscripts if len(subscripts) == 2 else tuple(subscripts[0]) if subscripts else ()
        if len(parts) != 2:
            return None
        delta = self._lookup(self._key("delta", layer, parts[:1]), names)
        source = self._lookup(self._key("a", layer - 1, parts[1:]), names)
        return None if delta is None or source is None else delta * source

    def _shown(self, base: str, layer: int, subscripts: tuple[str, ...], symbol) -> str:
        """a^{[2]}_{1}, with the name it has in the handout when that differs (\\hat{y}_{1})."""
        if len(subscripts) == 1 and base in ("w", "W") and len(subscripts[0]) == 2 and subscripts[0].isdigit():
            subscripts = tuple(subscripts[0])
        letter = {"w": "W", "delta": r"\delta"}.get(base, base)
        written = f"{letter}^{{[{layer}]}}_{{{','.join(subscripts)}}}"
        printed = self.latex_names.get(symbol, written) if symbol is not None else written
        same = printed.replace("{", "").replace("}", "") == written.replace("{", "").replace("}", "")
        return written if same else f"{written} (= {printed})"

    def _bare(self, name: _Name, base: str, names, text: str) -> sympy.Expr:
        spelled, n = text[name.start : name.end], int(name.bare)
        subscripts = name.subscripts
        letter = r"\delta" if base == "delta" else base
        inner = letter + (f"_{{{','.join(subscripts)}}}" if subscripts else "")
        power = None
        if not self.parameter:
            plain = self._lookup("_".join(name.base) + "".join("_" + s for s in subscripts), names)
            power = None if plain is None else plain ** n
        if not subscripts:
            if power is not None:
                return power
            if self.parameter:
                raise AmbiguousName(
                    f"{spelled} is not one parameter: in Nielsen's numbering (he numbers the input layer 1) it is the "
                    f"whole vector of layer {n}; name one entry, e.g. {self._shown(base, n - 1, ('1',), None)} for "
                    f"Nielsen's {spelled}_1", text, name.start)
            raise AmbiguousName(
                f"{spelled} is ambiguous: {letter} to the power {n}, but {letter} is not a name here, or Nielsen's "
                f"{spelled}, the whole vector of layer {n} (he numbers the input layer 1); write one entry, e.g. "
                f"{self._shown(base, n - 1, ('1',), None)} for Nielsen's {spelled}_1, or ({letter})^{n} with {letter} "
                "defined", text, name.start)
        nielsen = self._lookup(self._key(base, n - 1, subscripts), names) if n >= 1 else None
        brackets = self._lookup(self._key(base, n, subscripts), names)
        readings, writes = [], []
        for symbol, layer, how in ((nielsen, n - 1, "in Nielsen's numbering (he numbers the input layer 1)"),
                                   (brackets, n, "counting the input as layer 0")):
            shown = self._shown(base, layer, subscripts, symbol)
            if symbol is None:
                readings.append(f"{how} it would be {shown}, which this network does not have")
            else:
                readings.append(f"{how} it is {shown}")
                writes.append(shown.split(" (= ")[0])
        if not self.parameter and n > 1:
            readings.append(f"as a power it is ({inner})^{n}" + ("" if power is not None else f", but {inner} is not a name here"))
            writes.append(f"({inner})^{n} for a power")
        if nielsen is None and brackets is None:
            if power is not None:
                return power
            raise FormulaError(f"unknown name {spelled}: {'; '.join(readings)}", text, name.start)
        problem = f"{spelled} is ambiguous: {'; '.join(readings)}; write {' or '.join(writes)}"
        if power is not None or nielsen is None:
            raise AmbiguousName(problem, text, name.start)
        self.read.append(f"{spelled} = {self.latex_names.get(nielsen, str(nielsen))}")
        if brackets is None:
            self.nielsen = True
        else:
            whole, offset = self.whole or (text, 0)
            self.pending.append((whole, offset + name.start, problem))
        return nielsen

    def settle(self) -> None:
        """Refuse a name still ambiguous between the two layer numberings, unless another name of
        the input can be read only in Nielsen's (then all are his)."""
        if self.pending and not self.nielsen:
            text, position, problem = self.pending[0]
            raise AmbiguousName(problem, text, position)
        self.pending.clear()

    def name(self, text: str, names: Mapping[str, sympy.Symbol]) -> sympy.Symbol:
        """The symbol one name stands for (``--param``, ``--only``), in the textbooks' spellings too."""
        parser = _Parser(text, tokenize(text, MATH_ALLOWED), _Grammar(True, {}, MATH_ALLOWED), names, {},
                         textbook=self)
        if parser.peek().kind not in ("word", "macro"):
            parser.fail(parser.peek(), "expected a name")
        found = parser.resolve(parser.read_name())
        parser.expect_end()
        return found


# -- the parser --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Literal:
    """A number as written in a formula: ``value`` exact; ``half_unit`` half a unit in its last
    written decimal (0.74136507: 5e-9), the most it can be off if it was rounded, or None for a
    whole number (``2``, ``1e-3``), which is taken as exact; ``position`` where it starts.

    >>> found = []
    >>> _ = parse_math("0.25 + 2.5E+4", {}, literals=found)
    >>> [(n.text, n.half_unit) for n in found]
    [('0.25', Fraction(1, 200)), ('2.5E+4', Fraction(500, 1))]
    """

    text: str
    value: Fraction
    half_unit: Optional[Fraction]
    position: int


@dataclass
class _State:
    """Shared by a parser and the sub-parsers of its braces: the limits' counters."""

    depth: int = 0
    derivatives: int = 0


@dataclass
class _Parser:
    text: str
    tokens: list[Token]
    grammar: _Grammar
    names: Mapping[str, sympy.Symbol]
    definitions: Mapping[sympy.Symbol, sympy.Expr]
    state: _State = field(default_factory=_State)
    index: int = 0
    literals: Optional[list] = None  # the numbers read, as ``Literal``s, when asked for
    textbook: Optional["Textbook"] = None  # Nielsen's and Ng's spellings (column notation), when accepted

    # -- token helpers -------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at(self, *texts: str) -> bool:
        token = self.peek()
        return token.kind in ("op", "macro") and token.text in texts

    def fail(self, token: Token, problem: str):
        raise FormulaError(problem, self.text, token.position, self.grammar.allowed)

    def unexpected(self, token: Token):
        if token.kind == "end":
            self.fail(token, "unexpected end of the formula")
        if token.kind == "macro" and not self.grammar.latex:
            self.fail(token, f"unexpected {token.text[0]!r}")
        if token.kind == "macro":
            self.fail(token, f"unknown or misplaced command {token.text}")
        self.fail(token, f"unexpected {token.text!r}")

    def expect(self, text: str) -> Token:
        token = self.peek()
        if not self.at(text):
            found = "the formula ends" if token.kind == "end" else f"found {token.text!r}"
            self.fail(token, f"expected {text!r} but {found}")
        return self.take()

    def expect_end(self) -> None:
        if self.peek().kind != "end":
            self.unexpected(self.peek())

    @contextmanager
    def nested(self, token: Token):
        self.state.depth += 1
        try:
            if self.state.depth > MAX_DEPTH:
                self.fail(token, f"nested too deeply (more than {MAX_DEPTH} levels)")
            yield
        finally:
            self.state.depth -= 1

    def sub(self, tokens: list[Token], end: Token) -> "_Parser":
        """A parser for the tokens inside a pair of braces, sharing names, limits and counters."""
        closing = Token("end", "", end.position, end.position)
        return _Parser(self.text, tokens + [closing], self.grammar, self.names, self.definitions, self.state,
                       literals=self.literals, textbook=self.textbook)

    def parse(self) -> sympy.Expr:
        result = self.expression()
        self.expect_end()
        return result

    # -- expressions ---------------------------------------------------------------------------
    def expression(self) -> sympy.Expr:
        result = self.term()
        while self.at("+", "-"):
            sign = self.take().text
            right = self.term()
            result = result + right if sign == "+" else result - right
        return result

    def term(self) -> sympy.Expr:
        result = self.unary()
        while True:
            if self.at(*_TIMES):
                self.take()
                result = result * self.unary()
            elif self.at("/"):
                self.take()
                result = result / self.unary()
            elif self.starts_atom(self.peek()):
                result = result * self.power()
            else:
                return result

    def starts_atom(self, token: Token) -> bool:
        """Implicit multiplication: ``2x``, ``out_{d_1}(1 - out_{d_1})``, ``\\frac{a}{b} c``."""
        if token.kind in ("number", "word") or (token.kind == "op" and token.text == "("):
            return True
        if not self.grammar.latex:
            return False
        if token.kind == "op":
            return token.text in ("[", "{", r"\{")
        return token.kind == "macro" and token.text not in _TIMES and token.text != r"\right"

    def unary(self) -> sympy.Expr:
        if self.at("-", "+"):
            sign = self.take()
            with self.nested(sign):
                operand = self.unary()
            return -operand if sign.text == "-" else operand
        return self.power()

    def power(self) -> sympy.Expr:
        base = self.atom()
        if self.at("^", "**"):
            caret = self.take()
            return self.raise_to(base, self.exponent(caret), caret)
        return base

    def exponent(self, caret: Token) -> sympy.Expr:
        with self.nested(caret):
            if self.grammar.latex and self.at("{"):
                return self.braced()
            return self.unary()

    def raise_to(self, base: sympy.Expr, exponent: sympy.Expr, token: Token) -> sympy.Expr:
        """base^exponent, refusing constant powers too large to compute and huge symbolic exponents."""
        if exponent.is_Rational:
            p, q = abs(int(exponent.p)), int(exponent.q)
            if base.is_Rational:
                if base == 0 and exponent.is_negative:
                    self.fail(token, "division by zero")
                bits = math.log2(max(abs(int(base.p)), int(base.q), 2))
                if p * bits > MAX_NUMBER_BITS or q > MAX_EXPONENT:
                    shown = f"{base}^{exponent}" if bits < 64 else f"a {int(bits)}-bit number to the power {exponent}"
                    self.fail(token, f"the power {shown} is too large (about {MAX_NUMBER_BITS} bits at most)")
            elif base != sympy.E and (p > MAX_EXPONENT or q > MAX_EXPONENT):
                self.fail(token, f"exponent {exponent} too large (at most {MAX_EXPONENT} in size)")
        return sympy.Pow(base, exponent)

    # -- atoms ---------------------------------------------------------------------------------
    def atom(self) -> sympy.Expr:
        while self.grammar.latex and self.at(*_IGNORED):
            self.take()
        token = self.peek()
        if token.kind == "number":
            return self.number()
        if token.kind == "op" and (token.text == "(" or (self.grammar.latex and token.text in ("[", "{", r"\{"))):
            return self.bracketed()
        if token.kind == "word" or (self.grammar.latex and token.text in _WRAPPERS | _ACCENTS | _GREEK):
            return self.name_or_call()
        if not self.grammar.latex or token.kind != "macro":
            self.unexpected(token)
        if token.text == r"\left":
            return self.bracketed()
        if token.text in _FRACTIONS:
            return self.fraction()
        if token.text == r"\sqrt":
            return self.square_root()
        if token.text in _FUNCTION_MACROS:
            self.take()
            return self.call(token.text[1:], token)
        if token.text == r"\partial":
            self.fail(token, r"\partial belongs in a derivative such as \frac{\partial}{\partial w_{31}}")
        self.unexpected(token)

    def number(self) -> sympy.Expr:
        """A number as written: ``2``, ``0.5``, ``1e-3``, ``2.5E+4`` (exact), listed in ``literals``."""
        token = self.take()
        mantissa, _, exponent = token.text.lower().partition("e")
        whole, _, decimals = mantissa.partition(".")
        if len(whole) > MAX_DIGITS or len(decimals) > MAX_DIGITS:
            self.fail(token, f"number too long (at most {MAX_DIGITS} digits before and after the point)")
        if len(exponent.lstrip("+-")) > MAX_EXPONENT_DIGITS:
            self.fail(token, f"exponent too long (at most {MAX_EXPONENT_DIGITS} digits)")
        power = int(exponent or 0)
        significant = Fraction(mantissa)
        if significant and abs(power) * math.log2(10) > MAX_NUMBER_BITS:
            self.fail(token, f"the number {token.text} is too large or too small (about {MAX_NUMBER_BITS} bits at most)")
        value = significant * Fraction(10) ** power if significant else Fraction(0)
        if self.literals is not None:
            half_unit = Fraction(1, 2 * 10 ** len(decimals)) * Fraction(10) ** power if decimals else None
            self.literals.append(Literal(token.text, value, half_unit, token.position))
        return sympy.Rational(value.numerator, value.denominator)

    def bracketed(self, allow_commas: bool = False) -> list[sympy.Expr] | sympy.Expr:
        """( ... ), [ ... ], { ... } or \\left( ... \\right); a list of arguments when ``allow_commas``."""
        opening = self.take()
        left = opening.text == r"\left"
        if left:
            opening = self.take()
            if opening.kind != "op" or opening.text not in ("(", "[", r"\{"):
                self.fail(opening, r"expected (, [ or \{ after \left")
        closing = _OPENING[opening.text]
        with self.nested(opening):
            items = [self.expression()]
            while allow_commas and self.at(","):
                self.take()
                items.append(self.expression())
        if left:
            self.expect(r"\right")
        self.expect(closing)
        return items if allow_commas else items[0]

    def group_tokens(self) -> tuple[list[Token], Token]:
        """The tokens between ``{`` and its ``}`` (not parsed yet), and the closing token."""
        opening = self.expect("{")
        depth, start = 1, self.index
        while True:
            token = self.take()
            if token.kind == "end":
                self.fail(opening, "this '{' is never closed")
            if token.kind == "op" and token.text in "{}":
                depth += 1 if token.text == "{" else -1
                if depth > MAX_DEPTH:
                    self.fail(token, f"nested too deeply (more than {MAX_DEPTH} levels)")
                if depth == 0:
                    return self.tokens[start : self.index - 1], token

    def braced(self) -> sympy.Expr:
        tokens, closing = self.group_tokens()
        if not tokens:
            self.fail(closing, "empty braces")
        return self.parse_inside(tokens, closing)

    def parse_inside(self, tokens: list[Token], end: Token) -> sympy.Expr:
        """The formula in a group of tokens (one nesting level deeper)."""
        with self.nested(end):
            return self.sub(tokens, end).parse()

    def argument_tokens(self) -> tuple[list[Token], Token]:
        """A LaTeX argument: ``{...}``, or one character (``\\frac12``) or one command."""
        if self.at("{"):
            return self.group_tokens()
        token = self.peek()
        if len(token.text) > 1 and (token.kind == "word" or (token.kind == "number" and token.text[1].isdigit())):
            first = Token(token.kind, token.text[0], token.position, token.position + 1)
            self.tokens[self.index] = Token(token.kind, token.text[1:], token.position + 1, token.end)
            return [first], first
        if token.kind in ("number", "word", "macro"):
            self.take()
            return [token], token
        self.unexpected(token)

    def fraction(self) -> sympy.Expr:
        frac = self.take()
        numerator, num_end = self.argument_tokens()
        denominator, den_end = self.argument_tokens()
        derivative = self.derivative_form(numerator, denominator, den_end)
        if derivative is not None:
            variable, operand = derivative
            if operand is None:  # \frac{d}{dz} applied to what follows
                with self.nested(frac):
                    operand = self.power() if self.starts_group() else self.term()
            else:
                operand = self.parse_inside(operand, num_end)
            return self.differentiate(operand, variable, frac)
        if not numerator or not denominator:
            self.fail(frac, r"\frac needs a numerator and a denominator")
        return self.parse_inside(numerator, num_end) / self.parse_inside(denominator, den_end)

    def starts_group(self) -> bool:
        return self.at("(", "[", "{", r"\{", r"\left") if self.grammar.latex else self.at("(")

    def derivative_form(self, numerator, denominator, den_end):
        """(variable, operand tokens or None) for \\frac{d}{dz}, \\frac{dX}{dz} and their ∂ forms, else None."""
        variable_tokens, top = _strip_d(denominator), _strip_d(numerator)
        if not variable_tokens or top is None:
            return None
        operator = not top
        try:
            variable = self.sub(variable_tokens, den_end).variable()
        except FormulaError:
            if operator:  # clearly meant as d/d(something): report the unknown variable
                raise
            return None
        return variable, (None if operator else top)

    def variable(self) -> sympy.Symbol:
        token = self.peek()
        if token.kind not in ("word", "macro"):
            self.fail(token, "expected the variable of the derivative")
        symbol = self.resolve(self.read_name())
        self.expect_end()
        if not isinstance(symbol, sympy.Symbol):
            self.fail(token, f"cannot differentiate with respect to {symbol}")
        return symbol

    def differentiate(self, operand: sympy.Expr, variable: sympy.Symbol, token: Token) -> sympy.Expr:
        self.state.derivatives += 1
        if self.state.derivatives > MAX_DERIVATIVES:
            self.fail(token, f"more than {MAX_DERIVATIVES} derivatives")
        return sympy.Derivative(expand_dependents(operand, variable, self.definitions), variable).doit()

    def square_root(self) -> sympy.Expr:
        sqrt = self.take()
        degree = sympy.Integer(2)
        if self.at("["):
            self.take()
            if self.peek().kind != "number":
                self.fail(self.peek(), "expected the degree of the root")
            degree = self.number()
            self.expect("]")
            if not degree.is_Integer or not 2 <= degree <= MAX_EXPONENT:
                self.fail(sqrt, f"root degree must be a whole number from 2 to {MAX_EXPONENT}")
        tokens, end = self.argument_tokens()
        return self.raise_to(self.parse_inside(tokens, end), 1 / degree, sqrt)

    # -- names and functions -------------------------------------------------------------------
    def name_or_call(self) -> sympy.Expr:
        token = self.peek()
        name = self.read_name()
        if name.word in self.grammar.functions and name.word not in self.names:
            return self.call(name.word, token)
        return self.resolve(name)

    def call(self, function_name: str, token: Token) -> sympy.Expr:
        function = self.grammar.functions.get(function_name)
        if function is None:
            self.fail(token, f"unknown function {function_name}")
        power = None
        if self.grammar.latex and self.at("^"):  # \tanh^2(z)
            caret = self.take()
            power = (caret, self.exponent(caret))
        if self.starts_group():
            arguments = self.bracketed(allow_commas=True)
        elif self.grammar.latex and function.arity == 1:  # \ln x
            with self.nested(token):
                arguments = [self.power()]
        else:
            self.fail(self.peek(), f"expected '(' after {function_name}")
        if len(arguments) != function.arity:
            self.fail(token, f"{function_name} takes {function.arity} argument{'s' * (function.arity > 1)}")
        if function.needs_number and not any(a.is_Number for a in arguments):
            self.fail(token, f"{function_name} needs a number as one argument, e.g. {function_name}(0, z)")
        result = function.build(*arguments)
        return self.raise_to(result, power[1], power[0]) if power else result

    def read_name(self) -> _Name:
        """A name with its decorations: ``out_{d_1}``, ``out_d1``, ``w31``, ``\\mathrm{out}_{d_1}``,
        ``E_{\\mathrm{total}}``, ``a^{[2]}_{1}``, ``\\hat{y}_{1}``."""
        first = self.take()
        if first.kind == "word":
            base = [first.text]
            if first.text not in self.grammar.functions and self.glued(first, "number"):
                base.append(self.take().text)  # w31, out1
        elif first.text in _WRAPPERS | _ACCENTS:
            tokens, _ = self.group_tokens()
            base = ([first.text[1:]] if first.text in _ACCENTS else []) + self.name_parts(tokens)
            if not base:
                self.fail(first, f"empty {first.text}{{}}")
        elif first.text in _GREEK:
            base = [first.text[1:]]
        else:
            self.fail(first, "expected a name")
        superscripts, subscripts, bare = [], [], None
        while self.grammar.latex:
            if self.at("_"):
                subscripts += self.subscript()
            elif self.at("^") and (self.peek(1).text == "[" or (self.peek(1).text == "{" and self.peek(2).text == "[")):
                superscripts.append(self.bracket_superscript())
            elif (self.textbook is not None and bare is None and not superscripts and "_".join(base) in LAYERED
                  and self.at("^") and self.bare_layer()):
                bare = self.bare_superscript()  # Nielsen's a^2_1, or a power: ``Textbook.resolve`` decides
            else:
                break
        end = self.tokens[self.index - 1].end
        return _Name(tuple(base), tuple(superscripts), tuple(subscripts), first.position, end, bare)

    def bare_layer(self) -> bool:
        """Whether ``^`` is followed by a whole number, bare (``^2``) or braced (``^{2}``)."""
        whole = lambda token: token.kind == "number" and token.text.isdigit()  # noqa: E731
        return whole(self.peek(1)) or (self.peek(1).text == "{" and whole(self.peek(2)) and self.peek(3).text == "}")

    def bare_superscript(self) -> str:
        self.take()
        braced = self.at("{")
        if braced:
            self.take()
        number = self.take().text
        if braced:
            self.expect("}")
        return number

    def glued(self, previous: Token, kind: str) -> bool:
        token = self.peek()
        return token.kind == kind and token.position == previous.end

    def subscript(self) -> list[str]:
        """After ``_``: a braced group, a number (``_31``), a word and a glued number (``_d1``) or a command."""
        underscore = self.take()
        token = self.peek()
        if token.text == "{":
            tokens, _ = self.group_tokens()
            parts = self.name_parts(tokens)
            if not parts:
                self.fail(token, "empty subscript")
            return parts
        if token.kind == "number" and "." not in token.text:
            return [self.take().text]
        if token.kind == "word":
            parts = [self.take().text]
            if self.glued(token, "number") and "." not in self.peek().text:
                parts.append(self.take().text)
            return parts
        if token.text in _WRAPPERS | _GREEK:
            return self.name_parts([self.take()] + (list(self.group_tokens()[0]) if token.text in _WRAPPERS else []))
        self.fail(underscore, "expected a subscript after '_'")

    def bracket_superscript(self) -> str:
        """``^{[2]}`` or ``^[2]``: a layer index, part of the name (seed 001's a_1^{[2]})."""
        self.take()
        braced = self.at("{")
        if braced:
            self.take()
        start = self.expect("[")
        parts = []
        while not self.at("]"):
            token = self.take()
            if token.kind in ("number", "word"):
                parts.append(token.text)
            elif not (token.kind == "op" and token.text in ",_"):
                self.fail(token if token.kind != "end" else start, "expected ']' to close the layer superscript")
        self.take()
        if braced:
            self.expect("}")
        return "_".join(parts)

    def name_parts(self, tokens: list[Token]) -> list[str]:
        """The words and numbers of a name's braces (``{d_1}``, ``{2,12}``, ``{\\mathrm{total}}``)."""
        parts = []
        for token in tokens:
            if token.kind == "word" or (token.kind == "number" and token.text.isdigit()):
                parts.append(token.text)
            elif token.text in _GREEK:
                parts.append(token.text[1:])
            elif not (token.text in _WRAPPERS or (token.kind == "op" and token.text in "{}_,")):
                self.fail(token, f"unexpected {token.text!r} in a name")
        return parts

    def resolve(self, name: _Name) -> sympy.Expr:
        """The symbol a name stands for; ``e`` is Euler's number; ``xy`` is x·y when both are names."""
        if self.textbook is not None:
            found = self.textbook.resolve(name, self.names, self.text)
            if found is not None:
                return found
        for key in (name.key, _loose(name.key)):
            if key in self.names:
                return self.names[key]
        word = name.word
        if word == "e" and self.grammar.latex:
            return sympy.E
        if word and len(word) > 1 and self.grammar.latex and all(letter in self.names for letter in word):
            return sympy.Mul(*(self.names[letter] for letter in word))
        raise FormulaError(self.unknown_name(name), self.text, name.start)

    def unknown_name(self, name: _Name) -> str:
        spelled = self.text[name.start : name.end]
        if name.word in self.grammar.functions:
            return f"{spelled} is a function: write {spelled}(...)"
        canonical: dict[sympy.Symbol, str] = {}
        for key, symbol in self.names.items():
            canonical.setdefault(symbol, key)
        known = sorted(set(canonical.values()))
        close = difflib.get_close_matches(name.key, list(self.names), n=4, cutoff=0.6)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        listed = ", ".join(known[:12]) + (f", … ({len(known)} in all)" if len(known) > 12 else "")
        return f"unknown name {spelled!r}{hint}; known names: {listed or 'none'}"


def _strip_d(tokens: list[Token]) -> Optional[list[Token]]:
    """The tokens after a leading ``d`` or ``\\partial`` (``dz`` → ``z``), or None when there is none."""
    if not tokens:
        return None
    first = tokens[0]
    if first.text == r"\partial" or (first.kind == "word" and first.text == "d"):
        return tokens[1:]
    if first.kind == "word" and first.text.startswith("d"):
        return [Token("word", first.text[1:], first.position + 1, first.end)] + tokens[1:]
    return None


def expand_dependents(
    expr: sympy.Expr, variable: sympy.Symbol, definitions: Mapping[sympy.Symbol, sympy.Expr]
) -> sympy.Expr:
    """``expr`` with every defined symbol that depends on ``variable`` replaced by its definition,
    recursively, so that ∂/∂variable sees the dependence (∂E_total/∂w_{31} goes through out_{d_1}).

    >>> x, y, z = sympy.symbols("x y z")
    >>> expand_dependents(x * y, z, {x: 2 * z, y: sympy.Integer(3)})
    2*y*z
    """
    depends: dict[sympy.Symbol, bool] = {}
    expanded: dict[sympy.Symbol, sympy.Expr] = {}

    def dependent(symbol) -> bool:
        if symbol not in depends:
            depends[symbol] = False  # guards against circular definitions
            definition = definitions.get(symbol)
            depends[symbol] = definition is not None and (
                variable in definition.free_symbols or any(dependent(s) for s in definition.free_symbols)
            )
        return depends[symbol]

    def expand(symbol) -> sympy.Expr:
        if symbol not in expanded:
            definition = definitions[symbol]
            expanded[symbol] = definition.xreplace({s: expand(s) for s in definition.free_symbols if dependent(s)})
        return expanded[symbol]

    if not definitions:
        return expr
    return expr.xreplace({s: expand(s) for s in expr.free_symbols if dependent(s)})


_UNDEFINED = (sympy.zoo, sympy.nan, sympy.oo, sympy.S.NegativeInfinity, sympy.I)


def _check_result(expr: sympy.Expr, text: str, allowed: str) -> sympy.Expr:
    """Refuse results that are not finite real formulas or whose powers grew too large."""
    if expr.has(*_UNDEFINED):
        raise FormulaError("the formula is undefined or not real (division by zero, log of a negative ...)",
                           text, None, allowed)
    for node in sympy.preorder_traversal(expr):
        if node.is_Pow and node.exp.is_Rational and not node.base.is_Number and node.base != sympy.E:
            if abs(node.exp.p) > MAX_EXPONENT or node.exp.q > MAX_EXPONENT:
                raise FormulaError(f"the power {node} is too large (exponents at most {MAX_EXPONENT})",
                                   text, None, allowed)
        elif node.is_Pow and node.base.is_negative and not node.exp.is_integer:
            raise FormulaError(f"{node} is not a real number", text, None, allowed)
    return expr


def _run(parser: _Parser) -> sympy.Expr:
    """Parse within ``PARSE_SECONDS``, turning any failure inside SymPy into a ``FormulaError``."""
    try:
        with time_limit(PARSE_SECONDS):
            return _check_result(parser.parse(), parser.text, parser.grammar.allowed)
    except FormulaError:
        raise
    except TimeoutError:
        raise FormulaError(f"too costly to build (over {PARSE_SECONDS:g} s); simplify it",
                           parser.text, None, parser.grammar.allowed) from None
    except (ArithmeticError, ValueError, TypeError, RecursionError, NotImplementedError) as error:
        raise FormulaError(f"cannot build the formula ({type(error).__name__}: {error})",
                           parser.text, None, parser.grammar.allowed) from None


def parse_activation(text: str) -> sympy.Expr:
    """A custom activation in ``z`` (a real SymPy symbol), from plain text.

    >>> parse_activation("max(0, z)"), parse_activation("tanh(z)^2"), parse_activation("2**z")
    (Max(0, z), tanh(z)**2, 2**z)
    """
    tokens = tokenize(text, ACTIVATION_ALLOWED, plain=True)
    names = {"z": sympy.Symbol("z", real=True)}
    return _run(_Parser(text, tokens, _ACTIVATION, names, {}))


def parse_math(
    text: str,
    names: Mapping[str, sympy.Symbol],
    functions: Optional[Mapping[str, Function]] = None,
    *,
    variables: Iterable[str] = (),
    definitions: Optional[Mapping[sympy.Symbol, sympy.Expr]] = None,
    literals: Optional[list] = None,
    textbook: Optional[Textbook] = None,
) -> sympy.Expr:
    """A formula in LaTeX or plain text over ``names`` (from ``name_table``) and the free
    ``variables`` (real symbols). Derivatives are evaluated; a defined symbol (``definitions``:
    symbol → its one-level definition) is expanded where the derivative's variable is inside it.
    ``literals``, a list, receives every number as written (``Literal``).

    >>> z = sympy.Symbol("z", real=True)
    >>> parse_math(r"\\frac{d}{dz} \\left(\\frac{1}{1 - e^{-z}}\\right)", {}, variables=["z"])
    -exp(-z)/(1 - exp(-z))**2
    """
    grammar = _Grammar(True, MATH_FUNCTIONS if functions is None else functions, MATH_ALLOWED)
    table = dict(names)
    for variable in variables:
        table[name_key(variable)] = sympy.Symbol(variable, real=True)
    parser = _Parser(text, tokenize(text, MATH_ALLOWED), grammar, table, dict(definitions or {}), literals=literals,
                     textbook=textbook)
    return _run(parser)


__all__ = [
    "FormulaError", "AmbiguousName", "Function", "Literal", "ACTIVATION_FUNCTIONS", "MATH_FUNCTIONS", "sigmoid", "tokenize",
    "name_key", "name_table", "expand_dependents", "parse_activation", "parse_math", "Textbook", "LAYERED",
]
