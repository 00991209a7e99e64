"""Control flow: every function of tests/control_functions.py, on both backends.

For each case: check_grad against central differences with respect to every float argument, an
independent central-difference check (Richardson-extrapolated, every argument copied for every
evaluation), agreement of the two backends, value_and_grad's value against the primal, and the
caller's arrays left unchanged. Then: which side of each branch ran (by the value), zero-trip
loops, break on the first iteration, refusals (recursion, writes through views, stale views),
and the tapes the generated loops keep.

Refused constructs are marked with a comment `# L:<name>` on the line the error must name.
"""

import inspect
import math
import re
import sys

import control_functions as cf
import numpy as np
import pytest
from gradcheck_helpers import cached, case_ids, central, copies, unreached_statements
from hypothesis import given, settings
from hypothesis import strategies as st

from ad_compiler import GradientInputError, UnsupportedSyntaxError, check_grad, grad, value_and_grad

BACKENDS = ("python", "numba")


def vec(*values):
    return np.array(values, dtype=np.float64)


def mat(rows):
    return np.array(rows, dtype=np.float64)


RNG = np.random.default_rng(7)
W3 = RNG.normal(scale=0.5, size=(3, 3))
U32 = RNG.normal(scale=0.5, size=(3, 2))
B3 = RNG.normal(scale=0.3, size=3)
H3 = RNG.normal(scale=0.5, size=3)
XS42 = RNG.normal(size=(4, 2))
A34 = RNG.normal(size=(3, 4))
X4 = vec(0.3, -0.8, 1.1, 0.5)
X5 = vec(0.5, -0.3, 1.2, 0.8, -0.6)

# (function, arguments, what the case exercises). Floats and float arrays are differentiated;
# ints are loop bounds.
CASES = [
    # branches, each side
    (cf.branch_compare, (2.0, 1.0), "if"),
    (cf.branch_compare, (-2.0, 1.0), "elif"),
    (cf.branch_compare, (0.3, 0.5), "else"),
    (cf.branch_bool_ops, (1.0, 0.5), "and true; not false"),
    (cf.branch_bool_ops, (-2.0, 0.3), "or, first operand"),
    (cf.branch_bool_ops, (-0.5, 0.8), "or, second operand; not true"),
    (cf.branch_bool_ops, (-0.5, 0.3), "else; not true"),
    (cf.branch_bool_ops, (1.0, -0.5), "and false; else"),
    (cf.branch_nested3, (1.0, 2.0, 0.5), "+++"),
    (cf.branch_nested3, (1.0, 2.0, -0.5), "++-"),
    (cf.branch_nested3, (1.0, -2.0, 1.5), "+-, z > x"),
    (cf.branch_nested3, (1.0, -2.0, 0.5), "+-, z <= x"),
    (cf.branch_nested3, (-0.5, 1.0, 0.2), "-, y > z, x + y > 0"),
    (cf.branch_nested3, (-2.0, 1.0, 0.5), "-, y > z, x + y <= 0"),
    (cf.branch_nested3, (-1.0, 0.2, 0.7), "-, y <= z"),
    (cf.branch_on_array, (vec(2.0, 0.5, 0.1), 0.7), "x0 > x1, sum > 1"),
    (cf.branch_on_array, (vec(0.1, 0.3, -0.2), 0.7), "x0 <= x1, sum <= 1"),
    (cf.branch_merges_arrays, (X4, 0.8), "c > 0"),
    (cf.branch_merges_arrays, (X4, -0.6), "c <= 0"),
    # range loops
    (cf.range_bounds, (0.7, 0, 5, 1), "range(0, 5)"),
    (cf.range_bounds, (0.7, 2, 9, 3), "step 3"),
    (cf.range_bounds, (0.7, 5, 2, 1), "zero-trip, stop < start"),
    (cf.range_bounds, (0.7, 3, 3, 1), "zero-trip, stop == start"),
    (cf.range_bounds, (0.7, 6, -2, -2), "step -2"),
    (cf.range_bounds, (0.7, -1, -4, -1), "negative bounds, step -1"),
    (cf.range_bounds, (0.7, 1, 5, -1), "zero-trip, negative step"),
    (cf.range_expressions, (0.6, 3), "expression bounds"),
    (cf.range_expressions, (0.6, 0), "expression bounds, one trip each"),
    (cf.range_expressions, (0.6, 1), "expression bounds, n = 1"),
    (cf.range_negative_step, (X5,), "steps -1, -2"),
    (cf.range_negative_step, (vec(0.4),), "second loop zero-trip"),
    (cf.range_negative_step, (vec(0.4, -1.3),), "one trip each"),
    (cf.range_zero_trip, (0.4, 0), "zero-trip"),
    (cf.range_zero_trip, (0.4, 1), "one trip"),
    (cf.range_zero_trip, (0.4, 5), "five trips"),
    # for over arrays, enumerate, zip
    (cf.iterate_vector, (X4,), "for v in x"),
    (cf.iterate_vector, (np.zeros(0),), "for v in an empty array"),
    (cf.iterate_rows, (A34.T.copy(), vec(0.4, -0.3, 0.2)), "for row in A"),
    (cf.iterate_rows, (np.zeros((0, 3)), vec(0.4, -0.3, 0.2)), "no rows"),
    (cf.iterate_enumerate, (X5,), "enumerate"),
    (cf.iterate_zip, (X5, X4), "zip, unequal lengths"),
    (cf.iterate_zip_rows, (A34, vec(0.7, -0.2)), "zip rows and entries"),
    (cf.iterate_enumerate_rows, (A34,), "enumerate rows"),
    # nested loops
    (cf.nested_matvec, (A34, X4), "2 deep"),
    (cf.nested_triangular, (X5,), "2 deep, triangular"),
    (cf.nested_three, (0.3, 3), "3 deep"),
    (cf.nested_three, (0.3, 0), "3 deep, zero-trip"),
    (cf.nested_while_in_for, (vec(0.5, 5.0, 2.0),), "while in for"),
    # while
    (cf.while_counted, (2.0,), "counted while"),
    (cf.while_on_value, (1.0,), "while on a value"),
    (cf.while_on_value, (12.0,), "while, zero trips"),
    (cf.while_two_carried, (0.5, 0.3), "while, two carried"),
    (cf.while_two_carried, (3.0, 2.5), "while, two carried, zero trips"),
    # break, continue, return
    (cf.break_at_threshold, (X5, 1.0), "break at the third entry"),
    (cf.break_at_threshold, (X5, 0.2), "break on the first iteration"),
    (cf.break_at_threshold, (X5, 2.0), "no break"),
    (cf.break_nested, (mat([[0.5, 1.0, -0.2, 0.3], [-0.1, 2.0, 0.4, 0.1],
                            [0.2, 0.3, 0.4, 0.5]]),), "inner break"),
    (cf.break_outer_flag, (vec(0.5, 1.0, 1.5),), "break both loops"),
    (cf.break_outer_flag, (vec(0.1, 0.2),), "no break"),
    (cf.while_break, (1.2,), "while True, break after 3"),
    (cf.while_break, (2.0,), "while True, break at once"),
    (cf.continue_skip, (X5,), "continue"),
    (cf.early_returns, (-2.0, 0.5), "first return"),
    (cf.early_returns, (2.0, 0.8), "second return"),
    (cf.early_returns, (0.5, -0.6), "third return"),
    (cf.early_returns, (0.5, 0.6), "last return"),
    (cf.return_in_loop, (vec(0.3, 0.4, 0.5), 1.0), "return in iteration 2"),
    (cf.return_in_loop, (vec(0.3, 0.4, 0.5), 0.3), "return in iteration 1"),
    (cf.return_in_loop, (vec(0.3, 0.4, 0.5), 5.0), "return after the loop"),
    (cf.return_in_nested_loop, (mat([[0.5, 0.2, 0.9], [0.4, 0.7, 0.3]]), 1.2),
     "return from the inner loop"),
    (cf.return_in_nested_loop, (mat([[0.5, 0.2, 0.9], [0.4, 0.7, 0.3]]), 3.0),
     "return after both loops"),
    (cf.return_in_while, (0.3,), "return in while"),
    (cf.return_in_while, (-0.5,), "while runs out"),
    (cf.for_else, (vec(0.5, 0.7, 0.2), 1.0), "for/else, break"),
    (cf.for_else, (vec(0.5, 0.7, 0.2), 3.0), "for/else, else"),
    # loop-carried values
    (cf.rnn, (W3, U32, B3, H3, XS42), "RNN over rows"),
    (cf.rnn_steps, (W3, B3, H3, 5), "RNN, 5 steps"),
    (cf.rnn_steps, (W3, B3, H3, 0), "RNN, zero steps"),
    (cf.fibonacci_like, (0.6, 0.4, 5), "swap"),
    (cf.fibonacci_like, (0.6, 0.4, 0), "swap, zero trips"),
    (cf.carried_array, (X4, 4), "carried array"),
    (cf.euler_oscillator, (1.0, 0.0, 2.0, 0.3, 50), "Euler"),
    (cf.rosenbrock_loop, (X5,), "Rosenbrock"),
    # writes into arrays the function creates
    (cf.write_elements, (X5,), "y[i] ="),
    (cf.write_accumulate, (X5,), "y[i] +="),
    (cf.write_2d, (vec(0.3, -0.7, 1.1),), "A[i, j] ="),
    (cf.write_slices, (vec(0.3, -0.7, 1.1),), "y[a:b] ="),
    (cf.write_open_slices, (X4,), "y[a:] =, y[:b] +="),
    (cf.write_columns, (A34, vec(0.5, -1.5, 2.0, 0.3)), "B[:, j] ="),
    (cf.write_rows, (A34,), "B[i] = f(B[i - 1])"),
    (cf.overwrite_after_read, (X4,), "overwrite what was read"),
    (cf.recurrence, (X5, 0.7), "linear recurrence"),
    (cf.recurrence_nonlinear, (X5,), "nonlinear recurrence"),
    (cf.smoothing_sweeps, (X5, 3), "Gauss-Seidel sweeps"),
    (cf.write_then_overwrite_whole, (X4,), "overwrite everything"),
    # loop indices in arithmetic
    (cf.index_arithmetic, (X5,), "x[i] * i, (i + 1) ** 2"),
    (cf.index_as_float, (0.8, 4), "sin(x * i) / i"),
    # helpers
    (cf.helper_in_loop, (X5, 0.9), "helper in a loop"),
    (cf.helper_in_branch, (2.0, 1.0), "then, helper's first return"),
    (cf.helper_in_branch, (0.5, 0.2), "then, helper's last return"),
    (cf.helper_in_branch, (2.0, -1.5), "then, helper's second return"),
    (cf.helper_in_branch, (-2.0, 1.0), "else, helper's first return"),
    (cf.helper_in_branch, (-2.0, -1.0), "else, helper's second return"),
    (cf.helper_in_branch, (0.1, 0.3), "else, helper's last return"),
    (cf.helper_loops, (vec(0.5, -1.0, 0.3), X4), "looping helper in a loop"),
    (cf.helper_loops_in_branch, (X4, vec(1.0, 0.2, -0.4, 0.6), 0.5), "looping helper, then"),
    (cf.helper_loops_in_branch, (X4, vec(1.0, 0.2, -0.4, 0.6), -0.5), "looping helper, else"),
    # writes into arguments
    (cf.write_argument, (X4,), "x[0] = ..."),
    (cf.write_argument_constant, (X4,), "x[0] = constant"),
    (cf.write_argument_loop, (X4,), "in-place running update"),
    (cf.write_argument_2d, (A34[:, :3].copy(), 0.6), "A[i, i] +=, A[:, 0] ="),
    (cf.write_two_arguments, (X4, vec(0.2, 0.9, -0.4, 1.3)), "two arguments"),
    # loops without tapes
    (cf.inactive_loop, (0.7, 0.3, 4), "loop depends on c"),
    (cf.inactive_array_loop, (X4, 2), "inactive array loop"),
    (cf.linear_accumulation, (X4, vec(1.0, 0.2, -0.4, 0.6)), "linear"),
    (cf.nested_fixed_bounds, (X5, 3), "nested loop, array tape"),
    (cf.nested_fixed_bounds, (X5, 0), "nested loop, zero-trip outer"),
    (cf.nested_inner_break, (X4, 1.5), "nested loop with break, list tape"),
    (cf.nested_inner_break, (X4, 0.5), "break on the first iteration"),
    (cf.nested_increments, (X4, vec(0.5, -0.3, 0.8)), "increments in a nested loop"),
    (cf.not_increments, (X4, vec(0.5, -0.3)), "stores that are not increments"),
    (cf.triangle_counter, (X5,), "counter through a triangular loop"),
    (cf.shape_from_int_array, (0.4,), "float array shaped like an int one"),
    (cf.store_into_int_array, (vec(0.3, 0.5, 0.7),), "store into an int array"),
    (cf.store_into_int_like, (vec(0.3, -0.7, 0.9),), "store into np.full_like(int array)"),
    (cf.strided_loop, (vec(0.3, -0.8, 1.1), 7), "strided loop, index replayed"),
    (cf.guarded_inner_bound, (X4, 2), "inner loop under an if"),
    (cf.guarded_inner_bound, (X4, 0), "inner loop's bound guarded"),
]


IDS = case_ids(CASES)


def is_float_arg(a):
    return isinstance(a, float) or (isinstance(a, np.ndarray) and a.dtype == np.float64)


def float_positions(args):
    return tuple(i for i, a in enumerate(args) if is_float_arg(a))


def primal(fn, args):
    """The function's value, on copies (functions that write into arguments modify them)."""
    return fn(*copies(args))


# -- every function, both backends ---------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args", "what"), CASES, ids=IDS)
def test_check_grad(fn, args, what, backend):
    args = copies(args)
    check_grad(fn, *args, wrt=float_positions(args), backend=backend, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args", "what"), CASES, ids=IDS)
def test_gradient_matches_central_differences(fn, args, what, backend):
    wrt = float_positions(args)
    mine = copies(args)
    grads = cached(fn, wrt, backend)(*mine)
    for a, b in zip(mine, args):
        np.testing.assert_array_equal(a, b, err_msg="grad modified the caller's argument")
    assert isinstance(grads, tuple) and len(grads) == len(wrt)
    for pos, g in zip(wrt, grads):
        expected = central(fn, args, pos)
        if isinstance(args[pos], np.ndarray):
            assert isinstance(g, np.ndarray) and g.shape == args[pos].shape
            assert g.dtype == np.float64
        else:
            assert type(g) is float
        np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-7,
                                   err_msg=f"d/d{fn.__code__.co_varnames[pos]}")


@pytest.mark.parametrize(("fn", "args", "what"), CASES, ids=IDS)
def test_backends_agree(fn, args, what):
    wrt = float_positions(args)
    python = cached(fn, wrt, "python")(*copies(args))
    numba = cached(fn, wrt, "numba")(*copies(args))
    for p, n in zip(python, numba):
        np.testing.assert_allclose(n, p, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args", "what"), CASES, ids=IDS)
def test_value_and_grad(fn, args, what, backend):
    wrt = float_positions(args)
    mine = copies(args)
    value, grads = cached(fn, wrt, backend, with_value=True)(*mine)
    for a, b in zip(mine, args):
        np.testing.assert_array_equal(a, b, err_msg="value_and_grad modified the caller's "
                                      "argument")
    assert type(value) is float
    assert value == pytest.approx(primal(fn, args), rel=1e-12, abs=1e-14)
    for g, h in zip(grads, cached(fn, wrt, backend)(*copies(args))):
        np.testing.assert_allclose(g, h, rtol=1e-12, atol=1e-14)


def test_every_statement_is_reached():
    """The table runs every statement of control_functions.py: both sides of every if,
    every loop body, every return."""

    def run():
        for fn, args, _ in CASES:
            primal(fn, args)

    assert unreached_statements(cf.__file__, run) == []


# -- which side ran, zero trips, break on the first iteration ------------------------------------

# (function, arguments, expected value, expected gradient w.r.t. every float argument): the
# value says which branch ran; the gradient is that branch's derivative, by hand.
SIDES = [
    (cf.branch_compare, (2.0, 1.0), 3.0, (4.0, -1.0)),
    (cf.branch_compare, (-2.0, 1.0), -5.0, (3.0, 2.0)),
    (cf.branch_compare, (0.3, 0.5), 1.15, (0.5, 0.3)),
    (cf.branch_bool_ops, (1.0, 0.5), 0.5, (0.5, 1.0)),
    (cf.branch_bool_ops, (-2.0, 0.3), -2.6 + math.sin(0.3), (1.0, -2.0 + math.cos(0.3))),
    (cf.branch_bool_ops, (-0.5, 0.8), -2.1 + math.sin(0.8), (1.0, -2.0 + math.cos(0.8))),
    (cf.branch_bool_ops, (-0.5, 0.3), math.exp(-0.5) + math.sin(0.3),
     (math.exp(-0.5), math.cos(0.3))),
    (cf.branch_bool_ops, (1.0, -0.5), math.e, (math.e, 0.0)),
    (cf.branch_nested3, (1.0, 2.0, 0.5), 1.0, (1.0, 0.5, 2.0)),
    (cf.branch_nested3, (1.0, 2.0, -0.5), 2.5, (2.0, 1.0, -1.0)),
    (cf.branch_nested3, (1.0, -2.0, 1.5), -2.0, (1.0, 1.5, -2.0)),
    (cf.branch_nested3, (1.0, -2.0, 0.5), -1.0, (2.0, 1.0, 0.0)),
    (cf.branch_nested3, (-0.5, 1.0, 0.2), 1.5, (-1.0, 2.0, 0.0)),
    (cf.branch_nested3, (-2.0, 1.0, 0.5), math.exp(-2.0) * 0.5,
     (math.exp(-2.0) * 0.5, 0.0, math.exp(-2.0))),
    (cf.branch_nested3, (-1.0, 0.2, 0.7), 0.9, (-0.7, 1.0, 1.0)),
    (cf.early_returns, (-2.0, 0.5), 1.0, (-0.5, 2.0)),
    (cf.early_returns, (2.0, 0.8), math.log(1.6), (0.5, 1.25)),
    (cf.early_returns, (0.5, -0.6), 0.09, (2 * 0.09 / 0.5, 2 * 0.09 / -0.6)),
    (cf.early_returns, (0.5, 0.6), 0.8, (1.6, 0.5)),
    (cf.helper_in_branch, (0.5, 0.2), 0.1, (0.2, 0.5)),
    (cf.helper_loops_in_branch, (vec(1.0, 2.0), vec(3.0, -1.0), 0.5), 0.5,
     (vec(1.5, -0.5), vec(0.5, 1.0), 1.0)),
    (cf.helper_loops_in_branch, (vec(1.0, 2.0), vec(3.0, -1.0), -0.5), 5.5,
     (vec(2.0, 4.0), vec(0.0, 0.0), -1.0)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args", "value", "expected"), SIDES,
                         ids=case_ids(SIDES))
def test_branch_side_by_value(fn, args, value, expected, backend):
    assert primal(fn, args) == pytest.approx(value, rel=1e-12, abs=1e-14)
    wrt = float_positions(args)
    got_value, grads = cached(fn, wrt, backend, with_value=True)(*copies(args))
    assert got_value == pytest.approx(value, rel=1e-12, abs=1e-14)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_trip_loops(backend):
    # range(5, 2) and range(1, 5, -1) never run: s = x, ds/dx = 1
    g = value_and_grad(cf.range_bounds, wrt="x", backend=backend)
    for bounds in ((5, 2, 1), (3, 3, 1), (1, 5, -1), (-3, -1, -1)):
        assert g(0.7, *bounds) == (0.7, 1.0)
    # n = 0: the result is the initial value 3x
    assert value_and_grad(cf.range_zero_trip, backend=backend)(0.4, 0) == (
        pytest.approx(0.8, rel=1e-15), 2.0)
    # no steps of the RNN: sum(h0), gradient ones for h0 and zeros for W and b
    value, (dW, db, dh) = value_and_grad(cf.rnn_steps, wrt=(0, 1, 2), backend=backend)(
        W3, B3, H3, 0)
    assert value == pytest.approx(np.sum(H3), rel=1e-14)
    np.testing.assert_array_equal(dW, np.zeros((3, 3)))
    np.testing.assert_array_equal(db, np.zeros(3))
    np.testing.assert_array_equal(dh, np.ones(3))
    # an empty array to loop over: p = 1, gradient empty
    value, dx = value_and_grad(cf.iterate_vector, backend=backend)(np.zeros(0))
    assert value == 1.0 and dx.shape == (0,)
    # three nested loops, outer zero-trip
    assert value_and_grad(cf.nested_three, backend=backend)(0.3, 0) == (0.0, 0.0)
    # while with zero trips: x * (0 + 1)
    assert value_and_grad(cf.while_on_value, backend=backend)(12.0) == (12.0, 1.0)
    # int bound changing: a polynomial of growing degree
    g = grad(cf.fibonacci_like, wrt=(0, 1), backend=backend)
    assert g(0.6, 0.4, 0) == (0.4, 0.6)  # a * b = x * y


def range_bounds_by_hand(x, start, stop, step):
    """range_bounds and its derivative, by forward mode: s' = s' x + s."""
    s, ds = x, 1.0
    for i in range(start, stop, step):
        s, ds = s * x + i * 0.5, ds * x + s
    return s, ds


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=60, deadline=None)
@given(start=st.integers(-7, 7), stop=st.integers(-7, 7),
       step=st.integers(-3, 3).filter(lambda k: k != 0))
def test_range_bounds_any_start_stop_step(backend, start, stop, step):
    """Every range: empty, one trip, several, positive and negative steps."""
    value, dx = cached(cf.range_bounds, 0, backend, with_value=True)(0.7, start, stop, step)
    expected_value, expected_dx = range_bounds_by_hand(0.7, start, stop, step)
    assert value == pytest.approx(expected_value, rel=1e-13, abs=1e-15)
    assert dx == pytest.approx(expected_dx, rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_break_on_first_iteration(backend):
    x = X5.copy()
    # x[0] = 0.5 > t = 0.2: the loop breaks before adding anything; result t, gradient (0, 1)
    value, (dx, dt) = value_and_grad(cf.break_at_threshold, wrt=(0, 1), backend=backend)(x, 0.2)
    assert value == 0.2
    np.testing.assert_array_equal(dx, np.zeros(5))
    assert dt == 1.0
    # breaks at the third entry: sum of the first two squares
    value, (dx, dt) = value_and_grad(cf.break_at_threshold, wrt=(0, 1), backend=backend)(x, 1.0)
    assert value == pytest.approx(0.25 + 0.09 + 1.0, rel=1e-14)
    np.testing.assert_allclose(dx, [1.0, -0.6, 0.0, 0.0, 0.0], rtol=1e-14)
    # while True breaking at once: y = x^2 + 0.1, dy/dx = 2x
    assert value_and_grad(cf.while_break, backend=backend)(2.0) == (
        pytest.approx(4.1, rel=1e-14), pytest.approx(4.0, rel=1e-14))
    # return in the first iteration: (2 x0)^2, gradient 8 x0 on x[0] only
    value, (dx, dt) = value_and_grad(cf.return_in_loop, wrt=(0, 1), backend=backend)(
        vec(0.3, 0.4, 0.5), 0.3)
    assert value == pytest.approx(0.36, rel=1e-14)
    np.testing.assert_allclose(dx, [2.4, 0.0, 0.0], rtol=1e-14)
    assert dt == 0.0
    # inner break on the first iteration of row 2 (A[1, 0] < 0): row 2 adds nothing
    A = mat([[0.5, 1.0, -0.2, 0.3], [-0.1, 2.0, 0.4, 0.1], [0.2, 0.3, 0.4, 0.5]])
    dA = grad(cf.break_nested, backend=backend)(A)
    np.testing.assert_array_equal(dA[1], np.zeros(4))
    np.testing.assert_array_equal(dA[0, 2:], np.zeros(2))
    np.testing.assert_allclose(dA[2], 0.9 * np.arange(1, 5), rtol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_write_argument_leaves_caller_array(backend):
    """grad works on a copy of an argument the function writes into."""
    for fn, args in [(cf.write_argument, (X4,)), (cf.write_argument_constant, (X4,)),
                     (cf.write_argument_loop, (X4,)),
                     (cf.write_argument_2d, (A34[:, :3].copy(), 0.6))]:
        mine = copies(args)
        wrt = float_positions(args)
        grad(fn, wrt=wrt, backend=backend)(*mine)
        value_and_grad(fn, wrt=wrt, backend=backend)(*mine)
        for a, b in zip(mine, args):
            np.testing.assert_array_equal(a, b, err_msg=fn.__name__)


@pytest.mark.parametrize("backend", BACKENDS)
def test_write_argument_same_array_twice(backend):
    """f(x, x) where f writes into its first parameter: Python's y would see the write, the
    compiled program's copy of x keeps it from y, so the call is refused (naming both and the
    line of the write); with a copy the value is Python's."""
    x = X4.copy()
    g = value_and_grad(cf.write_two_arguments, wrt=(0, 1), backend=backend)
    with pytest.raises(GradientInputError, match=r"x and y share memory.*control_functions"):
        g(x, x)
    np.testing.assert_array_equal(x, X4)
    value, _ = g(x.copy(), x)
    assert value == pytest.approx(cf.write_two_arguments(x.copy(), x), rel=1e-14)


# -- refusals -----------------------------------------------------------------------------------


def line_of(marker: str) -> int:
    """The line number of the one line of this file marked `# L:<marker>`."""
    lines = inspect.getsource(sys.modules[__name__]).splitlines()
    pattern = re.compile(rf"# L:{re.escape(marker)}$")
    found = [i + 1 for i, line in enumerate(lines) if pattern.search(line)]
    assert len(found) == 1, f"marker {marker!r} found on lines {found}"
    return found[0]


def recursive_power(x, n):
    if n <= 0:
        return 1.0
    return x * recursive_power(x, n - 1)  # L:recursion


def calls_recursive(x):
    s = 0.0
    for i in range(3):
        s += recursive_power(x, i)
    return s


def ping(x, n):
    if n <= 0:
        return x
    return pong(x * 0.5, n - 1)


def pong(x, n):
    return ping(math.sin(x), n)  # L:mutual-recursion


def write_through_row_view(x):
    A = np.outer(x, x)
    r = A[0]
    r[1] = 5.0  # L:view-row
    return np.sum(A)


def write_through_slice_view(x):
    y = x * 2.0
    r = y[1:3]
    for i in range(2):
        r[i] = r[i] * x[0]  # L:view-slice
    return np.sum(y)


def write_through_transpose(A):
    B = A * 1.0
    T = B.T
    T[0, 1] = 2.0  # L:view-transpose
    return np.sum(B * B)


def read_stale_view(x):
    y = x * 2.0
    r = y[0:2]
    y[0] = 5.0
    return np.sum(r * r)  # L:stale-view


def read_stale_view_in_loop(x):
    y = x * 1.0
    r = y[1:3]
    s = 0.0
    for i in range(len(y)):
        y[i] = y[i] * 0.5
        s += r[0] * x[i]  # L:stale-view-loop
    return s


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args", "marker"), [
    (recursive_power, (0.7, 3), "recursion"),
    (calls_recursive, (0.7,), "recursion"),
    (ping, (0.7, 3), "mutual-recursion"),
])
def test_recursion_refused(fn, args, marker, backend):
    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(fn, backend=backend)(*args)
    message = str(info.value)
    assert "recursi" in message
    assert info.value.lineno == line_of(marker), message
    assert f":{line_of(marker)}:" in message


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args", "marker"), [
    (write_through_row_view, (X4,), "view-row"),
    (write_through_slice_view, (X4,), "view-slice"),
    (write_through_transpose, (A34,), "view-transpose"),
])
def test_write_through_view_refused(fn, args, marker, backend):
    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(fn, backend=backend)(*copies(args))
    message = str(info.value)
    assert "view" in message
    assert ".copy()" in message
    assert info.value.lineno == line_of(marker), message


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "marker"), [
    (read_stale_view, "stale-view"),
    (read_stale_view_in_loop, "stale-view-loop"),
])
def test_stale_view_refused(fn, marker, backend):
    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(fn, backend=backend)(X4.copy())
    message = str(info.value)
    assert ".copy()" in message
    assert info.value.lineno == line_of(marker), message


# -- tapes: only what the reverse sweep needs ------------------------------------------------------


def tapes_in(source: str) -> set[str]:
    return set(re.findall(r"\b\w*_tape\w*\b", source))


@pytest.mark.parametrize("backend", BACKENDS)
def test_rosenbrock_loop_needs_no_tape(backend):
    """Every value of an iteration is recomputed from x and i: nothing to tape."""
    source = grad(cf.rosenbrock_loop, backend=backend).source_for(X5)
    assert "_tape" not in source
    assert ".append(" not in source


@pytest.mark.parametrize("backend", BACKENDS)
def test_euler_tapes_exactly_the_two_carried_values(backend):
    g = grad(cf.euler_oscillator, wrt=(0, 1, 2, 3), backend=backend)
    source = g.source_for(1.0, 0.0, 2.0, 0.3, 50)
    tapes = tapes_in(source)
    assert len(tapes) == 2, sorted(tapes)
    assert {t.split("_tape")[0] for t in tapes} == {"x", "v"}, sorted(tapes)
    assert ".append(" not in source  # top-level range loop: preallocated arrays


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args", "wrt"), [
    (cf.inactive_loop, (0.7, 0.3, 4), "x"),
    (cf.inactive_array_loop, (X4, 2), "x"),
    (cf.linear_accumulation, (X4, vec(1.0, 0.2, -0.4, 0.6)), ("x", "w")),
])
def test_loops_without_tapes(fn, args, wrt, backend):
    """Loops that do not depend on differentiated arguments, or whose reverse reads only the
    arguments, keep no tape."""
    source = grad(fn, wrt=wrt, backend=backend).source_for(*args)
    assert "_tape" not in source, source
    assert ".append(" not in source, source


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_loop_with_fixed_bounds_tapes_into_an_array(backend):
    source = grad(cf.nested_fixed_bounds, backend=backend).source_for(X5, 3)
    assert "p_tape = np.empty(len(range(m)) * len(range(1, x.shape[0], 2)), dtype=np.float64)" \
        in source, source
    assert ".append(" not in source and ".pop()" not in source, source


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_loop_with_break_tapes_into_a_list(backend):
    source = grad(cf.nested_inner_break, backend=backend).source_for(X4, 1.5)
    assert ".append(p" in source and ".pop()" in source, source


@pytest.mark.parametrize("backend", BACKENDS)
def test_increment_leaves_the_adjoint_in_place(backend):
    source = grad(cf.nested_increments, backend=backend).source_for(X4, vec(0.5, -0.3, 0.8))
    assert not re.search(r"y_bar\[\w+\] = 0\.0", source), source
    source = grad(cf.not_increments, backend=backend).source_for(X4, vec(0.5, -0.3))
    assert re.search(r"y_bar\[\w+\] = 0\.0", source), source


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_tape_is_read(backend):
    """A counter through a triangular nested loop (as in GMM's packed L factor): the reverse
    sweep recomputes it from the tape of the outer loop, so its other tapes must go."""
    source = grad(cf.triangle_counter, backend=backend).source_for(X5)
    tapes = re.findall(r"(\w+_tape\w*) = (?:\[\]|np\.empty)", source)
    # (issue 15: the counter is recomputed from the loop bounds, loop_running.py: no tape)
    assert "li_run" in source and "li_tape" not in source, source
    for tape in tapes:
        assert re.search(rf"= {tape}(?:\.pop\(\)|\[)", source), (tape, source)
    # and no stack position is left behind by a tape that was dropped
    assert set(re.findall(r"(\w+_tape\w*?)_top\b", source)) <= set(tapes), source


@pytest.mark.parametrize("backend", BACKENDS)
def test_inner_loop_under_an_if_tapes_into_a_list(backend):
    """It may run in a few outer iterations only: an array sized for all of them could be huge."""
    source = grad(cf.guarded_inner_bound, backend=backend).source_for(X4, 2)
    assert ".append(t)" in source and "_top" not in source, source


def test_exact_values_of_the_review_cases():
    """Values worked by hand: d/ds (3s)^2 = 18 s; the int array passes no gradient."""
    assert grad(cf.shape_from_int_array)(0.4) == pytest.approx(7.2, rel=1e-12)
    np.testing.assert_array_equal(grad(cf.store_into_int_array)(vec(0.3, 0.5, 0.7)),
                                  np.ones(3))
    np.testing.assert_array_equal(grad(cf.store_into_int_like)(vec(0.3, -0.7, 0.9)),
                                  vec(0.0, 1.0, 0.0))
