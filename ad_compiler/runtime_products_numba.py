"""Numba implementations of the product helpers of :mod:`ad_compiler.runtime_products`, and of
`@`/np.dot on arrays numba's own take no more than 2 dimensions of (and np.dot of a number).

numba has no einsum. Every product is one (runtime_products' specs), and the spec and the
numbers of dimensions are known when numba types a call: the overload writes, once per spec,
a function of plain loops over the indices (`_kernel_source`), sizes checked and broadcast as
NumPy does, and compiles it. Letters the spec marks `strict` (the summed axis of a matrix
product) must have equal lengths, with no broadcasting, as NumPy requires there.
"""

import functools
import operator

import numpy as np
from numba import njit, types
from numba.core import errors
from numba.extending import overload
from numba.np.numpy_support import as_dtype

from ad_compiler import runtime as rt
from ad_compiler import runtime_products as rp
from ad_compiler.runtime_numba import _implements


def _ndim(t) -> int:
    return t.ndim if isinstance(t, types.Array) else 0


def _dtype(operand_types) -> str:
    """NumPy's result dtype: of the arrays, numbers counting only when all are numbers (a
    Python float does not make a float32 array float64)."""
    arrays = [as_dtype(t.dtype) for t in operand_types if isinstance(t, types.Array)]
    numbers = [as_dtype(t) for t in operand_types if isinstance(t, types.Number)]
    return np.result_type(*(arrays or numbers)).name


def _literal(t, what: str):
    if not isinstance(t, (types.StringLiteral, types.IntegerLiteral)):
        raise errors.TypingError(f"{what} must be a literal constant")
    return t.literal_value


def _spec_or_error(make, *args):
    try:
        return make(*args)
    except rp.SpecError as exc:
        raise errors.TypingError(str(exc)) from None


def _kernel_source(inputs, output, ndims, like, strict) -> str:
    """def kernel(a0, a1, ..[, like]): the einsum `inputs->output` by loops. like: the output
    takes like's shape (length 1 there: summed), else its own from the inputs' lengths."""
    names = [f"a{k}" for k in range(len(inputs))]
    params = names + (["like"] if like else [])
    lines = [f"def kernel({', '.join(params)}):"]
    labels = "".join(dict.fromkeys("".join(inputs) + output))
    for c in labels:
        lines.append(f"    n_{c} = -1")
    places = [(names[k], term) for k, term in enumerate(inputs) if ndims[k] > 0]
    if like and output:
        places.append(("like", output))
    for name, term in places:
        for d, c in enumerate(term):
            dim = f"{name}.shape[{d}]"
            first = term.index(c)
            if first < d:
                lines += [
                    f"    if {dim} != {name}.shape[{first}]:",
                    "        raise ValueError('einsum: the lengths of a repeated index differ')",
                ]
            elif c in strict:
                lines += [
                    f"    if n_{c} != -1 and n_{c} != {dim}:",
                    "        raise ValueError('matmul: mismatch in its core dimension')",
                    f"    n_{c} = {dim}",
                ]
            else:
                lines += [
                    f"    if {dim} != 1:",
                    f"        if n_{c} not in (-1, 1, {dim}):",
                    "            raise ValueError('operands could not be broadcast together')",
                    f"        n_{c} = {dim}",
                    f"    elif n_{c} == -1:",
                    f"        n_{c} = 1",
                ]
    for c in labels:
        lines.append(f"    n_{c} = max(n_{c}, 1) if n_{c} == -1 else n_{c}")

    def index(name: str, term: str, shape_of: str) -> str:
        """name[i * t_name_0, ...]: index 0 along an axis of length 1 (broadcast)."""
        parts = []
        for d, c in enumerate(term):
            if c in strict:
                parts.append(c)
            else:
                lines.append(f"    t_{name}_{d} = 0 if {shape_of}.shape[{d}] == 1 else 1")
                parts.append(f"{c} * t_{name}_{d}")
        return f"{name}[{', '.join(parts)}]" if parts else name

    factors = [index(name, term, name) for name, term in zip(names, inputs)]
    product = " * ".join(factors) or "1.0"
    if not output:
        lines.append("    out = np.zeros((), DTYPE)")
        target = "out[()]"
    elif like:
        lines.append("    out = np.zeros(like.shape, DTYPE)")
        target = index("out", output, "like")
    else:
        shape = "".join(f"n_{c}, " for c in output)
        lines.append(f"    out = np.zeros(({shape}), DTYPE)")
        target = f"out[{', '.join(output)}]"
    for depth, c in enumerate(dict.fromkeys(output + labels), start=1):
        lines.append("    " * depth + f"for {c} in range(n_{c}):")
    lines.append("    " * (len(labels) + 1) + f"{target} += {product}")
    lines.append("    return out[()]" if not output else "    return out")
    return "\n".join(lines)


@functools.cache
def kernel(inputs, output, ndims, like, strict, dtype):
    """The compiled loops of `_kernel_source`, in `dtype`."""
    source = _kernel_source(inputs, output, ndims, like, strict)
    namespace = {"np": np, "DTYPE": np.dtype(dtype).type}
    exec(compile(source, f"<einsum {','.join(inputs)}->{output}>", "exec"), namespace)
    return njit(namespace["kernel"])


def _call(spec: str, operand_types, like: bool = False, strict: str = ""):
    left, _, output = spec.partition("->")
    inputs = tuple(left.split(","))
    ndims = tuple(_ndim(t) for t in operand_types)
    return kernel(inputs, output, ndims, like, strict, _dtype(operand_types))


@_implements(rt.einsum, prefer_literal=True)
def _einsum_ov(subscripts, *operands):
    text = _literal(subscripts, "einsum's subscripts")
    ndims = tuple(_ndim(t) for t in operands)
    inputs, output = _spec_or_error(rp.einsum_spec, text, ndims)
    run = _call(",".join(inputs) + "->" + output, operands)
    return _splat("subscripts, *operands", "run", len(operands), {"run": run})


@_implements(rt.einsum_to, prefer_literal=True)
def _einsum_to_ov(spec, like, *operands):
    text = _literal(spec, "einsum_to's spec")
    run = _call(text, operands, like=True)
    args = "".join(f"operands[{k}], " for k in range(len(operands)))
    return _splat("spec, like, *operands", "run", 0, {"run": run}, f"{args}like")


def _splat(params: str, callee: str, count: int, namespace: dict, args: str = ""):
    """def impl(params): return callee(operands[0], ..., args)."""
    args = args or ", ".join(f"operands[{k}]" for k in range(count))
    source = f"def impl({params}):\n    return {callee}({args})\n"
    exec(source, namespace)
    return namespace["impl"]


def _product(spec_of, strict_all: bool = True):
    """An overload of a two-operand product whose spec comes from the operands' ndims."""

    def typer(a, b, *rest):
        spec = _spec_or_error(spec_of, _ndim(a), _ndim(b), *rest)
        return _call(spec, (a, b), strict=rp.contracted(spec) if strict_all else "")

    return typer


@_implements(rt.tensordot, prefer_literal=True)
def _tensordot_ov(a, b, axes):
    axes_value = rp._literal(_literal(axes, "tensordot's axes"))
    run = _product(rp.tensordot_spec)(a, b, axes_value)
    return lambda a, b, axes: run(a, b)


@_implements(rt.inner)
def _inner_ov(a, b):
    run = _product(rp.inner_spec)(a, b)
    return lambda a, b: run(a, b)


@_implements(rt.vdot)
def _vdot_ov(a, b):
    if not (isinstance(a, types.Array) and isinstance(b, types.Array)):
        raise errors.TypingError("np.vdot of a number")
    dtype = np.dtype(_dtype((a, b))).type

    def impl(a, b):
        if a.size != b.size:
            raise ValueError("vdot: the arrays have different sizes")
        return dtype(np.sum(a.ravel() * b.ravel()))

    return impl


@_implements(rt.kron)
def _kron_ov(a, b):
    na, nb = _ndim(a), _ndim(b)
    first, second, split = rp.kron_spec(na, nb)
    run = _call(f"{first},{second}->{split}", (a, b))
    n = max(na, nb)
    joined = ", ".join(f"s[{2 * k}] * s[{2 * k + 1}]" for k in range(n))
    source = (
        "def impl(a, b):\n    out = run(a, b)\n    s = out.shape\n"
        f"    return out.reshape(({joined},))\n"
    )
    if n == 0:
        return lambda a, b: run(a, b)
    return _splat_source(source, {"run": run})


def _splat_source(source: str, namespace: dict):
    exec(source, namespace)
    return namespace["impl"]


def _padded(name: str, ndim: int, n: int) -> list[str]:
    return ["1"] * (n - ndim) + [f"{name}.shape[{k}]" for k in range(ndim)]


@_implements(rt.kron_split)
def _kron_split_ov(g, a, b):
    n = max(_ndim(a), _ndim(b))
    if n == 0:
        return lambda g, a, b: g
    sa, sb = _padded("a", _ndim(a), n), _padded("b", _ndim(b), n)
    shape = ", ".join(x for pair in zip(sa, sb) for x in pair)
    source = f"def impl(g, a, b):\n    return np.ascontiguousarray(g).reshape(({shape},))\n"
    return _splat_source(source, {"np": np})


@_implements(rt.cross_eps)
def _cross_eps_ov(a, b, axisa, axisb):
    dtype = np.dtype(_dtype((a, b))).type

    def impl(a, b, axisa, axisb):
        la = a.shape[axisa % a.ndim]
        lb = b.shape[axisb % b.ndim]
        if la < 2 or la > 3 or lb < 2 or lb > 3:
            raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")
        if la == 2 and lb == 2:
            raise ValueError("np.cross of two 2-vectors is not supported by ad_compiler")
        eps = np.zeros((3, la, lb), dtype)
        for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
            if j < la and k < lb:
                eps[i, j, k] = 1.0
            if k < la and j < lb:
                eps[i, k, j] = -1.0
        return eps

    return impl


@_implements(rt.cross, prefer_literal=True)
def _cross_ov(a, b, axisa, axisb, axisc):
    if not (isinstance(a, types.Array) and isinstance(b, types.Array)):
        raise errors.TypingError("np.cross of a number")
    # The axes are literal constants in generated code (the spec depends on them).
    axes = [_literal(t, "np.cross's axes") for t in (axisa, axisb, axisc)]
    spec = _spec_or_error(rp.cross_spec, a.ndim, b.ndim, *axes)
    eps_type = types.Array(as_numba_dtype(_dtype((a, b))), 3, "C")
    run = _call(spec, (a, b, eps_type))

    def impl(a, b, axisa, axisb, axisc):
        return run(a, b, rt.cross_eps(a, b, axisa, axisb))

    return impl


def as_numba_dtype(name: str):
    from numba.np.numpy_support import from_dtype

    return from_dtype(np.dtype(name))


# --------------------------------------------------------------------------------------------
# `@` and np.dot where numba has none: stacks of matrices, and np.dot of a number.


@overload(operator.matmul)
def _matmul_nd_ov(a, b):
    if not (isinstance(a, types.Array) and isinstance(b, types.Array)):
        return None
    if max(a.ndim, b.ndim) <= 2 or min(a.ndim, b.ndim) == 0:
        return None
    run = _product(rp.matmul_spec)(a, b)
    return lambda a, b: run(a, b)


@overload(np.dot)
def _dot_nd_ov(a, b):
    arrays = isinstance(a, types.Array) and isinstance(b, types.Array)
    if arrays and max(a.ndim, b.ndim) <= 2:
        return None
    if not all(isinstance(t, (types.Array, types.Number)) for t in (a, b)):
        return None
    run = _product(rp.dot_spec)(a, b)
    return lambda a, b: run(a, b)


# --------------------------------------------------------------------------------------------
# Products of tiny float64 matrices and vectors by loops: numba's `@` calls BLAS, whose own
# checks and call cost about 0.15 us, several times the arithmetic of a 2x3 product. A loop's
# sums are sequential (no vector instructions for a sum without fast-math), so past a few dozen
# products BLAS wins: beyond TINY multiply-adds, `@`.

TINY = 64


def _tiny_operands(a, b) -> bool:
    arrays = isinstance(a, types.Array) and isinstance(b, types.Array)
    return arrays and a.dtype == b.dtype == types.float64 and (a.ndim, b.ndim) in rp.TINY_FORMS


@_implements(rt.matprod)
def _matprod_ov(a, b):
    if not _tiny_operands(a, b):
        return lambda a, b: a @ b
    if a.ndim == 2 and b.ndim == 1:

        def matrix_vector(a, b):
            m, n = a.shape
            if m * n > TINY or b.shape[0] != n:
                return a @ b  # (and NumPy's error for lengths that do not match)
            out = np.empty(m)
            for i in range(m):
                s = 0.0
                for j in range(n):
                    s += a[i, j] * b[j]
                out[i] = s
            return out

        return matrix_vector
    if a.ndim == 1:

        def vector_matrix(a, b):
            m, n = b.shape
            if m * n > TINY or a.shape[0] != m:
                return a @ b
            out = np.zeros(n)
            for i in range(m):
                ai = a[i]
                for j in range(n):
                    out[j] += ai * b[i, j]
            return out

        return vector_matrix

    def matrix_matrix(a, b):
        m, k = a.shape
        n = b.shape[1]
        if m * k * n > TINY or b.shape[0] != k:
            return a @ b
        out = np.zeros((m, n))
        for i in range(m):
            for p in range(k):
                aip = a[i, p]
                for j in range(n):
                    out[i, j] += aip * b[p, j]
        return out

    return matrix_matrix
