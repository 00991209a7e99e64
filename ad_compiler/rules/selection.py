"""Selection, padding and statistics functions: np.rollaxis, np.pad, np.partition, np.gradient,
np.diagonal, np.fft.fftshift/ifftshift, np.real/imag/conj/angle of real values, np.vstack /
np.hstack / np.column_stack of one array, and np.average with weights=.

Each rule moves or combines entries linearly (except the partition's permutation, chosen by
the values), so each adjoint sends the upstream gradient back along the same map: the entries a
pad copied, the transposed difference stencil of np.gradient, the diagonal put back into zeros.
The values come from NumPy through runtime helpers (runtime_selection.py), which have numba
versions in runtime_selection_numba.py. Complex values are out of scope: the compiler has no
complex kind, so np.real and friends are given real arguments only.
"""

from __future__ import annotations

import numpy as np

from ..errors import KindError
from ..ir import Const, Kind
from ..runtime_selection import PAD_MODES
from . import RULES, CallSpec, Rule, bind_attribute, bind_call, bind_method, register
from .shapes import norm_axes, norm_axis

# (imported first: the bindings of np.average, np.vstack, np.hstack and np.column_stack made
# there are replaced here by rules that take their cases and more)
from . import reductions, shapes  # noqa: E402,F401,I001  isort:skip


def _array(kinds, what: str, least: int = 0) -> Kind:
    x = kinds[0]
    if x.dtype == "shape":
        raise KindError(f"{what} of a shape", "index the shape: x.shape[0]")
    if x.ndim is not None and x.ndim < least:
        raise KindError(f"{what} of an array of {x.ndim} dimension(s)", f"pass {least}-D or more")
    return x


def _float(x: Kind) -> str | None:
    return None if x.dtype is None else "float"


def _ndim_known(b, x, what: str) -> int:
    ndim = b.kind(x).ndim
    if ndim is None:
        b.refuse(f"{what} of an array whose number of dimensions is unknown")
    return ndim


# --------------------------------------------------------------------------------------------
# np.rollaxis: np.moveaxis in NumPy's older words


def _roll_to(ndim: int, attrs: dict) -> tuple[int, int]:
    """(source, destination) of the np.moveaxis that np.rollaxis(x, axis, start) is."""
    axis = norm_axis(attrs["axis"], ndim, "np.rollaxis")
    start = attrs["start"]
    if type(start) is not int or not -ndim <= start <= ndim:
        raise KindError(
            f"np.rollaxis: start={start!r} for an array of {ndim} dimension(s)",
            f"give a start from {-ndim} to {ndim}",
        )
    start += ndim if start < 0 else 0
    return axis, start - 1 if axis < start else start


def _infer_rollaxis(kinds, attrs) -> Kind:
    x = _array(kinds, "np.rollaxis", least=1)
    if x.ndim is not None:
        _roll_to(x.ndim, attrs)
    return Kind(x.ndim, x.dtype)


def _rollaxis_vjp(b, stmt) -> tuple:
    ndim = _ndim_known(b, stmt.args[0], "np.rollaxis")
    source, destination = _roll_to(ndim, dict(stmt.attrs))
    return (b.emit("moveaxis", b.g, source=destination, destination=source),)


register(
    Rule(
        "rollaxis",
        "rt.rollaxis({0}, {axis}, {start})",
        _infer_rollaxis,
        _rollaxis_vjp,
        view=True,
    )
)
bind_call(
    np.rollaxis,
    CallSpec("rollaxis", ("a",), {"axis": None, "start": 0}, name="np.rollaxis", array_like=("a",)),
)


# --------------------------------------------------------------------------------------------
# np.real, np.imag, np.conj, np.angle of real values


def _infer_real(kinds, attrs) -> Kind:
    return _array(kinds, "np.real")


def _identity_vjp(b, stmt) -> tuple:
    return (b.g,)


register(Rule("real_part", "{0}", _infer_real, _identity_vjp, view=True))
for _name in ("real", "conj", "conjugate", "real_if_close"):
    bind_call(getattr(np, _name), CallSpec("real_part", ("val",), name=f"np.{_name}"))
for _name in ("conj", "conjugate"):
    bind_method(_name, CallSpec("real_part", ("a",), name=f".{_name}"))
bind_attribute("real", "real_part")


def _infer_imag(kinds, attrs) -> Kind:
    x = _array(kinds, "np.imag")
    return Kind(x.ndim, x.dtype if x.is_array else _float(x))


# The imaginary part of a real value: zeros (rt.zeros_like keeps the dtype).
register(Rule("imag_part", "rt.zeros_like({0})", _infer_imag, zero_derivative=True))
bind_call(np.imag, CallSpec("imag_part", ("val",), name="np.imag"))
bind_attribute("imag", "imag_part")


def _infer_angle(kinds, attrs) -> Kind:
    x = _array(kinds, "np.angle")
    if attrs.get("deg"):
        raise KindError("np.angle with deg=True", "np.degrees(np.angle(x))")
    return Kind(x.ndim, _float(x))


# The angle of a real number: 0, or pi for a negative one (and -0.0), as atan2(0, x).
register(
    Rule(
        "angle",
        "np.angle({0})",
        _infer_angle,
        zero_derivative=True,
        emit_scalar="math.atan2(0.0, {0})",
    )
)
bind_call(np.angle, CallSpec("angle", ("z",), {"deg": False}, name="np.angle"))


# --------------------------------------------------------------------------------------------
# np.fft.fftshift, np.fft.ifftshift: rolls by half of each axis's length


def _infer_fftshift(kinds, attrs) -> Kind:
    x = _array(kinds, "np.fft.fftshift", least=1)
    if x.ndim is not None and attrs["axes"] is not None:
        norm_axes(attrs["axes"], x.ndim, "np.fft.fftshift")
    return x


def _fftshift_vjp(b, stmt) -> tuple:
    return (b.emit("fftshift", b.g, axes=stmt.attr("axes"), inverse=not stmt.attr("inverse")),)


register(Rule("fftshift", "rt.fftshift({0}, {axes}, {inverse})", _infer_fftshift, _fftshift_vjp))
for _name, _inverse in (("fftshift", False), ("ifftshift", True)):
    bind_call(
        getattr(np.fft, _name),
        CallSpec(
            "fftshift",
            ("x",),
            {"axes": None, "inverse": _inverse},
            name=f"np.fft.{_name}",
            array_like=("x",),
        ),
    )


# --------------------------------------------------------------------------------------------
# np.pad


def _check_pad(ndim: int, attrs: dict) -> None:
    width = attrs["pad_width"]
    try:
        widths = np.broadcast_to(np.asarray(width), (ndim, 2))
    except ValueError:
        widths = None
    if widths is None or widths.dtype.kind not in "iu" or (widths < 0).any():
        raise KindError(
            f"np.pad: pad_width={width!r} for an array of {ndim} dimension(s)",
            "give an int, a pair (before, after), or a pair per axis, none negative",
        )


def _infer_pad(kinds, attrs) -> Kind:
    x = _array(kinds, "np.pad", least=1)
    if attrs["mode"] not in PAD_MODES:
        raise KindError(
            f"np.pad with mode={attrs['mode']!r}", f"use one of the modes {', '.join(PAD_MODES)}"
        )
    value = attrs["constant_values"]
    if type(value) not in (int, float, bool):
        raise KindError(
            "np.pad: constant_values must be one number here",
            "pad with 0 and add the constant where wanted",
        )
    if attrs["mode"] != "constant" and value != 0:
        raise KindError(f"np.pad: constant_values with mode={attrs['mode']!r}", "drop it")
    if x.ndim is not None:
        _check_pad(x.ndim, attrs)
    return Kind(x.ndim, x.dtype)


def _emit_pad(n: int, attrs: dict) -> str:
    return f"rt.pad({{0}}, {{pad_width}}, {PAD_MODES.index(attrs['mode'])}, {{constant_values}})"


def _pad_vjp(b, stmt) -> tuple:
    code = PAD_MODES.index(stmt.attr("mode"))
    return (b.emit("pad_grad", b.g, stmt.args[0], pad_width=stmt.attr("pad_width"), mode=code),)


register(Rule("pad", _emit_pad, _infer_pad, _pad_vjp))
register(Rule("pad_grad", "rt.pad_grad({0}, {1}, {pad_width}, {mode})", lambda k, a: k[1]))
bind_call(
    np.pad,
    CallSpec(
        "pad",
        ("array",),
        {"pad_width": None, "mode": "constant", "constant_values": 0},
        name="np.pad",
        array_like=("array",),
    ),
)


# --------------------------------------------------------------------------------------------
# np.partition (its adjoint matches entries by rank, as sort's does)


def _infer_partition(kinds, attrs) -> Kind:
    x = _array(kinds, "np.partition")
    kth, axis = attrs["kth"], attrs["axis"]
    many = kth if isinstance(kth, tuple) else (kth,)
    if not many or not all(type(k) is int for k in many):
        raise KindError(f"np.partition: kth={kth!r}", "give an int or a tuple of ints")
    if isinstance(axis, tuple):
        raise KindError("np.partition with a tuple of axes", "give one axis")
    if attrs.get("kind") not in (None, "introselect") or attrs.get("order") is not None:
        raise KindError("np.partition with kind= or order=", "drop them")
    if x.ndim is None:
        return x
    if axis is None:
        return Kind(1, x.dtype)
    if x.ndim == 0:
        raise KindError("np.partition of a number", "pass an array")
    norm_axis(axis, x.ndim, "np.partition")
    return x


def _partition_vjp(b, stmt) -> tuple:
    return (b.emit("partition_grad", b.g, stmt.args[0], b.out, axis=stmt.attr("axis")),)


register(Rule("partition", "rt.partition({0}, {kth}, {axis})", _infer_partition, _partition_vjp))
register(Rule("partition_grad", "rt.partition_grad({0}, {1}, {2}, {axis})", lambda k, a: k[1]))
bind_call(
    np.partition,
    CallSpec(
        "partition",
        ("a",),
        {"kth": None, "axis": -1, "kind": "introselect", "order": None},
        name="np.partition",
        array_like=("a",),
    ),
)


# --------------------------------------------------------------------------------------------
# np.gradient along one axis, with one spacing (a number) or none


def _infer_gradient(kinds, attrs) -> Kind:
    f = _array(kinds, "np.gradient", least=1)
    more = any(attrs[name] is not None for name in _MORE_SPACINGS)
    if more or any(k.ndim != 0 for k in kinds[1:]):
        raise KindError(
            "np.gradient with coordinates, or a spacing per axis",
            "give one spacing, a number: np.gradient(f, h, axis=k)",
        )
    if attrs["edge_order"] not in (1, 2):
        raise KindError(f"np.gradient: edge_order={attrs['edge_order']!r}", "give 1 or 2")
    axis = _gradient_axis(attrs)
    if f.ndim is None:
        return Kind(None, _float(f))
    if axis is None and f.ndim > 1:
        raise KindError(
            "np.gradient of a many-dimensional array along all its axes (how many results "
            "there are depends on the array)",
            "name the axes: np.gradient(f, axis=(0, 1)) returns one array per axis",
        )
    if axis is not None:
        norm_axes(axis, f.ndim, "np.gradient")
    return Kind(f.ndim, _float(f))


def _gradient_axis(attrs: dict):
    """The axis of this result: np.gradient(f, axis=(0, 1)) returns one array per axis,
    each its own operation (`item`)."""
    axis = attrs["axis"]
    if isinstance(axis, tuple):
        return axis[attrs.get("item", 0)]
    return axis


def _gradient_results(attrs: dict) -> int:
    axis = attrs["axis"]
    return len(axis) if isinstance(axis, tuple) and len(axis) > 1 else 0


def _emit_gradient(n: int, attrs: dict) -> str:
    spacing = "{1}" if n == 2 else "1.0"
    return f"rt.gradient({{0}}, {spacing}, {_gradient_axis(attrs)!r}, {{edge_order}})"


def _gradient_vjp(b, stmt) -> tuple:
    spacing = stmt.args[1] if len(stmt.args) == 2 else Const(1.0)
    axis = _gradient_axis(dict(stmt.attrs))
    attrs = {"axis": axis, "edge_order": stmt.attr("edge_order")}
    df = b.emit("gradient_grad", b.g, spacing, **attrs) if b.needs(0) else None
    if len(stmt.args) == 1:
        return (df,)
    # the result is (differences of f) / h: its derivative in h is -result / h
    dh = None
    if b.needs(1):
        dh = b.emit("neg", b.emit("div", b.emit("sum", b.emit("mul", b.g, b.out)), spacing))
    return (df, dh)


register(Rule("gradient", _emit_gradient, _infer_gradient, _gradient_vjp))
register(
    Rule("gradient_grad", "rt.gradient_grad({0}, {1}, {axis}, {edge_order})", lambda k, a: k[0])
)
# One spacing by position (an optional operand); more (one per axis, or coordinates) land in
# the placeholders _h2, ... (never keywords of NumPy's), which the kind inference refuses.
_MORE_SPACINGS = {f"_h{i}": None for i in range(2, 33)}
bind_call(
    np.gradient,
    CallSpec(
        "gradient",
        ("f",),
        {**_MORE_SPACINGS, "axis": None, "edge_order": 1},
        name="np.gradient",
        array_like=("f",),
        optional=("spacing",),
        results=_gradient_results,
    ),
)


# --------------------------------------------------------------------------------------------
# np.diagonal, .diagonal()


def _infer_diagonal(kinds, attrs) -> Kind:
    x = _array(kinds, "np.diagonal", least=2)
    if type(attrs["offset"]) is not int:
        raise KindError("np.diagonal: offset= must be an int", "np.diagonal(x, 1)")
    if x.ndim is None:
        return Kind(None, x.dtype)
    a1 = norm_axis(attrs["axis1"], x.ndim, "np.diagonal")
    if a1 == norm_axis(attrs["axis2"], x.ndim, "np.diagonal"):
        raise KindError("np.diagonal: axis1 and axis2 are the same axis", "name two axes")
    return Kind(x.ndim - 1, x.dtype)


def _diagonal_vjp(b, stmt) -> tuple:
    ndim = _ndim_known(b, stmt.args[0], "np.diagonal")
    attrs = {
        "offset": stmt.attr("offset"),
        "axis1": norm_axis(stmt.attr("axis1"), ndim, "np.diagonal"),
        "axis2": norm_axis(stmt.attr("axis2"), ndim, "np.diagonal"),
    }
    return (b.emit("diagonal_grad", b.g, stmt.args[0], **attrs),)


register(
    Rule("diagonal", "rt.diagonal({0}, {offset}, {axis1}, {axis2})", _infer_diagonal, _diagonal_vjp)
)
register(
    Rule(
        "diagonal_grad",
        "rt.diagonal_grad({0}, {1}, {offset}, {axis1}, {axis2})",
        lambda k, a: k[1],
    )
)
_DIAGONAL = {"offset": 0, "axis1": 0, "axis2": 1}
bind_call(
    np.diagonal, CallSpec("diagonal", ("a",), _DIAGONAL, name="np.diagonal", array_like=("a",))
)
bind_method("diagonal", CallSpec("diagonal", ("a",), _DIAGONAL, name=".diagonal"))


# --------------------------------------------------------------------------------------------
# np.vstack / np.row_stack, np.hstack, np.column_stack given one array: NumPy joins its rows
# A[0], A[1], ..., which is a reshape of A (a transpose and reshape for hstack). Given a tuple
# or list of arrays, they are shapes.py's joins.


def _infer_stack_of(name: str):
    def infer(kinds, attrs) -> Kind:
        if "items" in attrs:
            return RULES[name].infer(kinds, attrs)
        a = _array(kinds, f"np.{name}", least=1)
        if a.ndim is None:
            return a
        # a row of a 1-D array is a number, of a 2-D one a vector (a row of the result for
        # vstack, a column for column_stack); rows of more dimensions are joined along an axis
        ndim = max(a.ndim - 1, 1 if name == "hstack" else 2)
        return Kind(ndim, a.dtype)

    return infer


def _emit_stack_of(name: str):
    def emit(n: int, attrs: dict) -> str:
        if "items" in attrs:
            joined = RULES[name].emit
            return joined(n, attrs) if callable(joined) else joined
        return f"rt.{name}_of({{0}})"

    return emit


def _stack_of_vjp(name: str):
    def vjp(b, stmt) -> tuple:
        if "items" in dict(stmt.attrs):
            return RULES[name].vjp(b, stmt)
        if name == "vstack":
            return (b.emit("reshape_to", b.g, stmt.args[0]),)
        return (b.emit(f"{name}_of_grad", b.g, stmt.args[0]),)

    return vjp


for _name in ("vstack", "hstack", "column_stack"):
    register(
        Rule(f"{_name}_of", _emit_stack_of(_name), _infer_stack_of(_name), _stack_of_vjp(_name))
    )
    _spec = CallSpec(f"{_name}_of", ("tup",), name=f"np.{_name}", separate="tup")
    bind_call(getattr(np, _name), _spec)
    if _name == "vstack" and hasattr(np, "row_stack"):
        bind_call(np.row_stack, _spec)
for _name in ("hstack", "column_stack"):
    register(Rule(f"{_name}_of_grad", f"rt.{_name}_of_grad({{0}}, {{1}})", lambda k, a: k[1]))


# --------------------------------------------------------------------------------------------
# np.average with weights= (without, it is the mean: reductions.py's rule)


def _infer_average(kinds, attrs) -> Kind:
    if attrs.get("returned"):
        raise KindError("np.average with returned=True", "compute np.sum(w, axis) beside it")
    if "weights" not in attrs["given"]:
        return RULES["average"].infer(kinds, attrs)
    a, w = kinds
    if a.ndim is not None and w.ndim is not None and a.ndim != w.ndim:
        raise KindError(
            "np.average with weights of another number of dimensions than the array",
            "give weights of the array's shape (w[:, None] * np.ones_like(a))",
        )
    _array(kinds, "np.average", least=1)
    return RULES["average"].infer(kinds[:1], attrs)


def _emit_average(n: int, attrs: dict) -> str:
    if n == 1:
        return "rt.rmean({0}, {axis}, {keepdims})"
    return "rt.weighted_average({0}, {1}, {axis}, {keepdims})"


def _average_vjp(b, stmt) -> tuple:
    if len(stmt.args) == 1:
        return RULES["average"].vjp(b, stmt)
    a, w = stmt.args
    reduced = {"axis": stmt.attr("axis"), "keepdims": bool(stmt.attr("keepdims"))}
    total = b.emit("sum", w, **reduced)
    share = b.emit("reduce_grad", b.emit("div", b.g, total), a, **reduced)
    da = b.emit("mul", share, w) if b.needs(0) else None
    dw = None
    if b.needs(1):
        mean = b.emit("reduce_grad", b.out, a, **reduced)
        dw = b.emit("mul", share, b.emit("sub", a, mean))
    return (da, dw)


register(Rule("weighted_average", _emit_average, _infer_average, _average_vjp, cheap=False))
bind_call(
    np.average,
    CallSpec(
        "weighted_average",
        ("a",),
        {"axis": None, "returned": False, "keepdims": False},
        name="np.average",
        array_like=("a", "weights"),
        optional=("weights",),
        positions=("a", "axis", "weights", "returned", "keepdims"),
    ),
)
