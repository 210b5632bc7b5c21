"""What the handouts say is true of the network at hand, and self-contained.

Every count and plural comes from the data (no "all 1", "the 1 cancellation steps", "1 paths"),
no sentence speaks of other outputs when there is one, or of several paths where a parameter has
one; the handouts, ``--help`` and the README name the two conventions (letter notation, layer
notation) instead of citing the test seeds; and the gallery's "About the source" notes list each
place where the derivation they reproduce is wrong, with the corrected form.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from symbackprop import derive
from symbackprop.cli import cli
from symbackprop.gallery import GALLERY, SOURCE_NOTES, index
from symbackprop.handout.render import render_latex, render_markdown

ROOT = Path(__file__).resolve().parents[1]

NETWORKS = {
    "2-2-1": ("2-2-1", {}),  # a single output
    "3-2": ("3-2", {}),  # no hidden layer
    "3-4-2": ("3-4-2", {}),  # a single hidden layer
    "2-2-2-2-1": ("2-2-2-2-1", {}),  # deep, a single output
    "4-3-2-1-layers-bce-bias": ("4-3-2-1", dict(notation="layers", loss="bce", bias=True)),
    "2-3-3-ce": ("2-3-3", dict(loss="ce")),
    "1-1": ("1-1", {}),  # one parameter, one local factor
    "1-1-bias-bce-1-point": ("1-1", dict(bias=True, loss="bce", notation="layers", points=1)),
}
SINGLE_OUTPUT = {"2-2-1", "2-2-2-2-1", "4-3-2-1-layers-bce-bias", "1-1", "1-1-bias-bce-1-point"}
HANDOUTS = [*NETWORKS, *(f"{name}:full" for name in NETWORKS)]  # concise (the default) and --detail full

# Counts written as numbers where the word needs the other number, and internal names.
FORBIDDEN = [
    r"\ball 1 ", r"\bthe 1 ", r"\b1 paths\b", r"\b1 steps\b", r"\b1 parameters\b", r"\b1 weights\b",
    r"\b1 biases\b", r"\b1 gradients\b", r"\b1 points\b", r"\b1 neurons\b", r"\b1 outputs\b",
    r"\b1 local factors\b", r"\b1 entries\b", r"\b1 deltas\b", r"\b0 biases\b",
    r"[Ss]eed 0", r"[Ss]eed 00", r"seed\\? ?00[01]", r"input layer",
]


@pytest.fixture(scope="module")
def handouts():
    texts = {}
    for name, (spec, options) in NETWORKS.items():
        derivation = derive(spec, **options)
        texts[name] = (derivation, render_markdown(derivation), render_latex(derivation))
        texts[f"{name}:full"] = (derivation, render_markdown(derivation, detail="full"), render_latex(derivation, detail="full"))
    return texts


def sections(md: str) -> list[str]:
    """The Markdown handout cut at its '## ' headings (one section per layer)."""
    return re.split(r"(?m)^## ", md)


@pytest.mark.parametrize("name", HANDOUTS)
def test_no_count_or_plural_is_wrong_and_no_internal_name(handouts, name):
    _, md, tex = handouts[name]
    for text in (md, tex):
        for pattern in FORBIDDEN:
            found = re.search(pattern, text)
            assert not found, f"{name}: {pattern!r} in …{text[max(0, found.start() - 80):found.end() + 80]}…"


@pytest.mark.parametrize("name", sorted([*SINGLE_OUTPUT, *(f"{name}:full" for name in SINGLE_OUTPUT)]))
def test_a_single_output_network_has_no_other_outputs(handouts, name):
    _, md, tex = handouts[name]
    for text in (md, tex):
        assert "other outputs" not in text and "other output " not in text
        assert "per output neuron" not in text  # the total error has one term
        assert "the outputs" not in text.replace("the output layer", "")


@pytest.mark.parametrize("name", HANDOUTS)
def test_several_paths_only_where_a_parameter_has_several(handouts, name):
    derivation, md, _ = handouts[name]
    paths = {g.parameter.layer: g.n_paths for g in derivation.gradients}
    for gradient in derivation.gradients:  # the count the handout states is the count of every parameter of the layer
        assert gradient.n_paths == paths[gradient.parameter.layer]
    for section in sections(md):
        heading = re.match(r"\d+\. Layer (\d+)", section)
        if not heading:
            continue
        n = paths[int(heading.group(1))]
        if n == 1:
            assert "several paths" not in section and " paths," not in section, section[:200]
            assert "reaches the error along one path" in section
        else:
            assert f"reaches the error along {n} paths" in section


def test_the_sentences_of_a_layer_follow_its_sizes(handouts):
    _, md, tex = handouts["4-3-2-1-layers-bce-bias:full"]
    for text in (md, tex):  # the output layer's neuron is worked step by step in the full handout only
        assert "The neuron of this layer, step by step." in text
    _, md, tex = handouts["4-3-2-1-layers-bce-bias"]
    for text in (md, tex):
        # layer 3 is one neuron; layer 2 feeds it alone; layer 1 feeds the two of layer 2
        assert "The neuron of this layer, step by step." not in text
        assert "Its output feeds the one neuron of layer 3, so the gradient flows back from that neuron alone:" in text
        assert "feeds both neurons of layer 2, so the weight reaches the error along 2 paths" in text
        assert "2 paths, both ending at the output $\\hat{y}_{1}$" in text
        assert "the cancellation step of the output delta is proven too" in text
        assert "from the delta of layer 3" in text and "from the deltas of layer 2" in text
        assert "layer 1 is the first hidden layer" in text
    _, md, _ = handouts["2-2-1"]
    assert "A weight of the output layer changes the net input of the one output neuron" in md
    assert "whose output feeds the one neuron of layer 2, so the weight reaches the error along one path" in md
    assert "(for a bias: 1)" not in md  # no biases
    _, md, _ = handouts["3-4-2"]
    assert "the other output does not depend on the weight, so its error term contributes 0" in md
    assert "2 paths, one to each of the outputs $c_1$ and $c_2$" in md
    _, md, _ = handouts["2-3-3-ce"]
    assert "changes all 3 outputs" in md and "9 paths, 3 to each of the outputs $c_1$, $c_2$ and $c_3$" in md
    # a path through the softmax names the net input it enters by and the output it leaves by
    assert r"$b_1 \to \mathrm{net}_{c_2} \to \mathrm{out}_{c_1}$" in md
    _, md, _ = handouts["1-1"]
    assert "**Parameters derived:** the network's only parameter, a weight." in md
    assert "for the one local factor" in md and "1 of 1 gradient proven" in md
    _, md, _ = handouts["1-1-bias-bce-1-point"]
    assert "all 2 (1 weight, 1 bias)" in md and "at 1 random point " in md
    _, md, _ = handouts["1-1-bias-bce-1-point:full"]
    assert "Then the weight into this neuron, and its bias, take the same gradient" in md


@pytest.mark.parametrize("name", HANDOUTS)
def test_the_conventions_are_named_by_what_they_are(handouts, name):
    derivation, md, tex = handouts[name]
    notation = "layer notation ($a^{[k]}$, $W^{[k]}_{i,j}$)" if derivation.spec.notation == "layers" else "letter notation ($"
    assert notation in md and notation in tex
    assert "About the source" not in md and "About the source" not in tex  # only the gallery adds it
    assert "(drawn with `--seed=0`)" in md


def test_letter_notation_shows_the_networks_own_names(handouts):
    _, md, _ = handouts["2-2-1"]
    assert r"letter notation ($\mathrm{out}_{c_1}$, $w_{21}$)" in md
    md = render_markdown(derive("2-4-3-2", only=["w_31"]))
    assert r"letter notation ($\mathrm{out}_{d_1}$, $w_{31}$)" in md


def test_help_readme_and_gallery_titles_do_not_cite_the_seeds():
    runner = CliRunner()
    for command in ([], ["derive"], ["verify"], ["example"], ["codegen"], ["check"], ["gallery"]):
        result = runner.invoke(cli, [*command, "--help"])
        assert result.exit_code == 0, result.output
        assert not re.search(r"[Ss]eed 00", result.output), command
    assert re.search(r"letter\s+notation", runner.invoke(cli, ["derive", "--help"]).output)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", "", readme, flags=re.S)  # the commands and their output stay as they are
    assert not re.search(r"[Ss]eed 00", prose)
    assert not re.search(r"[Ss]eed 00", index())
    assert not [entry.title for entry in GALLERY if re.search(r"[Ss]eed", entry.title) and "exercise" not in entry.folder]


def noted(folder: str, spec: str, **options) -> list[str]:
    derivation = derive(spec, **options)
    note = next(entry.source_note for entry in GALLERY if entry.folder == folder)
    assert note is SOURCE_NOTES[folder]
    texts = [render_markdown(derivation, source_note=note), render_latex(derivation, source_note=note)]
    for text in texts:
        assert text.count("About the source") == 1
        assert text.index("About the source") > text.index("How this was checked")  # at the end
    return [text[text.index("About the source"):] for text in texts]


def test_the_2_4_3_2_note_lists_each_correction():
    note = SOURCE_NOTES["2-4-3-2"]
    assert len(note["corrections"]) == 3
    for text in noted("2-4-3-2", "2-4-3-2", only=["w_31"]):
        assert "letter notation" in text and "It is wrong in 3 places" in text
        # eq (18): out_{c_1} twice; the right sum has out_{c_1}, out_{c_2}, out_{c_3}, each once
        assert "eq. (18)" in text
        assert r"w_{3x}\,\mathrm{out}_{c_2} + w_{3x}\,\mathrm{out}_{c_1}" in text
        assert (r"\mathrm{net}_{d_1} = w_{31}\,\mathrm{out}_{c_1} + w_{32}\,\mathrm{out}_{c_2} "
                r"+ w_{33}\,\mathrm{out}_{c_3}") in text
        # the prose's w_34 "between c_1 and d_1" is c_1 -> d_2
        assert "$w_{34}$ connects $c_1$ to $d_2$" in text and "connection between $c_1$ and $d_1$" in text
        assert r"\frac{\partial E_{\mathrm{total}}}{\partial w_{31}}" in text  # the dropped ∂ restored


def test_the_4_3_2_1_note_lists_each_correction():
    note = SOURCE_NOTES["4-3-2-1-layers-bce-bias"]
    assert len(note["corrections"]) == 6
    for text in noted("4-3-2-1-layers-bce-bias", "4-3-2-1", notation="layers", loss="bce", bias=True, only=["W^{[3]}_{1,1}"]):
        assert "layer notation" in text and "It is wrong in 6 places" in text
        # the sigmoid, and the two sign slips of its derivative that cancel
        assert r"\frac{1}{1 - e^{-z}}" in text and r"\sigma(z) = \frac{1}{1 + e^{-z}}" in text
        assert r"\frac{d}{dz}(1 - e^{-z}) = -e^{-z}" in text and r"= 1 - a" in text and "cancel" in text
        assert r"\frac{e^{-z}}{(1 + e^{-z})^{2}}" in text and "a(1 - a)" in text
        # b^{[1]} "has the shape 1x2" is b^{[2]}
        assert r"$b^{[1]}$ has the shape $1 \times 2$" in text and r"$b^{[2]}$ has the shape $1 \times 2$" in text
        # ∂L/∂a_2^{[1]} takes row 2 of W^{[2]}, not row 3
        assert r"W^{[2]}_{3,1} \;\; W^{[2]}_{3,2}" in text and r"W^{[2]}_{2,1} \;\; W^{[2]}_{2,2}" in text
        # layer 1 is no input layer
        assert "the input layer" in text and "layer 1 is the first hidden layer" in text
        assert r"z^{[3]} = a^{[2]} W^{[3]} + b^{[3]}" in text


def test_note_text_is_escaped_and_math_kept():
    derivation = derive("2-2-1", only=["w_21"])
    note = {"summary": "A source with 50% & $x_1$ *stars*.", "corrections": [("It writes $a$_b", "$b$")]}
    md = render_markdown(derivation, source_note=note)
    tex = render_latex(derivation, source_note=note)
    assert r"A source with 50% \& $x_1$ \*stars\*. It is wrong in 1 place; this handout has the corrected form:" in md
    assert r"* It writes $a$\_b. Correct: $b$." in md
    assert r"A source with 50\% \& $x_1$ *stars*. It is wrong in 1 place;" in tex
    with pytest.raises(ValueError, match="unpaired"):
        render_markdown(derivation, source_note={"summary": "one $ sign", "corrections": []})


def test_exercise_sheet_says_one_path_for_a_one_path_gradient():
    from symbackprop.handout.exercise import exercise_context
    from symbackprop.handout.render import environment

    data = exercise_context(derive("2-2-1"), seed=1)
    for kind in ("md", "tex"):
        sheet = environment(kind).get_template(f"exercise.{kind}.j2").render(dict(data, solutions=False))
        chains = [t for t in data["tasks"] if t["kind"] == "chain"]
        for task in chains:
            if len(task["paths"]) == 1:
                assert f"{task['gradient']}$ is the product of the local derivatives along its one path" in sheet
            else:
                assert f"{task['gradient']}$ is a sum over its {len(task['paths'])} paths" in sheet
        assert "sum over paths" not in sheet
