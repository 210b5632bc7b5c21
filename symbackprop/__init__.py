"""symbackprop: derive backpropagation by computer algebra, for any fully-connected network.

>>> from symbackprop import derive
>>> d = derive("2-3-1")
>>> d.gradient("w_21").chain_rule
out_b_1*out_c_1*(1 - out_c_1)*(out_c_1 - target_c_1)
"""

from .version import __version__

__all__ = ["derive", "Derivation", "__version__"]


def __getattr__(name):
    # Import the pipeline lazily: `symbackprop --help` must not pay for importing SymPy.
    if name in ("derive", "Derivation"):
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
