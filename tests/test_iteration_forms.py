"""Loops over arrays through enumerate() and zip() nested in each other (flow.iterated_arrays):
`enumerate(zip(x, y))` and `zip(enumerate(x), y)` were refused with 'creating a zip object
cannot be differentiated' (found by the adversary), and so were `enumerate(x, start=1)` and
`reversed(x)` over arrays. Each function is checked against CPython
(the value) and central differences of itself (the gradient), on both backends, with
sequences of unequal lengths where zip stops at the shortest."""

import numpy as np
import pytest
from gradcheck_helpers import central

from ad_compiler import value_and_grad

BACKENDS = ("python", "numba")


def enumerate_zip(x, y):
    s = 0.0
    for i, (a, b) in enumerate(zip(x, y)):
        s += i * a * b + a * a
    return s


def zip_enumerate(x, y):
    s = 0.0
    for (i, a), b in zip(enumerate(x), y):
        s += (i + 1.0) * a * b
    return s


def generator_over_enumerate_zip(x, y):
    return sum(i * a * b for i, (a, b) in enumerate(zip(x, y)))


def rows_of_a_matrix(x, y):
    W = np.outer(x, y)
    s = 0.0
    for i, (row, b) in enumerate(zip(W, x)):
        s += np.sum(row * row) * b + i * row[0]
    return s


def zip_of_zips(x, y):
    s = 0.0
    for (a, b), c in zip(zip(x, y), x[::-1]):
        s += a * b * c
    return s


def enumerate_from_one(x, y):
    s = 0.0
    for i, w in enumerate(x, start=1):
        s += i * w * w
    return s + sum(i * v for i, v in enumerate(y, 1))


def backwards(x, y):
    s = 0.0
    for v in reversed(x):
        s = s * 0.5 + v
    for i, (a, row) in enumerate(zip(reversed(y), reversed(np.outer(y, x)))):
        s += i * a * row[1]
    return s


def reversed_ranges(x, y):
    s = 0.0
    for i in reversed(range(len(x))):
        s = s * 0.5 + x[i] * y[i]
    for i in reversed(range(1, len(y))):
        s = s + y[i] * y[i - 1]
    return s


CASES = [
    reversed_ranges,
    enumerate_zip,
    zip_enumerate,
    generator_over_enumerate_zip,
    rows_of_a_matrix,
    zip_of_zips,
    enumerate_from_one,
    backwards,
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", CASES, ids=[f.__name__ for f in CASES])
def test_enumerate_and_zip_nested(fn, backend):
    x, y = np.array([0.3, -0.7, 1.2]), np.array([0.5, -0.2, 0.9, 1.5])  # zip: 3 items
    value, gradients = value_and_grad(fn, wrt=("x", "y"), backend=backend)(x, y)
    assert value == pytest.approx(fn(x, y), rel=1e-12)
    for pos, gradient in enumerate(gradients):
        np.testing.assert_allclose(gradient, central(fn, (x, y), pos), rtol=1e-7, atol=1e-9)


def reversed_enumerate(x, y):
    return sum(i * v for i, v in reversed(enumerate(x)))


def test_reversed_enumerate_is_refused_as_python_refuses_it():
    from ad_compiler import UnsupportedSyntaxError

    x = np.array([0.3, -0.7, 1.2])
    with pytest.raises(TypeError):
        reversed_enumerate(x, x)
    with pytest.raises(UnsupportedSyntaxError, match="cannot reverse"):
        value_and_grad(reversed_enumerate, backend="python")(x, x)
