"""Issue 15: straight-line array gradients start on NumPy and move to numba once hot
(tiering.py), only when numba's program agrees with NumPy's and is faster. Expected values
from closed forms."""

import os
import subprocess
import sys

import numpy as np
import pytest

from ad_compiler import grad, tiering, value_and_grad


def norm_sq(W, x):
    v = W @ x
    return np.sum(v * v)


def closed_form(W, x):
    v = W @ x
    return 2 * np.outer(v, x), 2 * W.T @ v


@pytest.fixture
def hot_after_two(monkeypatch):
    monkeypatch.setattr(tiering, "HOT_CALLS", 2)
    monkeypatch.setattr(tiering, "REMEMBER_CHOICES", False)  # (the choices here are forced)


def kernel_of(g):
    (kernel, _), *_ = g._dispatch.values()
    return kernel


def test_tier_up_agrees_and_stays_right(hot_after_two, monkeypatch):
    monkeypatch.setattr(tiering, "FASTER", 1e9)  # switch whenever numba agrees
    rng = np.random.default_rng(1)
    W, x = rng.standard_normal((3, 4)), rng.standard_normal(4)
    g = grad(norm_sq, wrt=(0, 1), backend="numba")
    first = g(W, x)
    kernel = kernel_of(g)
    assert isinstance(kernel, tiering.TieredKernel)
    g(W, x)  # the second call starts numba in the background
    W_before = W.copy()
    W += 1.0  # the caller updates its arrays in place meanwhile: numba checks on copies
    assert kernel.wait(120).startswith("numba")
    assert not isinstance(kernel_of(g), tiering.TieredKernel)  # switched
    for got, want in zip(first, closed_form(W_before, x)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    for got, want in zip(g(W, x), closed_form(W, x)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
        assert got.dtype == np.float64


def test_disagreeing_numba_is_not_used(hot_after_two, monkeypatch):
    monkeypatch.setattr(tiering, "FASTER", 1e9)
    rng = np.random.default_rng(2)
    W, x = rng.standard_normal((2, 3)), rng.standard_normal(3)
    g = value_and_grad(norm_sq, wrt=0, backend="numba")
    g(W, x)
    kernel = kernel_of(g)

    def wrong(*args):
        value, gW = kernel.numpy_program(*args)
        return value, gW * (1 + 1e-6)

    kernel.build_numba = lambda: wrong
    g(W, x)
    assert "disagreed" in kernel.wait(120)
    assert kernel_of(g) is kernel
    np.testing.assert_allclose(g(W, x)[1], closed_form(W, x)[0], rtol=1e-12)


def test_failing_numba_keeps_numpy(hot_after_two):
    W, x = np.eye(2), np.array([1.0, 2.0])
    g = grad(norm_sq, wrt=1, backend="numba")
    g(W, x)
    kernel = kernel_of(g)

    def fails():
        raise TypeError("numba cannot type this")

    kernel.build_numba = fails
    g(W, x)
    assert "failed" in kernel.wait(120)
    np.testing.assert_allclose(g(W, x), [2.0, 4.0])


def test_switched_off_by_environment(hot_after_two, monkeypatch):
    monkeypatch.setenv("AD_COMPILER_TIER_UP", "0")
    g = grad(norm_sq, wrt=1, backend="numba")
    g(np.eye(2), np.array([1.0, 2.0]))
    assert not isinstance(kernel_of(g), tiering.TieredKernel)


def test_agree():
    assert tiering.agree((1.0, np.array([1.0, np.nan])), (1.0 + 1e-13, np.array([1.0, np.nan])))
    assert not tiering.agree((1.0, np.array([1.0, 2.0])), (1.0, np.array([1.0, 2.001])))
    assert not tiering.agree((1.0,), (1.0, 2.0))
    assert not tiering.agree(np.zeros(3), np.zeros(4))


def test_a_slow_signature_is_hot_before_its_call_count(monkeypatch):
    """Time spent in NumPy counts too: a long gradient does not wait for 20 calls."""
    monkeypatch.setattr(tiering, "HOT_CALLS", 1000)
    monkeypatch.setattr(tiering, "HOT_SECONDS", 1e-12)  # any time spent makes it hot
    W, x = np.eye(3), np.array([1.0, -2.0, 0.5])
    g = grad(norm_sq, wrt=1, backend="numba")
    g(W, x)
    kernel = kernel_of(g)
    assert kernel.thread is None
    g(W, x)  # hot by time: numba is tried from the second call
    assert kernel.thread is not None
    kernel.wait(120)
    np.testing.assert_allclose(g(W, x), closed_form(W, x)[1], rtol=1e-12)


FORK_AFTER_TRAINING = """
import multiprocessing as mp
import numpy as np
from ad_compiler import grad
import logging  # (imported after ad_compiler: its fork hook registered after ours)


def loss(W, x):
    return np.sum(np.tanh(W @ x) ** 2)


g = grad(loss)


def evaluate(seed):
    x = np.random.default_rng(seed).standard_normal(4)
    return float(np.sum(g(W, x)))


if __name__ == "__main__":
    W = np.ones((3, 4)) * 0.1
    x = np.arange(4.0)
    for step in range(3):  # hot after two calls: numba compiles in the background
        W -= 0.01 * g(W, x)
    with mp.get_context("fork").Pool(2) as pool:  # while it may still be compiling
        print(len(pool.map(evaluate, range(4))))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_fork_while_numba_compiles_in_the_background_does_not_hang(tmp_path):
    """A fork waits for the tier-up thread; logging's fork hook, which holds the lock that
    thread needs to import, must run after ours (it hung when logging was imported later)."""
    script = tmp_path / "train_then_fork.py"
    script.write_text(FORK_AFTER_TRAINING)
    env = dict(os.environ, AD_COMPILER_CACHE_DIR=str(tmp_path / "cache"), AD_COMPILER_HOT_CALLS="2")
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "4"


def shifted_in_a_loop(x, m):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * (m[i] - 1)
    return s


def shifted_whole(x, m):
    return np.sum(x * (m - 1))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int8, np.int32, np.uint64])
@pytest.mark.parametrize("f", [shifted_in_a_loop, shifted_whole])
def test_integer_arrays_narrower_than_int64_compute_as_numpy_does(f, dtype, hot_after_two):
    """numba computes m - 1 on a uint8 array in int64 (-1 where m is 0), NumPy in uint8 (255):
    such arguments run on the NumPy program, never numba's (a loop program, a tier-up), so the
    gradient is the one of the function CPython runs."""
    from ad_compiler import vjp

    x = np.linspace(0.1, 1.0, 6)
    m = np.array([0, 1, 2, 0, 1, 2]).astype(dtype)
    with np.errstate(over="ignore"):  # (CPython's function warns of the wrap-around too)
        want = (m - dtype(1)).astype(np.float64)  # (what CPython computes, wrapped around)
        g = grad(f, wrt=0)
        for _ in range(4):  # (hot after two calls: it would have been tried on numba)
            np.testing.assert_array_equal(g(x, m), want)
        assert not any(isinstance(k, tiering.TieredKernel) for k, _ in g._dispatch.values())
        gx = vjp(f, wrt=0)(x, m, cotangent=2.0)  # (the cotangent times the gradient)
    np.testing.assert_array_equal(gx, 2.0 * want)
    wide = m.astype(np.int64)  # int64 stays on numba: same numbers as NumPy there
    np.testing.assert_array_equal(g(x, wide), (wide - 1).astype(np.float64))


NARROW_M = np.array([0, 1, 2, 0], dtype=np.uint8)  # (read from the module by narrow_hidden)


def narrow_hidden(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * x[i] * (NARROW_M[i] - 1)
    return s


def bool_elements(x, m):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * (m[i] + m[i])  # NumPy: True + True is True; numba: 2
    return s


def test_a_module_level_narrow_int_array_runs_on_numpy_in_second_derivatives():
    from ad_compiler import hessian, jacobian

    x = np.array([0.1, 0.2, 0.7, 1.0])
    with np.errstate(over="ignore"):
        c = (NARROW_M - np.uint8(1)).astype(np.float64)  # 255 where M is 0
        np.testing.assert_array_equal(np.diag(hessian(narrow_hidden)(x)), 2 * c)
        np.testing.assert_array_equal(np.diag(jacobian(grad(narrow_hidden))(x)), 2 * c)
        np.testing.assert_allclose(grad(narrow_hidden)(x), 2 * x * c, rtol=1e-12)


def test_arithmetic_on_elements_of_a_bool_array_computes_as_numpy_does(hot_after_two):
    x = np.array([0.1, 0.2, 0.7, 1.0])
    m = np.array([True, False, True, True])
    want = (m + m).astype(np.float64)  # [1, 0, 1, 1]: NumPy's bools stay bools
    g = grad(bool_elements, wrt=0)
    for _ in range(3):
        np.testing.assert_array_equal(g(x, m), want)


def test_demotion_of_a_promoted_program_from_many_threads_at_once(monkeypatch):
    """Threads calling a promoted program with arrays it cannot take all get the gradient
    (one of them moves the signature back to NumPy; the others run NumPy too)."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(tiering, "HOT_CALLS", 2)
    monkeypatch.setattr(tiering, "FASTER", 1e9)
    monkeypatch.setattr(tiering, "REMEMBER_CHOICES", False)
    from test_issue15_startup import (
        flattened,  # (reshapes: numba cannot take Fortran order)
        tier_up_outcome,
    )

    x = np.linspace(0.1, 1.0, 24).reshape(4, 6)
    g = grad(flattened, wrt=0, backend="numba")
    g(x)
    g(x)
    assert tier_up_outcome(g).startswith("numba")
    fortran = np.asfortranarray(x)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: g(fortran), range(48)))
    for got in results:
        np.testing.assert_allclose(got, np.sin(x) + x * np.cos(x), rtol=1e-12)
