"""Issue 13: selection, padding and statistics functions (rules/selection.py): np.rollaxis,
np.real/imag/conj/angle of real values, np.fft.fftshift/ifftshift, np.pad, np.partition,
np.gradient, np.diagonal, np.vstack/hstack/column_stack of one array, np.average(weights=).

As in test_issue13_shapes.py: the checked function is `np.sum(np.sin(op(...)) * weights)` with
weights depending on the position; values against CPython's run of the original, gradients
against central differences and autograd (float64) and central differences (float32) on the
python backend; a sample of the cases once more inside a loop on numba (every case with
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


def P(*shape):
    return np.abs(R(*shape)) + 0.5


def weighted(y):
    return np.sum(np.sin(y) * (1.0 + np.arange(y.size).reshape(y.shape)))


CASES = [
    ("rollaxis", lambda a: np.rollaxis(a, 2), (R(2, 3, 4),)),
    ("rollaxis-start", lambda a: np.rollaxis(a, 0, -1), (R(2, 3, 4),)),
    ("rollaxis-end", lambda a: np.rollaxis(a, 1, 3), (R(2, 3, 4),)),
    ("real", lambda a: np.real(a) + a.real * np.conj(a) - np.conjugate(a) * a.conj(), (R(3, 2),)),
    ("real-functions", lambda a: np.real(a) * np.conj(a) - np.conjugate(a), (R(3, 2),)),
    ("imag-functions", lambda a: a + np.imag(a) + np.angle(a) * a, (R(3, 2),)),
    ("real_if_close", lambda a: np.real_if_close(a * 2.0), (R(4),)),
    ("imag-angle", lambda a: a + np.imag(a) + a.imag + np.angle(a) * a, (R(3, 2),)),
    ("fftshift", lambda a: np.fft.fftshift(a), (R(3, 4),)),
    ("fftshift-axes", lambda a: np.fft.fftshift(a, axes=(0, -1)), (R(3, 2, 5),)),
    ("ifftshift", lambda a: np.fft.ifftshift(a, axes=1), (R(3, 5),)),
    ("ifftshift-1d", lambda a: np.fft.ifftshift(a), (R(7),)),
    ("pad-int", lambda a: np.pad(a, 2, "constant"), (R(3),)),
    ("pad-pairs", lambda a: np.pad(a, ((1, 2), (0, 3)), constant_values=2.0), (R(3, 4),)),
    ("pad-pair", lambda a: np.pad(a, (1, 2)), (R(2, 3, 2),)),
    ("pad-one", lambda a: np.pad(a, ((3, 2),)), (R(2, 2),)),
    ("pad-edge", lambda a: np.pad(a, (2,), "edge"), (R(3, 2),)),
    ("pad-reflect", lambda a: np.pad(a, 5, mode="reflect"), (R(3, 4),)),
    ("pad-symmetric", lambda a: np.pad(a, (4, 7), mode="symmetric"), (R(3, 2),)),
    ("pad-wrap", lambda a: np.pad(a, ((0, 1), (4, 7)), "wrap"), (R(3, 2),)),
    ("partition", lambda a: np.partition(a, 2), (R(4, 6),)),
    ("partition-1d", lambda a: np.partition(a, 3), (R(7),)),
    ("partition-axis", lambda a: np.partition(a, (1, 3), axis=0), (R(5, 3),)),
    ("partition-none", lambda a: np.partition(a, -2, axis=None), (R(3, 3),)),
    ("gradient-1d", lambda a: np.gradient(a), (R(6),)),
    ("gradient-axis", lambda a: np.gradient(a, axis=1), (R(3, 5),)),
    ("gradient-edge2", lambda a: np.gradient(a, 0.5, axis=-1, edge_order=2), (R(3, 5),)),
    ("gradient-spacing", lambda a, h: np.gradient(a, h, axis=(0,)), (R(4, 3), 0.7)),
    ("diagonal", lambda a: np.diagonal(a), (R(3, 4),)),
    ("diagonal-offset", lambda a: np.diagonal(a, 1, 2, 0), (R(3, 2, 4),)),
    ("diagonal-method", lambda a: a.diagonal(-1, axis1=-1, axis2=-2), (R(2, 4, 3),)),
    ("vstack-1d", lambda a: np.vstack(a), (R(3),)),
    ("vstack-2d", lambda a: np.vstack(a * 2.0), (R(2, 3),)),
    ("vstack-3d", lambda a: np.vstack(a), (R(2, 3, 4),)),
    ("row_stack", lambda a: np.row_stack(a), (R(2, 3, 4),)),
    ("hstack-1d", lambda a: np.hstack(a), (R(3),)),
    ("hstack-2d", lambda a: np.hstack(a), (R(2, 3),)),
    ("hstack-3d", lambda a: np.hstack(a), (R(2, 3, 4),)),
    ("column_stack-1d", lambda a: np.column_stack(a), (R(3),)),
    ("column_stack-2d", lambda a: np.column_stack(a), (R(3, 2),)),
    ("column_stack-3d", lambda a: np.column_stack(a), (R(2, 3, 4),)),
    ("vstack-tuple", lambda a, b: np.vstack((a, b)), (R(2, 3), R(1, 3))),
    ("average-weights", lambda a, w: np.average(a, 1, w), (R(3, 4), P(3, 4))),
    ("average-all", lambda a, w: np.average(a, weights=w) * a, (R(3, 4), P(3, 4))),
    ("average-keepdims", lambda a, w: np.average(a, 0, w, keepdims=True), (R(3, 4), P(3, 4))),
    ("average-1d", lambda a, w: np.average(a, weights=w) + a, (R(5), P(5))),
    ("average-plain", lambda a: np.average(a, axis=0), (R(3, 4),)),
]
# Where autograd 1.9.1 has no gradient: np.rollaxis with a negative start, .real/.imag
# attributes, np.real_if_close, np.pad with another mode than 'constant' given by position,
# np.partition of more than 1-D, np.diagonal but of the last two axes, np.average, np.gradient
# with a spacing or edge_order; and NumPy 2 has no autograd np.row_stack.
NO_AUTOGRAD = {
    "real",
    "imag-angle",
    "pad-pairs",
    "pad-pair",
    "pad-one",
    "partition",
    "diagonal",
    "diagonal-offset",
    "diagonal-method",
    "average-weights",
    "average-all",
    "average-keepdims",
    "average-1d",
    "average-plain",
    "rollaxis-start",
    "real_if_close",
    "pad-edge",
    "pad-reflect",
    "pad-symmetric",
    "pad-wrap",
    "row_stack",
    "partition-axis",
    "partition-none",
    "gradient-edge2",
    "gradient-spacing",
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
    floats = tuple(range(len(args)))
    value, grads = value_and_grad(fn, wrt=floats, backend=backend)(*args)
    np.testing.assert_allclose(value, fn(*args), rtol=tol, atol=tol)
    for i, got in zip(floats, grads):
        assert np.shape(got) == np.shape(args[i])
        if isinstance(args[i], np.ndarray):
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
    args32 = tuple(np.float32(a) if np.ndim(a) == 0 else a.astype(np.float32) for a in args)
    check(scalar_of(op, len(args)), args32, "python", 2e-3)


FULL = os.environ.get("AD_COMPILER_FULL_SWEEP") == "1"
ON_NUMBA = {
    "rollaxis-start",
    "fftshift-axes",
    "pad-pairs",
    "pad-reflect",
    "gradient-spacing",
    "diagonal-offset",
    "hstack-3d",
    "average-weights",
}
LOOP_CASES = [c for c in CASES if FULL or c[0] in ON_NUMBA]


@pytest.mark.parametrize("name,op,args", LOOP_CASES, ids=[c[0] for c in LOOP_CASES])
def test_in_a_loop_on_numba(name, op, args):
    check(looped(op, len(args)), args, "numba", 1e-7)


def partition_invariant(a):
    # the order of the entries on either side of the k-th one is NumPy's to choose (numba's
    # np.partition chooses another): a function of the partition that does not depend on it
    s = 0.0
    for i in range(2):
        p = np.partition(a * (i + 1.0), 2, axis=0)
        s = s + np.sum(np.sin(p)) + np.sum(p[2] * p[2])
    return s


def test_partition_in_a_loop_on_numba():
    check(partition_invariant, (R(5, 3),), "numba", 1e-7)


def gradient_all_axes(a):
    return np.sum(np.gradient(a)[0])


def gradient_coordinates(a):
    return np.sum(np.gradient(a, np.arange(4.0)))


def pad_negative(a):
    return np.sum(np.pad(a, -1))


def pad_mean(a):
    return np.sum(np.pad(a, 1, mode="mean"))


def angle_degrees(a):
    return np.sum(np.angle(a, deg=True))


def diagonal_same_axis(a):
    return np.sum(np.diagonal(a, 0, 1, 1))


def average_returned(a):
    return np.sum(np.average(a, 0, a, True))


@pytest.mark.parametrize(
    "fn,says",
    [
        (gradient_all_axes, "name the axes"),
        (gradient_coordinates, "coordinates"),
        (pad_negative, "pad_width"),
        (pad_mean, "mode='mean'"),
        (angle_degrees, "deg=True"),
        (diagonal_same_axis, "same axis"),
        (average_returned, "returned"),
    ],
)
def test_refused(fn, says):
    with pytest.raises(ADCompilerError, match=says):
        value_and_grad(fn, backend="python")(R(4, 3))
