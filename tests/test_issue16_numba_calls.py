"""Issue 16: `compiled_for` inside users' numba code, and scipy.optimize.

`g.compiled_for(*args)` returns a numba dispatcher; a user's own `numba.njit` function calls it
with the function's own arguments and gets what a normal call returns. Checked for loop code and
straight-line array code (which a normal call runs on NumPy): against the normal call and against
central differences of the original function. Refusals are checked for their messages; the
examples run and the scipy one reaches the known optimum.
"""

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
import scipy.special
from gradcheck_helpers import central
from scipy.optimize import minimize, rosen_der

from ad_compiler import (
    ADCompilerError,
    CompilationError,
    GradientInputError,
    custom_vjp,
    grad,
    hvp,
    jvp,
    value_and_grad,
    vjp,
)

ROOT = Path(__file__).resolve().parent.parent
RNG = np.random.default_rng(16)
W = RNG.normal(size=(3, 4))
X4 = RNG.normal(size=4)
Y3 = RNG.normal(size=3)
M = RNG.normal(size=(3, 5))
DATA = RNG.normal(size=(6, 4))
SCALE = 0.7


# -- the programs -------------------------------------------------------------------------------


def matrix_product(W, x, y):
    r = W @ x - y
    return np.sum(r * r)


def reductions(X):
    return np.sum(np.max(X, axis=1)) + np.mean(X**2) + np.log(np.sum(np.exp(X)))


def elementwise(x, a):
    return np.sum(np.tanh(a * x) * np.exp(-x * x) + np.sin(x) / (1.0 + x * x))


def reads_globals(w):
    """Module-level DATA (an array) and SCALE (a number)."""
    z = DATA @ w
    return SCALE * np.sum(z * z)


def loop_code(x, a):
    s = 0.0
    for i in range(x.shape[0]):
        s += a * x[i] ** 2 + np.sin(x[i] * a)
    return s * s


def layer(W, x):
    return np.tanh(W @ x)


CASES = [
    (matrix_product, (W, X4, Y3), 0),
    (matrix_product, (W, X4, Y3), (0, 1)),
    (matrix_product, (W, X4, Y3), (1,)),
    (matrix_product, (W, X4, Y3), 2),
    (reductions, (M,), 0),
    (elementwise, (X4, 0.8), (0, 1)),
    (elementwise, (X4, 0.8), 1),
    (reads_globals, (X4,), 0),
    (loop_code, (X4, 0.8), (0, 1)),
    (loop_code, (X4, 0.8), 0),
]


def ids(cases):
    return [f"{f.__name__}-wrt{wrt}" for f, _, wrt in cases]


def in_numba(dispatcher):
    """A user's own njit function calling the dispatcher (twice: a loop calls it many times)."""

    @numba.njit
    def user(*args):
        dispatcher(*args)
        return dispatcher(*args)

    return user


def positions(wrt):
    return (wrt,) if isinstance(wrt, int) else wrt


def assert_same_structure(got, want):
    """Same nesting of tuples, floats where floats, arrays of the same dtype and shape."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            assert_same_structure(g, w)
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray), got
        assert got.dtype == want.dtype and got.shape == want.shape
    else:
        assert isinstance(got, float) and isinstance(want, float), (got, want)


def close(got, want, rtol):
    if isinstance(want, tuple):
        for g, w in zip(got, want):
            close(g, w, rtol)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


# -- grad and value_and_grad: in numba, as a call, as central differences ---------------------


@pytest.mark.parametrize(("fn", "args", "wrt"), CASES, ids=ids(CASES))
def test_grad_called_from_numba(fn, args, wrt):
    g = grad(fn, wrt=wrt)
    dispatcher = g.compiled_for(*args)
    assert isinstance(dispatcher, numba.core.registry.CPUDispatcher)
    want = g(*args)
    got = in_numba(dispatcher)(*args)
    assert_same_structure(got, want)
    close(got, want, 1e-12)
    grads = (got,) if isinstance(wrt, int) else got
    for p, gradient in zip(positions(wrt), grads):
        close(gradient, central(fn, args, p), 1e-6)


@pytest.mark.parametrize(("fn", "args", "wrt"), CASES[::2], ids=ids(CASES[::2]))
def test_value_and_grad_called_from_numba(fn, args, wrt):
    g = value_and_grad(fn, wrt=wrt)
    want = g(*args)
    got = in_numba(g.compiled_for(*args))(*args)
    assert_same_structure(got, want)
    assert got[0] == pytest.approx(fn(*args), rel=1e-12)
    close(got[1], want[1], 1e-12)


def test_straight_line_array_code_is_compiled_by_numba_all_the_same():
    """A normal call runs this gradient on NumPy (no @njit in its program); compiled_for's
    dispatcher runs the numba build of the same program."""
    g = grad(matrix_product, wrt=(0, 1))
    assert "@njit" not in g.source_for(W, X4, Y3)
    dispatcher = g.compiled_for(W, X4, Y3)
    assert isinstance(dispatcher, numba.core.registry.CPUDispatcher)
    assert dispatcher.nopython_signatures  # compiled already, by compiled_for


def test_a_gradient_descent_loop_in_numba():
    g = grad(matrix_product)
    step = g.compiled_for(W, X4, Y3)

    @numba.njit
    def descend(W, x, y):
        for _ in range(200):
            W = W - 0.05 * step(W, x, y)
        return W

    fitted = descend(W.copy(), X4, Y3)
    np.testing.assert_allclose(fitted @ X4, Y3, atol=1e-8)


def test_backend_python_compiles_with_numba_too():
    g = grad(loop_code, wrt=(0, 1), backend="python")
    assert "@njit" not in g.source_for(X4, 0.8)
    dispatcher = g.compiled_for(X4, 0.8)
    assert isinstance(dispatcher, numba.core.registry.CPUDispatcher)
    close(in_numba(dispatcher)(X4, 0.8), g(X4, 0.8), 1e-12)


def test_float32_arguments_get_float32_gradients_as_a_call_does():
    args = (W.astype(np.float32), X4.astype(np.float32), Y3.astype(np.float32))
    g = grad(matrix_product, wrt=(0, 1))
    got = in_numba(g.compiled_for(*args))(*args)
    want = g(*args)
    assert_same_structure(got, want)
    close(got, want, 1e-5)  # (numba computes in float64, NumPy in float32)


def test_a_partial_is_called_with_the_arguments_it_leaves_open():
    g = grad(functools.partial(matrix_product, y=Y3), wrt=(0, 1))
    dispatcher = g.compiled_for(W, X4)
    got = in_numba(dispatcher)(W, X4)
    close(got, g(W, X4), 1e-12)
    close(got[1], central(matrix_product, (W, X4, Y3), 1), 1e-6)


# -- what is bound, as of the call ------------------------------------------------------------


def test_module_level_values_are_bound_as_of_the_call(monkeypatch):
    g = grad(reads_globals)
    dispatcher = g.compiled_for(X4)
    before = g(X4)
    module = sys.modules[__name__]
    monkeypatch.setattr(module, "SCALE", 2.0)
    monkeypatch.setattr(module, "DATA", DATA * 3.0)
    close(dispatcher(X4), before, 1e-12)  # bound: the values as of compiled_for
    again = g.compiled_for(X4)
    close(in_numba(again)(X4), g(X4), 1e-12)
    close(again(X4), central(reads_globals, (X4,), 0), 1e-6)
    assert not np.allclose(again(X4), before)


def test_a_module_level_array_changed_in_place_is_not_seen(monkeypatch):
    """compiled_for copies the arrays it binds (documented): in-place changes are not seen."""
    monkeypatch.setattr(sys.modules[__name__], "DATA", DATA.copy())
    g = grad(reads_globals)
    dispatcher = g.compiled_for(X4)
    before = dispatcher(X4)
    DATA[0, 0] += 1.0  # the DATA of this module, patched: restored after the test
    close(dispatcher(X4), before, 0.0)


def test_the_dispatcher_documents_what_it_binds():
    import inspect

    source = inspect.getsource(grad(reads_globals).compiled_for(X4).py_func)
    assert "Bound when compiled_for made it" in source
    assert "the module-level DATA" in source and "SCALE = 0.7" in source


# -- vjp, jvp, hvp ------------------------------------------------------------------------------


def test_vjp_called_from_numba():
    cotangent = np.array([0.3, -1.0, 2.0])
    v = vjp(layer, wrt=(0, 1))
    dispatcher = v.compiled_for(W, X4)
    got = in_numba(dispatcher)(W, X4, cotangent)
    want = v(W, X4, cotangent=cotangent)
    assert_same_structure(got, want)
    close(got, want, 1e-12)

    def weighted(W, x):
        return np.sum(layer(W, x) * cotangent)

    close(got[0], central(weighted, (W, X4), 0), 1e-6)
    close(got[1], central(weighted, (W, X4), 1), 1e-6)
    with pytest.raises(ValueError, match="cotangent does not have the shape"):
        dispatcher(W, X4, np.ones(4))


def test_vjp_with_one_wrt_returns_one_gradient():
    cotangent = np.array([0.3, -1.0, 2.0])
    v = vjp(layer, wrt=1)
    got = in_numba(v.compiled_for(W, X4, cotangent=cotangent))(W, X4, cotangent)
    assert_same_structure(got, v(W, X4, cotangent=cotangent))


def test_jvp_and_hvp_called_from_numba():
    tangent = np.array([1.0, 0.5, -0.5, 2.0])
    j = jvp(layer, wrt=1)
    got = in_numba(j.compiled_for(W, X4, tangent=tangent))(W, X4, tangent)
    want = j(W, X4, tangent=tangent)
    assert_same_structure(got, want)
    close(got, want, 1e-12)
    h = hvp(elementwise)
    got = in_numba(h.compiled_for(X4, 0.8, vector=tangent))(X4, 0.8, tangent)
    close(got, h(X4, 0.8, vector=tangent), 1e-12)
    # H v as the derivative along v of central differences of the original function
    h = 1e-3
    ahead = central(elementwise, (X4 + h * tangent, 0.8), 0)
    behind = central(elementwise, (X4 - h * tangent, 0.8), 0)
    close(got, (ahead - behind) / (2 * h), 1e-5)


# -- refusals -----------------------------------------------------------------------------------


def dict_argument(p):
    return p["w"] * 2.0


def dict_aux(w):
    return np.sum(w * w), {"w": w}


@custom_vjp
def zeta2(x):
    return scipy.special.zeta(x, 1.0)  # numba has no scipy.special.zeta


@zeta2.defvjp
def zeta2_vjp(g, result, x):
    return g * 0.0


def calls_zeta(x):
    return np.sum(zeta2(x) * x)


def test_structured_arguments_are_refused():
    with pytest.raises(GradientInputError, match="compiled_for: argument p is a dict; numba"):
        grad(dict_argument).compiled_for({"w": 1.0})


def test_aux_numba_cannot_build_is_refused():
    with pytest.raises(ADCompilerError, match="aux holds a dict"):
        grad(dict_aux, has_aux=True).compiled_for(X4)


def test_code_numba_cannot_compile_is_refused_naming_the_line():
    g = grad(calls_zeta, backend="python")
    x = np.array([2.0, 3.0])
    g(x)  # a normal call runs it
    with pytest.raises(CompilationError) as info:
        g.compiled_for(x)
    message = str(info.value)
    assert "test_issue16_numba_calls.py:" in message and "zeta" in message
    assert "numba cannot compile the grad of calls_zeta() for compiled_for" in message


@pytest.mark.parametrize(
    ("value", "match"),
    [(np.ones(2, np.float16), "float16, which numba code cannot take"),
     (np.array(1.0), "0-d array; pass a number")],
)
def test_arguments_numba_cannot_take_are_refused(value, match):
    with pytest.raises(GradientInputError, match=match):
        grad(elementwise).compiled_for(value, 0.8)


def test_other_kinds_of_arguments_are_refused_while_numba_compiles_the_caller():
    dispatcher = grad(elementwise).compiled_for(X4, 0.8)

    @numba.njit
    def user(x, a):
        return dispatcher(x, a)

    with pytest.raises(numba.core.errors.TypingError, match="compiled for x as a 1-d float"):
        user(np.ones((2, 2)), 0.8)
    with pytest.raises(numba.core.errors.TypingError, match="compiled for a as a float"):
        user(X4, 1)


# -- scipy.optimize -----------------------------------------------------------------------------


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_value_and_grad_is_what_minimize_with_jac_true_takes():
    fun = value_and_grad(rosenbrock)
    x0 = np.tile([-1.2, 1.0], 50)
    value, gradient = fun(x0)
    assert type(value) is float
    assert gradient.dtype == np.float64 and gradient.shape == (100,)
    np.testing.assert_allclose(gradient, rosen_der(x0), rtol=1e-13)
    result = minimize(fun, x0, jac=True, method="L-BFGS-B",
                      options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10})
    assert result.success
    np.testing.assert_allclose(result.x, np.ones(100), atol=1e-6)


# -- the examples -------------------------------------------------------------------------------


def run_example(tmp_path, script):
    env = dict(os.environ, AD_COMPILER_CACHE_DIR=str(tmp_path / "cache"), OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, f"examples/{script}"], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_njit_descent_example_reaches_both_minimizers(tmp_path):
    out = run_example(tmp_path, "njit_descent.py")
    assert out.count("compiled_for: a CPUDispatcher") == 2
    assert len(re.findall(r"after +\d+ steps: loss", out)) >= 10
    distances = [float(d) for d in re.findall(r"max \|w - w\*\| (\S+)", out)]
    assert len(distances) == 2 and max(distances) < 1e-4


def test_scipy_example_converges_to_ones(tmp_path):
    out = run_example(tmp_path, "scipy_minimize.py")
    assert "fun(x0) returns (float, float64 array of shape (100,))" in out
    assert float(re.search(r"at x0: max relative difference (\S+)", out)[1]) < 1e-12
    assert int(re.search(r"iterations (\d+)", out)[1]) > 0
    assert float(re.search(r"max \|x - 1\| = (\S+)", out)[1]) < 1e-6
    assert float(re.search(r"at the solution: max difference (\S+)", out)[1]) < 1e-10
