"""More shape functions (see shapes.py): repeating entries (np.repeat, np.tile) and diagonals
and triangles (np.diag, np.trace, np.tril, np.triu).

A repeated entry receives the sum of the adjoints of its copies; a diagonal or triangle passes
the adjoint back to the entries it took, and zero to the others. The runtime helpers
(`rt.repeat_grad`, `rt.tile_grad`, `rt.diag_grad`, `rt.trace`, `rt.trace_grad`) have numba
versions in runtime_shapes.py.
"""

from __future__ import annotations

import numpy as np

from ..errors import KindError
from ..ir import Kind
from . import CallSpec, Rule, bind_call, bind_method, register
from .shapes import norm_axis


def _array_of(kinds, what: str, least: int = 0) -> Kind:
    x = kinds[0]
    if x.dtype == "shape":
        raise KindError(f"{what} of a shape", "index the shape: x.shape[0]")
    if x.ndim is not None and x.ndim < least:
        raise KindError(f"{what} of an array of {x.ndim} dimension(s)", f"pass {least}-D or more")
    return x


def _int_attr(attrs: dict, name: str, what: str) -> int:
    value = attrs[name]
    if type(value) is not int:
        raise KindError(f"{what}: {name}= must be an int here", f"{what}(x, {name}=1)")
    return value


# --------------------------------------------------------------------------------------------
# np.repeat, np.tile


def _infer_repeat(kinds, attrs) -> Kind:
    x = _array_of(kinds, "np.repeat")
    if _int_attr(attrs, "repeats", "np.repeat") < 0:
        raise KindError("np.repeat: negative repeats", "repeat 0 or more times")
    if attrs["axis"] is None:
        return Kind(1, x.dtype)
    if x.ndim is not None:
        norm_axis(attrs["axis"], max(x.ndim, 1), "np.repeat")
    return Kind(max(x.ndim, 1) if x.ndim is not None else None, x.dtype)


def _repeat_vjp(b, stmt) -> tuple:
    attrs = dict(stmt.attrs)
    return (b.emit("repeat_grad", b.g, stmt.args[0], **attrs),)


register(
    Rule(
        "repeat",
        lambda n, a: (
            "np.repeat({0}, {repeats})"
            if a["axis"] is None
            else "rt.repeat({0}, {repeats}, {axis})"
        ),
        _infer_repeat,
        _repeat_vjp,
    )
)
register(Rule("repeat_grad", "rt.repeat_grad({0}, {1}, {repeats}, {axis})", lambda k, a: k[1]))
_REPEAT = {"repeats": None, "axis": None}
bind_call(np.repeat, CallSpec("repeat", ("a",), _REPEAT, name="np.repeat", array_like=("a",)))
bind_method("repeat", CallSpec("repeat", ("a",), _REPEAT, name=".repeat"))


def _reps(attrs: dict) -> tuple:
    reps = attrs["reps"]
    reps = reps if isinstance(reps, tuple) else (reps,)
    if not all(type(r) is int and r >= 0 for r in reps):
        raise KindError("np.tile: reps must be ints of 0 or more", "np.tile(x, (2, 3))")
    return reps


def _infer_tile(kinds, attrs) -> Kind:
    x = _array_of(kinds, "np.tile")
    reps = _reps(attrs)
    return Kind(None if x.ndim is None else max(x.ndim, len(reps)), x.dtype)


def _tile_vjp(b, stmt) -> tuple:
    return (b.emit("tile_grad", b.g, stmt.args[0], reps=_reps(dict(stmt.attrs))),)


register(Rule("tile", lambda n, a: f"rt.tile({{0}}, {_reps(a)!r})", _infer_tile, _tile_vjp))
register(Rule("tile_grad", "rt.tile_grad({0}, {1}, {reps})", lambda k, a: k[1]))
bind_call(np.tile, CallSpec("tile", ("A",), {"reps": None}, name="np.tile", array_like=("A",)))


# --------------------------------------------------------------------------------------------
# np.tril, np.triu, np.diag, np.trace


def _infer_triangle(what: str):
    def infer(kinds, attrs) -> Kind:
        x = _array_of(kinds, what, least=2)
        _int_attr(attrs, "k", what)
        return Kind(x.ndim, x.dtype)

    return infer


def _triangle_vjp(b, stmt) -> tuple:
    return (b.emit(stmt.op, b.g, k=stmt.attr("k")),)


for _name in ("tril", "triu"):
    register(
        Rule(
            _name,
            f"np.{_name}({{0}}, {{k}})",
            _infer_triangle(f"np.{_name}"),
            _triangle_vjp,
        )
    )
    bind_call(
        getattr(np, _name),
        CallSpec(_name, ("m",), {"k": 0}, name=f"np.{_name}", array_like=("m",)),
    )


def _infer_diag(kinds, attrs) -> Kind:
    x = _array_of(kinds, "np.diag")
    _int_attr(attrs, "k", "np.diag")
    if x.ndim is None:
        return Kind(None, x.dtype)
    if x.ndim not in (1, 2):
        raise KindError(
            f"np.diag of an array of {x.ndim} dimension(s): NumPy takes 1-D or 2-D",
            "np.diagonal(x, axis1=..., axis2=...) for other arrays",
        )
    return Kind(3 - x.ndim, x.dtype)


def _diag_vjp(b, stmt) -> tuple:
    x, k = stmt.args[0], stmt.attr("k")
    if b.kind(x).ndim == 1:  # the vector went onto the k-th diagonal: read it back
        return (b.emit("diag", b.g, k=k),)
    return (b.emit("diag_grad", b.g, x, k=k),)


register(Rule("diag", "np.diag({0}, {k})", _infer_diag, _diag_vjp))
register(Rule("diag_grad", "rt.diag_grad({0}, {1}, {k})", lambda k, a: k[1]))
bind_call(np.diag, CallSpec("diag", ("v",), {"k": 0}, name="np.diag", array_like=("v",)))


def _infer_trace(kinds, attrs) -> Kind:
    x = _array_of(kinds, "np.trace", least=2)
    _int_attr(attrs, "offset", "np.trace")
    if x.ndim is None:
        return Kind(None, "float" if x.dtype == "float" else x.dtype)
    if norm_axis(attrs["axis1"], x.ndim, "np.trace") == norm_axis(
        attrs["axis2"], x.ndim, "np.trace"
    ):
        raise KindError("np.trace: axis1 and axis2 are the same axis", "name two axes")
    return Kind(x.ndim - 2, "int" if x.dtype == "bool" else x.dtype)


def _trace_vjp(b, stmt) -> tuple:
    return (b.emit("trace_grad", b.g, stmt.args[0], **dict(stmt.attrs)),)


register(
    Rule(
        "trace",
        "rt.trace({0}, {offset}, {axis1}, {axis2})",
        _infer_trace,
        _trace_vjp,
        cheap=False,
    )
)
register(
    Rule("trace_grad", "rt.trace_grad({0}, {1}, {offset}, {axis1}, {axis2})", lambda k, a: k[1])
)
_TRACE = {"offset": 0, "axis1": 0, "axis2": 1}
bind_call(np.trace, CallSpec("trace", ("a",), _TRACE, name="np.trace", array_like=("a",)))
bind_method("trace", CallSpec("trace", ("a",), _TRACE, name=".trace"))
