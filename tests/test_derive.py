"""Every chain-rule form, on random networks, equals sympy.diff of an independently built E_total."""

import json

import pytest
import sympy
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from reference import agree_numerically, expanded_loss, parse, substitute_definitions

from symbackprop import derive
from symbackprop.algebra.exact import are_equal
from symbackprop.handout.render import derivation_json, render_markdown

networks = st.tuples(
    st.lists(st.integers(1, 3), min_size=2, max_size=5).map(lambda sizes: "-".join(map(str, sizes))),
    st.booleans(),
)


def check_against_reference(spec: str, bias: bool, sample=None, **options) -> dict:
    """Derive, read derivation.json back, and compare every form of every parameter (or of the
    parameters named in ``sample``) with sympy.diff of the reference E_total."""
    derivation = derive(spec, bias=bias, **options)
    data = json.loads(json.dumps(derivation_json(derivation)))  # read back as a program would
    loss = expanded_loss(data["primary"], data["layers"], data["activations"], data["loss"])
    definitions = data["definitions"]
    for parameter in data["parameters"]:
        if sample is not None and parameter["symbol"] not in sample:
            continue
        truth = sympy.diff(loss, sympy.Symbol(parameter["symbol"], real=True))
        forms = [parameter["chain_rule"], parameter["delta_form"]] + (parameter["path_terms"] and [" + ".join(parameter["path_terms"])] or [])
        checked = []
        for form in forms:
            gradient = substitute_definitions(parse(form, definitions), definitions)
            if gradient in checked:  # the chain rule is the path sum when the paths are written out
                continue
            checked.append(gradient)
            assert gradient.free_symbols <= loss.free_symbols, form
            assert agree_numerically(gradient, truth), (spec, parameter["symbol"], form)
            assert are_equal(gradient, truth), (spec, parameter["symbol"], form)
    return data


def _random_networks(shard: int):
    """Four random networks per shard, three shards (12 in all): pytest-xdist runs the shards on
    different cores, where one test of 12 examples kept one core busy for minutes."""

    @seed(shard)
    @settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(networks)
    def test(network):
        spec, bias = network
        data = check_against_reference(spec, bias)
        assert len(data["parameters"]) == sum(a * b for a, b in zip(data["layers"], data["layers"][1:])) + (
            sum(data["layers"][1:]) if bias else 0
        )

    return test


test_random_networks_up_to_four_computed_layers_0 = _random_networks(0)
test_random_networks_up_to_four_computed_layers_1 = _random_networks(1)
test_random_networks_up_to_four_computed_layers_2 = _random_networks(2)


@pytest.mark.parametrize("spec, bias", [("2-4-3-2", False), ("3-2-2", True), ("1-1-1-1-1", True), ("2-3-1", False)])
def test_fixed_networks(spec, bias):
    check_against_reference(spec, bias)


def test_delta_forms_only_on_a_larger_network():
    """Past the detail limit, only representative weights get path sums; every form still proven."""
    data = check_against_reference("4-6-6-2", False, sample={"w_11", "w_21", "w_31", "w_1_24", "w_2_36"}, proof="numeric")
    with_paths = [p for p in data["parameters"] if p["path_terms"] is not None]
    assert {p["symbol"] for p in with_paths} == {"w_11", "w_21", "w_31"}
    assert all(p["verified"] == "numeric" for p in data["parameters"])


def test_bias_gradient_is_the_delta(seed000):
    derivation = derive("2-2-1", bias=True)
    gradient = derivation.gradient("b_c_1")
    assert gradient.delta_form.doit() == sympy.Symbol("delta_c_1", real=True)
    assert gradient.input_factor.value == 1


def test_softplus_nets_are_proven_symbolically_by_default():
    derivation = derive("2-3-2-2", activation="softplus")
    assert all(derivation.verification.method(g.parameter.symbol) == "symbolic" for g in derivation.gradients)
    assert derivation.verification.unproven == {}


def test_a_symbolic_proof_out_of_time_leaves_the_numeric_check(monkeypatch):
    """No symbolic proof in time is not a failure: the parameter is "numeric" and says why."""
    from symbackprop.proof import prove as verify_module

    monkeypatch.setattr(verify_module, "PROOF_SECONDS", 1e-4)
    derivation = derive("2-2-1")
    assert set(derivation.verification.unproven.values()) == {"timeout"}
    data = derivation_json(derivation)
    assert {p["verified"] for p in data["parameters"]} == {"numeric"}
    assert {p["symbolic_proof"] for p in data["parameters"]} == {"timeout"}
    text = render_markdown(derivation)
    assert "no symbolic proof: SymPy ran out of time for it and was stopped" in text
    assert "proven identical to" not in text.splitlines()[2]
