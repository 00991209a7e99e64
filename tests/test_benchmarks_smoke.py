"""The benchmark suite runs: one small case, ad_compiler and the hand-written gradient only."""

import os
import subprocess
import sys
from pathlib import Path

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
