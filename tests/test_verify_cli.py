"""`symbackprop verify`: exit 0 correct, 1 incorrect (with the diagnosis), 2 unparsable or unknown."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop.cli import main

EQ15 = r"(out_{d_1} - target_{d_1}) * out_{d_1} * (1 - out_{d_1}) * out_{c_1}"
EQ23 = r"(out_{d_1} - target_{d_1}) out_{d_1} (1 - out_{d_1}) w_{31} out_{c_1} (1 - out_{c_1}) out_{b_1}"
EQ25 = r"(out_{d_2} - target_{d_2}) out_{d_2} (1 - out_{d_2}) w_{34} out_{c_1} (1 - out_{c_1}) out_{b_1}"
SEED001_STEPS = (
    r"\frac{d}{dz}\left(\frac{1}{1-e^{-z}}\right) = \frac{d}{dz}(1-e^{-z})^{-1} "
    r"= -1 \times (1-e^{-z})^{-2} \cdot (-e^{-z}) = \frac{e^{-z}}{(1-e^{-z})^2} "
    r"= \frac{1}{1-e^{-z}} \cdot \frac{e^{-z}}{1-e^{-z}} = a(1-a)"
)


def run(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err


def test_seed_000_eq_15_is_correct(capsys):
    code, out, _ = run(["verify", "2-4-3-2", "--param", "w_{31}", EQ15], capsys)
    assert code == 0
    assert out.startswith("correct:") and "proven symbolically" in out


def test_eqs_23_and_25_are_correct_for_w21_in_plain_text_too(capsys):
    code, out, _ = run(["verify", "2-4-3-2", "--param", "w_{21}", EQ23 + " + " + EQ25], capsys)
    assert code == 0, out
    plain = "(out_d1 - target_d1)*out_d1*(1 - out_d1)*out_c1"
    assert run(["verify", "2-4-3-2", "--param", "w31", plain], capsys)[0] == 0


def test_a_wrong_factor_is_named(capsys):
    code, out, _ = run(["verify", "2-4-3-2", "--param", "w_{21}", EQ23 + " + " + EQ25.replace("w_{34}", "w_{31}")], capsys)
    assert code == 1
    assert out.startswith("incorrect:")
    assert "the term through d_2 has a wrong weight: w_{31} where it needs w_{34}" in out
    assert "yours = " in out and "true = " in out and "the correct formula:" in out


def test_a_missing_path_term_is_named(capsys):
    code, out, _ = run(["verify", "2-4-3-2", "--param", "w_{21}", EQ23], capsys)
    assert code == 1 and "the term through d_2 is missing" in out


def test_seed_001s_step_chain_names_its_first_wrong_step(capsys):
    code, out, _ = run(["verify", "--steps", SEED001_STEPS, "--where", r"a=\frac{1}{1-e^{-z}}"], capsys)
    assert code == 1
    assert "first wrong step: step 2" in out
    assert out.count("WRONG") == 2 and "later errors cancel it" in out


def test_a_correct_chain(capsys):
    code, out, _ = run(["verify", "--steps", r"\frac{d}{dz} \frac{1}{1+e^{-z}} = \frac{e^{-z}}{(1+e^{-z})^2}"], capsys)
    assert code == 0 and "the one step is right" in out and "all 1 steps" not in out


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["verify", "2-4-3-2", "--param", "w_{31}", "out_{d_1} +"], "invalid formula"),
        (["verify", "2-4-3-2", "--param", "w_{31}", "out_{d_9}"], "unknown name 'out_{d_9}'"),
        (["verify", "2-4-3-2", "--param", "w_{99}", "1"], "unknown parameter 'w_{99}'"),
        (["verify", "2-4-3-2", "--param", "w_{31}", r"\input{/etc/passwd}"], r"\input"),
        (["verify", "2-4-3-2", "--param", "w_{31}", "2^{10^{10}}"], "invalid formula"),
        (["verify", "2-4-3-2"], "give either --param"),
        (["verify", "--param", "w_31", "1"], "--param needs the network"),
        (["verify", "--steps", "z"], "needs at least one '='"),
    ],
)
def test_errors_are_one_line_and_exit_2(argv, fragment, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2
    assert fragment in err and len(err.strip().splitlines()) == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(list("wotdz_{}()+-*/^=\\ 0123456789.,") + ["\\frac", "\\cdot", "out_{b_1}", "w_{11}", "e^{"]), max_size=30).map("".join))
def test_fuzzed_formulas_never_traceback(capsys, text):
    code, _, err = run(["verify", "1-1", "--param", "w_11", text], capsys)
    assert code in (0, 1, 2)
    assert "Traceback" not in err


def readme_verify_examples():
    """(argv, printed output) of every `$ symbackprop verify ...` example in README.md."""
    import shlex
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    examples = []
    for block in text.split("```")[1::2]:
        lines = block.strip("\n").splitlines()
        n = 0
        while n < len(lines):
            if not lines[n].startswith("$ symbackprop verify"):
                n += 1
                continue
            command = lines[n][2:]
            n += 1
            while True:  # a quoted argument may continue on the next lines
                try:
                    argv = shlex.split(command)
                    break
                except ValueError:
                    command += "\n" + lines[n]
                    n += 1
            output = []
            while n < len(lines) and not lines[n].startswith("$ ") and lines[n]:
                output.append(lines[n])
                n += 1
            examples.append((argv[1:], "\n".join(output)))
    return examples


@pytest.mark.parametrize("argv, printed", readme_verify_examples())
def test_readme_verify_examples_print_what_the_readme_shows(argv, printed, capsys):
    _, out, err = run(argv, capsys)
    assert (out + err).rstrip("\n") == printed


def test_readme_has_the_verify_examples():
    assert len(readme_verify_examples()) == 10


def test_help_prints_latex_literally():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "symbackprop.cli", "verify", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "\f" not in result.stdout and r"\frac{1}{1-e^{-z}}" in result.stdout
    assert r"verify --steps '\frac{d}{dz}" in result.stdout


def test_the_cross_entropy_shortcut_is_correct_when_targets_sum_to_1(capsys):
    """The handout prints g = ŷ - y for softmax + cross-entropy, assuming the targets sum to 1."""
    code, out, _ = run(["verify", "2-2-2", "--loss", "ce", "--param", "w_{21}", "(out_{c_1} - target_{c_1}) out_{b_1}"], capsys)
    assert code == 0 and out.startswith("correct:")
    assert "correct when the targets sum to 1" in out
    code, out, _ = run(["verify", "2-2-2", "--loss", "ce", "--param", "w_{21}", "(out_{c_1} - target_{c_1}) out_{b_2}"], capsys)
    assert code == 1 and out.startswith("incorrect:")
    general = "(out_{c_1} (target_{c_1} + target_{c_2}) - target_{c_1}) out_{b_1}"
    code, out, _ = run(["verify", "2-2-2", "--loss", "ce", "--param", "w_{21}", general], capsys)
    assert code == 0 and "targets sum to 1" not in out


def test_seed_001s_spelling_of_a_parameter(capsys):
    argv = ["verify", "4-3-2-1", "--notation", "layers", "--loss", "bce", "--bias", "--param"]
    code, out, _ = run(argv + ["W_{1,1}^{[3]}", r"(\hat{y}_1 - y_1) a^{[2]}_1"], capsys)
    assert code == 0 and "dW^{[3]}_{1,1}" in out


# -- no false "right" (issue 18.3): the four examples, and the third verdict ----------------------------
@pytest.mark.parametrize(
    "steps, code, fragment",
    [
        ("e^{1000} = 2 e^{1000}", 1, "left = 1.970071114e+434, right = 3.940142228e+434"),
        ("sqrt(-1-z^2) = 7 sqrt(-1-z^2)", 2, "not checked: float64 cannot evaluate both sides"),
        ("z = z + 10^{-40}", 1, "WRONG (proven symbolically)"),
        ("1e-3 = 0.001", 0, "right (proven symbolically)"),
    ],
)
def test_steps_that_used_to_be_right(steps, code, fragment, capsys):
    status, out, err = run(["verify", "--steps", steps], capsys)
    assert status == code and fragment in out and err == ""
    assert ("the one step is right" in out) == (code == 0)


def test_a_difference_below_float_resolution_is_printed_with_the_digits_that_show_it(capsys):
    _, out, _ = run(["verify", "--steps", "z = z + 10^{-40}"], capsys)
    line = next(line for line in out.splitlines() if line.startswith("  at z = "))
    left, right = (part.split(" = ")[1] for part in line.split(": ", 1)[1].split(", "))
    assert left != right and len(left) > 40
    assert "differ by -1.0e-40" in out


def test_a_param_formula_off_by_1e_minus_31_is_incorrect(capsys):
    code, out, _ = run(["verify", "2-4-3-2", "--param", "w_{31}", f"(1 + 10^{{-31}}) {EQ15}"], capsys)
    assert code == 1
    assert out.startswith("incorrect: your formula for dE/dw_{31} is not the gradient (proven symbolically)")
    assert "relative 1.0e-31" in out and "target_d_2" not in out  # the gradient does not depend on it


def test_a_param_formula_that_cannot_be_evaluated_is_not_checked(capsys):
    code, out, _ = run(["verify", "2-4-3-2", "--param", "w_{31}", f"e^{{e^{{e^{{10}}}}}} {EQ15}"], capsys)
    assert code == 2
    assert out.startswith("not checked: your formula for dE/dw_{31} could not be compared with the true gradient")
    assert "too large or too slow" in out


def test_a_formula_undefined_where_the_truth_is_real_is_incorrect(capsys):
    code, out, _ = run(["verify", "2-4-3-2", "--param", "w_{31}", "sqrt(-1 - out_{d_1}^2)"], capsys)
    assert code == 1 and "yours = not a real number" in out
    assert "your formula is not a real number there, the other side is" in out


# -- rounded numbers and --tolerance (issue 14.4) -------------------------------------------------------
ROUNDED = r"0.74136507 \times 0.186815602 \times 0.593269992 = 0.082167041"


def test_rounded_decimals_with_the_tolerance_they_show(capsys):
    code, out, _ = run(["verify", "--steps", ROUNDED], capsys)
    assert code == 0 and "right up to the rounding of the numbers written (relative 1.6e-08" in out
    code, out, _ = run(["verify", "--steps", ROUNDED.replace("0.082167041", "0.082167141")], capsys)
    assert code == 1
    assert "  left = 0.08216704068, right = 0.082167141" in out and "at z" not in out  # no variable in it
    code, out, _ = run(["verify", "--steps", ROUNDED.replace("=", "≈")], capsys)
    assert code == 0 and out.startswith("step 1: 0.74136507 \\times 0.186815602 \\times 0.593269992 ≈ 0.082167041")


def test_the_tolerance_option(capsys):
    assert run(["verify", "--steps", ROUNDED, "--tolerance", "0"], capsys)[0] == 1
    code, out, _ = run(["verify", "--steps", "z = 1.001 z", "--tolerance", "1e-2"], capsys)
    assert code == 0 and "right up to the tolerance given (relative 0.01)" in out
    code, out, _ = run(["verify", "2-4-3-2", "--param", "w_{31}", f"1.0001 {EQ15}", "--tolerance", "1e-3"], capsys)
    assert code == 0 and "equal within the relative tolerance 0.001" in out
    for bad in ("nan", "-1", "1", "x"):
        code, _, err = run(["verify", "--steps", "z = z", "--tolerance", bad], capsys)
        assert code == 2 and "--tolerance" in err and len(err.strip().splitlines()) == 1


def test_help_documents_the_not_checked_status_and_the_tolerance():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "symbackprop.cli", "verify", "--help"], capture_output=True, text=True)
    assert "could not be checked" in result.stdout and "--tolerance" in result.stdout
    assert r"\approx" in result.stdout


# -- the handout's assumption in --steps (issue 14.3) ---------------------------------------------------
def test_the_cross_entropy_shortcut_is_right_in_steps_too(capsys):
    chain = r"\frac{\partial E_{total}}{\partial net_{c_1}} = out_{c_1} - target_{c_1}"
    code, out, _ = run(["verify", "2-2-2", "--loss", "ce", "--steps", chain], capsys)
    assert code == 0 and "right (proven symbolically)" in out
    assert "note: right when the targets sum to 1, as the handout assumes for the cross-entropy" in out


@pytest.mark.parametrize(
    "argv, first",
    [
        (["verify", "3-2", "--notation", "layers", "--param", "W^{[1]}_{1,2}", "g^{[1z]}_2 a^{[0]}_1"],
         "correct: your formula for dL/dW^{[1]}_{1,2} equals the true gradient"),
        (["verify", "3-2", "--notation", "columns", "--param", "W^{[1]}_{2,1}", r"\delta^{[1]}_2 a^{[0]}_1"],
         "correct: your formula for dL/dW^{[1]}_{2,1} equals the true gradient"),
        (["verify", "3-2", "--param", "w_{14}", r"\delta_{b_2} out_{a_1}"],
         "correct: your formula for dE/dw_{14} equals the true gradient"),
    ],
)
def test_the_verdict_names_the_notations_loss(argv, first, capsys):
    code, out, _ = run(argv, capsys)
    assert code == 0 and out.splitlines()[0].startswith(first)


def test_the_count_of_right_steps_follows_the_data(capsys):
    code, out, _ = run(["verify", "--steps", "2 z = z + z = z z / z + z"], capsys)
    assert code == 0 and out.splitlines()[-1] == "all 2 steps are right"
    code, out, _ = run(["verify", "--steps", "2 z = z + z"], capsys)
    assert code == 0 and out.splitlines()[-1] == "the one step is right"


# -- diagnoses whatever the form (issue 14.2) ------------------------------------------------------------
def test_a_factored_recursion_with_a_wrong_weight_is_named(capsys):
    formula = r"(\delta_{d_1} w_{31} + \delta_{d_2} w_{33}) out_{c_1}(1 - out_{c_1}) out_{b_1}"
    code, out, _ = run(["verify", "2-4-3-2", "--param", "w_{21}", formula], capsys)
    assert code == 1
    assert "  the term through d_2 has a wrong weight: w_{33} where it needs w_{34}" in out.splitlines()


def test_the_sigmoid_style_softmax_delta_is_named_and_the_simplest_form_shown(capsys):
    formula = r"(out_{c_1} - target_{c_1}) out_{c_1} (1 - out_{c_1}) out_{b_1}"
    code, out, _ = run(["verify", "2-2-2", "--loss", "ce", "--param", "w_{21}", formula], capsys)
    assert code == 1 and "sigmoid-style" in out and "softmax + cross-entropy" in out
    assert out.rstrip().endswith(r"the correct formula: \left(\mathrm{out}_{c_1} - \mathrm{target}_{c_1}\right) \cdot \mathrm{out}_{b_1}")


def test_an_unrecognised_mistake_prints_no_diagnosis(capsys):
    code, out, _ = run(["verify", "2-2-2", "--param", "w_{21}", r"w_{11}^3 + 1"], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[-1].startswith("  the correct formula:") and lines[-2].startswith("    yours = ")


LAYER_EXAMPLES = [  # the whole-layer examples proposed for README's verify section, with their exact output
    (["verify", "2-3-2", "--notation", "columns", "--param", "W^{[2]}", r"\delta^{[2]} (a^{[1]})^T"], 0,
     ("correct: your formula for dL/dW^{[2]} equals the true gradient in all 6 entries of the 2×3 matrix "
      "(proven symbolically)")),
    (["verify", "2-3-2", "--notation", "columns", "--param", "W^{[2]}", r"a^{[1]} (\delta^{[2]})^T"], 1,
     ("incorrect: your formula for dL/dW^{[2]} is the transpose of the gradient (proven symbolically)\n"
      "  transposed, it is right in all 6 entries: entry (i, j) of the gradient is dL/dW^{[2]}_{i,j}, a 2×3 matrix")),
]


@pytest.mark.parametrize("argv, status, printed", LAYER_EXAMPLES)
def test_a_whole_layer_is_checked_entry_by_entry(argv, status, printed, capsys):
    code, out, err = run(argv, capsys)
    assert code == status and (out + err).rstrip("\n") == printed


def test_a_left_side_in_param_must_name_the_parameter(capsys):
    code, out, _ = run(["verify", "2-4-3-2", "--param", "w_{31}", r"\frac{\partial E}{\partial w_{31}} = " + EQ15], capsys)
    assert code == 0 and out.startswith("correct:")
    code, _, err = run(["verify", "2-4-3-2", "--param", "w_{21}", r"\frac{\partial E}{\partial w_{31}} = " + EQ15], capsys)
    assert code == 2 and "the left side is the derivative by w_{31}, but --param names w_{21}" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("notation, weight", [("neurons", "w_{11}"), ("columns", "W^{[1]}_{1,1}")])
def test_the_witness_names_each_value_as_the_handout_spells_it(notation, weight, capsys):
    """The point of a wrong verdict is named in the handout's spelling, which reads back: each
    weight named there is a parameter verify knows (not the internal w_11 or W_1_1_1)."""
    code, out, _ = run(["verify", "2-3-2", "--notation", notation, "--param", weight, "0"], capsys)
    line = next(line for line in out.splitlines() if line.startswith("  at "))
    names = [part.split(" = ")[0] for part in line[len("  at "):].rstrip(":").split(", ") if " = " in part]
    assert code == 1 and len(names) == 6 and all("{" in name and "mathrm" not in name for name in names), line
    for name in names:
        if name.lower().startswith("w"):
            assert run(["verify", "2-3-2", "--notation", notation, "--param", name, "0"], capsys)[0] == 1, name


def test_ngs_one_sample_backprop_as_his_notes_write_it(capsys):
    """Ng's one-sample equations, his spelling and NumPy's elementwise * and 1 - a: dz^{[2]} = a^{[2]} - y,
    dW^{[2]} = dz^{[2]} a^{[1]T}, dz^{[1]} = W^{[2]T} dz^{[2]} * g^{[1]'}(z^{[1]}), dW^{[1]} = dz^{[1]} x^T;
    the elementwise readings are said, and a wrong g' is still caught."""
    net = ["verify", "2-3-1", "--notation", "columns", "--loss", "bce"]
    code, out, _ = run(net + ["--param", "dW^{[2]}", "dz^{[2]} a^{[1]T}"], capsys)
    assert code == 0 and "all 3 entries" in out and "NumPy" not in out, out
    code, out, _ = run(net + ["--param", "W^{[1]}", r"(W^{[2]T} dz^{[2]} * g^{[1]\prime}(z^{[1]})) x^T"], capsys)
    assert code == 0 and "read as NumPy and Ng's notes write them: a product of two vectors of one shape" in out, out
    code, out, _ = run(net + ["--param", "W^{[1]}", r"(W^{[2]T} dz^{[2]} * a^{[1]}(1 - a^{[1]})) x^T"], capsys)
    assert code == 0 and "a number added to or subtracted from a vector" in out, out
    code, out, _ = run(net + ["--param", "W^{[1]}", r"(W^{[2]T} dz^{[2]} * (1 - a^{[1]})) x^T"], capsys)
    assert code == 1 and "wrong in 6 of its 6 entries" in out, out


def test_where_shorthands_are_used_in_param_too(capsys):
    """A delta named once with --where and used in the gradient: the formula is judged with the
    shorthand written out, and a wrong shorthand makes a wrong formula, diagnosed as one."""
    delta = "g_o=(out_{d_1} - target_{d_1}) out_{d_1} (1 - out_{d_1})"
    code, out, _ = run(["verify", "2-4-3-2", "--param", "w_{31}", "g_o out_{c_1}", "--where", delta], capsys)
    assert code == 0 and out.startswith("correct:"), out
    flipped = "g_o=(target_{d_1} - out_{d_1}) out_{d_1} (1 - out_{d_1})"
    code, out, _ = run(["verify", "2-4-3-2", "--param", "w_{31}", "g_o out_{c_1}", "--where", flipped], capsys)
    assert code == 1 and "the sign is flipped" in out, out
    code, out, err = run(["verify", "2-4-3-2", "--param", "w_{31}", "g_o out_{c_1}", "--where", "out_{c_1}=0.5"], capsys)
    assert code == 2 and "the network already names out_{c_1}" in err and len(err.splitlines()) == 1


def test_steps_of_vectors_are_checked_entry_by_entry(capsys):
    bp1 = r"\delta^{[2]} = (a^{[2]} - y) \odot \sigma'(z^{[2]}) = (a^{[2]} - y) \odot a^{[2]} \odot (1 - a^{[2]})"
    code, out, _ = run(["verify", "2-3-2", "--notation", "columns", "--steps", bp1], capsys)
    assert code == 0 and out.count("right (proven symbolically)") == 2 and "all 2 steps are right" in out, out
    code, out, _ = run(["verify", "2-3-2", "--notation", "columns", "--steps", r"\delta^{[2]} = (a^{[2]} - y) \odot a^{[2]}"],
                       capsys)
    assert code == 1 and "WRONG" in out and "note: entry 1 differs" in out, out
    code, out, _ = run(["verify", "2-3-2", "--notation", "columns", "--steps", r"\delta^{[2]} = (\delta^{[2]})^T"], capsys)
    assert code == 1 and "the left side is a 2×1 column vector, the right side a 1×2 row vector" in out, out


def test_a_formula_in_the_walk_throughs_names_is_answered_in_them(capsys):
    """w_5, out_{o1}, out_{h1}: the witness, the diagnosis and the correct formula use the walk-through's
    names too (i_1, o_2, w_{7}), not the handout's out_{a_1}, c_2, w_{23}."""
    code, out, _ = run(["verify", "2-2-2", "--shared-bias", "--param", "w_1",
                        r"\delta_{o1} w_5 out_{h1}(1-out_{h1}) i_1"], capsys)
    assert code == 1, out
    lines = out.splitlines()
    assert lines[2].startswith("  at i_1 = ") and "w_1 = " in lines[2] and "out_{a_1}" not in lines[2]
    assert "  the term through o_2 is missing" in lines
    correct = next(line for line in lines if line.startswith("  the correct formula: "))
    assert r"w_{5}" in correct and r"w_{7}" in correct and r"\mathrm{out}_{h_1}" in correct and r"i_{1}" in correct
    assert "c_1" not in correct and "w_{2" not in correct
    plain = run(["verify", "2-2-2", "--shared-bias", "--param", "w_{11}",
                 r"\delta_{c_1} w_{21} out_{b_1}(1-out_{b_1}) out_{a_1}"], capsys)[1]
    assert "the term through c_2 is missing" in plain and r"w_{23}" in plain  # the handout's own names, its own answer


def test_a_wrong_gradient_step_is_diagnosed_as_param_diagnoses_it(capsys):
    code, out, _ = run(["verify", "2-4-3-2", "--steps",
                        r"\frac{\partial E}{\partial w_{21}} = \delta_{d_1} w_{31} out_{c_1}(1 - out_{c_1}) out_{b_1}"], capsys)
    assert code == 1 and "  the term through d_2 is missing" in out.splitlines(), out
    assert "  the correct formula: " in out
    # the chain starts from the gradient: the first wrong step's right side is a wrong formula for it
    chain = r"\frac{\partial E}{\partial w_{31}} = \delta_{d_1} out_{c_1} = (out_{d_1} - target_{d_1}) out_{c_1} = out_{c_1}"
    code, out, _ = run(["verify", "2-4-3-2", "--steps", chain], capsys)
    lines = out.splitlines()
    assert code == 1 and lines[2] == r"step 2: \delta_{d_1} out_{c_1} = (out_{d_1} - target_{d_1}) out_{c_1}", out
    step2 = lines[lines.index(lines[2]):next(i for i, line in enumerate(lines) if line.startswith("step 3"))]
    assert any("is missing" in line and "d_1" in line for line in step2), out
    step3 = lines[next(i for i, line in enumerate(lines) if line.startswith("step 3")):]
    assert not any("the correct formula" in line for line in step3)  # after a wrong step: no claim about the gradient
