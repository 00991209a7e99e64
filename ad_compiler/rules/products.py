"""Products of arrays: `@`/np.matmul, np.dot, np.outer, np.einsum, np.tensordot, np.inner,
np.vdot, np.kron and np.cross.

Each is an Einstein sum (runtime_products.py writes its subscripts from the operands' numbers
of dimensions), so one adjoint serves them all: the adjoint of operand k is the einsum of the
upstream gradient with the other operands into operand k's subscripts (`einsum_to`, which also
writes a repeated index's diagonal, spreads a summed index and sums a broadcast one). Matrix
products of vectors and matrices keep their readable adjoints (g @ b.T ...).

numba has no einsum and no `@` of stacks: runtime_products_numba.py compiles each spec into
loops, so all of this also runs inside loops.
"""

from __future__ import annotations

import numpy as np

from ..errors import KindError
from ..ir import Kind
from ..runtime_products import (
    SpecError,
    cross_spec,
    dot_spec,
    einsum_spec,
    inner_spec,
    kron_spec,
    matmul_spec,
    tensordot_spec,
)
from . import CallSpec, Rule, bind_call, bind_method, register

_AB = ("a", "b")


def _dtype(kinds) -> str:
    return "float" if any(k.dtype not in ("int", "bool") for k in kinds) else "int"


def _ndims(kinds) -> tuple | None:
    ndims = tuple(k.ndim for k in kinds)
    return None if None in ndims else ndims


def _spec(make, what: str, *args) -> str:
    try:
        return make(*args)
    except SpecError as exc:
        raise KindError(str(exc), f"check the shapes and arguments of {what}") from None


def _infer_by(make, what: str):
    """Kind inference of a two-operand product whose subscripts `make` writes."""

    def infer(kinds, attrs) -> Kind:
        ndims = _ndims(kinds[:2])
        if ndims is None:
            return Kind(None, _dtype(kinds))
        spec = _spec(make, what, *ndims, *_extra(attrs))
        return Kind(len(spec.partition("->")[2]), _dtype(kinds))

    return infer


def _extra(attrs) -> tuple:
    if "axes" in attrs:
        return (_tuples(attrs["axes"]),)
    if "axisa" in attrs:
        return _cross_axes(attrs)
    return ()


def einsum_grads(b, stmt, spec: str, operands=None) -> tuple:
    """The adjoint of every operand of the einsum `spec` (ellipses spelled out)."""
    operands = list(stmt.args if operands is None else operands)
    left, _, output = spec.partition("->")
    inputs = left.split(",")
    grads = []
    for k in range(len(stmt.args)):
        if not b.needs(k):
            grads.append(None)
            continue
        others = [j for j in range(len(inputs)) if j != k]
        terms = ",".join([output] + [inputs[j] for j in others])
        grads.append(
            b.emit(
                "einsum_to",
                operands[k],
                b.g,
                *(operands[j] for j in others),
                spec=f"{terms}->{inputs[k]}",
            )
        )
    return tuple(grads)


def _known_ndims(b, stmt, what: str) -> tuple:
    ndims = tuple(b.kind(a).ndim for a in stmt.args)
    if None in ndims:
        b.refuse(f"{what} of operands whose numbers of dimensions are unknown")
    return ndims


def _call(name: str, n: int, *extra: str) -> str:
    return f"{name}(" + ", ".join([f"{{{i}}}" for i in range(n)] + list(extra)) + ")"


register(
    Rule(
        "einsum_to",
        lambda n, a: _call("rt.einsum_to", n).replace("(", f"({a['spec']!r}, ", 1),
        lambda k, a: Kind(k[0].ndim, "float"),
    )
)

# --------------------------------------------------------------------------------------------
# @, np.matmul, np.dot


def _matrix_vjp(b, stmt) -> tuple:
    """The adjoints of a product of vectors and matrices (1-D and 2-D only)."""
    a, c = stmt.args[:2]
    na, nc = b.kind(a).ndim, b.kind(c).ndim
    g = b.g
    grads = [None, None]
    if b.needs(0):
        if na == 1 and nc == 1:
            grads[0] = b.emit("mul", g, c)
        elif na == 2 and nc == 2:
            grads[0] = b.emit("matmul", g, b.emit("transpose", c))
        elif na == 2:  # matrix @ vector
            grads[0] = b.emit("outer", g, c)
        else:  # vector @ matrix
            grads[0] = b.emit("matmul", c, g)
    if b.needs(1):
        if na == 1 and nc == 1:
            grads[1] = b.emit("mul", g, a)
        elif na == 2:
            grads[1] = b.emit("matmul", b.emit("transpose", a), g)
        else:
            grads[1] = b.emit("outer", a, g)
    return tuple(grads)


def _product_vjp(make, what: str):
    def vjp(b, stmt) -> tuple:
        ndims = _known_ndims(b, stmt, what)
        if all(n in (1, 2) for n in ndims[:2]):
            return _matrix_vjp(b, stmt)
        spec = make(*ndims[:2], *_extra(dict(stmt.attrs)))
        return einsum_grads(b, stmt, spec)

    return vjp


def _infer_matmul(kinds, attrs) -> Kind:
    if 0 in (kinds[0].ndim, kinds[1].ndim):
        raise KindError(
            "a matrix product (@, np.matmul) of a number: NumPy refuses it",
            "use * to multiply by a number (np.dot takes numbers too)",
        )
    return _infer_by(matmul_spec, "a matrix product")(kinds, attrs)


register(
    Rule(
        "matmul",
        "{0} @ {1}",
        _infer_matmul,
        _product_vjp(matmul_spec, "a matrix product"),
        cheap=False,
    )
)
bind_call(np.matmul, CallSpec("matmul", _AB, name="np.matmul", array_like=_AB))
register(
    Rule(
        "dot",
        "np.dot({0}, {1})",
        _infer_by(dot_spec, "np.dot"),
        _product_vjp(dot_spec, "np.dot"),
        emit_scalar="{0} * {1}",
        cheap=False,
    )
)
bind_call(np.dot, CallSpec("dot", _AB, name="np.dot", array_like=_AB))
bind_method("dot", CallSpec("dot", _AB, name=".dot", array_like=_AB))


def _outer_vjp(b, stmt) -> tuple:
    a, c = stmt.args
    if b.kind(a).ndim == 1 and b.kind(c).ndim == 1:
        return (
            b.emit("matmul", b.g, c) if b.needs(0) else None,
            b.emit("matmul", b.emit("transpose", b.g), a) if b.needs(1) else None,
        )
    # np.outer flattens its operands: the adjoints are reshaped back.
    flat_a, flat_c = b.emit("ravel", a), b.emit("ravel", c)
    return (
        b.emit("reshape_to", b.emit("matmul", b.g, flat_c), a) if b.needs(0) else None,
        b.emit("reshape_to", b.emit("matmul", flat_a, b.g), c) if b.needs(1) else None,
    )


def _infer_outer(kinds, attrs) -> Kind:
    if 0 in (kinds[0].ndim, kinds[1].ndim):
        raise KindError("np.outer of a number", "multiply by the number: a * x.ravel()")
    return Kind(2, _dtype(kinds))


register(Rule("outer", "np.outer({0}, {1})", _infer_outer, _outer_vjp, cheap=False))
bind_call(np.outer, CallSpec("outer", _AB, name="np.outer", array_like=_AB))

# --------------------------------------------------------------------------------------------
# np.einsum


def _einsum_parts(kinds, attrs):
    subscripts = attrs.get("subscripts")
    if not isinstance(subscripts, str):
        raise KindError(
            "np.einsum with its subscripts given other than as a constant string (the "
            "sublist form, or a string made at run time)",
            "write the subscripts as a string literal: np.einsum('ij,jk->ik', a, b)",
        )
    if not kinds:
        raise KindError("np.einsum of no operand", "give the arrays after the subscripts")
    ndims = _ndims(kinds)
    if ndims is None:
        return None
    try:
        return einsum_spec(subscripts, ndims)
    except SpecError as exc:
        raise KindError(str(exc), "check the subscripts against the operands' shapes") from None


def _infer_einsum(kinds, attrs) -> Kind:
    parts = _einsum_parts(kinds, attrs)
    return Kind(None if parts is None else len(parts[1]), _dtype(kinds))


def _einsum_vjp(b, stmt) -> tuple:
    _known_ndims(b, stmt, "np.einsum")
    inputs, output = _einsum_parts(tuple(b.kind(a) for a in stmt.args), dict(stmt.attrs))
    return einsum_grads(b, stmt, ",".join(inputs) + "->" + output)


register(
    Rule(
        "einsum",
        lambda n, a: _call("rt.einsum", n).replace("(", f"({a['subscripts']!r}, ", 1),
        _infer_einsum,
        _einsum_vjp,
        cheap=False,
        view=True,  # (NumPy returns a view for a transpose or a diagonal of one operand)
    )
)
bind_call(
    np.einsum,
    CallSpec(
        "einsum",
        (),
        {"subscripts": None},
        varargs=True,
        positions=("subscripts",),
        name="np.einsum",
    ),
)

# --------------------------------------------------------------------------------------------
# np.tensordot, np.inner, np.vdot, np.kron, np.cross


def _tuples(value):
    """axes=[[1, 0], [0, 1]] as the constant ((1, 0), (0, 1)) (a string of it is printed)."""
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(v) for v in value)
    return value


def _spec_vjp(make, what: str):
    def vjp(b, stmt) -> tuple:
        ndims = _known_ndims(b, stmt, what)
        return einsum_grads(b, stmt, make(*ndims, *_extra(dict(stmt.attrs))))

    return vjp


register(
    Rule(
        "tensordot",
        lambda n, a: f"rt.tensordot({{0}}, {{1}}, {str(_tuples(a['axes']))!r})",
        _infer_by(tensordot_spec, "np.tensordot"),
        _spec_vjp(tensordot_spec, "np.tensordot"),
        cheap=False,
    )
)
bind_call(
    np.tensordot,
    CallSpec("tensordot", _AB, {"axes": 2}, name="np.tensordot", array_like=_AB),
)
register(
    Rule(
        "inner",
        "rt.inner({0}, {1})",
        _infer_by(inner_spec, "np.inner"),
        _spec_vjp(inner_spec, "np.inner"),
        emit_scalar="{0} * {1}",
        cheap=False,
    )
)
bind_call(np.inner, CallSpec("inner", _AB, name="np.inner", array_like=_AB))


def _infer_vdot(kinds, attrs) -> Kind:
    if 0 in (kinds[0].ndim, kinds[1].ndim):
        raise KindError("np.vdot of a number", "multiply by the number and sum")
    return Kind(0, _dtype(kinds))


def _vdot_vjp(b, stmt) -> tuple:
    a, c = stmt.args
    return (
        b.emit("mul", b.g, b.emit("reshape_to", c, a)) if b.needs(0) else None,
        b.emit("mul", b.g, b.emit("reshape_to", a, c)) if b.needs(1) else None,
    )


register(Rule("vdot", "rt.vdot({0}, {1})", _infer_vdot, _vdot_vjp, cheap=False))
bind_call(np.vdot, CallSpec("vdot", _AB, name="np.vdot", array_like=_AB))


def _infer_kron(kinds, attrs) -> Kind:
    ndims = _ndims(kinds)
    return Kind(None if ndims is None else max(ndims), _dtype(kinds))


def _kron_vjp(b, stmt) -> tuple:
    na, nc = _known_ndims(b, stmt, "np.kron")
    first, second, split = kron_spec(na, nc)
    parts = b.emit("kron_split", b.g, *stmt.args)
    specs = (f"{split},{second}->{first}", f"{split},{first}->{second}")
    return tuple(
        b.emit("einsum_to", stmt.args[k], parts, stmt.args[1 - k], spec=specs[k])
        if b.needs(k)
        else None
        for k in (0, 1)
    )


def _infer_split(kinds, attrs) -> Kind:
    ndims = _ndims(kinds[1:])
    return Kind(None if ndims is None else 2 * max(ndims), "float")


register(Rule("kron", "rt.kron({0}, {1})", _infer_kron, _kron_vjp, cheap=False))
bind_call(np.kron, CallSpec("kron", _AB, name="np.kron", array_like=_AB))
register(
    Rule(
        "kron_split",
        "rt.kron_split({0}, {1}, {2})",
        _infer_split,
    )
)


def _cross_axes(attrs) -> tuple:
    axis = attrs.get("axis")
    if axis is not None:
        return (axis, axis, axis)
    return (attrs.get("axisa", -1), attrs.get("axisb", -1), attrs.get("axisc", -1))


def _cross_emit(n: int, attrs: dict) -> str:
    axisa, axisb, axisc = _cross_axes(attrs)
    return f"rt.cross({{0}}, {{1}}, {axisa}, {axisb}, {axisc})"


def _cross_vjp(b, stmt) -> tuple:
    na, nc = _known_ndims(b, stmt, "np.cross")
    axisa, axisb, axisc = _cross_axes(dict(stmt.attrs))
    spec = cross_spec(na, nc, axisa, axisb, axisc)
    eps = b.emit("cross_eps", *stmt.args, axisa=axisa, axisb=axisb)
    return einsum_grads(b, stmt, spec, operands=(*stmt.args, eps))


register(
    Rule(
        "cross",
        _cross_emit,
        _infer_by(cross_spec, "np.cross"),
        _cross_vjp,
        cheap=False,
    )
)
bind_call(
    np.cross,
    CallSpec(
        "cross",
        _AB,
        {"axisa": -1, "axisb": -1, "axisc": -1, "axis": None},
        name="np.cross",
        array_like=_AB,
    ),
)
register(
    Rule("cross_eps", "rt.cross_eps({0}, {1}, {axisa}, {axisb})", lambda k, a: Kind(3, "float"))
)
