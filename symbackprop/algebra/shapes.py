"""Vectors and matrices in typed formulas: shape-checked operations and a layer's names as one vector.

The grammar builds a formula such as ``(W^{[3]})^T \\delta^{[3]} \\odot \\sigma'(z^{[2]})`` from
``sympy.ImmutableMatrix`` values; every operation here checks the shapes first and raises
``ShapeMismatch`` with one sentence in the user's terms ("cannot add a 3×1 column vector and a
1×2 row vector"), which the grammar turns into a ``FormulaError`` at the operator's position.
A 1×1 matrix counts as a number. Where matrix algebra has no meaning but NumPy and Ng's notes
write one, the operation is entry by entry: a number ± a vector or matrix (``broadcasts``), the
product of two vectors of one shape (``elementwise_product``); the grammar reports each reading.

>>> a = sympy.ImmutableMatrix([[1], [2]])
>>> multiply(a.T, a), hadamard(a, a).T
(5, Matrix([[1, 4]]))
"""

from __future__ import annotations

import re
from typing import Mapping, Optional, Union

import sympy

Value = Union[sympy.Expr, sympy.ImmutableMatrix]
MAX_ENTRIES = 100_000  # entries of one vector or matrix a formula may build


class ShapeMismatch(ValueError):
    """Two operands whose shapes do not fit the operation; the message is one sentence."""


def is_matrix(value) -> bool:
    return isinstance(value, sympy.MatrixBase)


def describe(value: Value) -> str:
    """"a number", "a 3×1 column vector", "a 1×2 row vector" or "a 3×2 matrix"."""
    if not is_matrix(value):
        return "a number"
    rows, cols = value.shape
    kind = "column vector" if cols == 1 else "row vector" if rows == 1 else "matrix"
    return f"a {rows}×{cols} {kind}"


def simplest(value: Value) -> Value:
    """A 1×1 matrix as its entry; anything else unchanged."""
    return value[0, 0] if is_matrix(value) and value.shape == (1, 1) else value


def _check_size(value: Value) -> Value:
    if is_matrix(value) and value.rows * value.cols > MAX_ENTRIES:
        raise ShapeMismatch(f"the result has {value.rows * value.cols} entries (at most {MAX_ENTRIES})")
    return value


# What the elementwise readings below are called where a verdict says it made them.
BROADCAST = "a number added to or subtracted from a vector or matrix, entry by entry"
SAME_SHAPE_PRODUCT = "a product of two vectors of one shape, entry by entry"
SAME_SHAPE_MATRIX_PRODUCT = "a product of two matrices of one shape that is not square (a batch's), entry by entry"
VECTOR_POWER = "a power of a vector, entry by entry"
BATCH_POWER = "a power of a matrix that is not square (a batch's), entry by entry"
VECTOR_QUOTIENT = "a quotient by a vector, entry by entry"


def broadcasts(left: Value, right: Value) -> bool:
    """Whether ``add`` reads left ± right as NumPy does, the number with every entry (1 - a^{[1]})."""
    return is_matrix(simplest(left)) != is_matrix(simplest(right))


def add(left: Value, right: Value, sign: int = 1) -> Value:
    """left + sign·right, both numbers or both of one shape; a number and a vector or matrix entry
    by entry (NumPy's broadcasting, and Ng's 1 - a^{[1]}: ``broadcasts``).

    >>> a = sympy.ImmutableMatrix([[1], [2]])
    >>> add(1, a, -1).T
    Matrix([[0, -1]])
    """
    left, right = simplest(left), simplest(right)
    if broadcasts(left, right):
        if is_matrix(left):
            return sympy.ImmutableMatrix(left.applyfunc(lambda entry: entry + sign * right))
        return sympy.ImmutableMatrix(right.applyfunc(lambda entry: left + sign * entry))
    if is_matrix(left) and left.shape != right.shape:
        verb = "add" if sign > 0 else "subtract"
        raise ShapeMismatch(f"cannot {verb} {describe(left)} and {describe(right)}")
    if is_matrix(left):
        return sympy.ImmutableMatrix(left + right if sign > 0 else left - right)
    return left + right if sign > 0 else left - right


def elementwise_product(left: Value, right: Value) -> bool:
    """Whether ``multiply`` reads left·right entry by entry: two vectors of one shape (two columns
    of n > 1 entries), whose matrix product does not exist; Ng writes a^{[1]}(1 - a^{[1]}) and
    NumPy's ``*`` so. Square matrices keep their matrix product, and no other shapes are read so
    (a batch's A^{[1]}(1 - A^{[1]}): ``same_shape_matrices``, where the caller asks for it)."""
    left, right = simplest(left), simplest(right)
    return (is_matrix(left) and is_matrix(right) and left.shape == right.shape and left.cols != right.rows
            and 1 in left.shape)


def same_shape_matrices(left: Value, right: Value) -> bool:
    """Two matrices of one shape that is not square (a mini-batch's n × m A^{[1]} and 1 - A^{[1]}),
    whose matrix product does not exist."""
    left, right = simplest(left), simplest(right)
    return is_matrix(left) and is_matrix(right) and left.shape == right.shape and left.cols != right.rows


def multiply(left: Value, right: Value) -> Value:
    """The product: a matrix product when both are matrices (columns of the left = rows of the right);
    two vectors of one shape entry by entry (``elementwise_product``).

    >>> a = sympy.ImmutableMatrix([[1], [2]])
    >>> multiply(a, a).T
    Matrix([[1, 4]])
    """
    left, right = simplest(left), simplest(right)
    if elementwise_product(left, right):
        return sympy.ImmutableMatrix(left.multiply_elementwise(right))
    if is_matrix(left) and is_matrix(right):
        if left.cols != right.rows:
            hint = ""
            if left.shape == right.shape or left.shape == right.T.shape:
                hint = r" (an elementwise product is written \odot; a transpose ^T)"
            raise ShapeMismatch(f"cannot multiply {describe(left)} by {describe(right)}: "
                                f"{left.cols} columns against {right.rows} rows{hint}")
        if left.rows * right.cols > MAX_ENTRIES:
            raise ShapeMismatch(f"the product has {left.rows * right.cols} entries (at most {MAX_ENTRIES})")
        rows, cols, inner = left.rows, right.cols, left.cols
        product = [[sympy.Add(*(left[i, k] * right[k, j] for k in range(inner))) for j in range(cols)]
                   for i in range(rows)]  # as SymPy's own product, without its overhead on large symbolic matrices
        return simplest(sympy.ImmutableMatrix(product))
    if is_matrix(left) or is_matrix(right):
        return sympy.ImmutableMatrix(left * right)
    return left * right


def hadamard(left: Value, right: Value) -> Value:
    """The elementwise (Hadamard) product ⊙; with a number on one side, the ordinary product."""
    left, right = simplest(left), simplest(right)
    if is_matrix(left) and is_matrix(right):
        if left.shape != right.shape:
            raise ShapeMismatch(f"cannot multiply {describe(left)} and {describe(right)} elementwise: "
                                "the shapes differ")
        return sympy.ImmutableMatrix(left.multiply_elementwise(right))
    return multiply(left, right)


def elementwise_quotient(left: Value, right: Value) -> bool:
    """Whether ``divide`` reads left / right entry by entry, as NumPy and Ng's notes do (-y / a^{[2]}):
    a number or a vector by a vector, of one shape; matrix algebra has no such quotient."""
    left, right = simplest(left), simplest(right)
    return is_matrix(right) and 1 in right.shape and (not is_matrix(left) or left.shape == right.shape)


def divide(left: Value, right: Value) -> Value:
    """left / right; by a vector entry by entry (``elementwise_quotient``), by a matrix not at all.

    >>> a = sympy.ImmutableMatrix([[1], [2]])
    >>> divide(1, a).T, divide(a, 2).T
    (Matrix([[1, 1/2]]), Matrix([[1/2, 1]]))
    """
    left, right = simplest(left), simplest(right)
    if elementwise_quotient(left, right):
        if is_matrix(left):
            return sympy.ImmutableMatrix(left.shape[0], left.shape[1], [a / b for a, b in zip(left, right)])
        return sympy.ImmutableMatrix(right.applyfunc(lambda entry: left / entry))
    if is_matrix(right):
        raise ShapeMismatch(f"cannot divide {describe(left)} by {describe(right)}" if is_matrix(left)
                            else f"cannot divide by {describe(right)}")
    return sympy.ImmutableMatrix(left / right) if is_matrix(left) else left / right


def transpose(value: Value) -> Value:
    return sympy.ImmutableMatrix(value.T) if is_matrix(value) else value


def elementwise(function, value: Value) -> Value:
    """``function`` applied to every entry (σ(z^{[2]})), or to the number."""
    if is_matrix(value):
        return sympy.ImmutableMatrix(value.applyfunc(function))
    return function(value)


# -- a layer's names as one vector or matrix --------------------------------------------------------
_TRAILING = re.compile(r"^(?P<prefix>.+?)(?P<indices>(?:_[0-9]+){1,2})$")


def index_names(names: Mapping[str, sympy.Symbol]) -> dict[str, dict[tuple[int, ...], sympy.Symbol]]:
    """For every prefix of a name key with one or two numbers at its end (``delta^[2]_1``,
    ``W^[2]_1_2``), its entries by index: ``{"delta^[2]": {(1,): δ^{[2]}_1, ...}, ...}``."""
    found: dict[str, dict[tuple[int, ...], sympy.Symbol]] = {}
    for key, symbol in names.items():
        match = _TRAILING.match(key)
        if match is None:
            continue
        numbers = tuple(int(n) for n in match.group("indices").split("_")[1:])
        found.setdefault(match.group("prefix"), {}).setdefault(numbers, symbol)
        if len(numbers) == 2:  # W^[2]_1_2 is also entry 2 of the prefix W^[2]_1
            found.setdefault(f"{match.group('prefix')}_{numbers[0]}", {}).setdefault(numbers[1:], symbol)
    return found


def layer_value(prefix: str, index: Mapping[str, Mapping[tuple[int, ...], sympy.Symbol]],
                columns: bool) -> Optional[sympy.ImmutableMatrix]:
    """The vector (entries 1..n, all present: a column n×1 when ``columns``, else a row 1×n) or
    the matrix (every entry (1..r, 1..c)) that the names ``prefix_j`` or ``prefix_i_j`` form; None
    when they form neither.

    >>> x1, x2 = sympy.symbols("x1 x2")
    >>> layer_value("x", index_names({"x_1": x1, "x_2": x2}), columns=True).shape
    (2, 1)
    """
    entries = index.get(prefix)
    if not entries:
        return None
    singles = {k[0]: s for k, s in entries.items() if len(k) == 1}
    pairs = {k: s for k, s in entries.items() if len(k) == 2}
    if singles and not pairs and set(singles) == set(range(1, len(singles) + 1)):
        column = [singles[j] for j in range(1, len(singles) + 1)]
        return sympy.ImmutableMatrix(column) if columns else sympy.ImmutableMatrix([column])
    if pairs and not singles:
        rows, cols = max(i for i, _ in pairs), max(j for _, j in pairs)
        if len(pairs) == rows * cols and all((i, j) in pairs for i in range(1, rows + 1) for j in range(1, cols + 1)):
            return sympy.ImmutableMatrix(rows, cols, lambda i, j: pairs[i + 1, j + 1])
    return None


__all__ = ["ShapeMismatch", "Value", "is_matrix", "describe", "simplest", "add", "multiply", "hadamard", "divide",
           "transpose", "elementwise", "index_names", "layer_value"]
