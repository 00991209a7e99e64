"""Issue 13: reductions, scans and elementwise functions (rules/reductions.py and the SymPy
table of rules/elementwise.py).

Each case is a function `op` of one or two arrays; the checked function is
`np.sum(np.sin(2 y) + 0.3 y**2)` of its result y. Values against the original function run by
CPython, gradients (with respect to every array argument) against central differences and,
where autograd has the function, autograd; float64 and float32 on the python backend; and a
sample of 8 cases inside a loop on the numba backend (every case with AD_COMPILER_FULL_SWEEP=1,
in groups of 8, one compilation each).
"""

from __future__ import annotations

import os
import types

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from gradcheck_helpers import central

from ad_compiler import value_and_grad
from ad_compiler.errors import ADCompilerError

rng = np.random.default_rng(1313)


def R(*shape):
    return rng.standard_normal(shape)


def P(*shape):
    """Positive entries away from 0."""
    return 0.5 + rng.random(shape)


def with_zeros(x, *positions):
    x = x.copy()
    for p in positions:
        x[p] = 0.0
    return x


NANS = np.array([[0.0, np.nan, 0.0], [np.nan, 0.0, 0.0]])
DISTINCT = np.array([0.3, -1.2, 2.5, 0.1, -0.7, 1.9, -2.2])  # sort: no ties

# (name, op, args): op takes the args and returns an array or a number.
CASES = [
    ("prod-1d", lambda a: np.prod(a), (R(5),)),
    ("prod-axis0", lambda a: np.prod(a, axis=0), (R(3, 4),)),
    ("prod-axis1-keep", lambda a: np.prod(a, axis=1, keepdims=True), (R(3, 4),)),
    ("prod-axes", lambda a: np.prod(a, axis=(0, 2)), (R(2, 3, 2),)),
    ("prod-one-zero", lambda a: np.prod(a, axis=1), (with_zeros(R(3, 4), (0, 1)),)),
    ("prod-two-zeros", lambda a: np.prod(a), (with_zeros(R(2, 3), (0, 1), (1, 2)),)),
    ("prod-method", lambda a: a.prod(-1), (R(2, 2, 3),)),
    ("var", lambda a: np.var(a), (R(3, 4),)),
    ("var-axis-ddof", lambda a: np.var(a, axis=1, ddof=1), (R(3, 4),)),
    ("var-axes-keep", lambda a: np.var(a, axis=(0, 2), keepdims=True), (R(2, 3, 2),)),
    ("var-method", lambda a: a.var(0), (R(4, 2),)),
    ("std", lambda a: np.std(a, axis=0, ddof=1, keepdims=True), (R(3, 4),)),
    ("std-method", lambda a: a.std(), (R(5),)),
    ("std-of-list", lambda a: np.std([a[0], a[1] + 2.0]), (R(2),)),
    ("ptp", lambda a: np.ptp(a, axis=1), (R(3, 4),)),
    ("ptp-axes", lambda a: np.ptp(a, axis=(0, 2), keepdims=True), (R(2, 3, 2),)),
    ("average", lambda a: np.average(a, axis=0), (R(3, 4),)),
    ("nansum", lambda a: np.nansum(a + NANS, axis=1), (R(2, 3),)),
    ("nanmean", lambda a: np.nanmean(a * a + NANS), (R(2, 3),)),
    ("nanmean-axis", lambda a: np.nanmean(a + NANS, axis=0, keepdims=True), (R(2, 3),)),
    ("amax-amin", lambda a: np.amax(a, axis=0) - np.amin(a, axis=1) + a.max(), (R(3, 3),)),
    ("cumsum-1d", lambda a: np.cumsum(a), (R(5),)),
    ("cumsum-axis0", lambda a: np.cumsum(a, axis=0), (R(3, 4),)),
    ("cumsum-flat", lambda a: np.cumsum(a), (R(3, 4),)),
    ("cumsum-3d", lambda a: np.cumsum(a, axis=-1), (R(2, 3, 2),)),
    ("cumsum-method", lambda a: a.cumsum(1), (R(3, 4),)),
    ("cumprod-1d", lambda a: np.cumprod(a), (R(5),)),
    ("cumprod-axis1", lambda a: np.cumprod(a, axis=1), (R(3, 4),)),
    ("cumprod-zeros", lambda a: np.cumprod(a, axis=1), (with_zeros(R(3, 4), (0, 1), (1, 2)),)),
    ("cumprod-flat", lambda a: a.cumprod(), (R(2, 3),)),
    ("diff", lambda a: np.diff(a), (R(3, 4),)),
    ("diff-n2-axis0", lambda a: np.diff(a, 2, axis=0), (R(4, 3),)),
    ("diff-3d", lambda a: np.diff(a, n=1, axis=1), (R(2, 3, 2),)),
    ("sort-1d", lambda a: np.sort(a) * np.arange(7.0), (DISTINCT,)),
    ("sort-axis0", lambda a: np.sort(a, axis=0), (R(4, 3),)),
    ("sort-flat", lambda a: np.sort(a, axis=None) * np.arange(6.0), (R(2, 3),)),
    ("sort-3d", lambda a: np.sort(a), (R(2, 2, 3),)),
    ("logaddexp", lambda a, b: np.logaddexp(a, b), (R(3, 4), R(4))),
    ("logaddexp-large", lambda a, b: np.logaddexp(a * 500.0, b), (R(3), R(3))),
    ("logaddexp2", lambda a, b: np.logaddexp2(a, b), (R(2, 3), R(2, 1))),
    ("exp2", lambda a: np.exp2(a), (R(3, 2),)),
    ("sinc", lambda a: np.sinc(a), (with_zeros(R(5), 2),)),
    ("cbrt", lambda a: np.cbrt(a), (R(6),)),
    ("fmax", lambda a, b: np.fmax(a, b), (R(3, 4), R(4))),
    ("fmin", lambda a, b: np.fmin(a, b + NANS), (R(2, 3), R(2, 3))),
    ("deg2rad", lambda a: np.deg2rad(a * 50.0) + np.radians(a), (R(3),)),
    ("rad2deg", lambda a: (np.rad2deg(a) + np.degrees(a)) / 50.0, (R(2, 2),)),
    ("true_divide", lambda a, b: np.true_divide(a, b), (R(3), P(3))),
    ("square-reciprocal", lambda a: np.square(a) + np.reciprocal(a + 3.0), (P(4),)),
    ("nan_to_num", lambda a: np.nan_to_num(a + NANS), (R(2, 3),)),
    ("clip-keywords", lambda a: np.clip(a, a_min=-0.5, a_max=0.7), (R(3, 4),)),
]
# Cases autograd has no gradient for (its grad raises NotImplementedError or is NaN).
NO_AUTOGRAD = {
    "prod-axes",
    "prod-one-zero",
    "prod-two-zeros",
    "ptp",
    "ptp-axes",
    "average",
    "nansum",
    "nanmean",
    "nanmean-axis",
    "cumprod-1d",
    "cumprod-axis1",
    "cumprod-zeros",
    "cumprod-flat",
    "sort-axis0",
    "sort-flat",
    "sort-3d",
    "cbrt",
    "sinc",  # (autograd's is NaN at 0)
}


def weighted(y):
    return np.sum(np.sin(2.0 * y) + 0.3 * y * y)


def scalar_of(op, n):
    def f1(a):
        return weighted(op(a))

    def f2(a, b):
        return weighted(op(a, b))

    return f1 if n == 1 else f2


def autograd_of(op, n):
    names = dict(op.__globals__, np=anp)
    op = types.FunctionType(op.__code__, names, op.__name__, op.__defaults__)
    if n == 1:
        return lambda a: anp.sum(anp.sin(2.0 * op(a)) + 0.3 * op(a) * op(a))
    return lambda a, b: anp.sum(anp.sin(2.0 * op(a, b)) + 0.3 * op(a, b) * op(a, b))


def check(fn, args, backend, tol, ag=None):
    value, grads = value_and_grad(fn, wrt=tuple(range(len(args))), backend=backend)(*args)
    np.testing.assert_allclose(value, fn(*args), rtol=tol, atol=tol)
    for i, got in enumerate(grads):
        assert np.shape(got) == args[i].shape and got.dtype == args[i].dtype
        want = central(fn, [a.astype(np.float64) for a in args], i)
        np.testing.assert_allclose(got, want, rtol=10 * tol, atol=10 * tol)
        if ag is not None:
            np.testing.assert_allclose(got, autograd.grad(ag, i)(*args), rtol=tol, atol=tol)


@pytest.mark.parametrize("name,op,args", CASES, ids=[c[0] for c in CASES])
def test_float64(name, op, args):
    ag = None if name in NO_AUTOGRAD else autograd_of(op, len(args))
    check(scalar_of(op, len(args)), args, "python", 1e-7, ag)


@pytest.mark.parametrize("name,op,args", CASES, ids=[c[0] for c in CASES])
def test_float32(name, op, args):
    args32 = tuple(a.astype(np.float32) for a in args)
    check(scalar_of(op, len(args)), args32, "python", 2e-3)


FULL = os.environ.get("AD_COMPILER_FULL_SWEEP") == "1"
# One group of 8 by default (numba compiles each group for a minute or more on a busy machine);
# every case, in groups of 8, with AD_COMPILER_FULL_SWEEP=1.
SAMPLE = (
    "prod-axes",
    "var-axis-ddof",
    "std",
    "cumsum-axis0",
    "cumprod-zeros",
    "diff-n2-axis0",
    "sort-axis0",
    "logaddexp",
)


def _groups():
    if not FULL:
        return [[c for c in CASES if c[0] in SAMPLE]]
    return [CASES[i : i + 8] for i in range(0, len(CASES), 8)]


op1 = op2 = op3 = op4 = op5 = op6 = op7 = op8 = None  # the ops of looped8, set per group


def looped8(a1, b1, a2, b2, a3, b3, a4, b4, a5, b5, a6, b6, a7, b7, a8, b8):
    s = 0.0
    for i in range(2):
        s = s + weighted(op1(a1 * (i + 1.0), b1)) + weighted(op2(a2 * (i + 1.0), b2))
        s = s + weighted(op3(a3 * (i + 1.0), b3)) + weighted(op4(a4 * (i + 1.0), b4))
        s = s + weighted(op5(a5 * (i + 1.0), b5)) + weighted(op6(a6 * (i + 1.0), b6))
        s = s + weighted(op7(a7 * (i + 1.0), b7)) + weighted(op8(a8 * (i + 1.0), b8))
    return s


def looped_group(ops):
    """looped8 computing every op of a group (an op of one argument has b added to it)."""

    def two(op):
        return op if op.__code__.co_argcount == 2 else (lambda a, b: op(a) + b)

    ops = [two(op) for op in ops] + [lambda a, b: a + b] * (8 - len(ops))
    names = dict(looped8.__globals__, **{f"op{i + 1}": op for i, op in enumerate(ops)})
    return types.FunctionType(looped8.__code__, names, "looped8")


@pytest.mark.parametrize("group", _groups(), ids=lambda g: "+".join(c[0] for c in g))
def test_in_a_loop_on_numba(group):
    args = []
    for _, op, xs in group:
        args += list(xs) if len(xs) == 2 else [xs[0], np.zeros(np.shape(op(xs[0])))]
    args += [np.ones(2), np.ones(2)] * (8 - len(group))
    check(looped_group([c[1] for c in group]), tuple(args), "numba", 1e-7)


# --------------------------------------------------------------------------------------------
# Numbers, and what is refused


def var_of_number(x):
    return np.var(x) + np.std(x * 2.0) + x


def cumsum_of_number(x):
    return np.sum(np.cumsum(x * 3.0) * 2.0)


@pytest.mark.parametrize("fn", [var_of_number, cumsum_of_number])
def test_numbers(fn):
    value, g = value_and_grad(fn, backend="python")(0.7)
    assert value == pytest.approx(fn(0.7))
    assert g == pytest.approx(central(fn, [0.7], 0))


def cumsum_two_axes(a):
    return np.sum(np.cumsum(a, axis=(0, 1)))


def diff_bad_axis(a):
    return np.sum(np.diff(a, axis=2))


def var_negative_ddof(a):
    return np.var(a, ddof=-1)


def prod_dtype(a):
    return np.prod(a, dtype=np.float32)


def sort_of_number(a):
    return np.sort(a[0, 0])


@pytest.mark.parametrize(
    "fn,says",
    [
        (cumsum_two_axes, "tuple of axes"),
        (diff_bad_axis, "axis=2"),
        (var_negative_ddof, "ddof=-1"),
        (prod_dtype, "dtype="),
        (sort_of_number, "of a number"),
    ],
)
def test_refused(fn, says):
    with pytest.raises(ADCompilerError, match=says):
        value_and_grad(fn, backend="python")(R(3, 4))


def std_of_equal_entries(a):
    return np.sum(np.std(a, axis=0, keepdims=True) * np.array([[1.0, -2.0, 0.5]]))


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_std_where_it_is_zero(backend):
    # std of a slice of one entry is 0 whatever the entry: gradient 0 (not 0 / 0 = NaN)
    a = R(1, 3)
    value, g = value_and_grad(std_of_equal_entries, backend=backend)(a)
    assert value == 0.0
    np.testing.assert_array_equal(g, np.zeros_like(a))
    np.testing.assert_allclose(g, central(std_of_equal_entries, [a], 0), atol=1e-9)
