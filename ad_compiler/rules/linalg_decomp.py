"""np.linalg decompositions: pinv, svd, eigh, eigvalsh and qr, of matrices and stacks of them
(..., M, N), with closed-form vector-Jacobian products (runtime_decomp.py).

svd, eigh and qr return tuples. A call returning a tuple becomes one operation per item with
the attribute `item` (svd: 0 u, 1 s, 2 vh; eigh: 0 w, 1 v; qr: 0 q, 1 r): their spec is a
`TupleCallSpec`, whose `results(attributes)` says how many items the call returns (0: one
array). Each item's adjoint is that of the decomposition with the other items' gradients zero;
the adjoints add up to the decomposition's, which is linear in its items' gradients.

Gradients through eigenvectors and singular vectors assume distinct eigenvalues (singular
values), as autograd's do; eigh's, like NumPy, reads one triangle of the matrix only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import KindError
from ..ir import Kind
from . import CallSpec, Rule, bind_call, register


@dataclass(frozen=True)
class TupleCallSpec(CallSpec):
    """A function returning a tuple of arrays: `results(attributes)` is the number of items
    (0 when, with these attributes, it returns one array: svd with compute_uv=False)."""

    results: Callable[[dict], int] = lambda attrs: 0


def _matrices(name: str, kinds) -> int | None:
    ndim = kinds[0].ndim
    if ndim is not None and ndim < 2:
        raise KindError(
            f"np.linalg.{name} of an array of {ndim} dimension(s)",
            "pass a matrix (or a stack of them, shape (..., M, N))",
        )
    return ndim


def _item(name: str, attrs: dict, count: int) -> int:
    """Which item of the tuple this operation is; refused where the call was not unpacked."""
    item = attrs.get("item")
    if item is None:
        raise KindError(
            f"np.linalg.{name} returns a tuple of {count} arrays, which this compiler cannot "
            "unpack yet",
            "use np.linalg.svd(a, compute_uv=False) for singular values, np.linalg.eigvalsh for "
            "eigenvalues",
        )
    return item


def _kind(ndim: int | None, drop: int = 0) -> Kind:
    return Kind(None if ndim is None else ndim - drop, "float")


def _stack_ndim(b, x) -> int:
    ndim = b.kind(x).ndim
    if ndim is None:
        b.refuse("linear algebra on an array whose number of dimensions is unknown")
    return ndim


# --------------------------------------------------------------------------------------------
# pinv


def _pinv_vjp(b, stmt) -> tuple:
    # Of constant rank: -p^T g p^T + (I - a p) g^T p p^T + p^T p g^T (I - p a)
    return (b.emit("pinv_grad", stmt.args[0], b.g, b.out),)


register(
    Rule(
        "pinv",
        "rt.pinv({0})",
        lambda k, a: _kind(_matrices("pinv", k)),
        _pinv_vjp,
        cheap=False,
    )
)
bind_call(np.linalg.pinv, CallSpec("pinv", ("a",), name="np.linalg.pinv", array_like=("a",)))
register(Rule("pinv_grad", "rt.pinv_grad({0}, {1}, {2})", lambda k, a: k[0], cheap=False))


# --------------------------------------------------------------------------------------------
# svd


def _svd_results(attrs: dict) -> int:
    return 3 if attrs.get("compute_uv", True) else 0


def _svd_part(attrs: dict) -> int:
    """1 for the singular values, 0 for u, 2 for vh."""
    return 1 if not attrs.get("compute_uv", True) else _item("svd", attrs, 3)


def _infer_svd(kinds, attrs) -> Kind:
    ndim = _matrices("svd", kinds)
    if attrs.get("hermitian", False):
        raise KindError("np.linalg.svd with hermitian=True", "leave hermitian=False")
    return _kind(ndim, 1 if _svd_part(attrs) == 1 else 0)


def _emit_svd(n: int, attrs: dict) -> str:
    part = _svd_part(attrs)
    if part == 1:
        return "rt.svd_values({0})"
    return f"rt.svd_factor({{0}}, {bool(attrs.get('full_matrices', True))!r}, {part})"


def _svd_vjp(b, stmt) -> tuple:
    a = stmt.args[0]
    part = _svd_part(dict(stmt.attrs))
    if part == 1:
        return (b.emit("svd_values_grad", a, b.g),)
    full = bool(stmt.attr("full_matrices", True))
    return (b.emit("svd_factor_grad", a, b.g, full=full, item=part),)


register(Rule("svd", _emit_svd, _infer_svd, _svd_vjp, cheap=False))
bind_call(
    np.linalg.svd,
    TupleCallSpec(
        "svd",
        ("a",),
        {"full_matrices": True, "compute_uv": True, "hermitian": False},
        name="np.linalg.svd",
        array_like=("a",),
        results=_svd_results,
    ),
)
register(Rule("svd_values_grad", "rt.svd_values_grad({0}, {1})", lambda k, a: k[0], cheap=False))
register(
    Rule(
        "svd_factor_grad",
        "rt.svd_factor_grad({0}, {1}, {full}, {item})",
        lambda k, a: k[0],
        cheap=False,
    )
)


# --------------------------------------------------------------------------------------------
# eigh, eigvalsh


def _lower(name: str, attrs: dict) -> bool:
    uplo = attrs.get("UPLO", "L")
    if uplo not in ("L", "U"):
        raise KindError(f"np.linalg.{name} with UPLO={uplo!r}", "use UPLO='L' or UPLO='U'")
    return uplo == "L"


def _square(name: str, kinds) -> int | None:
    return _matrices(name, kinds)  # (square at run time: NumPy raises LinAlgError otherwise)


def _infer_eigh(kinds, attrs) -> Kind:
    ndim = _square("eigh", kinds)
    _lower("eigh", attrs)
    return _kind(ndim, 1 if _item("eigh", attrs, 2) == 0 else 0)


def _emit_eigh(n: int, attrs: dict) -> str:
    lower = _lower("eigh", attrs)
    helper = "eigvalsh" if attrs["item"] == 0 else "eigh_vectors"
    return f"rt.{helper}({{0}}, {lower!r})"


def _eigh_vjp(b, stmt) -> tuple:
    lower = _lower("eigh", dict(stmt.attrs))
    op = "eigvalsh_grad" if stmt.attr("item") == 0 else "eigh_vectors_grad"
    return (b.emit(op, stmt.args[0], b.g, lower=lower),)


register(Rule("eigh", _emit_eigh, _infer_eigh, _eigh_vjp, cheap=False))
bind_call(
    np.linalg.eigh,
    TupleCallSpec(
        "eigh",
        ("a",),
        {"UPLO": "L"},
        name="np.linalg.eigh",
        array_like=("a",),
        results=lambda attrs: 2,
    ),
)


def _infer_eigvalsh(kinds, attrs) -> Kind:
    ndim = _square("eigvalsh", kinds)
    _lower("eigvalsh", attrs)
    return _kind(ndim, 1)


def _eigvalsh_vjp(b, stmt) -> tuple:
    lower = _lower("eigvalsh", dict(stmt.attrs))
    return (b.emit("eigvalsh_grad", stmt.args[0], b.g, lower=lower),)


register(
    Rule(
        "eigvalsh",
        lambda n, attrs: f"rt.eigvalsh({{0}}, {_lower('eigvalsh', attrs)!r})",
        _infer_eigvalsh,
        _eigvalsh_vjp,
        cheap=False,
    )
)
bind_call(
    np.linalg.eigvalsh,
    CallSpec("eigvalsh", ("a",), {"UPLO": "L"}, name="np.linalg.eigvalsh", array_like=("a",)),
)
register(
    Rule("eigvalsh_grad", "rt.eigvalsh_grad({0}, {1}, {lower})", lambda k, a: k[0], cheap=False)
)
register(
    Rule(
        "eigh_vectors_grad",
        "rt.eigh_vectors_grad({0}, {1}, {lower})",
        lambda k, a: k[0],
        cheap=False,
    )
)


# --------------------------------------------------------------------------------------------
# qr (reduced; mode="r" gives r alone)


def _qr_mode(attrs: dict) -> str:
    mode = attrs.get("mode", "reduced")
    if mode not in ("reduced", "r"):
        raise KindError(
            f"np.linalg.qr with mode={mode!r}",
            "use mode='reduced' (the gradient of the complete q is not defined) or mode='r'",
        )
    return mode


def _qr_part(attrs: dict) -> int:
    return 1 if _qr_mode(attrs) == "r" else _item("qr", attrs, 2)


def _infer_qr(kinds, attrs) -> Kind:
    _qr_part(attrs)  # (refuses other modes, and a tuple not unpacked)
    return _kind(_matrices("qr", kinds))


def _qr_vjp(b, stmt) -> tuple:
    return (b.emit("qr_grad", stmt.args[0], b.g, item=_qr_part(dict(stmt.attrs))),)


register(
    Rule(
        "qr",
        lambda n, attrs: f"rt.qr_factor({{0}}, {_qr_part(attrs)})",
        _infer_qr,
        _qr_vjp,
        cheap=False,
    )
)
bind_call(
    np.linalg.qr,
    TupleCallSpec(
        "qr",
        ("a",),
        {"mode": "reduced"},
        name="np.linalg.qr",
        array_like=("a",),
        results=lambda attrs: 2 if attrs.get("mode", "reduced") == "reduced" else 0,
    ),
)
register(Rule("qr_grad", "rt.qr_grad({0}, {1}, {item})", lambda k, a: k[0], cheap=False))
