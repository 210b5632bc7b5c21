"""A diagnosis names the loss and every other symbol in the user's notation (`symbackprop verify
--notation ...`): E_{\\mathrm{total}} in letter notation, \\mathcal{L} in layer and column notation, and
their out, target, net, weight and delta names; no sentence falls back on another notation's E, out,
target, net, w or δ.

Each case is one usual mistake in a 1-2-2 network (two hidden neurons, two outputs), written in each
notation's names and run through the command; the test reads the diagnosis lines it prints.
"""

import re

import pytest
from click.testing import CliRunner

from symbackprop.cli import cli

NAMES = {  # the names of a 1-2-2 network that the formulas use, as the user types them
    "neurons": {"loss": r"E_{\mathrm{total}}", "x": "out_{a_1}", "h": "out_{b_1}", "net_h": "net_{b_1}",
                "net_y": r"\mathrm{net}_{c_1}", "y": "out_{c_1}", "y2": "out_{c_2}", "t": "target_{c_1}",
                "t2": "target_{c_2}", "w": "w_{11}", "v": "w_{21}", "v2": "w_{23}", "delta": r"\delta_{c_1}"},
    "layers": {"loss": r"\mathcal{L}", "x": "a^{[0]}_1", "h": "a^{[1]}_1", "net_h": "z^{[1]}_1",
               "net_y": "z^{[2]}_{1}", "y": r"\hat{y}_1", "y2": r"\hat{y}_2", "t": "y_1", "t2": "y_2",
               "w": "W^{[1]}_{1,1}", "v": "W^{[2]}_{1,1}", "v2": "W^{[2]}_{1,2}", "delta": "g^{[2z]}_{1}"},
    "columns": {"loss": r"\mathcal{L}", "x": "a^{[0]}_1", "h": "a^{[1]}_1", "net_h": "z^{[1]}_1",
                "net_y": "z^{[2]}_{1}", "y": r"\hat{y}_1", "y2": r"\hat{y}_2", "t": "y_1", "t2": "y_2",
                "w": "W^{[1]}_{1,1}", "v": "W^{[2]}_{1,1}", "v2": "W^{[2]}_{2,1}", "delta": r"\delta^{[2]}_{1}"},
}
# how the diagnosis prints them (the handout's LaTeX)
PRINTED = {
    "neurons": {"y": r"\mathrm{out}_{c_1}", "t": r"\mathrm{target}_{c_1}", "h": r"\mathrm{out}_{b_1}",
                "net_h": r"\mathrm{net}_{b_1}", "v": "w_{21}"},
    "layers": {"y": r"\hat{y}_{1}", "t": "y_{1}", "h": "a^{[1]}_{1}", "net_h": "z^{[1]}_{1}", "v": "W^{[2]}_{1,1}"},
    "columns": {"y": r"\hat{y}_{1}", "t": "y_{1}", "h": "a^{[1]}_{1}", "net_h": "z^{[1]}_{1}", "v": "W^{[2]}_{1,1}"},
}
NOTATIONS = tuple(NAMES)


def diagnosis(notation: str, parameter: str, formula: str, *options: str) -> list[str]:
    """The diagnosis lines `symbackprop verify` prints for a wrong formula (exit status 1)."""
    result = CliRunner().invoke(cli, ["verify", "1-2-2", "--notation", notation, *options, "--param", parameter, formula])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("incorrect:"), result.output
    said = [line.strip() for line in lines[1:] if line.startswith("  ") and not line.startswith("    ")]
    said = [line for line in said if not line.startswith(("at ", "the correct formula:"))]
    assert said, f"no diagnosis: {result.output}"
    return said


def error(n: dict, y: str = "y", t: str = "t") -> str:
    """δ of an output neuron for sigmoid and the squared error, in the user's names."""
    return f"({n[y]} - {n[t]}) {n[y]} (1 - {n[y]})"


def no_foreign_names(notation: str, sentence: str) -> None:
    """Nothing of another notation: the plain E, out, target, net, w of the old messages."""
    plain = re.sub(r"\\math(rm|cal)\{[^}]*\}", "", sentence)  # \mathrm{out}, \mathcal{L}: the notation's own
    assert not re.search(r"∂E/|∂E\b|\bin E\b|∂net/|/∂w\b|\bout − target\b", sentence), sentence
    if notation != "neurons":
        assert not re.search(r"\b(out|target|net|E)\b|E_\{|δ", plain), sentence
    else:
        assert r"\mathcal{L}" not in sentence and "∂L" not in sentence, sentence


@pytest.mark.parametrize("notation", NOTATIONS)
def test_twice_the_gradient_names_the_half_in_the_notations_loss(notation):
    n = NAMES[notation]
    (said,) = diagnosis(notation, n["v"], f"2 {error(n)} {n['h']}")
    assert said == f"your formula is twice the gradient: the ½ in {n['loss']} cancels the 2 from the square"
    no_foreign_names(notation, said)


@pytest.mark.parametrize("notation", NOTATIONS)
def test_one_output_doubled_names_its_partial_in_the_notation(notation):
    n, p = NAMES[notation], PRINTED[notation]
    formula = f"(2 {error(n)} {n['v']} + {error(n, 'y2', 't2')} {n['v2']}) {n['h']} (1 - {n['h']}) {n['x']}"
    (said,) = diagnosis(notation, n["w"], formula)
    assert said == (f"∂{n['loss']}/∂{p['y']} is twice what it should be: the ½ in {n['loss']} cancels the 2 "
                    "from the square")
    no_foreign_names(notation, said)


@pytest.mark.parametrize("notation", NOTATIONS)
def test_one_output_with_the_wrong_sign_names_the_error_in_the_notation(notation):
    n, p = NAMES[notation], PRINTED[notation]
    formula = f"(-{error(n)} {n['v']} + {error(n, 'y2', 't2')} {n['v2']}) {n['h']} (1 - {n['h']}) {n['x']}"
    (said,) = diagnosis(notation, n["w"], formula)
    assert said == (f"∂{n['loss']}/∂{p['y']} has the wrong sign: it is {p['y']} - {p['t']}, not its negative "
                    f"(the error is {p['y']} − {p['t']})")
    no_foreign_names(notation, said)


@pytest.mark.parametrize("notation", NOTATIONS)
def test_the_error_written_target_minus_out_is_named_in_the_notation(notation):
    n, p = NAMES[notation], PRINTED[notation]
    (said,) = diagnosis(notation, n["v"], f"({n['t']} - {n['y']}) {n['y']} (1 - {n['y']}) {n['h']}")
    assert said == (f"the sign is flipped: your formula is the negative of the gradient (∂{n['loss']}/∂{p['y']} is "
                    f"{p['y']} − {p['t']}, not {p['t']} − {p['y']})")
    no_foreign_names(notation, said)


@pytest.mark.parametrize("notation", NOTATIONS)
def test_a_net_input_for_an_output_names_the_partial_in_the_notation(notation):
    n, p = NAMES[notation], PRINTED[notation]
    (said,) = diagnosis(notation, n["v"], f"{error(n)} {n['net_h']}")
    assert said == f"{p['net_h']} where {p['h']} is needed (∂{n['net_y']}/∂{p['v']} is the input's output)"
    no_foreign_names(notation, said)


@pytest.mark.parametrize("notation", NOTATIONS)
def test_the_sigmoid_style_cross_entropy_delta_names_the_notations_delta(notation):
    n, p = NAMES[notation], PRINTED[notation]
    (said,) = diagnosis(notation, n["v"], f"{error(n)} {n['h']}", "--loss", "bce")
    assert said == (f"the sigmoid-style output delta ({p['y']} - {p['t']}) {p['y']} \\left(1 - {p['y']}\\right): "
                    f"for sigmoid + cross-entropy the factors cancel, {n['delta']} = {p['y']} - {p['t']}")
    no_foreign_names(notation, said)
