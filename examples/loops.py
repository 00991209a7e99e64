"""Loops, differentiated: three programs written with explicit Python loops, their gradients
from ad_compiler beside independent ones.

Run:  python examples/loops.py [--backend numba|python]

(a) The Rosenbrock function as a loop over i, against the vectorized NumPy version (also
    differentiated by ad_compiler) and the closed-form gradient.
(b) A damped oscillator integrated by explicit Euler for 1000 steps: the gradient of a loss on
    the final state with respect to the initial state (x0, v0) and the parameters (k, c),
    against central differences and against the adjoint recursion of the Euler scheme written
    by hand (a reverse loop over the stored trajectory).
(c) Logistic regression with loops over samples and features, calling a sigmoid helper in the
    loop, against the vectorized version (X @ w) differentiated by ad_compiler and the closed
    form X^T (p - y) / n.

Then the generated gradient of (b): its reverse loop runs the forward loop's iterations
backwards, reading the two loop-carried values (x, v) back from tapes.

Every comparison prints "max relative difference D [exact]" (two exact gradients: rounding
only) or "[numerical]" (against central differences: truncation and cancellation error).
"""

import argparse
import math
import time

import numpy as np

from ad_compiler import grad, numerical_grad, value_and_grad

# -- (a) Rosenbrock --------------------------------------------------------------------------------


def rosenbrock_loop(x):
    """sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, one term per iteration."""
    s = 0.0
    for i in range(len(x) - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def rosenbrock_vectorized(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_closed_form(x):
    g = np.zeros_like(x)
    r = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * r - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * r
    return g


# -- (b) damped oscillator, explicit Euler ---------------------------------------------------------

DT = 0.01
X_TARGET = 0.1


def oscillator_loss(x0, v0, k, c, n):
    """Integrate x'' = -k x - c x' by explicit Euler for n steps of DT; loss on the final state."""
    x = x0
    v = v0
    for _step in range(n):
        a = -k * x - c * v
        x = x + DT * v
        v = v + DT * a
    return (x - X_TARGET) ** 2 + 0.5 * v * v


def oscillator_adjoint(x0, v0, k, c, n):
    """The gradient of oscillator_loss by the Euler scheme's adjoint recursion, by hand.

    Forward:  x[i+1] = x[i] + DT v[i],   v[i+1] = v[i] + DT (-k x[i] - c v[i]).
    Reverse, from xb = dL/dx[n] = 2 (x[n] - X_TARGET), vb = dL/dv[n] = v[n], for i = n-1 .. 0:
        kb += vb DT (-x[i]);   cb += vb DT (-v[i])
        xb, vb = xb - vb DT k,   xb DT + vb (1 - DT c)
    and then (xb, vb) = dL/d(x0, v0).
    """
    xs = np.empty(n + 1)
    vs = np.empty(n + 1)
    xs[0], vs[0] = x0, v0
    for i in range(n):
        xs[i + 1] = xs[i] + DT * vs[i]
        vs[i + 1] = vs[i] + DT * (-k * xs[i] - c * vs[i])
    xb = 2.0 * (xs[n] - X_TARGET)
    vb = vs[n]
    kb = cb = 0.0
    for i in range(n - 1, -1, -1):
        kb += vb * DT * -xs[i]
        cb += vb * DT * -vs[i]
        xb, vb = xb - vb * DT * k, xb * DT + vb * (1.0 - DT * c)
    return xb, vb, kb, cb


# -- (c) logistic regression -----------------------------------------------------------------------


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def logistic_loss_loops(w, b, X, y):
    """Mean cross-entropy, one sample and one feature at a time."""
    n, d = X.shape
    total = 0.0
    for i in range(n):
        z = b
        for j in range(d):
            z += X[i, j] * w[j]
        p = sigmoid(z)
        total -= y[i] * math.log(p) + (1.0 - y[i]) * math.log(1.0 - p)
    return total / n


def logistic_loss_vectorized(w, b, X, y):
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def logistic_closed_form(w, b, X, y):
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    return X.T @ (p - y) / len(y), float(np.sum(p - y)) / len(y)


# -- the report ------------------------------------------------------------------------------------


def relative_difference(a, b):
    """max |a - b| over max |b| (entries of several gradients together)."""
    a = np.concatenate([np.ravel(np.asarray(g, dtype=float)) for g in a])
    b = np.concatenate([np.ravel(np.asarray(g, dtype=float)) for g in b])
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def compare(label, a, b, kind):
    print(f"  {label:<46} max relative difference {relative_difference(a, b):8.1e}  [{kind}]")


def heading(title):
    print(f"\n{title}\n{'-' * len(title)}")


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main(backend):
    print(f"Loops differentiated by ad_compiler (backend: {backend})")
    rng = np.random.default_rng(0)

    heading("(a) Rosenbrock: an explicit loop against the vectorized NumPy version")
    x = rng.uniform(-1.5, 1.5, size=12)
    g_loop, seconds = timed(grad(rosenbrock_loop, backend=backend), x)
    g_vec = grad(rosenbrock_vectorized, backend=backend)(x)
    g_exact = rosenbrock_closed_form(x)
    print(f"  n = {len(x)}, f(x) = {rosenbrock_loop(x):.6g}, |grad| = {np.linalg.norm(g_exact):.6g}"
          f"  (first call, building included: {seconds:.2f} s)")
    compare("loop vs vectorized (both ad_compiler)", (g_loop,), (g_vec,), "exact")
    compare("loop vs closed form", (g_loop,), (g_exact,), "exact")
    compare("vectorized vs closed form", (g_vec,), (g_exact,), "exact")

    heading("(b) Damped oscillator, explicit Euler, 1000 steps")
    x0, v0, k, c, n = 1.0, 0.0, 4.0, 0.3, 1000
    print(f"  x'' = -k x - c x', x0 = {x0}, v0 = {v0}, k = {k}, c = {c}, dt = {DT}, "
          f"loss = (x_n - {X_TARGET})^2 + v_n^2 / 2")
    wrt = ("x0", "v0", "k", "c")
    (loss, g_ad), seconds = timed(value_and_grad(oscillator_loss, wrt=wrt, backend=backend),
                                  x0, v0, k, c, n)
    g_hand = oscillator_adjoint(x0, v0, k, c, n)
    g_num = numerical_grad(oscillator_loss, x0, v0, k, c, n, wrt=wrt)
    print(f"  loss = {loss:.10g}  (first call, building included: {seconds:.2f} s)")
    print(f"  {'':<10}{'ad_compiler':>22}{'hand-written adjoint':>22}{'central diff.':>22}")
    for name, a, h, d in zip(wrt, g_ad, g_hand, g_num):
        print(f"  dL/d{name:<6}{a:>22.15g}{h:>22.15g}{d:>22.12g}")
    compare("ad_compiler vs hand-written adjoint recursion", g_ad, g_hand, "exact")
    compare("ad_compiler vs central differences", g_ad, g_num, "numerical")

    heading("(c) Logistic regression: loops over samples and features")
    n_samples, n_features = 200, 5
    X = rng.normal(size=(n_samples, n_features))
    w_true = rng.normal(size=n_features)
    y = (rng.uniform(size=n_samples) < 1.0 / (1.0 + np.exp(-(X @ w_true)))).astype(float)
    w = 0.3 * rng.normal(size=n_features)
    b = 0.1
    (loss, g_loop), seconds = timed(value_and_grad(logistic_loss_loops, wrt=("w", "b"),
                                                   backend=backend), w, b, X, y)
    loss_vec, g_vec = value_and_grad(logistic_loss_vectorized, wrt=("w", "b"),
                                     backend=backend)(w, b, X, y)
    g_exact = logistic_closed_form(w, b, X, y)
    print(f"  {n_samples} samples, {n_features} features, loss = {loss:.10g} "
          f"(vectorized: {loss_vec:.10g})  (first call, building included: {seconds:.2f} s)")
    compare("loops vs vectorized X @ w (both ad_compiler)", g_loop, g_vec, "exact")
    compare("loops vs closed form X^T (p - y) / n", g_loop, g_exact, "exact")
    compare("loss: loops vs vectorized", (loss,), (loss_vec,), "exact")

    heading("The generated gradient of oscillator_loss (b)")
    print("The forward loop stores x and v at the start of each step; the reverse loop runs the")
    print("steps from n - 1 down to 0, reads x and v back and adds upstream x local gradient:\n")
    source = grad(oscillator_loss, wrt=wrt, backend=backend).source_for(x0, v0, k, c, n)
    print(source)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("numba", "python"), default="numba")
    main(parser.parse_args().backend)
