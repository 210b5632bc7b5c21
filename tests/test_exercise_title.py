"""--title on the exercise sheets (derive --exercise --title): exercise.* and solutions.* in md, tex,
pdf and html are headed by the title as derivation.* is, escaped the same way, and a hostile title
(LaTeX and Markdown specials, markup, control characters, bidirectional overrides) reads back as
the text typed: pandoc parses the .md heading, pdftotext reads the PDF, an HTML parser the pages."""

import html as htmllib
import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import require_tex
from test_markdown import READERS, require

from symbackprop.cli import cli

HOSTILE = ("Weights $ & % # _ { } \\ ~ ^ \\input{/etc/passwd} *b* [l](u) <x> `c` |t| <script>x</script>"
           " \x07\x1b[31m \u202eevil\u2066 end")
# what a reader sees: the control characters (BEL, ESC) gone, the bidi controls shown as code points
SEEN = ("Weights $ & % # _ { } \\ ~ ^ \\input{/etc/passwd} *b* [l](u) <x> `c` |t| <script>x</script>"
        " [31m [U+202E]evil[U+2066] end")
DEFAULT = "Backpropagation by hand — a 2-2-1 network"
SHEETS = ("exercise", "solutions")


def run(*arguments):
    result = CliRunner().invoke(cli, ["derive", *arguments, "-q"])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The 2-2-1 sheets with the hostile title (sheets/), the handout with it (handout/), the sheets
    without --title (plain/), each as md, tex and html."""
    root = tmp_path_factory.mktemp("titles")
    run("2-2-1", "--exercise", "--format", "md,tex,html", "--title", HOSTILE, "-o", str(root / "sheets"))
    run("2-2-1", "--format", "md,tex,html", "--title", HOSTILE, "-o", str(root / "handout"))
    run("2-2-1", "--exercise", "--format", "md,tex,html", "-o", str(root / "plain"))
    return root


def prefix(stem: str) -> str:
    return "Solutions: " if stem == "solutions" else ""


# -- Markdown, read back by pandoc -----------------------------------------------------------
def md_heading(path: Path, reader: str) -> str:
    """The text of the first level-1 heading as pandoc reads it; only words and spaces, so no
    character of the title became markup (emphasis, a link, code, math, raw HTML)."""
    command = [require("pandoc", "sudo apt-get install pandoc"), "-f", reader, "-t", "json", str(path)]
    document = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    header = next(block for block in document["blocks"] if block["t"] == "Header" and block["c"][0] == 1)
    inlines = header["c"][2]
    kinds = {inline["t"] for inline in inlines}
    assert kinds <= {"Str", "Space"}, f"{path.name} ({reader}): the title became {kinds - {'Str', 'Space'}}"
    return "".join(inline["c"] if inline["t"] == "Str" else " " for inline in inlines)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("stem", SHEETS)
def test_markdown_sheets_are_headed_by_the_title_as_typed(written, stem, reader):
    assert md_heading(written / "sheets" / f"{stem}.md", reader) == prefix(stem) + SEEN
    assert md_heading(written / "plain" / f"{stem}.md", reader) == prefix(stem) + DEFAULT


@pytest.mark.parametrize("stem", SHEETS)
def test_markdown_sheets_escape_the_title_as_the_handout_does(written, stem):
    handout = (written / "handout" / "derivation.md").read_text().splitlines()[0]
    sheet = (written / "sheets" / f"{stem}.md").read_text().splitlines()[0]
    assert handout.startswith("# ") and sheet == "# " + prefix(stem) + handout[2:]
    assert "\x07" not in sheet and "\x1b" not in sheet and "\u202e" not in sheet and "\u2066" not in sheet


# -- LaTeX and PDF ---------------------------------------------------------------------------
ESCAPED = (r"Weights \$ \& \% \# \_ \{ \} \textbackslash{} \textasciitilde{} \textasciicircum{} "
           r"\textbackslash{}input\{/etc/passwd\} *b* [l](u) \textless{}x\textgreater{} `c` |t| "
           r"\textless{}script\textgreater{}x\textless{}/script\textgreater{} [31m "
           r"\texttt{[U+202E]}evil\texttt{[U+2066]} end")


def tex_title(path: Path) -> str:
    (title,) = re.findall(r"^\\title\{(.*)\}$", path.read_text(), flags=re.M)
    return title


@pytest.mark.parametrize("stem", SHEETS)
def test_latex_sheets_carry_the_escaped_title(written, stem):
    assert tex_title(written / "sheets" / f"{stem}.tex") == prefix(stem) + ESCAPED
    assert tex_title(written / "handout" / "derivation.tex") == ESCAPED  # the same escaping as the handout's
    assert tex_title(written / "plain" / f"{stem}.tex") == prefix(stem) + DEFAULT
    assert "\\input{" not in (written / "sheets" / f"{stem}.tex").read_text()


def test_pdf_sheets_print_the_title_as_typed(tmp_path):
    require_tex()
    run("2-2-1", "--exercise", "--format", "pdf", "--title", HOSTILE, "-o", str(tmp_path))
    for stem in SHEETS:
        text = subprocess.run(["pdftotext", str(tmp_path / f"{stem}.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout
        title = " ".join(text.split("2-2-1 network, activation")[0].split())  # the title, over its lines
        assert title == prefix(stem) + SEEN.replace("`", "‘")  # T1 sets the backtick as an opening quote


# -- HTML ------------------------------------------------------------------------------------
def html_headings(path: Path) -> dict:
    """The text of the page's <title> and <h1> (the first of each: the drawing has titles too), as
    a browser reads it: tags dropped, character references resolved."""
    page = path.read_text()
    found = {tag: re.search(rf"<{tag}>(.*?)</{tag}>", page, flags=re.S).group(1) for tag in ("title", "h1")}
    return {tag: htmllib.unescape(re.sub(r"<[^>]+>", "", text)) for tag, text in found.items()}


@pytest.mark.parametrize("stem", SHEETS)
def test_html_sheets_show_the_title_as_typed(written, stem):
    page = (written / "sheets" / f"{stem}.html").read_text()
    assert "<script>x" not in page and "\x07" not in page and "\u202e" not in page and "\u2066" not in page
    assert html_headings(written / "sheets" / f"{stem}.html") == {"title": prefix(stem) + SEEN, "h1": prefix(stem) + SEEN}
    assert html_headings(written / "plain" / f"{stem}.html") == {"title": prefix(stem) + DEFAULT,
                                                                 "h1": prefix(stem) + DEFAULT}
