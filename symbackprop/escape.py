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


def latex_escape(text: object) -> str:
    """Text that LaTeX prints literally (in T1 encoding); line breaks become spaces."""
    return "".join(_LATEX_SPECIAL.get(c, c) for c in _one_line(text))


def md_escape(text: object) -> str:
    """Text that Markdown (and GitHub's math) prints literally, inside a line."""
    return re.sub(r"([\\`*_{}\[\]<>$|~#&])", r"\\\1", _one_line(text))


def xml_escape(text: object) -> str:
    """Text (or an attribute value) that XML reads literally; control characters are dropped."""
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", str(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _one_line(text: object) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()
