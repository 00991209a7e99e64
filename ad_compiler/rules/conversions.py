"""Conversions between element types: `x.astype(float)`, `np.float64(x)`, `np.float32(x)`.

The `dtype=` of a call reaches a rule as a canonical NumPy name ("float64", "int64", "bool")
in the attribute `dtype` (normalize turns `float`, `np.float32`, `np.dtype(...)` into it). A
conversion between float types passes the gradient through (cast back to the argument's own
float type); a conversion to an integer or boolean type has a zero derivative (its result is
never differentiable, so no gradient reaches it).
"""

from __future__ import annotations

import numpy as np

from ..ir import Kind
from . import CallSpec, Rule, bind_call, bind_method, register


def dtype_name(obj: object) -> str | None:
    """The canonical NumPy name of a dtype given as `float`, `np.float32`, "int64", a
    np.dtype...; None for anything that is not a supported number type."""
    try:
        dtype = np.dtype(obj)
    except TypeError:
        return None
    return dtype.name if dtype.kind in "fiub" else None


def _family(dtype: str) -> str:
    if dtype.startswith("float"):
        return "float"
    return "bool" if dtype == "bool" else "int"


def _numpy_type(dtype: str) -> str:
    return "np.bool_" if dtype == "bool" else f"np.{dtype}"


def _dtype(attrs: dict) -> str:
    return attrs["dtype"] or "float64"  # x.astype(None) is float64, as in NumPy


def _infer(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    return Kind(kinds[0].ndim, _family(_dtype(attrs)), kinds[0].same_shape_as)


def _emit_scalar(n: int, attrs: dict) -> str:
    dtype = _dtype(attrs)
    if dtype == "float64":
        return "float({0})"
    if dtype == "int64":
        return "int({0})"  # truncates toward zero, as astype does
    if _family(dtype) == "int":
        return _numpy_type(dtype) + "({0})"  # (np.uint8(k) wraps around: NumPy's number)
    return _numpy_type(dtype) + "({0})"


def _astype_vjp(b, stmt) -> tuple:
    if not b.needs(0):
        return (None,)
    if b.kind(b.g).is_array and b.kind(stmt.args[0]).is_array:
        # float32 -> float64: the gradient goes back as float32, the argument's own type
        return (b.emit("astype_like", b.g, stmt.args[0]),)
    return (b.g,)


register(
    Rule(
        "astype",
        lambda n, a: "{0}.astype(" + _numpy_type(_dtype(a)) + ")",
        _infer,
        _astype_vjp,
        emit_scalar=_emit_scalar,
    )
)
# np.asarray(x, dtype=...): x itself when it has that dtype already, else a converted copy;
# the compiler cannot tell float32 from float64 arrays, so it treats the result as possibly x
# (a view): writes through it are refused rather than assumed to reach x or not.
register(
    Rule(
        "asarray",
        lambda n, a: "np.asarray({0}, " + _numpy_type(_dtype(a)) + ")",
        _infer,
        _astype_vjp,
        emit_scalar=_emit_scalar,
        view=True,
    )
)
# The reverse sweep's own cast of an adjoint to the type of the value it belongs to.
register(
    Rule("astype_like", "{0}.astype({1}.dtype)", lambda k, a: Kind(k[0].ndim, k[1].dtype, None))
)
bind_method("astype", CallSpec("astype", ("a",), {"dtype": None}, name=".astype"))
# np.float64(x) of a float64 array is x itself (NumPy returns it), not a copy: as np.asarray
for _type in (np.float64, np.float32):
    bind_call(
        _type,
        CallSpec("asarray", ("a",), {"dtype": np.dtype(_type).name}, name=f"np.{_type.__name__}"),
    )
