"""The benchmark suite runs: one small case, ad_compiler and the hand-written gradient only."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_script_runs(tmp_path):
    results, plot = tmp_path / "results.md", tmp_path / "benchmarks.png"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", "circuit",
         "--tools", "adc,hand", "--results", str(results), "--plot", str(plot)],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    text = results.read_text(encoding="utf-8")
    assert "(x+y)z" in text and "hand numba" in text and "adc compiled_for" in text
    assert "all agree" in text
    row = next(line for line in text.splitlines() if line.startswith("| (x+y)z"))
    assert "—" not in row  # every column present was timed
    assert plot.stat().st_size > 0


def test_second_order_benchmark_runs():
    """Issue 14's benchmark at toy sizes (JAX is its oracle and peer; CI does not install it)."""
    pytest.importorskip("jax")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "second_order.py"), "--n", "40",
         "--jac-n", "6", "--repeat", "1", "--target", "0.001"],
        capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    rows = {line.split("|")[1].strip(): line for line in out.stdout.splitlines()
            if line.startswith("| ")}
    for label in ("numba hand hvp", "jax hvp (fori_loop)", "adc grad", "jax jacfwd (scan)"):
        assert " µs " in rows[label] or " ms " in rows[label], rows.get(label)
    assert "adc hvp ÷ adc grad" in out.stdout


# -- issue 15's additions: the hand-written gradients, the report's misses, the memory probe

sys.path.insert(0, str(ROOT / "benchmarks"))


def _central(f, args, i, eps=1e-6):
    """Central differences of f in argument i (a float or an array), entry by entry."""
    import numpy as np

    a = args[i]
    if np.ndim(a) == 0:
        hi, lo = list(args), list(args)
        hi[i], lo[i] = a + eps, a - eps
        return (f(*hi) - f(*lo)) / (2 * eps)
    out = np.empty(np.shape(a))
    for idx in np.ndindex(np.shape(a)):
        hi = [x.copy() if hasattr(x, "copy") else x for x in args]
        lo = [x.copy() if hasattr(x, "copy") else x for x in args]
        hi[i][idx] += eps
        lo[i][idx] -= eps
        out[idx] = (f(*hi) - f(*lo)) / (2 * eps)
    return out


@pytest.mark.parametrize("name", ["rosenbrock", "rnn", "rk4", "kmeans"])
def test_hand_gradients_match_central_differences(name):
    """The new hand-written gradients (run as plain Python, small sizes) against central
    differences of the original functions."""
    import more_cases as mc
    import numpy as np
    from cases import rosenbrock_numpy

    rng = np.random.default_rng(3)
    if name == "rosenbrock":
        f, hand, args, wrt = rosenbrock_numpy, mc.rosenbrock_gather_hand, (
            rng.normal(size=7),), (0,)
    elif name == "rnn":
        W, U, b, _, h0 = mc.rnn_args(4)
        W, U, b, h0 = W[:5, :5] * 3, U[:5], b[:5], h0[:5]
        f, hand, args, wrt = mc.rnn_loss, mc.rnn_numba_hand, (
            W, U, b, rng.normal(size=(4, 8)), h0), (0, 1, 2)
    elif name == "rk4":
        f, hand, args, wrt = mc.rk4_loss, mc.rk4_numba_hand, mc.rk4_args(4, 3), (0, 1, 2, 3, 4)
        args = args[:5] + (0.3, 3)  # a large step: every term of the adjoint matters
    else:
        f, hand, args, wrt = mc.kmeans_loss, mc.kmeans_numba_hand, mc.kmeans_args(9, 3, 2), (0,)
    got = hand(*args)
    assert len(got) == len(wrt)
    for g, i in zip(got, wrt):
        np.testing.assert_allclose(g, _central(f, args, i), rtol=1e-6, atol=1e-6)


def test_gmm_concat_is_the_gmm_objective():
    import numpy as np
    from cases import all_cases, gmm_loops

    case = next(c for c in all_cases() if c.name == "gmm_concat_d10_K25_n1k")
    args = case.make_args()
    np.testing.assert_allclose(case.primal(*args), gmm_loops(*args[:7]), rtol=1e-12)


def test_misses_name_every_target():
    from types import SimpleNamespace

    import report

    case = SimpleNamespace(name="x", checkpoint=True)
    data = {
        "times": {"adc": 2.0, "adc compiled_for": 1.9, "hand numba": 1.0, "jax": 1.5,
                  "adc checkpoint": report.NOT_SUPPORTED},
        "first": {"adc, cold cache": 5.0, "hand numba": 2.0, "adc warm start-up": 0.95,
                  "numba start-up": 0.8},
        "memory": {"adc": 1e8, "adc checkpoint": report.NOT_SUPPORTED},
    }
    text = "\n".join(report.misses(case, data, None))
    for part in ("2.00x the hand-written", "slower than jax", "2.50x numba's compile",
                 "150 ms beyond numba's start-up", "checkpoint=True: not supported"):
        assert part in text, (part, text)
    data["times"].update({"adc": 1.2, "jax": 1.3, "adc checkpoint": 3.0})
    data["first"].update({"adc, cold cache": 3.0, "adc warm start-up": 0.82})
    data["memory"]["adc checkpoint"] = 25 * 2**20
    text = "\n".join(report.misses(case, data, None))
    assert "25.0 MB (target 20 MB)" in text and "2.50x the plain call" not in text
    assert "hand-written" not in text and "slower than" not in text and "start-up" not in text
    blas = SimpleNamespace(name=report.BLAS_CASE, checkpoint=False)
    near = {"times": {"adc": 1.05, "adc compiled_for": 1.0, "hand numba": 1.0, "jax": 1.0},
            "first": {}, "memory": {}}
    assert report.misses(blas, near, None) == []


def test_peak_growth_sees_an_allocation():
    import numpy as np
    from run import peak_growth

    def allocate():
        a = np.ones(5 * 2**20)  # 40 MB, touched
        return float(a.sum())

    grown = peak_growth(allocate)
    if grown == "n/a":
        pytest.skip("/proc/self/clear_refs is not writable here")
    assert 35 * 2**20 < grown < 80 * 2**20
