"""Issue 15: out-of-range indices raise IndexError in generated numba code, as in CPython.

numba does not check indices: an off-by-one read returned garbage (and a write corrupted
memory) where the original function raises. bounds.py places checks on every program, hoisted
before loops when the index is affine in the loop's index; none where the index is provably in
range. For each function below, on both backends and under every transform: the call raises
IndexError exactly when CPython's call of the original does (the original is run first, as the
oracle), and in-range calls agree with central differences of the original. The generated
source is inspected too: hoisted checks sit before the loops, and provable loops carry none.
"""

import re

import numpy as np
import pytest
from gradcheck_helpers import central, copies, directional

from ad_compiler import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp

BACKENDS = ("python", "numba")


def first_squares(x, n):  # reads x[i], i in range(n)
    s = 0.0
    for i in range(n):
        s += x[i] * x[i]
    return s


def scaled_copy(x, m, n):  # writes out[i] past the end of out
    out = np.zeros(m)
    for i in range(n):
        out[i] = 2.0 * x[i] * x[i]
    return np.sum(out * out)


def grid(W, p, q):  # 2-D indices, either axis off by one
    s = 0.0
    for i in range(p):
        for j in range(q):
            s += W[i, j] * W[i, j] * (i + 1.0)
    return s


def backwards(x, k):  # x[i - k]: -1 .. -len(x) wrap around, -len(x) - 1 raises
    s = 0.0
    for i in range(len(x)):
        s += x[i - k] * x[i]
    return s


def wrapped(x, m):  # an index computed with %
    s = 0.0
    for i in range(len(x)):
        s += x[(3 * i + 1) % m] * x[i]
    return s


def gather(x, idx):  # indices read from an integer array
    s = 0.0
    for k in range(len(idx)):
        s += x[idx[k]] ** 2
    return s


def mirrored(x, n):  # x[n - i]: a decreasing index
    s = 0.0
    for i in range(n):
        s += x[n - i] * x[i]
    return s


def masked(x, mask, n):  # a boolean mask, of the length of x or not
    s = 0.0
    for i in range(n):
        s += x[i] * x[i]
    return s + np.sum(x[mask] ** 2)


def stepped(x, n):  # a step of 2, and a loop running backwards
    s = 0.0
    for i in range(0, n, 2):
        s += x[i + 1] * x[i]
    for i in range(n - 1, -1, -1):
        s += x[i] ** 2
    return s


def after_loop(W, d):  # a check made in a loop that may not run proves nothing after it
    s = 0.0
    for j in range(d):
        s += W[0, j] ** 2
    return s + W[0, 0] * 2.0


def until_negative(x):  # an index in a while loop's condition
    s = 0.0
    i = 0
    while x[i] > 0.0:
        s += x[i] * x[i]
        i += 1
    return s


def unused_read(x, n):  # a read whose value nothing uses (the optimizer deletes it)
    y = x[n]  # noqa: F841
    return np.sum(x * x)


def last_items(x):  # constant indices
    return x[3] * x[0] + x[1] * x[-2]


def guarded(x, n):  # the access runs only for i < len(x): nothing may fire for the others
    s = 0.0
    for i in range(n):
        if i < len(x):
            s += x[i] * x[i]
    return s


def stops_early(x, n):  # breaks before it reaches the end of x, or not
    s = 0.0
    for i in range(n):
        s += x[i] * x[i]
        if s > 1.0:
            break
    return s


def triangle(w, x, d):  # a counter stepped in a triangular loop
    s = 0.0
    li = 0
    for c in range(d):
        for r in range(c + 1, d):
            s += w[li] * x[c] * x[r]
            li += 1
    return s


def rows(W, q):  # a row taken in the outer loop, indexed in the inner one
    s = 0.0
    for i in range(W.shape[0]):
        row = W[i]
        for j in range(q):
            s += row[j] ** 2
    return s


def counted(x, n):  # a while loop
    s = 0.0
    i = 0
    while i < n:
        s += x[i] * x[i]
        i += 1
    return s


RNG = np.random.default_rng(15)
X3 = np.array([0.5, 1.0, -2.0])
X4 = np.array([0.3, -1.2, 0.7, 1.1])
X5 = RNG.normal(size=5)
W34 = RNG.normal(size=(3, 4))
SMALL = np.array([0.1, 0.2, 0.1])

# (function, arguments in range, arguments out of range): CPython raises IndexError for the
# second (checked by the tests below before anything else) and not for the first.
CASES = [
    (first_squares, (X3, 3), (X3, 4)),
    (scaled_copy, (X5, 4, 4), (X5, 4, 5)),
    (grid, (W34, 3, 4), (W34, 3, 5)),
    (grid, (W34, 3, 4), (W34, 4, 4)),
    (backwards, (X4, 4), (X4, 5)),
    (wrapped, (X5, 5), (X5, 7)),
    (gather, (X3, np.array([0, 2, 1, -3])), (X3, np.array([0, 3, 1]))),
    (gather, (X3, np.array([0, 2, 1, -3])), (X3, np.array([2, -4]))),
    (mirrored, (X4, 3), (X4, 4)),
    (masked, (X3, np.array([True, False, True]), 3), (X3, np.array([True, False, True, True]), 3)),
    (masked, (X3, np.array([True, False, True]), 3), (X3, np.array([True, False]), 3)),
    (unused_read, (X3, 2), (X3, 3)),
    (last_items, (X4,), (X3,)),
    (stops_early, (X3, 10), (SMALL, 10)),
    (stepped, (X5, 4), (X5, 5)),
    (after_loop, (W34, 4), (np.zeros((0, 3)), 0)),
    (until_negative, (np.array([0.5, 2.0, -1.0]),), (np.array([0.5, 2.0, 1.0]),)),
    (triangle, (np.arange(1.0, 7.0), X4, 4), (np.arange(1.0, 6.0), X4, 4)),
    (rows, (W34, 4), (W34, 5)),
    (counted, (X3, 3), (X3, 4)),
]
IDS = [f"{c[0].__name__}-{k}" for k, c in enumerate(CASES)]
CORE = [c for c in CASES if c[0] in (first_squares, scaled_copy, grid, backwards, gather)]
CORE_IDS = [f"{c[0].__name__}-{k}" for k, c in enumerate(CORE)]


def fd_hessian(fn, args):
    """The Hessian of fn in args[0] by central differences of central differences."""
    x = args[0]
    n, h = x.size, 1e-4
    out = np.empty((n, n))

    def at(di, dj, i, j):
        y = x.copy().ravel()
        y[i] += di
        y[j] += dj
        return fn(y.reshape(x.shape), *copies(args[1:]))

    for i in range(n):
        for j in range(n):
            out[i, j] = (at(h, h, i, j) - at(h, -h, i, j) - at(-h, h, i, j) + at(-h, -h, i, j)) / (
                4 * h * h
            )
    return out.reshape(x.shape + x.shape)


def _direction(x):
    return np.linspace(-1.0, 1.0, x.size).reshape(x.shape)


# Each transform: how to build it, how to call it, and what the call must equal (from the
# original function only).
TRANSFORMS = {
    "grad": (
        lambda fn, b: grad(fn, wrt=0, backend=b),
        lambda t, args: t(*args),
        lambda fn, args: central(fn, args, 0),
    ),
    "value_and_grad": (
        lambda fn, b: value_and_grad(fn, wrt=0, backend=b),
        lambda t, args: t(*args),
        lambda fn, args: (fn(*copies(args)), central(fn, args, 0)),
    ),
    "checkpoint": (
        lambda fn, b: grad(fn, wrt=0, backend=b, checkpoint=True),
        lambda t, args: t(*args),
        lambda fn, args: central(fn, args, 0),
    ),
    "vjp": (
        lambda fn, b: vjp(fn, wrt=0, backend=b),
        lambda t, args: t(*args, cotangent=-1.5),
        lambda fn, args: -1.5 * central(fn, args, 0),
    ),
    "jvp": (
        lambda fn, b: jvp(fn, wrt=0, backend=b),
        lambda t, args: t(*args, tangent=_direction(args[0])),
        lambda fn, args: (fn(*copies(args)), directional(fn, args, 0, _direction(args[0]))),
    ),
    "jacobian": (
        lambda fn, b: jacobian(fn, wrt=0, backend=b),
        lambda t, args: t(*args),
        lambda fn, args: central(fn, args, 0),
    ),
    "hvp": (
        lambda fn, b: hvp(fn, wrt=0, backend=b),
        lambda t, args: t(*args, vector=_direction(args[0])),
        lambda fn, args: np.tensordot(fd_hessian(fn, args), _direction(args[0]), args[0].ndim),
    ),
    "hessian": (
        lambda fn, b: hessian(fn, wrt=0, backend=b),
        lambda t, args: t(*args),
        fd_hessian,
    ),
}

_BUILT: dict = {}


def built(fn, transform: str, backend: str):
    key = (fn, transform, backend)
    if key not in _BUILT:
        _BUILT[key] = TRANSFORMS[transform][0](fn, backend)
    return _BUILT[key]


def close(got, expected, tol):
    if isinstance(expected, tuple):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            close(g, e, tol)
        return
    np.testing.assert_allclose(np.asarray(got, dtype=float), expected, rtol=tol, atol=tol)


def check_case(fn, good, bad, transform, backend):
    with pytest.raises(IndexError):
        fn(*copies(bad))  # the oracle: CPython raises for these arguments
    fn(*copies(good))  # ... and not for these
    t = built(fn, transform, backend)
    call, expected = TRANSFORMS[transform][1], TRANSFORMS[transform][2]
    tol = 1e-5 if transform in ("hvp", "hessian") else 1e-7
    close(call(t, copies(good)), expected(fn, good), tol)
    with pytest.raises(IndexError):
        call(t, copies(bad))
    close(call(t, copies(good)), expected(fn, good), tol)  # nothing left broken


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "good", "bad"), CASES, ids=IDS)
def test_grad_raises_where_cpython_does(fn, good, bad, backend):
    check_case(fn, good, bad, "grad", backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("transform", [t for t in TRANSFORMS if t != "grad"])
@pytest.mark.parametrize(("fn", "good", "bad"), CORE, ids=CORE_IDS)
def test_every_transform_raises_where_cpython_does(fn, good, bad, transform, backend):
    check_case(fn, good, bad, transform, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_guarded_and_early_exits_raise_nothing(backend):
    """Accesses under a condition, or after which the loop may stop, are not checked for the
    iterations that do not make them."""
    for fn, args in [(guarded, (X3, 10)), (stops_early, (X3, 10)), (guarded, (X3, 0))]:
        fn(*copies(args))
        close(grad(fn, wrt=0, backend=backend)(*copies(args)), central(fn, args, 0), 1e-7)


@pytest.mark.parametrize(
    "args",
    [(X3, np.int64(4)), (X3, 4)],
)
def test_message_names_the_index_the_axis_and_the_line(args):
    g = grad(first_squares, wrt=0)
    with pytest.raises(IndexError, match=r"index 3 is out of bounds for axis 0 with size 3"):
        g(*args)
    with pytest.raises(IndexError, match=r"test_issue15_bounds\.py:\d+"):
        g(*args)


def test_message_of_a_negative_index():
    with pytest.raises(IndexError, match=r"index -5 is out of bounds for axis 0 with size 4"):
        grad(backwards, wrt=0)(X4, 5)
    with pytest.raises(IndexError, match=r"index 4 is out of bounds for axis 1 with size 4"):
        grad(grid, wrt=0)(W34, 3, 6)


def _body_lines(source: str) -> list[str]:
    return [line for line in source.splitlines() if line.startswith("    ")]


def _loop_depth_of_checks(source: str) -> list[int]:
    """For each check in the generated function, how many loops enclose it."""
    depths, stack = [], []
    for line in _body_lines(source):
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1] >= indent:
            stack.pop()
        text = line.strip()
        if text.startswith("rt.check_"):
            depths.append(len(stack))
        if re.match(r"(for|while) ", text):
            stack.append(indent)
    return depths


def test_affine_reads_are_checked_once_before_the_loop():
    source = grad(first_squares, wrt=0).source_for(X3, 3)
    assert source.count("rt.check_indices(x, 0, 0, ((1, range(n)),)") == 1
    assert _loop_depth_of_checks(source) == [0]
    source = grad(mirrored, wrt=0).source_for(X4, 3)
    assert _loop_depth_of_checks(source) == [0, 0]
    source = grad(grid, wrt=0).source_for(W34, 3, 4)
    assert _loop_depth_of_checks(source) == [0, 0]  # one per axis, before both loops
    source = grad(triangle, wrt=0).source_for(np.ones(6), X4, 4)
    assert max(_loop_depth_of_checks(source)) <= 1  # the counter's check leaves the inner loop


def test_loops_over_the_array_need_no_check():
    def rosen(x):
        s = 0.0
        for i in range(x.shape[0] - 1):
            s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
        return s

    def filled(x):
        n = len(x)
        out = np.empty((n, 2))
        for i in range(n):
            out[i, 0] = x[n - 1 - i]
            out[i, 1] = x[i]
        return np.sum(out * out)

    for fn in (rosen, filled):
        source = grad(fn, wrt=0).source_for(X4)
        assert "rt.check" not in source, source
        close(grad(fn, wrt=0)(X4), central(fn, (X4,), 0), 1e-7)


def test_non_affine_indices_are_checked_at_the_access():
    source = grad(gather, wrt=0).source_for(X3, np.array([0, 1]))
    assert _loop_depth_of_checks(source) == [1]
    source = grad(wrapped, wrt=0).source_for(X5, 5)
    assert _loop_depth_of_checks(source) == [1]


def test_python_backend_checks_only_the_reads_numpy_does_not_see():
    assert "rt.check" not in grad(first_squares, wrt=0, backend="python").source_for(X3, 3)
    source = grad(unused_read, wrt=0, backend="python").source_for(X3, 2)
    assert source.count("rt.check_index(x, 0, n,") == 1


def test_unoptimized_programs_are_checked_too():
    g = grad(first_squares, wrt=0, optimize=False)
    close(g(X3, 3), central(first_squares, (X3, 3), 0), 1e-7)
    with pytest.raises(IndexError):
        g(X3, 4)


@pytest.mark.parametrize("compiled", [False, True])
def test_check_indices_against_every_iteration(compiled):
    """rt.check_indices raises exactly when some iteration's index is out of range, naming
    the first one in the loops' order, as Python would meet it (plain and under numba)."""
    from numba import njit

    from ad_compiler import runtime as rt
    from ad_compiler import runtime_numba  # noqa: F401  (registers the numba versions)

    def one(x, offset, c, a, b, s):
        rt.check_indices(x, 0, offset, ((c, range(a, b, s)),), "here")

    def two(x, offset, c, a, b, s, c2, a2, b2, s2):
        rt.check_indices(x, 0, offset, ((c, range(a, b, s)), (c2, range(a2, b2, s2))), "here")

    calls = {1: njit(one), 2: njit(two)} if compiled else {1: one, 2: two}

    def check(x, offset, terms):
        calls[len(terms)](x, offset, *[v for c, r in terms for v in (c, r.start, r.stop, r.step)])

    rng = np.random.default_rng(3)
    for _ in range(300):
        size = int(rng.integers(0, 6))
        x = np.zeros(size)
        terms = []
        for _ in range(int(rng.integers(1, 3))):
            start, stop = (int(v) for v in rng.integers(-4, 5, 2))
            step = int(rng.choice([-2, -1, 1, 2]))
            terms.append((int(rng.integers(-2, 3)), range(start, stop, step)))
        offset = int(rng.integers(-6, 7))
        indices = [offset]
        for coef, r in terms:
            indices = [k + coef * i for k in indices for i in r]
        bad = [k for k in indices if not -size <= k < size]
        if bad:
            with pytest.raises(IndexError, match=rf"^index {bad[0]} is out of bounds"):
                check(x, offset, tuple(terms))
        else:
            check(x, offset, tuple(terms))


def test_errors_numba_raises_read_like_numpys_and_pickle():
    """numba raises the index errors with their numbers and Python writes the message (compiling
    str() of ints into every check took seconds): same text as NumPy's, an IndexError, and it
    survives pickling (a worker process sends it back)."""
    import pickle

    from numba import njit

    from ad_compiler import runtime as rt
    from ad_compiler import runtime_numba  # noqa: F401  (registers the numba versions)

    @njit
    def loops(x, n, m):
        rt.check_indices(x, 1, 2, ((3, range(n)), (-1, range(m, 0, -1))), "f.py:7")

    @njit
    def single(x, i):
        rt.check_index(x, 0, i, "f.py:8")

    @njit
    def mask(x, m):
        rt.check_mask(x, 0, m, "f.py:9")

    x = np.zeros((4, 5))
    np.testing.assert_equal(loops(x, 2, 3), None)  # indices 2+3i-j, i < 2, j in 3..1: -1..4
    cases = [
        # first out of bounds in the loops' order: i = 2, j = 3 gives 2 + 6 - 3 = 5
        (lambda: loops(x, 3, 3), "index 5 is out of bounds for axis 1 with size 5 (f.py:7)"),
        (lambda: single(x, -5), "index -5 is out of bounds for axis 0 with size 4 (f.py:8)"),
        (
            lambda: mask(x, np.ones(3, dtype=np.bool_)),
            "boolean index did not match indexed array along axis 0; size of axis is 4 but "
            "size of corresponding boolean axis is 3 (f.py:9)",
        ),
    ]
    for call, message in cases:
        with pytest.raises(IndexError) as caught:
            call()
        assert str(caught.value) == message
        assert caught.value.args == (message,)  # (as NumPy's)
        again = pickle.loads(pickle.dumps(caught.value))
        assert isinstance(again, IndexError) and str(again) == message
        context = type(caught.value)(f"batch 3: {caught.value}")  # adding context, re-raising
        assert str(context) == f"batch 3: {message}"
    with pytest.raises(IndexError, match=r"^index 4 is out of bounds for axis 0 with size 4"):
        x[4]  # NumPy's own words, for comparison


# -- found by an adversary: a check hoisted out of an else branch (a `continue`) ----------------


def skips_the_last(x, n):
    s = 0.0
    for i in range(n + 1):
        if i == n:
            continue
        s = s + x[i] ** 2
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_access_after_continue_is_checked_where_it_runs(backend):
    # the check over every iteration raised for x[4], which Python never reads
    x = np.array([0.3, -1.2, 0.7, 0.9])
    value, gradient = value_and_grad(skips_the_last, wrt=0, backend=backend)(x, 4)
    assert value == pytest.approx(skips_the_last(x, 4), rel=1e-14)
    np.testing.assert_allclose(gradient, 2.0 * x, rtol=1e-14)
    with pytest.raises(IndexError):  # x[4] at n = 5: Python reads it
        grad(skips_the_last, wrt=0, backend=backend)(x, 5)
