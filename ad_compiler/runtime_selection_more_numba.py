"""Numba implementations of the helpers of runtime_selection_more.py (rules/selection_more.py),
registered when :mod:`ad_compiler.runtime_numba` is imported.

Generated code passes axes, items and flags as literal constants, so each typer writes the
implementation's source for them (as runtime_selection_numba.py does); the lengths of the axes,
and so a split's bounds, are run-time values.
"""

import numpy as np
from numba import types
from numba.core import errors
from numba.extending import register_jitable
from numba.np.numpy_support import as_dtype

from ad_compiler import runtime as rt
from ad_compiler import runtime_selection_more as sm
from ad_compiler.runtime_numba import _as2d, _implements, _is_none, _split
from ad_compiler.runtime_shapes import _shape_text, compiled, literal_axes

_count_bounds = register_jitable(sm.split_count_bounds)


def _literal(value, what: str):
    if not isinstance(value, types.Literal):
        raise errors.TypingError(f"{what} must be a literal constant")
    return value.literal_value


def _front(d: int) -> str:
    return ":, " * d


# --------------------------------------------------------------------------------------------
# splits: the piece's bounds along the cut axis, then a slice there


def _bounds_source(x, sections, axis, item, even) -> tuple[int, list[str]]:
    """(the cut axis, source lines setting start and stop) for the piece `item`."""
    fixed = None if _is_none(axis) else _literal(axis, "np.split: the axis")
    d = sm.split_axis(x.ndim, fixed) % x.ndim
    k = _literal(item, "np.split: the item")
    lines = [f"    n = x.shape[{d}]"]
    if isinstance(sections, types.Integer):
        flag = bool(_literal(even, "np.split: even"))
        lines.append(f"    start, stop = bounds(n, sections, {k}, {flag})")
    elif isinstance(sections, types.BaseTuple):
        count = len(sections)
        lines.append("    start = " + ("0" if k == 0 else f"sections[{k - 1}]"))
        lines.append("    stop = " + ("n" if k == count else f"sections[{k}]"))
    else:
        raise errors.TypingError("np.split: the sections must be an int or a tuple of ints")
    return d, lines


@_implements(rt.split_piece, prefer_literal=True)
def _split_piece_ov(x, sections, axis, item, even):
    if not isinstance(x, types.Array):
        return None
    d, lines = _bounds_source(x, sections, axis, item, even)
    source = ["def impl(x, sections, axis, item, even):", *lines]
    source.append(f"    return x[{_front(d)}start:stop]")
    return compiled("\n".join(source) + "\n", bounds=_count_bounds)


@_implements(rt.split_piece_grad, prefer_literal=True)
def _split_piece_grad_ov(g, x, sections, axis, item, even):
    if not isinstance(x, types.Array) or not isinstance(g, types.Array):
        return None
    d, lines = _bounds_source(x, sections, axis, item, even)
    source = ["def impl(g, x, sections, axis, item, even):", *lines]
    source.append("    res = np.zeros(x.shape, g.dtype)")
    source.append(f"    res[{_front(d)}start:stop] = g")
    source.append("    return res")
    return compiled("\n".join(source) + "\n", bounds=_count_bounds)


# --------------------------------------------------------------------------------------------
# np.take: on the (pre, n, post) view of the array, n the length of the axis (all for None)


@register_jitable
def _take_index(i, n, mode):
    if mode == 1:
        return i % n
    if mode == 2:
        return min(max(i, 0), n - 1)
    if i < -n or i >= n:
        raise IndexError("np.take: index out of bounds")
    return i + n if i < 0 else i


def _take_shapes(a, indices, axis) -> tuple[str, str]:
    """The source of the result's shape, and of the axis (None or a literal) for _split."""
    inner = [f"indices.shape[{j}]" for j in range(getattr(indices, "ndim", 0))]
    if _is_none(axis):
        return _shape_text(inner), "None"
    (k,) = literal_axes(axis, a.ndim, "np.take")
    outer = [f"a.shape[{j}]" for j in range(a.ndim)]
    return _shape_text(outer[:k] + inner + outer[k + 1 :]), str(k)


def _take_checked(a, indices, axis, mode) -> bool:
    if not isinstance(a, types.Array):
        return False
    if not isinstance(indices, (types.Integer, types.Array)):
        raise errors.TypingError("np.take: the indices must be integers")
    if isinstance(indices, types.Array) and not isinstance(indices.dtype, types.Integer):
        raise errors.TypingError("np.take: the indices must be integers")
    _literal(mode, "np.take: the mode")
    return True


@_implements(rt.take, prefer_literal=True)
def _take_ov(a, indices, axis, mode):
    if not _take_checked(a, indices, axis, mode):
        return None
    shape, k = _take_shapes(a, indices, axis)
    if isinstance(indices, types.Integer) and k == "None":
        return lambda a, indices, axis, mode: a.ravel()[_take_index(indices, a.size, mode)]
    return compiled(
        "def impl(a, indices, axis, mode):\n"
        f"    pre, n, post = split(a.shape, {k})\n"
        "    a3 = np.ascontiguousarray(a).reshape((pre, n, post))\n"
        "    flat = np.ravel(np.asarray(indices))\n"
        "    out = np.empty((pre, flat.size, post), a.dtype)\n"
        "    for j in range(flat.size):\n"
        "        out[:, j, :] = a3[:, index(flat[j], n, mode), :]\n"
        f"    return out.reshape({shape})\n",
        split=_split,
        index=_take_index,
    )


@_implements(rt.take_grad, prefer_literal=True)
def _take_grad_ov(g, a, indices, axis, mode):
    if not _take_checked(a, indices, axis, mode):
        return None
    _, k = _take_shapes(a, indices, axis)
    return compiled(
        "def impl(g, a, indices, axis, mode):\n"
        f"    pre, n, post = split(a.shape, {k})\n"
        "    flat = np.ravel(np.asarray(indices))\n"
        "    res = np.zeros(a.shape, np.asarray(g).dtype)\n"
        "    r3 = res.reshape((pre, n, post))\n"
        "    g3 = as2d(g, pre, flat.size * post).reshape((pre, flat.size, post))\n"
        "    for j in range(flat.size):\n"
        "        r3[:, index(flat[j], n, mode), :] += g3[:, j, :]\n"
        "    return res\n",
        split=_split,
        index=_take_index,
        as2d=_as2d,
    )


# --------------------------------------------------------------------------------------------
# np.median, np.quantile: the reduced axes moved last and flattened, one row per result


def _rows(a, axis, keepdims, what: str) -> tuple[str, str, str]:
    """Source of: the (rows, n) array of a's reduced values, the result's shape, and the
    shape of a with the reduced axes moved last."""
    axes = tuple(range(a.ndim)) if _is_none(axis) else literal_axes(axis, a.ndim, what)
    rest = [d for d in range(a.ndim) if d not in axes]
    order = _shape_text([str(d) for d in rest + list(axes)])
    rows = "1" + "".join(f" * a.shape[{d}]" for d in rest)
    flat = f"np.ascontiguousarray(a.transpose({order})).reshape(({rows}, -1))"
    if _literal(keepdims, f"{what}: keepdims"):
        shape = [("1" if d in axes else f"a.shape[{d}]") for d in range(a.ndim)]
    else:
        shape = [f"a.shape[{d}]" for d in rest]
    moved = [f"a.shape[{d}]" for d in rest + list(axes)]
    return flat, _shape_text(shape), _shape_text(moved)


@register_jitable
def _median_row(row):
    s = np.sort(row)
    n = s.size
    if n == 0 or np.isnan(s[n - 1]):
        return np.nan
    if n % 2:
        return s[n // 2]
    return (s[n // 2 - 1] + s[n // 2]) / 2


def _result_dtype(a):
    return "a.dtype" if isinstance(a.dtype, types.Float) else "np.float64"


@_implements(rt.median, prefer_literal=True)
def _median_ov(a, axis, keepdims):
    if not isinstance(a, types.Array):
        return None
    flat, shape, _ = _rows(a, axis, keepdims, "np.median")
    scalar = shape == "()"
    return compiled(
        "def impl(a, axis, keepdims):\n"
        f"    rows = {flat}\n"
        f"    out = np.empty(rows.shape[0], {_result_dtype(a)})\n"
        "    for r in range(rows.shape[0]):\n"
        "        out[r] = row_median(rows[r])\n"
        + ("    return out[0]\n" if scalar else f"    return out.reshape({shape})\n"),
        row_median=_median_row,
    )


@register_jitable
def _spread(ranked, n, q, w):
    """Add w times the weights of the linear quantile q of n sorted values to ranked."""
    virtual = q * (n - 1)
    lower = min(max(int(np.floor(virtual)), 0), n - 1)
    upper = min(lower + 1, n - 1)
    t = virtual - lower
    ranked[lower] += (1 - t) * w
    ranked[upper] += t * w


def _quantile_grad_source(a, axis, keepdims, what: str, qs: str, count: str) -> str:
    flat, _, moved = _rows(a, axis, keepdims, what)
    axes = tuple(range(a.ndim)) if _is_none(axis) else literal_axes(axis, a.ndim, what)
    rest = [d for d in range(a.ndim) if d not in axes]
    back = _shape_text([str(i) for i in np.argsort(rest + list(axes))])
    return (
        f"    rows = {flat}\n"
        "    m, n = rows.shape\n"
        f"    qs = {qs}\n"
        f"    gq = as2d(g, {count}, m)\n"
        "    res = np.zeros((m, n), gq.dtype)\n"
        "    ranked = np.zeros(n, np.float64)\n"
        "    for r in range(m):\n"
        "        if n == 0:\n"
        "            break\n"
        "        ranked[:] = 0.0\n"
        "        for j in range(qs.size):\n"
        "            spread(ranked, n, qs[j], gq[j, r])\n"
        "        order = np.argsort(rows[r], kind='mergesort')\n"
        "        for i in range(n):\n"
        "            res[r, order[i]] = ranked[i]\n"
        f"    return np.ascontiguousarray(res.reshape({moved}).transpose({back}))\n"
    )


@_implements(rt.median_grad, prefer_literal=True)
def _median_grad_ov(g, a, axis, keepdims):
    if not isinstance(a, types.Array):
        return None
    body = _quantile_grad_source(a, axis, keepdims, "np.median", "np.array([0.5])", "1")
    return compiled("def impl(g, a, axis, keepdims):\n" + body, spread=_spread, as2d=_as2d)


# --------------------------------------------------------------------------------------------
# np.select: every operand broadcast to the result's shape, the choices copied in from the last


def _select_dtype(choices, default):
    """NumPy's result type of the choices and the default, numbers weak as NumPy takes them."""
    values = list(choices.types) + [default]
    arrays = [as_dtype(v.dtype) for v in values if isinstance(v, types.Array)]
    numbers = [as_dtype(v) for v in values if isinstance(v, types.Number)]
    if not arrays:
        return np.result_type(*numbers)
    dtype = np.result_type(*arrays)
    if dtype.kind in "biu" and any(n.kind == "f" for n in numbers):
        return np.result_type(dtype, np.float64)
    return dtype


@_implements(rt.select, prefer_literal=True)
def _select_ov(conds, choices, default):
    if not isinstance(conds, types.Array) or not isinstance(choices, types.BaseTuple):
        return None
    if not isinstance(conds.dtype, types.Boolean):
        raise errors.TypingError("np.select: the conditions must be boolean arrays")
    dtype = _select_dtype(choices, default)
    count = len(choices)
    shapes = ", ".join(f"np.shape(choices[{k}])" for k in range(count))
    lines = [
        "def impl(conds, choices, default):",
        f"    if conds.shape[0] != {count}:",
        "        raise ValueError('list of cases must be same length as list of conditions')",
        f"    shape = np.broadcast_shapes(conds.shape[1:], {shapes}, np.shape(default))",
        f"    out = np.empty(shape, np.{dtype.name})",
        "    flat = out.reshape(-1)",
        "    flat[:] = np.broadcast_to(default, shape).ravel()",
    ]
    for k in reversed(range(count)):
        lines += [
            f"    c = np.broadcast_to(conds[{k}], shape).ravel()",
            f"    x = np.broadcast_to(choices[{k}], shape).ravel()",
            "    for j in range(flat.size):",
            "        if c[j]:",
            "            flat[j] = x[j]",
        ]
    lines.append("    return out")
    return compiled("\n".join(lines) + "\n")


@_implements(rt.select_mask, prefer_literal=True)
def _select_mask_ov(g, conds, item):
    if not isinstance(conds, types.Array) or not isinstance(g, types.Array):
        return None
    k = _literal(item, "np.select: the item")
    # zero where an earlier condition holds, and where the item's own one does not
    return compiled(
        "def impl(g, conds, item):\n"
        "    out = np.empty(g.shape, g.dtype)\n"
        "    flat = out.reshape(-1)\n"
        "    flat[:] = np.broadcast_to(g, g.shape).ravel()\n"
        f"    for i in range(min({k + 1}, conds.shape[0])):\n"
        "        c = np.broadcast_to(conds[i], g.shape).ravel()\n"
        "        for j in range(flat.size):\n"
        f"            if c[j] != (i == {k}):\n"
        "                flat[j] = 0\n"
        "    return out\n"
    )
