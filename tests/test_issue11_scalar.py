"""Issue 11, items 5, 6 and 13: `and`/`or` as values, powers at zero, and `trace` tables and
warnings that disagreed with the code.

Expected values come from running the original function in CPython, expected gradients from
central differences of the original function where it is differentiable, from autograd, or
from the math written next to each case (at the points where a truth test or a power is not
differentiable, the convention the README documents: the branch taken, and autograd's choice
for powers at zero).
"""

import math
import re
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from gradcheck_helpers import cached, central, copies

from ad_compiler import grad, trace
from ad_compiler.errors import UnsupportedSyntaxError
from ad_compiler.formula import formulas

BACKENDS = ("python", "numba")


def check(fn, args, want, backend, wrt=None):
    """Value against CPython, gradient against `want`, and not a single warning."""
    wrt = tuple(range(len(args))) if wrt is None else wrt
    g = cached(fn, wrt, backend, with_value=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grads = g(*copies(args))
        expected_value = fn(*copies(args))
    assert value == pytest.approx(float(expected_value), rel=1e-12, abs=1e-12)
    for got, expected in zip(grads, want):
        # A float's gradient is a float (autograd gives a 0-d array where it sees no input).
        assert isinstance(got, np.ndarray) == (np.ndim(expected) > 0)
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9)


def differences(fn, args):
    return [central(fn, args, i) for i in range(len(args))]


# --------------------------------------------------------------------------------------------
# Item 5: `and` / `or` as values


def or_default(x, s):
    s = s or 1.0
    return x * s * s


def and_value(x, y):
    z = x and y
    return z * 2.0


def or_chain(x, y, z):
    return (x or y or z) * 2.0


def and_chain(x, y, z):
    return (x and y and z) * 3.0


def and_after_comparison(x, y):
    return (x > 0 and y) * x


def or_after_comparison(x, y):
    return (x > 0 or y) * y


def and_then_or(x, y, z):
    return ((x and y) or z) * x


def float_condition(x, y):
    if x and y:
        return x * y
    return x + y


def or_in_loop(x):
    s = 0.0
    for _ in range(3):
        s = (s or x) * x
    return s


def constant_operands(x):
    return (0.0 or x) * (2.0 or x) * (1.0 and x) + (False or x)  # noqa: SIM222


def short_circuit(x):
    # math.sqrt(-1.0) raises in CPython: it must not run when x <= 0.
    return (x > 0 and math.sqrt(x)) + x


def or_call(x, y):
    return (x or math.exp(y)) * y


def pick(a, b):
    return a or b


def helper_or(x, y):
    return pick(x, y) * pick(y, x)


def while_and(x):
    k = 0
    while k < 3 and x:
        x = x * 0.5
        k += 1
    return x


# (function, arguments) where every truth test is away from 0: central differences apply.
SMOOTH_CASES = [
    (or_default, (1.3, 2.0)),
    (and_value, (1.5, 2.0)),
    (or_chain, (1.2, 2.0, 1.5)),
    (and_chain, (1.2, 2.0, 1.5)),
    (and_after_comparison, (1.5, 2.0)),
    (and_after_comparison, (-1.5, 2.0)),
    (or_after_comparison, (1.5, 2.0)),
    (or_after_comparison, (-1.5, 2.0)),
    (and_then_or, (1.5, 2.0, 0.7)),
    (float_condition, (1.5, 2.0)),
    (or_in_loop, (1.5,)),
    (constant_operands, (1.3,)),
    (short_circuit, (2.0,)),
    (short_circuit, (-1.0,)),
    (or_call, (1.5, 0.5)),
    (helper_or, (1.5, -0.5)),
    (while_and, (1.5,)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "fn, args", SMOOTH_CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(SMOOTH_CASES)]
)
def test_and_or_values_match_central_differences(fn, args, backend):
    check(fn, args, differences(fn, args), backend)


def test_the_reproducer_matches_autograd():
    want = [autograd.grad(or_default, i)(1.3, 2.0) for i in (0, 1)]
    assert want == pytest.approx([4.0, 5.2])
    for backend in BACKENDS:
        check(or_default, (1.3, 2.0), want, backend)


# At a falsy operand (exactly 0.0) the function jumps: the gradient is that of the operand
# Python returns, worked out by hand.
FALSY_CASES = [
    (or_default, (1.3, 0.0), (1.0, 0.0)),  # s becomes 1.0: x * 1 * 1
    (and_value, (0.0, 2.0), (2.0, 0.0)),  # z = x: 2 * x
    (or_chain, (0.0, 0.0, 1.5), (0.0, 0.0, 2.0)),  # z
    (or_chain, (0.0, 2.0, 1.5), (0.0, 2.0, 0.0)),  # y
    (and_chain, (1.2, 0.0, 1.5), (0.0, 3.0, 0.0)),  # y (0.0)
    (and_chain, (0.0, 2.0, 1.5), (3.0, 0.0, 0.0)),  # x (0.0)
    (and_then_or, (1.5, 0.0, 0.7), (0.7, 0.0, 1.5)),  # z * x
    (float_condition, (0.0, 2.0), (1.0, 1.0)),  # x + y
    (or_call, (0.0, 0.5), (0.0, math.exp(0.5) * 1.5)),  # exp(y) * y
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "fn, args, want", FALSY_CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(FALSY_CASES)]
)
def test_and_or_at_a_falsy_operand_follow_the_operand_returned(fn, args, want, backend):
    check(fn, args, want, backend)


@pytest.mark.filterwarnings("ignore:Output seems independent of input")
@pytest.mark.parametrize("backend", BACKENDS)
def test_and_or_agree_with_autograd(backend):
    for fn, args in [(or_chain, (0.0, 2.0, 1.5)), (and_chain, (1.2, 0.0, 1.5))]:
        want = [autograd.grad(fn, i)(*args) for i in range(len(args))]
        check(fn, args, want, backend)


def logical_flags(x, y):
    if x > 0 and y > 0 or not x < 2.0:
        return x * y
    return x - y


def test_conditions_of_comparisons_stay_logical_operations():
    source = grad(logical_flags, wrt=(0, 1), backend="python").source
    assert " and " in source and " or " in source and "not " in source
    for backend in BACKENDS:
        for args in [(1.5, 2.0), (-1.0, 2.0), (3.0, -1.0)]:
            check(logical_flags, args, differences(logical_flags, args), backend)


def arrays_or(x, y):
    return np.sum(x or y)


def arrays_and_of_comparisons(x, y):
    if (x > 0) and (y > 0):
        return np.sum(x)
    return 0.0


def array_not(x):
    return np.sum(x) * (not x)


def array_condition(x):
    if x:
        return np.sum(x)
    return 0.0


@pytest.mark.parametrize(
    "fn",
    [arrays_or, arrays_and_of_comparisons, array_not, array_condition],
    ids=lambda f: f.__name__,
)
def test_truth_value_of_an_array_is_refused(fn):
    with pytest.raises(ValueError, match="truth value"):
        fn(np.ones(2), np.ones(2)) if fn.__code__.co_argcount == 2 else fn(np.ones(2))
    g = grad(fn, backend="python")
    args = (np.ones(2), np.ones(2))[: fn.__code__.co_argcount]
    with pytest.raises(UnsupportedSyntaxError, match="truth value of an array") as info:
        g(*args)
    assert f"{__file__}:" in str(info.value) and "np.logical_and" in str(info.value)


def test_formula_of_or_value():
    f = formulas(or_default)
    s, x = (next(v for v in f.result.free_symbols if v.name == n) for n in ("s", "x"))
    assert f.gradients["s"].subs({x: 1.3, s: 2.0}) == pytest.approx(5.2)
    assert f.gradients["s"].subs({x: 1.3, s: 0.0}) == 0


# --------------------------------------------------------------------------------------------
# Item 6: powers at zero


def power(x, n):
    return x**n


def power_int(x, n):
    return x**n


def zero_base(y):
    return 0.0**y


def sum_of_powers(x, p):
    return np.sum(x**p)


def np_power(x, p):
    return np.power(x, p)


def math_pow(x, p):
    return math.pow(x, p)


def builtin_pow(x, p):
    return pow(x, p)


def square(x):
    return x**2


def square_float(x):
    return x**2.0


def cube_float(x):
    return x**3.0


def first_power(x):
    return x**1 + x**1.0


def zeroth_power(x):
    return x**0 + x**0.0


def square_root_power(x):
    return x**0.5


def polynomial(c, x):
    total = 0.0
    for i in range(len(c)):
        total += c[i] * x**i
    return total


def power_of_itself(x):
    return x**x


def autograd_power(x, n):
    return x**n


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("args", [(0.0, 0.0), (0.0, 2.5), (0.0, 1.0), (0.0, 3.0), (-2.0, 3.0)])
def test_power_at_zero_base_matches_autograd(args, backend):
    # d/dn of (-2) ** n is not real (autograd: nan): only d/dx there.
    want = [autograd.grad(autograd_power, i)(*args) for i in ((0,) if args[0] < 0 else (0, 1))]
    for fn in (power, np_power, math_pow, builtin_pow):
        check(fn, args, want, backend, wrt=tuple(range(len(want))))


@pytest.mark.filterwarnings("ignore:divide by zero")  # a true infinity, on NumPy scalars
@pytest.mark.parametrize("backend", BACKENDS)
def test_power_with_an_infinite_base_derivative(backend):
    # d/dx x ** 0.5 at 0 is inf (autograd raises on 0.0 ** -0.5); d/dn is n * 0 = 0 there.
    x_bar, n_bar = cached(power, (0, 1), backend)(0.0, 0.5)
    assert x_bar == math.inf and n_bar == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_power_with_an_integer_exponent_zero(backend):
    # x ** 0 is 1 for every x: d/dx = 0 (numba raised ZeroDivisionError, python gave nan).
    check(power_int, (0.0, 0), [0.0], backend, wrt=(0,))
    check(power_int, (0.0, 1), [1.0], backend, wrt=(0,))
    check(power_int, (0.0, 2), [0.0], backend, wrt=(0,))
    check(power_int, (-2.0, 3), [12.0], backend, wrt=(0,))


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_base_has_zero_exponent_gradient(backend):
    want = autograd.grad(zero_base)(1.5)
    assert want == 0.0
    check(zero_base, (1.5,), [0.0], backend)
    check(zero_base, (0.0,), [0.0], backend)  # 0 ** 0 = 1: autograd's 0, not -inf


@pytest.mark.parametrize("backend", BACKENDS)
def test_sum_of_powers_with_a_zero_entry(backend):
    x = np.array([0.0, 1.5, 2.0])
    want_p = 1.5**2 * math.log(1.5) + 2.0**2 * math.log(2.0)
    assert autograd.grad(lambda p: anp.sum(x**p))(2.0) == pytest.approx(want_p)
    check(sum_of_powers, (x, 2.0), [np.array([0.0, 3.0, 4.0]), want_p], backend)
    check(sum_of_powers, (x, 0.0), [np.zeros(3), math.log(1.5) + math.log(2.0)], backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_constant_exponents(backend):
    for fn, x, want in [
        (square, 0.0, 0.0),
        (square_float, 0.0, 0.0),
        (square_float, -1.5, -3.0),
        (cube_float, -2.0, 12.0),
        (first_power, 0.0, 2.0),
        (zeroth_power, 0.0, 0.0),
        (zeroth_power, -2.0, 0.0),
        (square_root_power, 4.0, 0.25),
    ]:
        check(fn, (x,), [want], backend)


@pytest.mark.filterwarnings("ignore:divide by zero")  # a true infinity, on NumPy scalars
@pytest.mark.parametrize("backend", BACKENDS)
def test_infinite_derivative_stays_inf(backend):
    assert cached(square_root_power, 0, backend)(0.0) == math.inf


@pytest.mark.parametrize("backend", BACKENDS)
def test_polynomial_at_zero(backend):
    # x ** i with the loop's integer index i: i = 0 at x = 0 raised under numba.
    c = np.array([1.0, -2.0, 3.0, 0.5])
    check(polynomial, (c, 0.0), [np.array([1.0, 0.0, 0.0, 0.0]), -2.0], backend)
    args = (c, 0.7)
    check(polynomial, args, differences(polynomial, args), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_power_of_itself(backend):
    check(power_of_itself, (1.3,), [central(power_of_itself, (1.3,), 0)], backend)


def test_constant_powers_print_as_products():
    assert "2 * x" in grad(square, backend="python").source
    assert "2 * x" in grad(square_float, backend="python").source
    source = grad(power, wrt=(0, 1), backend="python").source
    # The guards read as conditional expressions on scalars, not np.where.
    assert "np.where" not in source
    assert "n - 1 if n != 0 else 1" in source


# --------------------------------------------------------------------------------------------
# Item 13: trace tables that agree with the code, and no warnings the function does not give


def shifted(x):
    for _ in range(2):
        x = x * 1.5
    t = x - 10.0
    return t * t


def ratio(a, x):
    if a > 0:
        x = a
    return a / x


def squared(t):
    return t * t


def _rows(table: str) -> list[list[str]]:
    """The table's rows split into columns (by the header's column starts)."""
    lines = table.splitlines()
    header = lines[2]
    starts = [m.start() for m in re.finditer(r"\S+(?: on)?", header)]
    rows = []
    for line in lines[4:]:
        if line.startswith("result:"):
            break
        rows.append([line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])])
    return rows


@pytest.mark.parametrize(
    "fn, args", [(shifted, (1.5,)), (ratio, (1.5, 2.0)), (ratio, (-1.5, 2.0)), (squared, (1.5,))]
)
def test_trace_labels_name_the_inputs_of_the_node(fn, args):
    table = trace(fn, *args).table()
    for row in _rows(table):
        node, local, passed = row[1], row[4], row[5]
        inputs = set(re.findall(r"[A-Za-z_]\w*", node.split(" = ", 1)[1].split("  [")[0]))
        for column in (local, passed):
            labels = re.findall(r"([A-Za-z_]\w*): ", column)
            assert set(labels) <= inputs, (node, column)
            assert len(labels) == len(set(labels)), (node, column)


def test_trace_of_a_ratio_labels_both_inputs():
    rows = _rows(trace(ratio, 1.5, 2.0).table())
    (row,) = [r for r in rows if "/" in r[1]]
    assert row[1] == "result = a / x_1"
    assert row[5].startswith("a: ") and ", x_1: " in row[5]


def test_trace_of_a_repeated_input_shows_its_whole_gradient():
    (row,) = _rows(trace(squared, 1.5).table())
    assert row[4] == "t: 3.00" and row[5] == "t: 3.00"


def guarded_sqrt(x):
    return np.sum(np.where(x > 0, np.sqrt(np.abs(x)), 0.0))


def guarded_sqrt_scalar(x):
    return np.where(x > 0, np.sqrt(np.abs(x)), 0.0)


def guarded_fractional_power(x):
    return np.sum(np.where(x > 0, x**0.5, 0.0))


def guarded_arcsin(x):
    return np.sum(np.where(np.abs(x) < 1.0, np.arcsin(x), 0.0))


def guarded_hypot(x, y):
    return np.sum(np.where(x > 0, np.hypot(x, y), 0.0))


def guarded_variable_power(x, p):
    return np.sum(np.where(x > 0, np.abs(x) ** p, 0.0))


GUARDED = [
    (guarded_sqrt, (np.array([-1.0, 0.0, 4.0]),), [np.array([0.0, 0.0, 0.25])]),
    (guarded_sqrt_scalar, (0.0,), [0.0]),
    (guarded_sqrt_scalar, (4.0,), [0.25]),
    (guarded_fractional_power, (np.array([0.0, 1.0, 4.0]),), [np.array([0.0, 0.5, 0.25])]),
    (
        guarded_arcsin,
        (np.array([-1.0, 0.0, 0.5, 1.0]),),
        [np.array([0.0, 1.0, 1 / 0.75**0.5, 0.0])],
    ),
    (
        guarded_hypot,
        (np.array([0.0, 3.0]), np.array([0.0, 4.0])),
        [np.array([0.0, 0.6]), np.array([0.0, 0.8])],
    ),
    (
        guarded_variable_power,
        (np.array([-1.0, 0.0, 4.0]), 0.5),
        [np.array([0.0, 0.0, 0.25]), 2.0 * math.log(4.0)],
    ),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "fn, args, want", GUARDED, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(GUARDED)]
)
def test_guarded_where_gives_no_warning(fn, args, want, backend):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn(*copies(args))  # the function itself does not warn here
    check(fn, args, want, backend)


@pytest.mark.parametrize("fn, args, want", GUARDED[:3], ids=["array", "zero", "positive"])
def test_trace_of_a_guarded_where_agrees_with_the_gradient(fn, args, want):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traced = trace(fn, *args)
    np.testing.assert_allclose(traced.grads["x"], want[0])
    assert "nan" not in traced.table()
