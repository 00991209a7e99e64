"""More selection functions: np.split, np.array_split, np.vsplit, np.hsplit, np.dsplit (tuples
of pieces), np.take / .take(), np.median and np.select.

A split returns a tuple: its spec's `results(attributes)` is the number of pieces, known when
compiling (the number of sections, or one more than the indices given), and each piece is its
own operation with the attribute `item`. Its bounds depend on the length of the axis and are
found at run time (runtime_selection_more.py). Each piece's adjoint puts the upstream gradient
in its place in zeros shaped like the input; the pieces' adjoints add up to the split's.

np.take's adjoint scatters the gradient back, entries taken twice accumulating. The median's
goes to the middle entry (the two middle ones, half each, for an even count), ranked as
np.sort's stable sort ranks them. np.select's conditions are stacked into one boolean array
(so they have one shape), its choices are separate operands; each choice's adjoint is the
gradient where it was taken (its condition holds, no earlier one does), summed to its shape.
"""

from __future__ import annotations

import numpy as np

from ..errors import KindError
from ..ir import Kind
from ..runtime_selection_more import TAKE_MODES
from . import CallSpec, Rule, bind_call, bind_method, register
from .arrays import _total
from .shapes import norm_axes, norm_axis

# --------------------------------------------------------------------------------------------
# np.split and its relatives: one operation per piece


def _sections(attrs: dict, what: str) -> int | tuple:
    sections = attrs["indices_or_sections"]
    if isinstance(sections, tuple) and all(type(k) is int for k in sections):
        return sections
    if type(sections) is int and sections > 0:
        return sections
    raise KindError(
        f"{what}: indices_or_sections={sections!r}",
        "give the number of pieces (a positive int) or a list of int indices, both constants",
    )


def _pieces(attrs: dict) -> int:
    """How many pieces a split returns (0 for invalid sections: the kind inference refuses)."""
    sections = attrs["indices_or_sections"]
    if isinstance(sections, tuple) and all(type(k) is int for k in sections):
        return len(sections) + 1
    return sections if type(sections) is int and sections > 0 else 0


# name -> (the axis it cuts, or None for the axis= given (np.hsplit: "h"), least ndim, even)
_SPLITS = {
    "split": (None, 1, True),
    "array_split": (None, 1, False),
    "vsplit": (0, 2, True),
    "hsplit": ("h", 1, True),
    "dsplit": (2, 3, True),
}


def _split_axis(name: str, attrs: dict):
    """The axis attribute the helpers get: an int, or None for np.hsplit's."""
    fixed = _SPLITS[name][0]
    return attrs["axis"] if fixed is None else None if fixed == "h" else fixed


def _infer_split(name: str):
    what = f"np.{name}"

    def infer(kinds, attrs) -> Kind:
        x = kinds[0]
        _sections(attrs, what)
        if "item" not in attrs:
            raise KindError(f"{what} returns a tuple that was not unpacked", "unpack it")
        if x.dtype == "shape":
            raise KindError(f"{what} of a shape", "index the shape: x.shape[0]")
        least = _SPLITS[name][1]
        if x.ndim is not None:
            if x.ndim < least:
                raise KindError(
                    f"{what} of an array of {x.ndim} dimension(s)", f"pass {least}-D or more"
                )
            axis = _split_axis(name, attrs)
            if axis is not None:
                norm_axis(axis, x.ndim, what)
        return Kind(x.ndim, x.dtype)

    return infer


def _emit_split(name: str):
    even = _SPLITS[name][2]

    def emit(n: int, attrs: dict) -> str:
        axis = _split_axis(name, attrs)
        return f"rt.split_piece({{0}}, {{indices_or_sections}}, {axis!r}, {{item}}, {even!r})"

    return emit


def _split_vjp(name: str):
    even = _SPLITS[name][2]

    def vjp(b, stmt) -> tuple:
        attrs = dict(stmt.attrs)
        grad = b.emit(
            "split_grad",
            b.g,
            stmt.args[0],
            sections=attrs["indices_or_sections"],
            axis=_split_axis(name, attrs),
            item=attrs["item"],
            even=even,
        )
        return (grad,)

    return vjp


for _name, (_axis, _least, _even) in _SPLITS.items():
    register(Rule(_name, _emit_split(_name), _infer_split(_name), _split_vjp(_name), view=True))
    bind_call(
        getattr(np, _name),
        CallSpec(
            _name,
            ("ary",),
            {"indices_or_sections": None, **({"axis": 0} if _axis is None else {})},
            name=f"np.{_name}",
            array_like=("ary",),
            results=_pieces,
        ),
    )
register(
    Rule(
        "split_grad",
        "rt.split_piece_grad({0}, {1}, {sections}, {axis}, {item}, {even})",
        lambda k, a: Kind(k[1].ndim, "float"),
    )
)


# --------------------------------------------------------------------------------------------
# np.take, .take()


def _take_mode(attrs: dict) -> int:
    mode = attrs["mode"]
    if mode not in TAKE_MODES:
        raise KindError(f"np.take with mode={mode!r}", "use 'raise', 'wrap' or 'clip'")
    return TAKE_MODES.index(mode)


def _infer_take(kinds, attrs) -> Kind:
    a, indices = kinds[0], kinds[1]
    if attrs.get("out") is not None:
        raise KindError("np.take with out=", "use the result")
    _take_mode(attrs)
    if a.dtype == "shape" or indices.dtype not in ("int", None):
        raise KindError("np.take: the indices must be integers", "pass an int or int array")
    axis = attrs["axis"]
    if isinstance(axis, tuple):
        raise KindError("np.take with a tuple of axes", "give one axis")
    if indices.ndim is None or a.ndim is None:
        return Kind(None, a.dtype)
    if axis is None:
        return Kind(indices.ndim, a.dtype)
    if a.ndim == 0:
        raise KindError("np.take along an axis of a number", "pass an array")
    norm_axis(axis, a.ndim, "np.take")
    return Kind(a.ndim - 1 + indices.ndim, a.dtype)


def _emit_take(n: int, attrs: dict) -> str:
    return f"rt.take({{0}}, {{1}}, {{axis}}, {_take_mode(attrs)})"


def _take_vjp(b, stmt) -> tuple:
    a, indices = stmt.args
    mode = _take_mode(dict(stmt.attrs))
    return (b.emit("take_grad", b.g, a, indices, axis=stmt.attr("axis"), mode=mode), None)


register(Rule("take", _emit_take, _infer_take, _take_vjp, nondiff_args=(1,)))
register(
    Rule(
        "take_grad",
        "rt.take_grad({0}, {1}, {2}, {axis}, {mode})",
        lambda k, a: Kind(k[1].ndim, "float"),
    )
)
_TAKE = {"axis": None, "out": None, "mode": "raise"}
bind_call(
    np.take,
    CallSpec("take", ("a", "indices"), _TAKE, name="np.take", array_like=("a", "indices")),
)
bind_method(
    "take", CallSpec("take", ("a", "indices"), _TAKE, name=".take", array_like=("indices",))
)


# --------------------------------------------------------------------------------------------
# np.median


def _reduced(kinds, attrs, what: str) -> Kind:
    a = kinds[0]
    if a.dtype == "shape":
        raise KindError(f"{what} of a shape", "index the shape: x.shape[0]")
    for name in ("out", "weights"):
        if attrs.get(name) is not None:
            raise KindError(f"{what} with {name}=", "drop it")
    if attrs.get("overwrite_input"):
        raise KindError(f"{what} with overwrite_input=True", "drop it")
    dtype = None if a.dtype is None else "float"
    if a.ndim is None:
        return Kind(None, dtype)
    axis, keep = attrs["axis"], attrs["keepdims"]
    if axis is None:
        return Kind(a.ndim if keep else 0, dtype)
    axes = norm_axes(axis, a.ndim, what)
    return Kind(a.ndim if keep else a.ndim - len(axes), dtype)


def _infer_median(kinds, attrs) -> Kind:
    return _reduced(kinds, attrs, "np.median")


def _median_vjp(b, stmt) -> tuple:
    attrs = {"axis": stmt.attr("axis"), "keepdims": stmt.attr("keepdims")}
    return (b.emit("median_grad", b.g, stmt.args[0], **attrs),)


register(Rule("median", "rt.median({0}, {axis}, {keepdims})", _infer_median, _median_vjp))
register(
    Rule(
        "median_grad",
        "rt.median_grad({0}, {1}, {axis}, {keepdims})",
        lambda k, a: Kind(k[1].ndim, "float"),
    )
)
bind_call(
    np.median,
    CallSpec(
        "median",
        ("a",),
        {"axis": None, "out": None, "overwrite_input": False, "keepdims": False},
        name="np.median",
        array_like=("a",),
    ),
)


# --------------------------------------------------------------------------------------------
# np.select: the conditions stacked (one array of booleans), the choices as separate operands


def _infer_select(kinds, attrs) -> Kind:
    if "items" not in attrs:
        raise KindError("np.select with a choicelist of run-time length", "give a list or tuple")
    conds, values = kinds[0], kinds[1:]
    if conds.dtype not in ("bool", None):
        raise KindError("np.select: the conditions must be boolean arrays", "compare: x > 0")
    if attrs["items"] == 0 or conds.ndim == 0:
        raise KindError("np.select with an empty condition list", "give at least one")
    if any(v.dtype == "shape" for v in values):
        raise KindError("np.select of a shape", "index the shape: x.shape[0]")
    ndims = [conds.ndim and conds.ndim - 1] + [v.ndim for v in values]
    dtypes = {v.dtype for v in values}
    dtype = None if None in dtypes else "float" if "float" in dtypes else "int"
    ndim = None if None in ndims else max(ndims)
    if ndim == 0:
        raise KindError("np.select of numbers (NumPy makes a 0-d array)", "use np.where")
    return Kind(ndim, dtype)


def _emit_select(n: int, attrs: dict) -> str:
    count = attrs["items"]
    choices = "".join(f"{{{k}}}, " for k in range(1, count + 1))
    default = f"{{{count + 1}}}" if n > count + 1 else "0"
    return f"rt.select({{0}}, ({choices}), {default})"


def _select_vjp(b, stmt) -> tuple:
    conds = stmt.args[0]
    grads = [None]
    for k, value in enumerate(stmt.args[1:]):
        part = None
        if b.needs(k + 1):
            part = _total(b, b.emit("select_mask", b.g, conds, item=k), value)
        grads.append(part)
    return tuple(grads)


register(Rule("select", _emit_select, _infer_select, _select_vjp, nondiff_args=(0,)))
register(
    Rule("select_mask", "rt.select_mask({0}, {1}, {item})", lambda k, a: Kind(k[0].ndim, "float"))
)
bind_call(
    np.select,
    CallSpec(
        "select",
        ("condlist", "choicelist"),
        name="np.select",
        array_like=("condlist",),
        separate="choicelist",
        optional=("default",),
        positions=("condlist", "choicelist", "default"),
    ),
)
