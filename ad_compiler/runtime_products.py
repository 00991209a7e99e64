"""Runtime helpers for products of arrays (rules/products.py): einsum and the products NumPy
defines through it (tensordot, inner, kron, cross), and the subscripts that say what each is.

Every product here is an Einstein sum. A *spec* is an explicit einsum string with the
ellipses spelled out as letters, "ab,bc->ac"; the functions `*_spec` make one from the
numbers of dimensions of the operands (known when a gradient is compiled, and when numba types
a call). The adjoint of operand k of any einsum is `einsum_to` of the upstream gradient with
the other operands, into operand k's subscripts: an output that may repeat a letter (the
diagonal of 'ii') or name a letter no input has (a sum, spread back), shaped like operand k
(a length-1 axis there receives the sum over the broadcast axis).

On plain NumPy these call NumPy; runtime_products_numba.py compiles the same specs into loops.
"""

from __future__ import annotations

import ast
import functools
import string

import numpy as np

LETTERS = string.ascii_letters


class SpecError(ValueError):
    """Subscripts or axes NumPy would refuse (or a form this module does not take)."""


def _fresh(used: str, count: int) -> str:
    free = [c for c in LETTERS if c not in used]
    if count > len(free):
        raise SpecError("an einsum with more than 52 distinct indices")
    return "".join(free[:count])


@functools.lru_cache(maxsize=1024)
def einsum_spec(subscripts: str, ndims: tuple[int, ...]) -> tuple[tuple[str, ...], str]:
    """The inputs and output of `subscripts` for operands of `ndims` dimensions, ellipses
    spelled out (right-aligned, broadcast as NumPy does) and the implicit output made explicit:
    the ellipsis, then the letters used once, in alphabetical (ASCII) order."""
    text = subscripts.replace(" ", "")
    if text.count("->") > 1 or not set(text) <= set(LETTERS + ".,->"):
        raise SpecError(f"einsum subscripts {subscripts!r}: not valid subscripts")
    left, arrow, right = text.partition("->")
    terms = left.split(",")
    if len(terms) != len(ndims):
        raise SpecError(
            f"einsum subscripts {subscripts!r} name {len(terms)} operand(s), "
            f"the call gives {len(ndims)}"
        )
    for term in terms + ([right] if arrow else []):
        if term.replace("...", "", 1).count(".") or "-" in term or ">" in term:
            raise SpecError(f"einsum subscripts {subscripts!r}: not valid subscripts")
    named = "".join(t.replace("...", "") for t in terms)
    widths = []
    for term, ndim in zip(terms, ndims):
        letters = len(term.replace("...", ""))
        if "..." not in term and letters != ndim or letters > ndim:
            raise SpecError(
                f"einsum subscripts {term!r} for an operand of {ndim} dimension(s)",
            )
        widths.append(ndim - letters if "..." in term else 0)
    ellipsis = _fresh(named + right, max(widths, default=0))
    inputs = tuple(
        t.replace("...", ellipsis[len(ellipsis) - w :] if w else "") for t, w in zip(terms, widths)
    )
    if not arrow:
        once = sorted(c for c in set(named) if named.count(c) == 1)
        return inputs, ellipsis + "".join(once)
    if "..." not in right and ellipsis:
        raise SpecError(
            f"einsum subscripts {subscripts!r}: the output has no '...' for the dimensions "
            "an ellipsis of the inputs stands for"
        )
    output = right.replace("...", ellipsis)
    if len(set(output)) < len(output) or not set(output) <= set(named + ellipsis):
        raise SpecError(
            f"einsum subscripts {subscripts!r}: each output index must appear once, and in an input"
        )
    return inputs, output


def _fresh_n(count: int, used: str) -> str:
    return _fresh(used, count)


def matmul_spec(na: int, nb: int) -> str:
    """a @ b: stacks of matrices broadcast (right-aligned); a vector is a row (a) or a column
    (b) that the result does not keep."""
    if na == 0 or nb == 0:
        raise SpecError("a matrix product (@, np.matmul) of a number")
    rows, cols = ("i" if na > 1 else ""), ("k" if nb > 1 else "")
    stack = _fresh_n(max(na - 2, nb - 2, 0), "ijk")
    a = stack[len(stack) - max(na - 2, 0) :] + rows + "j"
    b = stack[len(stack) - max(nb - 2, 0) :] + "j" + cols
    return f"{a},{b}->{stack}{rows}{cols}"


def dot_spec(na: int, nb: int) -> str:
    """np.dot: a product with a number; else the last axis of a with the last (b a vector) or
    second-to-last axis of b, every other axis of a, then of b, kept."""
    if na == 0 or nb == 0:
        every = _fresh_n(max(na, nb), "")
        return f"{every[:na]},{every[:nb]}->{every}"
    first = _fresh_n(na - 1, "jm")
    second = _fresh_n(max(nb - 2, 0), "jm" + first)
    b = second + "j" + ("m" if nb > 1 else "")
    return f"{first}j,{b}->{first}{second}{'m' if nb > 1 else ''}"


def inner_spec(na: int, nb: int) -> str:
    """np.inner: the last axes summed, the others of a then of b kept (numbers multiply)."""
    if na == 0 or nb == 0:
        return dot_spec(na, nb)
    first = _fresh_n(na - 1, "j")
    second = _fresh_n(nb - 1, "j" + first)
    return f"{first}j,{second}j->{first}{second}"


def tensordot_axes(axes, na: int, nb: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """np.tensordot's axes (an int, or a pair of ints or sequences) as two tuples of axes in
    range, as NumPy reads them."""
    if isinstance(axes, int) and not isinstance(axes, bool):
        if not 0 <= axes <= min(na, nb):
            raise SpecError(f"np.tensordot with axes={axes} of operands of {na} and {nb} dims")
        return tuple(range(na - axes, na)), tuple(range(axes))
    try:
        first, second = axes
    except (TypeError, ValueError):
        raise SpecError(f"np.tensordot with axes={axes!r}") from None
    pair = []
    for side, ndim in ((first, na), (second, nb)):
        side = (side,) if isinstance(side, int) else tuple(side)
        if not all(isinstance(k, int) and -ndim <= k < ndim for k in side):
            raise SpecError(f"np.tensordot with axes={axes!r} of operands of {na} and {nb} dims")
        pair.append(tuple(k % ndim for k in side))
    if len(pair[0]) != len(pair[1]) or any(len(set(p)) < len(p) for p in pair):
        raise SpecError(f"np.tensordot with axes={axes!r}: shape-mismatch for sum")
    return pair[0], pair[1]


def tensordot_spec(na: int, nb: int, axes) -> str:
    """np.tensordot: the named axes summed in pairs; the rest of a, then of b, kept."""
    first, second = tensordot_axes(axes, na, nb)
    labels = _fresh_n(na + nb, "")
    a = labels[:na]
    b = list(labels[na:])
    for i, j in zip(first, second):
        b[j] = a[i]
    b = "".join(b)
    keep = "".join(c for k, c in enumerate(a) if k not in first)
    keep += "".join(c for k, c in enumerate(b) if k not in second)
    return f"{a},{b}->{keep}"


def contracted(spec: str) -> str:
    """Letters of a product spec shared by both operands and summed (sizes must match, with
    no broadcasting)."""
    left, _, out = spec.partition("->")
    a, b = left.split(",")
    return "".join(c for c in a if c in b and c not in out)


def cross_spec(na: int, nb: int, axisa: int, axisb: int, axisc: int) -> str:
    """np.cross as an einsum with the Levi-Civita symbol (a third operand, see `cross_eps`):
    out[..., i] = eps[i, j, k] a[..., j] b[..., k], each vector axis where its axis= says."""
    if na == 0 or nb == 0:
        raise SpecError("np.cross of a number")
    for axis, ndim, name in ((axisa, na, "axisa"), (axisb, nb, "axisb")):
        if not -ndim <= axis < ndim:
            raise SpecError(f"np.cross with {name}={axis} for an array of {ndim} dimension(s)")
    stack = _fresh_n(max(na, nb) - 1, "ijk")
    nc = len(stack) + 1
    if not -nc <= axisc < nc:
        raise SpecError(f"np.cross with axisc={axisc} for a result of {nc} dimension(s)")

    def place(batch: str, letter: str, axis: int, ndim: int) -> str:
        k = axis % ndim
        return batch[:k] + letter + batch[k:]

    a = place(stack[len(stack) - na + 1 :], "j", axisa, na)
    b = place(stack[len(stack) - nb + 1 :], "k", axisb, nb)
    return f"{a},{b},ijk->{place(stack, 'i', axisc, nc)}"


def kron_spec(na: int, nb: int) -> tuple[str, str, str]:
    """The subscripts of np.kron's operands and of its result split into (a0, b0, a1, b1, ...)
    (see `kron_split`): out = einsum('ab,cd->acbd', a, b) reshaped."""
    n = max(na, nb)
    big = _fresh("", n)
    small = _fresh(big, n)
    split = "".join(big[k] + small[k] for k in range(n))
    return big[n - na :], small[n - nb :], split


# --------------------------------------------------------------------------------------------
# Functions called by generated code (NumPy); numba: runtime_products_numba.py


# The operand dimensions `rt.matprod` computes by loops when tiny (numba programs).
TINY_FORMS = ((2, 1), (1, 2), (2, 2))


def matprod(a, b):
    """``a @ b`` of matrices and vectors (numba: plain loops when the operands are tiny, where
    a BLAS call's own cost is most of the time)."""
    return a @ b


def einsum(subscripts, *operands):
    """``np.einsum(subscripts, *operands)``."""
    return np.einsum(subscripts, *operands)


def einsum_to(spec, like, *operands):
    """The einsum `spec`, whose output may repeat a letter (it is written on that diagonal,
    zero elsewhere) or name one no input has (spread along that axis), with the shape of
    `like`, summed over axes where `like` has length 1 (the adjoint of broadcasting)."""
    left, _, output = spec.partition("->")
    inputs = left.split(",")
    distinct = "".join(dict.fromkeys(output))
    present = "".join(c for c in distinct if any(c in t for t in inputs))
    h = np.asarray(np.einsum(f"{left}->{present}", *operands))
    dtype = np.result_type(*operands)
    shape = np.shape(like)
    if not output:
        return dtype.type(h)
    size = {c: shape[output.index(c)] for c in distinct}
    axes = tuple(k for k, c in enumerate(present) if size[c] == 1 and h.shape[k] != 1)
    if axes:
        h = h.sum(axis=axes, keepdims=True)
    h = h.reshape([h.shape[present.index(c)] if c in present else 1 for c in distinct])
    out = np.zeros(shape, dtype)
    view = np.einsum(f"{output}->{distinct}", out)  # a writeable view (the diagonal)
    view[...] = h
    return out


@functools.lru_cache(maxsize=256)
def _literal(text: str):
    return ast.literal_eval(text)


def tensordot(a, b, axes):
    """``np.tensordot(a, b, axes)``, axes written as a string (numba reads it as a literal)."""
    return np.tensordot(a, b, _literal(axes))


def inner(a, b):
    """``np.inner(a, b)``."""
    return np.inner(a, b)


def vdot(a, b):
    """``np.vdot(a, b)`` of real arrays: the sum of the products of their entries in order."""
    return np.vdot(a, b)


def kron(a, b):
    """``np.kron(a, b)``."""
    return np.kron(a, b)


def kron_split(g, a, b):
    """g, of the shape of np.kron(a, b), as (a0, b0, a1, b1, ...) with the shapes of a and b
    padded to the same number of dimensions."""
    n = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (n - np.ndim(a)) + np.shape(a)
    sb = (1,) * (n - np.ndim(b)) + np.shape(b)
    return np.reshape(g, tuple(x for pair in zip(sa, sb) for x in pair))


def _vector_lengths(a, b, axisa, axisb):
    la, lb = np.shape(a)[axisa], np.shape(b)[axisb]
    if la not in (2, 3) or lb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")
    if la == 2 and lb == 2:
        raise ValueError(
            "np.cross of two 2-vectors (a number per pair, deprecated by NumPy) is not "
            "supported by ad_compiler: pad them with a zero third component"
        )
    return la, lb


def cross(a, b, axisa, axisb, axisc):
    """``np.cross(a, b, axisa=, axisb=, axisc=)``, of 3-vectors (or a 2- and a 3-vector)."""
    _vector_lengths(a, b, axisa, axisb)
    return np.cross(a, b, axisa=axisa, axisb=axisb, axisc=axisc)


def cross_eps(a, b, axisa, axisb):
    """The Levi-Civita symbol eps[i, j, k], cut to the vector lengths of a and b (a
    2-vector's third component is zero), in the dtype of their products."""
    la, lb = _vector_lengths(a, b, axisa, axisb)
    eps = np.zeros((3, la, lb), np.result_type(a, b))
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        if j < la and k < lb:
            eps[i, j, k] = 1.0
        if k < la and j < lb:
            eps[i, k, j] = -1.0
    return eps
