"""Reads of an array a loop just filled become the fill's expression, recomputed.

    for j in range(d): xc[j] = x[i, j] - means[k, j]
    for c in range(d): ... xc[c] ...        # becomes x[i, c] - means[k, c]

A read of `xc[c]` later makes the reverse sweep keep `xc` as it was at that point: the old
contents of every element are taped before each store and restored one by one. When the value
read is a cheap expression of inputs nothing writes meanwhile, recomputing it at the read
needs none of that (and the stores themselves are then read by no one).

On the SSA primal (after activity.forward_stores), proven or not applied:
- the filling loop is `for j in range(0, E)` with no break, whose body stores `A[j] = v` once at
  its top level, writes A nowhere else, and computes v at its top level from j, values defined
  before the loop, constants, and elements of arrays the loop does not write, with
  + - * and negation only (a float stored into a float array: read back unchanged);
- the read `A[c]` comes after the loop in the same block, or inside statements after it, with
  nothing in between (or around it, in a later statement) writing A or the arrays v reads;
- c is the index of a `range(s, E)` loop around the read, with s a constant >= 0 and E the
  very same value (SSA), so the element was stored by iteration c of the filling loop.
"""

from __future__ import annotations

from dataclasses import replace

from .activity import Aliases, _stores_unchanged
from .ir import (
    Assign,
    Block,
    Const,
    Function,
    If,
    Loop,
    Names,
    Stmt,
    Var,
    defined_names,
    is_temp,
    walk,
)
from .kinds import KindTable
from .rules import RULES

_OPS = {"add", "sub", "mul", "neg", "copy", "getitem"}
_MAX_CHAIN = 6  # statements recomputed per read


def recompute_loop_stores(fn: Function, kinds: KindTable) -> Function:
    pass_ = _Pass(fn, kinds)
    body = pass_.block(fn.body)
    return fn if not pass_.changed else replace(fn, body=body)


class _Fill:
    """One filling loop: the array, the loop, the statements computing the stored value."""

    def __init__(self, array: str, loop: Loop, chain: list[Assign], value, reads: set[str]):
        self.array = array
        self.loop = loop
        self.chain = chain
        self.value = value
        self.reads = reads  # arrays the chain reads


class _Pass:
    def __init__(self, fn: Function, kinds: KindTable) -> None:
        self.kinds = kinds
        self.aliases = Aliases(fn, kinds)
        reserved = set(fn.params)
        for s in walk(fn.body):
            reserved.update(defined_names(s))
        self.names = Names(reserved)
        self.changed = False
        # SSA: one definition per name
        self.defs = {s.target: s for s in walk(fn.body) if isinstance(s, Assign) and s.target}

    def block(self, block: Block) -> tuple[Stmt, ...]:
        out: list[Stmt] = []
        for s in block:
            if isinstance(s, If):
                s = replace(s, body=self.block(s.body), orelse=self.block(s.orelse))
            elif isinstance(s, Loop):
                s = replace(s, test=self.block(s.test), body=self.block(s.body))
            out.append(s)
        for k in range(len(out)):
            for fill in self._fills(out[k]) if isinstance(out[k], Loop) else ():
                out[k + 1 :] = self._after(out[k + 1 :], fill)
        return tuple(out)

    # -- the filling loop ----------------------------------------------------------------------

    def _fills(self, loop: Loop) -> list[_Fill]:
        if not (
            loop.is_range
            and loop.exit_flag is None
            and loop.start == Const(0)
            and loop.step == Const(1)
            and loop.stop is not None
        ):
            return []
        stores = [
            s
            for s in loop.body
            if isinstance(s, Assign)
            and s.op == "setitem"
            and s.args[2:] == (Var(loop.index),)
            and s.attr("index") == (("i",),)
        ]
        fills = [self._fill(loop, store) for store in stores]
        return [f for f in fills if f is not None]

    def _fill(self, loop: Loop, store: Assign) -> _Fill | None:
        array = store.args[0]
        if not isinstance(array, Var) or self.kinds.of(array).ndim != 1:
            return None
        if not _stores_unchanged(self.kinds, store):
            return None
        written = _writes(loop.body)
        if any(self.aliases.share(w, array.name) for w in written if w != array.name):
            return None
        if sum(1 for s in walk(loop.body) if _writes((s,)) & {array.name}) != 1:
            return None
        chain = _chain(loop, store.args[1])
        if chain is None:
            return None
        reads = {s.args[0].name for s in chain if s.op == "getitem"}
        if any(self.aliases.share(w, r) for w in written for r in reads):
            return None
        if any(self.kinds.of(Var(s.target)).ndim != 0 for s in chain):
            return None
        return _Fill(array.name, loop, chain, store.args[1], reads)

    # -- the reads after it --------------------------------------------------------------------

    def _after(self, stmts: list[Stmt], fill: _Fill) -> list[Stmt]:
        return list(self._scan(tuple(stmts), fill, [])[0])

    def _scan(self, block: Block, fill: _Fill, ranges: list[Loop]) -> tuple[Block, bool]:
        """`block` with reads of the filled array replaced; False once a write to what the
        fill depends on is met (nothing after it is touched)."""
        out: list[Stmt] = []
        guarded = {fill.array} | fill.reads
        for k, s in enumerate(block):
            if any(self.aliases.share(w, g) for w in _writes((s,)) for g in guarded):
                return tuple(out) + tuple(block[k:]), False
            if isinstance(s, Assign):
                out.extend(self._read(s, fill, ranges))
            elif isinstance(s, If):
                body, _ = self._scan(s.body, fill, ranges)
                orelse, _ = self._scan(s.orelse, fill, ranges)
                out.append(replace(s, body=body, orelse=orelse))
            else:
                test, _ = self._scan(s.test, fill, ranges)
                body, _ = self._scan(s.body, fill, ranges + [s])
                out.append(replace(s, test=test, body=body))
        return tuple(out), True

    def _read(self, s: Assign, fill: _Fill, ranges: list[Loop]) -> list[Stmt]:
        if not (
            s.op == "getitem"
            and s.args[0] == Var(fill.array)
            and s.attr("index") == (("i",),)
            and len(s.args) == 2
            and isinstance(s.args[1], Var)
            and self.kinds.of(Var(s.target)).ndim == 0
        ):
            return [s]
        index = s.args[1].name
        around = next((m for m in reversed(ranges) if m.index == index), None)
        if not (
            around is not None
            and around.step == Const(1)
            and self._nonnegative(around.start, ranges, 0)
            and around.stop == fill.loop.stop
        ):
            return [s]
        renamed: dict[str, Var] = {fill.loop.index: Var(index)}
        out: list[Stmt] = []
        for c in fill.chain:
            target = self.names.temp() if is_temp(c.target) else self.names.fresh(c.target)
            self.kinds.set(target, self.kinds.of(Var(c.target)))
            args = tuple(renamed.get(a.name, a) if isinstance(a, Var) else a for a in c.args)
            out.append(replace(c, target=target, args=args, loc=s.loc))
            renamed[c.target] = Var(target)
        value = fill.value
        value = renamed.get(value.name, value) if isinstance(value, Var) else value
        out.append(Assign(s.target, "copy", (value,), (), s.loc))
        self.changed = True
        return out

    def _nonnegative(self, o, ranges: list[Loop], depth: int) -> bool:
        """Whether an integer is >= 0: a constant, the index of a loop around counting up
        from such a value, or a sum of such values (`c + 1`)."""
        if isinstance(o, Const):
            return type(o.value) is int and o.value >= 0
        if depth > 8:
            return False
        for m in ranges:
            if m.index == o.name:
                up = isinstance(m.step, Const) and type(m.step.value) is int and m.step.value > 0
                return up and self._nonnegative(m.start, ranges, depth + 1)
        s = self.defs.get(o.name)
        return (
            isinstance(s, Assign)
            and s.op == "add"
            and all(self._nonnegative(a, ranges, depth + 1) for a in s.args)
        )


def _writes(block) -> set[str]:
    names = set()
    for s in walk(block):
        if isinstance(s, Assign):
            m = RULES[s.op].mutates
            if m is not None and isinstance(s.args[m], Var):
                names.add(s.args[m].name)
    return names


def _chain(loop: Loop, value) -> list[Assign] | None:
    """The top-level statements of the loop computing `value` from its index, values defined
    before it and constants, in body order; None if anything else is involved."""
    if not isinstance(value, Var):
        return []
    order = {id(s): k for k, s in enumerate(loop.body)}
    defs = {}
    for s in walk(loop.body):
        for name in defined_names(s):
            defs[name] = s
    carried = {p.name for p in loop.phis}  # change from one iteration to the next
    picked: dict[str, Assign] = {}
    todo = [value]
    while todo:
        name = todo.pop().name
        if name in carried:
            return None
        if name == loop.index or name in picked or name not in defs:
            continue
        s = defs[name]
        if not (isinstance(s, Assign) and id(s) in order and s.op in _OPS):
            return None
        if s.op == "getitem" and not all(item[0] == "i" for item in s.attr("index")):
            return None
        picked[name] = s
        if len(picked) > _MAX_CHAIN:
            return None
        todo += [a for a in s.args if isinstance(a, Var)]
    return sorted(picked.values(), key=lambda s: order[id(s)])
