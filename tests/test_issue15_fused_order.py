"""Fused sums along the last axis run it outside the axis before it (reading broadcast operands
from a copy with those axes swapped), and fused sums skip their innermost loop where a factor of
every term is 0 and the other factors are finite (fusion_loop.py, fusion_skip.py). Checked
against central differences of the original function and against the unoptimized NumPy
program, bit for bit where a value is not finite."""

import re

import numpy as np
import pytest
from gradcheck_helpers import central
from test_issue15_fusion import check, numba_source

from ad_compiler import grad


def kmeans(C, X):
    D = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=-1)
    return np.sum(np.min(D, axis=1))


def scaled_kmeans(C, X, s):
    D = np.sum(s * (X[:, None, :] - C[None, :, :]) ** 2, axis=-1)
    return np.sum(np.max(-D, axis=1))


def pairwise_dots(A, B):
    G = np.sum(A[:, None, :] * B[None, :, :], axis=-1)
    return np.sum(G**2)


def row_energy(T, w):
    return np.sum(np.sum(T * T, axis=-1) * w)


def middle_sums(a, b):
    return np.sum(np.sum(a[:, None, :] * np.sin(b[None, :, :]), axis=(0, 2)) ** 2)


def as_numpy_program(fn, args, wrt):
    got = grad(fn, wrt=wrt, optimize=False, backend="python")(*args)
    return got if isinstance(got, tuple) else (got,)


def compiled(fn, args, wrt):
    got = grad(fn, wrt=wrt).compiled_for(*args)(*args)
    return got if isinstance(got, tuple) else (got,)


@pytest.mark.parametrize("shape", [(7, 4, 3), (1, 5, 2), (9, 1, 3), (6, 3, 1), (5, 6, 16)])
def test_kmeans_skips_the_centroids_that_are_not_nearest(shape):
    n, K, d = shape
    rng = np.random.default_rng(n + 10 * K + 100 * d)
    C, X = rng.normal(size=(K, d)), rng.normal(size=(n, d))
    source = check(kmeans, (C, X), ("C",))
    assert "may_overflow = rt.may_overflow(rt.max_abs(t1) + rt.max_abs(t2)" in source, source
    assert "!= 0.0 or may_overflow:" in source, source


@pytest.mark.parametrize("s", [0.5, -2.0])
def test_a_scaled_distance_and_a_max(s):
    rng = np.random.default_rng(3)
    C, X = rng.normal(size=(4, 3)), rng.normal(size=(8, 3))
    check(scaled_kmeans, (C, X, s), ("C", "X"))


def rbf_distances(C, X):
    return np.sum(np.sqrt(np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=-1) + 1.0))


@pytest.mark.parametrize(
    "fn, shapes, swapped",
    [
        (rbf_distances, [(4, 3), (6, 3)], True),
        (rbf_distances, [(1, 2), (5, 2)], True),
        # the product is stored for the reverse sweep (a whole-shape store): as it was
        (pairwise_dots, [(6, 4), (5, 4)], False),
        (middle_sums, [(3, 5), (4, 5)], False),
    ],
)
def test_sums_along_the_last_axis_run_it_outside(fn, shapes, swapped):
    rng = np.random.default_rng(len(shapes))
    args = tuple(rng.normal(size=s) for s in shapes)
    names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    source = check(fn, args, names)
    # (with the reads of the i1 loop's invariant elements before it: loop_invariant.py)
    between = r"(?: +(?:trip\w* = |if trip\w* > 0:|t\d+ = ).*\n)*"
    outside = re.search(rf"for i2 in range\(n2\):\n{between} +for i1 in range\(n1\):", source)
    assert bool(outside) == swapped, source


def test_whole_shape_operands_keep_the_order():
    rng = np.random.default_rng(4)
    T, w = rng.normal(size=(3, 5, 4)), rng.normal(size=(3, 5))
    source = check(row_energy, (T, w), ("T", "w"))
    assert re.search(r"for i1 in range\(n1\):\n +for i2 in range\(n2\):", source), source


def test_the_copy_is_taken_only_of_broadcast_operands():
    rng = np.random.default_rng(5)
    T, w = rng.normal(size=(3, 5, 4)), rng.normal(size=(3, 5))
    source = numba_source(grad(row_energy, wrt=(0, 1)), (T, w))
    assert "swap_last_axes" not in source, source
    C, X = rng.normal(size=(6, 4)), rng.normal(size=(5, 4))
    assert "rt.swap_last_axes(t2)" in numba_source(grad(rbf_distances, wrt=(0, 1)), (C, X))


def not_finite_cases():
    big = np.finfo(float).max
    yield "overflow in a skipped term", np.array([[big], [-big]]), np.array([[big]])
    yield "inf in a point", np.array([[0.0, 1.0], [2.0, 0.5]]), np.array([[np.inf, 0.0]])
    yield "nan in a centroid", np.array([[np.nan, 1.0], [2.0, 0.5]]), np.array([[1.0, 0.0]])
    yield "squares overflow", np.array([[1e200, 0.0], [-1e200, 1.0]]), np.array([[1e200, 3.0]])
    yield "ties", np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0]]), np.array([[1.0, 2.5]])


@pytest.mark.parametrize("case", list(not_finite_cases()), ids=lambda c: c[0])
def test_a_skipped_term_is_never_one_that_is_not_zero(case):
    _, C, X = case
    (expected,) = as_numpy_program(kmeans, (C, X), "C")
    (got,) = compiled(kmeans, (C, X), "C")
    np.testing.assert_array_equal(got, expected)


def test_overflow_in_a_skipped_term_gives_nan_as_numpy_does():
    big = np.finfo(float).max
    C, X = np.array([[big], [-big]]), np.array([[big]])
    (got,) = compiled(kmeans, (C, X), "C")
    assert got[0, 0] == 0.0 and np.isnan(got[1, 0])  # 0 * (2 * inf) at the far centroid


def test_kmeans_gradient_against_central_differences_at_scale():
    rng = np.random.default_rng(11)
    C, X = rng.normal(size=(30, 5)), rng.normal(size=(400, 5))
    (got,) = compiled(kmeans, (C, X), "C")
    direction = rng.normal(size=C.shape)
    eps = 1e-6
    slope = (kmeans(C + eps * direction, X) - kmeans(C - eps * direction, X)) / (2 * eps)
    assert np.sum(got * direction) == pytest.approx(slope, rel=1e-6)
    np.testing.assert_allclose(got, central(kmeans, (C, X), 0), rtol=1e-6, atol=1e-7)


# The adjoint of a max or min written over the array it was taken of, when nothing reads that
# array afterwards (fusion_reuse.py): only the program's own arrays.


def nearest_point(C, X):
    D = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=-1)
    return np.sum(np.min(D, axis=0))


def max_of_both_axes(C, X):
    D = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=-1)
    return np.max(D, axis=(0, 1))


def distances_read_again(C, X):
    D = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=-1)
    waves = np.sum(np.sin(D))  # its reverse reads D after the min's
    return np.sum(np.min(D, axis=1)) + 0.1 * waves


def row_max_of_argument(Z):
    return np.sum(np.max(Z, axis=1) ** 2)


def row_max_of_view(Z):
    V = Z[1:]
    return np.sum(np.max(V, axis=1) ** 2) + np.sum(V)


def row_max_of_product(Z):
    P = Z * 2.0
    return np.sum(np.max(P, axis=1) ** 2)


@pytest.mark.parametrize(
    "fn, over",
    [
        (kmeans, True),
        (nearest_point, True),
        (max_of_both_axes, True),
        (distances_read_again, False),
    ],
)
def test_the_shares_are_written_over_dead_distances(fn, over):
    rng = np.random.default_rng(8)
    C, X = rng.normal(size=(5, 3)), rng.normal(size=(9, 3))
    source = check(fn, (C, X), ("C", "X"))
    assert ("rt.extreme_grad_over(" in source) == over, source
    C[3] = C[1]  # ties: the share is split (no derivative there: the NumPy program's)
    pairs = zip(compiled(fn, (C, X), ("C", "X")), as_numpy_program(fn, (C, X), ("C", "X")))
    for got, expected in pairs:
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "fn, over",
    [(row_max_of_argument, False), (row_max_of_view, False), (row_max_of_product, True)],
)
def test_only_the_programs_own_arrays_are_written_over(fn, over):
    Z = np.random.default_rng(9).normal(size=(6, 4))
    source = check(fn, (Z,), ("Z",), fused=None)
    assert ("rt.extreme_grad_over(" in source) == over, source
    Z[2, 1] = Z[2, 3] = 5.0  # a tie
    before = Z.copy()
    (got,), (expected,) = compiled(fn, (Z,), "Z"), as_numpy_program(fn, (Z,), "Z")
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(Z, before)  # the argument is never written
