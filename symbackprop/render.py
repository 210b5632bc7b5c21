"""Stage 6 of the pipeline: a ``Derivation`` as Markdown, LaTeX and JSON.

``context(derivation)`` turns the derivation into plain data for the templates: names, numbers
and LaTeX strings printed by SymPy (``symbackprop.latex``). The Jinja2 templates in
``templates/`` lay that data out and hold no mathematics. User-supplied text reaches a
template only through the ``latex_escape`` / ``md_escape`` filters.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable, Optional

import jinja2
import sympy

from . import __version__
from .api import Derivation
from .chainrule import Delta, Gradient
from .expressions import Partial
from .latex import to_latex

FORMATS = ("md", "tex", "json")
TEMPLATE_DIRS = (Path(__file__).parent / "templates", Path(__file__).parent.parent / "templates")

# A handout lists every parameter up to this many; past it, each layer shows its general rule
# and the parameters whose paths are written out, and says that derivation.json has the rest.
HANDOUT_PARAMETER_LIMIT = 120
# Forward-pass and delta equations shown per layer before the handout says "and so on".
HANDOUT_NEURON_LIMIT = 8


# -- escaping user text (one place) ---------------------------------------------------------
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "%": r"\%",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_escape(text: object) -> str:
    """Text that LaTeX prints literally.

    >>> print(latex_escape(r"50% of $x_1$ \\input{f}"))
    50\\% of \\$x\\_1\\$ \\textbackslash{}input\\{f\\}
    """
    return "".join(_LATEX_SPECIAL.get(c, c) for c in str(text))


def md_escape(text: object) -> str:
    """Text that Markdown (and GitHub's math) prints literally, inside a line.

    >>> print(md_escape("2-4-3-2: a_b *c* $x$ [link](u)"))
    2-4-3-2: a\\_b \\*c\\* \\$x\\$ \\[link\\](u)
    """
    return re.sub(r"([\\`*_{}\[\]<>$|~#&])", r"\\\1", str(text))


# -- templates ------------------------------------------------------------------------------
def _template_dir() -> Path:
    for directory in TEMPLATE_DIRS:
        if (directory / "derivation.md.j2").is_file():
            return directory
    raise FileNotFoundError("symbackprop's templates are missing; reinstall the package")


def environment(kind: str) -> jinja2.Environment:
    """The Jinja2 environment for ``kind`` "md" or "tex" (LaTeX-safe delimiters for "tex")."""
    options = dict(
        loader=jinja2.FileSystemLoader(str(_template_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    if kind == "tex":
        options.update(
            block_start_string=r"\BLOCK{",
            block_end_string="}",
            variable_start_string=r"\VAR{",
            variable_end_string="}",
            comment_start_string=r"\#{",
            comment_end_string="}",
            line_comment_prefix="%#",
        )
    env = jinja2.Environment(**options)
    env.filters["latex_escape"] = latex_escape
    env.filters["md_escape"] = md_escape
    return env


# -- context: the derivation as data for the templates --------------------------------------
def describe_layers(layers: tuple[int, ...]) -> str:
    """The network in words.

    >>> describe_layers((2, 4, 3, 2))
    '2 inputs, hidden layers of 4 and 3 neurons, 2 outputs'
    """
    plural = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"  # noqa: E731
    hidden = layers[1:-1]
    parts = [plural(layers[0], "input")]
    if len(hidden) == 1:
        parts.append(f"a hidden layer of {plural(hidden[0], 'neuron')}")
    elif hidden:
        sizes = ", ".join(str(n) for n in hidden[:-1]) + f" and {hidden[-1]}"
        parts.append(f"hidden layers of {sizes} neurons")
    parts.append(plural(layers[-1], "output"))
    return ", ".join(parts)


def _shown(items: list, limit: int = HANDOUT_NEURON_LIMIT) -> dict:
    """The first ``limit`` items and how many are left out."""
    return {"items": items[:limit], "omitted": max(0, len(items) - limit)}


class _Context:
    """Builds the template context of one derivation."""

    def __init__(self, derivation: Derivation):
        self.d = derivation
        self.model = derivation.model
        self.names = derivation.model.latex_names

    def tex(self, expr) -> str:
        return to_latex(expr, self.names)

    def label(self, neuron) -> str:
        return self.model.label(neuron)

    def forward(self, layer: int) -> dict:
        m = self.model
        equations = []
        for j in range(m.spec.layers[layer]):
            net, out = m.net[layer][j], m.out[layer][j]
            equations.append(
                {
                    "net": self.tex(net),
                    "net_value": self.tex(m.definitions[net]),
                    "out": self.tex(out),
                    "out_display": self.tex(m.display_activation(layer, net)),
                    "out_value": self.tex(m.definitions[out]),
                }
            )
        return _shown(equations)

    def delta(self, delta: Delta) -> dict:
        return {
            "neuron": self.label(delta.neuron),
            "symbol": self.tex(delta.symbol),
            "net": self.tex(delta.net),
            "leibniz": self.tex(delta.leibniz),
            "recursion": self.tex(delta.recursion),
            "is_output": delta.is_output,
        }

    def verified(self, gradient: Gradient) -> dict:
        verification = self.d.verification
        checks = verification.checks[gradient.parameter.symbol]
        return {
            "method": verification.method(gradient.parameter.symbol),
            "max_rel_error": f"{max(c.max_rel_error for c in checks.values()):.0e}",
        }

    def parameter(self, gradient: Gradient) -> dict:
        m, parameter = self.model, gradient.parameter
        paths = None
        if gradient.paths is not None:
            paths = [
                {
                    "route": [self.label(n) for n in path.neurons],
                    "output": self.label(path.output),
                    "leibniz": self.tex(path.leibniz),
                    "product": self.tex(path.product),
                }
                for path in gradient.paths
            ]
        return {
            "symbol": parameter.symbol.name,
            "latex": self.tex(parameter.symbol),
            "kind": parameter.kind,
            "source": self.label(parameter.source) if parameter.source else None,
            "target": self.label(parameter.target),
            "n_paths": gradient.n_paths,
            "outputs": sorted({p["output"] for p in paths}) if paths else None,
            "paths": paths,
            "gradient": self.tex(Partial(m.loss_symbol, parameter.symbol)),
            "input_factor": self.tex(gradient.input_factor.partial),
            "input_value": self.tex(gradient.input_factor.value),
            "delta": self.tex(gradient.delta.symbol),
            "delta_form": self.tex(gradient.delta_form),
            "verified": self.verified(gradient),
        }

    def layer(self, k: int) -> dict:
        m, d = self.model, self.d
        gradients = [g for g in d.gradients if g.parameter.layer == k]
        full = d.selected or m.spec.n_parameters <= HANDOUT_PARAMETER_LIMIT
        shown = gradients if full else [g for g in gradients if g.paths is not None]
        deltas = [self.delta(delta) for delta in d.deltas if delta.neuron.layer == k]
        previous = m.spec.layers[k - 1]
        return {
            "number": k,
            "letter": m.notation.neuron(k, 0).split("_")[0],
            "previous_letter": m.notation.neuron(k - 1, 0).split("_")[0],
            "is_output": k == m.spec.depth,
            "size": m.spec.layers[k],
            "activation": m.activation(k).name,
            "deltas": _shown(deltas),
            "parameters": [self.parameter(g) for g in shown],
            "n_parameters": len(gradients),
            "n_omitted": len(gradients) - len(shown),
            "first_weight": self.tex(m.weights[k][0][0]),
            "n_weights": previous * m.spec.layers[k],
        }

    def build(self, title: Optional[str]) -> dict:
        d, m, spec = self.d, self.model, self.d.spec
        verification = d.verification
        activation = m.activation(spec.depth)
        z = m.net[spec.depth][0]
        out = m.out[spec.depth][0]
        letters = [
            {"letter": m.notation.neuron(k, 0).split("_")[0], "layer": k, "size": size}
            for k, size in enumerate(spec.layers)
        ]
        gradients = d.gradients
        return {
            "title": title or f"Backpropagation for a {spec.text} network",
            "user_title": title is not None,
            "spec": spec.text,
            "layers": list(spec.layers),
            "depth": spec.depth,
            "description": describe_layers(spec.layers),
            "activations": sorted(set(spec.activations)),
            "loss_title": m.loss_function.title,
            "bias": spec.bias,
            "notation": m.notation.title,
            "letters": letters,
            "n_parameters": len(gradients),
            "n_all_parameters": spec.n_parameters,
            "n_weights": sum(1 for g in gradients if g.parameter.kind == "weight"),
            "n_biases": sum(1 for g in gradients if g.parameter.kind == "bias"),
            "selected": d.selected,
            "loss_symbol": self.tex(m.loss_symbol),
            "loss": self.tex(m.loss_function.total_display(m.out[-1], m.targets)),
            "forward": [dict(self.forward(k), layer=k, letter=letters[k]["letter"]) for k in range(1, spec.depth + 1)],
            "local": {
                "d_loss": self.tex(Partial(m.loss_symbol, out)),
                "d_loss_value": self.tex(d.chain.factor(m.loss_symbol, out).value),
                "d_out": self.tex(Partial(out, z)),
                "d_out_display": self.tex(sympy.Derivative(m.display_activation(spec.depth, z), z)),
                "d_out_value": self.tex(d.chain.factor(out, z).value),
                "d_out_formula": self.tex(activation.derivative(z)),
                "activation": activation.name,
                "example_out": self.tex(out),
                "example_net": self.tex(z),
            },
            "layers_back": [self.layer(k) for k in range(spec.depth, 0, -1)],
            "verification": {
                "symbolic": verification.symbolic,
                "points": verification.points,
                "seed": verification.seed,
                "tolerance": f"{verification.tolerance:.0e}",
                "max_rel_error": f"{verification.max_rel_error:.0e}",
                "factors_proven": verification.factors_proven,
                "n_symbolic": sum(1 for g in gradients if verification.method(g.parameter.symbol) == "symbolic"),
            },
            "version": __version__,
        }


def context(derivation: Derivation, title: Optional[str] = None) -> dict:
    """The data the templates lay out (all mathematics already printed as LaTeX)."""
    return _Context(derivation).build(title)


def _render(kind: str, data: dict) -> str:
    return environment(kind).get_template(f"derivation.{kind}.j2").render(data)


def render_markdown(derivation: Derivation, title: Optional[str] = None) -> str:
    """derivation.md: the handout for GitHub (math in $$ blocks, MathJax macros only)."""
    return _render("md", context(derivation, title))


def render_latex(derivation: Derivation, title: Optional[str] = None) -> str:
    """derivation.tex: the handout as a standalone amsmath article for pdflatex."""
    return _render("tex", context(derivation, title))


# -- JSON -----------------------------------------------------------------------------------
def _position(neuron) -> Optional[list[int]]:
    """[layer, neuron] with neurons counted from 1, as derivation.json writes it."""
    return None if neuron is None else [neuron.layer, neuron.index + 1]


def derivation_json(derivation: Derivation) -> dict:
    """The machine-readable result (the schema is documented in the README)."""
    d, m, spec = derivation, derivation.model, derivation.spec
    names = lambda symbols: [s.name for s in symbols]  # noqa: E731
    definitions = {symbol.name: str(expr) for symbol, expr in m.definitions.items()}
    definitions.update({delta.symbol.name: str(delta.definition) for delta in d.deltas})
    definitions[m.loss_symbol.name] = str(m.loss)
    parameters = []
    for gradient in d.gradients:
        p = gradient.parameter
        checks = d.verification.checks[p.symbol]
        parameters.append(
            {
                "symbol": p.symbol.name,
                "latex": m.latex_names[p.symbol],
                "kind": p.kind,
                "from": _position(p.source),
                "to": _position(p.target),
                "paths": gradient.n_paths,
                "chain_rule": str(gradient.chain_rule),
                "form": "path_sum" if gradient.paths is not None else "delta",
                "delta_form": str(gradient.delta_form.doit()),
                "path_terms": None if gradient.paths is None else [str(path.value) for path in gradient.paths],
                "verified": d.verification.method(p.symbol),
                "max_rel_error": float(f"{max(c.max_rel_error for c in checks.values()):.1e}"),
            }
        )
    return {
        "spec": spec.text,
        "layers": list(spec.layers),
        "activations": list(spec.activations),
        "loss": spec.loss,
        "bias": spec.bias,
        "notation": spec.notation,
        "primary": {
            "inputs": names(m.inputs),
            "targets": names(m.targets),
            "weights": [[names(row) for row in m.weights[k]] for k in range(1, spec.depth + 1)],
            "biases": [names(m.biases[k]) for k in range(1, spec.depth + 1)] if m.biases else None,
        },
        "loss_symbol": m.loss_symbol.name,
        "definitions": definitions,
        "parameters": parameters,
        "verification": {
            "symbolic": d.verification.symbolic,
            "points": d.verification.points,
            "seed": d.verification.seed,
            "tolerance": d.verification.tolerance,
            "local_factors_proven": d.verification.factors_proven,
        },
        "generator": f"symbackprop {__version__}",
    }


def render_json(derivation: Derivation) -> str:
    return json.dumps(derivation_json(derivation), indent=2, ensure_ascii=False) + "\n"


# -- files ----------------------------------------------------------------------------------
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half a file."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_outputs(
    derivation: Derivation, directory: Path, formats: Iterable[str], title: Optional[str] = None
) -> list[Path]:
    """Write derivation.<format> for each format into ``directory`` (created if needed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    formats = list(formats)
    data = context(derivation, title) if {"md", "tex"} & set(formats) else None
    written = []
    for fmt in formats:
        path = directory / f"derivation.{fmt}"
        write_atomic(path, render_json(derivation) if fmt == "json" else _render(fmt, data))
        written.append(path)
    return written
