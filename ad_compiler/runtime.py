"""Runtime helpers called by generated gradient code.

Every function here works on plain Python/NumPy values.  After ``import ad_compiler.runtime_numba``
the same functions can also be called from ``@numba.njit`` code (numba implementations are
registered for these function objects), so generated code always writes ``rt.<name>(...)``.

Values called ``x``, ``g`` or ``like`` are float scalars (Python float, NumPy float scalar) or
NumPy float arrays.  ``axis`` is ``None``, an int or a tuple of ints (negative allowed),
``keepdims`` a bool; in generated code both are literal constants (numba needs ``keepdims`` of
the reductions to be one, and the axes of a tuple).

Conventions:

* Functions return new values and never mutate their inputs, except ``add_at_1d`` and
  ``add_at_2d``, which add into their first argument in place and return ``None``.  A result may
  still share memory with an input (e.g. ``sum_to`` when no summing is needed), so callers must
  not mutate results in place either.
* ``extreme_grad`` (adjoint of max/min) splits the gradient evenly among ties: every position
  equal to the extreme value gets ``g / count``.  NaN counts as equal to a NaN extreme.
* ``step(0) == 0.5`` (Heaviside step, used e.g. for the derivative of ``abs``/``maximum``).
* Gradient arrays w.r.t. ``x`` (``reduce_grad``, ``mean_grad``, ``extreme_grad``, ``sum_to``) have
  the dtype of ``x`` / ``like``.
"""

import numpy as np

__all__ = [
    "zeros_like",
    "sum_to",
    "rsum",
    "rmean",
    "rmax",
    "rmin",
    "reduce_grad",
    "mean_grad",
    "extreme_grad",
    "step",
    "add_at_1d",
    "add_at_2d",
    "reshape_to",
]


from ad_compiler.runtime_reduce import (  # noqa: F401
    _is_array,
    _keep_reduced_dims,
    pymax,
    pymin,
    reduce_grad,
    zeros_like,
)


def number(x):
    """The number a 0-d array holds (numba programs take float() and int() of it), else x."""
    return x[()] if _is_array(x) and x.ndim == 0 else x


def sum_to(g, like):
    """Sum ``g`` (which has a broadcast result shape) down to the shape of ``like``.

    This is the adjoint of NumPy broadcasting ``like`` up to ``g.shape``.
    """
    if type(g) is np.ndarray and type(like) is np.ndarray and g.ndim == like.ndim:
        # The common cases, kept cheap: equal shapes, or length-1 axes of like (keepdims).
        axes = tuple(k for k, n in enumerate(like.shape) if n == 1 and g.shape[k] != 1)
        if axes and all(n in (1, g.shape[k]) for k, n in enumerate(like.shape)):
            g = g.sum(axis=axes, keepdims=True)
        if g.shape == like.shape:
            return g if g.dtype == like.dtype else g.astype(like.dtype)
    if not _is_array(like):
        return np.sum(g) if _is_array(g) else g
    if not _is_array(g):
        return np.full(like.shape, g, dtype=like.dtype)
    if g.ndim < like.ndim or any(
        a == 1 and b != 1 for a, b in zip(g.shape[::-1], like.shape[::-1])
    ):
        # g itself needs broadcasting (fewer dims, or length 1 where like is longer).
        g = np.broadcast_to(g, np.broadcast_shapes(g.shape, like.shape))
    lead = g.ndim - like.ndim
    axes = tuple(range(lead)) + tuple(
        lead + k for k, n in enumerate(like.shape) if n == 1 and g.shape[lead + k] != 1
    )
    return np.sum(g, axis=axes).reshape(like.shape).astype(like.dtype, copy=False)


def rsum(x, axis, keepdims):
    """``np.sum(x, axis=axis, keepdims=keepdims)``; a scalar ``x`` is returned unchanged."""
    return np.sum(x, axis=axis, keepdims=keepdims) if _is_array(x) else x


def rmean(x, axis, keepdims):
    """``np.mean(x, axis=axis, keepdims=keepdims)``; a scalar ``x`` is returned unchanged."""
    return np.mean(x, axis=axis, keepdims=keepdims) if _is_array(x) else x


def rmax(x, axis, keepdims):
    """``np.max(x, axis=axis, keepdims=keepdims)``; a scalar ``x`` is returned unchanged."""
    return np.max(x, axis=axis, keepdims=keepdims) if _is_array(x) else x


def rmin(x, axis, keepdims):
    """``np.min(x, axis=axis, keepdims=keepdims)``; a scalar ``x`` is returned unchanged."""
    return np.min(x, axis=axis, keepdims=keepdims) if _is_array(x) else x


def mean_grad(g, x, axis, keepdims):
    """Adjoint of ``rmean``: ``reduce_grad`` divided by the number of elements reduced."""
    if not _is_array(x):
        return g
    out = reduce_grad(g, x, axis, keepdims)
    count = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    if count:  # count == 0 means out is empty anyway
        out /= count
    return out


def extreme_grad(g, x, out, axis, keepdims):
    """Adjoint of ``rmax``/``rmin`` (``out`` is their result): ``g`` split evenly among ties."""
    if not _is_array(x):
        return g
    out = _keep_reduced_dims(out, axis, keepdims)
    g = _keep_reduced_dims(g, axis, keepdims)
    hit = x == out
    if np.isnan(out).any():  # a NaN extreme: the NaN entries are the ones it came from
        hit |= np.isnan(x) & np.isnan(out)
    # Every reduced slice has at least one hit, so count >= 1; where() keeps an infinite g
    # from making 0 * inf = NaN at the positions that are not the extreme.
    count = hit.sum(axis=axis, keepdims=True)
    return np.where(hit, g / count, x.dtype.type(0)).astype(x.dtype, copy=False)


def maximum(a, b):
    """np.maximum of two numbers: NaN when either is (Python's max(0.0, nan) is 0.0), and b
    when they tie, as NumPy (np.maximum(-0.0, 0.0) is 0.0)."""
    return a if a > b or a != a else b


def minimum(a, b):
    """np.minimum of two numbers: NaN when either is, b when they tie."""
    return a if a < b or a != a else b


def step(x):
    """Heaviside step with ``step(0) == 0.5`` (NaN stays NaN)."""
    if not _is_array(x):
        return 0.5 + 0.5 * np.sign(x)
    out = np.sign(x)  # in place: 3x faster than np.heaviside(x, 0.5) on 16k floats
    out *= 0.5
    out += 0.5
    return out


def add_at_1d(target, idx, values):
    """``target[idx[k]] += values[k]`` for every k, accumulating repeated indices, in place."""
    np.add.at(target, idx, values)


def add_at_2d(target, rows, cols, values):
    """``target[rows[k], cols[k]] += values[k]`` in place; rows or cols may be a scalar int."""
    np.add.at(target, (rows, cols), values)


def reshape_to(g, like):
    """``g`` reshaped to ``like.shape`` (a scalar if ``like`` is a scalar)."""
    if not _is_array(like):
        return g.reshape(())[()] if _is_array(g) else g
    return np.reshape(g, like.shape)


def list_buffer(size, like):
    """The array holding a list that grows in a loop: `size` items shaped like `like`."""
    return np.zeros((size,) + np.shape(like))


def checked_item(item, buffer):
    """An item going into a growing list's array, which must have the shape of the others."""
    if np.shape(item) != buffer.shape[1:]:
        raise ValueError("a list grown in a loop holds arrays of different shapes")
    return item


COTANGENT_SHAPE = "vjp: the cotangent does not have the shape of the function's output"


def cotangent(c, value):
    """vjp's seed (vjp.py): the cotangent, which must have the shape of the function's output
    (broadcasting it would give the gradient of another function)."""
    if np.shape(c) != np.shape(value):
        raise ValueError(COTANGENT_SHAPE)
    return c


# --------------------------------------------------------------------------------------------
# scipy.special and linear algebra (rules/special.py, rules/linalg.py; numba:
# runtime_special_numba.py and runtime_linalg.py)


# The helpers whose numba versions call scipy.special's C kernels (runtime_special_numba.py and
# runtime_scipy.py): a generated numba module calling one of them imports those modules, which
# declare the kernels to numba before its cached code is loaded. (Other modules do not: importing
# scipy.special takes about 0.3 s.)
SCIPY_KERNEL_HELPERS = frozenset(
    ("special", "special2", "special3", "polygamma", "multigammaln", "logsumexp_b")
    + ("stats2", "stats3", "stats4", "stats5", "convolve", "convolve_grad")
)

# The scipy.special functions generated code calls through `special` and `special2`.
SPECIAL_UNARY = (
    "expit", "logit", "erf", "erfc", "erfinv", "erfcinv", "ndtr", "log_ndtr", "gammaln",
    "digamma", "gamma", "rgamma", "i0", "i1", "j0", "j1", "y0", "y1", "gammasgn",
)  # fmt: skip
SPECIAL_BINARY = ("xlogy", "xlog1py", "jv", "yv", "iv")
# (rules/special_more.py)
SPECIAL_BINARY += ("gammainc", "gammaincc", "beta", "betaln", "yn", "ive")
SPECIAL_TERNARY = ("betainc",)


def _scipy_special(name):
    if name == "trigamma":
        from scipy.special import polygamma

        return lambda x: polygamma(1, x)
    import scipy.special

    return getattr(scipy.special, name)


def special(name, x):
    """``scipy.special.<name>(x)``; ``name`` is a literal string in generated code."""
    return _scipy_special(name)(x)


def special2(name, x, y):
    """``scipy.special.<name>(x, y)`` (``xlogy``, ``jv`` ...), broadcasting as NumPy does."""
    return _scipy_special(name)(x, y)


def logsumexp(x, axis, keepdims):
    """``scipy.special.logsumexp(x, axis=axis, keepdims=keepdims)``."""
    from scipy.special import logsumexp as lse

    return lse(x, axis=axis, keepdims=keepdims)


def softmax(x, axis):
    """``scipy.special.softmax(x, axis=axis)``."""
    from scipy.special import softmax as sm

    return sm(x, axis=axis)


def log_softmax(x, axis):
    """``scipy.special.log_softmax(x, axis=axis)``."""
    from scipy.special import log_softmax as lsm

    return lsm(x, axis=axis)


# Shape functions (rules/shapes.py) where numba lacks NumPy's keyword; numba versions in
# runtime_shapes_numba.py.


def squeeze(x, axis):
    """``np.squeeze(x, axis)``; a result of no dimensions is a number, as the compiler's
    kinds say (NumPy gives a 0-d array)."""
    out = np.squeeze(x, axis)
    return out[()] if out.ndim == 0 else out


def expand_axes(x, axis):
    """``np.expand_dims(x, axis)`` with one axis or a tuple of them."""
    return np.expand_dims(x, axis)


def flip(x, axis):
    """``np.flip(x, axis)`` with one axis or a tuple of them."""
    return np.flip(x, axis)


def roll(x, shift, axis):
    """``np.roll(x, shift, axis)`` with one axis or a tuple of them."""
    return np.roll(x, shift, axis)


def norm(x, ord, axis, keepdims):
    """``np.linalg.norm(x, ord, axis, keepdims)``."""
    return np.linalg.norm(x, ord, axis, keepdims)


def tril_half_diagonal(x):
    """The lower triangle of (each matrix of) ``x``, its diagonal halved."""
    out = np.tril(x)
    n = x.shape[-1]
    out[..., np.arange(n), np.arange(n)] *= 0.5
    return out


def nuclear_norm_grad(x):
    """d/dx of the nuclear norm of a 2-D ``x``: U V^T of its thin SVD."""
    u, _, vt = np.linalg.svd(x, full_matrices=False)
    return u @ vt


def spectral_norm_grad(x, which):
    """d/dx of singular value ``which`` (0 the largest, -1 the smallest) of a 2-D ``x``."""
    u, _, vt = np.linalg.svd(x, full_matrices=False)
    return np.outer(u[:, which], vt[which, :])


def repeat(x, repeats, axis):
    """``np.repeat(x, repeats, axis)`` for an int ``repeats``."""
    return np.repeat(x, repeats, axis)


def repeat_grad(g, x, repeats, axis):
    """Adjoint of ``np.repeat(x, repeats, axis)``: each entry gets the sum over its copies."""
    if axis is None:
        return reshape_to(np.reshape(g, (np.size(x), repeats)).sum(axis=1), x)
    shape = np.shape(x) or (1,)
    k = axis % len(shape)
    split = shape[:k] + (shape[k], repeats) + shape[k + 1 :]
    return reshape_to(np.reshape(g, split).sum(axis=k + 1), x).astype(g.dtype, copy=False)


def tile(x, reps):
    """``np.tile(x, reps)``."""
    return np.tile(x, reps)


def tile_grad(g, x, reps):
    """Adjoint of ``np.tile(x, reps)``: each entry gets the sum over its copies."""
    reps = reps if isinstance(reps, tuple) else (reps,)
    shape = np.shape(x)
    d = max(len(shape), len(reps))
    shape = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    split = tuple(n for pair in zip(reps, shape) for n in pair)
    return reshape_to(np.reshape(g, split).sum(axis=tuple(range(0, 2 * d, 2))), x)


def diag_grad(g, x, k):
    """Adjoint of ``np.diag(x, k)`` for a matrix ``x``: ``g`` on its k-th diagonal."""
    out = np.zeros(x.shape, dtype=g.dtype)
    n = len(g)
    rows = np.arange(n) + max(-k, 0)
    out[rows, rows + k] = g
    return out


def trace(x, offset, axis1, axis2):
    """``np.trace(x, offset, axis1, axis2)``."""
    return np.trace(x, offset, axis1, axis2)


def trace_grad(g, x, offset, axis1, axis2):
    """Adjoint of ``np.trace``: ``g`` on each entry of the diagonals summed."""
    out = np.zeros(x.shape, dtype=np.result_type(g, x.dtype))
    moved = np.moveaxis(out, (axis1, axis2), (-2, -1))  # a view: writes go to out
    n, m = moved.shape[-2:]
    length = max(0, min(n - max(-offset, 0), m - max(offset, 0)))
    rows = np.arange(length) + max(-offset, 0)
    moved[..., rows, rows + offset] = np.expand_dims(g, -1)
    return out


def atleast_1d(x):
    """``np.atleast_1d(x)``, which numba has for arrays only."""
    return np.atleast_1d(x)


def list_index(i, count):
    """Index `i` of a list of `count` items grown in a loop, counted from the end when negative;
    IndexError outside the list, as Python raises (never an entry of the array beyond it)."""
    j = i + count if i < 0 else i
    if not 0 <= j < count:
        raise IndexError("list index out of range")
    return j


# --------------------------------------------------------------------------------------------
# scipy.special functions of several arguments, and scipy.stats, signal and linalg
# (rules/special_more.py, rules/scipy_stats.py, rules/scipy_signal.py; numba: runtime_scipy.py)


def special3(name, x, y, z):
    """``scipy.special.<name>(x, y, z)`` (``betainc``), broadcasting as NumPy does."""
    return _scipy_special(name)(x, y, z)


def polygamma(n, x):
    """``scipy.special.polygamma(n, x)`` for a constant integer ``n``."""
    from scipy.special import polygamma as pg

    return pg(n, x)


def multigammaln(a, d):
    """``scipy.special.multigammaln(a, d)`` for a constant integer ``d``."""
    from scipy.special import multigammaln as mg

    return mg(a, d)


def logsumexp_b(x, b, axis, keepdims):
    """``scipy.special.logsumexp(x, axis=axis, b=b, keepdims=keepdims)``."""
    from scipy.special import logsumexp as lse

    return lse(x, axis=axis, b=b, keepdims=keepdims)


def _stats_method(name):
    import scipy.stats

    dist, method = name.split("_")
    return getattr(getattr(scipy.stats, dist), method)


def stats2(name, x, a):
    """``scipy.stats.<dist>.<method>(x, a)`` for ``name`` "<dist>_<method>" ("poisson_pmf")."""
    return _stats_method(name)(x, a)


def stats3(name, x, a, b):
    """``scipy.stats.<dist>.<method>(x, a, b)`` ("norm_pdf": x, loc, scale)."""
    return _stats_method(name)(x, a, b)


def stats4(name, x, a, b, c):
    """``scipy.stats.<dist>.<method>(x, a, b, c)`` ("t_pdf": x, df, loc, scale)."""
    return _stats_method(name)(x, a, b, c)


# Selection, padding and statistics helpers of rules/selection.py (numba:
# runtime_selection_numba.py).
from ad_compiler.runtime_scans import (  # noqa: E402,F401
    cumprod,
    cumprod_grad,
    cumsum,
    cumsum_grad,
    diff,
    diff_grad,
    nanmean_grad,
    nansum_grad,
    prod_grad,
    rnanmean,
    rnansum,
    rprod,
    rstd,
    rvar,
    sort,
    sort_grad,
    var_grad,
)
from ad_compiler.runtime_selection import (  # noqa: E402,F401
    column_stack_of,
    column_stack_of_grad,
    diagonal,
    diagonal_grad,
    fftshift,
    gradient,
    gradient_grad,
    hstack_of,
    hstack_of_grad,
    pad,
    pad_grad,
    partition,
    partition_grad,
    rollaxis,
    vstack_of,
    weighted_average,
)


def stats5(name, x, a, b, c, d):
    """``scipy.stats.<dist>.<method>(x, a, b, c, d)`` ("beta_pdf": x, a, b, loc, scale)."""
    return _stats_method(name)(x, a, b, c, d)


# np.linalg on stacks and the decompositions (pinv, svd, eigh, qr): runtime_decomp.py
from ad_compiler.runtime_decomp import (  # noqa: E402,F401
    cholesky,
    det,
    eigh_vectors,
    eigh_vectors_grad,
    eigvalsh,
    eigvalsh_grad,
    inv,
    matmul,
    matrix_norm_grad,
    pinv,
    pinv_grad,
    qr_factor,
    qr_grad,
    slogdet,
    solve,
    svd_factor,
    svd_factor_grad,
    svd_values,
    svd_values_grad,
)


def convolve(a, b, mode):
    """``scipy.signal.convolve(a, b, mode)``."""
    from scipy.signal import convolve as conv

    return conv(a, b, mode)


def convolve_offsets(a_shape, b_shape, mode):
    """Where the output of ``convolve(a, b, mode)`` starts inside the full convolution, per
    axis (SciPy centres 'valid' and 'same' in it)."""
    starts = []
    for n1, n2 in zip(a_shape, b_shape):
        full = n1 + n2 - 1
        size = full if mode == "full" else n1 if mode == "same" else abs(n1 - n2) + 1
        starts.append((full - size) // 2)
    return starts


def convolve_grad(g, a, b, mode, which):
    """The gradient of ``convolve(a, b, mode)`` for ``a`` (which=0) or ``b`` (which=1): the
    upstream gradient placed in the full output, correlated with the other argument."""
    from scipy.signal import convolve as conv

    full = np.zeros([n1 + n2 - 1 for n1, n2 in zip(a.shape, b.shape)], np.result_type(g, a, b))
    starts = convolve_offsets(a.shape, b.shape, mode)
    full[tuple(slice(s, s + n) for s, n in zip(starts, np.shape(g)))] = g
    other = b if which == 0 else a
    return conv(full, np.flip(other), "valid")


# Index checks of generated numba code (bounds.py; numba: runtime_bounds_numba.py).
from ad_compiler.runtime_bounds import (  # noqa: E402,F401
    check_apart,
    check_index,
    check_index_array,
    check_indices,
    check_mask,
    check_writeable,
)

# Helpers of the loops fusion.py writes (numba: runtime_numba.py).
from ad_compiler.runtime_fused import (  # noqa: E402,F401
    extreme_grad_over,
    max_abs,
    may_overflow,
    swap_last_axes,
)

# Checked int ** int of int_powers.py (numba: runtime_numba.py); the products (einsum,
# tensordot, inner, vdot, kron, cross) of rules/products.py (numba: runtime_products_numba.py).
from ad_compiler.runtime_ints import (  # noqa: E402,F401
    int_add,
    int_floordiv,
    int_mod,
    int_mul,
    int_neg,
    int_of,
    int_power,
    int_sub,
    small_int,
)
from ad_compiler.runtime_products import (  # noqa: E402,F401
    cross,
    cross_eps,
    einsum,
    einsum_to,
    inner,
    kron,
    kron_split,
    matprod,
    tensordot,
    vdot,
)

# Splits, np.take, np.median and np.select of rules/selection_more.py (numba:
# runtime_selection_more_numba.py).
from ad_compiler.runtime_selection_more import (  # noqa: E402,F401
    median,
    median_grad,
    select,
    select_mask,
    split_piece,
    split_piece_grad,
    take,
    take_grad,
)

# Forward-mode helpers of tangent_rules.py (numba: runtime_tangents_numba.py).
from ad_compiler.runtime_tangents import cumprod_tangent, sort_tangent  # noqa: E402,F401
