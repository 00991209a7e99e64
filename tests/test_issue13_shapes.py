"""Issue 13: shape and assembly functions (rules/shapes.py).

Each case is an array function `op` of one or two arrays; the checked function is
`np.sum(np.sin(op(a, b)) * weights)`, weights depending on the position, so that an entry moved
to the wrong place shows. Values against CPython's run of the original, gradients (with respect
to every float argument) against central differences and autograd, float64 and float32, on the
python backend; each case once more inside a loop on the numba backend.
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


# (name, op, args): op takes the args and returns an array.
CASES = [
    ("concatenate0", lambda a, b: np.concatenate((a, b)), (R(2, 3), R(4, 3))),
    ("concatenate1", lambda a, b: np.concatenate([a, b, a], axis=1), (R(2, 3), R(2, 1))),
    ("concatenate-1", lambda a, b: np.concatenate((a, b), -1), (R(2, 2, 3), R(2, 2, 1))),
    ("concatenate-none", lambda a, b: np.concatenate((a, b), axis=None), (R(2, 3), R(4))),
    ("concatenate-1d", lambda a, b: np.concatenate((a, b * 2.0, [1.0, 2.0])), (R(3), R(2))),
    ("stack0", lambda a, b: np.stack((a, b)), (R(2, 3), R(2, 3))),
    ("stack1", lambda a, b: np.stack([a, b, a * b], axis=1), (R(2, 3), R(2, 3))),
    ("stack-1", lambda a, b: np.stack((a, b), axis=-1), (R(4), R(4))),
    ("stack-numbers", lambda a, b: np.stack((a[0], b[1], a[1] * b[0])), (R(3), R(2))),
    ("hstack1d", lambda a, b: np.hstack((a, b, a[0])), (R(3), R(2))),
    ("hstack2d", lambda a, b: np.hstack((a, b)), (R(3, 2), R(3, 4))),
    ("hstack3d", lambda a, b: np.hstack([a, b]), (R(2, 1, 3), R(2, 2, 3))),
    ("vstack1d", lambda a, b: np.vstack((a, b)), (R(3), R(3))),
    ("vstack2d", lambda a, b: np.vstack((a, b, a[0])), (R(2, 3), R(1, 3))),
    ("column_stack", lambda a, b: np.column_stack((a, b)), (R(3), R(3, 2))),
    ("append", lambda a, b: np.append(a, b), (R(2, 3), R(2))),
    ("append-number", lambda a, b: np.append(a, b[0] * 3.0), (R(3), R(2))),
    ("append-axis", lambda a, b: np.append(a, b, axis=0), (R(2, 3), R(1, 3))),
    ("squeeze-axis", lambda a: np.squeeze(a, axis=(0, 2)), (R(1, 3, 1),)),
    ("squeeze-method", lambda a: a.squeeze(-1), (R(3, 1),)),
    ("ravel", lambda a: np.ravel(a), (R(2, 3, 2),)),
    ("ravel-method", lambda a: a.T.ravel(), (R(2, 3),)),
    ("flatten", lambda a: a.flatten(), (R(3, 2),)),
    ("expand_dims", lambda a: np.expand_dims(a, 1), (R(3, 2),)),
    ("expand_dims-tuple", lambda a: np.expand_dims(a, (0, -1)), (R(3),)),
    ("transpose-axes", lambda a: np.transpose(a, (2, 0, 1)), (R(2, 3, 4),)),
    ("transpose-method", lambda a: a.transpose((1, 0)), (R(2, 3),)),
    ("transpose", lambda a: np.transpose(a), (R(2, 3),)),
    ("moveaxis", lambda a: np.moveaxis(a, 0, -1), (R(2, 3, 4),)),
    ("moveaxis-tuple", lambda a: np.moveaxis(a, (0, 1), (2, 0)), (R(2, 3, 4),)),
    ("swapaxes", lambda a: np.swapaxes(a, 0, 2), (R(2, 3, 4),)),
    ("swapaxes-method", lambda a: a.swapaxes(1, 0), (R(2, 3),)),
    ("flip", lambda a: np.flip(a), (R(2, 3),)),
    ("flip-axis", lambda a: np.flip(a, 1), (R(2, 3, 2),)),
    ("flip-axes", lambda a: np.flip(a, axis=(0, -1)), (R(2, 3, 2),)),
    ("fliplr", lambda a: np.fliplr(a), (R(3, 4),)),
    ("flipud", lambda a: np.flipud(a), (R(4),)),
    ("rot90", lambda a: np.rot90(a), (R(3, 4),)),
    ("rot90-k", lambda a: np.rot90(a, -3, axes=(1, 0)), (R(3, 4, 2),)),
    ("roll", lambda a: np.roll(a, 2), (R(3, 4),)),
    ("roll-axis", lambda a: np.roll(a, -1, axis=1), (R(3, 4),)),
    ("roll-axes", lambda a: np.roll(a, (1, 2), axis=(0, 1)), (R(3, 4),)),
    ("repeat", lambda a: np.repeat(a, 3), (R(2, 3),)),
    ("repeat-axis", lambda a: np.repeat(a, 2, axis=-2), (R(2, 3, 2),)),
    ("repeat-method", lambda a: a.repeat(2, axis=0), (R(3),)),
    ("tile", lambda a: np.tile(a, (2, 1, 3)), (R(2, 3),)),
    ("tile-int", lambda a: np.tile(a, 2), (R(2, 3),)),
    ("tril", lambda a: np.tril(a, -1), (R(4, 3),)),
    ("triu", lambda a: np.triu(a, k=1), (R(2, 3, 4),)),
    ("diag-vector", lambda a: np.diag(a, -1), (R(3),)),
    ("diag-matrix", lambda a: np.diag(a, 1), (R(3, 4),)),
    ("trace", lambda a: np.trace(a), (R(3, 4),)),
    ("trace-3d", lambda a: np.trace(a, -1, axis1=2, axis2=0), (R(3, 2, 4),)),
]
# Cases autograd has no gradient for (axis=None, tuples of axes or shifts, np.flip, rot90 axes=,
# trace axis1=), and where its gradient differs from central differences and from ours (autograd
# 1.9.1: np.repeat with a negative axis, np.tile with an int of a matrix, np.diag of a matrix that
# is not square).
NO_AUTOGRAD = {
    "concatenate-none",
    "flip",
    "flip-axis",
    "flip-axes",
    "rot90-k",
    "roll-axes",
    "trace-3d",
    "repeat-axis",
    "tile-int",
    "diag-matrix",
}
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
    def rebound(fn):
        names = dict(fn.__globals__, np=anp)
        return types.FunctionType(fn.__code__, names, fn.__name__, fn.__defaults__)

    op = rebound(op)
    return lambda *xs: anp.sum(
        anp.sin(op(*xs)) * (1.0 + anp.arange(op(*xs).size).reshape(op(*xs).shape))
    )


def check(fn, args, backend, tol, ag=None):
    floats = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]
    value, grads = value_and_grad(fn, wrt=tuple(floats), backend=backend)(*args)
    np.testing.assert_allclose(value, fn(*args), rtol=tol, atol=tol)
    for i, got in zip(floats, grads):
        assert got.shape == args[i].shape and got.dtype == args[i].dtype
        want = central(fn, [a.astype(np.float64) for a in args], i)
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


# On numba, each case is a compilation of several seconds: by default the cases whose code
# differs there (runtime helpers, keywords numba lacks); every case with AD_COMPILER_FULL_SWEEP=1.
FULL = os.environ.get("AD_COMPILER_FULL_SWEEP") == "1"
ON_NUMBA = {
    "concatenate-none",
    "hstack1d",
    "column_stack",
    "squeeze-axis",
    "expand_dims-tuple",
    "flip-axes",
    "rot90-k",
    "roll-axes",
    "repeat-axis",
    "tile",
    "diag-matrix",
    "trace-3d",
}
LOOP_CASES = [c for c in CASES if FULL or c[0] in ON_NUMBA]


@pytest.mark.parametrize("name,op,args", LOOP_CASES, ids=[c[0] for c in LOOP_CASES])
def test_in_a_loop_on_numba(name, op, args):
    check(looped(op, len(args)), args, "numba", 1e-7)


def squeeze_all(a):
    return np.sum(np.squeeze(a))


def concatenate_numbers(a):
    return np.sum(np.concatenate((a[0, 0], a[1, 0])))


def stack_ragged(a):
    return np.sum(np.stack((a, a[0])))


def transpose_twice(a):
    return np.sum(np.transpose(a, (0, 0)))


def rot90_1d(a):
    return np.sum(np.rot90(a[0]))


@pytest.mark.parametrize(
    "fn,says",
    [
        (squeeze_all, "which axes have length 1"),
        (concatenate_numbers, "zero-dimensional"),
        (stack_ragged, "different numbers of dimensions"),
        (transpose_twice, "names an axis twice"),
        (rot90_1d, "np.rot90 of an array of 1"),
    ],
)
def test_refused(fn, says):
    with pytest.raises(ADCompilerError, match=says):
        value_and_grad(fn, backend="python")(R(3, 2))
