"""Concise by default, complete on request (``derive --detail``), and the steps a student needs.

The concise handout works one parameter per layer in full (drawing, Leibniz form, values, the
factoring into its delta) and gives every parameter of the layer in one block: its path sum in
values and its delta form, each with its check. ``--detail full`` gives every parameter its own
section. After a path sum the shared factors are taken out before the delta is named, and a hidden
layer's ∂E/∂out is derived from the next layer's deltas; each such step is proven before it is
printed.
"""

from __future__ import annotations

import json
import re

import pytest
import sympy
from click.testing import CliRunner

from symbackprop import derive
from symbackprop.algebra.expressions import Partial
from symbackprop.cli import cli
from symbackprop.handout.render import _Context, broken, printed_width, render_latex, render_markdown
from symbackprop.handout.latex import to_latex
from symbackprop.proof.prove import VerificationError

CASES = {  # name: (spec, options): letter, layer and column notation, shared bias, softmax, one output, deep
    "2-4-3-2": ("2-4-3-2", {}),
    "4-3-2-1-layers": ("4-3-2-1", dict(notation="layers", loss="bce", bias=True)),
    "2-3-2-columns": ("2-3-2", dict(notation="columns", loss="bce", bias=True, batch=2)),
    "2-3-2-shared": ("2-3-2", dict(bias=True, shared_bias=True)),
    "2-3-3-ce": ("2-3-3", dict(loss="ce", bias=True)),
    "3-2-1": ("3-2-1", dict(bias=True)),
    "2-2-2-2-2": ("2-2-2-2-2", dict(bias=True)),
}


@pytest.fixture(scope="module")
def derivations():
    return {name: derive(spec, **options) for name, (spec, options) in CASES.items()}


def joined(md: str) -> str:
    """The Markdown with each broken display row joined back to its row before (``broken``'s leads)."""
    return re.sub(r" \\\\\n&\\q?quad ", " ", md)


def products(derivation, gradient) -> list[str]:
    names = derivation.model.latex_names
    return [to_latex(path.product, names) for path in gradient.paths]


@pytest.mark.parametrize("name", CASES)
def test_concise_works_one_parameter_per_layer_and_lists_every_one(derivations, name):
    d = derivations[name]
    md, full = render_markdown(d), render_markdown(d, detail="full")
    depth = d.spec.depth
    assert md.count("### One parameter worked in full: ") == depth
    assert md.count("**Every parameter of layer ") == depth
    assert "One parameter worked in full" not in full and "**Every parameter of layer" not in full
    assert full.count("\n### $") == len(d.gradients)  # one section per parameter
    marks = re.findall(r"\\text\{\((worked above; )?(symbolic|numeric)\)\}", md)
    assert len(marks) == len(d.gradients) and sum(1 for worked, _ in marks if worked) == depth
    assert {method for _, method in marks} == {d.verification.method(g.parameter.symbol) for g in d.gradients}
    flat = joined(md)
    names = d.model.latex_names
    for gradient in d.gradients:  # every parameter: its delta form, and its path sum in values, in the block
        lhs = to_latex(Partial(d.model.loss_symbol, gradient.parameter.symbol), names)
        delta = to_latex(gradient.delta_form, names)
        assert delta in flat, (gradient.parameter.symbol, delta)
        if gradient.paths is not None:
            terms = products(d, gradient)
            written = [t if n == 0 or not t.startswith("- ") else t[2:] for n, t in enumerate(terms)]
            assert all(term in flat for term in written), gradient.parameter.symbol
        assert f"&{lhs} = " in flat
    for text in (md, render_latex(d)):
        assert "Steps shown" in text or depth == 1


def test_the_block_says_how_each_weight_is_wired(derivations):
    md = render_markdown(derivations["2-4-3-2"])
    # w_34 is c_1 -> d_2 (the source derivation calls it the c_1-d_1 connection)
    assert r"$w_{31}$ ($c_1 \to d_1$), $w_{32}$ ($c_2 \to d_1$), $w_{33}$ ($c_3 \to d_1$), $w_{34}$ ($c_1 \to d_2$)" in md
    assert r"$w_{2,12}$ ($b_4 \to c_3$)." in md and r"$w_{18}$ ($a_2 \to b_4$)." in md


def test_the_json_keeps_every_chain_rule_form(tmp_path):
    result = CliRunner().invoke(cli, ["derive", "2-4-3-2", "--format", "md,json", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "derivation.json").read_text())
    assert len(data["parameters"]) == 26
    assert all(p["chain_rule"] and p["form"] == "path_sum" and p["path_terms"] for p in data["parameters"])
    # concise: the drawings the Markdown links, one per layer, and no other
    svgs = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert svgs == ["network-w_11.svg", "network-w_21.svg", "network-w_31.svg", "network.svg"]
    md = (tmp_path / "derivation.md").read_text()
    assert sorted(re.findall(r"\]\(([^)]+\.svg)\)", md)) == svgs
    assert "and 4 SVG diagrams beside derivation.md" in result.output


def test_detail_full_gives_a_section_and_a_drawing_per_parameter(tmp_path):
    result = CliRunner().invoke(cli, ["derive", "2-4-3-2", "--detail", "full", "--format", "md", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    md = (tmp_path / "derivation.md").read_text()
    assert md.count("\n### $w_{") == 26 and len(list(tmp_path.glob("network-*.svg"))) == 26
    bad = CliRunner().invoke(cli, ["derive", "2-2-1", "--detail", "short"])
    assert bad.exit_code == 2 and "short" in bad.output
    with pytest.raises(ValueError, match="unknown detail"):
        render_markdown(derive("2-2-1"), detail="short")


def test_a_two_path_sum_is_factored_before_its_delta_is_named(derivations):
    md = joined(render_markdown(derivations["2-4-3-2"]))
    start = md.index("### One parameter worked in full: $w_{21}$")
    section = md[start:md.index("**Every parameter of layer 2", start)]
    assert r"Every path ends in the same factors, $\frac{\partial \mathrm{out}_{c_1}}{\partial \mathrm{net}_{c_1}} \cdot \frac{\partial \mathrm{net}_{c_1}}{\partial w_{21}}$" in section
    assert r"the bracket is $\frac{\partial E_{\mathrm{total}}}{\partial \mathrm{out}_{c_1}}$" in section
    shared = (r"[\left(\mathrm{out}_{d_1} - \mathrm{target}_{d_1}\right) \cdot \mathrm{out}_{d_1} \left(1 - \mathrm{out}_{d_1}\right) \cdot w_{31}"
              r" + \left(\mathrm{out}_{d_2} - \mathrm{target}_{d_2}\right) \cdot \mathrm{out}_{d_2} \left(1 - \mathrm{out}_{d_2}\right) \cdot w_{34}]"
              r" \cdot \mathrm{out}_{c_1} \left(1 - \mathrm{out}_{c_1}\right) \cdot \mathrm{out}_{b_1} = \delta_{c_1} \cdot \mathrm{out}_{b_1}")
    assert shared in section.replace(r"] \\" + "\n" + r"&\qquad \cdot", r"] \cdot")
    assert "are its delta, so" not in section  # the old shortcut


def test_letter_notation_derives_each_hidden_outputs_gradient(derivations):
    md = render_markdown(derivations["2-4-3-2"])
    hidden = re.findall(r"\*\*The first neuron, step by step\*\*", md)
    assert len(hidden) == 2  # layers 2 and 1; the output layer's delta is derived in its block
    assert (r"\frac{\partial E_{\mathrm{total}}}{\partial \mathrm{out}_{c_1}} = \frac{\partial \mathrm{net}_{d_1}}{\partial \mathrm{out}_{c_1}}"
            r" \cdot \frac{\partial E_{\mathrm{total}}}{\partial \mathrm{net}_{d_1}} + \frac{\partial \mathrm{net}_{d_2}}{\partial \mathrm{out}_{c_1}}"
            r" \cdot \frac{\partial E_{\mathrm{total}}}{\partial \mathrm{net}_{d_2}} = w_{31} \cdot \delta_{d_1} + w_{34} \cdot \delta_{d_2}") in md
    assert r"= w_{21} \cdot \delta_{c_1} + w_{25} \cdot \delta_{c_2} + w_{29} \cdot \delta_{c_3}" in md


def test_every_new_step_is_proven_and_a_wrong_one_is_refused(derivations):
    d = derivations["2-4-3-2"]
    context = _Context(d)
    data = context.build(None)
    # 2 hidden outputs' gradients; per worked multi-path parameter: factoring, delta, bracket
    assert data["verification"]["steps_upstream"] == 2 and data["verification"]["steps_factoring"] == 6
    out = d.model.out[1][0]
    truth = context.upstream_truth(out)
    with pytest.raises(VerificationError):
        context.prove(truth + d.model.weights[2][0][0], truth, "a wrong step")
    # the truth side multiplies local factor values along every path: it has no delta in it
    assert not truth.free_symbols & {delta.symbol for delta in d.deltas}
    assert len(sympy.Add.make_args(sympy.expand(truth))) > 6


def test_broken_rows_fit_and_keep_every_term():
    terms = [("", ["x_{%d}" % n, r"\frac{a}{b}"]) for n in range(1)] + [("+", ["y_{%d}" % n] * 12) for n in range(5)]
    rows = broken(r"\frac{\partial E}{\partial w}", terms, width=40)
    assert len(rows) > 1 and all(printed_width(r) <= 40 for r in rows[1:])
    text = " ".join(rows)
    assert text.count("y_{3}") == 12 and text.count("+") == 5
