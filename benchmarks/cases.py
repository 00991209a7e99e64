"""The benchmark cases: primal functions, their inputs, and gradients written by hand.

Every case names a primal written for ad_compiler (plain Python/NumPy, loops welcome), a NumPy
primal and a numba-compiled primal to time the forward pass, and a gradient written by hand and
compiled with numba (for the vectorized cases also one written by hand in NumPy). All gradients
return a tuple with one entry per differentiated parameter, in the order of `Case.wrt`.

The GMM objective is the one of the ADBench suite, written here from its formula. With
x_i in R^d (i < n) and K components, component k has a weight alpha_k, a mean mu_k, and an
inverse Cholesky factor Q_k = diag(exp(q_k)) + L_k, where q_k (d numbers) are the logs of the
diagonal and L_k is strictly lower triangular with d(d-1)/2 free entries l_k, stored column by
column (L_k[r, c] for c = 0, 1, ... and r = c+1 .. d-1). Each row of `icf` is (q_k, l_k). Then

    f = sum_i logsumexp_k(alpha_k + sum_j q_kj - |Q_k (x_i - mu_k)|^2 / 2)
        - n logsumexp_k(alpha_k)
        + sum_k (gamma^2 / 2 (|exp(q_k)|^2 + |l_k|^2) - m sum_j q_kj)
        + const,

where the last sum is the Wishart prior (with parameters gamma and m) and `const` gathers the
terms without parameters: -n d/2 log(2 pi) and -K (n' d (log gamma - log(2)/2) - log
Gamma_d(n'/2)) with n' = d + m + 1 (`gmm_constant`).
"""

from __future__ import annotations

import math

import numpy as np
from case_type import Case
from more_cases import gmm_concat, kmeans_case, rk4_case, rnn_case
from more_cases import rosenbrock_gather_hand as rosenbrock_numba_hand

# --------------------------------------------------------------------------------------------
# Scalar circuits (the lecture's worked examples)


def circuit(x, y, z):
    return (x + y) * z


def circuit_hand(x, y, z):
    return z, z, x + y


def neuron(w0, x0, w1, x1, w2):
    return 1.0 / (1.0 + math.exp(-(w0 * x0 + w1 * x1 + w2)))


def neuron_hand(w0, x0, w1, x1, w2):
    s = 1.0 / (1.0 + math.exp(-(w0 * x0 + w1 * x1 + w2)))
    ds = s * (1.0 - s)
    return ds * x0, ds * w0, ds * x1, ds * w1, ds


# --------------------------------------------------------------------------------------------
# ||W x||^2


def norm_sq(x, W):
    q = W @ x
    return np.sum(q**2)


def norm_sq_numpy_hand(x, W):
    q = W @ x
    return 2.0 * (W.T @ q), 2.0 * np.outer(q, x)


def norm_sq_numba_hand(x, W):
    m, n = W.shape
    q = np.zeros(m)
    for i in range(m):
        s = 0.0
        for j in range(n):
            s += W[i, j] * x[j]
        q[i] = 2.0 * s
    dx = np.zeros(n)
    dW = np.empty((m, n))
    for i in range(m):
        qi = q[i]
        for j in range(n):
            dx[j] += W[i, j] * qi
            dW[i, j] = qi * x[j]
    return dx, dW


def norm_sq_loops(x, W):
    """The numba primal: the same sums as loops."""
    total = 0.0
    for i in range(W.shape[0]):
        s = 0.0
        for j in range(W.shape[1]):
            s += W[i, j] * x[j]
        total += s * s
    return total


# --------------------------------------------------------------------------------------------
# MLP 64-128-10: ReLU, softmax cross-entropy, L2 penalty

L2 = 1e-4


def mlp_loss(W1, b1, W2, b2, X, y):
    z1 = X @ W1 + b1
    h = np.maximum(z1, 0.0)
    z2 = h @ W2 + b2
    z2 = z2 - np.max(z2, axis=1, keepdims=True)
    e = np.exp(z2)
    p = e / np.sum(e, axis=1, keepdims=True)
    n = X.shape[0]
    data = -np.mean(np.log(p[np.arange(n), y]))
    return data + L2 * (np.sum(W1 * W1) + np.sum(W2 * W2))


def mlp_numpy_hand(W1, b1, W2, b2, X, y):
    n = X.shape[0]
    z1 = X @ W1 + b1
    h = np.maximum(z1, 0.0)
    z2 = h @ W2 + b2
    z2 -= z2.max(axis=1, keepdims=True)
    e = np.exp(z2)
    delta2 = e / e.sum(axis=1, keepdims=True)
    delta2[np.arange(n), y] -= 1.0
    delta2 /= n
    dW2 = h.T @ delta2 + 2.0 * L2 * W2
    db2 = delta2.sum(axis=0)
    delta1 = (delta2 @ W2.T) * (z1 > 0.0)
    dW1 = X.T @ delta1 + 2.0 * L2 * W1
    db1 = delta1.sum(axis=0)
    return dW1, db1, dW2, db2


def mlp_numba_primal(W1, b1, W2, b2, X, y):
    n = X.shape[0]
    h = np.maximum(X @ W1 + b1, 0.0)
    z2 = h @ W2 + b2
    total = 0.0
    for i in range(n):
        mx = z2[i, 0]
        for j in range(1, z2.shape[1]):
            mx = max(mx, z2[i, j])
        s = 0.0
        for j in range(z2.shape[1]):
            s += math.exp(z2[i, j] - mx)
        total += math.log(s) + mx - z2[i, y[i]]
    return total / n + L2 * (np.sum(W1 * W1) + np.sum(W2 * W2))


def mlp_numba_hand(W1, b1, W2, b2, X, y):
    n = X.shape[0]
    z1 = X @ W1
    for i in range(n):
        for j in range(z1.shape[1]):
            z1[i, j] += b1[j]
    h = np.maximum(z1, 0.0)
    delta2 = h @ W2
    classes = delta2.shape[1]
    for i in range(n):
        mx = -np.inf
        for j in range(classes):
            delta2[i, j] += b2[j]
            mx = max(mx, delta2[i, j])
        s = 0.0
        for j in range(classes):
            e = math.exp(delta2[i, j] - mx)
            delta2[i, j] = e
            s += e
        for j in range(classes):
            delta2[i, j] /= s * n
        delta2[i, y[i]] -= 1.0 / n
    dW2 = h.T @ delta2 + 2.0 * L2 * W2
    db2 = delta2.sum(axis=0)
    delta1 = delta2 @ W2.T
    for i in range(n):
        for j in range(delta1.shape[1]):
            if z1[i, j] <= 0.0:
                delta1[i, j] = 0.0
    dW1 = X.T @ delta1 + 2.0 * L2 * W1
    db1 = delta1.sum(axis=0)
    return dW1, db1, dW2, db2


# --------------------------------------------------------------------------------------------
# GMM objective (ADBench), loop form


def gmm_loops(alphas, means, icf, x, wishart_gamma, wishart_m, const):
    n = x.shape[0]
    d = x.shape[1]
    K = alphas.shape[0]
    qdiag = np.empty((K, d))
    sum_qs = np.empty(K)
    for k in range(K):
        s = 0.0
        for j in range(d):
            qdiag[k, j] = math.exp(icf[k, j])
            s += icf[k, j]
        sum_qs[k] = s
    xc = np.empty(d)
    z = np.empty(d)
    terms = np.empty(K)
    slse = 0.0
    for i in range(n):
        for k in range(K):
            # z = Q_k (x_i - mu_k), L_k's entries column by column
            for j in range(d):
                xc[j] = x[i, j] - means[k, j]
                z[j] = qdiag[k, j] * xc[j]
            li = d
            for c in range(d):
                for r in range(c + 1, d):
                    z[r] += icf[k, li] * xc[c]
                    li += 1
            sq = 0.0
            for j in range(d):
                sq += z[j] * z[j]
            terms[k] = alphas[k] + sum_qs[k] - 0.5 * sq
        mx = terms[0]
        for k in range(1, K):
            mx = max(mx, terms[k])
        se = 0.0
        for k in range(K):
            se += math.exp(terms[k] - mx)
        slse += mx + math.log(se)
    amax = alphas[0]
    for k in range(1, K):
        amax = max(amax, alphas[k])
    sa = 0.0
    for k in range(K):
        sa += math.exp(alphas[k] - amax)
    lse_alphas = amax + math.log(sa)
    prior = 0.0
    for k in range(K):
        frob = 0.0
        for j in range(d):
            frob += qdiag[k, j] * qdiag[k, j]
        for j in range(d, icf.shape[1]):
            frob += icf[k, j] * icf[k, j]
        prior += 0.5 * wishart_gamma * wishart_gamma * frob - wishart_m * sum_qs[k]
    return const + slse - n * lse_alphas + prior


def gmm_numba_hand(alphas, means, icf, x, wishart_gamma, wishart_m, const):
    """d f / d (alphas, means, icf), with the responsibilities w_ik = softmax_k(t_ik):

    d alpha_k = sum_i w_ik - n softmax(alpha)_k
    d mu_k    = sum_i w_ik Q_k^T z_ik
    d q_kj    = sum_i w_ik (1 - z_ikj exp(q_kj) xc_ikj) + gamma^2 exp(2 q_kj) - m
    d L_k[r,c] = -sum_i w_ik z_ikr xc_ikc + gamma^2 L_k[r, c]
    """
    n, d = x.shape
    K = alphas.shape[0]
    width = icf.shape[1]
    qdiag = np.exp(icf[:, :d])
    sum_qs = np.zeros(K)
    for k in range(K):
        for j in range(d):
            sum_qs[k] += icf[k, j]
    dalphas = np.zeros(K)
    dmeans = np.zeros((K, d))
    dicf = np.zeros((K, width))
    xcs = np.empty((K, d))
    zs = np.empty((K, d))
    t = np.empty(K)
    for i in range(n):
        mx = -np.inf
        for k in range(K):
            xc = xcs[k]
            z = zs[k]
            for j in range(d):
                xc[j] = x[i, j] - means[k, j]
                z[j] = qdiag[k, j] * xc[j]
            li = d
            for c in range(d):
                for r in range(c + 1, d):
                    z[r] += icf[k, li] * xc[c]
                    li += 1
            sq = 0.0
            for j in range(d):
                sq += z[j] * z[j]
            t[k] = alphas[k] + sum_qs[k] - 0.5 * sq
            mx = max(mx, t[k])
        se = 0.0
        for k in range(K):
            t[k] = math.exp(t[k] - mx)
            se += t[k]
        for k in range(K):
            w = t[k] / se
            xc = xcs[k]
            z = zs[k]
            dalphas[k] += w
            for j in range(d):
                dicf[k, j] += w * (1.0 - z[j] * qdiag[k, j] * xc[j])
                dmeans[k, j] += w * qdiag[k, j] * z[j]
            li = d
            for c in range(d):
                acc = 0.0
                for r in range(c + 1, d):
                    dicf[k, li] -= w * z[r] * xc[c]
                    acc += icf[k, li] * z[r]
                    li += 1
                dmeans[k, c] += w * acc
    amax = np.max(alphas)
    ea = np.exp(alphas - amax)
    ea /= np.sum(ea)
    g2 = wishart_gamma * wishart_gamma
    for k in range(K):
        dalphas[k] -= n * ea[k]
        for j in range(d):
            dicf[k, j] += g2 * qdiag[k, j] * qdiag[k, j] - wishart_m
        for j in range(d, width):
            dicf[k, j] += g2 * icf[k, j]
    return dalphas, dmeans, dicf


# --------------------------------------------------------------------------------------------
# GMM objective, vectorized form
#
# All K factors at once: row k*d + r of the (K*d, d) matrix Q holds row r of Q_k, so that
# x @ Q.T gives every Q_k x_i together. The constant 0/1 matrices `pd` (d, d*d) and `pl`
# (d(d-1)/2, d*d) place the diagonal and the lower entries of each Q_k into a flattened d x d
# row; `rep` (K*d, K) repeats each component's row d times.


def gmm_layout(d: int, K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pd = np.zeros((d, d * d))
    for j in range(d):
        pd[j, j * d + j] = 1.0
    pl = np.zeros((d * (d - 1) // 2, d * d))
    li = 0
    for c in range(d):
        for r in range(c + 1, d):
            pl[li, r * d + c] = 1.0
            li += 1
    rep = np.zeros((K * d, K))
    for k in range(K):
        rep[k * d : (k + 1) * d, k] = 1.0
    return pd, pl, rep


def gmm_vectorized(alphas, means, icf, x, wishart_gamma, wishart_m, const, pd, pl, rep):
    n = x.shape[0]
    d = x.shape[1]
    K = alphas.shape[0]
    qs = icf[:, :d]
    ls = icf[:, d:]
    Q = (np.exp(qs) @ pd + ls @ pl).reshape(K * d, d)
    Z = x @ Q.T - np.sum(Q * (rep @ means), axis=1)
    sq = np.sum((Z * Z).reshape(n, K, d), axis=2)
    t = alphas + np.sum(qs, axis=1) - 0.5 * sq
    mx = np.max(t, axis=1, keepdims=True)
    slse = np.sum(np.log(np.sum(np.exp(t - mx), axis=1))) + np.sum(mx)
    amax = np.max(alphas)
    lse_alphas = amax + np.log(np.sum(np.exp(alphas - amax)))
    frob = np.sum(np.exp(2.0 * qs)) + np.sum(ls * ls)
    prior = 0.5 * wishart_gamma * wishart_gamma * frob - wishart_m * np.sum(qs)
    return const + slse - n * lse_alphas + prior


def gmm_numpy_hand(alphas, means, icf, x, wishart_gamma, wishart_m, const, pd, pl, rep):
    n, d = x.shape
    K = alphas.shape[0]
    qs = icf[:, :d]
    ls = icf[:, d:]
    E = np.exp(qs)
    Q = (E @ pd + ls @ pl).reshape(K * d, d)
    M = rep @ means
    Z = x @ Q.T - np.sum(Q * M, axis=1)
    t = alphas + qs.sum(axis=1) - 0.5 * (Z * Z).reshape(n, K, d).sum(axis=2)
    w = np.exp(t - t.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    wsum = w.sum(axis=0)
    # t = ... - |Z|^2 / 2 per block: dZ = -Z * w (each w_ik over its d columns)
    dZ = (Z.reshape(n, K, d) * w[:, :, None]).reshape(n, K * d)
    dZ *= -1.0
    db = -dZ.sum(axis=0)  # Z = x Q^T - b, b = rowsum(Q * M)
    dQ = dZ.T @ x + db[:, None] * M
    dmeans = rep.T @ (db[:, None] * Q)
    dQ2 = dQ.reshape(K, d * d)
    g2 = wishart_gamma * wishart_gamma
    dqs = (dQ2 @ pd.T) * E + wsum[:, None] + g2 * E * E - wishart_m
    dls = dQ2 @ pl.T + g2 * ls
    ea = np.exp(alphas - alphas.max())
    dalphas = wsum - n * ea / ea.sum()
    return dalphas, dmeans, np.concatenate([dqs, dls], axis=1)


def gmm_constant(n: int, d: int, K: int, wishart_gamma: float, wishart_m: int) -> float:
    """The terms of the GMM objective without parameters (see the module docstring)."""
    n_prime = d + wishart_m + 1
    log_gamma_d = d * (d - 1) / 4.0 * math.log(math.pi) + sum(
        math.lgamma(0.5 * n_prime + 0.5 * (1 - j)) for j in range(1, d + 1)
    )
    wishart = n_prime * d * (math.log(wishart_gamma) - 0.5 * math.log(2.0)) - log_gamma_d
    return -0.5 * n * d * math.log(2.0 * math.pi) - K * wishart


def gmm_args(d: int, K: int, n: int, layout: bool) -> tuple:
    rng = np.random.default_rng(d * 1000 + K * 10 + n)
    alphas = rng.normal(size=K)
    means = rng.uniform(-1.0, 1.0, size=(K, d))
    icf = rng.normal(scale=0.3, size=(K, d + d * (d - 1) // 2))
    x = rng.normal(size=(n, d))
    gamma, m = 1.0, 0
    args = (alphas, means, icf, x, gamma, m, gmm_constant(n, d, K, gamma, m))
    return args + gmm_layout(d, K) if layout else args


# --------------------------------------------------------------------------------------------
# Rosenbrock, as a loop


def rosenbrock(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def rosenbrock_numpy(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


# --------------------------------------------------------------------------------------------
# Damped oscillator, explicit Euler


def euler(x, v, k, c, dt, n):
    for _ in range(n):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    return x * x + v * v


def euler_numba_hand(x, v, k, c, dt, n):
    """The Euler scheme's adjoint recursion: a forward loop storing (x, v), a reverse loop."""
    xs = np.empty(n + 1)
    vs = np.empty(n + 1)
    xs[0] = x
    vs[0] = v
    for i in range(n):
        xs[i + 1] = xs[i] + dt * vs[i]
        vs[i + 1] = vs[i] + dt * (-k * xs[i] - c * vs[i])
    xb = 2.0 * xs[n]
    vb = 2.0 * vs[n]
    kb = 0.0
    cb = 0.0
    for i in range(n - 1, -1, -1):
        kb -= vb * dt * xs[i]
        cb -= vb * dt * vs[i]
        xb, vb = xb - vb * dt * k, xb * dt + vb * (1.0 - dt * c)
    return xb, vb, kb, cb


# --------------------------------------------------------------------------------------------
# The case table


def _gmm_case(form: str, d: int, K: int, n: int, quick: bool) -> Case:
    loops = form == "loops"
    layout = gmm_layout(d, K)

    def numpy_primal(*args):
        return gmm_vectorized(*args[:7], *layout)

    return Case(
        name=f"gmm_{form}_d{d}_K{K}_n{n // 1000}k",
        family=f"gmm_{form}",
        label=f"GMM {form}, d={d} K={K} n={n}",
        primal=gmm_loops if loops else gmm_vectorized,
        wrt=(0, 1, 2),
        make_args=lambda: gmm_args(d, K, n, layout=not loops),
        numpy_primal=numpy_primal,
        numba_primal=gmm_loops,
        numba_hand=gmm_numba_hand,
        numba_nargs=7,
        numpy_hand=None if loops else gmm_numpy_hand,
        quick=quick,
        peer_form="the peers run the vectorized formulation of gmm_vectorized",
        params={"d": d, "K": K, "n": n},
    )


def _norm_case(m: int, n: int, quick: bool) -> Case:
    def make_args():
        rng = np.random.default_rng(m * n)
        return rng.normal(size=n), rng.normal(size=(m, n))

    return Case(
        name=f"norm_{m}x{n}",
        family="norm",
        label=f"‖Wx‖², W {m}x{n}",
        primal=norm_sq,
        wrt=(0, 1),
        make_args=make_args,
        numpy_primal=norm_sq,
        numba_primal=norm_sq_loops,
        numba_hand=norm_sq_numba_hand,
        numpy_hand=norm_sq_numpy_hand,
        quick=quick,
        params={"m": m, "n": n},
    )


def _mlp_case(batch: int, quick: bool) -> Case:
    def make_args():
        rng = np.random.default_rng(batch)
        X = rng.normal(size=(batch, 64))
        y = rng.integers(0, 10, size=batch)
        W1, b1 = rng.normal(size=(64, 128)) * 0.1, rng.normal(size=128) * 0.1
        W2, b2 = rng.normal(size=(128, 10)) * 0.1, rng.normal(size=10) * 0.1
        return W1, b1, W2, b2, X, y

    return Case(
        name=f"mlp_b{batch}",
        family="mlp",
        label=f"MLP 64-128-10, batch {batch}",
        primal=mlp_loss,
        wrt=(0, 1, 2, 3),
        make_args=make_args,
        numpy_primal=mlp_loss,
        numba_primal=mlp_numba_primal,
        numba_hand=mlp_numba_hand,
        numpy_hand=mlp_numpy_hand,
        quick=quick,
        params={"batch": batch},
    )


def _rosenbrock_case(n: int, quick: bool, slices: bool = False) -> Case:
    exponent = round(math.log10(n))
    form = "slices" if slices else "loop"
    return Case(
        name=f"rosenbrock_{'slices_' if slices else ''}1e{exponent}",
        family="rosenbrock_slices" if slices else "rosenbrock",
        label=f"Rosenbrock {form}, n=10^{exponent}",
        primal=rosenbrock_numpy if slices else rosenbrock,
        wrt=(0,),
        make_args=lambda: (np.linspace(-1.2, 1.2, n),),
        numpy_primal=rosenbrock_numpy,
        numba_primal=rosenbrock,
        numba_hand=rosenbrock_numba_hand,
        quick=quick,
        peer_form="the peers run the vectorized sum of rosenbrock_numpy"
        + ("" if slices else "; `jax fori_loop` runs the loop as lax.fori_loop"),
        params={"n": n},
    )


def _gmm_concat_case(d: int, K: int, n: int, quick: bool) -> Case:
    pd, pl, rep = gmm_layout(d, K)
    layout = np.concatenate((pd, pl), axis=0)

    def numpy_hand(*args):
        return gmm_numpy_hand(*args[:7], layout[:d], layout[d:], rep)

    return Case(
        name=f"gmm_concat_d{d}_K{K}_n{n // 1000}k",
        family="gmm_concat",
        label=f"GMM np.concatenate, d={d} K={K} n={n}",
        primal=gmm_concat,
        wrt=(0, 1, 2),
        make_args=lambda: gmm_args(d, K, n, layout=False) + (layout, rep),
        numpy_primal=gmm_concat,
        numba_primal=gmm_loops,
        numba_hand=gmm_numba_hand,
        numba_nargs=7,
        numpy_hand=numpy_hand,
        quick=quick,
        peer_form="the peers run gmm_concat itself (jnp/anp.concatenate, torch.cat)",
        params={"d": d, "K": K, "n": n},
    )


def _quick_only(case: Case) -> Case:
    """A small twin of a full-size case: in --quick runs only, to keep the full run short."""
    case.full = False
    return case


RNN_STEPS = 10**5
RNN_STEPS_QUICK = 1000


def _euler_case(steps: int, quick: bool) -> Case:
    return Case(
        name=f"euler_{steps}",
        family="euler",
        label=f"Euler oscillator, {steps} steps",
        primal=euler,
        wrt=(0, 1, 2, 3),
        make_args=lambda: (1.0, 0.0, 4.0, 0.3, 0.01, steps),
        numpy_primal=euler,
        numba_primal=euler,
        numba_hand=euler_numba_hand,
        quick=quick,
        peer_form="JAX runs the loop as lax.scan, PyTorch and autograd as a Python "
        "loop over scalars",
        params={"steps": steps},
    )


def all_cases(rnn_steps: int | None = None, quick: bool = False) -> list[Case]:
    """Every case; the RNN's length is `rnn_steps` (default 10^5, 1000 with `quick`)."""
    if rnn_steps is None:
        rnn_steps = RNN_STEPS_QUICK if quick else RNN_STEPS
    cases = [
        Case(
            name="circuit",
            family="scalar",
            label="(x+y)z",
            primal=circuit,
            wrt=(0, 1, 2),
            make_args=lambda: (-2.0, 5.0, -4.0),
            numpy_primal=circuit,
            numba_primal=circuit,
            numba_hand=circuit_hand,
            quick=True,
        ),
        Case(
            name="neuron",
            family="scalar",
            label="sigmoid neuron, 5 scalars",
            primal=neuron,
            wrt=(0, 1, 2, 3, 4),
            make_args=lambda: (2.0, -1.0, -3.0, -2.0, -3.0),
            numpy_primal=neuron,
            numba_primal=neuron,
            numba_hand=neuron_hand,
            quick=True,
        ),
        _norm_case(2, 3, True),
        _norm_case(100, 100, True),
        _norm_case(1000, 1000, False),
        _mlp_case(64, True),
        _mlp_case(256, False),
    ]
    for form in ("loops", "vectorized"):
        for d, K in ((2, 5), (10, 25), (20, 25)):
            for n in (1000, 10000):
                cases.append(_gmm_case(form, d, K, n, quick=(d, n) == (2, 1000)))
    cases += [
        _rosenbrock_case(10**5, True),
        _rosenbrock_case(10**6, False),
        _rosenbrock_case(10**5, True, slices=True),
        _rosenbrock_case(10**6, False, slices=True),
        _euler_case(20, True),
        _euler_case(1000, False),
        _quick_only(_gmm_concat_case(2, 5, 1000, True)),
        _gmm_concat_case(10, 25, 1000, False),
        rnn_case(rnn_steps, True),
        _quick_only(rk4_case(1000, 10, True)),
        rk4_case(10**4, 100, False),
        _quick_only(kmeans_case(1000, 10, 8, True)),
        kmeans_case(10**4, 100, 8, False),
    ]
    return cases
