"""The network drawn: SVG that parses and escapes, TikZ that compiles, layouts a reader can follow."""

import itertools
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import require_tex

from symbackprop.handout.diagram import (
    BIAS,
    MIN_PRINT_PT,
    TIKZ_LIBRARIES,
    Diagram,
    Label,
    latex_escape,
    layout,
    math_runs,
    shown_neurons,
    svg_math,
    text_height,
    text_width,
    to_svg,
    to_tikz,
    weight_labels_readable,
    weight_paths,
)
from symbackprop.handout.escape import latex_escape as render_latex_escape
from symbackprop.network.notation import NOTATIONS, layer_letter

SVG = "{http://www.w3.org/2000/svg}"
SEED = (2, 4, 3, 2)
W21 = (2, 0, 0)  # b_1 → c_1
HOSTILE = r"$ & % # _ { } \ ~ ^ \input{/etc/passwd}"


def weight_name(layers, k, i, j):
    """Seed 000's numbering, written out here independently of symbackprop.network.notation."""
    m = 1 + j * layers[k - 1] + i
    return (f"w_{{{k}{m}}}", f"w_{k}{m}") if k <= 9 and m <= 9 else (f"w_{{{k},{m}}}", f"w_{k},{m}")


def seed_diagram(layers=SEED, labels=True, **options):
    neurons = tuple(
        tuple(Label(f"{layer_letter(k)}_{{{j + 1}}}", f"{layer_letter(k)}_{j + 1}") for j in range(n))
        for k, n in enumerate(layers)
    )
    weights = {
        (k, i, j): Label(*weight_name(layers, k, i, j))
        for k in range(1, len(layers))
        for i, j in itertools.product(range(layers[k - 1]), range(layers[k]))
    }
    if options.get("biases"):
        for k in range(1, len(layers)):
            for j in range(layers[k]):
                name = f"{layer_letter(k)}_{j + 1}"
                weights[(k, BIAS, j)] = Label(f"b_{{{name}}}", f"b_{name}")
    return Diagram(tuple(layers), neurons, weights if labels else None, **options)


def w21_diagram(**options):
    return seed_diagram(highlight=weight_paths(SEED, W21), highlight_weight=W21, **options)


def parse(svg):
    root = ET.fromstring(svg.encode())
    assert root.tag == SVG + "svg" and root.get("viewBox", "").startswith("0 0 ")
    return root


def groups(root, cls):
    """The <g> elements whose class list contains every word of ``cls``."""
    return [g for g in root.iter(SVG + "g") if set(cls.split()) <= set(g.get("class", "").split())]


def text_of(element):
    return "".join(element.itertext())


# -- SVG ------------------------------------------------------------------------------------
def test_seed_labels_match_the_notation():
    notation = NOTATIONS["neurons"](SEED)
    for (k, i, j), label in seed_diagram().weights.items():
        assert label.latex == notation.weight(k, i, j).latex
    assert seed_diagram().weights[W21].text == "w_21"


def test_svg_draws_every_neuron_edge_and_label():
    root = parse(to_svg(seed_diagram()))
    neurons = groups(root, "neuron")
    assert len(neurons) == sum(SEED) and len(root.findall(f".//{SVG}circle")) == sum(SEED)
    texts = sorted(text_of(g) for g in neurons)
    assert texts == sorted(f"{letter}{j}" for letter, n in zip("abcd", SEED) for j in range(1, n + 1))
    assert len(groups(root, "edge")) == 2 * 4 + 4 * 3 + 3 * 2
    assert {text_of(g) for g in groups(root, "label")} >= {"w21", "w31", "w34", "w2,12"}
    d1 = next(g for g in neurons if text_of(g) == "d1")
    letter, sub = d1.iter(SVG + "tspan")
    assert (letter.text, letter.get("font-style"), sub.text) == ("d", "italic", "1")
    assert float(sub.get("font-size")) == pytest.approx(0.7 * float(letter.get("font-size")), abs=0.05)
    assert float(sub.get("dy")) > 0  # lowered: SVG's y points down


def test_svg_highlights_exactly_the_paths_and_the_weight():
    diagram = w21_diagram()
    root = parse(to_svg(diagram))
    path_edges = {(a, b) for path in diagram.highlight for a, b in zip(path, path[1:])} | {((1, 0), (2, 0))}
    assert len(path_edges) == 3  # b_1→c_1 (the weight itself), c_1→d_1, c_1→d_2
    emphasised = groups(root, "edge path") + groups(root, "edge weight")
    assert len(emphasised) == len(path_edges) and len(groups(root, "edge weight")) == 1
    assert len(groups(root, "edge dim")) == 26 - 3 and not groups(root, "edge plain")
    assert sorted(text_of(g) for g in groups(root, "neuron path")) == ["b1", "c1", "d1", "d2"]
    assert [text_of(g) for g in groups(root, "label weight")] == ["w21"]
    # emphasised edges are wider and coloured differently from the grey ones
    dim, path = groups(root, "edge dim")[0][0], groups(root, "edge path")[0][0]
    assert float(path.get("stroke-width")) > 2 * float(dim.get("stroke-width"))
    assert path.get("stroke") != dim.get("stroke")


def test_svg_escapes_labels_and_title():
    neurons = ((Label("<b>&amp;", "x"),), (Label('y"</text><script>alert(1)</script>', "y"),))
    title = "<script>alert('x')</script> & \x00 \"quoted\""
    svg = to_svg(Diagram((1, 1), neurons, {(1, 0, 0): Label("w<1>", "w")}, title=title))
    root = parse(svg)
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert "<script" not in svg
    texts = [text_of(e) for e in root.iter(SVG + "text")]
    assert "<b>&amp;" in texts and 'y"</text><script>alert(1)</script>' in texts and "w<1>" in texts
    assert root.find(SVG + "title").text == "<script>alert('x')</script> &   \"quoted\""


def test_large_layers_are_elided():
    layers = (784, 30, 10)
    root = parse(to_svg(seed_diagram(layers, labels=False)))
    assert len(root.findall(f".//{SVG}circle")) == 5 + 5 + 10
    assert len(root.findall(f".//{SVG}line[@class='ellipsis']")) == 2
    assert len(groups(root, "edge")) == 5 * 5 + 5 * 10
    shown = {text_of(g) for g in groups(root, "neuron")}
    assert {"a1", "a4", "a784", "b30", "c10"} <= shown and "a5" not in shown
    assert r"\vdots" in to_tikz(seed_diagram(layers, labels=False))


def test_highlighted_neurons_of_elided_layers_are_shown():
    layers = (784, 30, 10)
    weight = (1, 5, 9)  # a_6 → b_10, both hidden by the elision
    diagram = seed_diagram(layers, labels=False, highlight=weight_paths(layers, weight), highlight_weight=weight)
    root = parse(to_svg(diagram))
    assert {"a6", "b10"} <= {text_of(g) for g in groups(root, "neuron path")}
    assert len(root.findall(f".//{SVG}line[@class='ellipsis']")) == 4  # a_5.., a_7.., b_5.., b_11..
    assert len(groups(root, "edge path") + groups(root, "edge weight")) == 1 + 10


def test_output_is_deterministic():
    diagram = w21_diagram(title="w_21")
    assert to_svg(diagram) == to_svg(diagram) and to_tikz(diagram) == to_tikz(diagram)
    reordered = Diagram(
        diagram.layers, diagram.neurons, dict(reversed(list(diagram.weights.items()))),
        diagram.highlight, diagram.highlight_weight, title="w_21",
    )
    assert to_svg(reordered) == to_svg(diagram) and to_tikz(reordered) == to_tikz(diagram)
    assert "id=" not in to_svg(diagram)


# -- layout: what a reader would stumble on -------------------------------------------------
def boxes(box):
    """Each weight label's rectangle (x0, y0, x1, y1) in cm, as to_svg sizes it."""
    from symbackprop.handout.diagram import LABEL_FONT

    for edge in box.edges:
        if edge.label is not None:
            (x, y), w, h = edge.label_at, text_width(edge.label.latex, LABEL_FONT), text_height(edge.label.latex, LABEL_FONT)
            yield edge, (x - w / 2, y - h / 2, x + w / 2, y + h / 2)


@pytest.mark.parametrize(
    "diagram",
    [
        seed_diagram(), seed_diagram(biases=True), seed_diagram((2, 2, 1), biases=True),
        seed_diagram((3, 4, 4, 2)), seed_diagram((6, 4)),
    ],
)
def test_weight_labels_do_not_overlap_each_other_or_neurons(diagram):
    box = layout(diagram)
    labels = list(boxes(box))
    assert len(labels) == len(diagram.weights)
    for (_, a), (_, b) in itertools.combinations(labels, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], "labels overlap"
    for _, (x0, y0, x1, y1) in labels:
        for node in box.nodes:
            nearest_x, nearest_y = min(max(node.x, x0), x1), min(max(node.y, y0), y1)
            assert (nearest_x - node.x) ** 2 + (nearest_y - node.y) ** 2 > node.r**2, "label on a neuron"


def test_labels_sit_on_their_edges_and_arrows_end_on_borders():
    box = layout(seed_diagram())
    for edge in box.edges:
        (x, y), s, t = edge.label_at, edge.source, edge.target
        assert abs((t.x - s.x) * (y - s.y) - (t.y - s.y) * (x - s.x)) < 1e-2  # on the line
    root = parse(to_svg(seed_diagram()))
    circles = [(float(c.get("cx")), float(c.get("cy")), float(c.get("r"))) for c in root.iter(SVG + "circle")]
    for polygon in root.iter(SVG + "polygon"):
        tip_x, tip_y = map(float, polygon.get("points").split()[0].split(","))
        gaps = [abs(((tip_x - cx) ** 2 + (tip_y - cy) ** 2) ** 0.5 - r) for cx, cy, r in circles]
        assert min(gaps) < 0.6  # px: the tip touches a circle, not hidden under it


# -- rules and helpers ----------------------------------------------------------------------
def test_readability_rule():
    assert weight_labels_readable(SEED) and weight_labels_readable((2, 2, 1), biases=True)
    assert not weight_labels_readable((3, 4, 4, 2))  # 12 + 16 + 8 = 36 > 30
    assert not weight_labels_readable((784, 30, 10)) and not weight_labels_readable((7, 1))
    assert not weight_labels_readable((5, 5))  # two adjacent layers wider than 4
    assert weight_labels_readable((6, 4)) and weight_labels_readable((2, 4, 3, 2), biases=True)
    assert weight_labels_readable((4, 5)) and not weight_labels_readable((4, 5), biases=True)  # the bias node


def test_shown_neurons_and_paths():
    assert shown_neurons(12) == tuple(range(12)) and shown_neurons(13) == (0, 1, 2, 3, None, 12)
    assert shown_neurons(30, keep=[4, 28]) == (0, 1, 2, 3, 4, None, 28, 29)
    assert weight_paths(SEED, W21) == (((1, 0), (2, 0), (3, 0)), ((1, 0), (2, 0), (3, 1)))
    assert weight_paths(SEED, (3, 0, 0)) == (((2, 0), (3, 0)),)
    assert len(weight_paths(SEED, (1, 1, 3))) == 3 * 2
    assert weight_paths((2, 2, 1), (1, BIAS, 1)) == (((1, 1), (2, 0)),)


def test_bad_diagrams_are_refused():
    with pytest.raises(ValueError, match="step one layer"):
        seed_diagram(highlight=(((1, 0), (3, 0)),))
    with pytest.raises(ValueError, match="no neuron"):
        seed_diagram(highlight=(((1, 4), (2, 0)),))
    with pytest.raises(ValueError, match="draws no biases"):
        seed_diagram(highlight_weight=(1, BIAS, 0))
    with pytest.raises(ValueError, match="one label per neuron"):
        Diagram((2, 1), ((Label("a", "a"),), (Label("b", "b"),)), None)


def test_escaper_agrees_with_the_handouts():
    text = HOSTILE + " <script> 100%"
    assert latex_escape(text) == render_latex_escape(text)


# -- TikZ -----------------------------------------------------------------------------------
def compile_tikz(tikz, directory, preamble=""):
    document = "\n".join([
        r"\documentclass{article}", r"\usepackage{tikz}", rf"\usetikzlibrary{{{','.join(TIKZ_LIBRARIES)}}}",
        preamble, r"\begin{document}", tikz, r"\end{document}", "",
    ])
    (directory / "diagram.tex").write_text(document)
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "diagram.tex"],
        cwd=directory, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    log = (directory / "diagram.log").read_text(errors="replace")
    assert not [line for line in log.splitlines() if line.startswith("! ")]
    return directory / "diagram.pdf"


@pytest.mark.parametrize("name", ["seed", "w21", "elided", "bias"])
def test_tikz_compiles(name, tmp_path):
    require_tex()
    diagram = {
        "seed": seed_diagram(),
        "w21": w21_diagram(title="Paths of $w_{21}$"),
        "elided": seed_diagram((784, 30, 10), labels=False, highlight=weight_paths((784, 30, 10), (2, 3, 1))),
        "bias": seed_diagram((2, 2, 1), biases=True, highlight=((((1, 1), (2, 0)),)), highlight_weight=(1, BIAS, 1)),
    }[name]
    pdf = compile_tikz(to_tikz(diagram), tmp_path)
    assert pdf.stat().st_size > 5_000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", pdf.name, "-"], cwd=tmp_path, capture_output=True, text=True).stdout
        assert ("w" in text) == (name != "elided")


def test_hostile_title_compiles_and_prints_literally(tmp_path):
    require_tex()
    diagram = seed_diagram((1, 1), title=HOSTILE)
    tikz = to_tikz(diagram)
    assert r"\input{" not in tikz
    pdf = compile_tikz(tikz, tmp_path, preamble=r"\usepackage[T1]{fontenc}")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", pdf.name, "-"], cwd=tmp_path, capture_output=True, text=True).stdout
        assert "root:" not in text
        assert HOSTILE in text.replace("\n", " ")


def test_tikz_takes_the_handouts_escaper():
    tikz = to_tikz(seed_diagram((1, 1), title="a_b"), escape=lambda text: text.upper().replace("_", "-"))
    assert "{A-B}" in tikz


# -- labels typeset like the formulas (issue 12, item 14) -------------------------------------
def runs_of(latex, font=20.0):
    """(text, font size, height above the baseline, italic, dx) of each tspan of a label, read back
    from the SVG; the height accumulates the dy's (SVG's y points down)."""
    text = ET.fromstring(f'<text xmlns="http://www.w3.org/2000/svg" font-size="{font}">{svg_math(latex, font)}</text>')
    assert not (text.text or "").strip(), "every character sits in a tspan"
    height, runs = 0.0, []
    for tspan in text:
        assert tspan.tag == SVG + "tspan" and not (tspan.tail or "").strip()
        height -= float(tspan.get("dy", 0))
        runs.append((tspan.text, float(tspan.get("font-size")), round(height, 3),
                     tspan.get("font-style") == "italic", float(tspan.get("dx", 0))))
    return runs


NAMES = {  # the notations' own LaTeX names, not typed here
    "a^{[0]}_1": NOTATIONS["layers"](SEED).out(0, 0).latex,
    "w_{31}": NOTATIONS["neurons"](SEED).weight(3, 0, 0).latex,
    "out_{d_1}": NOTATIONS["neurons"](SEED).out(3, 0).latex,
    "yhat_1": NOTATIONS["layers"](SEED).out(3, 0).latex,
    "b^{[2]}_1": NOTATIONS["layers"](SEED).bias(2, 0).latex,
    "W^{[2]}_{1,3}": NOTATIONS["layers"](SEED).weight(2, 0, 2).latex,
}


def test_svg_superscript_and_subscript_stack_like_tex():
    assert NAMES["a^{[0]}_1"] == "a^{[0]}_{1}"
    (base, b_size, b_rise, b_italic, _), (sup, s_size, s_rise, _, _), (sub, u_size, u_rise, _, u_dx) = runs_of(NAMES["a^{[0]}_1"])
    assert (base, sup, sub) == ("a", "[0]", "1") and b_italic and b_rise == 0
    assert b_size == 20 and s_size == u_size == 14  # indices at 70 %, as TeX's script style
    assert s_rise > 5 and u_rise < -3  # [0] raised above the baseline, 1 lowered below it
    assert u_dx == pytest.approx(-text_width("[0]", 14.0))  # stepped back under the [0]
    (w, _, _, w_italic, _), (index, size, rise, italic, _) = runs_of(NAMES["W^{[2]}_{1,3}"])[:1] + runs_of(NAMES["W^{[2]}_{1,3}"])[2:]
    assert (w, index, size, w_italic, italic) == ("W", "1,3", 14, True, False) and rise < 0


@pytest.mark.parametrize("name, expected", [
    ("w_{31}", [("w", 20, "base", True), ("31", 14, "below", False)]),
    ("out_{d_1}", [("out", 20, "base", False), ("d", 14, "below", True), ("1", 11.9, "lower", False)]),
    ("yhat_1", [("ŷ", 20, "base", True), ("1", 14, "below", False)]),
    ("b^{[2]}_1", [("b", 20, "base", True), ("[2]", 14, "above", False), ("1", 14, "below", False)]),
])
def test_svg_labels_of_both_notations(name, expected):
    runs = runs_of(NAMES[name])
    assert [(text, size, italic) for text, size, _, italic, _ in runs] == [(t, s, i) for t, s, _, i in expected]
    rises = [rise for _, _, rise, _, _ in runs]
    for rise, (_, _, where, _) in zip(rises, expected):
        assert {"base": rise == 0, "above": rise > 0, "below": rise < 0, "lower": rise < min(rises[:-1])}[where]
    text = "".join(text for text, *_ in runs)
    assert not set(text) & set("₀₁₂₃₄₅₆₇₈₉_^{}\\"), "no Unicode subscripts, no LaTeX left over"


def test_converter_reads_what_it_cannot_typeset_as_text():
    assert [run.text for run in math_runs(r"\delta_{c_1}")] == ["δ", "c", "1"]
    assert "".join(run.text for run in math_runs(r"\input{/etc/passwd}")) == "input/etc/passwd"  # shown, not obeyed
    assert math_runs("") == () and math_runs("}{^_") == () and "".join(r.text for r in math_runs("a}b")) == "ab"


def test_network_svg_labels_have_no_bracket_on_the_baseline():
    """Every label of the 4-3-2-1 drawing in layer notation: [k] always raised, never inline."""
    diagram = notation_diagram((4, 3, 2, 1), "layers", biases=True)
    root = parse(to_svg(diagram))
    labels = groups(root, "label") + groups(root, "neuron")
    assert len(groups(root, "label")) == 4 * 3 + 3 * 2 + 2 + 3 + 2 + 1
    for group in labels:
        (text,) = group.iter(SVG + "text")
        height = 0.0
        for tspan in text:
            height -= float(tspan.get("dy", 0))
            if "[" in tspan.text:
                assert height > 0 and float(tspan.get("font-size")) < float(text.get("font-size"))


# -- label placement and print size (issue 12, item 12) -------------------------------------
def notation_diagram(layers, notation, biases=False, **options):
    """Every neuron and weight named by the notation itself (the handouts' labels)."""
    names = NOTATIONS[notation](layers)
    neurons = tuple(tuple(Label(names.out(k, j).latex, "") for j in range(n)) for k, n in enumerate(layers))
    weights = {
        (k, i, j): Label(names.weight(k, i, j).latex, "")
        for k in range(1, len(layers))
        for i, j in itertools.product(range(layers[k - 1]), range(layers[k]))
    }
    if biases:
        weights.update({(k, BIAS, j): Label(names.bias(k, j).latex, "") for k in range(1, len(layers)) for j in range(layers[k])})
    return Diagram(tuple(layers), neurons, weights, biases=biases, **options)


@pytest.mark.parametrize("layers, notation, biases", [
    ((4, 3, 2, 1), "layers", True), ((2, 4, 3, 2), "layers", False), ((2, 4, 3, 2), "neurons", True),
    ((2, 2, 1), "layers", True), ((2, 2, 1), "columns", True),
])
def test_labels_of_tall_names_do_not_overlap(layers, notation, biases):
    """W^{[1]}_{1,1} is taller than w_{11}: the columns of labels get the room their height needs."""
    test_weight_labels_do_not_overlap_each_other_or_neurons(notation_diagram(layers, notation, biases))


def tikz_print_sizes(tex):
    """Per tikzpicture of a document: the size in pt at which its smallest glyph prints, from the
    picture's font sizes and every \\scalebox or \\resizebox (or TikZ scale) around it."""
    sizes = []
    for match in re.finditer(r"\\begin\{tikzpicture\}(.*?)\\end\{tikzpicture\}", tex, re.DOTALL):
        before = tex[: match.start()]
        scale = 1.0
        for box in re.finditer(r"\\scalebox\{([\d.]+)\}\{", before[-200:]):
            scale *= float(box.group(1))
        assert r"\resizebox" not in before[-200:] and "transform shape" not in match.group(1)
        option = re.search(r"\bscale=([\d.]+)", match.group(1))
        scale *= float(option.group(1)) if option and "transform shape" in match.group(1) else 1.0
        styles = dict(re.findall(r"([a-z ]+)/\.style=\{[^}]*?font=\\fontsize\{([\d.]+)\}", match.group(1)))
        assert {"neuron", "bias node", "weight label"} <= {k.strip() for k in styles}, "every label has an explicit size"
        fonts = {k.strip(): float(v) for k, v in styles.items()}
        # neuron and weight labels carry indices, set at TeX's script size (70 %); a bias node prints "1"
        sizes.append(scale * min(0.7 * fonts["neuron"], 0.7 * fonts["weight label"], fonts["bias node"]))
    return sizes


@pytest.mark.parametrize("spec, options", [("4-3-2-1", {"notation": "layers", "loss": "bce", "bias": True}), ("2-4-3-2", {})])
def test_diagram_labels_print_at_7pt_or_more(spec, options):
    from symbackprop import derive
    from symbackprop.handout.render import render_latex

    tex = render_latex(derive(spec, **options))
    sizes = tikz_print_sizes(tex)
    assert len(sizes) > 1  # the network and the path figures
    assert min(sizes) >= MIN_PRINT_PT == 7.0


def test_tikz_print_sizes_sees_a_scalebox():
    tikz = to_tikz(seed_diagram())
    assert tikz_print_sizes(tikz) == [pytest.approx(7.0)]
    assert tikz_print_sizes(r"\scalebox{0.6}{%" + "\n" + tikz + "}") == [pytest.approx(4.2)]
