"""Numba implementations of the runtime helpers of rules/reductions.py (``rt.rprod``,
``rt.rvar``, ``rt.cumsum``, ``rt.sort``, ... and their adjoints), registered when
:mod:`ad_compiler.runtime_numba` is imported.

Generated code passes axes, keepdims, ddof and n as literal constants. A reduction over any
axes (None, one, or a tuple) gives every entry of x its slot in the result
(``runtime_axes._slots``); the reductions that are sums (var, nansum) are written with the
runtime's own sums. A scan (cumsum, cumprod, diff, sort) runs along one axis of the
(pre, n, post) view of x, or along the flattened array for axis None, as NumPy.
"""

import numpy as np
from numba import types
from numba.core import errors
from numba.cpython.unsafe.tuple import tuple_setitem
from numba.extending import overload, register_jitable
from numba.np.unsafe.ndarray import to_fixed_tuple

from ad_compiler import runtime as rt
from ad_compiler import runtime_axes
from ad_compiler.runtime_numba import _as3d, _float_class, _implements, _is_none, _norm_axis

# ---------------------------------------------------------------------------------------------
# Products over any axes


def _mask(axis, ndim: int, what: str) -> tuple:
    """The reduced axes of a literal axis (None, an int, a tuple) as a tuple of bools."""
    if _is_none(axis):
        return (True,) * ndim
    mask = runtime_axes.reduced_mask(axis, ndim, what)
    if mask is not None:
        return mask
    if not isinstance(axis, types.IntegerLiteral):
        raise errors.TypingError(f"{what}: the axis must be a literal int or tuple of ints")
    a = axis.literal_value
    if not -ndim <= a < ndim:
        raise errors.TypingError(f"{what}: axis {a} is out of bounds for {ndim} dimensions")
    return tuple(d == a % ndim for d in range(ndim))


@register_jitable
def _products(flat, slot, count, out):
    for k in range(count):
        out[k] = 1
    for i in range(flat.size):
        out[slot[i]] *= flat[i]
    return out


@_implements(rt.rprod, prefer_literal=True)
def _rprod_ov(x, axis, keepdims):
    if isinstance(x, types.Number):
        return lambda x, axis, keepdims: x
    if not isinstance(x, types.Array):
        return None
    mask = _mask(axis, x.ndim, "np.prod")
    keep = bool(keepdims.literal_value)
    ndim = x.ndim if keep else mask.count(False)

    @register_jitable
    def reduce(x):
        slot, count = runtime_axes._slots(x.shape, mask)
        return _products(np.ascontiguousarray(x).ravel(), slot, count, np.empty(count, x.dtype))

    if ndim == 0:
        return lambda x, axis, keepdims: reduce(x)[0]

    def impl(x, axis, keepdims):
        dims = np.empty(ndim, np.int64)
        j = 0
        for d in range(x.ndim):
            if keep or not mask[d]:
                dims[j] = 1 if mask[d] else x.shape[d]
                j += 1
        return reduce(x).reshape(to_fixed_tuple(dims, ndim))

    return impl


@_implements(rt.prod_grad, prefer_literal=True)
def _prod_grad_ov(g, x, axis, keepdims):
    if isinstance(x, types.Number):
        return lambda g, x, axis, keepdims: g
    if not isinstance(x, types.Array):
        return None
    mask = _mask(axis, x.ndim, "np.prod")

    def impl(g, x, axis, keepdims):
        # the product of the others: the product of those before times those after, in the
        # C order of each slot's entries (no division, so exact where x has zeros)
        flat = np.ascontiguousarray(x).ravel()
        slot, count = runtime_axes._slots(x.shape, mask)
        others = np.empty(flat.size, x.dtype)
        run = np.ones(count, x.dtype)
        for i in range(flat.size):
            others[i] = run[slot[i]]
            run[slot[i]] *= flat[i]
        run[:] = 1
        for i in range(flat.size - 1, -1, -1):
            others[i] *= run[slot[i]]
            run[slot[i]] *= flat[i]
        return rt.reduce_grad(g, x, axis, keepdims) * others.reshape(x.shape)

    return impl


# ---------------------------------------------------------------------------------------------
# Variance and standard deviation, NaN-skipping sums: written with the runtime's sums


def _var_typer(root: bool):
    def typer(x, axis, keepdims, ddof):
        if isinstance(x, types.Number):
            return lambda x, axis, keepdims, ddof: 0.0 if ddof < 1 else np.nan
        if not isinstance(x, types.Array):
            return None
        cls = _float_class(x)

        def impl(x, axis, keepdims, ddof):
            mean = rt.rmean(x, axis, True)
            d = x - mean
            total = rt.rsum(d * d, axis, keepdims)
            n = x.size // max(mean.size, 1)
            scale = 1.0 / (n - ddof) if n > ddof else np.inf
            var = total * cls(scale)
            return np.sqrt(var) if root else var

        return impl

    return typer


_implements(rt.rvar, prefer_literal=True)(_var_typer(False))
_implements(rt.rstd, prefer_literal=True)(_var_typer(True))


@_implements(rt.var_grad, prefer_literal=True)
def _var_grad_ov(g, x, axis, keepdims, ddof):
    if isinstance(x, types.Number):
        return lambda g, x, axis, keepdims, ddof: 0.0 if ddof < 1 else np.nan
    if not isinstance(x, types.Array):
        return None
    cls = _float_class(x)

    def impl(g, x, axis, keepdims, ddof):
        mean = rt.rmean(x, axis, True)
        n = x.size // max(mean.size, 1)
        scale = 2.0 / (n - ddof) if n > ddof else np.nan
        return rt.reduce_grad(g, x, axis, keepdims) * (x - mean) * cls(scale)

    return impl


@_implements(rt.rnansum, prefer_literal=True)
def _rnansum_ov(x, axis, keepdims):
    if isinstance(x, types.Number):
        return lambda x, axis, keepdims: x if x == x else 0.0 * x
    if isinstance(x, types.Array):
        return lambda x, axis, keepdims: rt.rsum(np.where(np.isnan(x), 0, x), axis, keepdims)


@_implements(rt.rnanmean, prefer_literal=True)
def _rnanmean_ov(x, axis, keepdims):
    if isinstance(x, types.Number):
        return lambda x, axis, keepdims: x
    if not isinstance(x, types.Array):
        return None
    cls = _float_class(x)

    def impl(x, axis, keepdims):
        kept = ~np.isnan(x)
        total = rt.rsum(np.where(kept, x, 0), axis, keepdims)
        count = rt.rsum(kept.astype(cls), axis, keepdims)
        return total / count

    return impl


@_implements(rt.nansum_grad, prefer_literal=True)
def _nansum_grad_ov(g, x, axis, keepdims):
    if isinstance(x, types.Number):
        return lambda g, x, axis, keepdims: g if x == x else g * 0.0
    if isinstance(x, types.Array):
        return lambda g, x, axis, keepdims: np.where(
            np.isnan(x), 0, rt.reduce_grad(g, x, axis, keepdims)
        )


@_implements(rt.nanmean_grad, prefer_literal=True)
def _nanmean_grad_ov(g, x, axis, keepdims):
    if isinstance(x, types.Number):
        return lambda g, x, axis, keepdims: g if x == x else g * np.nan
    if not isinstance(x, types.Array):
        return None
    cls = _float_class(x)

    def impl(g, x, axis, keepdims):
        kept = ~np.isnan(x)
        count = rt.reduce_grad(rt.rsum(kept.astype(cls), axis, keepdims), x, axis, keepdims)
        spread = rt.reduce_grad(g, x, axis, keepdims)
        out = np.zeros(x.shape, x.dtype)
        for i in np.ndindex(x.shape):
            if count[i] == 0:
                out[i] = np.nan  # an all-NaN slice (its mean is NaN)
            elif kept[i]:
                out[i] = spread[i] / count[i]
        return out

    return impl


# ---------------------------------------------------------------------------------------------
# Scans along one axis (or the flattened array)


def _scan(what: str, kernel, flat_default: bool = True, widen: bool = False):
    """The typer of `rt.<scan>(x, axis)`: `kernel(x3)` maps the (pre, n, post) view of x to
    an array of the same shape; axis None scans the flattened array. `widen`: bools and ints
    narrower than int64 are scanned as NumPy does, in int64 (uint64 for unsigned ints): a
    cumsum of bools counts, it is not a running `or`."""

    def typer(x, axis):
        dtype = x.dtype if isinstance(x, types.Array) else x
        wide = _widened_scan_dtype(dtype) if widen else None
        if isinstance(x, types.Number) and _is_none(axis) and flat_default:
            if wide is not None:
                return lambda x, axis: kernel(np.full((1, 1, 1), x, wide)).ravel()
            return lambda x, axis: kernel(np.full((1, 1, 1), x)).ravel()
        if not isinstance(x, types.Array):
            return None
        if wide is not None:
            if _is_none(axis):
                return lambda x, axis: kernel(_as3d(x.astype(wide), None)).ravel()
            _mask(axis, x.ndim, what)
            return lambda x, axis: kernel(_as3d(x.astype(wide), axis)).reshape(x.shape)
        if _is_none(axis):
            return lambda x, axis: kernel(_as3d(x, None)).ravel()
        _mask(axis, x.ndim, what)
        return lambda x, axis: kernel(_as3d(x, axis)).reshape(x.shape)

    return typer


def _widened_scan_dtype(dtype):
    """NumPy's accumulator of np.cumsum / np.cumprod for `dtype`, when it is wider."""
    if isinstance(dtype, types.Boolean):
        return np.int64
    if isinstance(dtype, types.Integer) and dtype.bitwidth < 64:
        return np.uint64 if not dtype.signed else np.int64
    return None


@register_jitable
def _cumsum3(x3):
    pre, n, post = x3.shape
    out = np.empty(x3.shape, x3.dtype)
    for i in range(pre):
        for k in range(post):
            acc = 0
            for j in range(n):
                acc += x3[i, j, k]
                out[i, j, k] = acc
    return out


@register_jitable
def _cumprod3(x3):
    pre, n, post = x3.shape
    out = np.empty(x3.shape, x3.dtype)
    for i in range(pre):
        for k in range(post):
            acc = 1
            for j in range(n):
                acc *= x3[i, j, k]
                out[i, j, k] = acc
    return out


@register_jitable
def _sort3(x3):
    pre, n, post = x3.shape
    out = np.empty(x3.shape, x3.dtype)
    for i in range(pre):
        for k in range(post):
            out[i, :, k] = np.sort(x3[i, :, k].copy())
    return out


_implements(rt.cumsum, prefer_literal=True)(_scan("np.cumsum", _cumsum3, widen=True))
_implements(rt.cumprod, prefer_literal=True)(_scan("np.cumprod", _cumprod3, widen=True))
_implements(rt.sort, prefer_literal=True)(_scan("np.sort", _sort3))


def _lines_of(v, x, axis):
    """The (pre, n, post) view of g or out: flat for axis None, else of x's shape."""


@overload(_lines_of)
def _lines_of_ov(v, x, axis):
    if _is_none(axis):
        return lambda v, x, axis: _as3d(v, None)
    return lambda v, x, axis: _as3d(v, axis)


def _back(res, x, axis):
    """A kernel's (pre, n, post) result in x's shape (a number for a number x)."""


@overload(_back)
def _back_ov(res, x, axis):
    if isinstance(x, types.Number):
        return lambda res, x, axis: res[0, 0, 0]
    return lambda res, x, axis: res.reshape(x.shape)


def _x3(x, axis):
    """x as (pre, n, post), a number as (1, 1, 1)."""


@overload(_x3)
def _x3_ov(x, axis):
    if isinstance(x, types.Number):
        return lambda x, axis: np.full((1, 1, 1), x)
    if _is_none(axis):
        return lambda x, axis: _as3d(x, None)
    return lambda x, axis: _as3d(x, axis)


def _scan_grad(what: str, kernel, with_out: bool):
    """The typer of `rt.<scan>_grad(g, x, [out,] axis)`: `kernel(g3, x3, out3)` on the
    (pre, n, post) views; for axis None, g (and out) are the flat scans of x."""

    def check(g, x, axis) -> bool:
        if not isinstance(g, types.Array) or not isinstance(x, (types.Array, types.Number)):
            return False
        if isinstance(x, types.Array) and not _is_none(axis):
            _mask(axis, x.ndim, what)
        return True

    if with_out:

        def typer(g, x, out, axis):
            if check(g, x, axis):
                return lambda g, x, out, axis: _back(
                    kernel(_lines_of(g, x, axis), _x3(x, axis), _lines_of(out, x, axis)),
                    x,
                    axis,
                )

        return typer

    def typer3(g, x, axis):
        if check(g, x, axis):
            return lambda g, x, axis: _back(
                kernel(_lines_of(g, x, axis), _x3(x, axis), _lines_of(g, x, axis)), x, axis
            )

    return typer3


@register_jitable
def _cumsum_grad3(g3, x3, out3):
    pre, n, post = g3.shape
    res = np.empty(g3.shape, x3.dtype)
    for i in range(pre):
        for k in range(post):
            acc = 0.0
            for j in range(n - 1, -1, -1):
                acc += g3[i, j, k]
                res[i, j, k] = acc
    return res


@register_jitable
def _cumprod_grad3(g3, x3, out3):
    """See rt.cumprod_grad: exact where a line has zeros (z: its first zero)."""
    pre, n, post = g3.shape
    res = np.zeros(x3.shape, x3.dtype)
    for i in range(pre):
        for k in range(post):
            z = n
            for j in range(n):
                if x3[i, j, k] == 0:
                    z = j
                    break
            tail = 0.0
            for j in range(z - 1, -1, -1):
                tail += g3[i, j, k] * out3[i, j, k]
                res[i, j, k] = tail / x3[i, j, k]
            if z < n:
                total, run = 0.0, 1.0
                for j in range(n):
                    run *= 1.0 if j == z else x3[i, j, k]
                    if j >= z:
                        total += g3[i, j, k] * run
                res[i, z, k] = total
    return res


@register_jitable
def _sort_grad3(g3, x3, out3):
    pre, n, post = x3.shape
    res = np.empty(x3.shape, x3.dtype)
    for i in range(pre):
        for k in range(post):
            order = np.argsort(x3[i, :, k].copy(), kind="mergesort")
            for j in range(n):
                res[i, order[j], k] = g3[i, j, k]
    return res


_implements(rt.cumsum_grad, prefer_literal=True)(_scan_grad("np.cumsum", _cumsum_grad3, False))
_implements(rt.cumprod_grad, prefer_literal=True)(_scan_grad("np.cumprod", _cumprod_grad3, True))
_implements(rt.sort_grad, prefer_literal=True)(_scan_grad("np.sort", _sort_grad3, False))


@_implements(rt.diff, prefer_literal=True)
def _diff_ov(x, n, axis):
    if not isinstance(x, types.Array):
        return None

    def impl(x, n, axis):
        k = _norm_axis(axis, x.ndim)
        res = _as3d(x, k)
        for _ in range(n):
            if res.shape[1] == 0:
                break
            res = res[:, 1:, :] - res[:, :-1, :]
        return np.ascontiguousarray(res).reshape(tuple_setitem(x.shape, k, res.shape[1]))

    def of_bools(x, n, axis):  # (NumPy: the differences of bools are `!=`, still bools)
        k = _norm_axis(axis, x.ndim)
        res = _as3d(x, k)
        for _ in range(n):
            if res.shape[1] == 0:
                break
            res = res[:, 1:, :] != res[:, :-1, :]
        return np.ascontiguousarray(res).reshape(tuple_setitem(x.shape, k, res.shape[1]))

    return of_bools if isinstance(x.dtype, types.Boolean) else impl


@_implements(rt.diff_grad, prefer_literal=True)
def _diff_grad_ov(g, x, n, axis):
    if not isinstance(g, types.Array):
        return None

    def impl(g, x, n, axis):
        k = _norm_axis(axis, g.ndim)
        if x.shape[k] <= n:  # nothing left of x after n differences
            return np.zeros(x.shape, g.dtype)
        res = _as3d(g, k)
        for _ in range(n):
            pre, m, post = res.shape
            wider = np.zeros((pre, m + 1, post), res.dtype)
            wider[:, 1:, :] += res
            wider[:, :-1, :] -= res
            res = wider
        return res.reshape(x.shape)

    return impl
