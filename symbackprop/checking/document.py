"""The mathematics of a hand-written document: every equation with its line and number (``lint``).

Markdown, LaTeX or plain text: ``$…$``, ``$$…$$``, ``\\[…\\]``, ``\\(…\\)`` and the equation, align,
aligned, gather and multline environments (starred too). Each display is cut into equations: the
rows of an aligned block (a row that starts with ``&=`` goes on with the chain above it), and the
pieces separated by ``\\quad``, ``\\qquad`` or ``\\text{…}``; a last column after ``&&`` is a remark
(``(\\text{BP1}; 2 \\times 1)``), and a matrix keeps its ``&``. An equation's number is its
``\\tag{15}``, or a ``(15)`` written just after the display (as a PDF converted to text puts it).
Prose is never read as mathematics; two kinds of prose claim are picked up as they are written:
shapes ("$W^{[2]}$ has the shape 3×2", ``W^{[1]} \\in \\mathbb{R}^{4 \\times 3}``) and table rows
that give a parameter its value (``| $w_{11}$ | … | $0.886$ |``).

>>> [(e.line, e.number, e.text) for e in read_document("Text\\n$$x = 1 \\\\tag{2}$$ and $y = 2$.").equations]
[(2, '2', 'x = 1'), (2, None, 'y = 2')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

MAX_DOCUMENT_BYTES = 2_000_000  # a larger file is refused as unreadable (the issue asks for 500 KB in 60 s)

_ENVIRONMENTS = r"equation|align|aligned|gather|gathered|multline|eqnarray|split|flalign|alignat"
_MATH = re.compile(
    r"(?P<dd>(?<!\\)\$\$(?P<dd_body>.+?)(?<!\\)\$\$)"
    r"|(?P<br>\\\[(?P<br_body>.+?)\\\])"
    r"|(?P<pa>\\\((?P<pa_body>.+?)\\\))"
    r"|(?P<env>\\begin\{(?P<env_name>" + _ENVIRONMENTS + r")(?P<star>\*?)\}(?:\{\d+\})?(?P<env_body>.+?)"
    r"\\end\{(?P=env_name)(?P=star)\})"
    r"|(?P<d>(?<![\\$])\$(?P<d_body>[^$\n]+?(?:\n(?!\s*\n)[^$\n]*?)*?)(?<!\\)\$)",
    re.DOTALL,
)
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.DOTALL | re.MULTILINE)
_COMMENT = re.compile(r"(?<!\\)%[^\n]*")
_TAG = re.compile(r"\\tag\*?\{([^{}]*)\}")
_NUMBER_AFTER = re.compile(r"[ \t]*\n?[ \t]*\((\d{1,4}[a-z]?)\)[ \t]*(?=\n|\Z)")
_ONLY_NUMBER = re.compile(r"\A\s*(?:\\tag\*?\{(\d{1,4}[a-z]?)\}|\((\d{1,4}[a-z]?)\))\s*\Z")
_IGNORED = re.compile(r"\\label\{[^{}]*\}|\\nonumber|\\notag|\\displaystyle|\\begin\{(?:aligned|split|gathered)\}"
                      r"|\\end\{(?:aligned|split|gathered)\}")
_MATRIX = re.compile(r"\\(begin|end)\{[a-zA-Z]*matrix\*?\}|\\(begin|end)\{array\}")
_SEPARATOR = re.compile(r",?\s*\\q?quad(?![A-Za-z])\s*|\\text\{[^{}]*\}|\\(?:mbox|textrm)\{[^{}]*\}"
                        r"|(?<!\\),\s*&(?=[^=]*=)|(?<!\\),(?=[^,=]*=)")
_NAME = r"[A-Za-z]+(?:_\{?[A-Za-z0-9,]+\}?)?\^\{\[\d+\]\}(?:_\{?[A-Za-z0-9,]+\}?)?"
_TIMES = r"\s*(?:×|\\times|x|\*)\s*"
_SHAPES = (
    re.compile(r"\$\s*(?P<name>" + _NAME + r")\s*\$\s*has (?:the )?shape\s*\$?\s*(?P<rows>\d+)" + _TIMES
               + r"(?P<cols>\d+)"),
    re.compile(r"\$\s*(?P<name>" + _NAME + r")\s*\$\s*has the same shape as \$[^$]*\$\s*:?\s*\$?\s*(?P<rows>\d+)"
               + _TIMES + r"(?P<cols>\d+)"),
    re.compile(r"(?P<name>" + _NAME + r")\s*\\in\s*\\mathbb\{R\}\^\{\s*(?P<rows>\d+)" + _TIMES + r"(?P<cols>\d+)\s*\}"),
)
_CELL_NAME = re.compile(r"\A\$\s*(?P<name>[^$=]+?)\s*\$\Z")
_CELL_NUMBER = re.compile(r"\A\$?(?:[^$]*=)?\s*(?P<number>-\s?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*\$?\Z")


_QUOTING = re.compile(r"\b(?:writes|wrote|takes|took|says|said|claims|claimed|gives it as|instead of|not)\b|“[^”]*\Z")
_SENTENCE = re.compile(r"(?:\.\s|Correct:|\n\s*\n|\\item|^\s*[*-]\s)", re.MULTILINE)


def quoted(text: str, start: int) -> bool:
    """Whether the formula at ``start`` is quoted in its sentence as what someone else writes
    ("It writes $g(z) = …$", "instead of $…$", “…”): a claim reported, not made."""
    before = text[max(0, start - 300):start]
    cuts = [m.end() for m in _SENTENCE.finditer(before)]
    sentence = before[cuts[-1]:] if cuts else before
    return bool(_QUOTING.search(sentence))


@dataclass(frozen=True)
class Equation:
    """One equation (or formula) of the document: ``text`` as written, with the 1-based ``line`` it
    starts on, its ``number`` when it has one, and whether it was ``display``ed; ``kind`` is
    "equation", or "value" for a parameter's value read from a table row (``name = number``)."""

    text: str
    line: int
    number: str | None = None
    display: bool = True
    kind: str = "equation"
    quoted: bool = False  # reported as someone else's ("it writes $…$"), not claimed by the document

    @property
    def where(self) -> str:
        """'eq. (15), line 40' or 'line 40'."""
        return f"eq. ({self.number}), line {self.line}" if self.number else f"line {self.line}"


@dataclass(frozen=True)
class ShapeClaim:
    """A claimed shape: ``name`` (``W^{[2]}``) is ``rows`` × ``cols``, written on ``line``."""

    name: str
    rows: int
    cols: int
    line: int
    text: str


@dataclass(frozen=True)
class Document:
    """The equations and shape claims of a document, in the order written; its prose (for inferring the network)."""

    equations: tuple[Equation, ...]
    shapes: tuple[ShapeClaim, ...]
    prose: str
    kind: str  # "md", "tex" or "text"


def _blank(match: re.Match) -> str:
    """The match replaced by spaces, its newlines kept, so that offsets and lines stay right."""
    return re.sub(r"[^\n]", " ", match.group())


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def split_top(text: str, separator: re.Pattern) -> list[tuple[int, str]]:
    """``text`` cut at each ``separator`` outside braces, brackets and matrices, with offsets.

    >>> split_top(r"a = 1 \\\\ \\begin{bmatrix} x \\\\ y \\end{bmatrix} = b", re.compile(r"\\\\\\\\"))
    [(0, 'a = 1 '), (8, ' \\\\begin{bmatrix} x \\\\\\\\ y \\\\end{bmatrix} = b')]
    """
    pieces, depth, start, index = [], 0, 0, 0
    while index < len(text):
        matrix = _MATRIX.match(text, index)
        if matrix:
            depth += 1 if "begin" in (matrix.group(1) or matrix.group(2) or "") else -1
            index = matrix.end()
            continue
        found = separator.match(text, index) if depth <= 0 else None
        if found and found.end() > index:
            pieces.append((start, text[start:index]))
            index = start = found.end()
            continue
        if text.startswith("\\\\", index):
            index += 2
            continue
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in "{}[]()":
            index += 2  # \{ \} \left( are not groups of the split
            continue
        depth += (char in "([{") - (char in ")]}")
        index += 1
    pieces.append((start, text[start:]))
    return pieces


_ROW = re.compile(r"\\\\\*?(?:\[[^\]]*\])?")
_COMMENT_COLUMN = re.compile(r"&\s*&")


def _alignment_removed(text: str) -> str:
    """``text`` without its alignment marks ``&``, those inside a matrix (its column separators) kept."""
    out, depth, index = [], 0, 0
    while index < len(text):
        matrix = _MATRIX.match(text, index)
        if matrix:
            depth += 1 if "begin" in (matrix.group(1) or matrix.group(2) or "") else -1
            out.append(matrix.group())
            index = matrix.end()
            continue
        char = text[index]
        out.append(" " if char == "&" and depth <= 0 else char)
        index += 1
    return "".join(out)


def _equations(body: str, offset: int, source: str, display: bool, number: str | None) -> list[Equation]:
    """The equations of one display (or inline formula) whose math ``body`` starts at ``offset``."""
    cleaned = _IGNORED.sub(lambda m: " " * len(m.group()), body)
    chains: list[list] = []  # [start offset, text, number]
    for row_start, row in split_top(cleaned, _ROW):
        tag = _TAG.search(row)
        row_number = tag.group(1).strip() if tag else None
        row = _TAG.sub(lambda m: " " * len(m.group()), row)
        if not row.strip():
            continue
        indent = re.match(r"\s*&?\s*(?:\\q?quad(?![A-Za-z])\s*|\\[,;!]\s*)*", row).end()
        row_start, row = row_start + indent, row[indent:]
        continues = re.match(r"\s*&?\s*(=|\\approx|≈|\+|-|\\cdot|\\times)", row)
        row = split_top(row, _COMMENT_COLUMN)[0][1]  # `a &= b && (2 \times 3)`: the last column is a remark
        for piece_start, piece in split_top(row, _SEPARATOR):
            text = _alignment_removed(piece).strip().rstrip(",.;:").strip()
            if not text:
                continue
            if continues and chains and piece_start == 0:
                chains[-1][1] += " " + text
                chains[-1][2] = chains[-1][2] or row_number
            else:
                lead = len(piece) - len(piece.lstrip())
                chains.append([offset + row_start + piece_start + lead, text, row_number])
            continues = None
    if number and len(chains) == 1 and not chains[0][2]:
        chains[0][2] = number
    return [Equation(" ".join(text.split()), _line(source, start), tag, display) for start, text, tag in chains]


def _kind(text: str, name: str = "") -> str:
    if name.endswith((".tex", ".ltx")) or re.search(r"\\documentclass|\\begin\{document\}", text):
        return "tex"
    if name.endswith((".md", ".markdown")):
        return "md"
    return "md" if re.search(r"^#{1,6} |^\s*[*-] |\|\s*---", text, re.MULTILINE) else "text"


def _table_values(text: str, lines: list[str], kind: str) -> list[Equation]:
    """Table rows that give a name a number: first cell ``$w_{11}$``, last cell ``$0.886$``."""
    found = []
    for number, line in enumerate(lines, start=1):
        if kind == "md" and line.strip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
        elif kind == "tex" and "&" in line and line.rstrip().endswith("\\\\"):
            cells = [c.strip() for c in line.rstrip()[:-2].split("&")]
        else:
            continue
        if len(cells) < 2:
            continue
        name, value = _CELL_NAME.match(cells[0]), _CELL_NUMBER.match(cells[-1])
        if name and value:
            found.append(Equation(f"{name.group('name')} = {value.group('number').replace(' ', '')}", number, None, False,
                                  "value"))
    return found


def read_document(text: str, name: str = "") -> Document:
    """Every equation of ``text`` (Markdown, LaTeX or plain text with math), in order.

    >>> doc = read_document("$$\\\\frac{\\\\partial E}{\\\\partial w} = a$$\\n (3)\\n\\nso $a$ is.")
    >>> [(e.text, e.number) for e in doc.equations]
    [('\\\\frac{\\\\partial E}{\\\\partial w} = a', '3')]
    """
    kind = _kind(text, name)
    scanned = _FENCE.sub(_blank, text) if kind != "tex" else text
    if kind == "tex":
        scanned = _COMMENT.sub(_blank, scanned)
    equations: list[tuple[int, Equation]] = []
    prose, last = [], 0
    for match in _MATH.finditer(scanned):
        prose.append(scanned[last:match.start()])
        last = match.end()
        group = match.lastgroup
        body_group = {"dd": "dd_body", "br": "br_body", "pa": "pa_body", "env": "env_body", "d": "d_body"}[group]
        body, start = match.group(body_group), match.start(body_group)
        display = group != "d" and group != "pa"
        only = _ONLY_NUMBER.match(body)
        if only:  # a display holding nothing but a number: the number of the display before it
            if equations and equations[-1][1].display and equations[-1][1].number is None:
                previous = equations[-1][1]
                equations[-1] = (equations[-1][0], Equation(previous.text, previous.line, only.group(1) or only.group(2),
                                                            True, previous.kind))
            continue
        after = _NUMBER_AFTER.match(scanned, match.end()) if display else None
        number = after.group(1) if after else None
        if not display and "=" not in body:
            continue
        is_quoted = not display and quoted(scanned, match.start())
        for equation in _equations(body, start, text, display, number):
            if display or "=" in equation.text:
                equations.append((start, replace(equation, quoted=is_quoted)))
    prose.append(scanned[last:])
    merged: list[tuple[int, Equation]] = []
    for start, equation in equations:  # a display that starts with '=' goes on with the one before
        if equation.display and re.match(r"(=|\\approx|≈)", equation.text) and merged and merged[-1][1].display:
            previous = merged[-1][1]
            merged[-1] = (merged[-1][0], Equation(f"{previous.text} {equation.text}", previous.line,
                                                  previous.number or equation.number, True, previous.kind))
        else:
            merged.append((start, equation))
    equations = merged
    lines = text.splitlines()
    values = _table_values(text, lines, kind)
    ordered = sorted([(e.line, 0, i, e) for i, (_, e) in enumerate(equations)]
                     + [(e.line, 1, i, e) for i, e in enumerate(values)], key=lambda x: x[:3])
    shapes = []
    for pattern in _SHAPES:
        for match in pattern.finditer(text):
            if quoted(text, match.start()):
                continue
            shapes.append(ShapeClaim(match.group("name"), int(match.group("rows")), int(match.group("cols")),
                                     _line(text, match.start()), " ".join(match.group().split())))
    shapes.sort(key=lambda s: s.line)
    return Document(tuple(e for *_, e in ordered), tuple(shapes), "".join(prose), kind)


__all__ = ["MAX_DOCUMENT_BYTES", "Document", "Equation", "ShapeClaim", "read_document", "split_top"]
