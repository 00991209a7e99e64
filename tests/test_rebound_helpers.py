"""A module-level helper redefined (a notebook cell run again) or a function alias rebound
(`activation = np.sin`) after the gradient was built: Python calls the new one, and so does
the gradient (live.py, `pin_object`: the function is normalized again). Found by an adversary:
the gradient kept the old helper. Expected values from the closed forms."""

import numpy as np
import pytest

from ad_compiler import value_and_grad

activation = np.tanh


def helper(v):
    return v**2


def model(x):
    return np.sum(activation(x)) + np.sum(helper(x))


def loop_model(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + helper(x[i])
    return s


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_rebound_helper_and_alias(backend):
    global activation, helper
    x = np.array([0.3, -0.5, 0.9])
    vg = value_and_grad(model, backend=backend)
    old_activation, old_helper = activation, helper
    try:
        value, g = vg(x)
        assert value == pytest.approx(model(x))
        np.testing.assert_allclose(g, 1 - np.tanh(x) ** 2 + 2 * x)

        def helper(v):  # noqa: F811  (redefined, as a notebook cell run again)
            return 10.0 * v

        value, g = vg(x)
        assert value == pytest.approx(model(x))
        np.testing.assert_allclose(g, 1 - np.tanh(x) ** 2 + 10.0)
        activation = np.sin
        value, g = vg(x)
        assert value == pytest.approx(model(x))
        np.testing.assert_allclose(g, np.cos(x) + 10.0)
        activation, helper = old_activation, old_helper  # back: the first program again
        np.testing.assert_allclose(vg(x)[1], 1 - np.tanh(x) ** 2 + 2 * x)
    finally:
        activation, helper = old_activation, old_helper


def test_rebound_helper_in_a_loop():
    global helper
    x = np.array([0.3, -0.5, 0.9])
    vg = value_and_grad(loop_model)
    old_helper = helper
    try:
        np.testing.assert_allclose(vg(x)[1], 2 * x)

        def helper(v):  # noqa: F811
            return v**3

        value, g = vg(x)
        assert value == pytest.approx(np.sum(x**3))
        np.testing.assert_allclose(g, 3 * x**2)
    finally:
        helper = old_helper


def constant_helper(v):
    return 0.5


def constant_model(x0, x1):
    t0 = 1.5
    return t0 + constant_helper(x1)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_constant_result_through_a_helper(backend):
    # (the fuzzer's: the helper, checked at each call, was passed as a hidden parameter)
    value, g = value_and_grad(constant_model, wrt=1, backend=backend)(np.ones(2), np.ones(3))
    assert value == 2.0
    np.testing.assert_array_equal(g, np.zeros(3))


class Model:
    def act(self, v):
        return v * v


network = Model()


def through_a_method(x):
    return network.act(x) * 3.0


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_method_of_a_module_level_object(backend):
    # (found by review: a bound method, new at every read, was checked to be the same object)
    g = value_and_grad(through_a_method, backend=backend)
    for _ in range(3):
        assert g(1.5) == (6.75, 9.0)
