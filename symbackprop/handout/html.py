"""A ``Derivation`` as one interactive HTML page that opens offline, from the file system.

``render.render_html`` lays out the same template context as the Markdown handout
(``render.context``) with ``render_page``, through ``templates/derivation.html.j2`` (Jinja2 autoescaping: every user
string, a title or a name, is HTML-escaped). The math is typeset in the browser by KaTeX, whose
files ship inside the wheel (``static/katex``, the version package-lock.json pins) and are copied
beside the page (``page_files``): nothing is fetched from a network. The page's script
(``static/page.js``, a static file) reads its data from one ``<script type="application/json">``
block (``json_script``: ``<``, ``>`` and ``&`` written as ``\\u003c``...), never from code built of
user text; the network is the same drawing as network.svg (``diagram.to_svg(interactive=True)``),
whose weights and neurons light up their paths and show their formulas in a side panel.

>>> json_script({"title": "</script><b>"})
'{"title": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import jinja2
import markupsafe

from .compiled import TemplateCache
from .diagram import BIAS, weight_paths
from .escape import html_finalize
from .figures import parameter_diagram

STATIC = Path(__file__).resolve().parent / "static"
KATEX = STATIC / "katex"
PAGE_ASSETS = ("page.js", "page.css")  # copied beside the page with the katex/ directory
MAX_LIT_PATHS = 512  # a parameter with more paths lights its weight only (the drawing elides most of them)


def katex_version() -> str:
    """The version of the KaTeX shipped in ``static/katex`` (read from katex.min.js).

    >>> katex_version().count(".")
    2
    """
    text = (KATEX / "katex.min.js").read_text(encoding="utf-8")
    start = text.index('version:"') + len('version:"')
    return text[start : text.index('"', start)]


def json_script(data) -> str:
    """``data`` as JSON for a ``<script type="application/json">`` block: sorted keys, and ``<``,
    ``>``, ``&`` (and the line separators JavaScript once rejected) as escapes, so that no text in
    it can close the block or open a tag."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def page_files() -> dict[str, bytes]:
    """The files an HTML page needs beside it, by relative name: KaTeX (script, styles, woff2
    fonts, its license) under katex/, the page's script and styles; sorted, so every run writes
    the same files.

    >>> [name for name in page_files() if not name.startswith("katex/fonts/")]
    ['katex/LICENSE', 'katex/katex.min.css', 'katex/katex.min.js', 'page.css', 'page.js']
    """
    files = {f"katex/{path.relative_to(KATEX).as_posix()}": path.read_bytes()
             for path in sorted(KATEX.rglob("*")) if path.is_file()}
    files.update({name: (STATIC / name).read_bytes() for name in PAGE_ASSETS})
    return dict(sorted(files.items()))


@lru_cache(maxsize=None)
def environment(templates: Path) -> jinja2.Environment:
    """The Jinja2 environment of the HTML templates in ``templates`` (``render.template_dir()``):
    autoescaping on, control characters dropped and bidirectional controls shown (``html_finalize``),
    a missing value an error; one per process and directory (templates stay compiled, a changed one reloads)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)),
                              bytecode_cache=TemplateCache(templates, "html"), undefined=jinja2.StrictUndefined,
                              autoescape=True, finalize=html_finalize, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)


def render_page(templates: Path, template: str, data: dict, payload: dict, drawing: str, search_hint: str) -> str:
    """``template`` (e.g. "derivation.html.j2", in the directory ``templates``) with the context
    ``data``, the page script's data ``payload`` and the interactive SVG ``drawing`` (printed by
    ``diagram.to_svg``, escaped there); ``search_hint`` is the search box's example, a name the
    network has."""
    return environment(templates).get_template(template).render(
        data, page_data=markupsafe.Markup(json_script(payload)), drawing=markupsafe.Markup(drawing),
        katex_version=katex_version(), search_hint=search_hint)


# -- the derivation's page ------------------------------------------------------------------
def lit_paths(derivation, gradient) -> tuple[list[str], list[str]]:
    """The edges ("k,i,j", i = -1 for a bias) and neurons ("k,i") the drawing lights for
    ``gradient``'s parameter: its paths to the outputs, as its handout drawing (network-w_21.svg)
    has them. ``derivation`` is anything with the ``spec`` and ``model`` of one (a worked example too)."""
    p, layers = gradient.parameter, derivation.spec.layers
    key = (p.target.layer, p.source.index if p.source else BIAS, p.target.index)
    if gradient.paths is not None:
        paths = parameter_diagram(derivation, gradient).highlight
    elif math.prod(layers[p.target.layer + 1 :]) <= MAX_LIT_PATHS and not p.shared:
        paths = weight_paths(layers, key)
    else:
        paths = ()
    edges = {key} | {(b[0], a[1], b[1]) for path in paths for a, b in zip(path, path[1:])}
    neurons = {n for path in paths for n in path} | {(p.target.layer, p.target.index)}
    if p.source is not None:
        neurons.add((p.source.layer, p.source.index))
    return sorted(",".join(map(str, e)) for e in edges), sorted(",".join(map(str, n)) for n in neurons)


def caption_parts(text: str) -> list[dict]:
    """A panel's caption, the program's own text with ``$``-delimited LaTeX, as the parts the
    script sets: ``{"text": ...}`` as text, ``{"math": ...}`` by KaTeX.

    >>> caption_parts("Weight from $b_1$.")
    [{'text': 'Weight from '}, {'math': 'b_1'}, {'text': '.'}]
    """
    return [{"math": part} if n % 2 else {"text": part} for n, part in enumerate(text.split("$")) if part]


def parameter_entry(derivation, gradient, rows: list[str], section: str, caption: str) -> dict:
    """One parameter for the page's script: its names, the drawing's key of its weight, the
    edges and neurons of its paths, the display rows of its side panel (LaTeX), its section's id
    and a caption (text with ``$``-delimited LaTeX of the program's own names)."""
    p = gradient.parameter
    edges, neurons = lit_paths(derivation, gradient)
    return {
        "symbol": p.symbol.name,
        "latex": derivation.model.latex_names[p.symbol],
        "key": ",".join(map(str, (p.target.layer, p.source.index if p.source else BIAS, p.target.index))),
        "edges": edges,
        "neurons": neurons,
        "rows": rows,
        "section": section,
        "caption": caption_parts(caption),
    }


def add_page(batch, name: str, html: str) -> list[Path]:
    """``name`` (e.g. "derivation.html") and the files it needs beside it, into ``batch`` (a
    ``files.Batch``); the page last, so it is never in place without its scripts."""
    return add_pages(batch, {name: html})


def with_page_files(pages: dict[str, str]) -> list[tuple[str, str | bytes]]:
    """Pages that share one copy of the files beside them, by name, and those files, as (name,
    content) pairs in the order to write them: the pages last, so that none is in place without
    its scripts."""
    return list(page_files().items()) + list(pages.items())


def add_pages(batch, pages: dict[str, str]) -> list[Path]:
    """Pages that share one copy of the files beside them (e.g. exercise.html and
    solutions.html), by name, into ``batch`` as ``add_page`` does: the pages last, and first in
    the list returned."""
    written = [batch.add(name, content) for name, content in with_page_files(pages)]
    return written[-len(pages):] + written[:-len(pages)]


__all__ = ["render_page", "page_files", "json_script", "katex_version", "add_page", "add_pages", "with_page_files", "parameter_entry", "lit_paths",
           "caption_parts", "STATIC", "KATEX"]
