"""``python -m symbackprop.cli``: the same as the ``symbackprop`` console script."""

from . import run

run()
