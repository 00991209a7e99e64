"""Gradient time of vectorized code against hand-written NumPy backprop (issue 3).

Cases: the two-layer MLP of the lecture (batch 128, 64-128-10, ReLU, softmax cross-entropy,
L2 penalty) and ||W x||^2 with W 1000 x 1000. For each: the NumPy forward pass, a hand-written
NumPy backprop, and ad_compiler's gradient with each backend, medians of repeated calls.

    OPENBLAS_NUM_THREADS=1 python benchmarks/arrays.py
"""

from __future__ import annotations

import statistics
import timeit

import numpy as np
from cases import mlp_loss, mlp_numpy_hand, norm_sq, norm_sq_numpy_hand

from ad_compiler import grad


def median_time(fn, *args, number: int = 20, repeat: int = 15) -> float:
    fn(*args)
    times = timeit.repeat(lambda: fn(*args), number=number, repeat=repeat)
    return statistics.median(times) / number


def table(title: str, rows: list[tuple[str, float]], base: str) -> None:
    reference = dict(rows)[base]
    print(f"\n{title}")
    print(f"{'':44s} {'median':>10s} {'vs ' + base:>22s}")
    for name, t in rows:
        print(f"{name:44s} {t * 1e6:8.1f} us {t / reference:21.2f}x")


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(128, 64))
    y = rng.integers(0, 10, size=128)
    W1, b1 = rng.normal(size=(64, 128)) * 0.1, np.zeros(128)
    W2, b2 = rng.normal(size=(128, 10)) * 0.1, np.zeros(10)
    args = (W1, b1, W2, b2, X, y)
    wrt = ("W1", "b1", "W2", "b2")
    numba_grad = grad(mlp_loss, wrt=wrt)
    python_grad = grad(mlp_loss, wrt=wrt, backend="python")
    reference = mlp_numpy_hand(*args)
    for name, g in (("numba", numba_grad), ("python", python_grad)):
        got = g(*args)
        worst = max(float(np.max(np.abs(a - b))) for a, b in zip(got, reference))
        assert worst < 1e-10, f"{name} backend disagrees with hand-written backprop: {worst}"
    table(
        "MLP 64-128-10, batch 128 (gradient of W1, b1, W2, b2)",
        [
            ("NumPy forward pass", median_time(mlp_loss, *args)),
            ("hand-written NumPy backprop", median_time(mlp_numpy_hand, *args)),
            ("ad_compiler, numba backend", median_time(numba_grad, *args)),
            ("ad_compiler, python backend (NumPy)", median_time(python_grad, *args)),
        ],
        "hand-written NumPy backprop",
    )

    x, W = rng.normal(size=1000), rng.normal(size=(1000, 1000))
    numba_norm = grad(norm_sq, wrt=("x", "W"))
    python_norm = grad(norm_sq, wrt=("x", "W"), backend="python")
    table(
        "||W x||^2, W 1000 x 1000 (gradient of x and W)",
        [
            ("NumPy forward pass", median_time(norm_sq, x, W, number=5, repeat=9)),
            (
                "hand-written NumPy gradient",
                median_time(norm_sq_numpy_hand, x, W, number=5, repeat=9),
            ),
            ("ad_compiler, numba backend", median_time(numba_norm, x, W, number=5, repeat=9)),
            (
                "ad_compiler, python backend (NumPy)",
                median_time(python_norm, x, W, number=5, repeat=9),
            ),
        ],
        "hand-written NumPy gradient",
    )


if __name__ == "__main__":
    main()
