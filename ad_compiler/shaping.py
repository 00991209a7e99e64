"""How the compiled gradient program's results and arguments are shaped for the caller.

The generated program takes and returns plain floats and float64 arrays; these small functions
widen narrow floats on the way in and give each gradient its argument's type on the way out.
The fast path (fastcall.py) writes the simplest shapings inline (`_INLINED`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .argument_overlap import checked_pairs
from .errors import GradientInputError


def _narrow_floats(values: Any) -> bool:
    """Whether some argument is a float array or NumPy float narrower than float64."""
    return any(
        isinstance(v, (np.ndarray, np.floating)) and v.dtype.kind == "f" and v.dtype.itemsize < 8
        for v in values
    )


def _converted_for_numba(values: Any) -> bool:
    """Whether numba's program runs on converted arguments (_in_float64): narrow floats, and
    0-d arrays, which the program types as numbers (numba has no float() of a 0-d array)."""
    return _narrow_floats(values) or any(type(v) is np.ndarray and v.ndim == 0 for v in values)


def _narrow_ints(values: Any) -> bool:
    """Whether some argument is an integer array or NumPy integer other than int64: numba
    computes `m - 1` on a uint8 array in int64 (-1), NumPy in uint8 (255), so those run on the
    NumPy program, which computes as the function does."""
    return any(
        isinstance(v, (np.ndarray, np.integer)) and v.dtype.kind in "iu" and v.dtype != np.int64
        for v in values
    )


def _in_float64(function: Callable, source: str) -> Callable:
    """Run numba-compiled code on float64 copies of float32 (and float16) arguments, and on
    the numbers 0-d arrays hold. numba
    types every float constant and scalar as float64, and float32 arrays combined with them
    become float64 arrays, so a loop-carried value or adjoint would change type from one
    iteration to the next, which numba cannot compile. The gradients are cast back to each
    argument's dtype by the caller (`_like`).

    A program that refuses arguments sharing memory (argument_overlap.py: the function
    changes one in place) would not see that its copies do: the pairs it checks are checked
    here first, on the arguments themselves."""
    pairs = checked_pairs(source) if "rt.check_apart(" in source else []

    @functools.wraps(function)
    def call(*args: Any) -> Any:
        for x, y, message in pairs:
            a, b = args[x], args[y]
            if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and may_share(a, b):
                raise GradientInputError(message)
        return function(*[_widened(a) for a in args])

    return call


def _widened(value: Any) -> Any:
    if type(value) is np.ndarray and value.ndim == 0:  # (never written into: api.py refuses it)
        value = value[()]
    narrow = isinstance(value, (np.ndarray, np.floating)) and value.dtype.kind == "f"
    return value.astype(np.float64) if narrow and value.dtype.itemsize < 8 else value


def _with_numpy_scalars(function: Callable) -> Callable:
    """Run plain-Python generated code on NumPy float64 scalars, so that a division by zero
    gives inf and a square root of a negative number nan, as NumPy and the numba backend do,
    where Python floats would raise."""

    @functools.wraps(function)
    def call(*args: Any) -> Any:
        return function(*[np.float64(a) if type(a) is float else a for a in args])

    return call


def _ONE(out: Any, values: Any) -> Any:
    return out


def _TUPLE(out: Any, values: Any) -> Any:
    return (out,)


def _ALL(out: tuple, values: Any) -> Any:
    return out


# How the generated fast path (fastcall.py) writes these shapings inline.
_INLINED = {_ONE: "{}", _TUPLE: "({},)", _ALL: "{}"}


def _VALUE_AND_ONE(out: tuple, values: Any) -> Any:
    return float(out[0]), out[1]


def _VALUE_AND_ALL(out: tuple, values: Any) -> Any:
    return float(out[0]), out[1:]


def _like(grad: Any, arg: Any) -> Any:
    """A gradient with its argument's type: a float for a float, the same dtype for an array."""
    if arg.__class__ is float:
        return float(grad)
    if isinstance(arg, np.ndarray):
        grad = np.asarray(grad)
        if grad.dtype != arg.dtype:
            grad = grad.astype(arg.dtype)
        if grad.shape != arg.shape:
            grad = np.broadcast_to(grad, arg.shape).copy()
        return grad
    if isinstance(arg, np.floating):
        return type(arg)(grad)
    return float(grad)


# np.may_share_memory without NumPy's dispatch to __array_function__ (5x faster): it compares
# the bounds of the two arrays' memory, never their contents.
may_share = getattr(np.may_share_memory, "_implementation", np.may_share_memory)


def separate(grads: tuple, values: Any) -> tuple:
    """The gradients, each array copied if it may share memory with an argument or with an
    earlier gradient: the program may return one array as two gradients (`rt.sum_to` passes
    a gradient through when the shapes match), and the caller may update either in place."""
    taken = [v for v in values if isinstance(v, np.ndarray)]
    separated = []
    for grad in grads:
        if isinstance(grad, np.ndarray):
            if any(may_share(grad, t) for t in taken):
                grad = grad.copy()
            taken.append(grad)
        separated.append(grad)
    return tuple(separated)
