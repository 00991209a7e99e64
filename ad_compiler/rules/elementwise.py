"""Scalar and elementwise operations, whose local derivatives come from SymPy.

Each entry maps an operation to a SymPy expression of its arguments. The first time an
operation's gradient is needed, `sympy.diff` derives `g * d op / d arg` for that argument
(with integer constant arguments substituted in, so `x ** 2` gives `2 * x`), simplifies it,
reuses the operation's own output where that saves work (exp' = exp), and the result is cached.
derivative_plans.py turns the SymPy expression into IR statements. SymPy is imported only
when needed: the common derivatives ship precomputed (derivative_table.py).

Conventions at non-differentiable points follow from SymPy's definitions, and are documented
in the README: abs'(0) = sign(0) = 0; maximum/minimum split a tie 0.5/0.5 (Heaviside(0) = 1/2);
floor, ceil, sign, round, //, and comparisons have zero gradient.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import KindError
from ..ir import Const, Kind, Operand, Var
from . import CallSpec, Rule, bind_call, bind_method, register
from .derivative_plans import emit, plan
from .derivative_table import DERIVATIVES

# --------------------------------------------------------------------------------------------
# Kinds


def _broadcast_ndim(kinds: tuple[Kind, ...]) -> int | None:
    if any(k.ndim is None for k in kinds):
        return None
    return max((k.ndim for k in kinds), default=0)


def _same_shape(kinds: tuple[Kind, ...]) -> str | None:
    """The shape class of the result when it is that of one argument (others scalars)."""
    arrays = [k for k in kinds if not k.is_scalar]
    if arrays and all(
        k.same_shape_as is not None and k.same_shape_as == arrays[0].same_shape_as for k in arrays
    ):
        return arrays[0].same_shape_as
    return None


def _arith_dtype(kinds: tuple[Kind, ...]) -> str | None:
    dtypes = {k.dtype for k in kinds}
    if "float" in dtypes:
        return "float"
    if None in dtypes:
        return None
    return "int"


def infer_arith(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    return Kind(_broadcast_ndim(kinds), _arith_dtype(kinds), _same_shape(kinds))


def _infer_bool_arith(what: str, rewrite: str):
    """`+`, `-` and unary `-` of numbers. Of bools alone: `+` is NumPy's `or` (np.True_ +
    np.True_ is True; of Python's bools it is 2, which kinds.refuse_ambiguous_bools refuses
    where the bools may be Python's); `-` is refused (NumPy has none, Python's gives an int)."""

    def infer(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
        if not all(k.dtype == "bool" for k in kinds):
            return infer_arith(kinds, attrs)
        if what == "`+`":
            return infer_bool(kinds, attrs)
        raise KindError(
            f"{what} of bools (NumPy has no `-` of bools; Python's True - False is 1)",
            f"make them numbers first: {rewrite}",
        )

    return infer


def _infer_mul(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    """`*` of bools is their `and`: a bool (NumPy's; Python's 0 or 1 has the same value)."""
    if all(k.dtype == "bool" for k in kinds):
        return infer_bool(kinds, attrs)
    return infer_arith(kinds, attrs)


def infer_float(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    return Kind(_broadcast_ndim(kinds), "float", _same_shape(kinds))


def infer_bool(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    return Kind(_broadcast_ndim(kinds), "bool", _same_shape(kinds))


def infer_truth(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    """`not`, `and`, `or` of single values (NumPy raises on the truth value of an array)."""
    if any(k.is_array for k in kinds):
        raise KindError(ARRAY_TRUTH, ARRAY_TRUTH_REWRITE)
    return Kind(0, "bool")


ARRAY_TRUTH = "the truth value of an array is ambiguous (`if`, `while`, `and`, `or`, `not`)"
ARRAY_TRUTH_REWRITE = (
    "np.logical_and/np.logical_or/np.logical_not or np.where elementwise, or np.all(...) / "
    "np.any(...) for one decision"
)


# --------------------------------------------------------------------------------------------
# The table: op -> (SymPy function of the arguments, array template, scalar template)

SympyFn = Callable[..., Any]


def _vjp(builder, stmt) -> tuple:
    return _elementwise_vjp(builder, stmt)  # defined below, with the derivatives


ELEMENTWISE: dict[str, SympyFn] = {}


def _elementwise(
    op: str,
    sympy_fn: SympyFn | None,
    emit: str,
    emit_scalar: str | Callable[[int, dict], str] | None = None,
    infer=infer_float,
    cheap: bool = True,
) -> None:
    vjp = _vjp if sympy_fn is not None else None
    if sympy_fn is not None:
        ELEMENTWISE[op] = sympy_fn
    register(Rule(op, emit, infer, vjp, emit_scalar=emit_scalar, cheap=cheap, broadcasting=True))


# Operators.
_ADD_BOOLS = _infer_bool_arith("`+`", "int(a > 0) + int(b > 0)")
_SUBTRACT_BOOLS = _infer_bool_arith("`-`", "int(a > b) - int(a < b)")
_elementwise("add", lambda sp, a, b: a + b, "{0} + {1}", infer=_ADD_BOOLS)
_elementwise("sub", lambda sp, a, b: a - b, "{0} - {1}", infer=_SUBTRACT_BOOLS)
_elementwise("mul", lambda sp, a, b: a * b, "{0} * {1}", infer=_infer_mul)
_elementwise("div", lambda sp, a, b: a / b, "{0} / {1}")
_elementwise("pow", lambda sp, a, b: a**b, "{0} ** {1}", infer=infer_arith)
_elementwise("neg", lambda sp, a: -a, "-{0}", infer=_infer_bool_arith("`-`", "-int(a > b)"))
_elementwise("pos", lambda sp, a: a, "+{0}", infer=infer_arith)
_elementwise("mod", lambda sp, a, b: a - b * sp.floor(a / b), "{0} % {1}", infer=infer_arith)
_elementwise("floordiv", lambda sp, a, b: sp.floor(a / b), "{0} // {1}", infer=infer_arith)

# Functions of one argument: (op, SymPy name, NumPy name, math name).
_UNARY = [
    ("exp", "exp", "np.exp", "math.exp"),
    ("log", "log", "np.log", "math.log"),
    ("sqrt", "sqrt", "np.sqrt", "math.sqrt"),
    ("sin", "sin", "np.sin", "math.sin"),
    ("cos", "cos", "np.cos", "math.cos"),
    ("tan", "tan", "np.tan", "math.tan"),
    ("arcsin", "asin", "np.arcsin", "math.asin"),
    ("arccos", "acos", "np.arccos", "math.acos"),
    ("arctan", "atan", "np.arctan", "math.atan"),
    ("sinh", "sinh", "np.sinh", "math.sinh"),
    ("cosh", "cosh", "np.cosh", "math.cosh"),
    ("tanh", "tanh", "np.tanh", "math.tanh"),
    ("arcsinh", "asinh", "np.arcsinh", "math.asinh"),
    ("arccosh", "acosh", "np.arccosh", "math.acosh"),
    ("arctanh", "atanh", "np.arctanh", "math.atanh"),
    ("erf", "erf", None, "math.erf"),
    ("floor", "floor", "np.floor", "math.floor"),
    ("ceil", "ceiling", "np.ceil", "math.ceil"),
    ("sign", "sign", "np.sign", None),
]


# NumPy's functions on scalars too: they return inf/nan where math raises, as the primal would.
def _family_of(function, sample: np.ndarray) -> str:
    """What the installed NumPy's `function` gives for `sample`'s dtype: "int", "bool" or
    "float" (NumPy 2 keeps ints and bools where older versions gave floats)."""
    try:
        kind = function(sample).dtype.kind
    except TypeError:
        return "float"  # (no loop for that dtype: NumPy raises at run time)
    return {"i": "int", "u": "int", "b": "bool"}.get(kind, "float")


_KEPT = {
    op: {dtype: _family_of(getattr(np, op), np.zeros(1, dtype)) for dtype in ("int", "bool")}
    for op in ("floor", "ceil", "sign")
}


def _infer_keeping_ints(kinds: tuple[Kind, ...], attrs: dict, op: str = "floor") -> Kind:
    """np.floor, np.ceil and np.sign of ints and bools: of the dtype NumPy gives them."""
    k = kinds[0]
    dtype = _KEPT[op].get(k.dtype, "float")
    return Kind(k.ndim, dtype, k.same_shape_as)


_KEEPING_INTS = ("floor", "ceil", "sign")
for _op, _sym, _np, _math in _UNARY:
    _elementwise(
        _op,
        (lambda name: lambda sp, a: getattr(sp, name)(a))(_sym),
        f"{_np or _math}({{0}})",
        infer=functools.partial(_infer_keeping_ints, op=_op)
        if _op in _KEEPING_INTS
        else infer_float,
        cheap=_op in _KEEPING_INTS,
    )

_elementwise("log1p", lambda sp, a: sp.log(1 + a), "np.log1p({0})", cheap=False)
_elementwise("expm1", lambda sp, a: sp.exp(a) - 1, "np.expm1({0})", cheap=False)
_elementwise("log2", lambda sp, a: sp.log(a, 2), "np.log2({0})", cheap=False)
_elementwise("log10", lambda sp, a: sp.log(a, 10), "np.log10({0})", cheap=False)
_elementwise("exp2", lambda sp, a: 2**a, "np.exp2({0})", cheap=False)
_elementwise("deg2rad", lambda sp, a: a * sp.pi / 180, "np.deg2rad({0})")
_elementwise("rad2deg", lambda sp, a: a * 180 / sp.pi, "np.rad2deg({0})")
_elementwise("abs", lambda sp, a: sp.Abs(a), "np.abs({0})", "abs({0})", infer=infer_arith)
_elementwise("square", lambda sp, a: a**2, "np.square({0})", "{0} ** 2", infer=infer_arith)


def _infer_reciprocal(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    if kinds[0].dtype in ("int", "bool"):
        raise KindError(
            "np.reciprocal of ints (NumPy's is an int: 0 for every x other than 1 and -1)",
            "write 1.0 / x",
        )
    return infer_float(kinds, attrs)


_elementwise(
    "reciprocal", lambda sp, a: 1 / a, "np.reciprocal({0})", "1.0 / {0}", infer=_infer_reciprocal
)
_elementwise("fabs", lambda sp, a: sp.Abs(a), "np.fabs({0})", "math.fabs({0})")
# Of two numbers: Python's max/min (marked `builtin`: max(0.0, nan) is 0.0), or NumPy's
# (rt.maximum: NaN when either is).
_elementwise(
    "maximum",
    lambda sp, a, b: sp.Max(a, b),
    "np.maximum({0}, {1})",
    lambda n, a: "max({0}, {1})" if a.get("builtin") else "rt.maximum({0}, {1})",
    infer=infer_arith,
)
_elementwise(
    "minimum",
    lambda sp, a, b: sp.Min(a, b),
    "np.minimum({0}, {1})",
    lambda n, a: "min({0}, {1})" if a.get("builtin") else "rt.minimum({0}, {1})",
    infer=infer_arith,
)
_elementwise("hypot", lambda sp, a, b: sp.sqrt(a**2 + b**2), "np.hypot({0}, {1})", cheap=False)
_elementwise("arctan2", lambda sp, a, b: sp.atan2(a, b), "np.arctan2({0}, {1})", cheap=False)
_elementwise(
    "clip",
    lambda sp, a, lo, hi: sp.Min(sp.Max(a, lo), hi),
    "np.clip({0}, {1}, {2})",
    "min(max({0}, {1}), {2})",
    infer=infer_arith,
)
_elementwise("float", lambda sp, a: a, "float({0})", "float({0})")
_elementwise("int", None, "int({0})", infer=lambda kinds, attrs: Kind(kinds[0].ndim, "int"))


def _infer_sequence_index(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    """The index of `(a, b)[i]` known at run time: an int, or a bool (Python's `t[a > b]`
    takes item 1 when true, where NumPy's boolean indexing of the stacked items would not)."""
    k = kinds[0]
    if k.ndim not in (0, None) or k.dtype not in ("int", "bool", None):
        what = "an array" if k.ndim else f"a {k.dtype}"
        raise KindError(f"a tuple or list indexed by {what}", "index it by an int")
    return Kind(0, "int")


_elementwise("sequence_index", None, "int({0})", infer=_infer_sequence_index)
# Heaviside step with step(0) = 1/2, SymPy's convention; appears in derivatives of max/min.
_elementwise("step", lambda sp, a: sp.Heaviside(a), "rt.step({0})")


# Comparisons and logic carry no gradient.
def infer_equality(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    """`x.shape == y.shape`: tuples compare whole, to one bool; arrays element by element."""
    if kinds and all(k.dtype == "shape" for k in kinds):
        return Kind(0, "bool")
    return infer_bool(kinds, attrs)


for _op, _sym in [("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">=")]:
    _elementwise(_op, None, f"{{0}} {_sym} {{1}}", infer=infer_bool)
for _op, _sym in [("eq", "=="), ("ne", "!=")]:
    _elementwise(_op, None, f"{{0}} {_sym} {{1}}", infer=infer_equality)
_elementwise("not", None, "not {0}", infer=infer_truth)
_elementwise("and", None, "{0} and {1}", infer=infer_truth)
_elementwise("or", None, "{0} or {1}", infer=infer_truth)
_elementwise("logical_not", None, "np.logical_not({0})", infer=infer_bool)
_elementwise("logical_and", None, "np.logical_and({0}, {1})", infer=infer_bool)


def _infer_invert(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    """`~mask` of bools is their not (NumPy's: a single np.bool_ too, while Python's ~True is
    -2, which kinds.refuse_ambiguous_bools refuses where the bool may be Python's), `~n` of
    ints their bits inverted; of a float refused (Python and NumPy raise)."""
    k = kinds[0]
    if k.dtype not in ("bool", "int", None):
        raise KindError(f"~ of a {k.dtype}", "~ inverts bool masks and ints only")
    return Kind(k.ndim, k.dtype, k.same_shape_as)


_elementwise("invert", None, "~{0}", infer=_infer_invert)


def _infer_bitwise(kinds: tuple[Kind, ...], attrs: dict) -> Kind:
    """`&`, `|`, `^`: of bools (masks, single conditions) a bool, as in Python and NumPy
    alike; of ints their bits; of floats refused (Python and NumPy raise)."""
    dtypes = {k.dtype for k in kinds}
    if not dtypes <= {"bool", "int", None}:
        raise KindError(
            "& | ^ of a float", "combine conditions: (x > 0) & (y < 1), or use `and` / `or`"
        )
    dtype = "bool" if dtypes == {"bool"} else None if None in dtypes else "int"
    return Kind(_broadcast_ndim(kinds), dtype, _same_shape(kinds))


for _op, _sym in (("bitand", "&"), ("bitor", "|"), ("bitxor", "^")):
    _elementwise(_op, None, f"{{0}} {_sym} {{1}}", infer=_infer_bitwise)
_elementwise("logical_or", None, "np.logical_or({0}, {1})", infer=infer_bool)


# --------------------------------------------------------------------------------------------
# How users call them

_NUMPY_NAMES = {op: op for op, *_ in _UNARY}
_NUMPY_NAMES.update(
    {
        "log1p": "log1p",
        "expm1": "expm1",
        "log2": "log2",
        "log10": "log10",
        "abs": "abs",
        "absolute": "abs",
        "fabs": "fabs",
        "square": "square",
        "reciprocal": "reciprocal",
        "maximum": "maximum",
        "minimum": "minimum",
        "exp2": "exp2",
        "deg2rad": "deg2rad",
        "radians": "deg2rad",
        "rad2deg": "rad2deg",
        "degrees": "rad2deg",
        "hypot": "hypot",
        "arctan2": "arctan2",
        "power": "pow",
        "add": "add",
        "subtract": "sub",
        "multiply": "mul",
        "divide": "div",
        "true_divide": "div",
        "negative": "neg",
        "floor_divide": "floordiv",
        "mod": "mod",
        "remainder": "mod",
        "clip": "clip",
        "logical_not": "logical_not",
        "logical_and": "logical_and",
        "logical_or": "logical_or",
        "less": "lt",
        "less_equal": "le",
        "greater": "gt",
        "greater_equal": "ge",
        "equal": "eq",
        "not_equal": "ne",
    }
)
_NUMPY_NAMES.pop("erf")
_MATH_NAMES = {
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "asinh": "arcsinh",
    "acosh": "arccosh",
    "atanh": "arctanh",
    "erf": "erf",
    "log1p": "log1p",
    "expm1": "expm1",
    "log2": "log2",
    "log10": "log10",
    "fabs": "fabs",
    "pow": "pow",
    "hypot": "hypot",
    "atan2": "arctan2",
    "floor": "floor",
    "ceil": "ceil",
}


def _params(op: str) -> tuple[str, ...]:
    return ("a", "b", "c")[: _arity(op)]


def _arity(op: str) -> int:
    fn = ELEMENTWISE.get(op)
    if fn is None:
        return 1 if op in ("not", "logical_not") else 2
    return fn.__code__.co_argcount - 1


for _name, _op in _NUMPY_NAMES.items():
    _spec = CallSpec(_op, _params(_op), name=f"np.{_name}", array_like=_params(_op))
    bind_call(getattr(np, _name), _spec)
# NumPy's own keyword names (np.clip(x, a_min=0.1, a_max=1.1)).
_CLIP = ("a", "a_min", "a_max")
bind_call(np.clip, CallSpec("clip", _CLIP, name="np.clip", array_like=_CLIP))
for _name, _op in _MATH_NAMES.items():
    bind_call(getattr(math, _name), CallSpec(_op, _params(_op), name=f"math.{_name}"))
bind_call(abs, CallSpec("abs", ("a",), name="abs"))
bind_call(float, CallSpec("float", ("a",), name="float"))
bind_call(int, CallSpec("int", ("a",), name="int"))
bind_call(pow, CallSpec("pow", ("a", "b"), name="pow"))
bind_method("clip", CallSpec("clip", ("a", "b", "c"), name=".clip"))


# --------------------------------------------------------------------------------------------
# Derivatives


def _sympy():
    import sympy

    return sympy


def _known(op: str, o: Operand) -> int | float | None:
    """A constant argument substituted before differentiating: an integer (x ** 2 gives 2*x),
    or any number in a power (x ** 2.0 gives 2*x too, and x ** 0.5 needs no guard for a zero
    exponent, 2.0 ** y none for a zero base)."""
    if not isinstance(o, Const) or type(o.value) not in (int, float):
        return None
    if type(o.value) is int:
        return o.value
    if op != "pow" or not math.isfinite(o.value):
        return None
    return int(o.value) if o.value.is_integer() and abs(o.value) < 2**53 else o.value


def _pow_partials(sp, x, y) -> tuple:
    """d/dx and d/dy of x ** y, finite where the limit is, as autograd has them: x ** 0 is 1
    for every x (0 ** 0 included), so d/dx is 0 at y = 0, not 0 * 0 ** -1; 0 ** y is 0 for
    y > 0, so d/dy is 0 at x = 0, not 0 * log(0). The guards replace the exponent and the
    argument of the log, not the whole derivative, so that nothing infinite is computed (NumPy
    evaluates both sides of np.where); a constant y or x drops them (x ** 2 gives 2*x)."""
    exponent = sp.Piecewise((y - 1, sp.Ne(y, 0)), (1, True))
    base = sp.Piecewise((x, sp.Ne(x, 0)), (1, True))
    return y * x**exponent, x**y * sp.log(base)


# Partial derivatives given by hand where SymPy's are not finite at a point we define.
_PARTIALS = {"pow": _pow_partials}


@functools.cache
def local_gradient(
    op: str,
    ints: tuple[int | float | None, ...],
    wrt: int,
    shared: tuple[int, ...] | None = None,
) -> Any:
    """g * d op / d argument `wrt`, as a SymPy expression of a0, a1..., g and out.

    `ints` holds the constant arguments substituted before differentiating (see `_known`);
    `shared[i]` is the first argument position holding the same variable as argument i.
    """
    sp = _sympy()
    shared = shared or tuple(range(len(ints)))
    symbols = [sp.Symbol(f"a{shared[i]}", real=True) for i in range(len(ints))]
    args = [_number(sp, v) if v is not None else s for v, s in zip(ints, symbols)]
    g, out = sp.Symbol("g", real=True), sp.Symbol("out", real=True)
    value = ELEMENTWISE[op](sp, *args)
    if op in _PARTIALS:
        # The total derivative: the partials of every position holding that variable.
        partials = _PARTIALS[op](sp, *args)
        derivative = sp.Add(
            *(d for k, d in enumerate(partials) if ints[k] is None and shared[k] == wrt)
        )
    else:
        derivative = sp.diff(value, symbols[wrt])
    derivative = _zero_almost_everywhere(sp, derivative)
    expr = sp.powsimp(g * derivative)
    if value.free_symbols and not value.is_Symbol:
        reused = expr.subs(value, out)
        # Reuse the output when it saves work, but never by dividing by an argument the
        # derivative did not divide by (x**y: y*x**(y-1) stays finite at x = 0, y*out/x not).
        if sp.count_ops(reused) < sp.count_ops(expr) and _divides_by(sp, reused, symbols) <= (
            _divides_by(sp, expr, symbols)
        ):
            expr = reused
    return expr


@functools.cache
def gradient_plan(
    op: str,
    ints: tuple[int | float | None, ...],
    wrt: int,
    shared: tuple[int, ...] | None = None,
) -> tuple:
    """`local_gradient` as a plan (derivative_plans.py): shipped in derivative_table.py for
    the common cases, else derived with SymPy."""
    key = (op, ints, wrt, shared or tuple(range(len(ints))))
    known = DERIVATIVES.get(key)
    if known is not None:
        return known
    return plan(_sympy(), local_gradient(op, ints, wrt, shared))


def _number(sp, v: int | float):
    return sp.Integer(v) if type(v) is int else sp.Float(repr(v))


def _divides_by(sp, expr, symbols) -> set:
    denominator = sp.fraction(sp.together(expr))[1]
    return denominator.free_symbols & set(symbols)


def _zero_almost_everywhere(sp, expr):
    """Drop the derivatives of piecewise-constant functions (floor, sign, Heaviside): zero
    wherever they are differentiable."""
    expr = expr.replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.Integer(0))

    def step_derivative(e) -> bool:  # d floor(u)/du, as SymPy leaves it unevaluated
        inner = e.expr if isinstance(e, sp.Subs) else e
        return isinstance(inner, sp.Derivative) and isinstance(inner.expr, (sp.floor, sp.ceiling))

    expr = expr.replace(step_derivative, lambda e: sp.Integer(0))
    expr = expr.replace(lambda e: isinstance(e, sp.Subs) and e.expr.is_number, lambda e: e.expr)
    if expr.has(sp.Derivative, sp.Subs):
        # Any other unevaluated derivative is unknown, not zero (frac' = 1): never drop it.
        raise ValueError(f"SymPy left a derivative unevaluated: {expr}")
    return expr


def _scalar_extreme_vjp(builder, stmt) -> tuple:
    """Python's max(a, b) and min(a, b) of two numbers: max returns a unless
    b > a (min: unless b < a), so a NaN that max skips gets no gradient, and none of the NaN
    reaches the other's (step(a - b) would be NaN). A tie splits evenly, as for arrays."""
    a, b = stmt.args
    second = builder.emit("gt" if stmt.op == "maximum" else "lt", b, a)
    tie = builder.emit("where", builder.emit("eq", a, b), Const(0.5), Const(0.0))
    share = builder.emit("where", second, Const(1.0), tie)  # of b; a gets the rest
    return (
        builder.emit("mul", builder.g, builder.emit("sub", Const(1.0), share))
        if builder.needs(0)
        else None,
        builder.emit("mul", builder.g, share) if builder.needs(1) else None,
    )


def _elementwise_vjp(builder, stmt) -> tuple:
    if (
        stmt.op in ("maximum", "minimum")
        and stmt.attr("builtin")
        and len(stmt.args) == 2
        and stmt.args[0] != stmt.args[1]
        and all(builder.kind(a).is_scalar for a in stmt.args)
    ):
        return _scalar_extreme_vjp(builder, stmt)
    ints = tuple(_known(stmt.op, o) for o in stmt.args)
    # The same variable in several places (x * x) is one symbol, differentiated once.
    first = {a: i for i, a in reversed(list(enumerate(stmt.args)))}
    shared = tuple(first[a] if isinstance(a, Var) else i for i, a in enumerate(stmt.args))
    contributions = []
    for i, _arg in enumerate(stmt.args):
        if not builder.needs(i) or shared[i] != i:
            # A repeated variable's whole derivative goes to its first position.
            contributions.append(Const(0.0) if builder.needs(i) else None)
            continue
        steps = gradient_plan(stmt.op, ints, i, shared)
        env = {f"a{k}": a for k, a in enumerate(stmt.args)}
        env.update(g=builder.g, out=builder.out)
        contributions.append(emit(steps, env, builder))
    return tuple(contributions)
