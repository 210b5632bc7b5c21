"""The command line: files written, summary printed, and every bad input one line and exit 2."""

import json
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err


def test_derive_writes_three_files_and_a_summary(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["derive", "2-3-1"], capsys)
    assert code == 0, err
    directory = tmp_path / "output" / "2-3-1"
    documents = sorted(p.name for p in directory.iterdir() if p.suffix != ".svg")
    assert documents == ["derivation.json", "derivation.md", "derivation.tex"]
    assert (directory / "network.svg").exists()
    assert "9 parameters derived (9 weights)" in out
    assert "symbolic proof: 9 of 9" in out
    assert re.search(r"in \d+\.\d\d s", out)
    assert json.loads((directory / "derivation.json").read_text())["spec"] == "2-3-1"


def test_format_output_and_only(tmp_path, capsys):
    code, out, err = run(["derive", "2-4-3-2", "--format", "json", "-o", str(tmp_path), "--only", "w_{21}", "--only", "w_31"], capsys)
    assert code == 0, err
    assert [p.name for p in tmp_path.iterdir()] == ["derivation.json"]
    data = json.loads((tmp_path / "derivation.json").read_text())
    assert [p["symbol"] for p in data["parameters"]] == ["w_31", "w_21"]
    assert "2 parameters derived" in out


def test_no_temporary_files_are_left_behind(tmp_path, capsys):
    run(["derive", "1-1", "-o", str(tmp_path), "-q"], capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "derivation.json", "derivation.md", "derivation.tex", "network-w_11.svg", "network.svg"
    ]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["derive", "2-0-3"], "every layer needs at least one neuron"),
        (["derive", "abc"], "invalid network spec 'abc'"),
        (["derive", "5"], "at least two positive integers"),
        (["derive", "2--3"], "invalid network spec '2--3'"),
        (["derive", "2-4.5-2"], "invalid network spec '2-4.5-2'"),
        (["derive", ""], "invalid network spec ''"),
        (["derive", "2-3", "--activation", "swish"], "unknown activation 'swish'"),
        (["derive", "2-3", "--loss", "hinge"], "unknown loss 'hinge'"),
        (["derive", "2-3", "--notation", "matrix"], "unknown notation 'matrix'"),
        (["derive", "2-3", "--format", "md,docx"], "unknown format 'docx'"),
        (["derive", "2-3", "--only", "w_{99}"], "unknown parameter 'w_{99}'"),
        (["derive"], "Missing argument 'SPEC'"),
        (["derive", "2-3", "--points", "0"], "--points"),
        (["frobnicate"], "No such command"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, fragment, capsys, tmp_path):
    code, out, err = run(argv + ["-o", str(tmp_path)] if len(argv) > 1 else argv, capsys)
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_output_path_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("")
    code, _, err = run(["derive", "2-3", "-o", str(blocker)], capsys)
    assert code == 2 and "exists and is not a directory" in err and len(err.splitlines()) == 1


def test_output_path_that_cannot_be_created(capsys):
    code, _, err = run(["derive", "2-3", "-o", "/proc/symbackprop/out"], capsys)
    assert code == 2 and "cannot create output directory" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["derive", "2-3", "-o", "x/" + "a" * 300], "output directory"),
    (["derive", "2-3", "-o", ""], "the path is empty"),
    (["derive", "2-3", "--seed", "-1"], "-1 is not in the range x>=0"),
    (["derive", "2-3", "--points", "99999999999"], "is not in the range 1<=x<=1000"),
    (["derive", "-2-3"], "invalid network spec starting '-2': layer sizes joined by '-'"),
    (["example", "2-3", "--seed", "-5"], "-5 is not in the range x>=0"),
    (["check", "2-3", "--points", "0"], "0 is not in the range 1<=x<=1000"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(argv, capsys)
    assert code == 2 and message in err and len(err.splitlines()) == 1, err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=12).filter(lambda s: not re.fullmatch(r"[0-9]+(-[0-9]+)+", s.strip()) and not s.startswith("-")))
def test_random_strings_never_traceback(capsys, tmp_path, spec):
    code, _, err = run(["derive", spec, "-o", str(tmp_path)], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_help_lists_every_option():
    result = subprocess.run([sys.executable, "-m", "symbackprop.cli", "derive", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for option in ("--activation", "--loss", "--bias / --no-bias", "--notation", "--format", "--output", "--only", "--proof"):
        assert option in result.stdout
    assert "[default: sigmoid]" in result.stdout


def test_console_script_runs_as_a_process(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "symbackprop.cli", "derive", "2-2-1", "-o", str(tmp_path), "--format", "md"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "derivation.md").read_text().startswith("# Backpropagation for a 2-2-1 network")


def test_files_get_the_usual_permissions(tmp_path, capsys):
    import os

    run(["derive", "1-1", "-o", str(tmp_path), "-q", "--format", "json"], capsys)
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "derivation.json").stat().st_mode & 0o777 == 0o666 & ~mask


def test_progress_is_reported_per_stage_and_reaches_the_total(tmp_path):
    from symbackprop.api import derive
    from symbackprop.handout.render import write_outputs

    heard = []
    record = lambda stage, done, total: heard.append((stage, done, total))  # noqa: E731
    derivation = derive("2-24-24-2", progress=record)  # 672 weights: more than one report per stage
    write_outputs(derivation, tmp_path, ["json"], progress=record)
    stages = [stage for stage, _, _ in heard]
    assert list(dict.fromkeys(stages)) == ["chain rule", "numeric check", "derivation.json"]
    for stage in ("chain rule", "numeric check", "derivation.json"):
        counts = [(done, total) for s, done, total in heard if s == stage]
        assert counts == [(500, 672), (672, 672)]


def test_progress_bar_on_a_terminal_and_nothing_on_a_pipe(tmp_path):
    import os
    import pty

    # The bar shows from the first progress report (not after a second), so a network of 2,048
    # weights reports often enough; piped, it stays silent even so.
    environment = {**os.environ, "SYMBACKPROP_PROGRESS_AFTER": "0"}
    command = [sys.executable, "-m", "symbackprop.cli", "derive", "16-32-32-16", "--format", "json", "-q"]
    piped = subprocess.run(command + ["-o", str(tmp_path / "piped")], capture_output=True, text=True, env=environment)
    assert piped.returncode == 0 and piped.stderr == ""

    leader, follower = pty.openpty()
    process = subprocess.Popen(command + ["-o", str(tmp_path / "tty")], stdout=subprocess.DEVNULL, stderr=follower,
                               env=environment)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        shown += chunk
    assert process.wait() == 0
    os.close(leader)
    assert re.search(rb"numeric check +\[#+-*\] \d+/2048", shown)
    assert shown.endswith(b"\r\x1b[K")  # the bar is wiped before the process ends


def test_the_console_script_ends_at_once_with_every_byte_written_and_its_status():
    """``run`` (the console script, ``python -m symbackprop.cli``) skips the interpreter's teardown
    with ``os._exit``: what it printed through a pipe is all there, byte for byte what ``main``
    prints in-process, and the exit status is main's (0, 1 for a wrong formula, 2 for a usage error)."""
    script = [sys.executable, "-m", "symbackprop.cli"]
    piped = subprocess.run(script + ["example", "8-8-8-8", "--json"], capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    written = json.loads(piped.stdout)
    assert len(written["grad"]["W"]) == 3 and len(json.dumps(written)) > 10_000  # three layers of weights
    code = ("import sys; from symbackprop.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as done:\n    sys.stderr.write(f'status {done.code}')\n")
    inside = subprocess.run([sys.executable, "-c", code, "example", "8-8-8-8", "--json"], capture_output=True,
                            text=True, timeout=120)
    assert inside.stdout == piped.stdout and inside.stderr.endswith("status 0")
    wrong = subprocess.run(script + ["verify", "2-2-1", "--param", "w_{11}", "out_{a_1}"], capture_output=True,
                           text=True, timeout=120)
    assert wrong.returncode == 1 and wrong.stdout.startswith("incorrect:")
    usage = subprocess.run(script + ["derive", "2-x-1"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and usage.stdout == "" and len(usage.stderr.splitlines()) == 1


def _count_renders(monkeypatch) -> list:
    """Each call of ``render_outputs``, as the derive command makes them, by the verification it rendered."""
    from symbackprop.handout import render

    calls = []
    real = render.render_outputs

    def counted(derivation, *args, **kwargs):
        calls.append(dict(derivation.verification.unproven))
        return real(derivation, *args, **kwargs)

    monkeypatch.setattr(render, "render_outputs", counted)
    return calls


def test_derive_keeps_the_handouts_it_rendered_while_the_proofs_ran(tmp_path, capsys, monkeypatch):
    """Rendered once, while the forked children proved: the files are those the derivation renders to."""
    from symbackprop import derive
    from symbackprop.handout.render import write_outputs

    calls = _count_renders(monkeypatch)
    code, out, err = run(["derive", "2-4-3-2", "-q", "-o", str(tmp_path / "cli")], capsys)
    assert code == 0, err
    assert calls == [{}]  # the guess that every proof succeeds, kept
    write_outputs(derive("2-4-3-2"), tmp_path / "api", ["md", "tex", "json"])
    for name in sorted(p.name for p in (tmp_path / "api").iterdir()):
        assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "api" / name).read_bytes(), name
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == sorted(p.name for p in (tmp_path / "api").iterdir())


def test_derive_renders_again_when_a_proof_does_not_come_true(tmp_path, capsys, monkeypatch):
    """Proofs out of time: the handouts rendered on the guess that all succeed are thrown away."""
    from symbackprop.proof import prove

    monkeypatch.setenv("SYMBACKPROP_WORKERS", "2")  # proofs in children, whatever the machine
    monkeypatch.setattr(prove, "PROOF_SECONDS", 1e-4)
    calls = _count_renders(monkeypatch)
    code, out, err = run(["derive", "2-2-1", "-q", "-o", str(tmp_path)], capsys)
    assert code == 0, err
    assert len(calls) == 2 and calls[0] == {} and set(calls[1].values()) == {"timeout"}
    data = json.loads((tmp_path / "derivation.json").read_text())
    assert {p["symbolic_proof"] for p in data["parameters"]} == {"timeout"}
    assert "SymPy ran out of time" in (tmp_path / "derivation.md").read_text()


def test_the_guess_is_given_only_while_proofs_run_in_children(monkeypatch):
    """``derive(meanwhile=...)``: once, with the verification the run ends with when all proofs
    succeed; never for a numeric proof (no children) or a mini-batch (its equations come after)."""
    from symbackprop import derive

    monkeypatch.setenv("SYMBACKPROP_WORKERS", "2")

    seen = []
    derivation = derive("2-4-3-2", meanwhile=seen.append)
    assert len(seen) == 1 and seen[0].verification == derivation.verification
    assert seen[0].gradients == derivation.gradients and seen[0].layers == derivation.layers
    derive("2-4-3-2", proof="numeric", meanwhile=seen.append)
    derive("2-2-1", batch=3, meanwhile=seen.append)
    assert len(seen) == 1
