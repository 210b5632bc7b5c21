"""Stage 1: what the user asked for (``NetworkSpec``) and the network as SymPy symbols (``Model``)."""
