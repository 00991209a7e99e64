"""The base of the runtime helpers (runtime.py re-exports them): whether a value is an array,
a zero like a value, and the adjoint of a sum along axes, which the reductions' adjoints in
runtime.py and runtime_scans.py build on."""

import numpy as np


def _is_array(x):
    return isinstance(x, np.ndarray)


def zeros_like(x):
    """A zero of the same kind as ``x`` (array of zeros, or float scalar 0 of x's precision)."""
    if _is_array(x):
        return np.zeros_like(x)
    if isinstance(x, np.floating):
        return x.dtype.type(0)
    return 0.0


def _keep_reduced_dims(a, axis, keepdims):
    """Reinsert the reduced axis into a reduction result ``a`` so it broadcasts against x."""
    if axis is not None and not keepdims and _is_array(a):
        return np.expand_dims(a, axis)
    return a  # a scalar, or already has keepdims shape


def reduce_grad(g, x, axis, keepdims):
    """Adjoint of ``rsum``: broadcast ``g`` back to ``x.shape`` along the reduced axis."""
    if not _is_array(x):
        return g
    out = np.empty(x.shape, dtype=x.dtype)
    out[...] = _keep_reduced_dims(g, axis, keepdims)
    return out


def pymax(a):
    """`max()` of a sequence of numbers (a 1-d array), as Python computes it: the first item
    unless a later one is greater, so a NaN after the first is skipped and a NaN first is the
    result (np.max returns NaN for any). numba compiles this same function."""
    if a.size == 0:
        raise ValueError("max() arg is an empty sequence")
    first = a[0]
    return first if first != first else np.nanmax(a)


def pymin(a):
    """`min()` of a sequence of numbers, as Python computes it (see pymax)."""
    if a.size == 0:
        raise ValueError("min() arg is an empty sequence")
    first = a[0]
    return first if first != first else np.nanmin(a)
