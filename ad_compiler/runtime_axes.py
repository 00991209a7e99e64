"""Numba implementations of the runtime's reductions and their adjoints over a tuple of axes
(``rt.rsum(x, (0, 1), False)``), used by :mod:`ad_compiler.runtime_numba`.

Generated code writes the axes as a literal tuple, which numba types as literals: the typers
read them at compile time (:func:`reduced_mask`), check them against ``x.ndim`` as NumPy
does, and build the implementation around a constant mask of the reduced axes. Each entry of
``x`` (in C order) is given its slot, the flat index of the result entry it is reduced into
(:func:`_slots`); the reductions and their adjoints then make one pass over ``x``. Sums are
accumulated in float64, as in ``runtime_numba``.
"""

import numpy as np
from numba import types
from numba.core import errors
from numba.extending import overload, register_jitable
from numba.np.unsafe.ndarray import to_fixed_tuple


def reduced_mask(axis, ndim: int, what: str):
    """For a literal tuple ``axis``, which of the ``ndim`` axes are reduced (a tuple of bools);
    None when ``axis`` is not a tuple."""
    if not isinstance(axis, types.BaseTuple):
        return None
    mask = [False] * ndim
    for t in axis:
        if not isinstance(t, types.IntegerLiteral):
            raise errors.TypingError(f"{what}: axis must be a literal tuple of ints")
        a = t.literal_value
        if not -ndim <= a < ndim:
            raise errors.TypingError(f"{what}: axis {a} is out of bounds for {ndim} dimensions")
        if mask[a % ndim]:
            raise errors.TypingError(f"{what}: duplicate value in axis")
        mask[a % ndim] = True
    return tuple(mask)


@register_jitable
def _slots(shape, mask):
    """The slot of every entry of an array of ``shape`` (C order) in the reduction over the
    axes where ``mask`` is True, and the number of slots."""
    nd = len(shape)
    stride = np.zeros(nd, np.int64)  # of the result, over the kept axes; 0 on reduced ones
    count = 1
    for d in range(nd - 1, -1, -1):
        if not mask[d]:
            stride[d] = count
            count *= shape[d]
    size = 1
    for d in range(nd):
        size *= shape[d]
    slot = np.empty(size, np.int64)
    coord = np.zeros(nd, np.int64)
    pos = 0
    for i in range(size):
        slot[i] = pos
        for d in range(nd - 1, -1, -1):  # the next entry: an odometer over the coordinates
            coord[d] += 1
            pos += stride[d]
            if coord[d] < shape[d]:
                break
            pos -= stride[d] * shape[d]
            coord[d] = 0
    return slot, count


def _flat(v, n):
    """A reduction result or its adjoint (a number, or an array of n entries in any shape) as
    a 1-D array of n entries."""


@overload(_flat)
def _flat_ov(v, n):
    if isinstance(v, types.Number):
        return lambda v, n: np.full(n, v)
    if isinstance(v, types.Array):
        return lambda v, n: np.ascontiguousarray(v).ravel()


@register_jitable
def _sum_slots(flat, slot, count, mean, out):
    acc = np.zeros(count, np.float64)
    for i in range(flat.size):
        acc[slot[i]] += flat[i]
    n = flat.size // count if count else 0
    for k in range(count):
        if not mean:
            out[k] = acc[k]
        elif n > 0:
            out[k] = acc[k] / n
        else:
            out[k] = np.nan  # mean of nothing, like NumPy (minus its RuntimeWarning)
    return out


@register_jitable
def _extreme_slots(flat, slot, count, is_max, out):
    if flat.size == 0 and count > 0:
        raise ValueError("zero-size array to reduction operation which has no identity")
    seen = np.zeros(count, np.bool_)
    for i in range(flat.size):
        k, v = slot[i], flat[i]
        if not seen[k]:
            out[k] = v
            seen[k] = True
        elif (v > out[k] if is_max else v < out[k]) or v != v:
            out[k] = v  # a NaN, once there, stays: no comparison with it is true
    return out


def reduction(x, keepdims, mask, name: str):
    """The implementation of ``rt.r<name>(x, axis, keepdims)`` for a tuple axis."""
    is_max, mean, extreme = name == "max", name == "mean", name in ("max", "min")
    dtype = x.dtype if isinstance(x.dtype, types.Float) or not mean else types.float64
    kept = mask.count(False)
    ndim = x.ndim if keepdims.literal_value else kept
    keep = bool(keepdims.literal_value)

    @register_jitable
    def reduce(x):
        flat = np.ascontiguousarray(x).ravel()
        slot, count = _slots(x.shape, mask)
        out = np.empty(count, dtype)
        if extreme:
            return _extreme_slots(flat, slot, count, is_max, out)
        return _sum_slots(flat, slot, count, mean, out)

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


def spread(mask, divide: bool):
    """The implementation of ``rt.reduce_grad`` (``divide``: ``rt.mean_grad``) for a tuple
    axis: g copied to every entry reduced into its slot."""

    def impl(g, x, axis, keepdims):
        slot, count = _slots(x.shape, mask)
        flat_g = _flat(g, count)
        n = x.size // count if count else 0
        out = np.empty(x.size, x.dtype)
        for i in range(x.size):
            out[i] = flat_g[slot[i]] / n if divide else flat_g[slot[i]]
        return out.reshape(x.shape)

    return impl


def to_extremes(mask):
    """The implementation of ``rt.extreme_grad`` for a tuple axis: each slot's g shared
    equally by the entries equal to its extreme (a NaN extreme: by the NaN entries)."""

    def impl(g, x, out, axis, keepdims):
        slot, count = _slots(x.shape, mask)
        flat_x = np.ascontiguousarray(x).ravel()
        flat_g, flat_out = _flat(g, count), _flat(out, count)
        hit = np.zeros(x.size, np.bool_)
        ties = np.zeros(count, np.int64)
        for i in range(x.size):
            v, o = flat_x[i], flat_out[slot[i]]
            if v == o or (v != v and o != o):
                hit[i] = True
                ties[slot[i]] += 1
        res = np.zeros(x.size, x.dtype)
        for i in range(x.size):
            if hit[i]:
                res[i] = flat_g[slot[i]] / ties[slot[i]]
        return res.reshape(x.shape)

    return impl
