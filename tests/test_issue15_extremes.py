"""np.max/np.min under numba (runtime_extremes_numba.py: four running extremes along the last
axis, a vectorizable inner loop along the others) against NumPy itself: NaN anywhere in a
slice, ties, lengths around the unrolling by four and the short-row loop, int, bool and float32
arrays, every axis, keepdims, whole arrays. Of tied 0.0 and -0.0 either may come back (NumPy's
own choice depends on the length and the CPU): only the value is compared there."""

import numpy as np
import pytest
from numba import njit

import ad_compiler.runtime_numba  # noqa: F401  (registers the numba implementations)
from ad_compiler import runtime as rt


@njit
def _rows(x):
    return rt.rmin(x, 1, False), rt.rmax(x, 1, False), rt.rmin(x, -1, True), rt.rmax(x, 1, True)


@njit
def _columns(x):
    return rt.rmin(x, 0, False), rt.rmax(x, 0, False)


@njit
def _whole(x):
    return rt.rmin(x, None, False), rt.rmax(x, None, False)


@njit
def _middle(x):
    return rt.rmin(x, 1, False), rt.rmax(x, 1, True)


def _same(got, expected):
    """Equal values and dtypes, NaN where NumPy has NaN."""
    got, expected = np.asarray(got), np.asarray(expected)
    if expected.ndim == 0:  # numba returns a float32 number as a Python float (exactly)
        got = got.astype(expected.dtype)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got, expected, equal_nan=expected.dtype.kind == "f")


def _cases():
    rng = np.random.default_rng(7)
    for n in (*range(1, 11), 15, 16, 17, 18, 19, 20, 21):  # the short rows; the unrolling by 4
        x = rng.normal(size=(3, n))
        yield f"normal {n}", x
        tied = np.round(rng.normal(size=(4, n)))  # many ties, and zeros of both signs
        tied[rng.random(tied.shape) < 0.3] *= -0.0
        yield f"ties {n}", tied
        yield f"signed zeros {n}", np.where(rng.random((4, n)) < 0.5, 0.0, -0.0)
        with_nan = x.copy()
        with_nan[rng.integers(0, 3), rng.integers(0, n)] = np.nan
        yield f"nan {n}", with_nan
    big = rng.normal(size=(50, 37))
    big[5, 36] = np.inf
    big[6, 0] = -np.inf
    big[7, :] = np.nan
    yield "inf and all-nan row", big
    yield "float32", rng.normal(size=(5, 9)).astype(np.float32)
    yield "int", rng.integers(-5, 5, size=(6, 9))
    yield "large ints", np.array([[2**62 + 1, 2**62, 2**62 + 3, 7, 2**62 + 2]])
    yield "bool", rng.random((4, 6)) < 0.5


@pytest.mark.parametrize("label, x", list(_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_extremes_agree_with_numpy_bit_for_bit(label, x):
    expected_rows = (np.min(x, 1), np.max(x, 1), np.min(x, -1, keepdims=True),
                     np.max(x, 1, keepdims=True))
    for got, expected in zip(_rows(x), expected_rows):
        _same(got, expected)
    for got, expected in zip(_columns(x), (np.min(x, 0), np.max(x, 0))):
        _same(got, expected)
    for got, expected in zip(_whole(x), (np.min(x), np.max(x))):
        _same(got, expected)
    cube = np.stack([x, x[::-1]], axis=1)  # the reduced axis in the middle
    for got, expected in zip(_middle(cube), (np.min(cube, 1), np.max(cube, 1, keepdims=True))):
        _same(got, expected)


def test_empty_reductions_raise_as_numpy():
    with pytest.raises(ValueError, match="zero-size"):
        _rows(np.zeros((2, 0)))
    empty_rows = _rows(np.zeros((0, 3)))
    assert [r.shape for r in empty_rows] == [(0,), (0,), (0, 1), (0, 1)]


@njit
def _shares(g, x, out):
    return rt.extreme_grad(g, x, out, 1, False), rt.extreme_grad_over(g, x.copy(), out, 1, False)


def test_the_adjoint_of_a_row_extreme_shares_g_among_ties():
    """Along the last axis numba's adjoint writes g at each hit in one pass, then shares it
    among the ties of a row (runtime_reduction_grads_numba._route_rows): against NumPy's
    rt.extreme_grad, with ties, a NaN extreme, and g of 0, NaN and inf at rows with ties."""
    x = np.array(
        [
            [1.0, 0.5, 0.5, 2.0, 0.5],
            [np.nan, 1.0, np.nan, 3.0, 1.0],
            [0.0, -0.0, 1.0, 1.0, 2.0],
            [3.0, 3.0, 3.0, 3.0, 3.0],
            [1.0, 2.0, 3.0, 4.0, 5.0],
        ]
    )
    out = np.min(x, axis=1)
    for g in (
        np.array([2.0, 4.0, 3.0, 0.0, 1.5]),
        np.array([np.nan, 1.0, np.inf, 1.0, -np.inf]),
        np.array([0.0, np.nan, 0.0, np.nan, 0.0]),
    ):
        expected = rt.extreme_grad(g, x, out, 1, False)
        for got in _shares(g, x, out):
            np.testing.assert_array_equal(got, expected)
