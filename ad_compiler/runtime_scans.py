"""Reductions and scans beyond sum/mean/max/min for generated NumPy code (runtime.py re-exports
them as rt.<name>; numba: runtime_reductions.py): np.prod, np.var, np.std, np.cumsum, np.cumprod,
np.diff, np.sort, np.nansum, np.nanmean and their adjoints."""

import numpy as np

from ad_compiler.runtime_reduce import _is_array, reduce_grad, zeros_like

# --------------------------------------------------------------------------------------------
# Reductions and scans of rules/reductions.py (numba: runtime_reductions.py). ``axis`` of a
# scan is None (the flattened array, as NumPy) or one int; of a reduction also a tuple.


def _axes(axis, ndim):
    """The reduced axes as a tuple of non-negative ints (None: all of them)."""
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def _as_lines(x, axis):
    """x with the reduced axes moved last and merged: (array of shape (m, n), moved shape)."""
    axes = _axes(axis, x.ndim)
    moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
    n = int(np.prod([x.shape[a] for a in axes]))
    return moved.reshape(-1, n), moved.shape, axes


def _from_lines(lines, shape, axes, ndim):
    moved = lines.reshape(shape)
    return np.moveaxis(moved, tuple(range(ndim - len(axes), ndim)), axes)


def rprod(x, axis, keepdims):
    """``np.prod(x, axis=axis, keepdims=keepdims)``; a scalar ``x`` is returned unchanged."""
    return np.prod(x, axis=axis, keepdims=keepdims) if _is_array(x) else x


def prod_grad(g, x, axis, keepdims):
    """Adjoint of ``rprod``: each entry gets g times the product of the other entries of its
    slice (exclusive products from both ends: exact where x has zeros, no division)."""
    if not _is_array(x):
        return g
    if x.size == 0:  # (no entries: no gradient; the lines below would reshape nothing)
        return np.zeros(x.shape, np.result_type(x, g))
    lines, shape, axes = _as_lines(x, axis)
    left = np.ones_like(lines)
    right = np.ones_like(lines)
    left[:, 1:] = np.cumprod(lines[:, :-1], axis=1)
    right[:, :-1] = np.cumprod(lines[:, :0:-1], axis=1)[:, ::-1]
    others = _from_lines(left * right, shape, axes, x.ndim)
    return reduce_grad(g, x, axis, keepdims) * others


def rvar(x, axis, keepdims, ddof):
    """``np.var(x, axis=axis, keepdims=keepdims, ddof=ddof)``."""
    return np.var(x, axis=axis, keepdims=keepdims, ddof=ddof)


def rstd(x, axis, keepdims, ddof):
    """``np.std(x, axis=axis, keepdims=keepdims, ddof=ddof)``."""
    return np.std(x, axis=axis, keepdims=keepdims, ddof=ddof)


def var_grad(g, x, axis, keepdims, ddof):
    """Adjoint of ``rvar``: 2 (x - mean) g / (n - ddof), g spread over the reduced axes."""
    if not _is_array(x):
        return zeros_like(g) if ddof < 1 else g * np.nan  # var of one number: 0, or 0 / 0
    mean = np.mean(x, axis=axis, keepdims=True)
    n = x.size // max(mean.size, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.divide(2.0, n - ddof) if n > ddof else np.nan
    return reduce_grad(g, x, axis, keepdims) * (x - mean) * x.dtype.type(scale)


def cumsum(x, axis):
    """``np.cumsum(x, axis=axis)`` (a number gives an array of one entry, as NumPy)."""
    return np.cumsum(x, axis=axis)


def cumprod(x, axis):
    """``np.cumprod(x, axis=axis)``."""
    return np.cumprod(x, axis=axis)


def _scan_lines(v, x, axis):
    """v (x's shape, or the flat scan of x for axis None) as lines (m, n) along the axis."""
    if axis is None:
        return np.reshape(v, (1, -1))
    return np.moveaxis(v, axis, -1).reshape(-1, x.shape[axis])


def _scan_back(lines, x, axis):
    if axis is None:
        return lines.reshape(np.shape(x)) if _is_array(x) else lines.reshape(())[()]
    shape = np.moveaxis(x, axis, -1).shape
    return np.moveaxis(lines.reshape(shape), -1, axis)


def cumsum_grad(g, x, axis):
    """Adjoint of ``cumsum``: the sum of g from each position to the end of its line."""
    lines = _scan_lines(g, x, axis)
    return _scan_back(np.cumsum(lines[:, ::-1], axis=1)[:, ::-1], x, axis)


def cumprod_grad(g, x, out, axis):
    """Adjoint of ``cumprod`` (``out`` its result), exact where x has zeros: with z the first
    zero of a line, an entry j < z gets sum_{j <= i < z} g_i out_i / x_j, the entry z gets
    sum_{i >= z} g_i prod_{k <= i, k != z} x_k, and the entries after z nothing."""
    xs, gs, outs = (_scan_lines(v, x, axis) for v in (np.ravel(x) if axis is None else x, g, out))
    n = xs.shape[1]
    index = np.arange(n)
    zero = xs == 0
    first = np.where(zero.any(axis=1), zero.argmax(axis=1), n)[:, None]
    before = index < first
    terms = np.where(before, gs * outs, 0.0)
    tail = np.cumsum(terms[:, ::-1], axis=1)[:, ::-1]
    result = np.where(before, tail / np.where(before, xs, 1.0), 0.0)
    skipped = np.cumprod(np.where(index == first, 1.0, xs), axis=1)
    at_zero = np.sum(np.where(index >= first, gs * skipped, 0.0), axis=1, keepdims=True)
    result = np.where(index == first, at_zero, result).astype(xs.dtype, copy=False)
    return _scan_back(result, x, axis)


def diff(x, n, axis):
    """``np.diff(x, n, axis)``."""
    return np.diff(x, n, axis)


def diff_grad(g, x, n, axis):
    """Adjoint of ``diff``: each difference x[k+1] - x[k] sends +g to k+1 and -g to k."""
    if x.shape[axis] <= n:  # nothing left of x after n differences
        return np.zeros(x.shape, g.dtype)
    for _ in range(n):
        g = np.moveaxis(g, axis, -1)
        padded = np.zeros(g.shape[:-1] + (g.shape[-1] + 1,), g.dtype)
        padded[..., 1:] += g
        padded[..., :-1] -= g
        g = np.moveaxis(padded, -1, axis)
    return g


def sort(x, axis):
    """``np.sort(x, axis=axis)``."""
    return np.sort(x, axis=axis)


def sort_grad(g, x, axis):
    """Adjoint of ``sort``: g sent back through the sorting permutation (a stable one: tied
    entries, where the derivative does not exist, are told apart by position)."""
    flat = axis is None
    xs = np.ravel(x) if flat else x
    order = np.argsort(xs, axis=-1 if flat else axis, kind="stable")
    out = np.zeros_like(xs)
    np.put_along_axis(out, order, g, axis=-1 if flat else axis)
    return out.reshape(np.shape(x)) if flat else out


def rnansum(x, axis, keepdims):
    """``np.nansum(x, axis=axis, keepdims=keepdims)``."""
    return np.nansum(x, axis=axis, keepdims=keepdims)


def rnanmean(x, axis, keepdims):
    """``np.nanmean(x, axis=axis, keepdims=keepdims)``."""
    return np.nanmean(x, axis=axis, keepdims=keepdims)


def nansum_grad(g, x, axis, keepdims):
    """Adjoint of ``rnansum``: g spread over the entries that are not NaN."""
    spread = reduce_grad(g, x, axis, keepdims)
    return np.where(np.isnan(x), 0.0, spread) if _is_array(x) else spread * (x == x)


def nanmean_grad(g, x, axis, keepdims):
    """Adjoint of ``rnanmean``: g over the number of entries that are not NaN, spread over
    them (an all-NaN slice, whose mean is NaN, passes NaN)."""
    if not _is_array(x):
        return g * (x == x) if x == x else g * np.nan
    kept = ~np.isnan(x)
    count = np.sum(kept, axis=axis, keepdims=True).astype(x.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = reduce_grad(g, x, axis, keepdims) / count
    skipped = np.where(count == 0, np.nan, 0.0)  # (the entries of an all-NaN slice: NaN)
    return np.where(kept, spread, skipped).astype(x.dtype, copy=False)
