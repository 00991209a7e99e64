"""Numba implementations of the runtime helpers for scipy.special functions of several
arguments, scipy.stats distributions and scipy.signal / scipy.linalg (``rt.special3``,
``rt.polygamma``, ``rt.stats3``, ...), registered when :mod:`ad_compiler.runtime_special_numba`
is imported (by the generated modules that call them).

SciPy's C kernels come from ``scipy.special.cython_special`` (see
runtime_special_numba.scipy_kernel);
the distributions are written here from their textbook formulas, with SciPy's conventions:
invalid parameters (scale <= 0, df <= 0) give nan, points outside the support a density of 0.
"""

import math

import numpy as np
from numba import types
from numba.core import errors
from numba.extending import register_jitable

from ad_compiler import runtime as rt
from ad_compiler.runtime_numba import _implements
from ad_compiler.runtime_special_numba import _literal_name, scipy_kernel

# Declared now, not when first compiled (code loaded from numba's cache refers to them).
for _name in rt.SPECIAL_TERNARY:
    scipy_kernel(_name, 3)
for _name in ("ndtr", "log_ndtr", "gammaln", "digamma"):
    scipy_kernel(_name, 1)
for _name in ("stdtr", "gammainc", "gammaincc", "betaln", "xlogy", "xlog1py"):
    scipy_kernel(_name, 2)
_ndtr = scipy_kernel("ndtr", 1)
_log_ndtr = scipy_kernel("log_ndtr", 1)
_gammaln = scipy_kernel("gammaln", 1)
_digamma = scipy_kernel("digamma", 1)
_stdtr = scipy_kernel("stdtr", 2)
_gammainc = scipy_kernel("gammainc", 2)
_gammaincc = scipy_kernel("gammaincc", 2)
_betaln = scipy_kernel("betaln", 2)
_xlogy = scipy_kernel("xlogy", 2)
_xlog1py = scipy_kernel("xlog1py", 2)
_betainc = scipy_kernel("betainc", 3)

_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)
_LOG_PI = math.log(math.pi)
_LOG_TWO = math.log(2.0)


@_implements(rt.special3, prefer_literal=True)
def _special3_ov(name, x, y, z):
    kernel = scipy_kernel(_literal_name(name, "rt.special3"), 3)
    if all(isinstance(t, types.Number) for t in (x, y, z)):
        return lambda name, x, y, z: kernel(float(x), float(y), float(z), 0)
    arrays = [t for t in (x, y, z) if isinstance(t, types.Array)]
    dtype = np.float32 if all(t.dtype == types.float32 for t in arrays) else np.float64

    def impl(name, x, y, z):
        shape = np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z))
        a = np.ascontiguousarray(np.broadcast_to(x, shape)).ravel()
        b = np.ascontiguousarray(np.broadcast_to(y, shape)).ravel()
        c = np.ascontiguousarray(np.broadcast_to(z, shape)).ravel()
        out = np.empty(a.size, dtype)
        for i in range(a.size):
            out[i] = kernel(float(a[i]), float(b[i]), float(c[i]), 0)
        return out.reshape(shape)

    return impl


# --------------------------------------------------------------------------------------------
# polygamma and multigammaln

# B_2k / (2k)! for k = 1 .. 12: the Euler-Maclaurin correction terms of the Hurwitz zeta.
_BERNOULLI_OVER_FACTORIAL = np.array(
    [
        1.0 / 6.0 / 2.0,
        -1.0 / 30.0 / 24.0,
        1.0 / 42.0 / 720.0,
        -1.0 / 30.0 / 40320.0,
        5.0 / 66.0 / 3628800.0,
        -691.0 / 2730.0 / 479001600.0,
        7.0 / 6.0 / 87178291200.0,
        -3617.0 / 510.0 / 20922789888000.0,
        43867.0 / 798.0 / 6402373705728000.0,
        -174611.0 / 330.0 / 2432902008176640000.0,
        854513.0 / 138.0 / 1.1240007277776077e21,
        -236364091.0 / 2730.0 / 6.204484017332394e23,
    ]
)


@register_jitable
def _hurwitz_zeta(s, q):
    """sum_{k >= 0} (q + k)^-s for an integer s >= 2: the first terms summed until q + k >= 16,
    then the Euler-Maclaurin tail."""
    if q <= 0.0 and q == np.floor(q):
        return np.inf
    total = 0.0
    while q < 16.0:
        total += q**-s
        q += 1.0
    total += q ** (1.0 - s) / (s - 1.0) + 0.5 * q**-s
    rising = s  # s (s+1) ... (s + 2k - 2)
    power = q ** (-s - 1.0)
    for k in range(12):
        term = _BERNOULLI_OVER_FACTORIAL[k] * rising * power
        total += term
        if abs(term) < 1e-17 * abs(total):
            break
        rising *= (s + 2.0 * k + 1.0) * (s + 2.0 * k + 2.0)
        power /= q * q
    return total


@register_jitable
def _polygamma_scalar(n, x):
    if n == 0:
        return _digamma(float(x), 0)
    sign = 1.0 if n % 2 == 1 else -1.0
    return sign * math.exp(math.lgamma(n + 1.0)) * _hurwitz_zeta(n + 1.0, float(x))


@_implements(rt.polygamma)
def _polygamma_ov(n, x):
    if isinstance(x, types.Number):
        return lambda n, x: _polygamma_scalar(n, x)
    dtype = np.float32 if x.dtype == types.float32 else np.float64

    def impl(n, x):
        flat = np.ascontiguousarray(x).ravel()
        out = np.empty(flat.size, dtype)
        for i in range(flat.size):
            out[i] = _polygamma_scalar(n, flat[i])
        return out.reshape(x.shape)

    return impl


@register_jitable
def _multigammaln_scalar(a, d):
    if not a > 0.5 * (d - 1):
        raise ValueError("scipy.special.multigammaln: condition a > 0.5 * (d-1) not met")
    total = 0.25 * d * (d - 1) * _LOG_PI
    for j in range(d):
        total += _gammaln(a - 0.5 * j, 0)
    return total


@_implements(rt.multigammaln)
def _multigammaln_ov(a, d):
    if isinstance(a, types.Number):
        return lambda a, d: _multigammaln_scalar(float(a), d)

    def impl(a, d):
        flat = np.ascontiguousarray(a).ravel()
        out = np.empty(flat.size, np.float64)
        for i in range(flat.size):
            out[i] = _multigammaln_scalar(float(flat[i]), d)
        return out.reshape(a.shape)

    return impl


@_implements(rt.logsumexp_b, prefer_literal=True)
def _logsumexp_b_ov(x, b, axis, keepdims):
    if isinstance(x, types.Number) and isinstance(b, types.Number):
        return lambda x, b, axis, keepdims: np.log(b * np.exp(x - x)) + x

    def impl(x, b, axis, keepdims):
        shape = np.broadcast_shapes(np.shape(x), np.shape(b))
        a = np.ascontiguousarray(np.broadcast_to(x, shape)).astype(np.float64)
        w = np.ascontiguousarray(np.broadcast_to(b, shape)).astype(np.float64)
        top = rt.rmax(a, axis, True)
        top = np.where(np.isfinite(top), top, 0.0)
        total = rt.rsum(w * np.exp(a - top), axis, keepdims)
        return np.log(total) + rt.rsum(top, axis, keepdims)

    return impl


# --------------------------------------------------------------------------------------------
# scipy.stats: scalar kernels (x, shape parameters..., loc, scale)

_NAN = np.nan


@register_jitable
def _norm_logpdf(x, loc, scale):
    if not scale > 0.0:
        return _NAN
    z = (x - loc) / scale
    return -0.5 * z * z - _HALF_LOG_TWO_PI - math.log(scale)


@register_jitable
def _norm_cdf(x, loc, scale):
    return _ndtr((x - loc) / scale, 0) if scale > 0.0 else _NAN


@register_jitable
def _norm_logcdf(x, loc, scale):
    return _log_ndtr((x - loc) / scale, 0) if scale > 0.0 else _NAN


@register_jitable
def _norm_sf(x, loc, scale):
    return _ndtr((loc - x) / scale, 0) if scale > 0.0 else _NAN


@register_jitable
def _norm_logsf(x, loc, scale):
    return _log_ndtr((loc - x) / scale, 0) if scale > 0.0 else _NAN


@register_jitable
def _t_logpdf(x, df, loc, scale):
    if not (scale > 0.0 and df > 0.0):
        return _NAN
    if df == np.inf:
        return _norm_logpdf(x, loc, scale)
    z = (x - loc) / scale
    return (
        _gammaln(0.5 * (df + 1.0), 0)
        - _gammaln(0.5 * df, 0)
        - 0.5 * math.log(df * math.pi)
        - 0.5 * (df + 1.0) * math.log1p(z * z / df)
        - math.log(scale)
    )


@register_jitable
def _t_cdf(x, df, loc, scale):
    if not (scale > 0.0 and df > 0.0):
        return _NAN
    return _stdtr(df, (x - loc) / scale, 0)


@register_jitable
def _t_logcdf(x, df, loc, scale):
    return math.log(_t_cdf(x, df, loc, scale))


@register_jitable
def _gamma_logpdf(x, a, loc, scale):
    if not (scale > 0.0 and a > 0.0):
        return _NAN
    y = (x - loc) / scale
    if y < 0.0:
        return -np.inf
    return _xlogy(a - 1.0, y, 0) - y - _gammaln(a, 0) - math.log(scale)


@register_jitable
def _gamma_cdf(x, a, loc, scale):
    if not (scale > 0.0 and a > 0.0):
        return _NAN
    y = (x - loc) / scale
    return _gammainc(a, y, 0) if y > 0.0 else 0.0


@register_jitable
def _chi2_logpdf(x, df, loc, scale):
    if not df > 0.0:
        return _NAN
    value = _gamma_logpdf(0.5 * x, 0.5 * df, 0.5 * loc, scale)
    return value - _LOG_TWO


@register_jitable
def _chi2_cdf(x, df, loc, scale):
    return _gamma_cdf(x, 0.5 * df, loc, 2.0 * scale)


@register_jitable
def _beta_logpdf(x, a, b, loc, scale):
    if not (scale > 0.0 and a > 0.0 and b > 0.0):
        return _NAN
    y = (x - loc) / scale
    if y < 0.0 or y > 1.0:
        return -np.inf
    log_density = _xlogy(a - 1.0, y, 0) + _xlog1py(b - 1.0, -y, 0)
    return log_density - _betaln(a, b, 0) - math.log(scale)


@register_jitable
def _beta_cdf(x, a, b, loc, scale):
    if not (scale > 0.0 and a > 0.0 and b > 0.0):
        return _NAN
    y = (x - loc) / scale
    if y <= 0.0:
        return 0.0
    return _betainc(a, b, y, 0) if y < 1.0 else 1.0


@register_jitable
def _poisson_logpmf(k, mu):
    if not mu >= 0.0:
        return _NAN
    if k < 0.0 or k != np.floor(k):
        return -np.inf
    return _xlogy(k, mu, 0) - _gammaln(k + 1.0, 0) - mu


@register_jitable
def _poisson_cdf(k, mu):
    if not mu >= 0.0:
        return _NAN
    if k < 0.0:
        return 0.0
    return _gammaincc(np.floor(k) + 1.0, mu, 0)


@register_jitable
def _exp2(a, b):
    return math.exp(_poisson_logpmf(a, b))


@register_jitable
def _exp3(a, b, c):
    return math.exp(_norm_logpdf(a, b, c))


@register_jitable
def _t_pdf(a, b, c, d):
    return math.exp(_t_logpdf(a, b, c, d))


@register_jitable
def _gamma_pdf(a, b, c, d):
    return math.exp(_gamma_logpdf(a, b, c, d))


@register_jitable
def _chi2_pdf(a, b, c, d):
    return math.exp(_chi2_logpdf(a, b, c, d))


@register_jitable
def _beta_pdf(a, b, c, d, e):
    return math.exp(_beta_logpdf(a, b, c, d, e))


_STATS = {
    "poisson_pmf": _exp2,
    "poisson_logpmf": _poisson_logpmf,
    "poisson_cdf": _poisson_cdf,
    "norm_pdf": _exp3,
    "norm_logpdf": _norm_logpdf,
    "norm_cdf": _norm_cdf,
    "norm_logcdf": _norm_logcdf,
    "norm_sf": _norm_sf,
    "norm_logsf": _norm_logsf,
    "t_pdf": _t_pdf,
    "t_logpdf": _t_logpdf,
    "t_cdf": _t_cdf,
    "t_logcdf": _t_logcdf,
    "gamma_pdf": _gamma_pdf,
    "gamma_logpdf": _gamma_logpdf,
    "gamma_cdf": _gamma_cdf,
    "chi2_pdf": _chi2_pdf,
    "chi2_logpdf": _chi2_logpdf,
    "chi2_cdf": _chi2_cdf,
    "beta_pdf": _beta_pdf,
    "beta_logpdf": _beta_logpdf,
    "beta_cdf": _beta_cdf,
}


def _stats_kernel(name, what, args):
    label = _literal_name(name, what)
    if label not in _STATS:
        raise errors.TypingError(f"{what}: no kernel for {label}")
    if not all(isinstance(t, (types.Number, types.Array)) for t in args):
        raise errors.TypingError(f"{what}: numbers and arrays only")
    return _STATS[label], all(isinstance(t, types.Number) for t in args)


@register_jitable
def _flat(v, shape):
    return np.ascontiguousarray(np.broadcast_to(v, shape)).ravel()


@_implements(rt.stats2, prefer_literal=True)
def _stats2_ov(name, x, a):
    kernel, scalar = _stats_kernel(name, "rt.stats2", (x, a))
    if scalar:
        return lambda name, x, a: kernel(float(x), float(a))

    def impl(name, x, a):
        shape = np.broadcast_shapes(np.shape(x), np.shape(a))
        u, v = _flat(x, shape), _flat(a, shape)
        out = np.empty(u.size, np.float64)
        for i in range(u.size):
            out[i] = kernel(float(u[i]), float(v[i]))
        return out.reshape(shape)

    return impl


@_implements(rt.stats3, prefer_literal=True)
def _stats3_ov(name, x, a, b):
    kernel, scalar = _stats_kernel(name, "rt.stats3", (x, a, b))
    if scalar:
        return lambda name, x, a, b: kernel(float(x), float(a), float(b))

    def impl(name, x, a, b):
        shape = np.broadcast_shapes(np.shape(x), np.shape(a), np.shape(b))
        u, v, w = _flat(x, shape), _flat(a, shape), _flat(b, shape)
        out = np.empty(u.size, np.float64)
        for i in range(u.size):
            out[i] = kernel(float(u[i]), float(v[i]), float(w[i]))
        return out.reshape(shape)

    return impl


@_implements(rt.stats4, prefer_literal=True)
def _stats4_ov(name, x, a, b, c):
    kernel, scalar = _stats_kernel(name, "rt.stats4", (x, a, b, c))
    if scalar:
        return lambda name, x, a, b, c: kernel(float(x), float(a), float(b), float(c))

    def impl(name, x, a, b, c):
        shape = np.broadcast_shapes(np.shape(x), np.shape(a), np.shape(b), np.shape(c))
        u, v, w, s = _flat(x, shape), _flat(a, shape), _flat(b, shape), _flat(c, shape)
        out = np.empty(u.size, np.float64)
        for i in range(u.size):
            out[i] = kernel(float(u[i]), float(v[i]), float(w[i]), float(s[i]))
        return out.reshape(shape)

    return impl


@_implements(rt.stats5, prefer_literal=True)
def _stats5_ov(name, x, a, b, c, d):
    kernel, scalar = _stats_kernel(name, "rt.stats5", (x, a, b, c, d))
    if scalar:
        return lambda name, x, a, b, c, d: kernel(float(x), float(a), float(b), float(c), float(d))

    def impl(name, x, a, b, c, d):
        shape = np.broadcast_shapes(np.shape(x), np.shape(a), np.shape(b), np.shape(c), np.shape(d))
        u, v, w = _flat(x, shape), _flat(a, shape), _flat(b, shape)
        s, t = _flat(c, shape), _flat(d, shape)
        out = np.empty(u.size, np.float64)
        for i in range(u.size):
            out[i] = kernel(float(u[i]), float(v[i]), float(w[i]), float(s[i]), float(t[i]))
        return out.reshape(shape)

    return impl


# --------------------------------------------------------------------------------------------
# scipy.signal.convolve, directly, on 1-D and 2-D arrays


@register_jitable
def _full_convolve1(a, b):
    out = np.zeros(a.shape[0] + b.shape[0] - 1)
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            out[i + j] += a[i] * b[j]
    return out


@register_jitable
def _full_convolve2(a, b):
    out = np.zeros((a.shape[0] + b.shape[0] - 1, a.shape[1] + b.shape[1] - 1))
    for i in range(a.shape[0]):
        for k in range(a.shape[1]):
            for j in range(b.shape[0]):
                for m in range(b.shape[1]):
                    out[i + j, k + m] += a[i, k] * b[j, m]
    return out


def _check_convolve(a, b, what):
    if not (isinstance(a, types.Array) and isinstance(b, types.Array) and a.ndim == b.ndim):
        raise errors.TypingError(f"{what}: two arrays of the same dimensions")
    if a.ndim not in (1, 2):
        raise errors.TypingError(f"{what}: 1-D or 2-D arrays")


@register_jitable
def _convolve_window(a_shape, b_shape, mode):
    starts = []
    sizes = []
    valid_ok_a = True
    valid_ok_b = True
    for k in range(len(a_shape)):
        n1, n2 = a_shape[k], b_shape[k]
        full = n1 + n2 - 1
        size = full if mode == "full" else n1 if mode == "same" else abs(n1 - n2) + 1
        starts.append((full - size) // 2)
        sizes.append(size)
        valid_ok_a = valid_ok_a and n1 >= n2
        valid_ok_b = valid_ok_b and n2 >= n1
    if mode == "valid" and not (valid_ok_a or valid_ok_b):
        raise ValueError(
            "For 'valid' mode, one must be at least as large as the other in every dimension"
        )
    return starts, sizes


@_implements(rt.convolve, prefer_literal=True)
def _convolve_ov(a, b, mode):
    _check_convolve(a, b, "rt.convolve")
    if a.ndim == 1:

        def impl1(a, b, mode):
            starts, sizes = _convolve_window(a.shape, b.shape, mode)
            return _full_convolve1(a, b)[starts[0] : starts[0] + sizes[0]].copy()

        return impl1

    def impl2(a, b, mode):
        starts, sizes = _convolve_window(a.shape, b.shape, mode)
        out = _full_convolve2(a, b)
        return out[starts[0] : starts[0] + sizes[0], starts[1] : starts[1] + sizes[1]].copy()

    return impl2


@_implements(rt.convolve_grad, prefer_literal=True)
def _convolve_grad_ov(g, a, b, mode, which):
    _check_convolve(a, b, "rt.convolve_grad")
    if a.ndim == 1:

        def impl1(g, a, b, mode, which):
            starts, _ = _convolve_window(a.shape, b.shape, mode)
            full = np.zeros(a.shape[0] + b.shape[0] - 1)
            full[starts[0] : starts[0] + g.shape[0]] = g
            other = b[::-1] if which == 0 else a[::-1]
            n = full.shape[0] - other.shape[0] + 1
            return _full_convolve1(full, other)[other.shape[0] - 1 : other.shape[0] - 1 + n].copy()

        return impl1

    def impl2(g, a, b, mode, which):
        starts, _ = _convolve_window(a.shape, b.shape, mode)
        full = np.zeros((a.shape[0] + b.shape[0] - 1, a.shape[1] + b.shape[1] - 1))
        full[starts[0] : starts[0] + g.shape[0], starts[1] : starts[1] + g.shape[1]] = g
        other = b[::-1, ::-1] if which == 0 else a[::-1, ::-1]
        p, q = other.shape[0] - 1, other.shape[1] - 1
        n, m = full.shape[0] - p, full.shape[1] - q
        return _full_convolve2(full, other)[p : p + n, q : q + m].copy()

    return impl2
