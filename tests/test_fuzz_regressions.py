"""Failures found by the program fuzzer (tests/test_fuzz.py), minimized, as plain tests.

Each function is the smallest program found to show one failure, written out as ordinary code,
with a comment saying what the fuzzer's program was and what goes wrong. Each is checked with
check_grad (central differences) on both backends. A test that fails here points at a compiler
bug, not at the test: the functions are plain Python/NumPy, away from kinks, and the expected
gradient is given in the comment.
"""

import math

import numpy as np
import pytest

from ad_compiler import check_grad, value_and_grad

BACKENDS = ("python", "numba")


# 1. Refused: "this reads y a view of y_2 ..., but y_2 was written in place since".
# An array updated in place as a whole (`y += x`) and by element (`y[0] = ...`) in one loop.
# Fuzzer program: `for i1 in range(0): x3 += x3; x3[0, 0] = 0.5` (a zero-trip loop over an
# argument). Expected gradient at x = [0.3, -0.7]: d/dx sum(y * x) with y = [0.5, 2 x1].
def inplace_whole_then_element_in_loop(x):
    y = np.zeros(2)
    for _i in range(2):
        y += x
        y[0] = 0.5
    return np.sum(y * x)


# 1b. The same refusal without the augmented assignment (found while minimizing 1): an element
# write, then the name rebound to a new array, in a loop.
def element_write_then_rebind_in_loop(x):
    y = np.zeros(2)
    for _i in range(2):
        y[0] = 0.5
        y = y + x
    return np.sum(y * x)


# 2. Wrong gradient: `x[1:] * 1.0` (a copy) is treated as the view x[1:], so the reverse sweep
# reads the value written into x afterwards. Fuzzer program: `x1 = x2[:, 0] * 1.0;
# x2[-2, :] *= x1[-4]`. Expected gradient at x = [0.3, -0.7]: [0, 2 * -0.7] = [0, -1.4];
# ad_compiler gives [0, 6.0] (2 * the value written). `+ 0.0` does the same; `* 2.0` is fine.
def copy_of_slice_then_write(x):
    c = x[1:] * 1.0
    x[1] = 3.0
    return np.sum(c ** 2)


# 2b. The same on an array the function made.
def copy_of_slice_then_write_local(x):
    y = np.sin(x)
    c = y[1:] * 1.0
    y[1] = 3.0
    return np.sum(c ** 2)


# 3. Wrong gradient: the self-assignment `y[:] = y` (a no-op) zeroes the gradient through y.
# Fuzzer program: `x1[:] = x1` in a branch. Expected gradient at x = [0.3, -0.7]:
# 8 x = [2.4, -5.6]; ad_compiler gives [0, 0].
def self_assignment_of_whole_array(x):
    y = x * 2.0
    y[:] = y
    return np.sum(y ** 2)


# 4. NonScalarOutputError "f() returns a value of unknown shape": a helper that copies its
# parameter into a local, called with an expression. Fuzzer program: `def helper1(a0, a1):
# t2 = a0; return (a0 + a0) ** 2.0` called as `helper1(1.0 + x0, x2)`. Expected gradient at
# x = 0.4: d/dx (2x)^2 = 8x = 3.2.
def _square_of_parameter(a):
    unused = a  # noqa: F841
    return a * a


def helper_copies_parameter(x):
    return _square_of_parameter(2.0 * x)


# 5. Refused: "this reads a_1 a view of y ..., but y was written in place since". a only ever
# holds x or a new array; `z = y if c > 0.0 else x` puts y and x in one alias class, and then a
# read of a after the write into y is taken for a stale view. Fuzzer program: tuple assignments
# of arguments and `y1[2:4] += (y1[:] if ... else x2[::-1])[::2]` in a loop. Expected gradient
# at x = [0.3, -0.7], c = 0.5: y[0] = 2 sum(x) after the loop, so 8 sum(x) = -3.2 per entry.
def conditional_alias_in_loop(x, c):
    a = x
    y = np.zeros(2)
    for _i in range(2):
        s = np.sum(a)
        a = x * 2.0
        z = y if c > 0.0 else x  # noqa: F841
        y[0] = s
    return np.sum(y ** 2)


# 6. Refused: "the loop condition computes a value the result depends on": a while condition
# that calls a helper which writes into an array of its own. The result depends on the
# condition only through the trip count. Fuzzer program: `while k7 < 2 and (helper0(...) <= -1.0
# and ...)` with helper0 looping `y0[:] += ...`. Expected gradient at x = [0.3, -0.7]: the loop
# runs twice (x[0] + 1 < 5), s = 2 x[1], so [0, 2].
def _first_plus_one(a):
    y = np.ones(2)
    y[0] += a[0]
    return y[0]


def while_condition_calls_writing_helper(x):
    k = 0
    s = 0.0
    while k < 2 and _first_plus_one(x) < 5.0:
        k += 1
        s = s + x[1]
    return s


# 7. numba only: CompilationError "Cannot infer the type of variable 's_tape', have imprecise
# type: list(undefined)". A return that is always taken (a constant condition) before a loop
# whose reverse needs a tape: the tape list is created at function entry, the appends are
# removed with the unreachable loop, and numba cannot type an empty list. Fuzzer program: a
# main function starting `if 2.0 * 0.5 <= 2.0: return 1.0` before a call to a helper with a
# `while True` loop around `while s2 < 1.0: ... h0 = h0[::-1] ** 2`. Expected gradient: 1.0
# (the python backend gets it right).
def unreachable_taped_loop(x):
    if 1.0 < 2.0:
        return x
    s = x
    while s < 3.0:
        s = math.exp(s)
    return s


# 8. TypeError "'float' object is not subscriptable" in the generated code. The adjoint of a sum
# of an elementwise result is left as the scalar g (broadcasting spreads it later), but x % c
# passes g on unchanged, so an indexing adjoint further back (np.array([...]) -> t_bar[1])
# received a float. Fuzzer program: `np.sum(helper(np.array([-0.5, np.min(a1), a1[0]]) % 2.0))`
# with helpers nested. Expected gradient at x = [0.3, -0.7, 0.9]: [1, 1, 0] (x[0] through
# h[2], the minimum x[1] through h[1]).
def sum_of_mod_of_stacked_array(x):
    h = np.array([-0.5, np.min(x), x[0]]) % 2.0
    return np.sum(h)


# 8b. The same crash through other operations whose local gradient is a constant (found in
# review): x ** 1 and np.maximum(h, h). Expected gradient at x = [0.3, -0.7, 0.9]: [1, 2, 0].
def sum_of_power_one_of_stacked_array(x):
    h = np.array([x[0], np.min(x), x[1]]) ** 1
    return np.sum(h)


def sum_of_maximum_with_itself(x):
    h = np.array([x[0], np.min(x), x[1]])
    return np.sum(np.maximum(h, h))


# 9. Wrong gradient (a reduction's adjoint read an array whose in-place writes were not undone).
# The decision which stores to undo treated every read of a name that some loop's reverse
# pops from a tape as a read of that tape copy, also where the name still held the array
# itself. Fuzzer program: a loop `x2[-2] *= s2; x2 += max(...)` over an argument, then
# `for i5 in range(0, n, 2): x2[i5] -= np.min(x2) * ...`. Expected gradient at
# x = [-0.697, 0.465, 0.897, 0.864] (and w, v below): central differences, 0.782 for x[0].
def min_of_array_written_in_loop(x, w, v):
    s = 0.0
    for _e in x:
        v[-2] *= s
        s = x[-4]
        v += max(-0.25 + s, w[2])
    for i in range(0, 4, 2):
        v[i] -= np.min(v) * 0.7
    return np.sum(np.sin(v))


# 10. numba only: TypingError "expand_dims(float64, ...)": the adjoint of np.sum(h, axis=0) of a
# 1-D array (a number) was given its axis back before broadcasting. Fuzzer program: a helper
# building `np.array([0.5, np.sum(a0), np.sum(a0, axis=0, keepdims=False)])` of a tanh, with a
# loop. Expected gradient at x = [0.3, -0.7]: 0.81 * (1 - tanh(x) ** 2).
def sum_along_axis_of_vector(x):
    h = np.tanh(x)
    v = np.array([0.5, np.sum(h, axis=0)])
    s = v[1] * 1.0
    for _i in range(2):
        s = s * 0.9
    return s


# 11. Wrong value and gradient: a `break` of an inner loop ended the enclosing loop too (the
# break flag the inner loop left set was read as the outer loop's). Fuzzer program: a `while`
# around `for e1 in x0: if ...: return x1; if 0.0 < x1 < 0.5: break`. At x = 0.3 the outer
# loop runs all 4 iterations: value 1.1**4 x + (1.1**3 + 1.1**2 + 1.1 + 1) x = 1.83153.
def inner_break_in_outer_loop(x):
    s = x
    for _i in range(4):
        s = s * 1.1
        for k in range(3):
            if k == 1:
                break
            s = s + x
        if s > 100.0:
            break
    return s


# 11b. The same with a return inside the inner loop (not taken): the while loop runs twice,
# value tanh(x) + 2 (0.5 + x**2) = 1.47131 at x = 0.3.
def inner_break_with_return_in_while(x):
    s = np.tanh(x)
    while s < 1.0:
        s += 0.5 + x**2
        for _k in range(3):
            if s < -5.0:
                return x
            if 0.0 < x < 0.5:
                break
    return s


X = np.array([0.3, -0.7])


# 12. Crashed (numba): "Cannot infer the type of variable 'k0_tape', have imprecise type:
# list(undefined)". numba prunes a branch whose condition it computes from constants, and with
# it every append to the while loop's list tapes, created empty at the function's entry.
# Fuzzer program: `if 1.0 * 0.0 ** (0.5 + 2.0 ** 2) + 1.0 > 0.5: return 0.5` before a helper
# with a `while True:` loop. Expected gradient: 0 (the function returns 0.5).
def while_loop_after_a_constant_return(x):
    if 0.0 ** (0.5 + 2.0**2) + 1.0 > 0.5:
        return 0.5
    k = 0
    s = x
    while True:
        k += 1
        if k > 4:
            break
        s = s * x
    return s


CASES = [
    (inplace_whole_then_element_in_loop, (X,)),
    (element_write_then_rebind_in_loop, (X,)),
    (copy_of_slice_then_write, (X,)),
    (copy_of_slice_then_write_local, (X,)),
    (self_assignment_of_whole_array, (X,)),
    (helper_copies_parameter, (0.4,)),
    (conditional_alias_in_loop, (X, 0.5)),
    (while_condition_calls_writing_helper, (X,)),
    (unreachable_taped_loop, (0.3,)),
    (sum_of_mod_of_stacked_array, (np.array([0.3, -0.7, 0.9]),)),
    (sum_of_power_one_of_stacked_array, (np.array([0.3, -0.7, 0.9]),)),
    (sum_of_maximum_with_itself, (np.array([0.3, -0.7, 0.9]),)),
    (min_of_array_written_in_loop, (np.array([-0.697, 0.465, 0.897, 0.864]),
                                    np.array([-1.279, -1.148, 1.235, -0.945]),
                                    np.array([-0.281, 0.943, -0.401, -0.68]))),
    (sum_along_axis_of_vector, (np.array([0.3, -0.7]),)),
    (inner_break_in_outer_loop, (0.3,)),
    (inner_break_with_return_in_while, (0.3,)),
    (while_loop_after_a_constant_return, (0.3,)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn, args", CASES, ids=[fn.__name__ for fn, _ in CASES])
def test_fuzz_regression(fn, args, backend):
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    check_grad(fn, *args, wrt=0, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "fn, want",
    [
        (inner_break_in_outer_loop, 0.3 * (1.1**4 + 1.1**3 + 1.1**2 + 1.1 + 1)),
        (inner_break_with_return_in_while, math.tanh(0.3) + 2 * (0.5 + 0.09)),
    ],
)
def test_inner_break_leaves_only_the_inner_loop(fn, want, backend):
    value, _ = value_and_grad(fn, backend=backend)(0.3)
    assert fn(0.3) == pytest.approx(want, rel=1e-12)
    assert value == pytest.approx(want, rel=1e-12)


# Index checks (bounds.py) of a forward-mode program: the loop of constant length is unrolled,
# and the check of `a0[i1]` in its second pass (on `a0_1`, the value the first pass may rebind)
# was merged into an earlier check of an array of the same shape, before `a0_1` existed
# (UnboundLocalError under the NumPy backend; numba failed to compile). The fuzzer's program,
# as it found it. The jvp along v must equal <grad f, v>, the gradient from central differences.
def _fuzz_helper(a0):
    a0 = 0.9 * a0 + min(a0[0], 0.25) * np.array([a0[1], 3.0])
    L0 = [np.sum(a0[None, :].cumprod(axis=-1), axis=1) + np.zeros(2)]
    for i1 in range(2):
        L0.append(np.sum(a0, axis=0) * a0[::-1])
        if a0[i1] <= 0.0 or not np.mean(L0) >= a0[i1]:
            a0 = a0 * np.tanh(a0)
        elif 2.0 < len(a0) * a0[-1] < 2.0:
            a0 = a0 * 2.0
    return np.copy(np.pad(-0.25 * (a0 + np.zeros((1, 2))), ((0, 1), (2, 0)), mode="edge")[:, 3])


def rebound_in_an_unrolled_loop(x0):
    z3, z4 = (np.maximum(x0, 2.0), x0)
    for _ in range(2):
        z3, z4 = (z4, 0.5 * z3 + 0.5 * z4)
    return np.sum(x0) + np.sum(z3) + np.sum(z4**2) + np.sum(_fuzz_helper(z3))


@pytest.mark.parametrize("backend", BACKENDS)
def test_checks_of_an_unrolled_loop_use_arrays_that_exist(backend):
    from ad_compiler import jvp, numerical_grad

    x, v = np.array([-1.034, -1.418]), np.array([0.3, -0.7])
    value, derivative = jvp(rebound_in_an_unrolled_loop, wrt="x0", backend=backend)(x, tangent=v)
    assert value == pytest.approx(rebound_in_an_unrolled_loop(x), rel=1e-12)
    want = float(np.dot(numerical_grad(rebound_in_an_unrolled_loop, x, wrt=0), v))
    assert derivative == pytest.approx(want, rel=1e-6)
