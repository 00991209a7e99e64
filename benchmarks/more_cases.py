"""Issue 15's further cases: primals as a user writes them and gradients written by hand as an
expert would (gathers that numba vectorizes, BLAS where it helps). `cases.py` builds the case
table from them; every hand-written gradient returns a tuple in the order of the case's `wrt`.

- GMM vectorized through `np.concatenate`: the exponentiated diagonal and the lower entries of
  each Q_k joined into one row, spread into d x d by a single constant 0/1 `layout` matrix.
- Rosenbrock written with slices (the hand-written gradient is the gather form of cases.py).
- A 64-unit tanh RNN over many steps, loss sum_t |h_t|^2.
- RK4 on a field of damped nonlinear oscillators, every stage a whole-array expression.
- The k-means objective: squared distance of each point to its nearest centroid, summed.
"""

from __future__ import annotations

import math

import numpy as np
from case_type import Case

# --------------------------------------------------------------------------------------------
# GMM, vectorized with np.concatenate (same objective as cases.gmm_loops)


def gmm_concat(alphas, means, icf, x, wishart_gamma, wishart_m, const, layout, rep):
    n = x.shape[0]
    d = x.shape[1]
    K = alphas.shape[0]
    qs = icf[:, :d]
    Qp = np.concatenate((np.exp(qs), icf[:, d:]), axis=1)
    Q = (Qp @ layout).reshape(K * d, d)
    Z = x @ Q.T - np.sum(Q * (rep @ means), axis=1)
    t = alphas + np.sum(qs, axis=1) - 0.5 * np.sum((Z * Z).reshape(n, K, d), axis=2)
    mx = np.max(t, axis=1, keepdims=True)
    slse = np.sum(np.log(np.sum(np.exp(t - mx), axis=1))) + np.sum(mx)
    amax = np.max(alphas)
    lse_alphas = amax + np.log(np.sum(np.exp(alphas - amax)))
    prior = 0.5 * wishart_gamma * wishart_gamma * np.sum(Qp * Qp) - wishart_m * np.sum(qs)
    return const + slse - n * lse_alphas + prior


# --------------------------------------------------------------------------------------------
# Rosenbrock: the expert's gradient, a gather (g[i] from the terms of i-1 and i in one pass)


def rosenbrock_gather_hand(x):
    n = x.shape[0]
    g = np.empty_like(x)
    x0 = x[0]
    g[0] = -400.0 * x0 * (x[1] - x0 * x0) - 2.0 * (1.0 - x0)
    for i in range(1, n - 1):
        xi = x[i]
        xp = x[i - 1]
        g[i] = 200.0 * (xi - xp * xp) - 400.0 * xi * (x[i + 1] - xi * xi) - 2.0 * (1.0 - xi)
    g[n - 1] = 200.0 * (x[n - 1] - x[n - 2] * x[n - 2])
    return (g,)


# --------------------------------------------------------------------------------------------
# RNN: h_t = tanh(W h_{t-1} + U x_t + b), loss sum_t |h_t|^2


def rnn_loss(W, U, b, xs, h0):
    h = h0
    total = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t] + b)
        total = total + np.sum(h * h)
    return total


def rnn_args(steps: int) -> tuple:
    rng = np.random.default_rng(steps)
    W = rng.normal(size=(64, 64)) / 8.0 * 0.9  # spectral radius ~0.9: a stable recurrence
    U = rng.normal(size=(64, 8)) * 0.3
    b = rng.normal(size=64) * 0.1
    xs = rng.normal(size=(steps, 8))
    h0 = rng.normal(size=64) * 0.1
    return W, U, b, xs, h0


def rnn_numba_hand(W, U, b, xs, h0):
    """Backprop through time: the states stored (n+1, m); the 64x64 products of each step as
    axpy loops over contiguous rows (SIMD, no BLAS call per step: 1.4x faster than np.dot
    here); the input projection and the weight gradients as single BLAS products over all
    steps."""
    n = xs.shape[0]
    m = h0.shape[0]
    H = np.empty((n + 1, m))
    H[0] = h0
    A = xs @ np.ascontiguousarray(U.T)
    WT = np.ascontiguousarray(W.T)
    a = np.empty(m)
    for t in range(n):
        ht = H[t]
        At = A[t]
        for i in range(m):
            a[i] = At[i] + b[i]
        for j in range(m):
            hj = ht[j]
            Wj = WT[j]
            for i in range(m):
                a[i] += Wj[i] * hj
        hn = H[t + 1]
        for i in range(m):
            hn[i] = math.tanh(a[i])
    D = A  # reused: the adjoints of the pre-activations
    dh = np.zeros(m)
    for t in range(n - 1, -1, -1):
        Dt = D[t]
        hn = H[t + 1]
        for j in range(m):
            h = hn[j]
            Dt[j] = (dh[j] + 2.0 * h) * (1.0 - h * h)
        dh[:] = 0.0
        for i in range(m):
            di = Dt[i]
            Wi = W[i]
            for j in range(m):
                dh[j] += di * Wi[j]
    DT = np.ascontiguousarray(D.T)
    dW = DT @ H[:n]
    dU = DT @ xs
    db = np.zeros(m)
    for t in range(n):
        for j in range(m):
            db[j] += D[t, j]
    return dW, dU, db


# --------------------------------------------------------------------------------------------
# RK4: dx/dt = v, dv/dt = -k x - c v - a x^3 for every state, loss sum |x|^2 + |v|^2 at the end


def rk4_loss(x, v, k, c, a, dt, steps):
    for _ in range(steps):
        k1v = -k * x - c * v - a * x**3
        x2 = x + 0.5 * dt * v
        v2 = v + 0.5 * dt * k1v
        k2v = -k * x2 - c * v2 - a * x2**3
        x3 = x + 0.5 * dt * v2
        v3 = v + 0.5 * dt * k2v
        k3v = -k * x3 - c * v3 - a * x3**3
        x4 = x + dt * v3
        v4 = v + dt * k3v
        k4v = -k * x4 - c * v4 - a * x4**3
        x = x + dt / 6.0 * (v + 2.0 * v2 + 2.0 * v3 + v4)
        v = v + dt / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
    return np.sum(x * x + v * v)


def rk4_args(n: int, steps: int) -> tuple:
    rng = np.random.default_rng(n + steps)
    x = rng.normal(size=n)
    v = rng.normal(size=n)
    k = rng.uniform(0.5, 2.0, size=n)
    return x, v, k, 0.1, 0.5, 0.01, steps


def rk4_numba_hand(x0, v0, k, c, a, dt, steps):
    """States stored per step (step-major, so every inner loop runs over contiguous states and
    vectorizes); the reverse sweep recomputes the stages from the stored state."""
    n = x0.shape[0]
    X = np.empty((steps + 1, n))
    V = np.empty((steps + 1, n))
    X[0] = x0
    V[0] = v0
    h2 = 0.5 * dt
    h6 = dt / 6.0
    for s in range(steps):
        for i in range(n):
            x = X[s, i]
            v = V[s, i]
            ki = k[i]
            k1v = -ki * x - c * v - a * x * x * x
            x2 = x + h2 * v
            v2 = v + h2 * k1v
            k2v = -ki * x2 - c * v2 - a * x2 * x2 * x2
            x3 = x + h2 * v2
            v3 = v + h2 * k2v
            k3v = -ki * x3 - c * v3 - a * x3 * x3 * x3
            x4 = x + dt * v3
            v4 = v + dt * k3v
            k4v = -ki * x4 - c * v4 - a * x4 * x4 * x4
            X[s + 1, i] = x + h6 * (v + 2.0 * v2 + 2.0 * v3 + v4)
            V[s + 1, i] = v + h6 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
    xb = 2.0 * X[steps]
    vb = 2.0 * V[steps]
    kb = np.zeros(n)
    cb = np.zeros(n)  # per state, summed at the end: no loop-carried reduction
    ab = np.zeros(n)
    for s in range(steps - 1, -1, -1):
        for i in range(n):
            x = X[s, i]
            v = V[s, i]
            ki = k[i]
            k1v = -ki * x - c * v - a * x * x * x
            x2 = x + h2 * v
            v2 = v + h2 * k1v
            k2v = -ki * x2 - c * v2 - a * x2 * x2 * x2
            x3 = x + h2 * v2
            v3 = v + h2 * k2v
            k3v = -ki * x3 - c * v3 - a * x3 * x3 * x3
            x4 = x + dt * v3
            v4 = v + dt * k3v
            gx = xb[i]
            gv = vb[i]
            xbar = gx
            vbar = gv + h6 * gx
            v2b = 2.0 * h6 * gx
            v3b = 2.0 * h6 * gx
            v4b = h6 * gx
            k1vb = h6 * gv
            k2vb = 2.0 * h6 * gv
            k3vb = 2.0 * h6 * gv
            k4vb = h6 * gv
            # k4v = f(x4, v4); x4 = x + dt v3, v4 = v + dt k3v
            kbi = -k4vb * x4
            cbi = -k4vb * v4
            abi = -k4vb * x4 * x4 * x4
            x4b = -k4vb * (ki + 3.0 * a * x4 * x4)
            v4b -= c * k4vb
            xbar += x4b
            v3b += dt * x4b
            vbar += v4b
            k3vb += dt * v4b
            # k3v = f(x3, v3); x3 = x + h2 v2, v3 = v + h2 k2v
            kbi -= k3vb * x3
            cbi -= k3vb * v3
            abi -= k3vb * x3 * x3 * x3
            x3b = -k3vb * (ki + 3.0 * a * x3 * x3)
            v3b -= c * k3vb
            xbar += x3b
            v2b += h2 * x3b
            vbar += v3b
            k2vb += h2 * v3b
            # k2v = f(x2, v2); x2 = x + h2 v, v2 = v + h2 k1v
            kbi -= k2vb * x2
            cbi -= k2vb * v2
            abi -= k2vb * x2 * x2 * x2
            x2b = -k2vb * (ki + 3.0 * a * x2 * x2)
            v2b -= c * k2vb
            xbar += x2b
            vbar += h2 * x2b + v2b
            k1vb += h2 * v2b
            # k1v = f(x, v)
            kbi -= k1vb * x
            cbi -= k1vb * v
            abi -= k1vb * x * x * x
            xbar -= k1vb * (ki + 3.0 * a * x * x)
            vbar -= c * k1vb
            xb[i] = xbar
            vb[i] = vbar
            kb[i] += kbi
            cb[i] += cbi
            ab[i] += abi
    return xb, vb, kb, cb.sum(), ab.sum()


def rk4_numba_primal(x, v, k, c, a, dt, steps):
    return rk4_loss(x, v, k, c, a, dt, steps)


# --------------------------------------------------------------------------------------------
# k-means objective


def kmeans_loss(C, X):
    D = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=-1)
    return np.sum(np.min(D, axis=1))


def kmeans_args(n: int, K: int, d: int) -> tuple:
    rng = np.random.default_rng(n + K + d)
    return rng.normal(size=(K, d)), rng.normal(size=(n, d))


def kmeans_numba_primal(C, X):
    n, d = X.shape
    K = C.shape[0]
    total = 0.0
    for i in range(n):
        best = np.inf
        for k in range(K):
            s = 0.0
            for j in range(d):
                t = X[i, j] - C[k, j]
                s += t * t
            best = min(best, s)
        total += best
    return total


def kmeans_numba_hand(C, X):
    """Distances of one point to all centroids at once (centroids transposed, so the inner loop
    runs over contiguous centroids and vectorizes), then the nearest one's share."""
    n, d = X.shape
    K = C.shape[0]
    CT = np.ascontiguousarray(C.T)
    s = np.empty(K)
    dC = np.zeros((K, d))
    for i in range(n):
        s[:] = 0.0
        for j in range(d):
            xij = X[i, j]
            for k in range(K):
                t = xij - CT[j, k]
                s[k] += t * t
        best = 0
        for k in range(1, K):
            if s[k] < s[best]:
                best = k
        for j in range(d):
            dC[best, j] += 2.0 * (C[best, j] - X[i, j])
    return (dC,)


# --------------------------------------------------------------------------------------------
# The cases


def rnn_case(steps: int, quick: bool) -> Case:
    return Case(
        name=f"rnn_64_n{steps}",
        family="rnn",
        label=f"tanh RNN 64 units, {steps} steps",
        primal=rnn_loss,
        wrt=(0, 1, 2),
        make_args=lambda: rnn_args(steps),
        numpy_primal=rnn_loss,
        numba_primal=rnn_loss,
        numba_hand=rnn_numba_hand,
        quick=quick,
        peer_form="JAX runs lax.scan (`jax checkpoint`: a scan of jax.checkpoint'ed scans over "
        "segments of about sqrt(n) steps), PyTorch and autograd the Python loop",
        memory=True,
        checkpoint=True,
        slow_peers={"autograd": "measured at 10^5 steps: about 30 s a call, +1.2 GB"}
        if steps > 10**4
        else {},
        params={"steps": steps},
    )


def rk4_case(n: int, steps: int, quick: bool) -> Case:
    return Case(
        name=f"rk4_n{n}_s{steps}",
        family="rk4",
        label=f"RK4 oscillator field, n={n}, {steps} steps",
        primal=rk4_loss,
        wrt=(0, 1, 2, 3, 4),
        make_args=lambda: rk4_args(n, steps),
        numpy_primal=rk4_loss,
        numba_primal=rk4_loss,
        numba_hand=rk4_numba_hand,
        quick=quick,
        peer_form="JAX runs the steps as lax.fori_loop, PyTorch and autograd the Python loop",
        memory=True,
        params={"n": n, "steps": steps},
    )


def kmeans_case(n: int, K: int, d: int, quick: bool) -> Case:
    return Case(
        name=f"kmeans_n{n}_K{K}_d{d}",
        family="kmeans",
        label=f"k-means objective, n={n} K={K} d={d}",
        primal=kmeans_loss,
        wrt=(0,),
        make_args=lambda: kmeans_args(n, K, d),
        numpy_primal=kmeans_loss,
        numba_primal=kmeans_numba_primal,
        numba_hand=kmeans_numba_hand,
        quick=quick,
        peer_form="the peers run kmeans_loss (broadcast differences, min over centroids)",
        params={"n": n, "K": K, "d": d},
    )
