"""Numba implementations of the runtime helpers for log-sum-exp, softmax, norms and the
adjoints of matrix norms (``rt.logsumexp``, ``rt.norm``, ...), registered when
:mod:`ad_compiler.runtime_numba` is imported.
"""

import numpy as np
from numba import types
from numba.core import errors

from ad_compiler import runtime as rt
from ad_compiler.runtime_decomp_numba import matrix_norm_impl
from ad_compiler.runtime_numba import _implements, _is_none


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
