"""Numba implementations of the runtime_decomp helpers (np.linalg on stacks of matrices, the
decompositions and their adjoints), registered when :mod:`ad_compiler.runtime_numba` is
imported.

numba's np.linalg takes 2-D arrays only: a stack (..., M, N) is made a C-contiguous
(count, M, N) array and taken matrix by matrix, with the same one-matrix cores as NumPy runs
(runtime_decomp.py, compiled here with register_jitable). A gradient g is cast to the input's
dtype first (numba's products need one dtype). eigh and eigvalsh call LAPACK as NumPy
does, reading the triangle UPLO names.
"""

import numpy as np
from numba import types
from numba.core import errors
from numba.cpython.unsafe.tuple import tuple_setitem
from numba.extending import overload, register_jitable
from numba.np.linalg import _LAPACK, _copy_to_fortran_order, ensure_lapack, get_blas_kind
from numba.np.numpy_support import as_dtype

from ad_compiler import runtime as rt
from ad_compiler import runtime_decomp as rd
from ad_compiler.runtime_numba import _implements

for _core in (
    rd._one_triangle,
    rd._inverse_gaps,
    rd._pinv_grad_2d,
    rd._svd_values_grad_2d,
    rd._svd_factor_grad_2d,
    rd._eigvalsh_grad_2d,
    rd._eigh_vectors_grad_2d,
    rd._copy_lower,
    rd._qr_square_grad,
    rd._qr_grad_2d,
    rd._nuclear_grad_2d,
    rd._spectral_grad_2d,
):
    register_jitable(_core)


def _array(*ts):
    return all(isinstance(t, types.Array) for t in ts)


def _common(*ts):
    """The NumPy scalar type of the result of arrays of numba types ts."""
    return np.result_type(*(as_dtype(t.dtype) for t in ts)).type


@register_jitable
def _count(shape, tail):
    """The number of blocks of the last `tail` axes in an array of this shape."""
    count = 1
    for k in range(len(shape) - tail):
        count *= shape[k]
    if count == 0:
        raise ValueError("linear algebra on an empty stack of matrices")
    return count


@register_jitable
def _flat(x):
    """A stack of matrices as a C-contiguous (count, M, N) array."""
    return np.ascontiguousarray(x).reshape((_count(x.shape, 2),) + x.shape[-2:])


@register_jitable
def _flat_vectors(x):
    """A stack of vectors as a C-contiguous (count, N) array."""
    return np.ascontiguousarray(x).reshape((_count(x.shape, 1),) + x.shape[-1:])


@register_jitable
def _pinv_2d(a):
    """np.linalg.pinv(a) with NumPy's default cutoff, max(M, N) * eps * the largest s."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    m, n = a.shape
    cutoff = max(m, n) * np.finfo(a.dtype).eps * (s.max() if s.size else 0.0)
    inv_s = np.zeros_like(s)
    for i in range(s.size):
        if s[i] > cutoff:
            inv_s[i] = 1.0 / s[i]
    return np.ascontiguousarray(vh.T) @ (np.expand_dims(inv_s, 1) * np.ascontiguousarray(u.T))


def _eigh_lapack(a, lower, vectors):
    """np.linalg.eigh(a, UPLO) (vectors) or eigvalsh (not), of one matrix, as NumPy computes
    it: LAPACK's syevd on a column-major copy, reading the triangle UPLO names (numba's own
    eigh reads the lower one only, and a transposed copy gives other eigenvector signs)."""


@overload(_eigh_lapack)
def _eigh_lapack_ov(a, lower, vectors):
    ensure_lapack()
    syevd = _LAPACK().numba_ez_xxxevd(a.dtype)
    kind = ord(get_blas_kind(a.dtype, "eigh"))

    def impl(a, lower, vectors):
        n = a.shape[-1]
        if a.shape[-2] != n:
            raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
        acpy = _copy_to_fortran_order(a)
        w = np.empty(n, dtype=a.dtype)
        if n > 0:
            jobz = ord("V") if vectors else ord("N")
            uplo = ord("L") if lower else ord("U")
            r = syevd(kind, jobz, uplo, n, acpy.ctypes, n, w.ctypes)
            if r > 0:
                raise np.linalg.LinAlgError("Eigenvalues did not converge")
        return w, acpy

    return impl


@register_jitable
def _eigh_2d(a, lower):
    return _eigh_lapack(a, lower, True)


@register_jitable
def _slogdet_2d(a):
    sign, logdet = np.linalg.slogdet(a)
    return np.array([sign, logdet])


# --------------------------------------------------------------------------------------------
# One matrix in, one array out, over a stack: a helper per function (numba compiles each).


def _each_matrix(one):
    """The numba implementation of f(a) taking each matrix of a stack by `one(matrix)`."""

    def typer(a):
        if not _array(a):
            return None
        if a.ndim == 2:
            return lambda a: one(np.ascontiguousarray(a))

        def impl(a):
            mats = _flat(a)
            first = one(mats[0])
            out = np.empty((mats.shape[0],) + first.shape, first.dtype)
            out[0] = first
            for k in range(1, mats.shape[0]):
                out[k] = one(mats[k])
            return out.reshape(a.shape[:-2] + first.shape)

        return impl

    return typer


_one_inv = register_jitable(lambda a: np.linalg.inv(a))
_one_cholesky = register_jitable(lambda a: np.linalg.cholesky(a))
_one_svd_values = register_jitable(lambda a: np.linalg.svd(a, full_matrices=False)[1])
_implements(rt.inv)(_each_matrix(_one_inv))
_implements(rt.cholesky)(_each_matrix(_one_cholesky))
_implements(rt.pinv)(_each_matrix(_pinv_2d))
_implements(rt.svd_values)(_each_matrix(_one_svd_values))


@_implements(rt.det)
def _det_ov(a):
    if not _array(a):
        return None
    if a.ndim == 2:
        return lambda a: np.linalg.det(np.ascontiguousarray(a))

    def impl(a):
        mats = _flat(a)
        out = np.empty(mats.shape[0], a.dtype)
        for k in range(mats.shape[0]):
            out[k] = np.linalg.det(mats[k])
        return out.reshape(a.shape[:-2])

    return impl


@_implements(rt.slogdet)
def _slogdet_ov(a):
    if not _array(a):
        return None
    if a.ndim == 2:
        return lambda a: _slogdet_2d(np.ascontiguousarray(a))

    def impl(a):
        mats = _flat(a)
        out = np.empty((2, mats.shape[0]), a.dtype)
        for k in range(mats.shape[0]):
            sign, logdet = np.linalg.slogdet(mats[k])
            out[0, k] = sign
            out[1, k] = logdet
        return out.reshape((2,) + a.shape[:-2])

    return impl


@_implements(rt.solve)
def _solve_ov(a, b):
    if not _array(a, b):
        return None
    if a.ndim == 2 and b.ndim <= 2:
        return lambda a, b: np.linalg.solve(np.ascontiguousarray(a), np.ascontiguousarray(b))
    dtype = _common(a, b)
    if b.ndim == 1:  # a stack of matrices, one vector

        def vector(a, b):
            mats = _flat(a)
            out = np.empty((mats.shape[0], b.shape[0]), dtype)
            rhs = np.ascontiguousarray(b)
            for k in range(mats.shape[0]):
                out[k] = np.linalg.solve(mats[k], rhs)
            return out.reshape(a.shape[:-1])

        return vector

    def impl(a, b):  # stacks broadcast against each other, as NumPy 2 does
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        aa = _flat(np.broadcast_to(a, batch + a.shape[-2:]))
        bb = _flat(np.broadcast_to(b, batch + b.shape[-2:]))
        out = np.empty(bb.shape, dtype)
        for k in range(aa.shape[0]):
            out[k] = np.linalg.solve(aa[k], bb[k])
        return out.reshape(batch + b.shape[-2:])

    return impl


@_implements(rt.matmul)
def _matmul_ov(a, b):
    if not _array(a, b) or a.ndim < 2 or b.ndim < 2:
        return None
    if a.ndim == 2 and b.ndim == 2:
        return lambda a, b: np.ascontiguousarray(a) @ np.ascontiguousarray(b)
    dtype = _common(a, b)

    def impl(a, b):
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        aa = _flat(np.broadcast_to(a, batch + a.shape[-2:]))
        bb = _flat(np.broadcast_to(b, batch + b.shape[-2:]))
        out = np.empty((aa.shape[0], aa.shape[1], bb.shape[2]), dtype)
        for k in range(aa.shape[0]):
            out[k] = aa[k].astype(dtype) @ bb[k].astype(dtype)
        return out.reshape(batch + (aa.shape[1], bb.shape[2]))

    return impl


# --------------------------------------------------------------------------------------------
# Decompositions: forward items and adjoints


@_implements(rt.svd_factor)
def _svd_factor_ov(a, full, item):
    def one(m, full, item):
        u, _, vh = np.linalg.svd(m, full_matrices=full)
        return u if item == 0 else vh

    one = register_jitable(one)

    def impl(a, full, item):
        mats = _flat(a)
        first = one(mats[0], full, item)
        out = np.empty((mats.shape[0],) + first.shape, first.dtype)
        out[0] = first
        for k in range(1, mats.shape[0]):
            out[k] = one(mats[k], full, item)
        return out.reshape(a.shape[:-2] + first.shape)

    return impl


@_implements(rt.eigvalsh)
def _eigvalsh_ov(a, lower):
    def impl(a, lower):
        mats = _flat(a)
        out = np.empty(mats.shape[:2], a.dtype)
        for k in range(mats.shape[0]):
            out[k] = _eigh_lapack(mats[k], lower, False)[0]
        return out.reshape(a.shape[:-1])

    return impl


@_implements(rt.eigh_vectors)
def _eigh_vectors_ov(a, lower):
    def impl(a, lower):
        mats = _flat(a)
        out = np.empty_like(mats)
        for k in range(mats.shape[0]):
            out[k] = _eigh_2d(mats[k], lower)[1]
        return out.reshape(a.shape)

    return impl


@_implements(rt.qr_factor)
def _qr_factor_ov(a, item):
    def one(m, item):
        q, r = np.linalg.qr(m)
        return q if item == 0 else r

    one = register_jitable(one)

    def impl(a, item):
        mats = _flat(a)
        first = one(mats[0], item)
        out = np.empty((mats.shape[0],) + first.shape, first.dtype)
        out[0] = first
        for k in range(1, mats.shape[0]):
            out[k] = one(mats[k], item)
        return out.reshape(a.shape[:-2] + first.shape)

    return impl


@register_jitable
def _grad_stacks(a, g):
    """a as a (count, M, N) stack, g (cast to a's dtype) along it, and an output like a's."""
    return _flat(a), _flat(g.astype(a.dtype)), np.empty_like(_flat(a))


@register_jitable
def _grad_stacks_of_vectors(a, g):
    """The same, where g has a vector per matrix of a (the gradient of eigenvalues)."""
    return _flat(a), _flat_vectors(g.astype(a.dtype)), np.empty_like(_flat(a))


@register_jitable
def _one_svd_values_grad(m, g):
    u, _, vh = np.linalg.svd(m, full_matrices=False)
    return rd._svd_values_grad_2d(u, vh, g)


@register_jitable
def _one_svd_factor_grad(m, g, full, item):
    u, s, vh = np.linalg.svd(m, full_matrices=False)
    return rd._svd_factor_grad_2d(u, s, vh, g, full, item)


@register_jitable
def _one_eigvalsh_grad(m, g, lower):
    _, v = _eigh_2d(m, lower)
    return rd._eigvalsh_grad_2d(v, g, lower)


@register_jitable
def _one_eigh_vectors_grad(m, g, lower):
    w, v = _eigh_2d(m, lower)
    return rd._eigh_vectors_grad_2d(w, v, g, lower)


@register_jitable
def _one_qr_grad(m, g, item):
    q, r = np.linalg.qr(m)
    return rd._qr_grad_2d(m, np.ascontiguousarray(q), np.ascontiguousarray(r), g, item)


@_implements(rt.svd_values_grad)
def _svd_values_grad_ov(a, g):
    def impl(a, g):
        mats, gs, out = _grad_stacks_of_vectors(a, g)
        for k in range(mats.shape[0]):
            out[k] = _one_svd_values_grad(mats[k], gs[k])
        return out.reshape(a.shape)

    return impl


@_implements(rt.svd_factor_grad)
def _svd_factor_grad_ov(a, g, full, item):
    def impl(a, g, full, item):
        mats, gs, out = _grad_stacks(a, g)
        for k in range(mats.shape[0]):
            out[k] = _one_svd_factor_grad(mats[k], gs[k], full, item)
        return out.reshape(a.shape)

    return impl


@_implements(rt.eigvalsh_grad)
def _eigvalsh_grad_ov(a, g, lower):
    def impl(a, g, lower):
        mats, gs, out = _grad_stacks_of_vectors(a, g)
        for k in range(mats.shape[0]):
            out[k] = _one_eigvalsh_grad(mats[k], gs[k], lower)
        return out.reshape(a.shape)

    return impl


@_implements(rt.eigh_vectors_grad)
def _eigh_vectors_grad_ov(a, g, lower):
    def impl(a, g, lower):
        mats, gs, out = _grad_stacks(a, g)
        for k in range(mats.shape[0]):
            out[k] = _one_eigh_vectors_grad(mats[k], gs[k], lower)
        return out.reshape(a.shape)

    return impl


@_implements(rt.qr_grad)
def _qr_grad_ov(a, g, item):
    def impl(a, g, item):
        mats, gs, out = _grad_stacks(a, g)
        for k in range(mats.shape[0]):
            out[k] = _one_qr_grad(mats[k], gs[k], item)
        return out.reshape(a.shape)

    return impl


@_implements(rt.pinv_grad)
def _pinv_grad_ov(a, g, p):
    def impl(a, g, p):
        mats = _flat(a)
        gs = _flat(g.astype(a.dtype))
        ps = _flat(p.astype(a.dtype))
        out = np.empty_like(mats)
        for k in range(mats.shape[0]):
            out[k] = rd._pinv_grad_2d(mats[k], gs[k], ps[k])
        return out.reshape(a.shape)

    return impl


def _check_matrix_ord(ord, what):
    value = ord.literal_value if isinstance(ord, types.Literal) else None
    if value not in ("nuc", 2, -2):
        raise errors.TypingError(f"{what}: ord must be the literal 'nuc', 2 or -2")
    return value


# --------------------------------------------------------------------------------------------
# Matrix norms 'nuc', 2 and -2 of stacks, over any two axes (np.linalg.norm's axis=(i, j))


@register_jitable
def _last_two(shape, i, j):
    """The permutation moving axes i and j to the end, the others kept in order."""
    n = len(shape)
    perm = shape
    k = 0
    for d in range(n):
        if d != i and d != j:
            perm = tuple_setitem(perm, k, d)
            k += 1
    perm = tuple_setitem(perm, n - 2, i)
    return tuple_setitem(perm, n - 1, j)


@register_jitable
def _inverse(perm):
    inv = perm
    for d in range(len(perm)):
        inv = tuple_setitem(inv, perm[d], d)
    return inv


@register_jitable
def _kept(shape, i, j):
    return tuple_setitem(tuple_setitem(shape, i, 1), j, 1)


def _axes_pair(axis):
    """A function (axis, ndim) -> the two matrix axes, non-negative."""
    if isinstance(axis, (types.NoneType, types.Omitted)):
        return register_jitable(lambda axis, ndim: (ndim - 2, ndim - 1))
    if isinstance(axis, types.BaseTuple) and len(axis) == 2:
        return register_jitable(
            lambda axis, ndim: ((axis[0] + ndim) % ndim, (axis[1] + ndim) % ndim)
        )
    raise errors.TypingError("a matrix norm takes axis=None or a pair of axes")


def _svd_reduce(value):
    """The norm of one matrix from its singular values (descending)."""
    if value == "nuc":
        return register_jitable(lambda s: s.sum())
    if value == 2:
        return register_jitable(lambda s: s[0])
    return register_jitable(lambda s: s[-1])


def matrix_norm_impl(x, ord, axis, keepdims):
    """The implementation of rt.norm(x, ord, axis, keepdims) for the matrix norms 'nuc', 2
    and -2 (ord and keepdims literal)."""
    value = _check_matrix_ord(ord, "rt.norm")
    pair, reduce = _axes_pair(axis), _svd_reduce(value)
    keep = bool(keepdims.literal_value) if isinstance(keepdims, types.Literal) else False

    @register_jitable
    def values(x, axis):
        i, j = pair(axis, x.ndim)
        moved = np.transpose(x, _last_two(x.shape, i, j))
        mats = _flat(moved)
        out = np.empty(mats.shape[0], x.dtype)
        for k in range(mats.shape[0]):
            out[k] = reduce(np.linalg.svd(mats[k], full_matrices=False)[1])
        return out, moved.shape, i, j

    if keep:

        def kept(x, ord, axis, keepdims):
            out, _, i, j = values(x, axis)
            return out.reshape(_kept(x.shape, i, j))

        return kept
    if x.ndim == 2:
        return lambda x, ord, axis, keepdims: values(x, axis)[0][0]

    def dropped(x, ord, axis, keepdims):
        out, shape, _, _ = values(x, axis)
        return out.reshape(shape[:-2])

    return dropped


@register_jitable
def _nuclear_local(m, which):
    u, _, vh = np.linalg.svd(m, full_matrices=False)
    return u @ vh


@register_jitable
def _spectral_local(m, which):
    u, _, vh = np.linalg.svd(m, full_matrices=False)
    return np.outer(u[:, which], vh[which, :])


@_implements(rt.matrix_norm_grad, prefer_literal=True)
def _matrix_norm_grad_ov(x, g, ord, axis, keepdims):
    value = _check_matrix_ord(ord, "rt.matrix_norm_grad")
    pair = _axes_pair(axis)
    local = _nuclear_local if value == "nuc" else _spectral_local
    which = 0 if value == 2 else -1
    scalar_g = isinstance(g, types.Number)

    def impl(x, g, ord, axis, keepdims):
        i, j = pair(axis, x.ndim)
        perm = _last_two(x.shape, i, j)
        moved = np.transpose(x, perm)
        mats = _flat(moved)
        grads = np.empty_like(mats)
        for k in range(mats.shape[0]):
            grads[k] = local(mats[k], which)
        back = np.transpose(grads.reshape(moved.shape), _inverse(perm))
        if scalar_g:
            return back * x.dtype.type(g)
        return back * np.asarray(g).astype(x.dtype).reshape(_kept(x.shape, i, j))

    return impl
