"""Scalar gradients: every function of tests/scalar_functions.py, on both backends.

Expected gradients come from central differences of the plain Python function (computed here,
with Richardson extrapolation, independently of ad_compiler) and from ad_compiler's own
check_grad; the lecture's examples are checked against the lecture's numbers and closed forms.
"""

import math

import numpy as np
import pytest
import scalar_functions as sf
from gradcheck_helpers import cached, case_ids, central, unreached_statements

from ad_compiler import check_grad, grad, value_and_grad

BACKENDS = ("python", "numba")

# (function, arguments): chosen away from kinks and domain edges, and on each side of every
# branch (test_every_statement_is_reached checks that every statement runs).
CASES = [
    (sf.circuit, (-2.0, 5.0, -4.0)),
    (sf.circuit, (1.5, -0.5, 2.0)),
    (sf.neuron, (2.0, -3.0, -3.0, -1.0, -2.0)),
    (sf.neuron, (0.5, 0.25, -0.1, 1.2, -0.7)),
    (sf.sigmoid, (0.3,)),
    (sf.neuron_with_helper, (2.0, -3.0, -3.0, -1.0, -2.0)),
    (sf.arithmetic, (1.3, 0.7)),
    (sf.arithmetic, (-0.8, 2.1)),
    (sf.integer_powers, (1.3,)),
    (sf.integer_powers, (-0.7,)),
    (sf.float_powers, (1.3, 0.7)),
    (sf.variable_powers, (1.2, 0.8)),
    (sf.unary_minus, (1.2, -0.4)),
    (sf.constants, (0.7, -1.1)),
    (sf.reassigned, (0.6, 1.1)),
    (sf.augmented, (0.9, 0.4)),
    (sf.augmented, (-1.2, 0.3)),
    (sf.tuple_assignment, (0.5, 1.5)),
    (sf.conditional_expression, (2.0, 0.7)),  # x > y, t = 1.4 > 1
    (sf.conditional_expression, (0.9, 0.5)),  # x > y, t = 0.45 <= 1
    (sf.conditional_expression, (0.3, 1.2)),  # x <= y, t = 1.74 > 1
    (sf.conditional_expression, (-0.5, 0.5)),  # x <= y, t = -0.25 <= 1
    (sf.math_exp_log, (0.8,)),
    (sf.np_exp_log, (1.7,)),
    (sf.math_trig, (0.4,)),
    (sf.math_trig, (2.0,)),
    (sf.np_trig, (0.7, 0.3)),
    (sf.math_inverse_trig, (0.3,)),
    (sf.math_inverse_trig, (-0.6,)),
    (sf.np_inverse_trig, (0.5, 0.8)),
    (sf.hyperbolic, (0.6,)),
    (sf.hyperbolic, (-1.1,)),
    (sf.fabs_and_pow, (-1.3, 0.8)),
    (sf.fabs_and_pow, (0.9, 1.7)),
    (sf.two_argument_functions, (1.2, -0.7)),
    (sf.two_argument_functions, (-0.5, 0.9)),
    (sf.builtin_abs_min_max, (0.5, 1.5, -2.0)),
    (sf.builtin_abs_min_max, (-1.5, 0.7, 1.3)),
    (sf.builtin_abs_min_max, (2.2, -0.3, 0.9)),
    (sf.builtin_abs_min_max, (1.1, 2.0, 0.4)),
    (sf.mod_and_floordiv, (5.3, 1.7)),
    (sf.mod_and_floordiv, (-2.3, 1.3)),
    (sf.mod_and_floordiv, (4.1, -1.5)),
    (sf.square, (1.3,)),
    (sf.poly, (0.7,)),
    (sf.poly, (0.7, 2.0, -1.0)),
    (sf.uses_helpers, (1.1, 0.6)),
    (sf.uses_helpers, (-0.8, 1.4)),
    (sf.piecewise, (-2.0,)),
    (sf.piecewise, (0.5,)),
    (sf.piecewise, (1.5,)),
    (sf.nested_branches, (1.2, 0.9)),
    (sf.nested_branches, (1.2, 0.2)),
    (sf.nested_branches, (-0.5, 0.8)),
    (sf.nested_branches, (-0.5, -0.7)),
    (sf.boolean_conditions, (1.2, 0.8)),
    (sf.boolean_conditions, (1.2, -0.8)),
    (sf.boolean_conditions, (-1.2, 0.8)),
    (sf.boolean_conditions, (-1.2, -0.8)),
    (sf.several_returns, (2.5, 0.4)),
    (sf.several_returns, (1.0, 0.6)),
    (sf.several_returns, (1.0, -0.6)),
    (sf.loop_range, (0.7, 5)),
    (sf.loop_range, (1.3, 0)),
    (sf.loop_range_step, (0.8, 1.2, 6)),
    (sf.loop_range_step, (0.8, 1.2, 1)),
    (sf.loop_fibonacci, (0.5, 1.5, 4)),
    (sf.loop_while, (0.3,)),
    (sf.loop_while_condition, (1.7,)),
    (sf.loop_while_condition, (25.0,)),
]


IDS = case_ids(CASES)


def float_positions(args):
    """wrt for every float argument: a position when there is one (the 1-tuple form is tested
    in test_wrt_forms), else a tuple of positions."""
    positions = tuple(i for i, a in enumerate(args) if isinstance(a, float))
    return positions[0] if len(positions) == 1 else positions


def as_tuple(wrt, grads):
    return grads if isinstance(wrt, tuple) else (grads,)


def positions_of(wrt):
    return wrt if isinstance(wrt, tuple) else (wrt,)


# -- every function, both backends ---------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args"), CASES, ids=IDS)
def test_gradient_matches_central_differences(fn, args, backend):
    wrt = float_positions(args)
    grads = cached(fn, wrt, backend)(*args)
    if isinstance(wrt, tuple):
        assert isinstance(grads, tuple) and len(grads) == len(wrt)
    for pos, g in zip(positions_of(wrt), as_tuple(wrt, grads)):
        assert type(g) is float, f"d/d{pos}: {type(g).__name__}, expected float"
        expected = central(fn, args, pos)
        assert g == pytest.approx(expected, rel=1e-7, abs=1e-8), f"wrt argument {pos}"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args"), CASES, ids=IDS)
def test_check_grad(fn, args, backend):
    check_grad(fn, *args, wrt=float_positions(args), backend=backend, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("fn", "args"), CASES, ids=IDS)
def test_backends_agree(fn, args):
    wrt = float_positions(args)
    python = cached(fn, wrt, "python")(*args)
    numba = cached(fn, wrt, "numba")(*args)
    np.testing.assert_allclose(np.array(numba), np.array(python), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args"), CASES, ids=IDS)
def test_value_and_grad(fn, args, backend):
    wrt = float_positions(args)
    value, grads = cached(fn, wrt, backend, with_value=True)(*args)
    assert type(value) is float
    assert value == pytest.approx(fn(*args), rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(np.array(grads), np.array(cached(fn, wrt, backend)(*args)),
                               rtol=1e-12, atol=1e-14)


def test_every_statement_is_reached():
    """The table exercises every statement of scalar_functions.py: both sides of every if."""

    def run():
        for fn, args in CASES:
            fn(*args)
        sf.neuron_array(np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0]))

    assert unreached_statements(sf.__file__, run) == []


# -- the lecture ---------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_lecture_circuit_exact(backend):
    value, grads = value_and_grad(sf.circuit, wrt=(0, 1, 2), backend=backend)(-2.0, 5.0, -4.0)
    assert value == -12.0
    assert grads == (-4.0, -4.0, 3.0)
    assert all(type(g) is float for g in grads)


NEURON_DW = (-0.196612, -0.393224, 0.196612)
NEURON_DX = (0.393224, -0.589836)


def _neuron_closed_form():
    s = 1.0 / (1.0 + math.exp(-1.0))  # w0 x0 + w1 x1 + w2 = 1
    ds = s * (1.0 - s)
    return (-1.0 * ds, -2.0 * ds, ds), (2.0 * ds, -3.0 * ds)


def test_neuron_closed_form_matches_lecture():
    dw, dx = _neuron_closed_form()
    assert dw == pytest.approx(NEURON_DW, abs=1e-6)
    assert dx == pytest.approx(NEURON_DX, abs=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [sf.neuron, sf.neuron_with_helper])
def test_lecture_neuron_scalars(fn, backend):
    value, grads = value_and_grad(fn, wrt=(0, 1, 2, 3, 4), backend=backend)(
        2.0, -3.0, -3.0, -1.0, -2.0)
    assert value == pytest.approx(0.7311, abs=1e-4)
    assert grads[:3] == pytest.approx(NEURON_DW, abs=1e-6)
    assert grads[3:] == pytest.approx(NEURON_DX, abs=1e-6)
    dw, dx = _neuron_closed_form()
    assert grads == pytest.approx(dw + dx, rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lecture_neuron_arrays(backend):
    w = np.array([2.0, -3.0, -3.0])
    x = np.array([-1.0, -2.0])
    value, (dw, dx) = value_and_grad(sf.neuron_array, wrt=("w", "x"), backend=backend)(w, x)
    assert value == pytest.approx(0.7311, abs=1e-4)
    assert isinstance(dw, np.ndarray) and dw.shape == (3,) and dw.dtype == np.float64
    assert isinstance(dx, np.ndarray) and dx.shape == (2,) and dx.dtype == np.float64
    np.testing.assert_allclose(dw, NEURON_DW, atol=1e-6)
    np.testing.assert_allclose(dx, NEURON_DX, atol=1e-6)
    check_grad(sf.neuron_array, w, x, wrt=(0, 1), backend=backend)
    # the inputs are not modified
    np.testing.assert_array_equal(w, [2.0, -3.0, -3.0])
    np.testing.assert_array_equal(x, [-1.0, -2.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_neuron_float32_arrays_keep_their_dtype(backend):
    w = np.array([2.0, -3.0, -3.0], dtype=np.float32)
    x = np.array([-1.0, -2.0], dtype=np.float32)
    dw, dx = grad(sf.neuron_array, wrt=(0, 1), backend=backend)(w, x)
    assert dw.dtype == np.float32 and dw.shape == (3,)
    assert dx.dtype == np.float32 and dx.shape == (2,)
    np.testing.assert_allclose(dw, NEURON_DW, atol=1e-5)
    np.testing.assert_allclose(dx, NEURON_DX, atol=1e-5)


# -- the decorator forms and wrt -----------------------------------------------------------------


@grad
def deco_plain(x, y):
    return x * y + math.sin(x)


@grad(wrt="y")
def deco_named(x, y):
    return x * y + math.sin(x)


@grad(wrt=(1, 0), backend="python")
def deco_tuple(x, y):
    return x * y + math.sin(x)


def test_decorator_forms():
    x, y = 0.4, 1.7
    dx, dy = y + math.cos(x), x
    assert deco_plain(x, y) == pytest.approx(dx, rel=1e-14)
    assert type(deco_plain(x, y)) is float
    assert deco_named(x, y) == pytest.approx(dy, rel=1e-14)
    assert deco_tuple(x, y) == pytest.approx((dy, dx), rel=1e-14)
    assert deco_plain.backend == "numba"
    assert deco_plain.__name__ == "deco_plain"


def three(x, y, z):
    return x * y**2 * math.exp(z)


def _three_grads(x, y, z):
    e = math.exp(z)
    return y * y * e, 2 * x * y * e, x * y * y * e


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrt_forms(backend):
    args = (0.7, -1.3, 0.4)
    dx, dy, dz = _three_grads(*args)

    def g(wrt):
        return grad(three, wrt=wrt, backend=backend)(*args)

    for wrt in (0, "x", -3):
        assert g(wrt) == pytest.approx(dx, rel=1e-13)
        assert type(g(wrt)) is float
    assert g(1) == pytest.approx(dy, rel=1e-13)
    assert g(-1) == pytest.approx(dz, rel=1e-13)
    assert g("z") == pytest.approx(dz, rel=1e-13)
    assert g((2, 0)) == pytest.approx((dz, dx), rel=1e-13)
    assert g(("z", "x", 1)) == pytest.approx((dz, dx, dy), rel=1e-13)
    assert g((-2, "x")) == pytest.approx((dy, dx), rel=1e-13)
    single = g(("y",))
    assert isinstance(single, tuple) and len(single) == 1
    assert single[0] == pytest.approx(dy, rel=1e-13)
    # grad(f, wrt=...) called with keyword arguments
    assert grad(three, wrt=(0, 2), backend=backend)(x=0.7, z=0.4, y=-1.3) == pytest.approx(
        (dx, dz), rel=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_types(backend):
    # float -> float, np.float64 -> np.float64 (a float), np.float32 -> np.float32
    g = grad(three, wrt=(0, 1, 2), backend=backend)
    out = g(0.7, -1.3, 0.4)
    assert all(type(v) is float for v in out)
    out = g(np.float64(0.7), -1.3, np.float32(0.4))
    assert isinstance(out[0], np.float64) and isinstance(out[0], float)
    assert type(out[1]) is float
    assert isinstance(out[2], np.float32)
    assert float(out[2]) == pytest.approx(_three_grads(0.7, -1.3, 0.4)[2], rel=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_int_argument_not_differentiated(backend):
    # n is an int and is not in wrt: it is a loop bound; changing it changes the gradient.
    g = grad(sf.loop_range, wrt="x", backend=backend)
    x = 0.7
    for n in (0, 1, 3, 6):
        expected = sum(i * x ** (i - 1) / (i + 1) for i in range(1, n))
        assert g(x, n) == pytest.approx(expected, rel=1e-13, abs=1e-15)
