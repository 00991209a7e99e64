"""Shape and assembly functions: joining arrays (np.concatenate, np.stack, np.hstack, ...),
dropping and adding axes, reordering (flips, rolls, axis permutations), repeating, and the
diagonal and triangle functions.

Every rule here moves entries around without changing them, so each adjoint moves the upstream
gradient back: a slice of it for a joined item, the inverse permutation, a sum over the copies
of a repeated entry. Axes, shifts and counts are compile-time constants (attributes), checked
against the number of dimensions as NumPy checks them; what NumPy would refuse is refused here
with a KindError. Where numba lacks a NumPy function or keyword, the generated code calls a
runtime helper (`rt.flip`, `rt.repeat`, ...), implemented for numba in runtime_shapes_numba.
"""

from __future__ import annotations

import numpy as np

from ..errors import KindError
from ..ir import Const, Kind
from . import CallSpec, Rule, bind_call, bind_method, register
from .arrays import _reshape_vjp

# --------------------------------------------------------------------------------------------
# Common checks


def norm_axis(axis: object, ndim: int, what: str) -> int:
    """`axis` within `ndim` dimensions, made non-negative, as NumPy accepts it."""
    if type(axis) is not int or not -ndim <= axis < ndim:
        raise KindError(
            f"{what}: axis={axis!r} for an array of {ndim} dimension(s)",
            f"give an axis from {-ndim} to {ndim - 1}" if ndim else "pass an array",
        )
    return axis % ndim


def norm_axes(axes: object, ndim: int, what: str) -> tuple[int, ...]:
    """One axis or a tuple of distinct axes, made non-negative."""
    many = axes if isinstance(axes, tuple) else (axes,)
    out = tuple(norm_axis(a, ndim, what) for a in many)
    if len(set(out)) < len(out):
        raise KindError(f"{what}: axis={axes!r} names an axis twice", "name each axis once")
    return out


def _joined_dtype(kinds) -> str | None:
    dtypes = {k.dtype for k in kinds}
    if None in dtypes:
        return None
    if "shape" in dtypes:
        raise KindError("a shape given as an array to join", "index the shape: x.shape[0]")
    if "float" in dtypes:
        return "float"
    return "bool" if dtypes == {"bool"} else "int"


def _array_in(kinds, what: str) -> Kind:
    x = kinds[0]
    if x.dtype == "shape":
        raise KindError(f"{what} of a shape", "index the shape: x.shape[0]")
    return x


def _operands(n: int, first: int = 0) -> str:
    return "(" + "".join(f"{{{i}}}, " for i in range(first, n)) + ")"


# --------------------------------------------------------------------------------------------
# Joining: np.concatenate, np.append, np.hstack, np.vstack, np.column_stack, np.stack
#
# The items arrive as separate operands (CallSpec.separate). A plan says, for the result, the
# axis the items are laid along and, per item, its length there: ("dim", k) for its axis k,
# ("size",) for all its entries (raveled), ("one",) for a number or a 1-D item made one row.


def _plan(op: str, kinds, attrs) -> tuple[int | None, int, list[tuple]]:
    """(result ndim or None when unknown, result axis, each item's length) for a join."""
    ndims = [k.ndim for k in kinds]
    what = f"np.{op}"
    if op != "append" and "items" not in attrs:
        raise KindError(
            f"{what} of an array, or of a list whose length is known only at run time",
            f"pass a tuple or list of arrays: {what}((a, b))",
        )
    if not kinds:
        raise KindError(f"{what} of no arrays", "give it at least one array")
    if None in ndims:
        return None, 0, []
    axis = attrs.get("axis")
    if op in ("concatenate", "append") and axis is None:
        return 1, 0, [("one",) if n == 0 else ("size",) for n in ndims]
    if op in ("concatenate", "append"):
        if 0 in ndims:
            raise KindError(
                f"{what}: zero-dimensional arrays cannot be concatenated",
                "np.stack((a, b)) or np.array([a, b]) joins numbers",
            )
        _same_ndim(ndims, what)
        return ndims[0], norm_axis(axis, ndims[0], what), [("dim", axis)] * len(ndims)
    if op == "hstack":
        if all(n <= 1 for n in ndims):
            return 1, 0, [("one",) if n == 0 else ("size",) for n in ndims]
        _same_ndim(ndims, what)
        return ndims[0], 1, [("dim", 1)] * len(ndims)
    if op == "vstack":
        ndim = _same_ndim([max(n, 2) for n in ndims], what)
        return ndim, 0, [("one",) if n <= 1 else ("dim", 0) for n in ndims]
    # column_stack: numbers and 1-D items are columns
    ndim = _same_ndim([max(n, 2) for n in ndims], what)
    return ndim, 1, [("one",) if n <= 1 else ("dim", 1) for n in ndims]


def _same_ndim(ndims: list[int], what: str) -> int:
    if len(set(ndims)) > 1:
        raise KindError(
            f"{what} of arrays with different numbers of dimensions {tuple(ndims)}",
            "give it arrays with the same number of dimensions (np.atleast_2d, x[None])",
        )
    return ndims[0]


def _infer_join(op: str):
    def infer(kinds, attrs) -> Kind:
        ndim, _, _ = _plan(op, kinds, attrs)
        return Kind(ndim, _joined_dtype(kinds))

    return infer


def _slice_along(b, g, start, stop, axis: int):
    """g[:, ..., start:stop] with the slice on `axis`."""
    structure = (("s", 0, 0, 0),) * axis + (("s", 1, 1, 0),)
    return b.emit("getitem", g, start, stop, index=structure)


def _join_vjp(op: str):
    def vjp(b, stmt) -> tuple:
        items = stmt.args
        kinds = [b.kind(x) for x in items]
        ndim, axis, lengths = _plan(op, kinds, dict(stmt.attrs))
        if ndim is None:
            b.refuse(f"np.{op} of arrays whose numbers of dimensions are unknown")
        grads, start = [], Const(0)
        for i, (x, length) in enumerate(zip(items, lengths)):
            if length[0] == "one":
                size = Const(1)
            elif length[0] == "size":
                size = b.emit("size", x)
            else:
                size = b.emit("dim", x, axis=length[1])
            stop = size if start == Const(0) else b.emit("add", start, size)
            if b.needs(i):
                piece = _slice_along(b, b.g, start, stop, axis)
                if kinds[i].ndim != ndim or length[0] == "size":
                    piece = b.emit("reshape_to", piece, x)
                grads.append(piece)
            else:
                grads.append(None)
            start = stop
        return tuple(grads)

    return vjp


def _emit_concatenate(n: int, attrs: dict) -> str:
    if attrs.get("axis") is None:
        return "np.concatenate((" + "".join(f"{{{i}}}.ravel(), " for i in range(n)) + "))"
    return "np.concatenate(" + _operands(n) + ", axis={axis})"


register(
    Rule("concatenate", _emit_concatenate, _infer_join("concatenate"), _join_vjp("concatenate"))
)


def _emit_named(name: str):
    """np.hstack((a, b)) and friends; numba's take arrays only, so a number is made one."""

    def emit(n: int, attrs: dict) -> str:
        # numba's vstack joins 2-D arrays only: rows are made matrices first, as NumPy does
        item = (
            "np.atleast_2d(rt.atleast_1d({{{i}}}))"
            if name == "vstack"
            else "rt.atleast_1d({{{i}}})"
        )
        return f"np.{name}((" + "".join(item.format(i=i) + ", " for i in range(n)) + "))"

    return emit


for _op in ("hstack", "vstack", "column_stack"):
    register(Rule(_op, _emit_named(_op), _infer_join(_op), _join_vjp(_op)))


def _emit_append(n: int, attrs: dict) -> str:
    if attrs.get("axis") is None:
        return "np.append({0}, {1})"
    return "np.append({0}, {1}, axis={axis})"


register(Rule("append", _emit_append, _infer_join("append"), _join_vjp("append")))


def _infer_stack_axis(kinds, attrs) -> Kind:
    if "items" not in attrs:
        raise KindError(
            "np.stack of an array, or of a list whose length is known only at run time",
            "pass a tuple or list of arrays: np.stack((a, b))",
        )
    if not kinds:
        raise KindError("np.stack of no arrays", "give it at least one array")
    ndims = [k.ndim for k in kinds]
    dtype = _joined_dtype(kinds)
    if None in ndims:
        return Kind(None, dtype)
    if len(set(ndims)) > 1:
        raise KindError(
            f"np.stack of arrays with different numbers of dimensions {tuple(ndims)}",
            "np.stack joins arrays of one shape",
        )
    norm_axis(attrs["axis"], ndims[0] + 1, "np.stack")
    return Kind(ndims[0] + 1, dtype)


def _stack_axis_vjp(b, stmt) -> tuple:
    ndim = b.kind(b.out).ndim
    if ndim is None:
        b.refuse("np.stack of arrays whose numbers of dimensions are unknown")
    axis = norm_axis(stmt.attr("axis"), ndim, "np.stack")
    index = (("s", 0, 0, 0),) * axis + (("i",),)
    return tuple(
        b.emit("getitem", b.g, Const(i), index=index) if b.needs(i) else None
        for i in range(len(stmt.args))
    )


def _emit_stack_scalars(n: int, attrs: dict) -> str:
    return "np.array([" + ", ".join(f"{{{i}}}" for i in range(n)) + "])"


register(
    Rule(
        "stack_axis",
        lambda n, a: "np.stack(" + _operands(n) + ", axis={axis})",
        _infer_stack_axis,
        _stack_axis_vjp,
        emit_scalar=_emit_stack_scalars,  # (numbers: the axis is 0 or -1, checked above)
    )
)

_APPEND = ("arr", "values")
bind_call(
    np.append, CallSpec("append", _APPEND, {"axis": None}, name="np.append", array_like=_APPEND)
)
# A sequence of arrays: its items arrive as separate operands (CallSpec.separate).
_SEQ = {"params": ("arrays",), "separate": "arrays"}
bind_call(
    np.concatenate, CallSpec("concatenate", static={"axis": 0}, name="np.concatenate", **_SEQ)
)
bind_call(np.stack, CallSpec("stack_axis", static={"axis": 0}, name="np.stack", **_SEQ))
for _op in ("hstack", "vstack", "column_stack"):
    bind_call(getattr(np, _op), CallSpec(_op, name=f"np.{_op}", **_SEQ))


# --------------------------------------------------------------------------------------------
# Dropping and adding axes: np.squeeze, np.ravel, .flatten(), np.expand_dims


def _infer_squeeze(kinds, attrs) -> Kind:
    x = _array_in(kinds, "np.squeeze")
    axis = attrs.get("axis")
    if x.ndim is None:
        return Kind(None, x.dtype)
    if axis is None and x.ndim > 0:
        raise KindError(
            "np.squeeze without axis=: which axes have length 1 is known only at run time, "
            "and with it the number of dimensions of the result",
            "name the axes: np.squeeze(x, axis=1), or index: x[:, 0]",
        )
    if axis is None:
        return x
    return Kind(x.ndim - len(norm_axes(axis, x.ndim, "np.squeeze")), x.dtype)


register(
    Rule(
        "squeeze",
        "rt.squeeze({0}, {axis})",
        _infer_squeeze,
        _reshape_vjp,
        view=True,
        emit_scalar="{0}",
    )
)
_SQUEEZE = CallSpec("squeeze", ("a",), {"axis": None}, name="np.squeeze", array_like=("a",))
bind_call(np.squeeze, _SQUEEZE)
bind_method("squeeze", CallSpec("squeeze", ("a",), {"axis": None}, name=".squeeze"))


def _infer_ravel(kinds, attrs) -> Kind:
    return Kind(1, _array_in(kinds, "np.ravel").dtype)


register(
    Rule(
        "ravel",
        "np.ravel({0})",
        _infer_ravel,
        _reshape_vjp,
        view=True,
        emit_scalar="np.array([{0}])",
    )
)
register(Rule("flatten", "{0}.flatten()", _infer_ravel, _reshape_vjp))
bind_call(np.ravel, CallSpec("ravel", ("a",), name="np.ravel", array_like=("a",)))
bind_method("ravel", CallSpec("ravel", ("a",), name=".ravel"))
bind_method("flatten", CallSpec("flatten", ("a",), name=".flatten"))


def _infer_expand(kinds, attrs) -> Kind:
    x = _array_in(kinds, "np.expand_dims")
    if attrs["axis"] is None:
        raise KindError("np.expand_dims needs its axis", "np.expand_dims(x, 0)")
    if x.ndim is None:
        return Kind(None, x.dtype)
    axes = attrs["axis"] if isinstance(attrs["axis"], tuple) else (attrs["axis"],)
    norm_axes(attrs["axis"], x.ndim + len(axes), "np.expand_dims")
    return Kind(x.ndim + len(axes), x.dtype)


register(
    Rule(
        "expand_axes",
        "rt.expand_axes({0}, {axis})",
        _infer_expand,
        _reshape_vjp,
        view=True,
    )
)
bind_call(
    np.expand_dims,
    CallSpec("expand_axes", ("a",), {"axis": None}, name="np.expand_dims", array_like=("a",)),
)


# --------------------------------------------------------------------------------------------
# Reordering: np.transpose(x, axes), np.moveaxis, np.swapaxes, flips, np.rot90, np.roll


def _same_shape_rule(what: str, check=None):
    """Kind inference for an operation whose result has its argument's ndim and dtype;
    `check(ndim, attrs)` validates the attributes when the ndim is known."""

    def infer(kinds, attrs) -> Kind:
        x = _array_in(kinds, what)
        if x.ndim is not None and check is not None:
            check(x.ndim, attrs)
        return Kind(x.ndim, x.dtype)

    return infer


def _check_permutation(ndim: int, attrs: dict) -> None:
    axes = attrs["axes"]
    if axes is None:
        return
    if not isinstance(axes, tuple) or sorted(norm_axes(axes, ndim, "np.transpose")) != list(
        range(ndim)
    ):
        raise KindError(
            f"np.transpose: axes={axes!r} is not an order of the {ndim} axes",
            f"give each axis from 0 to {ndim - 1} once",
        )


def _permute_vjp(b, stmt) -> tuple:
    axes = stmt.attr("axes")
    if axes is None:
        return (b.emit("permute", b.g, axes=None),)
    ndim = len(axes)
    inverse = [0] * ndim
    for position, axis in enumerate(axes):
        inverse[axis % ndim] = position
    return (b.emit("permute", b.g, axes=tuple(inverse)),)


register(
    Rule(
        "permute",
        lambda n, a: "{0}.T" if a.get("axes") is None else "np.transpose({0}, {axes})",
        _same_shape_rule("np.transpose", _check_permutation),
        _permute_vjp,
        view=True,
        emit_scalar="{0}",
    )
)
# (x.T is arrays.py's "transpose")
bind_call(
    np.transpose,
    CallSpec("permute", ("a",), {"axes": None}, name="np.transpose", array_like=("a",)),
)
bind_method("transpose", CallSpec("permute", ("a",), {"axes": None}, name=".transpose"))


def _check_move(ndim: int, attrs: dict) -> None:
    source = norm_axes(attrs["source"], ndim, "np.moveaxis")
    destination = norm_axes(attrs["destination"], ndim, "np.moveaxis")
    if len(source) != len(destination):
        raise KindError(
            "np.moveaxis: source and destination name different numbers of axes",
            "give as many destinations as sources",
        )


def _moveaxis_vjp(b, stmt) -> tuple:
    back = {"source": stmt.attr("destination"), "destination": stmt.attr("source")}
    return (b.emit("moveaxis", b.g, **back),)


register(
    Rule(
        "moveaxis",
        "np.moveaxis({0}, {source}, {destination})",
        _same_shape_rule("np.moveaxis", _check_move),
        _moveaxis_vjp,
        view=True,
    )
)
bind_call(
    np.moveaxis,
    CallSpec(
        "moveaxis",
        ("a",),
        {"source": None, "destination": None},
        name="np.moveaxis",
        array_like=("a",),
    ),
)


def _check_swap(ndim: int, attrs: dict) -> None:
    norm_axis(attrs["axis1"], ndim, "np.swapaxes")
    norm_axis(attrs["axis2"], ndim, "np.swapaxes")


def _swapaxes_vjp(b, stmt) -> tuple:
    return (b.emit("swapaxes", b.g, axis1=stmt.attr("axis1"), axis2=stmt.attr("axis2")),)


register(
    Rule(
        "swapaxes",
        "np.swapaxes({0}, {axis1}, {axis2})",
        _same_shape_rule("np.swapaxes", _check_swap),
        _swapaxes_vjp,
        view=True,
    )
)
_SWAP = {"axis1": None, "axis2": None}
bind_call(np.swapaxes, CallSpec("swapaxes", ("a",), _SWAP, name="np.swapaxes", array_like=("a",)))
bind_method("swapaxes", CallSpec("swapaxes", ("a",), _SWAP, name=".swapaxes"))


def _check_flip(ndim: int, attrs: dict) -> None:
    if attrs.get("axis") is not None:
        norm_axes(attrs["axis"], ndim, "np.flip")


def _self_inverse_vjp(b, stmt) -> tuple:
    return (b.emit(stmt.op, b.g, **dict(stmt.attrs)),)


register(
    Rule(
        "flip",
        lambda n, a: "np.flip({0})" if a.get("axis") is None else "rt.flip({0}, {axis})",
        _same_shape_rule("np.flip", _check_flip),
        _self_inverse_vjp,
        view=True,
        emit_scalar="{0}",
    )
)
bind_call(np.flip, CallSpec("flip", ("m",), {"axis": None}, name="np.flip", array_like=("m",)))


def _at_least(n: int, what: str):
    def check(ndim: int, attrs: dict) -> None:
        if ndim < n:
            raise KindError(f"{what} of an array of {ndim} dimension(s)", f"pass an array of {n}+")

    return check


for _name, _least in (("fliplr", 2), ("flipud", 1)):
    register(
        Rule(
            _name,
            f"np.{_name}({{0}})",
            _same_shape_rule(f"np.{_name}", _at_least(_least, f"np.{_name}")),
            _self_inverse_vjp,
            view=True,
        )
    )
    bind_call(getattr(np, _name), CallSpec(_name, ("m",), name=f"np.{_name}", array_like=("m",)))


def _infer_rot90(kinds, attrs) -> Kind:
    x = _array_in(kinds, "np.rot90")
    if type(attrs["k"]) is not int:
        raise KindError("np.rot90: k must be an int", "np.rot90(x, 1)")
    if attrs["axes"] not in ((0, 1), (1, 0)):
        raise KindError("np.rot90 in axes other than (0, 1)", "np.moveaxis the axes to 0 and 1")
    if x.ndim is not None and x.ndim < 2:
        raise KindError(f"np.rot90 of an array of {x.ndim} dimension(s)", "pass a 2-D array")
    return Kind(x.ndim, x.dtype)


def _k90(attrs: dict) -> int:
    """Quarter turns in axes (0, 1): axes (1, 0) turn the other way."""
    return (attrs["k"] if attrs["axes"] == (0, 1) else -attrs["k"]) % 4


def _rot90_vjp(b, stmt) -> tuple:
    return (b.emit("rot90", b.g, k=(-_k90(dict(stmt.attrs))) % 4, axes=(0, 1)),)


register(
    Rule(
        "rot90",
        lambda n, a: f"np.rot90({{0}}, {_k90(a)})",
        _infer_rot90,
        _rot90_vjp,
        view=True,
    )
)
bind_call(
    np.rot90,
    CallSpec("rot90", ("m",), {"k": 1, "axes": (0, 1)}, name="np.rot90", array_like=("m",)),
)


def _infer_roll(kinds, attrs) -> Kind:
    x = _array_in(kinds, "np.roll")
    shift, axis = kinds[1], attrs.get("axis")
    if shift.dtype not in ("int", "shape") and shift.dtype is not None:
        raise KindError("np.roll: the shift must be an int", "convert it with int(...)")
    if x.ndim is not None and axis is not None:
        axes = norm_axes(axis, x.ndim, "np.roll") if isinstance(axis, tuple) else None
        if axes is None:
            norm_axis(axis, x.ndim, "np.roll")
    if (shift.ndim != 0) != isinstance(axis, tuple) and not (shift.ndim == 0 and axis is None):
        raise KindError(
            "np.roll: a tuple of shifts needs a tuple of as many axes (and one shift, one axis)",
            "np.roll(x, (1, 2), axis=(0, 1))",
        )
    return Kind(x.ndim, x.dtype)


def _roll_vjp(b, stmt) -> tuple:
    shift = stmt.args[1]
    if isinstance(shift, Const):
        back = Const(
            tuple(-s for s in shift.value) if isinstance(shift.value, tuple) else -shift.value
        )
    elif b.kind(shift).ndim == 0:
        back = b.emit("neg", shift)
    else:
        b.refuse("np.roll by a tuple of shifts known only at run time")
    return (b.emit("roll", b.g, back, axis=stmt.attr("axis")), None)


register(
    Rule(
        "roll",
        lambda n, a: "np.roll({0}, {1})" if a.get("axis") is None else "rt.roll({0}, {1}, {axis})",
        _infer_roll,
        _roll_vjp,
        nondiff_args=(1,),
    )
)
bind_call(
    np.roll, CallSpec("roll", ("a", "shift"), {"axis": None}, name="np.roll", array_like=("a",))
)
