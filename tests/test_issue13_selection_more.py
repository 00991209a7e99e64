"""Issue 13: np.split, np.array_split, np.vsplit, np.hsplit, np.dsplit, np.take / .take(),
np.median and np.select (rules/selection_more.py).

As in test_issue13_selection.py: the checked function is `np.sum(np.sin(op(...)) * weights)`
with weights depending on the position (a split's pieces are put back together reordered and
scaled, so each piece gets its own gradient); values against CPython's run of the original,
gradients against central differences and autograd (float64) and central differences (float32)
on the python backend; a sample of the cases once more inside a loop on numba (every case with
AD_COMPILER_FULL_SWEEP=1).
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

rng = np.random.default_rng(13)


def R(*shape):
    return rng.standard_normal(shape)


def weighted(y):
    return np.sum(np.sin(y) * (1.0 + np.arange(y.size).reshape(y.shape)))


CASES = [
    ("split-1d", lambda a: np.concatenate((np.split(a, 3)[2], np.split(a, 3)[0] * 2.0)), (R(6),)),
    (
        "split-axis",
        lambda a: np.concatenate((np.split(a, 2, axis=1)[1] ** 2, np.split(a, 2, 1)[0]), 1),
        (R(3, 4, 2),),
    ),
    (
        "split-indices",
        lambda a: np.concatenate((np.split(a, [1, -2])[2] * 3.0, np.split(a, [1, -2])[0])),
        (R(7, 2),),
    ),
    (
        "split-beyond",
        lambda a: np.split(a, (2, 9), axis=-1)[1] * np.sum(np.split(a, (2, 9), -1)[2]),
        (R(2, 5),),
    ),
    ("array_split", lambda a: np.array_split(a, 3)[0] * np.sum(np.array_split(a, 3)[2]), (R(7),)),
    (
        "array_split-axis",
        lambda a: np.concatenate((np.array_split(a, 4, 2)[3], np.array_split(a, 4, 2)[1]), 2),
        (R(2, 2, 7),),
    ),
    (
        "array_split-indices",
        lambda a: np.array_split(a, [3, 5], axis=1)[1] * 2.0,
        (R(4, 7),),
    ),
    ("vsplit", lambda a: np.vsplit(a, 2)[1] - np.vsplit(a, 2)[0] ** 2, (R(4, 3),)),
    ("hsplit-1d", lambda a: np.hsplit(a, [2])[0] * np.sum(np.hsplit(a, [2])[1]), (R(5),)),
    ("hsplit-3d", lambda a: np.hsplit(a, 2)[1] * 3.0 + np.hsplit(a, 2)[0], (R(2, 4, 3),)),
    ("dsplit", lambda a: np.dsplit(a, [1])[1] * np.dsplit(a, [1])[0], (R(2, 3, 4),)),
    ("take-flat", lambda a: np.take(a, np.array([0, 5, 5, -1])), (R(2, 3),)),
    ("take-axis", lambda a: np.take(a, np.array([[0, 2], [2, -3]]), axis=1), (R(2, 4, 3),)),
    ("take-int", lambda a: np.take(a, 1, axis=-1) * np.take(a, -2), (R(3, 4),)),
    ("take-list", lambda a: np.take(a, [2, 0, 2], 0), (R(3, 2),)),
    ("take-method", lambda a: a.take(np.array([1, 1, 0]), axis=0), (R(4, 3),)),
    ("take-wrap", lambda a: np.take(a, np.array([5, -7, 1]), axis=0, mode="wrap"), (R(4, 3),)),
    ("take-clip", lambda a: np.take(a, np.array([9, -2, 1]), mode="clip"), (R(4, 3),)),
    ("median-1d-odd", lambda a: np.median(a) * a, (R(7),)),
    ("median-1d-even", lambda a: np.median(a) * a, (R(6),)),
    ("median-axis", lambda a: np.median(a, axis=1), (R(3, 4),)),
    ("median-axes", lambda a: np.median(a, axis=(0, 2), keepdims=True) * a, (R(3, 2, 4),)),
    ("median-neg-axis", lambda a: np.median(a, -1), (R(2, 3, 5),)),
    ("median-keepdims", lambda a: np.median(a, keepdims=True), (R(3, 4),)),
    ("select", lambda a: np.select([a > 0, a < -0.5], [a * 2.0, a**2], 0.5), (R(3, 4),)),
    (
        "select-broadcast",
        lambda a, b: np.select([a > 0, a < -0.3, a > 1.0], [a, b, a * b]),
        (R(3, 4), R(4)),
    ),
    ("select-default", lambda a, b: np.select((a > 0,), (a,), default=b), (R(3, 4), R(4))),
]
# autograd has no gradient of np.take with an axis or a mode, nor of np.median (1.9.1); its
# np.select takes the lists but not tuples of arrays; its np.hsplit of a 1-D array fails
NO_AUTOGRAD = {
    "hsplit-1d",
    "take-flat",
    "take-axis",
    "take-int",
    "take-list",
    "take-method",
    "take-wrap",
    "take-clip",
    "select-default",
} | {name for name, _, _ in CASES if name.startswith("median")}


def scalar_of(op, n):
    def f1(a):
        return weighted(op(a))

    def f2(a, b):
        return weighted(op(a, b))

    return f1 if n == 1 else f2


def looped(op, n):
    def f1(a):
        s = 0.0
        for i in range(2):
            s = s + weighted(op(a * (i + 1.0)))
        return s

    def f2(a, b):
        s = 0.0
        for i in range(2):
            s = s + weighted(op(a * (i + 1.0), b))
        return s

    return f1 if n == 1 else f2


def autograd_of(op):
    names = dict(op.__globals__, np=anp)
    op = types.FunctionType(op.__code__, names, op.__name__, op.__defaults__)
    return lambda *xs: anp.sum(
        anp.sin(op(*xs)) * (1.0 + anp.arange(op(*xs).size).reshape(op(*xs).shape))
    )


def check(fn, args, backend, tol, ag=None):
    floats = tuple(range(len(args)))
    value, grads = value_and_grad(fn, wrt=floats, backend=backend)(*args)
    np.testing.assert_allclose(value, fn(*args), rtol=tol, atol=tol)
    for i, got in zip(floats, grads):
        assert np.shape(got) == np.shape(args[i])
        assert got.dtype == args[i].dtype
        want = central(fn, [np.asarray(a, dtype=np.float64) for a in args], i)
        np.testing.assert_allclose(got, want, rtol=10 * tol, atol=10 * tol)
        if ag is not None:
            np.testing.assert_allclose(got, autograd.grad(ag, i)(*args), rtol=tol, atol=tol)


@pytest.mark.parametrize("name,op,args", CASES, ids=[c[0] for c in CASES])
def test_float64(name, op, args):
    ag = None if name in NO_AUTOGRAD else autograd_of(op)
    check(scalar_of(op, len(args)), args, "python", 1e-7, ag)


@pytest.mark.parametrize("name,op,args", CASES, ids=[c[0] for c in CASES])
def test_float32(name, op, args):
    args32 = tuple(a.astype(np.float32) for a in args)
    check(scalar_of(op, len(args)), args32, "python", 2e-3)


FULL = os.environ.get("AD_COMPILER_FULL_SWEEP") == "1"
ON_NUMBA = {"array_split-axis", "hsplit-1d", "take-axis", "median-axes", "select-broadcast"}
LOOP_CASES = [c for c in CASES if FULL or c[0] in ON_NUMBA]


@pytest.mark.parametrize("name,op,args", LOOP_CASES, ids=[c[0] for c in LOOP_CASES])
def test_in_a_loop_on_numba(name, op, args):
    check(looped(op, len(args)), args, "numba", 1e-7)


def median_of_rows(a):
    s = 0.0
    for _ in range(1):
        s = s + np.sum(np.median(a, axis=1) * np.array([1.0, 2.0]))
    return s


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_median_ties_go_where_the_stable_sort_puts_them(backend):
    # np.sort's stable order of [1, 3, 1, 2] is x[0], x[2], x[3], x[1]: the middle two are
    # x[2] and x[3]; of [5, 5, 5, 5]: x[1] and x[2] (the row weighs 2)
    a = np.array([[1.0, 3, 1, 2], [5, 5, 5, 5]])
    _, grad = value_and_grad(median_of_rows, backend=backend)(a)
    np.testing.assert_array_equal(grad, [[0.0, 0.0, 0.5, 0.5], [0.0, 1.0, 1.0, 0.0]])


def split_run_time_count(a):
    return np.sum(np.split(a, a.shape[0])[0])


def split_unequal(a):
    return np.sum(np.split(a, 3)[0])


def split_unpacked_wrong(a):
    return np.sum(np.split(a, 0))


def take_float(a):
    return np.sum(np.take(a, np.array([0.0, 1.0])))


def take_raise(a):
    return np.sum(np.take(a, np.array([12])))


def median_out(a):
    return np.median(a, out=a)


def select_non_bool(a):
    return np.sum(np.select([a], [a]))


@pytest.mark.parametrize(
    "fn,error,says",
    [
        (split_run_time_count, ADCompilerError, "constant"),
        (split_unequal, ValueError, "equal division"),
        (split_unpacked_wrong, ADCompilerError, "indices_or_sections"),
        (take_float, ADCompilerError, "integers"),
        (take_raise, IndexError, "out of bounds"),
        (median_out, ADCompilerError, "out="),
        (select_non_bool, ADCompilerError, "boolean"),
    ],
)
def test_refused(fn, error, says):
    # the errors found at run time, once more on numba
    for backend in ("python", "numba") if error is not ADCompilerError else ("python",):
        with pytest.raises(error, match=says):
            value_and_grad(fn, backend=backend)(R(4, 3))
