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
    assert "the term through d_2 has a wrong factor: w_{31} instead of w_{34}" in out
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
    assert code == 0 and "all 1 steps are right" in out


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
    assert len(readme_verify_examples()) == 3


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
