"""Checking hand derivations: seed 000's gradients, seed 001's step chain, wrong variants."""

import math
import re

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop import derive
from symbackprop.algebra.grammar import FormulaError, parse_math
from symbackprop.checking.verify import (
    check_gradient,
    check_steps,
    propagated_rounding,
    rounding,
    split_chain,
    split_steps,
)
from symbackprop.network.spec import SpecError

EQ15 = r"(out_{d_1} - target_{d_1}) * out_{d_1} * (1 - out_{d_1}) * out_{c_1}"
EQ15_HANDOUT = (
    r"\left(\mathrm{out}_{d_1} - \mathrm{target}_{d_1}\right) \cdot \mathrm{out}_{d_1} "
    r"\left(1 - \mathrm{out}_{d_1}\right) \cdot \mathrm{out}_{c_1}"
)
EQ15_PLAIN = "(out_d1 - target_d1)*out_d1*(1 - out_d1)*out_c1"
EQ23 = r"(out_{d_1} - target_{d_1}) * out_{d_1} * (1 - out_{d_1}) * w_{31} * out_{c_1} * (1 - out_{c_1}) * out_{b_1}"
EQ25 = r"(out_{d_2} - target_{d_2}) * out_{d_2} * (1 - out_{d_2}) * w_{34} * out_{c_1} * (1 - out_{c_1}) * out_{b_1}"

# seed 001's g'_o(z_1^{[3]}) chain, with z for z_1^{[3]} and a for a_1^{[3]} = 1/(1 - e^{-z})
SEED_001_CHAIN = (
    r"\frac{d}{dz}\left(\frac{1}{1-e^{-z}}\right) = \frac{d}{dz}(1-e^{-z})^{-1} "
    r"= -1 \times (1-e^{-z})^{-2} \cdot (-e^{-z}) = \frac{e^{-z}}{(1-e^{-z})^2} "
    r"= \frac{1}{1-e^{-z}} \cdot \frac{e^{-z}}{1-e^{-z}} = a(1-a)"
)


def truth_at(derivation, parameter: str, point: dict) -> float:
    """∂E_total/∂parameter at ``point`` by sympy.diff of the expanded E_total (independent of the check);
    the point names only the symbols the gradient depends on."""
    m = derivation.model
    symbol = next(s for s in m.parameters if s.name == parameter)
    values = {s: sympy.Float(point[s.name], 30) for s in m.primary if s.name in point}
    return float(sympy.diff(m.expanded_loss, symbol).xreplace(values))


# -- seed 000: right answers -----------------------------------------------------------------------
@pytest.mark.parametrize("text", [EQ15, EQ15_HANDOUT, EQ15_PLAIN, r"\delta_{d_1} \cdot out_{c_1}"])
def test_seed_000_eq_15_is_accepted_for_w31(seed000, text):
    verdict = check_gradient(seed000, "w_{31}", text)
    assert verdict.correct and verdict.method == "symbolic"
    assert verdict.parameter == "w_{31}"
    assert verdict.point is None and verdict.terms == ()
    assert verdict.expected_latex == (EQ15_HANDOUT if r"\delta" not in text else r"\delta_{d_1} \cdot \mathrm{out}_{c_1}")


def test_seed_000_eqs_23_and_25_are_accepted_for_w21(seed000):
    for text in (f"{EQ23} + {EQ25}", f"{EQ25} + {EQ23}", r"\delta_{c_1} out_{b_1}",
                 r"(\delta_{d_1} w_{31} + \delta_{d_2} w_{34}) out_{c_1}(1 - out_{c_1}) out_{b_1}",
                 r"\frac{\partial E_{\mathrm{total}}}{\partial net_{c_1}} out_{b_1}"):
        verdict = check_gradient(seed000, "w_21", text)
        assert verdict.correct and verdict.method == "symbolic", text


def test_the_handouts_own_formula_parses_back_and_is_accepted_for_every_parameter(seed000):
    for gradient in seed000.gradients:
        name = seed000.model.latex_names[gradient.parameter.symbol]
        printed = check_gradient(seed000, name, "0").expected_latex
        verdict = check_gradient(seed000, name, printed)
        assert verdict.correct and verdict.method == "symbolic", name


def test_sigmoid_written_out_is_accepted(seed000):
    text = r"\sigma(net_{d_1})(1 - \sigma(net_{d_1})) (out_{d_1} - target_{d_1}) out_{c_1}"
    assert check_gradient(seed000, "w_31", text).correct
    text = r"\frac{e^{-net_{d_1}}}{(1 + e^{-net_{d_1}})^2} (out_{d_1} - target_{d_1}) out_{c_1}"
    assert check_gradient(seed000, "w_31", text).method == "symbolic"


# -- seed 000: wrong answers and their diagnosis ----------------------------------------------------
def test_eq_25_with_w31_instead_of_w34_is_rejected_with_the_right_diagnosis(seed000):
    verdict = check_gradient(seed000, "w_21", f"{EQ23} + {EQ25.replace('w_{34}', 'w_{31}')}")
    assert not verdict.correct
    assert verdict.diagnosis == ["the term through d_2 has a wrong weight: w_{31} where it needs w_{34}"]
    kinds = {term.route: term.kind for term in verdict.terms}
    assert kinds == {("d_1",): "matched", ("d_2",): "wrong"}
    # the point is a real witness: the true gradient there is the expected value, and differs from the written one
    assert math.isclose(truth_at(seed000, "w_21", verdict.point), verdict.expected_value, rel_tol=1e-9)
    assert not math.isclose(verdict.written_value, verdict.expected_value, rel_tol=1e-6)
    assert set(verdict.point) == {s.name for s in seed000.model.primary}


def test_the_d2_term_missing_is_named(seed000):
    verdict = check_gradient(seed000, "w_21", EQ23)
    assert not verdict.correct
    assert verdict.diagnosis == ["the term through d_2 is missing"]
    assert verdict.expected_latex.count(r"\cdot w_{34}") == 1


def test_wrong_factor_in_eq_15(seed000):
    verdict = check_gradient(seed000, "w_31", EQ15.replace("out_{c_1}", "out_{c_2}"))
    assert not verdict.correct
    assert verdict.diagnosis == ["your formula is the gradient of w_{32}, not of w_{31}"]
    assert [t.message for t in verdict.terms] == [
        r"the term through d_1 has a wrong factor: \mathrm{out}_{c_2} instead of \mathrm{out}_{c_1}"]
    assert math.isclose(truth_at(seed000, "w_31", verdict.point), verdict.expected_value, rel_tol=1e-9)


def test_sign_slip_extra_term_and_missing_factor(seed000):
    flipped = check_gradient(seed000, "w_31", EQ15.replace("(out_{d_1} - target_{d_1})", "(target_{d_1} - out_{d_1})"))
    assert flipped.diagnosis[0].startswith("the sign is flipped: your formula is the negative of the gradient")
    assert [t.message for t in flipped.terms] == ["the term through d_1 has the wrong sign"]
    assert math.isclose(flipped.written_value, -flipped.expected_value, rel_tol=1e-9)

    extra = check_gradient(seed000, "w_21", f"{EQ23} + {EQ25} + w_{{11}} out_{{a_1}}")
    assert extra.diagnosis == [r"the term \mathrm{out}_{a_1} w_{11} is extra: no path from w_{21} to the error gives it"]

    short = check_gradient(seed000, "w_21", f"{EQ23} + {EQ25.replace(' * out_{b_1}', '')}")
    assert short.diagnosis == [r"the term through d_2 has no factor \mathrm{out}_{b_1}"]

    doubled = check_gradient(seed000, "w_21", f"2 {EQ23} + {EQ25}")
    assert doubled.diagnosis == [r"∂E_{\mathrm{total}}/∂\mathrm{out}_{d_1} is twice what it should be: the ½ in "
                                 r"E_{\mathrm{total}} cancels the 2 from the square"]
    assert "the term through d_1 has the coefficient 2 instead of 1" in [t.message for t in doubled.terms]


def test_a_difference_below_float_tolerance_is_still_found_exactly(seed000):
    verdict = check_gradient(seed000, "w_21", r"(1 + 10^{-12}) \delta_{c_1} out_{b_1}")
    assert not verdict.correct and verdict.method == "symbolic"
    assert verdict.terms == ()  # one product, not a sum over paths
    assert verdict.written_value != verdict.expected_value


def test_related_functions_the_exact_test_cannot_see_fall_back_to_50_digits(seed000):
    # σ(x) = (1 + tanh(x/2))/2: true, but tanh and exp are independent variables to the exact test
    text = r"\frac{1 + \tanh(net_{d_1}/2)}{2} \left(1 - out_{d_1}\right) (out_{d_1} - target_{d_1}) out_{c_1}"
    verdict = check_gradient(seed000, "w_31", text)
    assert verdict.correct and verdict.method == "numeric"
    assert "cannot relate the functions" in verdict.note


def test_large_networks_are_checked_numerically_and_say_so():
    derivation = derive("2-8-8-2", only=["w_31"])
    right = check_gradient(derivation, "w_31", r"\delta_{d_1} out_{c_1}")
    assert right.correct and right.method == "numeric" and "over 50 parameters" in right.note
    wrong = check_gradient(derivation, "w_31", r"\delta_{d_2} out_{c_1}")
    assert not wrong.correct and wrong.point is not None


def test_errors_unknown_parameter_unknown_name_and_parse_error(seed000):
    with pytest.raises(SpecError, match=re.escape("unknown parameter 'w_{99}'")):
        check_gradient(seed000, "w_{99}", EQ15)
    with pytest.raises(FormulaError, match=r"unknown name 'out_\{e_1\}'"):
        check_gradient(seed000, "w_31", r"out_{e_1} * 2")
    with pytest.raises(FormulaError, match="at position 14: unexpected end of the formula"):
        check_gradient(seed000, "w_31", r"out_{d_1} * (")


# -- step chains -----------------------------------------------------------------------------------
def test_seed_001_chain_flags_step_2_as_the_first_wrong_step():
    verdict = check_steps(SEED_001_CHAIN, definitions={"a": r"\frac{1}{1-e^{-z}}"})
    assert [step.correct for step in verdict.steps] == [True, False, True, True, False]
    first = verdict.first_wrong
    assert first.number == 2
    assert first.left_text == r"\frac{d}{dz}(1-e^{-z})^{-1}"
    assert first.right_text == r"-1 \times (1-e^{-z})^{-2} \cdot (-e^{-z})"
    assert first.left_latex == r"- \frac{e^{- z}}{\left(1 - e^{- z}\right)^{2}}"
    assert first.right_latex == r"\frac{e^{- z}}{\left(1 - e^{- z}\right)^{2}}"
    # d/dz (1 - e^{-z}) = +e^{-z}: the two sides differ exactly by sign, at the reported point too
    z = sympy.Symbol("z", real=True)
    at = {z: first.point["z"]}
    assert math.isclose(first.left_value, float(sympy.diff(1 / (1 - sympy.exp(-z)), z).subs(at)), rel_tol=1e-12)
    assert math.isclose(first.right_value, -first.left_value, rel_tol=1e-12)
    # the second slip: e^{-z}/(1-e^{-z})^2 = a(a - 1), not a(1 - a); the two slips cancel
    assert verdict.steps[4].left_text.startswith(r"\frac{1}{1-e^{-z}}") and not verdict.steps[4].correct
    assert verdict.ends_agree is True
    assert not verdict.correct


def test_seed_001_chain_in_its_own_names_and_written_out():
    chain = (
        r"\frac{d}{dz_1^{[3]}}\left(\frac{1}{1 - e^{-z_1^{[3]}}}\right) = \frac{d}{dz_1^{[3]}} (1 - e^{-z_1^{[3]}})^{-1} "
        r"= -1 \times (1 - e^{-z_1^{[3]}})^{-2} \cdot (-e^{-z_1^{[3]}}) = \frac{e^{-z_1^{[3]}}}{(1 - e^{-z_1^{[3]}})^2} "
        r"= \frac{1}{1 - e^{-z_1^{[3]}}} \cdot \frac{e^{-z_1^{[3]}}}{1 - e^{-z_1^{[3]}}} = a_1^{[3]}(1 - a_1^{[3]})"
    )
    verdict = check_steps(chain, variables=["z_1^{[3]}"], definitions={"a_1^{[3]}": r"\frac{1}{1-e^{-z_1^{[3]}}}"})
    assert [step.correct for step in verdict.steps] == [True, False, True, True, False]
    written_out = SEED_001_CHAIN.replace("a(1-a)", r"\frac{1}{1-e^{-z}}\left(1 - \frac{1}{1-e^{-z}}\right)")
    assert check_steps(written_out).first_wrong.number == 2


def test_a_corrected_chain_is_all_right_and_proven():
    chain = (
        r"\frac{d}{dz}\left(\frac{1}{1+e^{-z}}\right) = \frac{d}{dz}(1+e^{-z})^{-1} "
        r"= -1 \times (1+e^{-z})^{-2} \cdot (-e^{-z}) = \frac{e^{-z}}{(1+e^{-z})^2} "
        r"= \frac{1}{1+e^{-z}} \cdot \frac{e^{-z}}{1+e^{-z}} = a(1-a)"
    )
    verdict = check_steps(chain, definitions={"a": r"\frac{1}{1+e^{-z}}"})
    assert verdict.correct and verdict.first_wrong is None
    assert {step.method for step in verdict.steps} == {"symbolic"}


def test_steps_in_the_networks_names(seed000):
    chain = (
        r"\frac{\partial net_{d_1}}{\partial w_{31}} = \frac{\partial}{\partial w_{31}}"
        r"\left(w_{31} out_{c_1} + w_{32} out_{c_2} + w_{33} out_{c_3}\right) = out_{c_1} = out_{c_2}"
    )
    verdict = check_steps(chain, derivation=seed000)
    assert [step.correct for step in verdict.steps] == [True, True, False]
    assert set(verdict.steps[2].point) >= {"out_a_1", "w_11"}
    assert "z" not in verdict.steps[2].point and "w_31" not in verdict.steps[2].point  # only what the step uses
    chain = r"\frac{\partial E_{total}}{\partial out_{d_1}} = \frac{\partial}{\partial out_{d_1}} \frac12 (target_{d_1} - out_{d_1})^2 = out_{d_1} - target_{d_1}"
    assert check_steps(chain, derivation=seed000).correct


def test_step_errors_point_into_the_whole_chain():
    with pytest.raises(FormulaError) as caught:
        check_steps(r"z^2 = 2 \cdot q")
    assert "at position 15: unknown name 'q'" in str(caught.value)
    assert caught.value.text == r"z^2 = 2 \cdot q"
    with pytest.raises(FormulaError, match="needs at least one '='"):
        check_steps(r"\frac{d}{dz} z^2")


def test_split_steps_only_at_top_level():
    assert [side for _, side in split_steps(r"a = \frac{b=c}{2} & = (d = e) \\ = f")] == [
        "a ", r" \frac{b=c}{2}   ", " (d = e)    ", " f"
    ]


# -- never a traceback --------------------------------------------------------------------------------
LEAVES = ["out_{d_1}", "w_{31}", r"\delta_{c_1}", "net_{d_2}", "E_{total}", "target_{d_1}", "2", "0", "0.5", "e",
          r"\frac{\partial}{\partial w_{31}}", r"\frac{d}{dz}", "z", "(", ")", "{", "}", "+", "-", r"\cdot", "/", "^",
          r"\sigma(", r"\log(", r"\sqrt{", "=", "10^{5}", r"\max(0,", "x", "_", "1/(out_{d_1}-out_{d_1})",
          "1e-3", "2.5E+4", r"\approx", "≈", "e^{1000}", "10^{-40}", "-1-z^2"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(LEAVES), min_size=1, max_size=12).map(" ".join))
def test_fuzzed_input_gives_a_verdict_or_a_formula_error(seed000, text):
    for check in (lambda: check_gradient(seed000, "w_21", text), lambda: check_steps(text, derivation=seed000)):
        try:
            verdict = check()
        except FormulaError as error:
            assert "\n" not in str(error)
        else:
            assert verdict.correct in (True, False, None)


# -- no false "right" (issue 18.3) -----------------------------------------------------------------
def test_overflow_is_not_agreement_e1000_is_not_2_e1000():
    step = check_steps("e^{1000} = 2 e^{1000}").steps[0]
    assert step.correct is False
    assert step.point == {}  # the formula has no variable: the witness names none
    assert step.right_value == 2 * step.left_value and step.left_value > sympy.Float("1e434")
    assert "float64 cannot evaluate a side" in step.note
    assert check_steps("e^{1000} = e^{1000}").correct is True
    assert check_steps(r"\frac{e^{1000}}{e^{999}} = e").correct is True


def test_sides_beyond_any_evaluation_still_differ_by_their_exact_ratio():
    """e^{100000} is past even the 50-digit evaluation's range: the exact ratio 1/2 proves the step wrong."""
    step = check_steps("e^{100000} = 2 e^{100000}").steps[0]
    assert step.correct is False and step.method == "symbolic"
    assert "their ratio is 0.5" in step.note
    assert step.right_value == 2 * step.left_value and step.left_value > sympy.Float("1e43429")
    with_variable = check_steps("e^{100000} z = 2 e^{100000} z").steps[0]
    assert with_variable.correct is False and set(with_variable.point) == {"z"}
    assert check_steps("e^{100000} z = z e^{100000}").correct is True


def test_undefined_everywhere_is_not_checked():
    verdict = check_steps("sqrt(-1-z^2) = 7 sqrt(-1-z^2)")
    step = verdict.steps[0]
    assert step.correct is None and verdict.correct is None
    assert verdict.first_wrong is None and verdict.unchecked == (step,)
    assert "neither side is a real number" in step.note
    assert check_steps(r"\log(-1-z^2) = 2 \log(-1-z^2)").correct is None


def test_a_side_undefined_where_the_other_is_real_is_a_difference():
    step = check_steps(r"\log(z^2) = 2 \log(z)").steps[0]
    assert step.correct is False and step.point["z"] < 0
    assert math.isnan(step.right_value) and step.left_value == pytest.approx(math.log(step.point["z"] ** 2))
    assert step.note == "the right side is not a real number there, the other side is"


def test_a_difference_below_float_resolution_is_found_exactly_z_plus_1e_minus_40():
    step = check_steps("z = z + 10^{-40}").steps[0]
    assert step.correct is False and step.method == "symbolic"
    assert set(step.point) == {"z"}
    assert step.right_value - step.left_value == pytest.approx(sympy.Float("1e-40", 50), rel=1e-6)
    assert "differ by -1.0e-40" in step.note and "below float64's resolution" in step.note
    assert check_steps("(1 + 10^{-1000}) e^z = e^z").correct is False


def test_an_exact_difference_overrides_numeric_agreement_in_param(seed000):
    verdict = check_gradient(seed000, "w_31", f"(1 + 10^{{-31}}) {EQ15}")
    assert verdict.correct is False and verdict.method == "symbolic"
    assert float(verdict.written_value) == float(verdict.expected_value)  # float64 cannot see it
    assert verdict.written_value != verdict.expected_value
    ratio = verdict.written_value / verdict.expected_value - 1
    assert ratio == pytest.approx(1e-31, rel=1e-6)
    assert "relative 1.0e-31" in verdict.note


def test_related_functions_still_fall_back_to_numbers_and_say_which(seed000):
    text = r"\frac{1 + \tanh(net_{d_1}/2)}{2} \left(1 - out_{d_1}\right) (out_{d_1} - target_{d_1}) out_{c_1}"
    verdict = check_gradient(seed000, "w_31", text)
    assert verdict.correct is True and verdict.method == "numeric"
    assert "cannot relate the functions used (exp, tanh)" in verdict.note
    assert "zero to 40 digits" in verdict.note


def test_a_rational_difference_is_decided_by_the_exact_test_alone():
    verdict = check_steps("(z + 1)^2 = z^2 + 2z + 1 + 10^{-60} z^{3}")
    assert verdict.correct is False and verdict.steps[0].method == "symbolic"


# -- numbers: scientific notation, rounding, tolerance (issues 18.3, 14.4) ---------------------------
@pytest.mark.parametrize("text", ["1e-3 = 0.001", "2.5E+4 = 25000", "1e3 = 1000", r"1e-3 z = \frac{z}{1000}",
                                  "e - 3 = e-3", "2e = e + e"])
def test_scientific_notation_is_a_number_and_e_alone_eulers(text):
    verdict = check_steps(text)
    assert verdict.correct is True and verdict.steps[0].method == "symbolic", text


ROUNDED = r"0.74136507 \times 0.186815602 \times 0.593269992 = 0.082167041"


def test_rounded_decimals_are_right_within_the_rounding_written():
    step = check_steps(ROUNDED).steps[0]
    assert step.correct is True and step.method == "numeric"
    assert step.tolerance == pytest.approx(5e-9 / 0.74136507 + 5e-10 / 0.186815602 + 5e-10 / 0.593269992
                                           + 5e-10 / 0.082167041)
    assert step.note.startswith("right up to the rounding of the numbers written (relative 1.6e-08")
    assert "0.74136507 ± 5e-09" in step.note


def test_one_digit_changed_is_wrong_and_the_witness_names_no_variable():
    step = check_steps(ROUNDED.replace("0.082167041", "0.082167141")).steps[0]
    assert step.correct is False and step.point == {}
    assert step.left_value == pytest.approx(0.74136507 * 0.186815602 * 0.593269992, rel=1e-15)
    assert step.right_value == 0.082167141
    assert "wrong even allowing for the rounding" in step.note


def test_approx_and_the_tolerance_option():
    for relation in (r"\approx", "≈"):
        verdict = check_steps(ROUNDED.replace("=", relation))
        assert verdict.correct is True and verdict.steps[0].relation == relation
    assert check_steps(ROUNDED, tolerance=0).correct is False  # the rounding not allowed: exactly, they differ
    assert check_steps(ROUNDED.replace("0.082167041", "0.0822"), tolerance=1e-3).correct is True
    assert "tolerance given (relative 0.001)" in check_steps("z = 1.0001 z", tolerance=1e-3).steps[0].note
    step = check_steps(r"z \approx z + z^2").steps[0]
    assert step.correct is False and "no rounded number is written" in step.note
    with pytest.raises(ValueError, match="tolerance"):
        check_steps(ROUNDED, tolerance=float("nan"))


def test_rounding_adds_relative_half_units_and_whole_numbers_are_exact():
    from fractions import Fraction

    from symbackprop.algebra.grammar import Literal

    literals = [Literal("0.5", Fraction(1, 2), Fraction(1, 20), 0), Literal("3", Fraction(3), None, 4),
                Literal("2.50", Fraction(5, 2), Fraction(1, 200), 8)]
    tolerance, least = rounding(literals)
    assert tolerance == pytest.approx(0.1 + 0.002) and least.text == "0.5"
    assert rounding([Literal("1e-3", Fraction(1, 1000), None, 0)]) == (0.0, None)


def test_split_chain_at_equals_and_approx():
    sides, relations = split_chain(r"a = b \approx c ≈ \approxeq")
    assert [side for _, side in sides] == ["a ", " b ", " c ", r" \approxeq"]
    assert relations == ["=", r"\approx", "≈"]


def test_the_witness_names_only_the_variables_the_formula_contains(seed000):
    step = check_steps("z = z^2", derivation=seed000).steps[0]
    assert set(step.point) == {"z"}
    step = check_steps("out_{d_1} = out_{d_2}", derivation=seed000).steps[0]
    assert "z" not in step.point and "target_d_1" not in step.point and "w_31" in step.point


# -- the handout's assumptions in --steps (issue 14.3) ------------------------------------------------
@pytest.fixture(scope="module")
def softmax_ce():
    return derive("2-2-2", loss="ce")


def test_softmax_ce_shortcut_is_right_in_steps_as_in_param(softmax_ce):
    chain = (r"\frac{\partial E_{total}}{\partial net_{c_1}} = out_{c_1} (target_{c_1} + target_{c_2}) - target_{c_1}"
             r" = out_{c_1} - target_{c_1}")
    verdict = check_steps(chain, softmax_ce)
    assert verdict.correct is True and verdict.ends_agree is True
    first, last = verdict.steps
    assert first.method == "symbolic" and first.note == ""  # true for any targets: no assumption needed
    assert last.method == "symbolic"
    assert last.note.startswith("right when the targets sum to 1, as the handout assumes for the cross-entropy")
    param = check_gradient(softmax_ce, "w_21", "(out_{c_1} - target_{c_1}) out_{b_1}")
    assert param.correct is True and "targets sum to 1" in param.note


def test_softmax_ce_in_the_layers_notation_and_a_wrong_shortcut_stays_wrong():
    layers = derive("2-2-2", loss="ce", notation="layers")
    chain = r"\frac{\partial \mathcal{L}}{\partial z^{[2]}_1} = -y_1 + y_1 \hat{y}_1 + y_2 \hat{y}_1 = \hat{y}_1 - y_1"
    verdict = check_steps(chain, layers)
    assert verdict.correct is True and "targets sum to 1" in verdict.steps[1].note
    wrong = check_steps(r"\frac{\partial \mathcal{L}}{\partial z^{[2]}_1} = \hat{y}_1 - y_2", layers).steps[0]
    assert wrong.correct is False and "targets sum to 1" not in wrong.note


def test_steps_without_targets_are_not_given_the_assumption(softmax_ce):
    step = check_steps("z = z + 1", softmax_ce).steps[0]
    assert step.correct is False and step.note == ""


def test_numbers_whose_terms_cancel_are_judged_by_what_their_rounding_can_do():
    """Each number may be off by half a unit in its last digit; where the terms cancel, the sum
    moves by far more than its relative error times the small result, and a claim within that
    is right, a claim beyond it still wrong."""
    cancelling = (r"(0.003016 \cdot (-0.4622) - 0.005256 \cdot 0.3144 + 0.01229 \cdot 0.4419 + 0.004508 \cdot (-0.5049) "
                  r"+ 0.001712 \cdot (-0.06546)) \cdot 0.1914")
    right = check_steps(cancelling + r" = -3.725 \cdot 10^{-7}").steps[0]  # the value before the numbers were rounded
    assert right.correct is True and "where terms cancel" in right.note
    assert check_steps(cancelling + r" = -3.725 \cdot 10^{-5}").correct is False
    assert check_steps("0.5 - 0.49 = 0.2").correct is False  # 0.5 ± 0.05 and 0.49 ± 0.005 give at most 0.065
    assert check_steps("0.5 - 0.49 = 0.01").correct is True
    found = []
    parse_math("0.5 - 0.49", {}, literals=found)
    assert propagated_rounding(lambda t: parse_math(t, {}), "0.5 - 0.49", found) == pytest.approx(0.055)


@pytest.mark.parametrize("activation, loss, paths", [("tanh,sigmoid", "bce", 2), ("tanh,softmax", "ce", 4)])
def test_the_correct_formula_of_a_hidden_weight_writes_each_output_delta_as_y_hat_minus_y(activation, loss, paths):
    """Where the output delta's factors cancel (sigmoid + bce, softmax + ce: with a softmax, the
    paths through every output into one net input), the correct formula shown for a hidden weight
    writes that delta ŷ_j - y_j, one term per output neuron; read back, it is proven right."""
    d = derive("2-2-2", notation="columns", activation=activation, loss=loss, only=["W_1_1_1"], proof="gradients")
    (gradient,) = d.gradients
    assert len(gradient.paths) == paths
    verdict = check_gradient(d, "W^{[1]}_{1,1}", "0")
    shown = verdict.expected_latex
    assert verdict.correct is False and r"\left(\hat{y}_{1} - y_{1}\right)" in shown and r"\left(\hat{y}_{2} - y_{2}\right)" in shown
    assert r"\frac" not in shown and shown.count("+") == 1
    again = check_gradient(d, "W^{[1]}_{1,1}", shown)
    assert again.correct is True and again.method == "symbolic"


def test_kronecker_delta_with_a_summed_index_is_kroneckers_even_where_it_spells_a_delta():
    """In column notation δ_{11} can also read loosely as the delta δ^{[1]}_1; with a \\sum's index in
    its subscript (δ_{k1} in \\sum_k) it is Kronecker's: the textbook's softmax + cross-entropy steps."""
    d = derive("2-2-3", notation="columns", activation="sigmoid,softmax", loss="ce", proof="gradients")
    verdict = check_steps(r"\frac{\partial L}{\partial z^{[2]}_1} = -\sum_k y_k (\delta_{k1} - \hat{y}_1) "
                          r"= \hat{y}_1 \sum_k y_k - y_1 = \hat{y}_1 - y_1", d)
    assert verdict.correct is True and [step.method for step in verdict.steps] == ["symbolic"] * 3
    assert check_steps(r"\sum_k y_k \delta_{k1} = y_1", d).correct is True
    assert check_steps(r"\sum_k y_k \delta_{k1} = y_2", d).correct is False
    # concrete indices that only loosely spell the delta δ^{[1]}_1: refused naming both readings, never guessed
    # (the softmax Jacobian ŷ_1(δ_{11} - ŷ_1) is right with Kronecker's and was WRONG with the network's)
    with pytest.raises(FormulaError, match=r"\\delta_\{11\} is ambiguous: Kronecker's delta \(1 here\) or the network's"):
        check_steps(r"\frac{\partial \hat{y}_1}{\partial z^{[2]}_1} = \hat{y}_1 (\delta_{11} - \hat{y}_1)", d)
    assert check_steps(r"\frac{\partial \hat{y}_1}{\partial z^{[2]}_1} = \hat{y}_1 (1 - \hat{y}_1)", d).correct is True


def test_a_true_zero_that_float64_rounds_is_not_a_difference():
    """Σ_k ∂ŷ_k/∂z_1 = 0 for a softmax (its outputs sum to 1): float64 leaves 1e-17 and 50 digits
    1e-52 of rounding, which is no difference; the exact test proves it. A true difference of
    1e-40 is still found."""
    d = derive("2-2-3", notation="columns", activation="sigmoid,softmax", loss="ce", proof="gradients")
    right = check_steps(r"\sum_k \frac{\partial \hat{y}_k}{\partial z^{[2]}_1} = 0", d)
    assert right.correct is True and right.steps[0].method == "symbolic"
    written_out = " + ".join(rf"\frac{{\partial \hat{{y}}_{k}}}{{\partial z^{{[2]}}_2}}" for k in (1, 2, 3))
    assert check_steps(f"{written_out} = 0", d).correct is True
    assert check_steps(r"\sum_k \frac{\partial \hat{y}_k}{\partial z^{[2]}_1} = 10^{-40}", d).correct is False


def test_a_side_that_is_zero_shows_zero_at_the_witness_not_the_rounding_of_50_digits():
    """σ(1 - σ) - σ + σ² is zero; at 50 digits it comes out -6.7e-52, which the witness line must
    not show as the side's value: it is settled at the exact point (0). A side that is truly that
    small keeps its value, certified (e^{-150}, 10^{-60} z)."""
    zero = r"\sigma(z)(1-\sigma(z)) - \sigma(z) + \sigma(z)^2"
    wrong = check_steps(rf"\frac{{d}}{{dz}}\sigma(z) = {zero}").steps[0]
    assert wrong.correct is False and wrong.right_value == 0
    z = wrong.point["z"]
    assert math.isclose(wrong.left_value, math.exp(-z) / (1 + math.exp(-z)) ** 2, rel_tol=1e-9)
    tiny = check_steps(rf"e^{{-150}} = {zero}").steps[0]
    assert tiny.correct is False and tiny.right_value == 0
    assert math.isclose(float(tiny.left_value), math.exp(-150), rel_tol=1e-12)
    scaled = check_steps(rf"{zero} = 10^{{-60}} z").steps[0]
    assert scaled.left_value == 0 and math.isclose(float(scaled.right_value), 1e-60 * scaled.point["z"], rel_tol=1e-12)


@pytest.mark.parametrize("steps", [
    r"\frac{d}{dz}\max(0, z) = [z > 0]",  # relu's derivative, SymPy's Heaviside(z) against ours
    r"|z| = 2\max(0, z) - z",
    r"\mathrm{sign}(z)\, z = |z|",
    r"\frac{d}{dz} \frac{z}{1+|z|} = \frac{1}{(1+|z|)^2}",  # the softsign's derivative
])
def test_identities_the_exact_test_cannot_decide_are_never_called_wrong(steps):
    """The exact test takes |z|, sign(z) and Heaviside for unrelated variables; "differ" from it is
    checked at an exact point, where these sides are equal (a difference of 0, which SymPy's
    Float(0) == 0 no longer admits): right, never WRONG. sign(u)·u is |u| for the exact test."""
    verdict = check_steps(steps)
    assert verdict.correct is True
    if "sign" in steps or "1+|z|" in steps:
        assert verdict.steps[0].method == "symbolic"


def test_a_relu_layers_gradient_with_an_iverson_bracket_is_correct():
    """Ng's db^{[1]} with relu's gate written [z^{[1]} > 0]: correct in every entry (it was called
    wrong, or crashed on 0/0, where the exact evaluation found the sides equal)."""
    d = derive("2-3-1", notation="columns", bias=True, activation="relu,sigmoid", loss="bce", proof="gradients")
    for seed in range(3):
        verdict = check_gradient(d, "db^{[1]}", r"W^{[2]T} dz^{[2]} * [z^{[1]} > 0]", seed=seed)
        assert verdict.correct is True, seed


def test_a_wrong_factor_is_not_also_called_the_wrong_sign():
    """A term with a wrong factor is not said to have "the wrong sign" too: the sign of the
    normalized factors (1 - |n| - n sign n as -(...)) says nothing about the term's."""
    d = derive("2-2-1", activation="z/(1+abs(z))", proof="gradients")
    verdict = check_gradient(d, "w_21", r"(out_{c_1} - target_{c_1}) \frac{1}{1+|net_{c_1}|} out_{b_1}")
    assert verdict.correct is False
    assert verdict.written_value * verdict.expected_value > 0  # both sides have one sign at the witness
    assert not any("wrong sign" in line for line in verdict.diagnosis), verdict.diagnosis
    assert any("wrong factor" in line for line in verdict.diagnosis), verdict.diagnosis
    correct = check_gradient(d, "w_21", r"(out_{c_1} - target_{c_1}) \frac{1}{(1+|net_{c_1}|)^2} out_{b_1}")
    assert correct.correct is True and correct.method == "symbolic"


@pytest.mark.parametrize("steps, correct", [
    (r"0.4 - 0.5 \times 0.082167041 = 0.35891648", True),  # the classic walk-through's update of w_5
    (r"0.4 - 0.5 \times 0.082167041 = 0.33", False),  # 8 % off: 0.4 and 0.5 are given values, not 0.4 ± 0.05
    (r"0.15 \times 0.05 + 0.2 \times 0.1 + 0.35 = 0.3775", True),
    (r"0.15 \times 0.05 + 0.2 \times 0.1 + 0.35 = 0.3776", False),
    (r"\frac{1}{2}(0.01 - 0.75136507)^2 = 0.27", True),  # a result standing alone is rounded, 0.27 ± 0.005
    (r"\frac{1}{2}(0.01 - 0.75136507)^2 = 0.2", False),
    (r"\left(-0.5535\right) \cdot 0.2169 = -0.12", True),  # a negative result alone is rounded too (-0.12005)
    (r"\left(-0.5535\right) \cdot 0.2169 = \left(-0.12\right)", True),
    (r"\left(-0.5535\right) \cdot 0.2169 = -0.13", False),
    (r"0.74136507 \times 0.186815602 \times 0.593269992 = 0.082167041", True),
])
def test_short_numbers_inside_a_computation_are_given_values_not_rounded_ones(steps, correct):
    """A number of one or two significant digits inside a computation (a weight, an input, the
    learning rate) is taken exactly; longer numbers, and a side that is a single number, count as
    rounded to their last digit. Else 0.4 ± 0.05 would excuse a result 24 % off."""
    assert check_steps(steps).correct is correct


@pytest.mark.parametrize("j", [1, 2, 3])
def test_the_sigmoid_style_softmax_delta_names_the_output_written(j):
    """(ŷ_3 − y_3) ŷ_3 (1 − ŷ_3) for b^{[2]}_3 of a softmax layer is diagnosed for neuron 3 (it once
    named neuron 1, the first output every path of a softmax passes)."""
    d = derive("2-3-3", notation="columns", loss="ce", bias=True, proof="gradients")
    verdict = check_gradient(d, f"b^{{[2]}}_{j}", rf"(\hat{{y}}_{j} - y_{j}) \hat{{y}}_{j} (1 - \hat{{y}}_{j})")
    said = [line for line in verdict.diagnosis if "sigmoid-style" in line]
    assert verdict.correct is False and said, verdict.diagnosis
    assert rf"\delta^{{[2]}}_{{{j}}} = \hat{{y}}_{{{j}}} - y_{{{j}}}" in said[0], said


def test_the_classic_walk_throughs_own_names():
    """The walk-through names 2-2-2's neurons i, h, o and numbers the weights w_1 ... w_8 through both
    layers, target by target as letter notation does (w_5 = h_1→o_1 = w_{21}, w_7 = h_1→o_2 = w_{23});
    its b_1, b_2 are the layers' shared biases. Each name read so is said in the verdict."""
    d = derive("2-2-2", shared_bias=True, proof="gradients")
    verdict = check_gradient(d, "w_5", r"(out_{o1} - target_{o1}) out_{o1}(1-out_{o1}) out_{h1}")
    assert verdict.correct is True and verdict.parameter == "w_{21}"
    assert "w_5 = w_{21}" in verdict.aliases and r"out_{h1} = \mathrm{out}_{b_1}" in verdict.aliases
    hidden = check_gradient(d, "w_1", r"(\delta_{o1} w_5 + \delta_{o2} w_7) out_{h1}(1 - out_{h1}) i_1")
    assert hidden.correct is True and hidden.parameter == "w_{11}"
    swapped = check_gradient(d, "w_1", r"(\delta_{o1} w_5 + \delta_{o2} w_6) out_{h1}(1 - out_{h1}) i_1")
    assert swapped.correct is False
    assert check_gradient(d, "b_2", r"\delta_{o1} + \delta_{o2}").correct is True
    assert check_steps(r"E_{total} = E_{o1} + E_{o2}", d).correct is True
    # the network's own names come first, and the numbering stops where it would meet them (w_{11})
    assert check_gradient(d, "w_{21}", r"\delta_{c_1} out_{b_1}").aliases == ()
    with pytest.raises(SpecError, match="unknown parameter"):
        check_gradient(derive("2-3-2", proof="gradients"), "w_5", "0")


def test_each_outputs_error_of_the_classic_walk_through_is_a_name():
    """E_{c_1} (the walk-through's E_{o1}) is one output's term of E_total, in letter notation:
    E_total = E_{c_1} + E_{c_2}, and ∂E_total/∂out_{b_1} splits into the outputs' errors."""
    d = derive("2-2-2", proof="gradients")
    assert check_steps(r"E_{total} = E_{c_1} + E_{c_2}", d).correct is True
    assert check_steps(r"E_{c_1} = \frac{1}{2}(target_{c_1} - out_{c_1})^2", d).correct is True
    assert check_steps(r"E_{c_1} = (target_{c_1} - out_{c_1})^2", d).correct is False
    split = (r"\frac{\partial E_{total}}{\partial out_{b_1}} = \frac{\partial E_{c_1}}{\partial out_{b_1}} "
             r"+ \frac{\partial E_{c_2}}{\partial out_{b_1}}")
    verdict = check_steps(split, d)
    assert verdict.correct is True and verdict.steps[0].method == "symbolic"


def test_a_formula_written_with_its_own_gradient_is_refused_not_called_correct():
    """∂E/∂w_5 = ∂E/∂w_5 is true and checks nothing: a formula for a gradient that names that very
    gradient (written as a derivative, as Ng's dW, or through a --where shorthand) is refused with
    that reason; another gradient in it, or ∂E/∂out, is a formula like any other."""
    d = derive("2-2-2", shared_bias=True, proof="gradients")
    for text, definitions in [(r"\frac{\partial E}{\partial w_5}", None), ("dE/dw_5", None),
                              ("2 g", {"g": r"\frac{1}{2} \frac{\partial E_{total}}{\partial w_{5}}"})]:
        with pytest.raises(FormulaError, match=r"written with dE/dw_\{5\} itself, the gradient it is checked against"):
            check_gradient(d, "w_5", text, definitions=definitions)
    other = check_gradient(d, "w_5", "g", definitions={"g": r"\frac{\partial E}{\partial w_6}"})
    assert other.correct is False and any("gradient of w_{22}" in line for line in other.diagnosis)
    chained = check_gradient(d, "w_5", r"\frac{\partial E}{\partial out_{o1}} out_{o1}(1-out_{o1}) out_{h1}")
    assert chained.correct is True
    ng = derive("2-3-2", notation="columns", proof="gradients")
    with pytest.raises(FormulaError, match=r"dL/dW\^\{\[2\]\}_\{1,1\} itself"):
        check_gradient(ng, "W^{[2]}_{11}", "dW^{[2]}_{11}")
    with pytest.raises(FormulaError, match=r"dL/dW\^\{\[2\]\} itself"):
        check_gradient(ng, "W^{[2]}", "dW^{[2]}")
    assert check_gradient(ng, "W^{[2]}", r"dz^{[2]} a^{[1]T}").correct is True
    from symbackprop.checking.batch import check_batch_gradient

    batch = derive("2-3-2", notation="columns", batch=4, proof="gradients")
    with pytest.raises(FormulaError, match=r"dL/dW\^\{\[2\]\} itself"):  # not "one sample's names"
        check_batch_gradient(batch, "W^{[2]}", "dW^{[2]}")


def test_ngs_da_is_the_losss_derivative_by_a_layers_activation():
    """Ng's general recursion da^{[l]} = W^{[l+1]T} dz^{[l+1]}, dz^{[l]} = da^{[l]} * g'(z^{[l]}): da^{[l]}_j is
    ∂L/∂a^{[l]}_j (his dA^{[l]} read as one sample's), in a formula, a step and a whole layer's vector."""
    ng = derive("2-3-2", notation="columns", bias=True, proof="gradients")
    assert check_gradient(ng, "W^{[1]}", r"(da^{[1]} * g'(z^{[1]})) x^T").correct is True
    assert check_gradient(ng, "W^{[1]}_{21}", r"da^{[1]}_2 \sigma'(z^{[1]}_2) x_1").correct is True
    assert check_gradient(ng, "b^{[1]}_{2}", r"da^{[1]}_1 \sigma'(z^{[1]}_1)").correct is False
    assert check_steps(r"da^{[1]} = W^{[2]T} dz^{[2]}", ng, matrices=True).correct is True
    assert check_steps(r"da^{[2]}_1 = a^{[2]}_1 - y_1", ng).correct is True  # squared error: ∂(½(a - y)²)/∂a
    assert check_steps(r"db^{[1]} = da^{[1]}", ng, matrices=True).correct is False  # db^{[1]} is dz^{[1]}
    capital = check_steps(r"dA^{[1]}_1 = W^{[2]}_{11} dZ^{[2]}_1 + W^{[2]}_{21} dZ^{[2]}_2", ng)
    assert capital.correct is True
    bce = derive("2-3-1", notation="columns", loss="bce", proof="gradients")
    assert check_steps(r"da^{[2]}_1 = -\frac{y_1}{a^{[2]}_1} + \frac{1 - y_1}{1 - a^{[2]}_1}", bce).correct is True
    assert check_steps(r"da^{[2]}_1 = \frac{y_1}{a^{[2]}_1} - \frac{1 - y_1}{1 - a^{[2]}_1}", bce).correct is False
    # a quotient by a vector is read entry by entry, as NumPy and Ng write -y/a^{[2]} (it was a leaked
    # NotImplementedError); by a matrix it is refused in one line
    wide = derive("2-3-2", notation="columns", loss="bce", proof="gradients")
    verdict = check_steps(r"da^{[2]} = -\frac{y}{a^{[2]}} + \frac{1 - y}{1 - a^{[2]}}", wide, matrices=True)
    assert verdict.correct is True and "a quotient by a vector, entry by entry" in verdict.elementwise
    assert check_steps(r"da^{[2]} = \frac{y}{a^{[2]}} - (1 - y) / (1 - a^{[2]})", wide, matrices=True).correct is False
    with pytest.raises(FormulaError, match=r"cannot divide by a 2×3 matrix"):
        check_steps(r"W^{[2]} = \frac{1}{W^{[2]}}", wide, matrices=True)


def test_a_worked_examples_numbers_are_not_judged_at_random_values():
    """Mazur's 1/(1 + e^{-net_{o1}}) = 1/(1 + e^{-1.105905967}) holds at his values only: --steps, which
    does not know them, says so instead of WRONG; the steps around it are judged as ever, and a
    constant (Σ_k ∂ŷ_k/∂z_1 = 0) is still an identity."""
    d = derive("2-2-2", shared_bias=True, proof="gradients")
    verdict = check_steps(r"out_{o1} = \frac{1}{1+e^{-net_{o1}}} = \frac{1}{1+e^{-1.105905967}} = 0.75136507", d)
    assert [s.correct for s in verdict.steps] == [True, None, True] and verdict.correct is None
    assert "a step of a worked example" in verdict.steps[1].note and "lint" in verdict.steps[1].note
    assert check_steps(r"w_1 i_1 + w_2 i_2 = 0.0275", d).correct is None
    assert check_steps(r"\frac{1}{1+e^{-1.105905967}} = 0.75136507", d).correct is True
    assert check_steps(r"\frac{1}{1+e^{-1.105905967}} = 0.85136507", d).correct is False


def test_steps_give_no_network_name_a_shorthands_value():
    """--where i_1=0.05 in --steps made a new i_1 unrelated to the network's: net_{h1} = w_1 i_1 + ... was
    then WRONG. With own_names_only (the CLI's) it is refused; other shorthands stay."""
    d = derive("2-2-2", shared_bias=True, proof="gradients")
    with pytest.raises(FormulaError, match="the network already names i_1"):
        check_steps(r"net_{h1} = w_1 i_1 + w_2 i_2 + b_1", d, definitions={"i_1": "0.05"}, own_names_only=True)
    assert check_steps(r"net_{h1} = g + b_1", d, definitions={"g": "w_1 i_1 + w_2 i_2"}, own_names_only=True).correct
