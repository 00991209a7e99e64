"""The refusal of a differentiated argument that is not a float: one message for grad,
value_and_grad, the other transforms and trace().

A whole number (an int, a NumPy integer, a bool, an integer array) has no gradient of its own:
silently converting it would differentiate what the caller may have meant as a count or an index,
and silently leaving it out would drop a gradient that was asked for. So it is refused, with what
was given and both ways out: pass it as a float, or leave it out of `wrt`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import GradientInputError


def is_whole(value: Any) -> bool:
    """An int, bool, NumPy integer or bool scalar, or an array of integers or bools."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "iub"
    return isinstance(value, (int, np.integer, np.bool_))


def not_float_error(
    function: str, name: str, value: Any, others: Sequence[str], layouts: tuple = ()
) -> GradientInputError:
    """The error for differentiating `function` with respect to `name`, given `value` (not
    a float); `others` are the differentiated parameters that may stay in `wrt`. With the
    `layouts` of structured arguments (pytree.py), `name` may be a leaf: named by its path."""
    for parameter, layout in layouts:
        path = _path_of(layout, name, parameter)
        if path is not None:
            return GradientInputError(
                f"{function}() is differentiated with respect to {parameter}, whose entry {path} "
                f"is {_given(value)}: pass {_fix(value, path)} there, or pass it as an argument "
                "of its own, left out of wrt, to use it as a whole number"
            )
    message = (
        f"{function}() is differentiated with respect to {name}, which is {_given(value)}: "
        f"pass {_fix(value, name)}"
    )
    if is_whole(value):
        if others:
            keep = f"wrt={others[0]!r}" if len(others) == 1 else f"wrt={tuple(others)!r}"
            message += f", or leave {name} out of wrt ({keep}) to use it as a whole number"
        else:
            message += (
                f", or leave {name} out of wrt (differentiate with respect to other "
                "parameters) to use it as a whole number"
            )
    return GradientInputError(message)


def _given(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype} of shape {value.shape}"
    if is_whole(value):
        number = value.item() if isinstance(value, np.generic) else value
        return f"the {type(value).__name__} {number!r}"
    return f"a {type(value).__name__}"


def _fix(value: Any, name: str) -> str:
    if isinstance(value, np.ndarray):
        return f"{name}.astype(float)"
    if is_whole(value):
        return f"{float(value)!r} (or float({name}))"
    if isinstance(value, (list, tuple)):
        return "np.array(...) of floats"
    return f"a float (for example {name}=float(...)) or an array of floats"


def _path_of(layout: Any, leaf: str, prefix: str) -> str | None:
    """How the caller writes the leaf `leaf` of a structured argument: p['W1'][0], p.bias."""
    if layout.kind == "leaf":
        return prefix if layout.name == leaf else None
    for position, item in enumerate(layout.items):
        if layout.kind == "namedtuple":
            step = f".{layout.keys[position]}"
        elif layout.kind == "dict":
            step = f"[{layout.keys[position]!r}]"
        else:
            step = f"[{position}]"
        found = _path_of(item, leaf, prefix + step)
        if found is not None:
            return found
    return None
