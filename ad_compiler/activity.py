"""Activity analysis and aliasing: which values carry a gradient, and which arrays share memory.

A value is *varied* when it depends, through differentiable operations, on an argument being
differentiated, and *useful* when the result depends on it the same way. Only values that are
both (active) get an adjoint; everything else is plain forward code, and often not even that.
"""

from __future__ import annotations

from .errors import NoGradientRuleError
from .ir import Assign, Function, If, Loop, Var, walk
from .kinds import KindTable
from .rules import RULES


def _grad_args(stmt: Assign) -> list[str]:
    rule = RULES[stmt.op]
    return [
        a.name for i, a in enumerate(stmt.args) if isinstance(a, Var) and i not in rule.nondiff_args
    ]


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
                    # A float stored into an int array is truncated: no gradient flows through.
                    if (
                        isinstance(stmt.args[1], Var)
                        and stmt.args[1].name in varied
                        and kinds.of(stmt.args[0]).differentiable
                    ):
                        new.append(stmt.args[0].name)
                elif (
                    stmt.target
                    and kinds.of(Var(stmt.target)).differentiable
                    and any(a in varied for a in _grad_args(stmt))
                ):
                    if rule.vjp is None and not rule.zero_derivative:
                        _refuse_without_rule(stmt)
                    if rule.vjp is not None:
                        new.append(stmt.target)
            else:
                new += [
                    p.name
                    for p in stmt.phis
                    if _var_in(p.first, varied) or _var_in(p.second, varied)
                ]
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
                elif (
                    stmt.target in useful
                    and RULES[stmt.op].vjp is not None
                    and kinds.of(Var(stmt.target)).differentiable  # not x.astype(int)
                ):
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


def _refuse_without_rule(stmt: Assign):
    """A differentiated value reaches an operation that has no derivative rule: refuse it
    rather than give it a zero gradient."""
    loc = stmt.loc
    raise NoGradientRuleError(
        f"no gradient rule for {stmt.op!r} of a value that depends on the differentiated arguments",
        *((loc.filename, loc.line, loc.col + 1, loc.text) if loc else ()),
        suggestion="compute it with operations that have gradient rules (see the README)",
    )


def _var_in(o, names: set[str]) -> bool:
    return isinstance(o, Var) and o.name in names


class Aliases:
    """Which arrays each name may be: a set of allocation sites per name.

    A new array (the result of arithmetic, a constructor, a parameter) is its own site; a view
    (a slice, a transpose, a reshape), a plain copy of a reference and a phi may be any of their
    operands' sites. A write into one name changes every name sharing a site with it.
    """

    def __init__(self, fn: Function, kinds: KindTable) -> None:
        self.sites: dict[str, frozenset[str]] = {p: frozenset((p,)) for p in fn.params}
        changed = True
        while changed:  # loops: a phi may bring sites back around
            changed = False
            for stmt in walk(fn.body):
                updates: list[tuple[str, frozenset[str]]] = []
                if isinstance(stmt, Assign) and stmt.target:
                    first = stmt.args[0] if stmt.args else None
                    shares = RULES[stmt.op].view or stmt.op == "copy"
                    if shares and isinstance(first, Var) and kinds.of(Var(stmt.target)).ndim != 0:
                        updates.append((stmt.target, self.of(first.name)))
                    else:
                        updates.append((stmt.target, frozenset((stmt.target,))))
                elif isinstance(stmt, (If, Loop)):
                    for p in stmt.phis:
                        sites = frozenset().union(
                            *(self.of(o.name) for o in (p.first, p.second) if isinstance(o, Var))
                        )
                        updates.append((p.name, sites or frozenset((p.name,))))
                for name, sites in updates:
                    merged = self.sites.get(name, frozenset()) | sites
                    if merged != self.sites.get(name):
                        self.sites[name] = merged
                        changed = True

    def of(self, name: str) -> frozenset[str]:
        return self.sites.get(name, frozenset((name,)))

    def share(self, a: str, b: str) -> bool:
        return bool(self.of(a) & self.of(b))


def written_arrays(block) -> set[str]:
    """Names written into by stores anywhere in a block."""
    return {s.args[0].name for s in walk(block) if isinstance(s, Assign) and s.op == "setitem"}


def check_aliasing(fn: Function, aliases: Aliases) -> None:
    """Refuse a view of an array (a slice, a transpose, another name for it) that is used after
    the array was written through another name: NumPy shows the view the new values, and the
    gradient would have to follow memory, not names."""
    if written_arrays(fn.body):
        _check_block(fn.body, aliases, set())


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


def _check_block(block, aliases: Aliases, tail: set[str]) -> None:
    reads = [_reads_in(s) for s in block] + [tail]
    writes = [written_arrays((s,)) for s in block]
    for d, stmt in enumerate(block):
        defined = (
            [stmt.target]
            if isinstance(stmt, Assign) and stmt.target
            else [p.name for p in getattr(stmt, "phis", ())]
        )
        for view in defined:
            for w in range(d + 1, len(block)):
                through = [n for n in writes[w] if n != view and aliases.share(n, view)]
                if not through:
                    continue
                for r in range(w, len(reads)):
                    read = reads[r]
                    if r == w and isinstance(block[w], Loop):
                        # a loop reads its carried values' initial values on entry, before
                        # anything in it writes
                        read = read - {
                            p.first.name for p in block[w].phis if isinstance(p.first, Var)
                        } | _reads_in_loop(block[w])
                    same_store = r == w and isinstance(block[w], Assign)
                    if view in read and not same_store:
                        raise _alias_error(block, d, w, min(r, len(block) - 1), view, through[0])
        if isinstance(stmt, If):
            _check_block(
                stmt.body, aliases, {p.first.name for p in stmt.phis if isinstance(p.first, Var)}
            )
            _check_block(
                stmt.orelse,
                aliases,
                {p.second.name for p in stmt.phis if isinstance(p.second, Var)},
            )
        elif isinstance(stmt, Loop):
            tail_names = {p.second.name for p in stmt.phis if isinstance(p.second, Var)}
            _check_block(stmt.test, aliases, set())
            _check_block(stmt.body, aliases, tail_names)


def _reads_in_loop(loop: Loop) -> set[str]:
    """What a loop reads inside (its test and body, and the values carried back around)."""
    names = (
        set().union(*(_reads_in(s) for s in loop.test + loop.body))
        if (loop.test or loop.body)
        else set()
    )
    names |= {p.second.name for p in loop.phis if isinstance(p.second, Var)}
    return names


def _alias_error(block, d: int, w: int, r: int, view: str, array: str):
    from .errors import UnsupportedSyntaxError

    inner = list(walk((block[w],)))
    write = next(
        s for s in inner if isinstance(s, Assign) and s.op == "setitem" and s.args[0].name == array
    )
    after = list(walk(tuple(block[r:]))) if r != w else inner[inner.index(write) + 1 :] + inner
    read = next(
        (s for s in after if view in _reads_in(s) and not isinstance(s, (If, Loop))), block[r]
    )
    loc = read.loc or block[d].loc
    line = f" at line {write.loc.line}" if write.loc else ""
    name = "" if view.startswith("t") and view[1:].isdigit() else f"{view} "
    message = (
        f"this reads {name}a view of {array} (a slice, transpose or alias taken before), "
        f"but {array} was written in place{line} since; NumPy would show the new values"
    )
    suggestion = "take a copy when you slice it (.copy()), or read it again after the write"
    if loc is None:
        return UnsupportedSyntaxError(message, suggestion=suggestion)
    return UnsupportedSyntaxError(
        message, loc.filename, loc.line, loc.col + 1, loc.text, suggestion
    )


def forward_stores(fn: Function, kinds: KindTable) -> Function:
    """`y[i] = v` followed by a read of `y[i]` (same index, nothing written into y between):
    the read is `v`; and a second read of the same element is the first. Saves the reverse
    sweep from taping values it already has."""
    from dataclasses import replace

    aliases = Aliases(fn, kinds)

    def block(stmts) -> tuple:
        out = []
        stored: dict[str, Assign] = {}  # array -> its last element store in this block
        loaded: dict[tuple, str] = {}  # (array, index) -> the name an element was read into
        for stmt in stmts:
            if isinstance(stmt, If):
                stmt = replace(stmt, body=block(stmt.body), orelse=block(stmt.orelse))
            elif isinstance(stmt, Loop):
                stmt = replace(stmt, test=block(stmt.test), body=block(stmt.body))
            if (
                isinstance(stmt, Assign)
                and stmt.op == "getitem"
                and isinstance(stmt.args[0], Var)
                and kinds.of(Var(stmt.target)).is_scalar
            ):
                store = stored.get(stmt.args[0].name)
                key = (stmt.args, stmt.attr("index"))
                if (
                    store is not None
                    and store.args[2:] == stmt.args[1:]
                    and store.attr("index") == stmt.attr("index")
                    and _stores_unchanged(kinds, store)
                ):
                    stmt = Assign(stmt.target, "copy", (store.args[1],), (), stmt.loc)
                elif key in loaded:  # z[j] * z[j]: one read
                    stmt = Assign(stmt.target, "copy", (Var(loaded[key]),), (), stmt.loc)
                else:
                    loaded[key] = stmt.target
            for written in written_arrays((stmt,)):
                for name in list(stored):
                    if aliases.share(name, written):
                        del stored[name]
                for key in list(loaded):
                    if aliases.share(key[0][0].name, written):
                        del loaded[key]
            if (
                isinstance(stmt, Assign)
                and stmt.op == "setitem"
                and all(item[0] == "i" for item in stmt.attr("index"))
                and all(kinds.of(a).is_scalar for a in stmt.args[2:])
            ):
                stored[stmt.args[0].name] = stmt
            out.append(stmt)
        return tuple(out)

    return replace(fn, body=block(fn.body))


def _stores_unchanged(kinds: KindTable, store: Assign) -> bool:
    """Whether reading back what `store` wrote gives its value unchanged: a float stored into
    an int or bool array is truncated (converted), so the read is not the stored value; and an
    int or bool stored into a float array reads back as a float (`-y[0]` of a stored
    comparison is -1.0, where NumPy refuses to negate the bool itself)."""
    into, value = kinds.of(store.args[0]).dtype, kinds.of(store.args[1]).dtype
    return into == value and into is not None
