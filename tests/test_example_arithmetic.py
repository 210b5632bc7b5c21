"""The worked example shows its starting values and its arithmetic, and the arithmetic is right.

Each handout is read back as a reader would: the tables of starting values are compared with the
params, and every written-out equation (a net input, an activation, the error) is evaluated here
in Python floats from the printed numbers and compared with the printed result and with an
independent forward pass from the params (NumPy, written below, no symbackprop). Both notations,
with and without biases, every loss and the activations with their own formulas. The LaTeX shows
the same equations, compiles without warnings that a reader sees (no ?? and no overfull lines),
and its PDF's text holds the numbers.
"""

from __future__ import annotations

import math
import re
import subprocess

import numpy as np
import pytest
from conftest import require_tex

from symbackprop.network.spec import NetworkSpec
from symbackprop.numbers.example import render_example, worked_example, write_example

WALKTHROUGH = {  # the classic walk-through, its shared biases given per neuron (--bias)
    "x": [0.05, 0.10], "y": [0.01, 0.99],
    "W": [[[0.15, 0.25], [0.20, 0.30]], [[0.40, 0.50], [0.45, 0.55]]],
    "b": [[0.35, 0.35], [0.60, 0.60]],
}

ACTIVATIONS = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(0.0, z),
    "softplus": lambda z: np.log1p(np.exp(z)),
    "linear": lambda z: z,
    "z/(1+abs(z))": lambda z: z / (1 + np.abs(z)),
    "softmax": lambda z: np.exp(z) / np.sum(np.exp(z)),
}
LOSSES = {
    "mse": lambda a, y: [0.5 * (t - o) ** 2 for o, t in zip(a, y)],
    "bce": lambda a, y: [-(t * math.log(o) + (1 - t) * math.log(1 - o)) for o, t in zip(a, y)],
    "ce": lambda a, y: [-t * math.log(o) for o, t in zip(a, y)],
}

CASES = [  # spec, activation, loss, bias, notation
    ("2-2-2", "sigmoid", "mse", True, "neurons"),
    ("2-2-2", "sigmoid", "mse", False, "layers"),
    ("3-4-2", "tanh", "ce", True, "layers"),
    ("3-4-2", "tanh", "ce", False, "neurons"),
    ("2-3-1", "relu,sigmoid", "bce", True, "neurons"),
    ("2-3-1", "relu,sigmoid", "bce", False, "layers"),
    ("2-3-2-2", "softplus,z/(1+abs(z)),linear", "mse", True, "neurons"),
    ("9-2-1", "sigmoid", "mse", True, "layers"),  # a wide input: the net input elides its middle terms
]


def params_for(spec: NetworkSpec, seed: int) -> dict:
    """Starting values with negative weights among them (signs are where printing goes wrong)."""
    rng = np.random.default_rng(seed)
    layers = spec.layers
    round3 = lambda a: np.round(a, 3).tolist()  # noqa: E731  (short, as people write them)
    y = rng.uniform(0.05, 0.95, layers[-1])
    if spec.loss == "ce":
        y = y / y.sum()
    params = {"x": round3(rng.uniform(-1, 1, layers[0])), "y": y.tolist(),
              "W": [round3(rng.uniform(-1, 1, (m, n))) for m, n in zip(layers, layers[1:])]}
    if spec.bias:
        params["b"] = [round3(rng.uniform(-0.5, 0.5, n)) for n in layers[1:]]
    return params


def forward(spec: NetworkSpec, params: dict):
    """Net inputs and outputs of every layer, and the loss terms, in float64 (row vectors)."""
    names = list(spec.activations)
    if spec.loss == "ce":
        names[-1] = "softmax"
    outs, nets = [np.array(params["x"], dtype=float)], [None]
    for k, name in enumerate(names):
        z = outs[-1] @ np.array(params["W"][k]) + (np.array(params["b"][k]) if spec.bias else 0.0)
        nets.append(z)
        outs.append(ACTIVATIONS[name](z))
    return nets, outs, LOSSES[spec.loss](outs[-1], params["y"])


# -- reading the printed arithmetic back ----------------------------------------------------------
def _braced(text: str, start: int) -> int:
    """The index just past the {...} group opening at ``start``."""
    depth = 0
    for n in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[n], 0)
        if depth == 0:
            return n + 1
    raise ValueError(f"unbalanced braces in {text!r}")


def python_of(tex: str) -> str:
    """A printed numeric formula as a Python expression: fractions, powers, e^x, log, tanh, max,
    |x|, parentheses and products."""
    while r"\frac{" in tex:
        n = tex.index(r"\frac{")
        top_end = _braced(tex, n + 5)
        bottom_end = _braced(tex, top_end)
        tex = tex[:n] + f"(({tex[n + 6:top_end - 1]})/({tex[top_end + 1:bottom_end - 1]}))" + tex[bottom_end:]
    for before, after in ((r"\left(", "("), (r"\right)", ")"), (r"\left[", "("), (r"\right]", ")"),
                          (r"\left|", "abs("), (r"\right|", ")"), (r"\cdot", "*"), (r"\tanh", "tanh"),
                          (r"\log", "log"), (r"\max", "max"), (r"\min", "min"), (r"\sqrt", "sqrt"),
                          ("e^{", "exp{"), ("^{", "**{")):
        tex = tex.replace(before, after)
    tex = re.sub(r"log (\d[\d.]*)", r"log(\1)", tex)  # log of a single number, printed without parentheses
    tex = tex.replace("{", "(").replace("}", ")")
    return re.sub(r"(?<=[\d)])\s+(?=[a-z(])", " * ", tex)  # implicit products: "0.2 log(0.5)"


def value_of(tex: str) -> float:
    functions = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "abs": abs, "max": max, "min": min,
                 "sqrt": math.sqrt}
    return float(eval(python_of(tex), {"__builtins__": {}}, functions))  # our own printed numbers only


def test_python_of_reads_the_printed_forms():
    assert value_of(r"\frac{1}{1 + e^{- 0.3775}}") == pytest.approx(0.593269992, rel=1e-9)
    assert value_of(r"0.15 \cdot 0.05 + 0.2 \cdot 0.1 + 0.35 \cdot 1") == pytest.approx(0.3775)
    assert value_of(r"- \left[0.3 \log 0.5 + \left(1 - 0.3\right) \log{\left(1 - 0.5 \right)}\right]") == pytest.approx(math.log(2))
    assert value_of(r"\max\left(0, \left(-0.5\right)\right) + \frac{\left(-2\right)}{\left|{\left(-2\right)}\right| + 1}") == pytest.approx(-2 / 3)


def section(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def equations(block: str) -> list[list[str]]:
    """Each $$ ... $$ display of ``block`` split at its equals signs."""
    return [[part.strip() for part in eq.split(" = ")] for eq in re.findall(r"^\$\$ (.+) \$\$$", block, flags=re.M)]


def printed(value: float, digits: int = 9) -> float:
    return float(f"{value:.{digits}g}")


# -- the starting values ---------------------------------------------------------------------------
def expected_parameters(spec: NetworkSpec, params: dict, k: int) -> list[tuple[str, float]]:
    """Layer k's weights in the order the notation numbers them, then its biases, with values."""
    n_in, n_out = spec.layers[k - 1], spec.layers[k]
    letter = "abcdefghij"[k]
    if spec.notation == "layers":
        rows = [(f"W^{{[{k}]}}_{{{i + 1},{j + 1}}}", params["W"][k - 1][i][j]) for i in range(n_in) for j in range(n_out)]
        biases = [f"b^{{[{k}]}}_{{{j + 1}}}" for j in range(n_out)]
    else:  # letter notation: w_{kn}, n = 1 + target·n_in + source
        name = lambda n: f"w_{{{k}{n}}}" if n <= 9 else f"w_{{{k},{n}}}"  # noqa: E731  (w_{ℓ,k} past 9)
        rows = [(name(1 + j * n_in + i), params["W"][k - 1][i][j]) for j in range(n_out) for i in range(n_in)]
        biases = [f"b_{{{letter}_{j + 1}}}" for j in range(n_out)]
    if spec.bias:
        rows += [(name, params["b"][k - 1][j]) for j, name in enumerate(biases)]
    return rows


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_starting_values_are_listed_in_the_order_weights_are_numbered(case):
    layers, activation, loss, bias, notation = case
    spec = NetworkSpec.parse(layers, activation=activation, loss=loss, bias=bias, notation=notation)
    params = params_for(spec, seed=len(layers))
    text = section(render_example(worked_example(spec, params), "md"), "## 1.")
    for k in range(1, spec.depth + 1):
        table = text[text.index(f"**Layer {k}** (into"):].split("\n\n")[1]
        rows = re.findall(r"^\| \$(.+?)\$ \| (.+?) \| \$(.+?)\$ \|$", table, flags=re.M)
        expected = expected_parameters(spec, params, k)
        assert [name for name, _, _ in rows] == [name for name, _ in expected]
        assert [float(value) for _, _, value in rows] == [value for _, value in expected]
    inputs, targets = (re.findall(r"= (-?[\d.]+)", line) for line in re.findall(r"^\$\$ (.+) \$\$$", text, flags=re.M)[:2])
    assert [float(v) for v in inputs] == params["x"][:8]
    assert [float(v) for v in targets] == [printed(t) for t in params["y"]]


def test_connections_name_source_and_target():
    text = render_example(worked_example("2-2-2", WALKTHROUGH, bias=True), "md")
    assert r"| $w_{13}$ | $a_1 \to b_2$ | $0.25$ |" in text  # target-major: w_{13} is a_1 → b_2
    assert r"| $b_{c_2}$ | bias of $c_2$ | $0.6$ |" in text
    layers = render_example(worked_example("2-2-2", WALKTHROUGH, bias=True, notation="layers"), "md")
    assert r"| $W^{[1]}_{1,2}$ | $a^{[0]}_{1} \to a^{[1]}_{2}$ | $0.25$ |" in layers


# -- the forward pass and the error, written out ----------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_the_written_out_arithmetic_recomputes(case):
    layers, activation, loss, bias, notation = case
    spec = NetworkSpec.parse(layers, activation=activation, loss=loss, bias=bias, notation=notation)
    params = params_for(spec, seed=len(layers))
    nets, outs, terms = forward(spec, params)
    text = render_example(worked_example(spec, params), "md")
    passes = section(text, "## 2. The forward pass")
    for k in range(1, spec.depth + 1):
        block = passes[passes.index(f"**Layer {k}**"):]
        net_eq, out_eq = equations(block)[:2]
        # net = symbols = numbers = value: the numbers are the weights into neuron 1 and the outputs before
        assert len(net_eq) == 4, net_eq
        numbers, value = net_eq[2], float(net_eq[3])
        assert value == printed(nets[k][0])
        assert value_of(numbers.replace(r"\cdots", "0")) == pytest.approx(value, rel=1e-8) or r"\cdots" in numbers
        products = re.findall(r"(\(?-?[\d.]+\)?|\\left\(-?[\d.]+\\right\)) \\cdot (\\left\(-?[\d.]+\\right\)|-?[\d.]+)", numbers)
        shown = [(value_of(w), value_of(o)) for w, o in products]
        sources = list(range(spec.layers[k - 1]))
        if r"\cdots" in numbers:
            sources = sources[:3] + sources[-1:]
        wiring = [(params["W"][k - 1][i][0], printed(outs[k - 1][i])) for i in sources]
        if bias:
            wiring.append((params["b"][k - 1][0], 1.0))
        assert [(abs(w), abs(o)) for w, o in shown] == [(abs(w), abs(o)) for w, o in wiring], numbers
        # out = formula = numbers = value, by the layer's own activation
        out_value = float(out_eq[-1])
        assert out_value == printed(outs[k][0])
        if len(out_eq) == 4:
            assert value_of(out_eq[2]) == pytest.approx(out_value, rel=1e-7)
    error = section(text, "## 3. The error")
    worked = equations(error)[-1]
    total = float(worked[-1])
    assert total == printed(sum(terms))
    if len(worked) >= 3:
        assert value_of(worked[1]) == pytest.approx(total, rel=1e-7)
    if len(worked) == 4:
        assert [float(t) for t in re.split(r" [+] ", worked[2].replace(" - ", " + -"))] == [printed(t) for t in terms]


def test_the_walkthrough_reads_like_the_classic_one():
    text = render_example(worked_example("2-2-2", WALKTHROUGH, bias=True), "md")
    assert (r"$$ \mathrm{net}_{b_1} = w_{11} \cdot \mathrm{out}_{a_1} + w_{12} \cdot \mathrm{out}_{a_2} + b_{b_1} \cdot 1"
            r" = 0.15 \cdot 0.05 + 0.2 \cdot 0.1 + 0.35 \cdot 1 = 0.3775 $$") in text
    assert (r"$$ \mathrm{out}_{b_1} = \frac{1}{1 + e^{- \mathrm{net}_{b_1}}} = \frac{1}{1 + e^{- 0.3775}}"
            r" = 0.593269992 $$") in text
    assert "= 0.274811083 + 0.0235600256 = 0.298371109 $$" in text
    # the order on the page: the starting values, then the forward pass, then the error
    assert text.index("## 1. The network and its starting values") < text.index("## 2. The forward pass") < text.index("## 3. The error")


def test_activations_are_written_by_their_own_formula():
    spec = NetworkSpec.parse("2-3-2", activation="tanh", loss="ce", bias=True)
    text = render_example(worked_example(spec, params_for(spec, 1)), "md")
    assert r"= \tanh{\left(\mathrm{net}_{b_1} \right)} = \tanh{\left(" in text
    softmax = r"\frac{e^{\mathrm{net}_{c_1}}}{e^{\mathrm{net}_{c_1}} + e^{\mathrm{net}_{c_2}}}"
    assert f"$$ \\mathrm{{out}}_{{c_1}} = {softmax} = \\frac{{e^{{" in text
    relu = render_example(worked_example("1-1", {"x": [1.0], "y": [0.5], "W": [[[-0.5]]]}, activation="relu"), "md")
    assert r"\mathrm{out}_{b_1} = \max\left(0, \mathrm{net}_{b_1}\right) = \max\left(0, -0.5\right) = 0 $$" in relu
    negative = render_example(worked_example("1-1", {"x": [1.0], "y": [0.5], "W": [[[-0.5]]]}), "md")
    assert r"= \frac{1}{1 + e^{- \left(-0.5\right)}} = 0.377540669 $$" in negative  # e^{-net} at net = -0.5
    assert r"\tanh{\left(-" in render_example(worked_example("1-1", {"x": [1.0], "y": [0.5], "W": [[[-0.5]]]},
                                                              activation="tanh"), "md")  # not -tanh(0.5)


# -- the LaTeX handout, its drawing and its PDF -----------------------------------------------------
def flattened(tex: str) -> str:
    """An align block's text as one line: no alignment marks, line breaks or indentation."""
    tex = re.sub(r"\\\\(\[[^]]*\])?", " ", tex).replace("&", " ").replace(r"\quad", " ")
    return re.sub(r"\s+", " ", tex)


@pytest.mark.parametrize("case", CASES[:2] + CASES[2:3] + CASES[-1:], ids=lambda c: "-".join(map(str, c)))
def test_latex_shows_the_same_arithmetic(case):
    layers, activation, loss, bias, notation = case
    spec = NetworkSpec.parse(layers, activation=activation, loss=loss, bias=bias, notation=notation)
    ex = worked_example(spec, params_for(spec, seed=len(layers)))
    md, tex = render_example(ex, "md"), render_example(ex, "tex")
    start, end = tex.index(r"\section{The forward pass}"), tex.index(r"\section{The deltas}")
    body = flattened(tex[start:end])
    for eq in equations(section(md, "## 2.")) + equations(section(md, "## 3."))[-1:]:
        if len(eq) == 4 and "net" in eq[0] or "z^" in eq[0]:
            assert f"{eq[2]} = {eq[3]}" in body, eq
    assert r"\begin{tikzpicture}" in tex
    for name, value in expected_parameters(spec, ex.params, 1):
        assert f"${name}$" in tex and f"{value:g}" in tex


def test_markdown_links_the_drawing_that_is_written_beside_it(tmp_path):
    written = write_example(worked_example("2-2-2", WALKTHROUGH, bias=True), tmp_path, ("md", "tex"))
    assert sorted(p.name for p in written) == ["example.md", "example.tex", "network.svg"]
    md = (tmp_path / "example.md").read_text()
    assert "](network.svg)" in md
    svg = (tmp_path / "network.svg").read_text()
    assert svg.count("<circle") >= 6 and "w" in svg
    assert "network.svg" not in render_example(worked_example("2-2-2", WALKTHROUGH, bias=True), "md")  # not written
    only_tex = tmp_path / "tex"
    assert [p.name for p in write_example(worked_example("2-2-1", seed=0), only_tex, ("tex",))] == ["example.tex"]


@pytest.mark.parametrize("options", [dict(bias=True), dict(bias=True, notation="layers", loss="bce"),
                                     dict(notation="layers", loss="ce", activation="tanh")],
                         ids=["neurons-mse-bias", "layers-bce-bias", "layers-ce"])
def test_pdf_shows_the_numbers_and_fits_the_page(tmp_path, options):
    require_tex()
    params = dict(WALKTHROUGH) if options.get("bias") else {k: v for k, v in WALKTHROUGH.items() if k != "b"}
    if options.get("loss") == "ce":
        params["y"] = [0.25, 0.75]
    ex = worked_example("2-2-2", params, **options)
    write_example(ex, tmp_path, ("tex",))
    log = ""
    for _ in range(3):  # until the references settle, as the PDF builder does
        run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "example.tex"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout[-2000:]
        log = (tmp_path / "example.log").read_text(errors="replace")
        if "Rerun" not in log and "undefined references" not in log:
            break
    assert "undefined references" not in log and "Rerun to get" not in log
    overfull = [float(points) for points in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert max(overfull, default=0) <= 1, f"lines run off the page by {max(overfull)}pt"
    text = subprocess.run(["pdftotext", "-layout", "example.pdf", "-"], cwd=tmp_path, capture_output=True,
                          text=True, check=True).stdout
    assert "??" not in text
    nets, outs, terms = forward(ex.spec, params)
    for number in (nets[1][0], outs[1][0], nets[2][0], outs[2][0], sum(terms)):
        assert f"{printed(number):.9g}" in text, number
    for number in (0.15, 0.25, 0.55):
        assert str(number) in text
    assert "The network and its starting values" in text


# -- every renderer: pandoc (GitHub's Markdown and pandoc's) and KaTeX -------------------------------
RENDERED = {  # the variants beside the gallery's 2-2-2 example (tests/test_markdown.py reads that one)
    "layers-bce-bias": ["2-3-1", "--notation", "layers", "--loss", "bce", "--bias", "--seed", "2"],
    "layers-ce-tanh": ["3-4-3", "--notation", "layers", "--loss", "ce", "--activation", "tanh"],
    "relu-custom": ["2-3-2", "--activation", "relu,z/(1+abs(z))", "--bias", "--seed", "4"],
    "capped": ["10-12-3", "--bias", "--activation", "relu,sigmoid"],
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    from symbackprop.cli import main

    root = tmp_path_factory.mktemp("examples")
    for folder, argv in RENDERED.items():
        with pytest.raises(SystemExit) as stop:
            main(["example", *argv, "--format", "md,tex", "-o", str(root / folder)])
        assert stop.value.code == 0, argv
    return {folder: root / folder for folder in RENDERED}


def test_markdown_math_survives_pandoc_and_katex(rendered):
    import html

    from test_markdown import READERS, katex, math_in_latex, math_in_markdown, pandoc

    fragments = []
    for folder, directory in rendered.items():
        md = directory / "example.md"
        assert (directory / "network.svg").is_file()
        for reader in READERS:
            page = pandoc(md, reader, "html")
            page = re.sub(r'<span class="math (inline|display)">.*?</span>', "", page, flags=re.S)
            stray = [line for line in html.unescape(re.sub(r"<[^>]+>", "", page)).splitlines() if "$" in line]
            assert not stray, f"{folder} ({reader}): literal $ in {stray[:3]}"
            fragments += math_in_markdown(md, reader)
        fragments += math_in_latex((directory / "example.tex").read_text(), f"{folder}/example.tex")
    report = katex(fragments)
    problems = [f"{e['where']}: {e['message']}" for e in report["errors"]]
    assert not problems, "\n".join(problems[:20])
    assert report["rendered"] == len(fragments) > 200


@pytest.mark.parametrize("formula, reference", [
    ("log(1+exp(z))", lambda z: math.log1p(math.exp(z))),
    ("max(0, z) + 0.1*min(0, z)", lambda z: max(0, z) + 0.1 * min(0, z)),
    ("sqrt(z^2 + 1) - 1", lambda z: math.sqrt(z * z + 1) - 1),
    ("z*exp(-z^2)", lambda z: z * math.exp(-z * z)),
    ("2/(1+exp(-2*z)) - 1", lambda z: 2 / (1 + math.exp(-2 * z)) - 1),
])
def test_custom_formulas_are_written_out_and_recompute(formula, reference):
    """A custom activation is written with its own formula at the first neuron's net input; the
    printed numbers evaluate to the printed output, and both documents render."""
    spec = NetworkSpec.parse("2-2-1", activation=formula, bias=True)
    params = {"x": [0.5, -0.25], "y": [0.3], "W": [[[0.4, -0.7], [-0.9, 0.2]], [[0.6], [-0.35]]], "b": [[-0.1, 0.05], [0.2]]}
    ex = worked_example(spec, params)
    md, tex = render_example(ex, "md"), render_example(ex, "tex")
    nets, _, _ = forward(NetworkSpec.parse("2-2-1", activation="linear", bias=True), params)  # layer 1 nets only
    out_eq = equations(section(md, "## 2."))[1]
    assert float(out_eq[-1]) == printed(reference(nets[1][0]))
    assert value_of(out_eq[-2]) == pytest.approx(float(out_eq[-1]), rel=1e-7, abs=1e-12)
    assert out_eq[-1] in tex and r"\begin{tikzpicture}" in tex
