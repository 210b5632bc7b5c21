"""The network drawn: SVG that parses and escapes, TikZ that compiles, layouts a reader can follow."""

import itertools
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import require_tex

from symbackprop.handout.diagram import (
    BIAS,
    TIKZ_LIBRARIES,
    Diagram,
    Label,
    latex_escape,
    layout,
    shown_neurons,
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
    (sub,) = [t for t in d1.iter(SVG + "tspan") if t.get("baseline-shift") == "sub"]
    assert sub.text == "1" and sub.get("font-size") == "70%"


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
    neurons = ((Label("x", "<b>&amp;"),), (Label("y", 'y"</text><script>alert(1)</script>'),))
    title = "<script>alert('x')</script> & \x00 \"quoted\""
    svg = to_svg(Diagram((1, 1), neurons, {(1, 0, 0): Label("w", "w<1>")}, title=title))
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
            (x, y), w, h = edge.label_at, text_width(edge.label.text, LABEL_FONT), LABEL_FONT * 1.1
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
