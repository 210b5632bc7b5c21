"""Per-call time of the generated ``grad`` (issue 4), against a hand-written NumPy backprop and torch.

Run from the repository root:  python benchmarks/bench_numbers.py

* 2-4-3-2 (sigmoid, mse, no biases), one sample;
* 784-128-10 (sigmoid, mse, biases), a batch of 256: the generated code, a hand-written
  vectorized NumPy backprop in the same process (the generated code should be within 1.2× of it),
  and torch.autograd (float64, like the others) when torch is importable.

Each time is the best of several repeats of ``timeit``'s auto-ranged loop, in the same process,
so the ratio is meaningful on any machine even where the absolute times are not. The gradients of
the three implementations are compared too, so the benchmark times code that computes the same thing.
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from symbackprop.codegen import generated  # noqa: E402
from symbackprop.spec import NetworkSpec  # noqa: E402

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
    """torch.autograd of the same network and loss, float64; None when torch is not installed."""
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
        loss = (0.5 * ((Y - a) ** 2).sum(dim=1)).mean()
        loss.backward()
        return {"W": [t.grad.numpy() for t in tW], "b": [t.grad.numpy() for t in tb]}

    return grad, torch


def relative(a, b) -> float:
    return max(float(np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-300)) for x, y in zip(a, b))


def main() -> int:
    rng = np.random.default_rng(0)

    # 2-4-3-2, one sample
    small = generated(NetworkSpec.parse("2-4-3-2"))
    sizes = (2, 4, 3, 2)
    params = {"W": [rng.uniform(-1, 1, (m, n)) for m, n in zip(sizes, sizes[1:])]}
    x, y = rng.uniform(-1, 1, 2), rng.uniform(0.05, 0.95, 2)
    zeros = [np.zeros(n) for n in sizes[1:]]
    t_small, t_small_hand = best_times(lambda: small.grad(params, x, y),
                                       lambda: hand_written_grad(params["W"], zeros, x[None, :], y[None, :]))
    print(f"2-4-3-2, one sample:       generated grad {t_small * 1e6:8.1f} µs   "
          f"hand-written NumPy {t_small_hand * 1e6:8.1f} µs")

    # 784-128-10, batch 256
    big = generated(NetworkSpec.parse("784-128-10", bias=True))
    sizes = (784, 128, 10)
    W = [rng.uniform(-2 / np.sqrt(m), 2 / np.sqrt(m), (m, n)) for m, n in zip(sizes, sizes[1:])]
    b = [rng.uniform(-0.5, 0.5, n) for n in sizes[1:]]
    params = {"W": W, "b": b}
    X, Y = rng.uniform(0, 1, (256, 784)), rng.uniform(0.05, 0.95, (256, 10))

    ours, hand = big.grad(params, X, Y), hand_written_grad(W, b, X, Y)
    print(f"784-128-10: generated and hand-written gradients agree to {relative(ours['W'] + ours['b'], hand['W'] + hand['b']):.1e}")
    t_gen, t_hand = best_times(lambda: big.grad(params, X, Y), lambda: hand_written_grad(W, b, X, Y))
    ratio = t_gen / t_hand
    print(f"784-128-10, batch 256:     generated grad {t_gen * 1e3:8.2f} ms   "
          f"hand-written NumPy {t_hand * 1e3:8.2f} ms   ratio {ratio:.2f}")

    torch_grad, torch = torch_grad_function(W, b)
    if torch_grad is not None:
        tX, tY = torch.tensor(X), torch.tensor(Y)
        theirs = torch_grad(tX, tY)
        print(f"784-128-10: torch.autograd agrees to {relative(ours['W'] + ours['b'], theirs['W'] + theirs['b']):.1e}")
        t_torch = best_time(lambda: torch_grad(tX, tY))
        print(f"                           torch.autograd (float64, {torch.__version__}, "
              f"{torch.get_num_threads()} threads) {t_torch * 1e3:8.2f} ms")
    else:
        print("                           torch.autograd: torch is not installed")

    verdict = "within" if ratio <= TARGET_RATIO else "NOT within"
    print(f"generated grad is {verdict} {TARGET_RATIO}x of the hand-written NumPy backprop ({ratio:.2f}x)")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
