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
    "euler": euler,
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


def build_jax(case: Case, args: tuple, loop: bool = False):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    args = peer_args(case, args)
    function = function_for(case)
    if case.family == "euler":
        steps = args[5]
        args = args[:5]
        function = _jax_euler(jax, steps)
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
        self.arange = torch.arange

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
    "torch": build_torch,
    "autograd": build_autograd,
}
