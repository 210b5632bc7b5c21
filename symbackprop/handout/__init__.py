"""Stage 4: a ``Derivation`` as documents: Markdown, LaTeX, PDF, JSON, drawings, exercise sheets."""
