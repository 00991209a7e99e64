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
