"""Issue 13, SciPy family: scipy.special functions of several arguments, logsumexp's b=,
scipy.stats distributions (bound methods such as scipy.stats.norm.pdf) and
scipy.signal.convolve. Each case checks the value against SciPy on the original function, the
gradient against central differences and, where autograd.scipy has the function, autograd
(python backend); each rule also runs inside a loop on numba."""

from __future__ import annotations

import types

import numpy as np
import pytest
import scipy.signal as sg
import scipy.special as sp
import scipy.stats as st

import ad_compiler
from ad_compiler.errors import ADCompilerError
from tests.gradcheck_helpers import central

R = np.random.default_rng(13)
X = np.array([0.4, 1.3, 2.2])
X2 = np.array([[0.4, 1.3, 2.2], [0.9, 1.7, 3.1]])
U = np.array([0.15, 0.5, 0.8])
POS = np.array([1.5, 0.7, 2.5])
W = np.array([[0.6], [1.9]])  # broadcasts against X2


# -- scipy.special ---------------------------------------------------------------------------
def gammainc_x(x):
    return np.sum(sp.gammainc(1.5, x) * x)


def gammaincc_x(x):
    return np.sum(sp.gammaincc(2.5, x) ** 2)


def beta_ab(a, b):
    return np.sum(sp.beta(a, b))


def betaln_ab(a, b):
    return np.sum(sp.betaln(a, b) * a)


def betainc_x(x):
    return np.sum(sp.betainc(2.0, 3.0, x))


def polygamma_x(x):
    return np.sum(sp.polygamma(2, x) + sp.polygamma(0, x))


def yn_x(x):
    return np.sum(sp.yn(2, x))


def ive_x(x):
    return np.sum(sp.ive(1.5, x) * x)


def multigammaln_a(a):
    return np.sum(sp.multigammaln(a + 2.0, 3))


def logsumexp_b(x, b):
    return sp.logsumexp(x, b=b)


def logsumexp_b_axis(x, b):
    return np.sum(sp.logsumexp(x, 1, b, True) ** 2)


def logsumexp_b_axis0(x, b):
    return np.sum(sp.logsumexp(x, axis=0, b=b) ** 2)


# -- scipy.stats -----------------------------------------------------------------------------
def norm_all(x, loc, scale):
    values = (
        st.norm.pdf(x, loc, scale)
        + st.norm.logpdf(x, loc, scale) * 2.0
        + st.norm.cdf(x, loc, scale) * 3.0
        + st.norm.logcdf(x, loc, scale)
        + st.norm.sf(x, loc=loc, scale=scale) * 0.5
        + st.norm.logsf(x, loc, scale) * 1.5
    )
    return np.sum(values)


def norm_default(x):
    return np.sum(st.norm.pdf(x) + st.norm.logcdf(x))


def t_density(x, df, loc, scale):
    return np.sum(st.t.pdf(x, df, loc, scale) + st.t.logpdf(x, df, loc, scale) * 2.0)


def t_cdf(x, df, loc, scale):
    return np.sum(st.t.cdf(x, df, loc, scale) + st.t.logcdf(x, df, loc, scale) * 2.0)


def gamma_chi2(x, a):
    return np.sum(st.gamma.pdf(x, a) + st.gamma.logpdf(x, a) * 2.0 + st.chi2.logpdf(x, a))


def chi2_pdf(x, df):
    return np.sum(st.chi2.pdf(x, df, scale=1.3))


def cdfs(x):
    return np.sum(st.gamma.cdf(x, 1.7, scale=1.3) + st.chi2.cdf(x, 3.0, loc=0.1))


def beta_density(x, a, b):
    return np.sum(st.beta.pdf(x, a, b) + st.beta.logpdf(x, a, b) * 2.0)


def beta_cdf(x):
    return np.sum(st.beta.cdf(x, 2.0, 3.5))


def poisson_mu(mu):
    k = np.array([0.0, 2.0, 5.0])
    return np.sum(st.poisson.pmf(k, mu) + st.poisson.logpmf(k, mu) + st.poisson.cdf(k, mu))


# -- scipy.signal ----------------------------------------------------------------------------
def convolve_1d(a, b):
    weights = np.arange(6.0)
    full = np.sum(sg.convolve(a, b) * weights)
    return full + np.sum(sg.convolve(a, b, "same") ** 2) + np.sum(sg.convolve(b, a, "valid") ** 2)


def convolve_2d(a, b):
    full = np.sum(sg.convolve(a, b, mode="full") ** 2)
    return full + np.sum(sg.convolve(a, b, "same") ** 2) + np.sum(sg.convolve(a, b, "valid"))


A1 = np.array([0.3, -1.0, 2.0, 0.5])
B1 = np.array([1.0, 2.0, -0.5])
A2 = R.standard_normal((4, 3))
B2 = R.standard_normal((2, 2))

# (function, arguments, positions to differentiate, those autograd.scipy differentiates too:
# all when True; its logsumexp has no gradient in b, its norm.logsf none in loc and scale)
CASES = [
    (gammainc_x, (X,), (0,), True),
    (gammaincc_x, (X2,), (0,), True),
    (beta_ab, (X, POS), (0, 1), True),
    (betaln_ab, (X2, POS), (0, 1), True),
    (betainc_x, (U,), (0,), True),
    (polygamma_x, (X2,), (0,), True),
    (yn_x, (X,), (0,), True),
    (ive_x, (np.array([0.3, 0.4, 2.5]),), (0,), True),
    (multigammaln_a, (X,), (0,), True),
    (logsumexp_b, (X, POS), (0, 1), (0,)),
    (logsumexp_b_axis, (X2, W), (0, 1), ()),
    (logsumexp_b_axis0, (X2, POS), (0, 1), ()),
    (norm_all, (X2, np.array([0.1, -0.2, 0.3]), W), (0, 1, 2), ()),
    (norm_default, (X,), (0,), True),
    (t_density, (X, POS + 2.0, U, POS), (0, 1, 2, 3), True),
    (t_cdf, (X2, POS + 2.0, U, W), (0, 2, 3), (0, 2)),
    (gamma_chi2, (X2, POS), (0, 1), ()),  # autograd: chi2 x-gradient 0 for non-integer df,
    (chi2_pdf, (X, POS + 1.0), (0, 1), False),
    (cdfs, (X2,), (0,), False),
    (beta_density, (U, POS, POS + 1.0), (0, 1, 2), True),
    (beta_cdf, (U,), (0,), True),
    (poisson_mu, (POS,), (0,), True),
    (convolve_1d, (A1, B1), (0, 1), False),
    (convolve_2d, (A2, B2), (0, 1), False),
]


def _autograd_version(fn):
    import autograd.numpy as anp
    import autograd.scipy.special as asp
    import autograd.scipy.stats as ast_

    names = dict(fn.__globals__, np=anp, sp=asp, st=ast_)
    return types.FunctionType(fn.__code__, names, fn.__name__)


@pytest.mark.parametrize(
    "fn, args, wrt, has_autograd", CASES, ids=lambda c: getattr(c, "__name__", "")
)
def test_value_and_gradient(fn, args, wrt, has_autograd):
    value, grads = ad_compiler.value_and_grad(fn, wrt=wrt, backend="python")(*args)
    np.testing.assert_allclose(value, fn(*args), rtol=1e-10, atol=1e-12)
    for k, i in enumerate(wrt):
        np.testing.assert_allclose(grads[k], central(fn, args, i), rtol=1e-6, atol=1e-8)
    import autograd

    oracle = _autograd_version(fn)
    for i in wrt if has_autograd is True else has_autograd or ():
        expected = autograd.grad(oracle, i)(*args)
        np.testing.assert_allclose(grads[wrt.index(i)], expected, rtol=1e-7, atol=1e-9)


def test_each_rule_in_a_numba_loop():
    # One loop calling every case: one numba compilation for the family.
    def every(x, x2, u, pos, w, a1, b1, a2, b2):
        total = 0.0
        for _ in range(2):
            total = total + gammainc_x(x) + gammaincc_x(x2) + beta_ab(x, pos) + betaln_ab(x2, pos)
            total = total + betainc_x(u) + polygamma_x(x2) + yn_x(x) + ive_x(x)
            total = total + multigammaln_a(x) + logsumexp_b(x, pos) + logsumexp_b_axis(x2, w)
            total = total + logsumexp_b_axis0(x2, pos) + norm_all(x2, u, w) + norm_default(x)
            total = (
                total + t_density(x, pos + 2.0, u, pos) + t_cdf(x2, np.array([3.5, 2.7, 4.5]), u, w)
            )
            total = total + gamma_chi2(x2, pos) + chi2_pdf(x, pos + 1.0) + cdfs(x2)
            total = total + beta_density(u, pos, pos + 1.0) + beta_cdf(u) + poisson_mu(pos)
            total = total + convolve_1d(a1, b1) + convolve_2d(a2, b2)
        return total

    args = (X, X2, U, POS, W, A1, B1, A2, B2)
    wrt = tuple(range(len(args)))
    value, grads = ad_compiler.value_and_grad(every, wrt=wrt, backend="numba")(*args)
    np.testing.assert_allclose(value, every(*args), rtol=1e-10)
    for k, i in enumerate(wrt):
        np.testing.assert_allclose(grads[k], central(every, args, i), rtol=1e-6, atol=1e-7)


def gammainc_a(a):
    return np.sum(sp.gammainc(a, 2.0))


def betainc_a(a):
    return np.sum(sp.betainc(a, 2.0, 0.3))


def t_cdf_df(df):
    return np.sum(st.t.cdf(0.3, df))


def gamma_cdf_a(a):
    return np.sum(st.gamma.cdf(1.3, a))


def poisson_k(k):
    return np.sum(st.poisson.pmf(k, 2.0))


def logsumexp_sign(x):
    return sp.logsumexp(x, return_sign=True)[0]


def convolve_3d(a):
    return np.sum(sg.convolve(a, a))


def polygamma_n(x):
    return np.sum(sp.polygamma(x, 1.5))


@pytest.mark.parametrize(
    "fn, arg",
    [
        (gammainc_a, POS),
        (betainc_a, POS),
        (t_cdf_df, POS),
        (gamma_cdf_a, POS),
        (poisson_k, POS),
        (logsumexp_sign, X),
        (convolve_3d, np.ones((2, 2, 2))),
        (polygamma_n, POS),
    ],
    ids=lambda c: getattr(c, "__name__", ""),
)
def test_refused(fn, arg):
    with pytest.raises(ADCompilerError):
        ad_compiler.grad(fn, backend="python")(arg)
