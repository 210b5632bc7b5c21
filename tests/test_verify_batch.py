"""`verify --batch M`: Ng's mini-batch formulas (dW^{[2]} = \\frac{1}{m} dZ^{[2]} A^{[1]T}) judged against
the gradient of the batch's mean loss; the 1/m dropped is named, one sample's names are refused."""

import re

import numpy as np
import pytest
import sympy
from click.testing import CliRunner

from symbackprop import derive
from symbackprop.algebra.grammar import FormulaError
from symbackprop.checking.batch import BatchWorkspace, check_batch_gradient
from symbackprop.cli import cli
from symbackprop.network.spec import NetworkSpec

NG_DW2 = r"\frac{1}{m} dZ^{[2]} A^{[1]T}"


def batch_derivation(spec_text: str, size: int, **options):
    spec = NetworkSpec.parse(spec_text, batch=size, **options)
    return derive(spec, proof="gradients")


def invoke(*argv):
    return CliRunner().invoke(cli, ["verify", *argv])


@pytest.mark.parametrize("notation", ["columns", "layers"])
@pytest.mark.parametrize("loss", ["mse", "bce", "ce"])
def test_the_handouts_own_batch_formulas_are_proven_right(notation, loss):
    """Every layer's dW and db as the handout prints them (derivation.batch), typed back: right, exactly."""
    d = batch_derivation("2-3-2", 2, notation=notation, loss=loss, bias=True)
    ws, model = BatchWorkspace(d), d.model
    for k in (1, 2):
        for first in (model.weights[k][0][0], model.biases[k][0]):
            formula = ws.matrix_latex(sympy.ImmutableMatrix([[first]]))
            assert r"\frac{1}{m}" in formula
            layer = re.sub(r"_\{[^{}]*\}$", "", model.latex_names[first])
            verdict = check_batch_gradient(d, layer, formula)
            assert verdict.correct is True and verdict.method == "symbolic", (layer, formula)


def test_ng_spellings_right_and_the_dropped_mean_named():
    d = batch_derivation("2-3-1", 3, notation="columns", loss="bce", bias=True)
    for formula in (NG_DW2, r"\frac{1}{m} (\hat{Y} - Y) (A^{[1]})^T", r"\frac{1}{m} dZ^{[2]} A^{[1]\top}"):
        assert check_batch_gradient(d, "dW^{[2]}", formula).correct is True, formula
    assert check_batch_gradient(d, "db^{[2]}", r"\frac{1}{m} dZ^{[2]} \mathbf{1}").correct is True
    summed = check_batch_gradient(d, "dW^{[2]}", r"dZ^{[2]} A^{[1]T}")
    assert summed.correct is False and len(summed.wrong) == 3
    assert all("the 1/m of the mean is missing" in " ".join(e.diagnosis) for e in summed.wrong)
    assert summed.formula_latex == r"\frac{1}{m} dZ^{[2]} \left(A^{[1]}\right)^{T}"
    twice = check_batch_gradient(d, "dW^{[2]}", r"\frac{1}{m^2} dZ^{[2]} A^{[1]T}")
    assert all("1/m is taken twice" in " ".join(e.diagnosis) for e in twice.wrong)
    other = check_batch_gradient(d, "dW^{[2]}", r"\frac{1}{m} dZ^{[2]} A^{[1]T} \cdot 3 \cdot 3")  # 9 times, with m = 3
    assert other.correct is False and not any("1/m" in " ".join(e.diagnosis) for e in other.wrong)


def test_softmax_ce_batch_needs_each_samples_targets_to_sum_to_one_and_says_so():
    d = batch_derivation("2-3-2", 2, notation="columns", loss="ce")
    verdict = check_batch_gradient(d, "dW^{[1]}", r"\frac{1}{m} (W^{[2]T} (\hat{Y} - Y) \odot A^{[1]} \odot (1 - A^{[1]})) X^T")
    assert verdict.correct is True
    assert "targets sum to 1" in verdict.note


def test_the_truth_is_the_batch_mean_loss_gradient_computed_independently():
    """At the witness point, 'true' is the central difference of the mean BCE of two samples, in NumPy."""
    d = batch_derivation("2-3-1", 2, notation="columns", loss="bce")
    entry = check_batch_gradient(d, "dW^{[2]}", r"dZ^{[2]} A^{[1]T}").entries[1]  # W^{[2]}_{1,2}
    point = entry.point
    w1 = np.array([[point[f"W_1_{j}_{k}"] for k in (1, 2)] for j in (1, 2, 3)])
    w2 = np.array([[point[f"W_2_1_{k}"] for k in (1, 2, 3)]])
    x = np.array([[point[f"a_0_{i}__{s}"] for s in (1, 2)] for i in (1, 2)])
    y = np.array([[point[f"y_1__{s}"] for s in (1, 2)]])

    def loss(w2):
        sigma = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
        out = sigma(w2 @ sigma(w1 @ x))
        return float(np.mean(-(y * np.log(out) + (1 - y) * np.log(1 - out))))

    h = 1e-6
    bump = np.zeros_like(w2)
    bump[0, 1] = h
    expected = (loss(w2 + bump) - loss(w2 - bump)) / (2 * h)
    assert float(entry.expected_value) == pytest.approx(expected, rel=1e-6)
    assert float(entry.written_value) == pytest.approx(2 * expected, rel=1e-6)  # the sum: m = 2 times


def test_one_samples_names_are_refused_in_a_batch_formula():
    d = batch_derivation("2-3-1", 2, notation="columns", loss="bce")
    with pytest.raises(FormulaError, match=r"a\^\{\[1\]\}_\{1\}, a\^\{\[1\]\}_\{2\}, a\^\{\[1\]\}_\{3\} are one "
                                           r"sample's, not the batch's: with --batch write the batch's matrices \(A\^\{\[0\]\}"):
        check_batch_gradient(d, "dW^{[2]}", r"\frac{1}{m} dz^{[2]} a^{[1]T}")
    with pytest.raises(FormulaError, match="one sample's"):  # through a shorthand too
        check_batch_gradient(d, "dW^{[2]}", r"\frac{1}{m} g A^{[1]T}", definitions={"g": "dz^{[2]}"})
    assert check_batch_gradient(d, "dW^{[2]}", r"\frac{1}{m} G A^{[1]T}", definitions={"G": "dZ^{[2]}"}).correct is True


def test_cli_batch():
    right = invoke("2-3-1", "--notation", "columns", "--loss", "bce", "--batch", "4", "--param", "dW^{[2]}", NG_DW2)
    assert right.exit_code == 0, right.output
    assert right.output == ("correct: your formula for dL/dW^{[2]} equals the true gradient in all 3 entries of the "
                            "1×3 vector (proven symbolically)\n")
    wrong = invoke("2-3-1", "--notation", "columns", "--loss", "bce", "--bias", "--batch", "4", "--param", "db^{[2]}",
                   r"dZ^{[2]} \mathbf{1}")
    assert wrong.exit_code == 1, wrong.output
    lines = wrong.output.splitlines()
    assert lines[0].startswith("incorrect: your formula for dL/db^{[2]} is not the gradient (")
    assert lines[1].startswith("  b^{[2]}_{1}: the 1/m of the mean is missing: your formula is m times the gradient")
    assert lines[2] == r"  the correct formula: \frac{1}{m} dZ^{[2]} \mathbf{1}"


@pytest.mark.parametrize("argv, message", [
    (["2-3-1", "--batch", "2", "--param", "w_{11}", "w_{11}"], "--batch needs the batch's matrices of layer or column"),
    (["--batch", "2", "--steps", "1 = 1"], "--batch checks a --param formula"),
    (["2-3-1", "--notation", "columns", "--param", "dW^{[2]}", NG_DW2], "the number of samples of a mini-batch is "
                                                                         "known with --batch M"),
])
def test_cli_batch_usage_errors_are_one_line(argv, message):
    result = invoke(*argv)
    assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1


def test_without_batch_capitals_are_one_sample_and_the_verdict_says_so():
    result = invoke("2-3-1", "--notation", "columns", "--loss", "bce", "--param", "dW^{[2]}", r"dZ^{[2]} A^{[1]T}")
    assert result.exit_code == 0
    assert "Ng's capitals (A^{[1]}, Z^{[1]}, dZ^{[2]}, X) as one sample's vectors, m = 1 (a mini-batch's formula: " \
           "verify --batch M)" in result.output


def test_a_batchs_matrices_of_one_shape_multiply_entry_by_entry_as_ng_writes_them():
    right = (r"\frac{1}{m} (W^{[2]T} dZ^{[2]} * A^{[1]} (1 - A^{[1]})) X^T")
    result = invoke("2-3-1", "--notation", "columns", "--loss", "bce", "--batch", "4", "--param", "dW^{[1]}", right)
    assert result.exit_code == 0, result.output
    assert "a product of two matrices of one shape that is not square (a batch's), entry by entry" in result.output
    # 3 samples and 3 hidden neurons: A^{[1]} would be 3×3, and A^{[1]}(1 - A^{[1]}) a matrix product: refused
    square = invoke("2-3-1", "--notation", "columns", "--loss", "bce", "--batch", "3", "--param", "dW^{[1]}", right)
    assert square.exit_code == 2 and "a layer of 3 neurons would make the batch's matrices square (3×3)" in square.output
    inputs = invoke("2-3-1", "--notation", "columns", "--loss", "bce", "--batch", "2", "--param", "dW^{[1]}", right)
    assert inputs.exit_code == 0, inputs.output  # X is 2×2, but no product of two inputs' matrices is written


def test_what_depends_on_m_is_judged_for_a_second_batch_size_too():
    d = batch_derivation("2-3-1", 2, notation="columns", loss="bce")
    half = check_batch_gradient(d, "dW^{[2]}", r"\frac{1}{2} dZ^{[2]} A^{[1]T}")  # 1/2 for 1/m: right at m = 2 only
    assert half.correct is False
    assert half.diagnosis == ["in every entry: right for a batch of 2 samples but not for 4: the formula does not hold "
                              "for every m"]
    double = check_batch_gradient(d, "dW^{[2]}", r"\frac{2}{m} dZ^{[2]} A^{[1]T}")  # m times the gradient at m = 2 only
    assert double.correct is False and not any("1/m" in line for line in double.diagnosis)
    summed = check_batch_gradient(d, "dW^{[2]}", r"dZ^{[2]} A^{[1]T}")
    assert "the 1/m of the mean is missing" in summed.diagnosis[0]


def test_a_diagnosis_that_needs_the_cross_entropys_assumption_says_so():
    d = batch_derivation("2-3-2", 4, notation="columns", loss="ce")
    verdict = check_batch_gradient(d, "dW^{[2]}", r"(A^{[2]} - Y) A^{[1]T}")  # Ŷ - Y is dZ only when targets sum to 1
    assert verdict.diagnosis[0].endswith("the 1/m of the mean is missing: your formula is m times the gradient (the sum "
                                         "of the samples' gradients); this holds when each sample's targets sum to 1")


def test_the_witness_names_each_samples_values_as_the_handout_does():
    result = invoke("1-1-1", "--notation", "columns", "--loss", "bce", "--batch", "2", "--param", "W^{[2]}_{1,1}",
                    r"dZ^{[2]} A^{[1]T}")
    assert result.exit_code == 1
    witness = result.output.splitlines()[1]
    assert "{a^{[0]}_{1}}^{(1)} = " in witness and "{y_{1}}^{(2)} = " in witness and "__" not in witness


def test_a_batch_matrix_squared_is_entry_by_entry_as_ng_writes_tanhs_derivative():
    """Ng's 1 - (A^{[1]})^2 (tanh' of a batch, NumPy's A1**2): entry by entry for a batch's non-square
    matrix, said in the verdict; one sample's (W^{[2]})^2 stays a one-line refusal."""
    d = derive("2-4-1", notation="columns", bias=True, loss="bce", activation="tanh,sigmoid", batch=3,
               proof="gradients")
    verdict = check_batch_gradient(d, "dW^{[1]}", r"\frac{1}{m} (W^{[2]T} dZ^{[2]} * (1 - (A^{[1]})^2)) X^T")
    assert verdict.correct is True
    assert any("a power of a matrix that is not square" in r for r in verdict.elementwise)
    wrong = check_batch_gradient(d, "dW^{[1]}", r"\frac{1}{m} (W^{[2]T} dZ^{[2]} * (1 - A^{[1]})) X^T")
    assert wrong.correct is False


@pytest.mark.parametrize("notation, db, summed", [
    ("columns", "db^{[2]}", r"np.sum(dZ^{[2]}, axis=1, keepdims=True)"),
    ("columns", "db^{[2]}", r"\sum_{i=1}^{m} dz^{[2](i)}"),
    ("columns", "db^{[2]}", r"\sum_{i=1}^m dZ^{[2](i)}"),
    ("columns", "db^{[1]}", r"numpy.sum(dZ^{[1]}, axis = 1, keepdims = True)"),
    ("layers", "b^{[2]}", r"np.sum(dZ^{[2]}, axis=0, keepdims=True)"),
    ("layers", "b^{[2]}", r"\sum_{i=1}^{m} dz^{[2](i)}"),
])
def test_ngs_sums_over_the_samples_are_the_batch_times_the_ones_vector(notation, db, summed):
    """Ng writes db^{[l]} = 1/m np.sum(dZ^{[l]}, axis=1, keepdims=True) and = 1/m Σ_i dz^{[l](i)}: both right,
    and without the 1/m the dropped mean is named, as for dZ^{[l]} 1."""
    d = batch_derivation("2-3-2", 3, notation=notation, loss="bce" if notation == "columns" else "mse", bias=True)
    right = check_batch_gradient(d, db, r"\frac{1}{m} " + summed)
    assert right.correct is True and right.method == "symbolic", summed
    wrong = check_batch_gradient(d, db, summed)
    assert wrong.correct is False and wrong.wrong
    assert all("the 1/m of the mean is missing" in " ".join(e.diagnosis) for e in wrong.wrong)


@pytest.mark.parametrize("notation, formula", [
    ("columns", r"\frac{1}{m} np.sum(dZ^{[2]}, axis=0, keepdims=True)"),  # a sample's neurons summed
    ("layers", r"\frac{1}{m} np.sum(dZ^{[2]}, axis=1, keepdims=True)"),
    ("columns", r"\frac{1}{m} np.sum(dZ^{[2]})"),  # every entry summed
    ("columns", r"\frac{1}{m} np.sum(dZ^{[2]}, axis=1, out=X)"),
    ("columns", r"\frac{1}{m} \sum_{i=1}^{m} dz^{[2](i)} a^{[1](i)T}"),  # a sum of products: never Σ dz times a^T
    ("columns", r"\frac{1}{m} \sum_{i=1}^{m} dz^{[2](i)} \cdot 2"),
])
def test_a_sum_over_anything_but_the_samples_is_refused_not_guessed(notation, formula):
    d = batch_derivation("2-3-2", 2, notation=notation, loss="mse", bias=True)
    with pytest.raises(FormulaError, match="np.sum over the samples is np.sum|a sum over the samples is read only of one"):
        check_batch_gradient(d, "db^{[2]}" if notation == "columns" else "b^{[2]}", formula)


def test_np_sum_without_a_batch_is_a_one_line_usage_error():
    result = invoke("2-3-1", "--notation", "columns", "--bias", "--param", "db^{[2]}",
                    r"\frac{1}{m} np.sum(dZ^{[2]}, axis=1, keepdims=True)")
    assert result.exit_code == 2, result.output
    assert "np.sum(...) sums a mini-batch's samples: give the batch (verify --batch M" in result.output
    assert len(result.output.strip().splitlines()) == 1
    right = invoke("2-3-1", "--notation", "columns", "--bias", "--batch", "2", "--param", "db^{[2]}",
                   r"\frac{1}{m} np.sum(dZ^{[2]}, axis=1, keepdims=True)")
    assert right.exit_code == 0 and right.output.startswith("correct:"), right.output
