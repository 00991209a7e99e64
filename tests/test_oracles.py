"""Independent oracles for every case of the table-driven gradient tests.

The cases are those of tests/test_scalar.py, test_arrays.py and test_control.py (their CASES),
the argument-writing and thread cases of test_reliability.py, the lecture's functions
(tests/lecture_functions.py) and a few large inputs. For each, on both backends:

- the value of `value_and_grad` equals the original function run by CPython;
- the gradient equals central differences of the original function (along a random direction,
  d/dt f(x + t v) against <gradient, v>, for arguments of more than LARGE entries);
- the gradient equals autograd's, computed from the same source with `np` (and `math`, under
  autograd.numpy's names) bound to autograd.numpy, helpers rebound the same way, wherever autograd
  can run it: not for functions writing into arrays, nor where autograd lacks a construct
  (`//`, the `.dot` method, `x += y` into an array that is not traced, ...).
  test_autograd_checks_enough_cases keeps this oracle from vanishing silently.

No expected value comes from ad_compiler. Gradients are built once per process
(gradcheck_helpers.cached, with the wrt forms of the tables' own tests, so that they are shared).
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
import textwrap
import types
import warnings
from dataclasses import dataclass

import autograd
import autograd.numpy as anp
import autograd.scipy.special as aspecial
import lecture_functions as lf
import numpy as np
import pytest
import test_arrays as ta
import test_control as tc
import test_reliability as tr
import test_scalar as ts
from gradcheck_helpers import cached, case_ids, central, copies, directional

BACKENDS = ("python", "numba")
LARGE = 50  # arguments with more entries are checked along a random direction
VALUE_RTOL = {"python": 1e-12, "numba": 1e-10}


@dataclass(frozen=True, eq=False)
class Case:
    id: str
    fn: types.FunctionType
    args: tuple
    wrt: int | tuple  # as the table's own tests write it (the key of the cached gradient)

    @property
    def positions(self) -> tuple:
        return self.wrt if isinstance(self.wrt, tuple) else (self.wrt,)

    def as_tuple(self, grads) -> tuple:
        return grads if isinstance(self.wrt, tuple) else (grads,)


def rng_array(shape, seed, scale=1.0):
    return np.random.default_rng(seed).normal(scale=scale, size=shape)


# Inputs beyond LARGE entries, for the random-direction check (functions of the tables).
LARGE_CASES = [
    (ta.af.gram_matrix, (rng_array((20, 4), 1, 0.5),)),
    (ta.af.softmax_cross_entropy, (rng_array((30, 4), 2), np.arange(30) % 4)),
    (ta.af.matvec, (rng_array((12, 10), 3), rng_array(10, 4))),
    (tc.cf.rosenbrock_loop, (rng_array(80, 5, 0.3),)),
    (tc.cf.recurrence, (rng_array(60, 6, 0.5), 0.7)),
]

LECTURE_CASES = [
    (lf.circuit, (-2.0, 5.0, -4.0)),
    (lf.neuron, (2.0, -1.0, -3.0, -2.0, -3.0)),
    (lf.neuron_arrays, (np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0]))),
    (lf.squared_norm, (np.array([[0.1, 0.5], [-0.3, 0.8]]), np.array([0.2, 0.4]))),
]


def table(name, rows, wrt_of):
    """Cases named after their table, with wrt as the table's tests give it."""
    rows = list(rows)
    ids = case_ids(rows)
    return [Case(f"{name}-{i}", row[0], row[1], wrt_of(row)) for i, row in zip(ids, rows)]


def every_float(row):
    return ta.float_positions(row[1])


CASES = (
    table("scalar", ts.CASES, lambda row: ts.float_positions(row[1]))
    + table("arrays", ta.CASES, every_float)
    + table("control", tc.CASES, lambda row: tc.float_positions(row[1]))
    + table("reliability", [(fn, make(), wrt) for fn, make, wrt in tr.WRITERS],
            lambda row: row[2])
    + table("threads", [(fn, inputs(0)[0]) for fn, inputs in tr.THREAD_CASES], every_float)
    + table("lecture", LECTURE_CASES, every_float)
    + table("large", LARGE_CASES, every_float)
)

# (case id, check, backend or "*") -> the compiler bug it shows; each is a strict xfail.
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}


def params(check):
    out = []
    for case in CASES:
        for backend in BACKENDS:
            bug = KNOWN_BUGS.get((case.id, check, backend)) or KNOWN_BUGS.get(
                (case.id, check, "*"))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            out.append(pytest.param(case, backend, id=f"{case.id}-{backend}", marks=marks))
    return out


def value_and_gradient(case, backend):
    args = copies(case.args)
    value, grads = cached(case.fn, case.wrt, backend, with_value=True)(*args)
    for mine, theirs in zip(args, case.args):
        np.testing.assert_array_equal(mine, theirs, err_msg="the caller's argument was modified")
    return value, case.as_tuple(grads)


def arg_name(case, pos):
    return case.fn.__code__.co_varnames[pos]


# -- value: the original function run by CPython -------------------------------------------------


@pytest.mark.parametrize(("case", "backend"), params("value"))
def test_value_matches_cpython(case, backend):
    value, _ = value_and_gradient(case, backend)
    expected = case.fn(*copies(case.args))
    assert value == pytest.approx(expected, rel=VALUE_RTOL[backend], abs=1e-13)


# -- gradient: central differences of the original function ---------------------------------------


def direction(case, pos):
    """A fixed random direction for a large argument."""
    seed = sum(map(ord, case.id)) + pos
    return rng_array(np.shape(case.args[pos]), seed)


@functools.cache
def central_differences(case):
    """Per wrt position: the central-difference gradient, or (direction, d/dt) for a large
    argument. Computed once per case for both backends."""
    out = []
    for pos in case.positions:
        x = case.args[pos]
        if np.size(x) > LARGE:
            v = direction(case, pos)
            out.append((v, directional(case.fn, case.args, pos, v)))
        else:
            out.append((None, central(case.fn, case.args, pos)))
    return out


@pytest.mark.parametrize(("case", "backend"), params("central"))
def test_gradient_matches_central_differences(case, backend):
    _, grads = value_and_gradient(case, backend)
    assert len(grads) == len(case.positions)
    for pos, g, (v, expected) in zip(case.positions, grads, central_differences(case)):
        x = case.args[pos]
        assert np.shape(g) == np.shape(x), f"d/d{arg_name(case, pos)}: shape {np.shape(g)}"
        if v is not None:
            g = float(np.sum(g * v))
        np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-7,
                                   err_msg=f"d/d{arg_name(case, pos)}")


# -- gradient: autograd on the same source --------------------------------------------------------

# math's functions under autograd.numpy's names (autograd cannot trace math.exp itself).
MATH_RENAMED = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh",
                "acosh": "arccosh", "atanh": "arctanh", "atan2": "arctan2", "pow": "power"}
MATH_SAME = ["exp", "log", "log1p", "expm1", "log2", "log10", "sqrt", "sin", "cos", "tan", "sinh",
             "cosh", "tanh", "fabs", "hypot", "floor", "ceil"]
AUTOGRAD_MATH = types.SimpleNamespace(
    **{name: getattr(anp, name) for name in MATH_SAME},
    **{name: getattr(anp, other) for name, other in MATH_RENAMED.items()},
    erf=aspecial.erf, pi=math.pi, e=math.e, inf=math.inf, nan=math.nan,
)


def autograd_version(fn, rebound=None):
    """fn's own code with the globals of its module rebound: numpy to autograd.numpy, math to
    AUTOGRAD_MATH, and every plain function (the helpers it calls) rebound the same way."""
    rebound = {} if rebound is None else rebound  # id(original globals) -> the new globals
    key = id(fn.__globals__)
    if key not in rebound:
        new_globals = dict(fn.__globals__)
        rebound[key] = new_globals
        for name, value in fn.__globals__.items():
            if value is np:
                new_globals[name] = anp
            elif value is math:
                new_globals[name] = AUTOGRAD_MATH
            elif isinstance(value, types.FunctionType):
                new_globals[name] = autograd_version(value, rebound)
    copy = types.FunctionType(fn.__code__, rebound[key], fn.__name__, fn.__defaults__,
                              fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    return copy


def array_write(fn, seen=None) -> str | None:
    """Where fn, or a helper it calls, writes into an array (autograd cannot): 'name:line'."""
    seen = set() if seen is None else seen
    seen.add(fn)
    source = textwrap.dedent(inspect.getsource(fn))
    first = fn.__code__.co_firstlineno
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            return f"{fn.__name__}:{first + node.lineno - 1}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            helper = fn.__globals__.get(node.func.id)
            if isinstance(helper, types.FunctionType) and helper not in seen:
                found = array_write(helper, seen)
                if found:
                    return found
    return None


@functools.cache
def autograd_gradient(case):
    """(gradients, None) from autograd, or (None, why autograd cannot be the oracle here)."""
    where = array_write(case.fn)
    if where:
        return None, f"writes into an array ({where})"
    fn = autograd_version(case.fn)
    expected = case.fn(*copies(case.args))
    grads = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "output seems independent of input", overflow
            for pos in case.positions:
                value, g = autograd.value_and_grad(fn, pos)(*copies(case.args))
                # autograd rebinds `x += y` where NumPy writes into an aliased array
                if not np.isclose(value, expected, rtol=1e-12, atol=1e-14):
                    return None, f"autograd computes {value!r}, CPython {expected!r}"
                grads.append(g)
    except Exception as error:  # whatever autograd cannot trace
        return None, f"autograd cannot run it: {type(error).__name__}: {error}"
    return tuple(grads), None


@pytest.mark.parametrize(("case", "backend"), params("autograd"))
def test_gradient_matches_autograd(case, backend):
    expected, why = autograd_gradient(case)
    if expected is None:
        pytest.skip(why)
    _, grads = value_and_gradient(case, backend)
    for pos, g, e in zip(case.positions, grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12,
                                   err_msg=f"d/d{arg_name(case, pos)}")


# At least this many cases of each table are checked against autograd (measured; the skips say
# why the others are not). Lower a number only for a reason autograd itself gives.
AUTOGRAD_AT_LEAST = {"scalar": 67, "arrays": 71, "control": 101, "threads": 3, "lecture": 4,
                     "large": 4}


def test_autograd_checks_enough_cases():
    checked: dict[str, int] = {}
    for case in CASES:
        name = case.id.split("-")[0]
        checked.setdefault(name, 0)
        if autograd_gradient(case)[0] is not None:
            checked[name] += 1
    short = {name: (checked[name], least) for name, least in AUTOGRAD_AT_LEAST.items()
             if checked[name] < least}
    assert not short, f"cases checked against autograd (got, at least): {short}; {checked}"


# -- the oracles themselves, against hand-derived values -------------------------------------------


def rotate_twice(c, s):
    """Issue 11, item 1: a tuple assignment whose right-hand sides read both old values."""
    x, y = 1.0, 0.0
    for _ in range(2):
        x, y = c * x - s * y, s * x + c * y
    return x


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def through_math_helper(w, x):
    """math functions, in a helper called from a loop over an array's entries."""
    total = 0.0
    for v in x:
        total += _sigmoid(w * v) + math.atan2(v, w)
    return total


def writes_in_helper(x):
    return _fill(x)


def _fill(x):
    y = np.zeros(2)
    y[0] = x
    return np.sum(y)


def test_autograd_oracle_against_hand_derived_gradients():
    # x_2 = c^2 - s^2: value -0.28, gradient (2c, -2s)
    grads, why = autograd_gradient(Case("rot", rotate_twice, (0.6, 0.8), (0, 1)))
    assert why is None
    assert grads == pytest.approx((1.2, -1.6), rel=1e-14)
    w, x = 0.7, np.array([0.5, -1.2, 2.0])
    (dw, dx), why = autograd_gradient(Case("helper", through_math_helper, (w, x), (0, 1)))
    assert why is None
    s = 1.0 / (1.0 + np.exp(-w * x))
    ds = s * (1.0 - s)
    atan2_dv, atan2_dw = w / (x**2 + w**2), -x / (x**2 + w**2)
    assert dw == pytest.approx(np.sum(ds * x + atan2_dw), rel=1e-13)
    np.testing.assert_allclose(dx, ds * w + atan2_dv, rtol=1e-13)


def test_autograd_oracle_refuses_writes_into_arrays():
    _, why = autograd_gradient(Case("write", writes_in_helper, (0.5,), 0))
    line = _fill.__code__.co_firstlineno + 2
    assert why == f"writes into an array (_fill:{line})"


def test_directional_derivative_against_closed_form():
    x = rng_array(200, 10)
    v = rng_array(200, 11)
    expected = float(np.sum(np.cos(x) * v))
    assert directional(lambda a: np.sum(np.sin(a)), (x,), 0, v) == pytest.approx(
        expected, rel=1e-9)
