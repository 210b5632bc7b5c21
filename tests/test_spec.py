import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symbackprop.network.spec import (
    NetworkSpec,
    SpecError,
    parse_activations,
    parse_layers,
)


@pytest.mark.parametrize(
    "text, layers",
    [("2-4-3-2", (2, 4, 3, 2)), ("784-30-10", (784, 30, 10)), ("1-1", (1, 1)), ("4-3-2-1", (4, 3, 2, 1))],
)
def test_valid_specs(text, layers):
    assert parse_layers(text) == layers
    assert NetworkSpec.parse(text).text == text


@pytest.mark.parametrize("text", ["2-0-3", "abc", "5", "2--3", "2-4.5-2", "", "-2-3", "2-3-", "2,3", "2 - 3", "٣-٤"])
def test_malformed_specs_name_the_problem_and_the_form(text):
    with pytest.raises(SpecError) as error:
        parse_layers(text)
    message = str(error.value)
    assert "\n" not in message
    assert "e.g. 2-4-3-2" in message


def test_a_network_too_large_to_hold_is_refused():
    with pytest.raises(SpecError, match="at most"):
        parse_layers("100000-100000")


def test_counts_of_seed_000s_network():
    spec = NetworkSpec.parse("2-4-3-2")
    assert (spec.depth, spec.n_weights, spec.n_biases, spec.n_parameters) == (3, 26, 0, 26)
    assert NetworkSpec.parse("4-3-2-1", bias=True).n_parameters == 12 + 6 + 2 + 3 + 2 + 1


def test_activation_lists_need_one_name_per_computed_layer():
    assert parse_activations("sigmoid,sigmoid", 2) == ("sigmoid", "sigmoid")
    with pytest.raises(SpecError, match="3 computed layers"):
        parse_activations("sigmoid,sigmoid", 3)
    with pytest.raises(SpecError, match="unknown activation"):
        parse_activations("swish", 2)


def test_unknown_loss_and_notation():
    with pytest.raises(SpecError, match="unknown loss 'hinge'"):
        NetworkSpec.parse("2-2", loss="hinge")
    with pytest.raises(SpecError, match="unknown notation"):
        NetworkSpec.parse("2-2", notation="matrix")


@settings(max_examples=300)
@given(st.text(max_size=20))
def test_any_string_is_either_a_spec_or_a_spec_error(text):
    try:
        layers = parse_layers(text)
    except SpecError as error:
        assert "\n" not in str(error)
    else:
        assert re.fullmatch(r"[0-9]+(-[0-9]+)+", text.strip())
        assert all(n >= 1 for n in layers) and len(layers) >= 2


@pytest.mark.parametrize("activation", ["2", "z-z+1", "0*z", "tanh,2"])
def test_an_activation_that_ignores_z_is_refused(activation):
    with pytest.raises(SpecError, match="does not depend on z"):
        NetworkSpec.parse("2-2-1", activation=activation)


def test_softmax_needs_two_outputs():
    with pytest.raises(SpecError, match="needs at least 2 outputs"):
        NetworkSpec.parse("2-3-1", loss="ce")
    assert NetworkSpec.parse("2-3-2", loss="ce").activations == ("sigmoid", "softmax")
