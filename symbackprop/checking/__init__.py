"""Stage 6: what people write, judged: a hand-derived gradient or a chain of steps."""
