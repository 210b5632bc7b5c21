"""NumPy, imported on first use: a command that needs none does not pay for it.

``verify`` proves a right formula on a small network exactly, with SymPy alone; importing NumPy
(and SymEngine, which imports it) would cost more than that whole proof. The modules on that
path write ``from ..algebra.lazy import numpy as np`` and use ``np`` as usual: the first
attribute read imports NumPy, and each attribute, once read, is kept on the stand-in, so that
later reads cost what a module's do.

The standard library's ``importlib.util.LazyLoader`` does not serve here: on Python 3.11 the
``import`` statement itself reads the module's ``__spec__``, and that read loads the module.

>>> from symbackprop.algebra.lazy import numpy as np
>>> int(np.arange(4).sum())
6
"""

from __future__ import annotations

import importlib
import sys


class LazyModule:
    """A stand-in for the module ``name``, imported when an attribute is first read.

    >>> json = LazyModule("json")
    >>> json.dumps([1])
    '[1]'
    """

    def __init__(self, name: str):
        self.__name = name

    def __getattr__(self, attribute: str):  # only for attributes not read before
        value = getattr(importlib.import_module(self.__name), attribute)
        setattr(self, attribute, value)
        return value

    def import_now(self) -> None:
        """Import the module now (before forking children that need it too, say).

        >>> LazyModule("json").import_now()
        """
        importlib.import_module(self.__name)

    @property
    def loaded(self) -> bool:
        """Whether the module has been imported (by this stand-in or by anyone)."""
        return self.__name in sys.modules

    def __repr__(self) -> str:
        return f"<lazy module {self.__name!r}{'' if self.loaded else ' (not imported yet)'}>"


numpy = LazyModule("numpy")
