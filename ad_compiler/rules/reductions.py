"""Reductions and scans beyond sum/mean/max/min (np.prod, np.var, np.std, np.ptp, np.average,
np.nansum, np.nanmean, np.cumsum, np.cumprod, np.diff, np.sort), and the elementwise functions
whose derivatives are best written by hand (np.logaddexp, np.sinc, np.cbrt, np.fmax, ...).

Axes, keepdims and ddof are compile-time constants (attributes), checked as NumPy checks them.
The values come from NumPy through runtime helpers (`rt.rprod`, `rt.cumsum`, ...), which have
numba implementations in runtime_reductions.py; each adjoint is a runtime helper too, or built
from other rules. Gradients are exact where NumPy's value is: the adjoint of a product divides
by nothing (a product with a zero in it still has the right gradient), and the adjoint of sort
sends each entry's gradient back through the sorting permutation.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import KindError
from ..ir import Const, Kind
from . import CallSpec, Rule, bind_call, bind_method, register
from .arrays import _extreme_vjp, _infer_extreme, _infer_reduce, _mean_vjp
from .elementwise import infer_arith, infer_bool, infer_float

# --------------------------------------------------------------------------------------------
# Common checks


def _check_axis(axis, ndim: int, what: str, tuples: bool = True) -> None:
    """An axis (or tuple of axes, where `tuples`) NumPy accepts for `ndim` dimensions."""
    if axis is None:
        return
    many = axis if isinstance(axis, tuple) and tuples else (axis,)
    if not all(type(a) is int and -ndim <= a < ndim for a in many):
        raise KindError(
            f"{what}: axis={axis!r} for an array of {ndim} dimension(s)",
            f"give an axis from {-ndim} to {ndim - 1}" if ndim else "drop axis= for a number",
        )
    if len({a % ndim for a in many}) < len(many):
        raise KindError(f"{what}: axis={axis!r} names an axis twice", "name each axis once")


def _no_extras(attrs: dict, what: str) -> None:
    for name in ("dtype", "out"):
        if attrs.get(name) is not None:
            raise KindError(
                f"{what} with {name}=", f"drop {name}= (convert with .astype(...) afterwards)"
            )


def _infer_reduction(what: str, result_float: bool):
    def infer(kinds, attrs) -> Kind:
        _no_extras(attrs, what)
        x = kinds[0]
        if x.dtype == "shape":
            raise KindError(f"{what} of a shape", "index the shape: x.shape[0]")
        if x.ndim is not None:
            _check_axis(attrs.get("axis"), x.ndim, what)
        kind = _infer_reduce(kinds, attrs)
        return Kind(kind.ndim, "float") if result_float else kind

    return infer


def _reduced(stmt) -> dict:
    return {"axis": stmt.attr("axis"), "keepdims": bool(stmt.attr("keepdims", False))}


_REDUCE = {"axis": None, "dtype": None, "out": None, "keepdims": False}
_A = {"array_like": ("a",)}


def _bind(op: str, static: dict, names: tuple[str, ...], method: str | None = None) -> None:
    for name in names:
        bind_call(getattr(np, name), CallSpec(op, ("a",), static, name=f"np.{name}", **_A))
    if method:
        bind_method(method, CallSpec(op, ("a",), static, name=f".{method}"))


# --------------------------------------------------------------------------------------------
# np.prod


def _prod_vjp(b, stmt) -> tuple:
    return (b.emit("prod_grad", b.g, stmt.args[0], **_reduced(stmt)),)


register(
    Rule(
        "prod",
        "rt.rprod({0}, {axis}, {keepdims})",
        _infer_reduction("np.prod", False),
        _prod_vjp,
        cheap=False,
    )
)
_bind("prod", _REDUCE, ("prod",), "prod")
register(Rule("prod_grad", "rt.prod_grad({0}, {1}, {axis}, {keepdims})", lambda k, a: k[1]))


# --------------------------------------------------------------------------------------------
# np.var, np.std (ddof)


def _var_attrs(stmt) -> dict:
    return {**_reduced(stmt), "ddof": stmt.attr("ddof", 0)}


def _var_vjp(b, stmt) -> tuple:
    return (b.emit("var_grad", b.g, stmt.args[0], **_var_attrs(stmt)),)


def _std_vjp(b, stmt) -> tuple:
    # std = sqrt(var): d std = d var / (2 std). Where std is 0 every entry equals the mean
    # (or the slice has one entry, and std is 0 whatever it is): the gradient is 0 there, as
    # abs'(0) = 0, not 0 / 0.
    flat = b.emit("eq", b.out, Const(0.0))
    twice = b.emit("where", flat, Const(1.0), b.emit("mul", Const(2.0), b.out))
    half = b.emit("where", flat, Const(0.0), b.emit("div", b.g, twice))
    return (b.emit("var_grad", half, stmt.args[0], **_var_attrs(stmt)),)


def _infer_var(what: str):
    infer = _infer_reduction(what, True)

    def check(kinds, attrs) -> Kind:
        ddof = attrs.get("ddof", 0)
        if type(ddof) not in (int, float) or ddof < 0:
            raise KindError(f"{what}: ddof={ddof!r}", "give a number >= 0 (0 or 1)")
        return infer(kinds, attrs)

    return check


_VAR = {"axis": None, "dtype": None, "out": None, "ddof": 0, "keepdims": False}
for _op in ("var", "std"):
    register(
        Rule(
            _op,
            f"rt.r{_op}({{0}}, {{axis}}, {{keepdims}}, {{ddof}})",
            _infer_var(f"np.{_op}"),
            _var_vjp if _op == "var" else _std_vjp,
            cheap=False,
        )
    )
    _bind(_op, _VAR, (_op,), _op)


def _var_grad_vjp(b, stmt) -> tuple:
    # var_grad(g, x) = spread(g) * (x - mean(x)) * scale: linear in g, and in x through the
    # centring, which is symmetric; second derivatives (hvp) differentiate it.
    g, x = stmt.args
    if b.kind(x).is_scalar:
        return (None, None)
    attrs = {k: v for k, v in stmt.attrs}
    ones = Const(1.0) if b.kind(g).is_scalar else b.emit("ones_like", g)
    grads = [None, None]
    if b.needs(0):
        centred = b.emit("var_grad", ones, x, **attrs)
        reduced = {"axis": attrs["axis"], "keepdims": attrs["keepdims"]}
        grads[0] = b.emit("sum", b.emit("mul", b.g, centred), **reduced)
    if b.needs(1):
        spread = b.emit("reduce_grad", g, x, axis=attrs["axis"], keepdims=attrs["keepdims"])
        grads[1] = b.emit("var_grad", Const(1.0), b.emit("mul", spread, b.g), **attrs)
    return tuple(grads)


register(
    Rule(
        "var_grad",
        "rt.var_grad({0}, {1}, {axis}, {keepdims}, {ddof})",
        lambda k, a: k[1],
        _var_grad_vjp,
    )
)


# --------------------------------------------------------------------------------------------
# np.ptp, np.average (without weights), np.nansum, np.nanmean


def _ptp_vjp(b, stmt) -> tuple:
    x, attrs = stmt.args[0], _reduced(stmt)
    top = b.emit("max", x, **attrs)
    bottom = b.emit("min", x, **attrs)
    up = b.emit("extreme_grad", b.g, x, top, **attrs)
    down = b.emit("extreme_grad", b.g, x, bottom, **attrs)
    return (b.emit("sub", up, down),)


register(
    Rule(
        "ptp",
        "rt.rmax({0}, {axis}, {keepdims}) - rt.rmin({0}, {axis}, {keepdims})",
        _infer_reduction("np.ptp", False),
        _ptp_vjp,
        cheap=False,
    )
)
_bind("ptp", {"axis": None, "out": None, "keepdims": False}, ("ptp",))


def _infer_average(kinds, attrs) -> Kind:
    if attrs.get("weights") is not None or attrs.get("returned"):
        raise KindError(
            "np.average with weights= or returned=",
            "write the weighted mean: np.sum(x * w, axis) / np.sum(w, axis)",
        )
    return _infer_reduction("np.average", True)(kinds, attrs)


# np.average without weights is the mean.
register(
    Rule(
        "average",
        "rt.rmean({0}, {axis}, {keepdims})",
        _infer_average,
        _mean_vjp,
        cheap=False,
    )
)
_bind(
    "average", {"axis": None, "weights": None, "returned": False, "keepdims": False}, ("average",)
)


def _nan_vjp(b, stmt) -> tuple:
    op = "nanmean_grad" if stmt.op == "nanmean" else "nansum_grad"
    return (b.emit(op, b.g, stmt.args[0], **_reduced(stmt)),)


for _op in ("nansum", "nanmean"):
    register(
        Rule(
            _op,
            f"rt.r{_op}({{0}}, {{axis}}, {{keepdims}})",
            _infer_reduction(f"np.{_op}", _op == "nanmean"),
            _nan_vjp,
            cheap=False,
        )
    )
    _bind(_op, _REDUCE, (_op,))
    register(
        Rule(
            f"{_op}_grad", f"rt.{_op}_grad({{0}}, {{1}}, {{axis}}, {{keepdims}})", lambda k, a: k[1]
        )
    )
# (.max(), .min(), np.amax and np.amin are in rules/arrays.py; NumPy 2 has no .ptp() method)


# --------------------------------------------------------------------------------------------
# Scans: np.cumsum, np.cumprod, np.diff, np.sort


def _infer_scan(what: str, default_flat: bool):
    def infer(kinds, attrs) -> Kind:
        _no_extras(attrs, what)
        x = kinds[0]
        if x.dtype == "shape":
            raise KindError(f"{what} of a shape", "index the shape: x.shape[0]")
        axis = attrs.get("axis")
        if isinstance(axis, tuple):
            raise KindError(f"{what} with a tuple of axes", "give one axis")
        if x.ndim is None:
            return Kind(None, x.dtype)
        if axis is None and default_flat:
            return Kind(1, x.dtype if x.dtype in ("int", "float") else "int")
        if x.ndim == 0:
            raise KindError(f"{what} of a number along an axis", "pass an array")
        _check_axis(axis, x.ndim, what, tuples=False)
        return Kind(x.ndim, x.dtype if x.dtype in ("int", "float") else "int")

    return infer


def _cumsum_vjp(b, stmt) -> tuple:
    return (b.emit("cumsum_grad", b.g, stmt.args[0], axis=stmt.attr("axis")),)


def _cumprod_vjp(b, stmt) -> tuple:
    return (b.emit("cumprod_grad", b.g, stmt.args[0], b.out, axis=stmt.attr("axis")),)


_SCAN = {"axis": None, "dtype": None, "out": None}
for _op, _vjp in (("cumsum", _cumsum_vjp), ("cumprod", _cumprod_vjp)):
    register(
        Rule(_op, f"rt.{_op}({{0}}, {{axis}})", _infer_scan(f"np.{_op}", True), _vjp, cheap=False)
    )
    _bind(_op, _SCAN, (_op,), _op)
register(Rule("cumsum_grad", "rt.cumsum_grad({0}, {1}, {axis})", lambda k, a: k[1]))
register(Rule("cumprod_grad", "rt.cumprod_grad({0}, {1}, {2}, {axis})", lambda k, a: k[1]))


def _infer_diff(kinds, attrs) -> Kind:
    n = attrs.get("n", 1)
    if type(n) is not int or n < 0:
        raise KindError(f"np.diff: n={n!r}", "give a whole number n >= 0")
    kind = _infer_scan("np.diff", False)(kinds, attrs)
    # (the differences of bools are `!=`: bools)
    return Kind(kind.ndim, "bool") if kinds[0].dtype == "bool" else kind


def _diff_vjp(b, stmt) -> tuple:
    n, axis = stmt.attr("n", 1), stmt.attr("axis", -1)
    return (b.emit("diff_grad", b.g, stmt.args[0], n=n, axis=axis),)


register(Rule("diff", "rt.diff({0}, {n}, {axis})", _infer_diff, _diff_vjp, cheap=False))
bind_call(np.diff, CallSpec("diff", ("a",), {"n": 1, "axis": -1}, name="np.diff", **_A))
register(Rule("diff_grad", "rt.diff_grad({0}, {1}, {n}, {axis})", lambda k, a: k[1]))


def _sort_vjp(b, stmt) -> tuple:
    return (b.emit("sort_grad", b.g, stmt.args[0], axis=stmt.attr("axis", -1)),)


def _infer_sort(kinds, attrs) -> Kind:
    if attrs.get("order") is not None:
        raise KindError("np.sort with order=", "sort an array of numbers")
    return _infer_scan("np.sort", True)(kinds, attrs)


register(Rule("sort", "rt.sort({0}, {axis})", _infer_sort, _sort_vjp, cheap=False))
bind_call(
    np.sort,
    CallSpec("sort", ("a",), {"axis": -1, "kind": None, "order": None}, name="np.sort", **_A),
)
register(Rule("sort_grad", "rt.sort_grad({0}, {1}, {axis})", lambda k, a: k[1]))


# --------------------------------------------------------------------------------------------
# Elementwise functions with hand-written derivatives (stable forms SymPy would not give)


def _elementwise(op: str, emit: str, vjp, infer=infer_float, names: tuple[str, ...] = ()) -> None:
    register(Rule(op, emit, infer, vjp, broadcasting=True))
    params = ("x1", "x2") if "{1}" in emit else ("x",)
    for name in names or (op,):
        bind_call(getattr(np, name), CallSpec(op, params, name=f"np.{name}", array_like=params))


def _logaddexp_vjp(b, stmt) -> tuple:
    # d/da log(e^a + e^b) = e^(a - out): never overflows
    return tuple(
        b.emit("mul", b.g, b.emit("exp", b.emit("sub", a, b.out))) if b.needs(i) else None
        for i, a in enumerate(stmt.args)
    )


def _logaddexp2_vjp(b, stmt) -> tuple:
    return tuple(
        b.emit("mul", b.g, b.emit("exp2", b.emit("sub", a, b.out))) if b.needs(i) else None
        for i, a in enumerate(stmt.args)
    )


def _sinc_vjp(b, stmt) -> tuple:
    # sinc(x) = sin(pi x) / (pi x): sinc'(x) = (cos(pi x) - sinc(x)) / x, and 0 at x = 0
    x = stmt.args[0]
    zero = b.emit("eq", x, Const(0.0))
    safe = b.emit("where", zero, Const(1.0), x)
    top = b.emit("sub", b.emit("cos", b.emit("mul", Const(math.pi), x)), b.out)
    return (b.emit("mul", b.g, b.emit("div", top, safe)),)


def _cbrt_vjp(b, stmt) -> tuple:
    # d cbrt(x) = 1 / (3 cbrt(x)^2): also for x < 0, where x ** (-2/3) would be NaN
    return (b.emit("div", b.g, b.emit("mul", Const(3.0), b.emit("mul", b.out, b.out))),)


def _fextreme_vjp(b, stmt) -> tuple:
    # np.fmax/np.fmin take the number where the other is NaN; a tie splits g in halves
    a, c = stmt.args
    tie = b.emit("add", Const(1.0), b.emit("eq", a, c))
    return tuple(
        b.emit("div", b.emit("mul", b.g, b.emit("eq", arg, b.out)), tie) if b.needs(i) else None
        for i, arg in enumerate((a, c))
    )


def _nan_to_num_vjp(b, stmt) -> tuple:
    x = stmt.args[0]
    return (b.emit("where", b.emit("isfinite", x), b.g, Const(0.0)),)


_elementwise("logaddexp", "np.logaddexp({0}, {1})", _logaddexp_vjp)
_elementwise("logaddexp2", "np.logaddexp2({0}, {1})", _logaddexp2_vjp)
_elementwise("sinc", "np.sinc({0})", _sinc_vjp)
_elementwise("cbrt", "np.cbrt({0})", _cbrt_vjp)
_elementwise("fmax", "np.fmax({0}, {1})", _fextreme_vjp, infer_arith)
_elementwise("fmin", "np.fmin({0}, {1})", _fextreme_vjp, infer_arith)
_elementwise("nan_to_num", "np.nan_to_num({0})", _nan_to_num_vjp, infer_arith)
register(Rule("isfinite", "np.isfinite({0})", infer_bool, emit_scalar="math.isfinite({0})"))
register(Rule("isnan", "np.isnan({0})", infer_bool, emit_scalar="math.isnan({0})"))
register(Rule("isinf", "np.isinf({0})", infer_bool, emit_scalar="math.isinf({0})"))
for _name in ("isfinite", "isnan", "isinf"):
    bind_call(getattr(np, _name), CallSpec(_name, ("x",), name=f"np.{_name}", array_like=("x",)))
    bind_call(getattr(math, _name), CallSpec(_name, ("x",), name=f"math.{_name}"))


# Forward mode (tangent_rules.py): the tangents of cumprod and sort along an integer axis.
def _sort_tangent_vjp(b, stmt) -> tuple:
    return (b.emit("sort_grad", b.g, stmt.args[1], axis=stmt.attr("axis")), None)


register(
    Rule(
        "cumprod_tangent",
        "rt.cumprod_tangent({0}, {1}, {2}, {axis})",
        lambda k, a: Kind(k[1].ndim, "float", k[1].same_shape_as),
    )
)
register(
    Rule(
        "sort_tangent",
        "rt.sort_tangent({0}, {1}, {axis})",
        lambda k, a: Kind(k[1].ndim, "float", k[1].same_shape_as),
        _sort_tangent_vjp,
        nondiff_args=(1,),
    )
)


# max() and min() of a sequence whose length is known at run time only (a list grown in a loop,
# a generator over range(n)): Python's value (a NaN after the first item is skipped), the
# gradient of np.max's (shared among the items equal to it).
for _op in ("pymax", "pymin"):
    register(Rule(_op, f"rt.{_op}({{0}})", _infer_extreme, _extreme_vjp, cheap=False))
