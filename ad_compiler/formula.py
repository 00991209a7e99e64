"""Closed-form gradients: the function's result as one SymPy expression of its parameters, and
its derivatives, simplified. For scalar code without loops (branches become Piecewise; `w[0]` of
an array parameter becomes the symbol w[0]).

Sigmoids are recognised: a derivative of 1/(1 + exp(-u)) reads s*(1 - s) with s named, as in
the lecture, instead of exp(-u)/(1 + exp(-u))**2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ADCompilerError
from .frontend import parse_function
from .ir import Assign, Block, Const, If, Loop, Var
from .normalize import normalize
from .rules.elementwise import ELEMENTWISE

_COMPARISONS = {"lt": "Lt", "le": "Le", "gt": "Gt", "ge": "Ge", "eq": "Eq", "ne": "Ne"}


@dataclass(frozen=True)
class Formulas:
    """The result's expression, the gradient of each parameter, and named subexpressions."""

    function: str
    result: Any
    gradients: dict[str, Any]
    names: dict[Any, Any]  # symbol -> the expression it stands for (s = sigmoid(...))

    def text(self, latex: bool = False) -> str:
        import sympy as sp

        show = sp.latex if latex else sp.sstr
        lines = [f"{self.function} = {show(self.result)}"]
        for symbol, expr in self.names.items():
            lines.append(f"where {show(symbol)} = {show(expr)}")
        for name, g in self.gradients.items():
            for s in self.names:  # print s*(1 - s), as on the slides, not -s*(s - 1)
                g = g.subs(s - 1, -sp.UnevaluatedExpr(1 - s))
            lines.append(f"d{self.function}/d{name} = {show(g)}")
        return "\n".join(lines)


def formulas(f: Callable, wrt: tuple[str, ...] | None = None) -> Formulas:
    import sympy as sp

    fn = getattr(f, "__wrapped__", f)
    program = normalize(parse_function(fn))
    params = program.params
    wrt = tuple(wrt) if wrt else params
    env: dict[str, Any] = {p: sp.Symbol(p, real=True) for p in params}
    _block(sp, program.body, env)
    if not isinstance(program.result, (Var, Const)):
        raise ADCompilerError("the result is not a single value")
    result = _value(sp, program.result, env)
    # An array parameter indexed by constants (w[0], w[1]) has one symbol per entry.
    entries = sorted((str(v), v) for v in result.free_symbols if "[" in str(v))
    symbols: dict[str, Any] = {}
    for p in wrt:
        indexed = [(name, v) for name, v in entries if name.startswith(f"{p}[")]
        symbols.update(indexed if indexed else [(p, env[p])])
    raw = {p: sp.diff(result, s) for p, s in symbols.items()}
    names: dict[Any, Any] = {}
    for sigmoid, argument in _sigmoids(sp, result).items():
        s = sp.Symbol("s" if not names else f"s{len(names) + 1}", real=True)
        rewritten = {p: _in_terms_of(sp, g, argument, s) for p, g in raw.items()}
        if any(r is not None for r in rewritten.values()):
            names[s] = sigmoid
            raw = {p: r if r is not None else raw[p] for p, r in rewritten.items()}
    gradients = {p: g if any(g.has(n) for n in names) else sp.simplify(g) for p, g in raw.items()}
    return Formulas(fn.__name__, result, gradients, names)


def _value(sp, operand, env: dict) -> Any:
    if isinstance(operand, Const):
        value = operand.value
        # Exact rationals (1.0 -> 1, 0.1 -> 1/10), so that SymPy simplifies as on paper.
        return sp.Integer(value) if isinstance(value, int) else sp.nsimplify(value, rational=True)
    return env[operand.name]


def _block(sp, block: Block, env: dict) -> None:
    for stmt in block:
        if isinstance(stmt, Loop):
            raise ADCompilerError("closed-form formulas are for code without loops")
        if isinstance(stmt, If):
            _block(sp, stmt.body, env)
            _block(sp, stmt.orelse, env)
            cond = _value(sp, stmt.cond, env)
            if not _is_truth(sp, cond):  # `if x:`, `x or y` on a float
                cond = sp.Ne(cond, 0)
            for phi in stmt.phis:
                first, second = (_numeric(sp, _value(sp, v, env)) for v in (phi.first, phi.second))
                env[phi.name] = sp.Piecewise((first, cond), (second, True))
            continue
        env[stmt.target] = _assign(sp, stmt, env)


def _numeric(sp, value) -> Any:
    """A truth value used as a number (`(x > 0) * y`, `x > 0 and y`): 1 or 0."""
    return sp.Piecewise((1, value), (0, True)) if _is_truth(sp, value) else value


def _is_truth(sp, value) -> bool:
    from sympy.logic.boolalg import BooleanAtom, BooleanFunction

    return isinstance(value, (sp.core.relational.Relational, BooleanFunction, BooleanAtom))


def _assign(sp, stmt: Assign, env: dict) -> Any:
    args = [_value(sp, a, env) for a in stmt.args]
    if stmt.op in ELEMENTWISE:
        return ELEMENTWISE[stmt.op](sp, *(_numeric(sp, a) for a in args))
    if stmt.op in ("copy", "float"):
        return args[0]
    if stmt.op in _COMPARISONS:
        return getattr(sp, _COMPARISONS[stmt.op])(*args)
    if stmt.op in ("and", "or", "not"):
        return {"and": sp.And, "or": sp.Or, "not": sp.Not}[stmt.op](*args)
    if (
        stmt.op == "getitem"
        and len(stmt.args) == 2
        and isinstance(stmt.args[0], Var)
        and (isinstance(stmt.args[1], Const))
    ):
        return sp.Symbol(f"{stmt.args[0].name}[{stmt.args[1].value}]", real=True)
    where = f" (line {stmt.loc.line})" if stmt.loc else ""
    raise ADCompilerError(
        f"closed-form formulas are for scalar code; {stmt.op}{where} is not a scalar operation"
    )


def _sigmoids(sp, expr) -> dict[Any, Any]:
    """Subexpressions 1/(1 + exp(-u)), mapped to u."""
    found = {}
    for sub in sp.preorder_traversal(expr):
        if sub.is_Pow and sub.exp == -1:
            base = sub.base
            terms = sp.Add.make_args(base)
            if len(terms) == 2 and sp.Integer(1) in terms:
                other = [t for t in terms if t != 1][0]
                if isinstance(other, sp.exp):
                    found[sub] = -other.args[0]
    return found


def _in_terms_of(sp, g, u, s) -> Any | None:
    """g rewritten with exp(-u) = (1 - s)/s, if that removes the exponentials."""
    rewritten = sp.factor(sp.simplify(g.subs(sp.exp(-u), (1 - s) / s).subs(sp.exp(u), s / (1 - s))))
    if rewritten.has(sp.exp) or not rewritten.has(s):
        return None
    return rewritten
