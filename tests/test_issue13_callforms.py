"""Issue 13: more call forms users write around NumPy: np.einsum in the sublist form,
module-level tuples where a constant is needed (`axis=AXES`), module-level lists of arrays
(`for W in LAYERS`), `functools.partial` objects made at module level, and np.gradient along
several named axes. Each case: the value against CPython running the original, the gradient
against central differences of it and, where autograd runs the same code, against autograd."""

import functools

import numpy as np
import pytest
from structured_oracle import assert_close, central
from test_oracles import autograd_version

import ad_compiler
from ad_compiler import UnsupportedSyntaxError, grad, value_and_grad

BACKENDS = ("python", "numba")
RNG = np.random.default_rng(1331)
AXES = (0, 2)
SUBLIST = (Ellipsis, 0, 1)
LAYERS = [RNG.standard_normal((3, 3)) * 0.5, RNG.standard_normal((3, 3)) * 0.5]
C0, C1 = RNG.standard_normal((4, 5, 3)), RNG.standard_normal((4, 5, 3))


def einsum_sublists(a, b):
    return np.sum(np.einsum(a, [0, 1], b, [1, 2], [0, 2]) ** 2)


def einsum_sublists_ellipsis(a, b):
    c = np.einsum(a, SUBLIST, b, (Ellipsis, 1, 2), (Ellipsis, 0, 2))
    return np.sum(np.sin(c))


def einsum_sublists_in_loop(a, b):
    total = 0.0
    for i in range(3):
        total = total + np.sum(np.einsum(a * (i + 1.0), [0, 1], b, [1, 2], [0, 2]))
    return total


def sum_over_module_axes(x):
    return np.sum(np.sum(x, axis=AXES) ** 2)


def through_layers(x):
    for W in LAYERS:
        x = np.tanh(W @ x)
    return np.sum(x**2) + np.sum(LAYERS[0] @ x)


def through_layers_in_loop(x):
    total = 0.0
    for i in range(2):
        y = x * (i + 1.0)
        for W in LAYERS:
            y = np.tanh(W @ y)
        total = total + np.sum(y)
    return total


def gradients_along_axes(x):
    a, b = np.gradient(x, axis=(0, -1))
    return np.sum(a * C0) + np.sum(b**2)


def gradients_spaced(x, h):
    parts = np.gradient(x, h, axis=(1, 2), edge_order=2)
    return np.sum(parts[0] * C1) + np.sum(np.sin(parts[1]))


def gradients_in_loop(x):
    total = 0.0
    for i in range(2):
        a, b = np.gradient(x * (i + 1.0), axis=(0, 1))
        total = total + np.sum(a * C0) + np.sum(b * C1)
    return total


def scaled_power_sum(x, scale, power=2.0):
    return scale * np.sum(x**power)


batched_dot = functools.partial(np.einsum, "...ij,...jk->...ik")
triple_power_sum = functools.partial(scaled_power_sum, scale=3.0)
times_w = functools.partial(np.dot, RNG.standard_normal((2, 3)))


def through_partials(x):
    gram = batched_dot(np.swapaxes(x, -1, -2), x)
    return (
        np.sum(np.linalg.inv(gram + np.eye(3)))
        + triple_power_sum(x, power=3.0)
        + np.sum(times_w(x[0]) ** 2)
    )


def through_partials_in_loop(x):
    total = 0.0
    for i in range(2):
        total = total + triple_power_sum(x * (i + 1.0)) + np.sum(times_w(x[i]))
    return total


A23, B34, A223 = (
    RNG.standard_normal((2, 3)),
    RNG.standard_normal((3, 4)),
    RNG.standard_normal((2, 2, 3)),
)
X453 = RNG.standard_normal((4, 5, 3))
CASES = [
    (einsum_sublists, (A23, B34), 0),
    (einsum_sublists, (A23, B34), 1),
    (einsum_sublists_ellipsis, (A223, B34), 0),
    (einsum_sublists_ellipsis, (A223, B34), 1),
    (einsum_sublists_in_loop, (A23, B34), 0),
    (sum_over_module_axes, (X453,), 0),
    (through_layers, (RNG.standard_normal(3),), 0),
    (through_layers_in_loop, (RNG.standard_normal(3),), 0),
    (gradients_along_axes, (X453,), 0),
    (gradients_spaced, (X453, 0.7), 0),
    (gradients_spaced, (X453, 0.7), 1),
    (gradients_in_loop, (X453,), 0),
    (through_partials, (RNG.standard_normal((4, 3)),), 0),
    (through_partials_in_loop, (RNG.standard_normal((4, 3)),), 0),
]
# the partials hold NumPy's own functions; autograd's np.gradient adjoint fails on axis=-1
# and has none with a spacing given
NO_AUTOGRAD = (through_partials, through_partials_in_loop, gradients_along_axes, gradients_spaced)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn, args, pos", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_against_the_original(fn, args, pos, backend):
    value, gradient = value_and_grad(fn, wrt=pos, backend=backend)(*args)
    np.testing.assert_allclose(value, fn(*args), rtol=1e-12)
    assert_close(gradient, central(fn, list(args), pos), rtol=1e-5, atol=1e-6)
    if fn not in NO_AUTOGRAD:
        import autograd

        oracle = autograd.grad(autograd_version(fn), pos)(*args)
        assert_close(gradient, oracle, rtol=1e-9, atol=1e-10)


def test_module_level_values_are_read_at_each_call():
    global AXES
    x = np.arange(60.0).reshape(4, 5, 3)
    g = grad(sum_over_module_axes, backend="python")
    np.testing.assert_allclose(
        g(x), np.broadcast_to(2 * x.sum(axis=(0, 2))[None, :, None], x.shape)
    )
    saved_axes, saved_first = AXES, LAYERS[0]
    try:
        AXES = (1, 2)  # a pinned constant changed: built again
        np.testing.assert_allclose(
            g(x), np.broadcast_to(2 * x.sum(axis=(1, 2))[:, None, None], x.shape)
        )
        h = grad(through_layers, backend="python")
        v = RNG.standard_normal(3)
        LAYERS[0] = LAYERS[0] * 2.0  # an item changed: passed in anew
        assert_close(h(v), central(through_layers, [v], 0), rtol=1e-5, atol=1e-6)
        LAYERS.append(np.eye(3))  # the length changed: built again
        assert_close(h(v), central(through_layers, [v], 0), rtol=1e-5, atol=1e-6)
    finally:
        AXES = saved_axes
        LAYERS[:] = [saved_first, LAYERS[1]]


def test_partial_hidden_parameters_are_named_after_the_partial():
    source = ad_compiler.grad(through_partials, backend="python").source_for(
        RNG.standard_normal((4, 3))
    )
    assert "times_w_args_0" in source and "triple_power_sum_keywords_scale" in source


def einsum_bad_sublist(a):
    return np.sum(np.einsum(a, [0, 99]))


def gradients_all_axes(x):
    a, b = np.gradient(x)
    return np.sum(a) + np.sum(b)


def test_refusals_name_the_rewrite():
    with pytest.raises(UnsupportedSyntaxError, match="sublists must be constant"):
        grad(einsum_bad_sublist, backend="python")(A23)
    with pytest.raises(UnsupportedSyntaxError, match=r"name the axes: np.gradient\(f, axis="):
        grad(gradients_all_axes, backend="python")(A23)
