"""Numba implementations of the adjoints of runtime_numba.py's reductions (rt.reduce_grad,
rt.mean_grad, rt.extreme_grad), registered when :mod:`ad_compiler.runtime_numba` is imported.

g has pre * post elements whatever keepdims was, so keepdims does not matter here. numba
re-optimizes a function's callees every time it compiles the function, so the array
implementations below are returned by the typers directly instead of through thin wrappers.
"""

import numpy as np
from numba import types
from numba.extending import register_jitable

from ad_compiler import runtime as rt
from ad_compiler import runtime_axes
from ad_compiler.runtime_numba import _as2d, _implements, _is_scalar, _split


def _spread_typer(divide):
    """Typer for reduce_grad (g copied along the axis) or mean_grad (also divided by its length)."""

    def typer(g, x, axis, keepdims):
        if _is_scalar(x):
            return lambda g, x, axis, keepdims: g
        if not isinstance(x, types.Array):
            return None
        mask = runtime_axes.reduced_mask(axis, x.ndim, "reduce_grad")
        if mask is not None:  # a tuple of axes
            return runtime_axes.spread(mask, divide)

        def impl(g, x, axis, keepdims):
            pre, n, post = _split(x.shape, axis)
            g2 = _as2d(g, pre, post)
            out = np.empty((pre, n, post), x.dtype)
            if post == 1:  # along the last axis: each g read once per row (3x faster)
                for i in range(pre):
                    share = g2[i, 0] / max(n, 1) if divide else g2[i, 0]  # (n = 0: unused)
                    for j in range(n):
                        out[i, j, 0] = share
                return out.reshape(x.shape)
            for i in range(pre):
                for j in range(n):
                    for k in range(post):
                        out[i, j, k] = g2[i, k] / n if divide else g2[i, k]
            return out.reshape(x.shape)

        return impl

    return typer


_implements(rt.reduce_grad)(_spread_typer(divide=False))
_implements(rt.mean_grad)(_spread_typer(divide=True))


def _route_to_extremes(g, x, out, axis, keepdims):
    """extreme_grad for an array x: each g shared equally by the ties of its slice (counted
    one row of `pre` at a time, then compared again: no mask of the whole array)."""
    pre, n, post = _split(x.shape, axis)
    x3 = np.ascontiguousarray(x).reshape((pre, n, post))
    res = np.empty((pre, n, post), x.dtype)
    _route(_as2d(g, pre, post), x3, _as2d(out, pre, post), res)
    return res.reshape(x.shape)


def _route_over_x(g, x, out, axis, keepdims):
    """The same written over x (C-ordered, float64, read by nothing afterwards): each element
    is compared before it is overwritten."""
    pre, n, post = _split(x.shape, axis)
    x3 = x.reshape((pre, n, post))
    _route(_as2d(g, pre, post), x3, _as2d(out, pre, post), x3)
    return x


@register_jitable
def _route(g2, x3, out2, res):
    pre, n, post = x3.shape
    if post == 1:  # the last axis (3x faster than the general loops below)
        _route_rows(g2[:, 0], x3.reshape((pre, n)), out2[:, 0], res.reshape((pre, n)))
        return
    ties = np.empty(post, np.int64)
    for i in range(pre):
        ties[:] = 0
        for j in range(n):
            for k in range(post):
                if _is_extreme(x3[i, j, k], out2[i, k]):
                    ties[k] += 1
        for j in range(n):
            for k in range(post):
                hit = _is_extreme(x3[i, j, k], out2[i, k])
                res[i, j, k] = g2[i, k] / ties[k] if hit else 0.0


@register_jitable
def _route_rows(g, x, out, res):
    """_route_to_extremes along the last axis of a contiguous (pre, n) array (res may be x).
    One pass a row: each entry equal to the extreme gets g, counted as it goes (a loop LLVM
    vectorizes); a row with ties, rare, then shares g among the entries given it. A NaN
    extreme takes the two passes of the general case (NaN counts as equal to NaN)."""
    pre, n = x.shape
    for i in range(pre):
        o, gi = out[i], g[i]
        ties = 0
        if o != o:
            for j in range(n):
                ties += _is_extreme(x[i, j], o)
            share = gi / ties if ties else 0.0  # (no element: nothing to share)
            for j in range(n):
                res[i, j] = share if _is_extreme(x[i, j], o) else 0.0
            continue
        for j in range(n):
            hit = x[i, j] == o
            ties += hit
            res[i, j] = gi if hit else 0.0
        if ties > 1 and gi != 0.0:  # (given g, or NaN: told from the zeros of the others)
            share = gi / ties
            for j in range(n):
                if res[i, j] != 0.0:
                    res[i, j] = share


@register_jitable
def _is_extreme(v, o):
    """Whether v is where the extreme o came from: NaN counts as equal to a NaN extreme, so
    a NaN max/min still gets g."""
    return v == o or (v != v and o != o)


@_implements(rt.extreme_grad)
def _extreme_grad_ov(g, x, out, axis, keepdims):
    if _is_scalar(x):
        return lambda g, x, out, axis, keepdims: g
    if isinstance(x, types.Array):
        mask = runtime_axes.reduced_mask(axis, x.ndim, "extreme_grad")
        return _route_to_extremes if mask is None else runtime_axes.to_extremes(mask)


@_implements(rt.extreme_grad_over)
def _extreme_grad_over_ov(g, x, out, axis, keepdims):
    over = isinstance(x, types.Array) and x.layout == "C" and x.dtype == types.float64
    if over and runtime_axes.reduced_mask(axis, x.ndim, "extreme_grad") is None:
        return _route_over_x
    return lambda g, x, out, axis, keepdims: rt.extreme_grad(g, x, out, axis, keepdims)
