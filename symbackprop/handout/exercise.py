"""Exercise sheets: the derivation with chosen factors and steps blanked, on seeded numbers.

``exercise_context(derivation, seed)`` returns the data of one sheet; the templates
``exercise.md.j2`` and ``exercise.tex.j2`` lay it out twice, as the exercise (blanks) and as the
answer key (the blanks filled in, boxed). The same seed gives the same sheet: parameter values
are drawn with NumPy's seeded generator and rounded to two decimals (the rounded values are the
exercise's values, and every answer is computed from them), and the blanked factors and chosen
weights come from the same seed.

>>> from symbackprop import derive
>>> sheet = exercise_context(derive("2-2-1"), seed=3)
>>> [task["kind"] for task in sheet["tasks"]]
['forward', 'chain', 'chain', 'delta', 'step']
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import numpy as np
import sympy

from ..algebra.evaluate import evaluate
from ..algebra.expressions import Chain, Partial, tidy
from ..proof import numeric
from .latex import to_latex

if TYPE_CHECKING:  # for annotations only: this stage takes the data it is given, it does not run the pipeline
    from ..api import Derivation

MAX_PARAMETERS = 40  # an exercise sheet is worked by hand
LEARNING_RATE = 0.5
BLANK = r"\boxed{\phantom{0000}}"


class ExerciseError(ValueError):
    """The network is too large for a sheet worked by hand."""


def _number(value: float) -> str:
    """A value as the sheet prints it: four significant digits, LaTeX-safe.

    >>> _number(0.082213), _number(-12.5), _number(3e-05)
    ('0.08221', '-12.5', '3 \\\\cdot 10^{-5}')
    """
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
    return text


def exercise_context(derivation: Derivation, seed: int = 0) -> dict:
    """The sheet's data: the given values, the tasks with their blanks, and the answers."""
    m, chain = derivation.model, derivation.chain
    if m.spec.n_parameters > MAX_PARAMETERS:
        raise ExerciseError(
            f"an exercise sheet is worked by hand: give a network of at most {MAX_PARAMETERS} parameters "
            f"({m.spec.text} has {m.spec.n_parameters})"
        )
    if derivation.selected:  # the tasks are drawn from every weight of the last two layers
        raise ExerciseError("an exercise sheet draws its tasks from every weight: leave out --only")
    rng = random.Random(seed)
    drawn = numeric.random_points(m, 1, seed)
    values = numeric.as_distribution(m, {s: np.round(v, 2) for s, v in drawn.items()}, decimals=2)
    memo: dict = {}
    for symbol, definition in m.definitions.items():
        values[symbol] = evaluate(definition, values, memo)
    for delta in chain.deltas:
        values[delta.symbol] = evaluate(delta.definition, values, memo)
    names = dict(m.latex_names)
    tex = lambda expr: to_latex(expr, names)  # noqa: E731
    number = lambda symbol: _number(float(np.asarray(values[symbol])[0]))  # noqa: E731

    given = [{"name": tex(s), "value": number(s)} for s in m.inputs + m.targets + m.parameters]
    forward = [
        {"name": tex(s), "value": number(s)}
        for k in range(1, m.spec.depth + 1)
        for s in [x for j in range(m.spec.layers[k]) for x in (m.net[k][j], m.out[k][j])]
    ]
    tasks = [{"kind": "forward", "answers": forward}]

    # a weight of the output layer and one of the layer before, each path with one factor blank
    blank = sympy.Dummy("blank")
    names[blank] = BLANK
    for k in range(m.spec.depth, max(0, m.spec.depth - 2), -1):
        weights = [g for g in derivation.gradients if g.parameter.layer == k and g.parameter.kind == "weight"]
        gradient = rng.choice(weights)
        rows = []
        for path in gradient.paths:
            hidden = rng.randrange(len(path.factors))
            question = tex(Chain(*(blank if n == hidden else f.shown for n, f in enumerate(path.factors))))
            rows.append({
                "leibniz": tex(path.leibniz),
                "question": question,
                "answer": tex(path.product),
                "blank": tex(path.factors[hidden].partial),
                "blank_value": tex(path.factors[hidden].shown),
            })
        value = float(evaluate(gradient.chain_rule, values, memo)[0])
        tasks.append({
            "kind": "chain",
            "gradient": tex(Partial(m.loss_symbol, gradient.parameter.symbol)),
            "parameter": tex(gradient.parameter.symbol),
            "paths": rows,
            "value": _number(value),
            "symbol": gradient.parameter.symbol,
            "raw_value": value,
        })

    hidden_deltas = [d for d in chain.deltas if not d.is_output]
    if hidden_deltas:
        delta = rng.choice(hidden_deltas)
        tasks.append({
            "kind": "delta",
            "delta": tex(delta.symbol),
            "leibniz": tex(delta.leibniz),
            "answer": tex(delta.recursion),
            "value": number(delta.symbol),
        })

    chosen = next(t for t in tasks if t["kind"] == "chain")
    old = float(np.asarray(values[chosen["symbol"]])[0])
    tasks.append({
        "kind": "step",
        "parameter": chosen["parameter"],
        "rate": LEARNING_RATE,
        "old": _number(old),
        "gradient_value": chosen["value"],
        "new": _number(old - LEARNING_RATE * chosen["raw_value"]),
    })
    for task in tasks:
        task.pop("symbol", None)
        task.pop("raw_value", None)
    return {
        "spec": m.spec.text,
        "seed": seed,
        "description": f"{m.spec.text} network, activation {', '.join(dict.fromkeys(m.spec.activations))}, "
                       f"loss: {m.loss_function.title}, {'with' if m.spec.bias else 'no'} biases",
        "loss_symbol": tex(m.loss_symbol),
        "loss": tex(m.loss_function.total_display(m.out[-1], m.targets)),
        "local": tex(tidy(chain.factor(m.out[-1][0], m.net[-1][0]).value)),
        "local_partial": tex(Partial(m.out[-1][0], m.net[-1][0])),
        "given": given,
        "tasks": tasks,
        # every value in full precision (inputs, targets, parameters, net inputs, outputs, deltas), for programs
        "values": {symbol.name: float(np.asarray(value)[0]) for symbol, value in values.items()},
    }
