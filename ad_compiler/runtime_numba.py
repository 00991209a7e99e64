"""Numba implementations of the :mod:`ad_compiler.runtime` helpers.

Importing this module registers, for every public function of ``ad_compiler.runtime``, a numba
implementation (``numba.extending.overload``), so ``@njit`` code can call ``rt.rsum(x, 1, True)``
etc. directly.  Registration is idempotent: importing again is a no-op, and even a reload does
not register a second implementation (see ``_implements``).

Design notes:

* Axis reductions and their adjoints view ``x`` as a C-contiguous ``(pre, n, post)`` array, where
  ``n`` is the length of the reduced axis (``axis=None``: ``(1, x.size, 1)``).  That works for any
  ndim with a runtime axis value, so only the *result ndim* has to be known at compile time.
* numba cannot slice tuples with a non-literal bound, so result shapes are built with numba's
  ``tuple_setitem`` (keepdims) and ``to_fixed_tuple`` (axis dropped).
* The reductions need ``keepdims`` as a literal (it decides the result's ndim), hence
  ``prefer_literal=True``; generated code always passes literal constants.
* Sums are accumulated in float64 and cast back to the input dtype.
* Scatter-adds check index bounds (numba does not), raising ``IndexError`` like ``np.add.at``.
"""

import inspect

import numpy as np
from numba import types
from numba.core import errors
from numba.cpython.unsafe.tuple import tuple_setitem
from numba.extending import overload, register_jitable
from numba.np.numpy_support import as_dtype
from numba.np.unsafe.ndarray import to_fixed_tuple

from ad_compiler import runtime as rt
from ad_compiler import runtime_axes
from ad_compiler.runtime_extremes_numba import extreme3


def _implements(pyfunc, **kwargs):
    """Like ``overload(pyfunc)``, but registers at most once per function object.

    Python caches imports, but a ``reload`` of this module must not stack a second
    implementation on the same ``runtime`` function (a reloaded ``runtime`` has new functions,
    which then get registered afresh).
    """

    def decorate(typer):
        if not getattr(pyfunc, "_has_numba_impl", False):
            overload(pyfunc, **kwargs)(typer)
            pyfunc._has_numba_impl = True
            pyfunc._numba_impl_module = typer.__module__  # (tests check the import split)
        return typer

    return decorate


def compiled_as_written(function):
    """The overload of a helper numba compiles as it is written: the helper itself (the typer
    takes the helper's own parameters, as numba requires)."""

    def typer(*args):
        return function

    typer.__signature__ = inspect.signature(function)
    return typer


def _is_none(t):
    return isinstance(t, (types.NoneType, types.Omitted))


def _is_scalar(t):
    return isinstance(t, types.Number)


def _float_class(t):
    """NumPy scalar class to use for a float result derived from numba type ``t``."""
    dtype = t.dtype if isinstance(t, types.Array) else t
    return as_dtype(dtype).type if isinstance(dtype, types.Float) else np.float64


# ---------------------------------------------------------------------------------------------
# Small jitted helpers.  The "stub + overload" pairs dispatch on argument *types*.


@register_jitable
def _prod(shape, start, stop):
    p = 1
    for i in range(start, stop):
        p *= shape[i]
    return p


@register_jitable
def _norm_axis(axis, ndim):
    if axis < -ndim or axis >= ndim:
        raise ValueError("axis is out of bounds for array dimension")
    return axis + ndim if axis < 0 else axis


def _norm(axis, ndim):
    """Normalized axis (``None`` stays ``None``).  Also drops a literal type, so that helpers
    called with the result compile once per array type, not once per literal axis value."""


@overload(_norm)
def _norm_ov(axis, ndim):
    if _is_none(axis):
        return lambda axis, ndim: None
    return lambda axis, ndim: _norm_axis(axis, ndim)


def _split(shape, axis):
    """(pre, n, post): sizes before, along and after ``axis``; ``axis=None`` reduces all."""


@overload(_split)
def _split_ov(shape, axis):
    if _is_none(axis):
        return lambda shape, axis: (1, _prod(shape, 0, len(shape)), 1)

    def impl(shape, axis):
        k = _norm_axis(axis, len(shape))
        return _prod(shape, 0, k), shape[k], _prod(shape, k + 1, len(shape))

    return impl


@register_jitable
def _as3d(x, axis):
    pre, n, post = _split(x.shape, axis)
    return np.ascontiguousarray(x).reshape((pre, n, post))


def _as2d(a, pre, post):
    """A reduction result (scalar or array of pre * post elements) as a (pre, post) array."""


@overload(_as2d)
def _as2d_ov(a, pre, post):
    if _is_scalar(a):
        return lambda a, pre, post: np.full((pre, post), a)
    if isinstance(a, types.Array):
        return lambda a, pre, post: np.ascontiguousarray(a).reshape((pre, post))


def _reduced_shape(shape, axis, keepdims):
    """Shape of a reduction result that is an array (callers handle scalar results)."""


@overload(_reduced_shape, prefer_literal=True)
def _reduced_shape_ov(shape, axis, keepdims):
    keep = keepdims.literal_value
    if _is_none(axis):
        ones = (1,) * len(shape)  # keepdims=True: a compile-time constant
        return lambda shape, axis, keepdims: ones
    if keep:
        return lambda shape, axis, keepdims: tuple_setitem(shape, _norm_axis(axis, len(shape)), 1)
    m = len(shape) - 1

    def impl(shape, axis, keepdims):
        k = _norm_axis(axis, len(shape))
        dims = np.empty(m, np.int64)
        for i in range(m):
            dims[i] = shape[i] if i < k else shape[i + 1]
        return to_fixed_tuple(dims, m)

    return impl


def _pick(v, k):
    """``v[k]`` for an array, ``v`` itself for a scalar (scalar broadcasting)."""


@overload(_pick)
def _pick_ov(v, k):
    if isinstance(v, types.Array):
        return lambda v, k: v[k]
    return lambda v, k: v


def _length(v, default):
    """``len(v)`` for an array, ``default`` for a scalar."""


@overload(_length)
def _length_ov(v, default):
    if isinstance(v, types.Array):
        return lambda v, default: v.shape[0]
    return lambda v, default: default


@register_jitable
def _checked_index(i, size):
    if i < -size or i >= size:
        raise IndexError("index out of bounds")
    return i + size if i < 0 else i


# ---------------------------------------------------------------------------------------------
# Reductions over the middle axis of a (pre, n, post) array, giving a (pre, post) array.


@register_jitable
def _sum3(x3, mean):
    """Sum (or mean) over axis 1, accumulated in float64 one row of ``post`` at a time (of a
    float array: `_whole` converts the others first)."""
    pre, n, post = x3.shape
    out = np.empty((pre, post), x3.dtype)
    if post == 1:  # along the last axis: a number accumulates (2.5x faster than the below)
        for i in range(pre):
            total = 0.0
            for j in range(n):
                total += x3[i, j, 0]
            out[i, 0] = _mean_of(total, n) if mean else total
        return out
    acc = np.empty(post, np.float64)
    for i in range(pre):
        for k in range(post):
            acc[k] = 0.0
        for j in range(n):
            for k in range(post):
                acc[k] += x3[i, j, k]
        for k in range(post):
            out[i, k] = _mean_of(acc[k], n) if mean else acc[k]
    return out


@register_jitable
def _mean_of(total, n):
    # the mean of nothing is NaN, as in NumPy (minus its RuntimeWarning)
    return total / n if n > 0 else np.nan


def _whole(x, pyfunc):
    """For a sum or mean of an int or bool array, the dtype NumPy computes it in (the sum of
    int64 or bool: int64, exact; a mean: float64); None otherwise (and for int64 sums)."""
    if pyfunc not in (rt.rsum, rt.rmean) or isinstance(x.dtype, types.Float):
        return None
    if pyfunc is rt.rmean:
        return np.float64
    return None if x.dtype == types.int64 else np.int64


@register_jitable
def _sum3_whole(x3, mean):
    """Sum over axis 1 of an int64 array, exact (in int64, as NumPy)."""
    pre, n, post = x3.shape
    out = np.zeros((pre, post), x3.dtype)
    for i in range(pre):
        for j in range(n):
            for k in range(post):
                out[i, k] += x3[i, j, k]
    return out


def _register_reduction(pyfunc, reduce3, flag):
    """Register ``pyfunc`` as ``reduce3(x3, flag)`` on the (pre, n, post) view of x."""

    @_implements(pyfunc, prefer_literal=True)
    def typer(x, axis, keepdims):
        if _is_scalar(x):
            return lambda x, axis, keepdims: x
        if not isinstance(x, types.Array):
            return None
        if not isinstance(keepdims, types.BooleanLiteral):
            raise errors.TypingError(f"{pyfunc.__name__}: keepdims must be a literal True/False")
        if x.ndim == 0:  # NumPy returns a scalar here, even with keepdims=True
            if not _is_none(axis):
                raise errors.TypingError(f"{pyfunc.__name__}: axis given for a 0-d array")
            return lambda x, axis, keepdims: x[()]
        whole = _whole(x, pyfunc)
        if whole is not None:  # an int or bool array: NumPy's result dtype, summed exactly
            return lambda x, axis, keepdims: pyfunc(x.astype(whole), axis, keepdims)
        mask = runtime_axes.reduced_mask(axis, x.ndim, pyfunc.__name__)
        if mask is not None:  # a tuple of axes
            return runtime_axes.reduction(x, keepdims, mask, pyfunc.__name__[1:])
        exact = reduce3 is _sum3 and x.dtype == types.int64
        reduce = _sum3_whole if exact else reduce3
        if not keepdims.literal_value and (_is_none(axis) or x.ndim == 1):

            def scalar_impl(x, axis, keepdims):
                return reduce(_as3d(x, _norm(axis, x.ndim)), flag)[0, 0]

            return scalar_impl

        def impl(x, axis, keepdims):
            k = _norm(axis, x.ndim)
            return reduce(_as3d(x, k), flag).reshape(_reduced_shape(x.shape, k, keepdims))

        return impl


_register_reduction(rt.rsum, _sum3, False)
_register_reduction(rt.rmean, _sum3, True)
_register_reduction(rt.rmax, extreme3, True)
_register_reduction(rt.rmin, extreme3, False)


# ---------------------------------------------------------------------------------------------
# Elementwise and shape helpers.


@_implements(rt.number)
def _number_ov(x):
    if isinstance(x, types.Array) and x.ndim == 0:
        return lambda x: x[()]
    return lambda x: x


@_implements(rt.zeros_like)
def _zeros_like_ov(x):
    if isinstance(x, types.Array):
        return lambda x: np.zeros_like(x)
    if _is_scalar(x):
        cls = _float_class(x)
        return lambda x: cls(0)


@register_jitable
def _shape_array(shape):
    dims = np.empty(len(shape), np.int64)
    for i in range(len(shape)):
        dims[i] = shape[i]
    return dims


@register_jitable
def _sum_broadcast(flat_g, g_shape, acc, like_shape):
    """Add g (flat, C order, shape g_shape) into acc (flat, shape like_shape), NumPy-broadcasting.

    Walk the broadcast shape of (g, like) in C order; each position maps to a flat element of
    g and of acc via per-axis strides, which are 0 on axes being broadcast.  Shapes are passed
    as arrays so this is compiled once per dtype, not once per pair of ndims.
    """
    nd = max(len(g_shape), len(like_shape))
    shape = np.ones(nd, np.int64)
    g_stride = np.zeros(nd, np.int64)
    acc_stride = np.zeros(nd, np.int64)
    stride = 1
    for a in range(len(g_shape) - 1, -1, -1):
        d = a + nd - len(g_shape)
        shape[d] = g_shape[a]
        if g_shape[a] != 1:
            g_stride[d] = stride
        stride *= g_shape[a]
    stride = 1
    for a in range(len(like_shape) - 1, -1, -1):
        d = a + nd - len(like_shape)
        if like_shape[a] != 1:
            if shape[d] == 1:
                shape[d] = like_shape[a]  # g is broadcast up along this axis
            elif shape[d] != like_shape[a]:
                raise ValueError("sum_to: shapes are not broadcast-compatible")
            acc_stride[d] = stride
        stride *= like_shape[a]
    for pos in range(np.prod(shape)):
        rem, gi, ai = pos, 0, 0
        for d in range(nd - 1, -1, -1):
            i = rem % shape[d]
            rem //= shape[d]
            gi += i * g_stride[d]
            ai += i * acc_stride[d]
        acc[ai] += flat_g[gi]


def _sum_to_arrays(g, like):
    acc = np.zeros(like.size, np.float64)
    flat_g = np.ascontiguousarray(g).ravel()
    _sum_broadcast(flat_g, _shape_array(g.shape), acc, _shape_array(like.shape))
    out = np.empty(like.size, like.dtype)  # a plain loop compiles faster than astype
    for i in range(like.size):
        out[i] = acc[i]
    return out.reshape(like.shape)


@_implements(rt.sum_to)
def _sum_to_ov(g, like):
    g_arr, like_arr = isinstance(g, types.Array), isinstance(like, types.Array)
    if _is_scalar(like):
        if g_arr:
            return lambda g, like: np.sum(g)
        if _is_scalar(g):
            return lambda g, like: g
    elif like_arr:
        if _is_scalar(g):
            return lambda g, like: np.full(like.shape, g, like.dtype)
        if g_arr:
            return _sum_to_arrays


@register_jitable
def _step1(v):
    if v > 0:
        return 1.0
    if v < 0:
        return 0.0
    if v == 0:
        return 0.5
    return np.nan


@_implements(rt.maximum)
def _maximum_ov(a, b):
    return rt.maximum


@_implements(rt.minimum)
def _minimum_ov(a, b):
    return rt.minimum


@_implements(rt.step)
def _step_ov(x):
    cls = _float_class(x)
    if _is_scalar(x):
        return lambda x: cls(_step1(x))
    if isinstance(x, types.Array) and x.ndim == 0:  # a scalar result, like np.heaviside
        return lambda x: cls(_step1(x[()]))
    if isinstance(x, types.Array):

        def impl(x):
            flat = np.ascontiguousarray(x).ravel()
            out = np.empty(flat.size, cls)
            for i in range(flat.size):
                out[i] = _step1(flat[i])
            return out.reshape(x.shape)

        return impl


@_implements(rt.reshape_to)
def _reshape_to_ov(g, like):
    g_arr = isinstance(g, types.Array)
    if _is_scalar(like):
        if g_arr:
            return lambda g, like: np.ascontiguousarray(g).reshape(())[()]
        if _is_scalar(g):
            return lambda g, like: g
    elif isinstance(like, types.Array):
        if g_arr:
            return lambda g, like: np.ascontiguousarray(g).reshape(like.shape)
        if _is_scalar(g):
            return lambda g, like: np.full(like.shape, g)


# ---------------------------------------------------------------------------------------------
# Scatter-adds (in place).  Index arrays must be 1-D; values may be a scalar or an array whose
# first axis matches the indices (rows of a 2-D target for add_at_1d).  A boolean mask stands
# for its True positions (x[mask] gathers those), never for the indices 0 and 1.


def _positions(idx, size):
    """The integer indices an index array stands for along an axis of length `size`: a
    boolean mask's True positions (as NumPy reads ``x[mask]``), other indices as they are."""


@overload(_positions)
def _positions_ov(idx, size):
    if isinstance(idx, types.Array) and isinstance(idx.dtype, types.Boolean):
        if idx.ndim != 1:
            raise errors.TypingError(
                "ad_compiler: numba indexes with one-dimensional boolean masks only; for a "
                "mask of several dimensions write X.ravel()[M.ravel()]"
            )

        def mask(idx, size):
            if idx.shape[0] != size:
                raise IndexError("boolean index did not match indexed array along axis")
            return np.flatnonzero(idx)

        return mask
    return lambda idx, size: idx


@_implements(rt.add_at_1d)
def _add_at_1d_ov(target, idx, values):
    if not isinstance(target, types.Array):
        return None
    if isinstance(idx, types.Integer):

        def one(target, idx, values):
            target[_checked_index(idx, target.shape[0])] += values

        return one
    if isinstance(idx, types.Array) and (idx.ndim == 1 or isinstance(idx.dtype, types.Boolean)):

        def impl(target, idx, values):
            at = _positions(idx, target.shape[0])
            n = at.shape[0]
            if _length(values, n) != n:
                raise ValueError("add_at_1d: idx and values have different lengths")
            for k in range(n):
                target[_checked_index(at[k], target.shape[0])] += _pick(values, k)

        return impl


@_implements(rt.add_at_2d)
def _add_at_2d_ov(target, rows, cols, values):
    if not isinstance(target, types.Array) or target.ndim < 2:
        return None
    for index in (rows, cols):
        if not (
            isinstance(index, types.Integer) or (isinstance(index, types.Array) and index.ndim == 1)
        ):
            return None

    def impl(target, rows, cols, values):
        at_rows = _positions(rows, target.shape[0])
        at_cols = _positions(cols, target.shape[1])
        n = _length(at_rows, _length(at_cols, 1))
        if _length(at_cols, n) != n or _length(values, n) != n:
            raise ValueError("add_at_2d: rows, cols and values have different lengths")
        for k in range(n):
            i = _checked_index(_pick(at_rows, k), target.shape[0])
            j = _checked_index(_pick(at_cols, k), target.shape[1])
            target[i, j] += _pick(values, k)

    return impl


# ---------------------------------------------------------------------------------------------
# Lists of arrays grown in loops of run-time length (growing.py).


@_implements(rt.list_buffer)
def _list_buffer_ov(size, like):
    if _is_scalar(like):
        return lambda size, like: np.zeros(size)
    if isinstance(like, types.Array):
        return lambda size, like: np.zeros((size,) + like.shape)


@_implements(rt.checked_item)
def _checked_item_ov(item, buffer):
    if _is_scalar(item):
        return lambda item, buffer: item
    if isinstance(item, types.Array):

        def impl(item, buffer):
            if item.shape != buffer.shape[1:]:
                raise ValueError("a list grown in a loop holds arrays of different shapes")
            return item

        return impl


@_implements(rt.cotangent)
def _cotangent_ov(c, value):
    if isinstance(c, types.Array) and isinstance(value, types.Array) and c.ndim == value.ndim:

        def impl(c, value):
            if c.shape != value.shape:
                raise ValueError(
                    "vjp: the cotangent does not have the shape of the function's output"
                )
            return c

        return impl


# Numba implementations of further helpers: linear algebra, shape functions. (Those calling
# scipy.special's kernels are in runtime_special_numba.py, imported only where needed.)
from ad_compiler import (  # noqa: E402,F401
    runtime_decomp_numba,
    runtime_ints,
    runtime_linalg,
    runtime_reduction_grads_numba,
    runtime_reductions,
    runtime_shapes,
)


@_implements(rt.list_index)
def _list_index_ov(i, count):
    def impl(i, count):
        j = i + count if i < 0 else i
        if not 0 <= j < count:
            raise IndexError("list index out of range")
        return j

    return impl


# Numba implementations of the product helpers of rules/products.py, and of `@`/np.dot on
# stacks of matrices; of the helpers of rules/selection.py and rules/selection_more.py; the
# index checks of bounds.py.
from ad_compiler import (  # noqa: E402,F401
    runtime_bounds_numba,
    runtime_ints_numba,
    runtime_products_numba,
    runtime_selection_more_numba,
    runtime_selection_numba,
    runtime_tangents_numba,
)

# The helpers of fused loops, and max()/min() of a run-time sequence: the same functions.
for _helper in (rt.swap_last_axes, rt.max_abs, rt.may_overflow, rt.pymax, rt.pymin):
    _implements(_helper)(compiled_as_written(_helper))
