"""The ``symbackprop`` command line: the Click group, its entry point ``main`` and the console script ``run``.

One module per command (derive, verify, gallery; example, codegen and check in ``numbers``), the
shared options in ``options``. No mathematics here, and no heavy imports at module level:
``symbackprop --help`` stays fast. Every usage problem is one line on stderr and exit status 2; a
failed proof is exit status 1; a reader that closes the pipe early (``| head``) ends the run
silently with 141, as SIGPIPE would.
"""

from __future__ import annotations

import gc
import os
import re
import sys
from contextlib import contextmanager

import click

from .derive import derive
from .gallery import gallery
from .lint import lint
from .numbers import check, codegen, example
from .options import EXIT_USAGE
from .verify import verify


EXIT_READER_GONE = 128 + 13  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away (`| head`)


class _ReaderGone(Exception):
    """Standard output is a pipe whose reader has closed it: carried past Click's own handling of
    EPIPE, which ends with exit status 1 (for symbackprop, "a form disagrees")."""


class _Group(click.Group):
    """The group, turning a ``BrokenPipeError`` anywhere in parsing (--help, --version) or in a
    command into ``_ReaderGone``."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:
            raise _ReaderGone() from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise _ReaderGone() from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="symbackprop", prog_name="symbackprop")
def cli() -> None:
    """symbackprop derives backpropagation by computer algebra, for any fully-connected
    network, proves every formula against sympy.diff, and writes the derivation as Markdown,
    LaTeX and JSON.

    \b
    Example:
      symbackprop derive 2-4-3-2
    """


for _command in (derive, verify, lint, example, codegen, check, gallery):
    cli.add_command(_command)


MEMORY_VARIABLE = "SYMBACKPROP_MEMORY_LIMIT"  # e.g. 800M, 4G; 0 for no limit of our own
MEMORY_SHARE = 0.8  # by default a run may use this share of the machine's memory, then stops with a message


def memory_limit() -> int | None:
    """Bytes of memory a run may take (``SYMBACKPROP_MEMORY_LIMIT``, default 80% of the
    machine's memory), or None for no limit of ours; a bad value is a usage error.

    >>> os.environ[MEMORY_VARIABLE] = "1.5G"; memory_limit() == 3 * 2**29
    True
    >>> del os.environ[MEMORY_VARIABLE]
    """
    text = os.environ.get(MEMORY_VARIABLE, "").strip()
    if not text:
        try:
            return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * MEMORY_SHARE)
        except (ValueError, OSError, AttributeError):
            return None
    found = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMG]?)i?B?", text, re.IGNORECASE)
    if not found:
        raise click.UsageError(f"{MEMORY_VARIABLE}={text!r}: give a size such as 800M or 4G, or 0 for no limit")
    size = float(found.group(1)) * 1024 ** " KMG".index(found.group(2).upper() or " ")
    return int(size) if size > 0 else None


@contextmanager
def _bounded_memory(limit: int | None):
    """In the block, the process's data (heap and private writable mappings: RLIMIT_DATA, which
    leaves address space merely reserved alone) at most ``limit`` bytes; a lower limit set from
    outside stays, and the previous one is back afterwards (``main`` may run inside a test)."""
    try:
        import resource
    except ImportError:  # not POSIX: no limit of ours
        yield
        return
    previous = resource.getrlimit(resource.RLIMIT_DATA)
    soft, hard = previous
    changed = False
    if limit is not None and (soft == resource.RLIM_INFINITY or soft > limit):
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
            changed = True
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        if changed:
            resource.setrlimit(resource.RLIMIT_DATA, previous)


def main(argv=None) -> None:
    """Entry point: run the CLI, turning every usage error into one line on stderr and exit 2, and
    a run that needs more memory than it may take (``memory_limit``) into one line and exit 2."""
    # SymPy makes millions of small objects and almost no reference cycles: collecting the young
    # generation less often saves a tenth of a derivation's time (memory is bounded by the
    # objects we keep, not by garbage).
    gc.set_threshold(100_000, 50, 100)
    limit = None
    try:
        limit = memory_limit()
        with _bounded_memory(limit):
            status = cli.main(args=argv, prog_name="symbackprop", standalone_mode=False)
        sys.stdout.flush()  # inside the try: what is still buffered may meet a closed pipe too
    except (_ReaderGone, BrokenPipeError):
        # Python's "Note on SIGPIPE": point stdout at /dev/null so that the interpreter's last
        # flush is silent, and end quietly, with the status a SIGPIPE would have given.
        _discard(sys.stdout)
        sys.exit(EXIT_READER_GONE)
    except click.UsageError as error:
        hint = f" (see 'symbackprop {error.ctx.info_name} --help')" if error.ctx and error.ctx.parent else ""
        message = error.format_message()
        if isinstance(error, click.NoSuchOption) and re.fullmatch(r"-[\d.]+(-.*)?", error.option_name or ""):
            from ..network.spec import SPEC_FORM

            message = f"invalid network spec starting {error.option_name!r}: {SPEC_FORM}"  # "-2-3" looks like an option
        _say(f"symbackprop: error: {message}{hint}")
        sys.exit(EXIT_USAGE)
    except click.Abort:
        _say("symbackprop: interrupted")
        sys.exit(130)
    except MemoryError:
        shown = f"{limit / 2**30:.1f} GiB" if limit else "what the system gives"
        _say(f"symbackprop: error: out of memory: this run needs more than {shown} "
             f"(give a smaller network or input, or set {MEMORY_VARIABLE}, e.g. 16G)")
        sys.exit(EXIT_USAGE)
    except OSError as error:
        # What a command cannot write it names itself; what is left is standard output or error that
        # cannot be written (a full disk, /dev/full). A closed pipe (`| head`) is ended quietly above.
        where = "the output" if error.filename is None else repr(error.filename)
        _say(f"symbackprop: error: cannot write {where}: {error.strerror or error}")
        try:
            sys.stdout.flush()
        except OSError:  # what is still buffered cannot be written either
            _discard(sys.stdout)
        sys.exit(EXIT_USAGE)
    # without standalone mode Click returns the exit status of click.exceptions.Exit instead of exiting
    sys.exit(status if isinstance(status, int) else 0)


_TENSOR_MODULE = "sympy.tensor.tensor"


def defer_tensor_module() -> None:
    """Put off importing ``sympy.tensor.tensor`` (and with it ``sympy.combinatorics``) until
    something uses a tensor: a placeholder stands in ``sys.modules`` until then.

    SymPy's ``Add.flatten`` imports ``TensExpr`` and ``TensAdd`` from that module on its first
    call, only to ask whether a term is a tensor: 17 modules, a twentieth of a small derivation's
    run. While the real module has not been loaded no tensor can exist, so the placeholder
    answers those two names with classes nothing is an instance of; any other name, or those
    two once the real module is loaded, loads it (``Add.flatten`` imports on every call, so it
    then sees the real classes). Only the console script does this: a program that imports
    symbackprop keeps SymPy as it is.
    """
    if _TENSOR_MODULE in sys.modules:
        return
    import importlib
    import types

    placeholder = types.ModuleType(_TENSOR_MODULE, "stands in for sympy.tensor.tensor until a tensor is used")
    stand_ins = {name: type(name, (), {"__module__": _TENSOR_MODULE}) for name in ("TensExpr", "TensAdd")}

    def __getattr__(name: str):
        if name.startswith("__"):  # the import system asking for __path__ and the like
            raise AttributeError(name)
        if sys.modules.get(_TENSOR_MODULE) is placeholder:
            if name in stand_ins:
                return stand_ins[name]
            del sys.modules[_TENSOR_MODULE]
        return getattr(importlib.import_module(_TENSOR_MODULE), name)

    placeholder.__getattr__ = __getattr__
    sys.modules[_TENSOR_MODULE] = placeholder


def run() -> None:
    """The console script and ``python -m symbackprop.cli``: ``main``, then the process ends at once.

    SymPy's caches and a derivation's expressions are a million small objects, and an interpreter
    that frees them one by one on its way out keeps the user waiting 0.2-0.3 s for nothing. Every
    file is written and closed and every forked child collected before ``main`` returns, so after
    flushing the two streams ``os._exit`` skips only that teardown. ``main`` itself raises
    SystemExit as usual: a test (or a program) that calls it goes on running.
    """
    defer_tensor_module()
    try:
        main()
    except SystemExit as done:
        status = done.code
    else:
        status = 0
    if status is not None and not isinstance(status, int):  # sys.exit("message"), as Python would print it
        _say(str(status))
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or file: what is left cannot be written anyway
            pass
    os._exit(status or 0)


def _say(line: str) -> None:
    """One line on stderr, if stderr can be written at all (the exit status tells the rest)."""
    try:
        click.echo(line, err=True)
    except OSError:
        _discard(sys.stderr)


def _discard(stream) -> None:
    """Point ``stream``'s descriptor at /dev/null, so that the interpreter's last flush cannot fail again."""
    try:
        stream.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture): nothing to flush there
        pass


if __name__ == "__main__":
    run()
