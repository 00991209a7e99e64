"""Tests for ad_compiler.runtime, as plain Python and under numba (via ad_compiler.runtime_numba).

Every check calls the runtime through a small function written like generated code
(``rt.rsum(x, 1, True)`` with literal axis/keepdims), once as plain Python and once @njit-compiled.
numba compiles once per (function, argument types), so wrappers are cached by source text and the
cases are chosen to keep the number of distinct compilations small.
"""

import importlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numba import njit
from numba.core.errors import TypingError

import ad_compiler.runtime_numba  # noqa: F401  (registers the numba implementations)
from ad_compiler import runtime as rt

_WRAPPERS = {}


def wrapper(body, args="x"):
    """``def f(<args>): return <body>`` compiled with @njit (cached by source text).

    The plain Python function is available as ``.py_func``.
    """
    src = f"def f({args}):\n    return {body}\n"
    if src not in _WRAPPERS:
        namespace = {"rt": rt, "np": np}
        exec(src, namespace)
        _WRAPPERS[src] = njit(namespace["f"])
    return _WRAPPERS[src]


def both(body, args, *values):
    """Results of the wrapper as (plain Python, numba), checking that inputs are not mutated."""
    f = wrapper(body, args)
    copies = [np.copy(v) for v in values]
    results = (f.py_func(*values), f(*values))
    for v, c in zip(values, copies, strict=True):
        np.testing.assert_array_equal(v, c)
    return results


def tolerance(dtype):
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}


def assert_like(actual, expected, dtype=None):
    """actual matches expected in kind (scalar vs array), shape, dtype (arrays) and value."""
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), f"expected an array, got {actual!r}"
        assert actual.shape == expected.shape
        assert actual.dtype == (dtype or expected.dtype)
    else:
        assert not isinstance(actual, np.ndarray), f"expected a scalar, got {actual!r}"
    np.testing.assert_allclose(actual, expected, **tolerance(dtype or np.result_type(expected)))


def random_array(shape, dtype, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


# --------------------------------------------------------------------------------------------
# NumPy references for the adjoints (independent of the implementation under test).


def expand(a, axis, keepdims):
    """Reduction result a reshaped so that it broadcasts against the reduced array."""
    return np.expand_dims(a, axis) if axis is not None and not keepdims else a


def ref_reduce_grad(g, x, axis, keepdims):
    return np.broadcast_to(expand(g, axis, keepdims), x.shape).astype(x.dtype)


def ref_mean_grad(g, x, axis, keepdims):
    count = x.size if axis is None else x.shape[axis]
    return (ref_reduce_grad(g, x, axis, keepdims) / count).astype(x.dtype)


def ref_extreme_grad(g, x, out, axis, keepdims):
    """Loop over 1-D slices along axis: g of the slice shared equally by the slice's extremes."""
    if axis is None:
        xs, gs, outs = x.reshape(1, -1), np.reshape(g, (1,)), np.reshape(out, (1,))
    else:
        xs = np.moveaxis(x, axis, -1)
        gs = np.broadcast_to(expand(g, axis, keepdims), x.shape)
        gs = np.moveaxis(gs, axis, -1)[..., 0]
        outs = np.moveaxis(np.broadcast_to(expand(out, axis, keepdims), x.shape), axis, -1)[..., 0]
    res = np.zeros(xs.shape, x.dtype)
    for idx in np.ndindex(xs.shape[:-1]):
        hits = xs[idx] == outs[idx]
        res[idx][hits] = gs[idx] / hits.sum()
    return res.reshape(x.shape) if axis is None else np.moveaxis(res, -1, axis)


# --------------------------------------------------------------------------------------------
# Reductions and their adjoints.  One wrapper computes all of them for one (axis, keepdims).

REDUCTION_BODY = (
    "(rt.rsum(x, {a}, {k}), rt.rmean(x, {a}, {k}), rt.rmax(x, {a}, {k}), rt.rmin(x, {a}, {k}),"
    " rt.reduce_grad(g, x, {a}, {k}), rt.mean_grad(g, x, {a}, {k}),"
    " rt.extreme_grad(g, x, rt.rmax(x, {a}, {k}), {a}, {k}),"
    " rt.extreme_grad(g, x, rt.rmin(x, {a}, {k}), {a}, {k}))"
)


def check_reductions(x, axis, keepdims):
    dtype = x.dtype
    kw = {"axis": axis, "keepdims": keepdims}
    sums = np.sum(x, **kw)
    g = random_array(np.shape(sums), dtype, seed=1)
    if not isinstance(sums, np.ndarray):
        g = dtype.type(g)  # a scalar gradient for a scalar result
    mx, mn = np.max(x, **kw), np.min(x, **kw)
    expected = (
        sums,
        np.mean(x, **kw),
        mx,
        mn,
        ref_reduce_grad(g, x, axis, keepdims),
        ref_mean_grad(g, x, axis, keepdims),
        ref_extreme_grad(g, x, mx, axis, keepdims),
        ref_extreme_grad(g, x, mn, axis, keepdims),
    )
    body = REDUCTION_BODY.format(a=axis, k=keepdims)
    for results in both(body, "x, g", x, g):
        for actual, want in zip(results, expected, strict=True):
            assert_like(actual, want, dtype if isinstance(want, np.ndarray) else None)


# (dtype, shape, axis, keepdims, strided): ndim 1..3, float64 and float32, both keepdims, positive
# and negative axes, scalar results, a non-contiguous input.  Each case costs several numba
# compilations (seconds), so the list is short; the other reduction tests reuse these cases.
REDUCTION_CASES = [
    (np.float64, (5,), None, False, False),
    (np.float64, (5,), -1, False, False),
    (np.float64, (3, 4), 0, False, True),
    (np.float64, (3, 4), -1, True, False),
    (np.float64, (2, 3, 4), None, True, False),
    (np.float32, (2, 3, 4), -2, False, False),
]


@pytest.mark.parametrize("dtype, shape, axis, keepdims, strided", REDUCTION_CASES)
def test_reductions_and_adjoints(dtype, shape, axis, keepdims, strided):
    if strided:
        x = random_array((*shape[:-1], 2 * shape[-1]), dtype)[..., ::2]
        assert not x.flags.c_contiguous
    else:
        x = random_array(shape, dtype)
    check_reductions(x, axis, keepdims)


def reductions_2d_last_axis(x, g):
    """(plain Python, numba) results of REDUCTION_BODY for axis=-1, keepdims=True."""
    return both(REDUCTION_BODY.format(a=-1, k=True), "x, g", x, g)


def test_extreme_grad_splits_ties_evenly():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    for results in reductions_2d_last_axis(x, np.array([[6.0], [3.0]])):
        np.testing.assert_allclose(results[6], [[0.0, 3.0, 3.0], [1.0, 1.0, 1.0]])  # max
        np.testing.assert_allclose(results[7], [[6.0, 0.0, 0.0], [1.0, 1.0, 1.0]])  # min


def test_nan_propagates_through_max():
    x = np.array([[1.0, np.nan, 3.0], [2.0, 5.0, 4.0]])
    for results in reductions_2d_last_axis(x, np.array([[1.0], [1.0]])):
        np.testing.assert_array_equal(results[2], [[np.nan], [5.0]])
        np.testing.assert_array_equal(results[6], [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's mean of an empty slice
def test_empty_reductions():
    check_reductions(np.zeros((0, 3)), -1, True)  # nothing to reduce: empty results
    f = wrapper(REDUCTION_BODY.format(a=-1, k=True), "x, g")
    for call in (f, f.py_func):
        with pytest.raises(ValueError):  # max/min of an empty slice
            call(np.zeros((3, 0)), np.zeros((3, 1)))


def test_reductions_of_scalars_return_them():
    for x in (2.5, np.float32(2.5)):
        for r in both(
            "(rt.rsum(x, None, False), rt.rmean(x, None, False), rt.rmax(x, None, False),"
            " rt.rmin(x, None, False))",
            "x",
            x,
        ):
            assert r == (2.5, 2.5, 2.5, 2.5)
        for r in both(
            "(rt.reduce_grad(3.0, x, None, False), rt.mean_grad(3.0, x, None, False),"
            " rt.extreme_grad(3.0, x, x, None, False))",
            "x",
            x,
        ):
            assert r == (3.0, 3.0, 3.0)


def test_zero_dim_arrays_give_scalars_like_numpy():
    x = np.array(-2.5)
    body = "(rt.rsum(x, None, True), rt.rmax(x, None, False), rt.step(x), rt.zeros_like(x))"
    for total, mx, step, zeros in both(body, "x", x):
        assert_like(total, np.sum(x, keepdims=True))
        assert_like(mx, np.max(x))
        assert_like(step, np.heaviside(x, 0.5))
        assert_like(zeros, np.zeros_like(x))


def test_reduction_axis_out_of_range_raises():
    f = wrapper("rt.rsum(x, 2, True)")
    for call in (f, f.py_func):
        with pytest.raises(ValueError):  # numpy's AxisError is a ValueError
            call(np.ones((2, 2)))


def test_reduction_keepdims_must_be_literal_under_numba():
    f = wrapper("rt.rsum(x, 0, keepdims)", "x, keepdims")
    with pytest.raises(TypingError, match="keepdims must be a literal"):
        f(np.ones(3), False)


# Hypothesis: random shapes and values (few distinct values, so max/min have ties) with the
# (ndim, axis, keepdims) combinations compiled above (so numba compiles nothing new).
FLOAT64_CASES = [
    (len(s), a, k) for d, s, a, k, strided in REDUCTION_CASES if d == np.float64 and not strided
]


@st.composite
def reduction_inputs(draw, cases):
    ndim, axis, keepdims = draw(st.sampled_from(cases))
    shape = draw(st.tuples(*[st.integers(1, 4)] * ndim))
    values = st.integers(-2, 2).map(float)
    return draw(hnp.arrays(np.float64, shape, elements=values)), axis, keepdims


@settings(max_examples=30, deadline=None)
@given(reduction_inputs(FLOAT64_CASES))
def test_reductions_property(inputs):
    check_reductions(*inputs)


ALL_AXES = [
    (ndim, axis, keepdims)
    for ndim in range(5)
    for axis in [None, *range(-ndim, ndim)]
    for keepdims in (False, True)
]


@settings(max_examples=30, deadline=None)
@given(reduction_inputs(ALL_AXES), st.integers(0, 2**32 - 1))
def test_adjoint_identities_python(inputs, seed):
    """<rsum(x), g> == <x, reduce_grad(g)> etc., for any ndim (plain Python only)."""
    x, axis, keepdims = inputs
    g = random_array(np.shape(np.sum(x, axis=axis, keepdims=keepdims)), np.float64, seed)
    for reduce, adjoint in ((rt.rsum, rt.reduce_grad), (rt.rmean, rt.mean_grad)):
        lhs = np.vdot(reduce(x, axis, keepdims), g)
        rhs = np.vdot(x, adjoint(g, x, axis, keepdims))
        np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-9)
    out = rt.rmax(x, axis, keepdims)
    np.testing.assert_allclose(
        rt.extreme_grad(g, x, out, axis, keepdims), ref_extreme_grad(g, x, out, axis, keepdims)
    )


# --------------------------------------------------------------------------------------------
# sum_to


@pytest.mark.parametrize(
    "dtype, g_shape, like_shape",
    [
        (np.float64, (4, 3), (3,)),
        (np.float64, (2, 3, 4), (3, 1)),
        (np.float64, (2, 3, 4), (1, 3, 4)),
        (np.float64, (3, 4), (3, 4)),
        (np.float32, (2, 3, 4), (3, 1)),
    ],
)
def test_sum_to(dtype, g_shape, like_shape):
    g = random_array(g_shape, dtype)
    like = np.ones(like_shape, dtype)
    lead = len(g_shape) - len(like_shape)
    expected = g.sum(axis=tuple(range(lead)))
    ones = tuple(k for k, n in enumerate(like_shape) if n == 1 and expected.shape[k] != 1)
    expected = expected.sum(axis=ones, keepdims=True)
    for r in both("rt.sum_to(g, like)", "g, like", g, like):
        assert_like(r, expected)


def test_sum_to_scalar_cases():
    g, like = random_array((2, 3), np.float64), np.ones((2, 3), np.float32)
    body = "(rt.sum_to(g, 1.0), rt.sum_to(2.5, like), rt.sum_to(2.5, 1.0))"
    for total, filled, scalar in both(body, "g, like", g, like):
        assert_like(total, g.sum())
        assert_like(filled, np.full((2, 3), 2.5, np.float32))
        assert scalar == 2.5


def test_sum_to_casts_to_like_dtype_and_broadcasts_up():
    g = random_array((2, 3), np.float64)
    for r in both("rt.sum_to(g, like)", "g, like", g, np.ones((1, 3), np.float32)):
        assert_like(r, g.sum(axis=0, keepdims=True).astype(np.float32))
    # g with a size-1 axis where like is larger: g is broadcast up first (not in the spec,
    # but the natural generalisation).
    g = random_array((3, 1), np.float64)
    for r in both("rt.sum_to(g, like)", "g, like", g, np.ones((2, 3, 4))):
        assert_like(r, np.broadcast_to(g, (2, 3, 4)))


def test_sum_to_incompatible_shapes_raise():
    f = wrapper("rt.sum_to(g, like)", "g, like")
    for call in (f, f.py_func):
        with pytest.raises(ValueError):
            call(np.ones((2, 3)), np.ones((2, 2)))


@st.composite
def broadcast_pair(draw):
    """(g, like): like.shape broadcast up to g.shape by leading axes and stretched size-1 axes."""
    like_shape = draw(st.lists(st.sampled_from([1, 1, 2, 3]), min_size=1, max_size=3))
    lead = draw(st.lists(st.integers(1, 3), max_size=3 - len(like_shape)))
    stretched = [draw(st.integers(1, 3)) if n == 1 else n for n in like_shape]
    g = draw(hnp.arrays(np.float64, tuple(lead + stretched), elements=st.floats(-10, 10)))
    return g, np.ones(like_shape)


@settings(max_examples=30, deadline=None)
@given(broadcast_pair(), st.integers(0, 2**32 - 1))
def test_sum_to_property(pair, seed):
    """sum_to is the adjoint of broadcasting: <broadcast(y), g> == <y, sum_to(g, y)>."""
    g, like = pair
    y = random_array(like.shape, np.float64, seed)
    lhs = np.vdot(np.broadcast_to(y, g.shape), g)
    for r in both("rt.sum_to(g, like)", "g, like", g, like):
        assert r.shape == like.shape and r.dtype == like.dtype
        np.testing.assert_allclose(np.vdot(y, r), lhs, rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------------------------
# Elementwise and shape helpers


@pytest.mark.parametrize(
    "x",
    [
        np.float32(2.0),
        np.array([-1.0, 0.0, 2.0, np.nan]),
        random_array((3, 4), np.float32).round(),  # has zeros
        random_array((2, 3, 2), np.float64)[:, ::2, :],
    ],
)
def test_zeros_like_and_step(x):
    for zeros, step in both("(rt.zeros_like(x), rt.step(x))", "x", x):
        assert_like(zeros, np.zeros_like(x) if isinstance(x, np.ndarray) else 0.0)
        np.testing.assert_array_equal(step, np.heaviside(x, 0.5))
        if isinstance(x, np.ndarray):
            assert zeros.dtype == step.dtype == x.dtype
            assert step.shape == x.shape
    python_zero = rt.zeros_like(x)
    if isinstance(x, np.float32):
        assert python_zero.dtype == np.float32


def test_step_at_zero_is_half():
    for r in both("rt.step(x)", "x", 0.0):
        assert r == 0.5


@pytest.mark.parametrize(
    "g, like",
    [
        (np.arange(6.0), np.ones((2, 3))),
        (np.arange(6.0).reshape(2, 3).T, np.ones(6)),  # non-contiguous g
        (np.array([[4.0]]), 1.0),
        (4.0, np.ones((1, 1))),
    ],
)
def test_reshape_to(g, like):
    expected = np.reshape(g, np.shape(like))
    for r in both("rt.reshape_to(g, like)", "g, like", g, like):
        assert_like(r, expected if np.ndim(like) else float(expected))


# --------------------------------------------------------------------------------------------
# Scatter-adds (in place, repeated indices accumulate)


def scatter(body, args, target, *rest):
    """Run an add_at call both ways on copies of target; return the two updated targets."""
    f = wrapper(body, args)
    out = []
    for call in (f.py_func, f):
        t = target.copy()
        assert call(t, *rest) is None
        out.append(t)
    return out


@pytest.mark.parametrize(
    "target, idx, values",
    [
        (np.zeros(5), np.array([1, 3, 1, -1]), np.array([1.0, 2.0, 3.0, 4.0])),
        (np.zeros(5, np.float32), np.array([0, 0, 2]), 1.5),
        (np.zeros((4, 2)), np.array([3, 0, 3]), np.arange(6.0).reshape(3, 2)),  # rows
        (np.zeros(5), 2, 7.0),
    ],
)
def test_add_at_1d(target, idx, values):
    expected = target.copy()
    np.add.at(expected, idx, values)
    for t in scatter("rt.add_at_1d(t, idx, v)", "t, idx, v", target, idx, values):
        assert_like(t, expected)


@pytest.mark.parametrize(
    "rows, cols, values",
    [
        (np.array([0, 2, 0, -1]), np.array([1, 1, 1, 0]), np.array([1.0, 2.0, 3.0, 4.0])),
        (np.array([0, 0, 1]), np.array([2, 2, 2]), 0.5),
        (1, np.array([0, 2, 0]), np.array([1.0, 2.0, 3.0])),
        (np.array([0, 2, 2]), 1, np.array([1.0, 2.0, 3.0])),
    ],
)
def test_add_at_2d(rows, cols, values):
    target = np.zeros((3, 3))
    expected = target.copy()
    np.add.at(expected, (rows, cols), values)
    for t in scatter("rt.add_at_2d(t, r, c, v)", "t, r, c, v", target, rows, cols, values):
        assert_like(t, expected)


def test_add_at_out_of_bounds_raises():
    f1 = wrapper("rt.add_at_1d(t, idx, v)", "t, idx, v")
    f2 = wrapper("rt.add_at_2d(t, r, c, v)", "t, r, c, v")
    for call in (f1, f1.py_func):
        with pytest.raises(IndexError):
            call(np.zeros(5), np.array([1, 5]), np.array([1.0, 2.0]))
    for call in (f2, f2.py_func):
        with pytest.raises(IndexError):
            call(np.zeros((3, 3)), np.array([0, 3]), np.array([1, 1]), np.array([1.0, 2.0]))


# --------------------------------------------------------------------------------------------


def test_registration_is_idempotent():
    importlib.import_module("ad_compiler.runtime_numba")
    importlib.reload(ad_compiler.runtime_numba)
    # A wrapper compiled after the reload (new source text, so not cached).
    assert wrapper("rt.step(x) + 1.0")(0.0) == 1.5


def test_runtime_module_does_not_import_numba():
    """runtime.py must stay cheap to import: load it on its own in a fresh interpreter."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('rt', {rt.__file__!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "assert 'numba' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
