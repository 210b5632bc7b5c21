"""The exercise sheet and its answer key as HTML (derive --exercise --format html): exercise.html and
solutions.html, with the Markdown sheets' tasks, numbering and formulas, typeset by KaTeX from the
files beside them; read in headless Chromium with test_html's browser (skipped without one, a
failure under CI=true)."""

import html as htmllib
import re

import pytest
from click.testing import CliRunner
from conftest import require_tex
from test_html import browser, distinct_colours, errors, open_page  # noqa: F401 (browser: a fixture)

from symbackprop import derive
from symbackprop.cli import cli
from symbackprop.gallery import GALLERY, build_gallery
from symbackprop.handout.exercise import PAGES

SHEETS = {  # name: derive's arguments
    "2-2-1": ["2-2-1", "--seed", "1"],  # the gallery's sheet
    "2-2-2-bias": ["2-2-2", "--bias", "--seed", "1"],  # two paths to a hidden weight
    "1-1": ["1-1", "--seed", "0"],  # no hidden layer: no delta task
    "2-3-2-ce-layers": ["2-3-2", "--bias", "--loss", "ce", "--activation", "sigmoid,softmax", "--notation", "layers",
                        "--seed", "2"],
}
HOSTILE = '<script>window.__pwned=1</script>"><img src=x onerror=window.__pwned=2>'


def run(*arguments):
    result = CliRunner().invoke(cli, ["derive", *arguments, "-q"])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    """Each sheet of SHEETS written as md and html into a folder of its name."""
    root = tmp_path_factory.mktemp("sheets")
    for name, arguments in SHEETS.items():
        run(*arguments, "--exercise", "--format", "md,html", "-o", str(root / name))
    return root


# -- the Markdown sheet and the page, read as text ------------------------------------------
def normal(tex: str) -> str:
    r"""LaTeX compared without layout: no spaces, \dfrac as \frac (the page's equations wrap as inline math)."""
    return re.sub(r"\s+", "", tex.replace(r"\dfrac", r"\frac"))


def md_math(text: str) -> list[str]:
    """Every formula of a Markdown sheet, display and inline, in order."""
    return [normal(display or inline) for display, inline in re.findall(r"\$\$(.+?)\$\$|\$(.+?)\$", text, re.S)]


def page_math(page: str, questions: bool = True) -> list[str]:
    """Every formula of a page, in order; without ``questions``, not those of the questions the key
    shows above each answer (solutions.md has the answers alone)."""
    if not questions:
        page = re.sub(r'<p class="eq question">.*?</p>', "", page, flags=re.S)
    return [normal(htmllib.unescape(tex)) for _, tex in re.findall(r'<(span|div) class="d?m">(.*?)</\1>', page, re.S)]


def md_headings(text: str) -> list[str]:
    return re.findall(r"^## (.+)$", text, re.M)


def page_headings(page: str) -> list[str]:
    return re.findall(r"<h2>(.*?)</h2>", page)


def md_values(text: str) -> tuple[list[str], list[str]]:
    """The given values and the forward pass's answers of a Markdown sheet."""
    given = re.findall(r"^\| \$[^|]*\$ \| (?:\$[^|]*\$)? \| (\S+) \|$", text, re.M)
    return given, re.findall(r"^\| \$[^|]*\$ \| \*\*(\S+)\*\* \|$", text, re.M)


def page_values(page: str) -> tuple[list[str], list[str]]:
    given = re.findall(r'<td class="num">([^<]+)</td>', page)
    return given, re.findall(r'<td class="num"><strong>([^<]+)</strong></td>', page)


@pytest.mark.parametrize("name", list(SHEETS))
def test_the_pages_have_the_markdown_sheets_tasks_formulas_and_values(sheets, name):
    folder = sheets / name
    for stem, solutions in (("exercise", False), ("solutions", True)):
        md, page = (folder / f"{stem}.md").read_text(), (folder / f"{stem}.html").read_text()
        assert page_headings(page) == md_headings(md) == [f"Task {n}" for n in range(1, len(md_headings(md)) + 1)]
        assert len(md_headings(md)) == (3 if name == "1-1" else 5)  # 1-1: forward pass, chain rule, step
        assert page_math(page, questions=not solutions) == md_math(md)  # every formula, the answers the key's
        assert page_values(page) == md_values(md) and md_values(md)[0]
        assert page.count('<details class="answer">') == (len(md_headings(md)) if solutions else 0)
    exercise = (folder / "exercise.html").read_text()
    solutions = (folder / "solutions.html").read_text()
    # the key shows each question as the exercise does, above its answer
    assert re.findall(r'<p class="eq question">(.*?)</p>', solutions, re.S) == \
        re.findall(r'<p class="eq">(.*?)</p>', exercise.split('<div id="tasks">')[1], re.S)
    # no answer on the exercise page, not even in its data block
    text = re.sub(r"<svg.*?</svg>", "", exercise, flags=re.S)
    assert r"\boxed{ " not in text and "<strong>" not in text.split("<h2>", 1)[1]
    assert re.search(r'<script type="application/json" id="page-data">\{"page": "exercise", "seed": \d+, '
                     r'"spec": "[\d-]+"\}</script>', exercise)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", exercise + solutions)  # nothing from a network
    assert exercise.count("<svg") == 1 and "<?xml" not in exercise  # the drawing of network.svg, inline
    assert 'href="solutions.html"' in exercise and 'href="exercise.html"' in solutions


def test_html_alone_writes_the_pages_and_katex_beside_them(tmp_path):
    result = CliRunner().invoke(cli, ["derive", "2-2-1", "--exercise", "--format", "html", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "beside exercise.html and solutions.html" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exercise.html", "katex", "page.css", "page.js", "solutions.html"]
    assert (tmp_path / "katex" / "katex.min.js").is_file()


def test_the_pages_are_written_with_the_other_files_or_not_at_all(tmp_path, monkeypatch):
    from symbackprop.handout import render

    def failing(*args, **kwargs):  # the sheet's other formats fail after the pages joined the batch
        raise OSError("the disk is full")

    monkeypatch.setattr(render, "write_documents", failing)
    with pytest.raises(OSError, match="disk is full"):
        render.write_exercise(derive("1-1"), tmp_path, ["md", "html"])
    assert [p for p in tmp_path.rglob("*") if not p.is_dir()] == []  # no page, no KaTeX, no temporary


def test_the_gallery_entry_has_the_pages_and_is_the_same_on_every_run(tmp_path):
    require_tex()
    entry = next(e for e in GALLERY if e.folder == "2-2-1-exercise")
    assert entry.page == "exercise.html" and "html" in entry.command
    first, second = build_gallery(tmp_path / "one", [entry]), build_gallery(tmp_path / "two", [entry])
    assert [p.relative_to(tmp_path / "one") for p in first] == [p.relative_to(tmp_path / "two") for p in second]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
    names = {p.relative_to(tmp_path / "one" / entry.folder).as_posix() for p in first if entry.folder in p.parts}
    assert {*PAGES, "exercise.md", "solutions.md", "exercise.pdf", "solutions.json", "network.svg", "katex/katex.min.js",
            "page.js", "page.css"} <= names
    assert "2-2-1-exercise/exercise.html" in (tmp_path / "one" / "README.md").read_text()


# -- in the browser -------------------------------------------------------------------------
def tex_shown(driver, questions: bool = True) -> list[str]:
    """The LaTeX of every formula KaTeX set, in order (KaTeX keeps it in an annotation)."""
    return [normal(t) for t in driver.execute_script(
        "var all = arguments[0];"
        "return Array.from(document.querySelectorAll('annotation[encoding=\"application/x-tex\"]'))"
        ".filter(function (a) { return all || !a.closest('.question'); })"
        ".map(function (a) { return a.textContent; });", questions)]


@pytest.mark.parametrize("name", ["2-2-1", "2-3-2-ce-layers"])
def test_the_pages_typeset_every_formula_and_the_key_shows_each_answer_on_request(browser, sheets, name):
    folder = sheets / name
    for stem in ("exercise", "solutions"):
        driver = open_page(browser, folder / f"{stem}.html")
        assert errors(driver) == [] and driver.find_elements("css selector", ".katex-error") == []
        md = (folder / f"{stem}.md").read_text()
        assert tex_shown(driver, questions=stem == "exercise") == md_math(md)  # the answers equal the Markdown's
        assert [h.text for h in driver.find_elements("css selector", "h2")] == md_headings(md)
    toggles = driver.find_elements("css selector", "details.answer")
    assert len(toggles) == len(md_headings(md)) and not any(t.get_attribute("open") for t in toggles)
    answer = toggles[1].find_element("css selector", "p.eq")
    assert not answer.is_displayed()
    toggles[1].find_element("css selector", "summary").click()
    assert toggles[1].get_attribute("open") is not None and answer.is_displayed()
    assert "boxed" not in answer.text and errors(driver) == []


@pytest.mark.parametrize("width", [1280, 390])
def test_the_pages_read_at_desktop_and_phone_widths(browser, sheets, tmp_path, width):
    for name in ("2-2-1", "2-2-2-bias"):
        for stem in ("exercise", "solutions"):
            driver = open_page(browser, sheets / name / f"{stem}.html", width)
            driver.execute_script("document.querySelectorAll('details').forEach(function (d) { d.open = true; })")
            inner = driver.execute_script("return window.innerWidth")
            assert driver.execute_script("return document.documentElement.scrollWidth") <= inner
            wide = driver.execute_script(  # a formula that needs sideways scrolling
                "return Array.from(document.querySelectorAll('.dm, p.eq'))"
                ".filter(function (e) { return e.scrollWidth > e.clientWidth + 1; }).map(function (e) { return e.textContent; });")
            assert wide == [], f"{name}/{stem} at {width} px"
            drawing = driver.find_element("css selector", "figure.sheet-drawing svg").rect
            assert 300 <= drawing["width"] <= inner
            shot = tmp_path / f"{name}-{stem}-{width}.png"
            driver.save_screenshot(str(shot))
            assert distinct_colours(shot) > 50 and errors(driver) == []


def test_a_hostile_title_is_text_and_runs_no_script(browser, tmp_path):
    run("2-2-1", "--exercise", "--format", "md,html", "--title", HOSTILE, "-o", str(tmp_path))
    for name, heading in (("exercise.html", HOSTILE), ("solutions.html", "Solutions: " + HOSTILE)):
        page = (tmp_path / name).read_text()
        assert "<script>window" not in page and "<img" not in page and "&lt;script&gt;window.__pwned=1" in page
        driver = open_page(browser, tmp_path / name)
        assert driver.execute_script("return typeof window.__pwned") == "undefined"
        assert driver.find_element("css selector", "h1").text == heading and driver.title == heading
        assert driver.find_elements("css selector", "img") == [] and errors(driver) == []
