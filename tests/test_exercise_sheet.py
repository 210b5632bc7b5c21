"""The exercise sheet says how the network is wired (issue 12, item 2): the drawing with every weight
labelled, the net input of every neuron, and the given values in the order the weights are numbered."""

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import require_tex
from test_diagram import tikz_print_sizes

from symbackprop import derive
from symbackprop.handout.diagram import MIN_PRINT_PT
from symbackprop.handout.exercise import exercise_context
from symbackprop.handout.render import write_exercise

SVG = "{http://www.w3.org/2000/svg}"


def letter_weight(layers, k, i, j):
    """Letter notation's w_{ℓk}, k = 1 + j·n_{ℓ-1} + i, written out here independently."""
    m = 1 + j * layers[k - 1] + i
    return f"w_{{{k}{m}}}" if k <= 9 and m <= 9 else f"w_{{{k},{m}}}"


def pdf_text(pdf):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def test_given_values_follow_the_weight_numbering():
    layers = (2, 4, 3, 2)
    names = [g["name"] for g in exercise_context(derive("2-4-3-2"), seed=1)["given"]]
    weights = [n for n in names if n.startswith("w_")]
    expected = [letter_weight(layers, k, i, j) for k in (1, 2, 3) for m in range(layers[k - 1] * layers[k])
                for j, i in [divmod(m, layers[k - 1])]]
    assert weights == expected and weights[:4] == ["w_{11}", "w_{12}", "w_{13}", "w_{14}"]
    assert weights[8:12] == ["w_{21}", "w_{22}", "w_{23}", "w_{24}"] and "w_{2,12}" in weights
    # layer notation numbers its weights row by row, W_{1,1}, W_{1,2}, ..., each layer's biases after its weights
    names = [g["name"] for g in exercise_context(derive("2-2-1", notation="layers", bias=True), seed=1)["given"]]
    assert names[3:] == ["W^{[1]}_{1,1}", "W^{[1]}_{1,2}", "W^{[1]}_{2,1}", "W^{[1]}_{2,2}", "b^{[1]}_{1}", "b^{[1]}_{2}",
                         "W^{[2]}_{1,1}", "W^{[2]}_{2,1}", "b^{[2]}_{1}"]


def test_every_parameter_says_what_it_connects():
    given = exercise_context(derive("2-2-1", bias=True), seed=0)["given"]
    connects = {g["name"]: g["connects"] for g in given}
    assert connects["w_{13}"] == r"a_1 \to b_2" and connects["w_{12}"] == r"a_2 \to b_1"
    assert connects["w_{22}"] == r"b_2 \to c_1" and connects["b_{c_1}"] == r"1 \to c_1"
    assert connects[r"\mathrm{out}_{a_1}"] is None


@pytest.mark.parametrize("notation, lines", [
    ("neurons", ["netb1 = w11 outa1 + w12 outa2 + bb1", "netb2 = w13 outa1 + w14 outa2 + bb2",
                 "netc1 = w21 outb1 + w22 outb2 + bc1"]),
    ("layers", ["z1 = W1,1 a1 + W2,1 a2 + b1", "z2 = W1,2 a1 + W2,2 a2 + b2", "z1 = W1,1 a1 + W2,1 a2 + b1"]),
])
def test_pdf_sheet_gives_the_net_inputs_in_order(notation, lines, tmp_path):
    require_tex()
    write_exercise(derive("2-2-1", notation=notation, bias=True), tmp_path, ["tex", "pdf"], seed=0)
    text = pdf_text(tmp_path / "exercise.pdf")
    page = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines()]
    found = []
    for line in lines:  # each equation on a line of its own, layer by layer, neuron by neuron
        found.append(page.index(line, found[-1] + 1 if found else 0))
    assert text.index("The network.") < text.index(lines[0].split()[0]) < text.index("Given values")
    if notation == "layers":  # the superscripts, typeset above their baseline: layer of W, then of a
        above = [page[i - 1] for i in found]
        assert above == ["[1] [1] [0] [1] [0] [1]", "[1] [1] [0] [1] [0] [1]", "[2] [2] [1] [2] [1] [2]"]
    assert (tmp_path / "solutions.pdf").exists()


def test_pdf_table_lists_the_given_values_in_weight_order(tmp_path):
    """The table reads down its left column, then down its right one, in the order of the weights."""
    require_tex()
    write_exercise(derive("2-2-1", bias=True), tmp_path, ["tex", "pdf"], seed=0)
    text = pdf_text(tmp_path / "exercise.pdf")
    table = text[text.index("symbol"): text.index("The total error")].splitlines()[1:]
    cells = [re.split(r"\s{2,}", line.strip()) for line in table if line.strip()]
    names = [[cell for cell in row if re.fullmatch(r"(out|target|w|b)[a-z]*\d+", cell)] for row in cells]
    left, right = [row[0] for row in names], [row[1] for row in names if len(row) > 1]
    assert left + right == ["outa1", "outa2", "targetc1", "w11", "w12", "w13", "w14", "bb1", "bb2", "w21", "w22", "bc1"]
    assert "a1 → b2" in [row[1] for row in cells if row[0] == "w13"]


@pytest.mark.parametrize("notation", ["neurons", "layers"])
def test_sheet_draws_the_network_with_every_weight_labelled(notation, tmp_path):
    derivation = derive("2-2-1", notation=notation, bias=True)
    written = write_exercise(derivation, tmp_path, ["md", "tex", "json"], seed=0)
    assert tmp_path / "network.svg" in written
    names = [g["name"] for g in exercise_context(derivation, seed=0)["given"][3:]]  # the 9 parameters
    # Markdown: the drawing is linked and exists beside it; every weight and bias is labelled in it
    for stem in ("exercise", "solutions"):
        md = (tmp_path / f"{stem}.md").read_text()
        assert "](network.svg)" in md and md.index("](network.svg)") < md.index("**Given values**")
        block = md[md.index("$$\\begin{aligned}"): md.index("**Given values**")]
        assert "\n\n" not in block.strip().replace("$$\n\n$$", "$$ $$"), "no blank line inside a display block"
    root = ET.parse(tmp_path / "network.svg").getroot()
    labels = [g for g in root.iter(SVG + "g") if "label" in g.get("class", "").split()]
    assert len(labels) == len(names) == 9
    # TeX: one TikZ label per parameter, the picture before the equations, legible at print size
    tex = (tmp_path / "exercise.tex").read_text()
    assert tex.count(r"\node[weight label") == len(names)
    for name in names:
        assert f"{{${name}$}};" in tex
    assert tex.index(r"\begin{tikzpicture}") < tex.index(r"\begin{align*}") < tex.index(r"\paragraph{Given values")
    assert min(tikz_print_sizes(tex)) >= MIN_PRINT_PT
    assert "figure" not in (tmp_path / "solutions.json").read_text()  # no drawing in the answers for programs


def test_net_inputs_are_written_weight_first():
    network = exercise_context(derive("2-2-1"), seed=0)["network"]
    assert [eq["net"] for layer in network for eq in layer["equations"]] == [
        r"\mathrm{net}_{b_1}", r"\mathrm{net}_{b_2}", r"\mathrm{net}_{c_1}"]
    assert network[0]["equations"][1]["sum"] == r"w_{13}\,\mathrm{out}_{a_1} + w_{14}\,\mathrm{out}_{a_2}"
