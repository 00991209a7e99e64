"""Differentiate one function checked by autograd's test suite with ad_compiler, and judge it.

`check(fun, argnum, args, kwargs, ...)` records one outcome per backend:

- right: ad_compiler's value equals CPython's run of the function, and its gradient equals
  autograd's gradient and central differences of the original function;
- unsure: autograd and central differences disagree (a kink), ad_compiler agrees with one;
- refused: an ad_compiler.errors.ADCompilerError;
- wrong: a value or gradient that differs, or a caller's array modified;
- crash: any other exception from ad_compiler or the code it generated;
- skipped: nothing ad_compiler is asked to do (complex numbers, containers, integer inputs or
  outputs, functions autograd itself derived, a function whose CPython run raises).

autograd's tests write `np` for autograd.numpy. ad_compiler reads NumPy's own functions, so the
function is re-created with the same code over a copy of its globals (and closure) where each
autograd.numpy / autograd.scipy module or function is replaced by the NumPy / SciPy one; helper
functions of the test modules are re-created the same way (autograd_suite_numpy.py). A function
that is not a `def` or `lambda` with source (np.max itself, operator.add, functools.partial)
and a function returning an array are differentiated through a small generated wrapper module,
`def checked(a0, ..., c): return np.sum(target(a0, ..., axis=0) * c)`, with a random cotangent
`c`. The oracles (CPython value, autograd, central differences) always run the original function.

With ADSUITE_MODES (run_autograd_suite.py --modes) other derivatives of the same call are judged
too, each record naming its `check`: jvp, vjp and hvp (autograd_suite_modes.py).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.util
import inspect
import json
import operator
import os
import sys
import textwrap
import threading
import time
import traceback
import warnings

import numpy as np

import ad_compiler
from ad_compiler.errors import ADCompilerError

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "adsuite_gradcheck_helpers", os.path.join(_here, "..", "tests", "gradcheck_helpers.py")
)
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
central = _helpers.central
_flat_spec = importlib.util.spec_from_file_location(
    "adsuite_flat", os.path.join(_here, "autograd_suite_flat.py")
)
_flat = importlib.util.module_from_spec(_flat_spec)
_flat_spec.loader.exec_module(_flat)
Flattened, leaves, rebuild = _flat.Flattened, _flat.leaves, _flat.rebuild
_numpy_spec = importlib.util.spec_from_file_location(
    "adsuite_numpy", os.path.join(_here, "autograd_suite_numpy.py")
)
_np_view = importlib.util.module_from_spec(_numpy_spec)
_numpy_spec.loader.exec_module(_np_view)
numpy_view, _labels = _np_view.numpy_view, _np_view._labels
_is_user_function = _np_view._is_user_function
_modes_spec = importlib.util.spec_from_file_location(
    "adsuite_modes", os.path.join(_here, "autograd_suite_modes.py")
)
_modes = importlib.util.module_from_spec(_modes_spec)
_modes_spec.loader.exec_module(_modes)

OUT = os.environ.get("ADSUITE_OUT", "adsuite.jsonl")
GEN = os.environ.get("ADSUITE_GEN", "adsuite_gen")
NUMBA_FRACTION = float(os.environ.get("ADSUITE_NUMBA", "0"))
WRT_ALL = os.environ.get("ADSUITE_WRT_ALL", "") == "1"
# Which derivatives to judge (autograd_suite_modes): grad alone unless told.
MODES = _modes.parse_modes(os.environ.get("ADSUITE_MODES", "grad"))

# Tolerances. The value: the same operations in another order. autograd: exact gradients.
# Central differences (h = 1e-4 with a Richardson step): about 1e-8 relative error when smooth.
# (value, autograd, central differences) tolerances, (rtol, atol), by the lowest float precision
# among the arguments: float32 and float16 arguments are computed in their own precision.
TOLERANCES = {
    8: ((1e-8, 1e-10), (1e-6, 1e-8), (1e-4, 1e-6)),
    4: ((1e-5, 1e-6), (1e-4, 1e-5), (1e-3, 1e-4)),
    2: ((1e-2, 1e-3), (1e-2, 1e-3), (1e-2, 1e-3)),
}

_local = threading.local()


def busy() -> bool:
    return getattr(_local, "depth", 0) > 0


@contextlib.contextmanager
def quiet():
    """No checks are recorded inside (autograd's own checks, this module's own runs)."""
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        yield
    finally:
        _local.depth -= 1


def is_box(value) -> bool:
    from autograd.tracer import Box

    return isinstance(value, Box)


# -- what is being checked ------------------------------------------------------------------

_OPERATORS = {
    operator.add: "{0} + {1}",
    operator.sub: "{0} - {1}",
    operator.mul: "{0} * {1}",
    operator.truediv: "{0} / {1}",
    operator.floordiv: "{0} // {1}",
    operator.mod: "{0} % {1}",
    operator.pow: "{0} ** {1}",
    operator.matmul: "{0} @ {1}",
    operator.neg: "-{0}",
    operator.pos: "+{0}",
    operator.abs: "abs({0})",
    operator.eq: "{0} == {1}",
    operator.ne: "{0} != {1}",
    operator.lt: "{0} < {1}",
    operator.le: "{0} <= {1}",
    operator.gt: "{0} > {1}",
    operator.ge: "{0} >= {1}",
}


def _kind(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, (complex, np.complexfloating)):
        return "complex"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, np.ndarray):
        return {"f": "float", "c": "complex"}.get(value.dtype.kind, "int")
    if isinstance(value, (list, tuple, dict)):
        return "container"
    return "other"


def _output_kind(value) -> str:
    kind = _kind(value)
    if kind == "float":
        return "scalar" if np.ndim(value) == 0 else "array"
    return kind


def _copies(values) -> tuple:
    return tuple(_copy(v) for v in values)


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple, dict)):
        return rebuild(value, iter([_copy(leaf) for leaf in leaves(value)]))
    return value


def _to_float64(value):
    if isinstance(value, (np.ndarray, np.floating)) and value.dtype.kind == "f":
        return value.astype(np.float64) if isinstance(value, np.ndarray) else float(value)
    return value


def _tolerances(args) -> tuple:
    sizes = [a.dtype.itemsize for a in args if isinstance(a, (np.ndarray, np.floating))]
    sizes = [size for size in sizes if size in TOLERANCES]
    return TOLERANCES[min(sizes, default=8)]


def _literal(value) -> str | None:
    """Source text for a value that is a Python literal (ints, None, strings, tuples)."""
    if value is None or isinstance(value, (bool, str)):
        return repr(value)
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    if isinstance(value, (tuple, list)):
        items = [_literal(v) for v in value]
        if any(i is None for i in items):
            return None
        if isinstance(value, list):
            return "[" + ", ".join(items) + "]"
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return None


def _source_of(fun) -> str:
    try:
        return textwrap.dedent(inspect.getsource(fun))
    except (OSError, TypeError):
        return f"<{getattr(fun, '__module__', '?')}.{getattr(fun, '__qualname__', fun)!s}>"


def _code(value) -> str:
    """Python source that re-creates an argument (for reproducers)."""
    if isinstance(value, np.ndarray):
        dtype = "" if value.dtype == np.float64 else f", dtype=np.{value.dtype}"
        return f"np.array({value.tolist()!r}{dtype})"
    if isinstance(value, np.generic):
        return f"np.{type(value).__name__}({value.item()!r})"
    if isinstance(value, float):
        return repr(value)
    literal = _literal(value)
    return literal if literal is not None else f"<{type(value).__name__} {value!r}>"


class _Wrapper:
    """A generated module `def checked(...)` that calls the target with these arguments."""

    def __init__(self, call_template, target, args, kwargs, argnums, scalar, paths) -> None:
        params, call_args, self.values, self.globals = [], [], [], {}
        position = {}  # argument number -> parameter number
        for i, value in enumerate(args):
            literal = None if i in argnums else _literal(value)
            if literal is not None:
                call_args.append(literal)
            elif i in argnums or _kind(value) in ("float", "int") or isinstance(value, np.ndarray):
                position[i] = len(params)
                params.append(f"a{i}")
                self.values.append(value)
                call_args.append(f"a{i}")
            else:
                self.globals[f"g{i}"] = value
                call_args.append(f"g{i}")
        for key, value in kwargs.items():
            literal = _literal(value)
            if literal is not None:
                call_args.append(f"{key}={literal}")
            elif _kind(value) in ("float", "int") or isinstance(value, np.ndarray):
                params.append(f"k_{key}")
                self.values.append(value)
                call_args.append(f"{key}=k_{key}")
            else:
                self.globals[f"g_{key}"] = value
                call_args.append(f"{key}=g_{key}")
        self.wrt = [position[i] for i in argnums]  # in the order autograd returns them
        if call_template is None:
            call = f"target({', '.join(call_args)})"
            self.globals["target"] = target
        else:
            call = call_template.format(*call_args)
        if scalar:
            body = f"return {call}"
        elif paths is None:
            params.append("c")
            body = f"return np.sum(({call}) * c)"
        else:  # a container: each leaf weighted by its own cotangent
            params.extend(f"c{k}" for k in range(len(paths)))
            terms = [f"np.sum(out{_flat.path_code(p)} * c{k})" for k, p in enumerate(paths)]
            body = f"out = {call}\n    return {' + '.join(terms)}"
        self.source = f"import numpy as np\n\n\ndef checked({', '.join(params)}):\n    {body}\n"

    def function(self):
        digest = hashlib.sha1(self.source.encode()).hexdigest()[:16]
        os.makedirs(GEN, exist_ok=True)
        path = os.path.join(GEN, f"w_{digest}.py")
        if not os.path.exists(path):
            with open(path + ".tmp", "w", encoding="utf-8") as handle:
                handle.write(self.source)
            os.replace(path + ".tmp", path)
        spec = importlib.util.spec_from_file_location(f"adsuite_w_{digest}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, value in self.globals.items():
            setattr(module, name, value)
        return module.checked


def _target(fun):
    """(call template or None, object ad_compiler calls, description) or a skip reason."""
    if fun in _OPERATORS if _hashable(fun) else False:
        return _OPERATORS[fun], None, f"operator.{fun.__name__}"
    view = numpy_view(fun)
    if _is_user_function(view):
        return None, view, None
    if view is not fun:
        return None, view, f"{_labels.get(id(fun), '?')}.{getattr(fun, '__name__', view)}"
    return f"not a function ad_compiler can read ({type(fun).__name__} {_name(fun)})"


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _name(fun) -> str:
    return getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None) or repr(fun)


# -- the check ------------------------------------------------------------------------------


def check(fun, argnum, args, kwargs, *, origin, nodeid, index, seed, scalar_only) -> None:
    with quiet(), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        base = {
            "nodeid": nodeid,
            "file": nodeid.split("::")[0].rsplit("/", 1)[-1],
            "index": index,
            "origin": origin,
            "function": _name(fun),
        }
        start = time.perf_counter()
        try:
            records = _check(fun, argnum, tuple(args), dict(kwargs), seed, scalar_only)
        except Exception:
            records = [{"outcome": "shim-error", "reason": traceback.format_exc(limit=6)}]
        elapsed = time.perf_counter() - start
        with open(OUT, "a", encoding="utf-8") as handle:
            for record in records:
                record = {**base, **record, "seconds": round(elapsed, 3)}
                handle.write(json.dumps(record, default=str) + "\n")


def _skip(reason: str) -> list[dict]:
    return [{"outcome": "skipped", "reason": reason, "backend": "-", "check": m} for m in MODES]


def _check(fun, argnum, args, kwargs, seed, scalar_only) -> list[dict]:
    while isinstance(fun, functools.partial):
        args = tuple(fun.args) + args
        kwargs = {**fun.keywords, **kwargs}
        argnum = (
            argnum + len(fun.args)
            if isinstance(argnum, int)
            else tuple(a + len(fun.args) for a in argnum)
        )
        fun = fun.func
    argnums = (argnum,) if isinstance(argnum, int) else tuple(argnum)
    kinds = [_kind(a) for a in args] + [_kind(v) for v in kwargs.values()]
    if "complex" in kinds:
        return _skip("complex input")
    for a in argnums:
        if _kind(args[a]) not in ("float", "container"):
            return _skip(f"differentiated input is {_kind(args[a])}")
    if WRT_ALL:
        extra = tuple(i for i, a in enumerate(args) if _kind(a) == "float" and i not in argnums)
        argnums = argnums + extra
    flat = Flattened(args, argnums)
    if not flat.all_float():
        return _skip("a differentiated container holds no floats, or other things too")
    try:
        output = fun(*_copies(args), **kwargs)
    except Exception as exc:
        return _skip(f"the original function raises {type(exc).__name__}")
    out_kind = _output_kind(output)
    if out_kind == "complex":
        return _skip("complex output")
    paths = _flat.float_paths(output) if out_kind == "container" else None
    if out_kind not in ("scalar", "array") and not paths:
        return _skip(f"{out_kind} output")
    if scalar_only and out_kind != "scalar":
        return _skip("autograd's grad of an array output")
    target = _target(fun)
    if isinstance(target, str):
        return _skip(target)
    template, obj, description = target
    rng = np.random.default_rng(seed)
    scalar = out_kind == "scalar"
    if paths:
        cotangent = [rng.standard_normal(np.shape(leaf)) for leaf in leaves(output)]
    else:
        cotangent = None if scalar else rng.standard_normal(np.shape(output))

    def original(*xs):
        out = fun(*xs, **kwargs)
        if paths:
            # by path, not leaves(out): under autograd a returned list is one boxed value
            return sum(np.sum(_at(out, path) * c) for path, c in zip(paths, cotangent))
        return out if scalar else np.sum(out * cotangent)

    def raw(*xs):  # the function itself (for jvp and vjp); a container weighted as above
        return original(*xs) if paths else fun(*xs, **kwargs)

    direct = (
        template is None
        and description is None
        and scalar
        and not kwargs
        and all(_kind(a) in ("float", "int") or isinstance(a, np.ndarray) for a in args)
    )
    if direct:
        function, values, wrt = obj, args, argnums
        shown = _source_of(obj)
    else:
        wrapper = _Wrapper(template, obj, args, kwargs, argnums, scalar, paths)
        function, values, wrt = wrapper.function(), tuple(wrapper.values), tuple(wrapper.wrt)
        if paths:
            values = values + tuple(cotangent)
        elif not scalar:
            values = values + (cotangent,)
        shown = wrapper.source
        if description is not None:
            shown += f"# target = {description}\n"
        else:
            shown += f"# target = the function below\n{_source_of(obj)}"
    flat_original, flat_argnums = flat.function(original), tuple(flat.flat_argnums)
    oracle_args = tuple(_to_float64(a) for a in flat.flat_args)
    value = float(np.real(original(*_copies(args))))
    autograd_grads = _autograd(flat_original, flat_argnums, oracle_args)
    try:
        central_grads = [central(flat_original, oracle_args, a) for a in flat_argnums]
    except Exception as exc:  # a step leaves the function's domain (a covariance's symmetry)
        central_grads = f"{type(exc).__name__}: {exc}"
    if isinstance(central_grads, str) and isinstance(autograd_grads, str):
        return _skip("neither autograd nor central differences give a gradient")
    common = {
        "mode": "direct" if direct else "wrapper",
        "source": shown,
        "args": [_code(a) for a in args],
        "kwargs": {k: _code(v) for k, v in kwargs.items()},
        "wrt": list(argnums),
        "cotangent": None if scalar else _code(cotangent),
    }
    records = []
    backends = ["python"]
    if NUMBA_FRACTION and (seed % 10000) < NUMBA_FRACTION * 10000:
        backends.append("numba")
    context = None
    if set(MODES) - {"grad"}:
        if direct or scalar or paths:
            jvp_target, jvp_shown = (function, values, wrt), shown
        else:  # the wrapper returning the array itself, not its weighted sum
            plain = _Wrapper(template, obj, args, kwargs, argnums, True, None)
            jvp_target = (plain.function(), tuple(plain.values), tuple(plain.wrt))
            jvp_shown = plain.source
        context = _modes.Context(
            sys.modules[__name__],
            modes=MODES,
            rng=rng,
            flat=flat,
            argnums=argnums,
            flat_argnums=flat_argnums,
            oracle_args=oracle_args,
            out_kind=out_kind,
            raw_value=original(*_copies(args)) if paths else output,
            raw_flat=flat.function(raw),
            flat_original=flat_original,
            cotangent=cotangent,
            autograd_grads=autograd_grads,
            central_grads=central_grads,
            tolerances=_tolerances(flat.flat_args),
            grad_target=(function, values, wrt),
            jvp_target=jvp_target,
            jvp_shown=jvp_shown,
            common=common,
        )
    for backend in backends:
        if "grad" in MODES:
            oracles = (flat_original, oracle_args, flat_argnums, value, autograd_grads)
            oracles += (central_grads,) + _tolerances(flat.flat_args)
            result = _run(function, wrt, values, backend, oracles)
            records.append({**common, **result, "backend": backend, "check": "grad"})
        if context is not None:
            records.extend(_modes.records(context, backend))
    return records


def _at(value, path):
    for key in path:
        value = value[key]
    return value


def _autograd(original, argnums, args):
    from autograd.differential_operators import grad

    try:
        with quiet():
            grads = grad(original, argnums)(*_copies(args))
        return [np.asarray(g, dtype=float) for g in grads]
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _listed(grads):
    return grads if isinstance(grads, str) else [np.asarray(g).tolist() for g in grads]


def _close(a, b, tol) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    scale = max(1.0, float(np.max(np.abs(b[np.isfinite(b)]), initial=0.0)))
    return bool(np.allclose(a, b, rtol=tol[0], atol=tol[1] * scale, equal_nan=True))


def _all_close(xs, ys, tol) -> bool:
    return all(_close(x, y, tol) for x, y in zip(xs, ys))


def _small_step_central(fn, args, pos, h=1e-7):
    x = args[pos]

    def at(index, step):
        new = list(_copies(args))
        if index is None:
            new[pos] = x + step
        else:
            new[pos][index] += step
        return fn(*new)

    def one(index, scale):
        step = h * max(1.0, scale)
        return (at(index, step) - at(index, -step)) / (2 * step)

    if isinstance(x, np.ndarray):
        out = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            out[index] = one(index, abs(x[index]))
        return out
    return one(None, abs(x))


def _jumps(original, args, argnums) -> bool:
    """Whether the function jumps at args: central differences grow like 1/step."""
    for pos in argnums:
        coarse = np.abs(np.asarray(_small_step_central(original, args, pos, h=1e-7)))
        fine = np.abs(np.asarray(_small_step_central(original, args, pos, h=1e-9)))
        if np.any((coarse > 1e3) & (fine > 50 * coarse) & (fine < 200 * coarse)):
            return True
    return False


def _run(function, wrt, values, backend, oracles) -> dict:
    original, oracle_args, argnums, value, autograd_grads, central_grads = oracles[:6]
    value_tol, exact_tol, central_tol = oracles[6:]
    given = _copies(values)  # the test's own arrays stay untouched whatever happens
    try:
        got_value, got = ad_compiler.value_and_grad(function, wrt=wrt, backend=backend)(*given)
    except ADCompilerError as exc:
        return {"outcome": "refused", "reason": f"{type(exc).__name__}: {exc}"}
    except Exception as exc:
        return {
            "outcome": "crash",
            "reason": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(limit=-4),
        }
    for old, new in zip(values, given):
        if isinstance(old, np.ndarray) and not np.array_equal(old, new, equal_nan=True):
            return {"outcome": "wrong", "reason": "modified the caller's array"}
    got = [np.asarray(g, dtype=float) for g in Flattened.gradients(got)]
    detail = {
        "value": value,
        "got_value": got_value,
        "got": [g.tolist() for g in got],
        "central": _listed(central_grads),
        "autograd": _listed(autograd_grads),
    }
    if not _close(got_value, value, value_tol):
        return {"outcome": "wrong", "reason": "value differs", **detail}
    reference = autograd_grads if isinstance(central_grads, str) else central_grads
    shapes = [np.shape(g) for g in reference]
    if [np.shape(g) for g in got] != shapes:
        reason = f"gradient shapes {[np.shape(g) for g in got]}, want {shapes}"
        return {"outcome": "wrong", "reason": reason, **detail}
    for failed, other, tol, name in (
        (central_grads, autograd_grads, exact_tol, "central differences"),
        (autograd_grads, central_grads, central_tol, "autograd"),
    ):
        if isinstance(failed, str):  # only the other oracle judges
            if _all_close(got, other, tol):
                return {"outcome": "right", "reason": f"{name} failed: {failed[:200]}"}
            return {"outcome": "wrong", "reason": f"gradient differs ({name} failed)", **detail}
    by_autograd = _all_close(got, autograd_grads, exact_tol)
    if not _all_close(autograd_grads, central_grads, central_tol):
        # Near a kink (two entries of np.min 1e-5 apart) a step of 1e-4 crosses it: retry small.
        central_grads = [_small_step_central(original, oracle_args, p) for p in argnums]
        detail["central"] = _listed(central_grads)
    by_central = _all_close(got, central_grads, central_tol)
    oracles_agree = _all_close(autograd_grads, central_grads, central_tol)
    if by_autograd and by_central:
        return {"outcome": "right", "reason": ""}
    if not oracles_agree and by_autograd and _jumps(original, oracle_args, argnums):
        # A step function at its step (x <= y at x == y): no derivative exists; the suite's
        # test asserts autograd's zero, and central differences only measure the jump.
        return {"outcome": "right", "reason": "at a jump: autograd's zero, as the test asserts"}
    if not oracles_agree and (by_autograd or by_central):
        which = "autograd" if by_autograd else "central differences"
        return {"outcome": "unsure", "reason": f"oracles disagree; matches {which}", **detail}
    if oracles_agree:
        reason = "gradient differs from autograd and central differences"
    else:
        reason = "gradient differs from both (they also disagree)"
    return {"outcome": "wrong", "reason": reason, **detail}
