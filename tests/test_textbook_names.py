"""Nielsen's and Ng's names in column notation (issue 13, item 4): accepted where a user types a
name, each mapped to the right parameter or quantity (a correct formula is right, the transposed
one wrong), and every ambiguous bare superscript refused in one line that names the readings."""


import pytest
from forkserver import run_symbackprop
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop import derive
from symbackprop.algebra.grammar import AmbiguousName, FormulaError, Textbook, name_table, parse_math
from symbackprop.checking.verify import check_gradient, check_steps
from symbackprop.cli import main
from symbackprop.network.spec import SpecError

S = lambda name: sympy.Symbol(name, real=True)  # noqa: E731


@pytest.fixture(scope="module")
def net():
    """3-3-2 in column notation with biases: W^{[1]} is 3×3, so W^{[1]}_{1,2} and W^{[1]}_{2,1} both exist."""
    return derive("3-3-2", notation="columns", bias=True, only=["W_2_1_2"], proof="numeric")


def run(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err


# -- parameter names: each spelling is the parameter it says ----------------------------------------
RIGHT = {  # parameter → (its gradient, the gradient of the transposed or swapped parameter)
    "W_1_1_2": (r"\delta^{[1]}_1 a^{[0]}_2", r"\delta^{[1]}_2 a^{[0]}_1"),
    "W_2_1_2": (r"\delta^{[2]}_1 a^{[1]}_2", r"\delta^{[2]}_2 a^{[1]}_1"),
    "b_2_1": (r"\delta^{[2]}_1", r"\delta^{[2]}_2"),
}


@pytest.mark.parametrize(
    "spelling, parameter",
    [
        (r"W^{[1]}_{1,2}", "W_1_1_2"),
        (r"w^{[1]}_{1,2}", "W_1_1_2"),  # lowercase w for W
        (r"w^{[1]}_{12}", "W_1_1_2"),
        (r"dW^{[1]}_{1,2}", "W_1_1_2"),  # Ng's name of the gradient, as the parameter's name
        (r"w^3_{12}", "W_2_1_2"),  # Nielsen: layer 3 counting the input as 1
        (r"w^{3}_{1,2}", "W_2_1_2"),
        (r"dW^{[2]}_{1,2}", "W_2_1_2"),
        (r"db^{[2]}_1", "b_2_1"),
        (r"b^3_1", "b_2_1"),  # Nielsen's b^l_j
    ],
)
def test_a_parameter_spelled_as_the_textbooks_do_is_that_parameter(net, spelling, parameter):
    right, transposed = RIGHT[parameter]
    verdict = check_gradient(net, spelling, right)
    assert verdict.correct is True
    assert verdict.parameter == net.model.latex_names[S(parameter)]
    assert check_gradient(net, spelling, transposed).correct is False


@pytest.mark.parametrize(
    "spelling, parameter",
    [(r"w^3_{12}", "W_2_1_2"), (r"dW^{[1]}_{1,2}", "W_1_1_2"), (r"w^{[2]}_{2,1}", "W_2_2_1"), (r"b^3_2", "b_2_2")],
)
def test_derive_only_takes_the_textbook_names(spelling, parameter):
    derivation = derive("3-3-2", notation="columns", bias=True, only=[spelling], proof="numeric")
    assert [g.parameter.symbol for g in derivation.gradients] == [S(parameter)]


# -- names inside formulas -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "parameter, right, wrong",
    [
        # Ng's capitals for one entry, and dZ for δ
        (r"W^{[2]}_{1,2}", r"dZ^{[2]}_1 A^{[1]}_2", r"dZ^{[2]}_2 A^{[1]}_1"),
        (r"W^{[2]}_{1,2}", r"(\sigma(Z^{[2]}_1) - y_1) \sigma(Z^{[2]}_1)(1 - \sigma(Z^{[2]}_1)) a^{[1]}_2",
         r"(\sigma(Z^{[2]}_2) - y_2) \sigma(Z^{[2]}_2)(1 - \sigma(Z^{[2]}_2)) a^{[1]}_1"),
        # a^{[L]} for ŷ, and ŷ, δ in Unicode
        (r"W^{[2]}_{1,2}", r"(a^{[2]}_1 - y_1) a^{[2]}_1 (1 - a^{[2]}_1) a^{[1]}_2",
         r"(a^{[2]}_2 - y_2) a^{[2]}_2 (1 - a^{[2]}_2) a^{[1]}_1"),
        (r"W^{[2]}_{1,2}", "(ŷ_1 - y_1) ŷ_1 (1 - ŷ_1) a^{[1]}_2", "(ŷ_2 - y_2) ŷ_2 (1 - ŷ_2) a^{[1]}_1"),
        (r"W^{[2]}_{1,2}", "δ^{[2]}_1 a^{[1]}_2", "δ^{[2]}_2 a^{[1]}_1"),
        # X and x for the inputs a^{[0]}
        (r"W^{[1]}_{1,2}", r"\delta^{[1]}_1 x_2", r"\delta^{[1]}_2 x_1"),
        (r"W^{[1]}_{1,2}", r"\delta^{[1]}_1 X_2", r"\delta^{[1]}_2 X_1"),
        # Nielsen throughout: w^3 and δ^3 exist only in his numbering, so a^2_2 is his a^{[1]}_2 too
        (r"w^3_{12}", r"\delta^3_1 a^2_2", r"\delta^3_2 a^2_1"),
        (r"W^{[2]}_{1,2}", "δ^3_1 a^2_2", "δ^3_2 a^2_1"),
        (r"w_{12}^3", r"\delta_1^3 a_2^2", r"\delta_2^3 a_1^2"),  # the superscript after the subscript
        (r"W^{[2]}_{1,1}", r"(A^{[2]}_1 - y_1) A^{[2]}_1 (1 - A^{[2]}_1) A^{[1]}_1",
         r"(A^{[2]}_2 - y_2) A^{[2]}_2 (1 - A^{[2]}_2) A^{[1]}_1"),
        (r"w^3_{12}", r"(a^3_1 - y_1) a^3_1 (1 - a^3_1) a^2_2", r"(a^3_2 - y_2) a^3_2 (1 - a^3_2) a^2_1"),
    ],
)
def test_formulas_in_the_textbooks_names_are_judged_on_the_right_quantities(net, parameter, right, wrong):
    assert check_gradient(net, parameter, right).correct is True
    assert check_gradient(net, parameter, wrong).correct is False


def test_nielsen_readings_are_reported_never_silent(net, capsys):
    verdict = check_gradient(net, r"w^3_{12}", r"\delta^3_1 a^2_2")
    assert verdict.readings == (r"w^3_{12} = W^{[2]}_{1,2}", r"\delta^3_1 = \delta^{[2]}_{1}", r"a^2_2 = a^{[1]}_{2}")
    code, out, _ = run(["verify", "3-3-2", "--notation", "columns", "--param", r"w^3_{12}", r"\delta^3_1 a^2_2"], capsys)
    assert code == 0
    assert out.splitlines() == [
        "correct: your formula for dL/dW^{[2]}_{1,2} equals the true gradient (proven symbolically)",
        r"  read in Nielsen's numbering (he numbers the input layer 1): w^3_{12} = W^{[2]}_{1,2}, "
        r"\delta^3_1 = \delta^{[2]}_{1}, a^2_2 = a^{[1]}_{2}",
    ]


def test_ng_gradients_inside_steps(net):
    assert check_steps(r"dW^{[2]}_{1,2} = dZ^{[2]}_1 A^{[1]}_2", net).correct is True
    assert check_steps(r"dW^{[2]}_{1,2} = dZ^{[2]}_2 A^{[1]}_1", net).correct is False
    assert check_steps(r"db^{[2]}_2 = \delta^{[2]}_2", net).correct is True
    assert check_steps(r"db^{[2]}_2 = \delta^{[2]}_1", net).correct is False


def test_powers_stay_powers(net):
    # a bracketed layer, then a power; a shorthand a (no subscript) squared; the default variable z
    steps = check_steps(r"(a^{[1]}_1)^2 = a^{[1]}_1^2 = a^{[1]}_1 a^{[1]}_1", net)
    assert steps.correct is True and steps.readings == ()
    assert check_steps(r"1 - a^2 = (1 - a)(1 + a)", net, definitions={"a": r"\tanh(z)"}).correct is True
    assert check_steps("z^2 = z z", net).correct is True
    assert check_steps("y_1^2 = y_1 y_1", net).correct is True


# -- refused: ambiguous bare superscripts, in one line naming the readings ----------------------------
@pytest.mark.parametrize(
    "argv, fragments",
    [
        # both layer numberings name an entry of 3-3-2
        (["--param", r"w^2_{12}", "1"],
         ["parameter w^2_{12} is ambiguous", "in Nielsen's numbering (he numbers the input layer 1) it is W^{[1]}_{1,2}",
          "counting the input as layer 0 it is W^{[2]}_{1,2}", "write W^{[1]}_{1,2} or W^{[2]}_{1,2}"]),
        (["--param", r"W^{[2]}_{1,2}", r"\delta^{[2]}_1 a^2_2"],
         ["a^2_2 is ambiguous", "it is a^{[1]}_{2}", "counting the input as layer 0 it is a^{[2]}_{2} (= \\hat{y}_{2})",
          "(a_{2})^2 for a power"]),
        (["--param", r"W^{[1]}_{1,2}", r"\delta^2_1 a^1_2"], ["is ambiguous", "it is \\delta^{[1]}_{1}",
                                                            "it is \\delta^{[2]}_{1}"]),
        # Nielsen's layer 1 (the input) has no z: the writer surely counted from 0, but left the brackets out
        (["--param", r"W^{[1]}_{1,2}", r"z^1_1"],
         ["z^1_1 is ambiguous", "it would be z^{[0]}_{1}, which this network does not have",
          "counting the input as layer 0 it is z^{[1]}_{1}", "write z^{[1]}_{1}"]),
        # a power or a layer
        (["--steps", "a^2 = 1"], ["a^2 is ambiguous: in Nielsen's numbering (he numbers the input layer 1) it is a^{[1]}; "
                                  "counting the input as layer 0 it is a^{[2]}", "as a power it is (a)^2, but a is not a name here"]),
        (["--steps", "a^2_1 = a_1 a_1", "--where", "a_1=z"],
         ["a^2_1 is ambiguous", "it is a^{[1]}_{1}", "it is a^{[2]}_{1} (= \\hat{y}_{1})", "as a power it is (a_{1})^2",
          "write a^{[1]}_{1} or a^{[2]}_{1} or (a_{1})^2 for a power"]),
    ],
)
def test_ambiguous_names_are_refused_in_one_line_with_both_readings(argv, fragments, capsys):
    code, out, err = run(["verify", "3-3-2", "--notation", "columns"] + argv, capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    for fragment in fragments:
        assert fragment in err


def test_the_briefs_example_w2_13_in_2_3_2(capsys):
    """w^2_{13}: Nielsen's layer 2 is W^{[1]}, which has no column 3 in 2-3-2; W^{[2]}_{1,3} exists."""
    code, _, err = run(["verify", "2-3-2", "--notation", "columns", "--param", r"w^2_{13}", "1"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "it would be W^{[1]}_{1,3}, which this network does not have" in err and "write W^{[2]}_{1,3}" in err


def test_derive_only_refuses_an_ambiguous_name_in_one_line():
    result = run_symbackprop("derive", "3-3-2", "--notation", "columns", "--only", r"w^2_{12}",
                             "-o", "/nonexistent/never-written", timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [(
        "symbackprop: error: parameter w^2_{12} is ambiguous: in Nielsen's numbering (he numbers the input layer 1) "
        "it is W^{[1]}_{1,2}; counting the input as layer 0 it is W^{[2]}_{1,2}; write W^{[1]}_{1,2} or W^{[2]}_{1,2}"
    )]
    with pytest.raises(SpecError, match=r"ambiguous"):
        derive("3-3-2", notation="columns", only=[r"w^2_{12}"], proof="numeric")


def test_unknown_names_stay_unknown(net, capsys):
    code, _, err = run(["verify", "3-3-2", "--notation", "columns", "--steps", r"\delta^3_3 = 1"], capsys)
    assert code == 2 and r"unknown name \delta^3_3" in err and "which this network does not have" in err
    with pytest.raises(FormulaError, match=r"unknown name 'Q\^\{\[2\]\}_1' \(did you mean z\^\{\[2\]\}_\{1\}"):
        check_steps(r"Q^{[2]}_1 = 1", net)
    with pytest.raises(SpecError, match=r"unknown parameter 'dW\^\{\[3\]\}_\{1,1\}'"):
        check_gradient(net, r"dW^{[3]}_{1,1}", "1")


def test_other_notations_keep_their_reading():
    """Only column notation reads Nielsen's and Ng's names; elsewhere a^2 is a power as before."""
    letters = derive("2-4-3-2", only=["w_31"], proof="numeric")
    assert check_steps(r"w_{31}^2 = w_{31} w_{31}", letters).correct is True
    with pytest.raises(FormulaError, match="unknown name"):
        check_steps(r"w^3_{12} = 1", letters)
    layers = derive("3-3-2", notation="layers", only=["W_2_1_2"], proof="numeric")
    with pytest.raises(SpecError, match="unknown parameter"):
        check_gradient(layers, r"dW^{[2]}_{1,2}", "1")


def test_the_grammar_alone():
    names = {S("a_0_1"): "a^{[0]}_{1}", S("a_1_1"): "a^{[1]}_{1}", S("yhat_1"): r"\hat{y}_{1}"}
    table = name_table(names)
    book = Textbook(2, names)
    assert parse_math(r"a^3_1 + x_1 + A^{[1]}_1", table, textbook=book) == S("yhat_1") + S("a_0_1") + S("a_1_1")
    book.settle()  # a^3_1 reads one way only
    book = Textbook(2, names)
    assert parse_math(r"a^1_1", table, textbook=book) == S("a_0_1")  # pending: a^{[1]}_1 exists too
    with pytest.raises(AmbiguousName, match=r"a\^1_1 is ambiguous"):
        book.settle()
    with pytest.raises(FormulaError, match="unknown name 'a'"):
        parse_math(r"a^2_1", table)  # without the textbook spellings: as before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["a", "w", "W", "z", "b", "x", "X", "A", "Z", "dZ", "dW", "db", "δ", "ŷ", r"\delta",
                                 "^", "_", "{", "}", "[", "]", ",", "(", ")", "1", "2", "3", "12", " ", "+", "*"]),
                max_size=14).map("".join))
def test_fuzzed_textbook_names_never_traceback(net, text):
    """Whatever is typed, a verdict or a FormulaError/SpecError: nothing else escapes."""
    for parameter, formula in ((text, "1"), (r"W^{[2]}_{1,2}", text)):
        try:
            verdict = check_gradient(net, parameter, formula)
        except (FormulaError, SpecError) as error:
            assert "\n" not in str(error)
        else:
            assert verdict.correct in (True, False, None)
    try:
        check_steps(text + " = 1", net)
    except FormulaError as error:
        assert "\n" not in str(error)


def test_nielsens_bp_equations_with_whole_vectors(capsys):
    """Nielsen's BP1-BP4 as he writes them, whole vectors with a bare layer superscript (he numbers
    the input layer 1): b^3 is the vector b^{[2]}, w^3 the matrix W^{[2]}; each reading is said."""
    net = ["verify", "2-3-2", "--notation", "columns", "--bias"]
    code, out, _ = run(net + ["--param", "b^3", r"\nabla_a C \odot \sigma'(z^3)"], capsys)
    assert code == 0 and "all 2 entries" in out and "z^3 = z^{[2]}" in out, out
    code, out, _ = run(net + ["--param", "b^2", r"((w^3)^T \delta^3) \odot \sigma'(z^2)"], capsys)
    assert code == 0 and "all 3 entries" in out and "w^3 = W^{[2]}" in out, out
    code, out, _ = run(net + ["--param", "w^3", r"\delta^3 (a^2)^T"], capsys)
    assert code == 0 and "all 6 entries of the 2×3 matrix" in out, out
    code, _, err = run(net + ["--param", "w^3", r"(a^2)^T \delta^3"], capsys)  # the order mistyped: refused in words
    assert code == 2 and "cannot multiply a 1×3 row vector by a 2×1 column vector" in err


def test_nielsens_L_is_the_output_layer_and_L_minus_k_the_layers_before_it():
    """δ^L, a^L_j, z^L, W^L and a^{L-1}, a^{L-2}: the same layers whichever way the input is counted."""
    d = derive("2-3-2", notation="columns", proof="gradients")
    for name, formula in [("W^{[2]}", r"\delta^L (a^{L-1})^T"),
                          ("W^{[1]}", r"((W^L)^T \delta^L \odot \sigma'(z^{L-1})) (a^{L-2})^T"),
                          ("W^{[2]}_{1,3}", r"(a^L_1 - y_1) \sigma'(z^L_1) a^{L-1}_3")]:
        assert check_gradient(d, name, formula).correct is True, formula
    with pytest.raises(FormulaError, match="your formula is a 2×2 matrix, W\\^\\{\\[2\\]\\} is a 2×3 matrix"):
        check_gradient(d, "W^{[2]}", r"\delta^L (a^{L-2})^T")  # a^{L-2} is the input layer's
    with pytest.raises(FormulaError, match="a\\^\\{L-3\\}: the network has 3 layers"):
        check_gradient(d, "W^{[2]}", r"\delta^L (a^{L-3})^T")


def test_nielsens_z_superscript_in_steps_is_his_layer_not_a_power_of_the_variable_z():
    """--steps has a variable z (for seed 001's d/dz chains); in a chain written in Nielsen's numbering
    (w^3 can be read only so in 2-3-2) his z^2 is the layer's vector z^{[1]}, wherever it stands: BP1 and
    BP2 are right, in verify and in lint. Without such a name z^2 stays the power."""
    d = derive("2-3-2", notation="columns", bias=True, proof="gradients")
    for chain in (r"\delta^2 = ((w^3)^T \delta^3) \odot \sigma'(z^2)", r"\delta^2 = \sigma'(z^2) \odot ((w^3)^T \delta^3)"):
        verdict = check_steps(chain, d, matrices=True)
        assert verdict.correct is True and "z^2 = z^{[1]}" in ", ".join(verdict.readings), chain
    with pytest.raises(FormulaError, match="the shapes differ"):  # z^3 = z^{[2]}: the output layer's, 2 entries
        check_steps(r"\delta^2 = \sigma'(z^3) \odot ((w^3)^T \delta^3)", d, matrices=True)
    assert check_steps(r"\frac{d}{dz} z^2 = 2z", d).correct is True
    from symbackprop.checking.document import read_document
    from symbackprop.checking.lint import lint_document

    text = "$$\\delta^3 = (a^3 - y) \\odot \\sigma'(z^3)$$\n\n$$\\delta^2 = ((w^3)^T \\delta^3) \\odot \\sigma'(z^2)$$\n"
    report = lint_document(read_document(text, "bp.md"), derive("2-3-2", notation="columns", bias=True))
    assert [r.verdict for r in report.reports] == ["right", "right"], report.reports
