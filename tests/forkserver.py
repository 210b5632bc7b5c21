"""Run ``python -m symbackprop ARGS`` in a fresh child process without paying for the imports each time.

A fuzz run makes well over a hundred invocations, the robustness, underflow and README tests dozens
more, and a new interpreter spends about a second of each importing SymPy and NumPy before the
command reads its first argument (``run_symbackprop`` is their ``subprocess.run``). The fork server is
one interpreter that imports them once (and nothing else: no test has run in it) and then forks a
child per invocation. The child is a process of its own, as a new interpreter would be: its own
process group and session, its own memory limit, working directory, environment, standard input
(/dev/null) and output files; it runs ``symbackprop/__main__.py`` as ``python -m`` would, runs the
exit handlers, and its exit status is what the interpreter's would be (a signal: minus its
number). A child that outlives the timeout is killed with its whole process group (forked proofs,
pdflatex), and so is anything a finished child left running.

>>> server = ForkServer()
>>> server.run(["--version"], cwd=".", env=dict(os.environ), stdout="/dev/null", stderr="/dev/null", timeout=30)
(0, False)
>>> server.close()
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRELOAD = ("sympy", "numpy", "click", "jinja2", "symbackprop.cli", "symbackprop.api", "symbackprop.cli.derive",
           "symbackprop.cli.verify", "symbackprop.cli.numbers", "symbackprop.checking.verify",
           "symbackprop.numbers.example", "symbackprop.numbers.codegen", "symbackprop.numbers.crosscheck")


class ForkServer:
    """The parent side: start the server, send it one invocation at a time."""

    def __init__(self):
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1",
                   PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
        self.process = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        env=env, text=True, encoding="utf-8", start_new_session=True)

    def run(self, argv: list[str], cwd: str, env: dict[str, str], stdout: str, stderr: str, timeout: float,
            memory: int = 0) -> tuple[int, bool]:
        """Run ``python -m symbackprop *argv``; returns (exit status, whether it timed out and was killed)."""
        request = {"argv": argv, "cwd": str(cwd), "env": env, "stdout": str(stdout), "stderr": str(stderr),
                   "timeout": timeout, "memory": memory}
        self.process.stdin.write(json.dumps(request) + "\n")  # lone surrogates travel as \udcff escapes
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError("the fork server died")
        reply = json.loads(answer)
        return reply["code"], reply["timeout"]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=30)


_SHARED: list[ForkServer] = []  # this test process's server, started on first use


def run_symbackprop(*args: str, timeout: float, cwd=None, env: dict | None = None) -> subprocess.CompletedProcess:
    """What ``subprocess.run([python, "-m", "symbackprop", *args], capture_output=True, text=True)``
    returns, run in a fresh child of this test process's fork server; ``subprocess.TimeoutExpired``
    after ``timeout`` seconds, as subprocess.run raises it (the child's process group is killed)."""
    import atexit
    import tempfile

    if not _SHARED:
        _SHARED.append(ForkServer())
        atexit.register(_SHARED[0].close)
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory(prefix="symbackprop-run-") as streams:
        out, err = Path(streams, "stdout"), Path(streams, "stderr")
        code, timed_out = _SHARED[0].run(list(args), cwd=cwd or os.getcwd(), env=env, stdout=str(out), stderr=str(err),
                                         timeout=timeout)
        if timed_out:
            raise subprocess.TimeoutExpired(["symbackprop", *args], timeout)
        return subprocess.CompletedProcess(["symbackprop", *args], code, out.read_text(errors="replace"),
                                           err.read_text(errors="replace"))


# ------------------------------------------------------------------------------------------- server

def _child(request: dict) -> None:
    """In the forked child: become the invocation, run it, and never return."""
    import atexit
    import io
    import resource
    import runpy
    import tempfile
    import traceback

    code = 1
    try:
        os.setsid()
        if request["memory"]:
            resource.setrlimit(resource.RLIMIT_AS, (request["memory"], request["memory"]))
        stdin = os.open(os.devnull, os.O_RDONLY)
        stdout = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        stderr = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None  # TMPDIR is read again
        # the standard streams as a new interpreter makes them for files (and the server's were pipes)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=sys.__stdin__.encoding,
                                     errors=sys.__stdin__.errors)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding=sys.__stdout__.encoding,
                                      errors=sys.__stdout__.errors)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding=sys.__stderr__.encoding,
                                      errors="backslashreplace", line_buffering=True)
        sys.argv = ["symbackprop", *request["argv"]]
        try:
            runpy.run_module("symbackprop", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as stop:
            if stop.code is None:
                code = 0
            elif isinstance(stop.code, int):
                code = stop.code
            else:
                print(stop.code, file=sys.stderr)
                code = 1
        except BaseException:  # what the interpreter does with an uncaught exception
            traceback.print_exc()
            code = 1
        atexit._run_exitfuncs()
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            print("Exception ignored on flushing sys.stdout", file=sys.stderr)
            code = 120
        sys.stderr.flush()
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
    finally:
        os._exit(code & 0xFF)


def _wait(pid: int, timeout: float) -> tuple[int, bool]:
    """Wait for the child; kill its process group at the timeout. (exit status, timed out)."""
    import select

    timed_out = False
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout)
        if not ready:
            timed_out = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(pidfd)
    try:
        os.killpg(pid, signal.SIGKILL)  # anything the command left running
    except (ProcessLookupError, PermissionError):
        pass
    return (-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)), timed_out


def serve() -> None:
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        code, timed_out = _wait(pid, request["timeout"])
        sys.stdout.write(json.dumps({"code": code, "timeout": timed_out}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    serve()
