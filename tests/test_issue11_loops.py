"""Issue 11, items 1, 11 and 12: silent wrong values and gradients in loops.

1. Simultaneous tuple assignment of loop-carried values with compound right-hand sides
   (`x, y = c*x - s*y, s*x + c*y`): the generated code folded `c*x - s*y` into the statement
   after the one that assigns the new `y`, so it read the new `y`.
12. An array created in a loop and then written in place (at any depth of nesting): the reverse
   sweep replayed the constructor (`s = np.zeros(n)`), or popped a copy taken before the
   writes, and read the wrong contents.
11. A range loop's index read after the loop when it has a value before it was refused.

Each function is checked on both backends: the value against the function run by CPython, the
gradient against central differences of the function (and, where it is short, against the
gradient derived by hand).
"""

import math

import numpy as np
import pytest
from gradcheck_helpers import cached, central, copies

BACKENDS = ("python", "numba")


# ---------------------------------------------------------------------------------------------
# Item 1: tuple assignment in loops


def rot(c, s):
    x, y = 1.0, 0.0
    for _ in range(2):
        x, y = c * x - s * y, s * x + c * y
    return x


def euler(x, v):
    dt = 0.1
    k = 2.0
    for _ in range(5):
        x, v = x + dt * v, v - dt * k * x
    return x * x + v


def swap_then_update(a, b):
    for _ in range(3):
        a, b = b, a
        a = a * 1.5 + b
    return a * b


def swap(a, b):
    for _ in range(3):
        a, b = b, a
    return a + 2.0 * b


def chain(a, b):
    c = 0.5
    for _ in range(4):
        a, b, c = b, c, a + b
    return a + 2.0 * b + 3.0 * c


def sir(beta, gamma):
    s, i, r = 0.99, 0.01, 0.0
    dt = 0.5
    for _ in range(6):
        s, i, r = s - dt * beta * s * i, i + dt * (beta * s * i - gamma * i), r + dt * gamma * i
    return i + 0.3 * r


def verlet(x, v):
    dt = 0.1
    a = -x
    for _ in range(4):
        x, v, a = (
            x + v * dt + 0.5 * a * dt * dt,
            v + 0.5 * (a - (x + v * dt + 0.5 * a * dt * dt)) * dt,
            -(x + v * dt + 0.5 * a * dt * dt),
        )
    return x + v * v


def lotka_volterra(a, b):
    x, y = 1.0, 0.5
    dt = 0.05
    for _ in range(5):
        x, y = x + dt * (a * x - b * x * y), y + dt * (x * y - 0.7 * y)
    return x * y


def rot_while(c, s):
    x, y = 1.0, 0.0
    n = 0
    while n < 3:
        x, y = c * x - s * y, s * x + c * y
        n += 1
    return x + 0.5 * y


def rot_nested(c, s):
    x, y = 1.0, 0.0
    for _i in range(2):
        for _j in range(2):
            x, y = c * x - s * y, s * x + c * y
        x, y = y, x
    return x - y


def rot_break(c, s):
    x, y = 1.0, 0.0
    for i in range(10):
        x, y = c * x - s * y, s * x + c * y
        if i >= 2:
            break
    return x + y


def rotation_step(c, s, x, y):
    return c * x - s * y, s * x + c * y


def rot_helper(c, s):
    x, y = 1.0, 0.0
    for _ in range(3):
        x, y = rotation_step(c, s, x, y)
    return x


def rot_over_array(angles):
    x, y = 1.0, 0.0
    for t in angles:
        c = math.cos(t)
        s = math.sin(t)
        x, y = c * x - s * y, s * x + c * y
    return x * 2.0 + y


def rot_in_array(c, s):
    p = np.array([1.0, 0.0])
    for _ in range(3):
        p[0], p[1] = c * p[0] - s * p[1], s * p[0] + c * p[1]
    return p[0]


def rot_in_branches(c, s):
    x, y = 1.0, 0.0
    for i in range(4):
        if i % 2 == 0:
            x, y = c * x - s * y, s * x + c * y
        else:
            x, y = y * c, x * s
    return x + y


def rot_nonlinear(c, s):
    x, y = 1.0, 0.0
    for _ in range(3):
        x, y = math.exp(c * x) - s * y, math.sin(s * x) + c * y
    return x + y


def three_way(a, b):
    x, y, z = 1.0, 0.2, 0.3
    for _ in range(3):
        x, y, z = a * y - z, b * z + x, x * y
    return x + y + z


def euler_arrays(x, v):
    for _ in range(4):
        x, v = x + 0.1 * v, v - 0.1 * x * x
    return np.sum(x * v)


TUPLE_CASES = [
    (rot, (0.6, 0.8)),
    (euler, (1.0, 0.3)),
    (swap_then_update, (0.7, 1.3)),
    (swap, (0.7, 1.3)),
    (chain, (0.7, 1.3)),
    (sir, (0.9, 0.2)),
    (verlet, (1.0, 0.2)),
    (lotka_volterra, (1.1, 0.4)),
    (rot_while, (0.6, 0.8)),
    (rot_nested, (0.6, 0.8)),
    (rot_break, (0.6, 0.8)),
    (rot_helper, (0.6, 0.8)),
    (rot_over_array, (np.array([0.3, -0.2, 0.9]),)),
    (rot_in_array, (0.6, 0.8)),
    (rot_in_branches, (0.6, 0.8)),
    (rot_nonlinear, (0.3, 0.4)),
    (three_way, (0.6, 0.8)),
    (euler_arrays, (np.array([1.0, -0.5]), np.array([0.3, 0.2]))),
]


# ---------------------------------------------------------------------------------------------
# Item 12: arrays created in a loop and written in place


def scratch_issue(x):
    total = 0.0
    for _k in range(1):
        a = np.ones(3)
        s = np.zeros(1)
        for b in range(1, 3):
            s[0] = x[b - 1] * x[b - 1]
            for _r in range(1):
                a[b] = a[b - 1] * s[0]
        total += a[2]
    return total


def scratch_more_iterations(x):
    total = 0.0
    for k in range(3):
        a = np.ones(4)
        s = np.zeros(2)
        for b in range(1, 4):
            s[0] = x[b - 1] * x[b - 1] + k
            s[1] = s[0] * x[b - 1]
            for r in range(2):
                a[b] = a[b - 1] * s[0] + s[1] * r
        total += a[3] * x[k]
    return total


def scratch_written_directly(x):
    total = 0.0
    for k in range(2):
        s = np.zeros(2)
        s[0] = x[0] * x[1]
        s[1] = x[k] * 3.0
        total += np.sum(s * x)
    return total


def computed_then_written(x):
    total = 0.0
    for _k in range(2):
        s = np.exp(x)
        s[0] = 5.0 * x[1]
        total += np.sum(s * x)
    return total


def scratch_written_two_deep(x):
    total = 0.0
    for _k in range(2):
        s = np.zeros(3)
        for i in range(3):
            for j in range(2):
                s[i] = s[i] + x[j] * x[i]
        total += np.sum(s * s)
    return total


def scratch_read_in_later_loop(x):
    total = 0.0
    for _k in range(2):
        s = np.ones(3)
        for i in range(3):
            s[i] = x[i] * s[i - 1]
        for j in range(3):
            total += s[j] * s[j] * x[j]
    return total


def scratch_written_at_several_depths(x):
    total = 0.0
    for k in range(2):
        s = np.zeros(3)
        s[0] = x[0] * x[k]
        for i in range(1, 3):
            s[i] = s[i - 1] * x[i]
            for j in range(2):
                s[i] = s[i] * x[j] + s[0]
        s[2] = s[2] * s[1]
        total += s[2] * x[1] + s[0]
    return total


def scratch_full(x):
    total = 0.0
    for _k in range(2):
        s = np.full(2, 0.5)
        for b in range(2):
            s[b] = s[b] * x[b]
        for b in range(2):
            total += s[b] * s[1 - b]
    return total


def scratch_three_levels(x):
    total = 0.0
    for m in range(2):
        for _k in range(2):
            s = np.zeros(1)
            for b in range(2):
                s[0] = x[b] * x[b] * (m + 1)
                for _r in range(1):
                    total += s[0] * x[1 - b]
    return total


def scratch_matrix(x):
    total = 0.0
    for k in range(2):
        m = np.zeros((2, 2))
        for i in range(2):
            for j in range(2):
                m[i, j] = x[i] * x[j] + k
        total += np.sum(m @ x)
    return total


def scratch_in_while(x):
    total = 0.0
    k = 0
    while total < 3.0:
        s = np.zeros(2)
        s[0] = x[0] * x[1]
        s[1] = s[0] * x[0]
        total += np.sum(s * x) + 0.5
        k += 1
    return total * k


def scratch_with_break(x):
    total = 0.0
    for _k in range(10):
        s = np.ones(2)
        s[1] = x[0] * s[0] + x[1]
        total += np.sum(s * s)
        if total > 4.0:
            break
    return total


def scratch_from_either_branch(x):
    total = 0.0
    for k in range(3):
        if k % 2 == 0:
            s = np.zeros(2)
        else:
            s = np.ones(2)
        s[0] = x[0] * x[1] + s[1]
        total += np.sum(s * x)
    return total


def scratch_in_one_branch(x):
    total = 0.0
    for k in range(3):
        if k % 2 == 0:
            s = np.zeros(2)
            s[0] = x[0] * x[1]
            s[1] = s[0] * x[k % 2]
            total += np.sum(s * x)
        else:
            total += x[0]
    return total


def scratch_written_through_alias(x):
    total = 0.0
    for _k in range(2):
        s = np.zeros(2)
        u = s
        u[0] = x[0] * x[1]
        total += np.sum(s * x)
    return total


def carried_array_written(x):
    y = np.ones(2)
    total = 0.0
    for _k in range(2):
        y[0] = y[1] * x[0]
        total += np.sum(y * x)
        y = y * x[1]
    return total


def rebound_then_written(x):
    y = np.ones(2)
    total = 0.0
    for _k in range(2):
        y = y * x
        y[0] = x[1] * 2.0
        total += np.sum(y * x)
    return total


def scratch_per_row(X):
    total = 0.0
    for i in range(X.shape[0]):
        z = np.zeros(X.shape[1])
        for j in range(X.shape[1]):
            z[j] = X[i, j] * X[i, j - 1]
        m = np.max(z)
        total += m + np.sum(np.exp(z - m))
    return total


def scratch_inner_loop_written_deeper(x):
    total = 0.0
    for k in range(2):
        for j in range(2):
            s = np.zeros(2)
            for i in range(2):
                s[i] = x[i] * x[j] + k
            total += np.sum(s * x)
    return total


X2 = np.array([0.5, 0.7])
X3 = np.array([0.5, 0.7, -0.4])
SCRATCH_CASES = [
    (scratch_issue, (X2,)),
    (scratch_more_iterations, (X3,)),
    (scratch_written_directly, (X2,)),
    (computed_then_written, (X2,)),
    (scratch_written_two_deep, (X3,)),
    (scratch_read_in_later_loop, (X3,)),
    (scratch_written_at_several_depths, (X3,)),
    (scratch_full, (X2,)),
    (scratch_three_levels, (X2,)),
    (scratch_matrix, (X2,)),
    (scratch_in_while, (X2,)),
    (scratch_with_break, (X2,)),
    (scratch_from_either_branch, (X2,)),
    (scratch_in_one_branch, (X2,)),
    (scratch_written_through_alias, (X2,)),
    (carried_array_written, (X2,)),
    (rebound_then_written, (X2,)),
    (scratch_per_row, (np.array([[0.5, 0.7, 0.1], [-0.4, 1.1, 0.6], [0.3, 0.2, -0.9]]),)),
    (scratch_inner_loop_written_deeper, (X2,)),
]


# ---------------------------------------------------------------------------------------------
# Item 11: a name assigned in a loop and read after it, with a value before the loop


def index_after_loop(x):
    i = 0
    for i in range(3):  # noqa: B007
        x = x * 1.5
    return x * i


def index_after_zero_trip_loop(x):
    i = 7
    for i in range(0):  # noqa: B007
        x = x * 2.0
    return x * i


def index_after_break(x):
    i = -1
    y = x
    for i in range(10):  # noqa: B007
        y = y * x
        if y > 3.0:
            break
    return y * i


def index_reassigned_in_body(x):
    i = 0
    for i in range(3):
        i = i * 2
        x = x + 0.5
    return x * i


def indices_after_nested_loops(x):
    i = 0
    j = 0
    y = x
    for i in range(2):
        for j in range(i, 4):  # noqa: B007
            y = y * 1.1 + x
    return y * (i + j)


def index_float_before(x):
    i = 0.5
    for i in range(1, 4):  # noqa: B007
        x = x * x * 0.5
    return x * i


def index_counting_down(x):
    i = 5
    for i in range(3, -1, -1):
        x = x * 1.2 + i
    return x * i


def index_reads_array_after(x):
    total = 0.0
    k = 0
    for k in range(4):
        total = total + x[k] * k
    return total * x[k]


def index_of_two_loops(x):
    i = 0
    for i in range(3):  # noqa: B007
        x = x * 1.1
    for i in range(i, 5):  # noqa: B020
        x = x + i * x
    return x * i


def power_with_count(x, n):
    k = 0
    s = x
    for k in range(n):  # noqa: B007
        s = s * x
    return s + k


def helper_index_after_loop(x):
    return power_with_count(x, 3) * power_with_count(x, 0)


def value_after_while_with_break(x):
    y = x
    n = 0
    while True:
        y = y * 0.5 + x
        n += 1
        if n >= 3:
            break
    return y * n


def value_after_for_over_array(x):
    v = 1.0
    for v in x:  # noqa: B007
        pass
    return v * x[0]


def values_after_zip(x):
    a, b = 0.0, 0.0
    for a, b in zip(x, x * 2.0):  # noqa: B007
        pass
    return a * b


def values_after_enumerate(x):
    acc = 0.0
    k = 0
    for k, v in enumerate(x):
        acc = acc + v * k
    return acc * k


AFTER_CASES = [
    (index_after_loop, (1.3,)),
    (index_after_zero_trip_loop, (1.3,)),
    (index_after_break, (1.3,)),
    (index_reassigned_in_body, (1.3,)),
    (indices_after_nested_loops, (1.3,)),
    (index_float_before, (1.3,)),
    (index_counting_down, (1.3,)),
    (index_reads_array_after, (np.array([0.5, 0.7, -0.4, 1.1]),)),
    (index_of_two_loops, (1.3,)),
    (helper_index_after_loop, (1.3,)),
    (value_after_while_with_break, (1.3,)),
    (value_after_for_over_array, (X3,)),
    (values_after_zip, (X3,)),
    (values_after_enumerate, (X3,)),
]


# ---------------------------------------------------------------------------------------------


ALL_CASES = TUPLE_CASES + SCRATCH_CASES + AFTER_CASES


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args"), ALL_CASES, ids=[case[0].__name__ for case in ALL_CASES])
def test_value_and_gradient(fn, args, backend):
    wrt = tuple(i for i, a in enumerate(args) if not isinstance(a, int))
    value, grads = cached(fn, wrt, backend, with_value=True)(*copies(args))
    assert value == pytest.approx(fn(*copies(args)), rel=1e-12, abs=1e-12)
    for position, got in zip(wrt, grads):
        np.testing.assert_allclose(got, central(fn, args, position), rtol=1e-6, atol=1e-8)


# Gradients derived by hand.


@pytest.mark.parametrize("backend", BACKENDS)
def test_rotation_by_hand(backend):
    # Two steps of the rotation by (c, s) from (1, 0): x = c^2 - s^2.
    value, (dc, ds) = cached(rot, (0, 1), backend, with_value=True)(0.6, 0.8)
    assert value == pytest.approx(0.6**2 - 0.8**2)  # -0.28
    assert (dc, ds) == pytest.approx((2 * 0.6, -2 * 0.8))  # (1.2, -1.6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_swap_by_hand(backend):
    # Three swaps leave (b, a): a + 2b becomes b + 2a.
    value, grads = cached(swap, (0, 1), backend, with_value=True)(0.7, 1.3)
    assert value == pytest.approx(1.3 + 2 * 0.7)
    assert grads == pytest.approx((2.0, 1.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_scratch_array_by_hand(backend):
    # total = a[2] = x0^2 * x1^2.
    x = np.array([0.5, 0.7])
    value, g = cached(scratch_issue, 0, backend, with_value=True)(x.copy())
    assert value == pytest.approx(0.25 * 0.49)
    np.testing.assert_allclose(g, [2 * 0.5 * 0.49, 2 * 0.7 * 0.25])  # [0.49, 0.35]


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_after_loop_by_hand(backend):
    # x * 1.5^3 * 2 (the last index)
    value, g = cached(index_after_loop, 0, backend, with_value=True)(1.3)
    assert value == pytest.approx(1.3 * 1.5**3 * 2)
    assert g == pytest.approx(1.5**3 * 2)


def test_scratch_array_read_for_its_shape_only_is_not_taped():
    # `a` of scratch_issue is read back only through its own entries taped by the inner loop,
    # and for its shape: the reverse sweep makes a new one, it keeps no array per iteration.
    source = cached(scratch_issue, 0, "python").source_for(np.array([0.5, 0.7]))
    assert "s_tape.append(s)" in source
    assert "a_tape" not in source
