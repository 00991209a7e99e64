"""Functions whose result is a bool or an index: np.any, np.all, np.count_nonzero, np.argmax,
np.argmin (and the methods .any(), .all(), .argmax(), .argmin()).

Their results carry no gradient (a bool, or an int that is piecewise constant in its argument),
so they have no reverse rule: `if np.any(x > 1.0):` decides a branch, `W[np.argmax(s)]` picks
an entry whose gradient flows through the indexing. numba compiles np.any, np.all and
np.count_nonzero only over a whole array, and np.argmax of an array only: `axis=` there, and
the argmax of a number, are refused with a rewrite that works on both backends.
"""

from __future__ import annotations

import numpy as np

from ..errors import KindError
from ..ir import Kind
from . import CallSpec, Rule, bind_call, bind_method, register


def _whole_array(what: str, rewrite: str):
    """The kind of np.any/np.all/np.count_nonzero's result: one value, over the whole array."""
    dtype = "int" if what == "np.count_nonzero" else "bool"

    def infer(kinds, attrs) -> Kind:
        if attrs.get("axis") is not None:
            raise KindError(f"{what}(..., axis=) is not supported", rewrite)
        if attrs.get("keepdims"):
            raise KindError(f"{what}(..., keepdims=True) is not supported", "drop keepdims=")
        if kinds[0].dtype == "shape":
            raise KindError(f"{what} of a shape", "compare the shape's entries instead")
        return Kind(0, dtype)

    return infer


def _arg_extreme(what: str):
    def infer(kinds, attrs) -> Kind:
        x, axis = kinds[0], attrs.get("axis")
        if attrs.get("keepdims") or attrs.get("out") is not None:
            raise KindError(f"{what} with keepdims= or out=", "drop them (index the result)")
        if x.ndim == 0:
            raise KindError(f"{what} of a number (always 0)", "write 0, or pass an array")
        if x.dtype == "shape":
            raise KindError(f"{what} of a shape", "convert it: np.array(x.shape)")
        if axis is None or x.ndim is None:
            return Kind(0 if axis is None else None, "int")
        if type(axis) is not int or not -x.ndim <= axis < x.ndim:
            raise KindError(
                f"{what}: axis={axis!r} for an array of {x.ndim} dimension(s)",
                f"give an axis from {-x.ndim} to {x.ndim - 1}",
            )
        return Kind(x.ndim - 1, "int")

    return infer


def _with_axis(name: str):
    """`np.argmax(x)` or `np.argmax(x, 1)` (numba takes the axis by position)."""
    return lambda n, attrs: (
        f"np.{name}({{0}})" if attrs.get("axis") is None else (f"np.{name}({{0}}, {{axis}})")
    )


_SUMS = {
    "np.any": "np.sum(mask, axis=k) > 0",
    "np.all": "np.sum(mask, axis=k) == mask.shape[k]",
    "np.count_nonzero": "np.sum(x != 0, axis=k)",
}
for _name in ("any", "all", "count_nonzero"):
    _what = f"np.{_name}"
    register(Rule(_name, f"np.{_name}({{0}})", _whole_array(_what, f"sum a mask: {_SUMS[_what]}")))
    _static = {"axis": None, "keepdims": False}
    bind_call(getattr(np, _name), CallSpec(_name, ("a",), _static, name=_what, array_like=("a",)))
    if _name != "count_nonzero":  # (arrays have no such method)
        bind_method(_name, CallSpec(_name, ("a",), _static, name=f".{_name}"))

for _name in ("argmax", "argmin"):
    register(Rule(_name, _with_axis(_name), _arg_extreme(f"np.{_name}")))
    _static = {"axis": None, "out": None, "keepdims": False}
    bind_call(
        getattr(np, _name),
        CallSpec(_name, ("a",), dict(_static), name=f"np.{_name}", array_like=("a",)),
    )
    bind_method(_name, CallSpec(_name, ("a",), dict(_static), name=f".{_name}"))
