"""Augmented assignment of arrays, floats stored into integer arrays, `while True:` helpers that
return from inside, and `.astype` (issue 11, items 2, 3 and 11).

Expected values: derived by hand where written out, the original function run by CPython
(values), and central differences of the original function (gradients), on both backends.
Straight-line array code runs on NumPy even with the numba backend, so the constructs also
appear inside loops, which numba compiles.
"""

import inspect

import numpy as np
import pytest
from gradcheck_helpers import central, copies

from ad_compiler import grad, value_and_grad
from ad_compiler.errors import UnsupportedSyntaxError

BACKENDS = ("python", "numba")
X2 = np.array([0.3, -0.7])
M22 = np.array([[0.3, -0.7], [1.1, 0.4]])


def check(fn, args, backend, wrt=0, rtol=1e-6):
    """Value as CPython computes it, gradient as central differences of the original."""
    value, got = value_and_grad(fn, wrt=wrt, backend=backend)(*copies(args))
    assert value == pytest.approx(fn(*copies(args)), rel=1e-12, abs=1e-12)
    want = central(fn, args, wrt)
    assert np.shape(got) == np.shape(args[wrt])
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-8)
    return value, got


def refused(fn, args, backend, line_of: str) -> UnsupportedSyntaxError:
    """The compiler's own error, pointing at the line of `fn` that contains `line_of`."""
    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(fn, backend=backend)(*copies(args))
    err = info.value
    lines, first = inspect.getsourcelines(fn)
    expected = first + next(i for i, text in enumerate(lines) if line_of in text)
    assert err.filename == __file__ and err.lineno == expected, str(err)
    return err


# --------------------------------------------------------------------------------------------
# Item 2: `b += v` on an array writes in place; refused when another live name shares it


def alias_then_add(a):
    b = a
    b += 1.0
    return np.sum(a * b)


def alias_then_add_rewritten(a):
    b = a
    b[:] += 1.0  # the rewrite the refusal suggests: NumPy's meaning, a store
    return np.sum(a * b)


def view_then_scale(X):
    r = X[0]
    r *= 2.0
    return np.sum(X)


def view_rewritten(X):
    X[0] *= 2.0
    return np.sum(X * X)


def argument_alias(a):
    b = a
    a += 1.0
    return np.sum(a * b)


@pytest.mark.parametrize("backend", BACKENDS)
def test_augmented_assignment_through_an_alias_is_refused(backend):
    a = np.array([0.5, -1.0])
    assert alias_then_add(a.copy()) == 2.25  # CPython: a and b are one array, a + 1
    err = refused(alias_then_add, (a,), backend, "b += 1.0")
    assert "in place" in str(err) and "b = b + ..." in str(err) and "b[:] += ..." in str(err)
    refused(argument_alias, (a,), backend, "a += 1.0")
    # the suggested rewrite keeps NumPy's meaning: sum((a + 1)^2), gradient 2 (a + 1)
    value, g = value_and_grad(alias_then_add_rewritten, backend=backend)(a.copy())
    assert value == 2.25
    np.testing.assert_allclose(g, [3.0, 0.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_augmented_assignment_through_a_view_is_refused(backend):
    X = M22.copy()
    assert view_then_scale(X.copy()) == pytest.approx(2 * (0.3 - 0.7) + 1.1 + 0.4)
    err = refused(view_then_scale, (X,), backend, "r *= 2.0")
    assert "X[0] *= ..." in str(err)
    value, g = value_and_grad(view_rewritten, backend=backend)(X.copy())
    assert value == pytest.approx(4 * (0.09 + 0.49) + 1.21 + 0.16)
    np.testing.assert_allclose(g, [[8 * 0.3, -8 * 0.7], [2.2, 0.8]])


def alias_sub(a):
    b = a
    b -= 0.5
    return np.sum(a * b)


def alias_mul(a):
    b = a
    b *= 3.0
    return np.sum(a + b)


def alias_div(a):
    b = a
    b /= 2.0
    return np.sum(a * b)


def alias_pow(a):
    b = a
    b **= 2.0
    return np.sum(a + b)


def transpose_alias(X):
    y = X.T
    y += 1.0
    return np.sum(X * X)


def accumulate(v, d):
    v += d
    return v


def helper_changes_callers_array(x):
    a = x * 1.0
    y = accumulate(a, x)
    return np.sum(y * a)


def alias_before_loop(x):
    s = np.zeros(2)
    t = s
    for _i in range(3):
        s += x
    return np.sum(t * x)


def previous_in_loop(x):
    s = x * 1.0
    d = 0.0
    for _i in range(3):
        prev = s
        s += x
        d = d + np.sum((s - prev) ** 2)
    return d


def previous_carried(x):
    s = x * 1.0
    prev = x * 0.0
    d = 0.0
    for _i in range(3):
        d = d + np.sum((s - prev) ** 2)
        prev = s
        s += x
    return d


def alias_in_branch(a):
    b = a
    if a[0] > 0:
        b += 1.0
    return np.sum(a * b)


def rows_of_loop(X):
    s = 0.0
    for row in X:
        row *= 2.0
        s += np.sum(row)
    return s + np.sum(X)


ALIASED = [
    (alias_sub, X2, "b -= 0.5"),
    (alias_mul, X2, "b *= 3.0"),
    (alias_div, X2, "b /= 2.0"),
    (alias_pow, X2, "b **= 2.0"),
    (transpose_alias, M22, "y += 1.0"),
    (helper_changes_callers_array, X2, "v += d"),
    (alias_before_loop, X2, "s += x"),
    (previous_in_loop, X2, "s += x"),
    (previous_carried, X2, "s += x"),
    (alias_in_branch, X2, "b += 1.0"),
    (rows_of_loop, M22, "row *= 2.0"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "arg", "line"), ALIASED, ids=[c[0].__name__ for c in ALIASED])
def test_in_place_through_a_shared_array_is_refused(fn, arg, line, backend):
    if fn is helper_changes_callers_array:
        with pytest.raises(UnsupportedSyntaxError, match="v \\+= ... changes v's array"):
            grad(fn, backend=backend)(arg.copy())
        return
    refused(fn, (arg,), backend, line)


def fresh_accumulator(x):
    s = np.zeros(2)
    for i in range(3):
        s += x * i
    return np.sum(s * s)


def copy_then_add(x):
    s = x.copy()
    s += 1.0
    return np.sum(s * x)


def argument_in_place(x):
    x += 1.0  # the caller's array in CPython; the function's own value is the same
    return np.sum(x * x)


def alias_dead_afterwards(a):
    b = a
    b += 1.0
    return np.sum(b * b)


def view_base_dead_afterwards(X):
    r = X[0]
    r *= 2.0
    return np.sum(r * r)


def transpose_base_dead(X):
    y = X.T
    y += 1.0
    return np.sum(y * y)


def rescaled_in_loop(x):
    s = np.zeros(2)
    for _i in range(4):
        s += x
        if np.sum(s) > 1.0:
            s = s / 2.0
    return np.sum(s * x)


def nested_accumulators(x):
    total = 0.0
    for i in range(2):
        row = np.zeros(2)
        for j in range(3):
            row += x * (i + j)
        total += np.sum(row * row)
    return total


def while_accumulator(x):
    s = np.zeros(2)
    n = 0
    while n < 3:
        s += x
        n += 1
    return np.sum(s**2)


def helper_on_fresh_array(x):
    y = accumulate(x * 1.0, x)
    return np.sum(y * y)


def every_operator(x):
    s = np.zeros(2)
    for _i in range(3):
        s += x
        s -= 0.1 * x
        s *= 0.9
        s /= 1.1
        s **= 1.0
    return np.sum(s * s)


def old_value_kept_by_rebinding(x):
    s = np.zeros(2)
    t = np.zeros(2)
    for _i in range(3):
        t = s * 2.0
        s += x
    return np.sum(s * t)


def alias_rebound_first(x):
    s = x * 1.0
    for _i in range(3):
        t = s
        s = s * 1.0
        s += t
    return np.sum(s)


def scalar_alias(x):
    a = 1.0 * x[0]
    b = a
    b += 1.0  # numbers are values: a keeps its own
    return a * b


def int_counter(x):
    k = np.arange(2)
    k += 1
    return np.sum(k * x)


FRESH = [
    (fresh_accumulator, X2),
    (copy_then_add, X2),
    (argument_in_place, X2),
    (alias_dead_afterwards, X2),
    (view_base_dead_afterwards, M22),
    (transpose_base_dead, M22),
    (rescaled_in_loop, X2),
    (nested_accumulators, X2),
    (while_accumulator, X2),
    (helper_on_fresh_array, X2),
    (every_operator, X2),
    (old_value_kept_by_rebinding, X2),
    (alias_rebound_first, X2),
    (scalar_alias, X2),
    (int_counter, X2),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "arg"), FRESH, ids=[c[0].__name__ for c in FRESH])
def test_augmented_assignment_no_other_name_sees(fn, arg, backend):
    check(fn, (arg,), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_argument_in_place_leaves_the_callers_array(backend):
    x = X2.copy()
    grad(argument_in_place, backend=backend)(x)
    np.testing.assert_array_equal(x, X2)


def int_array_gets_floats(x):
    k = np.arange(2)
    k += 0.5
    return np.sum(k * x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_floats_added_in_place_into_an_int_array_are_refused(backend):
    with pytest.raises(TypeError):  # NumPy: cannot cast float64 to int64 in place
        int_array_gets_floats(X2.copy())
    err = refused(int_array_gets_floats, (X2,), backend, "k += 0.5")
    assert "k = k + ..." in str(err)


# --------------------------------------------------------------------------------------------
# Item 3: a float stored into an int array is truncated when read back


def stored_into_int_like(x, labels):
    pred = np.zeros_like(labels)
    pred[0] = x[0] * 2.5
    return pred[0] * x[1] + x[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_float_stored_into_int_array_is_truncated(backend):
    # pred[0] = int(1.925) = 1: value 1 * 1.3 + 0.77, gradient (1, pred[0]) = (1, 1)
    x, labels = np.array([0.77, 1.3]), np.array([1, 2])
    value, g = value_and_grad(stored_into_int_like, backend=backend)(x, labels)
    assert value == pytest.approx(2.07, rel=1e-14)
    np.testing.assert_allclose(g, [1.0, 1.0])


def int_zeros(x, labels):
    pred = np.zeros(3, dtype=int)
    pred[1] = x[0] * 2.5
    return pred[1] * x[1] + x[0]


def int_arange(x, labels):
    pred = np.arange(3)
    pred[2] = x[0] * 2.5
    return pred[2] * x[1] + x[0] * pred[1]


def int_argument(x, labels):
    labels[0] = x[0] * 2.5
    return labels[0] * x[1] + x[0]


def int_slice_store(x, labels):
    pred = np.zeros_like(labels)
    pred[0:2] = x * 2.5
    return np.sum(pred * x) + pred[1] * x[0]


def int_increments(x, labels):
    pred = np.zeros_like(labels)
    pred[0] += x[0] * 2.5
    pred[0] += x[1] * 2.5
    return pred[0] * x[1] + x[0]


def int_store_in_loop(x, labels):
    pred = np.zeros_like(labels)
    s = 0.0
    for i in range(2):
        pred[i] = x[i] * 2.5
        s += pred[i] * x[i]
    return s


def int_increments_in_loop(x, labels):
    pred = np.zeros(3, dtype=np.int64)
    for i in range(2):
        pred[i] += x[i] * 2.5
        pred[i] += x[i] * 1.5
    return pred[0] * x[1] + pred[1] * x[0]


def int_matrix(x, labels):
    pred = np.zeros((2, 2), dtype=int)
    pred[0, 1] = x[0] * 2.5
    pred[1, :] = x * 3.3
    return pred[0, 1] * x[1] + np.sum(pred[1] * x) + pred[1, 0] * x[0]


def bool_store(x, labels):
    flags = np.zeros(2, dtype=bool)
    flags[0] = x[0] * 2.5
    return flags[0] * x[1] + x[0]


INT_STORES = [
    int_zeros,
    int_arange,
    int_argument,
    int_slice_store,
    int_increments,
    int_store_in_loop,
    int_increments_in_loop,
    int_matrix,
    bool_store,
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", INT_STORES, ids=[f.__name__ for f in INT_STORES])
def test_int_arrays_truncate_what_they_store(fn, backend):
    check(fn, (np.array([0.77, 1.3]), np.array([1, 2])), backend)


# --------------------------------------------------------------------------------------------
# Item 11: `while True:` helpers returning from inside; .astype and dtype=


def half(x):
    while True:
        x = x * 0.5
        if x < 1.0:
            return x


def halved_twice(x):
    return half(x) * 2.0


def converge(x):
    y = x
    while True:
        y = np.sin(y) + x
        if y > 1.5:
            return y
        if y < -10.0:
            return 0.0


def breaks_without_return(x):
    while True:
        x = x * 0.5
        if x < 1.0:
            break


@pytest.mark.parametrize("backend", BACKENDS)
def test_while_true_returning_from_inside(backend):
    # 5 -> 2.5 -> 1.25 -> 0.625: half(x) = x / 8 on [4, 8), so f = x / 4
    assert value_and_grad(halved_twice, backend=backend)(5.0) == (1.25, 0.25)
    # 0.5 -> 0.25: f = x / 2
    assert value_and_grad(halved_twice, backend=backend)(0.5) == (0.5, 1.0)
    check(converge, (0.7,), backend)
    with pytest.raises(UnsupportedSyntaxError, match="does not return a value on every path"):
        grad(breaks_without_return, backend=backend)(5.0)


def astype_float(x):
    return np.sum(x.astype(float) ** 2)


def astype_of_int(x):
    y = np.arange(3).astype(float) * x
    return np.sum(y * y)


def astype_int(x):
    k = (x * 3.0).astype(int)
    return np.sum(k * x)


def float64_call(x):
    return np.sum(np.float64(x) * x)


def scalar_conversions(x):
    return np.float64(x[0]) * 3.0 + float(x[1]) * x[2]


def astype_in_loop(x):
    s = 0.0
    for i in range(len(x)):
        s += x.astype(float)[i] * x[i] + x[i]
    return s


def float32_in_loop(x):
    s = 0.0
    for i in range(len(x)):
        s += x.astype(np.float32)[i] * x[i] + np.float32(x[i])
    return s


def astype_bool(x):
    return np.sum(x.astype(bool) * x)


def asarray_dtype(x):
    return np.sum(np.asarray(x, dtype=float) * x) + np.sum(np.array(x, dtype=np.float64))


CONVERSIONS = [
    astype_float,
    astype_of_int,
    astype_int,
    float64_call,
    scalar_conversions,
    astype_in_loop,
    astype_bool,
    asarray_dtype,
]
X3 = np.array([0.77, 1.3, -2.1])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", CONVERSIONS, ids=[f.__name__ for f in CONVERSIONS])
def test_conversions(fn, backend):
    check(fn, (X3,), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_astype_by_hand(backend):
    # astype(int) is a step function: sum(k * x) has gradient k = int(3 x)
    _, g = value_and_grad(astype_int, backend=backend)(X3.copy())
    np.testing.assert_array_equal(g, [2.0, 3.0, -6.0])
    # float64 -> float32 -> float64 rounds the value but passes the gradient through
    x32 = X3.astype(np.float32)
    g = grad(round_trip, backend=backend)(x32)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [2.0, 2.0, 2.0])
    for fn in (astype_in_loop, float32_in_loop):
        g = grad(fn, backend=backend)(x32)
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, 2 * x32 + 1.0, rtol=1e-6)


def round_trip(x):
    return np.sum(x.astype(np.float32).astype(np.float64) * 2.0)


def bad_dtype(x):
    return np.sum(x.astype(complex))


@pytest.mark.parametrize("backend", BACKENDS)
def test_dtype_that_is_not_a_real_number_type_is_refused(backend):
    refused(bad_dtype, (X3,), backend, "astype(complex)")
