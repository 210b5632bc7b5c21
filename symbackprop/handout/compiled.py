"""Compiled templates kept beside the templates, as Python keeps a module's bytecode: ``TemplateCache``.

Jinja2 turns a template into Python code before rendering it, and for the derivation's templates
(25 KB each) that costs about a tenth of a second apiece, in every run. Like ``__pycache__``,
``templates/__pycache__/`` keeps the compiled code: Jinja2 stores it with the template source's
checksum and its own version and recompiles whenever either changed, so an edited template is never
served stale. It is written where the templates are (the installed package, or a checkout), never
anywhere else, and not at all when Python writes no bytecode (``PYTHONDONTWRITEBYTECODE``,
``python -B``) or the directory is read-only: then every run compiles, as before. A cache file
that cannot be read is compiled afresh. The cache is trusted as the templates are (Jinja2 reads
it with pickle and marshal): whoever can write there can change the templates themselves.

>>> import tempfile, jinja2, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "hello.j2").write_text("Hello {{ name }}")
>>> env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), bytecode_cache=TemplateCache(folder, "md"))
>>> env.get_template("hello.j2").render(name="net")
'Hello net'
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import jinja2
from jinja2.bccache import Bucket


class TemplateCache(jinja2.FileSystemBytecodeCache):
    """Jinja2's file cache in ``templates/__pycache__``, one file per template and environment
    ``kind`` (the LaTeX environment compiles the same syntax with other delimiters)."""

    def __init__(self, templates: Path, kind: str):
        super().__init__(str(Path(templates) / "__pycache__"), f"%s.{kind}.jinja")
        self.templates = Path(templates)

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # truncated or foreign: compile afresh (Jinja2 checks version and checksum itself)
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        if sys.dont_write_bytecode:
            return
        try:
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)  # a temporary file, then os.replace: readers see all or nothing
            # readable by whoever may read the templates (the temporary file was private)
            os.chmod(self._get_cache_filename(bucket), self.templates.stat().st_mode & 0o666)
        except OSError:  # read-only or full: this run compiled it, the next will too
            pass
