"""Plain Python/NumPy functions differentiated by tests/test_reliability.py.

They exercise the edges of floating point (NaN, inf, overflow, division by zero), the documented
conventions at non-differentiable points (abs at 0, ties of max/min, floor/ceil/sign/`//`, the
boundary of np.where), the "double where" trap, float32, functions that write into their
arguments, and functions used by the thread-safety and on-disk cache tests. Every function runs
as written (the ones writing into an argument change the caller's array when run directly).
"""

import math

import numpy as np

# -- NaN and inf -----------------------------------------------------------------------------------


def mul(x, y):
    return x * y


def mul_sum(x, y):
    return np.sum(x * y)


def square(x):
    return x * x


def square_sum(x):
    return np.sum(x * x)


def np_exp(x):
    return np.exp(x)


def math_exp(x):
    return math.exp(x)


def exp_sum(x):
    return np.sum(np.exp(x))


def div(x, y):
    return x / y


def div_sum(x, y):
    return np.sum(x / y)


def np_log(x):
    return np.log(x)


def np_sqrt(x):
    return np.sqrt(x)


def log_sum(x):
    return np.sum(np.log(x))


def loop_mul_sum(x, y):
    """A loop (so the numba backend compiles it) of products."""
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * y[i]
    return s


def loop_div_sum(x, y):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] / y[i]
    return s


# -- conventions at non-differentiable points ------------------------------------------------------


def builtin_abs(x):
    return abs(x)


def np_abs(x):
    return np.abs(x)


def math_fabs(x):
    return math.fabs(x)


def abs_sum(x):
    return np.sum(np.abs(x))


def builtin_max(x, y):
    return max(x, y)


def builtin_min(x, y):
    return min(x, y)


def np_maximum(x, y):
    return np.maximum(x, y)


def np_minimum(x, y):
    return np.minimum(x, y)


def maximum_sum(x, y):
    return np.sum(np.maximum(x, y))


def minimum_sum(x, y):
    return np.sum(np.minimum(x, y))


def relu_sum(x):
    """np.maximum with a constant: the tie at 0 gives 0.5."""
    return np.sum(np.maximum(x, 0.0))


def max_reduction(x):
    return np.max(x)


def min_reduction(x):
    return np.min(x)


def amax_reduction(x):
    return np.amax(x)


def max_method(x):
    return x.max()


def min_method(x):
    return x.min()


def max_axis0(x):
    return np.sum(np.max(x, axis=0))


def min_axis1(x):
    return np.sum(np.min(x, axis=1))


def np_floor(x):
    return np.floor(x)


def math_floor(x):
    return math.floor(x)


def np_ceil(x):
    return np.ceil(x)


def math_ceil(x):
    return math.ceil(x)


def np_sign(x):
    return np.sign(x)


def floordiv(x, y):
    return x // y


def step_functions_sum(x, y):
    """floor, ceil, sign and // of arrays, plus x so that the gradient is not all zeros."""
    return np.sum(np.floor(x) + np.ceil(x) * 2.0 + np.sign(x) * 3.0 + x // y + y // x) + np.sum(x)


def where_gt(x):
    return np.sum(np.where(x > 0, 3.0 * x, -2.0 * x))


def where_ge(x):
    return np.sum(np.where(x >= 0, 3.0 * x, -2.0 * x))


def where_lt(x):
    return np.sum(np.where(x < 0, 3.0 * x, -2.0 * x))


def where_eq(x, y):
    """At x == y the condition is true: the first branch."""
    return np.sum(np.where(x == y, 3.0 * x, -2.0 * x))


def ifexp_gt(x):
    return 3.0 * x if x > 0 else -2.0 * x


def ifexp_ge(x):
    return 3.0 * x if x >= 0 else -2.0 * x


def if_statement_gt(x):
    if x > 0:
        r = 3.0 * x
    else:
        r = -2.0 * x
    return r


# -- the "double where" trap -----------------------------------------------------------------------


def where_sqrt(x):
    return np.sum(np.where(x > 0, np.sqrt(x), 0.0))


def where_log(x):
    return np.sum(np.where(x > 0, np.log(x), 0.0))


def where_reciprocal(x):
    return np.sum(np.where(x != 0, 1.0 / x, 0.0))


def where_sqrt_times(x, w):
    """The trap with a second, differentiated input scaling the selected branch."""
    return np.sum(w * np.where(x > 0, np.sqrt(x), 0.0))


def ifexp_sqrt(x):
    return math.sqrt(x) if x > 0 else 0.0


def ifexp_log(x):
    return math.log(x) if x > 0 else 0.0


def ifexp_reciprocal(x):
    return 1.0 / x if x != 0 else 0.0


def if_statement_sqrt(x):
    if x > 0:
        return math.sqrt(x)
    return 0.0


def loop_branch_sqrt(x):
    """The trap inside a loop: only the entries with x[i] > 0 contribute."""
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:
            s += math.sqrt(x[i])
    return s


# -- float32 ---------------------------------------------------------------------------------------


def tanh_layer(W, x, b):
    return np.sum(np.tanh(W @ x + b) ** 2)


def loop_poly(x, c):
    """A loop (compiled by numba) mixing an array and a scalar."""
    s = 0.0
    for i in range(x.shape[0]):
        s += c * x[i] * x[i] + math.sin(x[i])
    return s


def scalar_poly(x, c):
    return c * x * x + np.sin(x) + np.exp(c * 0.1)


# -- functions writing into their arguments or into arrays -----------------------------------------


def write_first(x):
    x[0] = x[0] * 2.0 + 1.0
    return np.sum(x * x)


def augassign_argument(x, y):
    x += y
    x *= 2.0
    return np.sum(x * x)


def augassign_slice(x):
    x[1:] += x[:-1]
    return np.sum(x * x)


def write_row(A, v):
    A[0, :] = v * 3.0
    return np.sum(A * A)


def loop_write_argument(x):
    for i in range(1, x.shape[0]):
        x[i] = x[i - 1] * x[i] + 1.0
    return np.sum(x)


def loop_write_local(x):
    y = np.zeros_like(x)
    for i in range(x.shape[0]):
        y[i] = x[i] * x[i]
    for i in range(1, x.shape[0]):
        y[i] += y[i - 1]
    return np.sum(y * x)


def loop_augassign_argument(x, w):
    for i in range(x.shape[0]):
        x[i] *= w[i]
    return np.sum(x * x)


def write_undifferentiated(x, buf):
    """Writes into buf, an array argument that is not differentiated."""
    buf[0] = x[0] * 2.0
    for i in range(1, buf.shape[0]):
        buf[i] = buf[i - 1] + x[i % x.shape[0]]
    return np.sum(buf * buf)


# -- for the thread-safety and cache tests ---------------------------------------------------------


def threaded_loop(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.tanh(w * x[i]) * x[i]
    return s


def threaded_scalar(x, y):
    return math.sin(x * y) + math.exp(-x * x) * y


def cached_loop(x, c):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.exp(c * x[i]) / (1.0 + x[i] * x[i])
    return s


def cached_vectorized(x, c):
    return np.sum(np.log1p(x * x) * c)


def cached_scalar(x, y):
    return math.atan2(x, y) * math.cosh(x - y)


def cached_uncommon(x):
    """A derivative that rules/derivative_table.py does not ship: building it runs SymPy."""
    return x**2.7 + 1.0


# -- the same conventions and traps inside loops (compiled by numba on the numba backend) ----------


def loop_abs(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += abs(x[i]) + np.abs(x[i]) * 2.0
    return s


def loop_max_min(x, y):
    s = 0.0
    for i in range(x.shape[0]):
        s += max(x[i], y[i]) + 2.0 * min(x[i], y[i])
    return s


def loop_reductions(x):
    s = np.max(x) - 2.0 * np.min(x)
    for i in range(x.shape[0]):
        s += x[i]
    return s


def loop_step_functions(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.floor(x[i]) + np.ceil(x[i]) + np.sign(x[i]) + x[i] // 2.0 + x[i]
    return s


def loop_where(x):
    s = np.sum(np.where(x > 0, 3.0 * x, -2.0 * x))
    for i in range(x.shape[0]):
        s += 5.0 * x[i] if x[i] >= 0 else -7.0 * x[i]
    return s


def loop_where_traps(x):
    s = np.sum(np.where(x > 0, np.sqrt(x), 0.0) + np.where(x > 0, np.log(x), 0.0))
    s += np.sum(np.where(x != 0, 1.0 / x, 0.0))
    for i in range(x.shape[0]):
        s += math.sqrt(x[i]) if x[i] > 0 else 0.0
    return s
