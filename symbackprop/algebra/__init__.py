"""Mathematics that knows nothing of networks: presentation nodes, the exact zero test, numeric
evaluation, the safe formula grammar and time limits. Every stage may use it; it uses none."""
