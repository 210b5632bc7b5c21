"""The proofs' truth side, ``algebra.differentiate.derivative``: by SymEngine where it is installed,
by ``sympy.diff`` otherwise or where SymEngine's rules could differ. Both paths give the same
results: each is compared with the other and with ``sympy.diff`` itself, and the symbolic proofs
of a panel of networks come out the same either way."""

import pytest
import sympy

from symbackprop import derive
from symbackprop.algebra import differentiate
from symbackprop.algebra.differentiate import derivative
from symbackprop.algebra.exact import are_equal
from symbackprop.network.model import Model
from symbackprop.network.spec import NetworkSpec

symengine = pytest.importorskip("symengine")  # the test extra installs it; without it only one path exists

NETWORKS = [  # every plain activation and loss, biases, softmax + cross-entropy, a batch
    ("2-3-2", {}),
    ("2-2-2", {"activation": "tanh,sigmoid", "loss": "bce", "bias": True}),
    ("2-2-3", {"activation": "softplus,softmax", "loss": "ce", "bias": True}),
    ("1-2-2", {"activation": "linear,sigmoid", "notation": "layers"}),
    ("2-2-1", {"activation": "z/(1+abs(z)),sigmoid", "bias": True}),  # abs: SymPy's rule on SymEngine's result
]


@pytest.fixture
def sympy_only(monkeypatch):
    """``derivative`` without SymEngine, as on a machine that lacks it."""
    monkeypatch.setenv("SYMBACKPROP_SYMENGINE", "0")
    differentiate._installed_symengine.cache_clear()
    yield
    monkeypatch.undo()
    differentiate._installed_symengine.cache_clear()


def weights_and_loss(spec, options):
    model = Model(NetworkSpec.parse(spec, **options))
    loss = model.expanded_loss
    return loss, sorted(model.parameters, key=sympy.default_sort_key)


@pytest.mark.parametrize("spec, options", NETWORKS)
def test_symengine_gives_sympys_derivative_with_the_same_symbols(spec, options):
    loss, parameters = weights_and_loss(spec, options)
    for p in parameters:
        fast, truth = derivative(loss, p), sympy.diff(loss, p)
        assert fast.free_symbols <= loss.free_symbols  # the same Symbol objects, assumptions and all
        assert are_equal(fast, truth), p


@pytest.mark.parametrize("spec, options", NETWORKS + [("2-2-2", {"loss": "bce"})])
def test_symengines_result_as_it_stands_is_the_same_derivative(spec, options):
    """``evaluate=False`` (the proofs' truth side) gives SymEngine's result without SymPy's
    evaluation: the same function as ``sympy.diff``, by the zero test and in numbers at a point;
    with |u| it is the evaluated result itself (its sign(u)·u is merged in a flat product)."""
    loss, parameters = weights_and_loss(spec, options)
    point = {s: sympy.Rational(k + 2, 7) * (-1) ** k for k, s in enumerate(sorted(loss.free_symbols, key=str))}
    for p in parameters:
        raw, truth = derivative(loss, p, evaluate=False), sympy.diff(loss, p)
        assert raw.free_symbols <= loss.free_symbols
        assert are_equal(raw, truth), p
        assert abs(sympy.N(raw.xreplace(point), 30) - sympy.N(truth.xreplace(point), 30)) < 1e-25, p
        if loss.has(sympy.Abs):
            assert raw == derivative(loss, p)


def test_the_sympy_path_is_sympy_diff_itself(sympy_only):
    loss, parameters = weights_and_loss("2-3-2", {})
    assert differentiate._symengine() is None
    assert all(derivative(loss, p) == sympy.diff(loss, p) for p in parameters)


@pytest.mark.parametrize("make", [
    lambda z: sympy.Heaviside(z),  # SymEngine says 0, SymPy DiracDelta(z)
    lambda z: sympy.Max(0, z),
    lambda z: sympy.Piecewise((z, z > 0), (0, True)),
    lambda z: sympy.Float(0.5) * z**2,
    lambda z: sympy.Abs(sympy.log(z)),  # abs of what may be complex: SymPy's other rule (re and im)
    lambda z: sympy.Abs(z * sympy.Symbol("c")),  # c is not known to be real
])
def test_anything_beyond_the_plain_nodes_is_left_to_sympy(make):
    z = sympy.Symbol("z", real=True)
    assert differentiate.engine(make(z)) == "SymPy"
    assert derivative(make(z), z) == sympy.diff(make(z), z)


@pytest.mark.parametrize("make", [
    lambda z, w: sympy.Abs(z),  # SymEngine leaves Derivative(abs(z), z): rebuilt as sign(z)
    lambda z, w: z / (1 + sympy.Abs(z)) + sympy.exp(z),
    lambda z, w: sympy.Abs(w * z + 1) / (1 + sympy.Abs(w * z)),
    lambda z, w: sympy.Abs(sympy.Abs(z) - w) ** 2,  # abs inside abs
    lambda z, w: sympy.log(1 + sympy.Abs(z * w)) * sympy.exp(-sympy.Abs(z)),
    lambda z, w: sympy.Abs(sympy.tanh(z)) * w,
])
def test_abs_of_a_real_expression_is_taken_by_symengine_with_sympys_rule(make):
    z, w = sympy.symbols("z w", real=True)
    expr = make(z, w)
    assert differentiate.engine(expr) == "SymEngine+abs"
    for symbol in (z, w):
        fast, truth = derivative(expr, symbol), sympy.diff(expr, symbol)
        assert not fast.has(sympy.Derivative) and fast.free_symbols <= expr.free_symbols
        assert are_equal(fast, truth), (expr, symbol)
        for value in (-1.7, -0.3, 0.4, 2.2):  # and as numbers, on both sides of every kink
            point = {z: value, w: 0.6 - value}
            assert abs(complex(fast.subs(point)) - complex(truth.subs(point))) < 1e-12


def test_two_symbols_of_one_name_are_left_to_sympy():
    real, plain = sympy.Symbol("x", real=True), sympy.Symbol("x")
    expr = sympy.exp(real) * plain
    assert derivative(expr, real) == sympy.diff(expr, real)


def proofs(spec, options):
    d = derive(spec, proof="symbolic", **options)
    return ({str(p): {form: check.method for form, check in forms.items()} for p, forms in d.verification.checks.items()},
            d.verification.factors_proven, d.verification.unproven, d.batch_check.symbolic if d.batch_check else None)


@pytest.mark.parametrize("spec, options", NETWORKS + [("2-2-1", {"notation": "columns", "loss": "bce", "batch": 2})])
def test_the_symbolic_proofs_come_out_the_same_on_both_paths(spec, options, monkeypatch):
    fast = proofs(spec, options)
    monkeypatch.setenv("SYMBACKPROP_SYMENGINE", "0")
    differentiate._installed_symengine.cache_clear()
    try:
        slow = proofs(spec, options)
    finally:
        monkeypatch.undo()
        differentiate._installed_symengine.cache_clear()
    assert fast == slow
    assert all(method == "symbolic" for forms in fast[0].values() for method in forms.values())
    assert not fast[2]


@pytest.mark.parametrize("spec, options", NETWORKS + [("2-2-2", {"activation": "relu"}),
                                                    ("2-2-1", {"activation": "log(1+z**2)"})])
def test_the_forecast_engine_is_the_one_that_takes_the_whole_expression(spec, options):
    model = Model(NetworkSpec.parse(spec, **options))
    forecast = differentiate.expected_engine([*model.definitions.values(), model.loss])
    assert forecast == differentiate.engine(model.expanded_loss)
    with differentiate.sympy_only():
        assert differentiate.expected_engine([*model.definitions.values(), model.loss]) == "SymPy"


def test_a_wrong_forecast_is_corrected_by_the_proofs_and_the_handout_rendered_again(tmp_path, monkeypatch):
    """The handouts rendered while the proofs run name the forecast engine; the proofs report who
    took the derivative, and a handout that named another is rendered again."""
    from symbackprop.cli import main
    from symbackprop.proof import prove

    monkeypatch.setattr(prove, "expected_engine", lambda parts: "SymPy")
    assert derive("2-4-3-2").verification.truth == "SymEngine"
    with pytest.raises(SystemExit):
        main(["derive", "2-4-3-2", "--format", "md", "-q", "-o", str(tmp_path)])
    text = (tmp_path / "derivation.md").read_text()
    assert "SymEngine's `diff` of the fully expanded" in text and "`sympy.diff` of the fully expanded" not in text


def test_the_handouts_and_the_summary_name_who_took_the_derivative(tmp_path, capsys):
    from symbackprop.cli import main
    from symbackprop.handout.render import render_latex, render_markdown

    fast = derive("2-2-1")
    with differentiate.sympy_only():
        slow = derive("2-2-1")
    assert (fast.verification.truth, slow.verification.truth) == ("SymEngine", "SymPy")
    assert "proven identical to SymEngine's `diff` of the fully expanded" in render_markdown(fast)
    assert "proven identical to `sympy.diff` of the fully expanded" in render_markdown(slow)
    assert "SymEngine's `diff`" not in render_markdown(slow)
    assert r"SymEngine's \texttt{diff} of the expanded" in render_latex(fast)
    with pytest.raises(SystemExit):
        main(["derive", "2-2-1", "--format", "json", "-o", str(tmp_path)])
    assert "symbolic proof: 6 of 6 equal SymEngine's diff of the expanded E_total exactly" in capsys.readouterr().out


def test_a_proof_that_took_sympys_rule_for_abs_says_so(tmp_path, capsys):
    from symbackprop.cli import main
    from symbackprop.handout.render import render_latex, render_markdown

    d = derive("2-2-1", activation="z/(1+abs(z))")
    assert d.verification.truth == "SymEngine+abs"
    assert "proven identical to SymEngine's `diff` (with SymPy's rule for abs) of the fully expanded" in render_markdown(d)
    assert r"SymEngine's \texttt{diff} (with SymPy's rule for abs) of the expanded" in render_latex(d)
    with pytest.raises(SystemExit):
        main(["derive", "2-2-1", "--activation", "z/(1+abs(z))", "--format", "json", "-o", str(tmp_path)])
    assert "equal SymEngine's diff (with SymPy's rule for abs) of the expanded E_total exactly" in capsys.readouterr().out


@pytest.mark.parametrize("formula, correct", [
    (r"\delta_{c_1} out_{b_1}", True),
    (r"(\delta_{d_1} w_{31} + \delta_{d_2} w_{34}) out_{c_1}(1 - out_{c_1}) out_{b_1}", True),
    (r"\delta_{d_1} w_{31} out_{c_1}(1 - out_{c_1}) out_{b_1}", False),
])
def test_verify_judges_alike_with_either_derivative(formula, correct):
    """``verify``'s exact test differentiates E_total with ``derivative`` too: the verdict, its
    method and its diagnosis do not depend on whether SymEngine took the derivative."""
    from symbackprop.checking.verify import check_gradient

    def verdict():
        v = check_gradient(derive("2-4-3-2", only=["w_21"], proof="gradients"), "w_21", formula)
        return v.correct, v.method, v.diagnosis

    fast = verdict()
    with differentiate.sympy_only():
        slow = verdict()
    assert fast == slow and fast[0] is correct
    assert fast[1] == ("symbolic" if correct else "numeric")  # a wrong formula is caught by the numbers first


def test_symengines_derivative_reuses_the_expressions_own_subterms():
    """The way back from SymEngine gives each forward-pass subterm (every exp(-net) that E_total
    holds) as E_total's own object, not an equal copy: the zero test then compares by identity.
    (SymEngine also merges e^{a} e^{b} into e^{a+b}, an exp of its own that E_total does not hold.)"""
    from symbackprop.algebra.expressions import distinct_nodes

    loss, parameters = weights_and_loss("2-3-3-2", {})
    own = {node: node for node in distinct_nodes(loss)}
    for p in parameters:
        exps = [node for node in distinct_nodes(derivative(loss, p)) if isinstance(node, sympy.exp) and node in own]
        assert exps and all(own[node] is node for node in exps), p
