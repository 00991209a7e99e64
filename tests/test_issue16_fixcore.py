"""Issue 16, fixes of the adversary's findings (test_issue16_adversary.py holds the findings
themselves): int ** int in numba code. Expected values come from the original function (its
CPython value, central differences)."""

import numpy as np
import pytest
from gradcheck_helpers import central

from ad_compiler import grad, tiering, value_and_grad, vjp

# -- int ** int in numba code: CPython's value or an error, never numba's wrapped int64 --------


def power_sum(x, n):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] ** 2 * 3**n + 2**i * x[i]
    return s


@pytest.mark.parametrize("n", [-3, 0, 2, 45])
def test_int_powers_feeding_floats_follow_cpython(n):
    x = np.array([0.5, -1.0, 2.0])
    vg = value_and_grad(power_sum)
    value, g = vg(x, n)
    assert value == pytest.approx(power_sum(x, n), rel=1e-12)
    np.testing.assert_allclose(g, central(power_sum, (x, n), 0), rtol=1e-7)
    assert "3.0 ** n" in vg.source  # a float power, as CPython's


def pick(x, n):
    return x[2**n] * x[n**2 - 1]


def test_int_power_used_as_an_index_is_checked():
    x = np.arange(1.0, 10.0)
    np.testing.assert_allclose(grad(pick)(x, 2), central(pick, (x, 2), 0), atol=1e-9)
    with pytest.raises(ValueError, match=r"write 2\.0 \*\* n"):
        grad(pick)(x, -1)  # CPython: x[0.5] is an error too
    with pytest.raises(IndexError):
        # numba would wrap 2**70 to 0; its checked power raises, and the NumPy program, with
        # Python's ints, raises CPython's IndexError
        grad(pick)(x, 70)


def blocks(x, n):
    s = 0.0
    for i in range(2**n):
        s = s + x[i % x.shape[0]] * (i + 1)
    return s


def test_int_power_as_a_loop_bound():
    x = np.array([0.5, -1.0, 2.0])
    value, g = value_and_grad(blocks)(x, 3)
    assert value == pytest.approx(blocks(x, 3))
    np.testing.assert_allclose(g, central(blocks, (x, 3), 0), rtol=1e-8)
    with pytest.raises(ValueError, match="negative"):
        value_and_grad(blocks)(x, -1)


def negative_base(x, n):
    return x * (-2) ** n


@pytest.mark.parametrize("n", [-3, 3, 4])
def test_negative_constant_base(n):
    assert value_and_grad(negative_base)(1.5, n) == pytest.approx((1.5 * (-2) ** n, (-2) ** n))


def test_int_power_helper_matches_cpython():
    from ad_compiler import runtime as rt

    for a in (-3, -1, 0, 1, 2, 7, True):
        for b in (0, 1, 2, 5, 21):
            assert rt.int_power(a, b) == a**b
    with pytest.raises(OverflowError):
        rt.int_power(2, 63)
    assert rt.int_power(-2, 62) == (-2) ** 62


# -- two gradients are two arrays: never one array returned twice, nor an argument -----------


def added(x, y):
    return np.sum(x + y)


def added_with_aux(x, y):
    return np.sum(x + y), x


def added_dict(p):
    return np.sum(p["u"] + p["v"])


def looped_sum(x, y):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] + y[i]
    return s


def _separate(*arrays):
    for i, a in enumerate(arrays):
        for b in arrays[i + 1 :]:
            assert not np.may_share_memory(a, b)


@pytest.mark.parametrize("backend", ["numba", "python"])
@pytest.mark.parametrize("fn", [added, looped_sum])
def test_gradients_never_share_memory(backend, fn):
    x, y = np.arange(1.0, 4.0), np.arange(4.0, 7.0)
    g, vg = grad(fn, wrt=(0, 1), backend=backend), value_and_grad(fn, wrt=(0, 1), backend=backend)
    for _ in range(3):  # the general path, then the fast path
        gx, gy = g(x, y)
        _separate(gx, gy, x, y)
        value, (gx, gy) = vg(x, y)
        _separate(gx, gy, x, y)
    gx, gy = vjp(fn, wrt=(0, 1), backend=backend)(x, y, cotangent=1.0)
    _separate(gx, gy, x, y)
    (gx, gy), aux = grad(added_with_aux, wrt=(0, 1), has_aux=True, backend=backend)(x, y)
    _separate(gx, gy, x, y)
    gx *= 0.1
    np.testing.assert_array_equal(gy, np.ones(3))
    g = grad(added_dict, backend=backend)({"u": x, "v": y})
    _separate(g["u"], g["v"], x, y)


def test_gradients_never_share_memory_after_tier_up(monkeypatch):
    monkeypatch.setattr(tiering, "HOT_CALLS", 2)
    monkeypatch.setattr(tiering, "FASTER", 1e9)
    monkeypatch.setattr(tiering, "REMEMBER_CHOICES", False)  # (a forced choice)
    x, y = np.arange(1.0, 4.0), np.arange(4.0, 7.0)
    g = grad(added, wrt=(0, 1))
    g(x, y)
    g(x, y)
    outcomes = [k.wait(600) for k, _ in g._dispatch.values() if isinstance(k, tiering.TieredKernel)]
    assert outcomes[0].startswith("numba")
    for _ in range(3):
        gx, gy = g(x, y)
        gx *= 0.1
        np.testing.assert_array_equal(gy, np.ones(3))


# -- built-in max()/min() of numbers: the gradient follows the branch Python's max took -------


def max_min_pair(a, b):
    return max(a, b) + 3.0 * min(a, b)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_builtin_max_min_with_a_nan(backend):
    nan = float("nan")
    vg = value_and_grad(max_min_pair, wrt=(0, 1), backend=backend)
    # max(1.0, nan) is 1.0 and min(1.0, nan) is 1.0: the NaN is never chosen, never reached
    value, (da, db) = vg(1.0, nan)
    assert value == max_min_pair(1.0, nan) == 4.0
    assert (da, db) == (4.0, 0.0)
    value, (da, db) = vg(2.0, 0.5)
    assert value == max_min_pair(2.0, 0.5)
    assert da == pytest.approx(central(max_min_pair, (2.0, 0.5), 0))
    assert (da, db) == (1.0, 3.0)


# -- lambdas whose lines alone do not parse: found in the whole file -------------------------

STEPS = {
    "pair": (lambda x: x * (lambda y: y * y)(x), lambda x: 2.0 * x),
    "nested": lambda x: (lambda y: y**3)(x) + x,
}
SHIFTED = [lambda x: x + 1.0,
           lambda x: x * x * x, lambda x: x - 1.0]  # fmt: skip


def test_lambdas_inside_literals():
    assert grad(STEPS["pair"][1])(2.0) == 2.0
    assert grad(STEPS["nested"])(2.0) == pytest.approx(13.0)
    assert grad(SHIFTED[0])(2.0) == 1.0
    assert grad(SHIFTED[1])(2.0) == pytest.approx(12.0)
    assert grad(SHIFTED[2])(2.0) == 1.0


# -- Python ints beyond int64 run as Python runs them (on the NumPy program) ----------------


def scaled_loop(x, n):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * x[i] * n
    return s


def test_big_python_ints_run_as_in_python():
    x = np.array([0.5, -1.0])
    vg = value_and_grad(scaled_loop)
    for _ in range(3):  # the general path, then the fast path
        value, g = vg(x, 2**70)
        assert value == pytest.approx(scaled_loop(x, 2**70))
        np.testing.assert_allclose(g, 2 * x * 2.0**70)
        value, g = vg(x, 3)  # int64 ints stay on numba
        np.testing.assert_allclose(g, 6 * x)
