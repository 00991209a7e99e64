"""Issue 15: the generated fast call path (fastcall.py) gives exactly what the general call
gives, and every check of the general call still protects users. Expected values from the
closed forms of the functions below."""

import numpy as np
import pytest

from ad_compiler import (
    ADCompilerError,
    GradientInputError,
    UnsupportedSyntaxError,
    grad,
    hvp,
    jvp,
    value_and_grad,
)
from ad_compiler.api import GradFunction

BACKENDS = ("numba", "python")


def circuit(x, y, z):
    return (x + y) * z


def norm_sq(W, x):
    v = W @ x
    return np.sum(v * v)


def scaled(x, n, scale=2.0):
    total = 0.0
    for i in range(n):
        total = total + scale * x[i] ** 2
    return total


def has_fast_path(g) -> bool:
    call = type(g).__call__
    return call is not GradFunction.__call__ and call.__code__.co_filename.startswith("<fast")


@pytest.mark.parametrize("backend", BACKENDS)
def test_scalar_fast_path_values_and_checks(backend):
    g = grad(circuit, wrt=(0, 1, 2), backend=backend)
    assert g(1.0, 2.0, 3.0) == (3.0, 3.0, 3.0)
    assert has_fast_path(g)
    assert g(-1.5, 0.5, 2.0) == (2.0, 2.0, -1.0)
    # an int, a bool or a string where a float is differentiated still raises
    for bad in (1, True, "1.0"):
        with pytest.raises(GradientInputError):
            g(bad, 2.0, 3.0)
    # keywords, a missing and an extra argument take the general path
    assert g(1.0, 2.0, z=3.0) == (3.0, 3.0, 3.0)
    with pytest.raises(GradientInputError):
        g(1.0, 2.0)
    with pytest.raises(GradientInputError):
        g(1.0, 2.0, 3.0, 4.0)
    # NumPy scalars are another signature: gradients keep their type
    gx = g(np.float64(1.0), 2.0, 3.0)
    assert gx == (3.0, 3.0, 3.0)


def powered(x, n, flip):
    s = x
    for _ in range(n % 5):
        s = s * x + 1.0
    if flip:
        s = -s
    return s * n


def powered_x_derivative(x, n, flip):
    """d/dx of powered, from its recurrence s' = s'x + s (Python's ints: exact for any n)."""
    s, ds = x, 1.0
    for _ in range(n % 5):
        s, ds = s * x + 1.0, ds * x + s
    return (-ds if flip else ds) * n


@pytest.mark.parametrize("backend", BACKENDS)
def test_scalar_ints_and_bools_on_the_fast_path(backend):
    # numba's machine code is called directly for scalar signatures (fastcall._entry_point):
    # an int beyond int64 still takes Python's ints, a bool or an int where the other was seen
    # is another signature, an int where the float is differentiated still raises
    g = grad(powered, wrt="x", backend=backend)
    for n, flip in ((3, True), (2, False), (3, True), (7, False)):
        assert g(1.5, n, flip) == pytest.approx(powered_x_derivative(1.5, n, flip), rel=1e-14)
    assert has_fast_path(g)
    if backend == "numba":  # numba's machine code for the signature, not its dispatcher
        kernels = [v for k, v in type(g).__call__.__globals__.items() if k.startswith("_kernel")]
        assert kernels and all(type(k).__name__ == "builtin_function_or_method" for k in kernels)
    big = 2**70 + 3
    assert g(1.5, big, False) == pytest.approx(powered_x_derivative(1.5, big, False), rel=1e-14)
    assert g(1.5, -(2**64), True) == pytest.approx(
        powered_x_derivative(1.5, -(2**64), True), rel=1e-14
    )
    assert g(1.5, 3, 1) == pytest.approx(powered_x_derivative(1.5, 3, 1), rel=1e-14)
    assert g(1.5, True, False) == pytest.approx(powered_x_derivative(1.5, 1, False), rel=1e-14)
    with pytest.raises(GradientInputError):
        g(2, 3, True)
    assert g(1.5, 3, True) == pytest.approx(powered_x_derivative(1.5, 3, True), rel=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_array_fast_path_shapes_dtypes(backend):
    rng = np.random.default_rng(0)
    W, x = rng.standard_normal((2, 3)), rng.standard_normal(3)
    g = value_and_grad(norm_sq, wrt=(0, 1), backend=backend)
    value, (gW, gx) = g(W, x)
    v = W @ x
    assert value == pytest.approx(v @ v, rel=1e-14)
    np.testing.assert_allclose(gW, 2 * np.outer(v, x), rtol=1e-13)
    np.testing.assert_allclose(gx, 2 * W.T @ v, rtol=1e-13)
    assert has_fast_path(g)
    again = g(W, x)
    assert again[0] == value and np.array_equal(again[1][0], gW)
    # float32 arguments: gradients in float32, value computed in float64 at least
    value32, (gW32, gx32) = g(W.astype(np.float32), x.astype(np.float32))
    assert gW32.dtype == np.float32 and gx32.dtype == np.float32
    np.testing.assert_allclose(gW32, gW, rtol=1e-5)
    # an int array where a float array is differentiated
    with pytest.raises(GradientInputError):
        g(W, np.array([1, 2, 3]))
    # a non-contiguous view: same signature, right result
    Wt = np.ascontiguousarray(W.T).T
    np.testing.assert_allclose(g(Wt, x)[1][0], gW, rtol=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
def test_many_signatures_and_defaults(backend):
    g = grad(scaled, wrt="x", backend=backend)
    x = np.array([1.0, -2.0, 3.0])
    for n in (1, 2, 3):
        np.testing.assert_allclose(g(x, n), [4.0 * x[i] if i < n else 0.0 for i in range(3)])
    np.testing.assert_allclose(g(x, 3, 0.5), x)
    np.testing.assert_allclose(g(x, 3, scale=0.5), x)
    # more signatures than the fast path tests: all right
    for value in (x, x.astype(np.float32), np.float32(1.0) * x, x[::-1].copy(), x.reshape(3)):
        np.testing.assert_allclose(g(value, 3), 4.0 * value, rtol=1e-6)
    with pytest.raises(UnsupportedSyntaxError, match="range"):
        g(x, 2.0)  # a float trip count: CPython raises; numba would truncate it silently


def test_transforms_of_a_called_gradient():
    g = grad(circuit, wrt=0, backend="python")
    assert g(1.0, 2.0, 3.0) == 3.0
    assert has_fast_path(g)
    # d/dx of grad_x = 0; jvp(grad) along x and hvp still see a plain gradient
    assert jvp(g)(1.0, 2.0, 3.0, tangent=1.0) == (3.0, 0.0)
    assert hvp(circuit, wrt=(0, 2))(1.0, 2.0, 3.0, vector=(1.0, 0.0)) == (0.0, 1.0)
    assert grad(g, wrt=2)(1.0, 2.0, 3.0) == 1.0


def two(x, y):
    return x * y


def test_keywords_named_like_the_generated_parameters():
    """The fast path's parameters are positional-only: a0= reaches the general call."""
    g = grad(two, wrt=0, backend="python")
    assert g(1.0, 2.0) == 2.0
    assert has_fast_path(g)
    for kwargs in ({"a0": 1.0, "a1": 2.0}, {"y": 2.0, "a0": 1.0}):
        with pytest.raises(GradientInputError):
            g(**kwargs)
    with pytest.raises(GradientInputError):
        g(1.0, a0=2.0)
    assert g(x=3.0, y=4.0) == 4.0


SCALE = 2.0
SQUARE = True


def scaled_by_module(x):
    if SQUARE:
        return SCALE * np.sum(x * x)
    return SCALE * np.sum(x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_module_level_values_take_the_fast_path(backend):
    """A function reading module-level values gets the fast call too; it reads them at every
    call, a pinned one (the flag) that changed normalizes the function again, and a value
    that is gone raises as the general path does."""
    global SCALE, SQUARE
    x = np.arange(1.0, 4.0)
    g = grad(scaled_by_module, backend=backend)
    try:
        np.testing.assert_allclose(g(x), 4.0 * x)
        assert has_fast_path(g)
        SCALE = 3.0
        np.testing.assert_allclose(g(x), 6.0 * x)
        SQUARE = False
        np.testing.assert_allclose(g(x), 3.0 * np.ones(3))
        assert has_fast_path(g)
        SQUARE = True
        np.testing.assert_allclose(g(x), 6.0 * x)
        SCALE = 4  # another kind: another build
        np.testing.assert_allclose(g(x), 8.0 * x)
        np.testing.assert_allclose(g(x + 1.0), 8.0 * (x + 1.0))
        assert has_fast_path(g)
        with pytest.raises(GradientInputError):
            g(1)
        del globals()["SCALE"]
        with pytest.raises(ADCompilerError, match="SCALE"):
            g(x)
    finally:
        SCALE, SQUARE = 2.0, True
