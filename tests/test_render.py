"""The handouts: GitHub-safe Markdown, LaTeX that compiles, JSON with the documented schema."""

import json
import re
import shutil
import subprocess

import pytest
from conftest import require_tex

from symbackprop import derive
from symbackprop.handout.render import (
    derivation_json,
    latex_escape,
    md_escape,
    render_latex,
    render_markdown,
    write_outputs,
)

# Macros GitHub's Markdown math (MathJax) renders; the handout must use no others.
GITHUB_MACROS = {
    "frac", "partial", "cdot", "left", "right", "mathrm", "sigma", "delta", "qquad", "quad", "begin", "end",
    "to", "text", "ell", "tanh", "log", "max", "operatorname", "circ", "times", "top", "hat", "mathcal", "mathbf",
    "boldsymbol", "odot", "nabla", "prime", "matrix",
}


def test_markdown_math_is_github_safe(seed000):
    md = render_markdown(seed000)
    assert md.count("$$") % 2 == 0
    macros = set(re.findall(r"\\(?:\\|([A-Za-z]+))", md)) - {""}  # a \\ line break is no macro
    assert macros <= GITHUB_MACROS, macros - GITHUB_MACROS
    assert r"\begin{align}" not in md and r"\begin{align*}" not in md  # only aligned inside $$
    # organised from the output layer back
    assert md.index("Layer 3, the output layer") < md.index("Layer 2, a hidden layer") < md.index("Layer 1, a hidden layer")


def test_markdown_says_how_each_gradient_was_checked(seed000):
    full = render_markdown(seed000, detail="full")
    assert full.count("*Checked:* symbolic") == 26
    # concise: the parameter worked out in each layer has its line; every parameter its mark in the layer's block
    md = render_markdown(seed000)
    assert md.count("*Checked:* symbolic") == 3
    assert len(re.findall(r"\\text\{\((?:worked above; )?symbolic\)\}", md)) == 26


def compile_latex(tex: str, directory) -> str:
    (directory / "derivation.tex").write_text(tex)
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "derivation.tex"],
        cwd=directory, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return (directory / "derivation.log").read_text(errors="replace")


@pytest.mark.parametrize("spec, bias", [("2-4-3-2", False), ("3-2-1", True)])
def test_latex_compiles(spec, bias, tmp_path):
    require_tex()
    log = compile_latex(render_latex(derive(spec, bias=bias)), tmp_path)
    assert not [line for line in log.splitlines() if line.startswith("! ")]
    assert (tmp_path / "derivation.pdf").stat().st_size > 10_000


def test_user_text_is_printed_literally_and_runs_nothing(tmp_path):
    require_tex()
    title = r"Weights $ & % # _ { } \ ~ ^ \input{/etc/passwd}"
    tex = render_latex(derive("1-1"), title=title)
    compile_latex(tex, tmp_path)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "derivation.pdf", "-"], cwd=tmp_path, capture_output=True, text=True).stdout
        assert "root:" not in text  # /etc/passwd was not read
        assert r"\input{/etc/passwd}" in text.replace("\n", " ")
    md = render_markdown(derive("1-1"), title=title)
    assert md.splitlines()[0] == "# " + md_escape(title)


def test_escapers():
    assert latex_escape("100% & $5") == r"100\% \& \$5"
    assert latex_escape("\\input{x}") == r"\textbackslash{}input\{x\}"
    assert md_escape("*bold* _it_ `code` $x$") == r"\*bold\* \_it\_ \`code\` \$x\$"


def test_json_schema(tmp_path):
    derivation = derive("2-2-1", bias=True)
    (path,) = write_outputs(derivation, tmp_path, ["json"])
    data = json.loads(path.read_text())
    for key in ("spec", "layers", "activations", "loss", "bias", "notation", "primary", "definitions", "parameters"):
        assert key in data
    assert data["layers"] == [2, 2, 1] and data["activations"] == ["sigmoid", "sigmoid"]
    assert data["primary"]["inputs"] == ["out_a_1", "out_a_2"] and data["primary"]["targets"] == ["target_c_1"]
    assert data["primary"]["weights"] == [[["w_11", "w_13"], ["w_12", "w_14"]], [["w_21"], ["w_22"]]]
    assert data["primary"]["biases"] == [["b_b_1", "b_b_2"], ["b_c_1"]]
    assert set(data["definitions"]) >= {"net_b_1", "out_b_1", "net_c_1", "out_c_1", "delta_b_1", "delta_c_1", "E_total"}
    bias = next(p for p in data["parameters"] if p["symbol"] == "b_b_2")
    assert bias["kind"] == "bias" and bias["from"] is None and bias["to"] == [1, 2] and bias["paths"] == 1
    for parameter in data["parameters"]:
        assert parameter["symbol"].isidentifier() and parameter["verified"] in ("symbolic", "numeric")
        assert set(parameter) >= {"symbol", "latex", "kind", "from", "to", "paths", "chain_rule", "verified"}


def test_write_outputs_matches_render(tmp_path):
    derivation = derive("1-2-1")
    write_outputs(derivation, tmp_path, ["md", "tex", "json"])
    without_figures = lambda text: [line for line in text.splitlines() if line and not line.startswith("![")]  # noqa: E731
    written = (tmp_path / "derivation.md").read_text()
    assert "![" in written  # the file links the SVG diagrams written beside it
    assert without_figures(written) == without_figures(render_markdown(derivation))
    assert (tmp_path / "derivation.tex").read_text() == render_latex(derivation)
    assert json.loads((tmp_path / "derivation.json").read_text()) == json.loads(json.dumps(derivation_json(derivation)))


def test_neuron_indices_from_10_are_braced_in_latex(tmp_path):
    derivation = derive("2-10-1")
    tex, md = render_latex(derivation), render_markdown(derivation)
    for text in (tex, md):
        assert r"\mathrm{out}_{b_{10}}" in text
        assert not re.search(r"b_1[0-9]", text)  # b_10 would print as b₁0
    assert derivation_json(derivation)["primary"]["weights"][1][9] == ["w_2_10"]
    assert "out_b_10" in derivation_json(derivation)["definitions"]


def test_the_header_claims_only_the_checks_that_were_made():
    derivation = derive("2-3-1")
    truth = {"SymEngine": "SymEngine's `diff`", "SymEngine+abs": "SymEngine's `diff` (with SymPy's rule for abs)"}.get(
        derivation.verification.truth, "`sympy.diff`")
    assert f"proven identical to {truth} of the fully expanded" in render_markdown(derivation).splitlines()[2]
    numeric = render_markdown(derive("2-3-1", proof="numeric")).splitlines()[2]
    assert "diff`" not in numeric and "numerically, at random points" in numeric


def test_a_negated_ordered_sum_keeps_its_parentheses():
    """SymPy parenthesizes -(a + b) only for its own Add; the handouts' ordered sums need it too."""
    import sympy

    from symbackprop.algebra.expressions import Total
    from symbackprop.handout.latex import to_latex

    a, b = sympy.symbols("a b")
    assert to_latex(-Total(a, b), {}) == r"- \left(a + b\right)"


def test_control_characters_and_bidi_overrides_are_shown_not_obeyed(tmp_path):
    """A title cannot reorder the text around it (U+202E) or hide escape sequences: each bidi
    control is written as its code point in Markdown, XML and LaTeX alike; control characters go."""
    from symbackprop.handout.escape import BIDI_CONTROLS, xml_escape

    title = "Net\u202eevil\u2066x\u200f\x07\x1b[31m\x7f\x9b!"
    assert md_escape(title) == r"Net\[U+202E\]evil\[U+2066\]x\[U+200F\]\[31m!"
    assert xml_escape(title) == "Net[U+202E]evil[U+2066]x[U+200F][31m!"
    assert latex_escape(title) == r"Net\texttt{[U+202E]}evil\texttt{[U+2066]}x\texttt{[U+200F]}[31m!"
    assert len(BIDI_CONTROLS) == 12  # U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069
    for c in BIDI_CONTROLS:
        point = f"[U+{ord(c):04X}]"
        assert md_escape(c) == point.replace("[", r"\[").replace("]", r"\]")
        assert xml_escape(c) == point and latex_escape(c) == rf"\texttt{{{point}}}"
    assert xml_escape("a\tb\nc") == "a\tb\nc"  # whitespace XML keeps
    assert md_escape("\udcff") == r"\[U+DCFF\]"  # an undecodable command-line byte: still writable as UTF-8
    md = render_markdown(derive("1-1"), title=title)
    assert md.splitlines()[0] == "# " + md_escape(title)
    assert not [c for c in md if c in BIDI_CONTROLS or (ord(c) < 32 and c not in "\n") or 0x7F <= ord(c) < 0xA0]
    # the HTML page, read back by an HTML parser: <title> and <h1> say the title as shown
    from html.parser import HTMLParser

    from symbackprop.handout.render import render_html

    page = render_html(derive("1-1"), title=title)
    assert not [c for c in page if c in BIDI_CONTROLS or (ord(c) < 32 and c not in "\n") or 0x7F <= ord(c) < 0xA0]

    class Headings(HTMLParser):
        def __init__(self):
            super().__init__()
            self.open, self.text = None, {}

        def handle_starttag(self, tag, attrs):
            self.open = tag if tag in ("title", "h1") else self.open

        def handle_endtag(self, tag):
            self.open = None if tag == self.open else self.open

        def handle_data(self, data):
            if self.open:  # the first of each (the drawing's SVG has its own <title>)
                self.text.setdefault(self.open, data)

    headings = Headings()
    headings.feed(page)
    assert headings.text == {"title": xml_escape(title), "h1": xml_escape(title)}
