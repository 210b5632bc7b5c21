"""Escaping user-supplied text, in one place, for each output format.

Every string a user gives (a title, a spec echoed back) reaches a handout through one of these.

>>> print(latex_escape(r"50% of $x_1$ \\input{f}"))
50\\% of \\$x\\_1\\$ \\textbackslash{}input\\{f\\}
>>> print(md_escape("2-4-3-2: a_b *c* $x$ [link](u)"))
2-4-3-2: a\\_b \\*c\\* \\$x\\$ \\[link\\](u)
>>> xml_escape('<script>"a" & b</script>')
'&lt;script&gt;&quot;a&quot; &amp; b&lt;/script&gt;'
"""

from __future__ import annotations

import re
import unicodedata

import markupsafe

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "%": r"\%",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


# Characters beyond ASCII that pdflatex prints in the handouts' T1 encoding: Latin-1, Latin
# Extended-A but for the few T1 lacks, and common punctuation.
_T1_MISSING = set("ĦħĸĿŀŉŦŧſ")
_T1_PUNCTUATION = set("–—‘’‚“”„…•€‰†‡‹›™")
_MATH_SYMBOLS = {
    "∂": r"\partial", "∇": r"\nabla", "∑": r"\sum", "∏": r"\prod", "∫": r"\int", "√": r"\surd",
    "∞": r"\infty", "→": r"\to", "←": r"\leftarrow", "↔": r"\leftrightarrow", "⇒": r"\Rightarrow",
    "⇐": r"\Leftarrow", "⇔": r"\Leftrightarrow", "≤": r"\leq", "≥": r"\geq", "≠": r"\neq",
    "≈": r"\approx", "≡": r"\equiv", "∝": r"\propto", "∼": r"\sim", "∈": r"\in", "∉": r"\notin",
    "∘": r"\circ", "⊙": r"\odot", "⊗": r"\otimes", "⋅": r"\cdot", "∀": r"\forall", "∃": r"\exists",
    "∅": r"\emptyset", "⊂": r"\subset", "⊆": r"\subseteq", "∪": r"\cup", "∩": r"\cap", "∧": r"\wedge",
    "∨": r"\vee", "′": r"\prime", "″": r"\prime\prime", "−": "-",
}
_GREEK_ALPHABET = set("ALPHA BETA GAMMA DELTA EPSILON ZETA ETA THETA IOTA KAPPA LAMDA MU NU XI OMICRON PI RHO SIGMA "
                      "TAU UPSILON PHI CHI PSI OMEGA".split())
_GREEK_CAPITALS_IN_LATEX = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}
_GREEK_AS_LATIN = {"Alpha": "A", "Beta": "B", "Epsilon": "E", "Zeta": "Z", "Eta": "H", "Iota": "I", "Kappa": "K",
                   "Mu": "M", "Nu": "N", "Omicron": "O", "Rho": "P", "Tau": "T", "Chi": "X", "omicron": "o"}


def latex_escape(text: object) -> str:
    """Text that LaTeX prints literally (in T1 encoding); line breaks become spaces. Greek letters
    and common math symbols are typeset as math; a character pdflatex cannot print is written as
    its code point, so the document always compiles.

    >>> print(latex_escape("δ-Regel: ∂E/∂w ≤ 1, Größe 学"))
    \\ensuremath{\\delta}-Regel: \\ensuremath{\\partial}E/\\ensuremath{\\partial}w \\ensuremath{\\leq} 1, Größe \\texttt{[U+5B66]}
    """
    return "".join(_latex_character(c) for c in _one_line(text))


def _latex_character(c: str) -> str:
    if c in _LATEX_SPECIAL:
        return _LATEX_SPECIAL[c]
    if " " <= c <= "~":
        return c
    if c < " " or "\x7f" <= c < "\xa0":  # control characters
        return ""
    if ("\xa0" <= c <= "\u017f" and c not in _T1_MISSING and c != "\xad") or c in _T1_PUNCTUATION:
        return c
    if c in _MATH_SYMBOLS:
        return _MATH_SYMBOLS[c] if c == "−" else rf"\ensuremath{{{_MATH_SYMBOLS[c]}}}"
    greek = _greek(c)
    if greek:
        return greek
    return rf"\texttt{{[U+{ord(c):04X}]}}"


def _greek(c: str) -> str:
    """A Greek letter in LaTeX (δ → \\ensuremath{\\delta}, Α → A), or "" for any other character."""
    name = unicodedata.name(c, "")
    match = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER (FINAL SIGMA|[A-Z]+)(?: WITH .*)?", name)  # accents dropped
    if not match or match.group(2).replace("FINAL ", "") not in _GREEK_ALPHABET:
        return ""
    letter = match.group(2).capitalize().replace("Lamda", "Lambda").replace("Final sigma", "Sigma")
    if match.group(1) == "SMALL":
        letter = "varsigma" if match.group(2) == "FINAL SIGMA" else letter.lower()
        return _GREEK_AS_LATIN.get(letter) or rf"\ensuremath{{\{letter}}}"
    if letter in _GREEK_CAPITALS_IN_LATEX:
        return rf"\ensuremath{{\{letter}}}"
    return _GREEK_AS_LATIN.get(letter, rf"\texttt{{[U+{ord(c):04X}]}}")


def md_escape(text: object) -> str:
    """Text that Markdown (and GitHub's math) prints literally, inside a line; control characters
    are dropped and a bidirectional override is written as its code point, as in LaTeX.

    >>> print(md_escape("net\\u202eten\\x07"))
    net\\[U+202E\\]ten
    """
    return re.sub(r"([\\`*_{}\[\]<>$|~#&])", r"\\\1", _visible(_one_line(text)))


def xml_escape(text: object) -> str:
    """Text (or an attribute value) that XML reads literally; control characters are dropped and
    a bidirectional override is written as its code point, as in LaTeX.

    >>> xml_escape("a\\u2066b\\x1b[31m")
    'a[U+2066]b[31m'
    """
    text = _visible(str(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


# Characters that reorder the text around them (the "Trojan Source" marks and overrides): shown,
# never obeyed, so a title reads in the handout as it was typed. Lone surrogates (from undecodable
# command-line bytes) and the two non-characters U+FFFE/U+FFFF, which UTF-8 or XML cannot hold,
# are shown the same way.
BIDI_CONTROLS = "\u061c\u200e\u200f" + "".join(map(chr, range(0x202A, 0x202F))) + "".join(map(chr, range(0x2066, 0x206A)))
_SHOWN = re.compile(f"[{BIDI_CONTROLS}\ud800-\udfff\ufffe\uffff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 (but tab and line ends), DEL, C1


def _visible(text: str) -> str:
    """``text`` without control characters (tab and line ends kept) and with every bidirectional
    control written as its code point, "[U+202E]" (latex_escape's form, without \\texttt)."""
    return _SHOWN.sub(lambda match: f"[U+{ord(match.group()):04X}]", _CONTROL.sub("", text))


def html_finalize(value: object) -> object:
    """Jinja2's ``finalize`` for the HTML pages: every string printed, escaped or already safe
    markup, loses its control characters and shows its bidirectional controls, as in LaTeX
    (autoescaping then escapes the text as usual).

    >>> html_finalize("Evil\u202etxt\x07"), html_finalize(markupsafe.Markup("<b>\u2066</b>"))
    ('Evil[U+202E]txt', Markup('<b>[U+2066]</b>'))
    """
    if isinstance(value, markupsafe.Markup):
        return markupsafe.Markup(_visible(str(value)))
    return _visible(value) if isinstance(value, str) else value


def _one_line(text: object) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()
