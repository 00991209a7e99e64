"""Smaller constructs Tangent's test functions use (issue 12): np.newaxis, dict(...), a tuple
indexed by a run-time integer, np.atleast_1d/2d/3d. Expected values from the math."""

import collections

import numpy as np
import pytest
from structured_oracle import assert_close, central

from ad_compiler import grad, value_and_grad

BACKENDS = ("python", "numba")


def newaxis(x):
    return np.sum(x[::2, np.newaxis] * np.array([[1.0, 2.0]]))


def dict_call(t):
    a, b, c = t
    d = dict(a=a, b=b, c=c)
    return d["a"] * d["b"] + d["c"]


def pick(a, b, c, i):
    x = a, b, c
    return x[i] * a


def atleast(x):
    return np.sum(np.atleast_1d(x) * 2.0) + np.sum(np.atleast_2d(x) ** 2) + np.sum(
        np.atleast_3d(x) ** 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_small_constructs(backend):
    np.testing.assert_allclose(grad(newaxis, backend=backend)(np.arange(5.0)),
                               [3.0, 0.0, 3.0, 0.0, 3.0])
    assert grad(dict_call, backend=backend)((2.0, 3.0, 4.0)) == (3.0, 2.0, 1.0)
    for i, want in [(0, (2.0, 0.0, 0.0)), (1, (2.0, 1.0, 0.0)), (-1, (3.0, 0.0, 1.0))]:
        assert grad(pick, wrt=(0, 1, 2), backend=backend)(1.0, 2.0, 3.0, i) == want
    for x in (1.5, np.array([1.0, -2.0]), np.arange(6.0).reshape(2, 3)):
        got = grad(atleast, backend=backend)(x)
        assert_close(got, 2.0 + 2 * np.asarray(x) + 3 * np.asarray(x) ** 2)
        assert_close(got, central(atleast, (x,), 0), rtol=1e-5, atol=1e-5)


def starred(t):
    a, *rest, z = t
    return a * z + sum(rest) * len(rest)


def test_starred_assignment_target():
    assert grad(starred, backend="python")((1.0, 2.0, 3.0, 4.0)) == (4.0, 2.0, 2.0, 1.0)


def affine(w, b, x, scale=1.0):
    return np.sum((w * x + b) * scale)


def spreads(params, x, cfg):
    h = lambda a, b: a * b  # noqa: E731
    return affine(*params, x, **cfg) + h(*params)


def test_star_arguments_to_your_own_functions():
    g = grad(spreads, backend="python")((2.0, 0.5), np.array([1.0, 3.0]), {"scale": 2.0})
    assert g == (8.0 + 0.5, 4.0 + 2.0)


def list_indices(X, x):
    # x[[0, 0]] and X[[0, 1]] index with the array of the list (rows), as NumPy does; a tuple
    # is one index per axis; np.array of integer literals is an integer array
    return (np.sum(X[[0, 1]]) + np.sum(X[(0, 1)]) + np.sum(x[[0, 0, 2]])
            + np.sum(x[[True, False, True]]) + np.sum(x[np.array([1, 1])]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_list_as_an_index_is_an_array_of_indices(backend):
    X, x = np.arange(6.0).reshape(3, 2), np.array([1.0, 2.0, 3.0])
    value, (gX, gx) = value_and_grad(list_indices, wrt=(0, 1), backend=backend)(X, x)
    assert value == list_indices(X, x)
    np.testing.assert_array_equal(gX, [[1.0, 2.0], [1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(gx, [3.0, 2.0, 2.0])


# Found by the fuzzer (refusals of valid code, now compiled): a list appended after a loop that
# may return, a nested def after an if that may return, reductions of a namedtuple, a filter
# `i % 2 == 0` on an unrolled index.


def appends_after_a_returning_loop(x, y):
    items = [x]
    for _ in range(1):
        if y > 0.0:
            return x * 2.0
    items.append(x * y)
    return np.sum(items)


def nested_def_after_a_return(x, c):
    if c > 0.0:  # noqa: SIM102  (the nesting is what the fuzzer found)
        if c > 1.0:
            return x * 3.0

    def times_x(u):
        return u * x

    return times_x(2.0) + x


Point = collections.namedtuple("Point", "a b")


def reduces_a_namedtuple(p, n):
    return sum(p) + np.sum(p) + np.mean(np.array(p)) + max(p) + p[n] * p[-1]


def even_filter(x):
    return min([x[i] + 1.0 for i in range(3) if i % 2 == 0]) + np.sum(sum(x * k for k in range(2)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_found_by_the_fuzzer(backend):
    g = value_and_grad(appends_after_a_returning_loop, wrt=(0, 1), backend=backend)
    assert g(1.5, -1.0) == (0.0, (0.0, 1.5)) and g(1.5, 1.0) == (3.0, (2.0, 0.0))
    g = value_and_grad(nested_def_after_a_return, backend=backend)
    assert g(1.5, 0.5) == (4.5, 3.0) and g(1.5, 2.0) == (4.5, 3.0)
    value, gp = value_and_grad(reduces_a_namedtuple, backend=backend)(Point(1.0, 3.0), 0)
    assert value == 16.0 and type(gp) is Point and gp == (5.5, 4.5)
    value, gx = value_and_grad(even_filter, backend=backend)(np.array([0.5, -1.0, 2.0]))
    assert value == 3.0
    np.testing.assert_array_equal(gx, [2.0, 1.0, 1.0])
