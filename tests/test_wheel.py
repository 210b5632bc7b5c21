"""The wheel carries the templates: build it, install it in a fresh virtualenv, run it elsewhere."""

import json
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_and_derives_outside_the_checkout(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True, text=True)
    (wheel,) = dist.glob("symbackprop-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "symbackprop/templates/derivation.md.j2" in names
    assert "symbackprop/templates/derivation.tex.j2" in names
    for shipped in ("templates/derivation.html.j2", "templates/example.html.j2", "handout/static/page.js",
                    "handout/static/page.css", "handout/static/katex/katex.min.js", "handout/static/katex/katex.min.css",
                    "handout/static/katex/LICENSE", "handout/static/katex/fonts/KaTeX_Main-Regular.woff2"):
        assert f"symbackprop/{shipped}" in names, shipped
    assert sum(name.endswith(".woff2") for name in names) == 20  # every KaTeX font, and only the woff2 ones

    environment = tmp_path / "venv"
    venv.create(environment, with_pip=False)  # a fresh one; this pip installs into it, the wheel's dependencies too
    python = environment / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-compile", str(wheel)],
                   check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run([str(environment / "bin" / "symbackprop"), "derive", "2-3-1", "--format", "md,tex,json,html"],
                            cwd=elsewhere, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    where = subprocess.run([str(python), "-c", "import symbackprop; print(symbackprop.__file__)"],
                           cwd=elsewhere, capture_output=True, text=True, check=True).stdout
    assert str(environment) in where  # the installed wheel ran, not this checkout
    output = elsewhere / "output" / "2-3-1"
    assert json.loads((output / "derivation.json").read_text())["layers"] == [2, 3, 1]
    assert (output / "derivation.md").read_text().startswith("# Backpropagation for a 2-3-1 network")
    assert "<title>Backpropagation for a 2-3-1 network</title>" in (output / "derivation.html").read_text()
    assert (output / "katex" / "katex.min.js").read_bytes() == (ROOT / "symbackprop/handout/static/katex/katex.min.js").read_bytes()
