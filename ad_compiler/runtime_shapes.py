"""Numba implementations of the runtime's shape helpers (``rt.squeeze``, ``rt.flip``, ...), used
by generated code in loops for NumPy functions whose keywords numba lacks (rules/shapes.py).

Generated code passes axes as literal constants, so each typer knows the number of dimensions
and the axes at compile time and writes the implementation's source for them: `x[::-1, :]` for
a flip of axis 0 of a matrix, a reshape to `(x.shape[0], 1, x.shape[1])` for a new axis 1.
"""

import numpy as np
from numba import types
from numba.core import errors
from numba.extending import register_jitable
from numba.np.unsafe.ndarray import to_fixed_tuple

from ad_compiler import runtime as rt
from ad_compiler.runtime_numba import _implements


def literal_axes(axis, ndim: int, what: str) -> tuple[int, ...]:
    """A literal int, or literal tuple of ints, as a tuple of non-negative axes (checked)."""
    items = axis.types if isinstance(axis, types.BaseTuple) else (axis,)
    if not all(isinstance(t, types.IntegerLiteral) for t in items):
        raise errors.TypingError(f"{what}: the axis must be a literal int or tuple of ints")
    axes = []
    for t in items:
        a = t.literal_value
        if not -ndim <= a < ndim:
            raise errors.TypingError(f"{what}: axis {a} is out of bounds for {ndim} dimensions")
        axes.append(a % ndim)
    if len(set(axes)) < len(axes):
        raise errors.TypingError(f"{what}: repeated axis")
    return tuple(axes)


def compiled(source: str, **names):
    """The function `impl` defined by `source` (NumPy is `np` there)."""
    scope = {"np": np, **names}
    exec(source, scope)  # noqa: S102  (source written above from literal axes, not user text)
    return scope["impl"]


def _shape_text(parts: list[str]) -> str:
    return "(" + "".join(f"{p}, " for p in parts) + ")"


@_implements(rt.squeeze, prefer_literal=True)
def _squeeze_ov(x, axis):
    if not isinstance(x, types.Array):
        return None
    axes = literal_axes(axis, x.ndim, "np.squeeze")
    kept = [f"x.shape[{d}]" for d in range(x.ndim) if d not in axes]
    test = " or ".join(f"x.shape[{d}] != 1" for d in axes) or "False"
    result = (
        "np.ascontiguousarray(x).ravel()[0]"
        if not kept
        else f"np.ascontiguousarray(x).reshape({_shape_text(kept)})"
    )
    return compiled(
        "def impl(x, axis):\n"
        f"    if {test}:\n"
        "        raise ValueError('cannot select an axis to squeeze out which has size not "
        "equal to one')\n"
        f"    return {result}\n"
    )


@_implements(rt.expand_axes, prefer_literal=True)
def _expand_axes_ov(x, axis):
    if not isinstance(x, types.Array):
        return None
    count = len(axis.types) if isinstance(axis, types.BaseTuple) else 1
    axes = literal_axes(axis, x.ndim + count, "np.expand_dims")
    parts, d = [], 0
    for k in range(x.ndim + count):
        if k in axes:
            parts.append("1")
        else:
            parts.append(f"x.shape[{d}]")
            d += 1
    return compiled(
        f"def impl(x, axis):\n    return np.ascontiguousarray(x).reshape({_shape_text(parts)})\n"
    )


@_implements(rt.flip, prefer_literal=True)
def _flip_ov(x, axis):
    if not isinstance(x, types.Array):
        return None
    axes = literal_axes(axis, x.ndim, "np.flip")
    index = ", ".join("::-1" if d in axes else ":" for d in range(x.ndim))
    return compiled(f"def impl(x, axis):\n    return x[{index}]\n")


@_implements(rt.roll, prefer_literal=True)
def _roll_ov(x, shift, axis):
    if not isinstance(x, types.Array):
        return None
    axes = literal_axes(axis, x.ndim, "np.roll")
    many = isinstance(shift, types.BaseTuple)
    if many != isinstance(axis, types.BaseTuple) or many and len(shift.types) != len(axes):
        raise errors.TypingError("np.roll: give one shift per axis")
    lines = ["def impl(x, shift, axis):", "    out = x.copy()"]
    for j, k in enumerate(axes):
        before = ":, " * k
        lines += [
            f"    n = out.shape[{k}]",
            "    if n > 0:",
            f"        s = shift[{j}] % n" if many else "        s = shift % n",
            "        moved = np.empty_like(out)",
            f"        moved[{before}s:] = out[{before}:n - s]",
            f"        moved[{before}:s] = out[{before}n - s:]",
            "        out = moved",
        ]
    lines.append("    return out")
    return compiled("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------
# Repeats and tiles (rules/shapes_more.py): every entry of the result, in C order, is a copy of
# the entry `source[i]` of x; the adjoint adds g's entries back along the same map.


@register_jitable
def _odometer(coord, shape):
    for d in range(len(shape) - 1, -1, -1):
        coord[d] += 1
        if coord[d] < shape[d]:
            return
        coord[d] = 0


@register_jitable
def _tile_sources(x_shape, reps):
    """For np.tile of an array of x_shape (padded to len(reps)): the result's shape and the
    flat index in x of each of its entries."""
    d = len(reps)
    out_shape = np.empty(d, np.int64)
    for a in range(d):
        out_shape[a] = x_shape[a] * reps[a]
    size = 1
    for a in range(d):
        size *= out_shape[a]
    source = np.empty(size, np.int64)
    coord = np.zeros(d, np.int64)
    for i in range(size):
        s = 0
        for a in range(d):
            s = s * x_shape[a] + coord[a] % x_shape[a]
        source[i] = s
        _odometer(coord, out_shape)
    return out_shape, source


def _padded(x_ndim: int, reps) -> tuple[int, str, str]:
    """(d, source of x's shape padded to d axes, of reps padded) for np.tile."""
    count = len(reps.types) if isinstance(reps, types.BaseTuple) else 1
    d = max(x_ndim, count)
    shape = ["1"] * (d - x_ndim) + [f"x.shape[{a}]" for a in range(x_ndim)]
    items = (
        [f"reps[{a}]" for a in range(count)]
        if count > 1 or isinstance(reps, types.BaseTuple)
        else ["reps"]
    )
    return (
        d,
        "np.array(" + _shape_text(shape) + ")",
        "np.array(" + _shape_text(["1"] * (d - count) + items) + ")",
    )


@_implements(rt.tile)
def _tile_ov(x, reps):
    ndim = x.ndim if isinstance(x, types.Array) else 0
    d, shape, counts = _padded(ndim, reps)
    flat = "np.ascontiguousarray(x).ravel()" if ndim else "np.array([x])"
    return compiled(
        "def impl(x, reps):\n"
        f"    out_shape, source = _tile_sources({shape}, {counts})\n"
        f"    flat = {flat}\n"
        "    out = np.empty(source.size, flat.dtype)\n"
        "    for i in range(source.size):\n"
        "        out[i] = flat[source[i]]\n"
        f"    return out.reshape(to_fixed_tuple(out_shape, {d}))\n",
        _tile_sources=_tile_sources,
        to_fixed_tuple=to_fixed_tuple,
    )


@_implements(rt.tile_grad)
def _tile_grad_ov(g, x, reps):
    ndim = x.ndim if isinstance(x, types.Array) else 0
    _, shape, counts = _padded(ndim, reps)
    back = "acc.astype(x.dtype).reshape(x.shape)" if ndim else "acc[0]"
    return compiled(
        "def impl(g, x, reps):\n"
        f"    out_shape, source = _tile_sources({shape}, {counts})\n"
        "    flat = np.ascontiguousarray(g).ravel()\n"
        f"    acc = np.zeros({'x.size' if ndim else 1}, np.float64)\n"
        "    for i in range(source.size):\n"
        "        acc[source[i]] += flat[i]\n"
        f"    return {back}\n",
        _tile_sources=_tile_sources,
    )


@_implements(rt.repeat, prefer_literal=True)
def _repeat_ov(x, repeats, axis):
    if not isinstance(x, types.Array):
        return None
    (k,) = literal_axes(axis, x.ndim, "np.repeat")
    shape = [f"x.shape[{a}]" if a != k else "x.shape[k] * repeats" for a in range(x.ndim)]
    return compiled(
        "def impl(x, repeats, axis):\n"
        f"    k = {k}\n"
        "    pre, post = 1, 1\n"
        "    for a in range(k):\n"
        "        pre *= x.shape[a]\n"
        "    for a in range(k + 1, x.ndim):\n"
        "        post *= x.shape[a]\n"
        "    n = x.shape[k]\n"
        "    x3 = np.ascontiguousarray(x).reshape((pre, n, post))\n"
        "    out = np.empty((pre, n * repeats, post), x.dtype)\n"
        "    for i in range(n):\n"
        "        for j in range(repeats):\n"
        "            out[:, i * repeats + j, :] = x3[:, i, :]\n"
        f"    return out.reshape({_shape_text(shape)})\n"
    )


@_implements(rt.repeat_grad, prefer_literal=True)
def _repeat_grad_ov(g, x, repeats, axis):
    if not isinstance(x, types.Array):  # a number repeated: the sum of g
        return lambda g, x, repeats, axis: np.sum(g)
    if isinstance(axis, (types.NoneType, types.Omitted)):
        return lambda g, x, repeats, axis: (
            np.ascontiguousarray(g).reshape((x.size, repeats)).sum(axis=1).astype(x.dtype)
        ).reshape(x.shape)
    (k,) = literal_axes(axis, x.ndim, "np.repeat")
    return compiled(
        "def impl(g, x, repeats, axis):\n"
        f"    k = {k}\n"
        "    pre, post = 1, 1\n"
        "    for a in range(k):\n"
        "        pre *= x.shape[a]\n"
        "    for a in range(k + 1, x.ndim):\n"
        "        post *= x.shape[a]\n"
        "    n = x.shape[k]\n"
        "    g3 = np.ascontiguousarray(g).reshape((pre, n * repeats, post))\n"
        "    out = np.zeros((pre, n, post), x.dtype)\n"
        "    for i in range(n):\n"
        "        for j in range(repeats):\n"
        "            out[:, i, :] += g3[:, i * repeats + j, :]\n"
        "    return out.reshape(x.shape)\n"
    )


# ---------------------------------------------------------------------------------------------
# Diagonals: the trace over axes (axis1, axis2), moved last, of every leading index.


@_implements(rt.diag_grad)
def _diag_grad_ov(g, x, k):
    def impl(g, x, k):
        out = np.zeros(x.shape, g.dtype)
        r0, c0 = max(-k, 0), max(k, 0)
        for i in range(g.size):
            out[r0 + i, c0 + i] = g[i]
        return out

    return impl


def _moved_last(ndim: int, axis1, axis2, what: str) -> tuple[int, int, list[int]]:
    (a1,) = literal_axes(axis1, ndim, what)
    (a2,) = literal_axes(axis2, ndim, what)
    if a1 == a2:
        raise errors.TypingError(f"{what}: axis1 and axis2 are the same axis")
    return a1, a2, [a for a in range(ndim) if a not in (a1, a2)]


@_implements(rt.trace, prefer_literal=True)
def _trace_ov(x, offset, axis1, axis2):
    if not isinstance(x, types.Array):
        return None
    a1, a2, rest = _moved_last(x.ndim, axis1, axis2, "np.trace")
    shape = [f"x.shape[{a}]" for a in rest]
    order = _shape_text([str(a) for a in rest + [a1, a2]])
    result = "out[0]" if not rest else f"out.reshape({_shape_text(shape)})"
    return compiled(
        "def impl(x, offset, axis1, axis2):\n"
        f"    y = np.ascontiguousarray(np.transpose(x, {order}))\n"
        f"    n, m = x.shape[{a1}], x.shape[{a2}]\n"
        "    y3 = y.reshape((y.size // max(n * m, 1) if n * m else 0, n, m))\n"
        "    out = np.zeros(y3.shape[0], x.dtype)\n"
        "    r0, c0 = max(-offset, 0), max(offset, 0)\n"
        "    for p in range(y3.shape[0]):\n"
        "        i = 0\n"
        "        while r0 + i < n and c0 + i < m:\n"
        "            out[p] += y3[p, r0 + i, c0 + i]\n"
        "            i += 1\n"
        f"    return {result}\n"
    )


@_implements(rt.trace_grad, prefer_literal=True)
def _trace_grad_ov(g, x, offset, axis1, axis2):
    if not isinstance(x, types.Array):
        return None
    a1, a2, rest = _moved_last(x.ndim, axis1, axis2, "np.trace")
    order = rest + [a1, a2]
    inverse = [order.index(a) for a in range(x.ndim)]
    moved = [f"x.shape[{a}]" for a in order]
    flat = "np.ascontiguousarray(g).ravel()" if isinstance(g, types.Array) else "np.array([g])"
    return compiled(
        "def impl(g, x, offset, axis1, axis2):\n"
        f"    n, m = x.shape[{a1}], x.shape[{a2}]\n"
        f"    flat = {flat}\n"
        "    out = np.zeros((flat.size, n, m), x.dtype)\n"
        "    r0, c0 = max(-offset, 0), max(offset, 0)\n"
        "    for p in range(flat.size):\n"
        "        i = 0\n"
        "        while r0 + i < n and c0 + i < m:\n"
        "            out[p, r0 + i, c0 + i] = flat[p]\n"
        "            i += 1\n"
        f"    back = np.transpose(out.reshape({_shape_text(moved)}), "
        f"{_shape_text([str(a) for a in inverse])})\n"
        "    return np.ascontiguousarray(back)\n"
    )


@_implements(rt.atleast_1d)
def _atleast_1d_ov(x):
    if isinstance(x, types.Number):
        return lambda x: np.array([x])
    if isinstance(x, types.Array):
        return lambda x: np.atleast_1d(x)
