"""Output files: only where the user pointed, whole, all of a run or none.

Symlinks planted as an output file or under a temporary's name, devices and FIFOs as ``codegen -o``,
a replaced file's permissions, special files and hostile JSON as ``--params``, and a full disk (a
64 KiB tmpfs, where the tests run as root). Every test writes under its ``tmp_path`` only: those
that name /dev/null also guard that nothing is created or renamed outside it.
"""

import errno
import json
import os
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import require_tex

from symbackprop import derive
from symbackprop.algebra.limits import time_limit
from symbackprop.cli import cli
from symbackprop.cli.options import check_output_dir
from symbackprop.handout import render
from symbackprop.handout.files import Batch, NotRegularFile, check_target, write_atomic
from symbackprop.network.spec import NetworkSpec
from symbackprop.numbers.example import MAX_PARAMS_BYTES, ParamsError, load_params

PARAMS_2_1 = {"x": [1, 2], "y": [0.5], "W": [[[0.1], [0.2]]]}


def invoke(args):
    """Run the CLI in-process; (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, args)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def listing(directory: Path) -> dict:
    """Every name in ``directory`` with its bytes (a link its target, anything else its kind), to
    compare before and after."""
    def content(path: Path):
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            return "link to " + os.readlink(path)
        return path.read_bytes() if stat.S_ISREG(mode) else stat.filemode(mode)

    return {path.name: content(path) for path in sorted(directory.iterdir())}


def temporaries(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp") or ".symbackprop-write-test" in p.name]


@pytest.fixture
def stay_inside(tmp_path, monkeypatch):
    """Fail (before any harm) should a test create a temporary or rename a file outside ``tmp_path``."""
    mkstemp, replace = tempfile.mkstemp, os.replace

    def inside(path) -> None:
        if not Path(os.path.abspath(path)).is_relative_to(tmp_path):
            raise AssertionError(f"wrote outside the test's directory: {path}")

    def guarded_mkstemp(*args, dir=None, **kwargs):
        inside(dir if dir is not None else tempfile.gettempdir())
        return mkstemp(*args, dir=dir, **kwargs)

    def guarded_replace(source, target, **kwargs):
        inside(target)
        return replace(source, target, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", guarded_mkstemp)
    monkeypatch.setattr(os, "replace", guarded_replace)


# -- write_atomic and Batch ----------------------------------------------------------------
def test_write_atomic_writes_text_and_bytes_with_the_usual_permissions(tmp_path):
    write_atomic(tmp_path / "a.md", "ä\n")
    write_atomic(tmp_path / "b.pdf", b"%PDF\x00")
    assert (tmp_path / "a.md").read_bytes() == "ä\n".encode() and (tmp_path / "b.pdf").read_bytes() == b"%PDF\x00"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "a.md").stat().st_mode) == 0o666 & ~mask  # not mkstemp's 0600
    assert temporaries(tmp_path) == []


def test_a_replaced_file_keeps_its_permission_bits(tmp_path):
    target = tmp_path / "derivation.md"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    target.chmod(0o604)
    with Batch(tmp_path) as batch:
        batch.add("derivation.md", "newer")
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    target.chmod(0o4755)
    write_atomic(target, "newest")
    assert stat.S_IMODE(target.stat().st_mode) == 0o755  # set-user-ID is not handed to new contents


def test_a_replaced_file_keeps_its_owner_where_we_may(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    target = tmp_path / "backprop.py"
    target.write_text("old")
    os.chown(target, 65534, 65534)
    write_atomic(target, "new")
    assert (target.stat().st_uid, target.stat().st_gid) == (65534, 65534) and target.read_text() == "new"


def test_a_long_name_leaves_room_for_its_temporary(tmp_path):
    name = "n" * 250 + ".py"  # 253 bytes: the temporary's name must not add to it
    write_atomic(tmp_path / name, "x = 1\n")
    assert (tmp_path / name).read_text() == "x = 1\n"


@pytest.mark.parametrize("kind", ["symlink to a file", "dangling symlink", "directory", "fifo"])
def test_write_atomic_refuses_what_is_not_a_regular_file(kind, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "derivation.md"
    if kind == "symlink to a file":
        target.symlink_to(victim)
    elif kind == "dangling symlink":
        target.symlink_to(tmp_path / "absent")
    elif kind == "directory":
        target.mkdir()
    else:
        os.mkfifo(target)
    before = listing(tmp_path)
    with pytest.raises(NotRegularFile, match=r"derivation\.md' is a (symbolic link|directory|FIFO), not a regular file"):
        write_atomic(target, "new")
    assert victim.read_text() == "precious"
    assert listing(tmp_path) == before  # the link, directory or FIFO still there, and no temporary


def test_check_target_names_what_it_found(tmp_path):
    assert check_target(tmp_path / "absent") is None
    (tmp_path / "file").write_text("")
    assert check_target(tmp_path / "file").st_size == 0
    (tmp_path / "link").symlink_to(tmp_path / "file")
    with pytest.raises(NotRegularFile, match="is a symbolic link"):
        check_target(tmp_path / "link")
    error = pytest.raises(NotRegularFile, check_target, "/dev/null").value
    assert isinstance(error, OSError) and error.errno == errno.EEXIST and "a character device" in error.strerror


def test_an_error_inside_a_batch_writes_nothing(tmp_path):
    (tmp_path / "a.md").write_text("previous")
    with pytest.raises(RuntimeError, match="rendering failed"):
        with Batch(tmp_path) as batch:
            batch.add("a.md", "new a")
            batch.add("b.svg", "new b")
            raise RuntimeError("rendering failed")
    assert listing(tmp_path) == {"a.md": b"previous"}


def test_a_link_planted_while_the_batch_was_written_stops_every_rename(tmp_path):
    (tmp_path / "victim").write_text("precious")
    with pytest.raises(NotRegularFile):
        with Batch(tmp_path) as batch:
            batch.add("a.md", "a")
            batch.add("b.json", "b")
            (tmp_path / "b.json").symlink_to(tmp_path / "victim")  # after add checked it, before the renames
    assert sorted(listing(tmp_path)) == ["b.json", "victim"] and (tmp_path / "victim").read_text() == "precious"


def test_a_file_is_written_once_per_batch(tmp_path):
    with pytest.raises(ValueError, match="written twice"):
        with Batch(tmp_path) as batch:
            batch.add("a.md", "1")
            batch.add("a.md", "2")
    assert list(tmp_path.iterdir()) == []


# -- the commands ----------------------------------------------------------------------------
def test_derive_refuses_a_symlink_planted_as_an_output_file_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "derivation.json").symlink_to(victim)
    code, _, err = invoke(["derive", "1-1", "-o", str(out), "-q"])
    assert code == 2
    assert err == (f"symbackprop: error: cannot write to {str(out)!r}: {str(out / 'derivation.json')!r} is a "
                   "symbolic link, not a regular file: refusing to replace it\n")
    assert victim.read_text() == "precious" and (out / "derivation.json").is_symlink()
    assert [p.name for p in out.iterdir()] == ["derivation.json"]  # no md, tex or SVG without the json


def test_links_planted_under_temporary_names_are_never_followed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    planted = [".symbackprop-write-test", ".derivation.md.tmp", ".derivation.json.tmp", ".network.svg.tmp"]
    for name in planted:
        (out / name).symlink_to(victim)
    code, _, err = invoke(["derive", "1-1", "-o", str(out), "-q"])
    assert code == 0, err
    assert victim.read_text() == "precious"
    assert all(listing(out)[name] == f"link to {victim}" for name in planted)
    assert not (out / "derivation.md").is_symlink() and (out / "derivation.md").read_text().startswith("# ")


def test_check_output_dir_probes_under_a_unique_name(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / ".symbackprop-write-test").symlink_to(victim)
    check_output_dir(tmp_path)
    assert victim.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".symbackprop-write-test", "victim.txt"]


def test_pdf_is_placed_without_following_a_planted_link(tmp_path):
    require_tex()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / ".derivation.pdf.tmp").symlink_to(victim)  # the fixed name the PDF was once copied through
    (pdf,) = render.write_outputs(derive("1-1"), tmp_path, ["pdf"])
    assert victim.read_text() == "precious"
    assert not pdf.is_symlink() and pdf.read_bytes().startswith(b"%PDF")
    (tmp_path / "derivation.pdf").unlink()
    (tmp_path / "derivation.pdf").symlink_to(victim)
    with pytest.raises(NotRegularFile):
        render.write_outputs(derive("1-1"), tmp_path, ["pdf"])
    assert victim.read_text() == "precious" and temporaries(tmp_path) == [".derivation.pdf.tmp"]  # the planted one


def test_codegen_refuses_dev_null(tmp_path, stay_inside):
    code, _, err = invoke(["codegen", "1-1", "--no-check", "-o", "/dev/null"])
    assert code == 2
    assert err == ("symbackprop: error: output path '/dev/null' is a character device, not a regular file: "
                   "refusing to replace it (give a file name with -o)\n")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_codegen_refuses_a_fifo_and_a_device_node(tmp_path, stay_inside):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    code, _, err = invoke(["codegen", "1-1", "--no-check", "-o", str(fifo)])
    assert code == 2 and "is a FIFO, not a regular file" in err and err.count("\n") == 1
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    device = tmp_path / "null.py"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a second /dev/null, inside tmp_path
    except PermissionError:
        pytest.skip("making a device node needs root")
    code, _, err = invoke(["codegen", "1-1", "--no-check", "-o", str(device)])
    assert code == 2 and "is a character device" in err
    assert stat.S_ISCHR(os.lstat(device).st_mode) and os.lstat(device).st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null.py", "pipe.py"]


def test_codegen_refuses_a_symlink_and_a_directory(tmp_path, stay_inside):
    victim = tmp_path / "victim.py"
    victim.write_text("precious")
    link = tmp_path / "link.py"
    link.symlink_to(victim)
    code, _, err = invoke(["codegen", "1-1", "--no-check", "-o", str(link)])
    assert code == 2 and "is a symbolic link, not a regular file" in err
    assert link.is_symlink() and victim.read_text() == "precious"
    code, _, err = invoke(["codegen", "1-1", "--no-check", "-o", str(tmp_path)])
    assert code == 2 and "is a directory" in err  # click's own check of -o, before ours
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir-link.py").symlink_to(tmp_path / "dir")
    code, _, err = invoke(["codegen", "1-1", "--no-check", "-o", str(tmp_path / "dir-link.py")])
    assert code == 2 and "is a directory" in err and (tmp_path / "dir-link.py").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "dir-link.py", "link.py", "victim.py"]


def test_codegen_keeps_the_permissions_of_the_file_it_replaces(tmp_path, stay_inside):
    target = tmp_path / "backprop.py"
    target.write_text("old")
    target.chmod(0o640)
    code, out, err = invoke(["codegen", "1-1", "--no-check", "-o", str(target)])
    assert code == 0, err
    assert target.read_text().startswith('"""') and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backprop.py"]


def test_codegen_names_a_name_too_long_in_one_line(tmp_path):
    code, _, err = invoke(["codegen", "1-1", "--no-check", "-o", str(tmp_path / ("n" * 300 + ".py"))])
    assert code == 2 and err.count("\n") == 1 and "File name too long" in err and "Traceback" not in err


# -- params files ----------------------------------------------------------------------------
def test_a_fifo_as_params_is_refused_at_once(tmp_path):
    fifo = tmp_path / "params.json"
    os.mkfifo(fifo)
    started = time.perf_counter()
    with time_limit(5), pytest.raises(ParamsError, match=r"params\.json': it is a FIFO, not a regular file"):
        load_params(fifo, NetworkSpec.parse("2-1"))
    assert time.perf_counter() - started < 1.0
    link = tmp_path / "link.json"
    link.symlink_to(fifo)  # followed, and what it points to refused
    with time_limit(5), pytest.raises(ParamsError, match="it is a FIFO"):
        load_params(link, NetworkSpec.parse("2-1"))


def test_a_fifo_as_params_on_the_command_line(tmp_path):
    fifo = tmp_path / "params.json"
    os.mkfifo(fifo)
    with time_limit(20):  # the model is built first; the refusal itself takes no time
        code, _, err = invoke(["example", "2-1", "--params", str(fifo), "-o", str(tmp_path / "out")])
    assert code == 2 and err == f"symbackprop: error: params file {str(fifo)!r}: it is a FIFO, not a regular file\n"


def test_devices_and_directories_as_params_are_refused(tmp_path):
    for path, kind in (("/dev/zero", "a character device"), (str(tmp_path), "a directory")):
        with time_limit(5), pytest.raises(ParamsError, match=f"it is {kind}, not a regular file"):
            load_params(path, NetworkSpec.parse("2-1"))


def test_a_symlink_to_a_params_file_is_read(tmp_path):
    real = tmp_path / "real.json"
    real.write_text(json.dumps(PARAMS_2_1))
    (tmp_path / "link.json").symlink_to(real)
    params = load_params(tmp_path / "link.json", NetworkSpec.parse("2-1"))
    assert params["x"].tolist() == [1.0, 2.0] and params["W"][0].tolist() == [[0.1], [0.2]]


def test_an_oversized_params_file_is_refused_unread(tmp_path):
    huge = tmp_path / "params.json"
    with open(huge, "wb") as stream:  # sparse: no disk used
        stream.truncate(MAX_PARAMS_BYTES + 1)
    with pytest.raises(ParamsError, match="larger than 16 MiB, the limit for params files"):
        load_params(huge, NetworkSpec.parse("2-1"))
    exact = tmp_path / "exact.json"
    exact.write_text(json.dumps(PARAMS_2_1).ljust(MAX_PARAMS_BYTES))  # at the limit: read
    assert load_params(exact, NetworkSpec.parse("2-1"))["y"].tolist() == [0.5]


@pytest.mark.parametrize("text, message", [
    ('{"x": [%s, 1], "y": [0], "W": [[[1], [2]]]}' % ("9" * 400), "an integer of 400 digits is too large for a float64"),
    ('{"x": [-%s, 1], "y": [0], "W": [[[1], [2]]]}' % ("1" * 5000), "an integer of 5000 digits is too large"),
    ("[" * 100_000, "brackets nested too deeply"),
    ('{"W": ' * 100_000, "brackets nested too deeply"),
], ids=["400 digits", "5000 digits", "100000 [", "100000 {"])
def test_hostile_json_is_one_line_and_exit_2(text, message, tmp_path):
    params = tmp_path / "params.json"
    params.write_text(text)
    code, _, err = invoke(["example", "2-1", "--params", str(params), "-o", str(tmp_path / "out")])
    assert code == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err


def test_a_large_integer_that_fits_a_float_is_a_number(tmp_path):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({**PARAMS_2_1, "x": [10**300, 1]}))
    assert load_params(params, NetworkSpec.parse("2-1"))["x"][0] == 1e300


# -- all or nothing ---------------------------------------------------------------------------
def test_a_failed_write_leaves_the_previous_run_untouched(tmp_path, monkeypatch, seed000):
    render.write_outputs(derive("1-1"), tmp_path, ["md", "tex", "json"])
    before = listing(tmp_path)

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(render, "render_json", full_disk)  # the last file of the run
    with pytest.raises(OSError, match="No space left"):
        render.write_outputs(seed000, tmp_path, ["md", "tex", "json"])
    assert listing(tmp_path) == before  # no SVG of 2-4-3-2, no new md referencing them, no temporaries


def test_a_latex_error_writes_none_of_the_run(tmp_path, monkeypatch):
    from symbackprop.handout.pdf import LatexError

    def latex_fails(tex, name):
        raise LatexError("LaTeX error in derivation.tex: Undefined control sequence.")

    monkeypatch.setattr(render, "compile_pdf", latex_fails)
    with pytest.raises(LatexError):
        render.write_outputs(derive("1-1"), tmp_path, ["md", "tex", "pdf", "json"])
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs inside tmp_path (root only), unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_writes_all_files_or_none(small_disk, seed000):
    first = derive("1-1")
    render.write_outputs(first, small_disk, ["md", "tex", "json"])  # some 30 KiB: fits
    before = listing(small_disk)
    assert {"derivation.md", "derivation.tex", "derivation.json", "network.svg"} <= set(before)
    with pytest.raises(OSError) as failure:
        render.write_outputs(seed000, small_disk, ["md", "tex", "json"])  # over 500 KiB: cannot
    assert failure.value.errno == errno.ENOSPC
    assert listing(small_disk) == before and temporaries(small_disk) == []


def test_a_full_disk_leaves_no_directory_the_run_made(small_disk):
    """The HTML page's KaTeX goes in katex/ and katex/fonts/: made for the run, and removed with
    its temporaries when the disk fills (a directory already there stays)."""
    (small_disk / "mine").mkdir()
    with pytest.raises(OSError) as failure:
        render.write_outputs(derive("1-1"), small_disk, ["html"])  # the fonts alone are some 300 KiB
    assert failure.value.errno == errno.ENOSPC
    assert sorted(p.name for p in small_disk.rglob("*")) == ["mine"]


def test_a_full_disk_on_the_command_line(small_disk):
    out = small_disk / "out"
    code, _, err = invoke(["derive", "2-4-3-2", "-o", str(out), "-q"])
    assert code == 2
    assert err == f"symbackprop: error: cannot write to {str(out)!r}: No space left on device\n"
    assert list(out.iterdir()) == []  # none of the files, and no temporary
