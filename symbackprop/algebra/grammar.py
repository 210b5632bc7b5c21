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

What students type is read too:

* LaTeX habits: ``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``, ``\\begin{aligned} … & … \\\\ … \\end{aligned}``,
  ``\\displaystyle``, ``\\, \\; \\! \\quad ~``, ``\\text{}``, ``{\\rm out}``, ``\\hat y_1`` without braces,
  ``\\ast``, ``\\bigl( \\bigr)``; Unicode σ δ ŷ ∂ ∇ ⊙ ∘ Σ · × − ² ³ ᵀ ′ 𝟙 ≥ ≤ and the Greek letters.
* Derivatives of activations: ``\\sigma'(z)``, ``\\tanh'(z)``, ``\\sigma^{\\prime}``, ``\\operatorname{sech}^2``,
  ``\\frac{d\\sigma}{dz}``; ``g``/``f``/``\\phi`` (and ``g'``, ``g_h``, ``g_o``, ``g^{[l]\\prime}``) are the
  activation of the layer whose net input is the argument, learnt from ``definitions`` (each
  out symbol defined as g(net)); the relu gate as ``\\mathbb{1}[z > 0]``, ``[z > 0]`` (Iverson's
  bracket) or ``H(z)`` (step, H(0) = 0); Kronecker's ``\\delta_{ij}`` for concrete indices.
* Derivatives with a slash: ``\\partial E/\\partial out_{c_1}``, ``dE/dout_c1``; the loss as ``E``,
  ``E_{total}``, ``L``, ``\\mathcal{L}``, ``C`` or ``J`` (``name_table`` adds these spellings).
* Sums over a layer's neurons: ``\\sum_k w_{3k}``, ``\\sum_{j=1}^{n_2} \\delta_{d_j} w_{3j}``: the summand (the
  product that follows) once per value, the index put into its names' subscripts; without an
  upper limit (or ``n_l`` when ``sizes`` is not given) the index runs while the names exist.
* Vectors and matrices (``matrices=True``): a layer's names without the index (``\\delta^{[2]}``,
  ``a^{[1]}``, ``W^{[2]}``, ``\\hat{y}``, ``y``, ``\\mathbf{out}_c``; in column notation ``A^{[1]}``, ``dZ^{[2]}``,
  Ng's ``da^{[1]}`` (∂L/∂a^{[1]}), ``x``) are ``sympy.ImmutableMatrix`` values, columns n×1 in column notation, rows 1×n otherwise;
  ``W a`` is a matrix product, ``\\odot``/``\\circ`` elementwise, ``^T``/``^\\top``/``a^{[1]T}`` a
  transpose, functions apply entrywise, ``\\nabla_a C`` and ``\\frac{\\partial L}{\\partial W^{[2]}}`` are the
  vector or matrix of derivatives. Shapes that do not fit are a one-line ``FormulaError``.

API: ``parse_math(text, names, *, definitions, textbook, matrices=False, columns=None, sizes=None)``
returns a SymPy expression, or an ``ImmutableMatrix`` when ``matrices`` (else a vector result
is a ``FormulaError``); ``name_value(text, names, *, textbook, columns)`` is the symbol or the
layer's matrix one name stands for (``--param 'W^{[2]}'``); ``split_claim(text)`` splits
``\\frac{\\partial E}{\\partial w} = …`` into (``"w"``, the right side); ``name_table`` returns a
``NameTable`` whose ``latex`` maps each symbol to its handout spelling, used by the messages
for unknown names (``\\hat{y}_{1}``, not ``hat_y_1``).

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
from typing import Callable, Iterable, Mapping, Optional, Sequence

import sympy

from . import shapes
from .limits import time_limit

MAX_LENGTH = 4000  # characters of one formula
MAX_DEPTH = 60  # nested brackets, braces, signs, powers and functions
MAX_DIGITS = 20  # digits of one number literal, before and after the point
MAX_EXPONENT_DIGITS = 5  # digits of the exponent of a number in scientific notation (1e-3)
MAX_NUMBER_BITS = 4096  # a constant power may produce about this many bits (some 1200 digits)
MAX_EXPONENT = 16  # |numerator| and denominator of a rational exponent of a non-constant base
MAX_DERIVATIVES = 8  # \frac{d}{dz} operators in one formula
MAX_SUM_TERMS = 20_000  # terms that the \sum signs of one formula may write out, in all
MAX_AUTO_RANGE = 10_000  # \sum_k without limits: k runs while the summand's names exist, at most this far
PARSE_SECONDS = 5.0  # SymPy can be slow on absurd input (nested functions differentiated): stop it


class FormulaError(ValueError):
    """A formula that does not parse, or names something unknown. The message is one line:
    the formula, where the problem is (1-based position), the problem and what is allowed."""

    def __init__(self, problem: str, text: str = "", position: Optional[int] = None, allowed: str = ""):
        self.problem, self.text, self.position, self.allowed = problem, text, position, allowed
        where = "" if position is None else f" at position {position + 1}"
        hint = f" (allowed: {allowed})" if allowed else ""
        super().__init__(f"invalid formula {_excerpt(text, position)}{where}: {problem}{hint}")


@dataclass(frozen=True)
class Repair:
    """A product a formula writes that is undefined, made defined by transposing one factor:
    ``factor`` as written (``W^{[2]}``), ``shape`` its description (a 2×3 matrix), ``problem`` the
    shape error the product was, at ``position`` in the formula."""

    factor: str
    shape: str
    problem: str
    position: int


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
    r"(?P<space>\s+|~|\$|&|\\\\|\\[,;:! ()\[\]]|\\(?:begin|end)\{[A-Za-z]+\*?\}(?:\{[a-z]*\})?)"
    r"|(?P<unicode>y\u0302|[^\x00-\x7f])"
    r"|(?P<number>(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?P<exponent>[eE][-+]?[0-9]+)?)"
    r"|(?P<word>[A-Za-z]+)"
    r"|(?P<macro>\\[A-Za-z]+)"
    r"|(?P<op>\*\*|\\[{}|]|>=|<=|[-+*/^()\[\]{}_,=<>'|])"
)
_SAME_WIDTH = str.maketrans({"−": "-", "·": "*", "⋅": "*", "×": "*", "∗": "*", "′": "'", "’": "'"})  # one character each
_SPACING = {r"\quad", r"\qquad", r"\displaystyle", r"\textstyle", r"\scriptstyle", r"\limits", r"\nolimits",
            r"\nonumber", r"\notag", r"\middle"}
_GREEK_LETTERS = dict(zip(
    "αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩ",
    r"\alpha \beta \gamma \delta \epsilon \zeta \eta \theta \iota \kappa \lambda \mu \nu \xi \pi \rho \sigma \tau "
    r"\upsilon \phi \chi \psi \omega \Gamma \Delta \Theta \Lambda \Xi \Pi \sum \Phi \Psi \Omega".split()))
_UNICODE: dict[str, tuple[tuple[str, str], ...]] = {  # a character as the tokens it stands for
    **{char: (("macro", macro),) for char, macro in _GREEK_LETTERS.items()},
    "ϕ": (("macro", r"\phi"),), "ϵ": (("macro", r"\epsilon"),), "ς": (("macro", r"\sigma"),),
    "ŷ": (("word", "yhat"),), "y\u0302": (("word", "yhat"),),
    "∂": (("macro", r"\partial"),), "∇": (("macro", r"\nabla"),), "∑": (("macro", r"\sum"),),
    "⊙": (("macro", r"\odot"),), "∘": (("macro", r"\circ"),), "⊤": (("macro", r"\top"),),
    "≥": (("macro", r"\geq"),), "≤": (("macro", r"\leq"),), "𝟙": (("macro", r"\one"),),
    "²": (("op", "^"), ("number", "2")), "³": (("op", "^"), ("number", "3")), "ᵀ": (("op", "^"), ("word", "T")),
    "ℒ": (("word", "L"),), "√": (("macro", r"\sqrt"),), "″": (("op", "'"), ("op", "'")),
    "\u00a0": (), "\u2009": (), "\u200a": (), "\u202f": (), "\u2002": (), "\u2003": (), "\u2061": (), "\u2062": (),
}
_PLAIN_OPS = {"+", "-", "*", "/", "^", "**", "(", ")", ",", "'", "|"}
_OLD_FONTS = {r"\rm": r"\mathrm", r"\bf": r"\mathbf", r"\it": r"\mathit", r"\sf": r"\mathsf", r"\cal": r"\mathcal",
              r"\tt": r"\mathrm", r"\bm": r"\boldsymbol"}


def _old_fonts(tokens: list[Token]) -> list[Token]:
    """``{\\rm out}`` as ``\\mathrm{out}``: the font switch moved before its group."""
    for i in range(len(tokens) - 1):
        if tokens[i].text == "{" and tokens[i + 1].text in _OLD_FONTS:
            switch = tokens[i + 1]
            tokens[i], tokens[i + 1] = Token("macro", _OLD_FONTS[switch.text], switch.position, switch.end), tokens[i]
    return tokens


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
        if match is None or (match.lastgroup == "unicode" and match.group() not in _UNICODE):
            raise FormulaError(f"unexpected {text[position]!r}", text, position, allowed)
        kind, word, end = match.lastgroup, match.group(), match.end()
        if kind == "unicode":  # δ is \delta, σ is \sigma, ŷ is yhat (the symbol name of \hat{y}), ² is ^2
            for kind, word in _UNICODE[word]:
                if plain and kind == "macro":
                    raise FormulaError(f"unexpected {text[position]!r}", text, position, allowed)
                tokens.append(Token(kind, word, position, end))
            position = end
            continue
        after = tokens[-1] if tokens and tokens[-1].end == position else None
        glued = after is not None and (after.kind == "word" or after.text == "_")
        if match.group("exponent") and glued:  # w1e3, x_1e2: the e is a letter of a name, not an exponent
            end = match.start("exponent")
            word = source[position:end]
        if plain and (kind == "macro" or (kind == "op" and word not in _PLAIN_OPS)
                      or (kind == "space" and not word.isspace())):
            raise FormulaError(f"unexpected {text[position]!r}", text, position, allowed)
        if kind != "space" and word not in _SPACING:
            tokens.append(Token(kind, word, position, end))
        position = end
    tokens.append(Token("end", "", len(text), len(text)))
    return _old_fonts(tokens)


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
    "sech": Function(1, lambda x: 1 / sympy.cosh(x)),
    "cosh": Function(1, sympy.cosh),
    "sinh": Function(1, sympy.sinh),
    "sign": Function(1, sympy.sign),  # d|z|/dz, as SymPy writes it
    "sgn": Function(1, sympy.sign),
    "H": Function(1, lambda x: sympy.Heaviside(x, 0)),  # the step, H(0) = 0 as for relu's derivative
    "Heaviside": Function(1, lambda x: sympy.Heaviside(x, 0)),
    "relu": Function(1, lambda x: sympy.Max(0, x)),
    "ReLU": Function(1, lambda x: sympy.Max(0, x)),
}

_WRAPPERS = {r"\mathrm", r"\operatorname", r"\text", r"\textrm", r"\mathit", r"\mathbf", r"\mathsf",
             r"\mathcal", r"\boldsymbol"}  # \mathrm{out}: the letters are the name
_ACCENTS = {r"\hat", r"\bar", r"\tilde", r"\vec", r"\dot"}  # \hat{y}: part of the name
_GREEK = {"\\" + g for g in (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi "
    "rho varrho tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon "
    "Phi Psi Omega").split()}
_FUNCTION_MACROS = {r"\exp", r"\log", r"\ln", r"\tanh", r"\sin", r"\cos", r"\sigma", r"\max", r"\min",
                    r"\cosh", r"\sinh", r"\sech"}
_ACTIVATION_NAMES = {"g", "f", "phi", "varphi", "act"}  # g'(z): the derivative of the layer's activation
_PRIME = {"'", r"\prime"}
_HADAMARD = {r"\odot", r"\circ"}
_BARS = {"|": "|", r"\lvert": r"\rvert", r"\vert": r"\vert"}  # |z|, \lvert z \rvert: the absolute value
_COMPARISONS = {">": ">", "<": "<", ">=": ">=", "<=": "<=", r"\gt": ">", r"\lt": "<", r"\geq": ">=",
                r"\ge": ">=", r"\geqslant": ">=", r"\leq": "<=", r"\le": "<=", r"\leqslant": "<="}
_TRANSPOSE = {"T", r"\top", r"\intercal", r"\mathsf{T}", r"\mathrm{T}", r"\mathbf{T}", "{T}", r"{\top}",
              r"{\intercal}"}
_INDICATOR = {r"\mathbb", r"\mathbf", r"\mathds", r"\mathbbm", r"\boldsymbol"}  # \mathbb{1}[z > 0]
LOSS_SPELLINGS = ("E", "E_total", "L", "C", "J", "Loss")  # \mathcal{L}, C, E, E_{total}: the loss
_FRACTIONS = {r"\frac", r"\dfrac", r"\tfrac"}
_TIMES = {"*", r"\cdot", r"\times", r"\ast", r"\star"}
_OPENING = {"(": ")", "[": "]", "{": "}", r"\{": r"\}"}  # \{ \}: braces that print
_IGNORED = {r"\big", r"\Big", r"\bigg", r"\Bigg", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr", r"\biggl",
            r"\biggr", r"\Biggl", r"\Biggr", r"\bigm", r"\Bigm"}

ACTIVATION_ALLOWED = ("numbers, the variable z, + - * / ^ **, parentheses, exp log sqrt tanh abs (or |z|) sin cos, "
                      "max/min of an expression and a number such as max(0, z); "
                      "numbers as 2, 0.5, 1e-3 or 2.5E+4")
MATH_ALLOWED = (r"numbers (2, 0.5, 1e-3, 2.5E+4; e alone is Euler's number), "
                r"the network's names (out_{d_1}, w_{31}, \delta_{c_1}, ...), + - * / ^ **, "
                r"\cdot \times, implicit products, ( ) [ ] { } \left( \right), |z|, \frac \sqrt, e^{...}, "
                r"\exp \log \ln \tanh \sigma \sin \cos, \frac{d}{dz} and \frac{\partial}{\partial w}, \partial E/\partial w, "
                r"\sigma'(z) g'(z), [z > 0], \sum_k, \odot ^T")


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
    primes: int = 0  # g^{[2]\prime}: primes written inside the layer superscript
    indexed: bool = False  # a subscript holds an index a \sum bound (\delta_{k1} in \sum_k): an index expression
    power: int = 1  # a^{[1]2}: a power written inside the layer superscript, Ng's (a^{[1]})^2

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


# -- the names a Model generates, keyed without the parser ---------------------------------------
# ``name_table`` keys every name of a network (a 784-30-10 network has some 49,000 spellings); the
# tokenizer and parser take ~0.1 ms a name. ``_simple_key`` reads the shapes the notations print
# (``w_{1,785}``, ``\mathrm{out}_{d_{10}}``, ``\delta^{[2]}_{1}``, ``W_2_3_2``, ``\hat{y}_{1}``) with a few
# regular expressions, and returns None for anything else, which then goes through the parser. Within
# the shapes it accepts it is the parser, rule for rule (``read_name``, ``subscript``,
# ``bracket_superscript``, ``name_parts``); tests/test_verify_speed_paths.py checks every name of
# several networks in every notation against it.
_SIMPLE_GROUP = r"\{(?:[A-Za-z0-9_,]|\\[A-Za-z]+|\{(?:[A-Za-z0-9_,]|\\[A-Za-z]+)*\})*\}"  # braces, one level nested
_SIMPLE_BASE = re.compile(rf"[A-Za-z]+[0-9]*|(?P<macro>\\[A-Za-z]+)(?P<group>{_SIMPLE_GROUP})?")
_SIMPLE_DECORATION = re.compile(
    rf"_(?:(?P<group>{_SIMPLE_GROUP})|(?P<run>[0-9]+|[A-Za-z]+[0-9]*)|(?P<macro>\\[A-Za-z]+)(?P<macro_group>{_SIMPLE_GROUP})?)"
    r"|\^(?:\{\[(?P<braced>[A-Za-z0-9_,]*)\]\}|\[(?P<bare>[A-Za-z0-9_,]*)\])"
)
_SIMPLE_PART = re.compile(r"\\[A-Za-z]+|[A-Za-z]+|[0-9]+")  # a command, a word, a whole number (as tokenized)
_NUMBER_THEN_E = re.compile(r"[0-9][eE]")  # 1e3 may tokenize as one number (scientific notation): the parser decides
_PLAIN_NAME = re.compile(r"[A-Za-z]+(?:_(?:[A-Za-z]+|[0-9]+))*")  # the commonest shapes, each one regular expression
_BRACED_NAME = re.compile(
    r"(?:(?P<word>[A-Za-z]+)|\\mathrm\{(?P<wrapped>[A-Za-z]+)\}|(?P<greek>\\[A-Za-z]+))(?:\^\{\[(?P<layer>[0-9]+)\]\})?"
    r"_\{(?P<subscript>(?:[A-Za-z]+|[0-9]+)(?:[_,](?:[A-Za-z]+|[0-9]+))*)\}"
)


def _simple_parts(text: str) -> Optional[list[str]]:
    """``name_parts`` of the tokens in ``text``: words, whole numbers and Greek letters, font commands
    and ``{ } _ ,`` skipped; None where ``name_parts`` would refuse a token (any other command).

    >>> _simple_parts(r"d_{10}"), _simple_parts(r"\\mathrm{total}"), _simple_parts(r"\\quad d")
    (['d', '10'], ['total'], None)
    """
    parts = []
    for part in _SIMPLE_PART.findall(text):
        if part[0] != "\\":
            parts.append(part)
        elif part in _GREEK:
            parts.append(part[1:])
        elif part not in _WRAPPERS:
            return None
    return parts


def _simple_key(spelling: str) -> Optional[str]:
    r"""``name_key(spelling)`` for the names the notations print, without the tokenizer and parser;
    None for a spelling outside those shapes (then only the parser can say, or refuse).

    >>> [_simple_key(s) for s in (r"\mathrm{out}_{d_{10}}", "w31", r"a_1^{[2]}", r"g^{[2z]}_{1}", r"\hat{y}_{1}")]
    ['out_d_10', 'w_31', 'a^[2]_1', 'g^[2_z]_1', 'hat_y_1']
    >>> _simple_key("g_2z_1") is None, _simple_key(r"w_{1e3}") is None, _simple_key(r"\sigma_1") is None
    (True, True, True)
    """
    if len(spelling) > MAX_LENGTH:
        return None
    if _PLAIN_NAME.fullmatch(spelling):  # out_d_1, w_3_12, W_2_3_2: words and numbers between "_" are the key
        return spelling
    found = _BRACED_NAME.fullmatch(spelling)
    if found and (found.group("greek") is None or found.group("greek") in _GREEK):
        # w_{3,12}, \mathrm{out}_{d_1}, W^{[2]}_{3,2}: the word, the layer, then the subscript's words and numbers
        layer = found.group("layer")
        return (found.group("word") or found.group("wrapped") or found.group("greek")[1:]) + \
            ("" if layer is None else f"^[{layer}]") + "_" + found.group("subscript").replace(",", "_")
    if _NUMBER_THEN_E.search(spelling):
        return None
    found = _SIMPLE_BASE.match(spelling)
    if found is None:
        return None
    macro, group = found.group("macro", "group")
    if macro is None:  # a word and the number glued to it: w31 is w 31
        word = found.group()
        digits = len(word) - len(word.rstrip("0123456789"))
        base = [word[:-digits], word[-digits:]] if digits else [word]
    elif macro in _GREEK and group is None:
        base = [macro[1:]]
    elif macro in _WRAPPERS and group is not None:
        base = _simple_parts(group)
        if not base:  # \mathrm{} is refused by the parser
            return None
    elif macro in _ACCENTS and group is not None:
        inside = _simple_parts(group)
        base = None if inside is None else [macro[1:]] + inside
    else:
        return None
    if base is None:
        return None
    superscripts, subscripts, position = [], [], found.end()
    while position < len(spelling):
        found = _SIMPLE_DECORATION.match(spelling, position)
        if found is None:
            return None
        position = found.end()
        group, run, macro, macro_group, braced, bare = found.group("group", "run", "macro", "macro_group", "braced", "bare")
        if braced is not None or bare is not None:  # ^{[2]}, ^[2]: a layer index of the name
            parts = _SIMPLE_PART.findall(braced if braced is not None else bare)
            if not parts:
                return None
            superscripts.append("_".join(parts))
            continue
        if run is not None:  # _31, _d1, _d: the number, or the word and the number glued to it
            digits = len(run) - len(run.rstrip("0123456789"))
            parts = [run] if digits in (0, len(run)) else [run[:-digits], run[-digits:]]
        elif group is not None:  # _{d_1}, _{3,12}, _{\mathrm{total}}
            parts = _simple_parts(group)
        elif macro in _WRAPPERS and macro_group is not None:  # _\mathrm{total}
            parts = _simple_parts(macro_group)
        elif macro in _GREEK and macro_group is None:  # _\alpha
            parts = [macro[1:]]
        else:
            return None
        if not parts:  # None: a command the parser refuses; []: an empty subscript
            return None
        subscripts += parts
    return "_".join(base) + "".join(f"^[{s}]" for s in superscripts) + "".join("_" + s for s in subscripts)


def name_key(spelling: str) -> str:
    """The normalized spelling of one name, in LaTeX or plain text.

    >>> [name_key(s) for s in (r"\\mathrm{out}_{d_1}", "out_d1", "w31", r"w_{2,12}", r"a_1^{[2]}")]
    ['out_d_1', 'out_d_1', 'w_31', 'w_2_12', 'a^[2]_1']
    """
    if isinstance(spelling, str):
        simple = _simple_key(spelling)
        if simple is not None:
            return simple
    parser = _Parser(spelling, tokenize(spelling, MATH_ALLOWED), _Grammar(True, {}, MATH_ALLOWED), {}, {})
    if parser.peek().kind not in ("word", "macro"):
        parser.fail(parser.peek(), "expected a name")
    name = parser.read_name()
    parser.expect_end()
    return name.key


class NameTable(dict):
    """Normalized spelling → symbol (what ``name_table`` returns), with ``latex``: each symbol's
    name as the handout prints it, for messages that list names in the reader's own spelling; and
    ``aliases``: other spellings of some names (the classic walk-through's w_5 for w_{21}), keyed
    alike, read only where no name of the table is spelled so, and said (``parse_math``'s ``aliased``)."""

    latex: dict
    aliases: dict
    spellings: dict  # symbol → its first other spelling (w_{21} → w_5), for writing back in the user's names

    def __init__(self, *args, latex: Optional[Mapping[sympy.Symbol, str]] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.latex = dict(latex or {})
        self.aliases = {}
        self.spellings = {}

    def add_aliases(self, aliases: Mapping[str, sympy.Symbol]) -> None:
        """Spelling → symbol, each keyed as ``name_key`` keys it (and without separators)."""
        for spelling, symbol in aliases.items():
            self.spellings.setdefault(symbol, spelling)
            key = name_key(spelling)
            for k in (key, _loose(key)):
                if k not in self:
                    self.aliases.setdefault(k, symbol)


_SHARED = object()  # name_table: a separator-free spelling that several symbols have (w_{1,11} and w_{11,1})
_ALL_PLAIN = re.compile(rf"{_PLAIN_NAME.pattern}(?:\n{_PLAIN_NAME.pattern})*")


def _keys(spellings: list[str]) -> list[Optional[str]]:
    """``name_key`` of each spelling, None where it is not one name; when every one is plain
    (``out_d_1``, ``w_3_12``: its own key), all checked by one regular expression.

    >>> _keys(["out_d_1", "w_3_12"]), _keys([r"\\mathrm{out}_{d_1}", "g_2z_1"])
    (['out_d_1', 'w_3_12'], ['out_d_1', None])
    """
    text = "\n".join(spelling if isinstance(spelling, str) else "\n\n" for spelling in spellings)
    if (spellings and text.count("\n") == len(spellings) - 1 and max(map(len, spellings)) <= MAX_LENGTH
            and _ALL_PLAIN.fullmatch(text)):
        return list(spellings)
    keys: list[Optional[str]] = []
    for spelling in spellings:
        try:
            keys.append(name_key(spelling))
        except FormulaError:
            keys.append(None)
    return keys


def name_table(latex_names: Mapping[sympy.Symbol, str]) -> NameTable:
    r"""The lookup ``parse_math`` needs: every normalized spelling of every symbol's LaTeX name
    and SymPy name (LaTeX names first, so each always parses back to its symbol), plus the
    separator-free spellings that are unambiguous. The loss (E_total or L) may also be written
    E, E_{total}, L, \mathcal{L}, C or J, when no other name is spelled so.

    >>> w = sympy.Symbol("w_2_12", real=True)
    >>> table = name_table({w: "w_{2,12}"})
    >>> table["w_2_12"] is w, table["w212"] is w
    (True, True)
    """
    table = NameTable(latex=latex_names)
    loose: dict[str, sympy.Symbol] = {}  # separator-free key → its one symbol, or _SHARED when several have it
    for keys in (_keys(list(latex_names.values())), _keys([s.name for s in latex_names])):
        for symbol, key in zip(latex_names, keys):
            if key is None:  # not writable as one name; the other spelling still works
                continue
            table.setdefault(key, symbol)
            separated = _loose(key)
            found = loose.setdefault(separated, symbol)
            if found is not _SHARED and found != symbol:
                loose[separated] = _SHARED
    for key, symbol in loose.items():
        if symbol is not _SHARED and key not in table:
            table[key] = symbol
    losses = [s for s in latex_names if s.name in ("E_total", "L")]
    if len(losses) == 1:
        for spelling in LOSS_SPELLINGS:
            table.setdefault(spelling, losses[0])
    return table


# -- the textbooks' spellings (column notation) ---------------------------------------------------
LAYERED = {"a", "z", "w", "W", "b", "delta"}  # Nielsen's letters with a layer superscript: a^l_j, w^l_{jk}, δ^l_j
# Ng's capitals for one entry, lowercase w; his one-sample dz^{[l]} (the deltas) and dw
_SAME_NAME = {"w": "W", "A": "a", "Z": "z", "dZ": "delta", "d_Z": "delta", "dz": "delta", "d_z": "delta"}
_BATCH_CAPITALS = {"A", "Z", "dZ", "d_Z", "X"}  # Ng's matrices of a mini-batch, read as one sample's vectors
ONE_SAMPLE = ("Ng's capitals (A^{[1]}, Z^{[1]}, dZ^{[2]}, X) as one sample's vectors, m = 1 "
              "(a mini-batch's formula: verify --batch M)")
_GRADIENT = {"dW": "W", "d_W": "W", "dw": "W", "d_w": "W", "db": "b", "d_b": "b"}  # Ng's dW^{[l]}: ∂L/∂W^{[l]}
_BY_ACTIVATION = {"da", "d_a", "dA", "d_A"}  # Ng's da^{[l]}: ∂L/∂a^{[l]} (dA^{[l]}, his batch's, read as one sample's)


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
    gradients: list = field(default_factory=list)  # the parameters whose gradient a formula names as Ng's dW, db
    powers: list = field(default_factory=list)  # (text, position, problem): z^2 read as a power, which Nielsen's z^2 is not

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

    def resolve(self, name: _Name, names: Mapping[str, sympy.Symbol], text: str,
                index: Callable[[], Mapping]) -> Optional[sympy.Expr]:
        """What ``name`` stands for in the textbooks' spellings; None to look it up as written.
        ``index`` gives ``shapes.index_names`` of ``names`` (the parser's, computed once), for a
        whole layer written with Nielsen's bare superscript (b^3)."""
        base = "_".join(name.base)
        if name.bare is not None and name.bare.startswith("L"):  # Nielsen's a^L, δ^L, a^{L-1}: from the output layer
            layer = self.output_layer - int(name.bare[2:] or 0)  # the same layer whichever way the input is counted
            if layer < 0:
                raise FormulaError(f"{text[name.start:name.end]}: the network has {self.output_layer + 1} layers", text,
                                   name.start)
            if name.subscripts:
                return self._lookup(self._key(base, layer, name.subscripts), names)
            return shapes.layer_value(self._key(base, layer, ()), index(), columns=True)
        if name.bare is not None:
            return self._bare(name, base, names, text, index)
        if self._lookup(name.key, names) is not None or len(name.superscripts) > 1:
            return None
        layer = int(name.superscripts[0]) if name.superscripts and name.superscripts[0].isdigit() else None
        if base in _GRADIENT:
            target = self._lookup(self._key(_GRADIENT[base], layer, name.subscripts), names)
            if target is None or self.parameter:
                return target
            return self.gradient(_GRADIENT[base], layer, name.subscripts, names)
        if name.superscripts and layer is None:
            return None
        return self._lookup(self._key(base, layer, name.subscripts), names)

    def gradient(self, kind: str, layer: int, subscripts: tuple[str, ...], names) -> Optional[sympy.Expr]:
        """Ng's dW^{[l]}_{j,k} = δ^{[l]}_j a^{[l-1]}_k and db^{[l]}_j = δ^{[l]}_j inside a formula
        (the parameter is added to ``gradients``)."""
        parameter = self._lookup(self._key(kind, layer, subscripts), names)
        if parameter is not None:
            self.gradients.append(parameter)
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
        written = f"{letter}^{{[{layer}]}}" + (f"_{{{','.join(subscripts)}}}" if subscripts else "")
        printed = self.latex_names.get(symbol, written) if symbol is not None else written
        same = printed.replace("{", "").replace("}", "") == written.replace("{", "").replace("}", "")
        return written if same else f"{written} (= {printed})"

    def _bare(self, name: _Name, base: str, names, text: str, index: Callable[[], Mapping]) -> sympy.Expr:
        spelled, n = text[name.start : name.end], int(name.bare)
        subscripts = name.subscripts
        letter = r"\delta" if base == "delta" else base
        inner = letter + (f"_{{{','.join(subscripts)}}}" if subscripts else "")
        power = None
        if not self.parameter:
            plain = self._lookup("_".join(name.base) + "".join("_" + s for s in subscripts), names)
            power = None if plain is None else plain ** n
        if subscripts:
            def lookup(layer):
                return self._lookup(self._key(base, layer, subscripts), names)
        else:  # Nielsen's b^3, z^2: the layer's whole vector
            def lookup(layer):
                return shapes.layer_value(self._key(base, layer, ()), index(), columns=True)
        nielsen = lookup(n - 1) if n >= 1 else None
        brackets = lookup(n)
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
        if power is not None and not subscripts and not self.nielsen:
            # z^2 of a plain name (--steps' variable z): a power, unless the input turns out to be in
            # Nielsen's numbering (then it is his z^2, and ``settle`` refuses the power read here)
            whole, offset = self.whole or (text, 0)
            self.powers.append((whole, offset + name.start, problem))
            return power
        if (power is not None and subscripts) or nielsen is None:
            raise AmbiguousName(problem, text, name.start)
        shown = self.latex_names.get(nielsen, str(nielsen)) if subscripts else self._shown(base, n - 1, (), None)
        self.read.append(f"{spelled} = {shown}")
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
        if self.powers and self.nielsen:
            text, position, problem = self.powers[0]
            raise AmbiguousName(problem, text, position)
        self.pending.clear()
        self.powers.clear()

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
class _Layers:
    """What the definitions say of the layers: each net input's activation (a formula in ``x``)
    and which net inputs belong to the output layer (their outputs feed no other net input)."""

    x: sympy.Dummy
    activation: dict  # net symbol → its layer's activation g(x)
    output: set  # the output layer's net symbols
    defined: set  # every defined symbol (a net of a softmax layer is defined but has no g of its own)

    @classmethod
    def of(cls, definitions: Mapping[sympy.Symbol, sympy.Expr]) -> "_Layers":
        x = sympy.Dummy("x", real=True)
        activation, outs = {}, {}
        for symbol, definition in definitions.items():
            free = getattr(definition, "free_symbols", set())
            if len(free) == 1:
                net = next(iter(free))
                if net in definitions and len(getattr(definitions[net], "free_symbols", ())) > 1:
                    activation[net], outs[net] = definition.xreplace({net: x}), symbol
        used = set()
        for net in activation:
            used |= definitions[net].free_symbols
        output = {net for net, out in outs.items() if out not in used}
        return cls(x, activation, output, set(definitions))


@dataclass
class _State:
    r"""Shared by a parser and the sub-parsers of its braces: the limits' counters, the indices a
    \sum has bound, and what the parse knows of the network (layers, sizes, vector layout)."""

    depth: int = 0
    derivatives: int = 0
    terms: int = 0  # terms written out by \sum
    bindings: dict = field(default_factory=dict)  # summation index → its value now
    columns: bool = False  # a layer's vector is a column (column notation) or a row
    sizes: Optional[tuple] = None  # neurons per layer, for \sum_{k=1}^{n_2}
    latex: Mapping = field(default_factory=dict)  # symbol → its name as the handout prints it
    layers: Optional[_Layers] = None  # from the definitions, when g' asks
    vectors: Optional[dict] = None  # shapes.index_names of the names, when a vector is asked for
    transposed: int = 0  # transposes written inside a layer superscript (a^{[1]T}), not yet applied
    used: set = field(default_factory=set)  # summation indices put into a name or read as a number
    probing: bool = False  # a \sum without limit tries the next index: an unknown name ends it, no message needed
    readings: Optional[list] = None  # receives the elementwise readings made (shapes.BROADCAST, ...), when asked for
    aliases: Mapping = field(default_factory=dict)  # ``NameTable.aliases``: other spellings, key → symbol
    aliased: Optional[list] = None  # receives "w_5 = w_{21}" for each alias read, when asked for
    repairs: Optional[list] = None  # receives a ``Repair`` for each product made defined by a transpose, when asked for
    batch: bool = False  # a mini-batch's formula: two n × m matrices of one shape multiply entry by entry
    taken: Optional[list] = None  # receives (operand, variable) for each derivative written, when asked for

    def read(self, reading: str) -> None:
        if self.readings is not None and reading not in self.readings:
            self.readings.append(reading)


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
    bars: int = 0  # absolute-value bars open in this parser: a | after an operand closes the innermost

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
            sign = self.take()
            right = self.term()
            if shapes.broadcasts(result, right):
                self.state.read(shapes.BROADCAST)
            result = self.shaped(shapes.add, sign, result, right, 1 if sign.text == "+" else -1)
        return result

    def shaped(self, operation, token: Token, *operands):
        """``operation`` (from ``shapes``) on the operands; a shape mismatch is a ``FormulaError`` here."""
        try:
            return operation(*operands)
        except shapes.ShapeMismatch as error:
            raise FormulaError(str(error), self.text, token.position) from None

    def term(self) -> sympy.Expr:
        start = self.peek().position
        result = self.unary()
        operands = [(start, self.peek().position, shapes.is_matrix(result))]  # where each factor is, and if a matrix
        while True:
            token = self.peek()
            if self.at(*_TIMES):
                self.take()
                right_start = self.peek().position
                right = self.unary()
                result = self.product(token, result, right, (start, token.position, right_start), operands)
            elif self.at(*_HADAMARD):
                self.take()
                right_start = self.peek().position
                result = self.shaped(shapes.hadamard, token, result, right := self.unary())
            elif self.at("/"):
                self.take()
                right_start = self.peek().position
                result = self.quotient(token, result, right := self.unary())
            elif self.starts_atom(token):
                right_start = token.position
                right = self.power()
                result = self.product(token, result, right, (start, token.position, token.position), operands)
            else:
                return result
            operands.append((right_start, self.peek().position, shapes.is_matrix(right)))

    def product(self, token: Token, left, right, spans: tuple[int, int, int], operands: list = ()):
        """left · right; where the product is undefined but one factor's transpose makes it defined,
        and the caller asked for ``repairs``, that product, and a ``Repair`` naming the factor (of
        the left side, its one matrix factor where the others are numbers: A^{[1]} of \\frac{1}{m} A^{[1]})."""
        if shapes.elementwise_product(left, right):
            self.state.read(shapes.SAME_SHAPE_PRODUCT)
        elif self.state.batch and shapes.same_shape_matrices(left, right):  # a batch's A^{[1]}(1 - A^{[1]}), as Ng writes it
            self.state.read(shapes.SAME_SHAPE_MATRIX_PRODUCT)
            return shapes.hadamard(left, right)
        try:
            return shapes.multiply(left, right)
        except shapes.ShapeMismatch as error:
            if self.state.repairs is not None and shapes.is_matrix(left) and shapes.is_matrix(right):
                start, end, right_start = spans
                matrices = [(a, b) for a, b, matrix in operands if matrix]
                if len(matrices) == 1:
                    start, end = matrices[0]
                fits = [(side, text) for side, text, fits in (
                    ("left", self.text[start:end], left.rows == right.rows),
                    ("right", self.text[right_start:self.peek().position], left.cols == right.cols)) if fits]
                if len(fits) == 1:  # one way to make it defined: name that factor
                    side, text = fits[0]
                    factor = left if side == "left" else right
                    repair = Repair(text.strip(), shapes.describe(factor), str(error), token.position)
                    if repair not in self.state.repairs:  # a \sum reads its term once per index value
                        self.state.repairs.append(repair)
                    return shapes.multiply(left.T, right) if side == "left" else shapes.multiply(left, right.T)
            raise FormulaError(str(error), self.text, token.position) from None

    def starts_atom(self, token: Token) -> bool:
        """Implicit multiplication: ``2x``, ``out_{d_1}(1 - out_{d_1})``, ``\\frac{a}{b} c``."""
        if token.kind in ("number", "word") or (token.kind == "op" and token.text == "("):
            return True
        if token.text in ("|", r"\vert") and token.kind != "word":  # 2|z|; inside |...|, a bar closes it
            return self.bars == 0
        if not self.grammar.latex:
            return False
        if token.kind == "op":
            return token.text in ("[", "{", r"\{")
        if token.text in _IGNORED:  # \bigr) ends a group, \bigl( starts one
            ahead = 1
            while self.peek(ahead).text in _IGNORED:
                ahead += 1
            return self.starts_atom(self.peek(ahead))
        return (token.kind == "macro" and token.text not in _TIMES | _HADAMARD | set(_COMPARISONS)
                and token.text not in (r"\right", r"\prime", r"\top", r"\rvert"))

    def unary(self) -> sympy.Expr:
        if self.at("-", "+"):
            sign = self.take()
            with self.nested(sign):
                operand = self.unary()
            return -operand if sign.text == "-" else operand
        return self.power()

    def power(self) -> sympy.Expr:
        base = self.atom()
        while self.at("^", "**"):
            if self.grammar.latex and self.transpose_mark():
                base = shapes.transpose(base)
                continue
            after = self.peek(2)  # w^+ alone (w^+1 is a power in plain text), or w^{+}
            if self.at("^") and ((self.peek(1).text == "+" and after.kind not in ("number", "word", "macro")
                                  and after.text not in ("(", "{", "[")) or
                                 [self.peek(i).text for i in (1, 2, 3)] == ["{", "+", "}"]):
                self.fail(self.peek(), "w^{+} is an updated parameter, defined by a gradient-descent step "
                                       "(w^{+} = w - \\eta ∂E/∂w), not derived from E_total")
            caret = self.take()
            return self.raise_to(base, self.exponent(caret), caret)
        return base

    def transpose_length(self, offset: int) -> Optional[int]:
        r"""How many tokens from ``offset`` on spell a transpose (``T``, ``\top``, ``{T}``, ``\intercal``,
        ``\mathsf{T}``, ``{\mathsf{T}}``), or None."""
        for length in (1, 3, 4, 6):
            spelled = "".join(self.peek(i).text for i in range(offset, offset + length))
            if spelled in _TRANSPOSE or spelled in {"{" + t + "}" for t in _TRANSPOSE}:
                return length
        return None

    def transpose_mark(self) -> bool:
        r"""Take ``^T``, ``^\top``, ``^{T}``, ``^\intercal``, ``^{\mathsf{T}}`` when next; say whether it was there."""
        length = self.transpose_length(1) if self.at("^") else None
        if length is None:
            return False
        for _ in range(length + 1):
            self.take()
        return True

    def exponent(self, caret: Token) -> sympy.Expr:
        with self.nested(caret):
            if self.grammar.latex and self.at("{"):
                return self.braced()
            return self.unary()

    def raise_to(self, base: sympy.Expr, exponent: sympy.Expr, token: Token) -> sympy.Expr:
        """base^exponent, refusing constant powers too large to compute and huge symbolic exponents."""
        base, exponent = shapes.simplest(base), shapes.simplest(exponent)
        batch = self.state.batch and shapes.is_matrix(base) and base.rows != base.cols  # a batch's (A^{[1]})^2
        if shapes.is_matrix(base) and not shapes.is_matrix(exponent) and (1 in base.shape or batch):  # NumPy's **
            self.state.read(shapes.VECTOR_POWER if 1 in base.shape else shapes.BATCH_POWER)
            return sympy.ImmutableMatrix(base.applyfunc(lambda entry: self.raise_to(entry, exponent, token)))
        if shapes.is_matrix(base) or shapes.is_matrix(exponent):
            self.fail(token, f"a power of {shapes.describe(base)}: write an elementwise product with \\odot, "
                             "or ^T for a transpose")
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
        if self.grammar.latex and (token.text == r"\partial" or token.kind == "word" and token.text.startswith("d")
                                   or token.text == r"\mathrm" and self.peek(2).text == "d"):
            derivative = self.slash_derivative()  # \partial E/\partial out_{c_1}, dE/dout_c1
            if derivative is not None:
                return derivative
        if token.kind == "number":
            return self.number()
        if token.kind == "op" and (token.text == "(" or (self.grammar.latex and token.text in ("[", "{", r"\{"))):
            return self.bracketed()
        if token.text == "|" and token.kind == "op" or self.grammar.latex and token.text in _BARS:
            return self.absolute()
        if token.kind == "word" or (self.grammar.latex and token.text in _WRAPPERS | _ACCENTS | _GREEK):
            return self.name_or_call()
        if not self.grammar.latex or token.kind != "macro":
            self.unexpected(token)
        if token.text == r"\left":
            return self.absolute() if self.peek(1).text in _BARS and self.peek(1).kind != "word" else self.bracketed()
        if token.text in _FRACTIONS:
            return self.fraction()
        if token.text == r"\sqrt":
            return self.square_root()
        if token.text in _FUNCTION_MACROS:
            self.take()
            return self.call(token.text[1:], token)
        if token.text == r"\partial":
            self.fail(token, r"\partial belongs in a derivative such as \frac{\partial}{\partial w_{31}}")
        if token.text == r"\sum":
            return self.summation()
        if token.text == r"\nabla":
            return self.gradient()
        if token.text == r"\one" or (token.text in _INDICATOR and self.peek(1).text == "{"
                                      and self.peek(2).text in ("1", "I") and self.peek(3).text == "}"):
            return self.indicator()
        self.unexpected(token)

    def absolute(self) -> sympy.Expr:
        r"""|z|, \lvert z \rvert, \vert z \vert, \left| z \right|: the absolute value (of each entry of a vector).

        >>> parse_math(r"\left| -2 \right| + |z| \lvert z \rvert", {"z": sympy.Symbol("z", real=True)})
        z**2 + 2
        """
        left = self.at(r"\left")
        if left:
            self.take()
        opening = self.take()
        closing = _BARS[opening.text]
        self.bars += 1
        try:
            with self.nested(opening):
                inner = self.expression()
        finally:
            self.bars -= 1
        while self.grammar.latex and self.at(*_IGNORED):
            self.take()
        if left:
            self.expect(r"\right")
        if not self.at(closing):
            self.fail(opening if self.peek().kind == "end" else self.peek(),
                      f"this {opening.text} is never closed (an absolute value is |...|)")
        self.take()
        return shapes.elementwise(sympy.Abs, inner)

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
            items = [self.condition()]
            while allow_commas and self.at(","):
                self.take()
                items.append(self.condition())
        while self.grammar.latex and self.at(*_IGNORED):
            self.take()
        if left:
            self.expect(r"\right")
        self.expect(closing)
        return items if allow_commas else items[0]

    def condition(self) -> sympy.Expr:
        """An expression, or a comparison read as Iverson's bracket: [z > 0] is 1 where z > 0, else 0."""
        left = self.expression()
        if not (self.grammar.latex and self.peek().text in _COMPARISONS):
            return left
        relation = _COMPARISONS[self.take().text]
        right = self.expression()
        difference = self.shaped(shapes.add, self.peek(), *((left, right) if ">" in relation else (right, left)), -1)
        at_zero = 1 if "=" in relation else 0
        return shapes.elementwise(lambda d: sympy.Heaviside(d, at_zero), difference)

    def indicator(self) -> sympy.Expr:
        r"""\mathbb{1}[z > 0], \mathbb{1}_{z > 0}, \mathbf{1}\{z > 0\}, 𝟙(z > 0): the step of the condition."""
        token = self.take()
        if token.text != r"\one":
            for _ in range(3):
                self.take()
        if self.at("_"):
            self.take()
            tokens, end = self.group_tokens() if self.at("{") else ([self.take()], self.peek())
            with self.nested(token):
                sub = self.sub(tokens, end)
                result = sub.condition()
                sub.expect_end()
            return result
        if not self.starts_group():
            self.fail(self.peek(), r"expected the condition of \mathbb{1}, e.g. \mathbb{1}[z > 0]")
        return self.bracketed()

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
            function = self.lone_function(operand) if operand else None
            if function is not None:  # \frac{d\sigma}{dz}: the function's derivative at the variable
                return self.shaped(shapes.elementwise, frac, lambda v: self.derived(function, 1, v, frac), variable)
            if operand is None:  # \frac{d}{dz} applied to what follows
                with self.nested(frac):
                    operand = self.power() if self.starts_group() else self.term()
            else:
                operand = self.parse_inside(operand, num_end)
            return self.differentiate(operand, variable, frac)
        if not numerator or not denominator:
            self.fail(frac, r"\frac needs a numerator and a denominator")
        return self.quotient(frac, self.parse_inside(numerator, num_end), self.parse_inside(denominator, den_end))

    def quotient(self, token: Token, left, right):
        """left / right (``shapes.divide``): by a vector entry by entry, said in the verdict."""
        if shapes.elementwise_quotient(left, right):
            self.state.read(shapes.VECTOR_QUOTIENT)
        return self.shaped(shapes.divide, token, left, right)

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
            # clearly meant as a derivative: d/d(something), or ∂ above and below (∂ is nothing else):
            # report the unknown variable, not the ∂ left over
            if operator or (numerator[0].text == r"\partial" and denominator[0].text == r"\partial"):
                raise
            return None
        return variable, (None if operator else top)

    def variable(self) -> sympy.Symbol:
        token = self.peek()
        if token.kind not in ("word", "macro"):
            self.fail(token, "expected the variable of the derivative")
        name = self.read_name()
        symbol = self.resolve(name)
        self.expect_end()
        entries = symbol.values() if shapes.is_matrix(symbol) else [symbol]
        if not all(isinstance(entry, sympy.Symbol) for entry in entries):
            self.fail(token, f"cannot differentiate with respect to {symbol}")
        given = self.definitions.get(symbol)
        if given is not None and given.is_number:  # a document's $v = 0.4$: the derivative by it would be 0
            self.fail(token, f"cannot differentiate with respect to {self.text[name.start:name.end]}: it is given "
                             f"the value {given}, it is no variable of the network")
        return symbol

    def differentiate(self, operand: sympy.Expr, variable: sympy.Symbol, token: Token) -> sympy.Expr:
        """d operand / d variable; a vector or matrix of derivatives when one of them is (∂L/∂W^{[2]})."""
        self.state.derivatives += 1
        if self.state.derivatives > MAX_DERIVATIVES:
            self.fail(token, f"more than {MAX_DERIVATIVES} derivatives")
        if shapes.is_matrix(operand) and shapes.is_matrix(variable):
            self.fail(token, f"cannot differentiate {shapes.describe(operand)} by {shapes.describe(variable)}: "
                             "one of them must be a single quantity")
        if shapes.is_matrix(variable):
            return shapes.elementwise(lambda v: self.differentiate_one(operand, v), variable)
        return shapes.elementwise(lambda entry: self.differentiate_one(entry, variable), operand)

    def differentiate_one(self, operand: sympy.Expr, variable: sympy.Symbol) -> sympy.Expr:
        if self.state.taken is not None:
            self.state.taken.append((operand, variable))
        return total_derivative(operand, variable, self.definitions)

    def slash_derivative(self) -> Optional[sympy.Expr]:
        r"""``\partial E/\partial out_{c_1}``, ``dE/dout_c1``, ``d/dz (...)``: a derivative written
        with a slash; None (nothing taken) when what follows is not one."""
        token, tail = self.peek(), self.tokens[self.index:]
        top = _strip_d(tail)
        if top is None:
            return None
        length = 0 if top and top[0].text == "/" else self.name_length(top)
        if length is None or len(top) <= length or top[length].text != "/":
            return None
        below = _strip_d(top[length + 1:])
        variable_length = self.name_length(below) if below else None
        if not variable_length:
            return None
        end = below[variable_length]
        try:
            variable = self.sub(below[:variable_length], end).variable()
        except FormulaError:
            if length == 0:  # clearly d/d(something): report the unknown variable
                raise
            return None
        self.index += len(tail) - len(below) + variable_length
        if length == 0:  # d/dz applied to what follows
            with self.nested(token):
                operand = self.power() if self.starts_group() else self.term()
        else:
            function = self.lone_function(top[:length])
            if function is not None:
                return self.shaped(shapes.elementwise, token, lambda v: self.derived(function, 1, v, token), variable)
            operand = self.parse_inside(top[:length], end)
        return self.differentiate(operand, variable, token)

    def name_length(self, tokens: list[Token]) -> Optional[int]:
        """How many of ``tokens`` one name takes (``out_{c_1}``: 6), or None when they do not start with a name."""
        if not tokens or not (tokens[0].kind == "word" or tokens[0].text in _WRAPPERS | _ACCENTS | _GREEK):
            return None
        probe = _Parser(self.text, list(tokens) + [Token("end", "", tokens[-1].end, tokens[-1].end)], self.grammar,
                        self.names, {}, _State(bindings=dict(self.state.bindings)))
        try:
            probe.read_name()
        except FormulaError:
            return None
        return probe.index

    def lone_function(self, tokens: Optional[list[Token]]):
        r"""The function a derivative's numerator names alone (\sigma in \frac{d\sigma}{dz}, g in dg/dz), else None:
        (kind, name) with kind "function" or "activation"."""
        if not tokens or len(tokens) > 3:
            return None
        if len(tokens) == 1 and tokens[0].text in _FUNCTION_MACROS:
            return ("function", tokens[0].text[1:])
        if len(tokens) == 1 and tokens[0].kind == "word" and tokens[0].text not in self.names:
            word = tokens[0].text
            if word in self.grammar.functions:
                return ("function", word)
            if word in _ACTIVATION_NAMES:
                return ("activation", (word, ()))
        if tokens[0].kind == "word" and tokens[0].text in _ACTIVATION_NAMES and len(tokens) == 3 and tokens[1].text == "_":
            return ("activation", (tokens[0].text, (tokens[2].text,)))
        return None

    def derived(self, function, primes: int, argument: sympy.Expr, token: Token) -> sympy.Expr:
        """The ``primes``-th derivative of ``function`` (from ``lone_function``) at ``argument``."""
        kind, name = function
        if kind == "activation":
            return self.activation(name[0], name[1], primes, argument, token)
        entry = self.grammar.functions.get(name)
        if entry is None or entry.arity != 1:
            self.fail(token, f"{name} has no derivative of one variable here")
        x = sympy.Dummy("x", real=True)
        return sympy.diff(entry.build(x), x, primes).xreplace({x: argument})

    def activation(self, word: str, role: tuple, primes: int, argument: sympy.Expr, token: Token) -> sympy.Expr:
        """g(argument) or its derivative g'(argument), g being the activation of the layer whose
        net input the argument is (g'(net_{c_1}) is layer c's), or the one activation of the
        network (g_h: of its hidden layers, g_o: of its output layer)."""
        if self.state.layers is None:
            self.state.layers = _Layers.of(self.definitions)
        layers = self.state.layers
        spelled = word + (f"_{role[0]}" if role else "") + "'" * primes
        if not layers.activation:
            self.fail(token, f"{spelled} needs the network: no layer's activation is known here")
        wanted = {"h": lambda net: net not in layers.output, "o": lambda net: net in layers.output}.get(
            role[0] if role else "", lambda net: True)
        nets = [s for s in argument.free_symbols if s in layers.defined]
        if nets and not all(net in layers.activation for net in nets):
            self.fail(token, f"{spelled} of a layer whose neurons are mixed (softmax) is not one function: "
                             "write its derivative out")
        candidates = {layers.activation[net] for net in (nets or layers.activation) if wanted(net)}
        if not candidates:
            self.fail(token, f"{spelled}: no layer of that kind here")
        if len(candidates) > 1:
            self.fail(token, f"{spelled}({argument}) is ambiguous: the layers have different activations "
                             f"({', '.join(sorted(str(c.xreplace({layers.x: sympy.Symbol('z')})) for c in candidates))}); "
                             "apply it to a net input of one layer, or write the function")
        formula = next(iter(candidates))
        return sympy.diff(formula, layers.x, primes).xreplace({layers.x: argument}) if primes else (
            formula.xreplace({layers.x: argument}))

    def at_prime(self) -> bool:
        return self.at("'") or (self.at("^") and (self.peek(1).text == r"\prime" or (
            self.peek(1).text == "{" and self.peek(2).text == r"\prime")))

    def primes(self) -> int:
        r"""How many primes follow: ', '', ^\prime, ^{\prime\prime}."""
        count = 0
        while True:
            if self.at("'"):
                self.take()
                count += 1
            elif self.at("^") and self.peek(1).text == r"\prime":
                self.take(), self.take()
                count += 1
            elif self.at("^") and self.peek(1).text == "{" and self.peek(2).text == r"\prime":
                self.take(), self.take()
                while self.at(r"\prime"):
                    self.take()
                    count += 1
                self.expect("}")
            else:
                return count

    def summation(self) -> sympy.Expr:
        r"""``\sum_k …``, ``\sum_{k=1}^{n_2} …``, ``\sum_{j} w_{jk} \delta_j``: the summand (the product
        that follows) written out for each value of the index, substituted into the subscripts of
        its names; without an upper limit, k runs from its start while the summand's names exist."""
        token = self.take()
        index, start, stop = None, 1, None
        for _ in range(2):
            if self.at("_") and index is None:
                underscore = self.take()
                tokens, end = self.group_tokens() if self.at("{") else ([self.take()], self.peek())
                if not tokens or tokens[0].kind != "word" or len(tokens[0].text) != 1:
                    self.fail(underscore, r"expected the summation index after \sum_, e.g. \sum_k or \sum_{k=1}^{n_2}")
                index = tokens[0].text
                if len(tokens) > 1:
                    if tokens[1].text != "=" or len(tokens) < 3:
                        self.fail(tokens[1], r"expected '=' and the first value, e.g. \sum_{k=1}^{n_2}")
                    start = self.limit(tokens[2:], end)
            elif self.at("^") and stop is None:
                caret = self.take()
                tokens, end = self.group_tokens() if self.at("{") else ([self.take()], self.peek())
                if not tokens:
                    self.fail(caret, r"expected the last value of the sum")
                stop = self.limit(tokens, end, upper=True)
        if index is None:
            self.fail(token, r"expected the summation index, e.g. \sum_k or \sum_{k=1}^{n_2}")
        if index in self.state.bindings:
            self.fail(token, f"the index {index} is already summed over")
        if stop is not None and stop - start + 1 > MAX_AUTO_RANGE:
            self.fail(token, f"a sum of more than {MAX_AUTO_RANGE} terms")
        begin = self.index
        self.state.used.discard(index)
        recorded = len(self.literals) if self.literals is not None else 0
        terms, end_index, value = [], None, start
        try:
            while stop is None or value <= stop:
                self.index = begin
                self.state.bindings[index] = value
                self.state.terms += 1
                if self.state.terms > MAX_SUM_TERMS:
                    self.fail(token, f"the sums write out more than {MAX_SUM_TERMS} terms")
                self.state.probing = stop is None and bool(terms)
                try:
                    with self.nested(token):
                        terms.append(self.term())
                except FormulaError as error:
                    if self.state.probing and error.problem.startswith("unknown name"):
                        break  # the names of this layer end here
                    raise
                finally:
                    self.state.probing = False
                if end_index is None:
                    end_index = self.index
                    if stop is None and index not in self.state.used:
                        self.fail(token, f"the index {index} appears in no name of the sum: write its limits, "
                                         f"e.g. \\sum_{{{index}=1}}^{{n_2}}")
                    if self.literals is not None:
                        recorded = len(self.literals)
                value += 1
                if stop is None and value - start >= MAX_AUTO_RANGE:
                    break
        finally:
            del self.state.bindings[index]
        if self.literals is not None:
            del self.literals[recorded:]  # each number once, as written
        self.index = end_index if end_index is not None else begin
        if not terms:
            return sympy.Integer(0)
        if not any(shapes.is_matrix(term) for term in terms):
            return sympy.Add(*terms)
        total = terms[0]
        for term in terms[1:]:
            total = self.shaped(shapes.add, token, total, term, 1)
        return total

    def limit(self, tokens: list[Token], end: Token, upper: bool = False) -> Optional[int]:
        """A limit of a sum: a whole number, or n_l / n^{[l]} (the size of layer l); None for n_l when
        the sizes are not known (then the index runs while the names exist)."""
        if len(tokens) == 1 and tokens[0].kind == "number" and tokens[0].text.isdigit():
            return int(tokens[0].text)
        if upper and tokens[0].kind == "word" and tokens[0].text in ("n", "N", "m"):
            probe = self.sub(tokens, end)
            name = probe.read_name()
            probe.expect_end()
            layer = (name.subscripts or name.superscripts or (None,))[0]
            if layer is not None and layer.isdigit():
                if self.state.sizes is None:
                    return None
                if int(layer) >= len(self.state.sizes):
                    self.fail(tokens[0], f"the network has no layer {layer} (layers 0 to {len(self.state.sizes) - 1})")
                return self.state.sizes[int(layer)]
            if layer is None and tokens[0].text in ("n", "N"):
                return None
        self.fail(tokens[0], "a limit of a sum is a whole number or n_l, the size of layer l")

    def gradient(self) -> sympy.Expr:
        """``\nabla_{a^{[2]}} L``, ``\nabla_a C``: the vector of derivatives of what follows by the
        entries of the subscript (``a`` alone: the output layer's)."""
        token = self.take()
        if not self.at("_"):
            self.fail(self.peek(), r"expected the variables of \nabla, e.g. \nabla_a C")
        self.take()
        tokens, end = self.group_tokens() if self.at("{") else ([self.take()], self.peek())
        if len(tokens) == 1 and tokens[0].text in ("a", "yhat") and not self.known(tokens[0].text):
            variable = self.output_vector(tokens[0])
        else:
            variable = self.sub(tokens, end).variable()
        with self.nested(token):
            operand = self.power()
        return self.differentiate(operand, variable, token)

    def known(self, word: str) -> bool:
        return word in self.names

    def output_vector(self, token: Token) -> sympy.ImmutableMatrix:
        """The output layer's outputs as one vector (Nielsen's ∇_a C)."""
        for prefix in ("hat_y", "yhat"):
            found = self.layer_vector(prefix)
            if found is not None:
                return found
        if self.state.layers is None:
            self.state.layers = _Layers.of(self.definitions)
        outs = sorted((out for out, definition in self.definitions.items()
                       if definition.free_symbols & self.state.layers.output and out not in self.state.layers.output
                       and len(definition.free_symbols) == 1), key=lambda s: sympy.default_sort_key(s))
        if not outs:
            self.fail(token, "the output layer's vector is not known here")
        return sympy.ImmutableMatrix(outs) if self.state.columns else sympy.ImmutableMatrix([outs])

    def layer_index(self) -> Mapping:
        """``shapes.index_names`` of the names, computed once per parse (a wide network has thousands)."""
        if self.state.vectors is None:
            self.state.vectors = shapes.index_names(self.names)
        return self.state.vectors

    def layer_vector(self, prefix: str) -> Optional[sympy.ImmutableMatrix]:
        return shapes.layer_value(prefix, self.layer_index(), self.state.columns)

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
        self.state.transposed = 0
        name = self.read_name(powers=True)
        transposed, self.state.transposed = self.state.transposed, 0
        if name.power != 1 and (name.primes or self.activation_role(name) is not None):
            self.fail(token, f"a power of a function is written (g(z))^{name.power}, not inside its layer superscript")
        if name.word in self.grammar.functions and name.word not in self.names:
            return self.call(name.word, token, name.primes)
        role = self.activation_role(name)
        if role is not None and (name.primes or self.at_prime() or self.starts_group()):
            return self.call(name.base[0], token, name.primes, role=role)
        if name.primes:
            self.fail(token, f"a prime marks a derivative of a function, such as g'(z) or \\sigma'(z), "
                             f"not of {self.text[name.start:name.end]}")
        value = self.resolve(name)
        value = shapes.transpose(value) if transposed % 2 else value
        return self.raise_to(value, sympy.Integer(name.power), token) if name.power != 1 else value

    def activation_role(self, name: "_Name") -> Optional[tuple]:
        """For g, f, φ (g_h, g_o, g^{[2]}): () or the role subscript; None for any other name."""
        if len(name.base) != 1 or name.base[0] not in _ACTIVATION_NAMES or name.key in self.names:
            return None
        if len(name.subscripts) > 1 or (name.subscripts and name.subscripts[0] not in ("h", "o")):
            return None
        if len(name.superscripts) > 1 or (name.superscripts and not name.superscripts[0].isdigit()):
            return None
        return name.subscripts

    def call(self, function_name: str, token: Token, primes: int = 0, role: Optional[tuple] = None) -> sympy.Expr:
        function = self.grammar.functions.get(function_name) if role is None else Function(1, None)
        if function is None:
            self.fail(token, f"unknown function {function_name}")
        power = None
        if self.grammar.latex:
            primes += self.primes()
            if role is not None and not role and self.at("_") and self.peek(1).text in ("h", "o"):
                self.take()
                role = (self.take().text,)  # g'_h(z)
            if self.at("^") and not self.transpose_mark():  # \tanh^2(z)
                caret = self.take()
                power = (caret, self.exponent(caret))
            primes += self.primes()  # \sigma^2'(z) is rare, but harmless
        elif self.at("'"):
            self.fail(self.peek(), f"write the derivative of {function_name} out, e.g. with d/dz")
        if self.starts_group():
            arguments = self.bracketed(allow_commas=True)
        elif self.grammar.latex and function.arity == 1:  # \ln x
            with self.nested(token):
                arguments = [self.power()]
        else:
            self.fail(self.peek(), f"expected '(' after {function_name}")
        if len(arguments) != function.arity:
            self.fail(token, f"{function_name} takes {function.arity} argument{'s' * (function.arity > 1)}")
        if function.arity > 1 and any(shapes.is_matrix(a) for a in arguments):
            self.fail(token, f"{function_name} of a vector or matrix: apply it to one entry")
        if function.needs_number and not any(a.is_Number for a in arguments):
            self.fail(token, f"{function_name} needs a number as one argument, e.g. {function_name}(0, z)")
        if role is not None:
            build = lambda x: self.activation(function_name, role, primes, x, token)  # noqa: E731
        elif primes:
            if function.arity != 1:
                self.fail(token, f"{function_name} has no derivative of one variable")
            build = lambda x: self.derived(("function", function_name), primes, x, token)  # noqa: E731
        else:
            build = function.build
        result = shapes.elementwise(build, arguments[0]) if function.arity == 1 else build(*arguments)
        return self.raise_to(result, power[1], power[0]) if power else result

    def read_name(self, powers: bool = False) -> _Name:
        """A name with its decorations: ``out_{d_1}``, ``out_d1``, ``w31``, ``\\mathrm{out}_{d_1}``,
        ``E_{\\mathrm{total}}``, ``a^{[2]}_{1}``, ``\\hat{y}_{1}``; with ``powers`` a power may be written
        inside its layer superscript (``a^{[1]2}``), anywhere else that is an error."""
        first = self.take()
        if first.kind == "word":
            base = [first.text]
            if first.text not in self.grammar.functions and self.glued(first, "number"):
                base.append(self.take().text)  # w31, out1
        elif first.text in _WRAPPERS | _ACCENTS:
            tokens, _ = self.group_tokens() if self.at("{") or first.text in _WRAPPERS else self.argument_tokens()
            base = ([first.text[1:]] if first.text in _ACCENTS else []) + self.name_parts(tokens)
            if not base:
                self.fail(first, f"empty {first.text}{{}}")
        elif first.text in _GREEK:
            base = [first.text[1:]]
        else:
            self.fail(first, "expected a name")
        superscripts, subscripts, bare, primes, indexed, power = [], [], None, 0, False, 1
        while self.grammar.latex:
            if self.at("_"):
                written = self.subscript()
                parts = self.bound(written)
                indexed = indexed or parts != written
                subscripts += parts
            elif self.at("^") and (self.peek(1).text == "[" or (self.peek(1).text == "{" and self.peek(2).text == "[")):
                caret = self.peek()
                superscript, marks, raised = self.bracket_superscript()
                superscripts.append(superscript)
                primes += marks
                if raised != 1 and (not powers or power != 1):
                    self.fail(caret, "a power inside a layer superscript (a^{[1]2}) is read only in a formula's "
                                     "terms, once: write (a^{[1]})^2")
                power *= raised
            elif (self.textbook is not None and bare is None and not superscripts and "_".join(base) in LAYERED
                  and self.at("^") and self.bare_layer()):
                bare = self.bare_superscript()  # Nielsen's a^2_1, or a power: ``Textbook.resolve`` decides
            else:
                break
        end = self.tokens[self.index - 1].end
        return _Name(tuple(base), tuple(superscripts), tuple(subscripts), first.position, end, bare, primes, indexed, power)

    def bound(self, parts: list[str]) -> list[str]:
        r"""Subscripts with the indices a \sum has bound replaced by their values: w_{jk} → w_{12}."""
        bindings = self.state.bindings
        if not bindings:
            return parts
        result = []
        for part in parts:
            if part.isalpha() and all(letter in bindings for letter in part):
                result.append("".join(str(bindings[letter]) for letter in part))
                self.state.used.update(part)
            else:
                result.append(part)
        return result

    def bare_layer(self) -> bool:
        """Whether ``^`` is followed by a whole number or Nielsen's L (the output layer), bare (``^2``,
        ``^L``) or braced (``^{2}``)."""
        whole = lambda token: token.kind == "number" and token.text.isdigit() or token.kind == "word" and token.text == "L"  # noqa: E731
        return whole(self.peek(1)) or (self.peek(1).text == "{" and whole(self.peek(2)) and self.peek(3).text == "}") \
            or self._before_output()

    def _before_output(self) -> bool:
        """``^{L-1}``: a layer counted back from the output layer L."""
        return (self.peek(1).text == "{" and self.peek(2).text == "L" and self.peek(3).text == "-"
                and self.peek(4).kind == "number" and self.peek(4).text.isdigit() and self.peek(5).text == "}")

    def bare_superscript(self) -> str:
        if self._before_output():
            for _ in range(4):  # ^ { L -
                self.take()
            back = self.take().text
            self.take()
            return f"L-{back}"
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

    def bracket_superscript(self) -> tuple[str, int, int]:
        """``^{[2]}`` or ``^[2]``: a layer index, part of the name (seed 001's a_1^{[2]}); inside braces
        after it Ng's marks: primes (g^{[2]\\prime}, returned as their count), transposes (a^{[1]T},
        a^{[1]\\mathsf{T}}: counted in the state) and a power (a^{[1]2}, returned; 1 without)."""
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
        marks, power = 0, 1
        if braced:
            while True:
                if self.at(r"\prime", "'"):  # g^{[2]\prime}: Ng's derivative of layer 2's activation
                    self.take()
                    marks += 1
                elif (length := self.transpose_length(0)) is not None:  # a^{[1]T}: transposed
                    for _ in range(length):
                        self.take()
                    self.state.transposed += 1
                elif self.peek().kind == "number" and self.peek().text.isdigit() and power == 1 and not marks:
                    token = self.take()  # a^{[1]2}: (a^{[1]})^2
                    power = int(token.text)
                    if not 2 <= power <= MAX_EXPONENT:
                        self.fail(token, f"a power inside a layer superscript is a whole number from 2 to {MAX_EXPONENT}")
                else:
                    break
            self.expect("}")
        return "_".join(parts), marks, power

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
        """The symbol a name stands for; ``e`` is Euler's number; ``xy`` is x·y when both are names;
        Kronecker's δ where a \\sum's index is in its subscript (\\delta_{k1}), whatever name it spells."""
        if name.indexed:
            kronecker = self.kronecker(name)
            if kronecker is not None:
                return kronecker
        if self.textbook is not None:
            found = self.textbook.resolve(name, self.names, self.text, self.layer_index)
            if found is None and "_".join(name.base) in _BY_ACTIVATION and name.subscripts:
                found = self.by_activation(name)
            if found is not None:
                if "_".join(name.base) in _BATCH_CAPITALS | {"dA", "d_A"}:
                    self.state.read(ONE_SAMPLE)
                return found
        if name.key not in self.names and _loose(name.key) in self.names:
            self.refuse_loose_kronecker(name)
        for key in (name.key, _loose(name.key)):
            if key in self.names:
                return self.names[key]
        for key in (name.key, _loose(name.key)):
            if key in self.state.aliases:  # the walk-through's w_5: the network's w_{21}, said in the verdict
                symbol = self.state.aliases[key]
                said = f"{self.text[name.start:name.end]} = {self.state.latex.get(symbol, symbol.name)}"
                if self.state.aliased is not None and said not in self.state.aliased:
                    self.state.aliased.append(said)
                return symbol
        word = name.word
        if word is not None and word in self.state.bindings:  # \sum_k k x_k
            self.state.used.add(word)
            return sympy.Integer(self.state.bindings[word])
        if word == "e" and self.grammar.latex:
            return sympy.E
        if word and len(word) > 1 and self.grammar.latex and all(letter in self.names for letter in word):
            return sympy.Mul(*(self.names[letter] for letter in word))
        if self.state.probing:  # the end of a layer, not a typo: no message, no vector
            raise FormulaError("unknown name", self.text, name.start)
        kronecker = self.kronecker(name)
        if kronecker is not None:
            return kronecker
        if self.grammar.latex and name.bare is None:
            vector = self.vector(name)
            if vector is not None:
                return vector
        if self.state.probing:
            raise FormulaError("unknown name", self.text, name.start)
        raise FormulaError(self.unknown_name(name), self.text, name.start)

    def by_activation(self, name: _Name) -> Optional[sympy.Expr]:
        """Ng's da^{[l]}_j, the loss's derivative by a^{[l]}_j (one sample), or None where the
        network has no such a or no loss; da^{[l]} without an index is the layer's vector of them."""
        if len(name.superscripts) != 1 or not name.superscripts[0].isdigit():
            return None
        layer = int(name.superscripts[0])
        loss = next((self.names[k] for k in LOSS_SPELLINGS if k in self.names), None)
        if loss is None or loss not in self.definitions:
            return None
        if not name.subscripts:
            shape = self.layer_vector(self.textbook._key("a", layer, ()))  # the output layer's: \hat{y}
            if shape is None:
                return None
            return shape.applyfunc(lambda a: self.differentiate_one(loss, a))
        activation = self.textbook._lookup(self.textbook._key("a", layer, name.subscripts), self.names)
        return None if activation is None else self.differentiate_one(loss, activation)

    def refuse_loose_kronecker(self, name: _Name) -> None:
        """\\delta_{11} where only the name without its separators is the network's (δ^{[1]}_1): it is
        as likely Kronecker's δ_{ij} (the softmax's ŷ_i(δ_{ij} - ŷ_j)), so it is refused naming both."""
        kronecker = self.kronecker(name)
        if kronecker is None:
            return
        symbol = self.names[_loose(name.key)]
        shown = self.state.latex.get(symbol, getattr(symbol, "name", str(symbol)))
        spelled = self.text[name.start:name.end]
        raise AmbiguousName(f"{spelled} is ambiguous: Kronecker's delta ({kronecker} here) or the network's "
                            f"{shown}; write {kronecker} for Kronecker's or {shown}", self.text, name.start)

    def kronecker(self, name: _Name) -> Optional[sympy.Integer]:
        r"""Kronecker's δ_{ij} for concrete indices (δ_{11} = 1, δ_{12} = 0; after \sum_j, δ_{jk}), when
        no name is spelled so."""
        if name.base != ("delta",) or name.superscripts or name.bare is not None:
            return None
        parts = name.subscripts
        if len(parts) == 1 and len(parts[0]) == 2 and parts[0].isdigit():
            parts = tuple(parts[0])
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            return None
        return sympy.Integer(int(parts[0]) == int(parts[1]))

    def vector(self, name: _Name) -> Optional[sympy.ImmutableMatrix]:
        r"""A layer's names without their index, as one vector or matrix: \delta^{[2]}, a^{[1]},
        W^{[2]}, \hat{y}, y; in column notation A^{[1]}, Z^{[2]}, dZ^{[2]}, x too."""
        base = "_".join(name.base)
        supers = "".join(f"^[{s}]" for s in name.superscripts)
        subs = "".join("_" + s for s in name.subscripts)
        prefixes = [name.key]
        if self.textbook is not None:
            same = _SAME_NAME.get(base, base)
            layer = name.superscripts[0] if len(name.superscripts) == 1 and name.superscripts[0].isdigit() else None
            if same == "a" and layer is not None and int(layer) == self.textbook.output_layer:
                prefixes.append("hat_y" + subs)
            if base in ("x", "X") and not supers:
                prefixes.append("a^[0]" + subs)
            if self.textbook.parameter and base in _GRADIENT:  # --param 'dW^{[2]}': the matrix W^{[2]}, Ng's name of its gradient
                same = _GRADIENT[base]
            prefixes.append(same + supers + subs)
        if base == "yhat" and not supers:
            prefixes.append("hat_y" + subs)
        if self.textbook is not None and not self.textbook.parameter and base in _GRADIENT and not subs:
            layer = name.superscripts[0] if len(name.superscripts) == 1 and name.superscripts[0].isdigit() else None
            shape = self.layer_vector(_GRADIENT[base] + supers) if layer is not None else None
            if shape is not None:  # Ng's dW^{[2]} in a formula: the matrix of ∂L/∂W^{[2]}_{j,k} = δ^{[2]}_j a^{[1]}_k
                entries = [self.textbook.gradient(_GRADIENT[base], int(layer), (str(r + 1),) if base in ("db", "d_b")
                                                  else (str(r + 1), str(c + 1)), self.names)
                           for r in range(shape.rows) for c in range(shape.cols)]
                if all(e is not None for e in entries):
                    return sympy.ImmutableMatrix(shape.rows, shape.cols, entries)
        if self.textbook is not None and base in _BY_ACTIVATION and not subs:  # Ng's da^{[1]}: the layer's ∂L/∂a^{[1]}
            found = self.by_activation(name)
            if found is not None:
                if base in ("dA", "d_A"):
                    self.state.read(ONE_SAMPLE)
                return found
        for prefix in prefixes:
            found = self.layer_vector(prefix)
            if found is not None:
                if self.textbook is not None and base in _BATCH_CAPITALS:
                    self.state.read(ONE_SAMPLE)
                return found
        if not name.subscripts and not supers:  # \mathbf{target}: the one layer that has targets (target_{d_j})
            layered = [p for p in self.state.vectors if re.fullmatch(re.escape(base) + r"_[a-z]+", p)]
            if len(layered) == 1:
                return self.layer_vector(layered[0])
        return None

    def spelling(self, symbol: sympy.Symbol, key: str) -> str:
        r"""A symbol's name as the handout prints it (\hat{y}_{1}), else its key."""
        return self.state.latex.get(symbol, key)

    def unknown_name(self, name: _Name) -> str:
        spelled = self.text[name.start : name.end]
        if name.word in self.grammar.functions:
            return f"{spelled} is a function: write {spelled}(...)"
        decorated = name.subscripts or name.superscripts or name.bare  # b_1, b^{[2]}, b^l_j: not a bare letter b
        network = any(key.startswith(("w_", "w^", "W_", "W^")) for key in self.names)  # not --steps on its own
        if name.base[:1] in (("b",), ("bias",), ("db",)) and decorated and network and \
                not any(key.startswith(("b_", "b^", "bias")) for key in self.names):
            return f"unknown name {spelled!r}: this network has no biases (give --bias)"
        canonical: dict[sympy.Symbol, str] = {}
        for key, symbol in self.names.items():
            canonical.setdefault(symbol, key)
        shown = lambda symbol: self.spelling(symbol, canonical[symbol])  # noqa: E731
        if name.base in (("x",), ("X",)) and not name.superscripts and len(name.subscripts) == 1 and \
                self.textbook is None and f"a^[0]_{name.subscripts[0]}" in self.names:  # layer notation's input
            symbol = self.names[f"a^[0]_{name.subscripts[0]}"]
            return f"unknown name {spelled!r}: in layer notation the input is a^{{[0]}}: did you mean {shown(symbol)}?"
        close = []
        for key in difflib.get_close_matches(name.key, list(self.names), n=12, cutoff=0.6):
            if self.names[key] not in close:
                close.append(self.names[key])
        hint = f" (did you mean {' or '.join(shown(s) for s in close[:4])}?)" if close else ""
        stem = "_".join(name.base) + "".join(f"^[{s}]" for s in name.superscripts)
        stems = ([stem + "_" + name.subscripts[0]] if len(name.subscripts) > 1 else []) + [stem]
        for stem in stems if name.subscripts else ():  # out_{d_3}: the outputs of layer d, else all outputs
            kind = sorted({s for key, s in self.names.items() if key.startswith(stem + "_")}, key=lambda s: canonical[s])
            if 0 < len(kind) <= 16:
                return f"unknown name {spelled!r}{hint}; the names of that kind are {', '.join(shown(s) for s in kind)}"
        known = sorted(canonical, key=lambda s: canonical[s])
        listed = ", ".join(shown(s) for s in known[:12]) + (f", … ({len(known)} in all)" if len(known) > 12 else "")
        return f"unknown name {spelled!r}{hint}; known names: {listed or 'none'}"


def _strip_d(tokens: list[Token]) -> Optional[list[Token]]:
    """The tokens after a leading ``d`` or ``\\partial`` (``dz`` → ``z``), or None when there is none."""
    if not tokens:
        return None
    first = tokens[0]
    if first.text == r"\partial" or (first.kind == "word" and first.text == "d"):
        return tokens[1:]
    if first.text in (r"\mathrm", r"\operatorname", r"\text") and [t.text for t in tokens[1:4]] == ["{", "d", "}"]:
        return tokens[4:]  # \mathrm{d}E
    if first.kind == "word" and first.text.startswith("d"):
        return [Token("word", first.text[1:], first.position + 1, first.end)] + tokens[1:]
    return None


def _dependence(variable: sympy.Symbol, definitions: Mapping[sympy.Symbol, sympy.Expr]) -> Callable[[sympy.Symbol], bool]:
    """Whether a symbol's definition depends on ``variable``, directly or through other defined
    symbols (each symbol decided once; a circular definition counts as independent)."""
    depends: dict[sympy.Symbol, bool] = {}

    def dependent(symbol) -> bool:
        if symbol not in depends:
            depends[symbol] = False  # guards against circular definitions
            definition = definitions.get(symbol)
            depends[symbol] = definition is not None and (
                variable in definition.free_symbols or any(dependent(s) for s in definition.free_symbols)
            )
        return depends[symbol]

    return dependent


def expand_dependents(
    expr: sympy.Expr, variable: sympy.Symbol, definitions: Mapping[sympy.Symbol, sympy.Expr]
) -> sympy.Expr:
    """``expr`` with every defined symbol that depends on ``variable`` replaced by its definition,
    recursively, so that ∂/∂variable sees the dependence (∂E_total/∂w_{31} goes through out_{d_1}).

    >>> x, y, z = sympy.symbols("x y z")
    >>> expand_dependents(x * y, z, {x: 2 * z, y: sympy.Integer(3)})
    2*y*z
    """
    dependent = _dependence(variable, definitions)
    expanded: dict[sympy.Symbol, sympy.Expr] = {}

    def expand(symbol) -> sympy.Expr:
        if symbol not in expanded:
            definition = definitions[symbol]
            expanded[symbol] = definition.xreplace({s: expand(s) for s in definition.free_symbols if dependent(s)})
        return expanded[symbol]

    if not definitions:
        return expr
    return expr.xreplace({s: expand(s) for s in expr.free_symbols if dependent(s)})


def total_derivative(
    expr: sympy.Expr, variable: sympy.Symbol, definitions: Mapping[sympy.Symbol, sympy.Expr]
) -> sympy.Expr:
    """d expr / d variable by the chain rule through the defined symbols that depend on
    ``variable``: d expr/dv = ∂expr/∂v + Σ_s ∂expr/∂s · ds/dv, each ds/dv computed once. The
    result keeps the defined symbols (out_{d_1}, not its definition written out), so it stays
    small; expanded, it is the derivative of ``expand_dependents(expr, variable, definitions)``.

    >>> x, y, z = sympy.symbols("x y z")
    >>> total_derivative(x * y, z, {x: 2 * z, y: z ** 2})
    2*x*z + 2*y
    """
    if not definitions:
        return sympy.diff(expr, variable)
    dependent, derivatives, definitions = _chain(variable, definitions)

    def through(e: sympy.Expr) -> sympy.Expr:
        terms = [_partial(e, variable)]
        for symbol in sorted(e.free_symbols, key=sympy.default_sort_key):
            if symbol != variable and dependent(symbol):
                if symbol not in derivatives:
                    derivatives[symbol] = through(definitions[symbol])
                inner = derivatives[symbol]
                if inner != 0:
                    terms.append(_partial(e, symbol) * inner)
        return sympy.Add(*terms)

    return through(expr)


_PARTIALS: dict[tuple, sympy.Expr] = {}  # (expression, symbol) -> sympy.diff of one by the other


def _partial(expr: sympy.Expr, symbol: sympy.Symbol) -> sympy.Expr:
    """``sympy.diff(expr, symbol)``, remembered: the chain rule of every derivative a document
    writes multiplies the same local derivatives (∂out_{d_1}/∂net_{d_1} of one definition)."""
    key = (expr, symbol)
    found = _PARTIALS.get(key)
    if found is None:
        if len(_PARTIALS) >= 50_000:
            _PARTIALS.clear()
        found = _PARTIALS[key] = sympy.diff(expr, symbol)
    return found


CHAINS_KEPT = 512  # (variable, definitions) pairs
DEFINITIONS_KEPT = 4  # sets of definitions: one copy each, shared by every variable's entry
_DEFINITIONS: dict[tuple, tuple[tuple, dict]] = {}  # definitions' items -> (those items, as a dict)
_CHAINS: dict[tuple, tuple] = {}  # (variable, id of the items kept) -> what ``total_derivative`` keeps


def _chain(variable: sympy.Symbol, definitions: Mapping[sympy.Symbol, sympy.Expr]) -> tuple:
    """For ``total_derivative``: whether a defined symbol depends on ``variable``, each ds/d``variable``
    computed so far, and the definitions they were computed from, kept for the last ``CHAINS_KEPT``
    (``variable``, definitions) asked: a document's hundreds of derivatives (∂E/∂out_{d_1}, …)
    are by the same few variables, through the same definitions, parsed one formula at a time.
    The definitions are the key as they stand, item by item, so a changed one is another key;
    each set of them is kept once (a wide network has 24,000), for ``DEFINITIONS_KEPT`` sets."""
    try:
        items = tuple(definitions.items())
        kept = _DEFINITIONS.get(items)
    except TypeError:  # an unhashable definition: nothing kept
        frozen = dict(definitions)
        return _dependence(variable, frozen), {}, frozen
    if kept is None:
        if len(_DEFINITIONS) >= DEFINITIONS_KEPT:  # what was kept for the others goes with them
            _DEFINITIONS.clear()
            _CHAINS.clear()
        kept = _DEFINITIONS[items] = (items, dict(items))
    items, frozen = kept
    key = (variable, id(items))  # the kept items live as long as the entry: their id is theirs alone
    found = _CHAINS.get(key)
    if found is None:
        if len(_CHAINS) >= CHAINS_KEPT:
            _CHAINS.pop(next(iter(_CHAINS)))
        found = _CHAINS[key] = (_dependence(variable, frozen), {}, frozen)
    return found


_UNDEFINED = (sympy.zoo, sympy.nan, sympy.oo, sympy.S.NegativeInfinity, sympy.I)


def _check_result(expr: sympy.Expr, text: str, allowed: str) -> sympy.Expr:
    """Refuse results that are not finite real formulas or whose powers grew too large."""
    expr = shapes.simplest(expr)
    if shapes.is_matrix(expr):
        return sympy.ImmutableMatrix(expr.applyfunc(lambda entry: _check_result(entry, text, allowed)))
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
    matrices: bool = False,
    columns: Optional[bool] = None,
    sizes: Optional[Sequence[int]] = None,
    readings: Optional[list] = None,
    aliased: Optional[list] = None,
    repairs: Optional[list] = None,
    batch: bool = False,
    derivatives: Optional[list] = None,
) -> sympy.Expr:
    """A formula in LaTeX or plain text over ``names`` (from ``name_table``) and the free
    ``variables`` (real symbols). Derivatives are evaluated; a defined symbol (``definitions``:
    symbol → its one-level definition) is expanded where the derivative's variable is inside it;
    g'(net) is the derivative of the activation the definitions give that net's layer.
    ``literals``, a list, receives every number as written (``Literal``).

    With ``matrices`` a vector or matrix formula (``\\delta^{[2]} a^{[1]T}``) gives a
    ``sympy.ImmutableMatrix``; without it, such a result is a ``FormulaError``. Layer vectors
    are columns when ``columns`` (default: when ``textbook`` is given, i.e. column notation),
    else rows. ``sizes`` (neurons per layer, input first) gives the n_l of ``\\sum_{k=1}^{n_l}``.
    Where a vector operation is undefined as matrix algebra but NumPy and Ng's notes write it
    (1 - a^{[1]}, a^{[1]}(1 - a^{[1]}), (a^{[1]})^2), it is read entry by entry, and ``readings``,
    a list, receives what was read so (``shapes.BROADCAST``, ...); ``aliased``, a list, receives each
    other spelling of a name read (``NameTable.aliases``: "w_5 = w_{21}"). With ``repairs``, a list,
    a product undefined as written that exactly one factor's transpose defines (W^{[2]} \\delta^{[2]}
    for (W^{[2]})^T \\delta^{[2]}) is read with that transpose, and the list receives a ``Repair``. With
    ``batch`` (a mini-batch's formula) two n × m matrices of one shape multiply entry by entry.
    ``derivatives``, a list, receives (operand, variable) for each derivative the formula writes
    (∂E/∂w_{31}: the loss's symbol and w_{31}).

    >>> z = sympy.Symbol("z", real=True)
    >>> parse_math(r"\\frac{d}{dz} \\left(\\frac{1}{1 - e^{-z}}\\right)", {}, variables=["z"])
    -exp(-z)/(1 - exp(-z))**2
    """
    grammar = _Grammar(True, MATH_FUNCTIONS if functions is None else functions, MATH_ALLOWED)
    table = dict(names)
    for variable in variables:
        table[name_key(variable)] = sympy.Symbol(variable, real=True)
    state = _State(columns=textbook is not None if columns is None else bool(columns),
                   sizes=None if sizes is None else tuple(int(n) for n in sizes),
                   latex=getattr(names, "latex", {}), readings=readings, aliases=getattr(names, "aliases", {}),
                   aliased=aliased, repairs=repairs, batch=batch, taken=derivatives)
    parser = _Parser(text, tokenize(text, MATH_ALLOWED), grammar, table, dict(definitions or {}), state,
                     literals=literals, textbook=textbook)
    result = _run(parser)
    if shapes.is_matrix(result) and not matrices:
        if textbook is not None and textbook.pending:  # a bare a^2 read as a layer's vector: say how else it reads
            whole, position, problem = textbook.pending[0]
            raise AmbiguousName(problem, whole, position)
        raise FormulaError(f"the formula is {shapes.describe(result)}, not a single value: name one entry, "
                           "e.g. with a subscript", text, None)
    return result


def name_value(text: str, names: Mapping[str, sympy.Symbol], *, textbook: Optional[Textbook] = None,
               columns: Optional[bool] = None):
    """What one name stands for: a symbol, or a layer's vector or matrix (``W^{[2]}``,
    ``\\delta^{[2]}``) as a ``sympy.ImmutableMatrix`` of symbols, for checking a whole layer at once.

    >>> a1, a2 = sympy.symbols("a_1_1 a_1_2", real=True)
    >>> name_value("a^{[1]}", name_table({a1: "a^{[1]}_{1}", a2: "a^{[1]}_{2}"}), columns=True)
    Matrix([
    [a_1_1],
    [a_1_2]])
    """
    state = _State(columns=textbook is not None if columns is None else bool(columns), latex=getattr(names, "latex", {}))
    parser = _Parser(text, tokenize(text, MATH_ALLOWED), _Grammar(True, {}, MATH_ALLOWED), names, {}, state,
                     textbook=textbook)
    if parser.peek().kind not in ("word", "macro"):
        parser.fail(parser.peek(), "expected a name")
    found = parser.resolve(parser.read_name())
    parser.expect_end()
    return found


_DERIVATIVE_OF_LOSS = re.compile(
    r"^\s*(?:\\(?:d|t)?frac\s*\{\s*(?:\\partial|d|\\mathrm\{d\}|∂)\s*(?P<loss>[^{}]*(?:\{[^{}]*\}[^{}]*)*)\}\s*"
    r"\{\s*(?:\\partial|d|\\mathrm\{d\}|∂)\s*(?P<parameter>.+)\}"
    r"|(?:\\partial|∂|d)\s*(?P<loss2>[A-Za-z\\{}_ ]+?)\s*/\s*(?:\\partial|∂|d)\s*(?P<parameter2>.+))\s*$",
    re.DOTALL,
)
_DELIMITERS = re.compile(r"^\s*(\$\$|\$|\\\(|\\\[)(?P<inside>.*)(\$\$|\$|\\\)|\\\])\s*$", re.DOTALL)


def split_claim(text: str) -> tuple[Optional[str], str]:
    """A formula with a left-hand side that names the derivative it claims to be, split:
    (the parameter's name as written, e.g. ``w_{31}``) and the rest after the first ``=`` (or
    ``\\approx``) at the top level, ``&`` and math delimiters removed. When there is no ``=``, or
    the left side is not ∂(loss)/∂(a name) (E, E_{total}, L, \\mathcal{L}, C, J), (None, text)
    unchanged: the caller judges it.

    >>> split_claim(r"$\\frac{\\partial E}{\\partial w_{31}} = \\delta_{d_1} out_{c_1}$")
    ('w_{31}', ' \\\\delta_{d_1} out_{c_1}')
    >>> split_claim("dE/dw31 = delta_d1*out_c1"), split_claim("out_d1 - target_d1")
    (('w31', ' delta_d1*out_c1'), (None, 'out_d1 - target_d1'))
    """
    if not isinstance(text, str):
        return None, text
    inner = text
    delimited = _DELIMITERS.match(inner)
    if delimited:
        inner = delimited.group("inside")
    inner = re.sub(r"\\(?:begin|end)\{[A-Za-z]+\*?\}", " ", inner)
    depth, cut, relation = 0, None, 0
    for index, char in enumerate(inner):
        depth += (char in "([{") - (char in ")]}")
        if depth == 0 and char in "=≈":
            cut, relation = index, 1
            break
        if depth == 0 and inner.startswith(r"\approx", index):
            cut, relation = index, len(r"\approx")
            break
    if cut is None:
        return None, text
    left, right = inner[:cut].replace("&", " "), inner[cut + relation:].replace("&", " ")
    match = _DERIVATIVE_OF_LOSS.match(left)
    if match is None:  # a left side that is not ∂(loss)/∂(something): left for the caller to judge
        return None, text
    loss = (match.group("loss") if match.group("loss") is not None else match.group("loss2")).strip()
    parameter = (match.group("parameter") or match.group("parameter2") or "").strip()
    try:
        loss_key = name_key(loss)
    except FormulaError:
        return None, text
    if loss_key not in LOSS_SPELLINGS + ("E_tot",):
        return None, text
    return (parameter or None), right


__all__ = [
    "FormulaError", "AmbiguousName", "Function", "Literal", "ACTIVATION_FUNCTIONS", "MATH_FUNCTIONS", "sigmoid", "tokenize",
    "name_key", "name_table", "expand_dependents", "total_derivative", "parse_activation", "parse_math", "Textbook", "LAYERED",
    "NameTable", "name_value", "split_claim", "LOSS_SPELLINGS",
]
