"""Constructors given differentiated values (issue 11, item 4), and the rule that no operation
may drop a gradient silently: an operation either has a derivative rule or is declared to have a
zero derivative; anything else reached by a differentiated value is refused.

Expected gradients are derived by hand below (each constructor is affine in its float
arguments) and checked against central differences of the original function too.
"""

import dataclasses

import numpy as np
import pytest
import sympy as sp
from gradcheck_helpers import central

from ad_compiler import value_and_grad
from ad_compiler.errors import NoGradientRuleError
from ad_compiler.rules import RULES
from ad_compiler.rules.elementwise import _zero_almost_everywhere

BACKENDS = ("python", "numba")


def linspace_squares(a, b):
    return np.sum(np.linspace(a, b, 5) ** 2)


def linspace_one_point(a, b):
    return np.sum(np.linspace(a, b, 1) * 3.0)


def full_weighted(h0):
    return np.sum(np.full(3, h0) * np.arange(3.0))


def arange_squares(x0):
    return np.sum(np.arange(x0, x0 + 3) ** 2)


def arange_with_step(x0, step):
    return np.sum(np.arange(x0, x0 + 2.5, step) ** 2)


def full_like_product(x, h):
    return np.sum(np.full_like(x, h) * x)


def full_in_loop(h, x):
    total = 0.0
    for i in range(3):
        row = np.full(2, h * i)
        total += np.sum(row * x)
    return total


def linspace_in_loop(a, n_steps):
    total = 0.0
    for k in range(n_steps):
        grid = np.linspace(a * k, a + 1.0, 4)
        total += np.sum(np.sin(grid))
    return total


def _t(num):
    return np.linspace(0.0, 1.0, num)


# (function, arguments, wrt, expected value, expected gradients): derived by hand.
CASES = [
    (
        linspace_squares,
        (0.3, 1.7),
        (0, 1),
        np.sum((0.3 + 1.4 * _t(5)) ** 2),
        (
            np.sum(2 * (0.3 + 1.4 * _t(5)) * (1 - _t(5))),
            np.sum(2 * (0.3 + 1.4 * _t(5)) * _t(5)),
        ),
    ),
    (linspace_one_point, (0.3, 1.7), (0, 1), 0.9, (3.0, 0.0)),
    (full_weighted, (0.7,), (0,), 2.1, (3.0,)),
    (arange_squares, (0.4,), (0,), 0.16 + 1.96 + 5.76, (2 * (0.4 + 1.4 + 2.4),)),
    (
        arange_with_step,
        (0.5, 0.75),
        (0, 1),
        0.25 + 1.5625 + 4.0 + 7.5625,
        (2 * (0.5 + 1.25 + 2.0 + 2.75), 2 * (1.25 * 1 + 2.0 * 2 + 2.75 * 3)),
    ),
    (
        full_like_product,
        (np.array([1.0, 2.0]), 0.7),
        (0, 1),
        2.1,
        (np.array([0.7, 0.7]), 3.0),
    ),
    (
        full_in_loop,
        (0.5, np.array([1.0, -2.0])),
        (0, 1),
        0.5 * (0 + 1 + 2) * (1.0 - 2.0),
        ((0 + 1 + 2) * (1.0 - 2.0), np.array([1.5, 1.5])),
    ),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]
)
def test_constructor_gradients(case, backend):
    fn, args, wrt, want_value, want_grads = case
    value, grads = value_and_grad(fn, wrt=wrt, backend=backend)(*args)
    assert value == pytest.approx(fn(*args), rel=1e-12)
    assert value == pytest.approx(want_value, rel=1e-12)
    for pos, got, want in zip(wrt, grads, want_grads):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got, central(fn, args, pos), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
def test_linspace_in_a_loop_against_central_differences(backend):
    args = (0.4, 3)
    value, g = value_and_grad(linspace_in_loop, wrt=0, backend=backend)(*args)
    assert value == pytest.approx(linspace_in_loop(*args), rel=1e-12)
    assert g == pytest.approx(central(linspace_in_loop, args, 0), rel=1e-7)


def test_an_operation_without_a_rule_is_refused_not_zeroed(monkeypatch):
    # Take np.full's rule away: the fill value carries a gradient, so the compiler must refuse
    # the function (naming the line), not return a zero gradient.
    monkeypatch.setitem(RULES, "full", dataclasses.replace(RULES["full"], vjp=None))

    def fill(h):
        return np.sum(np.full(3, h))

    with pytest.raises(NoGradientRuleError, match=r"test_issue11_constructors\.py:\d+: .*'full'"):
        value_and_grad(fill, backend="python")(0.5)


def test_zero_derivative_constructors_still_work():
    # np.zeros_like(x) depends only on x's shape: declared zero derivative, no refusal.
    def shifted(x):
        return np.sum((np.zeros_like(x) + 1.0) * x)

    value, g = value_and_grad(shifted, backend="python")(np.array([1.0, 2.0]))
    assert value == 3.0
    np.testing.assert_array_equal(g, [1.0, 1.0])


def test_unknown_symbolic_derivatives_are_never_dropped():
    x = sp.Symbol("x", real=True)
    assert _zero_almost_everywhere(sp, sp.diff(sp.floor(x), x)) == 0
    with pytest.raises(ValueError, match="unevaluated"):
        _zero_almost_everywhere(sp, sp.diff(sp.frac(x), x))  # frac' = 1, not 0
