"""The compiled-template cache (handout/compiled.py): the same handouts from the cache as without
it, never a stale one after an edit, and nothing written where Python would write no bytecode."""

import os
import shutil
import sys

import pytest

from symbackprop import derive
from symbackprop.handout import html, render


@pytest.fixture(scope="module")
def derivation():
    return derive("2-3-2", proof="numeric")


@pytest.fixture
def templates(tmp_path, monkeypatch):
    """A copy of the templates, which ``render`` uses from now on, without any cache."""
    copy = tmp_path / "templates"
    shutil.copytree(render.template_dir(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(render, "TEMPLATE_DIRS", (copy,))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    new_process()
    yield copy
    new_process()


def new_process():
    """Forget the environments (and the templates they keep compiled), as a new process starts without them."""
    render._environment.cache_clear()
    html.environment.cache_clear()


def cached(templates):
    return sorted(p.name for p in (templates / "__pycache__").glob("*")) if (templates / "__pycache__").exists() else []


def test_a_handout_from_the_cache_is_byte_for_byte_the_compiled_one(derivation, templates, monkeypatch):
    with monkeypatch.context() as m:  # the reference: Python writes no bytecode, nothing is cached
        m.setattr(sys, "dont_write_bytecode", True)
        reference = render.render_markdown(derivation), render.render_latex(derivation)
        assert cached(templates) == []
    new_process()
    first = render.render_markdown(derivation), render.render_latex(derivation)  # compiled, then kept
    names = cached(templates)
    assert len(names) == 2 and {name.rsplit(".", 2)[-2] for name in names} == {"md", "tex"}
    assert all((templates / "__pycache__" / name).stat().st_mode & 0o044 for name in names)  # readable as the templates
    assert not any(name.endswith(".tmp") for name in os.listdir(templates / "__pycache__"))
    new_process()
    second = render.render_markdown(derivation), render.render_latex(derivation)  # read from the cache
    assert reference == first == second


def test_an_edited_template_is_compiled_again_never_served_stale(derivation, templates):
    before = render.render_markdown(derivation)
    source = templates / "derivation.md.j2"
    source.write_text(source.read_text() + "\nEDITED {{ 6 * 7 }}\n")
    after = render.render_markdown(derivation)
    assert after.rstrip().endswith("EDITED 42") and not before.rstrip().endswith("EDITED 42")


def test_a_damaged_cache_file_is_compiled_afresh(derivation, templates):
    expected = render.render_latex(derivation)
    damaged = list((templates / "__pycache__").glob("*.tex.jinja"))
    assert damaged
    for path in damaged:
        path.write_bytes(path.read_bytes()[:200])  # truncated in the middle of the code
    new_process()
    assert render.render_latex(derivation) == expected
    for path in damaged:
        path.write_bytes(b"not a cache at all")
    new_process()
    assert render.render_latex(derivation) == expected


def test_a_cache_that_cannot_be_written_is_no_error(derivation, templates):
    """A read-only or full disk: here ``__pycache__`` is a file, so nothing can be made inside it (as root too)."""
    (templates / "__pycache__").write_text("in the way")
    expected = render.render_markdown(derivation)
    assert render.render_markdown(derivation) == expected and expected.startswith("#")
    assert (templates / "__pycache__").read_text() == "in the way"


def test_the_html_page_keeps_its_own_cache_file(derivation, templates):
    page = render.render_html(derivation)
    new_process()
    assert render.render_html(derivation) == page
    assert [name for name in cached(templates) if name.endswith(".html.jinja")]
