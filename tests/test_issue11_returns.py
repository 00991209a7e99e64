"""Issue 11: helpers with early returns (inlined, their returns lowered to assignments).

1. A helper returning an array from inside a loop (`while True:` or a for loop with an early
   return) was refused with "returns a value of unknown shape": its result started as 0.0
   before the loop, and a number merged with an array has no known shape.
2. A helper returning tuples from several branches (of an if, or inside a loop) was refused
   naming the compiler's internal result variable.

Each function is checked on both backends: the value against the function run by CPython, the
gradient against central differences of the function (and, where short, against the gradient
derived by hand).
"""

import numpy as np
import pytest
from gradcheck_helpers import cached, central, copies

from ad_compiler import value_and_grad
from ad_compiler.errors import UnsupportedSyntaxError

BACKENDS = ("python", "numba")


def twice_after_spin(a):
    k = 0
    while True:
        k += 1
        if k > 2:
            return a * 2.0


def sum_twice_after_spin(x):
    return np.sum(twice_after_spin(x))


def scaled_by_first_big(a):
    for i in range(a.shape[0]):
        if a[i] > 1.0:
            return a * a[i]
    return a


def sum_scaled_by_first_big(x):
    return np.sum(scaled_by_first_big(x))


def matrix_in_loop(m):
    for i in range(3):
        if i == 1:
            return m * m
    return m


def sum_matrix_in_loop(x):
    return np.sum(matrix_in_loop(x.reshape(2, 2)))


def pair_by_sign(a, c):
    if c > 0.0:
        return a * 2.0, c
    return a + 1.0, c * 3.0


def use_pair_by_sign(x, c):
    u, v = pair_by_sign(x, c)
    return np.sum(u) * v


def scalar_pair(a, c):
    if c > 0.0:
        return a * 2.0, c
    return a + 1.0, c * 3.0


def use_scalar_pair(a, c):
    u, v = scalar_pair(a, c)
    return u * v


def pair_in_loop(a, c):
    for _i in range(3):
        if c > 1.0:
            return a * 2.0, c
        elif c > 0.5:
            return a * c, c * c
        c = c + 0.2
    return a + 1.0, c * 3.0


def use_pair_in_loop(x, c):
    u, v = pair_in_loop(x, c)
    return np.sum(u) * v


def pair_after_spin(a, c):
    k = 0
    while True:
        k += 1
        if k > 2:
            return a * c, c


def use_pair_after_spin(x, c):
    u, v = pair_after_spin(x, c)
    return np.sum(u) * v


def first_pair_over(a, limit):
    for i in range(a.shape[0]):
        for j in range(a.shape[0]):
            if a[i] * a[j] > limit:
                return a * a[i], a[j]
    return a, 1.0


def first_row_over(a, limit):
    for i in range(a.shape[0]):
        for j in range(a.shape[0]):
            if a[i] * a[j] > limit:
                return a * a[j]
    return a


def nested_returns(x, c):
    total = 0.0
    for k in range(2):  # the helpers inlined inside a loop of the caller, twice
        u, v = first_pair_over(x * c, 0.5 + k)
        total = total + np.sum(u) * v + np.sum(first_row_over(x, 1.0 + k)) + twice_scalar(c)
    return total


def pair_from_two_loops(a, c):
    for _i in range(2):
        if c > 1.0:
            return a * c, c
        c = c * 1.5
    for _i in range(2):
        if c > 0.5:
            return a + c, c * c
        c = c * 2.0
    return a, c


def use_pair_from_two_loops(x, c):
    u, v = pair_from_two_loops(x, c)
    return np.sum(u) * v


def twice_scalar(c):
    while True:
        return 2.0 * c


X = np.array([0.5, 1.5])
CASES = [
    (sum_twice_after_spin, (X,), (0,)),
    (sum_scaled_by_first_big, (X,), (0,)),
    (sum_scaled_by_first_big, (np.array([0.5, 0.25]),), (0,)),
    (sum_matrix_in_loop, (np.array([0.5, 1.5, -2.0, 0.3]),), (0,)),
    (use_pair_by_sign, (X, 0.7), (0, 1)),
    (use_pair_by_sign, (X, -0.7), (0, 1)),
    (use_scalar_pair, (0.4, 0.7), (0, 1)),
    (use_scalar_pair, (0.4, -0.7), (0, 1)),
    (use_pair_in_loop, (X, 1.3), (0, 1)),
    (use_pair_in_loop, (X, 0.7), (0, 1)),
    (use_pair_in_loop, (X, 0.2), (0, 1)),
    (use_pair_in_loop, (X, -1.0), (0, 1)),
    (use_pair_after_spin, (X, 0.7), (0, 1)),
    (nested_returns, (X, 0.7), (0, 1)),
    (use_pair_from_two_loops, (X, 0.6), (0, 1)),
    (use_pair_from_two_loops, (X, 0.8), (0, 1)),
    (use_pair_from_two_loops, (X, 0.05), (0, 1)),
    (nested_returns, (X, 0.2), (0, 1)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "fn, args, wrt", CASES, ids=[f"{c[0].__name__}-{k}" for k, c in enumerate(CASES)]
)
def test_early_returns_match_python_and_central_differences(fn, args, wrt, backend):
    value, grads = cached(fn, wrt, backend, with_value=True)(*copies(args))
    assert np.allclose(value, fn(*copies(args)))
    if len(wrt) == 1:
        grads = (grads,)
    for pos, g in zip(wrt, grads):
        assert np.allclose(g, central(fn, args, pos), atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_issue_examples_by_hand(backend):
    value, g = value_and_grad(sum_twice_after_spin, backend=backend)(X.copy())
    assert value == pytest.approx(4.0)
    assert np.allclose(g, [2.0, 2.0])
    value, (gx, gc) = value_and_grad(use_pair_by_sign, wrt=(0, 1), backend=backend)(X.copy(), 0.7)
    assert value == pytest.approx(2.8)
    assert np.allclose(gx, [1.4, 1.4]) and gc == pytest.approx(4.0)


def tuple_or_array(a, c):
    if c > 0.5:
        return a, c
    return a


def use_tuple_or_array(x, c):
    return np.sum(tuple_or_array(x, c)[0])


def returns_named_tuple_in_loop(a, c):
    for _i in range(3):
        t = (a * c, c)
        if c > 0.5:
            return t
    return a, c


def use_named_tuple_in_loop(x, c):
    u, v = returns_named_tuple_in_loop(x, c)
    return np.sum(u) * v


def nested_tuple_in_loop(a, c):
    for _i in range(3):
        if c > 0.5:
            return (a, c), c
    return (a, c), c


def use_nested_tuple_in_loop(x, c):
    (u, _w), v = nested_tuple_in_loop(x, c)
    return np.sum(u) * v


def tuple_or_array_in_loop(a, c):
    for _i in range(3):
        if c > 0.5:
            return a
    return a, c


def use_tuple_or_array_in_loop(x, c):
    return np.sum(tuple_or_array_in_loop(x, c)[0])


@pytest.mark.parametrize(
    "fn",
    [
        use_tuple_or_array,
        use_named_tuple_in_loop,
        use_nested_tuple_in_loop,
        use_tuple_or_array_in_loop,
    ],
)
def test_mismatched_returns_name_the_helper_not_internals(fn):
    with pytest.raises(UnsupportedSyntaxError) as info:
        value_and_grad(fn, wrt=(0, 1), backend="python")(X.copy(), 0.7)
    message = str(info.value)
    assert "__result" not in message
    assert "returns a tuple" in message
    assert "test_issue11_returns.py:" in message


def becomes_tuple_in_loop(x, c):
    t = 0.0
    for _i in range(3):
        t = (x, c)
    return np.sum(t[0])


def test_variable_becoming_tuple_in_loop_is_refused_by_name():
    # (it failed inside the compiler with an AttributeError)
    with pytest.raises(UnsupportedSyntaxError, match="t holds a tuple"):
        value_and_grad(becomes_tuple_in_loop, wrt=(0, 1), backend="python")(X.copy(), 0.7)
