"""Issue 14: `grad(f, has_aux=True)`, `value_and_grad(f, has_aux=True)` and `vjp(f)`.

Every expected value comes from the original function: values and aux from CPython running
it, gradients from central differences (float64) and from autograd running the same code
(the function's own code object with `np` bound to autograd.numpy, where it has no in-place
writes). numba cases are few: each compiles for a second or more.
"""

import inspect
import types

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from gradcheck_helpers import central, copies

from ad_compiler import grad, value_and_grad, vjp
from ad_compiler.errors import ADCompilerError, GradientInputError, NonScalarOutputError

BACKENDS = ("python", "numba")
RNG = np.random.default_rng(14)
W0 = RNG.normal(size=(3, 4))
X0 = RNG.normal(size=4)
C3 = RNG.normal(size=3)
C4 = RNG.normal(size=4)


def with_autograd(fn):
    """The same code with `np` meaning autograd.numpy."""
    return types.FunctionType(fn.__code__, {**fn.__globals__, "np": anp}, fn.__name__)


def close(a, b, tol=1e-7):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def same_aux(got, want):
    """aux as CPython returned it: the same containers, keys and values."""
    assert type(got) is type(want) or (np.ndim(want) == 0 and np.ndim(got) == 0), (got, want)
    if isinstance(want, dict):
        assert list(got) == list(want)
        for k in want:
            same_aux(got[k], want[k])
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            same_aux(g, w)
    else:
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# -- has_aux -------------------------------------------------------------------------------------


def loss_scalar_aux(W, x):
    pred = np.tanh(W @ x)
    loss = np.sum(pred**2)
    return loss, np.mean(pred)


def loss_array_aux(W, x):
    pred = np.tanh(W @ x)
    return np.sum((pred - 0.5) ** 2), pred


def loss_tuple_aux(W, x):
    pred = np.tanh(W @ x)
    return np.sum(pred**2) * 0.5, (np.max(pred), pred * 2.0, {"norm": np.sqrt(np.sum(x * x))})


def loop_aux(x, a):
    """aux computed in a loop with a branch: an int count, a float, an array."""
    s = 0.0
    count = 0
    for i in range(x.shape[0]):
        s = s + a * x[i] * x[i]
        if x[i] > 0.0:
            count += 1
    return s * s, (count, s, x * a)


def mutated_aux(x):
    """aux names an array the function goes on writing into (CPython returns its final
    contents), and a copy taken before (its contents then); the reverse sweep restores the
    array's overwritten entries (np.sum(h * h * x) reads each iteration's h), which must not
    change what was returned."""
    n = x.shape[0]
    h = np.zeros(n)
    alias = h
    total = 0.0
    before = h
    for k in range(3):
        for i in range(n):
            h[i] = np.sin(x[i] * (k + 1.0))
        total = total + np.sum(h * h * x)
        if k == 1:
            before = h.copy()
    return total, (alias, before, h)


def not_a_pair(x):
    return np.sum(x * x)


def a_triple(x):
    s = np.sum(x)
    return s, s, s


@pytest.mark.parametrize("fn", [loss_scalar_aux, loss_array_aux, loss_tuple_aux])
def test_has_aux_straight_line_matches_autograd(fn):
    want_value, want_aux = fn(W0, X0)
    auto = autograd.grad_and_aux(with_autograd(fn), 0)(W0, X0)
    numeric = central(lambda W, x: fn(W, x)[0], (W0, X0), 0)
    for backend in BACKENDS:  # (straight-line array code runs as NumPy on both)
        gW, aux = grad(fn, has_aux=True, backend=backend)(W0, X0)
        close(gW, numeric)
        close(gW, auto[0], 1e-12)
        same_aux(aux, want_aux)
        (value, aux), (gW2, gx2) = value_and_grad(fn, wrt=(0, 1), has_aux=True, backend=backend)(
            W0, X0
        )
        assert value == pytest.approx(want_value, rel=1e-13)
        same_aux(aux, want_aux)
        close(gW2, gW, 1e-13)
        close(gx2, central(lambda W, x: fn(W, x)[0], (W0, X0), 1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_has_aux_loop(backend):
    x, a = np.array([0.3, -1.2, 0.8, 2.0, -0.1]), 1.7
    want_value, want_aux = loop_aux(x, a)
    g = value_and_grad(loop_aux, wrt=(0, 1), has_aux=True, backend=backend)
    for _ in range(2):  # compiled once: the second call reuses the program
        (value, aux), (gx, ga) = g(x, a)
        assert value == pytest.approx(want_value, rel=1e-13)
        same_aux(aux, want_aux)
        assert type(aux[0]) is int and type(aux[1]) is float
        close(gx, central(lambda *v: loop_aux(*v)[0], (x, a), 0))
        close(ga, central(lambda *v: loop_aux(*v)[0], (x, a), 1))
    assert len(g._builds) == 1
    ga2, aux2 = grad(loop_aux, wrt=1, has_aux=True, backend=backend)(x, a)
    assert ga2 == pytest.approx(ga, rel=1e-13)
    same_aux(aux2, want_aux)


@pytest.mark.parametrize("backend", BACKENDS)
def test_has_aux_returns_arrays_as_they_were_at_the_return(backend):
    x = np.array([0.4, -0.7, 1.1])
    want_value, want_aux = mutated_aux(x.copy())
    g = grad(mutated_aux, has_aux=True, backend=backend)
    gx, aux = g(x)
    same_aux(aux, want_aux)
    close(gx, central(lambda v: mutated_aux(v)[0], (x,), 0))
    source = g.source_for(x)
    assert "h[i] = t" in source  # (the reverse sweep restores h's entries)
    assert source is g.source_for(x.copy())  # the same build for the same argument kinds


def test_has_aux_structured_arguments_and_partials():
    import functools

    def fit(p, x):
        pred = np.tanh(p["W"] @ x + p["b"])
        return np.sum(pred**2), {"pred": pred, "scale": p["b"][0]}

    p = {"W": W0, "b": np.array([0.1, -0.2, 0.3])}
    (value, aux), gp = value_and_grad(fit, has_aux=True, backend="python")(p, X0)
    want_value, want_aux = fit(p, X0)
    assert value == pytest.approx(want_value, rel=1e-13)
    same_aux(aux, want_aux)
    auto = autograd.grad(lambda q: with_autograd(fit)(q, X0)[0])(p)
    assert list(gp) == ["W", "b"]
    close(gp["W"], auto["W"], 1e-12)
    close(gp["b"], auto["b"], 1e-12)
    gx, aux = grad(functools.partial(fit, p), has_aux=True, backend="python")(X0)
    close(gx, central(lambda v: fit(p, v)[0], (X0,), 0))
    same_aux(aux, want_aux)


def value_is_a_pair(x):
    return (np.sum(x), 1.0), 2.0


def aux_is_a_function(x):
    return np.sum(x), np.sin


def aux_grown_in_a_loop(x):
    items = []
    for i in range(x.shape[0]):
        items.append(x[i] * 2.0)
    return np.sum(x), items


@pytest.mark.parametrize("make", [grad, value_and_grad])
@pytest.mark.parametrize("fn", [not_a_pair, a_triple])
def test_has_aux_refuses_a_function_not_returning_a_pair(make, fn):
    with pytest.raises(NonScalarOutputError) as info:
        make(fn, has_aux=True, backend="python")(X0)
    message = str(info.value)
    lines, first = inspect.getsourcelines(fn)
    line = first + len(lines) - 1  # (its return, the last line)
    assert message.startswith(f"{__file__}:{line}: {fn.__name__}() returns ")
    assert "not a pair (value, aux)" in message


@pytest.mark.parametrize(
    ("fn", "what"),
    [
        (value_is_a_pair, "first item is a tuple"),
        (aux_is_a_function, "aux holds a function"),
        (aux_grown_in_a_loop, "aux holds a list grown in a loop"),
    ],
)
def test_has_aux_refuses_what_aux_cannot_hold(fn, what):
    with pytest.raises(NonScalarOutputError, match=what):
        grad(fn, has_aux=True, backend="python")(X0)


def test_without_has_aux_a_pair_is_refused_with_the_hint():
    with pytest.raises(NonScalarOutputError, match="has_aux=True"):
        grad(loss_array_aux, backend="python")(W0, X0)


def test_has_aux_source_and_compiled_for():
    g = grad(loss_tuple_aux, has_aux=True, backend="python")
    source = g.source_for(W0, X0)
    assert "aux" in source.splitlines()[0] or "aux" in source[:400]
    # numba code cannot return aux's dict as Python does: refused, with what to do
    with pytest.raises(ADCompilerError, match="aux holds a dict"):
        g.compiled_for(W0, X0)
    x, a = np.array([0.5, -0.4, 1.3]), 0.8
    v = value_and_grad(loop_aux, wrt=(0, 1), has_aux=True, backend="python")
    out = v.compiled_for(x, a)(x, a)  # ((value, aux), gradients), as a call returns them
    (value, aux), grads = v(x, a)
    assert out[0][0] == pytest.approx(value, rel=1e-13)
    assert out[0][1][:2] == pytest.approx(aux[:2], rel=1e-13)
    close(out[0][1][2], aux[2], 1e-13)
    close(out[1][0], grads[0], 1e-13)
    assert out[1][1] == pytest.approx(grads[1], rel=1e-13)


# -- vjp -----------------------------------------------------------------------------------------


def layer(W, x):
    return np.tanh(W @ x)


def elementwise(x):
    return np.exp(x) * np.sin(x) / (1.0 + x * x)


def matrix_out(W, x):
    return np.outer(np.sin(x), x) * 2.0 + W.T @ W


def loop_out(x, a):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        y[i] = a * x[i] ** 2 + np.sin(x[i])
        if i > 0:
            y[i] = y[i] * y[i - 1]
    return y


def scalar_out(x, a):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sin(a * x[i])
    return s


def own_cotangent(x, cotangent=2.0):
    return x * cotangent


def weighted(fn, c):
    """sum(fn(...) * c): what vjp differentiates."""
    return lambda *args: np.sum(fn(*args) * c)


@pytest.mark.parametrize("backend", BACKENDS)
def test_vjp_of_a_layer_matches_autograd(backend):
    v = vjp(layer, wrt=(0, 1), backend=backend)
    gW, gx = v(W0, X0, cotangent=C3)
    for pos, got in ((0, gW), (1, gx)):
        pullback, _ = autograd.make_vjp(with_autograd(layer), pos)(W0, X0)
        close(got, pullback(C3), 1e-12)
        close(got, central(weighted(layer, C3), (W0, X0), pos))
    close(vjp(layer, backend=backend)(W0, X0, cotangent=C3), gW, 1e-13)
    close(vjp(layer, wrt="x", backend=backend)(W0, x=X0, cotangent=C3), gx, 1e-13)
    assert "vector-Jacobian product" in v.source_for(W0, X0)


def test_vjp_of_elementwise_and_matrix_outputs():
    x = np.array([0.3, -1.1, 2.0, 0.7])
    got = vjp(elementwise, backend="python")(x, cotangent=C4)
    pullback, _ = autograd.make_vjp(with_autograd(elementwise))(x)
    close(got, pullback(C4), 1e-12)
    close(got, central(weighted(elementwise, C4), (x,), 0))
    W = RNG.normal(size=(2, 4))
    c = RNG.normal(size=(4, 4))
    gW, gx = vjp(matrix_out, wrt=(0, 1), backend="python")(W, x, cotangent=c)
    for pos, g in ((0, gW), (1, gx)):
        close(g, autograd.make_vjp(with_autograd(matrix_out), pos)(W, x)[0](c), 1e-12)
        close(g, central(weighted(matrix_out, c), (W, x), pos))


@pytest.mark.parametrize("backend", BACKENDS)
def test_vjp_of_a_loop_writing_an_output_array(backend):
    x, a = np.array([0.5, -0.4, 1.3, 0.9]), 0.8
    v = vjp(loop_out, wrt=(0, 1), backend=backend)
    for _ in range(2):
        gx, ga = v(x, a, cotangent=C4)
        close(gx, central(weighted(loop_out, C4), (x, a), 0))
        assert ga == pytest.approx(central(weighted(loop_out, C4), (x, a), 1), rel=1e-7)
        assert type(ga) is float
    assert len(v._builds) == 1
    source = v.source_for(x, a)
    assert "for i in range" in source and "def loop_out_vjp(x, a, cotangent)" in source
    assert "rt.cotangent(cotangent, y)" in source
    assert v.source_for(x.copy(), 1.0) is source
    # compiled_for: the arguments, then the cotangent; returns the gradients, as a call does
    out = v.compiled_for(x, a)(x, a, C4.copy())
    close(out[0], gx, 1e-13)
    assert out[1] == pytest.approx(ga, rel=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
def test_vjp_of_a_function_returning_a_float(backend):
    x, a = np.array([0.2, -0.9, 1.4]), 1.3
    got = vjp(scalar_out, backend=backend)(x, a, cotangent=-2.5)
    close(got, -2.5 * central(scalar_out, (x, a), 0))
    close(got, -2.5 * autograd.grad(with_autograd(scalar_out))(x, a), 1e-12)
    with pytest.raises(GradientInputError, match="returns a float"):
        vjp(scalar_out, backend=backend)(x, a, cotangent=np.ones(3))


@pytest.mark.parametrize("backend", BACKENDS)
def test_vjp_refuses_a_cotangent_of_another_shape(backend):
    x, a = np.array([0.5, -0.4, 1.3, 0.9]), 0.8
    v = vjp(loop_out, backend=backend)
    # (1,) and (3,) have the right number of dimensions: the program itself refuses them
    # rather than broadcast them
    for bad in (np.ones(3), np.ones(1), np.ones((4, 1)), 1.0):
        with pytest.raises(GradientInputError, match="cotangent has shape"):
            v(x, a, cotangent=bad)
    with pytest.raises(GradientInputError, match="cotangent has shape"):
        vjp(layer, backend=backend)(W0, X0, cotangent=np.ones(4))
    with pytest.raises(GradientInputError, match="needs the cotangent"):
        v(x, a)


def test_vjp_leaves_the_cotangent_alone():
    c = C4.copy()
    got = vjp(lambda_free_identity, backend="python")(X0, cotangent=c)
    close(got, C4, 0)
    assert got is not c
    got[:] = 0.0
    close(c, C4, 0)


def lambda_free_identity(x):
    return x


def test_vjp_with_a_parameter_named_cotangent():
    v = vjp(own_cotangent, backend="python")
    close(v(X0, 3.0, cotangent=C4), 3.0 * C4, 1e-14)
    close(v(X0, cotangent=C4), 2.0 * C4, 1e-14)
    assert "cotangent_1" in v.source_for(X0, 3.0)
    assert vjp(own_cotangent, wrt=1, backend="python")(X0, 3.0, cotangent=C4) == pytest.approx(
        float(np.sum(X0 * C4)), rel=1e-13
    )


def test_vjp_of_structured_arguments():
    def fit(p, x):
        return np.tanh(p["W"] @ x + p["b"])

    p = {"W": W0, "b": np.array([0.1, -0.2, 0.3])}
    gp = vjp(fit, backend="python")(p, X0, cotangent=C3)
    want = autograd.make_vjp(with_autograd(fit))(p, X0)[0](C3)
    assert list(gp) == ["W", "b"]
    close(gp["W"], want["W"], 1e-12)
    close(gp["b"], want["b"], 1e-12)


def test_vjp_refuses_what_it_cannot_do():
    with pytest.raises(ADCompilerError):
        vjp(vjp(layer))
    with pytest.raises(NonScalarOutputError):
        vjp(a_triple, backend="python")(X0, cotangent=1.0)


def test_vjp_keeps_the_arguments_unchanged():
    x = np.array([0.5, -0.4, 1.3, 0.9])
    before = copies((x,))[0]
    vjp(loop_out, backend="python")(x, 0.8, cotangent=C4)
    close(x, before, 0)
