"""Runtime helpers of rules/selection_more.py: the pieces of np.split and its relatives, np.take,
np.median and np.select, with their adjoints. Numba versions are in
runtime_selection_more_numba.py.

A split's number of pieces is known when compiling (it is a constant), their bounds are not:
they depend on the length of the split axis, so each piece is cut here, at run time, as NumPy
cuts it (Python's slice semantics for a list of indices; NumPy's uneven pieces of
np.array_split, the first ones one longer).
"""

import numpy as np

# np.take's modes, passed to the helpers as their index here
TAKE_MODES = ("raise", "wrap", "clip")


def split_count_bounds(n, count, item, even):
    """(start, stop) of piece `item` of `count` pieces of an axis of length n (NumPy's
    np.array_split; np.split, `even`, wants pieces of one length)."""
    if count <= 0:
        raise ValueError("number sections must be larger than 0.")
    if even and n % count:
        raise ValueError("array split does not result in an equal division")
    each, extra = divmod(n, count)
    start = item * each + min(item, extra)
    return start, start + each + (1 if item < extra else 0)


def split_axis(ndim, axis):
    """The axis a split cuts: `axis`, or for np.hsplit (axis None) 1, or 0 for 1-D arrays."""
    if axis is None:
        return 1 if ndim > 1 else 0
    return axis


def _piece_index(x, sections, axis, item, even):
    axis = split_axis(x.ndim, axis) % x.ndim
    if isinstance(sections, int):
        start, stop = split_count_bounds(x.shape[axis], sections, item, even)
    else:
        points = (0,) + tuple(sections) + (x.shape[axis],)
        start, stop = points[item], points[item + 1]
    return (slice(None),) * axis + (slice(start, stop),)


def split_piece(x, sections, axis, item, even):
    """Piece `item` of ``np.split(x, sections, axis)`` (``np.array_split`` when not even)."""
    return x[_piece_index(x, sections, axis, item, even)]


def split_piece_grad(g, x, sections, axis, item, even):
    """Adjoint of ``split_piece``: g in its place in zeros shaped like x."""
    res = np.zeros(x.shape, np.result_type(g, x))
    res[_piece_index(x, sections, axis, item, even)] = g
    return res


def take(a, indices, axis, mode):
    """``np.take(a, indices, axis, mode=TAKE_MODES[mode])``."""
    return np.take(a, indices, axis=axis, mode=TAKE_MODES[mode])


def take_grad(g, a, indices, axis, mode):
    """Adjoint of ``take``: g scattered back, entries taken more than once accumulating."""
    res = np.zeros(a.shape, np.result_type(g, a))
    target = res.reshape(-1) if axis is None else res
    k = 0 if axis is None else axis % a.ndim
    n = target.shape[k]
    idx = np.asarray(indices)
    if mode == 1:
        idx = idx % n
    elif mode == 2:
        idx = np.clip(idx, 0, n - 1)
    np.add.at(target, (slice(None),) * k + (idx,), g)
    return res


def median(a, axis, keepdims):
    """``np.median(a, axis, keepdims=keepdims)``."""
    return np.median(a, axis=axis, keepdims=keepdims)


def _last_axes(a, axis):
    """a with the reduced axes moved last and flattened into one: (rest..., n)."""
    axes = tuple(range(a.ndim)) if axis is None else axis
    axes = tuple(k % a.ndim for k in (axes if isinstance(axes, tuple) else (axes,)))
    rest = [k for k in range(a.ndim) if k not in axes]
    moved = np.transpose(a, rest + list(axes))
    return moved.reshape(moved.shape[: len(rest)] + (-1,)), rest, axes


def quantile_weights(n, q):
    """The sorted positions a linear quantile q of n values reads and their weights:
    (lower, upper, weight of upper)."""
    virtual = q * (n - 1)
    lower = min(max(int(np.floor(virtual)), 0), n - 1)
    upper = min(lower + 1, n - 1)
    return lower, upper, virtual - lower


def quantile_grad(g, a, q, axis, keepdims):
    """Adjoint of ``np.quantile(a, q, axis, keepdims=keepdims)`` (method 'linear'), and so of
    ``median`` (q = 0.5): each quantile's gradient goes
    to the entries at its two neighbouring sorted positions, (1 - t) and t, the entries ranked
    as np.sort's stable sort ranks them."""
    flat, rest, axes = _last_axes(a, axis)
    n = flat.shape[-1]
    qs = np.atleast_1d(q)
    g = np.asarray(g).reshape(qs.shape + flat.shape[:-1])
    ranked = np.zeros(flat.shape, np.result_type(g, a))  # by sorted position
    for j, qj in enumerate(qs):
        if n:
            lower, upper, t = quantile_weights(n, qj)
            ranked[..., lower] += (1 - t) * g[j]
            ranked[..., upper] += t * g[j]
    res = np.zeros(flat.shape, ranked.dtype)
    np.put_along_axis(res, np.argsort(flat, axis=-1, kind="stable"), ranked, -1)
    moved_shape = tuple(a.shape[k] for k in rest) + tuple(a.shape[k] for k in axes)
    return np.transpose(res.reshape(moved_shape), np.argsort(rest + list(axes)))


def median_grad(g, a, axis, keepdims):
    """Adjoint of ``median``."""
    return quantile_grad(g, a, 0.5, axis, keepdims)


def select(conds, choices, default):
    """``np.select(list(conds), list(choices), default)``: conds is the conditions stacked."""
    return np.select(list(conds), list(choices), default)


def select_mask(g, conds, item):
    """The part of g where np.select took choice `item` (item len(conds): the default): where
    its condition holds and no earlier one does. g has the shape of the selection."""
    conds = np.broadcast_to(conds, (len(conds),) + np.shape(g))
    taken = ~np.any(conds[:item], axis=0)
    if item < len(conds):
        taken &= conds[item]
    return np.where(taken, g, np.zeros((), np.asarray(g).dtype))
