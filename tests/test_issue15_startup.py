"""Issue 15: a warm second process starts quickly. Generated numba modules import the runtime
that calls scipy.special's C kernels (0.3 s to import) only when they call one of its helpers;
a tier-up's choice is remembered for the next process (tiering.py)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ad_compiler import grad, runtime, tiering


def test_scipy_kernel_helpers_are_the_ones_their_module_implements():
    import ad_compiler.runtime_special_numba  # noqa: F401  (registers them)

    split = {"ad_compiler.runtime_special_numba", "ad_compiler.runtime_scipy"}
    implemented = {
        name
        for name in dir(runtime)
        if getattr(getattr(runtime, name), "_numba_impl_module", None) in split
    }
    assert implemented == runtime.SCIPY_KERNEL_HELPERS


# Two user modules, written to files: one imports scipy.special itself, the other does not.
PROGRAMS = {
    "tanh_loop": """
import numpy as np


def tanh_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.tanh(x[i]) * x[i]
    return s
""",
    "erf_loop": """
import scipy.special


def erf_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + scipy.special.erf(x[i]) * x[i]
    return s
""",
}

CALL = """
    import json
    import sys
    import numpy as np
    from ad_compiler import grad
    from {name} import {name} as f

    x = np.linspace(-1.0, 1.0, 5)
    g = grad(f, backend="numba")
    print(json.dumps([list(map(float, g(x))), "@njit" in g.source, "scipy.special" in sys.modules]))
"""


def _run(name: str, folder, cache) -> list:
    env = dict(os.environ, AD_COMPILER_CACHE_DIR=str(cache))
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CALL.format(name=name))],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=str(folder),
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", ["tanh_loop", "erf_loop"])
def test_scipy_special_is_imported_only_by_programs_calling_it(name, tmp_path):
    from scipy.special import erf

    (tmp_path / f"{name}.py").write_text(PROGRAMS[name])
    x = np.linspace(-1.0, 1.0, 5)
    if name == "tanh_loop":
        want = np.tanh(x) + x * (1 - np.tanh(x) ** 2)
    else:
        want = erf(x) + x * 2 / np.sqrt(np.pi) * np.exp(-(x**2))
    for process in ("cold cache", "warm cache"):  # the second loads numba's cached code
        values, numba_program, imported = _run(name, tmp_path, tmp_path / "cache")
        np.testing.assert_allclose(values, want, rtol=1e-12, err_msg=process)
        assert numba_program
        assert imported == (name == "erf_loop"), process


def norm_sq(W, x):
    v = W @ x
    return np.sum(v * v)


def kernel_of(g):
    (kernel, _), *_ = g._dispatch.values()
    return kernel


def tier_up_outcome(g):
    """What the tier-up the last call started chose; "numba" when it has already promoted
    numba's program (from a warm numba cache it can, before the caller looks)."""
    from numba.core.dispatcher import Dispatcher

    kernel = kernel_of(g)
    return "numba (promoted)" if isinstance(kernel, Dispatcher) else kernel.wait(120)


def test_a_tier_up_choice_is_taken_by_the_next_gradient_of_those_shapes(monkeypatch):
    """A race's outcome is remembered per program and shapes: the next process (here, a new
    GradFunction of the same function) takes numba from its first call, without racing; other
    shapes race as before."""
    monkeypatch.setattr(tiering, "HOT_CALLS", 2)
    monkeypatch.setattr(tiering, "FASTER", 1e9)  # numba wins whenever it agrees
    rng = np.random.default_rng(5)
    W, x = rng.standard_normal((3, 5)), rng.standard_normal(5)
    want = (2 * np.outer(W @ x, x), 2 * W.T @ (W @ x))
    first = grad(norm_sq, wrt=(0, 1), backend="numba")
    first(W, x)
    first(W, x)
    assert tier_up_outcome(first).startswith("numba")

    again = grad(norm_sq, wrt=(0, 1), backend="numba")
    got = again(W, x)
    assert not isinstance(kernel_of(again), tiering.TieredKernel)  # numba from the first call
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)

    other = grad(norm_sq, wrt=(0, 1), backend="numba")
    W2 = rng.standard_normal((4, 5))
    got = other(W2, x)
    kernel = kernel_of(other)
    assert isinstance(kernel, tiering.TieredKernel) and kernel.outcome.startswith("NumPy")
    np.testing.assert_allclose(got[1], 2 * W2.T @ (W2 @ x), rtol=1e-12)


def test_a_choice_of_numpy_is_kept_and_a_damaged_record_ignored(monkeypatch):
    monkeypatch.setattr(tiering, "HOT_CALLS", 2)
    monkeypatch.setattr(tiering, "FASTER", 0.0)  # numba never wins
    W, x = np.eye(3) * 2.0, np.array([1.0, -2.0, 0.5])
    first = grad(norm_sq, wrt=1, backend="numba")
    first(W, x)
    first(W, x)
    kernel = kernel_of(first)
    assert kernel.wait(120).startswith("NumPy")

    again = grad(norm_sq, wrt=1, backend="numba")
    for _ in range(3):  # no race, whatever the call count
        np.testing.assert_allclose(again(W, x), 8.0 * x, rtol=1e-12)
    kernel = kernel_of(again)
    assert kernel.thread is None and "earlier process" in kernel.outcome

    tiering._choices_path(kernel.program_key).write_text("{not json")
    third = grad(norm_sq, wrt=1, backend="numba")
    np.testing.assert_allclose(third(W, x), 8.0 * x, rtol=1e-12)
    assert kernel_of(third).outcome == "NumPy (not hot yet)"


def shifted_mask(x, m):
    return np.sum(np.sin(x) * (m - 1))


def flattened(x):
    y = x.reshape(-1)
    return np.sum(np.sin(y) * y)


def test_a_choice_for_int64_is_not_taken_for_uint8(monkeypatch):
    """numba's program chosen for an int64 mask is not taken for a uint8 one (both are "int"
    arrays to the compiler): NumPy wraps m - 1 around in uint8, numba's fused loop computes in
    int64. (The choices are keyed by dtype; integer arrays other than int64 run on the NumPy
    program in any case.)"""
    monkeypatch.setattr(tiering, "HOT_CALLS", 2)
    monkeypatch.setattr(tiering, "FASTER", 1e9)
    x = np.linspace(0.1, 1.0, 6)
    wide = np.array([0, 1, 2, 0, 1, 2])
    narrow = wide.astype(np.uint8)
    first = grad(shifted_mask, wrt=0, backend="numba")
    first(x, wide)
    first(x, wide)
    assert tier_up_outcome(first).startswith("numba")
    again = grad(shifted_mask, wrt=0, backend="numba")
    for _ in range(3):
        got = again(x, narrow)
        np.testing.assert_allclose(got, central(lambda v: shifted_mask(v, narrow), x), rtol=1e-7)
    np.testing.assert_allclose(again(x, narrow), np.cos(x) * (narrow - np.uint8(1)), rtol=1e-12)


@pytest.mark.parametrize("layout", ["strided", "transposed"])
def test_a_promoted_program_that_cannot_take_a_layout_goes_back_to_numpy(layout, monkeypatch):
    """numba's program promoted for C-contiguous arrays cannot reshape a strided view (numba
    refuses to type it) or a Fortran-ordered one (its reshape raises NotImplementedError); a
    call with one runs the NumPy program, which stays for that signature, instead of
    failing."""
    monkeypatch.setattr(tiering, "HOT_CALLS", 2)
    monkeypatch.setattr(tiering, "FASTER", 1e9)
    monkeypatch.setattr(tiering, "REMEMBER_CHOICES", False)
    x = np.linspace(0.1, 1.0, 24).reshape(4, 6)
    if layout == "strided":
        other = np.linspace(0.1, 1.0, 48).reshape(4, 12)[:, ::2]
    else:
        other = np.linspace(0.1, 1.0, 24).reshape(6, 4).T
    g = grad(flattened, wrt=0, backend="numba")
    g(x)
    g(x)
    from numba.core.dispatcher import Dispatcher

    assert tier_up_outcome(g).startswith("numba")
    assert isinstance(kernel_of(g), Dispatcher)  # promoted
    for v in (other, x, other):
        np.testing.assert_allclose(g(v), np.sin(v) + v * np.cos(v), rtol=1e-12)
    assert not isinstance(kernel_of(g), Dispatcher)  # back on NumPy


def central(f, x, h=1e-6):
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        out.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out
