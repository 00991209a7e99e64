"""Forward mode and Hessian-vector products of Google Tangent's test functions, on the
functions and arguments Tangent's own forward-mode and second-order tests use.

- jvp: tests/test_forward_mode.py differentiates, with respect to its first argument `a`, every
  function of functions.py (outside conftest's blacklist) whose parameters are exactly (a),
  (a, b), (a, b, c) or (a, n), over conftest's values. Here ad_compiler's
  `jvp(f, wrt=0)(*args, tangent=v)` is checked along a random direction v: its value against
  CPython running f, its J v against central differences of the original f along v (float64,
  Richardson) and against autograd's forward mode (`make_jvp`, or reverse over reverse where a
  primitive has no forward rule) running the same code.
- hvp: tests/test_hessian_vector_products.py checks the HVP of its own f_straightline and
  f_calltree at a 300-vector a along v = a; test_reverse_over_reverse.py checks grad(grad(f))
  of the (a), (a, b), (a, b, c) functions with respect to a. Here `hvp(f, wrt=0)(*args,
  vector=v)` is checked at those points (along v = a and a random v for the first two, a random
  v for the others) against central differences of autograd's gradient along v, or nested
  central differences of f where autograd cannot run it (looser tolerance), and against
  autograd's hessian_vector_product.
- grad2: ad_compiler's `grad(grad(f))` on test_reverse_over_reverse.py's functions and points,
  judged as hvp along v = 1.

`every=True` takes every function with Tangent's arguments instead (the grad mode's set) and
every float argument (a tuple `wrt`, a tuple of directions; grad2: the first one). Outcomes as in
tangent_suite_check: right / refused (ADCompilerError) / wrong / crash / skipped.
"""

from __future__ import annotations

import ast
import types
import warnings
import zlib
from pathlib import Path

import numpy as np
import tangent_suite_check as suite

import ad_compiler

MODES = ("jvp", "hvp", "grad2")
FORWARD_SIGNATURES = {("a",), ("a", "b"), ("a", "b", "c"), ("a", "n")}
SECOND_SIGNATURES = {("a",), ("a", "b"), ("a", "b", "c")}
HVP_FUNCTIONS = ("f_straightline", "f_calltree")  # and their helper, cube
NESTED_TOL = (1e-3, 1e-5)  # central differences of central differences


# -- test_hessian_vector_products.py's own functions -----------------------------------------


def load_hvp_functions(checkout: Path) -> list:
    """f_straightline and f_calltree (and cube) of Tangent's HVP test, compiled from that file
    (so inspect and ad_compiler read their source there), with NumPy as `np`."""
    path = Path(checkout) / "tests" / "test_hessian_vector_products.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: give a checkout of google/tangent")
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    wanted = {*HVP_FUNCTIONS, "cube"}
    tree.body = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    module = types.ModuleType("tangent_suite_hvp")
    module.__file__ = str(path)
    module.np = np
    exec(compile(tree, str(path), "exec"), module.__dict__)  # noqa: S102  (Tangent's test file)
    return [module.__dict__[name] for name in HVP_FUNCTIONS]


# -- which functions, points and directions --------------------------------------------------


def _signature(fn) -> tuple:
    code = fn.__code__
    return code.co_varnames[: code.co_argcount]


def plan(fn, mode: str, short: bool, every: bool):
    """(argument lists, wrt) Tangent's tests of this mode use, or a reason to skip."""
    if suite.uses_tensorflow(fn):
        return "TensorFlow (Tangent's tfe tests)"
    if fn.__name__ in HVP_FUNCTIONS:
        if mode != "hvp" and not every:
            return f"not in Tangent's {'forward-mode' if mode == 'jvp' else 'second-order'} tests"
        if mode == "grad2":
            return "grad(grad(f)) takes a float argument"
        rng = np.random.default_rng(0)
        return [(rng.standard_normal(300),)], (0,)
    if not every:
        if fn.__name__ in suite.BLACKLISTED:
            return "on the blacklist of Tangent's conftest.py"
        allowed = FORWARD_SIGNATURES if mode == "jvp" else SECOND_SIGNATURES
        if _signature(fn) not in allowed:
            return f"not in Tangent's {'forward-mode' if mode == 'jvp' else 'second-order'} tests"
    lists = suite.argument_lists(fn, short)
    if lists is None:
        return "no argument list in Tangent's tests"
    wrt = (0,) if not every else suite.float_positions(lists[0])
    if not wrt or any(not suite._is_float(lists[0][p]) for p in wrt):
        return "no float argument"
    if mode == "grad2":  # grad(grad(f, wrt=i), wrt=i) takes one float argument
        wrt = wrt[:1]
    if mode == "grad2" and any(np.ndim(lists[0][p]) for p in wrt):
        return "grad(grad(f)) takes a float argument"
    return lists, wrt


def directions(fn, mode, args, wrt, rng) -> list[tuple]:
    """One random direction (per wrt argument, its structure); for the HVP test's functions
    also Tangent's own v = a; grad2 differentiates along 1.0."""
    if mode == "grad2":
        return [tuple(1.0 for _ in wrt)]
    random = tuple(
        suite.rebuild(args[p], rng.standard_normal(suite.flat(args[p]).size)) for p in wrt
    )
    if fn.__name__ in HVP_FUNCTIONS:
        return [tuple(suite.copies(tuple(args[p] for p in wrt))), random]
    return [random]


# -- oracles ---------------------------------------------------------------------------------


def _moved(args, wrt, v, s) -> list:
    new = list(suite.copies(args))
    for p, d in zip(wrt, v):
        new[p] = suite.rebuild(args[p], suite.flat(args[p]) + s * suite.flat(d))
    return new


def along(g, args, wrt, v, h=1e-4, richardson=True) -> np.ndarray:
    """Central differences of flat(g(*args)) along v (every wrt argument moved at once)."""
    size = max(1.0, max(float(np.max(np.abs(suite.flat(args[p])), initial=0.0)) for p in wrt))
    norm = max(float(np.max(np.abs(suite.flat(d)), initial=0.0)) for d in v) or 1.0
    step = h * size / norm

    def diff(s):
        ahead = suite.flat(g(*_moved(args, wrt, v, s)))
        behind = suite.flat(g(*_moved(args, wrt, v, -s)))
        return (ahead - behind) / (2 * s)

    return (4 * diff(step / 2) - diff(step)) / 3 if richardson else diff(step)


def autograd_jvp(fn, args, wrt, v):
    """autograd's forward mode (reverse over reverse if a primitive lacks a forward rule)."""
    import autograd
    from autograd.differential_operators import make_jvp_reversemode

    argnum = wrt[0] if len(wrt) == 1 else tuple(wrt)
    vec = v[0] if len(wrt) == 1 else tuple(v)
    errors = []
    for make in (autograd.make_jvp, make_jvp_reversemode):
        try:
            with suite._autograd_numpy(fn):
                return suite.flat(make(fn, argnum)(*suite.copies(args))(vec)[1])
        except Exception as exc:  # in-place writes, containers, missing rules
            errors.append(f"{type(exc).__name__}: {exc}")
    return "; ".join(errors)


def autograd_grad_flat(fn, args, wrt) -> np.ndarray:
    grads = suite.autograd_gradient(fn, args, wrt)
    if isinstance(grads, str):
        raise RuntimeError(grads)
    return np.concatenate(grads)


def autograd_hvp(fn, args, wrt, v):
    from autograd import hessian_vector_product

    argnum = wrt[0] if len(wrt) == 1 else tuple(wrt)
    vec = v[0] if len(wrt) == 1 else tuple(v)
    try:
        with suite._autograd_numpy(fn):
            product = hessian_vector_product(lambda *xs: suite.total_box(fn(*xs)), argnum)(
                *suite.copies(args), vec
            )
        return suite.flat(product)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def hvp_numeric(fn, args, wrt, v):
    """(central differences of autograd's gradient along v, tolerance), or nested central
    differences of f where autograd cannot take the gradient."""
    try:
        autograd_grad_flat(fn, args, wrt)

        def gradient(*xs):
            return autograd_grad_flat(fn, xs, wrt)

        return along(gradient, args, wrt, v), suite.CENTRAL_TOL
    except RuntimeError:

        def gradient(*xs):
            return np.concatenate([suite.central(fn, xs, p) for p in wrt])

        return along(gradient, args, wrt, v, h=1e-3), NESTED_TOL


# -- one point -------------------------------------------------------------------------------


def _cpython(fn, args):
    try:
        return fn(*suite.copies(args)), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _judge(got, numeric, exact, tol, rough, detail) -> dict:
    """Right when got equals autograd's exact result, or (autograd unavailable) the numeric
    one; at a kink (two step sizes disagree) without autograd, numeric cannot tell."""
    detail = {**detail, "got": got, "central": numeric, "autograd": exact}
    if got.shape != numeric.shape:
        return {"outcome": "wrong", "reason": "derivative shape differs", **detail}
    if isinstance(exact, str):
        if suite._close(got, numeric, tol):
            return {"outcome": "right", "reason": ""}
        if not suite._close(rough(), numeric, tol):
            return {"outcome": "right", "reason": "kink; autograd unavailable", **detail}
        return {"outcome": "wrong", "reason": "differs from central differences", **detail}
    if suite._close(got, exact, suite.EXACT_TOL):
        return {"outcome": "right", "reason": ""}
    if suite._close(exact, numeric, tol):
        reason = "differs from autograd and central differences"
    else:
        reason = "differs from autograd (central differences disagree too)"
    return {"outcome": "wrong", "reason": reason, **detail}


def check_point(fn, mode, transform, args, wrt, v) -> dict:
    expected, raised = _cpython(fn, args)
    given = suite.copies(args)
    keyword = {"jvp": "tangent", "hvp": "vector"}.get(mode)
    try:
        if keyword is None:  # grad2: d/da of df/da, times v = 1
            got = transform(*given)
        else:
            got = transform(*given, **{keyword: v[0] if len(wrt) == 1 else tuple(v)})
    except Exception as exc:
        return suite._failure(exc)
    for old, new in zip(args, given):
        if suite._is_float(old) and not np.array_equal(
            suite.flat(old), suite.flat(new), equal_nan=True
        ):
            return {"outcome": "wrong", "reason": "modified the caller's argument"}
    if raised is not None:
        return {"outcome": "wrong", "reason": f"CPython raises {raised}; ad_compiler gave a value"}
    detail = {"direction": v}
    if mode == "jvp":
        got_value, got = got
        value, got_value = suite.flat(expected), suite.flat(got_value)
        detail.update(value=value, got_value=got_value)
        if not suite._close(got_value, value, suite.VALUE_TOL):
            return {"outcome": "wrong", "reason": "value differs from CPython", **detail}
        numeric, tol = along(fn, args, wrt, v), suite.CENTRAL_TOL
        exact = autograd_jvp(fn, args, wrt, v)

        def rough():
            return along(fn, args, wrt, v, h=1e-7, richardson=False)

    else:
        numeric, tol = hvp_numeric(fn, args, wrt, v)
        exact = autograd_hvp(fn, args, wrt, v)

        def rough():
            return hvp_numeric_rough(fn, args, wrt, v)

    return _judge(suite.flat(got), numeric, exact, tol, rough, detail)


def hvp_numeric_rough(fn, args, wrt, v):
    """The same with other step sizes (the kink test)."""

    def gradient(*xs):
        return np.concatenate([suite.central(fn, xs, p, h=1e-6, richardson=False) for p in wrt])

    return along(gradient, args, wrt, v, h=1e-5, richardson=False)


# -- one function ----------------------------------------------------------------------------


def transform_for(fn, mode, wrt, backend):
    w = wrt[0] if len(wrt) == 1 else tuple(wrt)
    if mode == "jvp":
        return ad_compiler.jvp(fn, wrt=w, backend=backend)
    if mode == "hvp":
        return ad_compiler.hvp(fn, wrt=w, backend=backend)
    inner = ad_compiler.grad(fn, wrt=w, backend=backend)
    return ad_compiler.grad(inner, wrt=w, backend=backend)


def check_function(fn, mode: str, backend: str, short: bool, every: bool = False) -> dict:
    """The outcome of one function in one mode on one backend, worst over its points."""
    base = {
        "function": fn.__name__,
        "backend": backend,
        "mode": mode,
        "blacklisted": fn.__name__ in suite.BLACKLISTED,
    }
    planned = plan(fn, mode, short, every)
    if isinstance(planned, str):
        return {**base, "outcome": "skipped", "reason": planned}
    lists, wrt = planned
    base.update(wrt=list(wrt), points=len(lists))
    try:
        transform = transform_for(fn, mode, wrt, backend)
    except Exception as exc:
        return {**base, **suite._failure(exc), "args": lists[0]}
    rng = np.random.default_rng(zlib.crc32(f"{mode}:{fn.__name__}".encode()))
    worst = {"outcome": "right", "reason": ""}
    counts = dict.fromkeys(suite.OUTCOMES, 0)
    for args in lists:
        for v in directions(fn, mode, args, wrt, rng):
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # autograd: "Output seems independent of input"
                result = check_point(fn, mode, transform, args, wrt, v)
            counts[result["outcome"]] += 1
            if suite._RANK[result["outcome"]] > suite._RANK[worst["outcome"]]:
                worst = {**result, "args": args}
    if worst["outcome"] in ("refused", "crash"):
        worst["cpython"] = suite._cpython_run(fn, worst["args"])
    return {**base, **worst, "counts": counts, "points": sum(counts.values())}
