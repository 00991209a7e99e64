"""Numba implementations of the runtime helpers for scipy.special and linear algebra
(``rt.special``, ``rt.logsumexp``, ...), registered when :mod:`ad_compiler.runtime_numba` is
imported.

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
from ad_compiler.runtime_decomp_numba import matrix_norm_impl
from ad_compiler.runtime_numba import _implements, _is_none

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


@_implements(rt.logsumexp, prefer_literal=True)
def _logsumexp_ov(x, axis, keepdims):
    if isinstance(x, types.Number):
        return lambda x, axis, keepdims: float(x)

    def impl(x, axis, keepdims):
        top = rt.rmax(x, axis, True)
        top = np.where(np.isfinite(top), top, 0.0)
        total = rt.rsum(np.exp(x - top), axis, keepdims)
        return np.log(total) + rt.rsum(top, axis, keepdims)

    return impl


@_implements(rt.softmax, prefer_literal=True)
def _softmax_ov(x, axis):
    if isinstance(x, types.Number):
        return lambda x, axis: 1.0

    def impl(x, axis):
        top = rt.rmax(x, axis, True)
        e = np.exp(x - np.where(np.isfinite(top), top, 0.0))
        return e / rt.rsum(e, axis, True)

    return impl


@_implements(rt.log_softmax, prefer_literal=True)
def _log_softmax_ov(x, axis):
    if isinstance(x, types.Number):
        return lambda x, axis: 0.0

    def impl(x, axis):
        top = rt.rmax(x, axis, True)
        shifted = x - np.where(np.isfinite(top), top, 0.0)
        return shifted - np.log(rt.rsum(np.exp(shifted), axis, True))

    return impl


@_implements(rt.norm, prefer_literal=True)
def _norm_ov(x, ord, axis, keepdims):
    if not isinstance(x, types.Array):
        return None
    pair = isinstance(axis, types.BaseTuple) and len(axis) == 2
    if isinstance(ord, types.Number) and (pair or _is_none(axis) and x.ndim == 2):
        # A matrix norm (ord 2, -2; 'nuc' below): ord and keepdims must be literal
        if not isinstance(ord, types.Literal) or not isinstance(keepdims, types.Literal):
            raise errors.TypingError("rt.norm: a matrix norm needs a literal ord and keepdims")
        return matrix_norm_impl(x, ord, axis, keepdims)
    if isinstance(ord, types.StringLiteral) and ord.literal_value == "nuc":
        if not isinstance(keepdims, types.Literal):
            raise errors.TypingError("rt.norm: a matrix norm needs a literal keepdims")
        return matrix_norm_impl(x, ord, axis, keepdims)
    if isinstance(ord, (types.NoneType, types.Omitted, types.StringLiteral)):
        if isinstance(ord, types.StringLiteral) and ord.literal_value != "fro":
            raise errors.TypingError(f"rt.norm: ord={ord.literal_value!r} along axes")
        return lambda x, ord, axis, keepdims: np.sqrt(rt.rsum(x * x, axis, keepdims))
    if not isinstance(ord, types.Number):
        raise errors.TypingError("rt.norm: ord must be None, 'fro' or a number")

    def impl(x, ord, axis, keepdims):
        a = np.abs(x)
        if ord == np.inf:
            return rt.rmax(a, axis, keepdims)
        if ord == -np.inf:
            return rt.rmin(a, axis, keepdims)
        if ord == 0:
            return rt.rsum((a != 0) * 1.0, axis, keepdims)
        if ord == 1:
            return rt.rsum(a, axis, keepdims)
        if ord == 2:
            return np.sqrt(rt.rsum(a * a, axis, keepdims))
        return rt.rsum(a**ord, axis, keepdims) ** (1.0 / ord)

    return impl


@_implements(rt.tril_half_diagonal)
def _tril_half_diagonal_ov(x):
    if isinstance(x, types.Array) and x.ndim >= 2:

        def impl(x):  # (a stack taken as (count, M, N))
            m, n = x.shape[-2], x.shape[-1]
            mats = np.ascontiguousarray(x).reshape((-1, m, n))
            out = np.zeros_like(mats)
            for k in range(mats.shape[0]):
                for i in range(m):
                    for j in range(min(i + 1, n)):
                        out[k, i, j] = mats[k, i, j] * (0.5 if i == j else 1.0)
            return out.reshape(x.shape)

        return impl


@_implements(rt.nuclear_norm_grad)
def _nuclear_norm_grad_ov(x):
    def impl(x):
        u, _, vt = np.linalg.svd(x, full_matrices=False)
        return u @ vt

    return impl


@_implements(rt.spectral_norm_grad)
def _spectral_norm_grad_ov(x, which):
    def impl(x, which):
        u, _, vt = np.linalg.svd(x, full_matrices=False)
        return np.outer(u[:, which], vt[which, :])

    return impl
