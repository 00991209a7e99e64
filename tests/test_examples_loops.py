"""examples/loops.py runs (plain Python backend) and the gradients it compares agree."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "loops.py"
LINE = re.compile(r"^\s+(?P<label>.+?)\s+max relative difference\s+(?P<value>\S+)\s+"
                  r"\[(?P<kind>exact|numerical)\]$")
# Two exact gradients differ by rounding; central differences by truncation and cancellation.
TOLERANCE = {"exact": 1e-12, "numerical": 1e-6}


@pytest.fixture(scope="module")
def report():
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NO_COLOR="1")
    done = subprocess.run([sys.executable, str(EXAMPLE), "--backend", "python"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def differences(text):
    found = []
    for line in text.splitlines():
        match = LINE.match(line)
        if match:
            found.append((match["label"], float(match["value"]), match["kind"]))
    return found


def test_every_comparison_is_printed(report):
    labels = [label for label, _, _ in differences(report)]
    assert len(labels) == 8, labels
    for part in ("loop vs vectorized", "loop vs closed form", "vectorized vs closed form",
                 "hand-written adjoint", "central differences", "loops vs vectorized X @ w",
                 "loops vs closed form", "loss: loops vs vectorized"):
        assert any(part in label for label in labels), part


@pytest.mark.parametrize("part", ["(a)", "(b)", "(c)"])
def test_differences_are_tiny(report, part):
    sections = re.split(r"\n(?=\([abc]\) )", report)
    section = next(s for s in sections if s.startswith(part))
    found = differences(section)
    assert found
    for label, value, kind in found:
        assert value <= TOLERANCE[kind], f"{part} {label}: {value:.3g} [{kind}]"


def test_generated_euler_gradient_is_printed(report):
    source = report[report.index('"""The gradient of oscillator_loss()'):]
    # (DT and X_TARGET are module-level numbers, read at each call)
    assert "def oscillator_loss_grad(x0, v0, k, c, n, DT, X_TARGET):" in source
    # the forward loop and, in reverse, the same loop backwards, reading the two tapes
    assert "for step in range(n):" in source
    assert "for step in range(n - 1, -1, -1):" in source
    assert set(re.findall(r"\b\w+_tape\b", source)) == {"x_tape", "v_tape"}
