"""Issue 15: the generated fast call tests whether gradients share memory only where they may
(fastcall._separated): an array the program allocated in this call needs no test against the
arguments. Here the compiled program is replaced by kernels returning every kind of aliasing
(arguments as they are, views of them, one array twice, a view before its owner), from NumPy
and from numba, which boxes arrays with MemInfo bases: the caller must still get separate
arrays with the kernel's values, and a new array must come back as it is (no copy)."""

import numpy as np
import pytest
from numba import njit

from ad_compiler import fastcall, grad
from ad_compiler.api import GradFunction
from ad_compiler.shaping import _INLINED, _like

KEY = ((1, "d"), (1, "d"))


def product(x, y):
    return np.sum(x * y)


def arguments(x, y):
    return x, y


def swapped(x, y):
    return y, x


def one_array_twice(x, y):
    t = x * 2.0
    return t, t


def view_before_owner(x, y):
    t = x + y
    return t[::-1], t


def halves_of_one(x, y):
    t = np.empty(2 * x.shape[0])
    t[: x.shape[0]] = x
    t[x.shape[0] :] = y
    return t[: x.shape[0]], t[x.shape[0] :]


def reversed_argument(x, y):
    return x[::-1], y * 3.0


def argument_view_twice(x, y):
    return x[:], x[::-1]


def new_arrays(x, y):
    return x * 2.0, y * 3.0


KERNELS = [
    arguments,
    swapped,
    one_array_twice,
    view_before_owner,
    halves_of_one,
    reversed_argument,
    argument_view_twice,
    new_arrays,
]


def fast_gradient(kernel):
    g = grad(product, wrt=(0, 1), backend="python")
    g(np.ones(4), np.ones(4))  # builds the real program, then its kernel is replaced
    g._dispatch.clear()
    g._dispatch[KEY] = (kernel, g._unpack)
    fastcall.install(g, GradFunction, GradFunction.__call__, _INLINED, _like)
    assert "_kernel0" in type(g).__call__.__globals__
    return g


def numba_output(values):
    # an array from numba: its base is a MemInfo whose parent is None, as for a new array
    return njit(lambda v: v * 1.0)(values)


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "numba"])
@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.__name__)
@pytest.mark.parametrize("from_numba", [False, True], ids=["plain-args", "numba-args"])
def test_gradients_never_share_memory(kernel, compiled, from_numba):
    run = njit(kernel) if compiled else kernel
    g = fast_gradient(run)
    x0, y0 = np.arange(1.0, 5.0), np.arange(10.0, 14.0)
    x, y = (numba_output(x0), numba_output(y0)) if from_numba else (x0.copy(), y0.copy())
    expected = [np.array(v) for v in kernel(x0.copy(), y0.copy())]
    out = g(x, y)
    for got, want in zip(out, expected):
        np.testing.assert_array_equal(got, want)
    for a in out:
        assert not np.may_share_memory(a, x) and not np.may_share_memory(a, y)
    assert not np.may_share_memory(out[0], out[1])
    # the arguments are untouched after the caller writes into the gradients
    out[0][:] = -1.0
    out[1][:] = -2.0
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


def test_new_arrays_come_back_uncopied():
    made = []

    def kernel(x, y):
        made[:] = [x * 2.0, y * 3.0]
        return tuple(made)

    g = fast_gradient(kernel)
    out = g(np.ones(4), np.ones(4))
    assert out[0] is made[0] and out[1] is made[1]


def test_numba_new_arrays_come_back_uncopied():
    g = fast_gradient(njit(new_arrays))
    out = g(np.ones(4), np.ones(4))
    # numba's own boxing: a copy would own its memory (base None)
    assert out[0].base is not None and out[1].base is not None
