"""Every kind of PDF handout is built until its references settle: no "??", and a final log that
asks for no rerun (derivation, worked example, exercise sheet and answer key)."""

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import require_tex

from symbackprop.cli import main
from symbackprop.handout.pdf import RERUN, run_pdflatex

COMMANDS = {
    "derivation": ["derive", "2-2-2", "--notation", "layers", "--loss", "bce", "--bias"],
    "example": ["example", "2-2-2", "--seed", "0"],
    "exercise": ["derive", "2-2-1", "--exercise", "--seed", "1"],
}


def run(argv, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    return stop.value.code, capsys.readouterr().err


def pdftotext(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("kind", COMMANDS)
def test_references_settle_in_every_kind_of_pdf(kind, tmp_path, capsys):
    require_tex()
    code, err = run([*COMMANDS[kind], "--format", "tex,pdf", "-o", str(tmp_path / "out")], capsys)
    assert code == 0, err
    pdfs = sorted((tmp_path / "out").glob("*.pdf"))
    assert [p.stem for p in pdfs] == (["exercise", "solutions"] if kind == "exercise" else [kind])
    for pdf in pdfs:
        text = pdftotext(pdf)
        assert "??" not in text, f"{pdf.name} prints an unresolved reference"
        # the same .tex through the same passes, to read the final log that build_pdf does not keep
        source = tmp_path / "log" / pdf.with_suffix(".tex").name
        source.parent.mkdir(exist_ok=True)
        shutil.copyfile(pdf.with_suffix(".tex"), source)
        log = run_pdflatex(source)
        assert not [marker for marker in RERUN if marker in log], f"{pdf.name}: the final log asks for a rerun"
        assert "undefined references" not in log and "Rerun to get" not in log
        assert source.with_suffix(".pdf").read_bytes() == pdf.read_bytes()  # the same passes, the same bytes
    if kind == "example":
        assert "section 4" in " ".join(pdftotext(pdfs[0]).split())  # "the delta (section 4) already sums the paths"


def test_example_writes_the_formats_it_is_given(tmp_path, capsys):
    code, err = run(["example", "2-2-1", "--format", "md,json", "-o", str(tmp_path)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["example.json", "example.md", "network.svg"]
    code, err = run(["example", "2-2-1", "--format", "md,docx", "-o", str(tmp_path)], capsys)
    assert code == 2 and "unknown format 'docx'" in err


def test_example_pdfs_are_reproducible(tmp_path, capsys):
    require_tex()
    for folder in ("a", "b"):
        code, err = run(["example", "2-2-2", "--format", "pdf", "-o", str(tmp_path / folder)], capsys)
        assert code == 0, err
    assert (tmp_path / "a" / "example.pdf").read_bytes() == (tmp_path / "b" / "example.pdf").read_bytes()
