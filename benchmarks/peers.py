"""The benchmark cases written for JAX, PyTorch and HIPS autograd.

Each `build_<tool>(case, args)` returns `(first, call, result)`: `first()` builds the gradient
function and calls it once (the first-call time: tracing and compiling for JAX), `call()` is
one more gradient call (timed per call), and `result(out)` turns `call()`'s output into a tuple
of NumPy values in the order of `case.wrt`. Inputs are converted once, outside the timing (JAX
arrays on the device, torch tensors sharing the NumPy arrays' memory).

The GMM cases, loop form included, run the vectorized formulation of `cases.gmm_vectorized`
(a loop over 10^4 points would take JAX minutes to compile and PyTorch minutes to run); the
Rosenbrock cases run the vectorized sum (and, as "jax-loop", `lax.fori_loop`); Euler runs
`lax.scan` in JAX and a Python loop over scalars in the others.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from cases import L2, Case, gmm_layout

# --------------------------------------------------------------------------------------------
# The functions, written once against a NumPy-like module `xp` (jax.numpy, autograd.numpy)


def circuit(xp, x, y, z):
    return (x + y) * z


def neuron(xp, w0, x0, w1, x1, w2):
    return 1.0 / (1.0 + xp.exp(-(w0 * x0 + w1 * x1 + w2)))


def norm_sq(xp, x, W):
    q = W @ x
    return xp.sum(q**2)


def mlp_loss(xp, W1, b1, W2, b2, X, y):
    h = xp.maximum(X @ W1 + b1, 0.0)
    z2 = h @ W2 + b2
    z2 = z2 - xp.max(z2, axis=1, keepdims=True)
    e = xp.exp(z2)
    p = e / xp.sum(e, axis=1, keepdims=True)
    n = X.shape[0]
    data = -xp.mean(xp.log(p[xp.arange(n), y]))
    return data + L2 * (xp.sum(W1 * W1) + xp.sum(W2 * W2))


def gmm(xp, alphas, means, icf, x, wishart_gamma, wishart_m, const, pd, pl, rep):
    n, d = x.shape
    K = alphas.shape[0]
    qs = icf[:, :d]
    ls = icf[:, d:]
    Q = (xp.exp(qs) @ pd + ls @ pl).reshape(K * d, d)
    Z = x @ Q.T - xp.sum(Q * (rep @ means), axis=1)
    sq = xp.sum((Z * Z).reshape(n, K, d), axis=2)
    t = alphas + xp.sum(qs, axis=1) - 0.5 * sq
    mx = xp.max(t, axis=1, keepdims=True)
    slse = xp.sum(xp.log(xp.sum(xp.exp(t - mx), axis=1))) + xp.sum(mx)
    amax = xp.max(alphas)
    lse_alphas = amax + xp.log(xp.sum(xp.exp(alphas - amax)))
    frob = xp.sum(xp.exp(2.0 * qs)) + xp.sum(ls * ls)
    prior = 0.5 * wishart_gamma * wishart_gamma * frob - wishart_m * xp.sum(qs)
    return const + slse - n * lse_alphas + prior


def gmm_concat(xp, alphas, means, icf, x, wishart_gamma, wishart_m, const, layout, rep):
    n, d = x.shape
    K = alphas.shape[0]
    qs = icf[:, :d]
    Qp = xp.concatenate((xp.exp(qs), icf[:, d:]), axis=1)
    Q = (Qp @ layout).reshape(K * d, d)
    Z = x @ Q.T - xp.sum(Q * (rep @ means), axis=1)
    t = alphas + xp.sum(qs, axis=1) - 0.5 * xp.sum((Z * Z).reshape(n, K, d), axis=2)
    mx = xp.max(t, axis=1, keepdims=True)
    slse = xp.sum(xp.log(xp.sum(xp.exp(t - mx), axis=1))) + xp.sum(mx)
    amax = xp.max(alphas)
    lse_alphas = amax + xp.log(xp.sum(xp.exp(alphas - amax)))
    prior = 0.5 * wishart_gamma * wishart_gamma * xp.sum(Qp * Qp) - wishart_m * xp.sum(qs)
    return const + slse - n * lse_alphas + prior


def rnn_loss(xp, W, U, b, xs, h0):
    h = h0
    total = 0.0
    for t in range(xs.shape[0]):
        h = xp.tanh(W @ h + U @ xs[t] + b)
        total = total + xp.sum(h * h)
    return total


def rk4_step(x, v, k, c, a, dt):
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
    return x, v


def rk4_loss(xp, x, v, k, c, a, dt, steps):
    for _ in range(steps):
        x, v = rk4_step(x, v, k, c, a, dt)
    return xp.sum(x * x + v * v)


def kmeans_loss(xp, C, X):
    D = xp.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=-1)
    return xp.sum(xp.min(D, axis=1))


def rosenbrock(xp, x):
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def euler(xp, x, v, k, c, dt, n):
    for _ in range(n):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    return x * x + v * v


FUNCTIONS = {
    "scalar": None,
    "norm": norm_sq,
    "mlp": mlp_loss,
    "gmm_loops": gmm,
    "gmm_vectorized": gmm,
    "rosenbrock": rosenbrock,
    "rosenbrock_slices": rosenbrock,
    "euler": euler,
    "gmm_concat": gmm_concat,
    "rnn": rnn_loss,
    "rk4": rk4_loss,
    "kmeans": kmeans_loss,
}


def function_for(case: Case) -> Callable:
    if case.family == "scalar":
        return circuit if case.name == "circuit" else neuron
    return FUNCTIONS[case.family]


def peer_args(case: Case, args: tuple) -> tuple:
    """The loop-form GMM cases take the vectorized form's layout matrices too."""
    if case.family == "gmm_loops":
        return args + gmm_layout(case.params["d"], case.params["K"])
    return args


def _numpy(value) -> np.ndarray | float:
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else value


# --------------------------------------------------------------------------------------------
# JAX


def build_jax(case: Case, args: tuple, loop: bool = False, checkpoint: bool = False):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    args = peer_args(case, args)
    function = function_for(case)
    if case.family == "euler":
        steps = args[5]
        args = args[:5]
        function = _jax_euler(jax, steps)
    elif case.family == "rnn":
        function = _jax_rnn(jax, checkpoint)
    elif case.family == "rk4":
        steps = args[6]
        args = args[:6]
        function = _jax_rk4(jax, steps)
    elif loop:
        function = _jax_rosenbrock_loop(jax)
    else:
        function = _with_xp(function, jnp)
    device = tuple(
        jnp.asarray(a) if i in case.wrt or isinstance(a, np.ndarray) else a
        for i, a in enumerate(args)
    )
    holder = {}

    def first():
        holder["g"] = jax.jit(jax.grad(function, argnums=case.wrt))
        return jax.block_until_ready(holder["g"](*device))

    def call():
        return jax.block_until_ready(holder["g"](*device))

    return first, call, lambda out: tuple(_numpy(g) for g in out)


def _with_xp(function: Callable, xp) -> Callable:
    def bound(*args):
        return function(xp, *args)

    return bound


def _jax_euler(jax, steps: int) -> Callable:
    def step(carry, _):
        x, v, k, c, dt = carry
        a = -k * x - c * v
        return (x + dt * v, v + dt * a, k, c, dt), None

    def loss(x, v, k, c, dt):
        (x, v, *_), _ = jax.lax.scan(step, (x, v, k, c, dt), None, length=steps)
        return x * x + v * v

    return loss


def _jax_rnn(jax, checkpoint: bool) -> Callable:
    """lax.scan over the steps; with `checkpoint`, a scan over segments of about sqrt(n) steps,
    each a jax.checkpoint'ed scan: only the segments' first states are kept for the reverse
    sweep, which recomputes one segment at a time."""
    import jax.numpy as jnp

    def run(W, U, b, xs, h0):
        def step(h, x):
            h = jnp.tanh(W @ h + U @ x + b)
            return h, jnp.sum(h * h)

        def segment(h, xseg):
            h, sums = jax.lax.scan(step, h, xseg)
            return h, jnp.sum(sums)

        n = xs.shape[0]
        if not checkpoint:
            return jnp.sum(segment(h0, xs)[1])
        length = _segment_length(n)
        chunks = xs.reshape(n // length, length, xs.shape[1])
        _, sums = jax.lax.scan(jax.checkpoint(segment), h0, chunks)
        return jnp.sum(sums)

    return run


def _segment_length(n: int) -> int:
    """The divisor of n nearest sqrt(n)."""
    divisors = [k for k in range(1, n + 1) if n % k == 0 and k * k <= 4 * n]
    return min(divisors, key=lambda k: abs(k * k - n))


def _jax_rk4(jax, steps: int) -> Callable:
    import jax.numpy as jnp

    def loss(x, v, k, c, a, dt):
        def body(_, state):
            return rk4_step(*state, k, c, a, dt)

        x, v = jax.lax.fori_loop(0, steps, body, (x, v))
        return jnp.sum(x * x + v * v)

    return loss


def _jax_rosenbrock_loop(jax) -> Callable:
    def loss(x):
        def body(i, s):
            return s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2

        return jax.lax.fori_loop(0, x.shape[0] - 1, body, 0.0)

    return loss


# --------------------------------------------------------------------------------------------
# PyTorch


class _TorchOps:
    """The few NumPy names the shared functions use, on torch tensors."""

    def __init__(self, torch) -> None:
        self.torch = torch
        self.exp = torch.exp
        self.log = torch.log
        self.tanh = torch.tanh
        self.arange = torch.arange

    def concatenate(self, arrays, axis=0):
        return self.torch.cat(arrays, dim=axis)

    def min(self, a, axis=None):
        return a.min() if axis is None else a.amin(dim=axis)

    def sum(self, a, axis=None, keepdims=False):
        return a.sum() if axis is None else a.sum(dim=axis, keepdim=keepdims)

    def mean(self, a):
        return a.mean()

    def max(self, a, axis=None, keepdims=False):
        return a.max() if axis is None else a.amax(dim=axis, keepdim=keepdims)

    def maximum(self, a, b):
        return self.torch.clamp(a, min=b)


def build_torch(case: Case, args: tuple):
    import torch

    torch.set_num_threads(1)
    args = peer_args(case, args)
    ops = _TorchOps(torch)
    function = function_for(case)
    converted = []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray):
            a = torch.from_numpy(a)
        elif isinstance(a, float) and (i in case.wrt or case.family == "scalar"):
            a = torch.tensor(a, dtype=torch.float64)
        if i in case.wrt:
            a.requires_grad_(True)
        converted.append(a)
    if case.family == "mlp":  # torch indexes with its own integer tensors
        converted[5] = converted[5].long()
    inputs = [converted[i] for i in case.wrt]

    def call():
        return torch.autograd.grad(function(ops, *converted), inputs)

    return call, call, lambda out: tuple(_numpy(g.detach().numpy()) for g in out)


# --------------------------------------------------------------------------------------------
# HIPS autograd


def build_autograd(case: Case, args: tuple):
    import autograd
    import autograd.numpy as anp

    args = peer_args(case, args)
    function = _with_xp(function_for(case), anp)
    holder = {}

    def first():
        holder["g"] = autograd.grad(function, argnum=case.wrt)
        return holder["g"](*args)

    def call():
        return holder["g"](*args)

    return first, call, lambda out: tuple(_numpy(g) for g in out)


BUILDERS = {
    "jax": build_jax,
    "jax-loop": lambda case, args: build_jax(case, args, loop=True),
    "jax-ckpt": lambda case, args: build_jax(case, args, checkpoint=True),
    "torch": build_torch,
    "autograd": build_autograd,
}
