"""Numba implementations of runtime_tangents.py, on the (pre, n, post) views of
runtime_reductions.py."""

import numpy as np
from numba import types
from numba.extending import register_jitable

from ad_compiler import runtime as rt
from ad_compiler.runtime_numba import _as3d, _implements


@register_jitable
def _cumprod_tangent3(v3, x3, out3):
    pre, n, post = x3.shape
    res = np.empty(x3.shape, np.float64)
    for i in range(pre):
        for k in range(post):
            d = 0.0
            for j in range(n):
                d = v3[i, j, k] if j == 0 else d * x3[i, j, k] + out3[i, j - 1, k] * v3[i, j, k]
                res[i, j, k] = d
    return res


@register_jitable
def _sort_tangent3(v3, x3):
    pre, n, post = x3.shape
    res = np.empty(x3.shape, np.float64)
    for i in range(pre):
        for k in range(post):
            order = np.argsort(x3[i, :, k].copy(), kind="mergesort")
            for j in range(n):
                res[i, j, k] = v3[i, order[j], k]
    return res


@_implements(rt.cumprod_tangent, prefer_literal=True)
def _cumprod_tangent_ov(v, x, out, axis):
    if isinstance(x, types.Array) and isinstance(v, types.Array):
        return lambda v, x, out, axis: _cumprod_tangent3(
            _as3d(v, axis), _as3d(x, axis), _as3d(out, axis)
        ).reshape(x.shape)


@_implements(rt.sort_tangent, prefer_literal=True)
def _sort_tangent_ov(v, x, axis):
    if isinstance(x, types.Array) and isinstance(v, types.Array):
        return lambda v, x, axis: _sort_tangent3(_as3d(v, axis), _as3d(x, axis)).reshape(x.shape)
