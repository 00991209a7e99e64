"""Plain Python/NumPy functions covering the control flow ad_compiler differentiates.

Branches on runtime values, `for` over ranges, arrays, `enumerate` and `zip`, `while`, `break`,
`continue`, early returns, loop-carried scalars and arrays, in-place writes into arrays the
function creates (and into its arguments, which it works on copies of), loop indices in
arithmetic, and calls to helpers inside loops and branches.

Every function is ordinary Python: it runs as written, so central differences of the function
itself give the expected gradients. tests/test_control.py holds the argument values, chosen so
that every branch is taken on both sides and loops run zero, one and several times.
"""

import math

import numpy as np

DT = 0.01
GAIN = 1.5


# -- helpers (inlined by ad_compiler) ------------------------------------------------------------


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def soft_clip(z, limit):
    """A helper with a branch."""
    if z > limit:
        return limit + math.log(1.0 + z - limit)
    if z < -limit:
        return -limit - math.log(1.0 - z - limit)
    return z


def horner(coeffs, t):
    """A helper that itself loops: sum_k coeffs[k] t^k."""
    acc = 0.0
    for k in range(len(coeffs) - 1, -1, -1):
        acc = acc * t + coeffs[k]
    return acc


def dot_loop(a, b):
    """A helper with a loop over two vectors."""
    s = 0.0
    for u, v in zip(a, b):
        s += u * v
    return s


# -- branches ----------------------------------------------------------------------------------


def branch_compare(x, y):
    """if/elif/else on comparisons: each branch a different formula."""
    if x > y:
        r = x * x - y
    elif x < -y:
        r = 3.0 * x + y * y
    else:
        r = x * y + 1.0
    return r


def branch_bool_ops(x, y):
    """Conditions with and, or, not."""
    r = 0.0
    if x > 0.0 and y > 0.0:
        r += x * y
    elif x < -1.0 or y > 0.5:
        r += x - 2.0 * y
    else:
        r += math.exp(x)
    if not x > y:
        r += math.sin(y)
    return r


def branch_nested3(x, y, z):
    """Three levels of nested if/else."""
    if x > 0.0:
        if y > 0.0:
            if z > 0.0:
                r = x * y * z
            else:
                r = x * y - z
        else:
            if z > x:
                r = x + y * z
            else:
                r = x * x + y
    else:
        if y > z:
            if x + y > 0.0:
                r = y * y - x
            else:
                r = math.exp(x) * z
        else:
            r = -x * z + y
    return r


def branch_on_array(x, w):
    """Branches on array entries and on a reduction; a branch that writes an array."""
    y = np.zeros(len(x))
    if x[0] > x[1]:
        y[0] = x[0] * w
        y[1] = x[1]
    else:
        y[0] = x[1]
        y[1] = x[0] * x[0] * w
    if np.sum(x) > 1.0:
        return np.sum(y * y) + w
    return np.sum(y) * w


def branch_merges_arrays(x, c):
    """Each branch computes the array differently; the merged array is used afterwards."""
    if c > 0.0:
        v = np.tanh(x) * c
    else:
        v = x * x - c
    return np.sum(v * x)


# -- for over range ------------------------------------------------------------------------------


def range_bounds(x, start, stop, step):
    """range(start, stop, step) from integer arguments (zero-trip when stop <= start with a
    positive step, negative steps)."""
    s = x
    for i in range(start, stop, step):
        s = s * x + i * 0.5
    return s


def range_expressions(x, n):
    """Bounds and steps that are expressions of the arguments."""
    s = 0.0
    for i in range(n - 1, 2 * n + 1, 2):
        s += x ** 2 * i
    for i in range(2 * n, n // 2 - 1, -3):
        s += math.sin(x * i)
    return s


def range_negative_step(x):
    """Horner's scheme backwards over an array with step -1, and every other entry with -2."""
    acc = 0.0
    for i in range(len(x) - 1, -1, -1):
        acc = acc * 0.5 + x[i]
    for i in range(len(x) - 1, 0, -2):
        acc += x[i] * x[i - 1]
    return acc


def range_zero_trip(x, n):
    """A loop that runs n times; for n = 0 the result is the initial value."""
    s = x * 2.0
    y = np.zeros(3)
    for i in range(n):
        s = math.sin(s) + x
        y[i % 3] += s
    return s + np.sum(y)


# -- for over arrays, enumerate, zip ---------------------------------------------------------


def iterate_vector(x):
    """for v in x over a 1-D array; the product of entries times a running sum."""
    s = 0.0
    p = 1.0
    for v in x:
        s = s + v * v
        p = p * (1.0 + 0.1 * v * s)
    return p


def iterate_rows(A, w):
    """for row in A over the rows of a 2-D array."""
    s = 0.0
    for row in A:
        z = np.dot(row, w)
        s += math.tanh(z) ** 2
    return s


def iterate_enumerate(x):
    s = 0.0
    for i, v in enumerate(x):
        s += v * v * (i + 1) + math.cos(v) * i
    return s


def iterate_zip(x, y):
    s = 0.0
    for a, b in zip(x, y):
        s += a * b + (a - b) ** 2
    return s


def iterate_zip_rows(A, x):
    """zip over the rows of a 2-D array and the entries of a shorter vector (min length)."""
    s = 0.0
    for row, v in zip(A, x):
        s += np.sum(row * row) * v
    return s


def iterate_enumerate_rows(A):
    s = 0.0
    for i, row in enumerate(A):
        s += np.sum(np.exp(row)) * (i - 1.0)
    return s


# -- nested loops -------------------------------------------------------------------------------


def nested_matvec(A, x):
    """Two nested loops: tanh of a hand-written matrix-vector product."""
    n, m = A.shape
    s = 0.0
    for i in range(n):
        t = 0.0
        for j in range(m):
            t += A[i, j] * x[j]
        s += math.tanh(t)
    return s


def nested_triangular(x):
    """The inner range depends on the outer index (first inner loop runs zero times)."""
    s = 0.0
    for i in range(len(x)):
        for j in range(i):
            s += x[i] * x[j] / (1.0 + i + j)
    return s


def nested_three(x, n):
    """Three nested loops with a loop-carried scalar at each level."""
    s = 0.0
    for i in range(n):
        a = x * (i + 1)
        for j in range(2):
            b = a
            for _k in range(i + j):
                b = math.sin(b) + 0.1 * x
            a = a + b * 0.5
        s += a
    return s


def nested_while_in_for(x):
    """A while loop inside a for loop, running a data-dependent number of times."""
    s = 0.0
    for v in x:
        t = v
        while t < 4.0:
            t = t * 1.7 + 0.3
        s += t
    return s


# -- while -------------------------------------------------------------------------------------


def while_counted(a):
    """Newton's iteration for sqrt(a), a fixed number of steps."""
    r = a
    i = 0
    while i < 8:
        r = 0.5 * (r + a / r)
        i += 1
    return r


def while_on_value(x):
    """The trip count depends on the value (zero trips for x >= 10)."""
    n = 0
    while x < 10.0:
        x = x * GAIN + 0.2
        n += 1
    return x * (n + 1)


def while_two_carried(x, y):
    """Two values carried around a while loop whose test reads both."""
    while x + y < 5.0:
        x, y = y + 0.5, x * y + 1.0
    return x * y


# -- break, continue, return -------------------------------------------------------------------


def break_at_threshold(x, t):
    """Sum of squares until an entry exceeds t (breaks on the first iteration if x[0] > t)."""
    s = 0.0
    for v in x:
        if v > t:
            break
        s += v * v
    return s + t


def break_nested(A):
    """A break in the inner loop of two: each row is summed until a negative entry."""
    s = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            if A[i, j] < 0.0:
                break
            s += A[i, j] * (j + 1)
        s = s * 0.9
    return s


def break_outer_flag(x):
    """Leave both loops: a flag set in the inner loop breaks the outer one."""
    s = 0.0
    done = False
    for i in range(len(x)):
        for j in range(len(x)):
            s += x[i] * x[j]
            if s > 4.0:
                done = True
                break
        if done:
            break
    return s


def while_break(x):
    """while True with a break on a value."""
    y = x
    while True:
        y = y * y + 0.1
        if y > 3.0:
            break
    return y


def continue_skip(x):
    """continue: negative entries skipped; an if after the continue."""
    s = 0.0
    for i in range(len(x)):
        if x[i] < 0.0:
            continue
        s += x[i] ** 3
        if s > 1.0:
            s = math.sqrt(s)
    return s


def early_returns(x, y):
    """Several returns, one of them before any computation."""
    if x < -1.0:
        return -x * y
    z = x * y
    if z > 1.0:
        return math.log(z)
    if y < 0.0:
        return z * z
    return z + x


def return_in_loop(x, t):
    """Return from inside a loop (on the first iteration if x[0] * 2 > t), else after it."""
    s = 0.0
    for i in range(len(x)):
        s += x[i] * 2.0
        if s > t:
            return s * s
    return s - t


def return_in_nested_loop(A, t):
    """A return from the inner loop of two."""
    s = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            s += A[i, j] ** 2
            if s > t:
                return s * (i + j + 1)
    return -s


def return_in_while(x):
    k = 0
    while k < 10:
        x = math.sin(x) * 2.0
        if x > 1.5:
            return x * k
        k += 1
    return x


def for_else(x, t):
    """for/else: the else runs when the loop did not break."""
    s = 0.0
    for v in x:
        s += v
        if s > t:
            break
    else:
        s = s * 10.0
    return s * s


# -- loop-carried scalars and arrays -----------------------------------------------------------


def rnn(W, U, b, h0, xs):
    """h = tanh(W h + U x_t + b) over the rows of xs."""
    h = h0
    for x in xs:
        h = np.tanh(W @ h + U @ x + b)
    return np.sum(h * h)


def rnn_steps(W, b, h0, n):
    h = h0
    for _t in range(n):
        h = np.tanh(W @ h + b)
    return np.sum(h)


def fibonacci_like(x, y, n):
    """Two scalars swapped every iteration."""
    a, b = x, y
    for _i in range(n):
        a, b = b, a + b * x
    return a * b


def carried_array(x, n):
    """A vector carried around a loop, updated elementwise."""
    v = x
    for _i in range(n):
        v = v * 0.5 + np.sin(v) * x
    return np.sum(v)


def euler_oscillator(x0, v0, k, c, n):
    """A damped oscillator integrated by explicit Euler; loss on the final state."""
    x = x0
    v = v0
    for _i in range(n):
        a = -k * x - c * v
        x = x + DT * v
        v = v + DT * a
    return x * x + 0.5 * v * v


def rosenbrock_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


# -- in-place writes into arrays the function creates -------------------------------------------


def write_elements(x):
    """y[i] = ... in a loop."""
    y = np.zeros(len(x))
    for i in range(len(x)):
        y[i] = x[i] ** 2 + i
    return np.sum(y * y)


def write_accumulate(x):
    """y[i] += ... (each entry updated several times)."""
    y = np.zeros(3)
    for i in range(len(x)):
        y[i % 3] += x[i] * x[i]
        y[(i + 1) % 3] += math.sin(x[i])
    return np.sum(y ** 3)


def write_2d(x):
    """A[i, j] = ... : an outer-product-like matrix built entry by entry."""
    n = len(x)
    A = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            A[i, j] = x[i] * x[j] + (i - j)
    return np.sum(A @ x)


def write_slices(x):
    """y[a:b] = ... with slices from expressions."""
    n = len(x)
    y = np.zeros(2 * n)
    y[0:n] = x * 2.0
    y[n:2 * n] = np.exp(x)
    y[1:n + 1] = y[1:n + 1] * x
    return np.sum(y * y)


def write_open_slices(x):
    """Slices open at one end: y[2:] = ..., y[:2] += ..., reads of x[1:] and y[:-1]."""
    n = len(x)
    y = np.zeros(n + 2)
    y[2:] = x * x
    y[:2] += x[1:3]
    y[1:] = y[1:] + np.sin(y[:-1])
    return np.sum(y * y)


def write_columns(A, w):
    """B[:, j] = ... : column writes."""
    m, n = A.shape
    B = np.zeros((m, n))
    for j in range(n):
        B[:, j] = A[:, j] * w[j] + j
    return np.sum(B * B)


def write_rows(A):
    """B[i] = ... : whole-row writes with B[i - 1] read back."""
    B = np.zeros(A.shape)
    B[0] = A[0]
    for i in range(1, A.shape[0]):
        B[i] = B[i - 1] * 0.5 + np.tanh(A[i])
    return np.sum(B ** 2)


def overwrite_after_read(x):
    """Values are read, then overwritten; the earlier reads must see the old values."""
    y = np.exp(x)
    s = y[0] * y[1]
    y[0] = y[1] * 3.0
    y[1] = s + y[0]
    t = np.sum(y * y)
    y[2] = y[2] * y[0]
    return s + t + np.sum(y)


def recurrence(x, a):
    """y[i] = y[i - 1] * a + x[i]: reads of entries written in earlier iterations."""
    y = np.zeros(len(x))
    y[0] = x[0]
    for i in range(1, len(x)):
        y[i] = y[i - 1] * a + x[i]
    return np.sum(y ** 2)


def recurrence_nonlinear(x):
    y = np.zeros(len(x) + 1)
    y[0] = 1.0
    for i in range(len(x)):
        y[i + 1] = math.sin(y[i]) * x[i] + y[i]
    return y[len(x)] * y[1]


def smoothing_sweeps(x, n):
    """Gauss-Seidel sweeps: every entry overwritten n times, each write reading its
    neighbours (one of them already overwritten in this sweep)."""
    y = x * 1.0
    for _sweep in range(n):
        for i in range(1, len(y) - 1):
            y[i] = 0.5 * (y[i - 1] + y[i + 1]) + 0.1 * y[i] ** 2
    return np.sum(y ** 2)


def write_then_overwrite_whole(x):
    """An array overwritten entirely, entry by entry, after its old contents were used."""
    y = np.cos(x)
    first = np.sum(y * x)
    for i in range(len(y)):
        y[i] = first * x[i]
    return first + np.sum(y * y)


# -- loop indices in arithmetic --------------------------------------------------------------


def index_arithmetic(x):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * i + (i + 1) ** 2 * x[i] ** 2 / (i + 2) - 0.5 ** i * x[i]
    return s


def index_as_float(x, n):
    s = x
    for i in range(1, n + 1):
        s = s + math.sin(x * i) / i
    return s


# -- calls to helpers in loops and branches ------------------------------------------------------


def helper_in_loop(x, w):
    s = 0.0
    for i in range(len(x)):
        s += sigmoid(w * x[i])
    return s


def helper_in_branch(x, y):
    if x > y:
        r = soft_clip(x * y, 1.0)
    else:
        r = sigmoid(x) * soft_clip(y, 0.5)
    return r


def helper_loops(c, x):
    """A helper that loops (Horner), called in a loop."""
    s = 0.0
    for v in x:
        s += horner(c, v) ** 2
    return s


def helper_loops_in_branch(a, b, t):
    if t > 0.0:
        return dot_loop(a, b) * t
    return dot_loop(a, a) - t


# -- writing into argument arrays (the function works on a copy) --------------------------------


def write_argument(x):
    x[0] = x[1] * 2.0
    return np.sum(x * x)


def write_argument_constant(x):
    """The reverse sweep reads nothing of x: still the caller's x must be left alone."""
    x[0] = 3.0
    return np.sum(x)


def write_argument_loop(x):
    """In-place running sum over the argument."""
    for i in range(1, len(x)):
        x[i] = x[i] + x[i - 1] * x[i]
    return np.sum(x * x)


def write_argument_2d(A, w):
    for i in range(min(A.shape[0], A.shape[1])):
        A[i, i] += w
    A[:, 0] = A[:, 0] * w
    return np.sum(A ** 2)


def write_two_arguments(x, y):
    """Writes into one argument reading the other (called with the same array twice too)."""
    x[0] = y[0] * 2.0
    return np.sum(x * y)


# -- loops that need no tape -------------------------------------------------------------------


def inactive_loop(x, c, n):
    """The loop computes a factor that does not depend on x."""
    f = c
    for _i in range(n):
        f = f * 0.5 + math.cos(f)
    return x * f


def inactive_array_loop(x, n):
    """A weight vector built in a loop from nothing differentiated, then applied to x."""
    w = np.zeros(len(x))
    for i in range(len(x)):
        w[i] = 1.0 / (i + n)
    return np.sum(w * np.sin(x))


def linear_accumulation(x, w):
    """Only sums of products with inputs: nothing to tape."""
    s = 0.0
    for i in range(len(x)):
        s += w[i] * x[i] + 2.0 * x[i]
    return s


# -- tapes of nested loops, and in-place increments --------------------------------------------


def nested_fixed_bounds(x, m):
    """A value carried through an inner loop whose bounds are fixed before the nest: its tape
    is an array sized before the outer loop, not a list."""
    total = 0.0
    for _i in range(m):
        p = 1.0
        for j in range(1, x.shape[0], 2):
            p = p * x[j] + math.sin(p)
        total += p * x[0]
    return total


def nested_inner_break(x, limit):
    """The inner loop may stop early: it runs fewer times than its range, so it keeps a list."""
    total = 0.0
    for _i in range(3):
        p = 1.0
        for j in range(x.shape[0]):
            if p > limit:
                break
            p = p * x[j] + math.sin(p)
        total += p
    return total


def nested_increments(x, w):
    """y[i] += ... in a nested loop: the reverse sweep leaves y_bar[i] where it is."""
    y = np.zeros(x.shape[0])
    for k in range(w.shape[0]):
        for i in range(x.shape[0]):
            y[i] += w[k] * math.sin(x[i] * k + 1.0)
    return np.sum(y * y)


def not_increments(x, w):
    """Stores that read the element they overwrite, but do not just add to it."""
    y = np.ones(x.shape[0])
    for k in range(w.shape[0]):
        for i in range(x.shape[0]):
            y[i] = y[i] * w[k] + x[i]
            y[i] += y[i]
    return np.sum(y * x)


def triangle_counter(x):
    """A counter running through a triangular nested loop (as in GMM's packed L factor)."""
    total = 0.0
    for _k in range(2):
        li = 0
        for c in range(x.shape[0]):
            for r in range(c + 1, x.shape[0]):
                total += x[li % x.shape[0]] * x[c] * x[r]
                li += 1
    return total


def shape_from_int_array(s):
    """A float array shaped like an int one: its adjoint is float (was cut to ints)."""
    k = np.arange(3)
    y = k * s
    t = np.sum(y)
    return t * t


def store_into_int_array(x):
    """Floats stored into an int array are truncated: no gradient flows through them."""
    y = np.arange(3) * 1
    for i in range(3):
        y[i] += 2.5 * x[i]
    return np.sum(y * 1.0) + np.sum(x)


def strided_loop(x, n):
    """The index of a strided loop, read only by replayed code (j % 3), in reverse."""
    t = 0.5
    for j in range(0, n, 2):
        t = math.sin(t * x[j % 3] + 0.2)
    return t


def guarded_inner_bound(x, d):
    """An inner loop whose bound is computed under a guard (d != 0), in a branch taken in some
    outer iterations only."""
    t = 0.5
    for i in range(3):
        if d != 0 and i != 1:
            m = x.shape[0] // d
            for j in range(m):
                t = t * 0.5 + math.sin(x[j] * t + 1.0)
        else:
            t = t + x[0] * t
    return t


def store_into_int_like(x):
    """np.full_like of an int array is an int array: the float stored into it is truncated."""
    k = np.arange(3)
    y = np.full_like(k, 0.5)
    y[0] = x[0] * 3.3
    return np.sum(y * 1.0) + x[1]
