"""Differentiate the functions of Google Tangent's test suite (tests/functions.py) with
ad_compiler, on the arguments Tangent's own tests give them, and judge each gradient.

Tangent's tests/conftest.py hands every function of functions.py to the test whose parameter
names match its signature: scalars a, b, c from ten values in [-2, 2], an integer n in 1..3, a
vector x of 3, 5 or 10 normal entries, a square matrix sqm of 1x1 or 5x5 (with --short: 2.0, 1, a
vector of 3 and a 3x3 matrix), every combination. test_reverse_mode.py has dedicated tests with
their own arguments for a few others (logistic_regression, rnn, bilinear, the dict and tuple
ones); the rest (passthru_pack, ...) get arguments built the same way here. Tangent seeds an
array output with ones (the gradient of its sum); so does this check. Unlike Tangent's tests
(which take the gradient with respect to the first argument), every float argument is
differentiated: numbers, arrays, and tuples or dicts of them.

`check_function(fn, backend, short)` returns one outcome for the function and backend:

- right: at every point, ad_compiler's value equals CPython's run of the original function and
  its gradient equals central differences of the original (float64) and, where autograd runs the
  same code with autograd.numpy, autograd's gradient; at a kink (the two oracles disagree) the
  gradient must equal autograd's;
- refused: an ad_compiler.errors.ADCompilerError (at some point; the others being right);
- wrong: a value or gradient that differs, a caller's array modified, or a value where CPython
  raises;
- crash: any other exception from ad_compiler or the code it generated;
- skipped: nothing ad_compiler can be asked (a TensorFlow function: Tangent's tfe_ tests).
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import itertools
import sys
import traceback
import types
import zlib
from pathlib import Path

import numpy as np

import ad_compiler
from ad_compiler.errors import ADCompilerError

OUTCOMES = ("right", "refused", "wrong", "crash", "skipped")
_RANK = {"right": 0, "skipped": 0, "refused": 1, "wrong": 2, "crash": 3}

# tests/conftest.py of Tangent: functions its reverse-mode tests leave out.
BLACKLISTED = {
    "inlining_contextmanager",
    "listcomp",
    "cart2polar",
    "iterpower_with_nested_def",
    "fn_multiple_return",
    "insert_grad_of",
    "_trace_mul",
    "_nontrace_mul",
    "active_subscript",
    "init_array_grad_maybe_active",
}

VALUE_TOL = (1e-9, 1e-12)  # the same operations, perhaps in another order
EXACT_TOL = (1e-6, 1e-9)  # autograd: exact up to rounding
CENTRAL_TOL = (1e-4, 1e-6)  # central differences with a Richardson step


# -- loading Tangent's functions.py ----------------------------------------------------------


class _Stack(list):
    """Stands for tangent.Stack: the functions push and pop plain values."""


def _push(stack, value, op_id):
    stack.append(value)


def _pop(stack, op_id):
    return stack.pop()


def _insert_grad_of(var):
    # Tangent's own raises too: the block only means something inside Tangent's adjoint.
    raise ValueError("use the tangent decorator for functions containing insert_grad_of")


def _tangent_stub() -> types.ModuleType:
    """The few names of the `tangent` package functions.py reads, with their plain meaning."""
    stub = types.ModuleType("tangent")
    stub.Stack = _Stack
    stub.push = _push
    stub.pop = _pop
    stub.insert_grad_of = _insert_grad_of
    stub.trace = lambda fn: fn
    return stub


def load_functions(checkout: Path) -> list:
    """The functions Tangent's conftest.py collects from tests/functions.py, in file order."""
    path = Path(checkout) / "tests" / "functions.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: give a checkout of google/tangent")
    saved = {name: sys.modules.get(name) for name in ("tangent", "tensorflow")}
    sys.modules["tangent"] = _tangent_stub()
    sys.modules["tensorflow"] = None  # functions.py then sets tf = None
    try:
        spec = importlib.util.spec_from_file_location("tangent_suite_functions", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old
    return [
        f
        for f in vars(module).values()
        if inspect.isfunction(f) and f.__module__ == module.__name__
    ]


def uses_tensorflow(fn) -> bool:
    return "tf" in fn.__code__.co_names


# -- Tangent's arguments ---------------------------------------------------------------------


def _scalars(short):
    return [2.0] if short else [-2.0, -1.5, -1.0, -0.5, -0.1, 0.1, 0.5, 1.0, 1.5, 2.0]


def _generic_values(name, short, rng):
    """conftest.py's pytest_generate_tests, name by name."""
    if name in ("a", "b", "c"):
        return _scalars(short)
    if name in ("n", "i"):  # i: passthru_pack's index, which Tangent's tests never call
        return [1] if short else [1, 2, 3] if name == "n" else [0, 1, 2]
    if name == "x":
        return [rng.standard_normal(n) for n in ((3,) if short else (3, 5, 10))]
    if name == "sqm":
        return [rng.standard_normal(s) for s in (((3, 3),) if short else ((1, 1), (5, 5)))]
    return None


def _dedicated(name, short, rng):
    """The argument lists of test_reverse_mode.py's dedicated tests (and the like for the
    container functions no test calls)."""
    triples = list(itertools.product(_scalars(short), repeat=3))
    if name == "logistic_regression":
        label = np.zeros(5)
        label[1] = 1.0
        w, b = rng.standard_normal((3, 5)), rng.standard_normal(5)
        return [(rng.random(3), label, w, b)]
    if name == "rnn":
        return [(rng.standard_normal((3, 2)), rng.standard_normal((2, 3)))]
    if name == "bilinear":
        d = 3
        shapes = ((1, d), (1, d), (d, d), (d, d), (1, d))
        return [tuple(rng.standard_normal(s) for s in shapes)]
    if name in ("unpacking_args_saxpy", "passthru_unpack", "dict_wrapper"):
        return [(t,) for t in triples]
    if name == "dict_saxpy":
        return [(dict(a=a, b=b, c=c),) for a, b, c in triples]
    if name == "nested_dict":
        return [(dict(i=dict(j=3.0, k=4.0)),)]
    return None


def argument_lists(fn, short: bool) -> list[tuple] | None:
    rng = np.random.default_rng(zlib.crc32(fn.__name__.encode()))
    dedicated = _dedicated(fn.__name__, short, rng)
    if dedicated is not None:
        return dedicated
    code = fn.__code__
    params = code.co_varnames[: code.co_argcount]
    values = [_generic_values(p, short, rng) for p in params]
    if not params or any(v is None for v in values):
        return None
    return list(itertools.product(*values))


def _is_float(value) -> bool:
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return False
    if isinstance(value, (float, np.floating)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    if isinstance(value, (tuple, list)):
        return bool(value) and all(_is_float(v) for v in value)
    if isinstance(value, dict):
        return bool(value) and all(_is_float(v) for v in value.values())
    return False


def float_positions(args) -> tuple[int, ...]:
    return tuple(i for i, a in enumerate(args) if _is_float(a))


# -- flattening numbers, arrays, tuples and dicts --------------------------------------------


def flat(value) -> np.ndarray:
    if isinstance(value, dict):
        value = [value[k] for k in sorted(value)]
    if isinstance(value, (tuple, list)):
        parts = [flat(v) for v in value]
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.asarray(value, dtype=float).ravel()


def rebuild(like, vector: np.ndarray):
    """`like` with its float leaves taken in order from vector (the inverse of flat)."""
    position = [0]

    def take(item):
        if isinstance(item, dict):
            return {k: v for k, v in zip(sorted(item), [take(item[k]) for k in sorted(item)])}
        if isinstance(item, (tuple, list)):
            return type(item)(take(v) for v in item)
        size = np.size(item)
        chunk = vector[position[0] : position[0] + size]
        position[0] += size
        if isinstance(item, np.ndarray):
            return chunk.reshape(item.shape).copy()
        return float(chunk[0])

    return take(like)


def copies(args) -> tuple:
    return tuple(rebuild(a, flat(a)) if _is_float(a) else a for a in args)


def total(output) -> float:
    """The output Tangent's tests seed with ones: the sum of everything returned."""
    return float(np.sum(flat(output)))


# -- oracles ---------------------------------------------------------------------------------


def central(fn, args, pos, h=1e-4, richardson=True) -> np.ndarray:
    """Central differences of total(fn) in every float leaf of args[pos] (args copied for every
    evaluation: some of Tangent's functions write into their argument)."""
    base = flat(args[pos])
    out = np.zeros_like(base)
    for k in range(base.size):
        step = h * max(1.0, abs(base[k]))

        def at(delta, k=k):
            moved = base.copy()
            moved[k] += delta
            new = list(copies(args))
            new[pos] = rebuild(args[pos], moved)
            return total(fn(*new))

        def diff(s):
            return (at(s) - at(-s)) / (2 * s)

        out[k] = (4 * diff(step / 2) - diff(step)) / 3 if richardson else diff(step)
    return out


@contextlib.contextmanager
def _autograd_numpy(fn):
    """Tangent's own reference: the module's `np` set to autograd.numpy for the run."""
    import autograd.numpy as anp

    module_globals = fn.__globals__
    saved = module_globals.get("np")
    module_globals["np"] = anp
    try:
        yield
    finally:
        module_globals["np"] = saved


def autograd_gradient(fn, args, wrt):
    try:
        from autograd import grad
    except ImportError as exc:
        return f"ImportError: {exc}"
    try:
        with _autograd_numpy(fn):
            grads = grad(lambda *xs: total_box(fn(*xs)), tuple(wrt))(*copies(args))
        return [flat(g) for g in grads]
    except Exception as exc:  # in-place writes, containers autograd cannot take
        return f"{type(exc).__name__}: {exc}"


def total_box(output):
    """total() that autograd can trace (outputs are numbers, arrays or tuples of them)."""
    import autograd.numpy as anp

    if isinstance(output, (tuple, list)):
        return sum(anp.sum(o) for o in output)
    return anp.sum(output)


# -- one function ----------------------------------------------------------------------------


def _close(a, b, tol) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    finite = np.abs(b[np.isfinite(b)])
    scale = max(1.0, float(np.max(finite, initial=0.0)))
    return bool(np.allclose(a, b, rtol=tol[0], atol=tol[1] * scale, equal_nan=True))


def _all_close(xs, ys, tol) -> bool:
    return len(xs) == len(ys) and all(_close(x, y, tol) for x, y in zip(xs, ys))


def _failure(exc: BaseException) -> dict:
    if isinstance(exc, ADCompilerError):
        return {"outcome": "refused", "reason": f"{type(exc).__name__}: {exc}"}
    return {
        "outcome": "crash",
        "reason": f"{type(exc).__name__}: {exc}",
        "traceback": traceback.format_exc(limit=-6),
    }


def check_point(fn, gradient, args, wrt) -> dict:
    """One argument list: the outcome, and what was compared."""
    try:
        expected = fn(*copies(args))
        raised = None
    except Exception as exc:
        expected, raised = None, f"{type(exc).__name__}: {exc}"
    given = copies(args)
    try:
        got_value, got = gradient(*given)
    except Exception as exc:
        return _failure(exc)
    for old, new in zip(args, given):
        if _is_float(old) and not np.array_equal(flat(old), flat(new), equal_nan=True):
            return {"outcome": "wrong", "reason": "modified the caller's argument"}
    if raised is not None:
        return {"outcome": "wrong", "reason": f"CPython raises {raised}; ad_compiler gave a value"}
    got = [flat(g) for g in got]
    value = total(expected)
    detail = {"value": value, "got_value": float(got_value), "got": got}
    if not _close(got_value, value, VALUE_TOL):
        return {"outcome": "wrong", "reason": "value differs from CPython", **detail}
    numeric = [central(fn, args, p) for p in wrt]
    exact = autograd_gradient(fn, args, wrt)
    detail.update(central=numeric, autograd=exact)
    if [g.shape for g in got] != [g.shape for g in numeric]:
        return {"outcome": "wrong", "reason": "gradient shapes differ", **detail}
    if isinstance(exact, str):
        if _all_close(got, numeric, CENTRAL_TOL):
            return {"outcome": "right", "reason": ""}
        # A kink (while_big at 0.1): without autograd, a second step size tells.
        rough = [central(fn, args, p, h=1e-7, richardson=False) for p in wrt]
        if not _all_close(rough, numeric, CENTRAL_TOL):
            return {"outcome": "right", "reason": "kink; autograd unavailable", **detail}
        return {"outcome": "wrong", "reason": "gradient differs from central differences", **detail}
    if _all_close(got, exact, EXACT_TOL):
        return {"outcome": "right", "reason": ""}
    if _all_close(exact, numeric, CENTRAL_TOL):
        reason = "gradient differs from autograd and central differences"
    else:
        reason = "gradient differs from autograd (central differences disagree too)"
    return {"outcome": "wrong", "reason": reason, **detail}


def check_function(fn, backend: str, short: bool) -> dict:
    """The outcome of one of Tangent's functions on one backend, worst over its points."""
    base = {"function": fn.__name__, "backend": backend, "blacklisted": fn.__name__ in BLACKLISTED}
    if uses_tensorflow(fn):
        return {**base, "outcome": "skipped", "reason": "TensorFlow (Tangent's tfe tests)"}
    lists = argument_lists(fn, short)
    if lists is None:
        return {**base, "outcome": "skipped", "reason": "no argument list in Tangent's tests"}
    wrt = float_positions(lists[0])
    base.update(wrt=list(wrt), points=len(lists))
    try:
        gradient = ad_compiler.value_and_grad(fn, wrt=wrt, backend=backend)
    except Exception as exc:
        failure = _failure(exc)
        return {**base, **failure, "args": lists[0], "cpython": _cpython_run(fn, lists[0])}
    worst = {"outcome": "right", "reason": ""}
    counts = dict.fromkeys(OUTCOMES, 0)
    for args in lists:
        with np.errstate(all="ignore"):
            result = check_point(fn, gradient, args, wrt)
        counts[result["outcome"]] += 1
        if _RANK[result["outcome"]] > _RANK[worst["outcome"]]:
            worst = {**result, "args": args}
    if worst["outcome"] in ("refused", "crash"):
        worst["cpython"] = _cpython_run(fn, worst["args"])
    return {**base, **worst, "counts": counts}


def _cpython_run(fn, args) -> str:
    """Whether the original runs where ad_compiler refused: three of Tangent's functions
    raise in CPython too (np.arctan(b, a), iterating a float, insert_grad_of)."""
    try:
        with np.errstate(all="ignore"):
            fn(*copies(args))
    except Exception as exc:
        return f"raises {type(exc).__name__}: {exc}"
    return "runs"
