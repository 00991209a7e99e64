"""Issue 15: reverse loops as an expert would write them.

1. A stencil loop reading x[i] and x[i + c] (constant offsets) reverses into
   `x_bar[i] += a; x_bar[i + 1] += b`: a store-to-load chain from one iteration to the next.
   loop_carry.py keeps the pending sums in scalars (`x_bar_i1`) and stores each element once.
2. When `x_bar` was zero-filled just before and that loop provably writes every element,
   fresh_adjoint.py allocates it with np.empty_like and the additions become stores.

Each function is checked on both backends against central differences of the original
function and against autograd running the same code, on lengths where the loop runs zero,
one and several iterations; and the generated source is inspected, so that a test fails if a
rewrite silently stops applying (or applies where it must not).
"""

import re
import types

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from gradcheck_helpers import central, copies

from ad_compiler import grad

BACKENDS = ("python", "numba")


def rosen(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def backward_diff(x):  # offsets 0 and -1
    s = 0.0
    for i in range(1, len(x)):
        s += np.sin(x[i] - x[i - 1]) * x[i]
    return s


def three_point(x):  # offsets -1, 0, +1
    s = 0.0
    for i in range(1, x.shape[0] - 1):
        s += (x[i - 1] - 2.0 * x[i] + x[i + 1]) ** 2 * x[i]
    return s


def gap_two(x):  # offsets 0 and +2, nothing at +1: carried, zeros kept
    s = 0.0
    for i in range(x.shape[0] - 2):
        s += x[i] * np.cos(x[i + 2])
    return s


def reversed_loop(x):  # the primal runs down: the reverse runs up
    s = 0.0
    for i in range(x.shape[0] - 1, 0, -1):
        s += np.sin(x[i] * x[i - 1]) + x[i] ** 2
    return s


def step_two(x):  # not carried: iterations do not meet
    s = 0.0
    for i in range(0, x.shape[0] - 1, 2):
        s += x[i] * x[i + 1] ** 2
    return s


def nested(x, w):  # the inner loop is carried; x_bar is zeroed outside the outer loop
    s = 0.0
    for k in range(w.shape[0]):
        for i in range(x.shape[0] - 1):
            s += w[k] * (x[i + 1] - x[i] * w[k]) ** 2
    return s


def with_branch(x):  # adds into x_bar inside an if: not carried
    s = 0.0
    for i in range(x.shape[0] - 1):
        if x[i] > 0.0:
            s += x[i] * x[i + 1]
        else:
            s += x[i + 1] ** 2
    return s


def wraps(x):  # x[i - 1] is x[-1] at i = 0: carried, but the zeros stay
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i - 1] ** 2
    return s


def with_view(x):  # y is a view of x: two adjoints for one array
    y = x[1:]
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += x[i] * y[i] + x[i + 1] ** 2
    return s


def with_break(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += x[i] * x[i + 1]
        if s > 2.0:
            break
    return s


def bound_param(x, n):  # n need not be len(x): the zeros stay
    s = 0.0
    for i in range(n - 1):
        s += (x[i + 1] - x[i]) ** 2
    return s


def two_arrays(x, y):  # one loop, two carried adjoints
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += x[i] * y[i + 1] - y[i] * x[i + 1] ** 2
    return s


def single(x):  # one store per iteration: only the zero-fill goes
    s = 0.0
    for i in range(x.shape[0]):
        s += np.sin(x[i]) * x[i]
    return s


def partial_range(x):  # the loop covers x[1:]: zeros stay
    s = 0.0
    for i in range(1, x.shape[0] - 1):
        s += x[i] * x[i + 1]
    return s


# (function, extra args, lengths, carried, empty_like)
CASES = [
    (rosen, (), (1, 2, 3, 7), True, True),
    (backward_diff, (), (1, 2, 5), True, True),
    (three_point, (), (2, 3, 4, 8), True, True),
    (gap_two, (), (2, 3, 4, 9), True, False),
    (reversed_loop, (), (1, 2, 6), True, True),
    (step_two, (), (2, 3, 7), False, False),
    (with_branch, (), (2, 6), False, False),
    (wraps, (), (1, 2, 5), True, False),
    (with_view, (), (2, 5), True, True),  # x_bar written whole, then x_bar[1:] += y_bar
    (with_break, (), (2, 6), True, False),  # the reverse runs the n_iter iterations done
    (single, (), (1, 4), False, True),  # stored directly: x_bar[i] = ...
    (partial_range, (), (2, 3, 6), True, False),
]


def _x(n: int) -> np.ndarray:
    return np.linspace(-0.9, 1.1, n) + 0.05 * np.sin(np.arange(n) * 1.7)


def _autograd(fn, args, pos):
    """autograd's gradient of the same code, with np bound to autograd.numpy."""
    clone = types.FunctionType(fn.__code__, {**fn.__globals__, "np": anp}, fn.__name__)
    return autograd.grad(clone, pos)(*args)


def _check(fn, args, wrt, backend):
    g = grad(fn, wrt=wrt, backend=backend)
    got = g(*copies(args))
    got = got if isinstance(got, tuple) else (got,)
    for k, pos in enumerate(wrt if isinstance(wrt, tuple) else (wrt,)):
        fd = central(fn, args, pos)
        np.testing.assert_allclose(got[k], fd, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(got[k], _autograd(fn, args, pos), rtol=1e-10, atol=1e-12)
    # (indices proven >= 0 are printed unsigned in numba code: test_issue15_unsigned_indices.py)
    return re.sub(r"np\.uintp\(((?:[^()]|\([^()]*\))*)\)", r"\1", g.source)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradients_and_rewrites(case, backend):
    fn, _, lengths, carried, empty = case
    for n in lengths:
        source = _check(fn, (_x(n),), 0, backend)
        assert ("x_bar_i" in source) == carried, source
        assert ("np.empty_like(x)" in source) == empty, source
        if carried:  # no element of x_bar added into twice in one iteration
            assert source.count("x_bar[i] +=") + source.count("x_bar[i] =") <= 1, source
        if fn is single:
            assert "x_bar[i] = " in source, source


@pytest.mark.parametrize("backend", BACKENDS)
def test_rosenbrock_is_gather_like(backend):
    source = _check(rosen, (_x(9),), 0, backend)
    assert "x_bar[i + 1] = x_bar_i1" in source, source
    assert "x_bar[:] = 0.0" in source  # no iteration: the gradient is zero


def differences(x):
    s = 0.0
    for i in range(len(x) - 1):
        s += 3.0 * x[i + 1] - 2.0 * x[i]
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_index_left_that_only_the_rewritten_store_read(backend):
    """The reverse loop reads no x[i + 1] here: once its store is a register update, the
    index `i + 1` computed for it is gone too (no dead statement in the generated code)."""
    for n in (1, 2, 7):
        source = _check(differences, (_x(n),), 0, backend)
        loop = source[source.index("reverse of line") :]
        assert "x_bar_i1" in loop and not re.search(r"^\s*t\d+ = i \+ 1$", loop, re.M), loop


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested(backend):
    w = np.array([0.7, -1.2, 0.4])
    for n in (1, 2, 5):
        source = _check(nested, (_x(n), w), (0, 1), backend)
        assert "x_bar_i1" in source
        assert "np.empty_like(x)" not in source  # zeroed once, added into by every k


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_arrays(backend):
    y = np.cos(np.arange(6.0))
    source = _check(two_arrays, (_x(6), y), (0, 1), backend)
    assert "x_bar_i1" in source and "y_bar_i1" in source
    # the loop runs over len(x); y may be longer: its tail stays zero
    assert "np.empty_like(x)" in source and "np.zeros_like(y)" in source
    longer = np.cos(np.arange(9.0))
    _check(two_arrays, (_x(6), longer), (0, 1), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bound_parameter(backend):
    for n in (0, 1, 3, 6):
        source = _check(bound_param, (_x(6), n), 0, backend)
        assert "x_bar_i1" in source
        assert "np.empty_like(x)" not in source


# ---------------------------------------------------------------------------------------------
# 3a. An integer carried by a loop and grown by a computable amount (the GMM's `li`, the
#     position in a packed triangle): recomputed in the reverse sweep, not taped.


def packed_lower(L, v):  # li walks the packed strictly-lower triangle, column by column
    d = v.shape[0]
    s = 0.0
    li = 0
    for c in range(d):
        for r in range(c + 1, d):
            s += np.sin(L[li] * v[c]) * v[r]
            li += 1
    return s


def grow_by_expression(a):  # li += c + 1 (a triangular number), no inner loop
    s = 0.0
    li = 0
    for c in range(4):
        s += a[li] * a[li] * (c + 1.0)
        li += c + 1
    return s


def grow_by_two(a, v):  # the inner counter steps by 2
    s = 0.0
    li = 1
    for c in range(v.shape[0]):
        for r in range(c, v.shape[0]):
            s += a[li] * v[r] * v[c]
            li += 2
    return s


def grow_with_break(a):  # a break: the iteration count is taped, li too
    s = 0.0
    li = 0
    for c in range(5):
        s += a[li] ** 2
        li += c
        if s > 3.0:
            break
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_running_integer(backend):
    d = 5
    L = np.cos(np.arange(d * (d - 1) // 2) * 0.7)
    v = _x(d)
    source = _check(packed_lower, (L, v), (0, 1), backend)
    assert "li_run" in source and "li_tape" not in source, source
    source = _check(grow_by_expression, (_x(11),), 0, backend)
    assert "li_run" in source and "li_tape" not in source, source
    a = np.sin(np.arange(1.0, 2.0 + 2 * 15))
    source = _check(grow_by_two, (a, _x(5)), (0, 1), backend)
    assert "li_run" in source and "li_tape" not in source, source
    for scale in (0.3, 1.5):
        source = _check(grow_with_break, (scale * _x(12),), 0, backend)
        assert "li_run" not in source


# ---------------------------------------------------------------------------------------------
# 3b. A read of an element a loop just stored (the GMM's `xc`): the stored expression is
#     recomputed from the inputs instead of keeping the array's old contents on a tape.


def centred(x, m, icf):
    n, d = x.shape
    xc = np.empty(d)
    total = 0.0
    for i in range(n):
        for j in range(d):
            xc[j] = x[i, j] - m[j]
        li = 0
        for c in range(d):
            for r in range(c + 1, d):
                total += np.tanh(icf[li] * xc[c]) * xc[r]
                li += 1
    return total


def centred_overwritten(x, m):  # m changes between the fill and the read: not recomputed
    n, d = x.shape
    xc = np.empty(d)
    total = 0.0
    for i in range(n):
        for j in range(d):
            xc[j] = x[i, j] * m[j]
        m[0] = m[0] * 0.5
        for c in range(d):
            total += np.sin(xc[c]) * m[c]
    return total


def centred_partial(x, m):  # the fill covers range(d - 1) only: the read of xc[c] is not
    n, d = x.shape  # covered for c = d - 1
    xc = np.zeros(d)
    total = 0.0
    for i in range(n):
        for j in range(d - 1):
            xc[j] = x[i, j] - m[j]
        for c in range(d):
            total += np.sin(xc[c]) * x[i, c]
    return total


def carried_fill(x, m):  # the stored value depends on a value carried by the fill loop
    n, d = x.shape
    xc = np.empty(d)
    total = 0.0
    for i in range(n):
        acc = 0.0
        for j in range(d):
            acc = acc + x[i, j]
            xc[j] = acc * m[j]
        for c in range(d):
            total += np.sin(xc[c]) * x[i, c]
    return total


@pytest.mark.parametrize("backend", BACKENDS)
def test_recomputed_store(backend):
    rng = np.random.default_rng(3)
    x, m = rng.normal(size=(4, 4)), rng.normal(size=4)
    icf = rng.normal(size=6)
    for fn, args, wrt, applied in (
        (centred, (x, m, icf), (0, 1, 2), True),
        (centred_overwritten, (x, m), (0, 1), False),
        (centred_partial, (x, m), (0, 1), False),
        (carried_fill, (x, m), (0, 1), False),
    ):
        g = grad(fn, wrt=wrt, backend=backend)
        got = g(*copies(args))
        for k, pos in enumerate(wrt):
            np.testing.assert_allclose(got[k], central(fn, args, pos), rtol=1e-6, atol=1e-7)
        # where recomputed, nothing reads xc: it has no adjoint, is neither taped nor restored
        assert ("xc_bar" not in g.source) == applied, g.source


# ---------------------------------------------------------------------------------------------
# 1b. `w_bar[c] += v` in every iteration of an inner loop that does not change c: summed in a
#     register, added once after the loop (and not at all if the loop ran no iteration).


def invariant_index(x, w):
    s = 0.0
    for c in range(x.shape[0]):
        for r in range(c + 1, x.shape[0]):
            s += np.sin(w[c] * x[r]) + w[c] * x[c]
    return s


def invariant_2d(x, W):
    s = 0.0
    for k in range(W.shape[0]):
        for c in range(W.shape[1]):
            for r in range(c, x.shape[0]):
                s += np.cos(W[k, c] * x[r]) * x[c]
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_invariant_index_sums(backend):
    for n in (1, 2, 5):
        w = np.cos(np.arange(n) + 0.3)
        source = _check(invariant_index, (_x(n), w), (0, 1), backend)
        assert "w_bar_sum" in source, source
    W = np.sin(np.arange(6.0).reshape(2, 3))
    source = _check(invariant_2d, (_x(4), W), (0, 1), backend)
    assert "W_bar_sum" in source, source


@pytest.mark.parametrize("backend", BACKENDS)
def test_hessians_through_rewritten_loops(backend):
    """hessian differentiates the rewritten gradient programs again: vs autograd's."""
    from ad_compiler import hessian

    for fn, args in (
        (three_point, (_x(6),)),
        (packed_lower, (np.cos(np.arange(10) * 0.7), _x(5))),
        (invariant_index, (_x(5), np.cos(np.arange(5.0)))),
        (gap_two, (_x(6),)),
        (reversed_loop, (_x(6),)),
    ):
        clone = types.FunctionType(fn.__code__, {**fn.__globals__, "np": anp}, fn.__name__)
        expected = autograd.hessian(clone, 0)(*args)
        got = hessian(fn, wrt=0, backend=backend)(*args)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
