"""Reliability: floating-point edges, conventions at kinks, float32, the caller's arrays, threads,
and the on-disk cache.

1. NaN and inf in an input reach the gradient the way the function itself propagates them;
   overflow and division by zero give inf/nan, never an exception (both backends).
2. The README's conventions at non-differentiable points.
3. The "double where" trap: the branch np.where (or `a if c else b`) did not select contributes
   an exact 0, not 0 * inf = nan.
4. float32 in, float32 out, close to float64.
5. The caller's arrays are never written, byte for byte.
6. One gradient function called from 8 threads at once, cold and warm.
7. The cache: a private directory; damaged module files, key files, numba's cache files and
   Python's bytecode cache next to them are survived, and damaged code is never executed
   (checked in fresh processes, against a copy of ad_compiler frozen for the test module).
8. A second process with a warm cache does not import SymPy, nor compile with numba again.

The functions differentiated here are in tests/reliability_functions.py.
"""

from __future__ import annotations

import json
import marshal
import math
import os
import shutil
import stat
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import reliability_functions as rf

import ad_compiler
from ad_compiler import GradientInputError, grad, numerical_grad, value_and_grad

BACKENDS = ("python", "numba")
TESTS_DIR = Path(__file__).resolve().parent
NAN, INF = math.nan, math.inf

# The primal functions divide by zero and overflow on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def a(*values: float, dtype=np.float64) -> np.ndarray:
    return np.array(values, dtype=dtype)


def ieee(expression):
    """Evaluate a closed-form expected gradient with NumPy float64 (inf and nan, no errors)."""
    with np.errstate(all="ignore"):
        return expression()


def assert_same(actual, expected, what=""):
    """Equal values, NaN equal to NaN, inf to inf of the same sign; and the same type/shape."""
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected), (actual, expected)
        for i, (x, e) in enumerate(zip(actual, expected)):
            assert_same(x, e, f"{what}[{i}]")
        return
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), f"{what}: {actual!r} is not an array"
        assert actual.shape == expected.shape and actual.dtype == expected.dtype, \
            f"{what}: {actual.dtype}{actual.shape} instead of {expected.dtype}{expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=0, equal_nan=True,
                               err_msg=what)


# -- 1. NaN and inf --------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("x", "y"), [(2.0, NAN), (NAN, 3.0), (NAN, NAN), (2.0, INF), (0.0, INF),
                                      (-INF, 3.0), (INF, -INF)])
def test_nan_inf_through_a_product_scalar(x, y, backend):
    value, grads = value_and_grad(rf.mul, wrt=(0, 1), backend=backend)(x, y)
    assert_same(value, ieee(lambda: np.float64(x) * y))
    assert_same(grads, (float(y), float(x)))
    assert all(type(g) is float for g in grads)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [rf.mul_sum, rf.loop_mul_sum], ids=lambda f: f.__name__)
def test_nan_inf_through_a_product_array(fn, backend):
    x = a(1.0, NAN, 0.0, 2.0, INF, -1.0)
    y = a(NAN, 2.0, INF, 3.0, 0.0, -INF)
    value, (dx, dy) = value_and_grad(fn, wrt=(0, 1), backend=backend)(x, y)
    assert math.isnan(value)
    assert_same(dx, y)  # d(x*y)/dx = y, entry by entry, nan and inf included
    assert_same(dy, x)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [rf.square, rf.square_sum], ids=lambda f: f.__name__)
def test_nan_input_gives_nan_gradient(fn, backend):
    if fn is rf.square:
        assert math.isnan(grad(fn, backend=backend)(NAN))
    else:
        g = grad(fn, backend=backend)(a(1.0, NAN, 3.0))
        assert_same(g, a(2.0, NAN, 6.0))


def numpy_extremes(x):
    return np.maximum(0.0, x) * 2.0 + np.minimum(1.0, x)


def python_extremes(x, y):
    return max(x, y) + min(y, 2.0 * x)


def numpy_extremes_in_a_loop(x):
    s = 0.0
    for i in range(len(x)):
        s += np.maximum(0.0, x[i]) + max(x[i], 0.5)
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_through_maximum_and_minimum_of_numbers_as_python_computes_it(backend):
    """np.maximum(0.0, nan) is nan, Python's max(0.0, nan) is 0.0: on numbers, each keeps its
    own meaning (the values are CPython's; np's gradient is nan, as its step at nan)."""
    value, g = value_and_grad(numpy_extremes, backend=backend)(NAN)
    assert math.isnan(value) and math.isnan(numpy_extremes(NAN)) and math.isnan(g)
    for x, y in [(NAN, 1.0), (1.0, NAN), (2.0, 1.0)]:
        value, _ = value_and_grad(python_extremes, wrt=(0, 1), backend=backend)(x, y)
        assert_same(np.float64(value), np.float64(python_extremes(x, y)))
    x = a(0.3, NAN, -1.0)
    value, g = value_and_grad(numpy_extremes_in_a_loop, backend=backend)(x)
    assert math.isnan(value) and math.isnan(numpy_extremes_in_a_loop(x))
    assert g[0] == 1.0 and g[2] == 0.0
    value, g = value_and_grad(numpy_extremes, backend=backend)(0.3)
    assert value == numpy_extremes(0.3) and g == 3.0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [rf.np_exp, rf.math_exp], ids=lambda f: f.__name__)
def test_exp_overflow_gives_inf_value_and_gradient(fn, backend):
    value, g = value_and_grad(fn, backend=backend)(1000.0)
    assert value == INF and g == INF
    assert type(g) is float


@pytest.mark.parametrize("backend", BACKENDS)
def test_exp_overflow_array(backend):
    value, g = value_and_grad(rf.exp_sum, backend=backend)(a(1000.0, 0.0, -1000.0))
    assert value == INF
    assert_same(g, a(INF, 1.0, 0.0))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("x", "y"), [(1.0, 0.0), (-1.0, 0.0), (0.0, 0.0), (1.0, -0.0),
                                      (INF, 2.0), (1.0, INF)])
def test_division_by_zero_scalar(x, y, backend):
    """1/0 = inf, 0/0 = nan in the gradient as in NumPy, not a ZeroDivisionError."""
    value, grads = value_and_grad(rf.div, wrt=(0, 1), backend=backend)(x, y)
    X, Y = np.float64(x), np.float64(y)
    assert_same(value, ieee(lambda: X / Y))
    assert_same(grads, ieee(lambda: (float(1.0 / Y), float(-X / (Y * Y)))))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [rf.div_sum, rf.loop_div_sum], ids=lambda f: f.__name__)
def test_division_by_zero_array(fn, backend):
    x = a(1.0, 0.0, -2.0, 3.0)
    y = a(0.0, 0.0, 0.0, 2.0)
    value, (dx, dy) = value_and_grad(fn, wrt=(0, 1), backend=backend)(x, y)
    assert math.isnan(value)  # inf + nan + -inf + 1.5
    assert_same(dx, a(INF, INF, INF, 0.5))
    assert_same(dy, a(-INF, NAN, INF, -0.75))


@pytest.mark.parametrize("backend", BACKENDS)
def test_log_and_sqrt_at_zero_and_below(backend):
    value, g = value_and_grad(rf.np_log, backend=backend)(0.0)
    assert value == -INF and g == INF
    value, g = value_and_grad(rf.np_sqrt, backend=backend)(0.0)
    assert value == 0.0 and g == INF
    value, g = value_and_grad(rf.np_sqrt, backend=backend)(-1.0)
    assert math.isnan(value) and math.isnan(g)
    value, g = value_and_grad(rf.log_sum, backend=backend)(a(0.0, -1.0, 2.0))
    assert math.isnan(value)
    assert_same(g, a(INF, -1.0, 0.5))


# -- 2. conventions at non-differentiable points ---------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [rf.builtin_abs, rf.np_abs, rf.math_fabs], ids=lambda f: f.__name__)
def test_abs_at_zero(fn, backend):
    assert grad(fn, backend=backend)(0.0) == 0.0
    assert grad(fn, backend=backend)(-0.0) == 0.0
    assert grad(fn, backend=backend)(-2.0) == -1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_abs_at_zero_array_and_loop(backend):
    x = a(0.0, -1.0, 2.0, -0.0)
    assert_same(grad(rf.abs_sum, backend=backend)(x), a(0.0, -1.0, 1.0, 0.0))
    assert_same(grad(rf.loop_abs, backend=backend)(x), a(0.0, -3.0, 3.0, 0.0))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [rf.builtin_max, rf.builtin_min, rf.np_maximum, rf.np_minimum],
                         ids=lambda f: f.__name__)
def test_max_min_tie_splits_half(fn, backend):
    g = grad(fn, wrt=(0, 1), backend=backend)
    assert g(1.5, 1.5) == (0.5, 0.5)
    assert g(0.0, 0.0) == (0.5, 0.5)
    larger = fn in (rf.builtin_max, rf.np_maximum)
    assert g(2.0, 1.0) == ((1.0, 0.0) if larger else (0.0, 1.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_maximum_minimum_ties_arrays(backend):
    x, y = a(1.0, 2.0, 3.0, -1.0), a(1.0, 0.0, 3.0, 5.0)
    dx, dy = grad(rf.maximum_sum, wrt=(0, 1), backend=backend)(x, y)
    assert_same(dx, a(0.5, 1.0, 0.5, 0.0))
    assert_same(dy, a(0.5, 0.0, 0.5, 1.0))
    dx, dy = grad(rf.minimum_sum, wrt=(0, 1), backend=backend)(x, y)
    assert_same(dx, a(0.5, 0.0, 0.5, 1.0))
    assert_same(dy, a(0.5, 1.0, 0.5, 0.0))
    assert_same(grad(rf.relu_sum, backend=backend)(a(-1.0, 0.0, 3.0)), a(0.0, 0.5, 1.0))
    dx, dy = grad(rf.loop_max_min, wrt=(0, 1), backend=backend)(a(0.0, -1.0, 2.0),
                                                                a(0.0, 1.0, 2.0))
    assert_same(dx, a(1.5, 2.0, 1.5))  # max + 2 min: ties give 0.5 + 2 * 0.5
    assert_same(dy, a(1.5, 1.0, 1.5))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [rf.max_reduction, rf.amax_reduction, rf.max_method],
                         ids=lambda f: f.__name__)
def test_max_reduction_splits_evenly_among_ties(fn, backend):
    g = grad(fn, backend=backend)
    assert_same(g(a(1.0, 3.0, 3.0, -1.0, -1.0, 3.0)), a(0, 1 / 3, 1 / 3, 0, 0, 1 / 3))
    assert_same(g(a(2.0, 2.0)), a(0.5, 0.5))
    assert_same(g(a(-1.0, 5.0, 2.0)), a(0.0, 1.0, 0.0))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [rf.min_reduction, rf.min_method], ids=lambda f: f.__name__)
def test_min_reduction_splits_evenly_among_ties(fn, backend):
    g = grad(fn, backend=backend)
    assert_same(g(a(1.0, 3.0, 3.0, -1.0, -1.0, 3.0)), a(0, 0, 0, 0.5, 0.5, 0))
    assert_same(g(a(7.0, 7.0, 7.0, 7.0)), a(0.25, 0.25, 0.25, 0.25))


@pytest.mark.parametrize("backend", BACKENDS)
def test_reductions_along_an_axis_split_ties_per_slice(backend):
    g = grad(rf.max_axis0, backend=backend)(a(1.0, 2.0, 1.0, 0.0).reshape(2, 2))
    assert_same(g, a(0.5, 1.0, 0.5, 0.0).reshape(2, 2))
    g = grad(rf.min_axis1, backend=backend)(a(1.0, 1.0, 1.0, 1.0, 0.0, 3.0).reshape(2, 3))
    assert_same(g, a(1 / 3, 1 / 3, 1 / 3, 0.0, 1.0, 0.0).reshape(2, 3))
    g = grad(rf.loop_reductions, backend=backend)(a(3.0, -1.0, 3.0, -1.0))
    assert_same(g, a(1.5, 0.0, 1.5, 0.0))  # max - 2 min + sum


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [rf.np_floor, rf.math_floor, rf.np_ceil, rf.math_ceil, rf.np_sign],
                         ids=lambda f: f.__name__)
def test_step_functions_have_zero_gradient(fn, backend):
    g = grad(fn, backend=backend)
    for x in (1.0, 1.5, 0.0, -2.0, -0.5):
        assert g(x) == 0.0, x


@pytest.mark.parametrize("backend", BACKENDS)
def test_floordiv_has_zero_gradient(backend):
    g = grad(rf.floordiv, wrt=(0, 1), backend=backend)
    assert g(7.0, 2.0) == (0.0, 0.0)
    assert g(6.0, 2.0) == (0.0, 0.0)
    assert g(-3.0, 1.5) == (0.0, 0.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_step_functions_arrays_and_loops(backend):
    x, y = a(1.0, 1.5, -2.0, 0.5, 0.0), a(2.0, 0.5, 1.0, -3.0, 1.0)
    dx, dy = grad(rf.step_functions_sum, wrt=(0, 1), backend=backend)(x, y)
    assert_same(dx, np.ones(5))  # only the trailing + np.sum(x)
    assert_same(dy, np.zeros(5))
    g = grad(rf.loop_step_functions, backend=backend)(a(3.0, -1.0, 3.5, 0.0, 2.0))
    assert_same(g, np.ones(5))


@pytest.mark.parametrize("backend", BACKENDS)
def test_where_at_the_boundary_follows_the_condition(backend):
    x = a(-1.0, 0.0, 1.0)
    assert_same(grad(rf.where_gt, backend=backend)(x), a(-2.0, -2.0, 3.0))  # 0 > 0 is False
    assert_same(grad(rf.where_ge, backend=backend)(x), a(-2.0, 3.0, 3.0))  # 0 >= 0 is True
    assert_same(grad(rf.where_lt, backend=backend)(x), a(3.0, -2.0, -2.0))
    dx, dy = grad(rf.where_eq, wrt=(0, 1), backend=backend)(a(1.0, 2.0), a(1.0, 3.0))
    assert_same(dx, a(3.0, -2.0))
    assert_same(dy, a(0.0, 0.0))
    # np.where and `a if c else b` in a compiled loop: 3x|-2x and 5x|-7x
    assert_same(grad(rf.loop_where, backend=backend)(x), a(-9.0, 3.0, 8.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_conditional_expression_at_the_boundary(backend):
    assert grad(rf.ifexp_gt, backend=backend)(0.0) == -2.0
    assert grad(rf.ifexp_ge, backend=backend)(0.0) == 3.0
    assert grad(rf.if_statement_gt, backend=backend)(0.0) == -2.0


# -- 3. the "double where" trap --------------------------------------------------------------------


TRAP_X = a(4.0, 0.0, -1.0, 1.0, 0.25)
TRAPS = [
    # (function, expected value, expected gradient) at TRAP_X
    (rf.where_sqrt, 3.5, a(0.25, 0.0, 0.0, 0.5, 1.0)),
    (rf.where_log, math.log(4.0) + math.log(0.25), a(0.25, 0.0, 0.0, 1.0, 4.0)),
    (rf.where_reciprocal, 0.25 - 1.0 + 1.0 + 4.0, a(-1 / 16, 0.0, -1.0, -1.0, -16.0)),
    (rf.loop_branch_sqrt, 3.5, a(0.25, 0.0, 0.0, 0.5, 1.0)),
    (rf.loop_where_traps, 3.5 + math.log(4.0) + math.log(0.25) + 4.25 + 3.5,
     a(0.25 + 0.25 - 1 / 16 + 0.25, 0.0, -1.0, 0.5 + 1.0 - 1.0 + 0.5, 1.0 + 4.0 - 16.0 + 1.0)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "value", "expected"), TRAPS, ids=[t[0].__name__ for t in TRAPS])
def test_double_where_gives_finite_gradient(fn, value, expected, backend):
    v, g = value_and_grad(fn, backend=backend)(TRAP_X.copy())
    assert v == pytest.approx(value, rel=1e-12)
    assert np.all(np.isfinite(g)), g
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_double_where_with_a_second_input(backend):
    w = a(1.0, 2.0, 3.0, 4.0, 5.0)
    dx, dw = grad(rf.where_sqrt_times, wrt=(0, 1), backend=backend)(TRAP_X.copy(), w)
    np.testing.assert_allclose(dx, a(0.25, 0.0, 0.0, 2.0, 5.0), rtol=1e-12, atol=0)
    np.testing.assert_allclose(dw, a(2.0, 0.0, 0.0, 1.0, 0.5), rtol=1e-12, atol=0)


SCALAR_TRAPS = [
    (rf.ifexp_sqrt, {0.0: (0.0, 0.0), -1.0: (0.0, 0.0), 4.0: (2.0, 0.25)}),
    (rf.if_statement_sqrt, {0.0: (0.0, 0.0), -1.0: (0.0, 0.0), 4.0: (2.0, 0.25)}),
    (rf.ifexp_log, {0.0: (0.0, 0.0), -1.0: (0.0, 0.0), 4.0: (math.log(4.0), 0.25)}),
    (rf.ifexp_reciprocal, {0.0: (0.0, 0.0), -1.0: (-1.0, -1.0), 4.0: (0.25, -1 / 16)}),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "table"), SCALAR_TRAPS, ids=[t[0].__name__ for t in SCALAR_TRAPS])
def test_scalar_branch_trap(fn, table, backend):
    g = value_and_grad(fn, backend=backend)
    for x, (value, derivative) in table.items():
        v, d = g(x)
        assert math.isfinite(d), (x, d)
        assert v == pytest.approx(value, rel=1e-12), x
        assert d == pytest.approx(derivative, rel=1e-12), x


# -- 4. float32 ------------------------------------------------------------------------------------


def normal(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("order", ["C", "F"])
def test_float32_arrays_give_float32_gradients(order, backend):
    W, x, b = normal((3, 4), 1), normal(4, 2), normal(3, 3)
    W = np.asarray(W, order=order)
    g = grad(rf.tanh_layer, wrt=(0, 1, 2), backend=backend)
    grads64 = g(W, x, b)
    args32 = tuple(v.astype(np.float32, order=order) for v in (W, x, b))
    grads32 = g(*args32)
    for g32, g64, arg in zip(grads32, grads64, args32):
        assert isinstance(g32, np.ndarray) and g32.dtype == np.float32 and g32.shape == arg.shape
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_array_and_scalar_in_a_compiled_loop(backend):
    x = normal(6, 4)
    g = value_and_grad(rf.loop_poly, wrt=(0, 1), backend=backend)
    v64, (dx64, dc64) = g(x, 0.5)
    v32, (dx32, dc32) = g(x.astype(np.float32), np.float32(0.5))
    assert dx32.dtype == np.float32 and dx32.shape == x.shape
    assert type(dc32) is np.float32
    np.testing.assert_allclose(dx32, dx64, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(dc32, dc64, rtol=1e-4, atol=1e-6)
    assert v32 == pytest.approx(v64, rel=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_scalar_gives_float32_gradient(backend):
    g = grad(rf.scalar_poly, wrt=(0, 1), backend=backend)
    d64 = g(0.3, 0.5)
    d32 = g(np.float32(0.3), np.float32(0.5))
    assert all(type(d) is np.float32 for d in d32), [type(d) for d in d32]
    np.testing.assert_allclose(d32, d64, rtol=1e-4)
    mixed = g(np.float32(0.3), 0.5)  # each gradient has its own argument's type
    assert type(mixed[0]) is np.float32 and type(mixed[1]) is float


# -- 5. the caller's arrays are never modified -----------------------------------------------------


def snapshot(args):
    return [(v.tobytes(), v.dtype, v.shape, v.strides) if isinstance(v, np.ndarray) else v
            for v in args]


def copying(fn):
    """fn on copies of its arguments (fn itself writes into them)."""

    def call(*values):
        return fn(*(v.copy() if isinstance(v, np.ndarray) else v for v in values))

    return call


WRITERS = [
    (rf.write_first, lambda: (normal(4, 10),), (0,)),
    (rf.augassign_argument, lambda: (normal(4, 11), normal(4, 12)), (0, 1)),
    (rf.augassign_slice, lambda: (normal(5, 13),), (0,)),
    (rf.write_row, lambda: (normal((3, 3), 14), normal(3, 15)), (0, 1)),
    (rf.loop_write_argument, lambda: (normal(5, 16),), (0,)),
    (rf.loop_write_local, lambda: (normal(5, 17),), (0,)),
    (rf.loop_augassign_argument, lambda: (normal(4, 18), normal(4, 19)), (0, 1)),
    (rf.write_undifferentiated, lambda: (normal(3, 20), normal(5, 21)), (0,)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "make", "wrt"), WRITERS, ids=[w[0].__name__ for w in WRITERS])
def test_arguments_not_modified(fn, make, wrt, backend):
    args = make()
    before = snapshot(args)
    grads = grad(fn, wrt=wrt, backend=backend)(*args)
    assert snapshot(args) == before, "grad wrote into an argument"
    value, grads2 = value_and_grad(fn, wrt=wrt, backend=backend)(*args)
    assert snapshot(args) == before, "value_and_grad wrote into an argument"
    assert value == pytest.approx(copying(fn)(*args), rel=1e-12)
    expected = numerical_grad(copying(fn), *args, wrt=wrt)
    for i, (g, g2, e) in enumerate(zip(grads, grads2, expected)):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-7, err_msg=f"argument {wrt[i]}")
        np.testing.assert_array_equal(g, g2)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [rf.write_first, rf.loop_write_argument, rf.augassign_slice],
                         ids=lambda f: f.__name__)
def test_strided_view_argument_and_its_base_not_modified(fn, backend):
    base = normal(12, 30)
    before = base.tobytes()
    view = base[::2]
    g = grad(fn, backend=backend)(view)
    assert base.tobytes() == before
    np.testing.assert_allclose(g, numerical_grad(copying(fn), view.copy()), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_array_passed_twice_to_a_writing_function_not_modified(backend):
    """Refused (Python's second parameter would see the writes into the first, the
    compiled program's copy would not), and the array is left as it was."""
    x = normal(4, 31)
    before = x.tobytes()
    for fn in (rf.loop_augassign_argument, rf.augassign_argument):
        with pytest.raises(GradientInputError, match="share memory"):
            grad(fn, wrt=(0, 1), backend=backend)(x, x)
    assert x.tobytes() == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_inputs_not_modified(backend):
    x = a(NAN, INF, -0.0, 1.0)
    before = x.tobytes()
    grad(rf.write_first, backend=backend)(x)
    grad(rf.loop_write_argument, backend=backend)(x)
    assert x.tobytes() == before


# -- 6. threads ------------------------------------------------------------------------------------

THREADS = 8


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty cache directory for this test, so the first call really builds and compiles."""
    path = tmp_path / "cache"
    monkeypatch.setenv("AD_COMPILER_CACHE_DIR", str(path))
    return path


def run_at_once(function, inputs):
    """function(*args) for each args in inputs, every call in its own thread, started together."""
    barrier = threading.Barrier(len(inputs))

    def work(args):
        barrier.wait()
        return function(*args)

    with ThreadPoolExecutor(max_workers=len(inputs)) as pool:
        return list(pool.map(work, inputs))


def array_inputs(round_):
    rng = np.random.default_rng(100 + round_)
    return [(rng.normal(size=4 + i), float(rng.normal())) for i in range(THREADS)]


def scalar_inputs(round_):
    rng = np.random.default_rng(200 + round_)
    return [(float(rng.normal()), float(rng.normal())) for _ in range(THREADS)]


def mixed_inputs(round_):
    """Different argument kinds in different threads: several builds at once."""
    rng = np.random.default_rng(300 + round_)
    out = []
    for i in range(THREADS):
        x = rng.normal(size=3 + i)
        w = float(rng.normal())
        if i % 2:
            x = x.astype(np.float32)
        if i % 4 >= 2:
            w = np.float32(w)
        out.append((x, w))
    return out


THREAD_CASES = [
    (rf.threaded_loop, array_inputs),
    (rf.threaded_scalar, scalar_inputs),
    (rf.threaded_loop, mixed_inputs),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("with_value", [False, True], ids=["grad", "value_and_grad"])
@pytest.mark.parametrize(("fn", "inputs"), THREAD_CASES,
                         ids=["arrays", "scalars", "mixed-kinds"])
def test_threads_get_their_own_gradients(fresh_cache, fn, inputs, with_value, backend):
    make = value_and_grad if with_value else grad
    shared = make(fn, wrt=(0, 1), backend=backend)
    for round_ in range(4):  # round 0 compiles in 8 threads at once
        args = inputs(round_)
        results = run_at_once(shared, args)
        serial = make(fn, wrt=(0, 1), backend=backend)
        for i, (arg, got) in enumerate(zip(args, results)):
            expected = serial(*arg)
            if with_value:
                assert got[0] == expected[0], f"round {round_}, thread {i}: value"
                got, expected = got[1], expected[1]
            for g, e in zip(got, expected):
                assert type(g) is type(e), f"round {round_}, thread {i}"
                np.testing.assert_array_equal(g, e, err_msg=f"round {round_}, thread {i}")
                if isinstance(e, np.ndarray):
                    assert g.dtype == e.dtype
        if round_ == 0:  # the serial reference itself against central differences
            arg = args[0]
            g = serial(*arg)[1] if with_value else serial(*arg)
            for got, e in zip(g, numerical_grad(fn, *arg, wrt=(0, 1))):
                np.testing.assert_allclose(got, e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_threads_with_separate_gradient_objects_of_one_function(fresh_cache, backend):
    """Eight GradFunction objects of one function built at once share one module file."""
    args = array_inputs(7)
    objects = [grad(rf.threaded_loop, wrt=(0, 1), backend=backend) for _ in args]
    barrier = threading.Barrier(len(args))

    def work(i):
        barrier.wait()
        return objects[i](*args[i])

    with ThreadPoolExecutor(max_workers=len(args)) as pool:
        results = list(pool.map(work, range(len(args))))
    serial = grad(rf.threaded_loop, wrt=(0, 1), backend=backend)
    for arg, got in zip(args, results):
        for g, e in zip(got, serial(*arg)):
            np.testing.assert_array_equal(g, e)


# -- 7. the cache directory ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_cache_directory_is_created_private(tmp_path, monkeypatch, backend):
    path = tmp_path / "not" / "yet" / "cache"
    monkeypatch.setenv("AD_COMPILER_CACHE_DIR", str(path))
    old_umask = os.umask(0)  # even with a permissive umask
    try:
        g = grad(rf.cached_scalar, wrt=(0, 1), backend=backend)(0.3, 1.1)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    expected = numerical_grad(rf.cached_scalar, 0.3, 1.1, wrt=(0, 1))
    np.testing.assert_allclose(g, expected, rtol=1e-6)
    files = list(path.glob("adc_*.py")) + list(path.glob("key_*.txt"))
    assert files
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f"{f.name} is readable by others"


def test_group_writable_cache_directory_is_made_private(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    path.mkdir()
    os.chmod(path, 0o777)
    monkeypatch.setenv("AD_COMPILER_CACHE_DIR", str(path))
    grad(rf.cached_scalar, wrt=(0, 1), backend="python")(0.3, 1.1)
    assert stat.S_IMODE(path.stat().st_mode) == 0o700


# -- 7. the cache across processes -----------------------------------------------------------------

# Each job: function name, backend, arguments (lists become float64 arrays).
CACHE_JOBS = [
    ("cached_loop", "numba", [[0.3, -1.2, 0.7, 2.0], 0.4]),
    ("cached_scalar", "numba", [0.3, 1.1]),
    ("cached_vectorized", "numba", [[0.5, -2.0, 1.5], 1.7]),
    ("cached_loop", "python", [[0.3, -1.2, 0.7, 2.0], 0.4]),
]

RUNNER = r"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import numpy as np

import ad_compiler
import reliability_functions as rf
from ad_compiler import grad

assert ad_compiler.__file__.startswith(sys.argv[2]), ad_compiler.__file__
jobs = json.loads(sys.argv[3])
results = []
for name, backend, args in jobs:
    args = [np.array(v) if isinstance(v, list) else v for v in args]
    gradient = grad(getattr(rf, name), wrt=tuple(range(len(args))), backend=backend)(*args)
    results.append([np.asarray(g).tolist() for g in gradient])
sympy_imported = "sympy" in sys.modules
compiled = {}
for module_name, module in list(sys.modules.items()):
    if module_name.startswith("ad_compiler_generated."):
        for value in vars(module).values():
            stats = getattr(value, "stats", None)
            if stats is not None and hasattr(stats, "cache_hits"):
                compiled[module_name] = [sum(stats.cache_hits.values()),
                                         sum(stats.cache_misses.values())]
print(json.dumps({"results": results, "sympy": sympy_imported, "numba": compiled}))
"""


def expected_gradients(jobs):
    out = []
    for name, _, args in jobs:
        args = [np.array(v) if isinstance(v, list) else v for v in args]
        out.append(numerical_grad(getattr(rf, name), *args, wrt=tuple(range(len(args)))))
    return out


def check_results(jobs, results) -> None:
    for (name, backend, _), got, expected in zip(jobs, results, expected_gradients(jobs),
                                                 strict=True):
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            np.testing.assert_allclose(np.asarray(g), e, rtol=1e-6, atol=1e-9,
                                       err_msg=f"{name} ({backend}), argument {i}")


class Processes:
    """Fresh Python processes running RUNNER against a frozen copy of ad_compiler.

    The copy is taken once per test module: the key of a cached program includes a hash of the
    compiler's own source, so an edit to ad_compiler between a first and a second process would
    (rightly) make the second one rebuild everything, and the tests below would see a cold cache.
    """

    def __init__(self, package_root: Path, workdir: Path) -> None:
        self.package_root = package_root
        self.workdir = workdir

    def command(self, jobs) -> list[str]:
        return [sys.executable, "-c", RUNNER, str(TESTS_DIR), str(self.package_root),
                json.dumps(jobs)]

    def env(self, cache: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("NUMBA_") and k not in ("PYTHONDONTWRITEBYTECODE",
                                                           "PYTHONPATH")}
        env["PYTHONPATH"] = str(self.package_root)
        env["AD_COMPILER_CACHE_DIR"] = str(cache)
        env["OPENBLAS_NUM_THREADS"] = "1"
        return env

    def __call__(self, cache: Path, jobs=CACHE_JOBS) -> dict:
        """Compute the jobs' gradients in a fresh process using `cache`; check them."""
        proc = subprocess.run(self.command(jobs), capture_output=True, text=True,
                              env=self.env(cache), cwd=self.workdir, timeout=900)
        assert proc.returncode == 0, f"the process failed:\n{proc.stderr[-3000:]}"
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        check_results(jobs, out["results"])
        return out

    def start(self, cache: Path, jobs=CACHE_JOBS) -> subprocess.Popen:
        return subprocess.Popen(self.command(jobs), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env(cache),
                                cwd=self.workdir)


@pytest.fixture(scope="module")
def processes(tmp_path_factory) -> Processes:
    root = tmp_path_factory.mktemp("compiler")
    package = Path(ad_compiler.__file__).resolve().parent
    shutil.copytree(package, root / "ad_compiler",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return Processes(root, tmp_path_factory.mktemp("workdir"))


@pytest.fixture(scope="module")
def warm_cache(processes, tmp_path_factory):
    """A cache built by a first process, for the tests to copy and damage."""
    cache = tmp_path_factory.mktemp("warm") / "cache"
    processes(cache)
    return cache


@pytest.fixture
def cache_copy(warm_cache, tmp_path):
    """A copy of the warm cache (timestamps kept, so numba's index stays valid)."""
    path = tmp_path / "cache"
    shutil.copytree(warm_cache, path, copy_function=shutil.copy2)
    return path


def modules(cache: Path) -> list[Path]:
    found = sorted(cache.glob("adc_*.py"))
    assert found, f"no module files in {cache}"
    return found


def intact(path: Path) -> bool:
    """The module's name is the hash of its text and of the compiler (compile.py)."""
    from ad_compiler import compile as compiler

    return compiler.read_verified(path) is not None


def marker_code(marker: Path) -> str:
    return f"\nimport pathlib\npathlib.Path({str(marker)!r}).write_text('executed')\n"


def corrupt_module(path: Path, how: str, marker: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if how == "truncate-half":
        path.write_text(text[: len(text) // 2], encoding="utf-8")
    elif how == "empty":
        path.write_text("", encoding="utf-8")
    elif how == "append-marker":
        path.write_text(text + marker_code(marker), encoding="utf-8")
    elif how == "append-raise":
        path.write_text(text + "\nraise RuntimeError('a corrupt module was executed')\n",
                        encoding="utf-8")
    elif how == "marker-before-def":
        i = text.index("\ndef ")
        path.write_text(text[:i] + marker_code(marker) + text[i:], encoding="utf-8")
    elif how == "same-size":
        i = text.index("    return ")
        path.write_text(text[:i] + "    return 0.0 # " + text[i + 17:], encoding="utf-8")
        assert len(path.read_text(encoding="utf-8")) == len(text)
    elif how == "binary-garbage":
        path.write_bytes(b"\xff\xfe\x00garbage" * 10)
    else:
        raise AssertionError(how)


MODULE_CORRUPTIONS = ["truncate-half", "empty", "append-marker", "append-raise",
                      "marker-before-def", "same-size", "binary-garbage"]


@pytest.mark.parametrize("how", MODULE_CORRUPTIONS)
def test_corrupt_module_file_is_rebuilt_not_executed(processes, cache_copy, tmp_path, how):
    marker = tmp_path / "marker.txt"
    for path in modules(cache_copy):
        stamp = path.stat()
        corrupt_module(path, how, marker)
        if how == "same-size":  # also keep the timestamp: only the content betrays it
            os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        assert not intact(path)
    processes(cache_copy)
    assert not marker.exists(), "a corrupt cached module was executed"
    for path in modules(cache_copy):
        assert intact(path), f"{path.name} was not rebuilt"
    processes(cache_copy)  # and the rebuilt cache works again
    assert not marker.exists()


def test_first_build_corrupt_and_rebuild_end_to_end(processes, tmp_path):
    """The whole story in one place: build, corrupt every module, rebuild in a new process."""
    cache = tmp_path / "cache"
    marker = tmp_path / "marker.txt"
    jobs = CACHE_JOBS[:2]
    processes(cache, jobs)
    for path in modules(cache):
        corrupt_module(path, "append-marker", marker)
    processes(cache, jobs)
    assert not marker.exists()
    assert all(intact(p) for p in modules(cache))


def numba_files(cache: Path, suffix: str) -> list[Path]:
    found = sorted((cache / "__pycache__").glob(f"adc_*.{suffix}"))
    assert found, f"no numba .{suffix} files under {cache / '__pycache__'}"
    return found


@pytest.mark.parametrize("suffix", ["nbi", "nbc"])
@pytest.mark.parametrize("how", ["empty", "truncate-half", "garbage", "delete"])
def test_corrupt_numba_cache_files(processes, cache_copy, suffix, how):
    for path in numba_files(cache_copy, suffix):
        data = path.read_bytes()
        if how == "empty":
            path.write_bytes(b"")
        elif how == "truncate-half":
            path.write_bytes(data[: len(data) // 2])
        elif how == "garbage":
            path.write_bytes(bytes((b * 7 + 13) % 256 for b in data))
        else:
            path.unlink()
    processes(cache_copy)
    processes(cache_copy)  # and again, after whatever the second process rewrote


def test_generated_modules_run_verified_text_not_bytecode(processes, cache_copy, tmp_path):
    """A generated module runs the text just checked against its hash: no Python bytecode
    cache (__pycache__/adc_*.pyc) is written or read, so none can be swapped behind an intact
    header; planting one changes nothing."""
    assert not sorted((cache_copy / "__pycache__").glob("adc_*.pyc"))
    marker = tmp_path / "marker.txt"
    for module in sorted(cache_copy.glob("adc_*.py")):
        planted = cache_copy / "__pycache__" / f"{module.stem}.cpython-311.pyc"
        code = compile(module.read_text() + f"\nopen({str(marker)!r}, 'w').close()\n",
                       str(module), "exec")
        import importlib.util
        header = importlib.util.MAGIC_NUMBER + b"\x00" * 12
        planted.write_bytes(header + marshal.dumps(code))
    processes(cache_copy)
    assert not marker.exists()


@pytest.mark.parametrize("how", ["missing-module", "empty", "garbage", "unknown-digest",
                                 "corrupt-module"])
def test_key_index_pointing_to_a_missing_or_corrupt_module(processes, cache_copy, tmp_path,
                                                           how):
    keys = sorted(cache_copy.glob("key_*.txt"))
    assert len(keys) == len(CACHE_JOBS)
    marker = tmp_path / "marker.txt"
    for key in keys:
        target = cache_copy / f"adc_{key.read_text(encoding='utf-8').strip()}.py"
        if how == "missing-module":
            target.unlink()
        elif how == "empty":
            key.write_text("", encoding="utf-8")
        elif how == "garbage":
            key.write_bytes(b"\xff\x00 not a digest \n../../etc/passwd")
        elif how == "unknown-digest":
            key.write_text("0" * 32, encoding="utf-8")
        else:
            corrupt_module(target, "append-marker", marker)
    processes(cache_copy)
    assert not marker.exists()
    for key in keys:  # the index is repaired: the next process finds the programs again
        module = cache_copy / f"adc_{key.read_text(encoding='utf-8').strip()}.py"
        assert module.exists() and intact(module), f"{key.name} still points to {module.name}"
    assert not processes(cache_copy)["sympy"]


def test_processes_building_one_cold_cache_at_once(processes, tmp_path):
    """Three processes start together on an empty cache directory."""
    cache = tmp_path / "cache"
    jobs = CACHE_JOBS[:2]
    started = [processes.start(cache, jobs) for _ in range(3)]
    for proc in started:
        stdout, stderr = proc.communicate(timeout=900)
        assert proc.returncode == 0, stderr[-3000:]
        check_results(jobs, json.loads(stdout.strip().splitlines()[-1])["results"])
    assert all(intact(p) for p in modules(cache))
    assert not processes(cache, jobs)["sympy"]


# -- 8. a warm cache needs no SymPy (and no numba compilation) -------------------------------------


def test_warm_cache_does_not_import_sympy(processes, tmp_path):
    # The common derivatives ship pre-derived (issue 15): x ** 2.7's is derived by SymPy.
    jobs = CACHE_JOBS + [("cached_uncommon", "python", [1.3])]
    cache = tmp_path / "cache"
    first = processes(cache, jobs)
    assert first["sympy"], "the first process derived x ** 2.7, so it ran SymPy"
    second = processes(cache, jobs)
    assert not second["sympy"], "a second process with a warm cache imported sympy"


def test_warm_cache_does_not_compile_again(processes, cache_copy):
    out = processes(cache_copy)
    assert not out["sympy"]
    assert len(out["numba"]) == 2, out["numba"]  # cached_loop and cached_scalar under numba
    for name, (hits, misses) in out["numba"].items():
        assert misses == 0 and hits >= 1, f"{name}: numba compiled again ({hits=}, {misses=})"
