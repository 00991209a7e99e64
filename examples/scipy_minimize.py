"""scipy.optimize with ad_compiler's gradient: the 100-dimensional Rosenbrock function fitted by
L-BFGS-B.

Run:  python examples/scipy_minimize.py

`value_and_grad(f)` is what `scipy.optimize.minimize(fun, x0, jac=True)` asks for: a function
of the 1-D float64 array x returning (value, gradient), a float and an array of x's shape and
dtype. The gradient is checked against scipy.optimize.rosen_der, SciPy's hand-written one.
"""

import time

import numpy as np
from scipy.optimize import minimize, rosen, rosen_der

from ad_compiler import value_and_grad


def rosenbrock(x):
    """sum over i of 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2: minimum 0 at x = (1, ..., 1)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def main():
    n = 100
    x0 = np.tile([-1.2, 1.0], n // 2)  # the classic start, far from the minimum
    fun = value_and_grad(rosenbrock)

    value, gradient = fun(x0)
    print(f"Rosenbrock in {n} dimensions, from x0 = (-1.2, 1, -1.2, 1, ...)")
    print(f"  fun(x0) returns ({type(value).__name__}, {gradient.dtype} array of shape "
          f"{gradient.shape}), as minimize(..., jac=True) asks")
    print(f"  f(x0) = {value:.6g} (scipy.optimize.rosen: {rosen(x0):.6g})")
    print(f"  gradient vs scipy.optimize.rosen_der at x0: max relative difference "
          f"{relative(gradient, rosen_der(x0)):.2e}")

    iterations = []
    start = time.perf_counter()
    result = minimize(fun, x0, jac=True, method="L-BFGS-B",
                      options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10},
                      callback=lambda x: progress(iterations, x))
    seconds = time.perf_counter() - start
    print(f"L-BFGS-B: {result.message}")
    print(f"  iterations {result.nit}, gradient evaluations {result.njev}, {seconds:.2f} s")
    print(f"  final value {result.fun:.3e}")
    print(f"  max |x - 1| = {np.max(np.abs(result.x - 1.0)):.2e}")
    print(f"  gradient vs scipy.optimize.rosen_der at the solution: max difference "
          f"{np.max(np.abs(fun(result.x)[1] - rosen_der(result.x))):.2e}")


def progress(iterations, x):
    iterations.append(rosen(x))
    if len(iterations) % 100 == 0:
        print(f"  iteration {len(iterations):4d}: f = {iterations[-1]:.6e}")


def relative(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0)))


if __name__ == "__main__":
    main()
