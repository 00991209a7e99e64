"""Forward-mode helpers (tangent_rules.py) for scans: the tangents of np.cumprod and np.sort
along an axis (numba: runtime_tangents_numba.py). ``v`` is the tangent of ``x``, ``out`` the
operation's result; both helpers take an integer axis (the rule flattens for axis None)."""

import numpy as np


def _lines(v, x, axis):
    return np.moveaxis(v, axis, -1).reshape(-1, x.shape[axis])


def _back(lines, x, axis):
    return np.moveaxis(lines.reshape(np.moveaxis(x, axis, -1).shape), -1, axis)


def cumprod_tangent(v, x, out, axis):
    """The tangent of ``cumprod(x, axis)`` along ``v``: d_j = d_(j-1) x_j + out_(j-1) v_j,
    exact where x has zeros (no division)."""
    vs, xs, outs = (_lines(a, x, axis) for a in (v, x, out))
    d = np.empty(vs.shape, dtype=np.result_type(vs, xs))
    if d.shape[1]:
        d[:, 0] = vs[:, 0]
    for j in range(1, d.shape[1]):
        d[:, j] = d[:, j - 1] * xs[:, j] + outs[:, j - 1] * vs[:, j]
    return _back(d, x, axis)


def sort_tangent(v, x, axis):
    """The tangent of ``sort(x, axis)`` along ``v``: v in the order that sorts x (a stable
    order, as ``sort_grad`` scatters back through)."""
    order = np.argsort(x, axis=axis, kind="stable")
    return np.take_along_axis(v, order, axis=axis)
