"""Markdown and LaTeX math that every renderer takes: pandoc (GitHub's rules), KaTeX, and the loss as people write it.

The handouts are generated once per module into a temporary directory: the 2-4-3-2 derivation,
4-3-2-1 in layer notation with bce and biases, the 2-2-2 worked example and the 2-2-1 exercise
sheet with its answer key. pandoc reads each .md as GitHub and as pandoc Markdown; KaTeX (npm
package ``katex``, run by node through tests/katex_check.js) renders every math fragment of every
.md and .tex. Without pandoc, node or ``npm ci`` the tool tests skip with the install line, except
under CI=true, where they fail.
"""

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy
from conftest import IN_CI

from symbackprop import derive
from symbackprop.cli import main

ROOT = Path(__file__).resolve().parent.parent
KATEX_CHECK = Path(__file__).with_name("katex_check.js")
READERS = ("gfm+tex_math_dollars", "markdown")  # GitHub's Markdown, and pandoc's own
COMMANDS = {
    "2-4-3-2": ["derive", "2-4-3-2"],
    "4-3-2-1-layers": ["derive", "4-3-2-1", "--notation", "layers", "--loss", "bce", "--bias"],
    "2-2-2-example": ["example", "2-2-2", "--seed", "0"],
    "2-2-1-exercise": ["derive", "2-2-1", "--exercise", "--seed", "1"],
}


def require(tool: str, install: str) -> str:
    """The tool's path; skip (fail under CI=true) with the install line when it is missing."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed: {install}"
        if IN_CI:
            pytest.fail(message + " (CI=true requires it; .ci/run installs it)")
        pytest.skip(message)
    return path


def require_katex() -> str:
    node = require("node", "sudo apt-get install nodejs npm")
    if not (ROOT / "node_modules" / "katex" / "package.json").is_file():
        message = f"the npm package katex is not installed: run 'npm ci' in {ROOT}"
        if IN_CI:
            pytest.fail(message + " (CI=true requires it; .ci/run runs it)")
        pytest.skip(message)
    return node


@pytest.fixture(scope="module")
def handouts(tmp_path_factory) -> dict[str, Path]:
    """Every .md and .tex of the four handouts, by name (e.g. "2-2-1-exercise/solutions.md")."""
    root = tmp_path_factory.mktemp("handouts")
    for folder, argv in COMMANDS.items():
        with pytest.raises(SystemExit) as stop:
            main([*argv, "--format", "md,tex", "-o", str(root / folder)])
        assert stop.value.code == 0, argv
    files = {str(p.relative_to(root)): p for p in sorted(root.glob("*/*")) if p.suffix in (".md", ".tex")}
    assert len(files) == 10
    return files


def markdown(handouts) -> dict[str, str]:
    return {name: path.read_text() for name, path in handouts.items() if name.endswith(".md")}


# -- the source, without any tool -----------------------------------------------------------------
def test_display_math_has_no_blank_line_and_inline_math_no_inner_space(handouts):
    """A blank line ends a $$ block, and `$ x $` is not math on GitHub or in pandoc."""
    for name, text in markdown(handouts).items():
        text = re.sub(r"`[^`\n]*`", "", text)  # code spans hold no math
        blocks = text.split("$$")
        assert len(blocks) % 2 == 1, f"{name}: an unclosed $$"
        for n, block in enumerate(blocks[1::2]):
            assert "\n\n" not in block.strip("\n") and block.strip(), f"{name}: $$ block {n + 1} breaks: {block[:80]!r}"
        for paragraph in "\n".join(blocks[0::2]).split("\n\n"):
            pieces = re.sub(r"\\\$", "", paragraph).split("$")
            assert len(pieces) % 2 == 1, f"{name}: an unclosed $ in {paragraph[:120]!r}"
            for math in pieces[1::2]:
                assert math and math == math.strip(), f"{name}: inline math with a space inside: ${math}$"


def test_markdown_defines_no_macros(handouts):
    for name, text in markdown(handouts).items():
        assert not re.search(r"\\(newcommand|renewcommand|def|DeclareMathOperator)\b", text), name


# -- pandoc ---------------------------------------------------------------------------------------
def pandoc(path: Path, reader: str, writer: str) -> str:
    command = [require("pandoc", "sudo apt-get install pandoc"), "-f", reader, "-t", writer, "--mathjax", str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("reader", READERS)
def test_pandoc_leaves_no_dollar_outside_math(handouts, reader):
    """Every $ of a handout opens or closes math: none reaches the reader as text."""
    for name, path in handouts.items():
        if path.suffix != ".md":
            continue
        page = pandoc(path, reader, "html")
        page = re.sub(r'<span class="math (inline|display)">.*?</span>', "", page, flags=re.S)
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        stray = [line for line in text.splitlines() if "$" in line]
        assert not stray, f"{name} ({reader}): literal $ in {stray[:3]}"


def test_header_lines_are_paragraphs(handouts):
    """**Network:**, **Parameters derived:** and **Checked:** each start a paragraph of their own."""
    for name, path in handouts.items():
        if path.suffix != ".md":
            continue
        page = pandoc(path, READERS[0], "html")
        for paragraph in re.findall(r"<p>(.*?)</p>", page, flags=re.S):
            labels = re.findall(r"<strong>[^<]*:</strong>", paragraph)
            assert len(labels) <= 1, f"{name}: {labels} run into one paragraph"
    page = pandoc(handouts["2-4-3-2/derivation.md"], READERS[0], "html")
    for label in ("Network:", "Parameters derived:", "Checked:"):
        assert f"<p><strong>{label}</strong>" in page


def math_in_markdown(path: Path, reader: str = READERS[0]) -> list[dict]:
    """The math fragments pandoc finds in a .md, as katex_check.js reads them."""
    fragments = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("t") == "Math":
                kind, tex = node["c"]
                fragments.append({"tex": tex, "display": kind["t"] == "DisplayMath", "where": f"{path.name} ({reader})"})
            else:
                walk(node.get("c"))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(pandoc(path, reader, "json"))["blocks"])
    return fragments


# -- KaTeX ----------------------------------------------------------------------------------------
MATH_ENVIRONMENTS = ("equation", "equation*", "align", "align*", "gather", "gather*", "multline", "multline*")


def math_in_latex(text: str, where: str) -> list[dict]:
    """The math fragments of a LaTeX document: $...$, \\[...\\] and the display environments."""
    text = re.sub(r"(?<!\\)%.*", "", text)  # comments
    text = text[text.index(r"\begin{document}"):]
    fragments, n = [], 0
    line = lambda at: text.count("\n", 0, at) + 1  # noqa: E731
    while n < len(text):
        if text.startswith("\\begin{", n):
            name = text[n + 7 : text.index("}", n)]
            if name in MATH_ENVIRONMENTS:
                end = text.index(f"\\end{{{name}}}", n) + len(name) + 6
                fragments.append({"tex": text[n:end], "display": True, "where": f"{where}:{line(n)}"})
                n = end
                continue
        if text.startswith("\\[", n):
            end = text.index("\\]", n)
            fragments.append({"tex": text[n + 2 : end], "display": True, "where": f"{where}:{line(n)}"})
            n = end + 2
            continue
        if text[n] == "\\":
            n += 2  # \$ and every other escaped character
            continue
        if text.startswith("$$", n):
            end = text.index("$$", n + 2)
            fragments.append({"tex": text[n + 2 : end], "display": True, "where": f"{where}:{line(n)}"})
            n = end + 2
            continue
        if text[n] == "$":
            end = n + 1
            while text[end] != "$" or text[end - 1] == "\\":
                end += 1
            fragments.append({"tex": text[n + 1 : end], "display": False, "where": f"{where}:{line(n)}"})
            n = end + 1
            continue
        n += 1
    return fragments


def test_the_latex_scanner_finds_inline_and_display_math():
    document = "\\documentclass{article}\n\\begin{document}\nCost \\$5, $x_1$ % $no$\n\\[ y \\]\n\\begin{align*}\na &= b\n\\end{align*}\n\\end{document}\n"
    found = math_in_latex(document, "t.tex")
    assert [(f["tex"], f["display"]) for f in found] == [("x_1", False), (" y ", True), ("\\begin{align*}\na &= b\n\\end{align*}", True)]


def katex(fragments: list[dict]) -> dict:
    node = require_katex()
    result = subprocess.run([node, str(KATEX_CHECK)], input=json.dumps(fragments), capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_katex_reports_what_it_cannot_render():
    report = katex([{"tex": r"\frac{1}{2}", "display": False, "where": "ok"},
                    {"tex": r"\notamacro{x}", "display": True, "where": "bad"}])
    assert report["rendered"] == 1 and [e["where"] for e in report["errors"]] == ["bad"]


def test_katex_renders_every_math_fragment(handouts):
    fragments = []
    for name, path in handouts.items():
        if path.suffix == ".md":
            for reader in READERS:
                fragments += math_in_markdown(path, reader)
        else:
            fragments += math_in_latex(path.read_text(), name)
    notebook = derive("2-2-1", loss="bce", bias=True)._repr_latex_().strip()  # Jupyter's one display
    fragments.append({"tex": notebook.removeprefix("$$").removesuffix("$$"), "display": True, "where": "_repr_latex_"})
    assert len(fragments) > 1000
    report = katex(fragments)
    problems = [f"{e['where']}: {e['message']}" for e in report["errors"]]
    assert not problems, f"{len(problems)} of {len(fragments)} fragments fail in KaTeX {report['katex']}:\n" + "\n".join(problems[:20])
    assert report["rendered"] == len(fragments)


# -- the loss as people write it ------------------------------------------------------------------
@pytest.mark.parametrize("outputs", [1, 3])
def test_bce_prints_as_minus_the_bracketed_sum(outputs):
    """−[y log ŷ + (1 − y) log(1 − ŷ)] per output, read back to the loss itself."""
    from symbackprop.algebra.grammar import parse_math
    from symbackprop.handout.latex import to_latex
    from symbackprop.network.losses import LOSSES

    outs, targets = sympy.symbols(f"o1:{outputs + 1}", real=True), sympy.symbols(f"t1:{outputs + 1}", real=True)
    printed = to_latex(LOSSES["bce"].total_display(outs, targets), {})
    term = r"- \left[t_{%d} \log o_{%d} + \left(1 - t_{%d}\right) \log{\left(1 - o_{%d} \right)}\right]"
    assert printed == " ".join(term % ((j,) * 4) for j in range(1, outputs + 1))
    read_back = parse_math(printed, {}, variables=[s.name for s in outs + targets])
    assert sympy.expand(read_back - LOSSES["bce"].total(outs, targets)) == 0


def test_the_handouts_print_bce_that_way(handouts):
    md = handouts["4-3-2-1-layers/derivation.md"].read_text()
    assert r"\mathcal{L} = - \left[y_{1} \log \hat{y}_{1} + \left(1 - y_{1}\right) \log{\left(1 - \hat{y}_{1} \right)}\right]" in md
