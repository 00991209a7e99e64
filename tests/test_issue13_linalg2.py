"""Issue 13: np.linalg decompositions (pinv, svd, eigh, eigvalsh, qr), matrix norms of stacks
and along axes (ord 'nuc', 2, -2), and every linalg rule on stacks of matrices inside loops on
numba.

Each case checks, on the python backend, the value against the original function and the
gradient against central differences of the original function and against autograd (the same
code with autograd's numpy) where autograd differentiates every function it calls. Singular
vectors and eigenvectors are defined up to sign: the functions of them here do not depend on
it (squares, u s vh), as autograd's own tests make theirs.
"""

import os
import types

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from structured_oracle import central

from ad_compiler import UnsupportedSyntaxError, grad, value_and_grad

rs = np.random.RandomState(1313)
TALL = rs.randn(5, 3)
WIDE = rs.randn(3, 5)
SQUARE = rs.randn(4, 4)
STACK = rs.randn(2, 4, 3)
STACK_WIDE = rs.randn(2, 3, 4)
SYM = SQUARE + SQUARE.T + 3.0 * np.eye(4)
SYM3 = np.stack([SYM, SYM * 0.5 + np.diag(np.arange(4.0))])
A3 = rs.randn(3, 4, 4) + 4.0 * np.eye(4)
PSD3 = np.matmul(A3, np.swapaxes(A3, -1, -2))
X3 = rs.randn(3, 4, 5)
B_STACK = rs.randn(2, 4, 3)
W = np.cos(np.arange(60.0))


def weights(shape):
    return W[: int(np.prod(shape))].reshape(shape)


# ---- pinv ----------------------------------------------------------------------------------


def pinv(x):
    return np.sum(np.linalg.pinv(x) * np.cos(np.linalg.pinv(x)))


def pinv_low_rank(x):
    return np.sum(np.linalg.pinv(x.T @ x) * np.arange(5.0))


# ---- svd ------------------------------------------------------------------------------------


def singular_values(x):
    return np.sum(np.linalg.svd(x, compute_uv=False) * np.arange(1.0, 4.0))


def svd_reduced(x):
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    rebuilt = np.matmul(u * s[..., None, :], vh)
    return np.sum(rebuilt * np.sin(x)) + np.sum(u**2 * np.cos(u)) + np.sum(vh**2 * np.sin(vh))


def svd_square_full(x):
    u, s, vh = np.linalg.svd(x)
    return np.sum(np.abs(u) * np.arange(4.0)) + np.sum(s**2) + np.sum(vh**4)


def svd_indexed(x):
    usv = np.linalg.svd(x, full_matrices=False)
    return np.sum(usv[1] ** 3) + np.sum(usv[0] ** 4)


# ---- eigh, eigvalsh ------------------------------------------------------------------------


def eigh_lower(a):
    w, v = np.linalg.eigh(a)
    return np.sum(w * np.arange(4.0)) + np.sum(v**2 * np.cos(v))


def eigh_upper(a):
    w, v = np.linalg.eigh(a, "U")
    return np.sum(w**2) + np.sum(v**4 * np.arange(4.0))


def eigh_values_only(a):
    return np.sum(np.linalg.eigh(a, UPLO="U")[0] * np.arange(4.0))


def eigvalsh(a):
    return np.sum(np.linalg.eigvalsh(a) * np.arange(4.0)) + np.sum(np.linalg.eigvalsh(a, "U") ** 2)


# ---- qr -------------------------------------------------------------------------------------


def qr(x):
    q, r = np.linalg.qr(x)
    return np.sum(q**2 * np.cos(q)) + np.sum(r**2 * np.sin(r)) + np.sum(np.matmul(q, r) * x)


def qr_r(x):
    return np.sum(np.linalg.qr(x, mode="r") ** 2 * np.arange(4.0)[:, None] / 7.0 + 1.0)


# ---- matrix norms of stacks and along axes --------------------------------------------------


def nuclear_axes(x):
    return np.sum(np.linalg.norm(x, "nuc", axis=(0, 1)) * np.arange(5.0))


def nuclear_axes_reversed(x):
    return np.sum(np.linalg.norm(x, ord="nuc", axis=(2, 0)) * np.arange(4.0))


def nuclear_keepdims(x):
    return np.sum(np.linalg.norm(x, "nuc", axis=(-2, -1), keepdims=True) * weights((3, 1, 1)))


def spectral_axes(x):
    return np.sum(np.linalg.norm(x, 2, axis=(1, 2)) * np.arange(3.0)) + np.sum(
        np.linalg.norm(x, -2, axis=(0, 2))
    )


def spectral_keepdims(x):
    return np.sum(np.linalg.norm(x, 2, keepdims=True)) + np.sum(np.linalg.norm(x, -2, None, True))


# ---- the existing rules, of stacks ----------------------------------------------------------


def cholesky_stack(a):
    return np.sum(np.linalg.cholesky(a) * weights((3, 4, 4)))


def solve_broadcast(a):
    return np.sum(np.linalg.solve(a, TALL[:4, :2]) * weights((3, 4, 2)))


def solve_stack_b(b):
    return np.sum(np.linalg.solve(SQUARE + 4.0 * np.eye(4), b) * weights((2, 4, 3)))


# (function, arguments, position, whether autograd differentiates everything it calls)
CASES = [
    (pinv, (TALL,), 0, True),
    (pinv, (WIDE,), 0, True),
    (pinv, (SQUARE,), 0, True),
    (pinv, (STACK,), 0, True),
    (pinv_low_rank, (WIDE,), 0, True),
    (singular_values, (TALL,), 0, True),
    (singular_values, (WIDE,), 0, True),
    (singular_values, (STACK,), 0, True),
    (svd_reduced, (TALL,), 0, True),
    (svd_reduced, (WIDE,), 0, True),
    (svd_reduced, (SQUARE,), 0, True),
    (svd_reduced, (STACK,), 0, True),
    (svd_reduced, (STACK_WIDE,), 0, True),
    (svd_square_full, (SQUARE,), 0, False),  # (autograd: no full_matrices=True)
    (svd_indexed, (TALL,), 0, True),
    (eigh_lower, (SYM,), 0, True),
    (eigh_lower, (SQUARE,), 0, True),  # (not symmetric: only the lower triangle is read)
    (eigh_upper, (SQUARE,), 0, True),
    (eigh_lower, (SYM3,), 0, True),
    (eigh_values_only, (SQUARE,), 0, True),
    (eigvalsh, (SQUARE,), 0, False),  # (autograd has no eigvalsh)
    (eigvalsh, (SYM3,), 0, False),
    (qr, (TALL,), 0, False),  # (autograd has no qr)
    (qr, (WIDE,), 0, False),
    (qr, (SQUARE,), 0, False),
    (qr, (STACK,), 0, False),
    (qr, (STACK_WIDE,), 0, False),
    (qr_r, (SQUARE,), 0, False),
    (nuclear_axes, (X3,), 0, True),
    (nuclear_axes_reversed, (X3,), 0, True),
    (nuclear_keepdims, (X3,), 0, False),  # (autograd: not with keepdims)
    (spectral_axes, (X3,), 0, False),  # (autograd: no matrix 2-norm)
    (spectral_keepdims, (TALL,), 0, False),
    (cholesky_stack, (PSD3,), 0, False),  # (autograd's is the symmetric gradient)
    (solve_broadcast, (A3,), 0, True),
    (solve_stack_b, (B_STACK,), 0, True),
]


def _autograd_version(fn):
    rebound = dict(fn.__globals__, np=anp)
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
        np.testing.assert_allclose(gradient, expected, rtol=1e-8, atol=1e-9)


FLOAT32 = [pinv, singular_values, svd_reduced, eigh_lower, eigvalsh, qr, nuclear_axes]


@pytest.mark.parametrize("fn", FLOAT32)
def test_float32(fn):
    fn_, args, pos, _ = next(c for c in CASES if c[0] is fn)
    args32 = [a.astype(np.float32) for a in args]
    value, gradient = value_and_grad(fn, backend="python")(*args32)
    assert gradient.dtype == np.float32
    np.testing.assert_allclose(value, fn(*args32), rtol=1e-5)
    np.testing.assert_allclose(gradient, central(fn, list(args), pos), rtol=2e-2, atol=2e-3)


# ---- inside loops, on numba -------------------------------------------------------------------


def stacks_loop(a):
    s = 0.0
    for i in range(2):
        s = s + np.sum(np.linalg.inv(a) * weights((3, 4, 4))) + np.sum(np.linalg.det(a)) * 0.01
        s = s + np.sum(np.linalg.slogdet(a)[1]) + np.sum(np.linalg.solve(a, PSD3[:, :, :2]))
        s = s + np.sum(np.linalg.solve(a, TALL[:4, 0])) + np.sum(np.linalg.solve(a, TALL[:4, :2]))
        s = s + np.sum(np.linalg.cholesky(PSD3 + a * i) * weights((3, 4, 4)))
    return s


def decompositions_loop(x):
    s = 0.0
    for i in range(2):
        u, sv, vh = np.linalg.svd(x, full_matrices=False)
        s = s + np.sum(np.matmul(u * sv[..., None, :], vh) * np.sin(x)) + np.sum(u**2 * np.cos(u))
        q, r = np.linalg.qr(x)
        s = s + np.sum(q**2 * np.cos(q)) + np.sum(r**2 * np.sin(r)) * i
        s = s + np.sum(np.linalg.pinv(x) * 0.5) + np.sum(np.linalg.svd(x, compute_uv=False) ** 2)
    return s


def symmetric_loop(a):
    s = 0.0
    for i in range(2):
        w, v = np.linalg.eigh(a, "U")
        s = s + np.sum(w * np.arange(4.0)) + np.sum(v**2 * np.cos(v))
        s = s + np.sum(np.linalg.eigvalsh(a) ** 2) * i + np.sum(np.linalg.eigh(a)[1] ** 4)
    return s


def norms_loop(x):
    s = 0.0
    for i in range(2):
        s = s + np.sum(np.linalg.norm(x, "nuc", axis=(2, 0)) * np.arange(4.0))
        s = s + np.sum(np.linalg.norm(x, 2, axis=(1, 2), keepdims=True)) * i
        s = s + np.linalg.norm(x[0], -2) + np.sum(np.linalg.norm(x[1], "nuc", keepdims=True))
        s = s + np.sum(np.linalg.norm(x, -2, axis=(-1, 0)))
    return s


def small_loop(a):
    s = 0.0
    for i in range(2):
        s = s + np.sum(np.linalg.inv(a) * weights((3, 4, 4)))
        s = s + np.sum(np.linalg.svd(a, compute_uv=False) ** 2) * i
    return s


# numba compiles linear algebra slowly (each np.linalg function in a helper takes seconds): the
# small loop always, the others in the full sweep.
LOOPS = [(small_loop, A3)]
if os.environ.get("AD_COMPILER_FULL_SWEEP") == "1":
    LOOPS += [
        (stacks_loop, A3),
        (decompositions_loop, STACK),
        (decompositions_loop, WIDE),
        (symmetric_loop, SQUARE),
        (symmetric_loop, SYM3[:, None]),
        (norms_loop, X3),
    ]


@pytest.mark.parametrize("fn, arg", LOOPS, ids=[f"{f.__name__}-{a.ndim}d" for f, a in LOOPS])
def test_loops_on_numba(fn, arg):
    value, gradient = value_and_grad(fn, backend="numba")(arg)
    np.testing.assert_allclose(value, fn(arg), rtol=1e-10)
    np.testing.assert_allclose(gradient, central(fn, [arg], 0), rtol=1e-5, atol=1e-6)


# ---- refused, never computed wrongly ---------------------------------------------------------


def svd_hermitian(x):
    return np.sum(np.linalg.svd(x, hermitian=True)[1])


def qr_complete(x):
    q, r = np.linalg.qr(x, mode="complete")
    return np.sum(q) + np.sum(r)


def eigh_bad_uplo(a):
    return np.sum(np.linalg.eigh(a, "X")[0])


def svd_of_vector(x):
    return np.sum(np.linalg.svd(x[0], compute_uv=False))


def norm_1_axes(x):
    return np.sum(np.linalg.norm(x, 1, axis=(0, 1)))


@pytest.mark.parametrize(
    "fn, arg",
    [
        (svd_hermitian, SYM),
        (qr_complete, TALL),
        (eigh_bad_uplo, SYM),
        (svd_of_vector, TALL),
        (norm_1_axes, X3),
    ],
)
def test_refused(fn, arg):
    with pytest.raises(UnsupportedSyntaxError):
        grad(fn, backend="python")(arg)


def svd_full_tall(x):
    u, s, vh = np.linalg.svd(x)
    return np.sum(u**2 * np.cos(u))


def test_full_factor_of_non_square_raises():
    """The extra columns of u of a tall matrix are any orthonormal completion: no gradient."""
    with pytest.raises(ValueError, match="full_matrices=False"):
        grad(svd_full_tall, backend="python")(TALL)
