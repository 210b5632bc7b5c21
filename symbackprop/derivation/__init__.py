"""Stage 2: the chain rule as data: paths, factors, deltas, gradients, and the matrix form."""
