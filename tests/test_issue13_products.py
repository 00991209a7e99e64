"""Issue 13: products of arrays: np.einsum (implicit output, ellipses, repeated indices,
traces, naked sums, three operands), @/np.matmul/np.dot on stacks and with numbers,
np.tensordot, np.inner, np.vdot, np.outer, np.kron, np.cross (axes, broadcasting, 2-vectors).

Each case checks, on the python backend, the value against the original function and the
gradient of every operand against central differences of the original function and against
autograd (the same code with autograd's numpy) where autograd differentiates it; float32 runs
check dtypes. Loops on numba (numba has no einsum, no `@` of stacks: the runtime compiles
them into loops) cover every rule. AD_COMPILER_FULL_SWEEP=1 adds float32 runs of every case
and a numba loop per case.
"""

import os
import types
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from structured_oracle import central

from ad_compiler import UnsupportedSyntaxError, grad, value_and_grad

FULL = os.environ.get("AD_COMPILER_FULL_SWEEP") == "1"
rs = np.random.RandomState(13)


def R(*shape):
    return rs.randn(*shape)


# ---- the functions (each a sum of sines of one product, so the upstream gradient varies) -----


def einsum_matmul(a, b):
    return np.sum(np.sin(np.einsum("ij,jk->ik", a, b)))


def einsum_implicit(a, b):
    return np.sum(np.sin(np.einsum("ij,jk", a, b)))


def einsum_ellipsis(a, b):
    return np.sum(np.sin(np.einsum("...ij,...jk->...ik", a, b)))


def einsum_ellipsis_tail(a, b):
    return np.sum(np.sin(np.einsum("jk...,lj...->lk...", a, b)))


def einsum_ellipsis_center(a, b):
    return np.sum(np.sin(np.einsum("j...k,lj...->lk...", a, b)))


def einsum_diagonal(a, b):
    return np.sum(np.sin(np.einsum("ii->i", a) * b))


def einsum_trace(a, b):
    return np.sin(np.einsum("ii", a)) * np.sum(b)


def einsum_repeated_pair(a, b):
    return np.sum(np.sin(np.einsum("ii,i->i", a, b)))


def einsum_naked_sum(a, b):
    return np.sin(np.einsum("k,nk->", a, b))


def einsum_naked_sum_ellipsis(a, b):
    return np.sum(np.sin(np.einsum("...k,...nk->...", a, b)))


def einsum_three(a, b):
    return np.sum(np.sin(np.einsum("ijk,lji,lli->lki", a, b, b * 0.5)))


def einsum_no_output_indices(a, b):
    return np.sum(np.sin(np.einsum("ij,k", a, b)))


def einsum_broadcast_one(a, b):
    return np.sum(np.sin(np.einsum("ij,ij->ij", a, b)))


def einsum_transpose(a, b):
    return np.sum(np.sin(np.einsum("ij->ji", a)) * b)


def einsum_number(a, b):
    return np.sum(np.sin(np.einsum(",i->i", a, b)))


def matmul_op(a, b):
    return np.sum(np.sin(a @ b))


def matmul_fn(a, b):
    return np.sum(np.sin(np.matmul(a, b)))


def dot_fn(a, b):
    return np.sum(np.sin(np.dot(a, b)))


def dot_method(a, b):
    return np.sum(np.sin(a.dot(b)))


def tensordot_int(a, b):
    return np.sum(np.sin(np.tensordot(a, b, 2)))


def tensordot_pairs(a, b):
    return np.sum(np.sin(np.tensordot(a, b, axes=[(0, 1), (1, 2)])))


def tensordot_ints(a, b):
    return np.sum(np.sin(np.tensordot(a, b, axes=[1, 2])))


def tensordot_negative(a, b):
    return np.sum(np.sin(np.tensordot(a, b, axes=([-1], [0]))))


def tensordot_zero(a, b):
    return np.sum(np.sin(np.tensordot(a, b, 0)))


def inner_fn(a, b):
    return np.sum(np.sin(np.inner(a, b)))


def vdot_fn(a, b):
    return np.sin(np.vdot(a, b))


def outer_fn(a, b):
    return np.sum(np.sin(np.outer(a, b)))


def kron_fn(a, b):
    return np.sum(np.sin(np.kron(a, b)))


def cross_fn(a, b):
    return np.sum(np.sin(np.cross(a, b)))


def cross_axes(a, b):
    return np.sum(np.sin(np.cross(a, b, axisa=0, axisb=1, axisc=0)))


def cross_axes_2(a, b):
    return np.sum(np.sin(np.cross(a, b, axisa=1, axisb=0, axisc=-1)))


def cross_axis(a, b):
    return np.sum(np.sin(np.cross(a, b, axis=0)))


# (function, a, b, autograd differentiates it)
CASES = [
    (einsum_matmul, R(2, 3), R(3, 4), True),
    (einsum_implicit, R(2, 3), R(3, 4), True),
    (einsum_ellipsis, R(2, 2, 3), R(3, 4), True),
    (einsum_ellipsis, R(2, 3), R(2, 3, 4), True),
    (einsum_ellipsis, R(2, 1, 2, 3), R(3, 3, 4), True),
    (einsum_ellipsis_tail, R(3, 2, 4), R(2, 3, 4), True),
    (einsum_ellipsis_center, R(2, 2, 2), R(2, 2, 2), True),
    (einsum_diagonal, R(3, 3), R(3), False),  # (autograd's einsum adjoint fails on 'ii->i')
    (einsum_trace, R(3, 3), R(2), False),
    (einsum_repeated_pair, R(3, 3), R(3), False),
    (einsum_naked_sum, R(5), R(4, 5), True),
    (einsum_naked_sum_ellipsis, R(3, 5), R(3, 4, 5), True),
    (einsum_three, R(3, 4, 4), R(4, 4, 3), False),  # (autograd fails on 'lli')
    (einsum_no_output_indices, R(3, 4), R(3), True),
    (einsum_broadcast_one, R(2, 1), R(2, 3), True),
    (einsum_transpose, R(3, 4), R(4, 3), True),
    (einsum_number, 1.3, R(3), True),
    (matmul_op, R(2, 2, 3), R(2, 3, 4), True),
    (matmul_op, R(1, 2, 2), R(3, 2, 1), True),
    (matmul_op, R(3), R(2, 3, 4), True),
    (matmul_op, R(2, 2, 3), R(3), True),
    (matmul_op, R(2, 3), R(3, 4), True),
    (matmul_fn, R(4, 1, 2, 3), R(5, 3, 2), True),
    (dot_fn, R(2, 2, 3), R(2, 3, 4), True),
    (dot_fn, R(2, 2, 3), R(3), True),
    (dot_fn, R(3), R(2, 3, 4), True),
    (dot_fn, R(2, 3), 1.5, True),
    (dot_fn, 0.7, R(3), True),
    (dot_fn, R(2, 3), R(3, 4), True),
    (dot_method, R(2, 3), R(3), False),  # (autograd's arrays have no .dot)
    (tensordot_int, R(4, 2, 3), R(2, 3, 5), True),
    (tensordot_pairs, R(2, 3), R(2, 2, 3, 4), True),
    (tensordot_ints, R(2, 2), R(4, 2, 2), True),
    (tensordot_negative, R(2, 6), R(6, 3), True),
    (tensordot_zero, R(3), R(2, 2), True),
    (inner_fn, R(2, 3), R(4, 3), True),
    (inner_fn, R(3), R(3), True),
    (inner_fn, 1.5, R(4, 3), True),
    (vdot_fn, R(2, 3), R(3, 2), False),  # (autograd: vdot of both not defined)
    (outer_fn, R(3), R(4), True),
    (outer_fn, R(2, 3), R(2, 2), False),  # (autograd: outer of 2-D fails)
    (kron_fn, R(2, 3), R(4, 2), True),
    (kron_fn, R(5, 1), R(1, 3), True),
    (kron_fn, R(3), R(2, 2), True),
    (kron_fn, R(2, 1, 2), R(3, 2), True),
    (kron_fn, 1.5, R(2, 2), True),
    (cross_fn, R(4, 3), R(3), False),  # (autograd: cross broadcasting fails)
    (cross_fn, R(2, 1, 3), R(4, 3), False),
    (cross_fn, R(4, 2), R(4, 3), False),  # (a 2-vector and a 3-vector)
    (cross_axes, R(3, 3), R(3, 3), True),
    (cross_axes_2, R(2, 3), R(3, 2), True),
    (cross_axis, R(3, 4), R(3, 4), True),
]


def _autograd_version(fn):
    return types.FunctionType(fn.__code__, dict(fn.__globals__, np=anp), fn.__name__)


def _ids(cases):
    seen: dict = {}
    out = []
    for case in cases:
        seen[case[0].__name__] = seen.get(case[0].__name__, 0) + 1
        out.append(f"{case[0].__name__}-{seen[case[0].__name__]}")
    return out


@pytest.fixture(autouse=True)
def _no_2vector_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Arrays of 2-dimensional vectors", DeprecationWarning)
        yield


@pytest.mark.parametrize("fn, a, b, has_autograd", CASES, ids=_ids(CASES))
def test_value_and_gradient(fn, a, b, has_autograd):
    value, gradient = value_and_grad(fn, wrt=("a", "b"), backend="python")(a, b)
    np.testing.assert_allclose(value, fn(a, b), rtol=1e-12, atol=1e-12)
    for pos in (0, 1):
        assert np.shape(gradient[pos]) == np.shape((a, b)[pos])
        expected = central(fn, [a, b], pos)
        np.testing.assert_allclose(gradient[pos], expected, rtol=1e-5, atol=1e-6)
    if has_autograd:
        expected = autograd.grad(_autograd_version(fn), (0, 1))(a, b)
        for got, want in zip(gradient, expected):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)


F32 = CASES if FULL else CASES[::6]


@pytest.mark.parametrize("fn, a, b, has_autograd", F32, ids=_ids(F32))
def test_float32(fn, a, b, has_autograd):
    a32, b32 = (x.astype(np.float32) if isinstance(x, np.ndarray) else x for x in (a, b))
    value, gradient = value_and_grad(fn, wrt=("a", "b"), backend="python")(a32, b32)
    np.testing.assert_allclose(value, fn(a32, b32), rtol=1e-5)
    for pos, x in enumerate((a32, b32)):
        if isinstance(x, np.ndarray):
            assert gradient[pos].dtype == np.float32
        expected = central(fn, [a, b], pos)
        np.testing.assert_allclose(gradient[pos], expected, rtol=2e-3, atol=2e-3)


# ---- inside loops, on numba -------------------------------------------------------------------


def einsum_loop(a, b):
    s = 0.0
    for i in range(a.shape[0] - 1):  # (a length known at run time: a loop numba compiles)
        s = s + np.sum(np.sin(np.einsum("...ij,...jk->...ik", a[None], b)))
        s = s + np.sum(np.einsum("ii->i", a) * b[0, :3]) * i
    return s


def einsum_loop_more(a, b):
    s = 0.0
    for i in range(a.shape[0] - 1):
        s = s + np.sum(np.sin(np.einsum("ij,jk", a, b))) + np.einsum("ii", a) * i
        s = s + np.einsum("ij->", a * a) + np.sum(np.einsum("ij,jk,kl->il", a, b, b.T))
    return s


def products_loop(a, b):
    s = 0.0
    for i in range(a.shape[0] - 1):
        stack = np.stack((a, a * 2.0))
        s = s + np.sum(np.sin(stack @ b)) + np.sum(np.dot(stack, b)) * i
        s = s + np.sum(np.dot(a, 1.5)) + np.sum(np.tensordot(a, b, axes=([1], [0])))
        s = s + np.sum(np.sin(np.inner(a, b.T))) + np.vdot(a, a)
        s = s + np.sum(np.sin(np.outer(a[0], b[:, 0])))
    return s


def kron_cross_loop(a, b):
    s = 0.0
    for i in range(a.shape[0] - 1):
        s = s + np.sum(np.sin(np.kron(a, b))) * i
        s = s + np.sum(np.sin(np.cross(a, b[:3, :3], axisa=0, axisb=1, axisc=0)))
    return s


# numba compiles each product's loops (and its adjoints') apart: the larger loop in the sweep.
# (kron and cross in loops: in the sweep, for CI's time.)
LOOPS = [(einsum_loop, R(3, 3), R(3, 4)), (products_loop, R(3, 3), R(3, 4))]
if FULL:
    LOOPS += [(kron_cross_loop, R(3, 3), R(3, 4)), (einsum_loop_more, R(3, 3), R(3, 4))]


@pytest.mark.parametrize("fn, a, b", LOOPS)
def test_loops_on_numba(fn, a, b):
    value, gradient = value_and_grad(fn, wrt=("a", "b"), backend="numba")(a, b)
    np.testing.assert_allclose(value, fn(a, b), rtol=1e-10)
    for pos in (0, 1):
        np.testing.assert_allclose(gradient[pos], central(fn, [a, b], pos), rtol=1e-5, atol=1e-6)


def _looped(fn):
    """fn inside a loop (twice, weighted), for the numba sweep."""

    def looped(a, b, n):
        s = 0.0
        for i in range(n):
            s = s + fn(a, b) * (i + 1.0)
        return s

    return looped


@pytest.mark.skipif(not FULL, reason="numba loop of every case: AD_COMPILER_FULL_SWEEP=1")
@pytest.mark.parametrize("fn, a, b, has_autograd", CASES, ids=_ids(CASES))
def test_every_case_in_a_loop_on_numba(fn, a, b, has_autograd):
    gradient = grad(_looped(fn), wrt=("a", "b"), backend="numba")(a, b, 2)
    for pos in (0, 1):
        expected = 3.0 * central(fn, [a, b], pos)
        np.testing.assert_allclose(gradient[pos], expected, rtol=1e-5, atol=1e-6)


# ---- refused, never computed wrongly -------------------------------------------------------


def einsum_bad_subscripts(a, b):
    return np.sum(np.einsum("ij,jk->iq", a, b))


def einsum_wrong_count(a, b):
    return np.sum(np.einsum("ij->i", a, b))


def matmul_number(a, b):
    return np.sum(a @ 2.0) + b


def tensordot_bad_axes(a, b):
    return np.sum(np.tensordot(a, b, axes=3))


@pytest.mark.parametrize(
    "fn",
    [einsum_bad_subscripts, einsum_wrong_count, matmul_number, tensordot_bad_axes],
)
def test_refused(fn):
    with pytest.raises(UnsupportedSyntaxError):
        grad(fn, wrt="a", backend="python")(R(2, 3), R(3, 4))


def two_2vectors(a, b):
    return np.sum(np.cross(a, b))


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_cross_of_two_2vectors_raises(backend):
    # NumPy gives a number per pair there (deprecated); ad_compiler refuses it at run time.
    with pytest.raises(ValueError, match="2-vectors"):
        grad(two_2vectors, wrt="a", backend=backend)(R(3, 2), R(3, 2))
