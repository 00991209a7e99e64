"""Numba implementations of the helpers of runtime_selection.py (rules/selection.py), registered
when :mod:`ad_compiler.runtime_numba` is imported.

Generated code passes axes, modes and flags as literal constants, so each typer knows the
number of dimensions and the axes at compile time and writes the implementation's source for
them (as runtime_shapes.py does); widths of a pad and spacings are run-time values.
"""

import numpy as np
from numba import types
from numba.core import errors
from numba.cpython.unsafe.tuple import tuple_setitem
from numba.extending import overload, register_jitable

from ad_compiler import runtime as rt
from ad_compiler import runtime_selection as sel
from ad_compiler.runtime_numba import _as3d, _implements, _is_none
from ad_compiler.runtime_reductions import _mask, _scan_grad
from ad_compiler.runtime_shapes import _moved_last, _shape_text, compiled, literal_axes

_pad_index = register_jitable(sel.pad_index)
_gradient_front = register_jitable(sel.gradient_front)
_gradient_front_grad = register_jitable(sel.gradient_front_grad)


def _literal_int(value, what: str) -> int:
    if not isinstance(value, types.IntegerLiteral):
        raise errors.TypingError(f"{what} must be a literal int")
    return value.literal_value


def _literal_bool(value) -> bool:
    return bool(getattr(value, "literal_value", False))


def _front(d: int) -> str:
    """The index prefix selecting everything before axis d: `:, :, ` for d = 2."""
    return ":, " * d


@_implements(rt.rollaxis, prefer_literal=True)
def _rollaxis_ov(x, axis, start):
    if not isinstance(x, types.Array):
        return None
    (a,) = literal_axes(axis, x.ndim, "np.rollaxis")
    s = _literal_int(start, "np.rollaxis: start")
    s += x.ndim if s < 0 else 0
    order = [d for d in range(x.ndim) if d != a]
    order.insert(s - 1 if a < s else s, a)
    return compiled(f"def impl(x, axis, start):\n    return x.transpose({_shape_text(order)})\n")


@_implements(rt.fftshift, prefer_literal=True)
def _fftshift_ov(x, axes, inverse):
    if not isinstance(x, types.Array):
        return None
    shifted = range(x.ndim) if _is_none(axes) else literal_axes(axes, x.ndim, "np.fft.fftshift")
    half = "-(n // 2)" if _literal_bool(inverse) else "n // 2"
    lines = ["def impl(x, axes, inverse):", "    out = x.copy()"]
    for k in shifted:
        before = _front(k)
        lines += [
            f"    n = out.shape[{k}]",
            "    if n > 0:",
            f"        s = ({half}) % n",
            "        moved = np.empty_like(out)",
            f"        moved[{before}s:] = out[{before}:n - s]",
            f"        moved[{before}:s] = out[{before}n - s:]",
            "        out = moved",
        ]
    lines.append("    return out")
    return compiled("\n".join(lines) + "\n")


# --------------------------------------------------------------------------------------------
# np.pad: one axis at a time, each position copying the entry pad_index names (or the constant)


def _widths(pad_width, ndim):
    """pad_width as an (ndim, 2) array of ints."""


@overload(_widths)
def _widths_ov(pad_width, ndim):
    if isinstance(pad_width, types.Integer):
        return lambda pad_width, ndim: np.full((ndim, 2), pad_width, np.int64)
    if not isinstance(pad_width, types.BaseTuple) or len(pad_width) == 0:
        raise errors.TypingError("np.pad: pad_width must be an int or a tuple")
    inner = pad_width.types[0]
    if isinstance(inner, types.Integer):  # (n,) or (before, after)
        if len(pad_width) == 1:
            return lambda pad_width, ndim: np.full((ndim, 2), pad_width[0], np.int64)

        def pair(pad_width, ndim):
            out = np.empty((ndim, 2), np.int64)
            for d in range(ndim):
                out[d, 0] = pad_width[0]
                out[d, 1] = pad_width[1]
            return out

        return pair
    count = len(pad_width)
    source = ["def impl(pad_width, ndim):", "    out = np.empty((ndim, 2), np.int64)"]
    for d in range(count):
        source.append(f"    row = pad_width[{d}]")
        pick = "0, 0" if len(inner) == 1 else "0, 1"
        first, second = pick.split(", ")
        source += [f"    out[{d}, 0] = row[{first}]", f"    out[{d}, 1] = row[{second}]"]
    if count == 1:
        source += ["    for d in range(1, ndim):", "        out[d] = out[0]"]
    source.append("    return out")
    return compiled("\n".join(source) + "\n")


@_implements(rt.pad, prefer_literal=True)
def _pad_ov(x, pad_width, mode, value):
    if not isinstance(x, types.Array):
        return None
    _literal_int(mode, "np.pad: the mode")
    lines = [
        "def impl(x, pad_width, mode, value):",
        f"    w = widths(pad_width, {x.ndim})",
        "    out = x",
    ]
    for d in range(x.ndim):
        before = _front(d)
        lines += [
            f"    idx = pad_index(out.shape[{d}], w[{d}, 0], w[{d}, 1], mode)",
            f"    new = np.empty(tuple_setitem(out.shape, {d}, len(idx)), x.dtype)",
            "    for j in range(len(idx)):",
            "        if idx[j] < 0:",
            f"            new[{before}j] = value",
            "        else:",
            f"            new[{before}j] = out[{before}idx[j]]",
            "    out = new",
        ]
    lines.append("    return out")
    return compiled(
        "\n".join(lines) + "\n", widths=_widths, pad_index=_pad_index, tuple_setitem=tuple_setitem
    )


@_implements(rt.pad_grad, prefer_literal=True)
def _pad_grad_ov(g, x, pad_width, mode):
    if not isinstance(g, types.Array) or not isinstance(x, types.Array):
        return None
    lines = [
        "def impl(g, x, pad_width, mode):",
        f"    w = widths(pad_width, {x.ndim})",
        "    b = g",
    ]
    for d in range(x.ndim):
        before = _front(d)
        lines += [
            f"    idx = pad_index(x.shape[{d}], w[{d}, 0], w[{d}, 1], mode)",
            f"    new = np.zeros(tuple_setitem(b.shape, {d}, x.shape[{d}]), g.dtype)",
            "    for j in range(len(idx)):",
            "        if idx[j] >= 0:",
            f"            new[{before}idx[j]] += b[{before}j]",
            "    b = new",
        ]
    lines.append("    return b")
    return compiled(
        "\n".join(lines) + "\n", widths=_widths, pad_index=_pad_index, tuple_setitem=tuple_setitem
    )


# --------------------------------------------------------------------------------------------
# np.partition along one axis (or the flattened array); its adjoint matches entries by rank


@register_jitable
def _partition3(x3, kth):
    pre, n, post = x3.shape
    out = np.empty(x3.shape, x3.dtype)
    for i in range(pre):
        for k in range(post):
            out[i, :, k] = np.partition(x3[i, :, k].copy(), kth)
    return out


@_implements(rt.partition, prefer_literal=True)
def _partition_ov(x, kth, axis):
    if not isinstance(x, types.Array):
        return None
    if _is_none(axis):
        return lambda x, kth, axis: _partition3(_as3d(x, None), kth).ravel()
    _mask(axis, x.ndim, "np.partition")
    return lambda x, kth, axis: _partition3(_as3d(x, axis), kth).reshape(x.shape)


@register_jitable
def _partition_grad3(g3, x3, out3):
    pre, n, post = x3.shape
    res = np.zeros(x3.shape, g3.dtype)
    for i in range(pre):
        for k in range(post):
            from_x = np.argsort(x3[i, :, k].copy(), kind="mergesort")
            from_out = np.argsort(out3[i, :, k].copy(), kind="mergesort")
            for j in range(n):
                res[i, from_x[j], k] = g3[i, from_out[j], k]
    return res


_implements(rt.partition_grad, prefer_literal=True)(
    _scan_grad("np.partition", _partition_grad3, True)
)


# --------------------------------------------------------------------------------------------
# np.gradient along one axis: the stencils of runtime_selection on the axis moved first


def _gradient_axis(f, axis) -> int:
    if _is_none(axis):
        return 0
    (d,) = literal_axes(axis, f.ndim, "np.gradient")
    return d


@_implements(rt.gradient, prefer_literal=True)
def _gradient_ov(f, h, axis, edge_order):
    if not isinstance(f, types.Array):
        return None
    d = _gradient_axis(f, axis)
    dtype = "f.dtype" if isinstance(f.dtype, types.Float) else "np.float64"
    return compiled(
        "def impl(f, h, axis, edge_order):\n"
        f"    out = np.empty(f.shape, {dtype})\n"
        f"    front(np.moveaxis(f, {d}, 0), np.moveaxis(out, {d}, 0), h, edge_order)\n"
        "    return out\n",
        front=_gradient_front,
    )


@_implements(rt.gradient_grad, prefer_literal=True)
def _gradient_grad_ov(g, h, axis, edge_order):
    if not isinstance(g, types.Array):
        return None
    d = _gradient_axis(g, axis)
    return compiled(
        "def impl(g, h, axis, edge_order):\n"
        "    res = np.zeros_like(g)\n"
        f"    back(np.moveaxis(g, {d}, 0), np.moveaxis(res, {d}, 0), h, edge_order)\n"
        "    return res\n",
        back=_gradient_front_grad,
    )


# --------------------------------------------------------------------------------------------
# np.diagonal: x with axis1, axis2 moved last; the diagonal runs along the new last axis


@register_jitable
def _diagonal_start(n, m, offset):
    """(first row, first column, length) of the offset diagonal of an n x m matrix."""
    if offset >= 0:
        return 0, offset, max(0, min(n, m - offset))
    return -offset, 0, max(0, min(n + offset, m))


@_implements(rt.diagonal, prefer_literal=True)
def _diagonal_ov(x, offset, axis1, axis2):
    if not isinstance(x, types.Array):
        return None
    a1, a2, rest = _moved_last(x.ndim, axis1, axis2, "np.diagonal")
    order = _shape_text([str(a) for a in rest + [a1, a2]])
    shape = _shape_text([f"y.shape[{k}]" for k in range(len(rest))] + ["length"])
    return compiled(
        "def impl(x, offset, axis1, axis2):\n"
        f"    y = x.transpose({order})\n"
        "    r, c, length = start(y.shape[-2], y.shape[-1], offset)\n"
        f"    out = np.empty({shape}, x.dtype)\n"
        "    for k in range(length):\n"
        "        out[..., k] = y[..., r + k, c + k]\n"
        "    return out\n",
        start=_diagonal_start,
    )


@_implements(rt.diagonal_grad, prefer_literal=True)
def _diagonal_grad_ov(g, x, offset, axis1, axis2):
    if not isinstance(x, types.Array) or not isinstance(g, types.Array):
        return None
    a1, a2, rest = _moved_last(x.ndim, axis1, axis2, "np.diagonal")
    order = _shape_text([str(a) for a in rest + [a1, a2]])
    return compiled(
        "def impl(g, x, offset, axis1, axis2):\n"
        "    res = np.zeros(x.shape, g.dtype)\n"
        f"    y = res.transpose({order})\n"
        "    r, c, length = start(y.shape[-2], y.shape[-1], offset)\n"
        "    for k in range(length):\n"
        "        y[..., r + k, c + k] = g[..., k]\n"
        "    return res\n",
        start=_diagonal_start,
    )


# --------------------------------------------------------------------------------------------
# np.vstack / np.hstack / np.column_stack of one array (its rows are the items)


def _joined(name: str, a) -> str:
    """The expression of the join of a's rows, for a's number of dimensions."""
    rest = "".join(f", a.shape[{k}]" for k in range(3, a.ndim))
    side = f"np.ascontiguousarray(np.swapaxes(a, 0, 1)).reshape((a.shape[1], -1{rest}))"
    if name == "vstack":
        if a.ndim == 1:
            return "np.ascontiguousarray(a).reshape((a.shape[0], 1))"
        if a.ndim == 2:
            return "a.copy()"
        return f"np.ascontiguousarray(a).reshape((-1, a.shape[2]{rest}))"
    if a.ndim == 1:
        return "a.copy()" if name == "hstack" else "np.ascontiguousarray(a).reshape((1, -1))"
    if a.ndim == 2:
        return "np.ascontiguousarray(a).ravel()" if name == "hstack" else "a.T.copy()"
    return side


def _stack_of(name: str):
    def typer(a):
        if isinstance(a, types.Array):
            return compiled(f"def impl(a):\n    return {_joined(name, a)}\n")

    return typer


for _name in ("vstack", "hstack", "column_stack"):
    _implements(getattr(rt, f"{_name}_of"))(_stack_of(_name))


def _stack_of_grad(name: str):
    def typer(g, a):
        if not isinstance(a, types.Array):
            return None
        if a.ndim <= 2 and not (name == "column_stack" and a.ndim == 2):
            return lambda g, a: np.ascontiguousarray(g).reshape(a.shape)
        if a.ndim == 2:
            return lambda g, a: g.T.copy()
        rest = "".join(f", a.shape[{k}]" for k in range(3, a.ndim))
        return compiled(
            "def impl(g, a):\n"
            f"    b = np.ascontiguousarray(g).reshape((a.shape[1], a.shape[0], a.shape[2]{rest}))\n"
            "    return np.ascontiguousarray(np.swapaxes(b, 0, 1))\n"
        )

    return typer


for _name in ("hstack", "column_stack"):
    _implements(getattr(rt, f"{_name}_of_grad"))(_stack_of_grad(_name))


# --------------------------------------------------------------------------------------------
# np.average with weights


def _any_zero(total):
    """Whether a number, or any entry of an array, is 0."""


@overload(_any_zero)
def _any_zero_ov(total):
    if isinstance(total, types.Array):
        return lambda total: np.any(total == 0)
    return lambda total: total == 0


@_implements(rt.weighted_average, prefer_literal=True)
def _weighted_average_ov(a, w, axis, keepdims):
    if not isinstance(a, types.Array) or not isinstance(w, types.Array):
        return None

    def impl(a, w, axis, keepdims):
        if a.shape != w.shape:
            raise ValueError("np.average: weights of another shape than the array")
        total = rt.rsum(w, axis, keepdims)
        if _any_zero(total):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        return rt.rsum(a * w, axis, keepdims) / total

    return impl
