"""Numerical gradients by central differences, and checking grad against them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .typing_aliases import Wrt


def _positions(f: Callable, wrt) -> tuple[list[int], bool]:
    import inspect

    params = list(inspect.signature(f).parameters)
    single = isinstance(wrt, (int, str))
    items = [wrt] if single else list(wrt)
    return [params.index(w) if isinstance(w, str) else w for w in items], single


def numerical_grad(f: Callable[..., Any], *args: Any, wrt: Wrt = 0, eps: float = 1e-6) -> Any:
    """The gradient of f at args by central differences, (f(x + h) - f(x - h)) / 2h per entry,
    with h = `eps`: the lecture's numerical gradient, to check analytic ones against.

    `wrt` as in `grad`. Floats give floats, arrays give float64 arrays of their shape.

    >>> import numpy as np
    >>> from ad_compiler import numerical_grad
    >>> def energy(x):
    ...     return np.sum(x**3)
    >>> np.round(numerical_grad(energy, np.array([1.0, 2.0])), 6)  # 3 x**2
    array([ 3., 12.])
    """
    positions, single = _positions(f, wrt)
    grads = []
    for pos in positions:
        x = args[pos]
        if isinstance(x, np.ndarray):
            base = x.astype(np.float64)
            g = np.zeros_like(base)
            for index in np.ndindex(base.shape):
                plus, minus = base.copy(), base.copy()
                plus[index] += eps
                minus[index] -= eps
                g[index] = (_call(f, args, pos, plus) - _call(f, args, pos, minus)) / (2 * eps)
            grads.append(g)
        else:
            x = float(x)
            grads.append((_call(f, args, pos, x + eps) - _call(f, args, pos, x - eps)) / (2 * eps))
    return grads[0] if single else tuple(grads)


def _call(f: Callable, args: tuple, pos: int, value: Any) -> float:
    # Fresh copies each time: a function that writes into an argument must not change the
    # values the next evaluation sees.
    new = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    new[pos] = value
    return float(f(*new))


def check_grad(
    f: Callable[..., Any],
    *args: Any,
    wrt: Wrt = 0,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    backend: str = "numba",
) -> None:
    """Compare grad(f) with numerical_grad(f) at args; raise AssertionError naming the worst
    entry and its error when they differ by more than atol + rtol * |numerical|; return None
    when they agree. `wrt` and `backend` as in `grad`.

    >>> import numpy as np
    >>> from ad_compiler import check_grad
    >>> def energy(x):
    ...     return np.sum(x**3)
    >>> check_grad(energy, np.array([1.0, 2.0]))  # agrees: nothing to say
    >>> from ad_compiler import custom_vjp
    >>> @custom_vjp
    ... def cube(x):
    ...     return x**3
    >>> @cube.defvjp
    ... def cube_vjp(g, result, x):
    ...     return g * 3.0 * x  # a mistake: 3 x**2
    >>> def total(x):
    ...     return np.sum(cube(x))
    >>> check_grad(total, np.array([1.0, 2.0]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: gradient of total wrt x[1]: grad gives 6.0, central differences give 12.0...
    """
    from .entry_points import grad

    analytic = grad(f, wrt=wrt, backend=backend)(*args)
    numeric = numerical_grad(f, *args, wrt=wrt)
    positions, single = _positions(f, wrt)
    if single:
        analytic, numeric = (analytic,), (numeric,)
    names = list(__import__("inspect").signature(f).parameters)
    for pos, a, n in zip(positions, analytic, numeric):
        a_arr, n_arr = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
        error = np.abs(a_arr - n_arr) - (atol + rtol * np.abs(n_arr))
        if np.any(error > 0) or np.any(np.isnan(a_arr) != np.isnan(n_arr)):
            worst = (
                np.unravel_index(
                    np.nanargmax(np.where(np.isnan(error), np.inf, error)), a_arr.shape
                )
                if a_arr.ndim
                else ()
            )
            worst = tuple(int(i) for i in worst)  # plain numbers in the message
            where = f"{names[pos]}{list(worst) if worst else ''}"
            raise AssertionError(
                f"gradient of {f.__name__} wrt {where}: grad gives {float(a_arr[worst])!r}, "
                f"central differences give {float(n_arr[worst])!r} (difference "
                f"{abs(a_arr[worst] - n_arr[worst]):.3g}, "
                f"allowed {atol + rtol * abs(n_arr[worst]):.3g})"
            )
