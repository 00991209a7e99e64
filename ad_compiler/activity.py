"""Activity analysis and aliasing: which values carry a gradient, and which arrays share memory.

A value is *varied* when it depends, through differentiable operations, on an argument being
differentiated, and *useful* when the result depends on it the same way. Only values that are
both (active) get an adjoint; everything else is plain forward code, and often not even that.
"""

from __future__ import annotations

from .ir import Assign, Const, Function, If, Loop, Var, walk
from .kinds import KindTable
from .rules import RULES


def _grad_args(stmt: Assign) -> list[str]:
    rule = RULES[stmt.op]
    return [a.name for i, a in enumerate(stmt.args)
            if isinstance(a, Var) and i not in rule.nondiff_args]


def active_values(fn: Function, kinds: KindTable, wrt: tuple[str, ...]) -> set[str]:
    """Names of the values that need an adjoint."""
    varied = {p for p in wrt if kinds.of(Var(p)).differentiable}
    changed = True
    while changed:
        changed = False
        for stmt in walk(fn.body):
            new: list[str] = []
            if isinstance(stmt, Assign):
                rule = RULES[stmt.op]
                if stmt.op == "setitem":
                    if isinstance(stmt.args[1], Var) and stmt.args[1].name in varied:
                        new.append(stmt.args[0].name)
                elif stmt.target and rule.vjp is not None and kinds.of(
                    Var(stmt.target)
                ).differentiable and any(a in varied for a in _grad_args(stmt)):
                    new.append(stmt.target)
            else:
                new += [p.name for p in stmt.phis if _var_in(p.first, varied)
                        or _var_in(p.second, varied)]
            for name in new:
                if name not in varied:
                    varied.add(name)
                    changed = True
    useful = {fn.result.name} if isinstance(fn.result, Var) else set()
    changed = True
    while changed:
        changed = False
        for stmt in walk(fn.body):
            new = []
            if isinstance(stmt, Assign):
                if stmt.op == "setitem":
                    if stmt.args[0].name in useful and isinstance(stmt.args[1], Var):
                        new.append(stmt.args[1].name)
                elif stmt.target in useful and RULES[stmt.op].vjp is not None:
                    new += _grad_args(stmt)
            else:
                for p in stmt.phis:
                    if p.name in useful:
                        new += [o.name for o in (p.first, p.second) if isinstance(o, Var)]
            for name in new:
                if name not in useful:
                    useful.add(name)
                    changed = True
    return varied & useful


def _var_in(o, names: set[str]) -> bool:
    return isinstance(o, Var) and o.name in names


def alias_classes(fn: Function, kinds: KindTable) -> dict[str, str]:
    """Map each array name to a representative of the names that may share its memory
    (views: slices, transposes, reshapes; plain copies of references; phis)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb

    for stmt in walk(fn.body):
        if isinstance(stmt, Assign) and stmt.target and isinstance(stmt.args[0] if stmt.args
                                                                   else None, Var):
            rule = RULES[stmt.op]
            shares = rule.view or stmt.op == "copy"
            if shares and kinds.of(Var(stmt.target)).ndim != 0:
                union(stmt.target, stmt.args[0].name)
        elif isinstance(stmt, (If, Loop)):
            for p in stmt.phis:
                for o in (p.first, p.second):
                    if isinstance(o, Var) and kinds.of(o).ndim != 0:
                        union(p.name, o.name)
    names = {n for s in walk(fn.body) for n in _names_of(s)} | set(fn.params)
    return {n: find(n) for n in names}


def _names_of(stmt) -> list[str]:
    out = []
    if isinstance(stmt, Assign):
        out += [a.name for a in stmt.args if isinstance(a, Var)]
        if stmt.target:
            out.append(stmt.target)
    else:
        for p in stmt.phis:
            out.append(p.name)
    return out


def written_arrays(block) -> set[str]:
    """Names written into by stores anywhere in a block."""
    return {s.args[0].name for s in walk(block)
            if isinstance(s, Assign) and s.op == "setitem"}


__all__ = ["Const", "active_values", "alias_classes", "written_arrays"]
