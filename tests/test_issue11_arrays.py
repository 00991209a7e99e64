"""np.array of arrays, reductions of tuples and lists, tuples of axes, float32 in loops (issue
11, items 8, 9 and 10).

Expected values: derived by hand where written out, the original function run by CPython
(values), and central differences of the original function (gradients), on both backends.
Straight-line array code runs on NumPy even with the numba backend, so every construct also
appears inside a loop, which numba compiles.
"""

import numba
import numpy as np
import pytest
from gradcheck_helpers import central

from ad_compiler import grad, value_and_grad
from ad_compiler import runtime as rt
from ad_compiler.errors import UnsupportedSyntaxError

BACKENDS = ("python", "numba")
RNG = np.random.default_rng(11)
X3, Y3 = RNG.normal(size=3), RNG.normal(size=3)
M23 = RNG.normal(size=(2, 3))
T234 = RNG.normal(size=(2, 3, 4))


def check(fn, args, wrt, backend, rtol=1e-6):
    value, grads = value_and_grad(fn, wrt=wrt, backend=backend)(*args)
    assert value == pytest.approx(fn(*args), rel=1e-10, abs=1e-12)
    for pos, got in zip(wrt, grads):
        want = central(fn, args, pos)
        assert np.shape(got) == np.shape(args[pos])
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-8)
    return value, grads


# --------------------------------------------------------------------------------------------
# Item 8: np.array of arrays is a stack, with each row's adjoint routed to its item


def rows_weighted(x, r):
    return np.sum(np.array([x, 2.0 * x]) * r)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rows_of_a_stack_go_to_their_items(backend):
    # d/dx sum(x * r[0] + 2x * r[1]) = r[0] + 2 r[1] = [0, 1, 2] + 2 [3, 4, 5]
    x, r = np.ones(3), np.arange(6.0).reshape(2, 3)
    value, g = value_and_grad(rows_weighted, backend=backend)(x, r)
    assert value == 27.0
    np.testing.assert_array_equal(g, [6.0, 9.0, 12.0])


def two_vectors(x, y):
    return np.sum(np.array([x, y]) * np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))


def two_vectors_matmul(x, y):
    A = np.array([x, y])
    return np.sum((A @ np.array([0.5, -1.0, 2.0])) ** 2) + A[1, 2]


def float_to_array(a):
    return np.array(a) * 2.0 + a


def nested_scalars(a, b):
    M = np.array([[a, b], [b * a, 1.0]])
    return np.sum(M @ np.array([2.0, 3.0])) + M[1, 0]


def stack_matrices(X):
    S = np.array([X, X * X, np.sin(X)])
    return np.sum(S * np.arange(18.0).reshape(3, 2, 3))


def tuple_by_name(x, y):
    t = (x, y * 3.0)
    return np.sum(np.array(t) ** 2)


def nested_tuple_by_name(a, b):
    row = (a, b)
    return np.sum(np.array([row, (b, 2.0)]) * np.array([[1.0, 2.0], [3.0, 4.0]]))


def stack_in_loop(x, y):
    s = 0.0
    for i in range(3):
        A = np.array([x * i, y])
        s += np.sum(A[0] * A[1]) + A[1, i]
    return s


def nested_in_loop(a, b):
    s = 0.0
    for i in range(2):
        M = np.array([[a, b * i], [1.0, a * b]])
        s += np.sum(M * M)
    return s


def float_to_array_in_loop(a, x):
    s = 0.0
    for i in range(2):
        s += np.array(a) * x[i] + np.array(x)[i]
    return s


def stack_matrices_in_loop(X):
    s = 0.0
    for i in range(2):
        S = np.array([X, X * i])
        s += np.sum(S[1] * S[0]) + np.sum(S * S)
    return s


def stack_then_index_and_write(x, y):
    s = 0.0
    for i in range(2):
        a = x[i]
        A = np.array([x, y])
        A[0, 1] = y[0] * x[1]
        s += np.sum(A**2) * a
    return s


STACKS = [
    (two_vectors, (X3, Y3), (0, 1)),
    (two_vectors_matmul, (X3, Y3), (0, 1)),
    (float_to_array, (1.5,), (0,)),
    (nested_scalars, (0.7, -1.3), (0, 1)),
    (stack_matrices, (M23,), (0,)),
    (tuple_by_name, (X3, Y3), (0, 1)),
    (nested_tuple_by_name, (0.7, -1.3), (0, 1)),
    (stack_in_loop, (X3, Y3), (0, 1)),
    (nested_in_loop, (0.7, -1.3), (0, 1)),
    (float_to_array_in_loop, (0.7, X3), (0, 1)),
    (stack_matrices_in_loop, (M23,), (0,)),
    (stack_then_index_and_write, (X3, Y3), (0, 1)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", STACKS, ids=[c[0].__name__ for c in STACKS])
def test_np_array_of_arrays(case, backend):
    check(*case, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_np_array_of_a_float_is_that_float(backend):
    # np.array(a) * 2 + a: value 3a, derivative 3; numba has no np.array of a float
    assert value_and_grad(float_to_array, backend=backend)(1.5) == (4.5, 3.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_vectors_by_hand(backend):
    # sum(x * [1, 2, 3] + y * [4, 5, 6])
    gx, gy = grad(two_vectors, wrt=(0, 1), backend=backend)(X3, Y3)
    np.testing.assert_array_equal(gx, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(gy, [4.0, 5.0, 6.0])


def ragged(x):
    return np.sum(np.array([x, 1.0]))


def ragged_tuple(x):
    return np.sum((x, 1.0))


@pytest.mark.parametrize("fn", [ragged, ragged_tuple])
def test_ragged_arrays_are_refused(fn):
    with pytest.raises(UnsupportedSyntaxError, match=r"test_issue11_arrays\.py:\d+: .*ragged"):
        grad(fn, backend="python")(X3)


# --------------------------------------------------------------------------------------------
# Item 9: a tuple or list given to a reduction (or another NumPy function) is an array


def mean_of_tuple(x):
    return np.mean((x, x + 2.0))


def sum_of_tuple(x):
    return np.sum((x, x + 2.0))


def max_of_tuple(x):
    return np.max((x, 2.0 * x))


@pytest.mark.parametrize("backend", BACKENDS)
def test_reductions_of_tuples_by_hand(backend):
    x = np.array([0.5, 1.0, 2.0])
    # mean of 6 entries, x in each of them twice: 2/6
    value, g = value_and_grad(mean_of_tuple, backend=backend)(x)
    assert value == pytest.approx((3.5 + 9.5) / 6)
    np.testing.assert_allclose(g, [1 / 3] * 3)
    value, g = value_and_grad(sum_of_tuple, backend=backend)(x)
    assert value == pytest.approx(13.0)
    np.testing.assert_array_equal(g, [2.0, 2.0, 2.0])
    # the largest of the six is 2 * x[2]
    value, g = value_and_grad(max_of_tuple, backend=backend)(x)
    assert value == 4.0
    np.testing.assert_array_equal(g, [0.0, 0.0, 2.0])


def max_of_numbers(a, b):
    return np.max((a, b)) * 2.0


def sum_of_list(a, b, c):
    return np.sum([a, b * b, c]) + np.min((a, b, c))


@pytest.mark.parametrize("backend", BACKENDS)
def test_reductions_of_numbers_by_hand(backend):
    assert grad(max_of_numbers, wrt=(0, 1), backend=backend)(0.3, 0.8) == (0.0, 2.0)
    # a + b^2 + c + min: the min is c
    assert grad(sum_of_list, wrt=(0, 1, 2), backend=backend)(0.3, 0.8, -0.2) == (1.0, 1.6, 2.0)


def builtin_sum_of_tuple(x, y):
    return np.sum(sum((x, y * y)) ** 2)


def mean_of_list_axis0(x, y):
    return np.sum(np.mean([x, y], axis=0) ** 2)


def max_of_list_axis0(x, y):
    return np.sum(np.max([x, y * 2.0], axis=0))


def min_keepdims(x, y):
    return np.sum(np.min((x, y), axis=1, keepdims=True) * x)


def reductions_in_loop(x, y):
    s = 0.0
    for i in range(2):
        s += np.max([x[i], y[i] * 2.0]) + np.mean((x, y * i)) + np.sum((x[i], y[i]))
    return s


def tuple_name_reduced(x, y):
    t = (x, y)
    return np.sum(np.max(t, axis=0) ** 2)


def dot_of_tuples(a, b):
    return np.dot((a, b), (b, 2.0))


def exp_of_tuple(a, b):
    return np.sum(np.exp((a, b)) * np.array([1.0, 3.0]))


def maximum_of_tuple(a, b):
    return np.sum(np.maximum((a, b), 1.0))


REDUCTIONS = [
    (mean_of_tuple, (X3,), (0,)),
    (sum_of_tuple, (X3,), (0,)),
    (max_of_tuple, (np.abs(X3) + 0.1,), (0,)),
    (max_of_numbers, (0.3, 0.8), (0, 1)),
    (sum_of_list, (0.3, 0.8, -0.2), (0, 1, 2)),
    (builtin_sum_of_tuple, (X3, Y3), (0, 1)),
    (mean_of_list_axis0, (X3, Y3), (0, 1)),
    (max_of_list_axis0, (X3, Y3), (0, 1)),
    (min_keepdims, (X3, Y3), (0, 1)),
    (reductions_in_loop, (X3, Y3), (0, 1)),
    (tuple_name_reduced, (X3, Y3), (0, 1)),
    (dot_of_tuples, (0.5, 1.5), (0, 1)),
    (exp_of_tuple, (0.5, 1.5), (0, 1)),
    (maximum_of_tuple, (0.5, 1.5), (0, 1)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", REDUCTIONS, ids=[c[0].__name__ for c in REDUCTIONS])
def test_tuples_and_lists_given_to_numpy(case, backend):
    check(*case, backend)


# --------------------------------------------------------------------------------------------
# Item 10: reductions over a tuple of axes


def mean_over_both_axes(X):
    return np.mean(X**2, axis=(0, 1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_mean_over_both_axes_by_hand(backend):
    X = np.arange(6.0).reshape(2, 3)
    value, g = value_and_grad(mean_over_both_axes, backend=backend)(X)
    assert value == pytest.approx(55 / 6)
    np.testing.assert_allclose(g, 2 * X / 6)


def sum_axes_02(T, w):
    return np.sum(np.sum(T * T, axis=(0, 2)) * w)


def mean_negative_axes(T, w):
    return np.sum(np.mean(np.sin(T), axis=(-1, 0)) * w)


def max_keepdims(T):
    return np.sum(np.max(T, axis=(0, 2), keepdims=True) * T)


def min_last_axes(T):
    return np.sum(np.min(T * 2.0, axis=(1, 2)) ** 2)


def all_three_axes(T):
    return np.max(T, axis=(0, 1, 2)) + np.sum(T, axis=(2, 1, 0))


def one_axis_in_a_tuple(X):
    return np.sum(np.sum(X, axis=(1,)) ** 2)


def axes_in_loop_3d(T, w):
    s = 0.0
    for i in range(2):
        s += np.sum(np.mean(T * w[i], axis=(0, 2), keepdims=True) ** 2)
        s += np.sum(np.max(T * i, axis=(2, 0)) * w)
    return s


def axes_in_loop_2d(X):
    s = 0.0
    for i in range(2):
        s += np.mean(X**2, axis=(0, 1)) * i + np.min(X, axis=(1, 0))
        s += np.sum(np.sum(X, axis=(0, 1), keepdims=True) * X)
    return s


AXES = [
    (mean_over_both_axes, (M23,), (0,)),
    (sum_axes_02, (T234, X3), (0, 1)),
    (mean_negative_axes, (T234, X3), (0, 1)),
    (max_keepdims, (T234,), (0,)),
    (min_last_axes, (T234,), (0,)),
    (all_three_axes, (T234,), (0,)),
    (one_axis_in_a_tuple, (M23,), (0,)),
    (axes_in_loop_3d, (T234, X3), (0, 1)),
    (axes_in_loop_2d, (M23,), (0,)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", AXES, ids=[c[0].__name__ for c in AXES])
def test_tuples_of_axes(case, backend):
    check(*case, backend)


def max_ties_in_loop(X):
    s = 0.0
    for _ in range(1):
        s += np.max(X, axis=(0, 1), keepdims=True)[0, 0] * 3.0
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_over_axes_splits_ties_evenly(backend):
    X = np.array([[1.0, 3.0], [3.0, 0.0]])
    value, g = value_and_grad(max_ties_in_loop, backend=backend)(X)
    assert value == 9.0
    np.testing.assert_array_equal(g, [[0.0, 1.5], [1.5, 0.0]])


def duplicate_axis(X):
    return np.sum(X, axis=(0, 0))


def axis_out_of_range(X):
    return np.sum(X, axis=(0, 2))


@pytest.mark.parametrize(("fn", "what"), [(duplicate_axis, "twice"), (axis_out_of_range, "axes")])
def test_bad_axes_are_refused(fn, what):
    with pytest.raises(UnsupportedSyntaxError, match=rf"test_issue11_arrays\.py:\d+: .*{what}"):
        grad(fn, backend="python")(M23)


@numba.njit
def _jit_reductions(x, g):
    return (
        rt.rsum(x, (0, 2), False),
        rt.rmean(x, (-1, 0), True),
        rt.rmax(x, (2, 0), False),
        rt.rmin(x, (0, 1, 2), False),
        rt.reduce_grad(g, x, (0, 2), False),
        rt.mean_grad(g.reshape((1, 3, 1)), x, (0, 2), True),
        rt.extreme_grad(g, x, rt.rmax(x, (0, 2), False), (0, 2), False),
    )


def test_runtime_tuple_axes_under_numba_agree_with_numpy():
    import ad_compiler.runtime_numba  # noqa: F401  (registers the numba implementations)

    x = np.round(T234 * 2) / 2  # ties in the max
    x[1, 2, 3] = np.nan
    g = np.arange(3.0) + 1.0
    got = _jit_reductions(x, g)
    want = [
        np.sum(x, axis=(0, 2)),
        np.mean(x, axis=(-1, 0), keepdims=True),
        np.max(x, axis=(2, 0)),
        np.min(x, axis=(0, 1, 2)),
        rt.reduce_grad(g, x, (0, 2), False),
        rt.mean_grad(g.reshape((1, 3, 1)), x, (0, 2), True),
        rt.extreme_grad(g, x, np.max(x, axis=(0, 2)), (0, 2), False),
    ]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # by hand: every entry of a slice gets g / (number of entries reduced: 2 * 4)
    np.testing.assert_allclose(want[5], np.broadcast_to(g[None, :, None] / 8, x.shape))
    np.testing.assert_allclose(np.sum(want[6], axis=(0, 2)), g)  # ties share their slot's g


# --------------------------------------------------------------------------------------------
# Item 10: float32 arrays in loops under numba


def dot_rows(X, w):
    s = 0.0
    for i in range(X.shape[0]):
        s += np.dot(X[i], w)
    return s


def scaled_in_loop(x):
    y = x
    for _ in range(3):
        y = y * 1.5 + 0.1
    return np.sum(y)


def products_in_loop(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * w[i]
    return s


def writes_in_loop(x, w):
    out = np.zeros_like(x)
    for i in range(x.shape[0]):
        out[i] = x[i] * w[i] + 1.0
    return np.sum(out**2)


def sums_in_loop(X, w):
    s = 0.0
    for i in range(X.shape[0]):
        h = np.tanh(X[i] * w)
        s += np.sum(h**2) + np.mean(X[i] + 2.0)
    return s


def float32_scalar(a, x):
    s = a
    for i in range(2):
        s = s * a + x[i]
    return s


X32 = RNG.normal(size=(3, 2)).astype(np.float32)
W32 = RNG.normal(size=2).astype(np.float32)
FLOAT32 = [
    (dot_rows, (X32, W32), (0, 1)),
    (scaled_in_loop, (W32,), (0,)),
    (products_in_loop, (W32, 2 * W32), (0, 1)),
    (writes_in_loop, (W32, 2 * W32), (0, 1)),
    (sums_in_loop, (X32, W32), (0, 1)),
    (sums_in_loop, (X32, W32.astype(np.float64)), (1,)),
    (float32_scalar, (np.float32(0.7), W32), (0, 1)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", FLOAT32, ids=[c[0].__name__ for c in FLOAT32])
def test_float32_in_loops(case, backend):
    fn, args, wrt = case
    value, grads = value_and_grad(fn, wrt=wrt, backend=backend)(*args)
    wide = tuple(np.float64(a) if np.ndim(a) == 0 else a.astype(np.float64) for a in args)
    assert value == pytest.approx(fn(*wide), rel=1e-5)
    for pos, got in zip(wrt, grads):
        assert got.dtype == args[pos].dtype  # float32 arguments get float32 gradients
        np.testing.assert_allclose(got, central(fn, wide, pos), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_dot_rows_by_hand(backend):
    # d/dX sum_i X[i] . w = w in every row; d/dw = sum_i X[i]
    gX, gw = grad(dot_rows, wrt=(0, 1), backend=backend)(X32, W32)
    assert gX.dtype == gw.dtype == np.float32
    np.testing.assert_allclose(gX, np.tile(W32, (3, 1)), rtol=1e-6)
    np.testing.assert_allclose(gw, X32.sum(axis=0), rtol=1e-6)


def test_compiled_for_float32_runs():
    g = grad(dot_rows, wrt=1)
    np.testing.assert_allclose(g.compiled_for(X32, W32)(X32, W32), X32.sum(axis=0), rtol=1e-6)
