"""Issue 15: numba programs compute products of tiny matrices by loops (`rt.matprod`), BLAS
beyond. Expected values from NumPy's `@`, gradients from central differences of the original
functions."""

import numba
import numpy as np
import pytest

from ad_compiler import grad, value_and_grad
from ad_compiler import runtime as rt
from ad_compiler.runtime_products_numba import TINY


@numba.njit
def numba_matprod(a, b):
    return rt.matprod(a, b)


SHAPES = [
    ((2, 3), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3, 4)),
    ((1, 1), (1,)),
    ((0, 3), (3,)),
    ((3, 0), (0,)),
    ((2, 0), (0, 3)),
    ((8, 8), (8,)),  # at TINY
    ((9, 8), (8,)),  # beyond: BLAS
    ((4, 4), (4, 5)),  # beyond
    ((30, 40), (40, 20)),
]


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_matprod_equals_numpy(shapes):
    rng = np.random.default_rng(len(str(shapes)))
    a, b = (rng.standard_normal(s) for s in shapes)
    np.testing.assert_allclose(numba_matprod(a, b), a @ b, rtol=1e-13, atol=1e-14)
    # views of other layouts: a transposed and a strided operand
    at = np.ascontiguousarray(a.T).T
    strided = np.repeat(b, 2, axis=0)[::2]
    assert not strided.flags.c_contiguous or strided.size <= 1  # (empty: contiguous anyway)
    np.testing.assert_allclose(numba_matprod(at, strided), a @ b, rtol=1e-13, atol=1e-14)


def test_matprod_special_values_and_errors():
    a = np.array([[-0.0, -0.0], [np.inf, 1.0], [np.nan, 0.0]])
    b = np.array([1.0, 2.0])
    expected = a @ b
    got = numba_matprod(a, b)
    np.testing.assert_array_equal(got, expected)  # (NaN where NumPy's is NaN)
    assert np.signbit(got[0]) == np.signbit(expected[0])
    with pytest.raises(ValueError):
        numba_matprod(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError):
        numba_matprod(np.ones(2), np.ones((3, 2)))
    with pytest.raises(ValueError):
        numba_matprod(np.ones((2, 3)), np.ones((2, 3)))
    assert TINY >= 6  # (a 2x3 product takes the loops)


def norm_sq(x, W):
    q = W @ x
    return np.sum(q**2)


def bilinear(u, A, v):
    return u @ A @ v + np.sum((A @ A.T) ** 2)


def central(f, args, i, h=1e-6):
    base = [np.array(a, dtype=float) for a in args]
    g = np.zeros_like(base[i])
    for k in np.ndindex(base[i].shape):
        up = [a.copy() for a in base]
        down = [a.copy() for a in base]
        up[i][k] += h
        down[i][k] -= h
        g[k] = (f(*up) - f(*down)) / (2 * h)
    return g


@pytest.mark.parametrize("n", [2, 3, 12])
def test_gradients_through_tiny_and_larger_products(n):
    rng = np.random.default_rng(n)
    x, W = rng.standard_normal(3), rng.standard_normal((n, 3))
    g = value_and_grad(norm_sq, wrt=("x", "W"), backend="numba")
    value, (gx, gW) = g(x, W)
    assert value == pytest.approx(norm_sq(x, W), rel=1e-13)
    for i, got in enumerate((gx, gW)):
        np.testing.assert_allclose(got, central(norm_sq, (x, W), i), rtol=1e-6, atol=1e-8)
    u, A, v = rng.standard_normal(n), rng.standard_normal((n, 2)), rng.standard_normal(2)
    gb = grad(bilinear, wrt=("u", "A", "v"), backend="numba")
    compiled = gb.compiled_for(u, A, v)(u, A, v)
    for i, got in enumerate(gb(u, A, v)):
        np.testing.assert_allclose(got, central(bilinear, (u, A, v), i), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(compiled[i], got, rtol=1e-13)
    assert "rt.matprod(u, A)" in gb._compile(gb._kinds([u, A, v]), numpy=False)[1]
