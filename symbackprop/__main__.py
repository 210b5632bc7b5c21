"""``python -m symbackprop``: the same as the ``symbackprop`` console script."""

from .cli import run

run()
