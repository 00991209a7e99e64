"""Numba implementations of the runtime helpers that call scipy.special's C kernels
(``rt.special``, ``rt.special2``, and through runtime_scipy.py ``rt.special3``, ``rt.stats3``,
...). Generated numba modules import this module only when they call one of them
(`runtime.SCIPY_KERNEL_HELPERS`): importing scipy.special takes about 0.3 s, which every other
gradient's process start-up would pay.

scipy.special's functions are ufuncs numba cannot call; their C kernels are, through the
function pointers ``scipy.special.cython_special`` exports (``double f(double, int)``), declared
to numba as external functions. The kernel is chosen at compile time from the
literal name the generated code passes (``rt.special("erf", x)``).
"""

import ctypes

import numpy as np
from llvmlite.binding import add_symbol
from numba import types
from numba.core import errors
from numba.extending import register_jitable

from ad_compiler import runtime as rt
from ad_compiler.runtime_numba import _implements

_name_of = ctypes.pythonapi.PyCapsule_GetName
_name_of.restype = ctypes.c_char_p
_name_of.argtypes = [ctypes.py_object]
_pointer_of = ctypes.pythonapi.PyCapsule_GetPointer
_pointer_of.restype = ctypes.c_void_p
_pointer_of.argtypes = [ctypes.py_object, ctypes.c_char_p]
_KERNELS: dict = {}
_KERNEL_NAMES = {"digamma": "psi"}  # the kernel's name where it differs


def scipy_kernel(name: str, arity: int):
    """scipy.special's C function `name` on doubles, callable from numba as f(x..., 0).

    Its address is given to LLVM under a symbol of ours, and the function declared external:
    compiled code refers to it by that name, so numba's cache stays usable (a ctypes pointer
    would be a dynamic global, which numba refuses to cache)."""
    key = (name, arity)
    if key not in _KERNELS:
        from scipy.special import cython_special

        wanted = "double (" + "double, " * arity + "int __pyx_skip_dispatch)"
        exported = cython_special.__pyx_capi__
        kernel = _KERNEL_NAMES.get(name, name)
        for label in (kernel, *(f"__pyx_fuse_{k}{kernel}" for k in range(3))):
            capsule = exported.get(label)
            if capsule is not None and _name_of(capsule).decode() == wanted:
                symbol = f"ad_compiler_scipy_special_{name}"
                add_symbol(symbol, _pointer_of(capsule, _name_of(capsule)))
                signature = types.float64(*([types.float64] * arity), types.intc)
                _KERNELS[key] = types.ExternalFunction(symbol, signature)
                break
        else:
            raise errors.TypingError(f"scipy.special.{name} has no kernel numba can call")
    return _KERNELS[key]


# Declared now, not when first compiled: code loaded from numba's cache refers to the symbols.
for _name in rt.SPECIAL_UNARY:
    scipy_kernel(_name, 1)
for _name in rt.SPECIAL_BINARY:
    scipy_kernel(_name, 2)


@register_jitable
def _trigamma_series(x):
    """polygamma(1, x) for x > 0: recurrence up to x >= 10, then the asymptotic series."""
    acc = 0.0
    while x < 10.0:
        acc += 1.0 / (x * x)
        x += 1.0
    t = 1.0 / (x * x)
    series = 1.0 / 6.0 - t * (1.0 / 30.0 - t * (1.0 / 42.0 - t * (1.0 / 30.0 - t * 5.0 / 66.0)))
    return acc + 1.0 / x + t / 2.0 + t / x * series


@register_jitable
def _trigamma(x):
    if x <= 0.0 and x == np.floor(x):
        return np.inf
    if x < 0.0:  # reflection: psi1(1 - x) + psi1(x) = pi^2 / sin(pi x)^2
        s = np.sin(np.pi * x)
        return np.pi * np.pi / (s * s) - _trigamma_series(1.0 - x)
    return _trigamma_series(x)


def _literal_name(name, what):
    if not isinstance(name, types.StringLiteral):
        raise errors.TypingError(f"{what}: the function name must be a literal string")
    return name.literal_value


def _result_dtype(x):
    dtype = x.dtype if isinstance(x, types.Array) else x
    return np.float32 if dtype == types.float32 else np.float64


@_implements(rt.special, prefer_literal=True)
def _special_ov(name, x):
    label = _literal_name(name, "rt.special")
    if label == "trigamma":
        kernel = _trigamma
    else:
        c_kernel = scipy_kernel(label, 1)

        @register_jitable
        def kernel(v):
            return c_kernel(v, 0)

    dtype = _result_dtype(x)
    if isinstance(x, types.Number):
        return lambda name, x: kernel(float(x))
    if isinstance(x, types.Array):

        def impl(name, x):
            flat = np.ascontiguousarray(x).ravel()
            out = np.empty(flat.size, dtype)
            for i in range(flat.size):
                out[i] = kernel(float(flat[i]))
            return out.reshape(x.shape)

        return impl


@_implements(rt.special2, prefer_literal=True)
def _special2_ov(name, x, y):
    kernel = scipy_kernel(_literal_name(name, "rt.special2"), 2)
    if isinstance(x, types.Number) and isinstance(y, types.Number):
        return lambda name, x, y: kernel(float(x), float(y), 0)
    arrays = [t for t in (x, y) if isinstance(t, types.Array)]
    dtype = np.float32 if all(t.dtype == types.float32 for t in arrays) else np.float64

    def impl(name, x, y):
        shape = np.broadcast_shapes(np.shape(x), np.shape(y))
        a = np.ascontiguousarray(np.broadcast_to(x, shape)).ravel()
        b = np.ascontiguousarray(np.broadcast_to(y, shape)).ravel()
        out = np.empty(a.size, dtype)
        for i in range(a.size):
            out[i] = kernel(float(a[i]), float(b[i]), 0)
        return out.reshape(shape)

    return impl


# The helpers of several arguments, scipy.stats and scipy.signal (they use scipy_kernel above).
from ad_compiler import runtime_scipy  # noqa: E402,F401
