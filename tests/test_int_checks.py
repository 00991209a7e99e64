"""Scalar int arithmetic past int64 (int_checks.py): Python's ints grow, numba's wrap around.
A numba program checks the `+`, `-`, `*` whose results might not fit and, when one does not,
the call runs the NumPy program with Python's ints. Expected values from CPython running the
original function, closed forms and central differences of the original (an adversary found
the factorial and the `(n * n) % p` cases giving silently wrong values)."""

import math

import numpy as np
import pytest
from gradcheck_helpers import central, promoted
from numba import njit

from ad_compiler import grad, value_and_grad
from ad_compiler import runtime as rt
from ad_compiler.runtime_ints import INT_OVERFLOW

BACKENDS = ("numba", "python")
BIG = 2**40 + 7


def exp_taylor(x):
    s = 0.0
    fact = 1
    for k in range(30):
        if k > 0:
            fact = fact * k  # 21! passes int64
        s = s + x**k / fact
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_factorial_in_a_loop(backend):
    value, g = value_and_grad(exp_taylor, backend=backend)(8.0)
    assert value == exp_taylor(8.0)  # CPython's sum, term by term
    assert value == pytest.approx(math.exp(8.0), rel=1e-8)
    assert g == pytest.approx(central(exp_taylor, (8.0,), 0), rel=1e-7)
    # the derivative of the series is the series one term shorter
    assert g == pytest.approx(sum(8.0**k / math.factorial(k) for k in range(29)), rel=1e-12)


def square_mod(x, n):
    k = (n * n) % 1000003
    return x * k


def sum_mod(x, n):
    return x * ((n + n) % 1000003)


def difference_mod(x, n):
    return x * ((-n - n) % 1000003)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "f, n, k",
    [
        (square_mod, BIG, (BIG * BIG) % 1000003),
        (sum_mod, 2**62 + 5, (2**63 + 10) % 1000003),
        (difference_mod, 2**62 + 5, (-(2**63) - 10) % 1000003),
        (square_mod, 12345, (12345 * 12345) % 1000003),
    ],
)
def test_int_arguments_past_int64(f, n, k, backend):
    vg = value_and_grad(f, wrt=0, backend=backend)
    value, g = vg(1.5, n)
    assert value == f(1.5, n) == 1.5 * k
    assert g == k


def array_square_mod(x, n):
    return np.sum(x * x) * ((n * n) % 1000003)


def test_after_tier_up(tier_up_at_once):
    x = np.array([0.5, -1.0, 2.0])
    g = grad(array_square_mod)
    k = (BIG * BIG) % 1000003
    np.testing.assert_allclose(g(x, BIG), 2 * x * k)  # the NumPy program
    assert promoted(g, x, 5)[0].startswith("numba")
    np.testing.assert_allclose(g(x, BIG), 2 * x * k)  # numba's checked product raised
    np.testing.assert_allclose(g(x, 5), 2 * x * 25)  # and numba still serves small ones


def grown_in_place(x):
    f = 1
    for i in range(x.shape[0]):
        f = f * 1000003  # past int64 at the fourth element, after three writes
        x[i] = x[i] * (f % 7)
    return np.sum(x * x)


def test_a_loop_writing_into_its_argument_raises():
    # numba may have written into x before the product overflowed: no second run, an error
    x = np.array([1.0, 2.0])
    k = np.array([1000003 % 7, 1000003**2 % 7])
    np.testing.assert_allclose(grad(grown_in_place)(x.copy()), 2 * x * k * k)
    with pytest.raises(OverflowError, match="int64"):
        grad(grown_in_place)(np.ones(5))


def counted_factorial(x):
    # `k += 1` is an `op=` on a number: it changes no argument, so the NumPy program may run
    # after numba's product overflowed (the fuzzer found this refused with Int64Overflow)
    fact = 1
    k = 0
    s = 0.0
    while k < 25:
        k += 1
        fact = fact * k
        s = s + x**k / fact
    return s


def test_a_counter_updated_with_op_equals_does_not_stop_the_second_run():
    value, g = value_and_grad(counted_factorial, backend="numba")(3.0)
    assert value == counted_factorial(3.0)
    assert g == pytest.approx(central(counted_factorial, (3.0,), 0), rel=1e-7)


def packed_lower(x, L):
    # li counts the packed entries: a counter, never checked
    d = x.shape[0]
    s = 0.0
    li = 0
    for c in range(d):
        for r in range(c + 1, d):
            s = s + L[li] * x[c] * x[r]
            li += 1
    return s


def test_counters_and_sizes_are_not_checked():
    x = np.array([0.5, -1.0, 2.0, 1.5])
    L = np.arange(1.0, 7.0)
    g = grad(packed_lower, wrt=(0, 1))
    gx, gL = g(x, L)
    np.testing.assert_allclose(gx, central(packed_lower, (x, L), 0), rtol=1e-7)
    np.testing.assert_allclose(gL, central(packed_lower, (x, L), 1), rtol=1e-7)
    assert "rt.int_" not in g.source_for(x, L)


def grows(x, n):
    total = 0.0
    step = 1
    for _ in range(n):
        step = step * 3  # a product in a loop: checked
        total = total + x * (step % 5)
    return total


def test_products_in_loops_are_checked():
    g = grad(grows)
    assert "rt.int_mul(step, 3)" in g.source_for(1.0, 50)
    assert g(1.0, 50) == pytest.approx(sum((3**k) % 5 for k in range(1, 51)))


# -- the checked operations themselves, in numba and in CPython ---------------------------------


@njit
def _numba_add(a, b):
    return rt.int_add(a, b)


@njit
def _numba_sub(a, b):
    return rt.int_sub(a, b)


@njit
def _numba_mul(a, b):
    return rt.int_mul(a, b)


EDGES = [0, 1, -1, 2, 3, 2**31, 2**31 + 1, 2**32, -(2**32), 2**61, 2**62, -(2**62), 2**63 - 1]
EDGES += [-(2**63), 3037000499, 3037000500, -3037000500, 2**62 + 2**61]
OPS = [
    ("+", lambda a, b: a + b, _numba_add, rt.int_add),
    ("-", lambda a, b: a - b, _numba_sub, rt.int_sub),
    ("*", lambda a, b: a * b, _numba_mul, rt.int_mul),
]


@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "cpython"])
@pytest.mark.parametrize("op", OPS, ids=[o[0] for o in OPS])
def test_checked_operations_at_the_edges(op, compiled):
    symbol, exact_op, numba_op, python_op = op
    run = numba_op if compiled else python_op
    for a in EDGES:
        for b in EDGES:
            exact = exact_op(a, b)
            try:
                got = run(a, b)
            except OverflowError as exc:
                assert INT_OVERFLOW in str(exc)
                # only a result that does not fit (a product of exactly -2**63 may be refused)
                fits = -(2**63) <= exact < 2**63
                assert not fits or (symbol == "*" and exact == -(2**63)), (a, symbol, b)
                continue
            assert got == exact, (a, symbol, b)


# -- found by review: index arithmetic stays unchecked, big steps and -(-2**63) are checked ------


def strided(x, w, n, m):
    s = 0.0
    for i in range(m):
        for j in range(n):
            s = s + x[i * n + j] * w[j]  # n, m: checked once at entry (rt.small_int)
    return s


def labelled(x, labels, d):
    s = 0.0
    for i in range(labels.shape[0]):
        for j in range(d):
            s = s + x[labels[i] * d + j] ** 2  # (an element: checked, it may be a list's)
    return s


def test_index_arithmetic_with_sizes_and_arguments_is_not_checked():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(12), rng.standard_normal(4)
    g = grad(strided, wrt=(0, 1))
    source = g.source_for(x, w, 4, 3)
    assert "rt.int_" not in source and "rt.small_int(n)" in source
    gx, gw = g(x, w, 4, 3)
    np.testing.assert_allclose(gx, central(strided, (x, w, 4, 3), 0), rtol=1e-7)
    np.testing.assert_allclose(gw, central(strided, (x, w, 4, 3), 1), rtol=1e-7)
    labels = np.array([2, 0, 2])
    g2 = grad(labelled)
    np.testing.assert_allclose(g2(x, labels, 4), central(labelled, (x, labels, 4), 0), rtol=1e-7)
    # an int argument past 2**31: the NumPy program
    big = grad(strided, wrt=(0, 1))(np.ones(2), np.ones(2), 2, 1)
    np.testing.assert_allclose(big[0], np.ones(2))
    big_n = 2**31 + 5
    np.testing.assert_allclose(grad(square_mod, wrt=0)(1.5, big_n), (big_n * big_n) % 1000003)


def big_steps(x, n, reps):
    m = n % 8589934592  # up to 2**33: no counter's step
    s = 0
    for _ in range(reps):
        s = s + m
    return x * (s % 1000003)


def negated(x, n):
    return x * ((-n) % 1000003)


def test_big_steps_and_negation_are_checked():
    assert "rt.int_add(s, m)" in grad(big_steps).source_for(1.0, 5, 3)
    assert grad(big_steps)(1.0, 2**33 - 1, 3) == (3 * (2**33 - 1)) % 1000003
    n = -(2**63)
    assert value_and_grad(negated)(1.5, n) == (1.5 * ((-n) % 1000003), (-n) % 1000003)


def offset_in_place(x, seed):
    for i in range(x.shape[0]):
        x[i] = x[i] * ((seed * 3 + i) % 7)
    return np.sum(x * x)


def test_a_big_argument_of_a_function_writing_in_place():
    # (review: the entry check raised for a function writing into its argument; it runs before
    # any write, so the NumPy program runs instead)
    x0 = np.array([1.0, 2.0, 3.0])
    seed = 2**40
    x = x0.copy()
    g = grad(offset_in_place)(x, seed)
    factors = np.array([(seed * 3 + i) % 7 for i in range(3)])
    np.testing.assert_array_equal(x, x0)  # (a gradient call leaves its arguments alone)
    np.testing.assert_allclose(g, 2 * x0 * factors * factors)
    np.testing.assert_allclose(g, grad(offset_in_place, backend="python")(x0.copy(), seed))


# -- found by an adversary: LLVM dropped an overflow test made after numba's `add nsw` -------


def sums_of_squares(x, n):
    k = n * n  # (each product proven below 2**62: unchecked)
    k = k + n * n
    k = k + n * n
    return x * float(k)


def sums_in_a_loop(x, n):
    k = 0
    for _ in range(4):
        k += n * n
    return x * float(k)


@pytest.mark.parametrize("fn", [sums_of_squares, sums_in_a_loop])
def test_sums_of_nonnegative_products_past_int64(fn):
    # numba's wrapped sums were negative: the test of the sign came after the sum
    n = 2**31 - 1
    value, gradient = value_and_grad(fn)(0.5, n)
    assert value == fn(0.5, n) and gradient == float(fn(1.0, n))


def truncated_past_int64(x, y):
    k = int(x * 1e19)  # CPython: 17000000000000000000 at x = 1.7
    return y * (k % 7)


def truncated_nan(x):
    return x * int(x - x * x / x)


def test_int_of_a_float_past_int64_is_pythons():
    # numba's conversion of 1.7e19 is undefined (it gave 17 mod 2**64: a remainder of 6)
    value, gradient = value_and_grad(truncated_past_int64, wrt=(0, 1))(1.7, 1.0)
    assert value == truncated_past_int64(1.7, 1.0) == 3.0 and gradient == (0.0, 3.0)
    assert value_and_grad(truncated_past_int64, wrt=1)(-1.7, 2.0) == (
        truncated_past_int64(-1.7, 2.0),
        float(int(-1.7e19) % 7),
    )
    with pytest.raises(ValueError, match="NaN"):  # as CPython's int(nan)
        grad(truncated_nan)(float("inf"))
