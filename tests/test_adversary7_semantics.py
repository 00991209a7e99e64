"""Findings of an adversarial round (issue 15's sessions): bools, masks and ints where Python's,
NumPy's and numba's meanings part. Every value is checked against CPython running the original
function, every gradient against central differences of it, on both backends."""

import math

import numpy as np
import pytest

from ad_compiler import GradientInputError, UnsupportedSyntaxError, value_and_grad

BACKENDS = ("numba", "python")
X = np.array([0.5, 1.2, 0.3, -0.4, -1.0, -0.2, 0.7])


def central(f, x, *rest, h=1e-6):
    return np.array([(f(x + h * e, *rest) - f(x - h * e, *rest)) / (2 * h) for e in np.eye(len(x))])


def check(f, x, *rest, backend):
    vg = value_and_grad(f, wrt=0, backend=backend)
    value, g = vg(x.copy(), *rest)
    assert value == pytest.approx(f(x.copy(), *rest), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(g, central(f, x, *rest), rtol=1e-6, atol=1e-8)
    value_c, g_c = vg.compiled_for(x, *rest)(x.copy(), *rest)  # numba, straight-line code too
    assert value_c == pytest.approx(value, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(g_c, g, rtol=1e-12, atol=1e-14)


def running_count(x):
    c = np.cumsum(x > 0)  # NumPy counts (int64); numba's own cumsum of bools is a running `or`
    s = 0.0
    for i in range(len(x)):
        s += c[i] * x[i]
    return s


def scans_of_bools(x):
    return (
        np.sum(np.cumsum(x > 0) * x)
        + np.sum(np.cumprod(x > -0.5) * x)
        + np.sum(np.cumsum((x > 0).astype(np.int64)) * x)
        + np.sum(np.diff(x > 0) * x[1:])
    )


def diff_of_bools_in_a_loop(x):
    d = np.diff(x > 0)
    s = 0.0
    for i in range(len(d)):
        s += d[i] * x[i]
    return s


def masks(x, y):
    m = (x > 0.2) & (y < 3.5) | (x > 0.85)
    m2 = m ^ (y > 1.5)
    m2 &= x < 0.8
    z = y.copy()
    z[~m] *= 3.0
    s = 0.0
    for i in range(len(x)):
        if (x[i] > 0.2) & (y[i] < 3.5) | (not x[i] < 1.0):
            s += x[i] * z[i]
    return np.sum(np.where(m, x * y, 0.0)) + np.sum(x[m2]) + np.sum(np.where(~m, x, 0.0)) + s


def int_bits(x, n):
    m = n
    m &= 3  # (ints: & | ^ ~ are their bits, supported since adversary round 7)
    return np.sum(x) * (((~n & 6) | 1) ^ 2) + x[0] * m


def pick_by_condition(x, a):
    w = (0.25, 4.0)[a > 0.5]
    return np.sum(w * x) + (x[0], x[1] * 2.0, x[2])[int(a * 2.0)]


def searches(x):
    best = float("inf")
    worst = float("-inf")
    for i in range(len(x)):
        if x[i] < best:
            best = x[i]
        worst = max(worst, x[i] * 2.0)
    nan_free = not (math.isnan(worst) or math.isinf(best))
    return best * worst + float("1.5") * x[0] + (1.0 if nan_free else 0.0)


def list_item_written(x, v):
    L = [x.copy(), 2 * x]
    L[0][1] = v
    L[1][0] += L[0][1] * v
    return np.sum(L[0] * L[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_scans_of_bools_count(backend):
    check(running_count, X, backend=backend)
    check(scans_of_bools, X, backend=backend)
    check(diff_of_bools_in_a_loop, X, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_masks_with_bit_operators(backend):
    x = np.array([0.1, 0.7, 0.3, 0.9, 1.3])
    y = np.array([1.0, 2.0, 3.0, 4.0, 0.5])
    check(masks, x, y, backend=backend)
    for n in (0, 5, -3):
        check(int_bits, x, n, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_tuple_indexed_by_a_condition_and_constants(backend):
    for a in (0.2, 0.7, 1.2):
        check(pick_by_condition, X[:3], a, backend=backend)
    check(searches, X, backend=backend)
    check(list_item_written, X[:3], 5.0, backend=backend)


def bools_added(a, b, x):
    return np.sum(x) * ((a > 0) + (b > 0))


def bools_subtracted(a, b, x):
    return np.sum(x) * ((a > b) - (a < b))


def elements_added(x):
    s = 0.0
    for i in range(len(x) - 1):
        s += ((x[i] > 0) + (x[i + 1] > 0)) * x[i]
    return s


def bool_inverted(a, x):
    return np.sum(x) * ~(a > 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bools_known_to_be_numpys_add_as_numpy_does(backend):
    # comparisons of array elements are np.bool_ in CPython: `+` is their `or` and `~` their
    # not (the program runs on NumPy, where numba would compute with ints)
    def mixed(x):
        m = x > 0.0
        s = 0.0
        for i in range(len(x) - 1):
            s += (m[i] + (x[i] > 0.4)) * x[i] + (~m[i + 1]) * x[i + 1]
        return s

    for f in (elements_added, mixed):
        vg = value_and_grad(f, backend=backend)
        value, g = vg(X)
        assert value == pytest.approx(f(X), rel=1e-13)
        np.testing.assert_allclose(g, central(f, X), rtol=1e-6, atol=1e-8)
        with pytest.raises(GradientInputError, match="single elements of a bool array"):
            vg.compiled_for(X)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bool_arithmetic_whose_meaning_depends_on_the_bools_type_is_refused(backend):
    # Python's True + True is 2, NumPy's np.True_ + np.True_ is True: which one the original
    # computes depends on where the bools come from, so the compiler refuses, naming a rewrite
    for f, args, match in (
        (bools_added, (0.5, 1.0, X), r"`\+` of bools.*int\(a > 0\) \+ int\(b > 0\)"),
        (bools_subtracted, (0.5, 1.0, X), r"`-` of bools"),
        (bool_inverted, (0.5, X), r"~ of a single bool.*not c"),
    ):
        with pytest.raises(UnsupportedSyntaxError, match=match):
            value_and_grad(f, wrt=len(args) - 1, backend=backend)(*args)


def int_division(x, n, buckets):
    per = n // buckets
    rem = n % buckets
    return np.sum(x) * per + np.sum(x**2) * rem


@pytest.mark.parametrize("backend", BACKENDS)
def test_int_division_by_zero_raises_as_in_python(backend):
    g = value_and_grad(int_division, wrt=0, backend=backend)
    for n, buckets in ((7, 3), (-7, 3), (7, -3)):
        value, grad = g(X, n, buckets)
        assert value == pytest.approx(int_division(X, n, buckets), rel=1e-13)
        np.testing.assert_allclose(grad, central(int_division, X, n, buckets), rtol=1e-6)
    with pytest.raises(ZeroDivisionError):
        g(X, 7, 0)


# -- element types the compiler must know as NumPy does (a float stored into an int array is
# truncated, into a float array kept)

COUNTS = np.array([3, 1, 4, 0])
Y = np.array([0.7, -1.6, 2.3, 1.9])


def centered(x, counts):
    a = counts - np.mean(counts)  # floats
    a[0] = x[0] * 2.0
    m = np.vstack((counts, counts + 1)).mean(axis=0)
    m[1] = m[1] * x[1]
    return np.sum(a * x) + np.sum(m * x)


def filled(x, counts):
    a = np.full(4, 3)  # ints: the stores below are truncated
    for i in range(4):
        a[i] = a[i] * x[i]
    b = np.full((2, 2), len(x))
    b[0, 1] = x[0] * 5.0
    c = np.full(4, 0.5)  # floats
    c[2] = x[2] ** 2
    return np.sum(a * x) + np.sum(b.ravel() * x) + np.sum(c * x)


def int_valued(x, counts):
    a = np.fabs(counts - 3)  # floats
    a[1] = x[1] * 3.0
    b = np.sign(counts - 2)  # ints
    b[0] = x[0] * 2.5
    c = np.floor(counts) + np.ceil(counts)  # ints
    c[3] = x[3] * 1.5
    return np.sum(a * x) + np.sum(b * x) + np.sum(c * x)


def clipped(x, counts):
    a = np.clip(counts, 1.5, 4)  # floats
    s = 0.0
    for i in range(len(x)):
        s += a[i] * x[i]
    return s + np.sum(counts.clip(1, 2) * x)


def dtype_strings(x):
    counts = np.zeros(4, dtype="int")
    for i in range(4):
        counts[i] = counts[i] + x[i] * 3.0  # truncated
    w = np.ones(4, dtype="float")
    return np.sum(counts * x) + np.sum(w * x**2)


def quantized(x):
    q = (np.abs(x) * 100).astype(np.uint8)  # NumPy's uint8 differences wrap around
    s = 0.0
    for i in range(len(x) - 1):
        s += (q[i] - q[i + 1]) * x[i]
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_element_types_as_numpy_has_them(backend):
    for f in (centered, filled, int_valued, clipped):
        check(f, Y, COUNTS, backend=backend)
    check(dtype_strings, Y, backend=backend)
    levels = np.array([0.553, 1.217, 0.314, -0.456, -0.0117, 0.2033])  # (off the steps)
    with np.errstate(over="ignore"):
        vg = value_and_grad(quantized, backend=backend)
        value, g = vg(levels)
        assert value == pytest.approx(quantized(levels), rel=1e-12)
        np.testing.assert_allclose(g, central(quantized, levels), rtol=1e-6)
    with pytest.raises(GradientInputError, match="compiled_for: quantized computes on integers"):
        vg.compiled_for(levels)


def test_reciprocal_of_ints_is_refused():
    def f(x, counts):
        return np.sum(np.reciprocal(counts + 1) * x)

    with pytest.raises(UnsupportedSyntaxError, match=r"np.reciprocal of ints.*1\.0 / x"):
        value_and_grad(f)(Y, COUNTS)


def test_a_number_becoming_an_array_in_a_loop_is_refused_by_name():
    def f(x):
        total = 0
        for k in range(3):
            total = total + np.tanh(x + k)
        return np.sum(total * x)

    with pytest.raises(UnsupportedSyntaxError, match=r"total is a number before the loop and an"):
        value_and_grad(f)(Y)


# -- review of the round's fixes


def bits_of_a_big_int(x, k):
    return x * ~k + x * (k & -2) + x * (k // -3) + x * (k % -3) + x * (k ^ -1)


@pytest.mark.parametrize("first", [2**63 + 5, 5])
def test_ints_past_int64_take_pythons_ints_on_every_path(first):
    # numba's dispatcher would type an int below 2**64 as uint64: the first call with one, or
    # a later one after int64's program exists (then the machine code is called directly)
    g = value_and_grad(bits_of_a_big_int, wrt=0, backend="numba")
    for k in (first, 2**63 + 5, 2**64 + 3, -(2**63), -(2**63) - 1, 7):
        expected = ~k + (k & -2) + (k // -3) + (k % -3) + (k ^ -1)
        value, d = g(1.5, k)
        assert value == pytest.approx(1.5 * expected, rel=1e-15)
        assert d == pytest.approx(float(expected), rel=1e-15)


def floor_division(x, a, b):
    return x * (a // b)


@pytest.mark.parametrize("backend", BACKENDS)
def test_int_division_edges(backend):
    g = value_and_grad(floor_division, wrt=0, backend=backend)
    assert g(1.5, -(2**63), -1)[1] == pytest.approx(2.0**63)  # past int64: Python's ints
    with pytest.raises(ZeroDivisionError):
        g(1.5, 7, False)


def merged_bool_or_int(x, a):
    if a > 0:
        c = x[0] > 0
    else:
        c = 3
    return x[1] * ~c


def narrow_scalar(x, k):
    return x * (np.uint8(k) - 5) + x * np.int8(k)


def floor_of_bools(x):
    m = np.floor(x > 0)  # bools in NumPy 2: a stored float becomes True
    m[0] = x[0] * 3.5
    return np.sum(m * x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bool_int_merges_narrow_scalars_and_floor_of_bools(backend):
    with pytest.raises(UnsupportedSyntaxError, match="c is a bool on one path and an int"):
        value_and_grad(merged_bool_or_int, wrt=0, backend=backend)(Y, 1.0)
    g = value_and_grad(narrow_scalar, wrt=0, backend=backend)
    for k in (3, 100, np.int64(300), np.int64(-7)):  # (NumPy's ints wrap around)
        with np.errstate(over="ignore"):
            expected = narrow_scalar(1.0, k)
            value, d = g(1.5, k)
        assert value == pytest.approx(1.5 * expected) and d == pytest.approx(expected)
    with pytest.raises(OverflowError):  # as CPython: a Python int out of int8's range
        g(1.5, 200)
    check(floor_of_bools, Y, backend=backend)


# -- adversary round 8


def lists_of_bools_and_ints(x):
    m = np.array([v > 1.0 for v in x])  # bools, as NumPy's np.array makes them
    a = np.array([i for i in range(len(x))])  # ints
    c = np.zeros_like(a)
    c[1] = x[1] * 2.5  # truncated into the int array
    flags = []
    for v in x:
        flags.append(v < 1.0)
    f = np.array(flags)
    return np.sum(np.diff(m) * x[1:]) + np.sum(c * x) + np.sum(np.where(f, x, 0.0))


def missing_targets(w, X, y):
    r = X @ w - y  # y has NaNs: nansum skips them, and so does their gradient
    return np.nansum(r**2) + np.nanmean(np.abs(r) * w[0])


def python_extremes(x):
    y = np.where(x > 1.0, np.nan, x)
    L = []
    for v in y:
        L.append(v * 2.0)
    return max(v for v in y) + min(L) + max(L)  # a NaN after the first item is skipped


def counted_seed(x):
    seed = np.sum(x > 0) + 12345  # a NumPy int: the reverse sweep must recompute it exactly
    s = 0.0
    for i in range(len(x)):
        seed = (1103515245 * seed + 12345) % 2147483648
        s += x[i] * ((seed % 100) / 100.0)
    return s


def masks_added(x):
    m = x > 0
    m += x > 1  # bool arrays: NumPy's `or`
    both = (x > 0.3) * (x < 2.0)
    return np.sum(np.where(m, x, 0.0)) + np.sum(np.where(both, x**2, 0.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_round_8(backend):
    x = np.array([0.5, 1.5, 0.7, 2.2, -0.3])
    check(lists_of_bools_and_ints, x, backend=backend)
    check(python_extremes, np.array([0.5, 1.5, 0.7]), backend=backend)
    check(counted_seed, x, backend=backend)
    check(masks_added, x, backend=backend)
    X = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.3], [1.5, 1.5]])
    y = np.array([1.0, np.nan, 0.4, np.nan])
    w = np.array([0.3, -0.8])
    check(missing_targets, w, X, y, backend=backend)


def slice_of_ints_scaled(x):
    k = np.arange(len(x))
    k[1:] *= 1.5  # NumPy raises: floats into part of an int array, in place
    return np.sum(x * k)


def test_floats_into_part_of_an_int_array_in_place_are_refused():
    with pytest.raises(UnsupportedSyntaxError, match=r"k\[1:\] \*= .* part of an int array"):
        value_and_grad(slice_of_ints_scaled)(Y)


def factorials(x):
    L = []
    f = 1
    for i in range(1, len(x) + 20):  # up to 25!, past int64: Python's ints grow
        f *= i
        L.append(f)
    return x[0] * (sum(L) % 997) + x[1] * (max(L) % 991)


def powers_of_two(x):
    L = [2 ** (i + 60) for i in range(len(x))]
    return x[0] * (L[-1] // 2**62) + x[1] * len(L)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lists_of_ints_past_int64(backend):
    x = np.array([0.5, 1.5, -0.7, 2.2, -0.3, 1.1])
    for f in (factorials, powers_of_two):
        value, g = value_and_grad(f, backend=backend)(x)
        assert value == pytest.approx(f(x), rel=1e-13)
        np.testing.assert_allclose(g, central(f, x), rtol=1e-6, atol=1e-8)


def nan_skipping(w, y):
    r = w - y  # y has a NaN: each of these leaves that entry out
    return (
        np.sum(np.nan_to_num(r**2))
        + np.sum(np.fmax(r**2, 0.1))
        + np.sum(np.fmin(r**2 * 2.0, 5.0))
        + np.nanmean(np.abs(r) * w[0])
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_entries_left_out_as_nan_get_no_nan_gradient(backend):
    check(nan_skipping, np.array([0.3, -0.7, 0.2]), np.array([1.0, np.nan, 2.0]), backend=backend)


def pcg_weights(x):
    seed = 12345
    out = np.zeros_like(x)
    for i in range(len(x)):  # past int64 in the first step: Python's ints
        seed = (6364136223846793005 * seed + 1442695040888963407) % 2**64
        out[i] = x[i] * ((seed % 100) / 100.0) * x[i]
    return out


def test_second_derivatives_and_vjps_take_pythons_ints_past_int64():
    from ad_compiler import hessian, jacobian, vjp

    x = np.linspace(-1, 1, 4) + 0.05
    weights = np.diag(jacobian(pcg_weights, backend="python")(x)) / (2 * x)
    expected_jacobian = np.diag(2 * x * weights)
    np.testing.assert_allclose(jacobian(pcg_weights)(x), expected_jacobian, rtol=1e-12)
    np.testing.assert_allclose(
        vjp(pcg_weights)(x, cotangent=np.ones(4)), 2 * x * weights, rtol=1e-12
    )
    total = lambda x: np.sum(pcg_weights(x))  # noqa: E731
    np.testing.assert_allclose(hessian(total)(x), np.diag(2 * weights), rtol=1e-12)
    # the weights themselves, from CPython running the original
    np.testing.assert_allclose(pcg_weights(np.ones(4)), weights, rtol=1e-12)
