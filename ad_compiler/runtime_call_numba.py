"""The numba helpers of `compiled_for`'s dispatchers (numba_call.py), which generated modules
import: the check of the argument kinds, float32 to float64 and back, the value as a float, and
arrays bound by compiled_for.

They are numba `overload`s and `intrinsic`s: they choose what to do from the argument *types*
when numba compiles the caller, so one generated module serves float64 and float32 arguments
alike and a wrong kind of argument is refused while the user's own function compiles, with the
package's message, never run.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.core import errors
from numba.extending import intrinsic, overload

from . import runtime_bounds as rb
from . import runtime_bounds_numba  # noqa: F401  (rb.overlap compiled)
from .errors import GradientInputError
from .runtime import COTANGENT_SHAPE  # noqa: F401  (vjp's message, for the generated check)

_DTYPES = {
    "float": (types.Float,),
    "int": (types.Integer,),
    "bool": (types.Boolean,),
    "real": (types.Float, types.Integer),
}


def expect_kinds(args, spec):
    """In numba code: refuse (while compiling) arguments not of the kinds in `spec`, a
    literal string such as "W: 2-d float array, x: float, n: int"."""


def widened(x):
    """A float or float array in float64 (float64 ones as they are, float32 ones converted)."""
    return np.asarray(x, dtype=np.float64) if isinstance(x, np.ndarray) else np.float64(x)


def float64_copy(x):
    """A new float64 array from an array (the program may write into it); a float from a
    number."""
    return np.array(x, dtype=np.float64) if isinstance(x, np.ndarray) else float(x)


def like(g, x):
    """The gradient `g` with its argument `x`'s dtype and shape (`api._like` for numba)."""
    return g


def as_float(v):
    """A value as a float (a 0-d array's element)."""
    return float(v)


def plain(v):
    """An array as it is, a number as a float64 (forward.py's `_plain`)."""
    return v if isinstance(v, np.ndarray) else float(v)


def _describe(t) -> str:
    if isinstance(t, types.Array):
        return f"a {t.ndim}-d array of {t.dtype}"
    return f"a {t}"


def _matches(t, desc: str) -> bool:
    """Whether numba type `t` is of the kind "float", "int", "real" or "2-d float array"."""
    words = desc.split()
    if len(words) == 3 and words[2] == "array":
        ndim, dtype = int(words[0].split("-")[0]), words[1]
        return isinstance(t, types.Array) and t.ndim == ndim and isinstance(t.dtype, _DTYPES[dtype])
    return isinstance(t, _DTYPES[words[0]])


@overload(expect_kinds, prefer_literal=True)
def _expect_kinds(args, spec):
    if not isinstance(spec, types.StringLiteral):
        return None  # (numba asks with the literal too)
    kinds = [part.split(": ", 1) for part in spec.literal_value.split(", ")]
    given = list(args.types) if isinstance(args, types.BaseTuple) else [args]
    for (name, desc), t in zip(kinds, given):
        if not _matches(t, desc):
            article = "an" if desc[0] in "aeiou" else "a"
            raise errors.TypingError(
                f"ad_compiler: this compiled_for(...) function was compiled for {name} as "
                f"{article} {desc}, and is called with {_describe(t)}: call compiled_for again "
                f"with arguments like those (each kind of argument has a program of its own)"
            )
    return lambda args, spec: None


@overload(widened)
def _widened(x):
    if isinstance(x, types.Array) and x.dtype != types.float64:
        return lambda x: x.astype(np.float64)
    if isinstance(x, types.Array):
        return lambda x: x
    return lambda x: np.float64(x)


def apart_if_widened(a, b, message):
    """Refuse two arguments that may share memory when one of them is a float32 array: the
    program's own check (argument_overlap.py) sees only their float64 copies."""


@overload(apart_if_widened)
def _apart_if_widened(a, b, message):
    narrow = [isinstance(x, types.Array) and x.dtype != types.float64 for x in (a, b)]
    if not (isinstance(a, types.Array) and isinstance(b, types.Array) and any(narrow)):
        return lambda a, b, message: None

    def check(a, b, message):
        if rb.overlap(a, b):
            raise GradientInputError(message)

    return check


def apart_from(a, low, high, message):
    """Refuse an argument whose memory may overlap the bytes [low, high) (where an array
    compiled_for copied and binds lay when it was called)."""


@overload(apart_from)
def _apart_from(a, low, high, message):
    if not isinstance(a, types.Array):
        return lambda a, low, high, message: None

    def check(a, low, high, message):
        if a.size:
            a_low, a_high = rb.extent(a)
            if a_low < high and low < a_high:
                raise GradientInputError(message)

    return check


@overload(float64_copy)
def _float64_copy(x):
    if isinstance(x, types.Array):
        return lambda x: x.astype(np.float64)  # (astype always makes a new array)
    return lambda x: np.float64(x)


@overload(like)
def _like(g, x):
    if isinstance(x, types.Array):
        dtype = x.dtype
        if isinstance(g, types.Array) and g.ndim == x.ndim and g.dtype == dtype:

            def same(g, x):
                if g.shape == x.shape:
                    return g
                return np.broadcast_to(g, x.shape).copy()

            return same

        def converted(g, x):
            out = np.empty(x.shape, dtype)
            out[...] = g
            return out

        return converted
    if isinstance(g, types.Array) and g.ndim != 0:
        raise errors.TypingError(f"the gradient of a number is a {g.ndim}-d array")
    scalar = np.float32 if x == types.float32 else np.float64
    if isinstance(g, types.Array):
        return lambda g, x: scalar(g[()])
    return lambda g, x: scalar(g)


@overload(as_float)
def _as_float(v):
    if isinstance(v, types.Array):
        return lambda v: np.float64(v[()])
    return lambda v: np.float64(v)


@overload(plain)
def _plain(v):
    if isinstance(v, types.Array):
        return lambda v: v
    return lambda v: np.float64(v)


@intrinsic
def _address_to_pointer(typingctx, address):
    # A literal address, made a *dynamic* one: numba then refuses to cache any function that
    # has this code inside (a user's @njit(cache=True) caller), whose next process would
    # otherwise read whatever lies at this address then.
    if not isinstance(address, types.IntegerLiteral):
        return None
    value = address.literal_value

    def codegen(context, builder, signature, args):
        return context.add_dynamic_addr(builder, value, info="an array bound by compiled_for")

    return types.voidptr(address), codegen


def bound_array(address, shape, dtype):
    """The C-contiguous array of `shape` and `dtype` at `address`: an array compiled_for
    copied and keeps alive as long as the process (numba_call.py)."""


@overload(bound_array, prefer_literal=True)
def _bound_array(address, shape, dtype):
    if not isinstance(address, types.IntegerLiteral):
        raise errors.TypingError("bound_array takes the address as a literal")
    return lambda address, shape, dtype: numba.carray(_address_to_pointer(address), shape, dtype)
