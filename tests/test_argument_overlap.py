"""Arguments that share memory when the function changes one of them in place.

Python's `x[0] = v` (or `x += v`) in f(a, a) changes what the other parameter reads; the
compiled program works on a copy of x, so it would compute another value. Such a call is
refused (GradientInputError naming both arguments and the line that changes one); calls
with separate arrays, disjoint views of one array, or functions that never change an argument
keep working and are checked against CPython's value and central differences of the original.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
import pytest
from gradcheck_helpers import central

from ad_compiler import (
    GradientInputError,
    UnsupportedSyntaxError,
    grad,
    hvp,
    jacobian,
    jvp,
    value_and_grad,
)
from ad_compiler.argument_overlap import checked_pairs

BACKENDS = ("python", "numba")
SHARED = r"share memory"


def store(x, y):
    x[0] = y[1] * 2.0
    return np.sum(x * y)


def augmented(x, y):
    x += 1.0
    return np.sum(y * y) + np.sum(x)


def augmented_through_alias(x, y):
    z = x
    z *= 3.0
    return np.sum(y * y)


def _zero_first(v):
    v[0] = 0.0
    return v


def helper_writes(x, y):
    _zero_first(x)
    return np.sum(x * y)


def loop_writes(x, y):
    for i in range(len(x)):
        x[i] = x[i] * y[i]
    return np.sum(x * y)


def pure(x, y):
    return np.sum(x * y) + x[0] * y[1]


CHANGING = [store, augmented, augmented_through_alias, helper_writes, loop_writes]
X = np.array([0.3, -0.8, 1.1, 0.5, 0.9])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", CHANGING, ids=lambda f: f.__name__)
def test_same_array_twice_is_refused(fn, backend):
    g = value_and_grad(fn, wrt=("x", "y"), backend=backend)
    a = X.copy()
    with pytest.raises(GradientInputError, match=rf"x and y {SHARED}.*test_argument_overlap"):
        g(a, a)
    np.testing.assert_array_equal(a, X)  # the caller's array is left alone


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", CHANGING, ids=lambda f: f.__name__)
def test_overlapping_views_are_refused(fn, backend):
    g = value_and_grad(fn, wrt=("x", "y"), backend=backend)
    a = np.linspace(0.1, 1.0, 8)
    for x, y in [(a[:5], a[3:]), (a[::2], a[1::2]), (a[:4], a[::-1][3:7])]:
        with pytest.raises(GradientInputError, match=SHARED):
            g(x, y)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", CHANGING, ids=lambda f: f.__name__)
def test_separate_arrays_and_disjoint_views_give_pythons_value_and_gradient(fn, backend):
    g = value_and_grad(fn, wrt=("x", "y"), backend=backend)
    a = np.linspace(0.1, 1.0, 10)
    for x, y in [(X.copy(), X[::-1].copy()), (a[:5], a[5:])]:
        value, (gx, gy) = g(x, y)
        assert value == pytest.approx(fn(x.copy(), y.copy()), rel=1e-13)
        np.testing.assert_allclose(gx, central(fn, (x, y), 0), rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(gy, central(fn, (x, y), 1), rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(a, np.linspace(0.1, 1.0, 10))


@pytest.mark.parametrize("backend", BACKENDS)
def test_function_that_changes_no_argument_takes_one_array_twice(backend):
    g = value_and_grad(pure, wrt=("x", "y"), backend=backend)
    value, (gx, gy) = g(X, X)
    assert value == pytest.approx(pure(X, X), rel=1e-14)
    np.testing.assert_allclose(gx, central(pure, (X, X.copy()), 0), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gy, central(pure, (X.copy(), X), 1), rtol=1e-7, atol=1e-9)
    assert "check_apart" not in grad(pure, wrt=("x", "y")).source_for(X, X)


def test_generated_code_checks_each_pair_once_at_the_top():
    source = grad(store, wrt=("x", "y")).source_for(X, X.copy())
    body = source[source.index("def store_grad") :]
    assert body.count("rt.check_apart(x, y,") == 1
    assert body.index("rt.check_apart") < body.index("x.copy()")


SCALE = np.array([1.0, 2.0, 3.0, 4.0, 5.0])


def writes_reads_module_array(x):
    x[0] = 0.0
    return np.sum(x * SCALE)


@pytest.mark.parametrize("backend", BACKENDS)
def test_module_level_array_passed_as_the_changed_argument(backend):
    g = grad(writes_reads_module_array, backend=backend)
    with pytest.raises(GradientInputError, match=rf"x and SCALE {SHARED}"):
        g(SCALE)
    np.testing.assert_array_equal(g(SCALE.copy()), [0.0, 2.0, 3.0, 4.0, 5.0])


@pytest.mark.parametrize("fn", [store, loop_writes], ids=lambda f: f.__name__)
def test_float32_arrays_are_checked_before_their_float64_copies(fn):
    g = value_and_grad(fn, wrt=("x", "y"))
    a = X.astype(np.float32)
    for x, y in [(a, a), (a[:4], a[1:])]:
        with pytest.raises(GradientInputError, match=SHARED):
            g(x, y)
    value, _ = g(a, a.copy())
    assert value == pytest.approx(float(fn(a.copy(), a.copy())), rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_for_refuses_inside_numba_code(dtype):
    a = X.astype(dtype)
    dispatcher = value_and_grad(loop_writes, wrt=("x", "y")).compiled_for(a, a.copy())

    @numba.njit
    def call(x, y):
        return dispatcher(x, y)

    with pytest.raises(GradientInputError, match=SHARED):
        call(a, a)
    with pytest.raises(GradientInputError, match=SHARED):
        call(a[:4], a[1:])
    value, _ = call(a, a.copy())
    assert value == pytest.approx(float(loop_writes(a.copy(), a.copy())), rel=1e-6)


def test_other_transforms_refuse_too():
    a = X.copy()

    def vector(x, y):
        x[0] = 3.0
        return x * y

    with pytest.raises(GradientInputError, match=SHARED):
        jvp(loop_writes, wrt="x")(a, a, tangent=np.ones(5))
    with pytest.raises(GradientInputError, match=SHARED):
        jacobian(vector, wrt="x")(a, a)
    with pytest.raises(GradientInputError, match=SHARED):
        hvp(loop_writes, wrt="x")(a, a, vector=np.ones(5))
    value, slope = jvp(loop_writes, wrt="x")(a, a.copy(), tangent=np.ones(5))
    assert value == pytest.approx(loop_writes(a.copy(), a.copy()), rel=1e-14)


# -- 0-d arrays, module-level arrays, arrays compiled_for binds -------------------------------


def bump(x, y):
    x += 1.0
    return x * y


def bump_alias(x):
    y = x
    x += 1.0
    return x * y


def write_second(x, y):
    y[0] = 7.0
    return np.sum(x * y)


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_d_arrays_are_refused_where_python_would_change_them_in_place(backend):
    """Kinds see a 0-d array as a number, so `x += 1.0` would not change it (Python's does,
    and every name holding it sees that): such calls are refused; floats work."""
    z = np.array(3.0)
    with pytest.raises(GradientInputError, match="x is a 0-d array"):
        value_and_grad(bump, wrt=("x", "y"), backend=backend)(z, z)
    with pytest.raises(GradientInputError, match="x is a 0-d array"):
        value_and_grad(bump_alias, backend=backend)(z)
    a = np.array([3.0, 4.0])
    with pytest.raises(GradientInputError, match="0-d array"):
        value_and_grad(write_second, wrt=("x", "y"), backend=backend)(a[0, ...], a)
    value, grads = value_and_grad(bump, wrt=("x", "y"), backend=backend)(3.0, 3.0)
    assert value == 12.0 and grads == (3.0, 4.0)
    assert float(z) == 3.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_d_arrays_work_where_nothing_changes_in_place(backend):
    z = np.array(0.7)
    value, (gx, gy) = value_and_grad(pure_scalars, wrt=("x", "y"), backend=backend)(z, z)
    assert value == pytest.approx(pure_scalars(0.7, 0.7), rel=1e-14)
    assert gx == pytest.approx(np.cos(0.7) * 0.7, rel=1e-12) and gy == pytest.approx(np.sin(0.7))


def pure_scalars(x, y):
    return np.sin(x) * y


OFFSETS = np.array([1.0, 2.0, 3.0, 4.0, 5.0])


def update_module_array_through_alias(x):
    w = OFFSETS
    w += 1.0
    return np.sum(x * w)


def test_module_level_array_updated_in_place_through_an_alias_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="module-level array OFFSETS in place"):
        grad(update_module_array_through_alias)(X)
    np.testing.assert_array_equal(OFFSETS, [1.0, 2.0, 3.0, 4.0, 5.0])


def test_compiled_for_refuses_the_array_it_binds_passed_as_the_changed_argument():
    """compiled_for holds a copy of SCALE; called with SCALE itself, the function's write
    into x would change what it reads as SCALE in Python."""
    dispatcher = value_and_grad(writes_reads_module_array).compiled_for(SCALE.copy())

    @numba.njit
    def call(x):
        return dispatcher(x)

    with pytest.raises(GradientInputError, match=rf"x and SCALE {SHARED}"):
        call(SCALE)
    with pytest.raises(GradientInputError, match=SHARED):
        call(SCALE[::-1])
    value, _ = call(SCALE.copy())
    assert value == pytest.approx(writes_reads_module_array(SCALE.copy()), rel=1e-14)


def write_first_of_three(x, a, b):
    x[0] = 2.0
    for i in range(len(a)):
        x[i] = x[i] + a[i] * b[i]
    return np.sum(x * x)


def test_only_the_pairs_the_program_checks_are_refused_for_float32():
    """a and b overlap, but the function changes only x: float32 copies do not matter."""
    base = np.linspace(0.1, 0.9, 6).astype(np.float32)
    x = np.ones(5, dtype=np.float32)
    value, _ = value_and_grad(write_first_of_three, wrt=("x", "a")).compiled_for(
        x, base[:5], base[1:]
    )(x, base[:5], base[1:])
    assert value == pytest.approx(float(write_first_of_three(x.copy(), base[:5], base[1:])))
    value, _ = value_and_grad(write_first_of_three, wrt=("x", "a"))(x, base[:5], base[1:])
    assert value == pytest.approx(float(write_first_of_three(x.copy(), base[:5], base[1:])))
    with pytest.raises(GradientInputError, match="x and a share memory"):
        value_and_grad(write_first_of_three, wrt=("x", "a"))(base[:5], base[1:], base[:5])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [store, augmented, loop_writes], ids=lambda f: f.__name__)
def test_read_only_array_the_function_changes_raises_as_numpy_does(fn, backend):
    frozen = X.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError):
        fn(frozen, X.copy())  # what Python does
    g = value_and_grad(fn, wrt=("x", "y"), backend=backend)
    with pytest.raises(ValueError, match="x is a read-only array"):
        g(frozen, X.copy())
    value, _ = g(X.copy(), frozen)  # only read: fine
    assert value == pytest.approx(fn(X.copy(), frozen), rel=1e-13)


def test_compiled_for_refuses_a_read_only_array_it_would_change():
    frozen = X.copy()
    frozen.flags.writeable = False
    dispatcher = value_and_grad(loop_writes, wrt=("x", "y")).compiled_for(X.copy(), X.copy())
    with pytest.raises(ValueError, match="read-only"):
        dispatcher(frozen, X.copy())


def test_checked_pairs_read_messages_in_either_quote_style():
    """A file name with an apostrophe makes repr() quote the message with double quotes."""
    source = (
        "def f_grad(w, x, y):\n"
        "    rt.check_apart(x, y, \"f(): ... (it's_mod.py:3) ...\")\n"
        "    rt.check_apart(x, w, 'f(): plain')\n"
        "    return w\n"
    )
    assert checked_pairs(source) == [(1, 2, "f(): ... (it's_mod.py:3) ..."), (1, 0, "f(): plain")]


def writes_x_reads_y(w, x, y):
    x[0] = 5.0
    return np.sum(w * y[:3]) + np.sum(x[:3] * w)


def test_compiled_for_checks_two_arrays_a_partial_binds():
    base = np.arange(5.0)
    w = np.ones(3)
    overlapping = functools.partial(writes_x_reads_y, x=base[1:], y=base[:4])
    with pytest.raises(GradientInputError, match=SHARED):
        value_and_grad(overlapping, wrt="w").compiled_for(w)
    with pytest.raises(GradientInputError, match=SHARED):
        value_and_grad(overlapping, wrt="w")(w)
    # equal contents in two arrays: separate copies, no refusal
    separate = functools.partial(writes_x_reads_y, x=np.ones(4), y=np.ones(4))
    value, _ = value_and_grad(separate, wrt="w").compiled_for(w)(w)
    assert value == pytest.approx(writes_x_reads_y(w, np.ones(4), np.ones(4)), rel=1e-14)
