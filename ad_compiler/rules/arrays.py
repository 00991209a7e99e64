"""Array operations, with hand-written vector-Jacobian products.

Each VJP returns, per argument, the gradient contribution in the argument's own shape (or an
`IndexedUpdate` for a part of it). The builder `b` gives the output adjoint `b.g`, the output
`b.out`, the kinds of values, and `b.emit(op, *args, **attrs)` to write reverse-sweep statements.
Reductions with `axis=`/`keepdims=` go through runtime helpers, which also run under numba.
"""

from __future__ import annotations

import numpy as np

from ..errors import KindError
from ..ir import INT, SHAPE, Const, Kind
from . import CallSpec, IndexedUpdate, Rule, bind_attribute, bind_call, bind_method, register

# --------------------------------------------------------------------------------------------
# Indexing


def index_template(structure: tuple, first: int, unsigned: tuple = ()) -> str:
    """`[i, a:b, None]` with the index operands numbered from `first`; those at the positions
    `unsigned` (proven >= 0, nonnegative.py) as `np.uintp(i)`, which numba need not wrap."""
    parts, k = [], first
    for item in structure:
        if item[0] == "i":
            parts.append(f"np.uintp({{{k}}})" if k in unsigned else f"{{{k}}}")
            k += 1
        elif item[0] == "n":
            parts.append("None")
        elif item[0] == "e":
            parts.append("...")
        else:
            bounds = []
            for present in item[1:]:
                bounds.append(f"{{{k}}}" if present else "")
                k += present
            # x[a:], x[:b], x[::2]: the step's colon only when there is a step
            parts.append(":".join(bounds if item[3] else bounds[:2]))
    return "[" + ", ".join(parts) + "]"


def _infer_getitem(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    base, index_kinds = kinds[0], list(kinds[1:])
    if base.dtype == "shape":
        return INT
    if base.ndim == 0:
        raise KindError(
            "indexing a number, not an array",
            "pass a NumPy array for this argument (for example np.array([...]))",
        )
    if any(k.dtype == "float" for k in index_kinds):
        raise KindError("an index must be an integer, not a float", "convert it with int(...)")
    if base.ndim is None:
        return Kind(None, base.dtype)
    ndim, consumed, fancy = 0, 0, []
    for item in attrs["index"]:
        if item[0] == "n":
            ndim += 1
            continue
        if item[0] == "e":
            continue  # counted below with the axes no item names
        consumed += 1
        if item[0] == "s":
            ndim += 1
            index_kinds = index_kinds[sum(item[1:]) :]
            continue
        kind = index_kinds.pop(0)
        if kind.ndim is None:
            return Kind(None, base.dtype)
        if kind.ndim > 0:
            fancy.append(kind.ndim)
    ndim += max(base.ndim - consumed, 0) + (max(fancy) if fancy else 0)
    return Kind(ndim, base.dtype)


def _getitem_vjp(b, stmt) -> tuple:
    return (IndexedUpdate(b.g, stmt.args[1:], stmt.attr("index")),) + (None,) * (len(stmt.args) - 1)


register(
    Rule(
        "getitem",
        lambda n, a: "{0}" + index_template(a["index"], 1, a.get("unsigned", ())),
        _infer_getitem,
        _getitem_vjp,
        view=True,
        nondiff_args=tuple(range(1, 64)),
    )
)


def _infer_setitem(kinds, attrs) -> Kind:
    if "grows" in attrs and kinds[1].ndim not in (None, (kinds[0].ndim or 1) - 1):
        raise KindError(
            f"{attrs['grows']} grows in a loop whose length is known only at run time and holds "
            "arrays, but no item of it is known before the loop to give their shape",
            "append a variable that has a value before the loop (`h` of `h = h0`), start the "
            "list with an item, or preallocate: `out = np.zeros((n,) + shape)`, `out[i] = ...`",
        )
    if any(k.ndim != 0 and k.dtype != "bool" for k in kinds[2:]):
        # y[idx] = v keeps only the last of repeated indices (y[idx] += v too): refused rather
        # than given a gradient that is right only when idx has no repeats.
        raise KindError(
            "a store through an integer array of indices (y[idx] = ...): NumPy keeps only the "
            "last write to a repeated index",
            "write the loop `for k in range(len(idx)): y[idx[k]] = ...` (or `+=`), which says "
            "what repeated indices do; boolean masks and slices are fine",
        )
    return Kind(None, None)


# Writes are reversed by the adjoint pass itself (they are language, not calculus).
register(
    Rule(
        "setitem",
        lambda n, a: "{0}" + index_template(a["index"], 2, a.get("unsigned", ())) + " = {1}",
        _infer_setitem,
        mutates=0,
    )
)
# The reverse sweep's own stores: `x_bar[index] += value` and NumPy's unbuffered add.at.
register(
    Rule(
        "index_add",
        lambda n, a: "{0}" + index_template(a["index"], 2, a.get("unsigned", ())) + " += {1}",
        lambda kinds, attrs: Kind(None, None),
        mutates=0,
    )
)
register(Rule("add_at_1d", "rt.add_at_1d({0}, {2}, {1})", lambda k, a: Kind(None, None), mutates=0))
register(
    Rule("add_at_2d", "rt.add_at_2d({0}, {2}, {3}, {1})", lambda k, a: Kind(None, None), mutates=0)
)


# --------------------------------------------------------------------------------------------
# Copies, shapes, constructors


def _same(kinds, attrs) -> Kind:
    return kinds[0]


def _identity_vjp(b, stmt) -> tuple:
    return (b.g,)


register(Rule("copy", "{0}", _same, _identity_vjp))
# np.array(x) of a number is the number (NumPy's 0-d array, which arithmetic makes a number).
register(Rule("array_copy", "{0}.copy()", _same, _identity_vjp, emit_scalar="{0}"))
register(Rule("len", "len({0})", lambda k, a: INT))
register(Rule("dim", "{0}.shape[{axis}]", lambda k, a: INT))
register(Rule("size", "{0}.size", lambda k, a: INT))
register(Rule("ndim", "{0}.ndim", lambda k, a: INT))
register(Rule("shape", "{0}.shape", lambda k, a: Kind(k[0].ndim, "shape")))


def _infer_tuple(kinds, attrs) -> Kind:
    # A tuple made at run time is a shape (n, 2): of integers. Numbers that may carry a gradient
    # there would lose it (a list chosen by `a if c else b`).
    if any(k.dtype not in ("int", "shape") or (k.ndim or 0) > 0 for k in kinds):
        raise KindError(
            "a tuple or list used as a value made at run time (chosen by `a if c else b`, "
            "`and` or `or`): only shapes of integers can be",
            "choose the items instead (`[x if c else y]`), or use an if statement",
        )
    return Kind(len(kinds), "shape")


register(
    Rule("tuple", lambda n, a: "(" + "".join(f"{{{i}}}, " for i in range(n)) + ")", _infer_tuple)
)
bind_attribute("size", "size")
bind_attribute("ndim", "ndim")
bind_method("copy", CallSpec("array_copy", ("a",), name=".copy"))
bind_call(np.copy, CallSpec("array_copy", ("a",), name="np.copy"))


def _shape_rank(kind: Kind, value: object = None) -> int | None:
    if kind.dtype == "shape":
        return kind.ndim
    if kind.dtype == "int" and kind.ndim == 0:
        return 1
    return None


def _total(b, g, like):
    """The adjoint of broadcasting `like` to the shape of g: sum(g) for a number."""
    return b.emit("sum", g) if b.kind(like).is_scalar else b.emit("sum_to", g, like)


def _infer_arange(kinds, attrs) -> Kind:
    if any(k.ndim != 0 for k in kinds):
        raise KindError("np.arange of an array", "pass numbers: np.arange(start, stop, step)")
    dtype = "float" if any(k.dtype == "float" for k in kinds) else "int"
    return Kind(1, dtype)


def _arange_vjp(b, stmt) -> tuple:
    # np.arange(start, stop, step)[i] = start + i * step; stop only decides the length (a
    # step function of it: zero derivative). np.arange(stop) starts at 0.
    n = len(stmt.args)
    grads: list = [Const(0.0)] * n
    if n >= 2 and b.needs(0):
        grads[0] = b.emit("sum", b.g)
    if n == 3 and b.needs(2):
        positions = b.emit("arange", b.emit("len", b.out))
        grads[2] = b.emit("sum", b.emit("mul", b.g, positions))
    return tuple(grads)


register(
    Rule(
        "arange",
        lambda n, a: "np.arange(" + ", ".join(f"{{{i}}}" for i in range(n)) + ")",
        _infer_arange,
        _arange_vjp,
    )
)
bind_call(np.arange, CallSpec("arange", ("start",), varargs=True, name="np.arange"))


def _infer_linspace(kinds, attrs) -> Kind:
    if kinds[0].ndim != 0 or kinds[1].ndim != 0:
        raise KindError("np.linspace between arrays", "pass numbers as start and stop")
    return Kind(1, "float")


def _linspace_vjp(b, stmt) -> tuple:
    # np.linspace(a, c, num)[i] = a + (c - a) * t[i] with t = np.linspace(0, 1, num).
    t = b.emit("linspace", Const(0.0), Const(1.0), stmt.args[2])
    weighted = b.emit("sum", b.emit("mul", b.g, t)) if b.needs(0) or b.needs(1) else None
    start = b.emit("sub", b.emit("sum", b.g), weighted) if b.needs(0) else None
    return (start, weighted if b.needs(1) else None, None)


register(
    Rule(
        "linspace",
        "np.linspace({0}, {1}, {2})",
        _infer_linspace,
        _linspace_vjp,
        nondiff_args=(2,),
    )
)
bind_call(np.linspace, CallSpec("linspace", ("start", "stop", "num"), name="np.linspace"))


def _stack_vjp(b, stmt) -> tuple:
    return tuple(
        b.emit("getitem", b.g, Const(i), index=(("i",),)) if b.needs(i) else None
        for i in range(len(stmt.args))
    )


def _infer_stack(kinds, attrs) -> Kind:
    ndims = {k.ndim for k in kinds}
    if len(ndims) > 1 and None not in ndims:
        raise KindError(
            "an array of items with different numbers of dimensions (np.array([...]), or a "
            "tuple or list given to a NumPy function): NumPy refuses such a ragged array",
            "give np.array numbers only, or arrays of one shape only",
        )
    if any(k.dtype == "shape" for k in kinds):
        raise KindError("np.array of a shape", "index the shape: x.shape[0]")
    item = ndims.pop() if len(ndims) == 1 else 0 if not kinds else None
    dtypes = {k.dtype for k in kinds}
    dtype = dtypes.pop() if len(dtypes) == 1 and dtypes <= {"int", "bool"} else "float"
    return Kind(None if item is None else item + 1, dtype)


# Items that are numbers: np.array([a, b]); arrays (of one shape): np.stack, which numba has
# (it has no np.array of a list of arrays). The adjoint of item i is row i of the adjoint.
register(
    Rule(
        "stack",
        lambda n, a: "np.stack((" + "".join(f"{{{i}}}, " for i in range(n)) + "))",
        _infer_stack,
        _stack_vjp,
        emit_scalar=lambda n, a: "np.array([" + ", ".join(f"{{{i}}}" for i in range(n)) + "])",
    )
)


# --------------------------------------------------------------------------------------------
# Linear algebra


# Matrix products (@, np.dot, np.matmul, np.outer ...): rules/products.py.


def _transpose_vjp(b, stmt) -> tuple:
    return (b.emit("transpose", b.g),)


register(
    Rule("transpose", "{0}.T", lambda k, a: Kind(k[0].ndim, k[0].dtype), _transpose_vjp, view=True)
)
bind_attribute("T", "transpose")  # (np.transpose and .transpose, with axes: rules/shapes.py)


def _reshape_vjp(b, stmt) -> tuple:
    return (b.emit("reshape_to", b.g, stmt.args[0]),) + (None,) * (len(stmt.args) - 1)


def _infer_reshape(kinds, attrs) -> Kind:
    shape = kinds[1:]
    if len(shape) == 1:
        return Kind(_shape_rank(shape[0]), kinds[0].dtype)
    return Kind(len(shape), kinds[0].dtype)


def _emit_reshape(n: int, attrs: dict) -> str:
    if n == 2:
        return "{0}.reshape({1})"
    return "{0}.reshape((" + ", ".join(f"{{{i}}}" for i in range(1, n)) + "))"


register(
    Rule(
        "reshape",
        _emit_reshape,
        _infer_reshape,
        _reshape_vjp,
        view=True,
        nondiff_args=tuple(range(1, 16)),
    )
)
register(Rule("reshape_to", "rt.reshape_to({0}, {1})", lambda k, a: k[1]))
bind_method("reshape", CallSpec("reshape", ("a",), varargs=True, name=".reshape"))
bind_call(np.reshape, CallSpec("reshape", ("a", "newshape"), name="np.reshape"))


def _atleast_rule(n: int) -> None:
    """np.atleast_1d/2d/3d: a reshape adding axes of length 1 (the gradient is reshaped back)."""

    def infer(kinds, attrs) -> Kind:
        x = kinds[0]
        return Kind(None if x.ndim is None else max(x.ndim, n), x.dtype)

    op = f"atleast_{n}d"
    fn = getattr(np, op)
    # numba's np.atleast_nd take arrays only: a number is made one first
    emit = "rt.atleast_1d({0})" if n == 1 else f"np.{op}(rt.atleast_1d({{0}}))"
    register(Rule(op, emit, infer, _reshape_vjp, view=True))
    bind_call(fn, CallSpec(op, ("a",), name=f"np.{op}", array_like=("a",)))


for _n in (1, 2, 3):
    _atleast_rule(_n)


# --------------------------------------------------------------------------------------------
# Reductions


def _infer_reduce(kinds, attrs) -> Kind:
    x = kinds[0]
    axis, keepdims = attrs.get("axis"), attrs.get("keepdims", False)
    if x.ndim is None:
        return Kind(None, "float")
    dtype = x.dtype if x.dtype in ("int", "float") else "float"
    if keepdims:
        return Kind(x.ndim, dtype)
    if axis is None:
        return Kind(0, dtype)
    if isinstance(axis, tuple):
        _check_axes(axis, x.ndim)
        return Kind(x.ndim - len(axis), dtype)
    return Kind(max(x.ndim - 1, 0), dtype)


def _infer_sum(kinds, attrs) -> Kind:
    """A sum of bools counts them: an int, as NumPy's."""
    kind = _infer_reduce(kinds, attrs)
    return Kind(kind.ndim, "int", kind.same_shape_as) if kinds[0].dtype == "bool" else kind


def _infer_extreme(kinds, attrs) -> Kind:
    """The largest or smallest of bools is a bool."""
    kind = _infer_reduce(kinds, attrs)
    return Kind(kind.ndim, "bool", kind.same_shape_as) if kinds[0].dtype == "bool" else kind


def _infer_mean(kinds, attrs) -> Kind:
    """A mean is a float, of ints and bools too."""
    kind = _infer_reduce(kinds, attrs)
    return Kind(kind.ndim, "float", kind.same_shape_as)


def _check_axes(axes: tuple, ndim: int) -> None:
    """A tuple of axes NumPy accepts: ints within the dimensions, none twice."""
    if not all(type(a) is int and -ndim <= a < ndim for a in axes):
        raise KindError(
            f"axis={axes} for an array of {ndim} dimension(s)",
            f"give axes from {-ndim} to {ndim - 1}" if ndim else "drop axis= for a number",
        )
    if len({a % ndim for a in axes}) < len(axes):
        raise KindError(f"axis={axes} names an axis twice", "name each axis once")


def _reduce_attrs(stmt) -> dict:
    return {"axis": stmt.attr("axis"), "keepdims": bool(stmt.attr("keepdims", False))}


def _spread(b, stmt, g):
    """g spread back over the reduced axis. When an elementwise operation consumes it, g keeps
    its reduced shape (with the axis as length 1) and NumPy broadcasting spreads it, with no
    array of x's size built just to hold copies of g."""
    x, attrs = stmt.args[0], _reduce_attrs(stmt)
    if b.kind(x).is_array and b.feeds_elementwise(x):
        if attrs["axis"] is None or attrs["keepdims"] or b.kind(x).ndim == 1:
            return g  # (a 1-D x summed along its axis gives a number: it broadcasts as it is)
        if not isinstance(attrs["axis"], tuple):  # (numba's expand_dims takes one axis)
            return b.emit("expand_dims", g, axis=attrs["axis"])
    return b.emit("reduce_grad", g, x, **attrs)


def _sum_vjp(b, stmt) -> tuple:
    return (_spread(b, stmt, b.g),)


def _mean_vjp(b, stmt) -> tuple:
    x, attrs = stmt.args[0], _reduce_attrs(stmt)
    if b.kind(x).is_array and b.feeds_elementwise(x) and not isinstance(attrs["axis"], tuple):
        count = b.emit("size", x) if attrs["axis"] is None else b.emit("dim", x, axis=attrs["axis"])
        return (_spread(b, stmt, b.emit("div", b.g, count)),)
    return (b.emit("mean_grad", b.g, x, **attrs),)


def _extreme_vjp(b, stmt) -> tuple:
    return (b.emit("extreme_grad", b.g, stmt.args[0], b.out, **_reduce_attrs(stmt)),)


def _reduce_emit(name: str):
    """np.sum(x) and np.sum(x, axis=k) print as such (numba has them); keepdims, and axis for
    the others (a tuple of axes for all), go through the runtime, which has them under numba."""

    def emit(n: int, attrs: dict, kinds=None) -> str:
        axis, keepdims = attrs.get("axis"), attrs.get("keepdims", False)
        one_axis = axis is None or name == "sum" and not isinstance(axis, tuple)
        if not keepdims and one_axis:
            return f"np.{name}({{0}})" if axis is None else f"np.{name}({{0}}, axis={{axis}})"
        return f"rt.r{name}({{0}}, {{axis}}, {{keepdims}})"

    return emit


# A tuple or list given to a reduction is an array: sum((x, y)) and np.max([a, b]) too.
_REDUCED = {"array_like": ("a",)}
bind_call(sum, CallSpec("sum", ("a",), {"axis": 0, "keepdims": False}, name="sum", **_REDUCED))
for _op, _vjp in (
    ("sum", _sum_vjp),
    ("mean", _mean_vjp),
    ("max", _extreme_vjp),
    ("min", _extreme_vjp),
):
    infer = {"mean": _infer_mean, "sum": _infer_sum}.get(_op, _infer_extreme)
    register(Rule(_op, _reduce_emit(_op), infer, _vjp, cheap=False))
    _spec = CallSpec(_op, ("a",), {"axis": None, "keepdims": False}, name=f"np.{_op}", **_REDUCED)
    bind_method(_op, _spec)
    bind_call(getattr(np, _op), _spec)
for _op in ("max", "min"):
    bind_call(
        getattr(np, f"a{_op}"),
        CallSpec(_op, ("a",), {"axis": None, "keepdims": False}, name=f"np.a{_op}", **_REDUCED),
    )

# The reverse helpers are linear in g; their own reverse rules (for second derivatives, which
# differentiate programs that contain them) sum the cotangent back over the reduced axes.


def _reduce_grad_vjp(b, stmt) -> tuple:
    g, x = stmt.args[:2]
    if b.kind(x).is_scalar:
        return (b.g,) + (None,) * (len(stmt.args) - 1)
    summed = b.emit("sum", b.g, **_reduce_attrs(stmt))
    return (summed,) + (None,) * (len(stmt.args) - 1)


def _mean_grad_vjp(b, stmt) -> tuple:
    x, axis = stmt.args[1], stmt.attr("axis")
    if b.kind(x).is_scalar:
        return (b.g, None)
    if isinstance(axis, tuple):
        b.refuse("no second-derivative rule for a mean over several axes")
    count = b.emit("size", x) if axis is None else b.emit("dim", x, axis=axis)
    return (b.emit("div", b.emit("sum", b.g, **_reduce_attrs(stmt)), count), None)


def _extreme_grad_vjp(b, stmt) -> tuple:
    # extreme_grad(g) = g * share (the entries holding the extreme, ties split): the share is
    # constant almost everywhere, so x and out get no gradient.
    g, x, out = stmt.args
    ones = Const(1.0) if b.kind(g).is_scalar else b.emit("ones_like", g)
    share = b.emit("extreme_grad", ones, x, out, **_reduce_attrs(stmt))
    return (b.emit("sum", b.emit("mul", b.g, share), **_reduce_attrs(stmt)), None, None)


_GRAD_EMIT = "rt.{name}({{0}}, {{1}}, {{axis}}, {{keepdims}})"
register(
    Rule(
        "reduce_grad",
        _GRAD_EMIT.format(name="reduce_grad"),
        lambda k, a: k[1],
        _reduce_grad_vjp,
        nondiff_args=(1,),
    )
)
register(
    Rule(
        "mean_grad",
        _GRAD_EMIT.format(name="mean_grad"),
        lambda k, a: k[1],
        _mean_grad_vjp,
        nondiff_args=(1,),
    )
)
register(
    Rule(
        "extreme_grad",
        "rt.extreme_grad({0}, {1}, {2}, {axis}, {keepdims})",
        lambda k, a: k[1],
        _extreme_grad_vjp,
        nondiff_args=(1, 2),
    )
)


def _sum_to_vjp(b, stmt) -> tuple:
    # sum_to undoes broadcasting: its reverse broadcasts the cotangent back to g's shape
    g = stmt.args[0]
    if b.kind(g).is_scalar:
        return (b.g, None)
    return (b.emit("add", b.emit("zeros_like", g), b.g), None)


register(Rule("sum_to", "rt.sum_to({0}, {1})", lambda k, a: k[1], _sum_to_vjp, nondiff_args=(1,)))
register(
    Rule(
        "expand_dims",
        "np.expand_dims({0}, {axis})",
        lambda k, a: Kind(None if k[0].ndim is None else k[0].ndim + 1, "float"),
    )
)
register(
    Rule(
        "zeros_grad",
        "rt.zeros_like({0})",
        lambda k, a: Kind(k[0].ndim, "float", k[0].same_shape_as),
    )
)


# --------------------------------------------------------------------------------------------
# Selection


def _where_vjp(b, stmt) -> tuple:
    cond = stmt.args[0]
    zero = Const(0.0)
    return (
        None,
        b.emit("where", cond, b.g, zero) if b.needs(1) else None,
        b.emit("where", cond, zero, b.g) if b.needs(2) else None,
    )


def _infer_where(kinds, attrs) -> Kind:
    from .elementwise import infer_arith

    return infer_arith(kinds, attrs)


register(
    Rule(
        "where",
        "np.where({0}, {1}, {2})",
        _infer_where,
        _where_vjp,
        emit_scalar="{1} if {0} else {2}",
        broadcasting=True,
    )
)
_WHERE = ("condition", "x", "y")
bind_call(np.where, CallSpec("where", _WHERE, name="np.where", array_like=_WHERE))

__all__ = ["SHAPE", "index_template"]
