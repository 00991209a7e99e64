"""Functions whose gradients tests/test_issue16_*.py pickle and send to other processes.

Module level, so the standard pickle finds them by name in a spawn-started worker (which
imports this module); the decorated ones are the trap where the name holds the gradient.
"""

import numpy as np

from ad_compiler import custom_vjp, grad, hessian, program_source, value_and_grad

SCALE = 2.0  # a module-level number: read at each call (a hidden parameter of the program)


def least_squares(w, X, y):
    """A loss that is a sum over the rows of the data: straight-line array code."""
    r = X @ w - y
    return 0.5 * np.sum(r * r)


def logistic_loop(w, X, y):
    """A sum over rows written as a loop (y in {-1, 1}): compiled by numba."""
    total = 0.0
    for i in range(X.shape[0]):
        z = 0.0
        for j in range(X.shape[1]):
            z += X[i, j] * w[j]
        total += np.log(1.0 + np.exp(-y[i] * z))
    return total


def scalar(x, y):
    return SCALE * x * x * y + np.sin(x * y)


def with_aux(x):
    """Returns (value, aux): grad(..., has_aux=True) gives (gradient, aux)."""
    return np.sum(x * x * x), np.max(x)


def dict_loss(params, X, y):
    """A structured argument: its gradient comes back as a dict."""
    r = X @ params["w"] + params["b"] - y
    return np.sum(r * r)


def cubic_sum(x):
    return np.sum(x * x * x) + x[0] * x[1]


def vector_out(x, a):
    """An array-valued function (for vjp, jvp and jacobian)."""
    return np.sin(x) * a + x * x[0]


class Model:
    """A bound method's gradient: `self` is a constant object whose attributes are read."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def loss(self, w):
        r = self.X @ w - self.y
        return np.sum(r * r)


@custom_vjp
def softplus(x):
    return np.log1p(np.exp(x))


@softplus.defvjp
def softplus_vjp(g, result, x):
    return g / (1.0 + np.exp(-x))


def with_custom(x):
    return np.sum(softplus(x) * x)


# The traps: at these names the module holds the transform, not the function.
@grad
def decorated(x, y):
    return x * x * y + np.cos(x)


@value_and_grad(wrt=(0, 1))
def decorated_both(x, y):
    return np.sum(x * x) * y


@hessian
def decorated_hessian(x):
    return np.sum(x * x * x)


def undecorated(name):
    """The function a decorated transform wraps (for checks by central differences)."""
    return globals()[name].__wrapped__


def call(g, *args, **kwargs):
    """A task for a pool: the pickled transform called in the worker."""
    return g(*args, **kwargs)


def first_call(g, *args):
    """A task for a pool: call g the first time in this worker; what it cost. Counts the
    gradient programs generated (SymPy and codegen) and numba's cache hits and misses."""
    built = []
    build_source = program_source.build_source

    def counting(*a, **k):
        built.append(a[0].name)
        return build_source(*a, **k)

    program_source.build_source = counting
    try:
        result = g(*args)
    finally:
        program_source.build_source = build_source
    hits = misses = 0
    for function, _ in g._builds.values():
        stats = getattr(function, "stats", None)
        if stats is not None:
            hits += sum(stats.cache_hits.values())
            misses += sum(stats.cache_misses.values())
    return result, len(built), hits, misses
