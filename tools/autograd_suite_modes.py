"""Forward mode and second order for the autograd suite check (`--modes`).

autograd's tests call `check_grads(fun, modes=["fwd", "rev"], order=2)`: its authors check
forward mode and second derivatives of every function. For each check the gradient check
judges, this module judges, on the same function, arguments and random cotangent:

- jvp: `ad_compiler.jvp(f)(*args, tangent=v)` along a random direction v: the value against
  CPython's run, the tangent against autograd's forward mode (its reverse mode, J v row by
  row, where forward mode is not defined) and central differences of the original along v.
  f is the function itself, returning its array; a function returning a tuple or list is
  taken as the cotangent-weighted sum the gradient check differentiates.
- vjp (array outputs): `ad_compiler.vjp(f)(*args, cotangent=c)` against autograd's gradient of
  `sum(f * c)` and central differences of it (the gradient check's own oracles).
- hvp: `ad_compiler.hvp(g)(*args, vector=v)`, g the scalar function the gradient check
  differentiates (f, or `sum(f * c)` for arrays: autograd's second-order check of its vjp),
  against autograd's Hessian-vector product (reverse over reverse) and central differences of
  autograd's gradient along v.

Outcomes as in autograd_suite_check: right, unsure (the oracles disagree, ad_compiler matches
one), refused, wrong, crash; each record carries `check` (the mode).
"""

from __future__ import annotations

import traceback

import numpy as np

import ad_compiler
from ad_compiler.errors import ADCompilerError

MODES = ("grad", "jvp", "vjp", "hvp")


def parse_modes(text: str) -> tuple[str, ...]:
    modes = tuple(m.strip() for m in (text or "grad").split(",") if m.strip())
    if modes == ("all",):
        return MODES
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown modes {unknown}; choose among {MODES} or 'all'")
    return modes


class Context:
    """What the gradient check has already worked out for one checked call."""

    def __init__(self, suite, **fields) -> None:
        self.suite = suite  # autograd_suite_check: its copy/compare helpers
        self.__dict__.update(fields)


def records(ctx, backend: str) -> list[dict]:
    out = []
    for mode in ctx.modes:
        if mode == "grad":
            continue
        try:
            result = _MODES[mode](ctx, backend)
        except Exception:
            result = {"outcome": "shim-error", "reason": traceback.format_exc(limit=6)}
        if result is not None:
            out.append({**ctx.common, **result, "check": mode, "backend": backend})
    return out


# -- directions and oracles -----------------------------------------------------------------


def _direction(ctx) -> tuple[list, list]:
    """A random direction per differentiated leaf: (float64 for the oracles, the leaves' own
    precision for ad_compiler), the same numbers in both."""
    if getattr(ctx, "_v", None) is None:
        ours, exact = [], []
        for p in ctx.flat_argnums:
            leaf = ctx.flat.flat_args[p]
            v = ctx.rng.standard_normal(np.shape(leaf))
            if isinstance(leaf, np.ndarray):
                v = v.astype(leaf.dtype)
            elif isinstance(leaf, np.floating):
                v = type(leaf)(v)
            else:
                v = float(v)
            ours.append(v)
            exact.append(np.asarray(v, dtype=np.float64) if np.ndim(v) else float(v))
        ctx._v = (exact, ours)
    return ctx._v


def _structured(ctx, flat_values: list) -> tuple:
    """Per differentiated argument, in ad_compiler's wrt order, the flat leaves rebuilt."""
    items = iter(flat_values)
    out = []
    for i in ctx.argnums:
        start, end = ctx.flat.spans[i]
        chunk = [next(items) for _ in range(start, end)]
        arg = ctx.flat.args[i]
        out.append(
            ctx.suite.rebuild(arg, iter(chunk))
            if isinstance(arg, (list, tuple, dict))
            else chunk[0]
        )
    return tuple(out)


def _along(ctx, fn, v):
    """t -> fn at the oracle arguments moved by t * v (v per differentiated leaf)."""
    suite, args = ctx.suite, ctx.oracle_args

    def moved(t):
        new = list(suite._copies(args))
        for p, d in zip(ctx.flat_argnums, v):
            new[p] = new[p] + t * d
        return fn(*new)

    return moved


def _line_central(g, h=1e-4, richardson=True):
    def diff(step):
        return (np.asarray(g(step), dtype=float) - np.asarray(g(-step), dtype=float)) / (2 * step)

    if not richardson:
        return diff(h)
    return (4 * diff(h / 2) - diff(h)) / 3


def _step(ctx, v) -> float:
    """Central differences' step along v: relative to the size of the arguments."""
    scale = max(
        [1.0] + [float(np.max(np.abs(ctx.oracle_args[p]), initial=0.0)) for p in ctx.flat_argnums]
    )
    size = max([1e-300] + [float(np.max(np.abs(d), initial=0.0)) for d in v])
    return 1e-4 * scale / size


def _attempt(fn):
    """fn's result, or the error it raises as text (an oracle that cannot judge).
    (The whole check runs inside autograd_suite_check.quiet(): nothing here is recorded.)"""
    try:
        return fn()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]


def _jumps_along(g, h=1e-7) -> bool:
    """Whether g jumps at 0: central differences grow like 1/step."""
    coarse = np.abs(_line_central(g, h, richardson=False))
    fine = np.abs(_line_central(g, h / 100, richardson=False))
    return bool(np.any((coarse > 1e3) & (fine > 50 * coarse) & (fine < 200 * coarse)))


# -- the modes ------------------------------------------------------------------------------


def _jvp(ctx, backend: str) -> dict | None:
    import autograd
    from autograd.differential_operators import make_jvp

    exact_v, ours_v = _direction(ctx)
    g = _along(ctx, ctx.raw_flat, exact_v)
    forward = _attempt(lambda: np.asarray(make_jvp(g)(0.0)(1.0)[1], dtype=float))
    exact, exact_name = forward, "autograd's forward mode"
    if isinstance(forward, str):  # no forward rule in autograd: J v by its reverse mode
        exact = _attempt(lambda: np.asarray(autograd.jacobian(g)(0.0), dtype=float))
        exact_name = f"autograd's reverse mode (forward mode: {forward[:120]})"
    h = _step(ctx, exact_v)
    numeric = _attempt(lambda: _line_central(g, h))
    if isinstance(exact, str) and isinstance(numeric, str):
        return {"outcome": "skipped", "reason": "neither autograd nor central differences give J v"}
    function, values, wrt = ctx.jvp_target
    given = ctx.suite._copies(values)
    tangent = _structured(ctx, ours_v)
    try:
        got_value, got = ad_compiler.jvp(function, wrt=wrt, backend=backend)(
            *given, tangent=tangent
        )
    except Exception as exc:
        return _failure(exc)
    extra = {
        "tangent": [ctx.suite._code(d) for d in ours_v],
        "jvp_source": ctx.jvp_shown,
        "exact_oracle": "reverse" if isinstance(forward, str) else "forward",
    }
    if _modified(values, given):
        return {"outcome": "wrong", "reason": "modified the caller's array", **extra}
    if not ctx.suite._close(got_value, ctx.raw_value, ctx.tolerances[0]):
        return {
            "outcome": "wrong",
            "reason": "jvp's value differs from CPython's",
            "value": np.asarray(ctx.raw_value).tolist(),
            "got_value": np.asarray(got_value).tolist(),
            **extra,
        }
    exact, numeric = _one(exact), _one(numeric)
    result = _judge(ctx, [got], exact, numeric, exact_name, lambda: _jumps_along(g))
    return {**result, **extra}


def _vjp(ctx, backend: str) -> dict | None:
    if ctx.out_kind != "array":
        return None  # a float output: vjp is the gradient; a tuple: ad_compiler takes arrays
    if isinstance(ctx.autograd_grads, str) and isinstance(ctx.central_grads, str):
        return {"outcome": "skipped", "reason": "no oracle gradient"}
    function, values, wrt = ctx.jvp_target
    given = ctx.suite._copies(values)
    try:
        got = ad_compiler.vjp(function, wrt=wrt, backend=backend)(*given, cotangent=ctx.cotangent)
    except Exception as exc:
        return _failure(exc)
    extra = {"vjp_source": ctx.jvp_shown}
    if _modified(values, given):
        return {"outcome": "wrong", "reason": "modified the caller's array", **extra}
    got = [np.asarray(x, dtype=float) for x in ctx.suite.Flattened.gradients(got)]
    args = (ctx.flat_original, ctx.oracle_args, ctx.flat_argnums)
    result = _judge(
        ctx, got, ctx.autograd_grads, ctx.central_grads, "autograd", lambda: ctx.suite._jumps(*args)
    )
    return {**result, **extra}


def _hvp(ctx, backend: str) -> dict | None:
    from autograd.differential_operators import grad

    exact_v, ours_v = _direction(ctx)
    argnums = tuple(ctx.flat_argnums)

    def gradient(*xs):
        return [np.asarray(x, dtype=float) for x in grad(ctx.flat_original, argnums)(*xs)]

    def inner(*xs):  # <autograd's gradient, v>: its gradient is autograd's H v
        gs = grad(ctx.flat_original, argnums)(*xs)
        return sum(np.sum(gi * vi) for gi, vi in zip(gs, exact_v))

    exact = _attempt(
        lambda: [np.asarray(x, dtype=float) for x in grad(inner, argnums)(*ctx.oracle_args)]
    )
    g = _along(ctx, gradient, exact_v)
    h = _step(ctx, exact_v)
    numeric = _attempt(lambda: _split(_line_central(lambda t: _joined(g(t)), h), exact_v))
    if isinstance(exact, str) and isinstance(numeric, str):
        return {"outcome": "skipped", "reason": "no autograd gradient to differentiate"}
    function, values, wrt = ctx.grad_target
    given = ctx.suite._copies(values)
    try:
        got = ad_compiler.hvp(function, wrt=wrt, backend=backend)(
            *given, vector=_structured(ctx, ours_v)
        )
    except Exception as exc:
        return _failure(exc)
    extra = {"vector": [ctx.suite._code(d) for d in ours_v]}
    if _modified(values, given):
        return {"outcome": "wrong", "reason": "modified the caller's array", **extra}
    got = [np.asarray(x, dtype=float) for x in ctx.suite.Flattened.gradients(got)]
    jumps = lambda: _jumps_along(lambda t: _joined(g(t)))  # noqa: E731
    result = _judge(ctx, got, exact, numeric, "autograd's hvp", jumps)
    return {**result, **extra}


def _joined(parts) -> np.ndarray:
    return np.concatenate([np.ravel(p) for p in parts])


def _split(flat: np.ndarray, like: list) -> list:
    out, start = [], 0
    for v in like:
        size = int(np.size(v))
        out.append(flat[start : start + size].reshape(np.shape(v)))
        start += size
    return out


_MODES = {"jvp": _jvp, "vjp": _vjp, "hvp": _hvp}


# -- judging --------------------------------------------------------------------------------


def _failure(exc: Exception) -> dict:
    if isinstance(exc, ADCompilerError):
        return {"outcome": "refused", "reason": f"{type(exc).__name__}: {exc}"}
    return {
        "outcome": "crash",
        "reason": f"{type(exc).__name__}: {exc}",
        "traceback": traceback.format_exc(limit=-4),
    }


def _modified(values, given) -> bool:
    return any(
        isinstance(old, np.ndarray) and not np.array_equal(old, new, equal_nan=True)
        for old, new in zip(values, given)
    )


def _listed(x):
    return x if isinstance(x, str) else [np.asarray(g).tolist() for g in x]


def _one(x):
    return x if isinstance(x, str) else [x]


def _judge(ctx, got, exact, numeric, exact_name, jumps) -> dict:
    """As the gradient check judges: right when ad_compiler matches both oracles, or matches
    autograd's zero where `jumps()` finds a step function at its step."""
    close = ctx.suite._all_close
    _, exact_tol, central_tol = ctx.tolerances
    got = [np.asarray(x, dtype=float) for x in got]
    detail = {"got": _listed(got), "autograd": _listed(exact), "central": _listed(numeric)}
    reference = exact if isinstance(numeric, str) else numeric
    if [np.shape(x) for x in got] != [np.shape(x) for x in reference]:
        reason = f"shapes {[np.shape(x) for x in got]}, want {[np.shape(x) for x in reference]}"
        return {"outcome": "wrong", "reason": reason, **detail}
    for failed, other, tol, name in (
        (numeric, exact, exact_tol, "central differences"),
        (exact, numeric, central_tol, exact_name),
    ):
        if isinstance(failed, str):
            if close(got, other, tol):
                return {"outcome": "right", "reason": f"{name} failed: {failed[:200]}"}
            return {"outcome": "wrong", "reason": f"differs ({name} failed)", **detail}
    by_exact = close(got, exact, exact_tol)
    by_numeric = close(got, numeric, central_tol)
    agree = close(exact, numeric, central_tol)
    if by_exact and by_numeric:
        return {"outcome": "right", "reason": ""}
    if not agree and by_exact and _attempt(jumps) is True:
        return {"outcome": "right", "reason": f"at a jump: {exact_name}'s zero"}
    if not agree and (by_exact or by_numeric):
        which = exact_name if by_exact else "central differences"
        return {"outcome": "unsure", "reason": f"oracles disagree; matches {which}", **detail}
    if agree:
        reason = f"differs from {exact_name} and central differences"
    else:
        reason = "differs from both (they also disagree)"
    return {"outcome": "wrong", "reason": reason, **detail}
