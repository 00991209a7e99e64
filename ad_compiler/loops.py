"""Reversing a loop: what each reverse iteration replays and what it reads from tapes.

The reverse sweep runs a loop's iterations backwards. At the start of a reverse iteration it needs
that iteration's values: the loop-carried ones come from a tape the forward sweep wrote at the start
of each iteration; the ones the body computes are replayed from them when cheap (and when they do
not read an array the loop writes into), else read back from a tape written right after they were
computed. An array the body creates and then writes into is taped by reference (the array itself,
whose writes the reverse sweep undoes one by one), never replayed: replaying `s = np.zeros(n)` would
give zeros. Only values the reverse of the body reads are kept. A top-level `for i in range(0, n)`
loop tapes into NumPy arrays indexed by i, allocated at entry; a nest of range loops whose trip
counts are known before it starts, into arrays of the nest's total trip count allocated before it,
used as stacks (`t_tape[t_tape_top] = t`); other loops into lists created at function entry, used as
stacks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .activity import written_arrays
from .ir import (
    Assign,
    Block,
    Const,
    If,
    Loop,
    Stmt,
    Var,
    base_name,
    defined_names,
    is_temp,
    walk,
)
from .loop_running import end_values, find_running, start_values
from .rules import RULES

# Operations a loop bound computed inside a nest may use and still be the same all through it.
# (Nothing that can raise: the copy before the nest runs even where the original would not.)
_SHAPE_ARITHMETIC = {"dim", "len", "size", "add", "sub", "mul", "neg", "copy"}

if TYPE_CHECKING:
    from .adjoint import Differentiator


class LoopPlan:
    """Decides, for one loop, what its reverse iterations replay and what they read from tapes,
    and builds the instrumented forward loop and the reverse loop."""

    def __init__(
        self,
        diff: Differentiator,
        loop: Loop,
        fwd_test: list[Stmt],
        fwd_body: list[Stmt],
        rev_body: list[Stmt],
    ) -> None:
        self.diff = diff
        self.loop = loop
        self.fwd_test = fwd_test
        self.fwd_body = fwd_body
        self.rev_body = rev_body
        self.top_level = diff.depth == 0
        self.counted = loop.exit_flag is not None or not loop.is_range
        self.written = frozenset().union(
            *(diff.aliases.of(n) for n in written_arrays(loop.test + loop.body))
        )
        # Values this loop defines, at this loop's level (nested loops' insides excluded).
        self.defs: dict[str, Stmt | None] = {p.name: None for p in loop.phis}
        self._collect_defs(loop.test + loop.body)
        # Arrays this loop defines and then writes into (here or in a nested loop) whose
        # contents the reverse iteration reads: it must get the very array its forward iteration
        # wrote (the reverse sweep's restores rewind it store by store), not a new one from
        # replaying `s = np.zeros(n)`, nor a copy taken before the writes. Taped by reference.
        self.shared = {
            n
            for n in self.defs
            if diff.kinds.of(Var(n)).is_array and diff.aliases.of(n) & self.written
        } & diff.content_reads(rev_body)
        self.enclosing = tuple(diff.loop_stack)
        # Inside an if within its nest: it may run in a few outer iterations only.
        self.conditional = bool(diff.loop_stack) and diff.branches > diff.branches_outside[0]
        self.array_tapes: set[str] = set()  # tapes that are NumPy arrays indexed by iteration
        self.stack_tapes: dict[str, str] = {}  # preallocated array tape -> its top position

    def _collect_defs(self, block: Block) -> None:
        for stmt in block:
            if isinstance(stmt, Assign):
                if stmt.target:
                    self.defs[stmt.target] = stmt
            elif isinstance(stmt, If):
                self._collect_defs(stmt.body)
                self._collect_defs(stmt.orelse)
                for p in stmt.phis:
                    self.defs[p.name] = stmt
            else:
                for p in stmt.phis:
                    self.defs[p.name] = stmt

    def replayable(self, stmt: Stmt) -> bool:
        if not isinstance(stmt, Assign) or stmt.target in self.shared:
            return False
        rule = RULES[stmt.op]
        if not rule.cheap or rule.mutates is not None or stmt.op.startswith(("list_", "tape_")):
            return False
        return not any(
            isinstance(a, Var)
            and self.diff.aliases.of(a.name) & (self.written | self.diff.tape_reads)
            for a in stmt.args
        )

    # -- what the reverse iteration needs --------------------------------------------------

    def needed(self) -> set[str]:
        body_defs = set(self.defs) | self._forward_extras()
        if self.loop.index:
            body_defs.add(self.loop.index)
        need = _all_reads(tuple(self.rev_body)) & body_defs
        changed = True
        while changed:
            changed = False
            for name in list(need):
                stmt = self.defs.get(name)
                more: set[str] = set()
                if isinstance(stmt, Assign) and self.replayable(stmt):
                    more = {a.name for a in stmt.args if isinstance(a, Var)}
                elif isinstance(stmt, If) and name not in self.shared:
                    more = {stmt.cond.name} if isinstance(stmt.cond, Var) else set()
                    for p in stmt.phis:
                        if p.name == name:
                            more |= {o.name for o in (p.first, p.second) if isinstance(o, Var)}
                for enclosing in self._enclosing_ifs(name):
                    if isinstance(enclosing.cond, Var):
                        more.add(enclosing.cond.name)
                more &= set(self.defs) | {self.loop.index}  # (the index: j % 3 replayed)
                if not more <= need:
                    need |= more
                    changed = True
        return need

    def _forward_extras(self) -> set[str]:
        """Names the instrumented forward body defines at this loop's level beyond the primal
        ones: what stores overwrite, and nested loops' counters and carried values (not what
        nested loops compute inside: their own tapes handle that)."""
        extras: set[str] = set()

        def scan(block) -> None:
            for stmt in block:
                if isinstance(stmt, Assign) and stmt.target and stmt.target not in self.defs:
                    extras.add(stmt.target)
                elif isinstance(stmt, If):
                    scan(stmt.body)
                    scan(stmt.orelse)

        scan(self.fwd_body)
        return extras

    def _enclosing_ifs(self, name: str) -> list[If]:
        found: list[If] = []

        def search(block: Block, stack: list[If]) -> bool:
            for stmt in block:
                if isinstance(stmt, Assign) and stmt.target == name:
                    found.extend(stack)
                    return True
                if isinstance(stmt, If) and (
                    search(stmt.body, stack + [stmt]) or search(stmt.orelse, stack + [stmt])
                ):
                    return True
            return False

        search(tuple(self.fwd_body), [])
        return found

    # -- building ---------------------------------------------------------------------------

    def build(self) -> tuple[list[Stmt], list[Stmt]]:
        diff, loop = self.diff, self.loop
        need = self.needed()
        header = [p for p in loop.phis if p.name in need]
        # Counters (li += 1) need no tape: at iteration k they are start + k * step.
        inductions = {p.name: step for p in header if (step := self._induction_step(p)) is not None}
        header = [p for p in header if p.name not in inductions]
        self.running = find_running(self, header)  # grown by a computable integer
        header = [p for p in header if p.name not in self.running]
        self.inductions = {
            p.name: (p, inductions[p.name]) for p in loop.phis if p.name in inductions
        }
        taped = {
            n
            for n in need
            if n not in {p.name for p in loop.phis}
            and n != loop.index
            and not (isinstance(self.defs.get(n), Assign) and self.replayable(self.defs[n]))
        }
        taped -= {
            n
            for n in taped
            if isinstance(self.defs.get(n), If)
            and n not in self.shared
            and self._if_phi_replayable(n, need)
        }
        self.from_next = self._carried_forward(header, taped)
        taped -= set(self.from_next)

        # Not with a break: the loop may stop long before its range ends.
        use_arrays = (
            self.top_level
            and loop.is_range
            and not self.counted
            and loop.start == Const(0)
            and loop.step == Const(1)
        )
        forward: list[Stmt] = []
        tapes: dict[str, str] = {}
        for name in [p.name for p in header] + sorted(taped):
            tapes[name] = self._new_tape(forward, name, use_arrays)

        counter = None
        if self.counted:
            counter = diff.names.fresh("n_iter")
            diff.counters[id(loop)] = counter
            diff.emit(forward, "copy", (Const(0),), target=counter, loc=loop.loc)

        for p in loop.phis:  # leave SSA: the header names take their initial values
            forward.append(Assign(p.name, "copy", (p.first,), loc=loop.loc))

        index_var = Var(loop.index) if loop.index else None
        body: list[Stmt] = []
        for p in header:
            self._push(body, tapes[p.name], Var(p.name), index_var if use_arrays else None)
        body += self._instrument(self.fwd_body, tapes, index_var if use_arrays else None)
        if counter:
            diff.emit(body, "add", (Var(counter), Const(1)), target=counter, loc=loop.loc)
        body += self._phi_updates()
        test = self._instrument(self.fwd_test, {}, None)
        forward.append(replace(loop, test=tuple(test), body=tuple(body), phis=()))

        reverse = self._reverse_loop(tapes, header, need, counter, use_arrays)
        if self.top_level:
            forward = diff.hoisted + forward
            diff.hoisted, diff.stack_sizes = [], {}
        return forward, reverse

    def _carried_forward(self, header, taped: set[str]) -> dict[str, str]:
        """Values the body computes that become the next iteration's taped header value
        (`h = np.tanh(...)` carried as h): not taped a second time. In the reverse sweep the
        header name still holds the next iteration's value (the loop's final value at first)
        when an iteration starts: copied before its own is popped. Only for an outermost range
        loop that runs to its end (its final header value is the last iteration's value), and
        values no store writes into (the copy is the value as computed)."""
        if not self.top_level or self.counted or not self.loop.is_range:
            return {}
        found: dict[str, str] = {}
        for p in header:
            value = p.second
            if (
                isinstance(value, Var)
                and value.name in taped
                and value.name not in found
                and isinstance(self.defs.get(value.name), Assign)
                and not (self.diff.aliases.of(value.name) | self.diff.aliases.of(p.name))
                & self.diff.written
            ):
                found[value.name] = p.name
        return found

    def _induction_step(self, phi) -> int | None:
        """The constant an integer loop-carried value grows by each iteration of a range loop
        run backwards by its own index (so the iteration number is known), if it does."""
        loop = self.loop
        if not (loop.is_range and not self.counted and loop.step in (Const(1), Const(-1))):
            return None
        if self.diff.kinds.of(Var(phi.name)).dtype != "int" or not isinstance(phi.second, Var):
            return None
        update = self.defs.get(phi.second.name)
        if not (isinstance(update, Assign) and update in loop.body and update.op in ("add", "sub")):
            return None
        a, b = update.args
        if a == Var(phi.name) and isinstance(b, Const) and type(b.value) is int:
            return b.value if update.op == "add" else -b.value
        if (
            update.op == "add"
            and b == Var(phi.name)
            and isinstance(a, Const)
            and type(a.value) is int
        ):
            return a.value
        return None

    def _if_phi_replayable(self, name: str, need: set[str]) -> bool:
        stmt = self.defs[name]
        for p in stmt.phis:
            if p.name == name:
                return all(
                    not isinstance(o, Var) or o.name not in self.defs or o.name in need
                    for o in (p.first, p.second)
                )
        return False

    def _new_tape(self, forward: list[Stmt], name: str, use_arrays: bool) -> str:
        diff = self.diff
        tape = diff.names.fresh(f"{name if is_temp(name) else base_name(name)}_tape")
        kind = diff.kinds.of(Var(name))
        if use_arrays and kind.is_scalar and kind.dtype in ("float", "int", "bool"):
            dtype = {"float": "float64", "int": "int64", "bool": "bool_"}[kind.dtype]
            size = diff.emit(
                forward,
                "range_len",
                (self.loop.start, self.loop.stop, self.loop.step),
                loc=self.loop.loc,
            )
            diff.emit(
                forward, "tape_alloc", (size,), {"dtype": dtype}, target=tape, loc=self.loop.loc
            )
            diff.kinds.kinds[tape] = diff.kinds.of(Var(name))
            self.array_tapes.add(tape)
        elif (
            kind.is_scalar
            and kind.dtype in ("float", "int", "bool")
            and (size := self._stack_size()) is not None
        ):
            dtype = {"float": "float64", "int": "int64", "bool": "bool_"}[kind.dtype]
            diff.emit(
                diff.hoisted,
                "tape_alloc",
                (size,),
                {"dtype": dtype},
                target=tape,
                loc=self.loop.loc,
            )
            diff.kinds.kinds[tape] = diff.kinds.of(Var(name))
            top = diff.names.fresh(f"{tape}_top")
            diff.emit(diff.hoisted, "copy", (Const(0),), target=top, loc=self.loop.loc)
            self.stack_tapes[tape] = top
        else:
            element = {"element": kind}  # (numba programs type the list by it: codegen.py)
            diff.emit(diff.preamble, "list_new", (), element, target=tape, loc=self.loop.loc)
        return tape

    def _stack_size(self) -> Var | None:
        """How many iterations this loop runs in one run of the outermost loop around it,
        computed before that loop starts, when every loop of the nest is a range loop without
        a break whose bounds are fixed before the nest starts, and no if inside the nest
        surrounds this loop: then a preallocated array, used as a stack, is the tape (numba's
        lists are several times slower)."""
        diff, chain = self.diff, self.enclosing + (self.loop,)
        if self.conditional or not all(lp.is_range and lp.exit_flag is None for lp in chain):
            return None
        inside = set(defined_names(chain[0]))
        if not all(
            self._invariant(o, inside) for lp in chain for o in (lp.start, lp.stop, lp.step)
        ):
            return None
        key = tuple(id(lp) for lp in chain)
        if key not in diff.stack_sizes:
            size = None
            for lp in chain:
                bounds = tuple(self._hoist(o, inside) for o in (lp.start, lp.stop, lp.step))
                trips = diff.emit(diff.hoisted, "range_len", bounds, loc=lp.loc)
                size = (
                    trips
                    if size is None
                    else diff.emit(diff.hoisted, "mul", (size, trips), loc=lp.loc)
                )
            diff.stack_sizes[key] = size
        return diff.stack_sizes[key]

    def _invariant(self, operand, inside: set[str]) -> bool:
        """Whether a loop bound has the same value all through the nest: defined before it, or
        inside it from such values by integer arithmetic and array shapes (x.shape[0])."""
        if not isinstance(operand, Var) or operand.name not in inside:
            return True
        stmt = self.diff.producers.get(operand.name)
        return (
            isinstance(stmt, Assign)
            and stmt.op in _SHAPE_ARITHMETIC
            and self.diff.kinds.of(operand).dtype == "int"
            and all(self._invariant(a, inside) for a in stmt.args)
        )

    def _hoist(self, operand, inside: set[str]):
        """An invariant bound, computed again before the nest when it is computed inside."""
        if not isinstance(operand, Var) or operand.name not in inside:
            return operand
        stmt = self.diff.producers[operand.name]
        args = tuple(self._hoist(a, inside) for a in stmt.args)
        return self.diff.emit(self.diff.hoisted, stmt.op, args, stmt.attrs, loc=stmt.loc)

    def _is_array_tape(self, tape: str) -> bool:
        return tape in self.array_tapes

    def _push(self, out: list[Stmt], tape: str, value: Var, index: Var | None) -> None:
        kind = self.diff.kinds.of(value)
        shared = value.name in self.shared
        if kind.ndim != 0 and self.diff.aliases.of(value.name) & self.diff.written and not shared:
            # A view of an array written in place: keep its values as they are now.
            value = self.diff.emit(out, "array_copy", (value,), loc=self.loop.loc)
        if self._is_array_tape(tape):
            self.diff.emit(out, "tape_store", (Var(tape), index, value), loc=self.loop.loc)
        elif tape in self.stack_tapes:
            top = Var(self.stack_tapes[tape])
            self.diff.emit(out, "tape_store", (Var(tape), top, value), loc=self.loop.loc)
            self.diff.emit(out, "add", (top, Const(1)), target=top.name, loc=self.loop.loc)
        else:
            self.diff.emit(out, "list_append", (Var(tape), value), loc=self.loop.loc)

    def _pop(self, out: list[Stmt], tape: str, name: str, index: Var | None) -> None:
        element = {"element": self.diff.kinds.of(Var(name))}
        if name in self.shared:  # the array itself, not a copy (see _restores_read)
            element["shared"] = True
        if self._is_array_tape(tape):
            self.diff.emit(
                out, "tape_load", (Var(tape), index), element, target=name, reverses=self.loop.loc
            )
        elif tape in self.stack_tapes:
            top = Var(self.stack_tapes[tape])
            # (never below 0: each pop follows its push; nonnegative.py)
            mark = (("nonnegative", True),)
            self.diff.emit(out, "sub", (top, Const(1)), mark, top.name, reverses=self.loop.loc)
            self.diff.emit(
                out, "tape_load", (Var(tape), top), element, target=name, reverses=self.loop.loc
            )
        else:
            self.diff.emit(
                out, "list_pop", (Var(tape),), element, target=name, reverses=self.loop.loc
            )

    def _instrument(
        self, block: list[Stmt], tapes: dict[str, str], index: Var | None
    ) -> list[Stmt]:
        """The forward body with a push of each taped value right after it is defined.

        A value assigned in one branch of an `if` is pushed in that branch; an if's merged
        value (assigned in both) and what a nested loop computes, after the statement."""
        out: list[Stmt] = []
        for stmt in block:
            if isinstance(stmt, If):
                both = set(_assigned(stmt.body)) & set(_assigned(stmt.orelse))
                inner = {n: t for n, t in tapes.items() if n not in both}
                stmt = replace(
                    stmt,
                    body=tuple(self._instrument(list(stmt.body), inner, index)),
                    orelse=tuple(self._instrument(list(stmt.orelse), inner, index)),
                )
                out.append(stmt)
                for name in sorted(both & set(tapes)):
                    self._push(out, tapes[name], Var(name), index)
                continue
            out.append(stmt)
            defined = (
                _assigned([stmt])
                if isinstance(stmt, Loop)
                else ([stmt.target] if stmt.target else [])
            )
            for name in defined:
                if name in tapes and not self._assigned_later(block, stmt, name):
                    self._push(out, tapes[name], Var(name), index)
        return out

    @staticmethod
    def _assigned_later(block: list[Stmt], stmt: Stmt, name: str) -> bool:
        """Whether `name` is assigned again after `stmt` in `block` (a counter set to 0 and then
        counted by a loop is pushed after the loop)."""
        later = block[block.index(stmt) + 1 :]
        return name in _assigned(later)

    def _phi_updates(self) -> list[Stmt]:
        """Copies of the values carried to the next iteration, safe when they read each other."""
        loop = self.loop
        out: list[Stmt] = []
        headers = {p.name for p in loop.phis}
        pending = []
        for p in loop.phis:
            if isinstance(p.second, Var) and p.second.name in headers and p.second.name != p.name:
                held = self.diff.names.temp()
                self.diff.kinds.kinds[held] = self.diff.kinds.of(p.second)
                out.append(Assign(held, "copy", (p.second,), loc=loop.loc))
                pending.append(Assign(p.name, "copy", (Var(held),), loc=loop.loc))
            elif p.second != Var(p.name):
                pending.append(Assign(p.name, "copy", (p.second,), loc=loop.loc))
        return out + pending

    def _replay(
        self, block: Block, need: set[str], tapes: dict[str, str], index: Var | None
    ) -> list[Stmt]:
        out: list[Stmt] = []
        for stmt in block:
            if isinstance(stmt, Assign):
                saved = self.diff.saved.get(id(stmt))
                if saved in need and saved in tapes:  # what a store overwrote
                    self._pop(out, tapes[saved], saved, index)
                if stmt.target not in need or stmt.target in self.from_next:
                    continue
                if stmt.target in tapes:
                    self._pop(out, tapes[stmt.target], stmt.target, index)
                else:
                    out.append(replace(stmt, reverses=self.loop.loc))
            elif isinstance(stmt, If):
                phis = [p for p in stmt.phis if p.name in need]
                then = self._replay(stmt.body, need, tapes, index)
                orelse = self._replay(stmt.orelse, need, tapes, index)
                taped_phis = [p for p in phis if p.name in tapes]
                phis = [p for p in phis if p.name not in tapes]
                then += [Assign(p.name, "copy", (p.first,)) for p in phis]
                orelse += [Assign(p.name, "copy", (p.second,)) for p in phis]
                if then or orelse:
                    out.append(
                        If(
                            stmt.cond,
                            tuple(then),
                            tuple(orelse),
                            (),
                            stmt.loc,
                            reverses=self.loop.loc,
                        )
                    )
                for p in taped_phis:
                    self._pop(out, tapes[p.name], p.name, index)
            else:
                names = [p.name for p in stmt.phis]
                counter = self.diff.counters.get(id(stmt))
                names += [counter] if counter else []
                for name in names:
                    if name in need and name in tapes:
                        self._pop(out, tapes[name], name, index)
        return out

    def _reverse_loop(self, tapes, header, need, counter, use_arrays) -> list[Stmt]:
        diff, loop = self.diff, self.loop
        reverse: list[Stmt] = []
        iteration: list[Stmt] = []
        direct = loop.is_range and (
            loop.step in (Const(1), Const(-1))
            and not self.counted
            or loop.start == Const(0)
            and loop.step == Const(1)
        )
        if direct:
            # Run the loop's own index backwards.
            rev_index = loop.index
            if self.counted:
                start = diff.emit(reverse, "sub", (Var(counter), Const(1)), reverses=loop.loc)
                stop, step = Const(-1), Const(-1)
            elif loop.step == Const(1):
                start = diff.emit(reverse, "sub", (loop.stop, Const(1)), reverses=loop.loc)
                stop = diff.emit(reverse, "sub", (loop.start, Const(1)), reverses=loop.loc)
                step = Const(-1)
            else:
                start = diff.emit(reverse, "add", (loop.stop, Const(1)), reverses=loop.loc)
                stop = diff.emit(reverse, "add", (loop.start, Const(1)), reverses=loop.loc)
                step = Const(1)
        else:
            # Count iterations backwards; a range loop's index is start + k * step.
            rev_index = diff.names.fresh("k")
            count = (
                Var(counter)
                if self.counted
                else diff.emit(
                    reverse, "range_len", (loop.start, loop.stop, loop.step), reverses=loop.loc
                )
            )
            start = diff.emit(reverse, "sub", (count, Const(1)), reverses=loop.loc)
            stop, step = Const(-1), Const(-1)
            if loop.is_range and loop.index in need:
                offset = diff.emit(iteration, "mul", (Var(rev_index), loop.step), reverses=loop.loc)
                diff.emit(
                    iteration, "add", (loop.start, offset), target=loop.index, reverses=loop.loc
                )
        tape_index = Var(loop.index) if use_arrays else None
        for value, name in self.from_next.items():  # (see _carried_forward)
            diff.emit(iteration, "copy", (Var(name),), target=value, reverses=loop.loc)
        for p in header:
            self._pop(iteration, tapes[p.name], p.name, tape_index)
        for phi, growth in self.inductions.values():
            # iteration number: index - start (or start - index, counting down)
            done = (
                (Var(loop.index), loop.start)
                if loop.step == Const(1)
                else (loop.start, Var(loop.index))
            )
            count = diff.emit(iteration, "sub", done, reverses=loop.loc)
            grown = (
                count
                if growth == 1
                else diff.emit(iteration, "mul", (count, Const(growth)), reverses=loop.loc)
            )
            diff.emit(iteration, "add", (phi.first, grown), target=phi.name, reverses=loop.loc)
        taped_body = {n: t for n, t in tapes.items() if n not in {p.name for p in header}}
        if not self.rev_body:
            return []
        reverse += end_values(self, self.running)
        iteration += start_values(self, self.running)
        iteration += self._replay(loop.test + loop.body, need, taped_body, tape_index)
        iteration += self.rev_body
        reverse.append(
            Loop(
                rev_index,
                start,
                stop,
                step,
                (),
                None,
                tuple(iteration),
                (),
                None,
                loop.loc,
                reverses=loop.loc,
            )
        )
        return reverse


def _assigned(block) -> list[str]:
    return [n for s in block for n in defined_names(s)]


def _all_reads(code: Block) -> set[str]:
    names: set[str] = set()
    for stmt in walk(code):
        if isinstance(stmt, Assign):
            names.update(a.name for a in stmt.args if isinstance(a, Var))
        elif isinstance(stmt, If) and isinstance(stmt.cond, Var):
            names.add(stmt.cond.name)
        elif isinstance(stmt, Loop):
            names.update(
                a.name for a in (stmt.start, stmt.stop, stmt.step, stmt.cond) if isinstance(a, Var)
            )
    return names
