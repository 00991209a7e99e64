"""Forward-mode rules written by hand, for operations whose tangent the reverse rule does not
give (tangent.py derives the others): each takes the builder, the statement, the tangents of
its varying operands by position and the output list, and returns the result's tangent."""

from __future__ import annotations

from collections.abc import Callable

from .ir import Assign, Operand, Var


def _matmul(t, out, stmt, x: Operand, y: Operand) -> Operand:
    two_d = t.kinds.of(x).ndim <= 2 and t.kinds.of(y).ndim <= 2
    return t.emit(out, "matmul" if two_d else "batched_matmul", (x, y), {}, stmt.loc)


def _inv(t, stmt: Assign, dots: dict, out: list) -> Operand:
    # d(A^-1) = -A^-1 dA A^-1
    inverse = Var(stmt.target)
    inner = _matmul(t, out, stmt, _matmul(t, out, stmt, inverse, dots[0]), inverse)
    return t.emit(out, "neg", (inner,), {}, stmt.loc)


def _solve(t, stmt: Assign, dots: dict, out: list) -> Operand | None:
    # x = A^-1 b: dx = A^-1 (db - dA x)
    a, rhs = stmt.args
    x = Var(stmt.target)
    ka, kb = t.kinds.of(a), t.kinds.of(rhs)
    if ka.ndim != 2 and kb.ndim != ka.ndim:
        return None  # (stacked matrices with vector right-hand sides: refused)
    change = dots.get(1)
    if 0 in dots:
        moved = _matmul(t, out, stmt, dots[0], x)
        change = (
            t.emit(out, "neg", (moved,), {}, stmt.loc)
            if change is None
            else t.emit(out, "sub", (change, moved), {}, stmt.loc)
        )
    return t.emit(out, "solve", (a, change), {}, stmt.loc)


def _log_softmax(t, stmt: Assign, dots: dict, out: list) -> Operand:
    # d log_softmax(x) = dx - sum(softmax(x) * dx) along the axes
    weights = t.emit(out, "exp", (Var(stmt.target),), {}, stmt.loc)
    product = t.emit(out, "mul", (weights, dots[0]), {}, stmt.loc)
    attrs = {"axis": stmt.attr("axis"), "keepdims": True}
    total = t.emit(out, "sum", (product,), attrs, stmt.loc)
    return t.emit(out, "sub", (dots[0], total), {}, stmt.loc)


def _along_axis(t, stmt: Assign, out: list, operands: list[Operand]) -> tuple[list, int]:
    """The operands flattened when the scan runs over the flattened array (axis None)."""
    axis = stmt.attr("axis")
    if axis is not None:
        return operands, axis
    return [t.emit(out, "ravel", (o,), {}, stmt.loc) for o in operands], 0


def _cumprod(t, stmt: Assign, dots: dict, out: list) -> Operand | None:
    if t.kinds.of(stmt.args[0]).ndim == 0:
        return None
    (v, x), axis = _along_axis(t, stmt, out, [dots[0], stmt.args[0]])
    args = (v, x, Var(stmt.target))
    return t.emit(out, "cumprod_tangent", args, {"axis": axis}, stmt.loc)


def _sort(t, stmt: Assign, dots: dict, out: list) -> Operand | None:
    if t.kinds.of(stmt.args[0]).ndim == 0:
        return None
    (v, x), axis = _along_axis(t, stmt, out, [dots[0], stmt.args[0]])
    return t.emit(out, "sort_tangent", (v, x), {"axis": axis}, stmt.loc)


def _arange(t, stmt: Assign, dots: dict, out: list) -> Operand | None:
    # np.arange(start, stop, step)[i] = start + i * step (stop only sets the length)
    n = len(stmt.args)
    result = Var(stmt.target)
    terms = []
    if n >= 2 and 0 in dots:
        ones = t.emit(out, "ones_like", (result,), {}, stmt.loc)
        terms.append(t.emit(out, "mul", (ones, dots[0]), {}, stmt.loc))
    if n == 3 and 2 in dots:
        positions = t.emit(
            out, "arange", (t.emit(out, "len", (result,), {}, stmt.loc),), {}, stmt.loc
        )
        terms.append(t.emit(out, "mul", (positions, dots[2]), {}, stmt.loc))
    total = t.add(out, terms, stmt.loc)
    return total if total is not None else t.zero(out, result, stmt.loc)


FORWARD_RULES: dict[str, Callable] = {
    "arange": _arange,
    "cumprod": _cumprod,
    "sort": _sort,
    "inv": _inv,
    "solve": _solve,
    "log_softmax": _log_softmax,
}
# Symmetric Jacobians (softmax: diag(s) - s s^T): the reverse rule applied to the tangent.
SYMMETRIC = {"softmax"}
