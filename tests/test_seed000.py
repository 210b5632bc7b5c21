"""Seed 000's hand derivation for the 2-4-3-2 network, reproduced term by term, and its typos fixed."""

import json

import sympy

from symbackprop.algebra.expressions import Partial
from symbackprop.handout.render import derivation_json, render_latex, render_markdown

S = lambda name: sympy.Symbol(name, real=True)  # noqa: E731
out = lambda label: S(f"out_{label}")  # noqa: E731
net = lambda label: S(f"net_{label}")  # noqa: E731
target = lambda label: S(f"target_{label}")  # noqa: E731
E = S("E_total")


def test_numbering_matches_seed_000(seed000):
    parameters = {p["symbol"]: p for p in derivation_json(seed000)["parameters"]}
    assert (parameters["w_31"]["from"], parameters["w_31"]["to"]) == ([2, 1], [3, 1])  # c_1 -> d_1
    assert (parameters["w_34"]["from"], parameters["w_34"]["to"]) == ([2, 1], [3, 2])  # c_1 -> d_2
    assert (parameters["w_21"]["from"], parameters["w_21"]["to"]) == ([1, 1], [2, 1])  # b_1 -> c_1


def test_eq_11_and_eqs_12_to_15_for_w31(seed000):
    (path,) = seed000.gradient("w_31").paths
    # eq (11): the three named factors
    assert [f.partial for f in path.factors] == [
        Partial(E, out("d_1")),
        Partial(out("d_1"), net("d_1")),
        Partial(net("d_1"), S("w_31")),
    ]
    # eqs (12)-(14): their values
    assert [f.value for f in path.factors] == [
        out("d_1") - target("d_1"),
        out("d_1") * (1 - out("d_1")),
        out("c_1"),
    ]
    # eq (15)
    eq15 = (out("d_1") - target("d_1")) * out("d_1") * (1 - out("d_1")) * out("c_1")
    assert path.value == eq15
    assert seed000.gradient("w_31").chain_rule == eq15


def test_eqs_22_to_25_for_w21(seed000):
    gradient = seed000.gradient("w_21")
    assert gradient.n_paths == 2
    through_d1, through_d2 = gradient.paths
    assert [n.layer for n in through_d1.neurons] == [2, 3]
    # eq (22): five named factors along b_1 -> c_1 -> d_1
    assert through_d1.leibniz.factors == (
        Partial(E, out("d_1")),
        Partial(out("d_1"), net("d_1")),
        Partial(net("d_1"), out("c_1")),
        Partial(out("c_1"), net("c_1")),
        Partial(net("c_1"), S("w_21")),
    )
    # eq (23)
    eq23 = (out("d_1") - target("d_1")) * out("d_1") * (1 - out("d_1")) * S("w_31") * out("c_1") * (1 - out("c_1")) * out("b_1")
    # eq (25): through d_2 the weight that matters is w_34 (c_1 -> d_2)
    eq25 = (out("d_2") - target("d_2")) * out("d_2") * (1 - out("d_2")) * S("w_34") * out("c_1") * (1 - out("c_1")) * out("b_1")
    assert (through_d1.value, through_d2.value) == (eq23, eq25)
    assert gradient.chain_rule == eq23 + eq25


def test_seed_000s_typos_are_not_copied(seed000):
    # eq (18) lists out_{c_1} twice in net_{d_1}; each c neuron appears once, with its own weight
    definition = seed000.model.definitions[net("d_1")]
    assert definition == S("w_31") * out("c_1") + S("w_32") * out("c_2") + S("w_33") * out("c_3")
    # the prose calls w_34 "the connection between c_1 and d_1"; it connects c_1 to d_2
    md = render_markdown(seed000, detail="full")
    assert "### $w_{34}$ (from $c_1$ to $d_2$)" in md
    assert "### $w_{31}$ (from $c_1$ to $d_1$)" in md
    assert r"$w_{34}$ ($c_1 \to d_2$)" in render_markdown(seed000)  # the concise handout's wiring line


def test_handouts_contain_eq_15_23_and_25(seed000):
    eq15 = (
        r"\left(\mathrm{out}_{d_1} - \mathrm{target}_{d_1}\right) \cdot \mathrm{out}_{d_1} "
        r"\left(1 - \mathrm{out}_{d_1}\right) \cdot \mathrm{out}_{c_1}"
    )
    eq23 = eq15.replace(r"\mathrm{out}_{c_1}", r"w_{31} \cdot \mathrm{out}_{c_1} \left(1 - \mathrm{out}_{c_1}\right) \cdot \mathrm{out}_{b_1}")
    eq25 = eq23.replace("d_1", "d_2").replace("w_{31}", "w_{34}")
    for text in (render_markdown(seed000), render_latex(seed000)):
        assert eq15 in text and eq23 in text and eq25 in text


def test_json_paths_and_forms(seed000):
    data = json.loads(json.dumps(derivation_json(seed000)))
    by_symbol = {p["symbol"]: p for p in data["parameters"]}
    assert [by_symbol[w]["paths"] for w in ("w_31", "w_21", "w_11")] == [1, 2, 6]
    assert by_symbol["w_21"]["delta_form"] == "delta_c_1*out_b_1"
    assert all(p["verified"] == "symbolic" for p in data["parameters"])
