"""Issue 13: np.linalg (inv, solve, det, slogdet, cholesky, norm) and scipy.special (expit,
logit, erf, erfc, gammaln, digamma, xlogy, logsumexp, softmax, log_softmax ...).

Each case checks, on the python backend, the value against the original function and the
gradient against central differences of the original function and against autograd (the same
code with autograd's numpy and scipy.special) where autograd has the function; one loop per
rule family runs on numba. AD_COMPILER_FULL_SWEEP=1 adds float32 runs of every case.
"""

import os
import types

import autograd
import autograd.numpy as anp
import autograd.scipy.special as aspecial
import numpy as np
import pytest
import scipy.special as sp
from structured_oracle import central

from ad_compiler import UnsupportedSyntaxError, grad, value_and_grad

rs = np.random.RandomState(13)
A = rs.randn(4, 4) + 4.0 * np.eye(4)
A3 = rs.randn(3, 4, 4) + 4.0 * np.eye(4)
PSD = A @ A.T
B = rs.randn(4, 2)
V = rs.randn(4)
X3 = rs.randn(3, 4, 5)
W = np.cos(np.arange(16.0)).reshape(4, 4)
POS = rs.rand(3, 4) + 0.2
UNIT = rs.rand(2, 5) * 0.8 + 0.1

# ---- np.linalg --------------------------------------------------------------------------------


def inv(a):
    return np.sum(np.linalg.inv(a) * W)


def solve_a(a):
    return np.sum(np.linalg.solve(a, B) * B)


def solve_b(b):
    return np.sum(np.linalg.solve(A, b) * B)


def solve_vector(a, b):
    return np.sum(np.linalg.solve(a, b) * np.arange(4.0))


def solve_stack(a):
    return np.sum(np.linalg.solve(a, A3[:, :, :2]))


def det(a):
    return np.linalg.det(a)


def det_stack(a):
    return np.sum(np.linalg.det(a) * np.arange(3.0))


def slogdet(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * logdet


def slogdet_stack(a):
    return np.sum(np.linalg.slogdet(a)[1])


def cholesky(a):
    return np.sum(np.linalg.cholesky((a + a.T) / 2.0) * W)


def norm(x):
    return np.linalg.norm(x)


def norm_of_list(x):
    return np.linalg.norm([x, x + 2.0])


def norm_axis(x):
    return np.sum(np.linalg.norm(x, axis=1) * np.arange(5.0))


def norm_axis_keepdims(x):
    return np.sum(np.linalg.norm(x, axis=-1, keepdims=True) * np.arange(4.0)[:, None])


def norm_frobenius_axes(x):
    return np.sum(np.linalg.norm(x, axis=(0, 1)) * np.arange(5.0))


def norm_ord_1(x):
    return np.linalg.norm(x, ord=1)


def norm_ord_2(x):
    return np.linalg.norm(x, ord=2)


def norm_ord_3(x):
    return np.linalg.norm(x, ord=3)


def norm_ord_half(x):
    return np.linalg.norm(x, ord=0.5)


def norm_ord_inf(x):
    return np.linalg.norm(x, ord=np.inf) + np.linalg.norm(x, -np.inf)


def norm_ord_axis(x):
    return np.sum(np.linalg.norm(x, ord=3, axis=0)) + np.sum(np.linalg.norm(x, -np.inf, 1))


def norm_frobenius(x):
    return np.linalg.norm(x, "fro")


def norm_nuclear(x):
    return np.linalg.norm(x, "nuc")


def norm_matrix_1(x):
    return np.linalg.norm(x, 1) + np.linalg.norm(x, -1)


def norm_matrix_2(x):
    return np.linalg.norm(x, 2) + np.linalg.norm(x, -2)


def norm_matrix_inf(x):
    return np.linalg.norm(x, np.inf) + np.linalg.norm(x, -np.inf)


# ---- scipy.special ----------------------------------------------------------------------------


def expit_logit(x):
    return np.sum(sp.expit(x) * x) + np.sum(sp.logit(sp.expit(x) * 0.5 + 0.25))


def erfs(x):
    return np.sum(sp.erf(x) * x + sp.erfc(x * 0.5))


def gammas(x):
    return np.sum(sp.gammaln(x) + sp.digamma(x) * x + sp.psi(x + 1.0))


def xlogy(x, y):
    return np.sum(sp.xlogy(x, y))


def logsumexp(x):
    return sp.logsumexp(x)


def logsumexp_axis(x):
    return np.sum(sp.logsumexp(x, axis=1) * np.arange(3.0))


def logsumexp_keepdims(x):
    return np.sum(sp.logsumexp(x, axis=(0, 2), keepdims=True) * np.arange(4.0)[:, None])


def softmaxes(x):
    return np.sum(sp.softmax(x, axis=0) * np.cos(x)) + np.sum(sp.log_softmax(x) * np.sin(x))


def other_special(x):
    return np.sum(sp.gamma(x) + sp.erfinv(x * 0.5) + sp.i0(x) + sp.j1(x) + sp.ndtr(x))


# (function, arguments, position, whether autograd has every function it calls)
CASES = [
    (inv, (A,), 0, True),
    (inv, (A3,), 0, True),
    (solve_a, (A,), 0, True),
    (solve_b, (B,), 0, True),
    (solve_vector, (A, V), 0, True),
    (solve_vector, (A, V), 1, True),
    (solve_vector, (A3, V), 0, False),  # (autograd's adjoint mis-shapes a 1-D b with a stack)
    (solve_vector, (A3, V), 1, False),
    (solve_stack, (A3,), 0, True),
    (det, (A,), 0, True),
    (det_stack, (A3,), 0, True),
    (slogdet, (A,), 0, True),
    (slogdet, (-A,), 0, True),
    (slogdet_stack, (A3,), 0, True),
    (cholesky, (PSD,), 0, True),
    (norm, (V,), 0, True),
    (norm, (A,), 0, True),
    (norm, (X3,), 0, True),
    (norm_of_list, (0.5,), 0, True),
    (norm_axis, (X3,), 0, True),
    (norm_axis_keepdims, (X3,), 0, False),  # (autograd fails on keepdims=True with axis=)
    (norm_frobenius_axes, (X3,), 0, True),
    (norm_ord_axis, (X3,), 0, False),
    (norm_frobenius, (B,), 0, True),
    (norm_nuclear, (B,), 0, True),
    (norm_matrix_1, (B,), 0, False),  # (matrix norms autograd does not differentiate)
    (norm_matrix_2, (B,), 0, False),
    (norm_matrix_inf, (B,), 0, False),
    (expit_logit, (POS - 0.5,), 0, True),
    (erfs, (X3[0],), 0, True),
    (gammas, (POS,), 0, True),
    (xlogy, (POS, UNIT[:1, :4]), 0, False),  # (autograd has no xlogy)
    (xlogy, (POS, UNIT[:1, :4]), 1, False),
    (logsumexp, (X3,), 0, True),
    (logsumexp_axis, (POS,), 0, True),
    (logsumexp_keepdims, (X3,), 0, True),
    (softmaxes, (POS,), 0, False),
    (other_special, (UNIT,), 0, False),
]
CASES += [(f, (V,), 0, True) for f in (norm_ord_2, norm_ord_3)]
# (vector norms autograd does not differentiate)
CASES += [(f, (V,), 0, False) for f in (norm_ord_1, norm_ord_half, norm_ord_inf)]


def _autograd_version(fn):
    rebound = dict(fn.__globals__, np=anp, sp=aspecial)
    return types.FunctionType(fn.__code__, rebound, fn.__name__, fn.__defaults__)


def _ids(cases):
    seen: dict = {}
    out = []
    for case in cases:
        seen[case[0].__name__] = seen.get(case[0].__name__, 0) + 1
        out.append(f"{case[0].__name__}-{seen[case[0].__name__]}")
    return out


@pytest.mark.parametrize("fn, args, pos, has_autograd", CASES, ids=_ids(CASES))
def test_value_and_gradient(fn, args, pos, has_autograd):
    wrt = fn.__code__.co_varnames[pos]
    value, gradient = value_and_grad(fn, wrt=wrt, backend="python")(*args)
    np.testing.assert_allclose(value, fn(*args), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gradient, central(fn, list(args), pos), rtol=1e-5, atol=1e-6)
    if has_autograd:
        expected = autograd.grad(_autograd_version(fn), pos)(*args)
        np.testing.assert_allclose(gradient, expected, rtol=1e-9, atol=1e-10)


FULL = os.environ.get("AD_COMPILER_FULL_SWEEP") == "1"


@pytest.mark.skipif(not FULL, reason="float32 sweep: AD_COMPILER_FULL_SWEEP=1")
@pytest.mark.parametrize("fn, args, pos, has_autograd", CASES, ids=_ids(CASES))
def test_float32(fn, args, pos, has_autograd):
    args32 = [a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in args]
    wrt = fn.__code__.co_varnames[pos]
    value, gradient = value_and_grad(fn, wrt=wrt, backend="python")(*args32)
    np.testing.assert_allclose(value, fn(*args32), rtol=1e-5)
    if isinstance(args32[pos], np.ndarray):
        assert gradient.dtype == np.float32
    np.testing.assert_allclose(gradient, central(fn, list(args), pos), rtol=2e-3, atol=2e-3)


# ---- inside loops, on numba ---------------------------------------------------------------


def linalg_loop(a):
    s = 0.0
    for i in range(2):
        s = s + np.sum(np.linalg.inv(a) * W) + np.sum(np.linalg.solve(a, B) * B)
        s = s + np.linalg.det(a) * 0.01 + np.linalg.slogdet(a)[1] + np.sum(np.linalg.solve(a, V))
        s = s + np.linalg.norm(a) * i + np.sum(np.linalg.norm(a, axis=1)) + np.linalg.norm(a, "nuc")
        s = s + np.linalg.norm(a, 1) + np.sum(np.linalg.norm(a, ord=3, axis=0, keepdims=True))
        s = s + np.linalg.norm(a[0], np.inf) + np.sum(np.linalg.cholesky(a @ a.T) * W)
    return s


def special_loop(x):
    s = 0.0
    for i in range(2):
        s = s + np.sum(sp.expit(x) * sp.erfc(x)) + sp.logsumexp(x * i, axis=0)[1]
        s = s + np.sum(sp.softmax(x * i, axis=1)[0]) * x[0, 0] + sp.gammaln(x[0, 1] + 3.0)
        s = s + np.sum(sp.log_softmax(x) * x) + np.sum(sp.xlogy(x, x[0] + 2.0))
        s = s + np.sum(sp.logsumexp(x, axis=(0, 1), keepdims=True)) + np.sum(sp.digamma(x + 2.0))
    return s


def linalg_loop_small(a):
    s = 0.0
    for i in range(2):
        s = s + np.sum(np.linalg.solve(a, B) * B) + np.linalg.slogdet(a)[1] * i
        s = s + np.sum(np.linalg.norm(a, axis=1))
    return s


def special_loop_small(x):
    s = 0.0
    for i in range(2):
        s = s + np.sum(sp.expit(x) * sp.erf(x)) + sp.logsumexp(x * i, axis=0)[1]
    return s


# numba compiles array code slowly: the small loops always, the large ones in the full sweep.
LOOPS = [(linalg_loop_small, A), (special_loop_small, POS)]
if FULL:
    LOOPS += [(linalg_loop, A), (special_loop, POS)]


@pytest.mark.parametrize("fn, arg", LOOPS)
def test_loops_on_numba(fn, arg):
    value, gradient = value_and_grad(fn, backend="numba")(arg)
    np.testing.assert_allclose(value, fn(arg), rtol=1e-10)
    np.testing.assert_allclose(gradient, central(fn, [arg], 0), rtol=1e-5, atol=1e-6)


# ---- refused, never computed wrongly -------------------------------------------------------


def matrix_1_norm_of_stack(x):  # (ord 'nuc', 2 and -2 of stacks: test_issue13_linalg2.py)
    return np.sum(np.linalg.norm(x, 1, axis=(1, 2)))


def solve_number(a):
    return np.sum(np.linalg.solve(a, 2.0))


def inv_of_vector(a):
    return np.sum(np.linalg.inv(a))


@pytest.mark.parametrize(
    "fn, arg",
    [(matrix_1_norm_of_stack, A3), (solve_number, A), (inv_of_vector, V)],
)
def test_refused(fn, arg):
    with pytest.raises(UnsupportedSyntaxError):
        grad(fn, backend="python")(arg)
