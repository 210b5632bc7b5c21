#!/usr/bin/env python3
"""symbackprop's benchmark: whole-process times, memory, scaling, and the naive approach.

Measures, on this machine:

* ``symbackprop derive 2-4-3-2`` (md, tex, json), whole process, median of 5 runs;
* ``symbackprop derive 784-30-10 --format json``: median time and peak memory;
* ``symbackprop derive 784-128-64-10 --format json``: time and peak memory (one run);
* ``symbackprop derive 8-8-8-8`` (md, tex, json), whole process;
* ``symbackprop verify`` of one gradient (right and wrong) on 2-4-3-2 and 784-30-10, as a ratio to
  ``python -c "import sympy"``;
* the largest network whose ``--proof symbolic`` finishes within the limit (60 s);
* scaling: ``derive --format json --proof numeric`` on growing networks, against the naive
  approach (the derivative of the fully expanded E_total for every weight, by ``sympy.diff`` and by
  SymEngine's ``diff`` where installed, each measured until one network takes longer than the
  limit), each time also as a ratio, each series with its fitted exponent t ∝ parameters^k;
* before and after: ``--help``, ``derive 2-4-3-2`` (also with a custom activation) and ``derive
  784-128-64-10 --format json`` of the package at another git revision (``--against REV``; full
  runs: ``BEFORE``, the last commit before the speed work) in turn with this one's;
* the generated gradient code (``benchmarks/bench_numbers.py``) against hand-written NumPy,
  torch.autograd and jax.grad (jit) where installed, at three sizes, each as a ratio;
* with ``--suite``, the README's test command.

Every start-up ratio is to ``python -c "import sympy"`` run in turn with the figure's own runs (``beside``):
these machines drift within a run too, and a yardstick timed minutes earlier would move the ratio.
Every process is timed whole, as a user runs it: the installed console script, reading bytecode
(the full run first byte-compiles symbackprop, as ``pip install`` does, and its templates, as a
first run does). It prints each figure as it goes. With ``--write`` it also writes ``benchmarks/results/benchmark.md``
(a table) and ``scaling.png`` (log-log plot, needs matplotlib), or writes them where ``--output``
points; without either, nothing is written. Not part of the test suite (a smoke test runs it with
``--quick``).

    python benchmarks/benchmark.py --write --suite   # the full run, about 18 minutes, updating results/
    python benchmarks/benchmark.py --quick    # tiny sizes, seconds, printed only
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The naive approach, run in a fresh process so that SymPy's cache starts empty.
NAIVE = r"""
import sys, time
import sympy
sizes = [int(n) for n in sys.argv[1].split("-")]
started = time.perf_counter()
x = [sympy.Symbol(f"x{i}", real=True) for i in range(sizes[0])]
t = [sympy.Symbol(f"t{j}", real=True) for j in range(sizes[-1])]
outs, weights = x, []
for k in range(1, len(sizes)):
    W = [[sympy.Symbol(f"w{k}_{i}_{j}", real=True) for j in range(sizes[k])] for i in range(sizes[k - 1])]
    weights += [w for row in W for w in row]
    outs = [1 / (1 + sympy.exp(-sum(W[i][j] * outs[i] for i in range(sizes[k - 1])))) for j in range(sizes[k])]
loss = sum(sympy.Rational(1, 2) * (t[j] - outs[j]) ** 2 for j in range(sizes[-1]))
gradients = [sympy.diff(loss, w) for w in weights]
print(time.perf_counter() - started)
"""

# The same with SymEngine (its own symbols, exp and diff), when it is installed.
NAIVE_SYMENGINE = NAIVE.replace("import sympy\n", "import symengine as sympy\n").replace(
    "sympy.Rational(1, 2)", "sympy.Integer(1) / 2").replace(", real=True", "")

# Peak memory of a command: the wrapper waits for it and reads the children's maximum RSS.
PEAK = r"""
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
elapsed = time.perf_counter() - started
print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def parameters(spec: str) -> int:
    sizes = [int(n) for n in spec.split("-")]
    return sum(a * b for a, b in zip(sizes, sizes[1:]))


def symbackprop(*args: str) -> list[str]:
    """The command line of ``symbackprop ARGS``: the installed console script, as a user runs it."""
    script = Path(sys.executable).parent / "symbackprop"
    return [str(script) if script.exists() else sys.executable, *([] if script.exists() else ["-m", "symbackprop.cli"]), *args]


def within(command: list[str], limit: float, cwd: Path) -> float | None:
    """Wall seconds of one run of ``command``, or None when it passes ``limit`` (then it and the
    processes it forked are killed, so they do not slow what is measured next)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        code = process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return None
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} failed with exit status {code}")
    return time.perf_counter() - started


def timed(command: list[str], runs: int, cwd: Path, status: int = 0) -> tuple[float, float]:
    """Median wall time of ``runs`` runs, and the largest peak memory (MiB), of a whole process
    that must end with exit status ``status``."""
    times, memory = [], 0.0
    for _ in range(runs):
        result = subprocess.run([sys.executable, "-c", PEAK, *command], cwd=cwd, capture_output=True, text=True, check=True)
        elapsed, peak_kib, code = result.stdout.split()
        if int(code) != status:
            raise RuntimeError(f"{' '.join(command)} failed with exit status {code}")
        times.append(float(elapsed))
        memory = max(memory, int(peak_kib) / 1024)
    return statistics.median(times), memory


YARDSTICK = [sys.executable, "-c", "import sympy"]


def side_by_side(commands: list[list[str]], runs: int, cwd: Path, statuses: list[int] | None = None) -> list[tuple[float, float]]:
    """Each command's median wall time and peak memory (MiB) over ``runs`` rounds, the commands run
    in turn within each round, so that the machine's drift within a run touches all of them alike."""
    statuses = statuses or [0] * len(commands)
    times: list[list[float]] = [[] for _ in commands]
    memory = [0.0] * len(commands)
    for _ in range(runs):
        for n, (command, status) in enumerate(zip(commands, statuses)):
            seconds, peak = timed(command, 1, cwd, status)
            times[n].append(seconds)
            memory[n] = max(memory[n], peak)
    return [(statistics.median(t), m) for t, m in zip(times, memory)]


def beside(command: list[str], runs: int, cwd: Path, status: int = 0) -> tuple[float, float, float]:
    """``timed(command)`` with the yardstick run in turn with it: the command's median wall time,
    the yardstick's median over the same minutes, and the command's peak memory (MiB). These
    machines drift within a run too, so each ratio is taken to the yardstick measured beside it."""
    (yardstick, _), (seconds, memory) = side_by_side([YARDSTICK, command], runs, cwd, [0, status])
    return seconds, yardstick, memory


BEFORE = "1533d67"  # the last commit before the speed work (issue 17's "today"): --against's default in full runs


def source_of(revision: str, work: Path) -> Path | None:
    """The package as it was at ``revision`` (git archive, byte-compiled), or None where git or the
    revision is missing (a shallow clone)."""
    target = work / f"at-{revision}"
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", revision], capture_output=True)
    if archive.returncode != 0:
        return None
    target.mkdir()
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    compileall.compile_dir(target / "symbackprop", quiet=1)
    return target


def symbackprop_at(source: Path, *args: str) -> list[str]:
    """The command line of ``symbackprop ARGS`` run from the package at ``source`` (its cli.main)."""
    return ["env", f"PYTHONPATH={source}", sys.executable, "-c", "from symbackprop.cli import main; main()", *args]


def naive(spec: str, limit: float, script: str = NAIVE) -> float | None:
    """Seconds for sympy.diff (or, with ``NAIVE_SYMENGINE``, SymEngine's diff) of the expanded
    E_total w.r.t. every weight, or None past ``limit``."""
    try:
        result = subprocess.run([sys.executable, "-c", script, spec], capture_output=True, text=True, timeout=limit, check=True)
    except subprocess.TimeoutExpired:
        return None
    return float(result.stdout.strip())


def fitted_exponent(points: list[tuple[int, float]]) -> float | None:
    """k in t ≈ c · n^k, least squares on log t against log n, over the points that take more than
    twice the fastest one (below that, constant costs hide the growth); None with fewer than two."""
    points = [(n, t) for n, t in points if t and t > 0]
    fastest = min((t for _, t in points), default=0)
    points = [(n, t) for n, t in points if t > 2 * fastest] or points
    if len(points) < 2:
        return None
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def above_start_up(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The work that grows with the network: each whole-process time minus the smallest network's
    (Python's start-up and SymPy's import, the same in every run)."""
    start_up = min(t for _, t in points)
    return [(n, t - start_up) for n, t in points if t - start_up > 0]


def plot(ours: list[tuple[int, float]], naives: dict[str, list[tuple[int, float]]], k_ours, k_work, path: Path) -> bool:
    """The log-log plot of symbackprop's times and each naive approach's (name: points), with fitted exponents."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=100)
    if ours:
        axes.loglog(*zip(*ours), "o-", label=f"symbackprop derive --format json, whole process (k = {k_ours:.2f})" if k_ours else "symbackprop")
        work = above_start_up(ours)
        if work:
            axes.loglog(*zip(*work), "o:", label=f"the same minus start-up (k = {k_work:.2f})" if k_work else "minus start-up")
    for (name, points), style in zip(naives.items(), ("s--", "^--")):
        if points:
            k = fitted_exponent(points)
            axes.loglog(*zip(*points), style, label=f"naive: {name} of expanded E_total" + (f" (k = {k:.2f})" if k else ""))
    axes.set_xlabel("parameters (weights)")
    axes.set_ylabel("seconds")
    axes.set_title("Time against network size, with fitted exponents t ∝ n^k")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    metadata = {"Software": None}  # no version string or date in the file: reruns differ only by the numbers
    figure.savefig(path, metadata=metadata)
    plt.close(figure)
    return True


HOSTILE = ["x" * 5000, "(" * 100 + "1" + ")" * 100, "2^" * 100 + "2", r"2^{10^{10}}", "9^9^9",
           r"((10^{100})^{10})^{10}", r"(z + 1)^{1000}", r"\input{/etc/passwd}", r"\sqrt[1000]{2}"]


def hostile_input() -> tuple[float, str]:
    """The longest time verify's parser takes to refuse one of ``HOSTILE``, and that input."""
    sys.path.insert(0, str(HERE.parent))
    from symbackprop.algebra.grammar import FormulaError, parse_math

    worst = (0.0, "")
    for text in HOSTILE:
        started = time.perf_counter()
        try:
            parse_math(text, {}, variables=["z"])
        except FormulaError:
            pass
        else:
            raise RuntimeError(f"the hostile formula {text[:40]!r} was accepted")
        worst = max(worst, (time.perf_counter() - started, text if len(text) < 40 else text[:20] + "…"))
    return worst


def cpu_model() -> str:
    """The processor's name, from /proc/cpuinfo on Linux (platform.processor() is often empty)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> str:
    try:
        return f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        return "memory unknown"


def compile_bytecode(work: Path) -> None:
    """Byte-compile symbackprop where it is imported from, as ``pip install`` does, and compile its
    templates as a first run does (``templates/__pycache__``): the measured processes then start the
    way a user's second run does, even where the environment says PYTHONDONTWRITEBYTECODE (as this
    machine's does) and every process would otherwise compile a source checkout again (0.1 s) and
    its templates (0.25 s)."""
    spec = importlib.util.find_spec("symbackprop")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("symbackprop is not installed: pip install -e . first")
    for location in spec.submodule_search_locations:
        compileall.compile_dir(location, quiet=1)
    writing = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for command in (("derive", "2-1", "--format", "md,tex,json,html", "--proof", "numeric", "-q"),
                    ("example", "2-1", "--format", "md,tex,html")):
        subprocess.run(symbackprop(*command, "-o", str(work / "first-run")), check=True, cwd=work,
                       capture_output=True, env=writing)


def before_and_after(revision: str, work: Path, runs: int, report) -> None:
    """Issue 17's figures for the package at ``revision`` and for this one, in turn in one run: the
    start-up figures as ratios to import sympy (the three run in turn), derive 784-128-64-10's time
    and peak memory (twice each)."""
    source = source_of(revision, work)
    if source is None:
        report(f"before ({revision}) and after", "not measured: git or the revision is missing here")
        return
    for what, args in [("symbackprop --help", ("--help",)),
                       ("derive 2-4-3-2 (md, tex, json)", ("derive", "2-4-3-2", "--format", "md,tex,json", "-q")),
                       ("derive 2-4-3-2 --activation 'z/(1+abs(z))'",
                        ("derive", "2-4-3-2", "--activation", "z/(1+abs(z))", "--format", "md,tex,json", "-q"))]:
        output = ("-o", str(work / "ab")) if args[0] == "derive" else ()
        (yardstick, _), (old, _), (new, _) = side_by_side([YARDSTICK, symbackprop_at(source, *args, *output),
                                                           symbackprop(*args, *output)], runs, work)
        report(f"{what}: before ({revision}) → after", f"{old / yardstick:.2f}× → {new / yardstick:.2f}× import sympy "
               f"({old:.2f} s → {new:.2f} s)")
    args = ("derive", "784-128-64-10", "--format", "json", "-q", "-o", str(work / "ab"))
    (old, old_peak), (new, new_peak) = side_by_side([symbackprop_at(source, *args), symbackprop(*args)], 1 if runs == 1 else 2, work)
    report(f"derive 784-128-64-10 --format json: before ({revision}) → after",
           f"{old:.1f} s → {new:.1f} s ({new / old:.2f}× the time), peak {old_peak:.0f} MiB → {new_peak:.0f} MiB",
           "≤ 0.35× the time, peak no higher")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one run each (for the smoke test)")
    parser.add_argument("--write", action="store_true", help="write benchmark.md and scaling.png to benchmarks/results/")
    parser.add_argument("--output", type=Path, help="write them to this directory instead (implies --write)")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds after which the naive approach stops")
    parser.add_argument("--against", metavar="REV", help="also time the start-up figures and derive 784-128-64-10 of the "
                        f"package at git revision REV, in turn with this one (full runs: {BEFORE}; 'none' skips it)")
    parser.add_argument("--suite", action="store_true", help="also time the README's test command (python -m pytest -n auto)")
    options = parser.parse_args()
    if options.output is None and options.write:
        options.output = HERE / "results"
    runs = 1 if options.quick else 5
    rows: list[tuple[str, str, str]] = []
    work = Path(tempfile.mkdtemp(prefix="symbackprop-bench-"))
    if not options.quick:
        compile_bytecode(work)

    def report(what: str, value: str, target: str = "") -> None:
        rows.append((what, value, target))
        print(f"{what}: {value}" + (f" (target: {target})" if target else ""), flush=True)

    # Absolute times on these machines drift 2x between days: every start-up figure is also given as a
    # ratio to `python -c "import sympy"`, measured in the same run.
    baseline, _ = timed(YARDSTICK, runs, work)
    report('python -c "import sympy" (the yardstick of the ratios below; each ratio is to its runs beside the '
           'figure\'s own)', f"{baseline:.2f} s (median of {runs})")

    def ratio(seconds: float, yardstick: float) -> str:
        return f"{seconds / yardstick:.2f}× import sympy"

    for what, command, status in [
        ("symbackprop --help", symbackprop("--help"), 0),
        ("a usage error (derive 2-x-1)", symbackprop("derive", "2-x-1"), 2),
    ]:
        seconds, yardstick, _ = beside(command, runs, work, status)
        target = "≤ 0.3×"
        report(what, f"{seconds:.2f} s (median of {runs}), {ratio(seconds, yardstick)}", target)
    seconds, yardstick, memory = beside(symbackprop("derive", "2-4-3-2", "--format", "md,tex,json", "-q", "-o", str(work / "a")),
                                        runs, work)
    report("derive 2-4-3-2 (md, tex, json), whole process",
           f"{seconds:.2f} s (median of {runs}), {ratio(seconds, yardstick)}, {memory:.0f} MiB", "≤ 2×")
    seconds, yardstick, memory = beside(symbackprop("derive", "2-4-3-2", "--activation", "z/(1+abs(z))", "--format", "md,tex,json",
                                                    "-q", "-o", str(work / "s")), runs, work)
    report("derive 2-4-3-2 --activation 'z/(1+abs(z))' (md, tex, json; the same proofs)",
           f"{seconds:.2f} s (median of {runs}), {ratio(seconds, yardstick)}", "≤ 3×")
    if not options.quick:
        seconds, memory = timed(symbackprop("derive", "784-30-10", "--format", "json", "-q", "-o", str(work / "b")), runs, work)
        report("derive 784-30-10 --format json", f"{seconds:.2f} s (median of {runs}), peak {memory:.0f} MiB", "< 10 s, < 2048 MiB")
        seconds, memory = timed(symbackprop("derive", "784-128-64-10", "--format", "json", "-q", "-o", str(work / "c")), 1, work)
        report("derive 784-128-64-10 --format json", f"{seconds:.1f} s, peak {memory:.0f} MiB", "completes")

    if not options.quick:
        seconds, memory = timed(symbackprop("derive", "8-8-8-8", "--format", "md,tex,json", "-q", "-o", str(work / "d")), runs, work)
        report("derive 8-8-8-8 (md, tex, json; 192 weights, numeric proof), whole process",
               f"{seconds:.2f} s (median of {runs}), {memory:.0f} MiB")

    # The symbolic proof (exact identity with sympy.diff of the expanded E_total), forced with
    # --proof symbolic on growing networks until one takes longer than the limit.
    proof_specs = ["2-2-1", "2-3-2"] if options.quick else ["2-4-3-2", "2-4-4-2", "2-8-8-2", "4-8-8-4", "8-8-8-4", "8-8-8-8",
                                                           "8-16-16-8", "16-32-16-8", "16-32-32-16"]
    largest = None
    for spec in proof_specs:
        seconds = within(symbackprop("derive", spec, "--format", "json", "--proof", "symbolic", "-q", "-o", str(work / f"p{spec}")),
                         options.limit, work)
        print(f"  --proof symbolic {spec}: " + (f"{seconds:.1f} s" if seconds is not None else f"> {options.limit:g} s (stopped)"), flush=True)
        if seconds is None:
            break
        written = json.loads((work / f"p{spec}" / "derivation.json").read_text())
        if any(p["verified"] != "symbolic" for p in written["parameters"]):  # a proof given up is no proof
            print(f"  --proof symbolic {spec}: some proofs were not found in time", flush=True)
            break
        largest = (spec, seconds)
    report(f"largest network whose symbolic proof finishes within {options.limit:g} s",
           f"{largest[0]} ({parameters(largest[0])} weights, {largest[1]:.1f} s)" if largest else "none")

    # verify: a verdict on one gradient, whole process, as a ratio to `import sympy` (issue 14: within 1.3×
    # on 2-4-3-2 and 5× on 784-30-10); a right formula (exit 0) and a wrong one with its diagnosis (exit 1),
    # for a weight into the hidden layer next to the output and, on 2-4-3-2, one into the first (its
    # proof substitutes nearly the whole forward pass: ``Model.expansions_through``).
    for spec, parameter, right, wrong, target in [
        ("2-4-3-2", "w_{21}", r"\delta_{c_1} out_{b_1}", r"\delta_{d_1} w_{31} out_{c_1}(1 - out_{c_1}) out_{b_1}", "≤ 1.3×"),
        ("2-4-3-2", "w_{11}", r"\delta_{b_1} out_{a_1}", r"\delta_{b_1} out_{a_2}", "≤ 1.3×"),
        ("784-30-10", "w_{1,1}", r"\delta_{b_1} out_{a_1}", r"\delta_{b_2} out_{a_1}", "≤ 5×"),
    ]:
        if options.quick and spec != "2-4-3-2":
            continue
        for verdict, formula, status in (("right", right, 0), ("wrong", wrong, 1)):
            seconds, yardstick, _ = beside(symbackprop("verify", spec, "--param", parameter, formula), runs, work, status)
            report(f"verify {spec} --param {parameter} (a {verdict} formula), whole process",
                   f"{seconds:.2f} s (median of {runs}), {ratio(seconds, yardstick)}", target)

    # lint on a long document (issue 15: 500 KB within 60 s): the 3-6-5-3 handout and ten of its worked
    # examples (distinct numbers in each), one document of about 500 KB
    spec, examples = ("2-2-1", 1) if options.quick else ("3-6-5-3", 10)
    subprocess.run(symbackprop("derive", spec, "--format", "md", "--proof", "numeric", "-q", "-o", str(work / "lint")),
                   check=True, cwd=work, capture_output=True)
    parts = [(work / "lint" / "derivation.md").read_text()]
    for seed in range(examples):
        subprocess.run(symbackprop("example", spec, "--seed", str(seed), "-o", str(work / f"lint{seed}")),
                       check=True, cwd=work, capture_output=True)
        parts.append((work / f"lint{seed}" / "example.md").read_text())
    document = work / "long.md"
    document.write_text("\n".join(parts))
    seconds, yardstick, memory = beside(symbackprop("lint", str(document), "--spec", spec, "--wrong-only"), 1, work)
    report(f"lint of a {document.stat().st_size / 1000:.0f} KB document ({spec} handout and {examples} worked examples), "
           "whole process", f"{seconds:.1f} s, {ratio(seconds, yardstick)}, peak {memory:.0f} MiB", "500 KB within 60 s")

    against = options.against or (None if options.quick else BEFORE)
    if against and against != "none":
        before_and_after(against, work, runs, report)

    seconds, text = hostile_input()
    report("symbackprop verify refusing hostile formulas (huge powers, deep nesting, \\input, 5000 characters)",
           f"worst {seconds * 1e3:.1f} ms: {text}", "fast")

    specs = ["2-2-1", "2-3-2", "2-4-3-2"] if options.quick else [
        "2-2-1", "2-4-3-2", "2-4-4-2", "2-8-8-2", "4-8-8-4", "4-16-16-4", "8-16-16-8", "8-32-32-8",
        "16-32-32-16", "32-64-64-32", "784-30-10", "784-64-32-10", "784-128-64-10",
    ]
    ours = []
    naives = {"sympy.diff": (NAIVE, [], {}), "SymEngine's diff": (NAIVE_SYMENGINE, [], {})}  # script, points, texts
    if importlib.util.find_spec("symengine") is None:
        del naives["SymEngine's diff"]
    stopped: set[str] = set()  # the naive approaches past the limit on a smaller network
    for spec in specs:
        seconds, _ = timed(symbackprop("derive", spec, "--format", "json", "--proof", "numeric", "-q", "-o", str(work / spec)), 1, work)
        ours.append((parameters(spec), seconds))
        for name, (script, points, texts) in naives.items():
            if name in stopped:
                texts[spec] = "-"
                continue
            spent = naive(spec, options.limit, script)
            if spent is None:
                stopped.add(name)
                texts[spec] = f"> {options.limit:g} (stopped)"
            else:
                points.append((parameters(spec), spent))
                times_naive = seconds / spent  # (not ``ratio``: that is main's function of the start-up figures)
                texts[spec] = f"{spent:.3g} ({times_naive:.2f}×)" if times_naive < 10 else f"{spent:.3g} ({times_naive:,.0f}×)"
        print(f"  {spec}: {parameters(spec)} weights, symbackprop {seconds:.2f} s, "
              + ", ".join(f"naive {name} {texts[spec]}" for name, (_, _, texts) in naives.items()), flush=True)
    k_ours, k_work = fitted_exponent(ours), fitted_exponent(above_start_up(ours))
    report("fitted exponent, symbackprop whole process (t ∝ n^k)", f"{k_ours:.2f}" if k_ours else "n/a")
    report("fitted exponent, symbackprop minus start-up (t − t(smallest) ∝ n^k)", f"{k_work:.2f}" if k_work else "n/a",
           "about 1 (linear)")
    for name, (_, points, _) in naives.items():
        k = fitted_exponent(points)
        report(f"fitted exponent, naive {name}", f"{k:.2f}" if k else "n/a")

    numbers = HERE / "bench_numbers.py"
    if numbers.exists():
        result = subprocess.run([sys.executable, str(numbers), "--json", *(["--quick"] if options.quick else [])],
                                capture_output=True, text=True)
        if result.stdout.strip().startswith("{"):
            for what, value in json.loads(result.stdout).items():
                report(what, str(value))

    if options.suite:
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "pytest", "-n", "auto", "-q", "-p", "no:cacheprovider"],
                                cwd=HERE.parent, capture_output=True, text=True)
        summary = (result.stdout.strip().splitlines() or ["no output"])[-1].strip("= ")
        report("the README's test command (python -m pytest -n auto)", f"{(time.perf_counter() - started) / 60:.1f} min: {summary}",
               "≤ 4 min")

    machine = f"{cpu_model()}, {os.cpu_count()} cores, {memory_gib()}, Python {platform.python_version()}"
    lines = ["# symbackprop benchmark", "", f"Machine: {machine}.", "", "| measurement | result | target |", "| --- | --- | --- |"]
    lines += [f"| {what} | {value} | {target} |" for what, value, target in rows]
    lines += ["", "## Scaling", "", "symbackprop derive --format json --proof numeric, whole process, against the naive "
              "approach: the derivative of the fully expanded E_total for every weight (in brackets: symbackprop's time "
              "as a ratio to it).", "",
              "| network | weights | symbackprop (s) | " + " | ".join(f"naive {name} (s)" for name in naives) + " |",
              "| --- | --- | --- | " + " | ".join("---" for _ in naives) + " |"]
    for spec, (n, seconds) in zip(specs, ours):
        lines.append(f"| {spec} | {n} | {seconds:.2f} | " + " | ".join(texts[spec] for _, _, texts in naives.values()) + " |")
    if options.output is None:
        print("nothing written (give --write to update benchmarks/results/)")
        return
    options.output.mkdir(parents=True, exist_ok=True)
    (options.output / "benchmark.md").write_text("\n".join(lines) + "\n")
    if plot(ours, {name: points for name, (_, points, _) in naives.items()}, k_ours, k_work, options.output / "scaling.png"):
        print(f"wrote {options.output / 'benchmark.md'} and {options.output / 'scaling.png'}")
    else:
        print(f"wrote {options.output / 'benchmark.md'} (install matplotlib for the plot)")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"benchmark done in {time.perf_counter() - started:.0f} s")
