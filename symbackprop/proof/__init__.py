"""Stage 3: every printed form proven equal to ``sympy.diff`` of the expanded E_total."""
