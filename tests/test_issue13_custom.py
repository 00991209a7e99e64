"""Issue 13: gradient rules users add (`custom_vjp`) and `stop_gradient`. Expected values from
the math, and central differences of the original function."""

import numba
import numpy as np
import pytest
from structured_oracle import assert_close, central

import ad_compiler
from ad_compiler import NoGradientRuleError, grad, stop_gradient, value_and_grad

BACKENDS = ("python", "numba")


@ad_compiler.custom_vjp
def softplus(x):
    return np.log1p(np.exp(x))


@softplus.defvjp
def softplus_vjp(g, result, x):
    return g / (1.0 + np.exp(-x))


def uses_softplus(x):
    return softplus(x) * 2.0


def softplus_in_a_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + softplus(x[i] * 1.5) * x[i]
    return s


@numba.njit
def scaled_squares(a, b):
    out = np.empty_like(a)
    for i in range(a.size):
        out[i] = a[i] * a[i] * b
    return out


kernel = ad_compiler.custom_vjp(scaled_squares)


@kernel.defvjp
def kernel_vjp(g, result, a, b, repeat):
    # repeat, an int, takes no gradient
    return g * 2.0 * a * b * repeat, np.sum(g * a * a) * repeat, None


@ad_compiler.custom_vjp
def scaled_squares_twice(a, b, repeat):
    return scaled_squares(a, b) * repeat


scaled_squares_twice.defvjp(kernel_vjp)


def kernel_in_a_loop(a, b, n):
    s = 0.0
    for _ in range(n):
        s = s + np.sum(scaled_squares_twice(a, b, 2) * a)
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_softplus_rule_is_used(backend):
    with np.errstate(over="ignore"):
        assert grad(uses_softplus, backend=backend)(1000.0) == 2.0  # exactly: the rule's limit
    assert grad(uses_softplus, backend=backend)(0.3) == pytest.approx(2 / (1 + np.exp(-0.3)))
    source = grad(uses_softplus, backend=backend).source_for(0.3)
    assert "custom_softplus_vjp(" in source and "custom_softplus(" in source


@pytest.mark.parametrize("backend", BACKENDS)
def test_rule_inside_a_loop(backend):
    x = np.array([0.2, -0.4, 1.1])
    value, got = value_and_grad(softplus_in_a_loop, backend=backend)(x, 3)
    assert value == pytest.approx(softplus_in_a_loop(x, 3), rel=1e-12)
    assert_close(got, central(softplus_in_a_loop, (x, 3), 0), rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rule_around_a_numba_kernel_with_several_arguments(backend):
    a = np.array([0.5, -1.0, 2.0])
    ga, gb = grad(kernel_in_a_loop, wrt=(0, 1), backend=backend)(a, 1.5, 2)
    # n = 2 iterations of sum(2 a^2 b * a): d/da = 2 * 6 a^2 b; d/db = 2 * sum(2 a^3)
    assert_close(ga, 2 * 6 * a * a * 1.5)
    assert gb == pytest.approx(2 * np.sum(2 * a ** 3))
    assert_close(ga, central(kernel_in_a_loop, (a, 1.5, 2), 0), rtol=1e-6)


def no_rule(x):
    return without_rule(x)


@ad_compiler.custom_vjp
def without_rule(x):
    return x * 2.0


def test_custom_function_without_a_rule_is_refused():
    with pytest.raises(NoGradientRuleError, match="defvjp"):
        grad(no_rule, backend="python")(1.0)


def stops(x, n):
    s = x * stop_gradient(x)
    for _ in range(n):
        s = s + stop_gradient(s) * x
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_stop_gradient_passes_no_gradient(backend):
    # s0 = x * c (c = x held constant): ds0/dx = c; s1 = s0 + c1 * x: ds1/dx = c + c1
    x = 1.5
    c = x
    c1 = x * x
    assert grad(stops, backend=backend)(x, 1) == pytest.approx(c + c1)
    assert stops(x, 1) == x * x + x * x * x
