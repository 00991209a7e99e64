"""Helpers of the loops fusion.py writes (numba programs only; runtime_numba.py compiles these
same functions)."""

import numpy as np


def swap_last_axes(a):
    """A C-ordered copy of `a` with its last two axes swapped: a fused loop whose innermost
    index runs along the second-to-last axis then reads consecutive elements."""
    return np.ascontiguousarray(np.swapaxes(a, -1, -2))


def max_abs(a):
    """The largest magnitude of an element of array `a` (0.0 when empty), inf when one is NaN:
    an upper bound of every |element|."""
    largest = 0.0
    for v in a.flat:
        magnitude = abs(v)
        if magnitude > largest:
            largest = magnitude
        elif magnitude != magnitude:
            return np.inf
    return float(largest)


def may_overflow(bound):
    """Whether a bound computed by interval arithmetic is not a finite number."""
    return not bound < np.inf


def extreme_grad_over(g, x, out, axis, keepdims):
    """rt.extreme_grad written over x, which nothing reads afterwards (fusion_reuse.py)."""
    from ad_compiler.runtime import extreme_grad

    x[...] = extreme_grad(g, x, out, axis, keepdims)
    return x
