"""``symbackprop lint``: every equation of a document checked, and no false alarm on correct work.

The independent truth here is twofold: symbackprop's own handouts in the gallery (each formula in
them proven against ``sympy.diff`` when it was written) must lint clean, and the two source
documents (tests/lint_documents/seed_000.txt and seed_001.md, copies of ../shared/seeds) must be
reported wrong exactly where a derivation by hand shows they are wrong:

* seed 000, eq. (18), line 110: ∂net_{d_1}/∂w_{21} of w_{31} out_{c_1} + w_{3x} out_{c_2} + w_{3x} out_{c_1}
  is (w_{31} + w_{3x}) ∂out_{c_1}/∂w_{21}, not w_{31} ∂out_{c_1}/∂w_{21}: out_{c_1} is written twice, out_{c_3} never.
* seed 001, lines 32, 34, 36, 54, 56, 74: a = g(z) = 1/(1 - e^{-z}) is not the sigmoid 1/(1 + e^{-z}).
* seed 001, line 48: "b^{[1]} has the shape 1×2" (b^{[1]} is 1×3; it means b^{[2]}).
* seed 001, line 110, judged with the document's own g = 1/(1 - e^{-z}):
  d/dz (1 - e^{-z})^{-1} = -(1 - e^{-z})^{-2} e^{-z}, not -1 × (…)^{-2} · (-e^{-z}); and
  1/(1-e^{-z}) · e^{-z}/(1-e^{-z}) is not a(1 - a) (the opposite slip: for their a,
  a(1 - a) = -e^{-z}/(1 - e^{-z})^2).
Corrected copies (those slips fixed, nothing else) report 0 wrong.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

import pytest
from click.testing import CliRunner

from symbackprop.checking.document import read_document
from symbackprop.checking.lint import infer_network, lint_document, rewrite
from symbackprop.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = Path(__file__).resolve().parent / "lint_documents"
GALLERY = sorted(p for p in (ROOT / "output" / "gallery").glob("*/*") if p.suffix in (".md", ".tex"))
SEED_000 = DOCUMENTS / "seed_000.txt"
SEED_001 = DOCUMENTS / "seed_001.md"
SEED_001_OPTIONS = dict(notation="layers", loss="bce", bias=True)


@lru_cache(maxsize=None)
def derivation(spec: str, **options):
    from symbackprop import derive

    return derive(spec, proof="numeric", **options)


def lint_text(text: str, name: str = "doc.md", spec: str | None = None, **options):
    inferred = infer_network(text)
    chosen = {k: v for k, v in inferred.options.items() if k != "spec"}
    chosen.update(options)
    return lint_document(read_document(text, name), derivation(spec or inferred.spec, **chosen))


def wrong_lines(report) -> set[int]:
    return {r.line for r in report.wrong}


# -- the gallery: symbackprop's own handouts lint clean --------------------------------------------
MINIMUM_CHECKED = {"exercise": 5, "solutions": 7, "example": 25, "derivation": 55}  # derivations: matrices too


@pytest.mark.parametrize("path", GALLERY, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_gallery_lints_clean(path):
    report = lint_text(path.read_text(), path.name)
    assert report.wrong == (), [(r.where, r.text, r.reason) for r in report.wrong]
    summary = report.summary
    assert summary["checked"] >= MINIMUM_CHECKED[path.stem], summary
    assert summary["checked"] >= summary["found"] // 4, summary  # a reasonable fraction (exercises have blanks)


def test_gallery_network_is_inferred():
    inferred = infer_network((ROOT / "output/gallery/4-3-2-1-layers-bce-bias/derivation.md").read_text())
    assert inferred.options == {"spec": "4-3-2-1", "notation": "layers", "loss": "bce", "bias": True}


# -- the seeds: their known errors, and nothing else ----------------------------------------------
def test_seed_000_reports_eq_18_only():
    report = lint_text(SEED_000.read_text(), SEED_000.name, spec="2-4-3-2")
    assert wrong_lines(report) == {110}
    (eq18,) = report.wrong
    assert eq18.number == "18" and "out_{c_1} appears twice in the sum and out_{c_3} not at all" in " ".join(eq18.diagnosis)
    assert report.summary["checked"] >= 20


def test_seed_000_corrected_is_clean():
    text = SEED_000.read_text().replace(r"w_{3x} * out_{c_1}}{\partial w_{21}}", r"w_{3x} * out_{c_3}}{\partial w_{21}}")
    report = lint_text(text, SEED_000.name, spec="2-4-3-2")
    assert report.wrong == ()
    eq18 = next(r for r in report.reports if r.number == "18")
    assert eq18.verdict == "right"


def test_seed_001_reports_its_errors_only():
    report = lint_text(SEED_001.read_text(), SEED_001.name, spec="4-3-2-1", **SEED_001_OPTIONS)
    assert wrong_lines(report) == {32, 34, 36, 48, 54, 56, 74, 110}
    sigmoid = next(r for r in report.wrong if r.line == 32)
    assert sigmoid.correction.endswith(r"\frac{1}{1 + e^{- z^{[1]}_{1}}}")
    shape = next(r for r in report.wrong if r.line == 48)
    assert shape.kind == "shape" and "1×3" in shape.reason
    steps = next(r for r in report.wrong if r.line == 110).steps
    assert [s.right for s in steps if s.verdict == "wrong"][0].startswith(r"-1 \times")
    assert report.summary["checked"] >= 85
    # its matrix summaries (g^{[3W]} = (a^{[2]})^T g^{[3z]}, …) are checked entry by entry, and right
    for line in (132, 170, 204, 208, 280, 287):
        matrix = next(r for r in report.reports if r.line == line)
        assert matrix.verdict == "right" and "entry by entry" in matrix.reason, matrix


def test_seed_001_own_activation_judges_its_derivative():
    """Seed 001 defines g(z) = 1/(1 - e^{-z}). Checked by hand against that definition, a = 1/(1 - e^{-z}):
    da/dz = d/dz (1 - e^{-z})^{-1} = -(1 - e^{-z})^{-2} · (+e^{-z}) = -e^{-z}/(1 - e^{-z})^2, and
    1 - a = -e^{-z}/(1 - e^{-z}), so a(1 - a) = -e^{-z}/(1 - e^{-z})^2 = da/dz. So on line 110 the step
    ``-1 × (1 - e^{-z})^{-2} · (-e^{-z})`` has a sign slip (the derivative of 1 - e^{-z} is +e^{-z}) and
    ``1/(1-e^{-z}) · e^{-z}/(1-e^{-z}) = a(1 - a)`` the opposite one; every other step is right, and
    g'_h(z) = da/dz = a(1 - a) (lines 150, 224) is right for their own g (no false alarm)."""
    report = lint_text(SEED_001.read_text(), SEED_001.name, spec="4-3-2-1", **SEED_001_OPTIONS)
    own = "with the document's g_o = 1/(1−e^{−z})"
    chain = next(r for r in report.wrong if r.line == 110 and r.text.startswith("g'_o"))
    assert own in chain.reason
    verdicts = [s.verdict for s in chain.steps]
    assert verdicts == ["right", "right", "right", "wrong", "right", "right", "wrong"], verdicts
    wrong = [s for s in chain.steps if s.verdict == "wrong"]
    assert wrong[0].left.startswith(r"\frac{d}{dz_1^{[3]}} (1 - e^{-z_1^{[3]}})^{-1}")
    assert wrong[0].right.startswith(r"-1 \times") and own in wrong[0].note
    assert wrong[1].right == "a_1^{[3]}(1 - a_1^{[3]})" and own in wrong[1].note
    for line in (150, 224):
        local = next(r for r in report.reports if r.line == line)
        assert local.verdict == "right" and "with the document's g_h = 1/(1−e^{−z})" in local.reason, local
    # the definitions themselves are still reported as not the sigmoid
    assert {32, 34, 36, 54, 56, 74} <= wrong_lines(report)


def test_own_activation_right_derivative_is_right():
    text = (r"$$a_1^{[1]} = g_h(z_1^{[1]}) = \frac{1}{1 - e^{-z_1^{[1]}}}$$" "\n\n"
            r"$$g'_h(z_1^{[1]}) = \frac{da_1^{[1]}}{dz_1^{[1]}} = -\frac{e^{-z_1^{[1]}}}{(1 - e^{-z_1^{[1]}})^2}"
            r" = a_1^{[1]}(1 - a_1^{[1]})$$" "\n\n"
            r"$$\frac{da_1^{[1]}}{dz_1^{[1]}} = \frac{e^{-z_1^{[1]}}}{(1 - e^{-z_1^{[1]}})^2}$$")
    report = lint_text(text, spec="4-3-2-1", **SEED_001_OPTIONS)
    assert wrong_lines(report) == {1, 5}, [(r.line, r.reason) for r in report.reports]
    assert report.reports[1].verdict == "right" and "own definition" in report.reports[1].reason
    assert "own definition" in report.reports[2].reason


def test_seed_001_corrected_is_clean():
    text = SEED_001.read_text().replace("1 - e^{-z", "1 + e^{-z").replace(
        "$b^{[1]}$ has the shape 1×2", "$b^{[2]}$ has the shape 1×2")
    report = lint_text(text, SEED_001.name, spec="4-3-2-1", **SEED_001_OPTIONS)
    assert report.wrong == (), [(r.where, r.reason) for r in report.wrong]


# -- hand-written documents in the styles people use ------------------------------------------------
@pytest.mark.parametrize("name, spec, options, checked", [
    ("letter_star.md", None, {}, 10),
    ("seed_style.txt", None, {}, 7),
    ("layers_rows.md", None, {}, 12),
    ("columns_bp.tex", None, {}, 13),
    ("walkthrough.md", "2-2-2", {"shared_bias": True}, 3),
], ids=lambda v: v if isinstance(v, str) else None)
def test_correct_documents_report_nothing_wrong(name, spec, options, checked):
    path = DOCUMENTS / name
    report = lint_text(path.read_text(), name, spec=spec, **options)
    assert report.wrong == (), [(r.where, r.text, r.reason) for r in report.wrong]
    assert report.summary["checked"] >= checked, report.summary


def test_the_walk_through_in_its_own_names_with_its_givens():
    """The classic walk-through (w_5, out_{o1}, i_1, b_1) with the values it starts from: its names are
    the 2-2-2 network's (w_5 is w_{21}), so ∂E_total/∂w_5 is a gradient, never the derivative by a
    given number (0, as lint once said of every right line); exactly the three lines wrong on purpose
    are wrong, each with its diagnosis."""
    path = DOCUMENTS / "walkthrough_givens.md"
    report = lint_text(path.read_text(), path.name, spec="2-2-2", shared_bias=True)
    lines = path.read_text().splitlines()
    wrong = {r.line: r for r in report.wrong}
    assert set(wrong) == {39, 45, 57}, [(r.line, r.text) for r in report.wrong]
    assert all("on purpose" in lines[n - 3] for n in wrong)
    assert any("written for" in d for d in wrong[39].diagnosis), wrong[39].diagnosis  # σ for σ'
    # in the document's own names (w_5 is the handout's w_{21}, o_2 its c_2)
    assert any("w_{6} instead of w_{5}" in d for d in wrong[57].diagnosis), wrong[57].diagnosis
    assert any("the term through o_2 is missing" in d for d in wrong[57].diagnosis), wrong[57].diagnosis
    right = {r.line for r in report.reports if r.verdict == "right"}
    assert {29, 31, 33, 35, 51, 53, 59, 61} <= right, sorted(right)
    assert "one bias per layer" in report.network


def test_nielsens_equations_for_every_index_are_checked_for_each_value():
    """δ^L_j = ∂C/∂a^L_j σ'(z^L_j), ∂C/∂W^{[2]}_{jk} = a^{[1]}_k δ^{[2]}_j, a \\sum_k with a free j: each
    checked for every j, k the network's names have; a wrong one names the values where it is wrong."""
    path = DOCUMENTS / "nielsen_indices.md"
    report = lint_text(path.read_text(), path.name)
    lines = path.read_text().splitlines()
    wrong = {r.line: r for r in report.wrong}
    assert set(wrong) == {11, 17} and all("on purpose" in lines[n - 3] for n in wrong)
    assert wrong[11].reason == "for j = 1, k = 2" and wrong[17].reason == "for j = 1"
    assert wrong[17].steps[0].left == r"\delta^{[1]}_{1}"
    right = {r.line: r.reason for r in report.reports if r.verdict == "right"}
    assert right == {3: "proven for every value of j the network's names have (2 of them)",
                     5: "proven for every value of j the network's names have (2 of them)",
                     7: "proven for every value of j, k the network's names have (6 of them)",
                     13: "proven for every value of j the network's names have (3 of them)"}


def test_nielsens_equations_for_every_layer_are_checked_for_each_layer():
    """δ^l = ((W^{l+1})^T δ^{l+1}) ⊙ σ'(z^l) and BP3, BP4 for every l (in brackets, so Nielsen's numbering of
    the layers and the bracket one give the same equations), skipping the layers a name does not exist for."""
    path = DOCUMENTS / "nielsen_layers.md"
    report = lint_text(path.read_text(), path.name)
    assert "2-3-2-2" in report.network
    lines = path.read_text().splitlines()
    wrong = {r.line: r for r in report.wrong}
    assert set(wrong) == {11, 15} and all("on purpose" in lines[n - 3] for n in wrong)
    assert wrong[11].reason == "for j = 1, k = 1, l = 1"
    assert wrong[15].reason.startswith("for l = 1: the shapes do not fit")
    assert wrong[15].diagnosis[0].startswith("W^{[2]} (a 2×3 matrix) needs its transpose here")
    right = {r.line: r.reason for r in report.reports if r.verdict == "right"}
    assert right == {3: "proven for every value of l the network's names have (2 of them)",
                     5: "proven for every value of j, l the network's names have (7 of them)",
                     7: "proven for every value of j, k, l the network's names have (16 of them)"}


def test_a_wrong_instance_of_nielsens_bare_l_is_said_in_his_numbering():
    """Nielsen's bare l counts the input as layer 1; the wrong instance is said his way, with the layer the
    bracketed names of the correction use (his l = 2 is W^{[1]}); Ng's bracketed l is said as it stands."""
    text = "\n\n".join([r"$$\frac{\partial C}{\partial w^l_{jk}} = a^{l}_k \delta^l_j$$",
                         r"$$\delta^l = ((w^{l+1}) \delta^{l+1}) \odot \sigma'(z^l)$$",
                         r"$$\delta^{[l]} = (W^{[l+1]} \delta^{[l+1]}) \odot \sigma'(z^{[l]})$$"])
    report = lint_text(text, spec="2-3-2", notation="columns", bias=True)
    said = "in Nielsen's numbering (the input is layer 1; l = 1 in the bracketed names below)"
    assert [r.verdict for r in report.reports] == ["wrong"] * 3
    assert report.reports[0].reason == f"for j = 1, k = 1, l = 2 {said}"
    assert report.reports[0].correction.startswith(r"\frac{\partial C}{\partial w^{[1]}_{1,1}}")
    assert report.reports[1].reason.startswith(f"for l = 2 {said}: the shapes do not fit")
    assert report.reports[2].reason.startswith("for l = 1: the shapes do not fit")


def test_a_batch_whose_matrices_would_be_square_is_checked_for_another_m_and_one_samples_names_refused():
    text = "\n\n".join([
        "A 2-3-1 network with sigmoid units, biases and the binary cross-entropy, in column notation.",
        "A batch of $m = 3$ samples.",
        r"$$dZ^{[1]} = W^{[2]T} dZ^{[2]} * A^{[1]} (1 - A^{[1]})$$",  # right; at m = 3, A^{[1]} would be square
        r"$$dW^{[2]} = \frac{1}{m} dz^{[2]} a^{[1]T}$$",  # one sample's names in a batch's equation
        r"$$\frac{\partial E_{total}}{\partial w_{jk}} = \delta_{c_j} out_{b_k}$$"])
    report = lint_text(text)
    by_line = {r.line: r for r in report.reports}
    assert by_line[5].verdict == "right" and by_line[5].reason.endswith("for a batch of 4 samples")
    assert by_line[7].verdict == "not checked" and "are one sample's, not the batch's" in by_line[7].reason
    assert report.wrong == ()


def test_ng_one_sample_and_mini_batch_equations_are_checked():
    """Ng's one-sample dW^{[2]} = dz^{[2]} a^{[1]T} and his batch's \\frac{1}{m} dZ^{[2]} A^{[1]T} (a batch of as
    many samples as no layer has neurons, each its own inputs and targets): every line checked, the two
    wrong on purpose wrong with what is wrong, the batch's verdicts saying the batch they were proven for."""
    path = DOCUMENTS / "ng_one_sample_and_batch.md"
    report = lint_text(path.read_text(), path.name)
    assert "2-3-1" in report.network and "columns" in report.network
    lines = path.read_text().splitlines()
    wrong = {r.line: r for r in report.wrong}
    assert set(wrong) == {21, 37} and all("on purpose" in lines[n - 3] for n in wrong)
    assert wrong[21].diagnosis == (r"x (a 2×1 column vector) needs its transpose here: with it transposed, the side "
                                   r"equals dW^{[1]}",)
    assert "the right side is m times the left: a 1/m is missing on the right" in wrong[37].reason
    assert report.summary == {"found": 14, "checked": 14, "right": 12, "wrong": 2, "not checked": 0}
    batch = [r for r in report.reports if r.line > 23 and r.verdict == "right"]
    assert len(batch) == 6 and all(r.reason.endswith("for a batch of 4 samples") for r in batch)


# -- vector and matrix equations, entry by entry --------------------------------------------------
COLUMNS_HANDOUT = ROOT / "output/gallery/2-3-2-columns-bce-batch/derivation.md"
COLUMNS_BP = DOCUMENTS / "columns_bp.tex"


@pytest.mark.parametrize("suffix, lines", [(".md", (82, 83, 84, 85, 86, 163, 164, 165, 166, 167)),
                                           (".tex", (172, 173, 174, 175, 176, 291, 292, 293, 294, 295))])
def test_column_handout_bp_equations_are_checked(suffix, lines):
    path = COLUMNS_HANDOUT.with_suffix(suffix)
    report = lint_text(path.read_text(), path.name)
    assert report.wrong == ()
    for line in lines:
        found = next(r for r in report.reports if r.line == line)
        assert found.verdict == "right" and "entry by entry" in found.reason, found
    # the mini-batch's six equations, proven for a batch of 4: the handout's own m = 2 would make its output
    # layer's batch matrices square (2×2), where A^{[2]}(1 - A^{[2]}) is a matrix product
    batch = [r for r in report.reports if "for a batch of" in r.reason]
    assert len(batch) == 6 and all(r.verdict == "right" and r.reason.endswith("for a batch of 4 samples") for r in batch)
    assert report.summary["checked"] >= 63, report.summary


@pytest.mark.parametrize("old, new, why", [
    (r"\left(\left(W^{[2]}\right)^{T} \delta^{[2]}\right) \odot",  r"\left(W^{[2]} \delta^{[2]}\right) \odot",
     "cannot multiply a 2×3 matrix by a 2×1 column vector"),
    (r"\partial b^{[1]}} &= \delta^{[1]}", r"\partial b^{[1]}} &= \left(\delta^{[1]}\right)^{T}",
     "the left side is a 3×1 column vector, the right side a 1×3 row vector"),
    (r"\odot \sigma'\left(z^{[2]}\right) = \hat{y} - y", r"\odot \sigma'\left(z^{[2]}\right) = y - \hat{y}",
     "entry (1, 1) differs"),
    (r"\hat{y}_2 - y_2 \end{bmatrix}", r"y_2 - \hat{y}_2 \end{bmatrix}", "entry (2, 1) differs"),
    (r"\delta^{[2]}_2 a^{[1]}_3 \end{bmatrix}", r"\delta^{[2]}_2 a^{[1]}_2 \end{bmatrix}", "entry (2, 3) differs"),
], ids=["missing-transpose", "row-for-column", "sign", "written-vector", "written-matrix"])
def test_matrix_errors_are_found(old, new, why):
    text = COLUMNS_BP.read_text()
    assert old in text
    report = lint_text(text.replace(old, new), COLUMNS_BP.name)
    (wrong,) = report.wrong
    assert why in wrong.reason, wrong.reason
    assert wrong.line == next(i for i, line in enumerate(text.splitlines(), 1) if old.split("\n")[0] in line)


LAYERS_HANDOUT = ROOT / "output/gallery/4-3-2-1-layers-bce-bias/derivation.md"


def test_layer_handout_matrix_summaries_are_checked():
    report = lint_text(LAYERS_HANDOUT.read_text(), LAYERS_HANDOUT.name)
    assert report.wrong == ()
    for line in (76, 77, 78, 79, 80, 150, 151, 152, 153, 154, 231, 232, 233, 234, 235):
        found = next(r for r in report.reports if r.line == line)
        assert found.verdict == "right" and "entry by entry" in found.reason, found
    assert report.summary["checked"] >= 86, report.summary


@pytest.mark.parametrize("old, new, why", [
    (r"g^{[3W]} &= \left(a^{[2]}\right)^{T} g^{[3z]}", r"g^{[3W]} &= g^{[3z]} a^{[2]}",
     "the left side is a 2×1 column vector, the right side a 1×2 row vector"),
    (r"g^{[2a]} &= g^{[3z]} \left(W^{[3]}\right)^{T}", r"g^{[2a]} &= g^{[3z]} W^{[3]}",
     "the left side is a 1×2 row vector, the right side a 2×1 column vector"),
    (r"g^{[1W]} &= \left(a^{[0]}\right)^{T} g^{[1z]}", r"g^{[1W]} &= \left(a^{[0]}\right)^{T} g^{[1a]}", "differs"),
])
def test_layer_matrix_errors_are_found(old, new, why):
    text = LAYERS_HANDOUT.read_text()
    assert old in text
    report = lint_text(text.replace(old, new), LAYERS_HANDOUT.name)
    (wrong,) = report.wrong
    assert why in wrong.reason and wrong.line == next(i for i, line in enumerate(text.splitlines(), 1) if old in line)


def test_matrix_written_inside_a_formula_is_not_guessed():
    text = r"$$\delta^{[2]} = \begin{bmatrix} \hat{y}_1 \\ \hat{y}_2 \end{bmatrix} - y$$ in column notation"
    report = lint_text(text, spec="2-3-2", notation="columns", loss="bce", bias=True)
    assert report.wrong == ()
    assert report.reports[0].verdict == "not checked"


def test_a_missing_transpose_is_named_only_where_the_transpose_makes_the_side_right():
    right = r"$$\frac{\partial L}{\partial W^{[1]}} = \left(W^{[2]} \delta^{[2]} \odot \sigma'(z^{[1]})\right) x^T$$"
    also_wrong = right.replace(r"\sigma'", r"\sigma")  # σ for σ' as well: no claim about the transpose
    report = lint_text(right + "\n\n" + also_wrong, spec="2-3-2", notation="columns")
    first, second = report.reports
    assert first.verdict == second.verdict == "wrong"
    assert "the shapes do not fit" in first.reason and "cannot multiply a 2×3 matrix" in first.reason
    assert first.diagnosis == (r"W^{[2]} (a 2×3 matrix) needs its transpose here: with it transposed, the side equals "
                               r"\frac{\partial L}{\partial W^{[1]}}",)
    assert second.diagnosis == ()


def test_a_wrong_delta_is_corrected_by_its_recursion_never_by_itself():
    text = "\n\n".join(["A 2-2-2 network.",
                         r"$$\delta_{b_1} = (\delta_{c_1} w_{21} + \delta_{c_2} w_{21}) out_{b_1}(1 - out_{b_1})$$",
                         r"$$\delta_{c_1} = (out_{c_1} - target_{c_1}) out_{c_1}$$"])
    hidden, output = lint_text(text, spec="2-2-2").reports
    assert hidden.verdict == output.verdict == "wrong"
    assert hidden.correction == (r"\delta_{b_1} = \left(\delta_{c_1} \cdot w_{21} + \delta_{c_2} \cdot w_{23}\right) "
                                 r"\cdot \mathrm{out}_{b_1} \left(1 - \mathrm{out}_{b_1}\right)")
    assert output.correction == (r"\delta_{c_1} = \left(\mathrm{out}_{c_1} - \mathrm{target}_{c_1}\right) \cdot "
                                 r"\mathrm{out}_{c_1} \left(1 - \mathrm{out}_{c_1}\right)")


def test_a_wrong_number_is_found():
    text = (DOCUMENTS / "walkthrough.md").read_text().replace("= 0.593269992$$", "= 0.598269992$$")
    report = lint_text(text, spec="2-2-2", shared_bias=True)
    assert wrong_lines(report) == {7}
    assert "rounding of the numbers written" in report.wrong[0].reason
    assert report.wrong[0].correction == r"\frac{1}{1 + e^{-0.3775}} = 0.593269992"  # to the 9 digits written


def test_planted_errors_are_diagnosed():
    text = "\n".join([
        "A 2-4-3-2 network.",
        r"$$\frac{\partial E_{total}}{\partial w_{31}} = (out_{d_1} - target_{d_1}) out_{d_1} (1 - out_{d_1}) out_{c_2}$$",
        r"$$\frac{\partial E_{total}}{\partial w_{31}} = (target_{d_1} - out_{d_1}) out_{d_1} (1 - out_{d_1}) out_{c_1}$$",
        r"$$\frac{\partial out_{d_1}}{\partial net_{d_1}} = out_{d_1}(1 + out_{d_1})$$",
        r"$$net_{d_1} = w_{31} out_{c_1} + w_{32} out_{c_2} + w_{34} out_{c_3}$$",
    ])
    report = lint_text(text)
    assert wrong_lines(report) == {2, 3, 4, 5}
    by_line = {r.line: r for r in report.wrong}
    assert any("w_{32}" in d or "wrong factor" in d for d in by_line[2].diagnosis)  # verify's diagnosis
    assert any("sign" in d for d in by_line[3].diagnosis)
    assert by_line[4].correction  # the corrected equation in the document's notation
    assert by_line[5].correction == (r"net_{d_1} = \mathrm{out}_{c_1} w_{31} + \mathrm{out}_{c_2} w_{32} "
                                     r"+ \mathrm{out}_{c_3} w_{33}")


def test_unreadable_formulas_are_not_checked_never_wrong():
    text = "\n".join([
        "A 2-4-3-2 network.",
        r"$$out_{d_1} = \input{/etc/passwd}$$",
        r"$$out_{d_1} = 10^{10^{10}}$$",
        "$$out_{d_1} = " + "{" * 10000 + "x" + "}" * 10000 + "$$",
        r"$$E_{total} = \mathrm{foo}(out_{d_1}) = \bar{q}$$",
        r"$$\frac{\partial E_{total}}{\partial w_{31}} = \delta_{d_1} \cdot out_{c_1}$$",
    ])
    started = time.perf_counter()
    report = lint_text(text)
    assert time.perf_counter() - started < 30
    assert report.wrong == ()
    assert [r.verdict for r in report.reports][-1] == "right"  # the rest goes on


# -- reading documents --------------------------------------------------------------------------------
def test_equation_numbers_lines_and_rows():
    text = "\n".join([
        r"Prose with $x$ and $a = b$ inline.",  # 1
        r"\begin{align}",  # 2
        r"E &= \frac{1}{2} \\",  # 3
        r"  &= 0.5 \tag{7}",  # 4
        r"\end{align}",  # 5
        r"$$net = 1$$",  # 6
        " (12)",  # 7
        r"\[ p = 1, \qquad q = 2 \]",  # 8
    ])
    doc = read_document(text, "x.tex")
    assert [(e.line, e.number, e.text) for e in doc.equations] == [
        (1, None, "a = b"), (3, "7", r"E = \frac{1}{2} = 0.5"), (6, "12", "net = 1"), (8, None, "p = 1"), (8, None, "q = 2")]


def test_rewrites_reach_the_grammar():
    assert rewrite(r"sig(net_{d_1})") == r"\sigma(net_{d_1})"
    model = derivation("4-3-2-1", **SEED_001_OPTIONS).model
    assert rewrite(r"\mathcal{L}(\hat{y}, y) = a_1^{[3]}", model) == r"\mathcal{L} = \hat{y}_{1}"


@pytest.mark.parametrize("text", [
    r"$\delta^L_j = \frac{\partial C}{\partial a^L_j} \sigma'(z^L_j)$ and $\frac{\partial C}{\partial b^l_j} = \delta^l_j$",
    r"$\frac{\partial C}{\partial w^3_{12}} = a^2_2 \delta^3_1$, $\frac{\partial C}{\partial b^{3}_1} = \delta^3_1$",
    r"$\delta^{l}_j = \sum_k w^{l+1}_{kj} \delta^{l+1}_k \sigma'(z^l_j)$ for $b^{l}_j$",
])
def test_nielsens_names_show_column_notation_and_biases(text):
    assert infer_network(text).options == {"notation": "columns", "bias": True}


def test_nielsens_generic_equations_are_checked_without_options():
    text = (r"$\delta^L_j = \frac{\partial C}{\partial a^L_j} \sigma'(z^L_j)$" "\n\n"
            r"$\delta^l_j = \sum_k w^{l+1}_{kj} \delta^{l+1}_k \sigma'(z^l_j)$" "\n\n"
            r"$\frac{\partial C}{\partial b^l_j} = \delta^l_j$ and $\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_j \delta^l_k$")
    report = lint_text(text, spec="2-3-2")
    assert [r.verdict for r in report.reports] == ["right", "right", "right", "wrong"], report.reports


def test_letter_notation_equations_for_every_neuron_of_a_layer():
    """An index in a neuron's label (out_{c_j}) stands for each neuron of that layer; an index
    anywhere else in letter notation (w_{jk}, whose first subscript is a layer there) is not read."""
    lines = [
        r"$\frac{\partial E_{total}}{\partial out_{c_j}} = out_{c_j} - target_{c_j}$",
        r"$\frac{\partial out_{b_j}}{\partial net_{b_j}} = out_{b_j}(1 - out_{b_j})$",
        r"$\delta_{c_j} = (out_{c_j} - target_{c_j}) out_{c_j} (1 - out_{c_j})$",
        r"$\delta_{c_j} = (out_{c_j} - target_{c_j}) out_{c_j}$",
        r"$\frac{\partial E_{total}}{\partial out_{c_j}} = target_{c_j} - out_{c_j}$",
        r"$\frac{\partial E_{total}}{\partial w_{jk}} = \delta_{c_j} out_{b_k}$",
    ]
    report = lint_text("\n\n".join(lines), spec="2-3-2")
    assert [r.verdict for r in report.reports] == ["right", "right", "right", "wrong", "wrong", "not checked"]
    assert report.reports[1].reason == "proven for every value of j the network's names have (3 of them)"
    assert report.reports[2].reason.endswith("(2 of them)")  # layer c has two neurons
    assert report.reports[3].reason.startswith("for j = 1")


def test_ngs_equations_for_every_layer_over_a_batch():
    """Ng's dZ^{[l]} = dA^{[l]} * g^{[l]'}(Z^{[l]}), dW^{[l]} = 1/m dZ^{[l]} A^{[l-1]T}, dA^{[l-1]} = W^{[l]T} dZ^{[l]}:
    dA^{[l]} is the batch's too (each sample's ∂L/∂a^{[l]}), so none is taken for one sample's
    vector and called wrong for a shape it does not have (it was, for l = 1)."""
    lines = [
        r"$$dZ^{[l]} = dA^{[l]} * g^{[l]\prime}(Z^{[l]})$$",
        r"$$dW^{[l]} = \frac{1}{m} dZ^{[l]} A^{[l-1]T}$$",
        r"$$dA^{[l-1]} = W^{[l]T} dZ^{[l]}$$",
        r"$$dZ^{[1]} = dA^{[1]} * g^{[1]\prime}(Z^{[1]})$$",
        r"$$dW^{[l]} = dZ^{[l]} A^{[l-1]T}$$",
        r"$$dA^{[1]} = W^{[2]} dZ^{[2]}$$",
        r"$$dZ^{[l]} = dA^{[l]} * Z^{[l]}$$",
    ]
    report = lint_text("\n\n".join(lines), spec="2-3-2", notation="columns", loss="bce")
    assert [r.verdict for r in report.reports] == ["right"] * 4 + ["wrong"] * 3, report.reports
    assert all(r.reason.startswith("proven") for r in report.reports[:4])
    assert "a 1/m is missing" in report.reports[4].reason
    assert "needs its transpose" in " ".join(report.reports[5].diagnosis)


def test_ngs_bias_gradients_summed_over_the_samples():
    """Ng's db^{[l]} = 1/m np.sum(dZ^{[l]}, axis=1, keepdims=True) and = 1/m Σ_{i=1}^m dz^{[l](i)} are checked;
    the sum over another axis is not read (never guessed)."""
    lines = [
        r"$$db^{[l]} = \frac{1}{m} np.sum(dZ^{[l]}, axis=1, keepdims=True)$$",
        r"$$db^{[2]} = \frac{1}{m} \sum_{i=1}^{m} dZ^{[2](i)}$$",
        r"$$db^{[l]} = \frac{1}{m} \sum_{i=1}^{m} dz^{[l](i)}$$",
        r"$$db^{[l]} = np.sum(dZ^{[l]}, axis=1, keepdims=True)$$",
        r"$$db^{[2]} = \frac{1}{m} np.sum(dZ^{[2]}, axis=0, keepdims=True)$$",
    ]
    report = lint_text("\n\n".join(lines), spec="2-3-2", notation="columns", loss="bce", bias=True)
    assert [r.verdict for r in report.reports] == ["right"] * 3 + ["wrong", "not checked"], report.reports
    assert "a 1/m is missing" in report.reports[3].reason
    assert "axis=1, keepdims=True) here" in report.reports[4].reason


def test_ngs_generic_bias_shows_layer_notation_and_biases():
    assert infer_network(r"$db^{[l]} = dz^{[l]}$ and $dW^{[l]} = dz^{[l]} a^{[l-1]T}$").options == {
        "notation": "layers", "bias": True}


def test_spec_inferred_from_names():
    text = r"$out_{a_2}$, $net_{b_3}$, $out_{c_1} = 1$ and $target_{c_2}$"
    assert infer_network(text).options["spec"] == "2-3-2"


# -- the command ------------------------------------------------------------------------------------
def run(*args):
    return CliRunner().invoke(cli, ["lint", *map(str, args)])


def test_cli_wrong_gradient_exit_1_with_line():
    result = run(DOCUMENTS / "wrong_gradient.md")
    assert result.exit_code == 1, result.output
    assert "assuming 2-4-3-2, sigmoid, squared error; say --spec to change" in result.output
    assert "line 9: WRONG" in result.output and "the term through d_2 is missing" in result.output
    assert "wrong step:" not in result.output  # a one-step equation is its own step: printed once
    assert result.output.strip().endswith("2 equations found, 2 checked: 1 right, 1 wrong; 0 not checked")


def test_cli_json_parses_back():
    result = run(DOCUMENTS / "wrong_gradient.md", "--format", "json", "--spec", "2-4-3-2")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["summary"] == {"found": 2, "checked": 2, "right": 1, "wrong": 1, "not checked": 0}
    wrong = [e for e in data["equations"] if e["verdict"] == "wrong"]
    assert [e["line"] for e in wrong] == [9] and wrong[0]["correction"].startswith(r"\frac{\partial E_{total}}")


def test_cli_markdown_quotes_wrong_beside_correct():
    result = run(DOCUMENTS / "wrong_gradient.md", "--format", "md")
    assert result.exit_code == 1
    row = next(line for line in result.output.splitlines() if line.startswith("| line 9"))
    cells = row.split(" | ")
    assert r"w_{31} \, out_{c_1}" in cells[1] and r"w_{34}" in cells[2]


def test_cli_clean_document_exit_0():
    result = run(DOCUMENTS / "letter_star.md", "--wrong-only")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("10 equations found, 10 checked: 10 right, 0 wrong; 0 not checked")


@pytest.mark.parametrize("args, message", [
    (["no-such-file.md"], "cannot read 'no-such-file.md': No such file or directory"),
    ([DOCUMENTS], "a directory"),
    (["/dev/null"], "not a regular file"),
    ([DOCUMENTS / "walkthrough.md"], "cannot tell the network"),
    ([DOCUMENTS / "letter_star.md", "--spec", "2-0-3"], "every layer needs at least one neuron"),
    ([DOCUMENTS / "letter_star.md", "--format", "xml"], "xml"),
])
def test_cli_usage_errors_exit_2(args, message, tmp_path):
    probe = subprocess.run([sys.executable, "-c", "import sys; from symbackprop.cli import main; main(sys.argv[1:])",
                            "lint", *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert probe.returncode == 2, probe.stderr
    assert message in probe.stderr and "Traceback" not in probe.stderr
    assert len(probe.stderr.strip().splitlines()) == 1


def test_cli_binary_file_exit_2(tmp_path):
    path = tmp_path / "binary.md"
    path.write_bytes(b"\xff\xfe\x00$x = 1$")
    result = run(path)
    assert result.exit_code == 2


def test_help_imports_nothing_heavy():
    code = ("import sys; from symbackprop.cli import main\n"
            "try:\n    main(['lint', '--help'])\nexcept SystemExit: pass\n"
            "print([m for m in ('sympy', 'numpy', 'jinja2') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120).stdout
    assert out.strip().splitlines()[-1] == "[]"


# -- fuzzing: no document makes lint raise --------------------------------------------------------------
def test_fuzzed_documents_never_raise():
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    pieces = st.sampled_from(["$", "$$", "=", r"\frac{", "}", "{", r"\partial", "out_{b_1}", "w_{11}", "0.5", "\\\\",
                              r"\begin{aligned}", r"\end{aligned}", "&", "(3)", r"\tag{2}", "\n", " ", "x", r"\quad",
                              "has the shape 1×2", "W^{[1]}", "|", r"\leftarrow", "w_{1x}", "sig(", ")", "'"])
    d = derivation("2-2-1")

    @hypothesis.settings(max_examples=40, deadline=None, database=None)
    @hypothesis.given(st.lists(pieces, max_size=40).map("".join))
    def check(text):
        report = lint_document(read_document(text, "fuzz.md"), d)
        assert report.summary["found"] == len(report.reports)

    check()


@pytest.mark.parametrize("spec, seed, options", [
    ("2-4-3-2", 12, {}), ("2-4-3-2", 13, {}), ("2-4-3-2", 20, {}), ("2-3-2", 12, {"activation": "tanh"}),
    ("3-4-3", 16, {"loss": "ce", "activation": "sigmoid,softmax"}),
])
def test_a_worked_examples_value_that_ends_in_zeros_keeps_them(spec, seed, options):
    """out_{d_1}(1 - out_{d_1}) = 0.24996 is printed 0.2500, not 0.25: a number of two digits inside
    a computation is a value given exactly (a weight 0.4, the rate 0.5), so lint read 0.25 as
    exact and called (-0.2744) · 0.25 = -0.06858 wrong, where every digit is right."""
    from symbackprop.numbers.example import render_example, worked_example

    text = render_example(worked_example(spec, seed=seed, **options), "md")
    report = lint_document(read_document(text, "example.md"), derivation(spec, **options))
    assert [(e.line, e.text[-80:]) for e in report.reports if e.verdict == "wrong"] == []
    assert report.summary["right"] > 40


@pytest.mark.parametrize("seed", [0, 1, 4, 7])
def test_worked_examples_of_a_wider_network_lint_clean(seed):
    """A worked example prints hundreds of rounded numbers: every one must be the value rounded in
    decimal (SymPy's Float(v, 4) printed 0.719851713 as 0.7198), and a line whose terms cancel,
    (0.003016·(−0.4622) − 0.005256·0.3144 + …)·0.1914 = −3.725·10^{-7}, is right within what the
    rounding of its numbers can do, not within their relative error times the small result. Seed 0
    ends a line (−0.5535)·0.2169 = −0.12: a negative result alone on its side is rounded too."""
    from symbackprop.numbers.example import render_example, worked_example

    text = render_example(worked_example("3-6-5-3", seed=seed), "md")
    report = lint_document(read_document(text, "example.md"), derivation("3-6-5-3"))
    wrong = [(e.line, e.text[:120], e.reason) for e in report.reports if e.verdict == "wrong"]
    assert wrong == [] and report.summary["right"] > 150
