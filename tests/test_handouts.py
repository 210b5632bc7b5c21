"""Handouts people read: PDF, diagrams, titles, exercise sheets, large nets, notebooks, the gallery."""

import filecmp
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import require_tex
from reference import central_differences, expanded_loss

from symbackprop import derive
from symbackprop.cli import main
from symbackprop.gallery import GALLERY, build_gallery
from symbackprop.handout.exercise import exercise_context
from symbackprop.handout.pdf import LatexError, build_pdf
from symbackprop.handout.render import render_json, render_markdown, write_outputs

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = r"Weights $ & % # _ { } \ ~ ^ \input{/etc/passwd}"


def run(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err


def dark_pixels(pdf: Path) -> int:
    """Pixels darker than mid-grey on page 1, rendered by pdftoppm as a PGM (trivial to read)."""
    subprocess.run(["pdftoppm", "-gray", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(pdf.with_suffix(""))], check=True)
    (page,) = pdf.parent.glob(pdf.stem + "*.pgm")
    data = page.read_bytes()
    header = data.split(b"\n", 3)  # P5, width height, maxval, pixels
    width, height = map(int, header[1].split())
    pixels = np.frombuffer(header[3][: width * height], dtype=np.uint8)
    return int((pixels < 128).sum())


def test_pdf_is_built_and_page_one_is_not_blank(tmp_path, capsys):
    require_tex()
    code, out, err = run(["derive", "2-3-1", "--format", "pdf,md", "-o", str(tmp_path)], capsys)
    assert code == 0, err
    pdf = tmp_path / "derivation.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert dark_pixels(pdf) > 300
    assert not list(tmp_path.glob("*.aux")) and not list(tmp_path.glob("*.log"))


def test_no_tex_engine_is_exit_2_with_the_install_line(tmp_path):
    environment = dict(os.environ, PATH="/nonexistent")
    result = subprocess.run([sys.executable, "-m", "symbackprop.cli", "derive", "1-1", "--format", "pdf", "-o", str(tmp_path)],
                            capture_output=True, text=True, env=environment)
    assert result.returncode == 2
    assert "apt-get install texlive-latex-base" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_latex_error_is_reported_with_its_first_error_line(tmp_path):
    require_tex()
    broken = tmp_path / "broken.tex"
    broken.write_text("\\documentclass{article}\n\\begin{document}\n\\undefinedmacro\n\\end{document}\n")
    with pytest.raises(LatexError, match=r"Undefined control sequence.*l\.3"):
        build_pdf(broken)


def test_pdfs_are_reproducible(tmp_path):
    require_tex()
    derivation = derive("2-2-1")
    first = write_outputs(derivation, tmp_path / "a", ["pdf"])[0].read_bytes()
    second = write_outputs(derivation, tmp_path / "b", ["pdf"])[0].read_bytes()
    assert first == second


def test_the_network_is_drawn_in_svg_and_tikz(tmp_path):
    derivation = derive("2-4-3-2", only=["w_21", "w_31"])
    write_outputs(derivation, tmp_path, ["md", "tex"])
    md = (tmp_path / "derivation.md").read_text()
    assert "](network.svg)" in md and "](network-w_21.svg)" in md and "](network-w_31.svg)" in md
    svg = ET.parse(tmp_path / "network.svg").getroot()
    assert svg.tag.endswith("svg") and len([e for e in svg.iter() if e.tag.endswith("circle")]) == 11
    highlighted = ET.parse(tmp_path / "network-w_21.svg").getroot()
    classes = [e.get("class") for e in highlighted.iter()]
    assert classes.count("edge weight") == 1  # b_1 -> c_1, the weight itself
    assert classes.count("edge path") == 2  # c_1 -> d_1 and c_1 -> d_2, seed 000's two paths
    assert classes.count("neuron path") == 4  # b_1, c_1, d_1, d_2
    tex = (tmp_path / "derivation.tex").read_text()
    assert tex.count(r"\begin{tikzpicture}") == 3  # the network, then w_31 and w_21 with their paths


def test_titles_are_printed_literally(tmp_path, capsys):
    code, _, err = run(["derive", "1-1", "--format", "md,tex", "--title", HOSTILE, "-o", str(tmp_path)], capsys)
    assert code == 0, err
    md = (tmp_path / "derivation.md").read_text()
    assert md.splitlines()[0] == r"# Weights \$ \& % \# \_ \{ \} \\ \~ ^ \\input\{/etc/passwd\}"
    tex = (tmp_path / "derivation.tex").read_text()
    assert r"\title{Weights \$ \& \% \# \_ \{ \} \textbackslash{} \textasciitilde{} \textasciicircum{} \textbackslash{}input\{/etc/passwd\}}" in tex


def test_unicode_titles_compile(tmp_path, capsys):
    require_tex()
    title = "Rückwärts – δ-Regel: ∂E/∂w ≤ Σ 学"
    code, _, err = run(["derive", "1-1", "--format", "md,pdf", "--title", title, "-o", str(tmp_path)], capsys)
    assert code == 0, err
    assert (tmp_path / "derivation.md").read_text().splitlines()[0] == "# " + title
    text = subprocess.run(["pdftotext", str(tmp_path / "derivation.pdf"), "-"], capture_output=True, text=True).stdout
    assert "Rückwärts – δ-Regel: ∂E/∂w ≤ Σ [U+5B66]" in text


def test_exercise_sheets_are_reproducible_and_answered(tmp_path, capsys):
    for folder in ("a", "b"):
        code, _, err = run(["derive", "2-2-1", "--exercise", "--seed", "5", "--format", "md,tex", "-o", str(tmp_path / folder)], capsys)
        assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["exercise.md", "exercise.tex", "network.svg", "solutions.md", "solutions.tex"]  # network.svg: the drawing exercise.md links
    assert not filecmp.dircmp(tmp_path / "a", tmp_path / "b").diff_files
    run(["derive", "2-2-1", "--exercise", "--seed", "6", "--format", "md", "-o", str(tmp_path / "c")], capsys)
    assert (tmp_path / "c" / "exercise.md").read_text() != (tmp_path / "a" / "exercise.md").read_text()
    exercise, solutions = (tmp_path / "a" / "exercise.md").read_text(), (tmp_path / "a" / "solutions.md").read_text()
    assert r"\boxed{\phantom{0000}}" in exercise and "missing factor was" not in exercise
    assert "missing factor was" in solutions


def test_exercise_answer_key_as_json_for_programs(tmp_path, capsys):
    code, _, err = run(["derive", "2-2-1", "--exercise", "--seed", "2", "--format", "json", "-o", str(tmp_path)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["solutions.json"]
    key = json.loads((tmp_path / "solutions.json").read_text())
    assert key["spec"] == "2-2-1" and key["seed"] == 2
    assert {t["kind"] for t in key["tasks"]} >= {"forward", "chain", "step"}
    derivation = derive("2-2-1")
    values = {s: key["values"][s.name] for s in derivation.model.primary}
    for given in key["given"]:  # the sheet's rounded numbers are the values used
        symbol = next(s for s in values if derivation.model.latex_names[s] == given["name"])
        assert float(given["value"]) == values[symbol]
    data = json.loads(render_json(derivation))
    gradient = central_differences(expanded_loss(data["primary"], data["layers"]), values)
    for task in (t for t in key["tasks"] if t["kind"] == "chain"):
        symbol = next(s for s in derivation.model.parameters if derivation.model.latex_names[s] == task["parameter"])
        assert float(task["value"]) == pytest.approx(gradient(symbol), rel=1e-3)


def test_exercise_answers_match_an_independent_computation():
    derivation = derive("2-2-1")
    sheet = exercise_context(derivation, seed=2)
    data = json.loads(render_json(derivation))
    values = {}
    for given in sheet["given"]:
        symbol = next(s for s in derivation.model.primary if derivation.model.latex_names[s] == given["name"])
        values[symbol] = float(given["value"])
    loss = expanded_loss(data["primary"], data["layers"])
    gradient = central_differences(loss, values)
    for task in (t for t in sheet["tasks"] if t["kind"] == "chain"):
        symbol = next(s for s in derivation.model.parameters if derivation.model.latex_names[s] == task["parameter"])
        assert float(task["value"]) == pytest.approx(gradient(symbol), rel=1e-3)


def test_exercises_are_for_small_networks(capsys, tmp_path):
    code, _, err = run(["derive", "8-8-8", "--exercise", "-o", str(tmp_path)], capsys)
    assert code == 2 and "at most 40 parameters" in err


def test_large_networks_stay_readable():
    derivation = derive("30-12-10", proof="numeric", points=1)
    md = render_markdown(derivation)
    assert r"\cdots" in md and "derivation.json` has every term" in md
    assert md.count("### $w_") == 2  # one representative weight per layer
    assert "The other 119 parameters of this layer follow the same rule" in md
    assert "The other 359 parameters of this layer follow the same rule" in md
    assert md.count(r"$$ \delta_{") == 22  # every delta, in full


def test_notebooks_show_rendered_math():
    derivation = derive("2-2-1", bias=True)
    latex = derivation._repr_latex_()
    assert latex.strip().startswith("$$") and latex.strip().endswith("$$")
    assert r"\frac{\partial E_{\mathrm{total}}}{\partial W^{[1]}} = \left(\mathbf{out}_{a}\right)^{T} \boldsymbol{\delta}_{b}" in latex
    assert derivation._repr_markdown_() == render_markdown(derivation)


def test_the_gallery_regenerates_byte_for_byte(tmp_path):
    require_tex()
    committed = ROOT / "output" / "gallery"
    written = build_gallery(tmp_path)
    assert written
    for path in written:
        relative = path.relative_to(tmp_path)
        assert (committed / relative).exists(), f"{relative} is not in the committed gallery"
        assert path.read_bytes() == (committed / relative).read_bytes(), f"{relative} differs from the committed gallery"
        if path.suffix != ".pdf":
            assert b" object at 0x" not in path.read_bytes(), f"{relative} prints a Python object's repr"
    for entry in GALLERY:
        for pdf in (tmp_path / entry.folder).glob("*.pdf"):
            assert dark_pixels(pdf) > 300


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_cross_entropy_exercises_and_examples_have_targets_that_sum_to_1(seed):
    from symbackprop.numbers.example import worked_example

    derivation = derive("2-2-3", loss="ce")
    given = {g["name"]: float(g["value"]) for g in exercise_context(derivation, seed=seed)["given"]}
    targets = [given[derivation.model.latex_names[t]] for t in derivation.model.targets]
    assert sum(targets) == pytest.approx(1.0, abs=1e-12) and min(targets) >= 0
    example = worked_example("2-2-3", loss="ce", seed=seed)
    assert float(np.sum(example.params["y"])) == pytest.approx(1.0, abs=1e-12)


def test_a_derivation_is_one_line_in_the_repl():
    """repr() names the network, the counts and the checks, and renders nothing, whatever the size."""
    import time

    assert repr(derive("2-4-3-2")) == ("<Derivation 2-4-3-2 sigmoid/mse: 26 weights, 0 biases; 26 proven symbolically, "
                                       "26 checked numerically at 3 points>")
    large = derive("64-16-10", activation="tanh,sigmoid", notation="layers", bias=True, proof="numeric", points=1)
    started = time.perf_counter()
    line = repr(large)
    assert time.perf_counter() - started < 0.5
    assert line == ("<Derivation 64-16-10 tanh,sigmoid/mse, layers notation: 1184 weights, 26 biases; 0 proven symbolically, "
                    "1210 checked numerically at 1 point>")
    selected = derive("2-2-1", only=["w_21"])
    assert repr(selected).startswith("<Derivation 2-2-1 sigmoid/mse: 1 weight, 0 biases (of 6 parameters); 1 proven")
