"""Gradient descent inside numba: the whole loop in one @numba.njit function, calling the gradient
ad_compiler compiled for it.

Run:  python examples/njit_descent.py

`g.compiled_for(*args)` returns a numba dispatcher that @njit code calls with the function's own
arguments; it returns what g(...) returns. Two versions of one least-squares loss are fitted:

(a) ||X w - y||^2 / n, written as straight-line NumPy (a normal call runs its gradient on NumPy
    first; compiled_for has numba compile it);
(b) the same loss written as loops over the rows, plus PENALTY * ||w||^2, where PENALTY is a
    module-level number: compiled_for binds its value as of the call into the dispatcher.

Each descent runs in numba in chunks of steps; Python prints the loss between chunks, and at the
end the distance to the exact minimizer (from the normal equations).
"""

import time

import numba
import numpy as np

from ad_compiler import value_and_grad

PENALTY = 0.01


def least_squares(w, X, y):
    """(a) straight-line NumPy."""
    r = X @ w - y
    return np.sum(r * r) / X.shape[0]


def least_squares_loops(w, X, y):
    """(b) loops, and a module-level number."""
    n = X.shape[0]
    total = 0.0
    for i in range(n):
        r = -y[i]
        for j in range(w.shape[0]):
            r += X[i, j] * w[j]
        total += r * r
    norm = 0.0
    for j in range(w.shape[0]):
        norm += w[j] * w[j]
    return total / n + PENALTY * norm


@numba.njit
def descend(loss_and_grad, w, X, y, rate, steps):
    """`steps` steps of gradient descent, all in numba; the final loss and weights."""
    loss = 0.0
    for _ in range(steps):
        loss, g = loss_and_grad(w, X, y)  # the dispatcher compiled_for returned
        w = w - rate * g
    return loss, w


def fit(label, loss, w, X, y, exact, rate=0.02, chunks=8, steps=50):
    print(f"\n{label}")
    start = time.perf_counter()
    loss_and_grad = value_and_grad(loss).compiled_for(w, X, y)
    print(f"  compiled_for: a {type(loss_and_grad).__name__} "
          f"({time.perf_counter() - start:.2f} s, compilation included)")
    print(f"  start: loss {loss(w, X, y):.10f}")
    for chunk in range(chunks):
        value, w = descend(loss_and_grad, w, X, y, rate, steps)
        print(f"  after {(chunk + 1) * steps:4d} steps: loss {value:.10f}")
    print(f"  final loss {loss(w, X, y):.10f}; exact minimum {loss(exact, X, y):.10f}; "
          f"max |w - w*| {np.max(np.abs(w - exact)):.2e}")


def main():
    rng = np.random.default_rng(0)
    n, d = 200, 5
    X = rng.normal(size=(n, d))
    y = X @ np.arange(1.0, d + 1) + 0.1 * rng.normal(size=n)
    w0 = np.zeros(d)
    print("Least squares, X 200 x 5, gradient descent inside @numba.njit")
    exact = np.linalg.solve(X.T @ X, X.T @ y)
    fit("(a) straight-line NumPy: r = X @ w - y; sum(r * r) / n", least_squares, w0, X, y, exact)
    ridge = np.linalg.solve(X.T @ X / n + PENALTY * np.eye(d), X.T @ y / n)
    fit(f"(b) loops over rows and columns, + PENALTY * ||w||^2 (PENALTY = {PENALTY}, "
        "module-level)", least_squares_loops, w0, X, y, ridge)


if __name__ == "__main__":
    main()
