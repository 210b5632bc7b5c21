"""`verify --param 'W^{[2]}'`: a whole layer's gradient at once, every entry judged; a left-hand side
in --param (it must name the parameter); \\sum_{k=1}^{n_2} with the network's layer sizes."""

import click
import pytest
from click.testing import CliRunner

from symbackprop import derive
from symbackprop.algebra.grammar import FormulaError
from symbackprop.checking.verify import GradientVerdict, MatrixVerdict, check_gradient, layer_entries
from symbackprop.cli import main
from symbackprop.network.spec import NetworkSpec, SpecError

BP4_W = r"\delta^{[2]} (a^{[1]})^T"  # Nielsen's BP4 in column notation: ∂C/∂W^{[2]} = δ^{[2]} (a^{[1]})^T
BP3_B = r"\delta^{[2]}"  # BP3: ∂C/∂b^{[2]} = δ^{[2]}
EQ15 = r"(out_{d_1} - target_{d_1}) * out_{d_1} * (1 - out_{d_1}) * out_{c_1}"


def columns(loss: str, name: str):
    spec = NetworkSpec.parse("2-3-2", notation="columns", loss=loss, bias=True)
    return derive(spec, only=layer_entries(spec, name), proof="gradients")


@pytest.fixture(scope="module")
def letters():
    return derive("2-4-3-2", only=["w_31", "w_21"], proof="gradients")


@pytest.mark.parametrize("loss", ["bce", "mse"])
@pytest.mark.parametrize("name, formula, shape", [("W^{[2]}", BP4_W, (2, 3)), ("b^{[2]}", BP3_B, (2, 1))])
def test_bp4_and_bp3_in_column_notation_are_right_in_every_entry(loss, name, formula, shape):
    verdict = check_gradient(columns(loss, name), name, formula)
    assert isinstance(verdict, MatrixVerdict)
    assert verdict.correct is True and verdict.method == "symbolic"
    assert verdict.parameter == name and verdict.shape == shape
    assert len(verdict.entries) == shape[0] * shape[1] and verdict.diagnosis == []
    assert verdict.names[0] == (r"W^{[2]}_{1,1}" if name.startswith("W") else r"b^{[2]}_{1}")


def test_the_output_error_as_y_hat_minus_y_is_right_for_bce_only():
    assert check_gradient(columns("bce", "W^{[2]}"), "W^{[2]}", r"(\hat{y} - y) (a^{[1]})^T").correct is True
    wrong = check_gradient(columns("mse", "W^{[2]}"), "W^{[2]}", r"(\hat{y} - y) (a^{[1]})^T")
    assert wrong.correct is False and len(wrong.wrong) == 6
    assert wrong.diagnosis[0] == "the same kind of mistake in every entry"
    assert wrong.diagnosis[1].startswith(r"W^{[2]}_{1,1}: ") and "activation derivative" in wrong.diagnosis[1]


def test_wrong_entries_are_named_by_their_latex_names():
    d = columns("mse", "b^{[2]}")
    assert check_gradient(d, "b^{[2]}", r"\delta^{[2]} \odot y + \delta^{[2]} - \delta^{[2]} \odot y").correct is True
    verdict = check_gradient(d, "b^{[2]}", r"\delta^{[2]} \odot 2")
    assert verdict.correct is False
    assert [e.parameter for e in verdict.wrong] == [r"b^{[2]}_{1}", r"b^{[2]}_{2}"]
    # one diagnosis, word for word in each entry: said once for the whole vector
    assert verdict.pattern == (r"in every entry: your formula is twice the gradient: the ½ in \mathcal{L} cancels "
                               "the 2 from the square")
    assert verdict.diagnosis == [verdict.pattern]
    different = check_gradient(d, "b^{[2]}", r"\delta^{[2]} \odot \hat{y}")  # a wrong factor: each entry by name
    assert different.correct is False
    assert [line.split(": ", 1)[0] for line in different.diagnosis if line.startswith("b^")] == \
        [e.parameter for e in different.wrong]


@pytest.mark.parametrize("name, formula", [("W^{[2]}", r"a^{[1]} (\delta^{[2]})^T"), ("b^{[2]}", r"(\delta^{[2]})^T")])
def test_the_transpose_is_diagnosed_as_the_transpose(name, formula):
    verdict = check_gradient(columns("bce", name), name, formula)
    assert verdict.correct is False and verdict.transposed
    assert verdict.diagnosis == [f"your matrix is the transpose of the gradient of {name}"]


def test_a_square_transpose_is_diagnosed_too():
    spec = NetworkSpec.parse("2-2-2", notation="columns")
    d = derive(spec, only=layer_entries(spec, "W^{[2]}"), proof="gradients")
    verdict = check_gradient(d, "W^{[2]}", r"a^{[1]} (\delta^{[2]})^T")
    assert verdict.correct is False and verdict.transposed and verdict.shape == (2, 2)
    assert check_gradient(d, "W^{[2]}", BP4_W).correct is True


def test_a_formula_of_another_shape_is_refused_naming_both_shapes():
    with pytest.raises(FormulaError, match=r"your formula is a 2×1 column vector, W\^\{\[2\]\} is a 2×3 matrix"):
        check_gradient(columns("bce", "W^{[2]}"), "W^{[2]}", r"\delta^{[2]}")
    with pytest.raises(FormulaError, match=r"your formula is a number, b\^\{\[2\]\} is a 2×1 column vector"):
        check_gradient(columns("bce", "b^{[2]}"), "b^{[2]}", r"\delta^{[2]}_1")


def test_layer_notation_writes_the_gradient_as_a_row_product():
    spec = NetworkSpec.parse("2-3-2", notation="layers")
    d = derive(spec, only=layer_entries(spec, "W^{[2]}"), proof="gradients")
    verdict = check_gradient(d, "W^{[2]}", r"(a^{[1]})^T g^{[2z]}")
    assert verdict.correct is True and verdict.shape == (3, 2)


def test_layer_entries_reads_only_the_notation():
    spec = NetworkSpec.parse("2-3-2", notation="columns", bias=True)
    assert layer_entries(spec, "W^{[2]}") == [rf"W^{{[2]}}_{{{i},{j}}}" for i in (1, 2) for j in (1, 2, 3)]
    assert layer_entries(spec, r"W^{[2]}_{1,2}") == [r"W^{[2]}_{1,2}"]
    assert layer_entries(NetworkSpec.parse("2-4-3-2"), "", r"\frac{\partial E}{\partial w_{31}} = 1") == ["w_{31}"]
    with pytest.raises(FormulaError, match="name the parameter"):
        layer_entries(NetworkSpec.parse("2-4-3-2"), "", "out_d1")


@pytest.mark.parametrize("formula", [
    r"\frac{\partial E}{\partial w_{31}} = " + EQ15,
    r"$\frac{\partial E_{total}}{\partial w_{31}} = " + EQ15 + "$",
    r"\partial E/\partial w_{31} = " + EQ15,
    "dE/dw31 = (out_d1 - target_d1)*out_d1*(1 - out_d1)*out_c1",
])
def test_a_left_side_that_names_the_parameter_is_accepted(letters, formula):
    verdict = check_gradient(letters, "w_{31}", formula)
    assert isinstance(verdict, GradientVerdict) and verdict.correct is True


def test_a_left_side_that_names_another_parameter_is_refused(letters):
    with pytest.raises(FormulaError, match=r"the left side is the derivative by w_\{31\}, but --param names w_\{21\}"):
        check_gradient(letters, "w_{21}", r"\frac{\partial E}{\partial w_{31}} = " + EQ15)
    with pytest.raises(SpecError, match=r"unknown parameter 'w_\{99\}'"):
        check_gradient(letters, "w_{21}", r"\frac{\partial E}{\partial w_{99}} = " + EQ15)


def test_a_left_side_alone_names_the_parameter(letters):
    verdict = check_gradient(letters, "", r"\frac{\partial E}{\partial w_{31}} = " + EQ15)
    assert verdict.correct is True and verdict.parameter == "w_{31}"


def test_a_wrong_right_side_behind_a_left_side_is_still_diagnosed(letters):
    verdict = check_gradient(letters, "w_{21}", r"\frac{\partial E}{\partial w_{21}} = \delta_{d_1} w_{31} "
                                                r"out_{c_1}(1 - out_{c_1}) out_{b_1}")
    assert verdict.correct is False and verdict.diagnosis == ["the term through d_2 is missing"]


def test_a_matrix_left_side_must_name_the_same_layer():
    d = columns("bce", "W^{[2]}")
    assert check_gradient(d, "W^{[2]}", r"\frac{\partial L}{\partial W^{[2]}} = " + BP4_W).correct is True
    with pytest.raises(FormulaError, match=r"the left side is the derivative by W\^\{\[1\]\}, but --param names W\^\{\[2\]\}"):
        check_gradient(d, "W^{[2]}", r"\frac{\partial L}{\partial W^{[1]}} = " + BP4_W)


def test_a_sum_up_to_a_layer_size_in_a_param_formula():
    spec = NetworkSpec.parse("2-3-2", notation="columns")
    d = derive(spec, only=[r"W^{[1]}_{1,1}"], proof="gradients")
    right = r"\sum_{k=1}^{n_2} W^{[2]}_{k,1} \delta^{[2]}_{k} a^{[1]}_1 (1 - a^{[1]}_1) a^{[0]}_1"
    assert check_gradient(d, r"W^{[1]}_{1,1}", right).correct is True
    short = r"\sum_{k=1}^{1} W^{[2]}_{k,1} \delta^{[2]}_{k} a^{[1]}_1 (1 - a^{[1]}_1) a^{[0]}_1"
    assert check_gradient(d, r"W^{[1]}_{1,1}", short).correct is False


def test_one_parameter_still_gets_a_gradient_verdict_and_a_vector_formula_is_refused():
    d = columns("bce", r"W^{[2]}")
    assert isinstance(check_gradient(d, r"W^{[2]}_{1,2}", r"\delta^{[2]}_1 a^{[1]}_2"), GradientVerdict)
    with pytest.raises(FormulaError, match="not a single value"):
        check_gradient(d, r"W^{[2]}_{1,2}", BP4_W)


# -- the command ---------------------------------------------------------------------------------
@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []})
@click.pass_context
def entry(ctx):
    """``symbackprop.cli.main`` (one-line errors, exit 2) as the command CliRunner runs."""
    main(list(ctx.args))


def invoke(*argv):
    return CliRunner().invoke(entry, ["verify", *argv])


def test_cli_a_right_matrix_exits_0():
    result = invoke("2-3-2", "--notation", "columns", "--loss", "bce", "--param", "W^{[2]}", BP4_W)
    assert result.exit_code == 0, result.output
    assert result.output == ("correct: your formula for dL/dW^{[2]} equals the true gradient in all 6 entries of the "
                             "2×3 matrix (proven symbolically)\n")


def test_cli_a_transposed_matrix_exits_1_and_says_so():
    result = invoke("2-3-2", "--notation", "columns", "--param", "W^{[2]}", r"a^{[1]} (\delta^{[2]})^T")
    assert result.exit_code == 1, result.output
    assert "is the transpose of the gradient" in result.output.splitlines()[0]
    wrong = invoke("2-3-2", "--notation", "columns", "--param", "W^{[2]}", r"(\hat{y} - y) (a^{[1]})^T")
    assert wrong.exit_code == 1
    lines = wrong.output.splitlines()
    assert "wrong in 6 of its 6 entries" in lines[0] and lines[1] == "  the same kind of mistake in every entry:"
    assert sum(line.startswith("  W^{[2]}_{") for line in lines) == 6


def test_cli_a_shape_mismatch_is_one_line_exit_2():
    result = invoke("2-3-2", "--notation", "columns", "--param", "W^{[2]}", r"\delta^{[2]}")
    assert result.exit_code == 2
    assert "your formula is a 2×1 column vector, W^{[2]} is a 2×3 matrix" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_a_left_side_names_the_parameter():
    result = invoke("2-4-3-2", "--param", "", r"\frac{\partial E}{\partial w_{31}} = " + EQ15)
    assert result.exit_code == 0 and result.output.startswith("correct: your formula for dE/dw_{31}")
    refused = invoke("2-4-3-2", "--param", "w_{21}", r"\frac{\partial E}{\partial w_{31}} = " + EQ15)
    assert refused.exit_code == 2 and "but --param names w_{21}" in refused.output


def test_an_untransposed_weight_matrix_in_the_hidden_delta_names_the_wrong_weights():
    spec = NetworkSpec.parse("2-2-2", notation="columns")
    d = derive(spec, only=layer_entries(spec, "W^{[1]}"), proof="gradients")
    right = r"(((W^{[2]})^T \delta^{[2]}) \odot \sigma^{\prime}(z^{[1]})) (a^{[0]})^T"
    assert check_gradient(d, "W^{[1]}", right).correct is True
    verdict = check_gradient(d, "W^{[1]}", right.replace("(W^{[2]})^T", "W^{[2]}"))
    assert verdict.correct is False and len(verdict.wrong) == 4
    assert r"W^{[1]}_{1,1}: the term through \hat{y}_{2} has a wrong weight: W^{[2]}_{1,2} where it needs W^{[2]}_{2,1}" \
        in verdict.diagnosis


def test_a_missing_transpose_that_alone_makes_the_product_defined_is_named():
    """W^{[2]} δ^{[2]} on a 2-3-2 net multiplies 2×3 by 2×1: undefined; with (W^{[2]})^T it is the
    hidden layer's gradient, so the verdict is "incorrect", naming the factor, not a parse error."""
    spec = NetworkSpec.parse("2-3-2", notation="columns")
    d = derive(spec, only=layer_entries(spec, "W^{[1]}"), proof="gradients")
    right = r"((W^{[2]})^T \delta^{[2]} \odot \sigma'(z^{[1]})) x^T"
    assert check_gradient(d, "W^{[1]}", right).correct is True
    verdict = check_gradient(d, "W^{[1]}", right.replace("(W^{[2]})^T", "W^{[2]}"))
    assert verdict.correct is False and verdict.wrong == ()
    assert [r.factor for r in verdict.repairs] == ["W^{[2]}"]
    assert verdict.diagnosis == ["W^{[2]} (a 2×3 matrix) needs its transpose here"]
    assert all(e.correct for e in verdict.entries)  # the repaired formula, entry by entry


def test_a_transpose_repair_is_never_claimed_when_the_repaired_formula_is_still_wrong():
    spec = NetworkSpec.parse("2-3-2", notation="columns")
    d = derive(spec, only=layer_entries(spec, "W^{[1]}"), proof="gradients")
    with pytest.raises(FormulaError, match="cannot multiply a 2×3 matrix by a 2×1 column vector") as error:
        check_gradient(d, "W^{[1]}", r"(W^{[2]} \delta^{[2]} \odot \sigma(z^{[1]})) x^T")  # σ for σ' too
    assert error.value.position == 9  # the product's second factor, as without a repair


def test_cli_a_vector_that_needs_its_transpose():
    result = invoke("2-3-2", "--notation", "columns", "--param", "W^{[2]}", r"\delta^{[2]} a^{[1]}")
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        "incorrect: your formula for dL/dW^{[2]} is undefined as written: cannot multiply a 2×1 column vector by a "
        "3×1 column vector: 1 columns against 3 rows",
        "  a^{[1]} (a 3×1 column vector) needs its transpose here: with it transposed, your formula is right in all "
        "6 entries (proven symbolically)"]
