"""Hostile input: no hang, no traceback, limits named up front, input problems are exit 2.

Each CLI case runs in a process of its own with a generous timeout that only guards against a hang; no
test asserts a speed.
"""

import subprocess
import sys

import pytest
from forkserver import run_symbackprop

from symbackprop.network.activations import custom_activation
from symbackprop.network.model import MAX_SYMBOLIC_PARAMETERS, Model
from symbackprop.network.spec import MAX_DEPTH, NetworkSpec, SpecError
from symbackprop.proof.prove import _identity

HANG = 240  # seconds: far beyond any of these runs, short of CI's patience


def run(*args, timeout=HANG):
    """``symbackprop ARGS`` in a process of its own: a fresh child of the fork server (tests/forkserver.py),
    which imported SymPy once, as an interpreter would run it (exit status, stdout, stderr)."""
    return run_symbackprop(*args, timeout=timeout)


def one_line_exit_2(result, *words):
    """The run ended with exit status 2 and one line, "symbackprop: error: ...", holding ``words``; returns it."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("symbackprop: error: "), result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    return result.stderr


@pytest.mark.parametrize("spec, words", [
    ("1" * 5000 + "-2", ["more than 7 digits"]),
    ("-".join(["1"] * 1000), [f"at most {MAX_DEPTH}"]),
    ("1414-1414", ["1,999,396 parameters", f"{MAX_SYMBOLIC_PARAMETERS:,}"]),
])
def test_specs_beyond_the_machine_are_refused_up_front(tmp_path, spec, words):
    one_line_exit_2(run("derive", spec, "--format", "json", "-o", str(tmp_path)), *words)
    assert not list(tmp_path.iterdir())


def test_model_refuses_a_network_too_large_for_symbols():
    with pytest.raises(SpecError, match="codegen"):
        Model(NetworkSpec.parse("1414-1414"))


def test_a_deep_chain_is_derived_with_its_identity_checks_bounded(tmp_path):
    """1-1-...-1 with 40 computed layers: each path sum is one product, the delta form's own (no
    expansion of 2^40 terms needed: ``are_equal`` sees the same expression), and the numeric check stands."""
    result = run("derive", "-".join(["1"] * 41), "--proof", "numeric", "--format", "json", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "all 40 agree" in result.stdout


@pytest.mark.parametrize("formula", ["exp(30*z)", "1/(1+exp(-100*z))", "tanh(1000*z)", "(1+z)^(15/16)",
                                     "((z+1)^16+1)^16"])
def test_inverting_a_custom_activation_gives_up_instead_of_hanging(formula):
    """sympy.solve ran for minutes and gigabytes on these; now the output form is None or proven."""
    activation = custom_activation(formula)
    if activation.in_output is not None:  # when found, it is g' written in a = g(z): check at a point
        import sympy

        z = sympy.Symbol("z", real=True)
        g = activation.formula(z)
        at = {z: sympy.Rational(1, 7)}
        assert abs(float((activation.in_output(g) - sympy.diff(g, z)).subs(at))) < 1e-9


@pytest.mark.parametrize("formula", ["exp(30*z)", "sqrt(z)", "log(z)"])
def test_random_points_outside_the_activations_domain_are_an_input_problem(tmp_path, formula):
    result = run("derive", "2-2-1", "--activation", formula, "--format", "json", "-o", str(tmp_path))
    if result.returncode == 0:  # the points happened to stay inside the domain: then all agreed
        assert "agree" in result.stdout
    else:
        one_line_exit_2(result, "not a finite number")


def test_a_learning_rate_of_minus_infinity_is_refused_before_any_model(tmp_path):
    one_line_exit_2(run("example", "784-128-64-10", "--lr", "-inf", "-o", str(tmp_path)), "finite")


def test_identity_is_exact_when_cheap_and_gives_up_otherwise():
    import sympy

    a, b = sympy.symbols("a b")
    assert _identity(a * b + a, a * (b + 1)) is True
    assert _identity(a * b, a * (b + 1)) is False
    assert _identity(a * b, a * b, seconds=0) is None  # no time left: not decided, never "different"
    x = sympy.symbols("x0:24")
    product = sympy.Mul(*(1 - v for v in x))  # the same product with its first two factors multiplied out:
    rewritten = sympy.expand((1 - x[0]) * (1 - x[1])) * sympy.Mul(*(1 - v for v in x[2:]))  # 2^24 terms to expand
    assert _identity(product, rewritten, seconds=0.5) is None  # given up within its time: not "different"


def test_an_exercise_sheet_with_only_is_one_line_exit_2(tmp_path):
    """The sheet draws its tasks from every weight; --only used to end in an IndexError."""
    one_line_exit_2(run("derive", "2-2-1", "--exercise", "--only", "w_11", "-o", str(tmp_path)), "--only")
    assert not list(tmp_path.iterdir())


# -- constants too large to evaluate, saturating activations, a closed pipe ---------------------
@pytest.mark.parametrize("formula, words", [
    ("z + exp(exp(10^6))", ["exp(exp(1000000)) is too large for float64"]),  # float() of it took 47 s
    ("z*exp(-exp(10^6))", ["exp(-exp(1000000)) takes SymPy over"]),  # SymPy's proofs on it: minutes
])
def test_a_constant_beyond_float64_is_refused_at_once(tmp_path, formula, words):
    result = run("derive", "2-2-1", "--activation", formula, "--format", "json", "-o", str(tmp_path), timeout=60)
    one_line_exit_2(result, "invalid activation formula", *words)
    assert not list(tmp_path.iterdir())


def test_evaluating_a_huge_constant_is_bounded_and_right():
    """Overflow is inf, a constant whose every digit underflows is nan (not 0, which would agree
    with 2·0); ordinary constants keep full precision. The guard only stops a hang."""
    import numpy as np
    import sympy

    from symbackprop.algebra.evaluate import constant, evaluate
    from symbackprop.algebra.limits import time_limit

    z = sympy.Symbol("z", real=True)
    huge = sympy.exp(sympy.exp(10**6))
    with time_limit(60):
        assert np.all(np.isinf(evaluate(huge * z + 1, {z: np.array([1.0, 2.0])})))
        assert np.all(np.isnan(evaluate(z / huge, {z: np.array([1.0, 2.0])})))
        assert constant(1 + 1 / huge) == 1.0
    assert constant(sympy.exp(10) / 3) == float(sympy.exp(10).evalf(30) / 3)


def test_a_time_limit_fires_again_when_the_code_swallows_it():
    """SymPy catches broad exceptions in places (``except Exception``), so one alarm can be swallowed:
    the limit fires again until its block is left, and leaves no alarm behind."""
    import signal
    import time

    from symbackprop.algebra.limits import time_limit

    started = time.monotonic()
    with pytest.raises(TimeoutError), time_limit(0.05):
        try:
            time.sleep(5)
        except Exception:  # noqa: BLE001 - as SymPy does
            pass
        time.sleep(5)
    assert time.monotonic() - started < 2 and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_time_limits_nest_and_an_outer_one_is_not_swallowed():
    import signal
    import time

    from symbackprop.algebra.limits import time_limit

    with time_limit(30):  # the inner limit fires first, the outer goes on
        with pytest.raises(TimeoutError), time_limit(0.05):
            time.sleep(5)
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 20
    swallowed = False
    with pytest.raises(TimeoutError), time_limit(0.1):
        try:
            with time_limit(10):  # inner code that takes TimeoutError for its own
                time.sleep(5)
        except TimeoutError:
            swallowed = True
        time.sleep(5)  # the outer limit fires again here
    assert swallowed and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_saturating_activation_is_checked_on_its_own_scale(tmp_path):
    """tanh(1000 z) is flat at net inputs of order 1: 1 - out² rounds to 0 where the true slope
    is 1e-13 (relative error 1, exit 1 before); the random points now sit where it is not flat."""
    result = run("derive", "2-4-3-2", "--activation", "tanh(1000*z)", "--format", "json", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "all 26 agree" in result.stdout


def test_the_numeric_check_of_a_saturating_activation_still_catches_a_wrong_gradient():
    from symbackprop.derivation.chainrule import ChainRule
    from symbackprop.proof.numeric import sensitive_scale
    from symbackprop.proof.prove import VerificationError, verify

    model = Model(NetworkSpec.parse("2-4-3-2", activation="tanh(1000*z)"))
    assert sensitive_scale(model.activation(1)) == 1e-3
    chain = ChainRule(model)
    gradients = [chain.gradient(p, False) for p in chain.parameters]  # no path sums: numbers alone decide
    assert verify(model, chain, gradients, proof="numeric").max_rel_error < 1e-9
    first_layer = gradients[-1]  # w_18: out_a_2 -> b_4; the mistake: the other input's value
    x1, x2 = model.inputs
    first_layer.__dict__["delta_value"] = first_layer.delta_value.xreplace({x2: x1, x1: x2})
    with pytest.raises(VerificationError, match="delta form of w_18"):
        verify(model, chain, gradients, proof="numeric")
    output_layer = chain.gradient(chain.parameters[0], False)  # forgetting the 1000 of tanh(1000 z)'s slope
    output_layer.__dict__["delta_value"] = output_layer.delta_value / 1000
    with pytest.raises(VerificationError, match=f"delta form of {chain.parameters[0].symbol}"):
        verify(model, chain, [output_layer], proof="numeric")


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["derive", "--help"],
                                  ["derive", "2-2-1", "--format", "json"]], ids=" ".join)
def test_a_closed_pipe_ends_quietly_with_the_sigpipe_status(tmp_path, argv):
    """`symbackprop ... | head -c1`: no message, and not exit 1 ("a form disagrees") but 141 = 128 + SIGPIPE."""
    argv = argv + (["-o", str(tmp_path / "out")] if argv[0] == "derive" and "--help" not in argv else [])
    process = subprocess.Popen([sys.executable, "-m", "symbackprop", *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # before the first byte: the reader has gone
    err = process.stderr.read().decode()
    assert process.wait(timeout=HANG) == 141 and err == "", err


def test_a_run_that_needs_more_memory_than_it_may_take_is_one_line(tmp_path):
    """A run's memory is bounded (80% of the machine's memory unless SYMBACKPROP_MEMORY_LIMIT
    says otherwise): running out of it is a message and exit 2, never a MemoryError traceback."""
    import os

    # 707-707's symbols alone (500,000 parameters) cannot fit in 300 MiB: refused before the build,
    # deterministically (an allocation failing deep inside CPython can crash it instead of raising)
    limited = dict(os.environ, SYMBACKPROP_MEMORY_LIMIT="300M")
    result = subprocess.run([sys.executable, "-m", "symbackprop", "derive", "707-707", "--format", "json", "-q",
                             "-o", "out"], capture_output=True, text=True, timeout=HANG, env=limited, cwd=tmp_path)
    one_line_exit_2(result, "out of memory", "0.3 GiB", "SYMBACKPROP_MEMORY_LIMIT")
    bad = subprocess.run([sys.executable, "-m", "symbackprop", "derive", "2-1"], capture_output=True, text=True,
                         timeout=HANG, env=dict(os.environ, SYMBACKPROP_MEMORY_LIMIT="lots"))
    one_line_exit_2(bad, "SYMBACKPROP_MEMORY_LIMIT='lots'", "4G")
    assert not (tmp_path / "out" / "derivation.json").exists()
    # run inside a process (a test, a notebook), main leaves the limit as it found it: a browser
    # started afterwards reserves address space freely
    import resource

    from symbackprop.cli import main

    before = resource.getrlimit(resource.RLIMIT_DATA)
    with pytest.raises(SystemExit) as finished:
        main(["--version"])
    assert finished.value.code == 0 and resource.getrlimit(resource.RLIMIT_DATA) == before


def test_a_build_that_cannot_fit_is_refused_before_it_starts_and_one_that_fits_is_not():
    """``require_memory`` raises MemoryError under a data limit that the floor already exceeds, and
    never where the build fits or there is no limit (run in a forked child: the limit is its own)."""
    import os
    import resource

    from symbackprop.algebra.limits import _data_in_use, require_memory
    from symbackprop.network.model import MODEL_BYTES_PER_PARAMETER, Model
    from symbackprop.network.spec import NetworkSpec

    require_memory(10**12)  # no limit here: nothing is refused
    assert _data_in_use() > 0
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (_data_in_use() + 200 * 2**20, resource.RLIM_INFINITY))
            Model(NetworkSpec.parse("20-20-20"))  # fits: 820 parameters, well under the 200 MiB left
            try:
                Model(NetworkSpec.parse("707-707"))
            except MemoryError as refused:  # by the floor, before any symbol was made
                code = 0 if "do not fit" in str(refused) and 500_000 * MODEL_BYTES_PER_PARAMETER > 200 * 2**20 else 3
        finally:
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
