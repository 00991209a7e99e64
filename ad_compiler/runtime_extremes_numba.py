"""Max and min over the middle axis of a C-contiguous (pre, n, post) view, for numba programs
(rt.rmax, rt.rmin: runtime_numba.py registers them).

The values are NumPy's: a NaN anywhere in a slice makes its result NaN. Of tied 0.0 and -0.0
either may come back: NumPy's own choice depends on the length and the CPU's vector width
(np.max of nine zeros of mixed signs differs from its choice for eight on AVX-512), and numba's
np.max, which whole-array reductions in numba programs call, keeps the first.

Why not one loop with a compare and a branch per element: it is a dependency chain, 0.7 ns an
element (k-means' distances to their nearest centroid, 10^6 of them, took 0.72 ms). Along the
last axis (post == 1) four running extremes over interleaved elements break the chain (0.33 ms;
rows shorter than 16 keep the plain loop, faster there); otherwise the inner loop runs along
`post`, element by element, which LLVM vectorizes.
"""

import numpy as np
from numba.extending import register_jitable


@register_jitable
def _beats(v, m, is_max):
    """Whether v replaces the running extreme m: a NaN always does, and once m is NaN nothing
    compares true, so it stays."""
    return (v > m if is_max else v < m) or v != v


@register_jitable
def _row_extreme(x2, i, n, is_max):
    """The extreme of row i of x2 (n >= 1) by four interleaved running extremes (strict
    comparisons: ties are settled after), with a flag for any NaN."""
    m0 = m1 = m2 = m3 = x2[i, 0]
    nan = x2[i, 0] != x2[i, 0]
    j = 1
    while j + 4 <= n:
        v0, v1, v2, v3 = x2[i, j], x2[i, j + 1], x2[i, j + 2], x2[i, j + 3]
        if is_max:
            m0, m1 = (v0 if v0 > m0 else m0), (v1 if v1 > m1 else m1)
            m2, m3 = (v2 if v2 > m2 else m2), (v3 if v3 > m3 else m3)
        else:
            m0, m1 = (v0 if v0 < m0 else m0), (v1 if v1 < m1 else m1)
            m2, m3 = (v2 if v2 < m2 else m2), (v3 if v3 < m3 else m3)
        nan |= (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3)
        j += 4
    while j < n:
        v0 = x2[i, j]
        m0 = v0 if (v0 > m0 if is_max else v0 < m0) else m0
        nan |= v0 != v0
        j += 1
    if nan:  # the first NaN (of the row's dtype: a float np.nan would retype int rows)
        for j in range(n):
            if x2[i, j] != x2[i, j]:
                return x2[i, j]
    for m in (m1, m2, m3):
        m0 = m if (m > m0 if is_max else m < m0) else m0
    return m0


@register_jitable
def extreme3(x3, is_max):
    """Max (or min) of x3 over axis 1, as NumPy's np.max/np.min."""
    pre, n, post = x3.shape
    if n == 0 and pre * post > 0:
        raise ValueError("zero-size array to reduction operation which has no identity")
    out = np.empty((pre, post), x3.dtype)
    if n == 0:
        return out
    if post == 1 and n >= 16:
        x2 = x3.reshape((pre, n))
        for i in range(pre):
            out[i, 0] = _row_extreme(x2, i, n, is_max)
        return out
    if post == 1:  # short rows: one running extreme
        for i in range(pre):
            m = x3[i, 0, 0]
            for j in range(1, n):
                v = x3[i, j, 0]
                if _beats(v, m, is_max):
                    m = v
            out[i, 0] = m
        return out
    for i in range(pre):
        for k in range(post):
            out[i, k] = x3[i, 0, k]
        for j in range(1, n):
            for k in range(post):
                v = x3[i, j, k]
                if _beats(v, out[i, k], is_max):
                    out[i, k] = v
    return out
