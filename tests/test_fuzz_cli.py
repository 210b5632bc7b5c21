"""A reproducible attack suite: every command fuzzed with plausible and hostile arguments.

Hypothesis draws option lists from a grammar of tokens (huge numbers, 5000-digit layer sizes, NaN
and infinities, control characters, invalid UTF-8, very long strings, LaTeX and shell fragments,
paths to files, links, FIFOs and directories planted in the test's temporary directory). Each
invocation runs in its own process group with a timeout: a timeout is a hang, and fails. Every
invocation must end with exit status 0, 1 or 2 and no traceback, and may write only inside its own
temporary directory: planted links and FIFOs keep their nature, the file they point to keeps its
bytes, no "pwned" file appears, /etc/passwd leaks into no output, and the repository gains no file.

``derandomize=True`` makes every run draw the same cases; ``SYMBACKPROP_FUZZ_SCALE=10`` draws ten
times as many (a longer attack run). A NUL byte cannot reach the command line (execve refuses it):
NUL bytes go into params files instead.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
HANG = 60  # seconds: far beyond any drawn case (a tiny network), so a timeout is a hang
MEMORY = 4 * 2**30  # address space of each invocation: a hostile input must not eat the machine
SCALE = max(1, int(os.environ.get("SYMBACKPROP_FUZZ_SCALE", "1")))
VICTIM_TEXT = "victim: must never change\n"
PASSWD_LEAK = "root:x:0:0"  # a line of /etc/passwd: \input{/etc/passwd} must never bring it into an output

# --------------------------------------------------------------------------------------------- tokens
# Each option draws a plausible value two times in three and a hostile one otherwise, so that most
# invocations get past the first check and the hostile value meets the deeper stages.

HUGE = "9" * 5000
NUMBERS = ["-1", "-0", "nan", "NaN", "-nan", "inf", "-inf", "+inf", "Infinity", "1e308", "1e309", "-1e309", "4.9e-324",
           "-1e-320", HUGE, "-" + HUGE, "0." + HUGE, "1e" + HUGE, "18446744073709551616", "1001", "0x10", "1_000",
           "1e3", "0.1.2", "١", "", " ", "--"]
HOSTILE = [
    r"\input{/etc/passwd}", r"\include{/etc/passwd}", r"\write18{touch pwned}", r"\immediate\write18{touch pwned}",
    r"\catcode`\^^M=13", r"\def\x{\x}\x", r"\end{document}", "$(touch pwned)", "`touch pwned`", "; touch pwned",
    "| touch pwned", "{{ 7*7 }}", "{% for x in range(10**9) %}{% endfor %}", "${HOME}", "%s%s%n",
    "__import__('os').system('touch pwned')", "</svg><script>alert(1)</script>", "]]>", "<!--", "&amp;",
    "\x1b[31mred\x1b[0m", "\x1b]0;title\x07", "\u202eevil", "\u200b", "\ufeff", "line\nbreak", "cr\rret", "\t",
    "\x7f\x01\x02", "\udcff\udcfe",  # invalid UTF-8 on the command line (bytes ff fe)
    "a" * 10_000, "é" * 3000, "\U0001f600" * 100, "\\" * 1001, "{" * 1000, "}" * 1000, "(" * 10_000, "^" * 500,
    "$$", "$", "%", "#", "&", "~", "_", "", " ",
]
FORMULAS_PLAUSIBLE = ["z/(1+abs(z))", "max(0, z)", r"\frac{1}{1+e^{-z}}", "z^3 + z", "sin(z)", "tanh(z)/2 + z",
                      "log(1 + exp(z))"]
FORMULAS = [
    "z", "sqrt(z)", "log(z)", "exp(30*z)", "tanh(1000*z)", "1/(1+exp(-100*z))", "(1+z)^(15/16)", "((z+1)^16+1)^16",
    "e^{e^{10^6}}*z", "z^(10^10)", "z*10^{10^{10}}", "z" + "+z" * 2000, "(" * 500 + "z" + ")" * 500, "z\n+1",
    "z # comment\nimport os", "z\n__import__('os').system('touch pwned')", "0*z", "2", "1e-3*z", "z**z**z**z",
    r"\sigma(z)", "z^{-1}", "1/z", "1/(z-z)", "abs(z)^0.5", HUGE + "*z", "z*" + HUGE, "z^" + HUGE,
    "tanh, max(0, z)", "z,z,z,z,z,z,z,z",
]
SPECS_PLAUSIBLE = ["1-1", "2-1", "1-2-1", "2-2-1", "2-3-1", "3-2", "2-2-2", "1-1-1-1", "2-2-2-2"]
SPECS_HOSTILE = [
    "1" * 5000 + "-2", "2-" + "1" * 4301, "-".join(["1"] * 1000), "-".join(["1"] * 66), "-".join(["1"] * 20),
    "0-1", "-2-3", "2--3", "2-3-", "", " ", "2", "٣-٤", "1e3-2", "nan-2", "inf-1", "2-3\x01", "2-3\n4", "2\u202e-3",
    "99999999-1", "9999999-1", "1414-1414", "2000-1000", "2000-1001", "0x2-1", "+2-1", "2.0-1", "0002-01",
    "\udcff-1", "$(touch pwned)", r"\input{/etc/passwd}",
]
NOISE = ["--help", "-h", "--bogus", "--", "extra", "-x", "--lr", "-o", "--format", "--version", "--activation", "-q"]

# Paths: relative ones resolve in the invocation's working directory, @ABS/ names the case's directory
# beside it; every one stays inside the test's temporary directory.
DIRS_PLAUSIBLE = ["out", "out/a/b", ".", "dir", "dirlink", "planted", "@ABS/abs", "~/x"]
DIRS = ["..", "a" * 300, "x/" + "a" * 256, "file.txt", "file.txt/sub", "link", "fifo", "", " ", "-", "out\nnew",
        "\udcff", "$(touch pwned)", r"\input{x}"]
FILES_PLAUSIBLE = ["b.py", "out/b.py", "-", "planted/backprop.py", "@ABS/abs.py", "dirlink/b.py", "file.txt"]
FILES = ["a" * 300 + ".py", "link", "fifo", "dir", "dir/", "", ".", "..", "out\n.py", "\udcff.py", "planted"]
PARAMS_PLAUSIBLE = ["p11.json", "p221.json", "p11-bias.json"]
PARAMS = ["p-huge400.json", "p-huge5000.json", "p-nested.json", "p-nul.json", "p-nan.json", "p-empty.json",
          "p-binary.bin", "p-inf.json", "p-strings.json", "p-shape.json", "missing.json", "fifo", "dir", "link",
          "file.txt"]
DOCUMENTS_PLAUSIBLE = ["notes.md", "wrong.md", "notes.tex", "notes.txt"]
DOCUMENTS = ["hostile.tex", "deep.md", "binary.md", "empty.md", "nul.md", "oversized.md", "missing.md", "fifo",
             "dir", "link", "file.txt", "-", "", "\udcff.md"]
# what a planted output directory holds: a link under every name a command writes, to the victim
WRITTEN = [f"{stem}.{ext}" for stem in ("derivation", "example", "exercise", "solutions") for ext in
           ("md", "tex", "json", "pdf")] + ["backprop.py", "network.svg", "README.md"]


def params_files() -> dict[str, bytes]:
    big = "1" + "0" * 399
    valid11 = {"x": [0.5], "y": [0.25], "W": [[[0.3]]]}
    valid221 = {"x": [0.1, 0.2], "y": [0.7], "W": [[[0.1, 0.2], [0.3, 0.4]], [[0.5], [0.6]]]}
    return {
        "p11.json": json.dumps(valid11).encode(),
        "p221.json": json.dumps(valid221).encode(),
        "p11-bias.json": json.dumps(dict(valid11, b=[[0.1]])).encode(),
        "p-huge400.json": json.dumps(valid11).replace("0.3", big).encode(),
        "p-huge5000.json": json.dumps(valid11).replace("0.3", "7" * 5000).encode(),
        "p-nested.json": b"[" * 100_000 + b"]" * 100_000,
        "p-nul.json": b'{"x": [0.5\x00], "y": [0.25], "W": [[[0.3]]]}\x00',
        "p-nan.json": json.dumps(valid11).replace("0.3", "NaN").encode(),
        "p-empty.json": b"",
        "p-binary.bin": bytes(range(256)) * 4,
        "p-inf.json": json.dumps(valid221).replace("0.5", "1e999").replace("0.1", "-Infinity").encode(),
        "p-strings.json": json.dumps({"x": ["0.5"], "y": [True], "W": [[["\\input{/etc/passwd}"]]]}).encode(),
        "p-shape.json": json.dumps({"x": [[0.5]], "y": 0.25, "W": [[[0.3, 0.4]], [[1]]], "b": "none"}).encode(),
    }


def documents() -> dict[str, bytes]:
    """Derivations for lint: a right and a wrong one of 2-2-1, and hostile ones (an \\input, a power
    10^{10^{10}}, 10,000 nested braces, binary, NUL bytes, a file over lint's size cap)."""
    right = ("The net input: $net_{b_1} = w_{11} out_{a_1} + w_{21} out_{a_2}$, and\n\n"
             "$$\\frac{\\partial E_{total}}{\\partial out_{c_1}} = out_{c_1} - target_{c_1} \\tag{3}$$\n")
    wrong = right + "\n$$\\frac{\\partial E_{total}}{\\partial w_{11}} = (out_{c_1} - target_{c_1}) w_{11} out_{a_1}$$\n"
    hostile = ("\\input{/etc/passwd}\n\\[ 10^{10^{10}} = 1 \\]\n\\begin{equation} e^{e^{10^6}} = z \\end{equation}\n"
               "$$ \\frac{\\partial E}{\\partial w_{11}} = $(touch pwned) $$\n$ unbalanced")
    return {
        "notes.md": right.encode(), "wrong.md": wrong.encode(), "notes.txt": right.encode(),
        "notes.tex": ("\\begin{align}\n net_{b_1} &= w_{11} out_{a_1} + w_{21} out_{a_2} \\\\\n"
                      " \\frac{\\partial E_{total}}{\\partial out_{c_1}} &= out_{c_1} - target_{c_1}\n\\end{align}\n").encode(),
        "hostile.tex": hostile.encode(), "deep.md": ("$$" + "{" * 10_000 + "z" + "}" * 10_000 + " = z$$").encode(),
        "binary.md": bytes(range(256)) * 8, "empty.md": b"", "nul.md": right.replace("=", "=\x00").encode(),
        "oversized.md": b"$z = z$\n" * 300_000,
    }


def mix(plausible, hostile):
    """A plausible token two times in three, a hostile one otherwise."""
    return st.one_of(st.sampled_from(plausible), st.sampled_from(plausible), st.sampled_from(hostile))


def option(name, values):
    return st.tuples(st.just(name), values).map(list)


def flag(*names):
    return st.sampled_from([[name] for name in names])


SPEC = mix(SPECS_PLAUSIBLE, SPECS_HOSTILE)
TEXT = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(FORMULAS), st.text(max_size=30).filter(lambda s: "\x00" not in s))
MODEL = [
    option("--activation", mix(["sigmoid", "tanh", "relu", "linear", "softplus", "sigmoid,tanh"] + FORMULAS_PLAUSIBLE,
                               FORMULAS + HOSTILE + ["softmax", "swish", "Sigmoid", "softmax,softmax", "tanh,softmax"])),
    option("--loss", mix(["mse", "bce", "ce"], ["hinge", "MSE", "", "ce\n", "bce,ce"])),
    flag("--bias", "--no-bias"),
    option("--notation", mix(["neurons", "layers"], ["matrix", "", "Layers"])),
]
FORMATS = mix(["md", "tex", "json", "md,json", "md,tex,json", "json", "tex,md,md", "json,pdf"],
              ["md,,json", ",", "", "docx", "MD", "md;tex"])
POINTS = mix(["1", "2", "3", "10"], NUMBERS + ["0", "1000"])
SEED = mix(["0", "1", "7", "123456789"], NUMBERS + [HUGE])
LR = mix(["0.5", "0.1", "0", "-1", "1e308", "1e-300"], NUMBERS)
TOLERANCE = mix(["1e-6", "0", "0.5", "1e-300"], NUMBERS + ["1", "0.999999"])
PARAMETER = mix(["w_{11}", "w_11", "w_{21}", "b_{b_1}", "W^{[1]}_{1,1}", "w_{12}"],
                ["nonexistent", "", r"\input{/etc/passwd}", "w_{" + HUGE + "}", "w_{11}\n", "w_1", "b_1"])
GRADIENT = mix(["0", "out_{b_1} - target_{b_1}", "(out_c1 - target_c1)*out_c1*(1 - out_c1)*out_b1",
                r"\delta_{c_1} out_{b_1}", "w_{11}", "1e-3", "x_1 * 2"], FORMULAS + HOSTILE)
STEPS = mix([r"\frac{d}{dz} \frac{1}{1+e^{-z}} = \frac{e^{-z}}{(1+e^{-z})^2}", "z = z", "a = a", "z = z = z",
             "1e-3 = 0.001", "1e3 = 1000", r"z \approx 1.0", "0.33 = 1/3", "out_{d_1} = out_{d_1}", "2 z = z + z",
             r"\frac{d}{dz} z^2 = 2 z", "e^{1000} = 2 e^{1000}", "sqrt(-1-z^2) = 7 sqrt(-1-z^2)", "z = z + 10^{-40}"],
            ["e^{e^{10^6}} = 1", "=", "", "z =", "10^{10^{10}} = 1", HUGE + " = 1", "z^{z^{z^{z^{z}}}} = 1",
             r"\input{/etc/passwd} = 1", "$(touch pwned) = 1", "(" * 10_000 + " = 1", "z = " + "+z" * 3000,
             r"\frac{d}{dz} " * 200 + "z = 0"] + [f"{a} = {b}" for a, b in zip(HOSTILE, FORMULAS)])
OPTIONS = {
    "derive": MODEL + [
        option("--format", FORMATS), option("--title", TEXT), flag("--exercise"), option("-o", mix(DIRS_PLAUSIBLE, DIRS)),
        option("--only", PARAMETER), option("--proof", mix(["auto", "symbolic", "numeric"], ["maybe", ""])),
        option("--points", POINTS), option("--seed", SEED), flag("-q"),
    ],
    "verify": MODEL + [
        option("--where", mix(["a=z", r"a=\frac{1}{1-e^{-z}}", "s=2*z"], ["a", "=z", "a=" + HUGE, "a=a", "z=z",
                                                                         "a=" + "(" * 1000])),
        option("--var", mix(["z", "x", "a"], ["", "\\input", "w_{11}", "out_{d_1}", "z,x"])),
        option("--tolerance", TOLERANCE), option("--points", POINTS), option("--seed", SEED),
    ],
    "example": MODEL + [
        option("--params", mix(PARAMS_PLAUSIBLE, PARAMS)), option("--seed", SEED), option("--lr", LR),
        flag("--freeze-bias"), option("--format", FORMATS), flag("--json"), option("-o", mix(DIRS_PLAUSIBLE, DIRS)),
    ],
    "codegen": MODEL + [option("-o", mix(FILES_PLAUSIBLE, FILES)), flag("--check", "--no-check")],
    "check": MODEL + [option("--points", POINTS), option("--seed", SEED),
                      option("--autograd", mix(["auto", "none"], ["torch", "autograd", "jax", ""]))],
    "lint": MODEL + [option("--spec", SPEC), option("--format", mix(["text", "md", "json"], ["html", "", "MD"])),
                     flag("--all", "--wrong-only"), flag("--shared-bias"), option("--points", POINTS),
                     option("--seed", SEED)],
}
# verify needs one of --param NAME EXPR (with a network) or --steps (with one or without)
PARAM_MODE = st.tuples(st.just(True), st.tuples(st.just("--param"), PARAMETER, GRADIENT).map(list))
STEPS_MODE = st.tuples(st.booleans(), option("--steps", STEPS))
VERIFY_MODE = st.one_of(PARAM_MODE, STEPS_MODE, PARAM_MODE, STEPS_MODE, st.tuples(st.booleans(), st.just([])))


@st.composite
def command_args(draw, name: str) -> list[str]:
    """One command's argument list: the spec, its options in any order, now and then a stray token."""
    options = draw(st.lists(st.one_of(*OPTIONS[name]), max_size=4))
    spec = draw(mix(DOCUMENTS_PLAUSIBLE, DOCUMENTS) if name == "lint" else SPEC)  # lint's argument: a document
    if name == "verify":
        with_spec, mode = draw(VERIFY_MODE)
        options.insert(draw(st.integers(0, len(options))), mode)
        spec = spec if with_spec else None
    tokens = [token for pair in options for token in pair]
    if spec is not None:  # first, as people write it, or now and then anywhere
        tokens.insert(draw(st.integers(0, len(tokens))) if draw(st.integers(0, 4)) == 0 else 0, spec)
    if draw(st.integers(0, 3)) == 0:
        tokens.insert(draw(st.integers(0, len(tokens))), draw(st.sampled_from(NOISE)))
    return [name] + tokens


# gallery regenerates every handout into a directory that exists or can be made: only its refusals are
# fuzzed (a file, a path under a file, a name too long, an empty path, a FIFO, a link), never a full rebuild
GALLERY_REFUSED = ["file.txt", "file.txt/sub", "a" * 300, "", "fifo", "link"]
GALLERY = st.lists(st.one_of(option("-o", st.sampled_from(GALLERY_REFUSED)),
                             st.sampled_from([["--bogus"], ["extra"], ["--help"]])), min_size=1, max_size=3).map(
    lambda pairs: ["gallery"] + [token for pair in pairs for token in pair])


# ---------------------------------------------------------------------------------------------- cases

def plant(case: Path) -> Path:
    """The invocation's world: its working directory and files to attack; returns the working directory."""
    cwd = case / "cwd"
    for directory in (cwd, case / "home", case / "tmp", cwd / "dir", cwd / "planted"):
        directory.mkdir(parents=True)
    (case / "victim.txt").write_text(VICTIM_TEXT)
    (cwd / "file.txt").write_text("a regular file\n")
    os.symlink(case / "victim.txt", cwd / "link")
    os.symlink(cwd / "dir", cwd / "dirlink")
    os.mkfifo(cwd / "fifo")
    for name in WRITTEN:
        os.symlink(case / "victim.txt", cwd / "planted" / name)
    for name, content in {**params_files(), **documents()}.items():
        (cwd / name).write_bytes(content)
    return cwd


@pytest.fixture(scope="module")
def forkserver():
    from forkserver import ForkServer

    server = ForkServer()
    yield server
    server.close()


_SERVER = []  # the module's fork server, set by the fuzz tests' fixture


def invoke(argv: list[str], case: Path):
    """Run one invocation in a fresh child process of the fork server (tests/forkserver.py: its own
    process group, memory limit, working directory and environment, its imports already done)."""
    cwd = plant(case)
    argv = [token.replace("@ABS", str(case)) for token in argv]
    env = dict(os.environ, HOME=str(case / "home"), TMPDIR=str(case / "tmp"), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    shown = "symbackprop " + shlex.join(a.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")[:200]
                                        for a in argv)
    stdout, stderr = case.parent / f"{case.name}.stdout", case.parent / f"{case.name}.stderr"  # outside the case
    code, timed_out = _SERVER[0].run(argv, cwd=cwd, env=env, stdout=stdout, stderr=stderr, timeout=HANG,
                                     memory=MEMORY)
    if timed_out:
        pytest.fail(f"hang: no answer within {HANG} s from {shown}")
    out, err = stdout.read_bytes(), stderr.read_bytes()
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), shown, cwd


def check_invocation(argv: list[str], case: Path) -> tuple[int, str, str]:
    """Run one invocation and check it; returns its exit status, stdout and stderr."""
    code, out, err, shown, cwd = invoke(argv, case)
    tail = "\n".join(err.strip().splitlines()[-6:])
    assert "Traceback" not in err, f"traceback from {shown}:\n{tail}"
    assert code in (0, 1, 2), f"exit status {code} from {shown}:\n{tail}"
    assert (case / "victim.txt").read_text() == VICTIM_TEXT, f"{shown} wrote through a planted link"
    assert os.path.islink(cwd / "link") and stat.S_ISFIFO(os.lstat(cwd / "fifo").st_mode), f"{shown} replaced a link or FIFO"
    assert PASSWD_LEAK not in out and PASSWD_LEAK not in err, f"{shown} printed /etc/passwd"
    for path in case.rglob("*"):
        assert path.name != "pwned", f"{shown} ran a shell command: {path}"
        if path.is_file() and not path.is_symlink() and path.suffix in (".md", ".tex", ".json", ".svg", ".py", ".log"):
            assert PASSWD_LEAK not in path.read_text(errors="replace"), f"{shown} put /etc/passwd into {path}"
    return code, out, err


def repository_files() -> set[str]:
    """Files of the working tree that a command could have written (none may appear during the fuzzing).

    Left out: .git, caches, and Python sources under tests/ and symbackprop/, which people edit while
    the suite runs (no command writes a .py file unless -o names it, and -o here names only temporary paths).
    """
    found = set()
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = [d for d in subdirectories if d not in (".git", "__pycache__", ".hypothesis",
                                                                      ".pytest_cache", "node_modules", ".ci")]
        relative = Path(directory).relative_to(ROOT)
        for name in files:
            if not (name.endswith(".py") and relative.parts[:1] in (("tests",), ("symbackprop",))):
                found.add(str(relative / name))
    return found


@pytest.fixture(scope="module")
def repository_unchanged(forkserver):
    _SERVER[:] = [forkserver]
    before = repository_files()
    yield
    appeared = sorted(repository_files() - before)
    assert not appeared, f"the fuzzed commands wrote into the repository: {appeared[:20]}"


FUZZ = settings(max_examples=1, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck), print_blob=False)
EXAMPLES = {"derive": 30, "verify": 30, "example": 25, "codegen": 25, "check": 16, "lint": 20}


def fuzz(strategy, examples):
    """A Hypothesis test running ``examples`` (times SYMBACKPROP_FUZZ_SCALE) invocations drawn from ``strategy``."""

    @settings(FUZZ, max_examples=examples * SCALE)
    @given(argv=strategy)
    def run(tmp_path, argv):
        check_invocation(argv, Path(tempfile.mkdtemp(dir=tmp_path)))

    return run


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_fuzz_command(name, tmp_path, repository_unchanged):
    fuzz(command_args(name), EXAMPLES[name])(tmp_path)


def test_fuzz_gallery_refusals(tmp_path, repository_unchanged):
    fuzz(GALLERY, 12)(tmp_path)


def test_fuzz_group(tmp_path, repository_unchanged):
    top = st.lists(st.sampled_from(["--help", "-h", "--version", "--bogus", "nosuch", "-", ""] + HOSTILE), max_size=3)
    fuzz(top, 10)(tmp_path)


# ------------------------------------------------------------------------- output that cannot be written

FULL = "/dev/full"
needs_dev_full = pytest.mark.skipif(not os.path.exists(FULL), reason="no /dev/full on this system")


@needs_dev_full
@pytest.mark.parametrize("argv", [["--help"], ["derive", "--help"], ["codegen", "2-1", "-o", "-"],
                                  ["example", "2-1", "--json"], ["derive", "1-1", "--format", "json", "-o", "out"]],
                         ids=" ".join)
def test_a_full_standard_output_is_one_line_and_exit_2(argv, tmp_path):
    with open(FULL, "w") as full:
        result = subprocess.run([sys.executable, "-m", "symbackprop", *argv], cwd=tmp_path, stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=HANG)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines() == ["symbackprop: error: cannot write the output: No space left on device"]


@needs_dev_full
@pytest.mark.parametrize("argv, status", [(["derive", "2-0"], 2), (["derive", "1-1", "--format", "json", "-o", "out"], 0)],
                         ids=lambda v: " ".join(v) if isinstance(v, list) else str(v))
def test_a_full_standard_error_keeps_the_exit_status(argv, status, tmp_path):
    with open(FULL, "w") as full:
        result = subprocess.run([sys.executable, "-m", "symbackprop", *argv], cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=full, timeout=HANG)
    assert result.returncode == status


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    steps = " = ".join(["z"] * 400)  # 800 lines of verdicts: more than a pipe holds
    process = subprocess.Popen([sys.executable, "-m", "symbackprop", "verify", "--steps", steps], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.read(10)
    process.stdout.close()  # as `| head -c 10` does
    err = process.stderr.read().decode()
    assert process.wait(timeout=HANG) in (0, 1, 2, 141) and "Traceback" not in err, err  # 141: 128 + SIGPIPE


def test_codegen_checked_beyond_the_symbolic_limit_is_one_line(tmp_path):
    """Found by this suite: the check builds the symbolic model, refused past its limit (was a traceback)."""
    run = [sys.executable, "-m", "symbackprop", "codegen", "1414-1414"]
    result = subprocess.run(run + ["-o", str(tmp_path / "b.py")], capture_output=True, text=True, timeout=HANG)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1 and "--no-check" in result.stderr
    assert not (tmp_path / "b.py").exists()
    unchecked = subprocess.run(run + ["--no-check", "-o", str(tmp_path / "b.py")], capture_output=True, text=True,
                               timeout=HANG)
    assert unchecked.returncode == 0 and (tmp_path / "b.py").exists(), unchecked.stderr
