"""Runtime helpers of rules/selection.py: padding, partitions, finite differences (np.gradient),
diagonals, FFT shifts, joining the rows of one array (np.vstack(A)), weighted averages.

They are re-exported by ad_compiler.runtime (generated code calls `rt.pad(...)`); their numba
versions are in runtime_selection_numba.py. The kernels written in the numba subset
(`pad_index`, `gradient_front`, `gradient_front_grad`) are shared by both.
"""

import numpy as np

# np.pad's modes, as the int codes generated code passes (a literal numba can branch on).
PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def rollaxis(x, axis, start):
    """``np.rollaxis(x, axis, start)``."""
    return np.rollaxis(x, axis, start)


def pad_index(n, before, after, mode):
    """For each position of an axis of length n padded by (before, after): the position of x it
    copies, or -1 for the constant. NumPy pads wider than n as the periodic extension of x."""
    if n == 0 and mode != 0 and before + after > 0:
        raise ValueError("can't extend empty axis using modes other than 'constant' or 'empty'")
    m = before + n + after
    idx = np.empty(m, np.int64)
    for j in range(m):
        k = j - before
        if 0 <= k < n:
            idx[j] = k
        elif mode == 0:
            idx[j] = -1
        elif mode == 1:
            idx[j] = 0 if k < 0 else n - 1
        elif mode == 4:
            idx[j] = k % n
        elif mode == 2:
            if n == 1:
                idx[j] = 0
            else:
                r = k % (2 * n - 2)
                idx[j] = r if r < n else 2 * n - 2 - r
        else:
            r = k % (2 * n)
            idx[j] = r if r < n else 2 * n - 1 - r
    return idx


def pad_widths(pad_width, ndim):
    """np.pad's pad_width (an int, a pair, or a pair per axis) as an (ndim, 2) array."""
    return np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (ndim, 2))


def pad(x, pad_width, mode, value):
    """``np.pad(x, pad_width, mode=PAD_MODES[mode])`` (constant_values=value, constant mode)."""
    if mode == 0:
        return np.pad(x, pad_width, mode="constant", constant_values=value)
    return np.pad(x, pad_width, mode=PAD_MODES[mode])


def pad_grad(g, x, pad_width, mode):
    """Adjoint of ``pad``: each entry of g added back to the entry of x it copies."""
    widths = pad_widths(pad_width, x.ndim)
    for d in range(x.ndim):
        idx = pad_index(x.shape[d], widths[d, 0], widths[d, 1], mode)
        kept = idx >= 0
        moved = np.moveaxis(g, d, 0)
        out = np.zeros((x.shape[d],) + moved.shape[1:], g.dtype)
        np.add.at(out, idx[kept], moved[kept])
        g = np.moveaxis(out, 0, d)
    return g


def partition(x, kth, axis):
    """``np.partition(x, kth, axis)``."""
    return np.partition(x, kth, axis=axis)


def partition_grad(g, x, out, axis):
    """Adjoint of ``partition``: out is a permutation of x along the axis, so the k-th smallest
    entry of out (its gradient g there) came from the k-th smallest of x (stable orders: ties,
    where the derivative does not exist, are told apart by position)."""
    if axis is None:
        return partition_grad(g, np.ravel(x), out, -1).reshape(np.shape(x))
    gs = np.take_along_axis(g, np.argsort(out, axis=axis, kind="stable"), axis=axis)
    res = np.zeros(np.shape(x), g.dtype)
    np.put_along_axis(res, np.argsort(x, axis=axis, kind="stable"), gs, axis=axis)
    return res


def gradient_front(f, out, h, edge_order):
    """np.gradient of f along its first axis with spacing h, written into out."""
    n = f.shape[0]
    if n < edge_order + 1:
        raise ValueError(
            "Shape of array too small to calculate a numerical gradient, "
            "at least (edge_order + 1) elements are required."
        )
    out[1:-1] = (f[2:] - f[:-2]) / (2.0 * h)
    if edge_order == 1:
        out[0] = (f[1] - f[0]) / h
        out[-1] = (f[-1] - f[-2]) / h
    else:
        out[0] = (-1.5 * f[0] + 2.0 * f[1] - 0.5 * f[2]) / h
        out[-1] = (0.5 * f[-3] - 2.0 * f[-2] + 1.5 * f[-1]) / h


def gradient_front_grad(g, res, h, edge_order):
    """Adjoint of ``gradient_front``: the transpose of its difference stencils, added to res."""
    inner = g[1:-1] / (2.0 * h)
    res[2:] += inner
    res[:-2] -= inner
    first, last = g[0] / h, g[-1] / h
    if edge_order == 1:
        res[1] += first
        res[0] -= first
        res[-1] += last
        res[-2] -= last
    else:
        res[0] -= 1.5 * first
        res[1] += 2.0 * first
        res[2] -= 0.5 * first
        res[-3] += 0.5 * last
        res[-2] -= 2.0 * last
        res[-1] += 1.5 * last


def _one_axis(axis):
    return 0 if axis is None else axis[0] if isinstance(axis, tuple) else axis


def gradient(f, h, axis, edge_order):
    """``np.gradient(f, h, axis=axis, edge_order=edge_order)`` along one axis."""
    return np.gradient(f, h, axis=_one_axis(axis), edge_order=edge_order)


def gradient_grad(g, h, axis, edge_order):
    """Adjoint of ``gradient`` with respect to f."""
    d = _one_axis(axis)
    res = np.zeros_like(g)
    gradient_front_grad(np.moveaxis(g, d, 0), np.moveaxis(res, d, 0), h, edge_order)
    return res


def diagonal(x, offset, axis1, axis2):
    """``np.diagonal(x, offset, axis1, axis2)`` (a copy)."""
    return np.diagonal(x, offset, axis1, axis2).copy()


def diagonal_grad(g, x, offset, axis1, axis2):
    """Adjoint of ``diagonal``: g put on the diagonal of zeros shaped like x."""
    res = np.zeros(x.shape, g.dtype)
    moved = np.moveaxis(res, (axis1, axis2), (-2, -1))
    n, m = moved.shape[-2:]
    length = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    rows = np.arange(length) + max(-offset, 0)
    moved[..., rows, rows + offset] = g
    return res


def fftshift(x, axes, inverse):
    """``np.fft.fftshift(x, axes)``, or ``ifftshift`` when inverse."""
    return np.fft.ifftshift(x, axes) if inverse else np.fft.fftshift(x, axes)


def vstack_of(a):
    """``np.vstack(a)`` of one array (its rows are the items)."""
    return np.vstack(a)


def hstack_of(a):
    """``np.hstack(a)`` of one array."""
    return np.hstack(a)


def column_stack_of(a):
    """``np.column_stack(a)`` of one array."""
    return np.column_stack(a)


def hstack_of_grad(g, a):
    """Adjoint of ``hstack_of`` (and of ``column_stack_of`` for 3 or more dimensions): the
    items a[i] were laid side by side along their axis 1."""
    if a.ndim <= 2:
        return g.reshape(a.shape)
    shape = (a.shape[1], a.shape[0], a.shape[2]) + a.shape[3:]
    return np.moveaxis(g.reshape(shape), 1, 0)


def column_stack_of_grad(g, a):
    """Adjoint of ``column_stack_of``."""
    if a.ndim == 2:
        return np.ascontiguousarray(g.T)
    return hstack_of_grad(g, a)


def weighted_average(a, w, axis, keepdims):
    """``np.average(a, axis, weights=w, keepdims=keepdims)``."""
    return np.average(a, axis, weights=w, keepdims=keepdims)
