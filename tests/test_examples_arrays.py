"""The array examples: examples/vectorized.py (lecture section 3) and examples/mlp_digits.py.

Both run as a user would, in a subprocess, with a gradient cache of their own: the lecture
example on the python backend (like tests/test_cli.py's run of examples/lecture.py), the digits
network on the default backend, the one its users get (its loop-free gradient runs on NumPy, so
an empty cache costs no numba compilation).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_example(tmp_path, *argv):
    """Run an example (script and options in argv); its stdout, after checking it succeeded."""
    env = dict(os.environ, AD_COMPILER_CACHE_DIR=str(tmp_path / "cache"), MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, *argv],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_vectorized_example_prints_the_lecture_numbers(tmp_path):
    out = run_example(tmp_path, "examples/vectorized.py", "--backend", "python")
    lines = {line.split("=")[0].strip(): line for line in out.splitlines() if "lecture:" in line}
    assert "= (0.22, 0.26) " in lines["q"]
    assert "= 0.116 " in lines["f"]
    dW = "= [[0.088, 0.176], [0.104, 0.208]] "
    dx = "= (-0.112, 0.636) "
    assert dW in lines["df/dW (ad_compiler)"]
    assert dW in lines["2 q x^T (by hand)"]
    assert dx in lines["df/dx (ad_compiler)"]
    assert dx in lines["2 W^T q (by hand)"]
    # the generated gradient program, with both adjoints computed through the matrix product
    assert "def f_grad(x, W):" in out
    assert "W_bar = np.outer(q_bar, x)" in out
    assert "x_bar = W.T @ q_bar" in out
    assert "return value, x_bar, W_bar" in out


def test_mlp_digits_quick_run_trains_and_saves_its_curves(tmp_path):
    plot = tmp_path / "curves.png"
    out = run_example(tmp_path, "examples/mlp_digits.py", "--quick", "--plot", str(plot))
    accuracy = {}
    for name in ("train", "test"):
        match = re.search(rf"^{name} accuracy:\s+([0-9.]+)$", out, re.MULTILINE)
        assert match, out
        accuracy[name] = float(match.group(1))
    # a few epochs already classify most digits (chance is 0.1)
    assert 0.8 < accuracy["train"] <= 1.0
    assert 0.8 < accuracy["test"] <= 1.0
    assert plot.stat().st_size > 1000
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert str(plot) in out
