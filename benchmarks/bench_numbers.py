"""Per-call time of the generated ``grad``, against a hand-written NumPy backprop,
torch.autograd and jax.grad (jit), each as a ratio, at three sizes:

* 2-4-3-2 (sigmoid, mse, no biases), one sample;
* 784-128-10 (sigmoid, mse, biases), a batch of 256 (the generated code should be within 1.2× of
  the hand-written NumPy);
* 784-512-512-10 (sigmoid, mse, biases), a batch of 1024.

torch and jax are timed when importable (said when not). All in float64, and every
implementation's gradients are compared with the generated code's first, so the benchmark times
code that computes the same thing.

Run from the repository root:  python benchmarks/bench_numbers.py [--json] [--quick]

``--json`` prints the figures as one JSON object (for ``benchmark.py``) instead of the report;
``--quick`` uses tiny sizes (for the benchmark's smoke test). Each time is the best of several
repeats of ``timeit``'s auto-ranged loop, interleaved in one process, so the ratios mean the same
on any machine even where the absolute times do not.
"""

from __future__ import annotations

import json
import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from symbackprop.network.spec import NetworkSpec  # noqa: E402
from symbackprop.numbers.codegen import generated  # noqa: E402

REPEATS = 7
TARGET_RATIO = 1.2


def best_times(*calls, repeats: int = REPEATS) -> list[float]:
    """Seconds per call of each of ``calls``, timed in interleaved rounds (so that a slow spell
    of the machine affects all of them alike), the best of ``repeats`` rounds each."""
    timers = [timeit.Timer(call) for call in calls]
    numbers = [timer.autorange()[0] if repeats > 1 else 10 for timer in timers]  # one round (--quick): ten calls
    best = [float("inf")] * len(calls)
    for _ in range(repeats):
        for n, (timer, number) in enumerate(zip(timers, numbers)):
            best[n] = min(best[n], timer.timeit(number) / number)
    return best


def hand_written_grad(W, b, X, Y):
    """The textbook vectorized backprop for sigmoid layers and the mean of 1/2 Σ (y - a)²."""
    activations = [X]
    for w, v in zip(W, b):
        activations.append(1.0 / (1.0 + np.exp(-(activations[-1] @ w + v))))
    out = activations[-1]
    delta = (out - Y) * out * (1.0 - out) / X.shape[0]
    gW, gb = [None] * len(W), [None] * len(W)
    for k in range(len(W) - 1, -1, -1):
        gW[k] = activations[k].T @ delta
        gb[k] = delta.sum(axis=0)
        if k:
            a = activations[k]
            delta = (delta @ W[k].T) * a * (1.0 - a)
    return {"W": gW, "b": gb}


def torch_grad_function(W, b):
    """torch.autograd of the same network and loss, float64; (None, None) when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None, None
    tW = [torch.tensor(w, requires_grad=True) for w in W]
    tb = [torch.tensor(v, requires_grad=True) for v in b]

    def grad(X, Y):
        for t in tW + tb:
            t.grad = None
        a = X
        for w, v in zip(tW, tb):
            a = torch.sigmoid(a @ w + v)
        loss = (0.5 * ((Y - a) ** 2).sum(dim=-1)).mean()
        loss.backward()
        return {"W": [t.grad.numpy() for t in tW], "b": [t.grad.numpy() for t in tb]}

    return grad, torch


def jax_grad_function():
    """jax.jit(jax.grad(loss)) of the same network and loss, float64; (None, None) without jax."""
    try:
        import jax
    except ImportError:
        return None, None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def loss(params, X, Y):
        a = X
        for w, v in zip(params["W"], params["b"]):
            a = jax.nn.sigmoid(a @ w + v)
        return jnp.mean(0.5 * jnp.sum((Y - a) ** 2, axis=-1))

    compiled = jax.jit(jax.grad(loss))

    def grad(params, X, Y):
        result = compiled(params, X, Y)
        jax.block_until_ready(result)
        return result

    return grad, jax


def relative(a, b) -> float:
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))) / max(np.max(np.abs(np.asarray(y))), 1e-300))
               for x, y in zip(a, b))


# (spec, biases, batch size or None for one sample): the three sizes, and --quick's tiny ones
SIZES = [("2-4-3-2", False, None), ("784-128-10", True, 256), ("784-512-512-10", True, 1024)]
QUICK_SIZES = [("2-3-2", False, None), ("6-5-3", True, 16)]
CHECKED = "784-128-10"  # the size whose ratio to the hand-written NumPy has a target (TARGET_RATIO)


def compare(spec_text: str, bias: bool, batch: int | None, rng, say, repeats: int = REPEATS) -> dict[str, float]:
    """Seconds per call of the generated grad and of each other implementation at one size, after
    checking that each computes the generated code's gradient (to 1e-9, relative)."""
    sizes = tuple(int(n) for n in spec_text.split("-"))
    code = generated(NetworkSpec.parse(spec_text, bias=bias))
    W = [rng.uniform(-2 / np.sqrt(m), 2 / np.sqrt(m), (m, n)) for m, n in zip(sizes, sizes[1:])]
    b = [rng.uniform(-0.5, 0.5, n) if bias else np.zeros(n) for n in sizes[1:]]
    params = {"W": W, "b": b} if bias else {"W": W}
    shape = (sizes[0],) if batch is None else (batch, sizes[0])
    X, Y = rng.uniform(-1, 1, shape), rng.uniform(0.05, 0.95, shape[:-1] + (sizes[-1],))
    ours = code.grad(params, X, Y)
    flat = lambda g: list(g["W"]) + (list(g["b"]) if bias else [])  # noqa: E731
    X2, Y2 = np.atleast_2d(X), np.atleast_2d(Y)
    calls = {"generated grad": lambda: code.grad(params, X, Y),
             "hand-written NumPy": lambda: hand_written_grad(W, b, X2, Y2)}
    others = {"hand-written NumPy": hand_written_grad(W, b, X2, Y2)}
    torch_grad, torch = torch_grad_function(W, b)
    if torch_grad is not None:
        tX, tY = torch.tensor(X), torch.tensor(Y)
        name = f"torch.autograd {torch.__version__}"
        calls[name], others[name] = (lambda: torch_grad(tX, tY)), torch_grad(tX, tY)
    jax_grad, jax = jax_grad_function()
    if jax_grad is not None:
        jparams = {"W": [jax.numpy.asarray(w) for w in W], "b": [jax.numpy.asarray(v) for v in b]}
        jX, jY = jax.numpy.asarray(X), jax.numpy.asarray(Y)
        name = f"jax.grad (jit) {jax.__version__}"
        calls[name], others[name] = (lambda: jax_grad(jparams, jX, jY)), jax_grad(jparams, jX, jY)
    for name, theirs in others.items():
        agreement = relative(flat(ours), [np.asarray(v).reshape(np.shape(o)) for v, o in zip(flat(theirs), flat(ours))])
        if agreement > 1e-9:
            raise RuntimeError(f"{spec_text}: {name} computes another gradient (relative difference {agreement:.1e})")
        say(f"{spec_text}: {name} agrees with the generated grad to {agreement:.1e}")
    return dict(zip(calls, best_times(*calls.values(), repeats=repeats)))


def main() -> int:
    as_json = "--json" in sys.argv[1:]
    figures: dict[str, str] = {}

    def say(text: str) -> None:
        if not as_json:
            print(text, flush=True)

    rng = np.random.default_rng(0)
    checked_ratio = None
    quick = "--quick" in sys.argv[1:]
    for spec_text, bias, batch in QUICK_SIZES if quick else SIZES:
        label = f"{spec_text}{' with biases' if bias else ''}, " + ("one sample" if batch is None else f"batch {batch}")
        times = compare(spec_text, bias, batch, rng, say, repeats=1 if quick else REPEATS)
        ours = times["generated grad"]
        for what, seconds in times.items():
            shown = f"{seconds * 1e6:.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"
            ratio = "" if what == "generated grad" else f", generated / {what.split(' ')[0]} {ours / seconds:.2f}×"
            say(f"{label}: {what:32s} {shown} per call{ratio}")
            figures[f"{label}: {what}"] = f"{shown} per call{ratio}"
        for library in ("torch", "jax"):
            if not any(what.startswith(library) for what in times):
                say(f"{label}: {library} is not installed")
        if spec_text == CHECKED:
            checked_ratio = ours / times["hand-written NumPy"]
    if checked_ratio is not None:
        verdict = "within" if checked_ratio <= TARGET_RATIO else "NOT within"
        say(f"{CHECKED}: generated grad is {verdict} {TARGET_RATIO}x of the hand-written NumPy backprop ({checked_ratio:.2f}x)")
        figures[f"{CHECKED}: generated / hand-written NumPy, target"] = f"{checked_ratio:.2f}× (target ≤ {TARGET_RATIO}×)"
    if as_json:
        print(json.dumps(figures))
    return 0 if checked_ratio is None or checked_ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
