"""Helpers shared by the table-driven gradient tests."""

from __future__ import annotations

import ast
import sys

import numpy as np

from ad_compiler import grad, tiering, value_and_grad


def case_ids(cases) -> list[str]:
    """Readable test ids: the function's name, numbered when it appears several times."""
    seen: dict[str, int] = {}
    ids = []
    for case in cases:
        name = case[0].__name__
        seen[name] = seen.get(name, 0) + 1
        ids.append(f"{name}-{seen[name]}")
    return ids


def copies(args) -> tuple:
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


# One GradFunction per (function, wrt, backend, kind): each gradient is built once per process.
_GRADS: dict = {}


def cached(fn, wrt, backend, with_value=False):
    key = (fn, wrt, backend, with_value)
    if key not in _GRADS:
        make = value_and_grad if with_value else grad
        _GRADS[key] = make(fn, wrt=wrt, backend=backend)
    return _GRADS[key]


def central(fn, args, pos):
    """d fn / d args[pos] by central differences with one Richardson step (error O(h^4)),
    every argument copied for every evaluation (functions may write into their arguments)."""
    x = args[pos]

    def at(index, step):
        new = list(copies(args))
        if index is None:
            new[pos] = x + step
        else:
            new[pos][index] += step
        return fn(*new)

    def one(index, scale):
        h = 1e-4 * max(1.0, scale)

        def diff(step):
            return (at(index, step) - at(index, -step)) / (2 * step)

        return (4 * diff(h / 2) - diff(h)) / 3

    if isinstance(x, np.ndarray):
        out = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            out[index] = one(index, abs(x[index]))
        return out
    return one(None, abs(x))


def check_compiled(fn, args, wrt):
    """`compiled_for`'s numba program of value_and_grad(fn) against CPython (the value),
    central differences of fn and the unoptimized NumPy program (the gradient)."""
    import pytest

    expected = fn(*args)
    g = value_and_grad(fn, wrt=wrt)
    value, got = g.compiled_for(*args)(*args)
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)
    got = got if isinstance(got, tuple) else (got,)
    plain = grad(fn, wrt=wrt, optimize=False, backend="python")(*args)
    plain = plain if isinstance(plain, tuple) else (plain,)
    for pos, analytic, literal in zip(wrt, got, plain):
        np.testing.assert_allclose(analytic, central(fn, args, pos), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(analytic, literal, rtol=1e-12, atol=1e-13)


def directional(fn, args, pos, direction):
    """d/dt fn(..., args[pos] + t * direction, ...) at t = 0, by central differences with one
    Richardson step: for large arrays, compared with <gradient, direction> (four evaluations
    instead of four per entry)."""
    x = args[pos]

    def at(t):
        new = list(copies(args))
        new[pos] = x + t * direction
        return fn(*new)

    def diff(step):
        return (at(step) - at(-step)) / (2 * step)

    h = 1e-4 * max(1.0, float(np.max(np.abs(x))))
    return (4 * diff(h / 2) - diff(h)) / 3


def unreached_statements(path: str, run) -> list[int]:
    """Lines of statements in the functions of the file at `path` that `run()` never executes
    (so a table of cases can prove it reaches both sides of every branch)."""
    executed: set[int] = set()

    def tracer(frame, event, arg):
        if frame.f_code.co_filename != path:
            return None
        if event == "line":
            executed.add(frame.f_lineno)
        return tracer

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        run()
    finally:
        sys.settrace(old)
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    expected = set()
    for definition in tree.body:
        if not isinstance(definition, ast.FunctionDef):
            continue
        for node in ast.walk(definition):
            if node is definition or not isinstance(node, ast.stmt):
                continue
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue  # docstring
            expected.add(node.lineno)
    return sorted(expected - executed)


def promoted(g, *args):
    """Call g twice on args (numba is tried on these), wait, and return the outcomes."""
    g(*args)
    # (taken before the second call: a promotion replaces the kernel in g._dispatch)
    kernels = [k for k, _ in g._dispatch.values() if isinstance(k, tiering.TieredKernel)]
    g(*args)
    return [k.wait(600) for k in kernels]
