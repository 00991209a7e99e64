"""np.linalg: inverse, solve, determinants, Cholesky and norms, with closed-form
vector-Jacobian products.

Matrices may come in stacks (..., M, M), as NumPy takes them; the transpose in an adjoint is
then of the last two axes. Adjoints never form an inverse where a solve does: the adjoint of
x = solve(a, b) is b_bar = solve(a^T, g), a_bar = -b_bar x^T.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import KindError
from ..ir import Const, Kind
from . import CallSpec, Rule, bind_call, register
from .arrays import _check_axes

# --------------------------------------------------------------------------------------------
# Batched matrix helpers used by the adjoints


def _infer_batched(kinds, attrs) -> Kind:
    na, nc = kinds[0].ndim, kinds[1].ndim
    return Kind(None if na is None or nc is None else max(na, nc), "float")


# np.matmul of stacks (a 2-D product prints as `@`; numba has no np.matmul: rt.matmul), and
# the transpose of the last two axes. The forward operations print as rt.inv, rt.solve, ...: in
# NumPy those are np.linalg's, under numba they take stacks too (runtime_decomp_numba.py).
register(Rule("batched_matmul", "rt.matmul({0}, {1})", _infer_batched, cheap=False))
register(Rule("matrix_transpose", "np.swapaxes({0}, -1, -2)", lambda k, a: k[0]))
# A number per matrix, made to broadcast against a stack of matrices: g[..., None, None].
register(
    Rule(
        "per_matrix",
        "{0}[..., None, None]",
        lambda k, a: Kind(None if k[0].ndim is None else k[0].ndim + 2, "float"),
        emit_scalar="{0}",
    )
)


def _ndim(b, x) -> int:
    ndim = b.kind(x).ndim
    if ndim is None:
        b.refuse("linear algebra on an array whose number of dimensions is unknown")
    return ndim


def _t(b, x):
    return b.emit("transpose" if _ndim(b, x) == 2 else "matrix_transpose", x)


def _mm(b, x, y):
    two_d = _ndim(b, x) <= 2 and _ndim(b, y) <= 2
    return b.emit("matmul" if two_d else "batched_matmul", x, y)


def _per_matrix(b, v):
    return v if b.kind(v).is_scalar else b.emit("per_matrix", v)


def _fit(b, contribution, like):
    """A contribution summed back over the stack axes broadcasting gave it."""
    if b.kind(contribution).ndim == b.kind(like).ndim and _ndim(b, like) <= 2:
        return contribution
    return b.emit("sum_to", contribution, like)


def _square(name: str):
    def infer(kinds, attrs) -> Kind:
        a = kinds[0]
        if a.ndim is not None and a.ndim < 2:
            raise KindError(
                f"np.linalg.{name} of an array of {a.ndim} dimension(s)",
                "pass a square matrix (or a stack of them, shape (..., M, M))",
            )
        return a

    return infer


def _reduced_by(count: int, name: str):
    def infer(kinds, attrs) -> Kind:
        a = _square(name)(kinds, attrs)
        return Kind(None if a.ndim is None else a.ndim - count, "float")

    return infer


# --------------------------------------------------------------------------------------------
# inv, solve


def _inv_vjp(b, stmt) -> tuple:
    inv_t = _t(b, b.out)
    return (b.emit("neg", _mm(b, _mm(b, inv_t, b.g), inv_t)),)


register(Rule("inv", "rt.inv({0})", _square("inv"), _inv_vjp, cheap=False))
bind_call(np.linalg.inv, CallSpec("inv", ("a",), name="np.linalg.inv", array_like=("a",)))


def _vector_rhs(kinds) -> bool:
    """NumPy 2: b is a vector when it has one dimension, else a (stack of) matrices."""
    return kinds[1].ndim == 1


def _infer_solve(kinds, attrs) -> Kind:
    a, rhs = kinds
    _square("solve")(kinds, attrs)
    if rhs.ndim == 0:
        raise KindError("np.linalg.solve with a number as b", "pass a vector or a matrix")
    if a.ndim is None or rhs.ndim is None:
        return Kind(None, "float")
    if rhs.ndim == 1:
        return Kind(a.ndim - 1, "float")
    return Kind(max(a.ndim, rhs.ndim), "float")


def _solve_vjp(b, stmt) -> tuple:
    a, rhs = stmt.args
    vector = _ndim(b, rhs) == 1
    # rhs_bar = solve(a^T, g): one solve with the transpose, no inverse.
    if vector and _ndim(b, a) > 2:
        g_rhs = b.emit("solve_stacked_vectors", _t(b, a), b.g)
    else:
        g_rhs = b.emit("solve", _t(b, a), b.g)
    grads = [None, None]
    if b.needs(0):
        if vector and _ndim(b, a) == 2:
            g_a = b.emit("outer", g_rhs, b.out)
        elif vector:
            g_a = b.emit("outer_stacked", g_rhs, b.out)
        else:
            g_a = _mm(b, g_rhs, _t(b, b.out))
        grads[0] = _fit(b, b.emit("neg", g_a), a)
    if b.needs(1):
        grads[1] = _fit(b, g_rhs, rhs)
    return tuple(grads)


register(Rule("solve", "rt.solve({0}, {1})", _infer_solve, _solve_vjp, cheap=False))
bind_call(
    np.linalg.solve,
    CallSpec("solve", ("a", "b"), name="np.linalg.solve", array_like=("a", "b")),
)
# Stacks of matrices with a stack of vectors (the adjoint of solve(a, b) with a 1-D b).
register(
    Rule(
        "solve_stacked_vectors",
        "rt.solve({0}, {1}[..., None])[..., 0]",
        lambda k, a: k[1],
        cheap=False,
    )
)
register(
    Rule(
        "outer_stacked",
        "{0}[..., :, None] * {1}[..., None, :]",
        lambda k, a: Kind(None if k[0].ndim is None else k[0].ndim + 1, "float"),
    )
)


# --------------------------------------------------------------------------------------------
# det, slogdet


def _det_vjp(b, stmt) -> tuple:
    # d det(a) = det(a) tr(a^-1 da): a_bar = g det(a) a^-T
    a = stmt.args[0]
    scale = _per_matrix(b, b.emit("mul", b.g, b.out))
    return (b.emit("mul", scale, _t(b, b.emit("inv", a))),)


register(Rule("det", "rt.det({0})", _reduced_by(2, "det"), _det_vjp, cheap=False))
bind_call(np.linalg.det, CallSpec("det", ("a",), name="np.linalg.det", array_like=("a",)))


def _slogdet_vjp(b, stmt) -> tuple:
    # (sign, log|det|) as one array: the sign is piecewise constant, log|det|' = a^-T.
    a = stmt.args[0]
    g_log = b.emit("getitem", b.g, Const(1), index=(("i",),))
    return (b.emit("mul", _per_matrix(b, g_log), _t(b, b.emit("inv", a))),)


def _infer_slogdet(kinds, attrs) -> Kind:
    a = _square("slogdet")(kinds, attrs)
    return Kind(None if a.ndim is None else a.ndim - 1, "float")


# np.linalg.slogdet(a) is held as the array [sign, logdet] (of shape (2, ...) for a stack), so
# that `sign, logdet = ...` and `...[1]` read it as the tuple it is.
register(
    Rule(
        "slogdet",
        "rt.slogdet({0})",
        _infer_slogdet,
        _slogdet_vjp,
        cheap=False,
    )
)
bind_call(
    np.linalg.slogdet, CallSpec("slogdet", ("a",), name="np.linalg.slogdet", array_like=("a",))
)


# --------------------------------------------------------------------------------------------
# cholesky


def _cholesky_vjp(b, stmt) -> tuple:
    """NumPy reads only the lower triangle of a. With L = cholesky(a), P = phi(L^T g) (the lower
    triangle, its diagonal halved) and S = L^-T P L^-1, the symmetric gradient is
    (S + S^T) / 2; each entry below the diagonal stands for two of the symmetric matrix, so it
    receives twice that, the diagonal once, and the upper triangle, never read, nothing."""
    low = b.out
    p = b.emit("tril_half_diagonal", _mm(b, _t(b, low), b.g))
    low_t = _t(b, low)
    y = b.emit("solve", low_t, p)  # L^-T P
    s = _t(b, b.emit("solve", low_t, _t(b, y)))  # (L^-T (L^-T P)^T)^T = L^-T P L^-1
    return (b.emit("tril_half_diagonal", b.emit("add", s, _t(b, s))),)


register(Rule("cholesky", "rt.cholesky({0})", _square("cholesky"), _cholesky_vjp))
bind_call(
    np.linalg.cholesky,
    CallSpec("cholesky", ("a",), name="np.linalg.cholesky", array_like=("a",)),
)
register(Rule("tril_half_diagonal", "rt.tril_half_diagonal({0})", lambda k, a: k[0]))


# --------------------------------------------------------------------------------------------
# norm

_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)
# Matrix norms also taken of stacks, with axis= and keepdims=
_STACKED_ORDS = (None, "fro", "nuc", 2, -2)


def _is_matrix_norm(ndim: int, axis) -> bool:
    return isinstance(axis, tuple) and len(axis) == 2 or axis is None and ndim == 2


def _infer_norm(kinds, attrs) -> Kind:
    x = kinds[0]
    ord_, axis, keepdims = attrs.get("ord"), attrs.get("axis"), attrs.get("keepdims", False)
    if isinstance(ord_, str) and ord_ not in ("fro", "nuc"):
        raise KindError(f"np.linalg.norm with ord={ord_!r}", "use ord='fro' or ord='nuc'")
    if x.ndim is None:
        return Kind(None, "float")
    if isinstance(axis, tuple):
        _check_axes(axis, x.ndim)
        if len(axis) > 2:
            raise KindError("np.linalg.norm over more than two axes", "give one or two axes")
    elif axis is not None and not (type(axis) is int and -x.ndim <= axis < max(x.ndim, 1)):
        raise KindError(f"axis={axis!r} for an array of {x.ndim} dimension(s)", "give a valid axis")
    matrix = x.ndim > 0 and _is_matrix_norm(x.ndim, axis)
    if axis is None and x.ndim > 2 and ord_ is not None:
        raise KindError(
            f"np.linalg.norm with ord={ord_!r} of an array of {x.ndim} dimensions",
            "give axis= (one axis for vector norms, two for matrix norms)",
        )
    if matrix and ord_ not in (None, *_MATRIX_ORDS):
        raise KindError(f"a matrix norm with ord={ord_!r}", "use one of NumPy's matrix norms")
    if not matrix and isinstance(ord_, str):
        raise KindError(f"ord={ord_!r} for a vector norm", "use a number, or None")
    if matrix and ord_ not in _STACKED_ORDS and (x.ndim != 2 or keepdims or axis is not None):
        raise KindError(
            f"the matrix norm ord={ord_!r} of a stack, or with axis= or keepdims=",
            "take the norm of each 2-D matrix, without axis= (transpose it for axis=(1, 0))",
        )
    if keepdims:
        return Kind(x.ndim, "float")
    if axis is None:
        return Kind(0, "float")
    return Kind(x.ndim - (len(axis) if isinstance(axis, tuple) else 1), "float")


def _literal(value) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "np.inf" if value > 0 else "-np.inf"
    return repr(value)


def _emit_norm(n: int, attrs: dict) -> str:
    ord_, axis, keepdims = attrs.get("ord"), attrs.get("axis"), attrs.get("keepdims", False)
    if ord_ == "fro" and axis is None:
        ord_ = None  # the same norm of a matrix, which numba knows by that name only
    if axis is None and not keepdims and ord_ != "nuc":  # (numba has these)
        return "np.linalg.norm({0})" if ord_ is None else f"np.linalg.norm({{0}}, {_literal(ord_)})"
    return f"rt.norm({{0}}, {_literal(ord_)}, {axis!r}, {keepdims!r})"


def _norm_vjp(b, stmt) -> tuple:
    x = stmt.args[0]
    ndim = _ndim(b, x)
    ord_, axis = stmt.attr("ord"), stmt.attr("axis")
    keepdims = bool(stmt.attr("keepdims", False))
    if ndim == 0:  # |x|
        return (b.emit("mul", b.g, b.emit("sign", x)),)
    reduce = {"axis": axis, "keepdims": keepdims}

    def spread(v):
        return b.emit("reduce_grad", v, x, **reduce)

    matrix = _is_matrix_norm(ndim, axis)
    if ord_ is None or ord_ == "fro" or ord_ == 2 and not matrix:
        return (b.emit("mul", x, spread(b.emit("div", b.g, b.out))),)
    if matrix and (axis is not None or keepdims):  # (ord 'nuc', 2 or -2: others refused)
        grad = b.emit("matrix_norm_grad", x, b.g, ord=ord_, axis=axis, keepdims=keepdims)
        return (grad,)
    if matrix:
        return (_matrix_norm_vjp(b, x, ord_),)
    if ord_ == 0:
        return (None,)
    sign = b.emit("sign", x)
    if math.isinf(ord_):
        extreme = b.emit("extreme_grad", b.g, b.emit("abs", x), b.out, **reduce)
        return (b.emit("mul", extreme, sign),)
    if ord_ == 1:
        return (b.emit("mul", spread(b.g), sign),)
    # (sum |x|^p)^(1/p): g |x|^(p-1) sign(x) / out^(p-1)
    power = Const(float(ord_) - 1.0)
    local = b.emit("mul", sign, b.emit("pow", b.emit("abs", x), power))
    return (b.emit("mul", local, spread(b.emit("div", b.g, b.emit("pow", b.out, power)))),)


def _matrix_norm_vjp(b, x, ord_):
    """Of a 2-D x, without axis= or keepdims= (other matrix norms are refused)."""
    if ord_ == "nuc":
        return b.emit("mul", b.g, b.emit("nuclear_norm_grad", x))
    if ord_ in (2, -2):
        return b.emit("mul", b.g, b.emit("spectral_norm_grad", x, which=0 if ord_ == 2 else -1))
    # 1, -1: the largest (smallest) sum of |x| over the row axis; inf, -inf: over the columns.
    summed = 0 if ord_ in (1, -1) else 1
    sums = b.emit("sum", b.emit("abs", x), axis=summed)
    pick = b.emit("extreme_grad", b.g, sums, b.out, axis=None, keepdims=False)
    return b.emit("mul", b.emit("sign", x), b.emit("expand_dims", pick, axis=summed))


register(Rule("norm", _emit_norm, _infer_norm, _norm_vjp, cheap=False))
bind_call(
    np.linalg.norm,
    CallSpec(
        "norm",
        ("x",),
        {"ord": None, "axis": None, "keepdims": False},
        name="np.linalg.norm",
        array_like=("x",),
    ),
)
register(Rule("nuclear_norm_grad", "rt.nuclear_norm_grad({0})", lambda k, a: k[0], cheap=False))
register(
    Rule(
        "spectral_norm_grad",
        "rt.spectral_norm_grad({0}, {which})",
        lambda k, a: k[0],
        cheap=False,
    )
)
register(
    Rule(
        "matrix_norm_grad",
        lambda n, attrs: (
            f"rt.matrix_norm_grad({{0}}, {{1}}, {_literal(attrs['ord'])}, {attrs['axis']!r}, "
            f"{attrs['keepdims']!r})"
        ),
        lambda k, a: k[0],
        cheap=False,
    )
)
