"""Per-call time of the generated ``grad``, against a hand-written NumPy backprop,
torch.autograd and jax.grad.

Run from the repository root:  python benchmarks/bench_numbers.py [--json]

* 2-4-3-2 (sigmoid, mse, no biases), one sample: the generated code, a hand-written NumPy
  backprop, and torch.autograd and jax.grad (jit) when they are importable;
* 784-128-10 (sigmoid, mse, biases), a batch of 256: the generated code, a hand-written
  vectorized NumPy backprop in the same process (the generated code should be within 1.2× of it),
  and torch.autograd when torch is importable.

All in float64. ``--json`` prints the figures as one JSON object (for ``benchmark.py``) instead
of the report.

Each time is the best of several repeats of ``timeit``'s auto-ranged loop, in the same process,
so the ratio is meaningful on any machine even where the absolute times are not. The gradients of
the three implementations are compared too, so the benchmark times code that computes the same thing.
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


def best_time(call) -> float:
    """Seconds per call: the best of ``REPEATS`` auto-ranged timeit loops."""
    return best_times(call)[0]


def best_times(*calls) -> list[float]:
    """Seconds per call of each of ``calls``, timed in interleaved rounds (so that a slow spell
    of the machine affects all of them alike), the best of ``REPEATS`` rounds each."""
    timers = [timeit.Timer(call) for call in calls]
    numbers = [timer.autorange()[0] for timer in timers]
    best = [float("inf")] * len(calls)
    for _ in range(REPEATS):
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


def main() -> int:
    as_json = "--json" in sys.argv[1:]
    figures: dict[str, str] = {}

    def say(text: str) -> None:
        if not as_json:
            print(text, flush=True)

    rng = np.random.default_rng(0)
    torch_grad, torch = None, None

    # 2-4-3-2, one sample, no biases: the generated code beside a hand-written backprop,
    # torch.autograd and jax.grad (jit), all float64, all checked to agree first.
    small = generated(NetworkSpec.parse("2-4-3-2"))
    sizes = (2, 4, 3, 2)
    W = [rng.uniform(-1, 1, (m, n)) for m, n in zip(sizes, sizes[1:])]
    zeros = [np.zeros(n) for n in sizes[1:]]
    x, y = rng.uniform(-1, 1, 2), rng.uniform(0.05, 0.95, 2)
    ours = small.grad({"W": W}, x, y)["W"]
    calls = {"generated grad": lambda: small.grad({"W": W}, x, y),
             "hand-written NumPy": lambda: hand_written_grad(W, zeros, x[None, :], y[None, :])}
    torch_grad, torch = torch_grad_function(W, zeros)
    if torch_grad is not None:
        tx, ty = torch.tensor(x), torch.tensor(y)
        say(f"2-4-3-2: torch.autograd agrees to {relative(ours, torch_grad(tx, ty)['W']):.1e}")
        calls[f"torch.autograd {torch.__version__}"] = lambda: torch_grad(tx, ty)
    jax_grad, jax = jax_grad_function()
    if jax_grad is not None:
        jparams = {"W": [jax.numpy.asarray(w) for w in W], "b": [jax.numpy.asarray(v) for v in zeros]}
        jx, jy = jax.numpy.asarray(x), jax.numpy.asarray(y)
        say(f"2-4-3-2: jax.grad (jit) agrees to {relative(ours, jax_grad(jparams, jx, jy)['W']):.1e}")
        calls[f"jax.grad (jit) {jax.__version__}"] = lambda: jax_grad(jparams, jx, jy)
    times = dict(zip(calls, best_times(*calls.values())))
    for what, seconds in times.items():
        say(f"2-4-3-2, one sample: {what:32s} {seconds * 1e6:8.1f} µs per call")
        figures[f"2-4-3-2 one sample: {what}"] = f"{seconds * 1e6:.1f} µs per call"
    if torch_grad is None:
        say("2-4-3-2, one sample: torch.autograd: torch is not installed")
    if jax_grad is None:
        say("2-4-3-2, one sample: jax.grad: jax is not installed")

    # 784-128-10, sigmoid, mse, biases, batch 256
    big = generated(NetworkSpec.parse("784-128-10", bias=True))
    sizes = (784, 128, 10)
    W = [rng.uniform(-2 / np.sqrt(m), 2 / np.sqrt(m), (m, n)) for m, n in zip(sizes, sizes[1:])]
    b = [rng.uniform(-0.5, 0.5, n) for n in sizes[1:]]
    params = {"W": W, "b": b}
    X, Y = rng.uniform(0, 1, (256, 784)), rng.uniform(0.05, 0.95, (256, 10))

    ours, hand = big.grad(params, X, Y), hand_written_grad(W, b, X, Y)
    say(f"784-128-10: generated and hand-written gradients agree to {relative(ours['W'] + ours['b'], hand['W'] + hand['b']):.1e}")
    t_gen, t_hand = best_times(lambda: big.grad(params, X, Y), lambda: hand_written_grad(W, b, X, Y))
    ratio = t_gen / t_hand
    say(f"784-128-10, batch 256: generated grad {t_gen * 1e3:8.2f} ms   hand-written NumPy {t_hand * 1e3:8.2f} ms   "
        f"ratio {ratio:.2f}")
    figures["784-128-10 batch 256: generated grad"] = f"{t_gen * 1e3:.2f} ms per call"
    figures["784-128-10 batch 256: hand-written NumPy backprop"] = f"{t_hand * 1e3:.2f} ms per call"
    figures["784-128-10 batch 256: generated / hand-written"] = f"{ratio:.2f}x (target < {TARGET_RATIO}x)"

    torch_grad, torch = torch_grad_function(W, b)
    if torch_grad is not None:
        tX, tY = torch.tensor(X), torch.tensor(Y)
        theirs = torch_grad(tX, tY)
        say(f"784-128-10: torch.autograd agrees to {relative(ours['W'] + ours['b'], theirs['W'] + theirs['b']):.1e}")
        t_torch = best_time(lambda: torch_grad(tX, tY))
        say(f"784-128-10, batch 256: torch.autograd (float64, {torch.__version__}, {torch.get_num_threads()} threads) "
            f"{t_torch * 1e3:8.2f} ms")
        figures["784-128-10 batch 256: torch.autograd"] = f"{t_torch * 1e3:.2f} ms per call"

    verdict = "within" if ratio <= TARGET_RATIO else "NOT within"
    say(f"generated grad is {verdict} {TARGET_RATIO}x of the hand-written NumPy backprop ({ratio:.2f}x)")
    if as_json:
        print(json.dumps(figures))
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
