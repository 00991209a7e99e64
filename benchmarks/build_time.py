"""How long ad_compiler's own build takes: parse, normalize, differentiate, optimize, generate.

Builds each case's gradient with backend='python' (no numba compilation) into a new, empty
cache directory every time, so that nothing is read from disk. The first build in the process
includes the imports a build needs the first time (SymPy, when a derivative is not in
rules/derivative_table.py); the later ones show the build alone: give one case per process
for its own first build. Wall time and CPU time (on a shared machine the CPU time is steadier).

    OPENBLAS_NUM_THREADS=1 python benchmarks/build_time.py [--repeat N] [CASE ...]
    for c in gmm_loops gmm_vectorized mlp_loss rosenbrock; do
        python benchmarks/build_time.py $c
    done
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402

import ad_compiler  # noqa: E402


def _mlp_args():
    rng = np.random.default_rng(256)
    X, y = rng.normal(size=(256, 64)), rng.integers(0, 10, size=256)
    W1, b1 = rng.normal(size=(64, 128)) * 0.1, rng.normal(size=128) * 0.1
    W2, b2 = rng.normal(size=(128, 10)) * 0.1, rng.normal(size=10) * 0.1
    return W1, b1, W2, b2, X, y


CASES = {
    "gmm_loops": (cases.gmm_loops, (0, 1, 2), lambda: cases.gmm_args(10, 25, 1000, False)),
    "gmm_vectorized": (cases.gmm_vectorized, (0, 1, 2), lambda: cases.gmm_args(10, 25, 1000, True)),
    "mlp_loss": (cases.mlp_loss, (0, 1, 2, 3), _mlp_args),
    "rosenbrock": (cases.rosenbrock, (0,), lambda: (np.linspace(-1.2, 1.2, 1000),)),
}


def build(name: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one build of the case's gradient source."""
    f, wrt, make_args = CASES[name]
    args = make_args()
    os.environ["AD_COMPILER_CACHE_DIR"] = tempfile.mkdtemp(prefix="adc-build-time-")
    g = ad_compiler.grad(f, wrt=wrt, backend="python")
    wall, cpu = time.perf_counter(), time.process_time()
    g.source_for(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(CASES), help=", ".join(CASES))
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    unknown = set(options.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}: choose from {', '.join(CASES)}")
    for name in options.cases:
        times = [build(name) for _ in range(max(options.repeat, 2))]
        first, later = times[0], times[1:]
        print(
            f"{name:15s} first build {first[0] * 1e3:6.0f} ms (CPU {first[1] * 1e3:5.0f} ms)   "
            f"later, best of {len(later)}: {min(t[0] for t in later) * 1e3:6.0f} ms "
            f"(CPU {min(t[1] for t in later) * 1e3:5.0f} ms)   "
            f"SymPy imported: {'sympy' in sys.modules}",
            flush=True,
        )


if __name__ == "__main__":
    main()
