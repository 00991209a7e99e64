"""Runtime helpers for np.linalg on stacks of matrices, and for the decompositions (pinv, svd,
eigh, eigvalsh, qr) and their vector-Jacobian products; re-exported by
:mod:`ad_compiler.runtime` as ``rt.<name>``.

Each rule works on one matrix in a ``_..._2d`` core, written with the NumPy that numba compiles
too (runtime_decomp_numba.py compiles the same cores and loops over the stack there); here a
stack (..., M, N) is taken matrix by matrix with :func:`_each`. ``lower`` says which triangle of
a symmetric matrix is read (UPLO="L"), ``item`` which result of a tuple-returning function
(svd: 0 u, 1 s, 2 vh; eigh: 0 w, 1 v; qr: 0 q, 1 r) a helper computes or differentiates.
"""

import numpy as np


def _each(core, batch, *args):
    """core(*args) for each matrix of a stack with leading axes `batch`: an array among args is
    taken part by part along those axes, anything else passed as it is."""
    if not batch:
        return core(*args)
    count = int(np.prod(batch))
    if count == 0:
        raise ValueError("linear algebra on an empty stack of matrices")

    def part(x, k):
        if not isinstance(x, np.ndarray):
            return x
        return x.reshape((count,) + x.shape[len(batch) :])[k]

    results = [core(*(part(x, k) for x in args)) for k in range(count)]
    return np.stack(results).reshape(batch + results[0].shape)


# --------------------------------------------------------------------------------------------
# Cores on one matrix (numba compiles these too: no keyword it lacks, no np.eye of a dtype)


def _one_triangle(t, lower):
    """A gradient t with respect to a symmetric matrix, as one with respect to the triangle
    read: each entry off the diagonal stands for two, the other triangle gets nothing."""
    both = t + t.T
    out = np.tril(both, -1) if lower else np.triu(both, 1)
    for i in range(t.shape[0]):
        out[i, i] = t[i, i]
    return out


def _inverse_gaps(w):
    """f[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it."""
    n = w.shape[0]
    f = np.zeros((n, n), w.dtype)
    for i in range(n):
        for j in range(n):
            if i != j:
                f[i, j] = 1.0 / (w[j] - w[i])
    return f


def _pinv_grad_2d(a, g, p):
    """Of p = pinv(a), for a of constant rank: -p^T g p^T + (I - a p) g^T p p^T
    + p^T p g^T (I - p a)."""
    pt = np.ascontiguousarray(p.T)
    gt = np.ascontiguousarray(g.T)
    h = gt @ (p @ pt)
    k = (pt @ p) @ gt
    return -(pt @ g @ pt) + h - a @ (p @ h) + k - (k @ p) @ a


def _svd_values_grad_2d(u, vh, g):
    """d s / d a contracted with g: u diag(g) vh."""
    return (u * g) @ vh


def _svd_factor_grad_2d(u, s, vh, g, full, item):
    """Of u (item 0) or vh (item 2) of the reduced SVD u, s, vh of an (m, n) matrix; with
    full_matrices=True only where that factor is the reduced one (the extra columns of a full
    factor are any orthonormal completion)."""
    m, n = u.shape[0], vh.shape[1]
    if full and (item == 0 and m > n or item == 2 and n > m):
        raise ValueError(
            "the gradient of the full (not reduced) factor of np.linalg.svd of a non-square "
            "matrix is not defined; pass full_matrices=False"
        )
    f = _inverse_gaps(s * s)
    if item == 0:
        x = np.ascontiguousarray(u.T) @ g
        out = u @ ((f * (x - x.T)) * s) @ vh
        if m > n:  # the part of g outside the span of u
            out += ((g - u @ x) / s) @ vh
        return out
    y = vh @ np.ascontiguousarray(g.T)
    out = u @ (np.expand_dims(s, 1) * (f * (y - y.T))) @ vh
    if n > m:
        out += (u / s) @ (g - (g @ np.ascontiguousarray(vh.T)) @ vh)
    return out


def _eigvalsh_grad_2d(v, g, lower):
    """Of the eigenvalues, v the eigenvectors of the symmetric matrix read."""
    return _one_triangle((v * g) @ np.ascontiguousarray(v.T), lower)


def _eigh_vectors_grad_2d(w, v, g, lower):
    vt = np.ascontiguousarray(v.T)
    return _one_triangle(v @ (_inverse_gaps(w) * (vt @ g)) @ vt, lower)


def _copy_lower(x):
    """The symmetric matrix with x's lower triangle."""
    return np.tril(x) + np.tril(x, -1).T


def _qr_square_grad(q, r, gq, gr):
    """Of a = q r with r square (a has at least as many rows as columns):
    (gq + q copyltu(m)) r^-T, m = r gr^T - gq^T q."""
    m = r @ np.ascontiguousarray(gr.T) - np.ascontiguousarray(gq.T) @ q
    b = gq + q @ _copy_lower(m)
    return np.ascontiguousarray(np.linalg.solve(r, np.ascontiguousarray(b.T)).T)


def _qr_grad_2d(a, q, r, g, item):
    """Of the reduced QR a = q r: item 0 with g the gradient of q, item 1 of r."""
    m, n = a.shape
    gq = g if item == 0 else np.zeros_like(q)
    gr = g if item == 1 else np.zeros_like(r)
    if m >= n:
        return _qr_square_grad(q, r, gq, gr)
    # a = [x | y], r = [u | v] with x = q u square and y = q v
    y = np.ascontiguousarray(a[:, m:])
    gv = np.ascontiguousarray(gr[:, m:])
    u = np.ascontiguousarray(r[:, :m])
    gx = _qr_square_grad(q, u, gq + y @ np.ascontiguousarray(gv.T), np.ascontiguousarray(gr[:, :m]))
    return np.concatenate((gx, q @ gv), axis=1)


def _nuclear_grad_2d(u, vh):
    return u @ vh


def _spectral_grad_2d(u, vh, which):
    return np.outer(u[:, which], vh[which, :])


# --------------------------------------------------------------------------------------------
# Helpers called by generated code (stacks taken matrix by matrix)


def inv(a):
    """``np.linalg.inv`` (numba: also of stacks)."""
    return np.linalg.inv(a)


def solve(a, b):
    """``np.linalg.solve`` (numba: also of stacks, broadcast as NumPy 2 does)."""
    return np.linalg.solve(a, b)


def det(a):
    """``np.linalg.det`` (numba: also of stacks)."""
    return np.linalg.det(a)


def slogdet(a):
    """``np.linalg.slogdet`` as one array [sign, logabsdet] (of shape (2, ...) for a stack)."""
    return np.array(np.linalg.slogdet(a))


def cholesky(a):
    """``np.linalg.cholesky`` (numba: also of stacks)."""
    return np.linalg.cholesky(a)


def matmul(a, b):
    """``np.matmul`` of stacks of matrices (numba has ``@`` of 2-D arrays only)."""
    return np.matmul(a, b)


def pinv(a):
    """``np.linalg.pinv(a)`` with NumPy's default cutoff."""
    return np.linalg.pinv(a)


def pinv_grad(a, g, p):
    return _each(_pinv_grad_2d, a.shape[:-2], a, g, p).astype(a.dtype, copy=False)


def svd_values(a):
    """``np.linalg.svd(a, compute_uv=False)``."""
    return np.linalg.svd(a, compute_uv=False)


def _uplo(lower):
    return "L" if lower else "U"


def svd_values_grad(a, g):
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return _each(_svd_values_grad_2d, a.shape[:-2], u, vh, g).astype(a.dtype, copy=False)


def svd_factor(a, full, item):
    """u (item 0) or vh (item 2) of ``np.linalg.svd(a, full_matrices=full)``."""
    return np.linalg.svd(a, full_matrices=full)[item]


def svd_factor_grad(a, g, full, item):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    grad = _each(_svd_factor_grad_2d, a.shape[:-2], u, s, vh, g, full, item)
    return grad.astype(a.dtype, copy=False)


def eigvalsh(a, lower):
    """``np.linalg.eigvalsh(a, UPLO)``: the eigenvalues of eigh."""
    return np.linalg.eigvalsh(a, _uplo(lower))


def eigvalsh_grad(a, g, lower):
    _, v = np.linalg.eigh(a, _uplo(lower))
    return _each(_eigvalsh_grad_2d, a.shape[:-2], v, g, lower).astype(a.dtype, copy=False)


def eigh_vectors(a, lower):
    """The eigenvectors of ``np.linalg.eigh(a, UPLO)``."""
    return np.linalg.eigh(a, _uplo(lower))[1]


def eigh_vectors_grad(a, g, lower):
    w, v = np.linalg.eigh(a, _uplo(lower))
    return _each(_eigh_vectors_grad_2d, a.shape[:-2], w, v, g, lower).astype(a.dtype, copy=False)


def qr_factor(a, item):
    """q (item 0) or r (item 1) of the reduced ``np.linalg.qr(a)``."""
    return np.linalg.qr(a)[item]


def qr_grad(a, g, item):
    q, r = np.linalg.qr(a)
    return _each(_qr_grad_2d, a.shape[:-2], a, q, r, g, item).astype(a.dtype, copy=False)


def _matrices_last(x, axis):
    """x with the two matrix axes moved to the end (axis None: the last two)."""
    if axis is None:
        return x
    return np.moveaxis(x, axis, (-2, -1))


def matrix_norm_grad(x, g, ord, axis, keepdims):
    """g times d/dx of np.linalg.norm(x, ord, axis, keepdims) for ord 'nuc', 2 or -2, of a
    matrix or of a stack of them (the matrix axes given by axis)."""
    u, _, vh = np.linalg.svd(_matrices_last(x, axis), full_matrices=False)
    if ord == "nuc":
        local = _each(_nuclear_grad_2d, u.shape[:-2], u, vh)
    else:
        local = _each(_spectral_grad_2d, u.shape[:-2], u, vh, 0 if ord == 2 else -1)
    if axis is not None:
        local = np.moveaxis(local, (-2, -1), axis)
    if not keepdims:
        if axis is None:
            g = np.asarray(g)[..., None, None]
        else:
            g = np.expand_dims(g, tuple(sorted(a % x.ndim for a in axis)))
    return (g * local).astype(x.dtype, copy=False)
