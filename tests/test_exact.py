"""The exact zero test, against SymPy's own cancel() and known identities and non-identities."""

import mpmath
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symbackprop.algebra.exact import are_equal, is_zero

x, y, z = sympy.symbols("x y z", real=True)
sigma = lambda e: 1 / (1 + sympy.exp(-e))  # noqa: E731


def test_sigmoid_derivative_in_its_output():
    s = sigma(x * y)
    assert are_equal(sympy.diff(s, x), s * (1 - s) * y)
    assert not are_equal(sympy.diff(s, x), s * (1 - s) * x)


def test_seed_001s_mistyped_sigmoid_and_its_two_sign_slips():
    a = 1 / (1 - sympy.exp(-z))  # seed 001 writes g(z) = 1/(1 - e^{-z})
    assert not are_equal(a, sigma(z))
    # Seed 001's middle step, e^{-z}/(1 - e^{-z})^2, comes from d/dz(1 - e^{-z}) = -e^{-z} (wrong sign)
    seeds_step = sympy.exp(-z) / (1 - sympy.exp(-z)) ** 2
    assert not are_equal(sympy.diff(a, z), seeds_step)
    assert are_equal(seeds_step, a * (a - 1))
    # ... and a second slip turns it into a(1 - a), which happens to be right for this g as well
    assert are_equal(sympy.diff(a, z), a * (1 - a))


def test_nested_sigmoids_through_two_layers():
    inner = sigma(x * y)
    outer = sigma(z * inner)
    chain = outer * (1 - outer) * z * inner * (1 - inner) * x
    assert are_equal(sympy.diff(outer, y), chain)
    assert not are_equal(sympy.diff(outer, y), chain * (1 + sympy.Rational(1, 10**12)))


def test_other_functions_are_independent_variables():
    assert are_equal(sympy.diff(sympy.tanh(x * y), x), (1 - sympy.tanh(x * y) ** 2) * y)
    assert is_zero(sympy.log(x) - sympy.log(x))
    assert not is_zero(sympy.log(x) - sympy.log(y))


rational = st.recursive(
    st.sampled_from([x, y, sympy.Integer(1), sympy.Integer(2), sympy.Rational(1, 3)]),
    lambda children: st.one_of(
        st.tuples(children, children).map(lambda t: t[0] + t[1]),
        st.tuples(children, children).map(lambda t: t[0] * t[1]),
        st.tuples(children, children).map(lambda t: t[0] - t[1]),
        children.map(lambda c: 1 / (1 + c**2)),
        children.map(lambda c: 1 / (2 + sympy.exp(c))),
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(rational, rational)
def test_agrees_with_sympy_cancel(a, b):
    """On small expressions SymPy's cancel() decides zero-ness too; the verdicts must match."""
    difference = a - b
    atoms = {e: sympy.Dummy() for e in difference.atoms(sympy.exp)}
    expected = sympy.cancel(sympy.together(difference.xreplace(atoms))) == 0
    assert is_zero(difference) == expected
    assert is_zero(a - a)


sigmoidal = st.recursive(  # sigmoids of sigmoids, their 1 - σ and u + c·v sums (``_FractionBuilder.canonical_sum``)
    st.sampled_from([x, y, sympy.Integer(1), sympy.Integer(2)]),
    lambda children: st.one_of(
        st.tuples(children, children).map(lambda t: t[0] + t[1]),
        st.tuples(children, children).map(lambda t: t[0] * t[1]),
        children.map(lambda c: 1 - c),
        children.map(sigma),
        children.map(lambda c: 1 / (1 - sigma(c))),
        children.map(lambda c: sympy.exp(-c) / (1 + sympy.exp(-c)) ** 2),
        children.map(lambda c: 1 / (3 - 2 * sympy.exp(c))),
    ),
    max_leaves=5,
)


@settings(max_examples=80, deadline=None)
@given(sigmoidal, sigmoidal)
def test_sigmoids_and_their_complements_are_judged_as_their_values_say(a, b):
    """Where a sigmoid's 1 - σ is kept as a variable of its own (u, with u + v = 1 used only at the
    end), the verdict is still right on both sides of zero: the judge is the difference's value at
    three points, 60 digits, beside the size of its terms (SymPy merges e^{-r}·e^{-r} into e^{-2r},
    so cancel() with each exp a variable of its own would call some zeros nonzero)."""
    points = [("3/7", "-5/11"), ("-2/3", "1/5"), ("9/4", "7/6")]
    for difference in (a - b, a * (1 - b) - a + a * b, sympy.diff(a, x) - b):
        terms = [sympy.lambdify((x, y), term, "mpmath") for term in sympy.Add.make_args(difference)]
        zero = True
        with mpmath.workdps(60):
            for point in points:
                try:
                    values = [term(*(mpmath.mpf(mpmath.fraction(*map(int, c.split("/")))) for c in point)) for term in terms]
                except ZeroDivisionError:
                    break  # a denominator 3 - 2e^{c} that is 0 at a point: no judge here
                if not all(mpmath.isfinite(v) for v in values):
                    break
                size = sum(abs(v) for v in values)  # relative: e^{-e^{9}} is tiny, and not zero
                zero = zero and abs(sum(values)) <= mpmath.mpf("1e-40") * size
            else:
                assert is_zero(difference) == zero, difference


def test_a_sigmoids_complement_is_its_own_variable_and_the_relation_still_holds():
    """1 - σ(z) is e^{-z}σ(z): kept apart while the fraction is built, the two meet again at the end
    (the cross-entropy's σ'/(1 - σ) against σ' /(e^{-z} σ)), and a near miss stays a miss."""
    s, e = sigma(z), sympy.exp(-z)
    assert is_zero(1 / (1 - s) - 1 - sympy.exp(z))
    assert is_zero(s * (1 - s) - e / (1 + e) ** 2)
    assert is_zero(y * sympy.diff(s, z) / s - (1 - y) * sympy.diff(s, z) / (1 - s) - (y - s))
    assert not is_zero(y * sympy.diff(s, z) / s - (1 - y) * sympy.diff(s, z) / (1 - s) - (y + s))
    assert not is_zero(1 / (1 - s) - sympy.exp(z))
    assert is_zero((1 - s) + s - 1) and not is_zero((1 - s) * s - 1)
    assert is_zero((1 + e) * s - 1) and is_zero((3 + 3 * e) * s - 3)  # u + v is 1 ...
    assert not is_zero((1 + 2 * e) * s - 2) and not is_zero((2 + e) * s - 2)  # ... and u + 2v is not 2


def test_exps_of_rational_multiples_are_powers_of_one_variable():
    """e^{-x} is (e^{-x/2})^2 and e^{-1} is (e^{-1/2})^2: one variable for each family, whatever the
    multiples (SymPy keeps e^{-x/2}·e^{-x/2} apart from e^{-x} inside different sums)."""
    half, third = sympy.exp(-x / 2), sympy.exp(-x / 3)
    assert is_zero((1 + half) * (1 - half) - (1 - sympy.exp(-x)))
    assert is_zero(sigma(x / 2) * (1 + half) * (1 - half) - 1 + sympy.exp(-x) / (1 + half) - 1 / (1 + half) + 1)
    assert is_zero((1 + third) * (1 + half) - 1 - third - half - sympy.exp(-5 * x / 6))
    assert not is_zero((1 + half) * (1 - half) - (1 - sympy.exp(-x / 3)))
    e = sympy.exp(-sympy.Rational(1, 2))
    assert is_zero((1 + e) * (1 - e) - 1 + sympy.exp(-1)) and not is_zero((1 + e) * (1 - e) - 1 + sympy.exp(-2))


polynomial = st.lists(  # terms (coefficient, exponent of x, of y, of z)
    st.tuples(st.fractions(min_value=-5, max_value=5, max_denominator=4), *[st.integers(0, 6)] * 3), max_size=4)


def _as_sympy(terms):
    return sympy.Add(*(sympy.Rational(c.numerator, c.denominator) * x**i * y**j * z**k for c, i, j, k in terms))


def _in_ring(ring, terms):
    gens = ring.gens
    result = ring.zero
    for c, *exponents in terms:
        monomial = ring.const(c)
        for gen, e in zip(gens, exponents):
            monomial = ring.mul(monomial, ring.power(gen, e))
        result = ring.add(result, monomial)
    return result


@settings(max_examples=100, deadline=None)
@given(polynomial, polynomial, st.integers(0, 2), st.sampled_from([4, 8, 16]))
def test_the_packed_polynomials_compute_what_sympy_does(a, b, exponent, width):
    """``_Ring``, whose monomials are ints, against SymPy's own expansion: (a·b + a)^k, term by
    term; where an exponent outgrows a narrow field it raises, and never gives a wrong result."""
    from symbackprop.algebra.exact import _ExponentOverflow, _Ring

    ring = _Ring(3, width)
    product = sympy.expand(_as_sympy(a) * _as_sympy(b))
    expected = sympy.Poly(sympy.expand((product + _as_sympy(a)) ** exponent), x, y, z)
    try:
        got = ring.power(ring.add(ring.mul(_in_ring(ring, a), _in_ring(ring, b)), _in_ring(ring, a)), exponent)
    except _ExponentOverflow:  # only where an exponent on the way truly reaches 2^(width - 1)
        on_the_way = [sympy.Poly(e, x, y, z) for e in (product, expected.as_expr())]
        assert max(max(p.degree(v) for v in (x, y, z)) for p in on_the_way) >= 2 ** (width - 1)
        return
    field = 2**width - 1
    as_terms = {tuple((m >> (i * width)) & field for i in range(3)): c for m, c in got.items()}
    assert as_terms == {m: c for m, c in zip(expected.monoms(), expected.coeffs()) if c}


def test_an_exponent_too_wide_for_the_fields_is_tested_again_with_wider_ones():
    """x^40000 outgrows 16-bit fields (exponents below 2^15): is_zero widens them, and decides."""
    big = sympy.Mul(sympy.Pow(x, 40000), x + y, evaluate=False)
    assert is_zero(big - x**40001 - y * x**40000)
    assert not is_zero(big - x**40001 - y * x**40001)


@pytest.mark.parametrize("activation", ["z/(1+abs(z))", "relu", "sigmoid"])
def test_the_shared_walks_give_what_sympys_tree_walks_give(activation):
    """``replace_shared`` is ``Basic.replace`` and ``distinct_nodes`` are ``preorder_traversal``'s, on the truths of a
    network's proofs (expanded derivatives, with many shared subterms), for the proofs' own rewrites."""
    from symbackprop.algebra.expressions import distinct_nodes, replace_shared
    from symbackprop.network.activations import sign_times_argument
    from symbackprop.network.model import Model
    from symbackprop.network.spec import NetworkSpec

    model = Model(NetworkSpec.parse("2-3-2", activation=activation))
    rewrites = [
        (lambda e: e.is_Mul and any(isinstance(f, sympy.sign) for f in e.args), sign_times_argument),
        (lambda e: isinstance(e, sympy.Heaviside), lambda e: sympy.Heaviside(e.args[0], 0)),
        (lambda e: isinstance(e, sympy.exp), lambda e: sympy.exp(2 * e.args[0])),
    ]
    for parameter in sorted(model.parameters, key=sympy.default_sort_key)[::3]:
        truth = sympy.diff(model.expanded_loss, parameter)
        for query, value in rewrites:
            assert replace_shared(truth, query, value) == truth.replace(query, value)
        nodes = list(distinct_nodes(truth))
        assert len(nodes) == len(set(nodes)) and set(nodes) == set(sympy.preorder_traversal(truth))
