"""Local gradients as plans: what SymPy derived, as the steps that emit it as IR.

`plan` reads a SymPy expression once and records every decision about its shape (which terms
are added or subtracted, which factors divide, g first in a product); `emit` replays the steps
on a builder. Plans are plain tuples, so the common ones ship precomputed in
derivative_table.py (tools/derivative_table.py writes it; a test checks it against SymPy) and
a build that needs only those never imports SymPy (0.3 s, more than the rest of a build).

A plan is one of:
  ("var", name)                    a0, a1, ..., g or out, looked up in the environment
  ("const", value)                 an int or a float
  ("neg", p)
  ("sum", (p, ...), (n, ...))      p0 + p1 + ... - n0 - n1 ...
  ("product", (p, ...), (d, ...))  p0 * p1 * ... / (d0 * d1 * ...)
  ("recip", p)                     1.0 / p
  ("op", op, (p, ...))             builder.emit(op, ...), arguments emitted in order
  ("chain", op, (p, ...))          op(op(p0, p1), p2) ... (SymPy's Max and Min of many)
"""

from __future__ import annotations

from typing import Any

from ..errors import ADCompilerError
from ..ir import Const, Operand

Plan = tuple

# SymPy function class name -> op
_SYMPY_OPS = {
    "exp": "exp",
    "log": "log",
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
    "Abs": "abs",
    "sign": "sign",
    "floor": "floor",
    "ceiling": "ceil",
    "Max": "maximum",
    "Min": "minimum",
    "atan2": "arctan2",
    "erf": "erf",
}

_RELATIONS = {
    "Equality": "eq",
    "Unequality": "ne",
    "StrictLessThan": "lt",
    "LessThan": "le",
    "StrictGreaterThan": "gt",
    "GreaterThan": "ge",
}


# --------------------------------------------------------------------------------------------
# From SymPy


def plan(sp, expr: Any) -> Plan:
    """The plan of a SymPy expression (`sp` is the sympy module)."""
    if expr.is_Symbol:
        return ("var", expr.name)
    if expr.is_number:
        return ("const", int(expr) if expr.is_Integer else float(expr))
    if expr.is_Add:
        return _sum(sp, expr)
    if expr.is_Mul:
        return _product(sp, expr)
    if expr.is_Pow:
        base, exponent = expr.args
        if exponent == sp.Rational(1, 2):
            return ("op", "sqrt", (plan(sp, base),))
        if exponent.is_negative and exponent.is_number:
            return ("recip", plan(sp, sp.Pow(base, -exponent)))
        return ("op", "pow", (plan(sp, base), plan(sp, exponent)))
    if isinstance(expr, sp.Piecewise):
        # (a, c), (b, True): np.where(c, a, b), or `a if c else b` on scalars.
        (value, cond), rest = expr.args[0], expr.args[1:]
        otherwise = sp.Piecewise(*rest) if rest else sp.nan
        return ("op", "where", (plan(sp, cond), plan(sp, value), plan(sp, otherwise)))
    name = type(expr).__name__
    if name in _RELATIONS:
        return ("op", _RELATIONS[name], tuple(plan(sp, a) for a in expr.args))
    if isinstance(expr, sp.Heaviside):
        if expr.args[1:] and expr.args[1] != sp.Rational(1, 2):
            raise ADCompilerError(f"internal: Heaviside with H(0) = {expr.args[1]}")
        return ("op", "step", (plan(sp, expr.args[0]),))
    if name in _SYMPY_OPS:
        op = _SYMPY_OPS[name]
        args = tuple(plan(sp, a) for a in expr.args)
        if op in ("maximum", "minimum") and len(args) > 2:
            return ("chain", op, args)
        return ("op", op, args)
    raise ADCompilerError(f"internal: no operation for the SymPy expression {expr} ({name})")


def _sum(sp, expr) -> Plan:
    positive, negative = [], []
    for term in sp.Add.make_args(expr):
        coeff, _rest = term.as_coeff_Mul()
        (negative if coeff.is_negative else positive).append(
            term if not coeff.is_negative else -term
        )
    if not positive:
        return ("neg", _sum(sp, sp.Add(*negative)))
    return (
        "sum",
        tuple(plan(sp, t) for t in positive),
        tuple(plan(sp, t) for t in negative),
    )


def _product(sp, expr) -> Plan:
    coeff, _rest = expr.as_coeff_Mul()
    if coeff.is_negative:
        return ("neg", plan(sp, -expr))
    numerator, denominator = [], []
    for factor in sp.Mul.make_args(expr):
        if factor.is_Pow and factor.exp.is_number and factor.exp.is_negative:
            denominator.append(sp.Pow(factor.base, -factor.exp))
        elif factor.is_Rational and not factor.is_Integer:
            numerator.append(sp.Integer(factor.p))
            denominator.append(sp.Integer(factor.q))
        else:
            numerator.append(factor)
    # Upstream gradient first: "g * local gradient", as in the lecture.
    numerator.sort(key=lambda f: 0 if f.is_Symbol and f.name == "g" else 1)
    numerator = [f for f in numerator if f != 1] or [sp.Integer(1)]
    return (
        "product",
        tuple(plan(sp, f) for f in numerator),
        tuple(plan(sp, f) for f in denominator),
    )


# --------------------------------------------------------------------------------------------
# To IR


def emit(p: Plan, env: dict[str, Operand], builder) -> Operand:
    """Emit statements computing a plan; names are looked up in `env`."""
    kind = p[0]
    if kind == "var":
        return env[p[1]]
    if kind == "const":
        return Const(p[1])
    if kind == "neg":
        return builder.emit("neg", emit(p[1], env, builder))
    if kind == "sum":
        return _emit_sum(p[1], p[2], env, builder)
    if kind == "product":
        return _emit_product(p[1], p[2], env, builder)
    if kind == "recip":
        return builder.emit("div", Const(1.0), emit(p[1], env, builder))
    if kind == "chain":
        args = [emit(a, env, builder) for a in p[2]]
        result = args[0]
        for a in args[1:]:
            result = builder.emit(p[1], result, a)
        return result
    return builder.emit(p[1], *[emit(a, env, builder) for a in p[2]])


def _emit_sum(positive, negative, env, builder) -> Operand:
    result = emit(positive[0], env, builder)
    for op, terms in (("add", positive[1:]), ("sub", negative)):
        for term in terms:
            operand = emit(term, env, builder)
            # A constant 0 substituted for an argument (max(x, 0.0) gives step(x - 0.0)):
            # x - 0.0 is x for a float x, and skipping it saves a temporary array.
            if not (operand in (Const(0), Const(0.0)) and builder.kind(result).dtype == "float"):
                result = builder.emit(op, result, operand)
    return result


def _emit_product(numerator, denominator, env, builder) -> Operand:
    result = emit(numerator[0], env, builder)
    for factor in numerator[1:]:
        result = builder.emit("mul", result, emit(factor, env, builder))
    if denominator:
        below = emit(denominator[0], env, builder)
        for factor in denominator[1:]:
            below = builder.emit("mul", below, emit(factor, env, builder))
        if isinstance(below, Const) and isinstance(result, Const):
            return Const(result.value / below.value)
        result = builder.emit("div", result, below)
    return result
