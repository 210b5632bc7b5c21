"""Exercise sheets: the derivation with chosen factors and steps blanked, on seeded numbers.

``exercise_context(derivation, seed)`` returns the data of one sheet; the templates
``exercise.md.j2`` and ``exercise.tex.j2`` lay it out twice, as the exercise (blanks) and as the
answer key (the blanks filled in, boxed), under ``sheet_title``. The same seed gives the same
sheet: parameter values are drawn with NumPy's seeded generator and rounded to two decimals (the
rounded values are the exercise's values, and every answer is computed from them), and the
blanked factors and chosen weights come from the same seed.

The sheet says how the network is wired: the drawing with every weight labelled (TikZ in the
.tex, ``network.svg`` beside the .md, written by ``exercise_svgs``), the net input of every neuron
written out, and the given values in the order the notation numbers the weights.

As HTML (``render_exercise_html``, ``templates/exercise.html.j2``) the same sheet is exercise.html
and solutions.html, typeset by KaTeX from the files beside them (``html.page_files``), the drawing
inline; on solutions.html each task's answer is under a "Show the answer" toggle (``<details>``).
The page's formulas are the Markdown's, put together here (``page_displays``), never in the template.

>>> from symbackprop import derive
>>> sheet = exercise_context(derive("2-2-1"), seed=3)
>>> [task["kind"] for task in sheet["tasks"]]
['forward', 'chain', 'chain', 'delta', 'step']
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import sympy

from ..algebra.evaluate import evaluate
from ..algebra.expressions import Chain, Partial, tidy
from ..algebra.lazy import numpy as np
from ..network.spec import MAX_EXERCISE_PARAMETERS
from ..proof import numeric
from ..version import __version__
from .diagram import TIKZ_LIBRARIES, to_svg, to_tikz
from .figures import network_diagram
from .files import Batch
from .html import add_pages, render_page
from .latex import to_latex

if TYPE_CHECKING:  # for annotations only: this stage takes the data it is given, it does not run the pipeline
    from ..api import Derivation

MAX_PARAMETERS = MAX_EXERCISE_PARAMETERS  # an exercise sheet is worked by hand
LEARNING_RATE = 0.5
BLANK = r"\boxed{\phantom{0000}}"
LONG_BLANK = r"\boxed{\phantom{0000000000}}"  # for a formula (the delta's recursion)
NETWORK_SVG = "network.svg"  # the drawing exercise.md shows, written beside it
PAGES = ("exercise.html", "solutions.html")  # the sheet and its key as HTML, KaTeX beside them



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

    given = [{"name": tex(s), "value": number(s), "connects": None} for s in m.inputs + m.targets]
    given += [
        {"name": tex(s), "value": number(s), "connects": connects}
        for s, connects in _parameters_in_order(m)
    ]
    parameters = m.parameter_set
    net_sum = lambda terms: to_latex(_weights_first(terms, parameters), names, order="none", mul_symbol=r"\,")  # noqa: E731
    network = [  # net_j = Σ_i w_ij out_i (+ b_j), as the design writes it: the weight first
        {
            "layer": k,
            "equations": [
                {"net": tex(m.net[k][j]), "sum": net_sum(m.net_terms(k, j))}
                for j in range(m.spec.layers[k])
            ],
        }
        for k in range(1, m.spec.depth + 1)
    ]
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
        "title": sheet_title({"spec": m.spec.text}),  # the default; write_exercise puts --title here
        "seed": seed,
        "description": f"{m.spec.text} network, activation {', '.join(dict.fromkeys(m.spec.activations))}, "
                       f"loss: {m.loss_function.title}, {'with' if m.spec.bias else 'no'} biases",
        "loss_symbol": tex(m.loss_symbol),
        "loss": tex(m.loss_function.total_display(m.out[-1], m.targets)),
        "local": tex(tidy(chain.factor(m.out[-1][0], m.net[-1][0]).value)),
        "local_partial": tex(Partial(m.out[-1][0], m.net[-1][0])),
        "given": given,
        "network": network,
        "figure": {
            "tikz": to_tikz(network_diagram(derivation)),
            "tikz_libraries": ",".join(TIKZ_LIBRARIES),
            "svg": NETWORK_SVG,
        },
        "tasks": tasks,
        # every value in full precision (inputs, targets, parameters, net inputs, outputs, deltas), for programs
        "values": {symbol.name: float(np.asarray(value)[0]) for symbol, value in values.items()},
    }


def _parameters_in_order(m) -> list:
    """Every weight and bias with what it connects (LaTeX, e.g. ``a_{1} \\to b_{2}``), layer by
    layer from the input: the weights of a layer in the order the notation numbers them, then its
    biases."""
    label = lambda k, j: m.notation.neuron(k, j)  # noqa: E731
    rows = []
    for k in range(1, m.spec.depth + 1):
        rows += [(m.weights[k][i][j], rf"{label(k - 1, i)} \to {label(k, j)}") for i, j in m.numbered_weights(k)]
        if m.spec.shared_bias:  # one bias into every neuron of the layer
            rows += [(b, rf"1 \to {', '.join(label(k, j) for j in range(m.spec.layers[k]))}") for b in m.layer_biases(k)]
        elif m.biases:
            rows += [(b, rf"1 \to {label(k, j)}") for j, b in enumerate(m.biases[k])]
    return rows


def _weights_first(terms, parameters) -> sympy.Expr:
    """The sum of a net input's terms as written, each product with its weight first (SymPy
    would print out_{a_1} w_{11}); print it with ``order="none"``.

    >>> w, out = sympy.symbols("w_11 out_a_1")
    >>> sympy.latex(_weights_first([out * w], {w}), order="none")
    'w_{11} out_{a 1}'
    """
    ordered = [
        sympy.Mul(*sorted(term.args, key=lambda f: f not in parameters), evaluate=False) if term.is_Mul else term
        for term in terms
    ]
    return sympy.Add(*ordered, evaluate=False)


def exercise_svgs(derivation: Derivation) -> dict:
    """The SVG files the Markdown sheet links, by name: the network with every weight labelled."""
    return {NETWORK_SVG: to_svg(network_diagram(derivation))}


# -- the sheet as HTML: exercise.html and solutions.html ------------------------------------
def sheet_title(data: dict, title: Optional[str] = None) -> str:
    """The title of every sheet (md, tex, html; "Solutions: " before it on the key): ``title`` as
    given (``--title``, printed literally: each template escapes it as the handout's), or the default.

    >>> sheet_title({"spec": "2-2-1"})
    'Backpropagation by hand — a 2-2-1 network'
    """
    return title or f"Backpropagation by hand — a {data['spec']} network"


def _boxed(tex: str) -> str:
    return rf"\boxed{{ {tex} }}"


def _wrapping(lhs: str, rhs: str) -> str:
    r"""``lhs = rhs`` for the page to set as inline math in a paragraph of its own, which KaTeX
    breaks after an ``=`` or a ``\cdot`` where the column is too narrow (display math never
    breaks); its fractions set at display size (``\dfrac``).

    >>> print(_wrapping(r"\frac{a}{b}", r"c \cdot d"))
    \dfrac{a}{b} = c \cdot d
    """
    return f"{lhs} = {rhs}".replace(r"\frac{", r"\dfrac{")


def page_displays(data: dict) -> dict:
    r"""The formulas of the HTML sheet, from ``exercise_context``'s LaTeX, as exercise.md writes
    them: per layer the net inputs (one aligned display), the total error, the activation's
    derivative, and per task the equations of its question (with blanks) and of its answer (as
    solutions.md has them), set to wrap in a narrow column (``_wrapping``).

    >>> shown = page_displays(exercise_context(__import__("symbackprop").derive("1-1"), seed=0))
    >>> shown["tasks"][-1]["question"][0].endswith(BLANK), shown["tasks"][-1]["answer"][0].count(r"\boxed")
    (True, 1)
    """
    loss = data["loss_symbol"]
    tasks = []
    for task in data["tasks"]:
        shown = {"question": [], "answer": [], "missing": []}
        if task["kind"] == "chain":
            for path in task["paths"]:
                shown["question"].append(_wrapping(path["leibniz"], path["question"]))
                shown["answer"].append(_wrapping(path["leibniz"], path["answer"]))
                shown["missing"].append(f"{path['blank']} = {path['blank_value']}")
            shown["question"].append(_wrapping(task["gradient"], BLANK))
            shown["answer"].append(_wrapping(task["gradient"], _boxed(task["value"])))
        elif task["kind"] == "delta":
            lhs = f"{task['delta']} = {task['leibniz']}"
            shown["question"].append(_wrapping(lhs, LONG_BLANK))
            shown["answer"].append(_wrapping(lhs, f"{_boxed(task['answer'])} = {task['value']}"))
        elif task["kind"] == "step":
            p = task["parameter"]
            lhs = rf"{p} \leftarrow {p} - \alpha \, \frac{{\partial {loss}}}{{\partial {p}}}"
            shown["question"].append(_wrapping(lhs, BLANK))
            shown["answer"].append(_wrapping(lhs, f"{task['old']} - {task['rate']} \\cdot ({task['gradient_value']}) = "
                                                  f"{_boxed(task['new'])}"))
            shown["rate"] = rf"\alpha = {task['rate']}"
        tasks.append(shown)
    return {
        "network": ["\\begin{aligned}\n" + " \\\\\n".join(f"{eq['net']} &= {eq['sum']}" for eq in layer["equations"])
                    + "\n\\end{aligned}" for layer in data["network"]],
        "loss": _wrapping(loss, data["loss"]),  # a sum of one term per output
        "local": f"{data['local_partial']} = {data['local']}",
        "tasks": tasks,
    }


def _inline_svg(svg: str) -> str:
    """A standalone SVG document as an element for an HTML page: without its XML declaration."""
    return svg.split("\n", 1)[1] if svg.startswith("<?xml") else svg


def render_exercise_html(derivation: Derivation, templates: Path, solutions: bool, seed: int = 0,
                         title: Optional[str] = None, data: Optional[dict] = None) -> str:
    """exercise.html (``solutions`` False) or solutions.html: the sheet of ``exercise_context``
    (or ``data`` already built) through ``templates/exercise.html.j2`` in the directory
    ``templates`` (``render.template_dir()``), with the drawing of network.svg inline; it needs
    ``html.page_files()`` beside it. ``title`` (``--title``) is escaped by the template, and, as in
    the .md and .tex, its control characters dropped and bidirectional controls shown (``html.environment``)."""
    data = data if data is not None else exercise_context(derivation, seed)
    page = "solutions" if solutions else "exercise"
    context = dict(data, solutions=solutions, title=sheet_title(data, title), version=__version__,
                   shown=page_displays(data), other_page=PAGES[0 if solutions else 1])
    payload = {"page": page, "spec": data["spec"], "seed": data["seed"]}  # the script needs no answers
    drawing = _inline_svg(exercise_svgs(derivation)[NETWORK_SVG])
    return render_page(templates, "exercise.html.j2", context, payload, drawing, search_hint="")


def add_exercise_pages(batch: Batch, derivation: Derivation, templates: Path, seed: int = 0,
                       title: Optional[str] = None) -> list[Path]:
    """exercise.html and solutions.html, with KaTeX and the page's files beside them, into
    ``batch`` (a ``files.Batch``); the pages first in the list returned."""
    data = exercise_context(derivation, seed)
    pages = {name: render_exercise_html(derivation, templates, name == PAGES[1], seed, title, data) for name in PAGES}
    return add_pages(batch, pages)
