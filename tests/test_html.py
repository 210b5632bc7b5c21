"""The HTML handout (--format html), read in a real browser: headless Chromium driven by Selenium
with Debian's chromedriver (nothing is downloaded at test time). Without a browser the browser
tests skip, except under CI=true, where that is a failure (.ci/run installs it)."""

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import IN_CI

from symbackprop import derive
from symbackprop.cli import cli
from symbackprop.handout.html import KATEX, json_script, katex_version, page_files
from symbackprop.handout.render import render_html, write_outputs
from symbackprop.numbers.example import render_example_html, worked_example, write_example

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
INSTALL = "apt-get install chromium chromium-driver && pip install 'selenium>=4.10'"


# -- without a browser ----------------------------------------------------------------------
def test_the_shipped_katex_is_the_version_package_lock_pins():
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert katex_version() == lock["packages"]["node_modules/katex"]["version"] == "0.16.47"
    installed = ROOT / "node_modules" / "katex"
    if installed.is_dir():  # after `npm ci`: the shipped copy is that package's files, unchanged
        assert (KATEX / "katex.min.js").read_bytes() == (installed / "dist" / "katex.min.js").read_bytes()
        assert (KATEX / "katex.min.css").read_bytes() == (installed / "dist" / "katex.min.css").read_bytes()
        assert (KATEX / "LICENSE").read_bytes() == (installed / "LICENSE").read_bytes()
    fonts = set(re.findall(r"url\(fonts/([\w-]+\.woff2)\)", (KATEX / "katex.min.css").read_text()))
    assert fonts and fonts == {path.name for path in (KATEX / "fonts").glob("*.woff2")}  # every font the CSS names


def test_json_for_a_script_block_cannot_close_it():
    hostile = {"title": "</script><script>alert(1)</script>", "note": "a & b <!-- c", "line": "\u2028"}
    text = json_script(hostile)
    assert not set("<>&\u2028") & set(text)
    assert json.loads(text) == hostile


def test_a_page_needs_no_network_and_is_the_same_on_every_run(tmp_path):
    d = derive("2-2-1", bias=True)
    first = write_outputs(d, tmp_path / "one", ["html"])
    second = write_outputs(d, tmp_path / "two", ["html"])
    assert [p.relative_to(tmp_path / "one") for p in first] == [p.relative_to(tmp_path / "two") for p in second]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name  # byte-identical: the gallery stays so
    html = (tmp_path / "one" / "derivation.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched from a network
    assert {"katex/katex.min.js", "katex/katex.min.css", "katex/LICENSE", "page.js", "page.css"} <= set(page_files())
    assert (tmp_path / "one" / "katex" / "fonts" / "KaTeX_Main-Regular.woff2").is_file()
    payload = json.loads(re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html).group(1))
    assert {p["symbol"] for p in payload["parameters"]} == {g.parameter.symbol.name for g in d.gradients}
    for entry in payload["parameters"] + list(payload["neurons"].values()):  # every link of the panel has its target
        assert f'id="{entry["section"]}"' in html, entry["section"]
    # the same content and numbering as the Markdown handout
    sections = render_html(d).count("<h2>")
    assert sections == len(re.findall(r"^## ", (write_outputs(d, tmp_path / "md", ["md"])[0]).read_text(), re.M)) == 5


def test_a_custom_activation_has_no_step_control_and_says_why():
    html = render_example_html(worked_example("2-1", activation="z/(1+abs(z))", seed=1))
    assert 'id="step"' not in html
    assert "Another step is not offered here" in html and "z/(1+abs(z))" in html


def test_a_subdirectory_of_the_output_is_never_a_symlink(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "katex").symlink_to(outside)
    with pytest.raises(OSError, match="symbolic link"):
        write_outputs(derive("1-1"), tmp_path / "out", ["html"])
    assert not list(outside.iterdir())


# -- in the browser -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module, its console log kept."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        selenium = None
    else:
        selenium = webdriver
    missing = [name for name, ok in (("selenium", selenium is not None), (CHROMIUM, os.path.exists(CHROMIUM)),
                                     (CHROMEDRIVER, os.path.exists(CHROMEDRIVER))) if not ok]
    if missing:
        if IN_CI:
            pytest.fail(f"{', '.join(missing)} missing, and CI=true requires a browser ({INSTALL})")
        pytest.skip(f"no browser to test the HTML page in ({', '.join(missing)} missing): {INSTALL}")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """derivation.html of seed 000's 2-4-3-2 and of a 2-2-1 in layer notation, and example.html of a 2-4-3-2 with biases."""
    root = tmp_path_factory.mktemp("pages")
    write_outputs(derive("2-4-3-2"), root / "seed000", ["html"])
    write_outputs(derive("2-2-1", notation="layers", bias=True), root / "layers", ["html"])
    example = worked_example("2-4-3-2", bias=True, seed=3)
    write_example(example, root / "example", ["html"])
    return {"seed000": root / "seed000" / "derivation.html", "layers": root / "layers" / "derivation.html",
            "example": root / "example" / "example.html", "worked": example}


def open_page(driver, path: Path, width: int = 1280):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_window_size(width, 900)
    driver.get(path.as_uri())
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && document.querySelectorAll('.katex').length > 0"))
    driver.get_log("browser")  # what loading logged is checked by the caller through errors()
    return driver


def errors(driver) -> list:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def lit(driver) -> tuple[set, set, list]:
    edges = {e.get_attribute("data-weight") for e in driver.find_elements("css selector", "svg.network g.edge.lit")}
    neurons = {e.get_attribute("data-neuron") for e in driver.find_elements("css selector", "svg.network g.neuron.lit")}
    chosen = [e.get_attribute("data-weight") or e.get_attribute("data-neuron")
              for e in driver.find_elements("css selector", "svg.network .chosen")]
    return edges, neurons, chosen


def panel_tex(driver) -> str:
    """The LaTeX of what the side panel shows (KaTeX keeps it in each formula's annotation)."""
    return " ".join(a.get_attribute("textContent")
                    for a in driver.find_elements("css selector", "#panel annotation[encoding='application/x-tex']"))


def distinct_colours(png: Path) -> int:
    import matplotlib.image

    pixels = matplotlib.image.imread(str(png))
    rgb = (pixels[..., :3] * 255).astype(np.uint8).astype(np.uint32)
    return len(np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]))  # one number per colour: a 1-D unique


def test_w21_lights_its_two_paths_and_shows_its_gradient(browser, pages, tmp_path):
    driver = browser
    driver.set_window_size(1280, 900)
    driver.get(pages["seed000"].as_uri())
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    assert errors(driver) == []  # no console error while loading and typesetting
    assert driver.find_elements("css selector", ".katex-error") == []
    assert len(driver.find_elements("css selector", ".katex")) > 100
    driver.find_element("css selector", 'svg.network g.label[data-weight="2,0,0"]').click()  # the label w_21
    edges, neurons, chosen = lit(driver)
    assert edges == {"2,0,0", "3,0,0", "3,0,1"}  # w_21 itself (b_1 → c_1), then c_1 → d_1 and c_1 → d_2
    assert neurons == {"1,0", "2,0", "3,0", "3,1"}  # b_1, c_1 and the two outputs d_1, d_2
    assert {"2,0,0"} <= set(chosen)
    tex = panel_tex(driver)
    assert r"\frac{\partial E_{\mathrm{total}}}{\partial w_{21}}" in tex and r"\delta_{c_1}" in tex
    link = driver.find_element("css selector", "#panel a.section-link")
    assert link.get_attribute("href").endswith("#p-w_21") and driver.find_elements("id", "p-w_21")
    assert driver.find_elements("css selector", "#panel .katex-error") == []
    # a neuron: its net input, output and delta
    driver.find_element("css selector", 'svg.network g.neuron[data-neuron="2,0"]').click()
    tex = panel_tex(driver)
    assert r"\mathrm{net}_{c_1} =" in tex and r"\mathrm{out}_{c_1} =" in tex and r"\delta_{c_1} =" in tex
    assert lit(driver)[2] == ["2,0"]
    # screenshots of the page and of the drawing, not blank
    page_png, drawing_png = tmp_path / "page.png", tmp_path / "drawing.png"
    driver.save_screenshot(str(page_png))
    driver.find_element("css selector", "svg.network").screenshot(str(drawing_png))
    assert distinct_colours(page_png) > 50 and distinct_colours(drawing_png) > 10
    assert errors(driver) == []


def test_the_keyboard_and_the_search_box_reach_every_parameter(browser, pages):
    from selenium.webdriver.common.keys import Keys

    driver = open_page(browser, pages["seed000"])
    find = driver.find_element("id", "find")
    find.send_keys("w_{21}", Keys.ENTER)
    assert lit(driver)[0] == {"2,0,0", "3,0,0", "3,0,1"}
    assert driver.switch_to.active_element.get_attribute("data-weight") == "2,0,0"  # focus on w_21 in the drawing
    find.clear()
    find.send_keys("w_{99}", Keys.ENTER)
    assert "Nothing here is called “w_{99}”" in driver.find_element("id", "find-status").text
    # Tab from the search box's button reaches the first neuron, a_1; Enter chooses it
    driver.find_element("css selector", "#search button").send_keys(Keys.TAB)
    active = driver.switch_to.active_element
    assert active.get_attribute("data-neuron") == "0,0"
    active.send_keys(Keys.ENTER)
    assert lit(driver)[2] == ["0,0"]
    outline = driver.execute_script("return getComputedStyle(document.activeElement.querySelector('circle')).strokeDasharray")
    assert outline not in ("none", "")  # the focus is visible
    # layer notation: the name as the text writes it
    driver = open_page(browser, pages["layers"])
    driver.find_element("id", "find").send_keys("W^{[2]}_{1,1}", Keys.ENTER)
    edges, _, chosen = lit(driver)
    assert chosen == ["2,0,0", "2,0,0"] and edges == {"2,0,0"}  # the edge and its label; its one path ends at the output
    assert r"W^{[2]}_{1,1}" in panel_tex(driver)
    assert errors(driver) == []


@pytest.mark.parametrize("width", [390, 640])  # a phone, and a 1280-pixel window at 200 % zoom
def test_narrow_windows_read_without_sideways_scrolling(browser, pages, tmp_path, width):
    driver = open_page(browser, pages["seed000"], width)
    inner = driver.execute_script("return window.innerWidth")
    assert driver.execute_script("return document.documentElement.scrollWidth") <= inner
    drawing = driver.find_element("css selector", "svg.network").rect
    assert drawing["width"] <= inner and drawing["y"] < 900  # the drawing comes first, in one column
    shot = tmp_path / f"page-{width}.png"
    driver.save_screenshot(str(shot))
    assert distinct_colours(shot) > 50


def test_the_descent_step_in_the_browser_is_the_generated_codes(browser, pages):
    from symbackprop.numbers.codegen import generated

    driver = open_page(browser, pages["example"])
    assert driver.find_elements("css selector", ".katex-error") == [] and errors(driver) == []
    example = pages["worked"]
    module = generated(example.spec)
    params = {"W": [np.array(w) for w in example.updated["W"]], "b": [np.array(b) for b in example.updated["b"]]}
    x, y, lr = example.params["x"], example.params["y"], example.lr
    button = driver.find_element("id", "step")
    for step in (2, 3):
        button.click()
        state = json.loads(driver.find_element("id", "step-result").get_attribute("data-state"))
        assert module.loss(params, x, y) == pytest.approx(state["loss_before"], rel=1e-12, abs=1e-15)
        g = module.grad(params, x, y)
        params = {"W": [w - lr * gw for w, gw in zip(params["W"], g["W"])],
                  "b": [b - lr * gb for b, gb in zip(params["b"], g["b"])]}
        assert state["steps"] == step
        for ours, theirs in zip(params["W"] + params["b"], state["W"] + state["b"]):
            np.testing.assert_allclose(np.array(theirs), ours, rtol=1e-12, atol=1e-15)
        assert state["loss"] == pytest.approx(module.loss(params, x, y), rel=1e-12, abs=1e-15)
    cells = driver.find_elements("css selector", "#step-result td.num[data-value]")
    assert len(cells) == 2 * len(example.shown)
    assert driver.find_elements("css selector", ".katex-error") == [] and errors(driver) == []


def test_a_hostile_title_is_text_and_runs_no_script(browser, tmp_path):
    title = """<script>window.__pwned = 1</script>"><img src=x onerror="window.__pwned = 2"> & done"""
    result = CliRunner().invoke(cli, ["derive", "1-1", "--format", "html", "--title", title, "-o", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "derivation.html").read_text()
    assert "<script>window" not in html and "<img" not in html
    driver = open_page(browser, tmp_path / "derivation.html")
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert driver.find_element("css selector", "h1").text == title
    assert driver.title == title
    assert driver.find_elements("css selector", "img") == []
    shutil.rmtree(tmp_path / "katex")
