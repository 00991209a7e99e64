"""Activity analysis and aliasing: which values carry a gradient, and which arrays share memory.

A value is *varied* when it depends, through differentiable operations, on an argument being
differentiated, and *useful* when the result depends on it the same way. Only values that are
both (active) get an adjoint; everything else is plain forward code, and often not even that.
"""

from __future__ import annotations

from .ir import Assign, Function, If, Loop, Var, walk
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


def check_aliasing(fn: Function, aliases: dict[str, str]) -> None:
    """Refuse a view of an array (a slice, a transpose, another name for it) that is used after
    the array was written through another name: NumPy shows the view the new values, and the
    gradient would have to follow memory, not names."""
    written = written_arrays(fn.body)
    if written:
        _check_block(fn.body, {aliases.get(w, w) for w in written}, aliases, set())


def _reads_in(stmt) -> set[str]:
    names: set[str] = set()
    for s in walk((stmt,)):
        if isinstance(s, Assign):
            names |= {a.name for a in s.args if isinstance(a, Var)}
        elif isinstance(s, If):
            names |= {s.cond.name} if isinstance(s.cond, Var) else set()
            names |= {o.name for p in s.phis for o in (p.first, p.second) if isinstance(o, Var)}
        else:
            names |= {o.name for o in (s.start, s.stop, s.step, s.cond) if isinstance(o, Var)}
            names |= {o.name for p in s.phis for o in (p.first, p.second) if isinstance(o, Var)}
    return names


def _check_block(block, classes: set[str], aliases: dict[str, str], tail: set[str]) -> None:
    reads = [_reads_in(s) for s in block] + [tail]
    writes = [written_arrays((s,)) for s in block]
    for d, stmt in enumerate(block):
        defined = [stmt.target] if isinstance(stmt, Assign) and stmt.target else [
            p.name for p in getattr(stmt, "phis", ())]
        for view in defined:
            group = aliases.get(view, view)
            if group not in classes:
                continue
            for w in range(d + 1, len(block)):
                through = [n for n in writes[w] if n != view and aliases.get(n, n) == group]
                if not through:
                    continue
                for r in range(w, len(reads)):
                    same_store = r == w and isinstance(block[w], Assign)
                    if view in reads[r] and not same_store:
                        raise _alias_error(block, d, w, min(r, len(block) - 1), view,
                                           through[0])
        if isinstance(stmt, If):
            _check_block(stmt.body, classes, aliases, {p.first.name for p in stmt.phis
                                                       if isinstance(p.first, Var)})
            _check_block(stmt.orelse, classes, aliases, {p.second.name for p in stmt.phis
                                                         if isinstance(p.second, Var)})
        elif isinstance(stmt, Loop):
            tail_names = {p.second.name for p in stmt.phis if isinstance(p.second, Var)}
            _check_block(stmt.test, classes, aliases, set())
            _check_block(stmt.body, classes, aliases, tail_names)


def _alias_error(block, d: int, w: int, r: int, view: str, array: str):
    from .errors import UnsupportedSyntaxError

    inner = list(walk((block[w],)))
    write = next(s for s in inner if isinstance(s, Assign) and s.op == "setitem"
                 and s.args[0].name == array)
    after = list(walk(tuple(block[r:]))) if r != w else inner[inner.index(write) + 1:] + inner
    read = next((s for s in after if view in _reads_in(s) and not isinstance(s, (If, Loop))),
                block[r])
    loc = read.loc or block[d].loc
    line = f" at line {write.loc.line}" if write.loc else ""
    name = "" if view.startswith("t") and view[1:].isdigit() else f"{view} "
    message = (f"this reads {name}a view of {array} (a slice, transpose or alias taken before), "
               f"but {array} was written in place{line} since; NumPy would show the new values")
    suggestion = "take a copy when you slice it (.copy()), or read it again after the write"
    if loc is None:
        return UnsupportedSyntaxError(message, suggestion=suggestion)
    return UnsupportedSyntaxError(message, loc.filename, loc.line, loc.col + 1, loc.text,
                                  suggestion)
