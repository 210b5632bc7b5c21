"""The PDF handouts as a reader holds them: no line running into the margin, no page left half
empty in the middle of a chapter, and the two reference handouts at most 10 pages.

The gallery is the committed one under output/gallery/ (test_handouts.py proves a fresh
``symbackprop gallery`` rebuilds it byte for byte); each .tex is compiled again, in a temporary
directory, through the same passes (``run_pdflatex``) to read the final log, which ``build_pdf``
does not keep, and the PDF is measured with pdfinfo and pdftotext.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import require_tex

from symbackprop.cli import main
from symbackprop.handout.pdf import run_pdflatex

ROOT = Path(__file__).resolve().parent.parent
MAX_OVERFULL_PT = 1.0
MAX_PAGES = 10
TARGETS = {  # the two handouts the concise default is measured by
    "2-4-3-2": ["derive", "2-4-3-2"],
    "4-3-2-1": ["derive", "4-3-2-1", "--notation", "layers", "--loss", "bce", "--bias"],
}


def overfull_boxes(log: str) -> list[float]:
    """How far (pt) each overfull \\hbox of a pdflatex log runs into the margin."""
    return [float(points) for points in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def page_words(pdf: Path) -> list[list[tuple[float, float, str]]]:
    """Per page, (top, bottom, word) of every word, the page number at the foot left out."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    result = []
    for page in xml.split("<page ")[1:]:
        words = [(float(top), float(bottom), word) for top, bottom, word in
                 re.findall(r'<word [^>]*yMin="([\d.]+)"[^>]*yMax="([\d.]+)">([^<]*)</word>', page)]
        words.sort()
        if len(words) > 1 and words[-1][2].isdigit() and words[-1][0] - words[-2][1] > 10:
            words = words[:-1]  # the page number, well below the text
        result.append(words)
    return result


def first_line(pdf: Path, page: int) -> str:
    text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def half_empty_pages(pdf: Path) -> list[int]:
    """Pages (from 1) filled less than half way down, other than the last and those before a
    section (the next page starts with a section heading: "4 Layer 2, ...", "How this was checked")."""
    words = page_words(pdf)
    top = min(w[0] for page in words for w in page)
    bottom = max(w[1] for page in words for w in page)  # the foot of the fullest page
    found = []
    for n, page in enumerate(words[:-1], start=1):
        fill = (max(w[1] for w in page) - top) / (bottom - top) if page else 0.0
        if fill < 0.5:
            heading = first_line(pdf, n + 1)
            if not re.match(r"(\d+ [A-Z]|How this was checked|About the source)", heading):
                found.append(n)
    return found


def final_log(tex: Path, work: Path) -> str:
    source = work / tex.parent.name / tex.name
    source.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tex, source)
    return run_pdflatex(source)


def test_no_gallery_pdf_has_an_overfull_line_or_a_half_empty_page(tmp_path):
    require_tex()
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    gallery = ROOT / "output" / "gallery"
    pdfs = sorted(gallery.glob("*/*.pdf"))
    assert len(pdfs) >= 6  # three derivations, a worked example, an exercise sheet and its key
    problems = {}
    for pdf in pdfs:
        log = final_log(pdf.with_suffix(".tex"), tmp_path / "logs")
        wide = [points for points in overfull_boxes(log) if points > MAX_OVERFULL_PT]
        holes = half_empty_pages(pdf)
        if wide or holes:
            problems[f"{pdf.parent.name}/{pdf.name}"] = {"overfull (pt)": wide, "half-empty pages": holes}
    assert not problems, problems
    for folder in ("2-4-3-2", "4-3-2-1-layers-bce-bias"):  # with "About the source" at the end
        assert pages(gallery / folder / "derivation.pdf") <= MAX_PAGES


@pytest.mark.parametrize("name", TARGETS)
def test_the_concise_handout_is_at_most_ten_pages_and_full_is_not(name, tmp_path, capsys):
    require_tex()
    for detail in ("concise", "full"):
        with pytest.raises(SystemExit) as stop:
            main([*TARGETS[name], "--detail", detail, "--format", "tex,pdf", "-o", str(tmp_path / detail)])
        assert stop.value.code == 0, capsys.readouterr().err
    concise, full = (pages(tmp_path / d / "derivation.pdf") for d in ("concise", "full"))
    assert concise <= MAX_PAGES < full, (concise, full)
    log = final_log(tmp_path / "concise" / "derivation.tex", tmp_path / "logs")
    assert not [points for points in overfull_boxes(log) if points > MAX_OVERFULL_PT]
    assert not half_empty_pages(tmp_path / "concise" / "derivation.pdf")
