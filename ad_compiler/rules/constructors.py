"""Array constructors: np.zeros, np.ones, np.empty (and their _like forms), np.full,
np.full_like, np.eye. Their values have no derivative, except np.full's fill value, which
receives the sum of every entry's adjoint. Element types are NumPy's: np.full(n, 3) holds ints.
"""

from __future__ import annotations

import numpy as np

from ..ir import Kind
from . import CallSpec, Rule, bind_call, register
from .arrays import _shape_rank, _total


def _infer_constructor(dtype: str):
    def infer(kinds, attrs) -> Kind:
        shape = attrs.get("shape_const")
        if shape is not None:
            return Kind(len(shape) if isinstance(shape, tuple) else 1, dtype)
        return Kind(_shape_rank(kinds[0]) if kinds else None, dtype)

    return infer


def _infer_like(kinds, attrs) -> Kind:
    # np.zeros_like(k) of an int array is an int array (floats stored there are truncated).
    dtype = kinds[0].dtype if kinds[0].dtype in ("int", "bool") else "float"
    return Kind(kinds[0].ndim, dtype, kinds[0].same_shape_as)


for _name in ("zeros", "ones", "empty"):
    register(Rule(_name, f"np.{_name}({{0}})", _infer_constructor("float"), zero_derivative=True))
    bind_call(getattr(np, _name), CallSpec(_name, ("shape",), name=f"np.{_name}"))
    register(Rule(f"{_name}_like", f"np.{_name}_like({{0}})", _infer_like, zero_derivative=True))
    bind_call(
        getattr(np, f"{_name}_like"), CallSpec(f"{_name}_like", ("a",), name=f"np.{_name}_like")
    )


def _full_vjp(b, stmt) -> tuple:
    # Every entry is the fill value: it receives the sum of their adjoints.
    return (None, _total(b, b.g, stmt.args[1]) if b.needs(1) else None)


def _infer_full(kinds, attrs) -> Kind:
    """np.full(shape, v): an array of v's dtype (np.full(3, 3) holds ints, floats stored into
    it are truncated)."""
    fill = kinds[1].dtype if kinds[1].dtype in ("int", "bool") else "float"
    return _infer_constructor(fill)(kinds[:1], attrs)


register(Rule("full", "np.full({0}, {1})", _infer_full, _full_vjp, nondiff_args=(0,)))
bind_call(np.full, CallSpec("full", ("shape", "fill_value"), name="np.full"))
register(Rule("full_like", "np.full_like({0}, {1})", _infer_like, _full_vjp, nondiff_args=(0,)))
bind_call(np.full_like, CallSpec("full_like", ("a", "fill_value"), name="np.full_like"))
register(Rule("eye", "np.eye({0})", lambda k, a: Kind(2, "float"), zero_derivative=True))
bind_call(np.eye, CallSpec("eye", ("N",), name="np.eye"))
