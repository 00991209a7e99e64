"""Neighbour adjoints kept in registers: a reverse stencil loop without a store-to-load chain.

The reverse of `for i in range(...): ... x[i] ... x[i + 1] ...` scatters
`x_bar[i] += a; x_bar[i + 1] += b`. The element iteration i adds into is loaded again by the
next iteration: a loop-carried dependence through memory, which keeps the loop from being
vectorized. Here each offset c of `x_bar[i + c]` gets a scalar register `x_bar_ic` holding the
sum pending for element i + c; one element is final after each iteration and stored once, the
registers shift by one, and those still pending are stored after the loop:

    x_bar_i = 0.0; x_bar_i1 = 0.0
    for i in range(n - 2, -1, -1):
        x_bar_i = a                  # was x_bar[i] += a
        x_bar_i1 = x_bar_i1 + b      # was x_bar[i + 1] += b
        x_bar[i + 1] += x_bar_i1     # i + 1 gets nothing more from later iterations
        x_bar_i1 = x_bar_i; x_bar_i = 0.0
    if trip > 0: x_bar[start - trip + 1] += x_bar_i1   # element 0 (i + 1 of "i = -1")

Applied only where the sums provably land on the same elements: a range loop with step +1 or
-1 and no break; an adjoint array of one dimension that the loop touches only through
`x_bar[i + c] += scalar` at the top level of its body (c an integer constant, the index
computed from the loop index and assigned once in the body), with no other array in the loop
that may share its memory. Sums are keyed by the integer index i + c, so negative indices that
wrap around stay right; a pending element is stored after the loop only if an iteration that
adds into it ran (the same index the original statement would have used).
"""

from __future__ import annotations

from dataclasses import replace

from .activity import Aliases
from .fresh_adjoint import Integers, allocate_fresh
from .ir import (
    BOOL,
    FLOAT,
    INT,
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
    stmt_operands,
    walk,
)
from .kinds import KindTable

_ONE_INT = (("i",),)  # the index structure of `a[j]` with one integer j


def carry_neighbours(fn: Function, kinds: KindTable, only: set[str] | None = None) -> Function:
    """Rewrite every qualifying loop (innermost first; with `only`, the range loops over those
    indices); the rest of the program is unchanged."""
    state = _State(fn, kinds)
    state.only = only
    body = state.block(fn.body)
    return fn if not state.changed else replace(fn, body=body)


class _State:
    def __init__(self, fn: Function, kinds: KindTable) -> None:
        self.kinds = kinds
        self.aliases = Aliases(fn, kinds)
        self.names = Names.of_program(fn)
        self.integers = Integers(fn)
        self.changed = False
        self.only: set[str] | None = None

    def block(self, block: Block) -> tuple[Stmt, ...]:
        out: list[Stmt] = []
        for s in block:
            if isinstance(s, If):
                out.append(replace(s, body=self.block(s.body), orelse=self.block(s.orelse)))
            elif isinstance(s, Loop):
                s = replace(s, test=self.block(s.test), body=self.block(s.body))
                out = self.loop(s, out)
            else:
                out.append(s)
        return tuple(out)

    # -- one loop ------------------------------------------------------------------------------

    def loop(self, loop: Loop, prefix: list[Stmt]) -> list[Stmt]:
        """`prefix + [loop]` rewritten; `prefix` holds the statements before it in its block."""
        if not (
            loop.is_range
            and (self.only is None or loop.index in self.only)
            and loop.exit_flag is None
            and not loop.phis
            and loop.step in (Const(1), Const(-1))
            and loop.start is not None
            and loop.stop is not None
        ):
            return prefix + [loop]
        after: list[Stmt] = []
        for array in self._candidates(loop):
            rewritten = self._rewrite(loop, array, prefix)
            if rewritten is not None:
                prefix, loop, post = rewritten
                after = post + after
                continue
            sums = self._invariant_sums(loop, array)
            if sums is not None:
                pre, loop, post = sums
                prefix, after = prefix + pre, post + after
                self.changed = True
        return prefix + [loop] + after

    def _candidates(self, loop: Loop) -> list[str]:
        arrays = []
        for s in loop.body:
            if (
                isinstance(s, Assign)
                and s.op == "index_add"
                and isinstance(s.args[0], Var)
                and s.args[0].name not in arrays
            ):
                arrays.append(s.args[0].name)
        return arrays

    def _offsets(self, loop: Loop, array: str) -> dict[int, int] | None:
        """The offset c of each `array[i + c] += v` (by position in the body), or None when the
        loop uses `array` in any other way or the rewrite could not be proven right."""
        kind = self.kinds.of(Var(array))
        if kind.ndim != 1 or kind.dtype != "float":
            return None
        index = loop.index
        assigned: dict[str, int] = {}
        for s in walk(loop.body):
            for name in defined_names(s):
                assigned[name] = assigned.get(name, 0) + 1
        if index in assigned or array in assigned:
            return None
        known: dict[str, int] = {index: 0}  # names holding index + constant, with the constant
        offsets: dict[int, int] = {}
        for position, s in enumerate(loop.body):
            if isinstance(s, Assign) and s.target and assigned.get(s.target) == 1:
                shift = _offset_of(s, known)
                if shift is not None:
                    known[s.target] = shift
            if isinstance(s, Assign) and s.op == "index_add" and s.args[0] == Var(array):
                value, where = s.args[1], s.args[2:]
                if (
                    s.attr("index") != _ONE_INT
                    or len(where) != 1
                    or not isinstance(where[0], Var)
                    or where[0].name not in known
                    or self.kinds.of(value).ndim != 0
                    or value == Var(array)
                ):
                    return None
                offsets[position] = known[where[0].name]
        if not self._only_through(loop, array, offsets):
            return None
        return offsets or None

    def _only_through(self, loop: Loop, array: str, positions) -> bool:
        """Whether nothing in the loop but the statements at `positions` (of its body) reads or
        writes `array` or memory it may share."""
        mine_ids = {id(loop.body[p]) for p in positions}
        for s in walk(loop.test + loop.body):
            mine = id(s) in mine_ids
            for o in stmt_operands(s)[1 if mine else 0 :]:
                if not isinstance(o, Var) or self.kinds.of(o).is_scalar:
                    continue
                if o.name == array or self.aliases.share(o.name, array):
                    return False
            writes = not mine and isinstance(s, Assign) and s.target is not None
            if writes and (
                s.target == array
                or (
                    not self.kinds.of(Var(s.target)).is_scalar
                    and self.aliases.share(s.target, array)
                )
            ):
                return False
        return True

    def _invariant_sums(self, loop: Loop, array: str) -> tuple[list, Loop, list] | None:
        """`array[k, c] += v` in every iteration at an index the loop does not change: the sum
        is kept in a register and added once after the loop."""
        kind = self.kinds.of(Var(array))
        if kind.dtype != "float" or not kind.ndim:
            return None
        assigned = {n for s in walk(loop.body) for n in defined_names(s)} | {loop.index}
        groups: dict[tuple, list[int]] = {}
        for position, s in enumerate(loop.body):
            if isinstance(s, Assign) and s.op == "index_add" and s.args[0] == Var(array):
                where = s.args[2:]
                if (
                    s.attr("index") != (("i",),) * kind.ndim
                    or len(where) != kind.ndim
                    or any(isinstance(o, Var) and o.name in assigned for o in where)
                    or self.kinds.of(s.args[1]).ndim != 0
                    or s.args[1] == Var(array)
                ):
                    return None
                groups.setdefault(where, []).append(position)
        positions = [p for ps in groups.values() for p in ps]
        if not positions or not self._only_through(loop, array, positions):
            return None
        before: list[Stmt] = []
        body = list(loop.body)
        flush: list[Stmt] = []
        for where, ps in groups.items():
            reg = self._name(f"{array}_sum", None, FLOAT)
            before.append(Assign(reg, "copy", (Const(0.0),)))
            for p in ps:
                value = body[p].args[1]
                body[p] = replace(body[p], target=reg, op="add", args=(Var(reg), value), attrs=())
            flush.append(replace(loop.body[ps[0]], args=(Var(array), Var(reg)) + where))
        trip = self._name("trip", None, INT)
        ran = self._name("t", None, BOOL)
        before.append(Assign(trip, "range_len", (loop.start, loop.stop, loop.step)))
        # after no iteration the index may not exist: the original never used it
        after = [Assign(ran, "gt", (Var(trip), Const(0))), If(Var(ran), tuple(flush), ())]
        return before, replace(loop, body=tuple(body)), after

    def _rewrite(
        self, loop: Loop, array: str, prefix: list[Stmt]
    ) -> tuple[list[Stmt], Loop, list[Stmt]] | None:
        offsets = self._offsets(loop, array)
        if offsets is None:
            return None
        names_before = set(self.names.taken)
        if len(offsets) == 1:  # one store per iteration: no register, only the zeros can go
            return self._single(loop, array, prefix, offsets, names_before)
        step = loop.step.value
        low, high = min(offsets.values()), max(offsets.values())
        final = high if step < 0 else low  # the element no later iteration adds into
        fresh = low if step < 0 else high  # the element no earlier iteration added into
        span = range(low, high + 1)
        reg = {c: self._name(array, c, FLOAT) for c in span}
        before: list[Stmt] = [Assign(reg[c], "copy", (Const(0.0),)) for c in span]
        trip = self._name("trip", None, INT)
        base = self._name("base", None, INT)
        before.append(Assign(trip, "range_len", (loop.start, loop.stop, loop.step)))
        before.append(Assign(base, "add" if step > 0 else "sub", (loop.start, Var(trip))))

        body: list[Stmt] = []
        zero = {fresh}  # registers known to hold 0.0 here
        for position, s in enumerate(loop.body):
            if position not in offsets:
                body.append(s)
                continue
            c = offsets[position]
            value = s.args[1]
            if c in zero:
                body.append(replace(s, target=reg[c], op="copy", args=(value,), attrs=()))
                zero.discard(c)
            else:
                body.append(
                    replace(s, target=reg[c], op="add", args=(Var(reg[c]), value), attrs=())
                )
        if final not in zero:
            where = self._offset_index(Var(loop.index), final, body)
            body.append(
                Assign(
                    None,
                    "index_add",
                    (Var(array), Var(reg[final]), where),
                    (("index", _ONE_INT),),
                )
            )
        # Shift: the register of offset c now holds what was pending for c + step.
        for k in range(len(span) - 1):
            c = final + k * step
            body.append(Assign(reg[c], "copy", (Var(reg[c + step]),)))
        if len(span) > 1:
            body.append(Assign(reg[fresh], "copy", (Const(0.0),)))

        # After the loop, offset c (relative to base = last index + step) is pending for the
        # element last + c + step; an iteration k steps before the last added into it when
        # c + step + k * step is an offset of the loop.
        after: list[Stmt] = []
        guards: dict[int, list[int]] = {}
        for c in span:
            if c == fresh:
                continue
            k = 0
            while c + step + k * step not in offsets.values():
                k += 1
            guards.setdefault(k, []).append(c)
        for k, cs in sorted(guards.items()):
            cond = self._name("t", None, BOOL)
            flush: list[Stmt] = []
            for c in cs:
                where = self._offset_index(Var(base), c, flush)
                flush.append(
                    Assign(
                        None,
                        "index_add",
                        (Var(array), Var(reg[c]), where),
                        (("index", _ONE_INT),),
                    )
                )
            after.append(Assign(cond, "gt", (Var(trip), Const(k))))
            after.append(If(Var(cond), tuple(flush), ()))
        loop = replace(loop, body=_without_unread(loop, tuple(body), _store_indices(loop, offsets)))
        if set(guards) <= {0}:
            fresh_alloc = allocate_fresh(
                prefix + before,
                array,
                loop,
                low,
                high,
                after,
                trip,
                self.integers,
                lambda: self._name("t", None, BOOL),
            )
            if fresh_alloc is not None:
                self.changed = True
                return fresh_alloc
        self.changed = True
        return prefix + before, loop, after

    def _offset_index(self, index: Var, offset: int, out: list[Stmt]) -> Var:
        if offset == 0:
            return index
        where = self._name("t", None, INT)
        out.append(Assign(where, "add", (index, Const(offset))))
        return Var(where)

    def _single(self, loop: Loop, array: str, prefix: list[Stmt], offsets, names_before):
        trip = self._name("trip", None, INT)
        before = [Assign(trip, "range_len", (loop.start, loop.stop, loop.step))]
        c = next(iter(offsets.values()))
        fresh_alloc = allocate_fresh(
            prefix + before,
            array,
            loop,
            c,
            c,
            [],
            trip,
            self.integers,
            lambda: self._name("t", None, BOOL),
        )
        if fresh_alloc is None:
            self.names.taken = names_before
            return None
        self.changed = True
        return fresh_alloc

    def _name(self, base: str, offset: int | None, kind) -> str:
        if offset is None:
            name = self.names.temp() if base == "t" else self.names.fresh(base)
        else:
            suffix = "" if offset == 0 else (f"{offset}" if offset > 0 else f"m{-offset}")
            name = self.names.fresh(f"{base}_i{suffix}")
        self.kinds.set(name, kind)
        return name


def _store_indices(loop: Loop, offsets: dict[int, int]) -> set[str]:
    """The names of the indices `i + c` the rewritten stores used."""
    return {
        s.args[2].name
        for position, s in enumerate(loop.body)
        if position in offsets and isinstance(s.args[2], Var)
    }


def _without_unread(loop: Loop, body: Block, names: set[str]) -> Block:
    """`body` (the new body of `loop`) without the temporaries among `names` (a rewritten
    store's index) that nothing in it, nor the loop's phis, reads any more."""
    read = {o.name for s in walk(body) for o in stmt_operands(s) if isinstance(o, Var)}
    for s in [loop, *walk(body)]:  # (phis of the loop and of ifs and loops in it)
        for p in getattr(s, "phis", ()):
            read |= {o.name for o in (p.first, p.second) if isinstance(o, Var)}
    unread = {n for n in names - read if is_temp(n)}
    return tuple(s for s in body if not (isinstance(s, Assign) and s.target in unread))


def _offset_of(s: Assign, known: dict[str, int]) -> int | None:
    """c when `s` computes index + c from a name known to hold index + c'."""
    a = s.args
    if len(a) != 2:
        return None

    def const_int(o) -> int | None:
        return o.value if isinstance(o, Const) and type(o.value) is int else None

    if s.op == "add":
        for x, y in ((a[0], a[1]), (a[1], a[0])):
            if isinstance(x, Var) and x.name in known and const_int(y) is not None:
                return known[x.name] + const_int(y)
    if (
        s.op == "sub"
        and isinstance(a[0], Var)
        and a[0].name in known
        and const_int(a[1]) is not None
    ):
        return known[a[0].name] - const_int(a[1])
    if s.op == "copy" and isinstance(a[0], Var) and a[0].name in known:
        return known[a[0].name]
    return None
