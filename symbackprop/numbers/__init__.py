"""Stage 5: a ``Derivation`` as numbers and code: worked examples, NumPy code, cross-checks."""
