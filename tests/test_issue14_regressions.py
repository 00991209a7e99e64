"""Issue 14: wrong answers an adversary found in the forward-mode transforms (and two aliasing
mistakes of the frontend they exposed), kept as regression tests. Every expected value comes
from the original function: CPython's value, central differences in float64, or autograd
running the same computation written without in-place writes."""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import scipy.special
from gradcheck_helpers import central

from ad_compiler import grad, hessian, hvp, jacobian, jvp, value_and_grad

BACKENDS = ("python", "numba")
T = np.array([[0.0, -1.0, 2.0], [1.0, 0.0, 3.0]])


def directional(f, args, pos, v, h=1e-6):
    up, down = list(args), list(args)
    up[pos] = up[pos] + h * v
    down[pos] = down[pos] - h * v
    return (
        np.asarray(f(*[np.copy(a) for a in up])) - np.asarray(f(*[np.copy(a) for a in down]))
    ) / (2 * h)


# -- int and bool entries of arrays built from pieces carry no tangent ---------------------------


def homogeneous(p):
    return T @ np.array([p[0], p[1], 1])


def with_int_tail(x):
    return np.sum(np.concatenate([x, np.arange(2)]) ** 2) * x[0]


def appended(x):
    return np.append(x, 5) * np.sum(x)


def stacked_mask(x):
    return np.sum(np.stack([x, x > 0]) ** 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_jacobian_of_homogeneous_coordinates(backend):
    p = np.array([0.5, -0.25])
    np.testing.assert_allclose(jacobian(homogeneous, backend=backend)(p), T[:, :2], atol=1e-15)
    value, tangent = jvp(homogeneous, backend=backend)(p, tangent=np.array([1.0, 0.0]))
    np.testing.assert_allclose(value, homogeneous(p))
    np.testing.assert_allclose(tangent, T[:, 0], atol=1e-15)


@pytest.mark.parametrize("fn", [with_int_tail, appended, stacked_mask])
def test_int_pieces_have_zero_tangents(fn):
    x = np.array([0.5, -1.0, 0.7])
    v = np.array([0.3, 1.0, -2.0])
    value, tangent = jvp(fn, backend="python")(x, tangent=v)
    np.testing.assert_allclose(value, fn(x))
    np.testing.assert_allclose(tangent, directional(fn, [x], 0, v), rtol=1e-6, atol=1e-8)


def test_hessian_with_an_int_tail():
    x = np.array([0.5, -1.0])
    expected = autograd.hessian(
        lambda x: anp.sum(anp.concatenate([x, anp.arange(2.0)]) ** 2) * x[0]
    )(x)
    np.testing.assert_allclose(hessian(with_int_tail, backend="python")(x), expected, atol=1e-12)


def scalar_with_int(a):
    return a * np.sum(np.array([a, 2]))  # a**2 + 2a


@pytest.mark.parametrize("backend", BACKENDS)
def test_second_derivative_with_an_int_entry(backend):
    assert grad(grad(scalar_with_int), backend=backend)(0.5) == pytest.approx(2.0)


# -- a new array whose tangent is another's: stores into it stay its own -------------------------


def shifted_then_written(x):
    y = x - 1.0
    for i in range(len(y)):
        y[i] = y[i] ** 2
    return x * y


def shifted_then_written_sum(x):
    return np.sum(shifted_then_written(x))


def shifted_overwritten(x):
    y = x + 1.0
    y[0] = 0.0
    return np.sum(x**2) + np.sum(y**3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_tangent_of_a_written_copy(backend):
    x = np.array([0.5, -0.7, 1.1])
    v = np.array([1.0, 2.0, -1.0])
    given = v.copy()
    value, tangent = jvp(shifted_then_written, backend=backend)(x, tangent=given)
    np.testing.assert_allclose(value, shifted_then_written(x.copy()))
    np.testing.assert_allclose(tangent, directional(shifted_then_written, [x], 0, v), rtol=1e-6)
    np.testing.assert_array_equal(given, v)  # the caller's direction is left alone


@pytest.mark.parametrize("backend", BACKENDS)
def test_hessians_of_written_copies(backend):
    x = np.array([0.5, -0.7, 1.1])

    def twin(x):  # shifted_then_written_sum without array writes
        return anp.sum(x * (x - 1.0) ** 2)

    np.testing.assert_allclose(
        hessian(shifted_then_written_sum, backend=backend)(x), autograd.hessian(twin)(x), atol=1e-12
    )
    v = np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(
        hvp(shifted_then_written_sum, backend=backend)(x, vector=v),
        autograd.hessian(twin)(x) @ v,
        atol=1e-12,
    )
    expected = np.diag([2.0, 2 + 6 * (x[1] + 1), 2 + 6 * (x[2] + 1)])  # by hand
    np.testing.assert_allclose(
        hessian(shifted_overwritten, backend=backend)(x), expected, atol=1e-12
    )


def writes_its_argument(x):
    x[1] = x[0] * x[2]
    return np.sum(x**2)


def test_hessian_of_a_function_writing_its_argument():
    x = np.array([0.5, -0.7, 1.1])
    expected = autograd.hessian(lambda x: x[0] ** 2 + (x[0] * x[2]) ** 2 + x[2] ** 2)(x)
    np.testing.assert_allclose(
        hessian(writes_its_argument, backend="python")(x.copy()), expected, atol=1e-12
    )


# -- an array returned from inside a loop (a placeholder before the loop) -----------------------


def early_array_return(x):
    y = x.copy()
    for _ in range(10):
        y = y * 0.9
        if np.sum(y**2) < 1.0:
            return y * x
    return y


@pytest.mark.parametrize("backend", BACKENDS)
def test_jvp_of_an_array_returned_in_a_loop(backend):
    x = np.array([0.3, -0.5, 1.2, 0.8])
    v = np.array([1.0, 2.0, -1.0, 0.5])
    value, tangent = jvp(early_array_return, backend=backend)(x, tangent=v)
    np.testing.assert_allclose(value, early_array_return(x))
    np.testing.assert_allclose(tangent, directional(early_array_return, [x], 0, v), rtol=1e-6)


# -- the frontend: +x is a new array, np.asarray(x) is x itself -----------------------------------


def positive_copy(x):
    y = +x
    y[0] = 2.0
    return np.sum(y * x)


def asarray_alias(x):
    y = np.asarray(x)
    y[0] = 2.0
    return np.sum(y * x)


@pytest.mark.parametrize("fn", [positive_copy, asarray_alias])
@pytest.mark.parametrize("backend", BACKENDS)
def test_unary_plus_and_asarray_alias_as_numpy_does(fn, backend):
    x = np.array([0.3, -0.5, 1.2])
    value, gradient = value_and_grad(fn, backend=backend)(x.copy())
    assert value == pytest.approx(fn(x.copy()))
    np.testing.assert_allclose(gradient, central(fn, [x.copy()], 0), rtol=1e-6, atol=1e-8)


# -- JAX's idioms: jvp of a gradient, jacobian of a gradient --------------------------------------


def rosenbrock(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def rosenbrock_twin(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_jvp_and_jacobian_of_a_gradient():
    x = np.array([0.3, -1.2, 0.8, 1.1])
    v = np.array([1.0, 0.5, -0.3, 0.2])
    g, hv = jvp(grad(rosenbrock, backend="python"))(x, tangent=v)
    np.testing.assert_allclose(g, autograd.grad(rosenbrock_twin)(x), rtol=1e-12)
    np.testing.assert_allclose(hv, autograd.hessian(rosenbrock_twin)(x) @ v, rtol=1e-12)
    np.testing.assert_allclose(
        jacobian(grad(rosenbrock), backend="python")(x),
        autograd.hessian(rosenbrock_twin)(x),
        rtol=1e-12,
    )


# -- structured arguments --------------------------------------------------------------------------


def layer_loss(p, x):
    h = np.tanh(p["W"] @ x + p["b"])
    return np.sum(h * h) + p["s"] * p["s"]


def layer_loss_twin(p, x):
    h = anp.tanh(anp.dot(p["W"], x) + p["b"])
    return anp.sum(h * h) + p["s"] * p["s"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_transforms_of_a_dict_argument(backend):
    rng = np.random.default_rng(3)
    p = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=3), "s": 0.7}
    v = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=3), "s": 0.3}
    x = rng.normal(size=2)
    gradient = autograd.grad(layer_loss_twin)(p, x)
    value, tangent = jvp(layer_loss, backend=backend)(p, x, tangent=v)
    assert value == pytest.approx(layer_loss(p, x), rel=1e-12)
    assert tangent == pytest.approx(sum(np.sum(gradient[k] * v[k]) for k in p), rel=1e-10)
    h = 1e-5
    up = autograd.grad(layer_loss_twin)({k: p[k] + h * v[k] for k in p}, x)
    down = autograd.grad(layer_loss_twin)({k: p[k] - h * v[k] for k in p}, x)
    got = hvp(layer_loss, backend=backend)(p, x, vector=v)
    assert list(got) == ["W", "b", "s"]
    for k in p:
        np.testing.assert_allclose(got[k], (up[k] - down[k]) / (2 * h), rtol=1e-5, atol=1e-7)
    blocks = hessian(layer_loss, backend=backend)(p, x)
    expected = autograd.hessian(lambda W: layer_loss_twin({"W": W, "b": p["b"], "s": p["s"]}, x))(
        p["W"]
    )
    np.testing.assert_allclose(blocks["W"]["W"], expected, atol=1e-12)
    assert blocks["b"]["W"].shape == (3, 3, 2) and blocks["s"]["s"] == pytest.approx(2.0)


# -- partials and bound methods --------------------------------------------------------------------


def weighted_sines(x, a):
    return np.sum(np.sin(x) * a)


class Cubic:
    def __init__(self) -> None:
        self.a = 2.0

    def loss(self, x):
        return np.sum(x**3) * self.a


def test_transforms_of_partials_and_methods():
    import functools

    x = np.array([0.3, 0.5])
    v = np.array([1.0, -2.0])
    fixed = functools.partial(weighted_sines, a=3.0)
    value, tangent = jvp(fixed, backend="python")(x, tangent=v)
    assert value == pytest.approx(weighted_sines(x, 3.0))
    assert tangent == pytest.approx(np.sum(3.0 * np.cos(x) * v))
    np.testing.assert_allclose(hvp(fixed, backend="python")(x, vector=v), -3.0 * np.sin(x) * v)
    np.testing.assert_allclose(hessian(fixed, backend="python")(x), np.diag(-3.0 * np.sin(x)))
    np.testing.assert_allclose(jacobian(fixed, backend="python")(x), 3.0 * np.cos(x))
    model = Cubic()
    np.testing.assert_allclose(hessian(model.loss, backend="python")(x), np.diag(12.0 * x))
    model.a = 1.0  # read at each call, as Python does
    np.testing.assert_allclose(hvp(model.loss, backend="python")(x, vector=v), 6.0 * x * v)


def shifted_then_source_written(x):
    t = 0.5 + x  # t's tangent starts as x's: a later write into x must not reach it
    x[0, 0] = 0.5
    return np.sum(t * t)


def r_with_a_range(x):
    return np.r_[x, 1:4] * np.sum(x)


@pytest.mark.parametrize("fn", [shifted_then_source_written, r_with_a_range])
@pytest.mark.parametrize("backend", BACKENDS)
def test_found_by_the_fuzzer_and_autograds_suite(fn, backend):
    x = np.array([[0.411], [-0.691]]) if fn is shifted_then_source_written else np.array([1.0, 2.0])
    v = np.ones_like(x) * np.array([1.0, 2.0]).reshape(x.shape)
    value, tangent = jvp(fn, backend=backend)(x.copy(), tangent=v)
    np.testing.assert_allclose(value, fn(x.copy()))
    np.testing.assert_allclose(tangent, directional(fn, [x], 0, v), rtol=1e-6, atol=1e-9)


def arange_from(a, s):
    return np.sum(np.sin(np.arange(a, 5.0, s)) * np.arange(5.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_mode_through_arange(backend):
    for pos in (0, 1):
        value, tangent = jvp(arange_from, wrt=pos, backend=backend)(0.3, 1.1, tangent=1.0)
        assert value == pytest.approx(arange_from(0.3, 1.1))
        assert tangent == pytest.approx(central(arange_from, [0.3, 1.1], pos), rel=1e-6)


def weighted_lse(x, b):
    return np.sum(scipy.special.logsumexp(x, axis=1, b=b) * np.array([1.0, 2.0, 3.0]))


def test_logsumexp_weights_refused_in_forward_mode_and_jacobian_goes_reverse():
    from ad_compiler.errors import NoGradientRuleError

    x = np.random.default_rng(0).normal(size=(3, 4))
    b = np.array([0.5, 1.0, 2.0, 1.5])  # broadcast against x: each weight feeds every row
    with pytest.raises(NoGradientRuleError, match="broadcast"):
        jvp(weighted_lse, wrt=1, backend="python")(x, b, tangent=np.ones(4))
    got = jacobian(weighted_lse, wrt=1, backend="python")(x, b)
    np.testing.assert_allclose(got, central(weighted_lse, [x, b], 1), rtol=1e-6)


# -- found by an independent review ----------------------------------------------------------------


def merged_then_written(x, c):
    if c > 0:
        y = x * 2.0
    else:
        y = x * 3.0
    z = y + 0.0  # z's tangent starts as the merged y's: a write into y must not reach it
    y[0] = 1.0
    return z * y


@pytest.mark.parametrize("backend", BACKENDS)
def test_tangent_of_a_merged_value_written_later(backend):
    x = np.array([0.5, -1.0, 1.5])
    v = np.array([1.0, 2.0, -1.0])
    _, tangent = jvp(merged_then_written, backend=backend)(x.copy(), 1.0, tangent=v)
    np.testing.assert_allclose(tangent, directional(merged_then_written, [x, 1.0], 0, v), rtol=1e-6)


def squares(x):
    return np.sum(x**3)


def test_transforms_of_transforms_other_than_grads_are_refused():
    from ad_compiler.errors import ADCompilerError

    for make in (
        lambda: hessian(hessian(squares)),
        lambda: jacobian(jacobian(squares)),
        lambda: jvp(hessian(squares)),
        lambda: hvp(grad(squares)),
        lambda: jacobian(grad(lambda a, b: a * b * b), wrt=1),
    ):
        with pytest.raises(ADCompilerError):
            make()


def cholesky_after_a_write(A):
    A[0, 0] = A[0, 0] * 2.0
    return np.linalg.cholesky(A).ravel()


def test_reverse_mode_jacobian_leaves_the_callers_array_alone():
    A = np.array([[2.0, 0.5], [0.5, 3.0]])
    given = A.copy()
    got = jacobian(cholesky_after_a_write, backend="python")(given)
    np.testing.assert_array_equal(given, A)
    basis = np.eye(4).reshape(4, 2, 2)
    columns = [directional(cholesky_after_a_write, [A], 0, e) for e in basis]
    np.testing.assert_allclose(got, np.stack(columns, axis=-1).reshape(4, 2, 2), atol=1e-6)


def test_directions_are_real_copies_of_the_arguments_shape():
    from ad_compiler.errors import GradientInputError

    x = np.array([0.5, -1.0])
    for bad in (np.array([1j, 0.0]), {"a": 1.0}, "ab"):
        with pytest.raises(GradientInputError):
            jvp(squares, backend="python")(x, tangent=bad)
    v = np.array([1.0, 2.0])
    _, tangent = jvp(lambda x: x + 0.0, backend="python")(x, tangent=v)
    assert tangent is not v
    zero_d = np.array(0.7)
    _, tangent = jvp(lambda x: x * x, backend="python")(zero_d, tangent=np.array(1.0))
    assert np.shape(tangent) == ()
